/*  wa_ops_qm: tickets, window actions and the live hall (wa_ops_qm.h). */
#include "wa_ops_qm.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"
#include "eqms/problem.h"
#include "wa_ops_common.h"
#include "wa_ops_names.h"
#include "wa_store.h"

#define S_OUTCOME_UNKNOWN "urn:eqms:problem:outcome-unknown"
#define S_REFUSED "urn:eqms:problem:queue-manager-refused"

/* --- request bodies ---------------------------------------------------------------- */

static const char *const s_classes[] = { "ordinary", "vip", "green", NULL };
static const char *const s_transfer_to[] = { "service", "window", "staff", NULL };

#define S_SERVICE_MEMBERS                                                                 \
    { "service", JSONREQ_INTEGER, JSONREQ_OPTIONAL, .min = 1, .max = INT64_MAX },         \
    { "service_code", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_LINE, .min = 1,          \
      .max = 15 },                                                                        \
    { "class", JSONREQ_STRING, JSONREQ_OPTIONAL, .one_of = s_classes }

static const jsonreq_member_t s_issue_members[] = {
    S_SERVICE_MEMBERS,
    { "appointment", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_LINE, .min = 24, .max = 24 },
    { "phone", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_LINE, .min = 3, .max = 21 },
};
static const jsonreq_object_t s_issue_spec = JSONREQ_OBJECT_OF(s_issue_members);

static const jsonreq_member_t s_walk_in_members[] = { S_SERVICE_MEMBERS };
static const jsonreq_object_t s_walk_in_spec = JSONREQ_OBJECT_OF(s_walk_in_members);

static const jsonreq_member_t s_pause_members[] = {
    { "reason", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 511 },
};
static const jsonreq_object_t s_pause_spec = JSONREQ_OBJECT_OF(s_pause_members);

static const jsonreq_member_t s_login_members[] = {
    { "staff", JSONREQ_INTEGER, JSONREQ_OPTIONAL, .min = 1, .max = INT64_MAX },
    { "employee_no", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_LINE, .min = 1, .max = 16 },
};
static const jsonreq_object_t s_login_spec = JSONREQ_OBJECT_OF(s_login_members);

static const jsonreq_member_t s_ticket_members[] = {
    { "ticket", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 36 },
};
static const jsonreq_object_t s_ticket_spec = JSONREQ_OBJECT_OF(s_ticket_members);

static const jsonreq_member_t s_call_back_members[] = {
    { "ticket", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_LINE, .min = 1, .max = 36 },
};
static const jsonreq_object_t s_call_back_spec = JSONREQ_OBJECT_OF(s_call_back_members);

static const jsonreq_member_t s_transfer_members[] = {
    { "to", JSONREQ_STRING, JSONREQ_REQUIRED, .one_of = s_transfer_to },
    { "target", JSONREQ_INTEGER, JSONREQ_REQUIRED, .min = 1, .max = INT64_MAX },
};
static const jsonreq_object_t s_transfer_spec = JSONREQ_OBJECT_OF(s_transfer_members);

/* A window action: the last segment of its path, queue-manager's op, its
 * body (NULL: none), and which of a pair of members it needs exactly one
 * of (NULL: no such rule). */
typedef struct {
    const char *action;
    const char *op;
    const jsonreq_object_t *spec;
    const char *one_of[2];
} s_action_t;

static const s_action_t s_actions[] = {
    { "open", "window.open", NULL, { NULL, NULL } },
    { "close", "window.close", NULL, { NULL, NULL } },
    { "pause", "window.pause", &s_pause_spec, { NULL, NULL } },
    { "resume", "window.resume", NULL, { NULL, NULL } },
    { "login", "window.login", &s_login_spec, { "staff", "employee_no" } },
    { "logout", "window.logout", NULL, { NULL, NULL } },
    { "call-next", "window.call_next", NULL, { NULL, NULL } },
    { "call-ticket", "window.call_ticket", &s_ticket_spec, { NULL, NULL } },
    { "recall", "window.recall", NULL, { NULL, NULL } },
    { "start", "window.start", NULL, { NULL, NULL } },
    { "finish", "window.finish", NULL, { NULL, NULL } },
    { "no-show", "window.no_show", NULL, { NULL, NULL } },
    { "transfer", "window.transfer", &s_transfer_spec, { NULL, NULL } },
    { "park", "window.park", NULL, { NULL, NULL } },
    { "call-back", "window.call_back", &s_call_back_spec, { NULL, NULL } },
    { "walk-in", "window.walk_in", &s_walk_in_spec, { "service", "service_code" } },
};

