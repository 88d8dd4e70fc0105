/*  wa_stats: statistics through stats-aggregator's SQL (wa_stats.h). */
#include "wa_stats.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"
#include "wa_export.h"
#include "wa_ops_common.h"
#include "wa_store.h"

static const char *const s_groups[] = { "none", "child", "service", "class", "option",
                                        "window", "teller", "hour_of_day", "day", "week",
                                        "month", "hour", NULL };

/* A figures request: node, from, to, group (and more arguments). */
typedef struct {
    int64_t node_id;
    char node_text[24];
    char path[WA_PATH_SIZE];
    const char *from, *to, *group;
} s_range_t;

static bool s_one_of(const char *value, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(value, *list) == 0)
            return true;
    return false;
}

/* Reads node, from, to and group (when `allowed` lists it) after checking
 * that only the arguments in `allowed` are given. 0, or -1 answered. */
static int s_range(wa_call_t *call, const char *const *allowed, s_range_t *r)
{
    char reason[160];
    if (httpd_req_args_check(call->req, allowed, reason, sizeof reason) != 0)
        return wa_problem(call, MHD_HTTP_BAD_REQUEST, "%s", reason);
    r->from = httpd_req_arg(call->req, "from");
    r->to = httpd_req_arg(call->req, "to");
    r->group = httpd_req_arg(call->req, "group");
    if (!r->from || !r->to)
        return wa_problem(call, MHD_HTTP_BAD_REQUEST, "query arguments \"from\" and \"to\" "
                          "are required: the node's local dates [from, to)");
    if (r->group && !s_one_of(r->group, s_groups))
        return wa_problem(call, MHD_HTTP_BAD_REQUEST, "query argument \"group\": must be one "
                          "of none, child, service, class, option, window, teller, "
                          "hour_of_day, day, week, month, hour");
    if (wa_ops_time_arg(call, "from", true) != 0 || wa_ops_time_arg(call, "to", true) != 0
        || wa_ops_time_arg(call, "as_of", false) != 0
        || wa_ops_node_arg(call, "node", &r->node_id, r->path) != 0)
        return -1;
    snprintf(r->node_text, sizeof r->node_text, "%" PRId64, r->node_id);
    return 0;
}

/* What an answer is to be: its format, and for a file its view, node,
 * period and sheet name. */
typedef struct {
    wa_format_t format;
    const wa_export_view_t *view;
    int64_t node_id;
    const char *path, *from, *to;
    const char *sheet;
} s_shape_t;

/* The sheet name of a compare period. */
static const char *s_period_title(const char *period)
{
    return strcmp(period, "current") == 0    ? "本期"
           : strcmp(period, "previous") == 0 ? "上期"
                                              : "去年同期";
}

/* Adds every object of the array `rows` to `table`; with `period` (a
 * compare period) its name and dates first. -1 when a cell was refused. */
static int s_rows(export_table_t *table, const wa_export_view_t *view, json_t *rows,
                  const json_t *period)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        if (period) {
            json_object_set(row, "period", json_object_get(period, "period"));
            json_object_set(row, "from", json_object_get(period, "from"));
            json_object_set(row, "to", json_object_get(period, "to"));
        }
        if (wa_export_row(table, view, row) != 0)
            return -1;
    }
    return 0;
}

/* Answers the file of `json` (the view's JSON answer): its "rows" or
 * "items" as one sheet, or for compare one sheet per period (the CSV:
 * the periods one after the other, the first column naming each). */
static void s_file(wa_call_t *call, const s_shape_t *shape, json_t *json)
{
    export_table_t *tables[4] = { NULL };
    size_t n = 0;
    int rc = 0;
    json_t *periods = json_object_get(json, "periods");
    if (json_is_array(periods)) {
        size_t i;
        json_t *p;
        json_array_foreach(periods, i, p) {
            if (shape->format == WA_FORMAT_CSV && n == 1) {
                rc |= s_rows(tables[0], shape->view, json_object_get(p, "rows"), p);
                continue;
            }
            if (n == sizeof tables / sizeof tables[0])
                break;
            const char *name = json_string_value(json_object_get(p, "period"));
            if (!(tables[n] = wa_export_table(shape->view, s_period_title(name ? name : "")))) {
                rc = -1;
                break;
            }
            rc |= s_rows(tables[n++], shape->view, json_object_get(p, "rows"), p);
        }
    } else {
        json_t *rows = json_object_get(json, "rows");
        if (!rows)
            rows = json_object_get(json, "items");
        if ((tables[0] = wa_export_table(shape->view, shape->sheet)))
            rc = s_rows(tables[n++], shape->view, rows, NULL);
        else
            rc = -1;
    }
    if (rc == 0 && n > 0)
        wa_export_reply(call, &(wa_export_what_t) { shape->view, shape->format, shape->node_id,
                                                     shape->path, shape->from, shape->to },
                        (const export_table_t *const *) tables, n);
    else
        wa_problem(call, MHD_HTTP_INTERNAL_SERVER_ERROR, "the file could not be made");
    for (size_t i = 0; i < n; i++)
        export_table_destroy(&tables[i]);
}

