/*  wa_session: login, logout, the caller's account and password (wa_session.h). */
#include "wa_session.h"

#include <ctype.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <time.h>

#include "eqms/log.h"
#include "eqms/password.h"
#include "eqms/problem.h"
#include "wa_auth.h"
#include "wa_store.h"
#include "wa_users.h"

#define S_LOGIN_MAX 64
#define S_PASSWORD_MAX_BYTES 1024   /* rules count characters; this bounds the work */

static const jsonreq_member_t s_login_members[] = {
    { "login", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = S_LOGIN_MAX },
    { "password", JSONREQ_STRING, JSONREQ_REQUIRED, .min = 1, .max = S_PASSWORD_MAX_BYTES },
};
static const jsonreq_object_t s_login_spec = JSONREQ_OBJECT_OF(s_login_members);

static const jsonreq_member_t s_change_members[] = {
    { "current_password", JSONREQ_STRING, JSONREQ_REQUIRED, .min = 1,
      .max = S_PASSWORD_MAX_BYTES },
    { "new_password", JSONREQ_STRING, JSONREQ_REQUIRED, .min = 1, .max = S_PASSWORD_MAX_BYTES },
};
static const jsonreq_object_t s_change_spec = JSONREQ_OBJECT_OF(s_change_members);

static void s_rfc3339(int64_t ms, char out[32])
{
    time_t s = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int) (ms % 1000));
}

/* The user row a login names (login compared in lowercase, as stored). */
typedef struct {
    int64_t id, node_id;
    char login[S_LOGIN_MAX + 1];    /* as stored (lowercase) */
    char hash[PASSWORD_HASH_SIZE];
    bool disabled, must_change, locked;
    char locked_until[40];
    long locked_s;                  /* seconds the lock still lasts */
} s_user_t;

/* 1 found, 0 none, -1 the database failed. */
static int s_find(wa_call_t *call, const char *login, s_user_t *u)
{
    char lower[S_LOGIN_MAX * 4 + 1];
    snprintf(lower, sizeof lower, "%s", login);
    for (char *p = lower; *p; p++)
        *p = (char) tolower((unsigned char) *p);
    const char *params[] = { lower };
    PGresult *res = pgstore_query(
        call->pg,
        "SELECT id, node_id, password_hash, disabled, must_change_password,"
        "  coalesce(locked_until > now(), false), " WA_TS("locked_until") ","
        "  coalesce(ceil(extract(epoch FROM locked_until - now())), 0)::bigint, login"
        " FROM app_user WHERE login = $1 AND deleted_at IS NULL",
        1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        u->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        snprintf(u->login, sizeof u->login, "%.64s", PQgetvalue(res, 0, 8));
        u->node_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        snprintf(u->hash, sizeof u->hash, "%s", PQgetvalue(res, 0, 2));
        u->disabled = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
        u->must_change = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
        u->locked = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
        snprintf(u->locked_until, sizeof u->locked_until, "%s", PQgetvalue(res, 0, 6));
        u->locked_s = strtol(PQgetvalue(res, 0, 7), NULL, 10);
    }
    PQclear(res);
    return found;
}

static void s_locked(wa_call_t *call, const s_user_t *u)
{
    char retry[24], detail[160];
    snprintf(retry, sizeof retry, "%ld", u->locked_s > 0 ? u->locked_s : 1);
    httpd_reply_header(call->reply, "Retry-After", retry);
    snprintf(detail, sizeof detail, "too many failed logins: this account is locked until %s",
             u->locked_until);
    problem_t p = { .status = MHD_HTTP_TOO_MANY_REQUESTS,
                    .type = "urn:eqms:problem:account-locked", .title = "Account locked",
                    .detail = detail, .instance = httpd_req_path(call->req),
                    .ext = { { "locked_until", u->locked_until } } };
    problem_reply(call->reply, &p);
}

static void s_wrong(wa_call_t *call)
{
    httpd_reply_header(call->reply, "WWW-Authenticate", "Bearer realm=\"eqms\"");
    wa_problem(call, MHD_HTTP_UNAUTHORIZED, "the login or the password is wrong");
}

