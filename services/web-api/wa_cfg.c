/*  wa_cfg: what the configuration routes share (wa_cfg.h). */
#include "wa_cfg.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/envelope.h"
#include "eqms/problem.h"

#define S_UNPROCESSABLE 422
#define S_UNIQUE_VIOLATION "23505"

static int s_problem(wa_call_t *call, unsigned status, const jsonreq_errors_t *errors)
{
    char detail[512];
    problem_t p = { .status = status, .instance = httpd_req_path(call->req), .errors = errors,
                    .detail = jsonreq_errors_text(errors, detail, sizeof detail) };
    problem_reply(call->reply, &p);
    return -1;
}

int wa_cfg_unprocessable(wa_call_t *call, const char *member, const char *fmt, ...)
{
    jsonreq_errors_t errors = { 0 };
    va_list ap;
    va_start(ap, fmt);
    jsonreq_errors_vadd(&errors, member, fmt, ap);
    va_end(ap);
    return s_problem(call, S_UNPROCESSABLE, &errors);
}

/* The database's refusal of a value: 409 or 422 naming the member, else 503. */
static void s_refused(wa_call_t *call, const wa_cfg_rule_t *rules)
{
    const char *state = pgstore_last_sqlstate(call->pg);
    const char *constraint = pgstore_last_constraint(call->pg);
    const char *member = NULL;
    for (const wa_cfg_rule_t *r = rules; r && r->constraint && !member; r++)
        if (strcmp(r->constraint, constraint) == 0)
            member = r->member;
    /* 23xxx integrity, 22xxx data (22023: a value a check function refused),
     * P0001: a RAISE without a code */
    bool value = strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0
                 || strcmp(state, "P0001") == 0;
    if (!value) {
        wa_unavailable(call, "database");
        return;
    }
    jsonreq_errors_t errors = { 0 };
    jsonreq_errors_add(&errors, member, "%s", pgstore_last_message(call->pg));
    s_problem(call, strcmp(state, S_UNIQUE_VIOLATION) == 0 ? MHD_HTTP_CONFLICT : S_UNPROCESSABLE,
              &errors);
}

PGresult *wa_cfg_query(wa_call_t *call, const wa_cfg_rule_t *rules, const char *sql,
                       int nparams, const char *const *params)
{
    PGresult *res = pgstore_query(call->pg, sql, nparams, params);
    if (res)
        return res;
    s_refused(call, rules);
    pgstore_rollback(call->pg);
    return NULL;
}

int wa_cfg_exec(wa_call_t *call, const wa_cfg_rule_t *rules, const char *sql, int nparams,
                const char *const *params)
{
    PGresult *res = wa_cfg_query(call, rules, sql, nparams, params);
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

int wa_cfg_insert(wa_call_t *call, const wa_cfg_rule_t *rules, const char *sql,
                  int nparams, const char *const *params, int64_t *id)
{
    if (pgstore_begin(call->pg) != 0)
        return wa_unavailable(call, "database");
    PGresult *res = wa_cfg_query(call, rules, sql, nparams, params);
    if (!res)
        return -1;
    *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

int wa_cfg_node(wa_call_t *call, const char *member, const char *path, int64_t *node_id,
                char *kind)
{
    if (!envelope_org_path_valid(path, strlen(path)))
        return wa_cfg_unprocessable(call, member, "must be an organisation path such as "
                                    "\"hq.r01.b0001\"");
    const char *params[] = { path, call->who.node_path };
    PGresult *res = pgstore_query(call->pg,
                                  "SELECT id, kind FROM org_node"
                                  " WHERE path = $1::ltree AND path <@ $2::ltree",
                                  2, params);
    if (!res)
        return wa_unavailable(call, "database");
    int found = PQntuples(res) == 1;
    if (found) {
        *node_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (kind)
            snprintf(kind, 16, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return found ? 0 : wa_cfg_unprocessable(call, member, "no organisation node %s in your "
                                            "subtree %s", path, call->who.node_path);
}

int wa_cfg_branch(wa_call_t *call, const char *member, const char *path, int64_t *node_id)
{
    char kind[16];
    if (wa_cfg_node(call, member, path, node_id, kind) != 0)
        return -1;
    if (strcmp(kind, "branch") != 0)
        return wa_cfg_unprocessable(call, member, "%s is a %s, not a branch", path, kind);
    return 0;
}

void wa_cfg_changed(wa_call_t *call, const char *path)
{
    if (call->config->changed)
        call->config->changed(call->config->changed_ctx, path);
}

void wa_cfg_changed_node(wa_call_t *call, int64_t node_id)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, node_id);
    const char *params[] = { id };
    PGresult *res = pgstore_query(call->pg, "SELECT path::text FROM org_node WHERE id = $1",
                                  1, params);
    if (res && PQntuples(res) == 1)
        wa_cfg_changed(call, PQgetvalue(res, 0, 0));
    if (res)
        PQclear(res);
}