/* Runs `sql`; with the query argument as_of (a view read before: its
 * answer's as_of), as of that instant: open staff sessions counted up to
 * it (stats_as_of, schema 34), in a transaction of its own. NULL on
 * failure, with the statement's SQL state in `state`. */
static PGresult *s_query(wa_call_t *call, const char *sql, int nparams,
                         const char *const *params, char state[6])
{
    const char *as_of = httpd_req_arg(call->req, "as_of");
    PGresult *res = NULL;
    if (!as_of) {
        res = pgstore_query(call->pg, sql, nparams, params);
    } else if (pgstore_begin(call->pg) == 0) {
        const char *p[] = { as_of };
        PGresult *set = pgstore_query(call->pg, "SELECT set_config('eqms.as_of',"
                                      " $1::timestamptz::text, true)", 1, p);
        res = set ? pgstore_query(call->pg, sql, nparams, params) : NULL;
        PQclear(set);
    }
    snprintf(state, 6, "%s", pgstore_last_sqlstate(call->pg));
    if (as_of && res && pgstore_commit(call->pg) != 0) {
        PQclear(res);
        res = NULL;
    }
    if (as_of && !res)
        pgstore_rollback(call->pg);
    return res;
}

/* Answers the one JSON text `sql` yields, as JSON or as the file `shape`
 * says; a value the SQL refuses (class 22: an empty range, an unknown
 * grouping or measure) answers 400. */
static void s_answer(wa_call_t *call, const s_shape_t *shape, const char *sql, int nparams,
                     const char *const *params)
{
    char state[6];
    PGresult *res = s_query(call, sql, nparams, params, state);
    if (!res) {
        if (strncmp(state, "22", 2) == 0)
            wa_problem(call, MHD_HTTP_BAD_REQUEST, "the statistics refuse these arguments: "
                       "from must be before to, and the grouping and measure must be "
                       "among those documented");
        else
            wa_unavailable(call, "database");
        return;
    }
    char *body = PQntuples(res) == 1 ? strdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    if (!body) {
        wa_unavailable(call, "database");
        return;
    }
    if (shape->format == WA_FORMAT_JSON) {
        wa_reply_json(call, MHD_HTTP_OK, &body);
        return;
    }
    json_error_t error;
    json_t *json = json_loads(body, 0, &error);
    free(body);
    if (!json) {
        log_error("webapi_export_json", "reason=\"%s\"", error.text);
        wa_problem(call, MHD_HTTP_INTERNAL_SERVER_ERROR, "the file could not be made");
        return;
    }
    s_file(call, shape, json);
    json_decref(json);
}

/* The formats of a view: its JSON route, and its files (wa_export). */
#define S_FORMATS(name, fn)                                                     \
    void wa_stats_##name(wa_call_t *call) { fn(call, WA_FORMAT_JSON); }        \
    void wa_stats_##name##_csv(wa_call_t *call)                                \
    {                                                                           \
        if (wa_export_allowed(call) == 0)                                       \
            fn(call, WA_FORMAT_CSV);                                            \
    }                                                                           \
    void wa_stats_##name##_xlsx(wa_call_t *call)                               \
    {                                                                           \
        if (wa_export_allowed(call) == 0)                                       \
            fn(call, WA_FORMAT_XLSX);                                           \
    }

#define S_HEAD "'node', $1::text, 'from', $2::date, 'to', $3::date, 'group', $4::text," \
    " 'as_of', " WA_TS("stats_as_of()")

/* The query argument `window` of the figures: absent (0), or with group
 * teller a window of the node's subtree (its id). 0, or -1 answered (400
 * when given with another grouping, 404 when no such window is under the
 * node, 503). */
