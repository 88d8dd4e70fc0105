/*  wa_store: the SQL the REST modules share (wa_store.h). */
#include "wa_store.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/envelope.h"
#include "eqms/log.h"

#define S_UNIQUE_VIOLATION "23505"

/* wa_store_page with `members` (JSON object members, or NULL) after the page's. */
static int s_page(wa_call_t *call, const char *kind, int limit, const char *sql, int nparams,
                  const char *const *params, const char *members)
{
    PGresult *res = pgstore_query(call->pg, sql, nparams, params);
    if (!res)
        return wa_unavailable(call, "database");
    int rows = PQntuples(res);
    int shown = rows > limit ? limit : rows;
    char *body = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&body, &size);
    if (!out) {
        PQclear(res);
        return wa_unavailable(call, "memory");
    }
    fputs("{\"items\":[", out);
    for (int i = 0; i < shown; i++)
        fprintf(out, "%s%s", i ? "," : "", PQgetvalue(res, i, 1));
    char cursor[128];
    if (rows > limit
        && wa_cursor_encode(kind, PQgetvalue(res, shown - 1, 0), cursor, sizeof cursor) == 0)
        fprintf(out, "],\"next_cursor\":\"%s\"", cursor);
    else
        fputs("],\"next_cursor\":null", out);
    fprintf(out, "%s%s}", members ? "," : "", members ? members : "");
    PQclear(res);
    if (fclose(out) != 0) {
        free(body);
        return wa_unavailable(call, "memory");
    }
    wa_reply_json(call, MHD_HTTP_OK, &body);
    return 0;
}

int wa_store_page(wa_call_t *call, const char *kind, int limit, const char *sql, int nparams,
                  const char *const *params)
{
    return s_page(call, kind, limit, sql, nparams, params, NULL);
}

/* Runs a list's `sql` with $1 the principal's node path, $2 `after`
 * (NULL: the first page), $3 limit + 1 and $4.. the arguments in `more`;
 * `members` as for s_page. */
static int s_list_with(wa_call_t *call, const char *kind, const char *const *more,
                       const char *sql, int limit, const char *after, const char *members)
{
    char limit_text[16];
    snprintf(limit_text, sizeof limit_text, "%d", limit + 1);
    const char *params[12] = { call->who.node_path, after, limit_text };
    int n = 3;
    for (; more && *more && n < 12; more++)
        params[n++] = httpd_req_arg(call->req, *more);
    return s_page(call, kind, limit, sql, n, params, members);
}

static int s_list(wa_call_t *call, const char *kind, const char *const *more,
                  const char *sql, int limit, const char *after)
{
    return s_list_with(call, kind, more, sql, limit, after, NULL);
}

int wa_store_list(wa_call_t *call, const char *kind, const char *const *more,
                  const char *sql)
{
    int limit;
    int64_t after;
    if (wa_list_args(call, kind, more, &limit, &after) != 0)
        return -1;
    char after_text[24];
    snprintf(after_text, sizeof after_text, "%" PRId64, after);
    return s_list(call, kind, more, sql, limit, after ? after_text : NULL);
}

int wa_store_list_key(wa_call_t *call, const char *kind, const char *const *more,
                      const char *sql)
{
    return wa_store_list_key_with(call, kind, more, sql, NULL);
}

int wa_store_list_key_with(wa_call_t *call, const char *kind, const char *const *more,
                           const char *sql, const char *members)
{
    int limit;
    char key[128];
    if (wa_list_args_key(call, kind, more, &limit, key, sizeof key) != 0)
        return -1;
    return s_list_with(call, kind, more, sql, limit, *key ? key : NULL, members);
}

int wa_store_get(wa_call_t *call, const char *sql)
{
    int64_t id;
    if (wa_param_id(call, &id) != 0)
        return -1;
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%" PRId64, id);
    const char *params[] = { id_text, call->who.node_path };
    return wa_store_object(call, MHD_HTTP_OK, sql, 2, params);
}

