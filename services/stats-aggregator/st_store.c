/*  st_store: stats-aggregator's reads and its one-transaction flush (st_store.h). */
#include "st_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"
#include "eqms/text.h"

/* A timestamptz column as ms since the epoch, NULL staying NULL. */
#define S_MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"

struct st_store_t {
    pgstore_t *pg;
};

st_store_t *st_store_new(pgstore_t **pg_p)
{
    st_store_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->pg = *pg_p;
    *pg_p = NULL;
    return self;
}

void st_store_destroy(st_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pgstore_destroy(&(*self_p)->pg);
    free(*self_p);
    *self_p = NULL;
}

pgstore_t *st_store_pg(st_store_t *self)
{
    return self->pg;
}

static int64_t s_i64(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* A timestamp column in ms: -infinity / infinity as INT64_MIN / INT64_MAX. */
static int64_t s_edge(const PGresult *res, int row, int col)
{
    const char *v = PQgetvalue(res, row, col);
    if (strcmp(v, "-infinity") == 0)
        return INT64_MIN;
    if (strcmp(v, "infinity") == 0)
        return INT64_MAX;
    return strtoll(v, NULL, 10);
}

/* Parses "{1,2,3}" into ids (at most ST_TREE_DEPTH). Returns the count or -1. */
static int s_ids(const char *text, int64_t ids[ST_TREE_DEPTH])
{
    int n = 0;
    const char *p = text;
    if (*p++ != '{')
        return -1;
    while (*p && *p != '}') {
        if (n == ST_TREE_DEPTH)
            return -1;
        char *end;
        ids[n++] = strtoll(p, &end, 10);
        if (end == p)
            return -1;
        p = *end == ',' ? end + 1 : end;
    }
    return *p == '}' ? n : -1;
}

/* --- the tree ------------------------------------------------------------- */

#define S_VERSION_COLS \
    "node_id, CASE WHEN valid_from = '-infinity' THEN '-infinity' ELSE " \
    S_MS("valid_from") "::text END, CASE WHEN valid_to = 'infinity' THEN " \
    "'infinity' ELSE " S_MS("valid_to") "::text END, ancestors::text, time_zone"

int st_store_load_tree(st_store_t *self, st_tree_t *tree)
{
    PGresult *res = pgstore_query(self->pg, "SELECT " S_VERSION_COLS
                                  " FROM stats_node_version ORDER BY node_id, valid_from",
                                  0, NULL);
    if (!res)
        return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        int64_t ids[ST_TREE_DEPTH];
        int n = s_ids(PQgetvalue(res, r, 3), ids);
        rc = n < 1 ? -1 : st_tree_add(tree, s_i64(res, r, 0), s_edge(res, r, 1),
                                      s_edge(res, r, 2), ids, n, PQgetvalue(res, r, 4));
    }
    PQclear(res);
    return rc;
}

/* True if the node's open version has these ancestors and this zone. */
static bool s_same_version(const st_tree_t *tree, int64_t node, const int64_t *ids, int n,
                           const char *zone)
{
    int64_t have[ST_TREE_DEPTH];
    const char *have_zone;
    int m = st_tree_current(tree, node, have, &have_zone);
    return m == n && memcmp(have, ids, (size_t) n * sizeof *ids) == 0
           && strcmp(have_zone, zone) == 0;
}