static int s_window_arg(wa_call_t *call, const s_range_t *r, int64_t *window)
{
    if (wa_ops_int_arg(call, "window", 1, INT64_MAX / 2, 0, window) != 0)
        return -1;
    if (!*window)
        return 0;
    if (!r->group || strcmp(r->group, "teller") != 0)
        return wa_problem(call, MHD_HTTP_BAD_REQUEST, "query argument \"window\": only with "
                          "group=teller (the tellers who served at that window)");
    const char *params[] = { httpd_req_arg(call->req, "window"), r->path };
    PGresult *res = pgstore_query(call->pg, "SELECT 1 FROM service_window w JOIN org_node b"
                                  " ON b.id = w.node_id WHERE w.id = $1::bigint"
                                  " AND b.path <@ $2::ltree", 2, params);
    if (!res)
        return wa_unavailable(call, "database");
    int found = PQntuples(res);
    PQclear(res);
    if (!found)
        return wa_problem(call, MHD_HTTP_NOT_FOUND, "no window %" PRId64 " under %s", *window,
                          r->path);
    return 0;
}

static void s_figures(wa_call_t *call, wa_format_t format)
{
    static const char *const allowed[] = { "node", "from", "to", "group", "percentiles",
                                           "window", "as_of", NULL };
    s_range_t r;
    int64_t window;
    if (s_range(call, allowed, &r) != 0 || s_window_arg(call, &r, &window) != 0)
        return;
    const char *pct = httpd_req_arg(call->req, "percentiles");
    if (pct && strcmp(pct, "true") != 0 && strcmp(pct, "false") != 0) {
        wa_problem(call, MHD_HTTP_BAD_REQUEST, "query argument \"percentiles\": must be "
                   "true or false");
        return;
    }
    const char *params[] = { r.path, r.from, r.to, r.group ? r.group : "none", r.node_text,
                             pct ? pct : "true", window ? httpd_req_arg(call->req, "window")
                                                        : NULL };
    s_shape_t shape = { format, &wa_export_figures, r.node_id, r.path, r.from, r.to,
                        r.group ? r.group : "none" };
    /* with a window: the tellers of its service legs that began in the
     * period (the window's branch's local days), as /stats/services lists them */
    s_answer(call, &shape,
             "SELECT json_build_object(" S_HEAD ", 'window', $7::bigint, 'rows', coalesce(("
             " SELECT json_agg(row_to_json(f)) FROM stats_figures($5::bigint, $2::date,"
             " $3::date, $4, $6::boolean) f WHERE $7::bigint IS NULL OR f.member IN ("
             "   SELECT l.staff_id FROM stats_leg l JOIN service_window w ON w.id = l.window_id"
             "   JOIN org_node b ON b.id = w.node_id WHERE l.window_id = $7::bigint"
             "   AND l.start_at >= $2::date::timestamp AT TIME ZONE b.time_zone"
             "   AND l.start_at < $3::date::timestamp AT TIME ZONE b.time_zone)), '[]'))::text",
             7, params);
}

S_FORMATS(figures, s_figures)

static void s_compare(wa_call_t *call, wa_format_t format)
{
    static const char *const allowed[] = { "node", "from", "to", "group", "as_of", NULL };
    s_range_t r;
    if (s_range(call, allowed, &r) != 0)
        return;
    const char *params[] = { r.path, r.from, r.to, r.group ? r.group : "none", r.node_text };
    s_shape_t shape = { format, &wa_export_compare, r.node_id, r.path, r.from, r.to,
                        "compare" };
    s_answer(call, &shape,
             "WITH c AS (SELECT * FROM stats_compare($5::bigint, $2::date, $3::date, $4)),"
             " p AS (SELECT c.period, c.from_day, c.to_day,"
             "   json_agg(row_to_json(c.figures)) AS rows FROM c"
             "   GROUP BY c.period, c.from_day, c.to_day)"
             " SELECT json_build_object(" S_HEAD ", 'periods', coalesce((SELECT json_agg("
             " json_build_object('period', p.period, 'from', p.from_day, 'to', p.to_day,"
             " 'rows', p.rows) ORDER BY array_position(ARRAY['current', 'previous',"
             " 'year_before'], p.period)) FROM p), '[]'))::text",
             5, params);
}

S_FORMATS(compare, s_compare)

