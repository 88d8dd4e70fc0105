/*  wa_cfg_nodes: the organisation tree (wa_cfg_nodes.h). */
#include "wa_cfg_nodes.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa_cfg.h"
#include "wa_store.h"

static const char *const s_kinds[] = { "head_office", "region", "branch", "area",
                                       "department", NULL };

static const jsonreq_member_t s_create_members[] = {
    { "parent", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 255 },
    { "code", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 32 },
    { "name", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
    { "kind", JSONREQ_STRING, JSONREQ_REQUIRED, .one_of = s_kinds },
    { "time_zone", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_LINE, .min = 1, .max = 64 },
};
static const jsonreq_object_t s_create_spec = JSONREQ_OBJECT_OF(s_create_members);

/* What the database refuses, and the member that said it. */
static const wa_cfg_rule_t s_rules[] = {
    { "org_node_code_unique_among_siblings", "code", 0 },
    { "org_node_code_not_window_code", "code", 0 },
    { "org_node_code_format", "code", 0 },
    { "org_node_name_present", "name", 0 },
    { "org_node_kind_valid", "kind", 0 },
    { "service_window_node_is_branch", "kind", 0 },
    { "org_node_time_zone_valid", "time_zone", 0 },
    { "org_node_no_cycle", "parent", 0 },
    { "queue_prefix_unique_in_line", "parent", 0 },
    { "service_queue_in_scope", "parent", 0 },
    { "node_settings_scale_in_scope", "parent", 0 },
    { NULL, NULL, 0 },
};

#define S_NODE_JSON \
    "json_build_object('id', n.id, 'code', n.code, 'name', n.name, 'kind', n.kind," \
    " 'path', n.path::text," \
    " 'parent', (SELECT p.path::text FROM org_node p WHERE p.id = n.parent_id)," \
    " 'time_zone', n.time_zone, 'created_at', " WA_TS("n.created_at") ")"

static const char s_by_id_sql[] =
    "SELECT " S_NODE_JSON "::text FROM org_node n"
    " WHERE n.id = $1 AND n.path <@ $2::ltree";

void wa_cfg_nodes_list(wa_call_t *call)
{
    static const char *const more[] = { "under", NULL };
    wa_store_list(call, "nodes", more,
                  "SELECT n.id, " S_NODE_JSON "::text FROM org_node n"
                  " WHERE n.path <@ $1::ltree AND ($2::bigint IS NULL OR n.id > $2)"
                  "   AND ($4::text IS NULL OR n.path::text = $4"
                  "        OR n.path::text LIKE $4 || '.%')"
                  " ORDER BY n.id LIMIT $3");
}

void wa_cfg_nodes_get(wa_call_t *call)
{
    wa_store_get(call, s_by_id_sql);
}

/* The subtree nested: each node with its "children", in path order. */
void wa_cfg_nodes_tree(wa_call_t *call)
{
    if (wa_no_args(call) != 0)
        return;
    const char *params[] = { call->who.node_path };
    PGresult *res = pgstore_query(call->pg,
                                  "SELECT n.id, n.parent_id, " S_NODE_JSON "::text"
                                  " FROM org_node n WHERE n.path <@ $1::ltree ORDER BY n.path",
                                  1, params);
    if (!res) {
        wa_unavailable(call, "database");
        return;
    }
    json_t *by_id = json_object(), *root = NULL;
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *node = json_loads(PQgetvalue(res, i, 2), 0, NULL);
        if (!node)
            continue;
        json_object_set_new(node, "children", json_array());
        json_t *parent = json_object_get(by_id, PQgetvalue(res, i, 1));
        if (parent)
            json_array_append(json_object_get(parent, "children"), node);
        else if (!root)
            root = json_incref(node);
        json_object_set_new(by_id, PQgetvalue(res, i, 0), node);
    }
    PQclear(res);
    json_decref(by_id);
    if (!root)
        wa_unavailable(call, "database");
    else
        wa_reply_jansson(call, MHD_HTTP_OK, &root);
}

void wa_cfg_nodes_create(wa_call_t *call)
{
    static const char *const fields[] = { "code", "name", "kind", "time_zone", NULL };
    static const wa_cfg_create_t how = {
        .node_member = "parent", .fields = fields, .rules = s_rules,
        .insert_sql = "INSERT INTO org_node (parent_id, code, name, kind, time_zone)"
                      " VALUES ($1, $2, $3, $4, coalesce($5, (SELECT time_zone"
                      "         FROM org_node WHERE id = $1))) RETURNING id",
        .collection = "nodes", .action = "node.create", .object_type = "node",
        .by_id_sql = s_by_id_sql };
    wa_cfg_create(call, &s_create_spec, &how);
}

void wa_cfg_nodes_update(wa_call_t *call)
{
    wa_cfg_update_t u;
    if (wa_cfg_update_begin(call, s_by_id_sql, &s_create_spec, &u) != 0) {
        wa_cfg_update_end(&u);
        return;
    }
    const char *parent = wa_cfg_str(u.body, "parent");
    const char *code = wa_cfg_str(u.body, "code");
    const char *path = wa_cfg_str(u.before, "path");
    int64_t parent_id = 0;
    char parent_text[24] = "";
    int rc = 0;
    if ((parent || code) && strcmp(path, call->who.node_path) == 0)
        rc = wa_problem(call, MHD_HTTP_FORBIDDEN, "%s is the root of your own subtree: only "
                        "an administrator above it may move or recode it", path);
    else if (parent && wa_cfg_node(call, "parent", parent, &parent_id, NULL) != 0)
        rc = -1;
    if (rc == 0) {
        if (parent)
            snprintf(parent_text, sizeof parent_text, "%" PRId64, parent_id);
        const char *params[] = { u.id_text, parent ? parent_text : NULL, code,
                                 wa_cfg_str(u.body, "name"), wa_cfg_str(u.body, "kind"),
                                 wa_cfg_str(u.body, "time_zone") };
        wa_cfg_update_finish(call, &u, s_rules,
                             "UPDATE org_node SET parent_id = coalesce($2, parent_id),"
                             " code = coalesce($3, code), name = coalesce($4, name),"
                             " kind = coalesce($5, kind),"
                             " time_zone = coalesce($6, time_zone) WHERE id = $1",
                             6, params, "node.update", "node", u.id, s_by_id_sql);
    }
    wa_cfg_update_end(&u);
}