/* --- queue-manager's answers --------------------------------------------------------- */

/* HTTP statuses of queue-manager's error codes; the rest (a state that
 * does not allow the action) are 409. */
static const struct {
    const char *error;
    unsigned status;
} s_statuses[] = {
    { "malformed", MHD_HTTP_BAD_REQUEST },
    { "too_large", MHD_HTTP_BAD_REQUEST },
    { "unknown_op", MHD_HTTP_INTERNAL_SERVER_ERROR },
    { "unknown_branch", MHD_HTTP_NOT_FOUND },
    { "unknown_window", MHD_HTTP_NOT_FOUND },
    { "unknown_ticket", MHD_HTTP_NOT_FOUND },
    { "unknown_staff", MHD_HTTP_UNPROCESSABLE_CONTENT },
    { "unknown_service", MHD_HTTP_UNPROCESSABLE_CONTENT },
    { "invalid", MHD_HTTP_UNPROCESSABLE_CONTENT },
    { "unavailable", MHD_HTTP_SERVICE_UNAVAILABLE },
    { "no_memory", MHD_HTTP_SERVICE_UNAVAILABLE },
};

static unsigned s_status_of(const char *error)
{
    for (size_t i = 0; i < sizeof s_statuses / sizeof s_statuses[0]; i++)
        if (strcmp(s_statuses[i].error, error) == 0)
            return s_statuses[i].status;
    return MHD_HTTP_CONFLICT;
}

/* Answers a Problem with up to two extension members (a NULL name: none). */
static int s_answer_problem2(wa_call_t *call, unsigned status, const char *type,
                             const char *detail, const char *ext_name, const char *ext_value,
                             const char *ext2_name, const char *ext2_value)
{
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        httpd_reply_header(call->reply, "Retry-After", "5");
    problem_t p = { .status = status, .type = type, .detail = detail,
                    .instance = httpd_req_path(call->req),
                    .ext = { { ext_name, ext_value }, { ext2_name, ext2_value } } };
    problem_reply(call->reply, &p);
    return -1;
}

static int s_answer_problem(wa_call_t *call, unsigned status, const char *type,
                            const char *detail, const char *ext_name, const char *ext_value)
{
    return s_answer_problem2(call, status, type, detail, ext_name, ext_value, NULL, NULL);
}

/* Sends `op` for `branch` with *members_p (taken). 0 with an ok reply in
 * *reply (the caller clears it); 1 when the outcome of a change is unknown
 * (answered 504 or 503 with `check`: where to read what happened); -1
 * answered otherwise. */