int st_store_sync_tree(st_store_t *self, st_tree_t *tree)
{
    PGresult *res = pgstore_query(self->pg,
        "SELECT n.id, n.path::text, n.time_zone, (SELECT array_agg(a.id ORDER BY "
        "nlevel(a.path)) FROM org_node a WHERE a.path @> n.path)::text "
        "FROM org_node n ORDER BY n.id", 0, NULL);
    if (!res)
        return -1;
    int changed = 0, rc = 0;
    char now[TEXT_I64_SIZE];
    text_i64(now, clock_now_ms());
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        int64_t node = s_i64(res, r, 0);
        int64_t ids[ST_TREE_DEPTH];
        int n = s_ids(PQgetvalue(res, r, 3), ids);
        const char *zone = PQgetvalue(res, r, 2);
        if (n < 1 || s_same_version(tree, node, ids, n, zone))
            continue;
        int64_t have[ST_TREE_DEPTH];
        const char *have_zone;
        bool first = st_tree_current(tree, node, have, &have_zone) < 0;
        const char *params[] = { PQgetvalue(res, r, 0), first ? NULL : now,
                                 PQgetvalue(res, r, 1), PQgetvalue(res, r, 3), zone };
        if (pgstore_begin(self->pg) != 0
            || pgstore_exec(self->pg, "UPDATE stats_node_version SET valid_to = "
                            "'epoch'::timestamptz + $2::bigint * interval '1 millisecond' "
                            "WHERE node_id = $1 AND valid_to = 'infinity' AND $2::bigint IS NOT NULL",
                            2, params) != 0
            || pgstore_exec(self->pg, "INSERT INTO stats_node_version (node_id, valid_from, "
                            "path, ancestors, time_zone) VALUES ($1, coalesce('epoch'::"
                            "timestamptz + $2::bigint * interval '1 millisecond', "
                            "'-infinity'), $3::ltree, $4::bigint[], $5)", 5, params) != 0
            || pgstore_commit(self->pg) != 0) {
            pgstore_rollback(self->pg);
            rc = -1;
            break;
        }
        int64_t at = strtoll(now, NULL, 10);
        if (!first)
            st_tree_close(tree, node, at);
        if (st_tree_add(tree, node, first ? INT64_MIN : at, INT64_MAX, ids, n, zone) != 0) {
            log_warn("stats_node_refused", "node=%lld path=%s zone=\"%s\"",
                     (long long) node, PQgetvalue(res, r, 1), zone);
            continue;
        }
        if (!first)
            log_info("stats_node_moved", "node=%lld path=%s zone=%s", (long long) node,
                     PQgetvalue(res, r, 1), zone);
        changed++;
    }
    PQclear(res);
    return rc < 0 ? -1 : changed;
}

/* --- configuration, cursors, sessions, legs ------------------------------ */

st_config_t *st_store_load_config(st_store_t *self)
{
    st_config_t *config = st_config_new();
    PGresult *s = pgstore_query(self->pg, "SELECT s.id, q.target_wait_s FROM service s "
                                "JOIN queue q ON q.id = s.queue_id", 0, NULL);
    PGresult *w = s ? pgstore_query(self->pg,
        "SELECT w.id, w.node_id, coalesce(e.rating_scale_id, 0) FROM service_window w "
        "LEFT JOIN (SELECT n.id, x.rating_scale_id FROM org_node n CROSS JOIN LATERAL "
        "effective_settings(n.id) x WHERE n.kind = 'branch') e ON e.id = w.node_id",
        0, NULL) : NULL;
    PGresult *o = w ? pgstore_query(self->pg, "SELECT id, scale_id, code, category "
                                    "FROM rating_option", 0, NULL) : NULL;
    int rc = config && s && w && o ? 0 : -1;
    for (int r = 0; rc == 0 && r < PQntuples(s); r++)
        rc = st_config_add_service(config, s_i64(s, r, 0), (int32_t) s_i64(s, r, 1));
    for (int r = 0; rc == 0 && r < PQntuples(w); r++)
        rc = st_config_add_window(config, s_i64(w, r, 0), s_i64(w, r, 1), s_i64(w, r, 2));
    for (int r = 0; rc == 0 && r < PQntuples(o); r++)
        rc = st_config_add_option(config, s_i64(o, r, 0), s_i64(o, r, 1),
                                  (int) s_i64(o, r, 2),
                                  st_category_parse(PQgetvalue(o, r, 3)));
    PQclear(s);
    PQclear(w);
    PQclear(o);
    if (rc != 0)
        st_config_destroy(&config);
    return config;
}

int st_store_load_cursors(st_store_t *self, tailcursor_t *cursors)
{
    return tailcursor_load(cursors, self->pg, "stats_cursor");
}

int st_store_load_sessions(st_store_t *self, st_sessions_t *sessions)
{
    PGresult *res = pgstore_query(self->pg, "SELECT session_id, branch_id "
                                  "FROM stats_open_session", 0, NULL);
    if (!res)
        return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++)
        rc = st_sessions_open(sessions, PQgetvalue(res, r, 0), s_i64(res, r, 1), true);
    PQclear(res);
    return rc;
}

