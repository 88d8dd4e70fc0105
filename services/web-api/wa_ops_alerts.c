/*  wa_ops_alerts: alerts, their events, acknowledge and resolve
 *  (wa_ops_alerts.h). */
#include "wa_ops_alerts.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"
#include "wa_auth.h"
#include "wa_ops_common.h"
#include "wa_store.h"

/* The complaint's detail (the option chosen) as shown: itself when `show`
 * (an SQL boolean), else 不满意 (docs/alerts.md, "Complaint details"). */
#define S_FACTS(show)                                                                    \
    "CASE WHEN " show " OR NOT a.facts ? 'option' THEN a.facts"                         \
    " ELSE jsonb_set(a.facts, '{option}', to_jsonb('不满意'::text)) END"

#define S_ALERT_JSON(show)                                                               \
    "jsonb_build_object('id', a.id, 'kind', a.kind, 'branch', b.path::text,"             \
    " 'window', a.window_id, 'staff', a.staff_id, 'state', a.state,"                     \
    " 'opened_at', " WA_TS("a.opened_at") ", 'raised_at', " WA_TS("a.raised_at") ","     \
    " 'acknowledged_at', " WA_TS("a.acknowledged_at") ","                                \
    " 'acknowledged_by', a.acknowledged_by,"                                             \
    " 'resolved_at', " WA_TS("a.resolved_at") ", 'resolved_by', a.resolved_by,"          \
    " 'stale', a.stale, 'facts', " S_FACTS(show) ")"

#define S_EVENTS                                                                         \
    "jsonb_build_object('events', (SELECT coalesce(jsonb_agg(jsonb_build_object("         \
    "'at', " WA_TS("e.at") ", 'kind', e.kind, 'actor', e.actor, 'note', e.note)"          \
    " ORDER BY e.at, e.kind), '[]') FROM alert_event e WHERE e.alert_id = a.id))"

/* $1 the alert, $2 the caller's node path. */
#define S_ONE_SQL(show)                                                                  \
    "SELECT (" S_ALERT_JSON(show) " || " S_EVENTS ")::text, b.id FROM alert a"            \
    " JOIN org_node b ON b.id = a.branch_id WHERE a.id = $1::uuid AND b.path <@ $2::ltree"

#define S_KEY "(extract(epoch FROM a.raised_at) * 1000000)::bigint::text || '/' || a.id"

#define S_LIST_SQL(show)                                                                 \
    "SELECT " S_KEY ", " S_ALERT_JSON(show) "::text FROM alert a"                         \
    " JOIN org_node b ON b.id = a.branch_id"                                              \
    " WHERE b.path <@ $1::ltree"                                                          \
    "   AND ($2::text IS NULL OR (a.raised_at, a.id) < ('epoch'::timestamptz"              \
    "        + split_part($2, '/', 1)::bigint * interval '1 microsecond',"                 \
    "        split_part($2, '/', 2)::uuid))"                                                \
    "   AND ($4::text IS NULL OR a.state = $4) AND ($5::text IS NULL OR a.kind = $5)"     \
    "   AND ($6::timestamptz IS NULL OR a.raised_at >= $6::timestamptz)"                  \
    "   AND ($7::timestamptz IS NULL OR a.raised_at < $7::timestamptz)"                   \
    "   AND ($8::ltree IS NULL OR b.path <@ $8::ltree)"                                   \
    " ORDER BY a.raised_at DESC, a.id DESC LIMIT $3"

static bool s_complaints(const wa_call_t *call)
{
    return call->who.perms & WA_PERM_BIT(WA_PERM_VIEW_COMPLAINTS);
}

void wa_ops_alerts_list(wa_call_t *call)
{
    static const char *const more[] = { "state", "kind", "from", "to", "node", NULL };
    static const char *const states[] = { "open", "acknowledged", "resolved", NULL };
    const char *state = httpd_req_arg(call->req, "state");
    const char *kind = httpd_req_arg(call->req, "kind");
    bool state_ok = !state;
    for (size_t i = 0; state && states[i]; i++)
        state_ok |= strcmp(state, states[i]) == 0;
    if (!state_ok) {
        wa_problem(call, MHD_HTTP_BAD_REQUEST, "query argument \"state\": must be one of "
                   "open, acknowledged, resolved");
        return;
    }
    if (kind && !wa_ops_match(kind, "^[a-z_]{1,32}$")) {
        wa_problem(call, MHD_HTTP_BAD_REQUEST, "query argument \"kind\": must be an alert "
                   "kind such as unsatisfied_rating");
        return;
    }
    int64_t node_id;
    if (wa_ops_time_arg(call, "from", false) != 0 || wa_ops_time_arg(call, "to", false) != 0)
        return;
    if (httpd_req_arg(call->req, "node")
        && wa_ops_node(call, httpd_req_arg(call->req, "node"), false, &node_id) != 0)
        return;
    wa_store_list_key(call, "alerts", more,
                      s_complaints(call) ? S_LIST_SQL("true") : S_LIST_SQL("false"));
}