static void s_rank(wa_call_t *call, wa_format_t format)
{
    static const char *const allowed[] = { "node", "from", "to", "group", "measure", "n",
                                           "min_sample", "order", "as_of", NULL };
    s_range_t r;
    int64_t n, min_sample;
    if (s_range(call, allowed, &r) != 0
        || wa_ops_int_arg(call, "n", 1, 1000, 10, &n) != 0
        || wa_ops_int_arg(call, "min_sample", 0, 1000000, 30, &min_sample) != 0)
        return;
    const char *measure = httpd_req_arg(call->req, "measure");
    const char *order = httpd_req_arg(call->req, "order");
    if (!r.group || !measure || !wa_ops_match(measure, "^[a-z0-9_]{1,40}$")) {
        wa_problem(call, MHD_HTTP_BAD_REQUEST, "query arguments \"group\" and \"measure\" "
                   "are required: a grouping other than none, and a numeric measure of "
                   "/stats/figures (satisfaction, wait_avg_s, ...)");
        return;
    }
    if (order && strcmp(order, "top") != 0 && strcmp(order, "bottom") != 0) {
        wa_problem(call, MHD_HTTP_BAD_REQUEST, "query argument \"order\": must be top or "
                   "bottom");
        return;
    }
    char n_text[24], min_text[24];
    snprintf(n_text, sizeof n_text, "%" PRId64, n);
    snprintf(min_text, sizeof min_text, "%" PRId64, min_sample);
    const char *params[] = { r.path, r.from, r.to, r.group, r.node_text, measure, n_text,
                             min_text, order && strcmp(order, "bottom") == 0 ? "f" : "t" };
    s_shape_t shape = { format, &wa_export_rank, r.node_id, r.path, r.from, r.to, measure };
    s_answer(call, &shape,
             "SELECT json_build_object(" S_HEAD ", 'measure', $6::text, 'items',"
             " coalesce((SELECT json_agg(row_to_json(x) ORDER BY x.rank) FROM stats_rank("
             " $5::bigint, $2::date, $3::date, $4, $6, $7::int, $8::int, $9::boolean) x),"
             " '[]'))::text",
             9, params);
}

S_FORMATS(rank, s_rank)

static void s_stars(wa_call_t *call, wa_format_t format)
{
    static const char *const allowed[] = { "node", "subject", "day", NULL };
    static const char *const subjects[] = { "window", "teller", NULL };
    char reason[160], path[WA_PATH_SIZE];
    int64_t node_id;
    if (httpd_req_args_check(call->req, allowed, reason, sizeof reason) != 0) {
        wa_problem(call, MHD_HTTP_BAD_REQUEST, "%s", reason);
        return;
    }
    const char *subject = httpd_req_arg(call->req, "subject");
    if (subject && !s_one_of(subject, subjects)) {
        wa_problem(call, MHD_HTTP_BAD_REQUEST, "query argument \"subject\": must be window "
                   "or teller");
        return;
    }
    if (wa_ops_time_arg(call, "day", true) != 0
        || wa_ops_node_arg(call, "node", &node_id, path) != 0)
        return;
    const char *day = httpd_req_arg(call->req, "day");
    const char *params[] = { path, subject, day };
    s_shape_t shape = { format, &wa_export_stars, node_id, path, day, day, "stars" };
    s_answer(call, &shape,
             "SELECT json_build_object('node', $1::text, 'items', coalesce(json_agg("
             " json_build_object('subject', g.subject, 'member', g.member,"
             " 'branch', b.path::text, 'period', (ARRAY['hour', 'day', 'week', 'month',"
             " 'quarter', 'year'])[g.period + 1], 'start_day', g.start_day,"
             " 'grade', g.grade, 'rated', g.rated, 'satisfied', g.satisfied,"
             " 'changed_at', " WA_TS("g.changed_at") ")"
             " ORDER BY g.subject, b.path, g.member, g.period), '[]'))::text"
             " FROM (SELECT DISTINCT ON (subject, member, branch_id, period) *"
             "       FROM stats_star_grade"
             "       WHERE ($2::text IS NULL OR subject = $2)"
             "         AND ($3::date IS NULL OR start_day <= $3::date)"
             "       ORDER BY subject, member, branch_id, period, start_day DESC) g"
             " JOIN org_node b ON b.id = g.branch_id WHERE b.path <@ $1::ltree",
             3, params);
}

S_FORMATS(stars, s_stars)

#define S_LEG_KEY                                                                        \
    "to_char(l.start_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS') || '/' || l.ticket_id" \
    " || '/' || l.leg"

/* The detail list: $1 the subtree, $2 the cursor's key, $3 the limit (NULL:
 * all), $4.. node, from, to, window, staff, service, outcome. Each row: its
 * key and its JSON. */
