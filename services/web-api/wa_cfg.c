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
#include "wa_store.h"

#define S_UNPROCESSABLE 422
#define S_UNIQUE_VIOLATION "23505"

static int s_problem(wa_call_t *call, unsigned status, const jsonreq_errors_t *errors)
{
    problem_reply_errors(call->reply, status, httpd_req_path(call->req), errors);
    return -1;
}

int wa_cfg_unprocessable(wa_call_t *call, const char *member, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wa_member_vproblem(call, S_UNPROCESSABLE, member, fmt, ap);
    va_end(ap);
    return -1;
}

int wa_cfg_conflict(wa_call_t *call, const char *member, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wa_member_vproblem(call, MHD_HTTP_CONFLICT, member, fmt, ap);
    va_end(ap);
    return -1;
}

/* The database's refusal of a value: 409 or 422 naming the member, else 503. */
static void s_refused(wa_call_t *call, const wa_cfg_rule_t *rules)
{
    const char *state = pgstore_last_sqlstate(call->pg);
    const char *constraint = pgstore_last_constraint(call->pg);
    const wa_cfg_rule_t *rule = NULL;
    for (const wa_cfg_rule_t *r = rules; r && r->constraint && !rule; r++)
        if (strcmp(r->constraint, constraint) == 0
            || (!*constraint && strcmp(r->constraint, state) == 0))
            rule = r;
    /* 23xxx integrity, 22xxx data (22023: a value a check function refused),
     * P0001: a RAISE without a code */
    bool value = strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0
                 || strcmp(state, "P0001") == 0;
    if (!value) {
        wa_unavailable(call, "database");
        return;
    }
    jsonreq_errors_t errors = { 0 };
    jsonreq_errors_add(&errors, rule ? rule->member : NULL, "%s",
                       pgstore_last_message(call->pg));
    unsigned status = strcmp(state, S_UNIQUE_VIOLATION) == 0 ? MHD_HTTP_CONFLICT
                                                            : S_UNPROCESSABLE;
    s_problem(call, rule && rule->status ? rule->status : status, &errors);
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

int wa_cfg_delete_begin(wa_call_t *call, const char *by_id_sql, wa_cfg_update_t *u)
{
    memset(u, 0, sizeof *u);
    if (wa_param_id(call, &u->id) != 0)
        return -1;
    snprintf(u->id_text, sizeof u->id_text, "%" PRId64, u->id);
    u->before = wa_store_json(call, by_id_sql, u->id_text);
    if (!u->before)
        return wa_problem(call, MHD_HTTP_NOT_FOUND, "no such object");
    return 0;
}

int wa_cfg_update_begin(wa_call_t *call, const char *by_id_sql, const jsonreq_object_t *spec,
                        wa_cfg_update_t *u)
{
    if (wa_cfg_delete_begin(call, by_id_sql, u) != 0)
        return -1;
    u->body = wa_decode_update(call, spec);
    return u->body ? 0 : -1;
}

int wa_cfg_replace_begin(wa_call_t *call, const char *by_id_sql, const jsonreq_object_t *spec,
                         wa_cfg_update_t *u)
{
    if (wa_cfg_delete_begin(call, by_id_sql, u) != 0)
        return -1;
    u->body = wa_decode(call, spec);
    return u->body ? 0 : -1;
}

void wa_cfg_update_end(wa_cfg_update_t *u)
{
    json_decref(u->before);
    json_decref(u->body);
    u->before = u->body = NULL;
}

int wa_cfg_update_finish(wa_call_t *call, wa_cfg_update_t *u, const wa_cfg_rule_t *rules,
                         const char *sql, int nparams, const char *const *params,
                         const char *action, const char *object_type, int64_t node_id,
                         const char *by_id_sql)
{
    if (wa_store_begin(call) != 0 || wa_cfg_exec(call, rules, sql, nparams, params) != 0
        || wa_store_finish(call, action, object_type, u->id, node_id, u->before, by_id_sql,
                           MHD_HTTP_OK) != 0)
        return -1;
    wa_cfg_changed_node(call, node_id);
    return 0;
}

#define S_FIELDS_MAX 10

void wa_cfg_create(wa_call_t *call, const jsonreq_object_t *spec, const wa_cfg_create_t *how)
{
    json_t *body = wa_decode(call, spec);
    if (!body)
        return;
    if (how->check && how->check(call, body) != 0) {
        json_decref(body);
        return;
    }
    const char *path = wa_cfg_str(body, how->node_member);
    int64_t node_id, id;
    int rc = how->branch ? wa_cfg_branch(call, how->node_member, path, &node_id)
                         : wa_cfg_node(call, how->node_member, path, &node_id, NULL);
    if (rc == 0) {
        char bufs[S_FIELDS_MAX + 1][24];
        const char *params[S_FIELDS_MAX + 1];
        char *texts[S_FIELDS_MAX + 1] = { NULL };
        int n = 0;
        snprintf(bufs[n], sizeof bufs[n], "%" PRId64, node_id);
        params[n] = bufs[n];
        for (n = 1; how->fields[n - 1] && n <= S_FIELDS_MAX; n++) {
            texts[n] = wa_cfg_json_text(body, how->fields[n - 1]);
            params[n] = texts[n] ? texts[n] : wa_cfg_text(body, how->fields[n - 1], bufs[n]);
        }
        if (wa_cfg_insert(call, how->rules, how->insert_sql, n, params, &id) == 0
            && wa_store_created(call, how->collection, how->action, how->object_type, id,
                                node_id, how->by_id_sql) == 0)
            wa_cfg_changed_node(call, node_id);
        for (int i = 0; i <= S_FIELDS_MAX; i++)
            free(texts[i]);
    }
    json_decref(body);
}

int wa_cfg_node_of(wa_call_t *call, const char *table, const char *id_text,
                   int64_t *node_id)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT node_id FROM %s WHERE id = $1", table);
    const char *params[] = { id_text };
    PGresult *res = pgstore_query(call->pg, sql, 1, params);
    int found = res && PQntuples(res) == 1;
    if (found)
        *node_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    if (res)
        PQclear(res);
    return found ? 0 : wa_unavailable(call, "database");
}

const char *wa_cfg_str(const json_t *body, const char *name)
{
    return json_string_value(json_object_get(body, name));
}

const char *wa_cfg_text(const json_t *body, const char *name, char buf[24])
{
    const json_t *v = json_object_get(body, name);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v))
        snprintf(buf, 24, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, 24, "%.15g", json_real_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, 24, "%s", json_is_true(v) ? "t" : "f");
    else
        return NULL;
    return buf;
}

char *wa_cfg_json_text(const json_t *body, const char *name)
{
    const json_t *v = json_object_get(body, name);
    if (!json_is_array(v) && !json_is_object(v))
        return NULL;
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

int wa_cfg_node(wa_call_t *call, const char *member, const char *path, int64_t *node_id,
                char *kind)
{
    if (!envelope_org_path_valid(path, strlen(path)))
        return wa_cfg_unprocessable(call, member, "must be an organisation path such as "
                                    "\"hq.r01.b0001\"");
    int found = wa_store_node_find(call, path, node_id, kind);
    if (found != 0)
        return found > 0 ? 0 : -1;
    return wa_cfg_unprocessable(call, member, "no organisation node %s in your subtree %s",
                                path, call->who.node_path);
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
