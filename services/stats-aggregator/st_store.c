/*  st_store: stats-aggregator's reads and its one-transaction flush (st_store.h). */
#include "st_store.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"
#include "eqms/text.h"

#include "st_hist.h"

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

static void s_leg(const PGresult *res, int r, st_leg_t *l)
{
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

int st_store_load_legs(void *arg, const char *ticket_id, st_leg_t *legs, int max)
{
    st_store_t *self = arg;
    const char *params[] = { ticket_id };
    PGresult *res = pgstore_query(self->pg, "SELECT " S_LEG_COLS " FROM stats_leg "
                                  "WHERE ticket_id = $1 ORDER BY leg", 1, params);
    if (!res)
        return -1;
    int n = PQntuples(res) < max ? PQntuples(res) : max;
    for (int r = 0; r < n; r++)
        s_leg(res, r, &legs[r]);
    PQclear(res);
    return n;
}

/* A growing text, for array parameters. */
typedef struct {
    char *text;
    size_t len, cap;
} s_text_t;

/* Appends `item` (len bytes) to an array literal being built ("{a,b"),
 * double-quoted and escaped if `quote`. 0 / -1 out of memory. */
static int s_text_item(s_text_t *t, const char *item, bool quote)
{
    size_t len = strlen(item);
    size_t need = t->len + 2 * len + 5;
    if (need > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < need)
            cap *= 2;
        char *grown = realloc(t->text, cap);
        if (!grown)
            return -1;
        t->text = grown;
        t->cap = cap;
    }
    char sep = t->len == 0 ? '{' : ',';
    t->text[t->len++] = sep;
    if (quote)
        t->text[t->len++] = '"';
    for (size_t i = 0; i < len; i++) {
        if (quote && (item[i] == '"' || item[i] == '\\'))
            t->text[t->len++] = '\\';
        t->text[t->len++] = item[i];
    }
    if (quote)
        t->text[t->len++] = '"';
    t->text[t->len] = '\0';
    return 0;
}

/* The array literal built, "{}" when empty; NULL if memory ran out. */
static const char *s_text_end(s_text_t *t)
{
    if (t->len == 0)
        return "{}";
    t->text[t->len++] = '}';
    t->text[t->len] = '\0';
    return t->text;
}

/* Tells the engine, in one query, the legs of the tickets of `res` (ticket
 * id in column `col`) it needs (st_engine_needs_legs). 0 / -1. */
static int s_known_legs(st_store_t *self, const PGresult *res, int col, st_engine_t *engine)
{
    s_text_t ids = { 0 };
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        const char *id = PQgetvalue(res, r, col);
        if (*id && st_engine_needs_legs(engine, id))
            rc = s_text_item(&ids, id, false);
    }
    if (rc != 0 || ids.len == 0) {
        free(ids.text);
        return rc;
    }
    const char *array = s_text_end(&ids);
    const char *params[] = { array };
    PGresult *legs = pgstore_query(self->pg, "SELECT " S_LEG_COLS " FROM stats_leg "
                                   "WHERE ticket_id = ANY($1::uuid[]) ORDER BY ticket_id, leg",
                                   1, params);
    rc = legs ? 0 : -1;
    /* the tickets with legs, each in one run of rows */
    st_leg_t run[64];
    int n = 0;
    for (int r = 0; legs && r <= PQntuples(legs) && rc == 0; r++) {
        if (n > 0 && (r == PQntuples(legs)
                      || strcmp(PQgetvalue(legs, r, 0), run[0].ticket_id) != 0)) {
            rc = st_engine_known_legs(engine, run[0].ticket_id, run, n);
            n = 0;
        }
        if (r < PQntuples(legs) && n < 64)
            s_leg(legs, r, &run[n++]);
    }
    PQclear(legs);
    /* the others have none */
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        const char *id = PQgetvalue(res, r, col);
        if (*id && st_engine_needs_legs(engine, id))
            rc = st_engine_known_legs(engine, id, NULL, 0);
    }
    free(ids.text);
    return rc;
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

