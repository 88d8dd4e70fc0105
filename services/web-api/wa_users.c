/*  wa_users: users of an administrator's subtree (wa_users.h). */
#include "wa_users.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"
#include "eqms/password.h"
#include "wa_auth.h"
#include "wa_store.h"

#define S_ROLES_MAX 32
#define S_PASSWORD_MAX_BYTES 1024

static const jsonreq_member_t s_role_id = { .type = JSONREQ_INTEGER, .min = 1,
                                            .max = INT64_MAX };

static const jsonreq_member_t s_create_members[] = {
    { "login", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_FIXED | JSONREQ_LINE,
      .min = 1, .max = 64 },
    { "display_name", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
    { "node", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 255 },
    { "password", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_FIXED,
      .min = 1, .max = S_PASSWORD_MAX_BYTES },
    { "roles", JSONREQ_ARRAY, JSONREQ_OPTIONAL, .min = 0, .max = S_ROLES_MAX,
      .items = &s_role_id },
    { .name = "must_change_password", .type = JSONREQ_BOOLEAN, .flags = JSONREQ_FIXED },
};
static const jsonreq_object_t s_create_spec = JSONREQ_OBJECT_OF(s_create_members);

static const jsonreq_member_t s_reset_members[] = {
    { "temporary_password", JSONREQ_STRING, JSONREQ_REQUIRED, .min = 1,
      .max = S_PASSWORD_MAX_BYTES },
};
static const jsonreq_object_t s_reset_spec = JSONREQ_OBJECT_OF(s_reset_members);

static const char *s_by_id_sql =
    "SELECT " WA_USER_JSON "::text FROM app_user u JOIN org_node n ON n.id = u.node_id"
    " WHERE u.id = $1 AND u.deleted_at IS NULL AND n.path <@ $2::ltree";

/* --- checks -------------------------------------------------------------------------- */

/* A user the caller may change. */
typedef struct {
    int64_t id, node_id;
    char id_text[24];
    char login[80];
    char node_path[WA_PATH_SIZE];
    uint64_t perms;
} s_target_t;

/* Loads user {id} inside the caller's subtree and checks that the caller
 * holds every permission the user holds. 0, or -1 answered (404, 403). */
static int s_target(wa_call_t *call, s_target_t *t)
{
    if (wa_param_id(call, &t->id) != 0)
        return -1;
    snprintf(t->id_text, sizeof t->id_text, "%" PRId64, t->id);
    const char *params[] = { t->id_text, call->who.node_path };
    PGresult *res = pgstore_query(
        call->pg,
        "SELECT u.login, u.node_id, n.path::text,"
        "  coalesce((SELECT string_agg(DISTINCT rp.permission, ',') FROM user_role ur"
        "            JOIN role_permission rp ON rp.role_id = ur.role_id"
        "            WHERE ur.user_id = u.id), '')"
        " FROM app_user u JOIN org_node n ON n.id = u.node_id"
        " WHERE u.id = $1 AND u.deleted_at IS NULL AND n.path <@ $2::ltree",
        2, params);
    if (!res)
        return wa_unavailable(call, "database");
    int found = PQntuples(res) == 1;
    if (found) {
        snprintf(t->login, sizeof t->login, "%s", PQgetvalue(res, 0, 0));
        t->node_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        snprintf(t->node_path, sizeof t->node_path, "%s", PQgetvalue(res, 0, 2));
        t->perms = wa_perms_parse(PQgetvalue(res, 0, 3));
    }
    PQclear(res);
    if (!found)
        return wa_problem(call, MHD_HTTP_NOT_FOUND, "no such user");
    int missing = wa_perms_missing(t->perms, call->who.perms);
    if (missing >= 0)
        return wa_problem(call, MHD_HTTP_FORBIDDEN, "user %s holds the permission %s, which "
                          "you do not hold: only an administrator who does may change them",
                          t->login, wa_perm_name((wa_perm_t) missing));
    return 0;
}

static int s_not_self(wa_call_t *call, const s_target_t *t, const char *what)
{
    if (call->who.token_id == 0 && t->id == call->who.user_id)
        return wa_problem(call, MHD_HTTP_FORBIDDEN, "you cannot %s yourself", what);
    return 0;
}

/* Checks the roles to give a user at `user_path`: each visible to the
 * caller (defined in their subtree), given once, granting only permissions
 * the caller holds, defined at the user's node or above it. Writes them as
 * a PostgreSQL array literal into `array`. 0, or -1 answered (400, 403). */
static int s_roles(wa_call_t *call, const json_t *roles, const char *user_path, char *array,
                   size_t size)
{
    size_t n = json_array_size(roles), used = 0;
    used += (size_t) snprintf(array, size, "{");
    for (size_t i = 0; i < n && used < size; i++)
        used += (size_t) snprintf(array + used, size - used, "%s%" JSON_INTEGER_FORMAT,
                                  i ? "," : "", json_integer_value(json_array_get(roles, i)));
    if (used + 2 > size)
        return wa_invalid_member(call, "roles", "too many roles");
    snprintf(array + used, size - used, "}");
    const char *params[] = { array, call->who.node_path };
    PGresult *res = pgstore_query(
        call->pg,
        "SELECT r.id, r.name, rn.path::text,"
        "  coalesce((SELECT string_agg(permission, ',') FROM role_permission"
        "            WHERE role_id = r.id), '')"
        " FROM role r JOIN org_node rn ON rn.id = r.node_id"
        " WHERE r.id = ANY ($1::bigint[]) AND rn.path <@ $2::ltree",
        2, params);
    if (!res)
        return wa_unavailable(call, "database");
    jsonreq_errors_t errors = { 0 };
    int forbidden = -1;
    for (size_t i = 0; i < n && forbidden < 0; i++) {
        char member[32];
        snprintf(member, sizeof member, "roles[%zu]", i);
        json_int_t id = json_integer_value(json_array_get(roles, i));
        for (size_t j = 0; j < i; j++)
            if (json_integer_value(json_array_get(roles, j)) == id)
                jsonreq_errors_add(&errors, member, "role %" JSON_INTEGER_FORMAT
                                   " is given twice", id);
        int row = -1;
        for (int r = 0; r < PQntuples(res) && row < 0; r++)
            if (strtoll(PQgetvalue(res, r, 0), NULL, 10) == id)
                row = r;
        if (row < 0) {
            jsonreq_errors_add(&errors, member, "no role %" JSON_INTEGER_FORMAT
                               " in your subtree", id);
            continue;
        }
        int missing = wa_perms_missing(wa_perms_parse(PQgetvalue(res, row, 3)),
                                       call->who.perms);
        if (missing >= 0) {
            forbidden = 0;
            wa_problem(call, MHD_HTTP_FORBIDDEN, "role %s grants the permission %s, which "
                       "you do not hold: you may give only permissions you hold",
                       PQgetvalue(res, row, 1), wa_perm_name((wa_perm_t) missing));
        }
        else if (!wa_path_within(user_path, PQgetvalue(res, row, 2)))
            jsonreq_errors_add(&errors, member, "role %s is defined at %s, which is not the "
                               "user's node %s or above it", PQgetvalue(res, row, 1),
                               PQgetvalue(res, row, 2), user_path);
    }
    PQclear(res);
    if (forbidden >= 0)
        return -1;
    return errors.count ? wa_invalid(call, &errors) : 0;
}

/* Replaces the user's roles with `array` (checked by s_roles). */
static int s_set_roles(wa_call_t *call, const char *user_id, const char *array)
{
    char granter[24];
    snprintf(granter, sizeof granter, "%" PRId64, call->who.user_id);
    const char *params[] = { user_id, array, granter };
    if (wa_store_exec(call, NULL, "DELETE FROM user_role WHERE user_id = $1", 1, params) != 0)
        return -1;
    return wa_store_exec(call, NULL,
                         "INSERT INTO user_role (user_id, role_id, granted_by)"
                         " SELECT $1, unnest($2::bigint[]), $3",
                         3, params);
}

/* The user's JSON (inside the caller's subtree), parsed; NULL if gone. */
static json_t *s_json(wa_call_t *call, const char *id)
{
    return wa_store_json(call, s_by_id_sql, id);
}

/* Audits a change with the user's JSON before and after, commits, answers
 * `status` with the user after (204: nothing). */
static void s_finish(wa_call_t *call, const char *action, const s_target_t *t,
                     json_t *before, unsigned status)
{
    wa_store_finish(call, action, "user", t->id, t->node_id, before, s_by_id_sql, status);
}

/* --- routes -------------------------------------------------------------------------- */

void wa_users_list(wa_call_t *call)
{
    wa_store_list(call, "users", NULL,
                  "SELECT u.id, " WA_USER_JSON "::text"
                  " FROM app_user u JOIN org_node n ON n.id = u.node_id"
                  " WHERE u.deleted_at IS NULL AND n.path <@ $1::ltree"
                  "   AND ($2::bigint IS NULL OR u.id > $2)"
                  " ORDER BY u.id LIMIT $3");
}

void wa_users_get(wa_call_t *call)
{
    wa_store_get(call, s_by_id_sql);
}

static bool s_login_valid(const char *login)
{
    regex_t re;
    if (regcomp(&re, "^[a-z0-9][a-z0-9._@-]{0,63}$", REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool ok = regexec(&re, login, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

void wa_users_create(wa_call_t *call)
{
    json_t *body = wa_decode(call, &s_create_spec);
    if (!body)
        return;
    const char *login = json_string_value(json_object_get(body, "login"));
    const char *node = json_string_value(json_object_get(body, "node"));
    const char *password = json_string_value(json_object_get(body, "password"));
    json_t *roles = json_object_get(body, "roles");
    json_t *must = json_object_get(body, "must_change_password");
    json_t *none = json_array();
    char reason[PASSWORD_REASON_SIZE], hash[PASSWORD_HASH_SIZE], array[S_ROLES_MAX * 24];
    int64_t node_id;
    s_target_t t = { 0 };
    if (!s_login_valid(login))
        wa_invalid_member(call, "login", "must be 1..64 lowercase ASCII letters, digits and "
                          ". _ @ -, beginning with a letter or a digit");
    else if (password_check_rules(password, login, reason) != 0)
        wa_invalid_member(call, "password", "%s", reason);
    else if (wa_store_node(call, "node", node, &node_id) == 0
             && s_roles(call, roles ? roles : none, node, array, sizeof array) == 0) {
        if (password_hash(password, hash) != 0) {
            wa_unavailable(call, "password hashing");
            json_decref(none);
            json_decref(body);
            return;
        }
        char node_text[24], creator[24];
        snprintf(node_text, sizeof node_text, "%" PRId64, node_id);
        snprintf(creator, sizeof creator, "%" PRId64, call->who.user_id);
        const char *params[] = { login, json_string_value(json_object_get(body, "display_name")),
                                 hash, node_text, must && json_is_false(must) ? "f" : "t",
                                 creator };
        if (wa_store_insert(call, "this login is taken (by a user, maybe a deleted one: "
                            "logins are never reused)",
                            "INSERT INTO app_user (login, display_name, password_hash,"
                            " node_id, must_change_password, created_by)"
                            " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                            6, params, &t.id) == 0) {
            snprintf(t.id_text, sizeof t.id_text, "%" PRId64, t.id);
            if (s_set_roles(call, t.id_text, array) == 0)
                wa_store_created(call, "users", "user.create", "user", t.id, node_id,
                                 s_by_id_sql);
            else
                wa_store_rollback(call);
        }
    }
    json_decref(none);
    json_decref(body);
}

/* With the node changed and no roles given: the roles the user keeps must
 * suit the new node. 0, or -1 answered (400). */
static int s_roles_fit(wa_call_t *call, const s_target_t *t, const char *node)
{
    const char *params[] = { t->id_text, node };
    PGresult *res = pgstore_query(call->pg,
                                  "SELECT r.name, rn.path::text FROM user_role ur"
                                  " JOIN role r ON r.id = ur.role_id"
                                  " JOIN org_node rn ON rn.id = r.node_id"
                                  " WHERE ur.user_id = $1 AND NOT rn.path @> $2::ltree"
                                  " ORDER BY r.id LIMIT 1",
                                  2, params);
    if (!res)
        return wa_unavailable(call, "database");
    int rc = 0;
    if (PQntuples(res) > 0)
        rc = wa_invalid_member(call, "roles", "role %s is defined at %s, which is not the new "
                               "node %s or above it: give the roles the user should have there",
                               PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), node);
    PQclear(res);
    return rc;
}

void wa_users_update(wa_call_t *call)
{
    s_target_t t = { 0 };
    if (s_target(call, &t) != 0)
        return;
    json_t *body = wa_decode_update(call, &s_create_spec);
    if (!body)
        return;
    const char *name = json_string_value(json_object_get(body, "display_name"));
    const char *node = json_string_value(json_object_get(body, "node"));
    json_t *roles = json_object_get(body, "roles");
    char array[S_ROLES_MAX * 24], node_text[24] = "";
    int64_t node_id = t.node_id;
    int rc = 0;
    if (node && wa_store_node(call, "node", node, &node_id) != 0)
        rc = -1;
    const char *path = node ? node : t.node_path;
    if (rc == 0 && roles && s_roles(call, roles, path, array, sizeof array) != 0)
        rc = -1;
    if (rc == 0 && node && !roles && s_roles_fit(call, &t, node) != 0)
        rc = -1;
    if (rc != 0) {
        json_decref(body);
        return;
    }
    snprintf(node_text, sizeof node_text, "%" PRId64, node_id);
    json_t *before = s_json(call, t.id_text);
    const char *params[] = { t.id_text, name, node_text };
    if (wa_store_begin(call) == 0
        && wa_store_exec(call, NULL,
                         "UPDATE app_user SET display_name = coalesce($2, display_name),"
                         " node_id = $3 WHERE id = $1", 3, params) == 0
        && (!roles || s_set_roles(call, t.id_text, array) == 0)) {
        t.node_id = node_id;
        s_finish(call, "user.update", &t, before, MHD_HTTP_OK);
    }
    else
        wa_store_rollback(call);
    json_decref(before);
    json_decref(body);
}

/* Sets the user's state with `sql` ($1 the id), ends their sessions when
 * `revoke`, audits `action` and answers `status`. */
static void s_change(wa_call_t *call, const s_target_t *t, const char *sql, int nparams,
                     const char *const *params, bool revoke, const char *action,
                     unsigned status)
{
    json_t *before = s_json(call, t->id_text);
    if (wa_store_begin(call) == 0 && wa_store_exec(call, NULL, sql, nparams, params) == 0) {
        if (revoke && session_revoke_user(call->rs, t->id) < 0) {
            wa_store_rollback(call);
            wa_unavailable(call, "session store");
        }
        else
            s_finish(call, action, t, before, status);
    }
    else
        wa_store_rollback(call);
    json_decref(before);
}

void wa_users_disable(wa_call_t *call)
{
    s_target_t t = { 0 };
    if (s_target(call, &t) != 0 || s_not_self(call, &t, "disable") != 0)
        return;
    const char *params[] = { t.id_text };
    s_change(call, &t, "UPDATE app_user SET disabled = true WHERE id = $1", 1, params, true,
             "user.disable", MHD_HTTP_OK);
}

void wa_users_enable(wa_call_t *call)
{
    s_target_t t = { 0 };
    if (s_target(call, &t) != 0)
        return;
    const char *params[] = { t.id_text };
    s_change(call, &t, "UPDATE app_user SET disabled = false WHERE id = $1", 1, params, false,
             "user.enable", MHD_HTTP_OK);
}

void wa_users_delete(wa_call_t *call)
{
    s_target_t t = { 0 };
    if (s_target(call, &t) != 0 || s_not_self(call, &t, "delete") != 0)
        return;
    const char *params[] = { t.id_text };
    s_change(call, &t, "UPDATE app_user SET disabled = true, deleted_at = now() WHERE id = $1",
             1, params, true, "user.delete", MHD_HTTP_NO_CONTENT);
}

void wa_users_reset_password(wa_call_t *call)
{
    s_target_t t = { 0 };
    if (s_target(call, &t) != 0)
        return;
    json_t *body = wa_decode(call, &s_reset_spec);
    if (!body)
        return;
    const char *password = json_string_value(json_object_get(body, "temporary_password"));
    char reason[PASSWORD_REASON_SIZE], hash[PASSWORD_HASH_SIZE];
    if (password_check_rules(password, t.login, reason) != 0)
        wa_invalid_member(call, "temporary_password", "%s", reason);
    else if (password_hash(password, hash) != 0)
        wa_unavailable(call, "password hashing");
    else {
        const char *params[] = { t.id_text, hash };
        s_change(call, &t,
                 "UPDATE app_user SET password_hash = $2, must_change_password = true,"
                 " failed_logins = 0, locked_until = NULL, password_changed_at = now()"
                 " WHERE id = $1",
                 2, params, true, "user.password_reset", MHD_HTTP_NO_CONTENT);
    }
    json_decref(body);
}
