/*  ri_store: rating-ingest's tables, look-up caches and batch commits (ri_store.h). */
#include "ri_store.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"

typedef struct {
    int found;               /* 1 known, 0 unknown */
    const char *why;         /* when unknown */
    int64_t loaded_ms;       /* monotonic */
    ri_window_t window;
} s_window_entry_t;

/* Look-ups are forgotten this often (staff deactivated, settings changed) and
 * when the window cache grows past S_WINDOWS_MAX entries (bogus serials). */
#define S_STAFF_TTL_MS  (10 * 60 * 1000)
#define S_WINDOWS_MAX   100000

struct ri_store_t {
    int64_t staff_loaded;    /* monotonic ms of the staff cache's start */
    pgstore_t *pg;
    zhash_t *windows;        /* "serial|window_id" -> s_window_entry_t */
    zhash_t *staff;          /* employee_no -> int64_t staff id (known ones only) */
};

static const char *s_window_sql =
    "SELECT (SELECT count(*) FROM device WHERE serial = $1), w.id, "
    "       n.path::text, n.path::text || '.' || w.code, "
    "       e.rating_timeout_s, e.repeat_press_s, n.time_zone, "
    "       (SELECT string_agg(o.code || ':' || o.score || ':' || o.satisfied::int || ':' "
    "                          || o.unsatisfied::int, ',' ORDER BY o.code) "
    "          FROM rating_option o WHERE o.scale_id = e.rating_scale_id) "
    "FROM service_window w JOIN org_node n ON n.id = w.node_id "
    "CROSS JOIN LATERAL effective_settings(w.node_id) e WHERE w.id = $2";

static const char *s_ids_sql =
    "INSERT INTO ingest_event (id) SELECT unnest($1::uuid[]) "
    "ON CONFLICT DO NOTHING RETURNING id::text";

/* Session writes are guarded by time as well as by id (ingest_event): a
 * login at t closes only the sessions at its window or of its teller that
 * are open and began at or before t; a login that a later one at its window
 * or of its teller already follows (decided late) is stored closed where
 * that one begins; a logout at t ends only its teller's latest session at
 * that window that began at or before t, and only if it did not end
 * earlier. So an event sent again late (a new journal's envelope id for a
 * device event already stored) never ends a newer session. */
static const char *s_login_close_sql =
    "UPDATE staff_session SET logout_at = to_timestamp($4 / 1000.0), "
    "  closed_by = CASE WHEN window_id = $3 THEN 'window_taken' ELSE 'login_elsewhere' END "
    "WHERE logout_at IS NULL AND (window_id = $3 OR staff_id = $2) "
    "  AND login_at <= to_timestamp($4 / 1000.0) AND id <> $1";

static const char *s_login_sql =
    "INSERT INTO staff_session (id, staff_id, window_id, login_at, logout_at, closed_by, "
    "  gateway, gateway_seq, gateway_incarnation) "
    "SELECT $1::uuid, $2::bigint, $3::bigint, to_timestamp($4 / 1000.0), n.login_at, "
    "  CASE WHEN n.window_id = $3::bigint THEN 'window_taken' "
    "       WHEN n.window_id IS NOT NULL THEN 'login_elsewhere' END, "
    "  $5::text, $6::bigint, $7::uuid "
    "FROM (SELECT 1) AS one LEFT JOIN LATERAL ("
    "  SELECT s.login_at, s.window_id FROM staff_session s "
    "  WHERE (s.window_id = $3::bigint OR s.staff_id = $2::bigint) "
    "    AND s.login_at > to_timestamp($4 / 1000.0) "
    "  ORDER BY s.login_at LIMIT 1) AS n ON true "
    "ON CONFLICT DO NOTHING";

static const char *s_logout_sql =
    "UPDATE staff_session SET logout_at = to_timestamp($4 / 1000.0), "
    "  logout_id = $1, closed_by = 'logout' "
    "WHERE id = (SELECT id FROM staff_session WHERE staff_id = $2 AND window_id = $3 "
    "            AND login_at <= to_timestamp($4 / 1000.0) ORDER BY login_at DESC LIMIT 1) "
    "  AND (logout_at IS NULL OR logout_at > to_timestamp($4 / 1000.0))";

static const char *s_service_sql =
    "INSERT INTO service_record (id, ended_at, started_at, duration_ms, gateway, "
    "  gateway_seq, window_id, staff_id, ticket, gateway_incarnation) "
    "VALUES ($1, to_timestamp($2 / 1000.0), to_timestamp(($2 - $3) / 1000.0), "
    "  $3::integer, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING";

