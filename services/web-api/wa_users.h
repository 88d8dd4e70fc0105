/*  wa_users: the user list of an administrator's subtree (manage_users):
 *  list, create, read, update (display name, node, roles), disable and
 *  enable, delete (disabled and marked deleted, never erased) and the
 *  password reset that forces a change at the next login.
 *
 *  Delegated administration: the user's node must be inside the
 *  administrator's subtree, every role given must be visible to them (its
 *  node in their subtree) and grant only permissions they hold, and a user
 *  who holds a permission the administrator lacks cannot be changed by
 *  them (403 with the reason). An administrator cannot disable or delete
 *  themself.
 */
#ifndef EQMS_WA_USERS_H
#define EQMS_WA_USERS_H

#include "wa.h"

/* A user as the API shows it, for "FROM app_user u JOIN org_node n ON
 * n.id = u.node_id" (json). */
#define WA_USER_JSON \
    "json_build_object('id', u.id, 'login', u.login, 'display_name', u.display_name," \
    " 'node', n.path::text, 'disabled', u.disabled," \
    " 'must_change_password', u.must_change_password," \
    " 'locked_until', CASE WHEN u.locked_until > now() THEN " WA_TS("u.locked_until") " END," \
    " 'last_login_at', " WA_TS("u.last_login_at") "," \
    " 'password_changed_at', " WA_TS("u.password_changed_at") "," \
    " 'created_at', " WA_TS("u.created_at") ", 'updated_at', " WA_TS("u.updated_at") "," \
    " 'roles', coalesce((SELECT json_agg(json_build_object('id', r.id, 'name', r.name," \
    "                    'node', rn.path::text) ORDER BY r.id)" \
    "          FROM user_role ur JOIN role r ON r.id = ur.role_id" \
    "          JOIN org_node rn ON rn.id = r.node_id WHERE ur.user_id = u.id), '[]')," \
    " 'permissions', coalesce((SELECT json_agg(p ORDER BY array_position(eqms_permissions(), p))" \
    "          FROM (SELECT DISTINCT rp.permission AS p FROM user_role ur" \
    "                JOIN role_permission rp ON rp.role_id = ur.role_id" \
    "                WHERE ur.user_id = u.id) x), '[]'))"

void wa_users_list(wa_call_t *call);
void wa_users_create(wa_call_t *call);
void wa_users_get(wa_call_t *call);
void wa_users_update(wa_call_t *call);
void wa_users_delete(wa_call_t *call);
void wa_users_disable(wa_call_t *call);
void wa_users_enable(wa_call_t *call);
void wa_users_reset_password(wa_call_t *call);

#endif