static const char s_services_sql[] =
    "SELECT " S_LEG_KEY ", json_build_object("
    " 'ticket', l.ticket_id, 'number', t.number, 'leg', l.leg, 'branch', b.path::text,"
    " 'queue', t.queue_id, 'service', l.service_id,"
    " 'class', (ARRAY['ordinary', 'vip', 'green'])[l.class + 1],"
    " 'origin', (ARRAY['issued', 'walk_in', 'transfer'])[l.origin + 1],"
    " 'window', l.window_id, 'window_number', w.number,"
    " 'staff', l.staff_id, 'employee_no', s.employee_no, 'teller', s.name,"
    " 'start_at', " WA_TS("l.start_at") ", 'called_at', " WA_TS("l.call_at") ","
    " 'outcome', (ARRAY['open', 'served', 'no_show', 'abandoned', 'transferred'])"
    "   [l.outcome + 1], 'outcome_at', " WA_TS("l.outcome_at") ","
    " 'wait_s', round(extract(epoch FROM l.call_at - l.start_at), 3),"
    " 'service_s', round(l.serve_ms / 1000.0, 3),"
    " 'rating', (SELECT json_build_object('option', r.option_code, 'score', r.score,"
    "   'satisfied', r.satisfied, 'unsatisfied', r.unsatisfied,"
    "   'at', " WA_TS("r.event_time") ") FROM rating r WHERE r.ticket_id = l.ticket_id"
    "   ORDER BY r.event_time DESC LIMIT 1))::text"
    " FROM stats_leg l JOIN org_node b ON b.id = l.branch_id"
    " JOIN org_node n ON n.path = coalesce($4::ltree, $1::ltree)"
    " LEFT JOIN LATERAL (SELECT number, queue_id FROM ticket"
    "   WHERE id = l.ticket_id LIMIT 1) t ON true"
    " LEFT JOIN service_window w ON w.id = l.window_id"
    " LEFT JOIN staff s ON s.id = l.staff_id"
    " WHERE b.path <@ $1::ltree AND b.path <@ n.path"
    "   AND ($2::text IS NULL OR " S_LEG_KEY " > $2)"
    "   AND ($5::date IS NULL OR l.start_at >= $5::date::timestamp AT TIME ZONE n.time_zone)"
    "   AND ($6::date IS NULL OR l.start_at < $6::date::timestamp AT TIME ZONE n.time_zone)"
    "   AND ($7::bigint IS NULL OR l.window_id = $7::bigint)"
    "   AND ($8::bigint IS NULL OR l.staff_id = $8::bigint)"
    "   AND ($9::bigint IS NULL OR l.service_id = $9::bigint)"
    "   AND ($10::text IS NULL OR l.outcome = array_position(ARRAY['open', 'served',"
    "        'no_show', 'abandoned', 'transferred'], $10) - 1)"
    " ORDER BY " S_LEG_KEY " LIMIT $3";

/* A streamed CSV of the detail list: rows as PostgreSQL sends them (single
 * row mode on a connection of the stream's own), S_STREAM_ROWS at a time
 * through the table's CSV, so that a long range is never held whole. */
#define S_STREAM_ROWS 64
#define S_STREAMS_MAX 4           /* streamed exports at once (a connection each) */

static atomic_int s_streams;
#define S_STREAM_TIMEOUT_MS (15 * 60 * 1000)

typedef struct {
    pgstore_t *pg;
    PGresult *first;              /* the first result, read by the handler */
    export_table_t *table;
    char *buf;                    /* CSV text not yet sent */
    size_t len, off;
    bool head, ended;
    long rows;
} s_stream_t;

/* Reads up to S_STREAM_ROWS rows into the table. */
static void s_stream_fill(s_stream_t *st)
{
    PGconn *conn = pgstore_conn(st->pg);
    for (int n = 0; n < S_STREAM_ROWS && !st->ended;) {
        PGresult *res = st->first ? st->first : (conn ? PQgetResult(conn) : NULL);
        st->first = NULL;
        if (!res) {
            st->ended = true;
            break;
        }
        ExecStatusType status = PQresultStatus(res);
        if (status == PGRES_SINGLE_TUPLE) {
            json_t *row = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
            if (!row || wa_export_row(st->table, &wa_export_services, row) != 0) {
                log_error("webapi_export_stream", "reason=\"a row could not be written\" "
                          "rows=%ld", st->rows);
                st->ended = true;
            }
            json_decref(row);
            st->rows++;
            n++;
        } else if (status != PGRES_TUPLES_OK) {
            log_error("webapi_export_stream", "reason=\"%s\" rows=%ld",
                      PQresultErrorMessage(res), st->rows);
            st->ended = true;
        }
        PQclear(res);
    }
    if (st->ended && conn) {
        PGresult *rest;
        while ((rest = PQgetResult(conn)))
            PQclear(rest);
    }
    free(st->buf);
    st->buf = export_csv_part(st->table, !st->head, &st->len);
    st->head = true;
    st->off = 0;
    export_table_clear(st->table);
    if (!st->buf) {
        st->len = 0;
        st->ended = true;
    }
}