static int s_call(wa_call_t *call, const char *op, const char *branch, json_t **members_p,
                  bool idempotent, const char *check, qmclient_reply_t *reply)
{
    *reply = (qmclient_reply_t) { 0 };
    if (!call->qm) {
        json_decref(*members_p);
        *members_p = NULL;
        return s_answer_problem(call, MHD_HTTP_SERVICE_UNAVAILABLE, NULL,
                                "no queue-manager is configured (EQMS_QM_ENDPOINT)", NULL,
                                NULL);
    }
    char actor[64];
    if (call->who.token_id)
        snprintf(actor, sizeof actor, "api:%" PRId64, call->who.token_id);
    else
        snprintf(actor, sizeof actor, "web:%.59s", call->who.name);
    int rc = qmclient_call(call->qm, op, branch, actor, members_p, call->config->qm_timeout_ms,
                           reply);
    if (!idempotent && call->config->snap)
        wa_snap_forget(call->config->snap, branch);   /* done, or may have been */
    if (rc == 0 && reply->ok)
        return 0;
    char detail[512];
    if (rc == 0 && !qmclient_outcome_unknown(reply)) {
        log_info("qm_refused", "op=%s branch=%s error=%s reason=\"%s\"", op, branch,
                 reply->error, reply->reason);
        snprintf(detail, sizeof detail, "queue-manager refused %s: %s", op, reply->reason);
        unsigned status = s_status_of(reply->error);
        const char *type = status == MHD_HTTP_SERVICE_UNAVAILABLE ? NULL : S_REFUSED;
        char error[sizeof reply->error], resumes[sizeof reply->resumes];
        snprintf(error, sizeof error, "%s", reply->error);
        snprintf(resumes, sizeof resumes, "%s", reply->resumes);
        qmclient_reply_clear(reply);
        /* closed / issuing_stopped: when tickets are issued again */
        return s_answer_problem2(call, status, type, detail, "error", error,
                                 *resumes ? "resumes_at" : NULL, resumes);
    }
    bool timeout = rc == QMCLIENT_TIMEOUT;
    unsigned status = timeout ? MHD_HTTP_GATEWAY_TIMEOUT : MHD_HTTP_SERVICE_UNAVAILABLE;
    qmclient_reply_clear(reply);
    log_warn("qm_no_answer", "op=%s branch=%s timeout=%d", op, branch, timeout);
    if (idempotent) {
        snprintf(detail, sizeof detail, "queue-manager did not answer %s%s: nothing was "
                 "changed; try again", op, timeout ? " in time" : "");
        return s_answer_problem(call, status, NULL, detail, NULL, NULL);
    }
    snprintf(detail, sizeof detail, "queue-manager did not confirm %s%s: it may or may not "
             "have been done. Do not repeat it blindly: read %s first and repeat it only if "
             "it did not happen", op, timeout ? " in time" : "", check);
    s_answer_problem(call, status, S_OUTCOME_UNKNOWN, detail, "check", check);
    return 1;
}

/* The reply without the protocol's own members (v, id, ok), as the
 * answer's body; `drop_events` leaves out `events` too. */
static json_t *s_body(qmclient_reply_t *reply, bool drop_events)
{
    json_t *body = json_deep_copy(reply->body);
    json_object_del(body, "v");
    json_object_del(body, "id");
    json_object_del(body, "ok");
    if (drop_events)
        json_object_del(body, "events");
    return body;
}

/* Audits a change that was done (`after`, borrowed) or whose outcome is
 * unknown (`after` NULL), before the answer is given: one INSERT in a
 * transaction of its own (no BEGIN and COMMIT round trips). A failure
 * is logged and leaves no answer behind: the change stands, and the answer
 * that follows says what happened to it. */
static void s_audit(wa_call_t *call, const char *action, const char *object_type,
                    const char *object, int64_t node_id, const json_t *request,
                    const json_t *after)
{
    json_t *detail = json_pack("{s:s}", "outcome", after ? "done" : "unknown");
    json_object_set_new(detail, "request", request ? json_deep_copy(request) : json_object());
    if (after)
        json_object_set(detail, "after", (json_t *) after);
    size_t headers = call->reply->nheaders;
    if (wa_store_audit_key(call, action, object_type, object, node_id, detail) != 0) {
        call->reply->nheaders = headers;
        log_error("audit_failed", "action=%s object=%s", action, object ? object : "-");
    }
    json_decref(detail);
}

/* s_audit of a change whose outcome is unknown, after its answer (504,
 * 503) was given: the answer stays whatever the audit does. */
static void s_audit_unknown(wa_call_t *call, const char *action, const char *object_type,
                            const char *object, int64_t node_id, const json_t *request)
{
    httpd_reply_t answered = *call->reply;
    call->reply->body = NULL;
    s_audit(call, action, object_type, object, node_id, request, NULL);
    free(call->reply->body);
    *call->reply = answered;
}

/* --- tickets and the live hall ------------------------------------------------------ */