static const char *s_device_sql =
    "INSERT INTO device_status (serial, status, window_id, branch_path, gateway, since) "
    "VALUES ($1, $2, $3, $4::ltree, $5, to_timestamp($6 / 1000.0)) "
    "ON CONFLICT (serial) DO UPDATE SET status = EXCLUDED.status, "
    "  window_id = EXCLUDED.window_id, branch_path = EXCLUDED.branch_path, "
    "  gateway = EXCLUDED.gateway, since = EXCLUDED.since "
    "WHERE device_status.since <= EXCLUDED.since";

static const char *s_reject_sql =
    "INSERT INTO rejected_event (id, gateway, gateway_seq, type, topic, reason, data, "
    "  gateway_incarnation) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8) ON CONFLICT DO NOTHING";

static const char *s_cursor_sql =
    "INSERT INTO gateway_cursor (gateway, incarnation, branch, upto) "
    "VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (gateway, incarnation) DO UPDATE SET upto = greatest(gateway_cursor.upto, "
    "  EXCLUDED.upto), branch = EXCLUDED.branch, updated_at = now()";

ri_store_t *ri_store_new(pgstore_t **pg_p)
{
    ri_store_t *self = calloc(1, sizeof *self);
    if (!self)
        goto err;
    self->pg = *pg_p;
    *pg_p = NULL;
    self->windows = zhash_new();
    self->staff = zhash_new();
    self->staff_loaded = clock_mono_ms();
    if (!self->windows || !self->staff)
        goto err;
    return self;
err:
    if (self) {
        zhash_destroy(&self->windows);
        zhash_destroy(&self->staff);
        pgstore_destroy(&self->pg);
        free(self);
    } else {
        pgstore_destroy(pg_p);
    }
    return NULL;
}

void ri_store_destroy(ri_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ri_store_t *self = *self_p;
    zhash_destroy(&self->windows);
    zhash_destroy(&self->staff);
    pgstore_destroy(&self->pg);
    free(self);
    *self_p = NULL;
}

bool ri_store_connected(ri_store_t *self)
{
    return pgstore_connected(self->pg);
}

int ri_store_ensure_partitions(ri_store_t *self, int months_ahead)
{
    char arg[16];
    snprintf(arg, sizeof arg, "%d", months_ahead);
    const char *params[] = { arg };
    return pgstore_exec(self->pg, "SELECT eqms_ensure_partitions($1::int)", 1, params);
}

/* Parses "code:score:sat:unsat,..." into the window's options. */
static void s_parse_options(const char *text, ri_window_t *window)
{
    window->option_count = 0;
    while (text && *text && window->option_count < RI_MAX_OPTIONS) {
        ri_option_t *o = &window->options[window->option_count];
        int sat = 0, unsat = 0;
        if (sscanf(text, "%d:%lf:%d:%d", &o->code, &o->score, &sat, &unsat) != 4)
            break;
        o->satisfied = sat != 0;
        o->unsatisfied = unsat != 0;
        window->option_count++;
        text = strchr(text, ',');
        if (text)
            text++;
    }
}

int ri_store_window(ri_store_t *self, const char *serial, int64_t window_id,
                    int64_t ttl_ms, ri_window_t *window, const char **why)
{
    char key[RI_SERIAL_MAX + 32];
    snprintf(key, sizeof key, "%s|%" PRId64, serial, window_id);
    int64_t now = clock_mono_ms();
    if (zhash_size(self->windows) >= S_WINDOWS_MAX) {
        zhash_destroy(&self->windows);
        if (!(self->windows = zhash_new()))
            return -1;
    }
    s_window_entry_t *entry = zhash_lookup(self->windows, key);
    if (!entry || now - entry->loaded_ms > ttl_ms) {
        char id[24];
        snprintf(id, sizeof id, "%" PRId64, window_id);
        const char *params[] = { serial, id };
        PGresult *res = pgstore_query(self->pg, s_window_sql, 2, params);
        if (!res)
            return -1;
        s_window_entry_t fresh;
        memset(&fresh, 0, sizeof fresh);
        fresh.loaded_ms = now;
        if (PQntuples(res) == 0) {
            fresh.why = "unknown window";
        } else if (atoll(PQgetvalue(res, 0, 0)) == 0) {
            fresh.why = "unknown device";
        } else {
            fresh.found = 1;
            fresh.window.window_id = atoll(PQgetvalue(res, 0, 1));
            snprintf(fresh.window.branch, sizeof fresh.window.branch, "%s",
                     PQgetvalue(res, 0, 2));
            snprintf(fresh.window.path, sizeof fresh.window.path, "%s",
                     PQgetvalue(res, 0, 3));
            fresh.window.rating_timeout_s = atoi(PQgetvalue(res, 0, 4));
            fresh.window.repeat_press_s = atoi(PQgetvalue(res, 0, 5));
            snprintf(fresh.window.time_zone, sizeof fresh.window.time_zone, "%s",
                     PQgetvalue(res, 0, 6));
            s_parse_options(PQgetvalue(res, 0, 7), &fresh.window);
        }
        PQclear(res);
        if (!entry) {
            entry = malloc(sizeof *entry);
            if (!entry || zhash_insert(self->windows, key, entry) != 0) {
                free(entry);
                return -1;
            }
            zhash_freefn(self->windows, key, free);
        }
        *entry = fresh;
    }
    *why = entry->why;
    if (entry->found)
        *window = entry->window;
    return entry->found;
}