/* A wrong password: counted, and past the limit the account is locked. */
static void s_failed(wa_call_t *call, s_user_t *u, const char *login)
{
    char id[24], limit[16], lock_s[16];
    snprintf(id, sizeof id, "%" PRId64, u->id);
    snprintf(limit, sizeof limit, "%d", call->config->lockout_failures);
    snprintf(lock_s, sizeof lock_s, "%d", call->config->lockout_s);
    const char *params[] = { id, limit, lock_s };
    if (wa_store_begin(call) != 0)
        return;
    PGresult *res = pgstore_query(
        call->pg,
        "UPDATE app_user SET"
        "  locked_until = CASE WHEN failed_logins + 1 >= $2::int"
        "                 THEN now() + make_interval(secs => $3::int) ELSE locked_until END,"
        "  failed_logins = CASE WHEN failed_logins + 1 >= $2::int THEN 0"
        "                  ELSE failed_logins + 1 END"
        " WHERE id = $1"
        " RETURNING coalesce(locked_until > now(), false), " WA_TS("locked_until") ","
        "  coalesce(ceil(extract(epoch FROM locked_until - now())), 0)::bigint",
        3, params);
    if (!res) {
        wa_store_rollback(call);
        wa_unavailable(call, "database");
        return;
    }
    u->locked = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    if (u->locked) {
        snprintf(u->locked_until, sizeof u->locked_until, "%s", PQgetvalue(res, 0, 1));
        u->locked_s = strtol(PQgetvalue(res, 0, 2), NULL, 10);
    }
    PQclear(res);
    json_t *detail = json_pack("{s:s, s:s}", "login", login, "reason", "wrong password");
    if (u->locked)
        json_object_set_new(detail, "locked_until", json_string(u->locked_until));
    int rc = wa_store_audit_as(call, 0, "anonymous",
                               u->locked ? "user.lock" : "session.login_failed", "user", u->id,
                               u->node_id, detail);
    json_decref(detail);
    if (rc != 0 || wa_store_commit(call) != 0) {
        wa_store_rollback(call);
        return;
    }
    log_info("login_failed", "user=%" PRId64 " locked=%d", u->id, u->locked);
    if (u->locked)
        s_locked(call, u);
    else
        s_wrong(call);
}

/* A right password: counters cleared, a new hash if the parameters changed,
 * a session, the audit log. */
static void s_succeeded(wa_call_t *call, const s_user_t *u, const char *login,
                        const char *password)
{
    char id[24], rehash[PASSWORD_HASH_SIZE] = "";
    snprintf(id, sizeof id, "%" PRId64, u->id);
    if (password_needs_rehash(u->hash) && password_hash(password, rehash) != 0)
        rehash[0] = '\0';
    const char *params[] = { id, *rehash ? rehash : NULL };
    if (wa_store_begin(call) != 0)
        return;
    if (wa_store_exec(call, NULL,
                      "UPDATE app_user SET failed_logins = 0, locked_until = NULL,"
                      " last_login_at = now(), password_hash = coalesce($2, password_hash)"
                      " WHERE id = $1",
                      2, params) != 0) {
        wa_store_rollback(call);
        return;
    }
    char token[SESSION_TOKEN_SIZE];
    session_t s;
    if (session_create(call->rs, &call->config->session, u->id, u->node_id, token, &s) != 0) {
        wa_store_rollback(call);
        wa_unavailable(call, "session store");
        return;
    }
    call->who.user_id = u->id;
    snprintf(call->who.name, sizeof call->who.name, "%.64s", login);
    json_t *detail = json_pack("{s:b}", "must_change_password", u->must_change);
    int rc = wa_store_audit_as(call, u->id, login, "session.login", "user", u->id, u->node_id,
                               detail);
    json_decref(detail);
    if (rc != 0 || wa_store_commit(call) != 0) {
        wa_store_rollback(call);
        session_revoke(call->rs, s.hash);
        return;
    }
    char expires[32];
    s_rfc3339(s.expires_ms, expires);
    json_t *body = json_pack("{s:s, s:s, s:s, s:i, s:b, s:{s:I, s:s}}", "token", token,
                             "token_type", "Bearer", "expires_at", expires, "idle_timeout_s",
                             call->config->session.idle_s ? call->config->session.idle_s
                                                          : SESSION_IDLE_S_DEFAULT,
                             "must_change_password", u->must_change, "user", "id",
                             (json_int_t) u->id, "login", login);
    sodium_memzero(token, sizeof token);
    log_info("login", "user=%" PRId64 " must_change_password=%d", u->id, u->must_change);
    wa_reply_jansson(call, MHD_HTTP_CREATED, &body);
}

void wa_session_login(wa_call_t *call)
{
    json_t *body = wa_decode(call, &s_login_spec);
    if (!body)
        return;
    const char *login = json_string_value(json_object_get(body, "login"));
    const char *password = json_string_value(json_object_get(body, "password"));
    s_user_t u;
    memset(&u, 0, sizeof u);
    int found = s_find(call, login, &u);
    if (found < 0) {
        wa_unavailable(call, "database");
    }
    else if (found == 0) {
        password_verify(NULL, password);
        json_t *detail = json_pack("{s:s, s:s}", "login", login, "reason", "unknown login");
        if (wa_store_audit_as(call, 0, "anonymous", "session.login_failed", NULL, 0, 0,
                              detail) == 0)
            s_wrong(call);
        json_decref(detail);
    }
    else if (u.locked) {
        s_locked(call, &u);
    }
    else {
        int ok = password_verify(u.hash, password);
        if (ok < 0)
            wa_problem(call, MHD_HTTP_INTERNAL_SERVER_ERROR, "the stored password hash is "
                       "unreadable: an administrator must reset this password");
        else if (ok == 0)
            s_failed(call, &u, u.login);
        else if (u.disabled)
            wa_problem(call, MHD_HTTP_FORBIDDEN, "this account is disabled: ask an "
                       "administrator");
        else
            s_succeeded(call, &u, u.login, password);
    }
    json_decref(body);
}