static bool s_ticket_ref_valid(const char *t)
{
    size_t len = t ? strlen(t) : 0, letters = strspn(t ? t : "", "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    if (len == 36)
        return strspn(t, "0123456789abcdef-") == 36;
    return letters >= 1 && letters <= 3 && len - letters >= 3 && len - letters <= 4
           && strspn(t + letters, "0123456789") == len - letters;
}

void wa_ops_ticket_issue(wa_call_t *call)
{
    const char *branch = httpd_req_param(call->req, "branch");
    int64_t branch_id;
    if (wa_ops_node(call, branch, true, &branch_id) != 0)
        return;
    json_t *body = wa_decode(call, &s_issue_spec);
    if (!body)
        return;
    if (!json_object_get(body, "service") == !json_object_get(body, "service_code")) {
        wa_invalid_member(call, "service", "give exactly one of service and service_code");
        json_decref(body);
        return;
    }
    json_t *request = json_deep_copy(body);
    json_object_del(request, "phone");   /* never kept in the audit log */
    char check[WA_PATH_SIZE + 64];
    snprintf(check, sizeof check, "GET /api/v1/branches/%s/state", branch);
    qmclient_reply_t reply;
    int rc = s_call(call, "ticket.issue", branch, &body, false, check, &reply);
    if (rc == 1)
        s_audit_unknown(call, "ticket.issue", "branch", NULL, branch_id, request);
    if (rc == 0) {
        json_t *answer = s_body(&reply, true);
        const char *id = json_string_value(json_object_get(json_object_get(answer, "ticket"),
                                                           "id"));
        char location[WA_PATH_SIZE + 96];
        snprintf(location, sizeof location, "/api/v1/branches/%s/tickets/%s", branch,
                 id ? id : "");
        s_audit(call, "ticket.issue", "ticket", id, branch_id, request, answer);
        httpd_reply_header(call->reply, "Location", location);
        wa_reply_jansson(call, MHD_HTTP_CREATED, &answer);
        qmclient_reply_clear(&reply);
    }
    json_decref(request);
}

void wa_ops_ticket_get(wa_call_t *call)
{
    const char *ticket = httpd_req_param(call->req, "ticket");
    int64_t branch_id;
    const char *branch = wa_ops_branch_param(call, &branch_id);
    if (!branch)
        return;
    if (!s_ticket_ref_valid(ticket)) {
        wa_problem(call, MHD_HTTP_NOT_FOUND, "no such ticket: give its id or its number "
                   "such as A012");
        return;
    }
    json_t *members = json_pack("{s:s}", "ticket", ticket);
    qmclient_reply_t reply;
    if (s_call(call, "ticket.get", branch, &members, true, NULL, &reply) == 0) {
        json_t *answer = s_body(&reply, true);
        wa_reply_jansson(call, MHD_HTTP_OK, &answer);
        qmclient_reply_clear(&reply);
    }
}

char *wa_ops_state_text(wa_call_t *call, const char *branch, int64_t branch_id)
{
    wa_snap_t *snap = call->config->snap;
    size_t len;
    char *kept = snap ? wa_snap_get(snap, branch, &len) : NULL;
    if (kept)
        return kept;
    json_t *members = NULL;
    qmclient_reply_t reply;
    uint64_t gen = snap ? wa_snap_begin(snap) : 0;
    /* taken before asking: every event after this state has a larger id */
    uint64_t live = call->config->live ? sse_last_id(call->config->live) : 0;
    if (s_call(call, "branch.state", branch, &members, true, NULL, &reply) != 0)
        return NULL;
    json_t *answer = s_body(&reply, true);
    qmclient_reply_clear(&reply);
    if (wa_ops_names_add(call, branch_id, answer) != 0) {
        json_decref(answer);
        wa_unavailable(call, "database");
        return NULL;
    }
    char id[24];
    snprintf(id, sizeof id, "%" PRIu64, live);
    json_object_set_new(answer, "live_event_id", live ? json_string(id) : json_null());
    char *text = json_dumps(answer, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(answer);
    if (!text)
        wa_unavailable(call, "memory");
    else if (snap)
        wa_snap_put(snap, branch, gen, text, strlen(text));
    return text;
}

void wa_ops_branch_state(wa_call_t *call)
{
    const char *branch = httpd_req_param(call->req, "branch");
    wa_snap_t *snap = call->config->snap;
    int64_t branch_id;
    if (wa_no_args(call) != 0)
        return;
    /* kept: a branch read before, within the subtree (so no database) */
    size_t len;
    char *text = snap && wa_ops_path_within(call, branch)
                     ? wa_snap_get(snap, branch, &len) : NULL;
    if (!text && wa_ops_node(call, branch, true, &branch_id) == 0)
        text = wa_ops_state_text(call, branch, branch_id);
    if (text)
        wa_reply_json(call, MHD_HTTP_OK, &text);
}

/* --- window actions ---------------------------------------------------------------- */

static const s_action_t *s_action_of(const char *path)
{
    const char *last = strrchr(path, '/');
    for (size_t i = 0; last && i < sizeof s_actions / sizeof s_actions[0]; i++)
        if (strcmp(s_actions[i].action, last + 1) == 0)
            return &s_actions[i];
    return NULL;
}

/* The action's members: its body decoded (none: {}), with its
 * one-of rule checked. NULL answered (400). */
static json_t *s_members(wa_call_t *call, const s_action_t *a)
{
    size_t len = 0;
    httpd_req_body(call->req, &len);
    json_t *members;
    if (!a->spec || len == 0) {
        if (wa_no_args(call) != 0)
            return NULL;
        members = json_object();
        for (size_t i = 0; a->spec && i < a->spec->count; i++)
            if (a->spec->members[i].flags & JSONREQ_REQUIRED) {
                json_decref(members);
                wa_invalid_member(call, a->spec->members[i].name, "is required");
                return NULL;
            }
    }
    else if (!(members = wa_decode(call, a->spec)))
        return NULL;
    if (a->one_of[0]
        && !json_object_get(members, a->one_of[0]) == !json_object_get(members, a->one_of[1])) {
        wa_invalid_member(call, a->one_of[0], "give exactly one of %s and %s", a->one_of[0],
                          a->one_of[1]);
        json_decref(members);
        return NULL;
    }
    return members;
}

void wa_ops_window_action(wa_call_t *call)
{
    const s_action_t *a = s_action_of(httpd_req_path(call->req));
    int64_t window_id;
    if (!a || wa_param_id(call, &window_id) != 0) {
        if (!a)
            wa_problem(call, MHD_HTTP_NOT_FOUND, "no such action");
        return;
    }
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%" PRId64, window_id);
    const char *params[] = { id_text, call->who.node_path };
    PGresult *res = pgstore_query(call->pg,
                                  "SELECT n.id, n.path::text FROM service_window w"
                                  " JOIN org_node n ON n.id = w.node_id"
                                  " WHERE w.id = $1 AND n.path <@ $2::ltree",
                                  2, params);
    if (!res) {
        wa_unavailable(call, "database");
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        wa_problem(call, MHD_HTTP_NOT_FOUND, "no such window");
        return;
    }
    int64_t branch_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    char branch[WA_PATH_SIZE];
    snprintf(branch, sizeof branch, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    json_t *members = s_members(call, a);
    if (!members)
        return;
    json_t *request = json_deep_copy(members);
    json_object_set_new(members, "window", json_integer(window_id));
    char check[WA_PATH_SIZE + 64], action[40];
    snprintf(check, sizeof check, "GET /api/v1/branches/%s/state", branch);
    snprintf(action, sizeof action, "%s", a->op);
    qmclient_reply_t reply;
    int rc = s_call(call, a->op, branch, &members, false, check, &reply);
    if (rc == 1)
        s_audit_unknown(call, action, "window", id_text, branch_id, request);
    if (rc == 0) {
        json_t *answer = s_body(&reply, false);
        s_audit(call, action, "window", id_text, branch_id, request, answer);
        wa_reply_jansson(call, MHD_HTTP_OK, &answer);
        qmclient_reply_clear(&reply);
    }
    json_decref(request);
}