#define S_LEG_COLS \
    "ticket_id, leg, branch_id, service_id, class, origin, " S_MS("start_at") ", " \
    "target_s, " S_MS("call_at") ", window_id, staff_id, started, " \
    S_MS("serving_since") ", serve_ms, outcome, " S_MS("outcome_at")

int st_store_load_legs(void *arg, const char *ticket_id, st_leg_t *legs, int max)
{
    st_store_t *self = arg;
    const char *params[] = { ticket_id };
    PGresult *res = pgstore_query(self->pg, "SELECT " S_LEG_COLS " FROM stats_leg "
                                  "WHERE ticket_id = $1 ORDER BY leg", 1, params);
    if (!res)
        return -1;
    int n = PQntuples(res) < max ? PQntuples(res) : max;
    for (int r = 0; r < n; r++) {
        st_leg_t *l = &legs[r];
        memset(l, 0, sizeof *l);
        text_copy(l->ticket_id, sizeof l->ticket_id, PQgetvalue(res, r, 0));
        l->leg = (int) s_i64(res, r, 1);
        l->branch_id = s_i64(res, r, 2);
        l->service_id = s_i64(res, r, 3);
        l->klass = (st_class_t) s_i64(res, r, 4);
        l->origin = (st_origin_t) s_i64(res, r, 5);
        l->start_ms = s_i64(res, r, 6);
        l->target_s = (int32_t) s_i64(res, r, 7);
        l->called = !PQgetisnull(res, r, 8);
        l->call_ms = s_i64(res, r, 8);
        l->window_id = s_i64(res, r, 9);
        l->staff_id = s_i64(res, r, 10);
        l->started = strcmp(PQgetvalue(res, r, 11), "t") == 0;
        l->serving = !PQgetisnull(res, r, 12);
        l->serving_since = s_i64(res, r, 12);
        l->serve_ms = s_i64(res, r, 13);
        l->outcome = (st_outcome_t) s_i64(res, r, 14);
        l->outcome_ms = s_i64(res, r, 15);
    }
    PQclear(res);
    return n;
}

/* --- streams ---------------------------------------------------------------- */

int st_store_ticket_heads(st_store_t *self, const tailcursor_t *cursors,
                          tailcursor_behind_fn *fn, void *arg)
{
    return tailcursor_behind(cursors, self->pg, TAILCURSOR_TICKET, TAILCURSOR_TICKET_HEADS_SQL,
                             0, NULL, fn, arg);
}

int st_store_gateway_heads(st_store_t *self, const tailcursor_t *cursors,
                           tailcursor_behind_fn *fn, void *arg)
{
    return tailcursor_behind(cursors, self->pg, TAILCURSOR_GATEWAY,
                             TAILCURSOR_GATEWAY_HEADS_SQL, 0, NULL, fn, arg);
}

int64_t st_store_ticket_events(st_store_t *self, const char *stream, int64_t after,
                               int64_t upto, int limit, st_engine_t *engine)
{
    char a[TEXT_I64_SIZE], u[TEXT_I64_SIZE], l[TEXT_I64_SIZE];
    text_i64(a, after);
    text_i64(u, upto);
    text_i64(l, limit);
    const char *params[] = { stream, a, u, l };
    PGresult *res = pgstore_query(self->pg,
        "SELECT seq, kind, " S_MS("at") ", coalesce(ticket_id::text, ''), "
        "coalesce(service_id, 0), coalesce(class, ''), coalesce(window_id, 0), "
        "coalesce(staff_id, 0) FROM ticket_event WHERE branch_id = $1::bigint "
        "AND seq > $2::bigint AND seq <= $3::bigint ORDER BY seq LIMIT $4::int",
        4, params);
    if (!res)
        return -1;
    int64_t last = after;
    for (int r = 0; r < PQntuples(res); r++) {
        st_event_t ev = { .branch_id = strtoll(stream, NULL, 10), .seq = s_i64(res, r, 0),
                          .at_ms = s_i64(res, r, 2), .service_id = s_i64(res, r, 4),
                          .window_id = s_i64(res, r, 6), .staff_id = s_i64(res, r, 7) };
        text_copy(ev.ticket_id, sizeof ev.ticket_id, PQgetvalue(res, r, 3));
        const char *klass = PQgetvalue(res, r, 5);
        char fact[64];
        snprintf(fact, sizeof fact, "%s/%lld", stream, (long long) ev.seq);
        int rc;
        if (st_event_kind_parse(PQgetvalue(res, r, 1), &ev.kind) != 0)
            rc = st_engine_unplaced(engine, "ticket_event", fact, "unknown event kind");
        else if (*klass && st_class_parse(klass, &ev.klass) != 0)
            rc = st_engine_unplaced(engine, "ticket_event", fact, "unknown customer class");
        else
            rc = st_engine_ticket_event(engine, &ev);
        if (rc != 0) {
            last = -1;   /* the engine cannot go on: the caller drops the batch */
            break;
        }
        last = ev.seq;
    }
    PQclear(res);
    return last;
}

