/*  wa_tokens: API tokens (wa_tokens.h). */
#include "wa_tokens.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"
#include "wa_auth.h"
#include "wa_store.h"

static const jsonreq_member_t s_scope = { .type = JSONREQ_STRING, .one_of = wa_perm_names };

static const jsonreq_member_t s_create_members[] = {
    { "name", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
    { "scopes", JSONREQ_ARRAY, JSONREQ_REQUIRED, .min = 1, .max = 64, .items = &s_scope },
    { "node", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_LINE, .min = 1, .max = 255 },
    { "expires_in_days", JSONREQ_INTEGER, JSONREQ_REQUIRED, .min = 1, .max = 366 },
};
static const jsonreq_object_t s_create_spec = JSONREQ_OBJECT_OF(s_create_members);

#define S_TOKEN_JSON \
    "json_build_object('id', t.id, 'name', t.name, 'node', n.path::text," \
    " 'scopes', (SELECT json_agg(s ORDER BY array_position(eqms_permissions(), s))" \
    "            FROM unnest(t.scopes) s)," \
    " 'expires_at', " WA_TS("t.expires_at") ", 'last_used_at', " WA_TS("t.last_used_at") "," \
    " 'revoked_at', " WA_TS("t.revoked_at") ", 'created_at', " WA_TS("t.created_at") "," \
    " 'created_by', json_build_object('id', c.id, 'login', c.login))"

#define S_FROM \
    " FROM api_token t JOIN org_node n ON n.id = t.node_id JOIN app_user c ON c.id = t.created_by"

static const char *s_by_id_sql =
    "SELECT " S_TOKEN_JSON "::text" S_FROM " WHERE t.id = $1 AND n.path <@ $2::ltree";

void wa_tokens_list(wa_call_t *call)
{
    wa_store_list(call, "tokens", NULL,
                  "SELECT t.id, " S_TOKEN_JSON "::text" S_FROM
                  " WHERE n.path <@ $1::ltree AND ($2::bigint IS NULL OR t.id > $2)"
                  " ORDER BY t.id LIMIT $3");
}

void wa_tokens_get(wa_call_t *call)
{
    wa_store_get(call, s_by_id_sql);
}

/* The token's JSON with the secret added, for the one answer that shows it. */
static json_t *s_created(wa_call_t *call, const char *id, const char *token)
{
    json_t *j = wa_store_json(call, s_by_id_sql, id);
    if (j && token)
        json_object_set_new(j, "token", json_string(token));
    return j;
}

void wa_tokens_create(wa_call_t *call)
{
    json_t *body = wa_decode(call, &s_create_spec);
    if (!body)
        return;
    const char *node = json_string_value(json_object_get(body, "node"));
    uint64_t scopes = wa_perms_of_json(json_object_get(body, "scopes"));
    int missing = wa_perms_missing(scopes, call->who.perms);
    int64_t node_id;
    if (missing >= 0)
        wa_problem(call, MHD_HTTP_FORBIDDEN, "\"scopes\": %s is not yours to give: a token "
                   "may hold only permissions you hold", wa_perm_name((wa_perm_t) missing));
    else if (wa_store_node(call, "node", node ? node : call->who.node_path, &node_id) == 0) {
        char token[SESSION_TOKEN_SIZE], hash[SESSION_HASH_SIZE];
        char node_text[24], creator[24], days[16], array[512];
        if (session_token_new(SESSION_API, token, hash) != 0) {
            wa_unavailable(call, "randomness");
            json_decref(body);
            return;
        }
        wa_perms_array(scopes, array, sizeof array);
        snprintf(node_text, sizeof node_text, "%" PRId64, node_id);
        snprintf(creator, sizeof creator, "%" PRId64, call->who.user_id);
        snprintf(days, sizeof days, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(body, "expires_in_days")));
        const char *params[] = { hash, json_string_value(json_object_get(body, "name")), array,
                                 node_text, days, creator };
        PGresult *res = NULL;
        if (wa_store_begin(call) == 0
            && (res = wa_store_query(call, NULL,
                                     "INSERT INTO api_token (token_hash, name, scopes, node_id,"
                                     " expires_at, created_by)"
                                     " VALUES (decode($1, 'hex'), $2, $3::text[], $4,"
                                     " now() + make_interval(days => $5::int), $6)"
                                     " RETURNING id",
                                     6, params))) {
            int64_t id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            char id_text[24];
            snprintf(id_text, sizeof id_text, "%" PRId64, id);
            PQclear(res);
            json_t *shown = s_created(call, id_text, NULL);
            json_t *detail = json_pack("{s:O?}", "after", shown);
            json_decref(shown);
            if (wa_store_audit(call, "token.create", "api_token", id, node_id, detail) == 0
                && wa_store_commit(call) == 0) {
                json_t *answer = s_created(call, id_text, token);
                char location[64];
                snprintf(location, sizeof location, "/api/v1/tokens/%" PRId64, id);
                httpd_reply_header(call->reply, "Location", location);
                wa_reply_jansson(call, MHD_HTTP_CREATED, &answer);
            }
            else
                wa_store_rollback(call);
            json_decref(detail);
        }
        else
            wa_store_rollback(call);
        sodium_memzero(token, sizeof token);
    }
    json_decref(body);
}

void wa_tokens_revoke(wa_call_t *call)
{
    int64_t id;
    if (wa_param_id(call, &id) != 0)
        return;
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%" PRId64, id);
    const char *params[] = { id_text, call->who.node_path };
    if (wa_store_begin(call) != 0)
        return;
    PGresult *res = wa_store_query(
        call, NULL,
        "SELECT t.node_id, encode(t.token_hash, 'hex'), t.revoked_at IS NOT NULL"
        " FROM api_token t JOIN org_node n ON n.id = t.node_id"
        " WHERE t.id = $1 AND n.path <@ $2::ltree FOR UPDATE OF t",
        2, params);
    if (!res) {
        wa_store_rollback(call);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        wa_store_rollback(call);
        wa_problem(call, MHD_HTTP_NOT_FOUND, "no such token");
        return;
    }
    int64_t node_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    char hash[SESSION_HASH_SIZE];
    snprintf(hash, sizeof hash, "%s", PQgetvalue(res, 0, 1));
    bool already = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
    PQclear(res);
    if (already) {
        wa_store_rollback(call);
        wa_reply_empty(call);
        return;
    }
    if (wa_store_exec(call, NULL, "UPDATE api_token SET revoked_at = now() WHERE id = $1", 1,
                      params) == 0
        && wa_store_audit(call, "token.revoke", "api_token", id, node_id, NULL) == 0
        && wa_store_commit(call) == 0) {
        if (session_revoke(call->rs, hash) < 0)
            log_warn("token_cache_not_forgotten", "token=%" PRId64 " reason=\"Redis failed: "
                     "the lookup is cached up to its cache time\"", id);
        wa_reply_empty(call);
    }
    else
        wa_store_rollback(call);
}