/* The ranges' streams, positions and ends as three array literals. */
static int s_range_arrays(const st_range_t *ranges, int n, s_text_t *streams,
                          s_text_t *after, s_text_t *upto)
{
    for (int i = 0; i < n; i++) {
        char a[TEXT_I64_SIZE], u[TEXT_I64_SIZE];
        text_i64(a, ranges[i].after);
        text_i64(u, ranges[i].upto);
        if (s_text_item(streams, ranges[i].stream, false) != 0
            || s_text_item(after, a, false) != 0 || s_text_item(upto, u, false) != 0)
            return -1;
    }
    return 0;
}

static void s_texts_free(s_text_t *t, int n)
{
    for (int i = 0; i < n; i++)
        free(t[i].text);
}

/* Places the rows of a ticket event query: (range ordinal, seq, kind, at,
 * ticket, service, class, window, staff). 0 / -1. */
static int s_place_events(const PGresult *res, st_range_t *ranges, int n, st_engine_t *engine)
{
    for (int r = 0; r < PQntuples(res); r++) {
        int i = (int) s_i64(res, r, 0) - 1;
        if (i < 0 || i >= n)
            return -1;
        st_event_t ev = { .branch_id = strtoll(ranges[i].stream, NULL, 10),
                          .seq = s_i64(res, r, 1), .at_ms = s_i64(res, r, 3),
                          .service_id = s_i64(res, r, 5), .window_id = s_i64(res, r, 7),
                          .staff_id = s_i64(res, r, 8) };
        text_copy(ev.ticket_id, sizeof ev.ticket_id, PQgetvalue(res, r, 4));
        const char *klass = PQgetvalue(res, r, 6);
        char fact[64];
        snprintf(fact, sizeof fact, "%s/%lld", ranges[i].stream, (long long) ev.seq);
        int rc;
        if (st_event_kind_parse(PQgetvalue(res, r, 2), &ev.kind) != 0)
            rc = st_engine_unplaced(engine, "ticket_event", fact, "unknown event kind");
        else if (*klass && st_class_parse(klass, &ev.klass) != 0)
            rc = st_engine_unplaced(engine, "ticket_event", fact, "unknown customer class");
        else
            rc = st_engine_ticket_event(engine, &ev);
        if (rc != 0)
            return -1;   /* the engine cannot go on: the caller drops the batch */
        ranges[i].last = ev.seq;
    }
    return 0;
}

/* The LIMIT of the branch's read (never reached: seqs are gap-free) keeps it
 * a lookup of each partition's primary key per branch instead of a join
 * over the whole table. */
int st_store_ticket_events(st_store_t *self, st_range_t *ranges, int n, st_engine_t *engine)
{
    for (int i = 0; i < n; i++)
        ranges[i].last = ranges[i].after;
    if (n == 0)
        return 0;
    s_text_t t[3] = { { 0 } };
    int rc = -1;
    PGresult *res = NULL;
    if (s_range_arrays(ranges, n, &t[0], &t[1], &t[2]) != 0)
        goto done;
    const char *params[] = { s_text_end(&t[0]), s_text_end(&t[1]), s_text_end(&t[2]) };
    res = pgstore_query(self->pg,
        "SELECT s.ord, e.seq, e.kind, " S_MS("e.at") ", coalesce(e.ticket_id::text, ''), "
        "coalesce(e.service_id, 0), coalesce(e.class, ''), coalesce(e.window_id, 0), "
        "coalesce(e.staff_id, 0) FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) "
        "WITH ORDINALITY AS s (branch, after, upto, ord) CROSS JOIN LATERAL "
        "(SELECT * FROM ticket_event x WHERE x.branch_id = s.branch AND x.seq > s.after "
        "AND x.seq <= s.upto ORDER BY x.seq LIMIT s.upto - s.after) e "
        "ORDER BY s.ord, e.seq", 3, params);
    if (res && s_known_legs(self, res, 4, engine) == 0
        && s_place_events(res, ranges, n, engine) == 0)
        rc = 0;
done:
    PQclear(res);
    s_texts_free(t, 3);
    return rc;
}