int64_t ri_store_staff_id(ri_store_t *self, const char *employee_no)
{
    if (clock_mono_ms() - self->staff_loaded > S_STAFF_TTL_MS) {
        zhash_destroy(&self->staff);
        if (!(self->staff = zhash_new()))
            return -1;
        self->staff_loaded = clock_mono_ms();
    }
    int64_t *cached = zhash_lookup(self->staff, employee_no);
    if (cached)
        return *cached;
    const char *params[] = { employee_no };
    PGresult *res = pgstore_query(self->pg, "SELECT id FROM staff WHERE employee_no = $1 "
                                            "AND active", 1, params);
    if (!res)
        return -1;
    int64_t id = PQntuples(res) ? atoll(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    if (id > 0) {
        int64_t *value = malloc(sizeof *value);
        if (value) {
            *value = id;
            if (zhash_insert(self->staff, employee_no, value) == 0)
                zhash_freefn(self->staff, employee_no, free);
            else
                free(value);
        }
    }
    return id;
}

int ri_store_open_sessions(ri_store_t *self,
                           void (*fn)(void *ctx, int64_t window_id, int64_t staff_id,
                                      const char *employee_no, int64_t login_ms),
                           void *ctx)
{
    PGresult *res = pgstore_query(self->pg,
                                  "SELECT s.window_id, s.staff_id, st.employee_no, "
                                  "  (extract(epoch FROM s.login_at) * 1000)::bigint "
                                  "FROM staff_session s JOIN staff st ON st.id = s.staff_id "
                                  "WHERE s.logout_at IS NULL ORDER BY s.login_at", 0, NULL);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++)
        fn(ctx, atoll(PQgetvalue(res, i, 0)), atoll(PQgetvalue(res, i, 1)),
           PQgetvalue(res, i, 2), atoll(PQgetvalue(res, i, 3)));
    PQclear(res);
    return 0;
}

int ri_store_cursors(ri_store_t *self,
                     void (*fn)(void *ctx, const char *gateway, const char *incarnation,
                                const char *branch, int64_t upto),
                     void *ctx)
{
    PGresult *res = pgstore_query(self->pg, "SELECT gateway, incarnation::text, branch, upto "
                                            "FROM gateway_cursor "
                                            "WHERE gateway NOT LIKE '" RI_LOGINS_JOURNAL "%'",
                                  0, NULL);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++)
        fn(ctx, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
           atoll(PQgetvalue(res, i, 3)));
    PQclear(res);
    return 0;
}

int ri_store_ticket_branches_behind(ri_store_t *self, const tailcursor_t *cursor,
                                    const char *ltree, tailcursor_behind_fn *fn, void *arg)
{
    const char *params[] = { ltree };
    return tailcursor_behind(cursor, self->pg, "ticket_event",
                             "SELECT n.path::text, h.seq FROM ticket_branch_head h "
                             "JOIN org_node n ON n.id = h.branch_id "
                             "WHERE cardinality($1::ltree[]) = 0 OR n.path <@ $1::ltree[]",
                             1, params, fn, arg);
}

/* One member of each range (the stream, after or upto) as a PostgreSQL
 * array literal "{a,b}" (malloc'd; NULL out of memory). Streams are org
 * paths or journal names: ltree labels, dots, '/' and digits, no quoting
 * needed. */
typedef enum { S_STREAM, S_AFTER, S_UPTO } s_member_t;

static char *s_array(const ri_range_t *ranges, size_t n, s_member_t member)
{
    size_t size = 3;
    for (size_t i = 0; i < n; i++)
        size += (member == S_STREAM ? strlen(ranges[i].stream) : 20) + 1;
    char *out = malloc(size), *p = out;
    if (!out)
        return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        const char *sep = i ? "," : "";
        p += member == S_STREAM ? sprintf(p, "%s%s", sep, ranges[i].stream)
                                : sprintf(p, "%s%" PRId64, sep, member == S_AFTER
                                          ? ranges[i].after : ranges[i].upto);
    }
    strcpy(p, "}");
    return out;
}