void wa_session_logout(wa_call_t *call)
{
    if (call->who.kind != SESSION_LOGIN) {
        wa_problem(call, MHD_HTTP_BAD_REQUEST, "an API token is not a session: revoke it "
                   "with DELETE /api/v1/tokens/{id}");
        return;
    }
    if (session_revoke(call->rs, call->who.hash) < 0) {
        wa_unavailable(call, "session store");
        return;
    }
    if (wa_store_audit(call, "session.logout", "user", call->who.user_id, call->who.node_id,
                       NULL) == 0)
        wa_reply_empty(call);
}

void wa_session_me(wa_call_t *call)
{
    if (wa_no_args(call) != 0)
        return;
    char id[24], *perms = NULL;
    json_t *list = wa_perms_json(call->who.perms);
    perms = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    if (call->who.kind == SESSION_LOGIN) {
        snprintf(id, sizeof id, "%" PRId64, call->who.user_id);
        const char *params[] = { id, perms };
        wa_store_object(call, MHD_HTTP_OK,
                        "SELECT json_build_object('kind', 'session', 'node', n.path::text,"
                        " 'permissions', $2::json, 'must_change_password',"
                        " u.must_change_password, 'user', " WA_USER_JSON ")::text"
                        " FROM app_user u JOIN org_node n ON n.id = u.node_id WHERE u.id = $1",
                        2, params);
    }
    else {
        snprintf(id, sizeof id, "%" PRId64, call->who.token_id);
        const char *params[] = { id, perms };
        wa_store_object(call, MHD_HTTP_OK,
                        "SELECT json_build_object('kind', 'api_token', 'node', n.path::text,"
                        " 'permissions', $2::json, 'must_change_password', false,"
                        " 'token', json_build_object('id', t.id, 'name', t.name,"
                        "   'expires_at', " WA_TS("t.expires_at") "))::text"
                        " FROM api_token t JOIN org_node n ON n.id = t.node_id WHERE t.id = $1",
                        2, params);
    }
    free(perms);
}

void wa_session_change_password(wa_call_t *call)
{
    if (call->who.kind != SESSION_LOGIN) {
        wa_problem(call, MHD_HTTP_FORBIDDEN, "an API token has no password");
        return;
    }
    json_t *body = wa_decode(call, &s_change_spec);
    if (!body)
        return;
    const char *current = json_string_value(json_object_get(body, "current_password"));
    const char *next = json_string_value(json_object_get(body, "new_password"));
    char id[24], reason[PASSWORD_REASON_SIZE], hash[PASSWORD_HASH_SIZE];
    snprintf(id, sizeof id, "%" PRId64, call->who.user_id);
    const char *params[] = { id, NULL };
    PGresult *res = pgstore_query(call->pg, "SELECT password_hash FROM app_user WHERE id = $1",
                                  1, params);
    if (!res || PQntuples(res) != 1) {
        if (res)
            PQclear(res);
        wa_unavailable(call, "database");
        json_decref(body);
        return;
    }
    snprintf(hash, sizeof hash, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (password_verify(hash, current) != 1)
        wa_invalid_member(call, "current_password", "is not your current password");
    else if (password_check_rules(next, call->who.name, reason) != 0)
        wa_invalid_member(call, "new_password", "%s", reason);
    else if (password_verify(hash, next) == 1)
        wa_invalid_member(call, "new_password", "must differ from the current password");
    else if (password_hash(next, hash) != 0)
        wa_unavailable(call, "password hashing");
    else {
        params[1] = hash;
        if (wa_store_begin(call) == 0
            && wa_store_exec(call, NULL,
                             "UPDATE app_user SET password_hash = $2,"
                             " must_change_password = false, password_changed_at = now()"
                             " WHERE id = $1", 2, params) == 0
            && wa_store_audit(call, "user.password_change", "user", call->who.user_id,
                              call->who.node_id, NULL) == 0
            && wa_store_commit(call) == 0) {
            int ended = session_revoke_user_others(call->rs, call->who.user_id, call->who.hash);
            if (ended < 0)
                log_warn("sessions_not_revoked", "user=%" PRId64, call->who.user_id);
            log_info("password_changed", "user=%" PRId64 " sessions_ended=%d",
                     call->who.user_id, ended);
            wa_reply_empty(call);
        }
        else
            wa_store_rollback(call);
    }
    json_decref(body);
}