json_t *wa_store_json(wa_call_t *call, const char *sql, const char *id)
{
    const char *params[] = { id, call->who.node_path };
    PGresult *res = pgstore_query(call->pg, sql, 2, params);
    json_t *j = NULL;
    if (res && PQntuples(res) == 1)
        j = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    if (res)
        PQclear(res);
    return j;
}

int wa_store_finish(wa_call_t *call, const char *action, const char *object_type,
                    int64_t id, int64_t node_id, const json_t *before, const char *sql,
                    unsigned status)
{
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%" PRId64, id);
    json_t *after = status == MHD_HTTP_NO_CONTENT ? NULL : wa_store_json(call, sql, id_text);
    json_t *detail = json_object();
    if (before)
        json_object_set(detail, "before", (json_t *) before);
    if (after)
        json_object_set(detail, "after", after);
    int rc = wa_store_audit(call, action, object_type, id, node_id, detail);
    json_decref(detail);
    if (rc != 0 || wa_store_commit(call) != 0) {
        wa_store_rollback(call);
        json_decref(after);
        return -1;
    }
    if (!after)
        wa_reply_empty(call);
    else
        wa_reply_jansson(call, status, &after);
    return 0;
}

int wa_store_insert(wa_call_t *call, const char *conflict, const char *sql, int nparams,
                    const char *const *params, int64_t *id)
{
    if (wa_store_begin(call) != 0)
        return -1;
    PGresult *res = wa_store_query(call, conflict, sql, nparams, params);
    if (!res) {
        wa_store_rollback(call);
        return -1;
    }
    *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

int wa_store_created(wa_call_t *call, const char *collection, const char *action,
                     const char *object_type, int64_t id, int64_t node_id, const char *sql)
{
    char location[96];
    snprintf(location, sizeof location, "/api/v1/%s/%" PRId64, collection, id);
    httpd_reply_header(call->reply, "Location", location);
    return wa_store_finish(call, action, object_type, id, node_id, NULL, sql,
                           MHD_HTTP_CREATED);
}

int wa_store_object(wa_call_t *call, unsigned status, const char *sql, int nparams,
                    const char *const *params)
{
    PGresult *res = pgstore_query(call->pg, sql, nparams, params);
    if (!res)
        return wa_unavailable(call, "database");
    if (PQntuples(res) != 1) {
        PQclear(res);
        return wa_problem(call, MHD_HTTP_NOT_FOUND, "no such object");
    }
    char *body = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    wa_reply_json(call, status, &body);
    return 0;
}

PGresult *wa_store_query(wa_call_t *call, const char *conflict, const char *sql, int nparams,
                         const char *const *params)
{
    PGresult *res = pgstore_query(call->pg, sql, nparams, params);
    if (res)
        return res;
    if (conflict && strcmp(pgstore_last_sqlstate(call->pg), S_UNIQUE_VIOLATION) == 0)
        wa_problem(call, MHD_HTTP_CONFLICT, "%s", conflict);
    else
        wa_unavailable(call, "database");
    return NULL;
}

int wa_store_exec(wa_call_t *call, const char *conflict, const char *sql, int nparams,
                  const char *const *params)
{
    PGresult *res = wa_store_query(call, conflict, sql, nparams, params);
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

/* Whether an audited action changes what principals are made of: a user
 * (its node, roles, password state, disabling), a role's permissions, a
 * node's place in the tree, an API token (wa_princache.h). */
static bool s_changes_principals(const char *action)
{
    static const char *const prefixes[] = { "user.", "role.", "node.", "token." };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(action, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

/* The audit row, with the object's id as text (NULL: none). */
static int s_audit(wa_call_t *call, int64_t user_id, const char *actor, const char *action,
                   const char *object_type, const char *object, int64_t node_id,
                   const json_t *detail)
{
    char user[24], token[24], node[24];
    snprintf(user, sizeof user, "%" PRId64, user_id);
    snprintf(token, sizeof token, "%" PRId64, call->who.token_id);
    snprintf(node, sizeof node, "%" PRId64, node_id);
    if (s_changes_principals(action))
        call->principals_changed = true;
    char *text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    const char *peer = httpd_req_peer(call->req);
    const char *params[] = { user_id ? user : NULL, call->who.token_id ? token : NULL, actor,
                             strcmp(peer, "?") ? peer : NULL, action, object_type, object,
                             node_id ? node : NULL, text ? text : "{}" };
    int rc = pgstore_exec(call->pg,
                          "INSERT INTO audit_log (actor_user_id, actor_token_id, actor, address,"
                          " action, object_type, object_id, node_id, detail)"
                          " VALUES ($1, $2, $3, $4::inet, $5, $6, $7, $8, $9::jsonb)",
                          9, params);
    free(text);
    return rc == 0 ? 0 : wa_unavailable(call, "audit log");
}

int wa_store_audit_as(wa_call_t *call, int64_t user_id, const char *actor, const char *action,
                      const char *object_type, int64_t object_id, int64_t node_id,
                      const json_t *detail)
{
    char object[24];
    snprintf(object, sizeof object, "%" PRId64, object_id);
    return s_audit(call, user_id, actor, action, object_type, object_id ? object : NULL,
                   node_id, detail);
}

int wa_store_audit_key(wa_call_t *call, const char *action, const char *object_type,
                       const char *object, int64_t node_id, const json_t *detail)
{
    const wa_principal_t *who = &call->who;
    return s_audit(call, who->token_id ? 0 : who->user_id, who->name, action, object_type,
                   object, node_id, detail);
}

int wa_store_audit(wa_call_t *call, const char *action, const char *object_type,
                   int64_t object_id, int64_t node_id, const json_t *detail)
{
    const wa_principal_t *who = &call->who;
    return wa_store_audit_as(call, who->token_id ? 0 : who->user_id, who->name, action,
                             object_type, object_id, node_id, detail);
}

int wa_store_begin(wa_call_t *call)
{
    return pgstore_begin(call->pg) == 0 ? 0 : wa_unavailable(call, "database");
}

int wa_store_commit(wa_call_t *call)
{
    return pgstore_commit(call->pg) == 0 ? 0 : wa_unavailable(call, "database");
}

void wa_store_rollback(wa_call_t *call)
{
    pgstore_rollback(call->pg);
}

int wa_store_node(wa_call_t *call, const char *member, const char *path, int64_t *node_id)
{
    if (!envelope_org_path_valid(path, strlen(path)))
        return wa_invalid_member(call, member, "must be an organisation path such as "
                                 "\"hq.r01.b0001\"");
    if (!wa_path_within(path, call->who.node_path))
        return wa_problem(call, MHD_HTTP_FORBIDDEN, "\"%s\": %s is outside your subtree %s",
                          member, path, call->who.node_path);
    int found = wa_store_node_find(call, path, node_id, NULL);
    if (found != 0)
        return found > 0 ? 0 : -1;
    return wa_invalid_member(call, member, "no such organisation node");
}

int wa_store_node_find(wa_call_t *call, const char *path, int64_t *node_id, char *kind)
{
    if (!path || !envelope_org_path_valid(path, strlen(path))
        || !wa_path_within(path, call->who.node_path))
        return 0;
    const char *params[] = { path };
    PGresult *res = pgstore_query_prepared(call->pg, "wa_store_node_find",
                                           "SELECT id, kind FROM org_node"
                                           " WHERE path = $1::ltree", 1, params);
    if (!res)
        return wa_unavailable(call, "database");
    int found = PQntuples(res) == 1;
    if (found) {
        *node_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (kind)
            snprintf(kind, 16, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return found;
}
