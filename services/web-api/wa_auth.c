/*  wa_auth: permissions and principals of the REST API (wa_auth.h). */
#include "wa_auth.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eqms/log.h"
#include "eqms/problem.h"
#include "wa_princache.h"

const char *const wa_perm_names[WA_PERM_COUNT + 1] = {
    [WA_PERM_VIEW_STATISTICS] = "view_statistics",
    [WA_PERM_VIEW_COMPLAINTS] = "view_complaints",
    [WA_PERM_VIEW_LIVE_HALL] = "view_live_hall",
    [WA_PERM_OPERATE_WINDOWS] = "operate_windows",
    [WA_PERM_ISSUE_TICKETS] = "issue_tickets",
    [WA_PERM_MANAGE_QUEUES] = "manage_queues",
    [WA_PERM_MANAGE_CONFIGURATION] = "manage_configuration",
    [WA_PERM_MANAGE_DEVICES] = "manage_devices",
    [WA_PERM_MANAGE_USERS] = "manage_users",
    [WA_PERM_MANAGE_ALERTS] = "manage_alerts",
    [WA_PERM_EXPORT] = "export",
    [WA_PERM_PURGE_DATA] = "purge_data",
    [WA_PERM_BACKUP] = "backup",
    [WA_PERM_MANAGE_API_TOKENS] = "manage_api_tokens",
    [WA_PERM_READ_AUDIT_LOG] = "read_audit_log",
    [WA_PERM_COUNT] = NULL,
};
#define s_names wa_perm_names

const char *wa_perm_name(wa_perm_t perm)
{
    return (int) perm >= 0 && perm < WA_PERM_COUNT ? s_names[perm] : NULL;
}

const char *wa_perms_text(uint64_t bits, const char *sep, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < WA_PERM_COUNT && used < size; i++)
        if (bits & WA_PERM_BIT(i))
            used += (size_t) snprintf(out + used, size - used, "%s%s", used ? sep : "",
                                      s_names[i]);
    return out;
}

int wa_perm_of(const char *name, size_t len)
{
    for (int i = 0; i < WA_PERM_COUNT; i++)
        if (strlen(s_names[i]) == len && memcmp(s_names[i], name, len) == 0)
            return i;
    return -1;
}

uint64_t wa_perms_parse(const char *list)
{
    uint64_t bits = 0;
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        int perm = wa_perm_of(p, len);
        if (perm >= 0)
            bits |= WA_PERM_BIT(perm);
        p += len;
        if (*p == ',')
            p++;
    }
    return bits;
}

json_t *wa_perms_json(uint64_t bits)
{
    json_t *list = json_array();
    for (int i = 0; list && i < WA_PERM_COUNT; i++)
        if (bits & WA_PERM_BIT(i))
            json_array_append_new(list, json_string(s_names[i]));
    return list;
}

uint64_t wa_perms_of_json(const json_t *names)
{
    uint64_t bits = 0;
    for (size_t i = 0; i < json_array_size(names); i++) {
        const char *name = json_string_value(json_array_get(names, i));
        int perm = name ? wa_perm_of(name, strlen(name)) : -1;
        if (perm >= 0)
            bits |= WA_PERM_BIT(perm);
    }
    return bits;
}

void wa_perms_array(uint64_t bits, char *out, size_t size)
{
    size_t used = (size_t) snprintf(out, size, "{");
    for (int i = 0; i < WA_PERM_COUNT && used < size; i++)
        if (bits & WA_PERM_BIT(i))
            used += (size_t) snprintf(out + used, size - used, "%s%s", used > 1 ? "," : "",
                                      s_names[i]);
    if (used < size)
        snprintf(out + used, size - used, "}");
}

int wa_perms_missing(uint64_t bits, uint64_t held)
{
    for (int i = 0; i < WA_PERM_COUNT; i++)
        if ((bits & WA_PERM_BIT(i)) && !(held & WA_PERM_BIT(i)))
            return i;
    return -1;
}