int ri_store_finished_tickets(ri_store_t *self, const ri_range_t *ranges, size_t n,
                              ri_ticket_fn *fn, void *ctx)
{
    char *paths = s_array(ranges, n, S_STREAM), *lo = s_array(ranges, n, S_AFTER),
         *hi = s_array(ranges, n, S_UPTO);
    int rc = -1;
    if (!paths || !lo || !hi)
        goto out;
    const char *params[] = { paths, lo, hi };
    PGresult *res = pgstore_query(self->pg,
        "SELECT DISTINCT ON (e.window_id) e.window_id, e.ticket_id::text, e.number, "
        "  (extract(epoch FROM e.at) * 1000)::bigint "
        "FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS c(path, after, upto) "
        "JOIN org_node n ON n.path = c.path::ltree "
        "JOIN ticket_event e ON e.branch_id = n.id AND e.seq > c.after AND e.seq <= c.upto "
        "WHERE e.kind = 'finished' AND e.window_id IS NOT NULL AND e.ticket_id IS NOT NULL "
        "  AND e.number IS NOT NULL AND e.at > now() - interval '1 day' "
        "ORDER BY e.window_id, e.at DESC", 3, params);
    if (!res)
        goto out;
    for (int i = 0; i < PQntuples(res); i++)
        fn(ctx, atoll(PQgetvalue(res, i, 0)), PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
           atoll(PQgetvalue(res, i, 3)));
    PQclear(res);
    rc = 0;
out:
    free(paths);
    free(lo);
    free(hi);
    return rc;
}

int ri_store_login_branches_behind(ri_store_t *self, const tailcursor_t *cursor,
                                   const char *ltree, tailcursor_behind_fn *fn, void *arg)
{
    const char *params[] = { ltree };
    return tailcursor_behind(cursor, self->pg, "ticket_event",
                             "SELECT '" RI_LOGINS_JOURNAL "' || h.branch_id, h.seq "
                             "FROM ticket_branch_head h JOIN org_node n ON n.id = h.branch_id "
                             "WHERE cardinality($1::ltree[]) = 0 OR n.path <@ $1::ltree[]",
                             1, params, fn, arg);
}

int ri_store_login_positions(ri_store_t *self, tailcursor_t *cursor)
{
    PGresult *res = pgstore_query(self->pg, "SELECT gateway, upto FROM gateway_cursor "
                                            "WHERE gateway LIKE '" RI_LOGINS_JOURNAL "%'",
                                  0, NULL);
    if (!res)
        return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++)
        rc = tailcursor_set(cursor, "ticket_event", PQgetvalue(res, i, 0),
                            strtoll(PQgetvalue(res, i, 1), NULL, 10), false);
    PQclear(res);
    return rc;
}

int ri_store_logins(ri_store_t *self, const ri_range_t *ranges, size_t n, int limit,
                    ri_login_fn *fn, void *ctx)
{
    char *names = s_array(ranges, n, S_STREAM), *lo = s_array(ranges, n, S_AFTER),
         *hi = s_array(ranges, n, S_UPTO), max[24];
    int rc = -1;
    snprintf(max, sizeof max, "%d", limit);
    if (!names || !lo || !hi)
        goto out;
    const char *params[] = { names, lo, hi, max };
    PGresult *res = pgstore_query(self->pg,
        "SELECT md5(c.journal || '/' || e.seq)::uuid::text, c.journal, n.path::text, e.seq, "
        "  (extract(epoch FROM e.at) * 1000)::bigint, e.kind = 'staff_login', e.window_id, "
        "  e.staff_id, s.employee_no "
        "FROM unnest($1::text[], $2::bigint[], $3::bigint[]) WITH ORDINALITY "
        "  AS c(journal, after, upto, ord) "
        "JOIN ticket_event e ON e.branch_id = split_part(c.journal, '/', 2)::bigint "
        "  AND e.seq > c.after AND e.seq <= c.upto "
        "JOIN org_node n ON n.id = e.branch_id JOIN staff s ON s.id = e.staff_id "
        "WHERE e.kind IN ('staff_login', 'staff_logout') AND e.actor NOT LIKE 'device:%' "
        "  AND e.window_id IS NOT NULL AND (c.after > 0 OR e.at > now() - interval '1 day') "
        "ORDER BY c.ord, e.seq LIMIT $4::int", 4, params);
    if (!res)
        goto out;
    for (int i = 0; i < PQntuples(res); i++) {
        ri_login_t l = { .seq = strtoll(PQgetvalue(res, i, 3), NULL, 10),
                         .at_ms = strtoll(PQgetvalue(res, i, 4), NULL, 10),
                         .login = PQgetvalue(res, i, 5)[0] == 't',
                         .window_id = strtoll(PQgetvalue(res, i, 6), NULL, 10),
                         .staff_id = strtoll(PQgetvalue(res, i, 7), NULL, 10) };
        snprintf(l.id, sizeof l.id, "%s", PQgetvalue(res, i, 0));
        snprintf(l.journal, sizeof l.journal, "%s", PQgetvalue(res, i, 1));
        snprintf(l.branch, sizeof l.branch, "%s", PQgetvalue(res, i, 2));
        snprintf(l.employee_no, sizeof l.employee_no, "%s", PQgetvalue(res, i, 8));
        fn(ctx, &l);
    }
    rc = PQntuples(res);
    PQclear(res);
out:
    free(names);
    free(lo);
    free(hi);
    return rc;
}