static long s_stream_read(void *producer, char *buf, size_t max)
{
    s_stream_t *st = producer;
    while (st->off == st->len) {
        if (st->ended)
            return -1;
        s_stream_fill(st);
    }
    size_t n = st->len - st->off < max ? st->len - st->off : max;
    memcpy(buf, st->buf + st->off, n);
    st->off += n;
    return (long) n;
}

static void s_stream_close(void *producer)
{
    s_stream_t *st = producer;
    log_info("webapi_export_streamed", "view=services rows=%ld complete=%s", st->rows,
             st->ended && st->off == st->len ? "yes" : "no");
    PQclear(st->first);
    pgstore_destroy(&st->pg);
    atomic_fetch_sub(&s_streams, 1);
    export_table_destroy(&st->table);
    free(st->buf);
    free(st);
}

static const httpd_stream_ops_t s_stream_ops = { s_stream_read, s_stream_close };

/* Starts the query on a connection of its own and answers the stream. */
static void s_services_stream(wa_call_t *call, const wa_export_what_t *what,
                              const char *const *params)
{
    if (atomic_fetch_add(&s_streams, 1) >= S_STREAMS_MAX) {
        atomic_fetch_sub(&s_streams, 1);
        httpd_reply_header(call->reply, "Retry-After", "10");
        wa_problem(call, MHD_HTTP_SERVICE_UNAVAILABLE, "%d streamed exports are running: "
                   "try again shortly", S_STREAMS_MAX);
        return;
    }
    s_stream_t *st = calloc(1, sizeof *st);
    if (!st || !(st->table = wa_export_table(&wa_export_services, "services"))
        || !(st->pg = pgstore_new(call->config->pg_conninfo))) {
        if (st)
            export_table_destroy(&st->table);
        free(st);
        atomic_fetch_sub(&s_streams, 1);
        wa_unavailable(call, "memory");
        return;
    }
    pgstore_set_statement_timeout(st->pg, S_STREAM_TIMEOUT_MS);
    PGconn *conn = pgstore_connect(st->pg, 5000) == 0 ? pgstore_conn(st->pg) : NULL;
    if (!conn || !PQsendQueryParams(conn, s_services_sql, 10, NULL, params, NULL, NULL, 0)
        || !PQsetSingleRowMode(conn)) {
        if (conn)
            log_error("webapi_export_stream", "reason=\"%s\"", PQerrorMessage(conn));
        s_stream_close(st);
        wa_unavailable(call, "database");
        return;
    }
    st->first = PQgetResult(conn);
    ExecStatusType status = st->first ? PQresultStatus(st->first) : PGRES_FATAL_ERROR;
    if (status != PGRES_SINGLE_TUPLE && status != PGRES_TUPLES_OK) {
        const char *state = st->first ? PQresultErrorField(st->first, PG_DIAG_SQLSTATE) : NULL;
        bool refused = state && strncmp(state, "22", 2) == 0;
        s_stream_close(st);
        if (refused)
            wa_problem(call, MHD_HTTP_BAD_REQUEST, "the statistics refuse these arguments");
        else
            wa_unavailable(call, "database");
        return;
    }
    if (wa_export_begin(call, what, -1) != 0) {
        s_stream_close(st);
        return;
    }
    /* a stream keeps the Content-Disposition wa_export_begin added */
    httpd_reply_stream(call->reply, MHD_HTTP_OK, "text/csv; charset=utf-8", &s_stream_ops, st);
}

/* The XLSX of the detail list, in memory: at most WA_EXPORT_XLSX_ROWS_MAX
 * rows, 413 beyond. */
static void s_services_xlsx(wa_call_t *call, const wa_export_what_t *what,
                            const char *const *params)
{
    /* counted first, so that a list over the limit is never fetched */
    char count_sql[sizeof s_services_sql + 64];
    snprintf(count_sql, sizeof count_sql, "SELECT count(*) FROM (%s) x", s_services_sql);
    PGresult *res = pgstore_query(call->pg, count_sql, 10, params);
    if (!res) {
        wa_unavailable(call, "database");
        return;
    }
    long counted = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (counted <= WA_EXPORT_XLSX_ROWS_MAX
        && !(res = pgstore_query(call->pg, s_services_sql, 10, params))) {
        wa_unavailable(call, "database");
        return;
    }
    if (counted > WA_EXPORT_XLSX_ROWS_MAX) {
        wa_problem(call, MHD_HTTP_CONTENT_TOO_LARGE, "more than %d rows: an .xlsx holds at "
                   "most %d rows of the detail list; take the .csv (streamed, no limit) or "
                   "a shorter range", WA_EXPORT_XLSX_ROWS_MAX, WA_EXPORT_XLSX_ROWS_MAX);
        return;
    }
    int rows = PQntuples(res);
    export_table_t *table = wa_export_table(&wa_export_services, "services");
    int rc = table ? 0 : -1;
    for (int i = 0; i < rows && rc == 0; i++) {
        json_t *row = json_loads(PQgetvalue(res, i, 1), 0, NULL);
        rc = row ? wa_export_row(table, &wa_export_services, row) : -1;
        json_decref(row);
    }
    PQclear(res);
    if (rc == 0)
        wa_export_reply(call, what, (const export_table_t *const *) &table, 1);
    else
        wa_problem(call, MHD_HTTP_INTERNAL_SERVER_ERROR, "the file could not be made");
    export_table_destroy(&table);
}