/* The alert {id} in the caller's subtree with its events, and its branch;
 * NULL answered (404, 503). */
static json_t *s_load(wa_call_t *call, char *id, size_t size, int64_t *branch_id)
{
    const char *param = httpd_req_param(call->req, "id");
    if (!param || !wa_ops_match(param, "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")) {
        wa_problem(call, MHD_HTTP_NOT_FOUND, "no such alert");
        return NULL;
    }
    snprintf(id, size, "%s", param);
    const char *params[] = { id, call->who.node_path };
    PGresult *res = pgstore_query(call->pg,
                                  s_complaints(call) ? S_ONE_SQL("true") : S_ONE_SQL("false"),
                                  2, params);
    if (!res) {
        wa_unavailable(call, "database");
        return NULL;
    }
    json_t *alert = PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;
    if (alert)
        *branch_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    if (!alert)
        wa_problem(call, MHD_HTTP_NOT_FOUND, "no such alert");
    return alert;
}

void wa_ops_alerts_get(wa_call_t *call)
{
    char id[40];
    int64_t branch_id;
    if (wa_no_args(call) != 0)
        return;
    json_t *alert = s_load(call, id, sizeof id, &branch_id);
    if (alert)
        wa_reply_jansson(call, MHD_HTTP_OK, &alert);
}

static const jsonreq_member_t s_ack_members[] = {
    { "note", JSONREQ_STRING, JSONREQ_OPTIONAL, .min = 0, .max = 1000 },
};
static const jsonreq_object_t s_ack_spec = JSONREQ_OBJECT_OF(s_ack_members);

static const jsonreq_member_t s_resolve_members[] = {
    { "root_cause", JSONREQ_STRING, JSONREQ_REQUIRED, .min = 1, .max = 1000 },
};
static const jsonreq_object_t s_resolve_spec = JSONREQ_OBJECT_OF(s_resolve_members);

/* One step of the alert's life through `function` (alert_acknowledge,
 * alert_resolve) with the body's `member` as its note; audited as
 * `action`, answered with the alert after. */
static void s_step(wa_call_t *call, const jsonreq_object_t *spec, const char *member,
                   const char *function, const char *action)
{
    char id[40];
    int64_t branch_id;
    json_t *before = s_load(call, id, sizeof id, &branch_id);
    if (!before)
        return;
    json_t *body = wa_decode(call, spec);
    if (!body) {
        json_decref(before);
        return;
    }
    const char *note = json_string_value(json_object_get(body, member));
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT %s($1::uuid, $2, $3)", function);
    const char *params[] = { id, call->who.name, note ? note : "" };
    if (wa_store_begin(call) != 0)
        goto done;
    PGresult *res = pgstore_query(call->pg, sql, 3, params);
    if (!res) {
        char state[8];
        snprintf(state, sizeof state, "%s", pgstore_last_sqlstate(call->pg));
        wa_store_rollback(call);
        if (strcmp(state, "P0002") == 0)
            wa_problem(call, MHD_HTTP_NOT_FOUND, "no such alert");
        else if (strcmp(state, "55000") == 0)
            wa_problem(call, MHD_HTTP_CONFLICT, "the alert is resolved: it cannot be "
                       "acknowledged any more");
        else if (strcmp(state, "22023") == 0)
            wa_invalid_member(call, member, "must not be blank");
        else
            wa_unavailable(call, "database");
        goto done;
    }
    PQclear(res);
    int64_t ignored;
    json_t *after = s_load(call, id, sizeof id, &ignored);
    json_t *detail = json_pack("{s:O,s:O}", "before", before, "after", after ? after : json_null());
    if (!after || wa_store_audit_key(call, action, "alert", id, branch_id, detail) != 0
        || wa_store_commit(call) != 0) {
        wa_store_rollback(call);
        json_decref(after);
    }
    else
        wa_reply_jansson(call, MHD_HTTP_OK, &after);
    json_decref(detail);
done:
    json_decref(body);
    json_decref(before);
}

void wa_ops_alerts_acknowledge(wa_call_t *call)
{
    s_step(call, &s_ack_spec, "note", "alert_acknowledge", "alert.acknowledge");
}

void wa_ops_alerts_resolve(wa_call_t *call)
{
    s_step(call, &s_resolve_spec, "root_cause", "alert_resolve", "alert.resolve");
}