static const char *s_today_sql =
    "WITH r AS ("
    "  SELECT to_char(r.event_time AT TIME ZONE n.time_zone, 'YYYY-MM-DD') AS day, "
    "         r.staff_id, r.window_id, r.branch_path::text AS branch, r.option_code, "
    "         r.satisfied, r.unsatisfied "
    "  FROM rating r JOIN org_node n ON n.path = r.branch_path "
    "  WHERE r.event_time > now() - interval '2 days' "
    "    AND (r.event_time AT TIME ZONE n.time_zone)::date "
    "        = (now() AT TIME ZONE n.time_zone)::date "
    "    AND (cardinality($1::ltree[]) = 0 OR r.branch_path <@ ANY ($1::ltree[]))"
    "), k AS ("
    "  SELECT 'eqms:today:' || day || ':staff:' || staff_id AS key, option_code, "
    "         satisfied, unsatisfied FROM r "
    "  UNION ALL SELECT 'eqms:today:' || day || ':window:' || window_id, option_code, "
    "         satisfied, unsatisfied FROM r "
    "  UNION ALL SELECT 'eqms:today:' || day || ':branch:' || branch, option_code, "
    "         satisfied, unsatisfied FROM r"
    ") "
    "SELECT key, 'total', count(*)::text FROM k GROUP BY key "
    "UNION ALL SELECT key, 'satisfied', (count(*) FILTER (WHERE satisfied))::text "
    "  FROM k GROUP BY key "
    "UNION ALL SELECT key, 'unsatisfied', (count(*) FILTER (WHERE unsatisfied))::text "
    "  FROM k GROUP BY key "
    "UNION ALL SELECT key, 'opt:' || option_code, count(*)::text FROM k "
    "  GROUP BY key, option_code "
    /* the live state of windows: every window, the teller logged in, the
     * last rating */
    "UNION ALL SELECT 'eqms:live:window:' || w.id, 'window_id', w.id::text "
    "  FROM service_window w JOIN org_node n ON n.id = w.node_id "
    "  WHERE cardinality($1::ltree[]) = 0 OR n.path <@ ANY ($1::ltree[]) "
    "UNION ALL SELECT 'eqms:live:window:' || s.window_id, f.field, f.value "
    "  FROM staff_session s JOIN staff st ON st.id = s.staff_id "
    "  JOIN service_window w ON w.id = s.window_id JOIN org_node n ON n.id = w.node_id "
    "  CROSS JOIN LATERAL (VALUES ('staff_id', s.staff_id::text), "
    "                             ('employee_no', st.employee_no)) f (field, value) "
    "  WHERE s.logout_at IS NULL "
    "    AND (cardinality($1::ltree[]) = 0 OR n.path <@ ANY ($1::ltree[])) "
    "UNION ALL SELECT 'eqms:live:window:' || l.window_id, f.field, f.value FROM ("
    "  SELECT DISTINCT ON (window_id) * FROM rating r "
    "  WHERE r.event_time > now() - interval '2 days' "
    "    AND (cardinality($1::ltree[]) = 0 OR r.branch_path <@ ANY ($1::ltree[])) "
    "  ORDER BY window_id, event_time DESC) l "
    "  CROSS JOIN LATERAL (VALUES ('last_rating_id', l.id::text), "
    "    ('last_rating_code', l.option_code::text), "
    "    ('last_rating_at', to_char(l.event_time AT TIME ZONE 'UTC', "
    "                               'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')), "
    "    ('last_rating_staff', l.staff_id::text), "
    "    ('last_rating_unsatisfied', CASE WHEN l.unsatisfied THEN '1' ELSE '0' END)) "
    "    f (field, value) "
    /* devices */
    "UNION ALL SELECT 'eqms:live:device:' || d.serial, f.field, f.value "
    "  FROM device_status d CROSS JOIN LATERAL (VALUES ('status', d.status), "
    "    ('window_id', coalesce(d.window_id::text, '')), ('gateway', d.gateway), "
    "    ('since', to_char(d.since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'))) "
    "    f (field, value) "
    "  WHERE cardinality($1::ltree[]) = 0 OR d.branch_path <@ ANY ($1::ltree[]) "
    "ORDER BY 1";

