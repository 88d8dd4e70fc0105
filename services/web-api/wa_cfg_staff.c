/*  wa_cfg_staff: staff (wa_cfg_staff.h). */
#include "wa_cfg_staff.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>

#include "wa_cfg.h"
#include "wa_store.h"

static const jsonreq_member_t s_create_members[] = {
    { "employee_no", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_FIXED | JSONREQ_LINE,
      .min = 1, .max = 16 },
    { "name", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
    { "node", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 255 },
    { "phone", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_NULLABLE | JSONREQ_LINE, .min = 1,
      .max = 16 },
    { .name = "active", .type = JSONREQ_BOOLEAN },
};
static const jsonreq_object_t s_create_spec = JSONREQ_OBJECT_OF(s_create_members);

static const wa_cfg_rule_t s_rules[] = {
    { "staff_employee_no_unique", "employee_no", 0 },
    { "staff_employee_no_format", "employee_no", 0 },
    { "staff_name_present", "name", 0 },
    { "staff_phone_e164", "phone", 0 },
    { NULL, NULL, 0 },
};

#define S_STAFF_JSON \
    "json_build_object('id', s.id, 'employee_no', s.employee_no, 'name', s.name," \
    " 'node', n.path::text, 'phone', s.phone, 'active', s.active," \
    " 'created_at', " WA_TS("s.created_at") ")"

static const char s_by_id_sql[] =
    "SELECT " S_STAFF_JSON "::text FROM staff s JOIN org_node n ON n.id = s.node_id"
    " WHERE s.id = $1 AND n.path <@ $2::ltree";

void wa_cfg_staff_list(wa_call_t *call)
{
    static const char *const more[] = { "node", NULL };
    wa_store_list(call, "staff", more,
                  "SELECT s.id, " S_STAFF_JSON "::text"
                  " FROM staff s JOIN org_node n ON n.id = s.node_id"
                  " WHERE n.path <@ $1::ltree AND ($2::bigint IS NULL OR s.id > $2)"
                  "   AND ($4::text IS NULL OR n.path::text = $4)"
                  " ORDER BY s.id LIMIT $3");
}

void wa_cfg_staff_get(wa_call_t *call)
{
    wa_store_get(call, s_by_id_sql);
}

void wa_cfg_staff_create(wa_call_t *call)
{
    static const char *const fields[] = { "employee_no", "name", "phone", "active", NULL };
    static const wa_cfg_create_t how = {
        .node_member = "node", .fields = fields, .rules = s_rules,
        .insert_sql = "INSERT INTO staff (node_id, employee_no, name, phone, active)"
                      " VALUES ($1, $2, $3, $4, coalesce($5::boolean, true)) RETURNING id",
        .collection = "staff", .action = "staff.create", .object_type = "staff",
        .by_id_sql = s_by_id_sql };
    wa_cfg_create(call, &s_create_spec, &how);
}

void wa_cfg_staff_update(wa_call_t *call)
{
    wa_cfg_update_t u;
    if (wa_cfg_update_begin(call, s_by_id_sql, &s_create_spec, &u) != 0) {
        wa_cfg_update_end(&u);
        return;
    }
    const char *node = wa_cfg_str(u.body, "node");
    const char *old_node = wa_cfg_str(u.before, "node");
    int64_t node_id = 0, old_id = 0;
    if (wa_cfg_node(call, "node", node ? node : old_node, &node_id, NULL) == 0
        && wa_cfg_node(call, "node", old_node, &old_id, NULL) == 0) {
        char node_text[24], active[24];
        snprintf(node_text, sizeof node_text, "%" PRId64, node_id);
        /* phone: absent keeps it, null clears it */
        const char *params[] = { u.id_text, wa_cfg_str(u.body, "name"), node_text,
                                 wa_cfg_str(u.body, "phone"),
                                 json_object_get(u.body, "phone") ? "t" : "f",
                                 wa_cfg_text(u.body, "active", active) };
        if (wa_cfg_update_finish(call, &u, s_rules,
                                 "UPDATE staff SET name = coalesce($2, name), node_id = $3,"
                                 " phone = CASE WHEN $5::boolean THEN $4 ELSE phone END,"
                                 " active = coalesce($6::boolean, active) WHERE id = $1",
                                 6, params, "staff.update", "staff", node_id,
                                 s_by_id_sql) == 0
            && node_id != old_id)
            wa_cfg_changed_node(call, old_id);
    }
    wa_cfg_update_end(&u);
}