int wa_auth_check_schema(pgstore_t *pg)
{
    PGresult *res = pgstore_query(pg, "SELECT array_to_string(eqms_permissions(), ',')", 0,
                                  NULL);
    if (!res)
        return -1;
    const char *list = PQgetvalue(res, 0, 0);
    int rc = 0;
    const char *p = list;
    for (int i = 0; i < WA_PERM_COUNT && rc == 0; i++) {
        size_t len = strcspn(p, ",");
        if (len != strlen(s_names[i]) || memcmp(p, s_names[i], len) != 0)
            rc = -1;
        p += len + (p[len] == ',');
    }
    if (rc != 0)
        log_error("permissions_differ", "database=\"%s\" reason=\"eqms_permissions() does "
                  "not begin with this build's list\"", list);
    PQclear(res);
    return rc;
}

/* --- principals ---------------------------------------------------------------------- */

static int s_unauthorised(wa_call_t *call, const char *error, const char *detail)
{
    char value[128];
    snprintf(value, sizeof value, "Bearer realm=\"eqms\"%s%s%s", error ? ", error=\"" : "",
             error ? error : "", error ? "\"" : "");
    httpd_reply_header(call->reply, "WWW-Authenticate", value);
    return wa_problem(call, MHD_HTTP_UNAUTHORIZED, "%s", detail);
}

/* The user of a login session, read afresh: 1 found, 0 gone (deleted or
 * disabled: the session is ended), -1 the database failed. */
static int s_load_user(wa_call_t *call, int64_t user_id)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, user_id);
    const char *params[] = { id };
    PGresult *res = pgstore_query_prepared(
        call->pg, "wa_auth_user",
        "SELECT u.login, u.node_id, n.path::text, u.disabled, u.must_change_password,"
        "  coalesce((SELECT string_agg(DISTINCT rp.permission, ',') FROM user_role ur"
        "            JOIN role_permission rp ON rp.role_id = ur.role_id"
        "            WHERE ur.user_id = u.id), '')"
        " FROM app_user u JOIN org_node n ON n.id = u.node_id"
        " WHERE u.id = $1 AND u.deleted_at IS NULL",
        1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 3), "f") == 0;
    if (found) {
        wa_principal_t *who = &call->who;
        snprintf(who->name, sizeof who->name, "%s", PQgetvalue(res, 0, 0));
        who->node_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        snprintf(who->node_path, sizeof who->node_path, "%s", PQgetvalue(res, 0, 2));
        who->must_change_password = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
        who->perms = wa_perms_parse(PQgetvalue(res, 0, 5));
    }
    PQclear(res);
    return found;
}

/* An API token not cached: its row (live, not revoked, not expired), whose
 * last_used_at is written now, then cached. 1, 0 (no such live token), -1. */
static int s_load_token(wa_call_t *call, session_t *s)
{
    const char *params[] = { s->hash };
    PGresult *res = pgstore_query(
        call->pg,
        "UPDATE api_token t SET last_used_at = now() FROM org_node n"
        " WHERE t.token_hash = decode($1, 'hex') AND n.id = t.node_id"
        "   AND t.revoked_at IS NULL AND t.expires_at > now()"
        " RETURNING t.id, t.created_by, t.node_id, array_to_string(t.scopes, ','),"
        "   (extract(epoch FROM t.created_at) * 1000)::bigint,"
        "   (extract(epoch FROM t.expires_at) * 1000)::bigint",
        1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        s->token_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        s->user_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        s->node_id = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        s->scopes = wa_perms_parse(PQgetvalue(res, 0, 3));
        s->created_ms = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
        s->expires_ms = strtoll(PQgetvalue(res, 0, 5), NULL, 10);
        s->seen_ms = s->created_ms;
        if (session_api_put(call->rs, call->config ? &call->config->session : NULL, s) != 0)
            log_warn("token_cache_failed", "token=%" PRId64, s->token_id);
    }
    PQclear(res);
    return found;
}