PGresult *ri_store_today_counts(ri_store_t *self, const char *prefixes)
{
    const char *params[] = { prefixes };
    return pgstore_query(self->pg, s_today_sql, 1, params);
}

/* Runs a statement inside the open transaction: refuses if the connection was
 * lost (and possibly remade outside the transaction) since BEGIN. */
static PGresult *s_in_tx(ri_store_t *self, PGconn *conn, const char *sql, int n,
                         const char *const *params)
{
    if (pgstore_conn(self->pg) != conn || PQtransactionStatus(conn) != PQTRANS_INTRANS)
        return NULL;
    return pgstore_query(self->pg, sql, n, params);
}

static int s_exec_in_tx(ri_store_t *self, PGconn *conn, const char *sql, int n,
                        const char *const *params)
{
    PGresult *res = s_in_tx(self, conn, sql, n, params);
    PQclear(res);
    return res ? 0 : -1;
}

/* ROLLBACK TO SAVEPOINT in a transaction that a failed statement aborted. */
static int s_exec_in_tx_aborted(ri_store_t *self, PGconn *conn, const char *sql)
{
    if (pgstore_conn(self->pg) != conn)
        return -1;
    PGTransactionStatusType st = PQtransactionStatus(conn);
    if (st != PQTRANS_INERROR && st != PQTRANS_INTRANS)
        return -1;
    return pgstore_exec(self->pg, sql, 0, NULL);
}

/* The slow path of s_register_ids: one INSERT ... ON CONFLICT DO NOTHING of
 * every id; an id it does not return was decided before (or earlier in the
 * same batch). 0 / -1. */
static int s_insert_ids(ri_store_t *self, PGconn *conn, ri_item_t *items, size_t count)
{
    /* "{id,id,...}": 37 bytes an id with its separator, braces and NUL. */
    char *array = malloc(count * ID_SIZE + 3);
    zhash_t *fresh = zhash_new();
    int rc = -1;
    if (!array || !fresh) {
        log_error("ingest_batch_failed", "reason=\"out of memory\" events=%zu", count);
        goto done;
    }
    char *o = array;
    *o++ = '{';
    for (size_t i = 0; i < count; i++) {
        if (items[i].settled)
            continue;
        if (o > array + 1)
            *o++ = ',';
        memcpy(o, items[i].event.id, ID_SIZE - 1);
        o += ID_SIZE - 1;
    }
    *o++ = '}';
    *o = '\0';
    const char *params[] = { array };
    PGresult *res = s_in_tx(self, conn, s_ids_sql, 1, params);
    if (!res)
        goto done;
    for (int i = 0; i < PQntuples(res); i++)
        zhash_insert(fresh, PQgetvalue(res, i, 0), (void *) 1);
    PQclear(res);
    for (size_t i = 0; i < count; i++) {
        /* The first item with a new id takes it; a repeat is a duplicate. */
        if (items[i].settled)
            continue;
        if (zhash_lookup(fresh, items[i].event.id))
            zhash_delete(fresh, items[i].event.id);
        else
            items[i].duplicate = true;
    }
    rc = 0;
done:
    zhash_destroy(&fresh);
    free(array);
    return rc;
}

/* Registers the envelope id of every item in ingest_event and sets
 * `duplicate` on the items whose id was decided before. The fast path is a
 * COPY under a savepoint (a batch of new ids, nearly always); when it meets
 * an id already there, the savepoint is rolled back and s_insert_ids finds
 * which. 0 / -1 (connection lost or statement failed). */
static int s_register_ids(ri_store_t *self, PGconn *conn, ri_item_t *items, size_t count)
{
    long want = 0;
    for (size_t i = 0; i < count; i++)
        want += !items[i].settled;
    if (want == 0)
        return 0;
    if (s_exec_in_tx(self, conn, "SAVEPOINT ri_ids", 0, NULL) != 0)
        return -1;
    pgstore_copy_t *copy = pgstore_copy_begin(self->pg, "ingest_event", "id");
    long rows = -1;
    for (size_t i = 0; copy && i < count; i++) {
        if (items[i].settled)
            continue;
        const char *values[] = { items[i].event.id };
        pgstore_copy_row(copy, 1, values);
    }
    if (copy)
        rows = pgstore_copy_end(&copy);
    if (rows == want)
        return s_exec_in_tx(self, conn, "RELEASE SAVEPOINT ri_ids", 0, NULL);
    if (pgstore_conn(self->pg) != conn)
        return -1;
    log_info("ingest_duplicate_ids", "events=%ld sqlstate=%s reason=\"an id was decided "
             "before: INSERT ... ON CONFLICT instead\"", want,
             pgstore_last_sqlstate(self->pg));
    if (s_exec_in_tx_aborted(self, conn, "ROLLBACK TO SAVEPOINT ri_ids") != 0)
        return -1;
    return s_insert_ids(self, conn, items, count);
}

