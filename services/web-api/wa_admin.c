/*  wa_admin: the first administrator (wa_admin.h). */
#include "wa_admin.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/envelope.h"
#include "eqms/password.h"
#include "wa_auth.h"

int wa_admin_create(pgstore_t *pg, const char *login, const char *node_path,
                    const char *password, char *reason, size_t size)
{
    char rules[PASSWORD_REASON_SIZE], hash[PASSWORD_HASH_SIZE], perms[512];
    if (password_check_rules(password, login, rules) != 0) {
        snprintf(reason, size, "EQMS_ADMIN_PASSWORD %s", rules);
        return -1;
    }
    if (password_hash(password, hash) != 0) {
        snprintf(reason, size, "the password could not be hashed");
        return -1;
    }
    if (!envelope_org_path_valid(node_path, strlen(node_path))) {
        snprintf(reason, size, "%s is not an organisation path such as hq.r01", node_path);
        return -1;
    }
    wa_perms_array(WA_PERMS_ALL, perms, sizeof perms);
    const char *params[] = { login, node_path, hash, perms };
    if (pgstore_begin(pg) != 0) {
        snprintf(reason, size, "database unavailable");
        return -1;
    }
    PGresult *res = pgstore_query(pg, "SELECT id FROM org_node WHERE path = $2::text::ltree"
                                      " UNION ALL SELECT NULL FROM app_user WHERE login = $1",
                                  2, params);
    int rows = res ? PQntuples(res) : -1;
    bool node = rows >= 1 && !PQgetisnull(res, 0, 0), exists = rows == 2 || (rows == 1 && !node);
    if (res)
        PQclear(res);
    if (rows < 0 || !node || exists) {
        pgstore_rollback(pg);
        snprintf(reason, size, rows < 0 ? "database unavailable" : "no organisation node %s",
                 node_path);
        return rows >= 0 && node && exists ? 0 : -1;
    }
    /* each step takes $1..$4 = login, node path, hash, permissions (those it names) */
    static const struct {
        const char *sql;
        int nparams;
    } steps[] = {
        { "INSERT INTO role (node_id, name, description)"
        " SELECT id, 'administrator', 'Every permission, for the subtree of its node'"
        " FROM org_node WHERE path = $2::text::ltree"
        " AND $1::text IS NOT NULL ON CONFLICT (node_id, name) DO NOTHING", 2 },
        { "INSERT INTO role_permission (role_id, permission)"
        " SELECT r.id, unnest($4::text[]) FROM role r JOIN org_node n ON n.id = r.node_id"
        " WHERE n.path = $2::text::ltree AND r.name = 'administrator' AND $1::text IS NOT NULL"
        " AND $3::text IS NOT NULL ON CONFLICT DO NOTHING", 4 },
        { "INSERT INTO app_user (login, display_name, password_hash, node_id)"
        " SELECT $1, 'Administrator', $3, id FROM org_node WHERE path = $2::text::ltree", 3 },
        { "INSERT INTO user_role (user_id, role_id)"
        " SELECT u.id, r.id FROM app_user u, role r JOIN org_node n ON n.id = r.node_id"
        " WHERE u.login = $1 AND n.path = $2::text::ltree AND r.name = 'administrator'", 2 },
        { "INSERT INTO audit_log (actor, action, object_type, object_id, node_id, detail)"
        " SELECT 'system', 'user.create', 'user', u.id::text, u.node_id,"
        "  jsonb_build_object('after', jsonb_build_object('login', $1::text, 'node', $2::text,"
        "   'roles', jsonb_build_array('administrator')), 'by', 'eqms-web-api --create-admin')"
        " FROM app_user u WHERE u.login = $1", 2 },
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (pgstore_exec(pg, steps[i].sql, steps[i].nparams, params) != 0) {
            pgstore_rollback(pg);
            snprintf(reason, size, "the database refused it (is \"%s\" a valid login?)",
                     login);
            return -1;
        }
    if (pgstore_commit(pg) != 0) {
        snprintf(reason, size, "database unavailable");
        return -1;
    }
    return 1;
}
