/*  wa_roles: roles and the permission list (wa_roles.h). */
#include "wa_roles.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa_auth.h"
#include "wa_store.h"

#define S_ARRAY_SIZE 512

static const jsonreq_member_t s_perm = { .type = JSONREQ_STRING, .one_of = wa_perm_names };

static const jsonreq_member_t s_create_members[] = {
    { "name", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
    { "description", JSONREQ_STRING, JSONREQ_OPTIONAL, .min = 0, .max = 500 },
    { "node", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_FIXED | JSONREQ_LINE,
      .min = 1, .max = 255 },
    { "permissions", JSONREQ_ARRAY, JSONREQ_REQUIRED, .min = 0, .max = 64, .items = &s_perm },
};
static const jsonreq_object_t s_create_spec = JSONREQ_OBJECT_OF(s_create_members);

#define S_ROLE_JSON \
    "json_build_object('id', r.id, 'name', r.name, 'description', r.description," \
    " 'node', n.path::text," \
    " 'permissions', coalesce((SELECT json_agg(permission ORDER BY" \
    "      array_position(eqms_permissions(), permission)) FROM role_permission" \
    "      WHERE role_id = r.id), '[]')," \
    " 'users', (SELECT count(*) FROM user_role ur JOIN app_user u ON u.id = ur.user_id" \
    "           WHERE ur.role_id = r.id AND u.deleted_at IS NULL)," \
    " 'created_at', " WA_TS("r.created_at") ", 'updated_at', " WA_TS("r.updated_at") ")"

static const char *s_by_id_sql =
    "SELECT " S_ROLE_JSON "::text FROM role r JOIN org_node n ON n.id = r.node_id"
    " WHERE r.id = $1 AND n.path <@ $2::ltree";

static const char *s_conflict = "a role of this name is already defined at this node";

/* A role the caller may change: in their subtree, granting nothing they lack. */
typedef struct {
    int64_t id, node_id;
    char id_text[24];
    uint64_t perms;
    int users;
} s_role_t;

static int s_target(wa_call_t *call, s_role_t *r)
{
    if (wa_param_id(call, &r->id) != 0)
        return -1;
    snprintf(r->id_text, sizeof r->id_text, "%" PRId64, r->id);
    const char *params[] = { r->id_text, call->who.node_path };
    PGresult *res = pgstore_query(
        call->pg,
        "SELECT r.name, r.node_id,"
        "  coalesce((SELECT string_agg(permission, ',') FROM role_permission"
        "            WHERE role_id = r.id), ''),"
        "  (SELECT count(*) FROM user_role ur JOIN app_user u ON u.id = ur.user_id"
        "   WHERE ur.role_id = r.id AND u.deleted_at IS NULL)"
        " FROM role r JOIN org_node n ON n.id = r.node_id"
        " WHERE r.id = $1 AND n.path <@ $2::ltree",
        2, params);
    if (!res)
        return wa_unavailable(call, "database");
    if (PQntuples(res) != 1) {
        PQclear(res);
        return wa_problem(call, MHD_HTTP_NOT_FOUND, "no such role");
    }
    r->node_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    r->perms = wa_perms_parse(PQgetvalue(res, 0, 2));
    r->users = atoi(PQgetvalue(res, 0, 3));
    int missing = wa_perms_missing(r->perms, call->who.perms);
    int rc = 0;
    if (missing >= 0)
        rc = wa_problem(call, MHD_HTTP_FORBIDDEN, "role %s grants the permission %s, which you "
                        "do not hold: only an administrator who does may change it",
                        PQgetvalue(res, 0, 0), wa_perm_name((wa_perm_t) missing));
    PQclear(res);
    return rc;
}

/* The permissions asked for, checked against the caller's. */
static int s_perms(wa_call_t *call, const json_t *names, uint64_t *bits)
{
    *bits = wa_perms_of_json(names);
    int missing = wa_perms_missing(*bits, call->who.perms);
    if (missing >= 0)
        return wa_problem(call, MHD_HTTP_FORBIDDEN, "\"permissions\": %s is not yours to "
                          "give: you may tick only permissions you hold",
                          wa_perm_name((wa_perm_t) missing));
    return 0;
}

static json_t *s_json(wa_call_t *call, const char *id)
{
    return wa_store_json(call, s_by_id_sql, id);
}

/* Writes the role's permissions (replacing them). */
static int s_set_perms(wa_call_t *call, const char *id, uint64_t bits)
{
    char array[S_ARRAY_SIZE];
    wa_perms_array(bits, array, sizeof array);
    const char *params[] = { id, array };
    if (wa_store_exec(call, NULL, "DELETE FROM role_permission WHERE role_id = $1", 1,
                      params) != 0)
        return -1;
    return wa_store_exec(call, NULL,
                         "INSERT INTO role_permission (role_id, permission)"
                         " SELECT $1, unnest($2::text[])", 2, params);
}

/* Audits with before and after, commits, answers `status`. */
static void s_finish(wa_call_t *call, const char *action, const s_role_t *r, json_t *before,
                     unsigned status)
{
    wa_store_finish(call, action, "role", r->id, r->node_id, before, s_by_id_sql, status);
}

void wa_roles_list(wa_call_t *call)
{
    wa_store_list(call, "roles", NULL,
                  "SELECT r.id, " S_ROLE_JSON "::text FROM role r"
                  " JOIN org_node n ON n.id = r.node_id"
                  " WHERE n.path <@ $1::ltree AND ($2::bigint IS NULL OR r.id > $2)"
                  " ORDER BY r.id LIMIT $3");
}

void wa_roles_get(wa_call_t *call)
{
    wa_store_get(call, s_by_id_sql);
}

void wa_roles_create(wa_call_t *call)
{
    json_t *body = wa_decode(call, &s_create_spec);
    if (!body)
        return;
    const char *node = json_string_value(json_object_get(body, "node"));
    const char *description = json_string_value(json_object_get(body, "description"));
    s_role_t r = { 0 };
    uint64_t bits;
    if (wa_store_node(call, "node", node ? node : call->who.node_path, &r.node_id) == 0
        && s_perms(call, json_object_get(body, "permissions"), &bits) == 0) {
        char node_text[24];
        snprintf(node_text, sizeof node_text, "%" PRId64, r.node_id);
        const char *params[] = { node_text, json_string_value(json_object_get(body, "name")),
                                 description ? description : "" };
        if (wa_store_insert(call, s_conflict,
                            "INSERT INTO role (node_id, name, description)"
                            " VALUES ($1, $2, $3) RETURNING id", 3, params, &r.id) == 0) {
            snprintf(r.id_text, sizeof r.id_text, "%" PRId64, r.id);
            if (s_set_perms(call, r.id_text, bits) == 0)
                wa_store_created(call, "roles", "role.create", "role", r.id, r.node_id,
                                 s_by_id_sql);
            else
                wa_store_rollback(call);
        }
    }
    json_decref(body);
}

void wa_roles_update(wa_call_t *call)
{
    s_role_t r = { 0 };
    if (s_target(call, &r) != 0)
        return;
    json_t *body = wa_decode_update(call, &s_create_spec);
    if (!body)
        return;
    json_t *perms = json_object_get(body, "permissions");
    uint64_t bits = r.perms;
    if (!perms || s_perms(call, perms, &bits) == 0) {
        json_t *before = s_json(call, r.id_text);
        const char *params[] = { r.id_text, json_string_value(json_object_get(body, "name")),
                                 json_string_value(json_object_get(body, "description")) };
        if (wa_store_begin(call) == 0
            && wa_store_exec(call, s_conflict,
                             "UPDATE role SET name = coalesce($2, name),"
                             " description = coalesce($3, description) WHERE id = $1",
                             3, params) == 0
            && (!perms || s_set_perms(call, r.id_text, bits) == 0))
            s_finish(call, "role.update", &r, before, MHD_HTTP_OK);
        else
            wa_store_rollback(call);
        json_decref(before);
    }
    json_decref(body);
}

void wa_roles_delete(wa_call_t *call)
{
    s_role_t r = { 0 };
    if (s_target(call, &r) != 0)
        return;
    if (r.users > 0) {
        wa_problem(call, MHD_HTTP_CONFLICT, "%d user%s hold%s this role: take it from them "
                   "first", r.users, r.users == 1 ? "" : "s", r.users == 1 ? "s" : "");
        return;
    }
    json_t *before = s_json(call, r.id_text);
    const char *params[] = { r.id_text };
    if (wa_store_begin(call) == 0
        && wa_store_exec(call, NULL, "DELETE FROM role WHERE id = $1", 1, params) == 0)
        s_finish(call, "role.delete", &r, before, MHD_HTTP_NO_CONTENT);
    else
        wa_store_rollback(call);
    json_decref(before);
}

void wa_roles_permissions(wa_call_t *call)
{
    if (wa_no_args(call) != 0)
        return;
    json_t *body = json_pack("{s:o}", "permissions", wa_perms_json(WA_PERMS_ALL));
    wa_reply_jansson(call, MHD_HTTP_OK, &body);
}