static int s_write_item(ri_store_t *self, PGconn *conn, const ri_item_t *item)
{
    const ri_event_t *e = &item->event;
    char seq[24], staff[24], window[24], t[24], dur[24];
    snprintf(seq, sizeof seq, "%" PRId64, e->seq);
    snprintf(staff, sizeof staff, "%" PRId64, item->staff_id);
    snprintf(window, sizeof window, "%" PRId64, e->window_id);
    snprintf(t, sizeof t, "%" PRId64, e->event_ms);
    snprintf(dur, sizeof dur, "%" PRId64, e->duration_ms);
    switch (item->action) {
    case RI_ACTION_LOGIN: {
        const char *close[] = { e->id, staff, window, t };
        const char *open[] = { e->id, staff, window, t, e->gateway, seq, e->incarnation };
        if (s_exec_in_tx(self, conn, s_login_close_sql, 4, close) != 0)
            return -1;
        return s_exec_in_tx(self, conn, s_login_sql, 7, open);
    }
    case RI_ACTION_LOGOUT: {
        const char *params[] = { e->id, staff, window, t };
        return s_exec_in_tx(self, conn, s_logout_sql, 4, params);
    }
    case RI_ACTION_SERVICE_END: {
        const char *params[] = { e->id, t, e->duration_ms >= 0 ? dur : NULL, e->gateway,
                                 seq, window, item->staff_id > 0 ? staff : NULL,
                                 e->ticket[0] ? e->ticket : NULL, e->incarnation };
        return s_exec_in_tx(self, conn, s_service_sql, 9, params);
    }
    case RI_ACTION_DEVICE: {
        const char *params[] = { e->serial, ri_device_status(e->type),
                                 e->window_id > 0 ? window : NULL, e->branch, e->gateway, t };
        return s_exec_in_tx(self, conn, s_device_sql, 6, params);
    }
    case RI_ACTION_REJECT: {
        const char *params[] = { e->id, e->gateway, seq, e->type,
                                 item->topic[0] ? item->topic : NULL, item->reason,
                                 item->raw ? item->raw : "{}", e->incarnation };
        return s_exec_in_tx(self, conn, s_reject_sql, 8, params);
    }
    default:
        return 0;
    }
}

/* COPYs the batch's new ratings into `rating` (their ids are new in
 * ingest_event, so none can conflict). 0, or -1 if the COPY failed (the
 * transaction is then aborted). */
static int s_copy_ratings(ri_store_t *self, PGconn *conn, ri_item_t *items, size_t count)
{
    if (pgstore_conn(self->pg) != conn || PQtransactionStatus(conn) != PQTRANS_INTRANS)
        return -1;
    pgstore_copy_t *copy = pgstore_copy_begin(self->pg, "rating",
                                              "id, event_time, gateway, "
                                              "gateway_incarnation, gateway_seq, "
                                              "window_id, staff_id, branch_path, "
                                              "device_serial, device_boot, device_seq, "
                                              "option_code, score, satisfied, unsatisfied, "
                                              "ticket, ticket_id, service_ms, received_at");
    long want = 0, rows = -1;
    for (size_t i = 0; copy && i < count; i++) {
        const ri_item_t *item = &items[i];
        if (item->action != RI_ACTION_RATING || item->duplicate || item->settled)
            continue;
        const ri_event_t *e = &item->event;
        char t[CLOCK_RFC3339_SIZE], rc[CLOCK_RFC3339_SIZE], seq[24], w[24], st[24], db[24],
            dq[24], o[8], sc[16], sm[24];
        clock_format_rfc3339(e->event_ms, t);
        clock_format_rfc3339(e->received_ms, rc);
        snprintf(seq, sizeof seq, "%" PRId64, e->seq);
        snprintf(w, sizeof w, "%" PRId64, e->window_id);
        snprintf(st, sizeof st, "%" PRId64, item->staff_id);
        snprintf(db, sizeof db, "%" PRId64, e->boot);
        snprintf(dq, sizeof dq, "%" PRId64, e->device_seq);
        snprintf(o, sizeof o, "%d", e->option_code);
        snprintf(sc, sizeof sc, "%.1f", item->option.score);
        snprintf(sm, sizeof sm, "%" PRId64, e->service_ms);
        const char *values[] = { e->id, t, e->gateway, e->incarnation, seq, w, st,
                                 e->branch, e->serial, db,
                                 dq, o, sc, item->option.satisfied ? "t" : "f",
                                 item->option.unsatisfied ? "t" : "f",
                                 e->ticket[0] ? e->ticket : NULL,
                                 item->ticket_id[0] ? item->ticket_id : NULL,
                                 e->service_ms >= 0 ? sm : NULL, rc };
        pgstore_copy_row(copy, 19, values);
        want++;
    }
    if (copy)
        rows = pgstore_copy_end(&copy);
    if (rows != want)
        return -1;
    for (size_t i = 0; i < count; i++)
        if (items[i].action == RI_ACTION_RATING && !items[i].duplicate && !items[i].settled)
            items[i].stored = true;
    return 0;
}

