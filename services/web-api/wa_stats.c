/*  wa_stats: statistics through stats-aggregator's SQL (wa_stats.h). */
#include "wa_stats.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        || wa_ops_node_arg(call, "node", &r->node_id, r->path) != 0)
        return -1;
    snprintf(r->node_text, sizeof r->node_text, "%" PRId64, r->node_id);
    return 0;
}

/* Answers the one JSON text `sql` yields; a value the SQL refuses (class
 * 22: an empty range, an unknown grouping or measure) answers 400. */
static void s_answer(wa_call_t *call, const char *sql, int nparams, const char *const *params)
{
    PGresult *res = pgstore_query(call->pg, sql, nparams, params);
    if (!res) {
        if (strncmp(pgstore_last_sqlstate(call->pg), "22", 2) == 0)
            wa_problem(call, MHD_HTTP_BAD_REQUEST, "the statistics refuse these arguments: "
                       "from must be before to, and the grouping and measure must be "
                       "among those documented");
        else
            wa_unavailable(call, "database");
        return;
    }
    char *body = PQntuples(res) == 1 ? strdup(PQgetvalue(res, 0, 0)) : NULL;
    PQclear(res);
    if (body)
        wa_reply_json(call, MHD_HTTP_OK, &body);
    else
        wa_unavailable(call, "database");
}

#define S_HEAD "'node', $1::text, 'from', $2::date, 'to', $3::date, 'group', $4::text"

void wa_stats_figures(wa_call_t *call)
{
    static const char *const allowed[] = { "node", "from", "to", "group", "percentiles", NULL };
    s_range_t r;
    if (s_range(call, allowed, &r) != 0)
        return;
    const char *pct = httpd_req_arg(call->req, "percentiles");
    if (pct && strcmp(pct, "true") != 0 && strcmp(pct, "false") != 0) {
        wa_problem(call, MHD_HTTP_BAD_REQUEST, "query argument \"percentiles\": must be "
                   "true or false");
        return;
    }
    const char *params[] = { r.path, r.from, r.to, r.group ? r.group : "none", r.node_text,
                             pct ? pct : "true" };
    s_answer(call,
             "SELECT json_build_object(" S_HEAD ", 'rows', coalesce((SELECT json_agg("
             " row_to_json(f)) FROM stats_figures($5::bigint, $2::date, $3::date, $4,"
             " $6::boolean) f), '[]'))::text",
             6, params);
}

void wa_stats_compare(wa_call_t *call)
{
    static const char *const allowed[] = { "node", "from", "to", "group", NULL };
    s_range_t r;
    if (s_range(call, allowed, &r) != 0)
        return;
    const char *params[] = { r.path, r.from, r.to, r.group ? r.group : "none", r.node_text };
    s_answer(call,
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

void wa_stats_rank(wa_call_t *call)
{
    static const char *const allowed[] = { "node", "from", "to", "group", "measure", "n",
                                           "min_sample", "order", NULL };
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
    s_answer(call,
             "SELECT json_build_object(" S_HEAD ", 'measure', $6::text, 'items',"
             " coalesce((SELECT json_agg(row_to_json(x) ORDER BY x.rank) FROM stats_rank("
             " $5::bigint, $2::date, $3::date, $4, $6, $7::int, $8::int, $9::boolean) x),"
             " '[]'))::text",
             9, params);
}

void wa_stats_stars(wa_call_t *call)
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
    const char *params[] = { path, subject, httpd_req_arg(call->req, "day") };
    s_answer(call,
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

#define S_LEG_KEY                                                                        \
    "to_char(l.start_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MISSUS') || '/' || l.ticket_id" \
    " || '/' || l.leg"

void wa_stats_services(wa_call_t *call)
{
    static const char *const more[] = { "node", "from", "to", "window", "staff", "service",
                                        "outcome", NULL };
    static const char *const outcomes[] = { "open", "served", "no_show", "abandoned",
                                            "transferred", NULL };
    char path[WA_PATH_SIZE];
    int64_t node_id, ignored;
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
    wa_store_list_key(
        call, "services", more,
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
        " ORDER BY " S_LEG_KEY " LIMIT $3");
}

#define S_SESSION_JSON                                                                   \
    "json_build_object('id', ss.id, 'staff', ss.staff_id, 'employee_no', s.employee_no,"  \
    " 'teller', s.name, 'window', ss.window_id, 'window_number', w.number,"               \
    " 'branch', b.path::text, 'login_at', " WA_TS("ss.login_at") ","                     \
    " 'logout_at', " WA_TS("ss.logout_at") ", 'closed_by', ss.closed_by)"

#define S_SESSION_FROM                                                                   \
    " FROM staff_session ss JOIN staff s ON s.id = ss.staff_id"                           \
    " JOIN service_window w ON w.id = ss.window_id"                                       \
    " JOIN org_node b ON b.id = w.node_id"

void wa_stats_on_duty(wa_call_t *call)
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
    s_answer(call,
             "SELECT json_build_object('node', $1::text, 'items', coalesce(json_agg("
             S_SESSION_JSON " ORDER BY b.path, w.number), '[]'))::text" S_SESSION_FROM
             " WHERE ss.logout_at IS NULL AND b.path <@ $1::ltree",
             1, params);
}

void wa_stats_staff_sessions(wa_call_t *call)
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
    wa_store_list_key(call, "sessions", more, sql);
}