#define S_SESSION_COLS \
    "id::text, window_id, staff_id, " S_MS("login_at") ", " S_MS("logout_at")

/* Places a closed session; remembers an open one. */
static int s_session(st_engine_t *engine, st_sessions_t *sessions, const st_interval_t *iv,
                     bool open)
{
    if (open)
        return st_sessions_open(sessions, iv->id,
                                st_config_window_branch(st_engine_config(engine),
                                                        iv->window_id), false);
    int rc = st_engine_session(engine, iv);
    st_sessions_close(sessions, iv->id);
    return rc;
}

/* Places the closed sessions of `res` (S_SESSION_COLS); remembers the open ones. */
static int s_sessions(const PGresult *res, st_engine_t *engine, st_sessions_t *sessions)
{
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        st_interval_t iv = { .window_id = s_i64(res, r, 1), .staff_id = s_i64(res, r, 2),
                             .from_ms = s_i64(res, r, 3), .to_ms = s_i64(res, r, 4) };
        text_copy(iv.id, sizeof iv.id, PQgetvalue(res, r, 0));
        rc = s_session(engine, sessions, &iv, PQgetisnull(res, r, 4));
    }
    return rc;
}

/* The facts of several gateway journals ($1 gateways, $2 incarnations, $3
 * after, $4 upto): ratings ('r'), device services ('s') and staff sessions
 * ('x') in one result: kind, id, window, staff, time, end time, option code,
 * score x 10, satisfied, unsatisfied. The LIMIT (never reached: a range
 * holds at most upto - after facts of a kind) keeps each journal's read a
 * lookup of the gateway_seq index instead of a join over the whole table. */
#define S_JOURNALS \
    "WITH s AS (SELECT * FROM unnest($1::text[], $2::uuid[], $3::bigint[], $4::bigint[]) " \
    "AS s (gw, inc, after, upto)) "
#define S_IN_JOURNAL(t) \
    " FROM s CROSS JOIN LATERAL (SELECT * FROM " t " f WHERE f.gateway = s.gw " \
    "AND f.gateway_incarnation = s.inc AND f.gateway_seq > s.after " \
    "AND f.gateway_seq <= s.upto LIMIT s.upto - s.after) x"

static int s_place_fact(const PGresult *res, int r, st_engine_t *engine,
                        st_sessions_t *sessions)
{
    char kind = PQgetvalue(res, r, 0)[0];
    const char *id = PQgetvalue(res, r, 1);
    if (kind == 'r') {
        st_rating_t rating = { .window_id = s_i64(res, r, 2), .staff_id = s_i64(res, r, 3),
                               .event_ms = s_i64(res, r, 4),
                               .option_code = (int) s_i64(res, r, 6),
                               .score_x10 = (int) s_i64(res, r, 7),
                               .satisfied = strcmp(PQgetvalue(res, r, 8), "t") == 0,
                               .unsatisfied = strcmp(PQgetvalue(res, r, 9), "t") == 0 };
        text_copy(rating.id, sizeof rating.id, id);
        return st_engine_rating(engine, &rating);
    }
    st_interval_t iv = { .window_id = s_i64(res, r, 2), .staff_id = s_i64(res, r, 3),
                         .from_ms = s_i64(res, r, 4), .to_ms = s_i64(res, r, 5) };
    text_copy(iv.id, sizeof iv.id, id);
    if (kind == 's')
        return st_engine_service(engine, &iv);
    return s_session(engine, sessions, &iv, PQgetisnull(res, r, 5));
}