static int s_ratings(st_store_t *self, const char *const *params, st_engine_t *engine)
{
    PGresult *res = pgstore_query(self->pg,
        "SELECT id::text, window_id, staff_id, " S_MS("event_time") ", option_code, "
        "round(score * 10)::int, satisfied, unsatisfied FROM rating WHERE gateway = $1 "
        "AND gateway_incarnation = $2::uuid AND gateway_seq > $3::bigint "
        "AND gateway_seq <= $4::bigint", 4, params);
    if (!res)
        return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        st_rating_t rating = { .window_id = s_i64(res, r, 1), .staff_id = s_i64(res, r, 2),
                               .event_ms = s_i64(res, r, 3),
                               .option_code = (int) s_i64(res, r, 4),
                               .score_x10 = (int) s_i64(res, r, 5),
                               .satisfied = strcmp(PQgetvalue(res, r, 6), "t") == 0,
                               .unsatisfied = strcmp(PQgetvalue(res, r, 7), "t") == 0 };
        text_copy(rating.id, sizeof rating.id, PQgetvalue(res, r, 0));
        rc = st_engine_rating(engine, &rating);
    }
    PQclear(res);
    return rc;
}

static int s_services(st_store_t *self, const char *const *params, st_engine_t *engine)
{
    PGresult *res = pgstore_query(self->pg,
        "SELECT id::text, window_id, coalesce(staff_id, 0), "
        S_MS("coalesce(started_at, ended_at)") ", " S_MS("ended_at")
        " FROM service_record WHERE gateway = $1 AND gateway_incarnation = $2::uuid "
        "AND gateway_seq > $3::bigint AND gateway_seq <= $4::bigint", 4, params);
    if (!res)
        return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        st_interval_t iv = { .window_id = s_i64(res, r, 1), .staff_id = s_i64(res, r, 2),
                             .from_ms = s_i64(res, r, 3), .to_ms = s_i64(res, r, 4) };
        text_copy(iv.id, sizeof iv.id, PQgetvalue(res, r, 0));
        rc = st_engine_service(engine, &iv);
    }
    PQclear(res);
    return rc;
}

#define S_SESSION_COLS \
    "id::text, window_id, staff_id, " S_MS("login_at") ", " S_MS("logout_at")

/* Places the closed sessions of `res`; remembers the open ones. */
static int s_sessions(const PGresult *res, st_engine_t *engine, st_sessions_t *sessions,
                      const st_config_t *config)
{
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        const char *id = PQgetvalue(res, r, 0);
        int64_t window = s_i64(res, r, 1);
        if (PQgetisnull(res, r, 4)) {
            rc = st_sessions_open(sessions, id, st_config_window_branch(config, window),
                                  false);
            continue;
        }
        st_interval_t iv = { .window_id = window, .staff_id = s_i64(res, r, 2),
                             .from_ms = s_i64(res, r, 3), .to_ms = s_i64(res, r, 4) };
        text_copy(iv.id, sizeof iv.id, id);
        rc = st_engine_session(engine, &iv);
        st_sessions_close(sessions, id);
    }
    return rc;
}

int64_t st_store_gateway_facts(st_store_t *self, const char *stream, int64_t after,
                               int64_t upto, st_engine_t *engine, st_sessions_t *sessions)
{
    char gw[128], inc[ID_SIZE], a[TEXT_I64_SIZE], u[TEXT_I64_SIZE];
    if (tailcursor_gateway_split(stream, gw, sizeof gw, inc, sizeof inc) != 0)
        return -1;
    text_i64(a, after);
    text_i64(u, upto);
    const char *params[] = { gw, inc, a, u };
    if (s_ratings(self, params, engine) != 0 || s_services(self, params, engine) != 0)
        return -1;
    PGresult *res = pgstore_query(self->pg, "SELECT " S_SESSION_COLS " FROM staff_session "
        "WHERE gateway = $1 AND gateway_incarnation = $2::uuid AND gateway_seq > $3::bigint "
        "AND gateway_seq <= $4::bigint", 4, params);
    if (!res)
        return -1;
    int rc = s_sessions(res, engine, sessions, st_engine_config(engine));
    PQclear(res);
    return rc == 0 ? upto : -1;
}