/* `"purged_before":<time or null>` for a list whose rows come from raw data
 * that a purge deletes (docs/statistics.md, "After a purge"): the latest
 * purge mark of `path`, its ancestors and its descendants. 0, or -1 answered. */
static int s_purged_before(wa_call_t *call, const char *path, char *members, size_t size)
{
    const char *at[] = { path };
    PGresult *res = pgstore_query(call->pg, "SELECT json_build_object('purged_before', "
                                  WA_TS("eqms_purged_before($1::ltree)") ")::text", 1, at);
    if (!res)
        return wa_unavailable(call, "database");
    const char *obj = PQgetvalue(res, 0, 0);   /* {"purged_before":...} */
    snprintf(members, size, "%.*s", (int) strlen(obj) - 2, obj + 1);
    PQclear(res);
    return 0;
}

static void s_services(wa_call_t *call, wa_format_t format)
{
    static const char *const more[] = { "node", "from", "to", "window", "staff", "service",
                                        "outcome", NULL };
    static const char *const outcomes[] = { "open", "served", "no_show", "abandoned",
                                            "transferred", NULL };
    char path[WA_PATH_SIZE], reason[160];
    int64_t node_id, ignored;
    if (format != WA_FORMAT_JSON
        && httpd_req_args_check(call->req, more, reason, sizeof reason) != 0) {
        wa_problem(call, MHD_HTTP_BAD_REQUEST, "%s", reason);
        return;
    }
    const char *outcome = httpd_req_arg(call->req, "outcome");
    if (outcome && !s_one_of(outcome, outcomes)) {
        wa_problem(call, MHD_HTTP_BAD_REQUEST, "query argument \"outcome\": must be one of "
                   "open, served, no_show, abandoned, transferred");
        return;
    }
    if (wa_ops_time_arg(call, "from", true) != 0 || wa_ops_time_arg(call, "to", true) != 0
        || wa_ops_int_arg(call, "window", 1, INT64_MAX / 2, 0, &ignored) != 0
        || wa_ops_int_arg(call, "staff", 1, INT64_MAX / 2, 0, &ignored) != 0
        || wa_ops_int_arg(call, "service", 1, INT64_MAX / 2, 0, &ignored) != 0
        || wa_ops_node_arg(call, "node", &node_id, path) != 0)
        return;
    if (format == WA_FORMAT_JSON) {
        /* where the raw data (tickets, ratings) under the node starts */
        char members[96];
        if (s_purged_before(call, path, members, sizeof members) == 0)
            wa_store_list_key_with(call, "services", more, s_services_sql, members);
        return;
    }
    char limit[16];
    snprintf(limit, sizeof limit, "%d", WA_EXPORT_XLSX_ROWS_MAX + 1);
    const char *params[10] = { call->who.node_path, NULL,
                               format == WA_FORMAT_XLSX ? limit : NULL };
    for (int i = 0; more[i]; i++)
        params[3 + i] = httpd_req_arg(call->req, more[i]);
    /* the node as the JSON route reads it: the caller's own without one */
    params[3] = path;
    wa_export_what_t what = { &wa_export_services, format, node_id, path,
                              httpd_req_arg(call->req, "from"), httpd_req_arg(call->req, "to") };
    if (format == WA_FORMAT_CSV)
        s_services_stream(call, &what, params);
    else
        s_services_xlsx(call, &what, params);
}

S_FORMATS(services, s_services)

#define S_SESSION_JSON                                                                   \
    "json_build_object('id', ss.id, 'staff', ss.staff_id, 'employee_no', s.employee_no,"  \
    " 'teller', s.name, 'window', ss.window_id, 'window_number', w.number,"               \
    " 'branch', b.path::text, 'login_at', " WA_TS("ss.login_at") ","                     \
    " 'logout_at', " WA_TS("ss.logout_at") ", 'closed_by', ss.closed_by)"