/* The node and name of a (cached) API token, checked not revoked. */
static int s_token_details(wa_call_t *call, int64_t token_id)
{
    char id[24];
    snprintf(id, sizeof id, "%" PRId64, token_id);
    const char *params[] = { id };
    PGresult *res = pgstore_query_prepared(
        call->pg, "wa_auth_token",
        "SELECT n.path::text, t.name FROM api_token t JOIN org_node n ON n.id = t.node_id"
        " WHERE t.id = $1 AND t.revoked_at IS NULL AND t.expires_at > now()",
        1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        snprintf(call->who.node_path, sizeof call->who.node_path, "%s", PQgetvalue(res, 0, 0));
        snprintf(call->who.name, sizeof call->who.name, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return found;
}

/* The id a session's principal is kept under: its token's, or its user's. */
static int64_t s_kept_id(const session_t *s)
{
    return s->kind == SESSION_API ? s->token_id : s->user_id;
}

/* Whether the principal of `s` was kept at its generation (wa_princache):
 * then call->who has what s_load_user or s_token_details would read. */
static bool s_kept(wa_call_t *call, const session_t *s)
{
    wa_princache_t *cache = call->config->principals;
    return cache && s->generation
           && wa_princache_get(cache, s->kind, s_kept_id(s), s->generation, &call->who);
}

/* Keeps the principal just read (a token cached in Redis by this very
 * request has no generation yet: kept by its next request). */
static void s_keep(wa_call_t *call, const session_t *s)
{
    wa_princache_t *cache = call->config->principals;
    if (cache && s->generation)
        wa_princache_put(cache, s->kind, s_kept_id(s), s->generation, &call->who);
}

/* The bearer token of the request, or NULL. */
static const char *s_bearer(const httpd_req_t *req)
{
    const char *value = httpd_req_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!value || strncasecmp(value, "Bearer ", 7) != 0)
        return NULL;
    value += 7;
    while (*value == ' ')
        value++;
    return value;
}

int wa_auth_resolve(wa_call_t *call, wa_access_t access, uint64_t perms, bool during_change)
{
    if (access == WA_ACCESS_PUBLIC)
        return 0;
    const char *token = s_bearer(call->req);
    if (!token)
        return s_unauthorised(call, NULL, "this request needs \"Authorization: Bearer "
                              "<token>\" with a session token or an API token");
    session_t s;
    memset(&s, 0, sizeof s);
    session_kind_t kind;
    if (session_token_hash(token, &kind, s.hash) != 0)
        return s_unauthorised(call, "invalid_token", "the token is malformed");
    s.kind = kind;          /* an API token read from its row is cached as one */
    int found = session_lookup(call->rs, &call->config->session, token, &s);
    if (found < 0)
        return wa_unavailable(call, "session store");
    wa_principal_t *who = &call->who;
    memset(who, 0, sizeof *who);
    who->kind = kind;
    snprintf(who->hash, sizeof who->hash, "%s", s.hash);
    if (kind == SESSION_API) {
        if (found == 0)
            found = s_load_token(call, &s);
        if (found == 1 && !s_kept(call, &s) && (found = s_token_details(call, s.token_id)) == 1)
            s_keep(call, &s);
        if (found < 0)
            return wa_unavailable(call, "token lookup");
        if (found == 0)
            return s_unauthorised(call, "invalid_token",
                                  "the API token is unknown, revoked or expired");
        who->user_id = s.user_id;
        who->token_id = s.token_id;
        who->node_id = s.node_id;
        who->perms = s.scopes;
    }
    else {
        if (found == 0)
            return s_unauthorised(call, "invalid_token",
                                  "the session is unknown, ended or revoked: log in again");
        who->user_id = s.user_id;
        if (s_kept(call, &s))
            found = 1;
        else if ((found = s_load_user(call, s.user_id)) == 1)
            s_keep(call, &s);
        if (found < 0)
            return wa_unavailable(call, "user lookup");
        if (found == 0) {
            session_revoke(call->rs, s.hash);
            return s_unauthorised(call, "invalid_token", "the account is disabled or deleted");
        }
    }
    if (who->must_change_password && !during_change) {
        problem_t p = { .status = MHD_HTTP_FORBIDDEN,
                        .type = "urn:eqms:problem:password-change-required",
                        .title = "Password change required",
                        .detail = "an administrator reset this password: change it with "
                                  "POST /api/v1/me/password before anything else",
                        .instance = httpd_req_path(call->req) };
        problem_reply(call->reply, &p);
        return -1;
    }
    if (access == WA_ACCESS_PERM && !(who->perms & perms)) {
        char names[256];
        return wa_problem(call, MHD_HTTP_FORBIDDEN, "this request needs the permission %s",
                          wa_perms_text(perms, " or ", names, sizeof names));
    }
    return 0;
}