int st_store_closed_sessions(st_store_t *self, st_engine_t *engine, st_sessions_t *sessions)
{
    if (st_sessions_count(sessions) == 0)
        return 0;
    char *ids = st_sessions_ids(sessions);
    if (!ids)
        return -1;
    const char *params[] = { ids };
    PGresult *res = pgstore_query(self->pg, "SELECT " S_SESSION_COLS " FROM staff_session "
                                  "WHERE id = ANY($1::uuid[]) AND logout_at IS NOT NULL",
                                  1, params);
    free(ids);
    if (!res)
        return -1;
    int n = PQntuples(res);
    int rc = s_sessions(res, engine, sessions, st_engine_config(engine));
    PQclear(res);
    return rc == 0 ? n : -1;
}

/* --- the flush -------------------------------------------------------------- */

/* Text of an int array "{1,-2,0}" with trailing zeros cut, or NULL (no
 * value) when every element is 0. */
static const char *s_array32(char *buf, size_t size, const int32_t *v, int n)
{
    while (n > 0 && v[n - 1] == 0)
        n--;
    if (n == 0)
        return NULL;
    size_t len = 0;
    buf[len++] = '{';
    for (int i = 0; i < n && len + TEXT_I64_SIZE + 2 < size; i++) {
        if (i)
            buf[len++] = ',';
        len += text_i64(buf + len, v[i]);
    }
    buf[len++] = '}';
    buf[len] = '\0';
    return buf;
}

static const char *s_array64(char *buf, size_t size, const int64_t *v, int n)
{
    int32_t narrow[ST_CATEGORIES];
    bool any = false;
    for (int i = 0; i < n && i < ST_CATEGORIES; i++) {
        narrow[i] = (int32_t) v[i];
        any |= v[i] != 0;
    }
    return any ? s_array32(buf, size, narrow, n) : NULL;
}

#define S_CELL_KEY_COLS "node_id, period, start_day, hour, dim, member"
#define S_MAXIMA_COLS "wait_max_ms, svc_max_ms, categories, wait_hist, svc_hist"

typedef struct {
    pgstore_copy_t *copy;
    long rows;
} s_copy_t;

static int s_copy_cell(void *arg, const st_cell_key_t *key, const st_measures_t *m)
{
    s_copy_t *c = arg;
    if (st_measures_zero(m))
        return 0;
    enum { KEYS = 6 };
    int ncounters = st_measures_counter_count();
    char text[KEYS + 32][TEXT_I64_SIZE];
    char day[16], cats[ST_CATEGORIES * 22 + 4], wait[ST_HIST_BUCKETS * 12 + 4],
        svc[ST_HIST_BUCKETS * 12 + 4];
    const char *values[KEYS + 32 + 5];
    int n = 0;
    text_i64(text[0], key->node_id);
    text_i64(text[1], key->period);
    snprintf(day, sizeof day, "%04d-%02d-%02d", key->start_day / 10000,
             key->start_day / 100 % 100, key->start_day % 100);
    text_i64(text[3], key->hour);
    text_i64(text[4], key->dim);
    text_i64(text[5], key->member);
    values[n++] = text[0];
    values[n++] = text[1];
    values[n++] = day;
    values[n++] = text[3];
    values[n++] = text[4];
    values[n++] = text[5];
    for (int i = 0; i < ncounters; i++) {
        text_i64(text[KEYS + i], st_measures_counter(m, i));
        values[n++] = text[KEYS + i];
    }
    text_i64(text[KEYS + ncounters], m->wait_max_ms);
    text_i64(text[KEYS + ncounters + 1], m->svc_max_ms);
    values[n++] = text[KEYS + ncounters];
    values[n++] = text[KEYS + ncounters + 1];
    values[n++] = s_array64(cats, sizeof cats, m->cat, ST_CATEGORIES);
    values[n++] = s_array32(wait, sizeof wait, m->wait_hist, ST_HIST_BUCKETS);
    values[n++] = s_array32(svc, sizeof svc, m->svc_hist, ST_HIST_BUCKETS);
    c->rows++;
    return pgstore_copy_row(c->copy, n, values);
}