#define S_SESSION_FROM                                                                   \
    " FROM staff_session ss JOIN staff s ON s.id = ss.staff_id"                           \
    " JOIN service_window w ON w.id = ss.window_id"                                       \
    " JOIN org_node b ON b.id = w.node_id"

static void s_on_duty(wa_call_t *call, wa_format_t format)
{
    static const char *const allowed[] = { "node", NULL };
    char reason[160], path[WA_PATH_SIZE];
    int64_t node_id;
    if (httpd_req_args_check(call->req, allowed, reason, sizeof reason) != 0) {
        wa_problem(call, MHD_HTTP_BAD_REQUEST, "%s", reason);
        return;
    }
    if (wa_ops_node_arg(call, "node", &node_id, path) != 0)
        return;
    const char *params[] = { path };
    s_shape_t shape = { format, &wa_export_on_duty, node_id, path, NULL, NULL, "on-duty" };
    s_answer(call, &shape,
             "SELECT json_build_object('node', $1::text, 'items', coalesce(json_agg("
             S_SESSION_JSON " ORDER BY b.path, w.number), '[]'))::text" S_SESSION_FROM
             " WHERE ss.logout_at IS NULL AND b.path <@ $1::ltree",
             1, params);
}

S_FORMATS(on_duty, s_on_duty)

static void s_staff_sessions(wa_call_t *call, wa_format_t format)
{
    static const char *const more[] = { NULL };
    const char *param = httpd_req_param(call->req, "id");
    size_t len = param ? strlen(param) : 0;
    if (len == 0 || len > 18 || strspn(param, "0123456789") != len || param[0] == '0') {
        wa_problem(call, MHD_HTTP_NOT_FOUND, "no such teller");
        return;
    }
    /* a teller the caller may see: bound inside the subtree, or who has
     * worked at its windows */
    const char *params[] = { param, call->who.node_path };
    PGresult *res = pgstore_query(
        call->pg,
        "SELECT 1 FROM staff s JOIN org_node n ON n.id = s.node_id WHERE s.id = $1"
        " AND (n.path <@ $2::ltree OR EXISTS (SELECT 1" S_SESSION_FROM
        "      WHERE ss.staff_id = s.id AND b.path <@ $2::ltree))",
        2, params);
    if (!res) {
        wa_unavailable(call, "database");
        return;
    }
    int found = PQntuples(res);
    PQclear(res);
    if (!found) {
        wa_problem(call, MHD_HTTP_NOT_FOUND, "no such teller");
        return;
    }
    /* $4 is not an argument: the teller, given as a fixed value below */
    char sql[2048];
    snprintf(sql, sizeof sql,
             "SELECT to_char(ss.login_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS') || '/'"
             " || ss.id, " S_SESSION_JSON "::text" S_SESSION_FROM
             " WHERE ss.staff_id = %s AND b.path <@ $1::ltree"
             "   AND ($2::text IS NULL OR to_char(ss.login_at AT TIME ZONE 'UTC',"
             "        'YYYYMMDDHH24MISSUS') || '/' || ss.id < $2)"
             " ORDER BY ss.login_at DESC, ss.id DESC LIMIT $3",
             param);
    if (format == WA_FORMAT_JSON) {
        /* closed sessions of the subtree that logged out before a purge's cut are gone */
        char members[96];
        if (s_purged_before(call, call->who.node_path, members, sizeof members) == 0)
            wa_store_list_key_with(call, "sessions", more, sql, members);
        return;
    }
    /* a file: every session, no pages */
    if (wa_no_args(call) != 0)
        return;
    const char *all[] = { call->who.node_path, NULL, NULL };
    res = pgstore_query(call->pg, sql, 3, all);
    if (!res) {
        wa_unavailable(call, "database");
        return;
    }
    export_table_t *table = wa_export_table(&wa_export_sessions, "sessions");
    int rc = table ? 0 : -1;
    for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
        json_t *row = json_loads(PQgetvalue(res, i, 1), 0, NULL);
        rc = row ? wa_export_row(table, &wa_export_sessions, row) : -1;
        json_decref(row);
    }
    PQclear(res);
    char view_path[WA_PATH_SIZE + 32];
    snprintf(view_path, sizeof view_path, "%s_staff%s", call->who.node_path, param);
    wa_export_what_t what = { &wa_export_sessions, format, call->who.node_id, view_path,
                              NULL, NULL };
    if (rc == 0)
        wa_export_reply(call, &what, (const export_table_t *const *) &table, 1);
    else
        wa_problem(call, MHD_HTTP_INTERNAL_SERVER_ERROR, "the file could not be made");
    export_table_destroy(&table);
}

S_FORMATS(staff_sessions, s_staff_sessions)