int st_store_gateway_facts(st_store_t *self, st_range_t *ranges, int n, st_engine_t *engine,
                           st_sessions_t *sessions)
{
    for (int i = 0; i < n; i++)
        ranges[i].last = ranges[i].after;
    if (n == 0)
        return 0;
    s_text_t t[4] = { { 0 } };
    int rc = -1;
    PGresult *res = NULL;
    for (int i = 0; i < n; i++) {
        char gw[128], inc[ID_SIZE], a[TEXT_I64_SIZE], u[TEXT_I64_SIZE];
        if (tailcursor_gateway_split(ranges[i].stream, gw, sizeof gw, inc, sizeof inc) != 0)
            goto done;
        text_i64(a, ranges[i].after);
        text_i64(u, ranges[i].upto);
        if (s_text_item(&t[0], gw, true) != 0 || s_text_item(&t[1], inc, false) != 0
            || s_text_item(&t[2], a, false) != 0 || s_text_item(&t[3], u, false) != 0)
            goto done;
    }
    const char *params[] = { s_text_end(&t[0]), s_text_end(&t[1]), s_text_end(&t[2]),
                             s_text_end(&t[3]) };
    res = pgstore_query(self->pg, S_JOURNALS
        "SELECT 'r', x.id::text, x.window_id, x.staff_id, " S_MS("x.event_time") ", NULL, "
        "x.option_code, round(x.score * 10)::int, x.satisfied, x.unsatisfied"
        S_IN_JOURNAL("rating") " UNION ALL "
        "SELECT 's', x.id::text, x.window_id, coalesce(x.staff_id, 0), "
        S_MS("coalesce(x.started_at, x.ended_at)") ", " S_MS("x.ended_at")
        ", NULL, NULL, NULL, NULL" S_IN_JOURNAL("service_record") " UNION ALL "
        "SELECT 'x', x.id::text, x.window_id, x.staff_id, " S_MS("x.login_at") ", "
        S_MS("x.logout_at") ", NULL, NULL, NULL, NULL" S_IN_JOURNAL("staff_session"),
        4, params);
    if (!res)
        goto done;
    rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++)
        rc = s_place_fact(res, r, engine, sessions);
    for (int i = 0; rc == 0 && i < n; i++)
        ranges[i].last = ranges[i].upto;
done:
    PQclear(res);
    s_texts_free(t, 4);
    return rc;
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
    int rc = s_sessions(res, engine, sessions);
    PQclear(res);
    return rc == 0 ? n : -1;
}

/* --- the flush -------------------------------------------------------------- */

/* Text of the int array v[0..n) "{1,-2,0}", or NULL (no value) if n is 0. */
static const char *s_array_text(char *buf, size_t size, const int32_t *v, int n)
{
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

/* Text of an int array with trailing zeros cut, or NULL (no value) when
 * every element is 0. */
static const char *s_array32(char *buf, size_t size, const int32_t *v, int n)
{
    while (n > 0 && v[n - 1] == 0)
        n--;
    return s_array_text(buf, size, v, n);
}

/* Text of a histogram as stats_cell keeps it (running counts, st_hist.h), or
 * NULL (no value) when it counts nothing. */
static const char *s_hist(char *buf, size_t size, const int32_t counts[ST_HIST_BUCKETS])
{
    int32_t upto[ST_HIST_BUCKETS];
    return s_array_text(buf, size, upto, st_hist_cumulative(counts, upto));
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
    values[n++] = s_hist(wait, sizeof wait, m->wait_hist);
    values[n++] = s_hist(svc, sizeof svc, m->svc_hist);
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
 * arrays add element by element. An array that ends early counts 0 in the
 * later elements (categories) or its last element (histograms: running
 * counts, st_hist.h). */
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
    static const struct {
        const char *name;
        bool running;
    } arrays[] = { { "categories", false }, { "wait_hist", true }, { "svc_hist", true } };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0] && len < size; i++) {
        const char *a = arrays[i].name;
        char pad_old[96] = "", pad_new[96] = "";
        if (arrays[i].running) {
            snprintf(pad_old, sizeof pad_old, "stats_cell.%s[cardinality(stats_cell.%s)], ",
                     a, a);
            snprintf(pad_new, sizeof pad_new, "excluded.%s[cardinality(excluded.%s)], ", a, a);
        }
        len += (size_t) snprintf(out + len, size - len,
            "%s = CASE WHEN excluded.%s IS NULL THEN stats_cell.%s ELSE (SELECT "
            "array_agg(coalesce(x, %s0) + coalesce(y, %s0)) FROM unnest(stats_cell.%s, "
            "excluded.%s) AS u(x, y)) END, ", a, a, a, pad_old, pad_new, a, a);
    }
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