/* The column list of stats_cell in the order s_copy_cell writes it. */
static void s_cell_columns(char *out, size_t size)
{
    size_t len = (size_t) snprintf(out, size, "%s", S_CELL_KEY_COLS);
    for (int i = 0; i < st_measures_counter_count() && len < size; i++)
        len += (size_t) snprintf(out + len, size - len, ", %s", st_measures_counter_name(i));
    snprintf(out + len, size - len, ", %s", S_MAXIMA_COLS);
}

/* The upsert from the temporary table: counters add, maxima take the greater,
 * arrays add element by element. */
static void s_cell_upsert(char *out, size_t size, const char *columns)
{
    size_t len = (size_t) snprintf(out, size,
        "INSERT INTO stats_cell (%s) SELECT %s FROM st_cell_in "
        "ON CONFLICT (" S_CELL_KEY_COLS ") DO UPDATE SET ", columns, columns);
    for (int i = 0; i < st_measures_counter_count() && len < size; i++) {
        const char *c = st_measures_counter_name(i);
        len += (size_t) snprintf(out + len, size - len, "%s = stats_cell.%s + excluded.%s, ",
                                 c, c, c);
    }
    const char *arrays[] = { "categories", "wait_hist", "svc_hist" };
    for (int i = 0; i < 3 && len < size; i++)
        len += (size_t) snprintf(out + len, size - len,
            "%s = CASE WHEN excluded.%s IS NULL THEN stats_cell.%s ELSE (SELECT "
            "array_agg(coalesce(x, 0) + coalesce(y, 0)) FROM unnest(stats_cell.%s, "
            "excluded.%s) AS u(x, y)) END, ", arrays[i], arrays[i], arrays[i], arrays[i],
            arrays[i]);
    snprintf(out + len, size - len, "wait_max_ms = greatest(stats_cell.wait_max_ms, "
             "excluded.wait_max_ms), svc_max_ms = greatest(stats_cell.svc_max_ms, "
             "excluded.svc_max_ms)");
}

static int s_flush_cells(st_store_t *self, st_engine_t *engine)
{
    st_cells_t *cells = st_engine_cells(engine);
    if (st_cells_count(cells) == 0)
        return 0;
    char columns[1024], sql[8192];
    s_cell_columns(columns, sizeof columns);
    s_copy_t c = { pgstore_copy_begin(self->pg, "st_cell_in", columns), 0 };
    if (!c.copy)
        return -1;
    st_cells_each(cells, s_copy_cell, &c);
    if (pgstore_copy_end(&c.copy) < 0)
        return -1;
    s_cell_upsert(sql, sizeof sql, columns);
    return pgstore_exec(self->pg, sql, 0, NULL);
}

/* The time `ms` as COPY text into buf, or NULL (SQL NULL) if not set. */
static const char *s_time(char buf[CLOCK_RFC3339_SIZE], bool set, int64_t ms)
{
    return set && clock_format_rfc3339(ms, buf) == 0 ? buf : NULL;
}

static int s_copy_leg(void *arg, const st_leg_t *l)
{
    s_copy_t *c = arg;
    char n[10][TEXT_I64_SIZE], start[CLOCK_RFC3339_SIZE], call[CLOCK_RFC3339_SIZE],
        serving[CLOCK_RFC3339_SIZE], outcome[CLOCK_RFC3339_SIZE];
    text_i64(n[0], l->leg);
    text_i64(n[1], l->branch_id);
    text_i64(n[2], l->service_id);
    text_i64(n[3], l->klass);
    text_i64(n[4], l->origin);
    text_i64(n[5], l->target_s);
    text_i64(n[6], l->window_id);
    text_i64(n[7], l->staff_id);
    text_i64(n[8], l->serve_ms);
    text_i64(n[9], l->outcome);
    const char *values[] = {
        l->ticket_id, n[0], n[1], n[2], n[3], n[4], s_time(start, true, l->start_ms), n[5],
        s_time(call, l->called, l->call_ms), l->window_id ? n[6] : NULL,
        l->staff_id ? n[7] : NULL, l->started ? "t" : "f",
        s_time(serving, l->serving, l->serving_since), n[8], n[9],
        s_time(outcome, l->outcome != ST_OUTCOME_OPEN, l->outcome_ms) };
    c->rows++;
    return pgstore_copy_row(c->copy, 16, values);
}