/* After the ids are registered: the items an earlier attempt left in doubt
 * (its COMMIT got no answer) took part in a commit if, and only if, every
 * one of them finds its id registered now (a commit registers all of its
 * ids, a rollback none). Then they take that attempt's outcome and are
 * settled; otherwise they go on as fresh items of this attempt. */
static void s_resolve_doubt(ri_item_t *items, size_t count)
{
    size_t doubtful = 0, registered = 0;
    for (size_t i = 0; i < count; i++) {
        if (!items[i].settled && items[i].in_doubt) {
            doubtful++;
            registered += items[i].duplicate;
        }
    }
    if (doubtful == 0)
        return;
    bool committed = registered == doubtful;
    log_info("ingest_doubt_resolved", "events=%zu committed=%s", doubtful,
             committed ? "yes" : "no");
    for (size_t i = 0; i < count; i++) {
        ri_item_t *item = &items[i];
        if (item->settled || !item->in_doubt)
            continue;
        item->in_doubt = false;
        if (committed) {
            item->duplicate = item->doubt_duplicate;
            item->stored = item->action == RI_ACTION_RATING && !item->duplicate;
            item->settled = true;
        }
    }
}

int ri_store_commit(ri_store_t *self, ri_item_t *items, size_t count,
                    const ri_cursor_t *cursors, size_t ncursors)
{
    size_t nratings = 0;
    for (size_t i = 0; i < count; i++) {
        if (items[i].settled)
            continue;
        items[i].stored = false;
        items[i].duplicate = false;
        if (items[i].action == RI_ACTION_RATING)
            nratings++;
    }
    bool sent = false;
    if (pgstore_begin(self->pg) != 0)
        return -1;
    PGconn *conn = pgstore_conn(self->pg);
    if (!conn)
        goto err;
    /* The ids first: a duplicate writes nothing. Then the sessions, in
     * stream order, then the ratings (bound in memory already), then the
     * rest, then the cursors. Items settled before are skipped. */
    if (s_register_ids(self, conn, items, count) != 0)
        goto err;
    s_resolve_doubt(items, count);
    for (size_t i = 0; i < count; i++)
        if ((items[i].action == RI_ACTION_LOGIN || items[i].action == RI_ACTION_LOGOUT)
            && !items[i].duplicate && !items[i].settled
            && s_write_item(self, conn, &items[i]) != 0)
            goto err;
    if (nratings > 0 && s_copy_ratings(self, conn, items, count) != 0)
        goto err;
    for (size_t i = 0; i < count; i++)
        if ((items[i].action == RI_ACTION_SERVICE_END || items[i].action == RI_ACTION_REJECT
             || items[i].action == RI_ACTION_DEVICE)
            && !items[i].duplicate && !items[i].settled
            && s_write_item(self, conn, &items[i]) != 0)
            goto err;
    for (size_t i = 0; i < ncursors; i++) {
        char upto[24];
        snprintf(upto, sizeof upto, "%" PRId64, cursors[i].upto);
        const char *params[] = { cursors[i].gateway, cursors[i].incarnation,
                                 cursors[i].branch, upto };
        if (s_exec_in_tx(self, conn, s_cursor_sql, 4, params) != 0)
            goto err;
    }
    if (pgstore_conn(self->pg) != conn || PQtransactionStatus(conn) != PQTRANS_INTRANS)
        goto err;
    sent = true;
    if (pgstore_commit(self->pg) != 0)
        goto err;
    for (size_t i = 0; i < count; i++)
        items[i].settled = true;
    return 0;
err:;
    /* The COMMIT went out and the connection broke before its answer: the
     * server may have committed. What this attempt found is kept for the
     * next one (s_resolve_doubt). */
    bool in_doubt = sent && !pgstore_connected(self->pg);
    log_warn("ingest_batch_failed", "events=%zu sqlstate=%s in_doubt=%s", count,
             pgstore_last_sqlstate(self->pg), in_doubt ? "yes" : "no");
    pgstore_rollback(self->pg);
    for (size_t i = 0; i < count; i++) {
        if (items[i].settled)
            continue;
        if (in_doubt) {
            items[i].in_doubt = true;
            items[i].doubt_duplicate = items[i].duplicate;
        }
        items[i].stored = false;
        items[i].duplicate = false;
    }
    return in_doubt ? RI_STORE_IN_DOUBT : -1;
}