#define S_LEG_WRITE_COLS \
    "ticket_id, leg, branch_id, service_id, class, origin, start_at, target_s, " \
    "call_at, window_id, staff_id, started, serving_since, serve_ms, outcome, outcome_at"

static int s_flush_legs(st_store_t *self, st_engine_t *engine)
{
    s_copy_t c = { pgstore_copy_begin(self->pg, "st_leg_in", S_LEG_WRITE_COLS), 0 };
    if (!c.copy)
        return -1;
    st_engine_each_changed_leg(engine, s_copy_leg, &c);
    if (pgstore_copy_end(&c.copy) < 0)
        return -1;
    return c.rows == 0 ? 0 : pgstore_exec(self->pg,
        "INSERT INTO stats_leg (" S_LEG_WRITE_COLS ") SELECT " S_LEG_WRITE_COLS
        " FROM st_leg_in ON CONFLICT (ticket_id, leg) DO UPDATE SET "
        "call_at = excluded.call_at, window_id = excluded.window_id, "
        "staff_id = excluded.staff_id, started = excluded.started, "
        "serving_since = excluded.serving_since, serve_ms = excluded.serve_ms, "
        "outcome = excluded.outcome, outcome_at = excluded.outcome_at", 0, NULL);
}

static int s_write_unplaced(void *arg, const char *source, const char *fact,
                            const char *reason)
{
    const char *params[] = { source, fact, reason };
    return pgstore_exec(arg, "INSERT INTO stats_unplaced (source, fact, reason) "
                        "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING", 3, params);
}

static int s_write_session(void *arg, const char *id, int64_t branch_id, bool open)
{
    char branch[TEXT_I64_SIZE];
    text_i64(branch, branch_id);
    const char *params[] = { id, branch };
    return open ? pgstore_exec(arg, "INSERT INTO stats_open_session (session_id, branch_id) "
                               "VALUES ($1, $2) ON CONFLICT DO NOTHING", 2, params)
                : pgstore_exec(arg, "DELETE FROM stats_open_session WHERE session_id = $1",
                               1, params);
}

int st_store_make_reports(st_store_t *self, int delay_s)
{
    char delay[TEXT_I64_SIZE];
    text_i64(delay, delay_s);
    const char *params[] = { delay };
    PGresult *res = pgstore_query(self->pg, "SELECT stats_make_reports("
                                  "make_interval(secs => $1::int))", 1, params);
    if (!res)
        return -1;
    int made = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return made;
}

int st_store_flush(st_store_t *self, st_engine_t *engine, tailcursor_t *cursors,
                   st_sessions_t *sessions, st_flush_hook_fn *hook, void *hook_arg)
{
    pgstore_t *pg = self->pg;
    if (pgstore_begin(pg) != 0)
        return -1;
    if (pgstore_exec(pg, "SET LOCAL synchronous_commit = off", 0, NULL) != 0
        || pgstore_exec(pg, "SET LOCAL client_min_messages = warning", 0, NULL) != 0
        || pgstore_exec(pg, "CREATE TEMP TABLE IF NOT EXISTS st_cell_in "
                        "(LIKE stats_cell INCLUDING DEFAULTS) ON COMMIT DELETE ROWS",
                        0, NULL) != 0
        || pgstore_exec(pg, "CREATE TEMP TABLE IF NOT EXISTS st_leg_in "
                        "(LIKE stats_leg) ON COMMIT DELETE ROWS", 0, NULL) != 0
        || s_flush_cells(self, engine) != 0
        || s_flush_legs(self, engine) != 0
        || (hook && hook(hook_arg, pg) != 0)
        || st_engine_each_unplaced(engine, s_write_unplaced, pg) != 0
        || st_sessions_each_change(sessions, s_write_session, pg) != 0
        || tailcursor_save(cursors, pg, "stats_cursor") != 0
        || pgstore_commit(pg) != 0) {
        pgstore_rollback(pg);
        return -1;
    }
    return 0;
}
