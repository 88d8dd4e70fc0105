/*  wa_cfg_queues: queues and services (wa_cfg_queues.h). */
#include "wa_cfg_queues.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa_cfg.h"
#include "wa_store.h"

static const jsonreq_member_t s_queue_create_members[] = {
    { "node", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_FIXED | JSONREQ_LINE,
      .min = 1, .max = 255 },
    { "prefix", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 2 },
    { "name", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
    { "target_wait_s", JSONREQ_INTEGER, JSONREQ_OPTIONAL, .min = 1, .max = 86400 },
    { "number_max", JSONREQ_INTEGER, JSONREQ_OPTIONAL, .min = 1, .max = 9999 },
};
static const jsonreq_object_t s_queue_create_spec = JSONREQ_OBJECT_OF(s_queue_create_members);

/* A document a customer brings (service_documents_valid: none blank) */
static const jsonreq_member_t s_document = { .type = JSONREQ_STRING, .flags = JSONREQ_LINE,
                                             .min = 1, .max = 40 };

static const jsonreq_member_t s_service_create_members[] = {
    { "node", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_FIXED | JSONREQ_LINE,
      .min = 1, .max = 255 },
    { "code", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_FIXED | JSONREQ_LINE,
      .min = 1, .max = 32 },
    { "name", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
    { "queue", JSONREQ_INTEGER, JSONREQ_REQUIRED, .min = 1, .max = INT64_MAX },
    { "standard_s", JSONREQ_INTEGER, JSONREQ_OPTIONAL | JSONREQ_NULLABLE, .min = 60,
      .max = 86400 },
    { .name = "active", .type = JSONREQ_BOOLEAN },
    { "documents", JSONREQ_ARRAY, JSONREQ_OPTIONAL, .min = 0, .max = 12, .items = &s_document },
};
static const jsonreq_object_t s_service_create_spec =
    JSONREQ_OBJECT_OF(s_service_create_members);

static const wa_cfg_rule_t s_rules[] = {
    { "queue_prefix_unique", "prefix", 0 },
    { "queue_prefix_unique_in_line", "prefix", MHD_HTTP_CONFLICT },
    { "queue_prefix_format", "prefix", 0 },
    { "queue_name_present", "name", 0 },
    { "queue_target_wait_positive", "target_wait_s", 0 },
    { "queue_number_max_range", "number_max", 0 },
    { "service_code_unique", "code", 0 },
    { "service_code_format", "code", 0 },
    { "service_name_present", "name", 0 },
    { "service_queue_fk", "queue", 0 },
    { "service_queue_in_scope", "queue", 0 },
    { "service_standard_range", "standard_s", 0 },
    { "service_documents_valid", "documents", 0 },
    { NULL, NULL, 0 },
};

#define S_QUEUE_JSON \
    "json_build_object('id', q.id, 'node', n.path::text, 'prefix', q.prefix, 'name', q.name," \
    " 'target_wait_s', q.target_wait_s, 'number_max', q.number_max," \
    " 'created_at', " WA_TS("q.created_at") ")"

static const char s_queue_sql[] =
    "SELECT " S_QUEUE_JSON "::text FROM queue q JOIN org_node n ON n.id = q.node_id"
    " WHERE q.id = $1 AND n.path <@ $2::ltree";

static const char s_service_sql[] =
    "SELECT " WA_SERVICE_JSON "::text FROM service s JOIN org_node n ON n.id = s.node_id"
    " WHERE s.id = $1 AND n.path <@ $2::ltree";

/* --- queues ------------------------------------------------------------------------- */

void wa_cfg_queues_list(wa_call_t *call)
{
    wa_store_list(call, "queues", NULL,
                  "SELECT q.id, " S_QUEUE_JSON "::text"
                  " FROM queue q JOIN org_node n ON n.id = q.node_id"
                  " WHERE n.path <@ $1::ltree AND ($2::bigint IS NULL OR q.id > $2)"
                  " ORDER BY q.id LIMIT $3");
}

void wa_cfg_queues_get(wa_call_t *call)
{
    wa_store_get(call, s_queue_sql);
}

void wa_cfg_queues_create(wa_call_t *call)
{
    static const char *const fields[] = { "prefix", "name", "target_wait_s", "number_max",
                                          NULL };
    static const wa_cfg_create_t how = {
        .node_member = "node", .fields = fields, .rules = s_rules,
        .insert_sql = "INSERT INTO queue (node_id, prefix, name, target_wait_s, number_max)"
                      " VALUES ($1, $2, $3, coalesce($4::int, 600), coalesce($5::int, 999))"
                      " RETURNING id",
        .collection = "queues", .action = "queue.create", .object_type = "queue",
        .by_id_sql = s_queue_sql };
    wa_cfg_create(call, &s_queue_create_spec, &how);
}

void wa_cfg_queues_update(wa_call_t *call)
{
    wa_cfg_update_t u;
    int64_t node_id;
    if (wa_cfg_update_begin(call, s_queue_sql, &s_queue_create_spec, &u) == 0
        && wa_cfg_node_of(call, "queue", u.id_text, &node_id) == 0) {
        char wait[24], max[24];
        const char *params[] = { u.id_text, wa_cfg_str(u.body, "prefix"),
                                 wa_cfg_str(u.body, "name"),
                                 wa_cfg_text(u.body, "target_wait_s", wait),
                                 wa_cfg_text(u.body, "number_max", max) };
        wa_cfg_update_finish(call, &u, s_rules,
                             "UPDATE queue SET prefix = coalesce($2, prefix),"
                             " name = coalesce($3, name),"
                             " target_wait_s = coalesce($4::int, target_wait_s),"
                             " number_max = coalesce($5::int, number_max) WHERE id = $1",
                             5, params, "queue.update", "queue", node_id,
                             s_queue_sql);
    }
    wa_cfg_update_end(&u);
}

/* --- services ----------------------------------------------------------------------- */

/* The documents member (a JSON array, as text, or NULL: none) as text[]. */
#define S_DOCUMENTS(param) \
    "coalesce(ARRAY(SELECT json_array_elements_text(" param "::json)), '{}')"

void wa_cfg_services_list(wa_call_t *call)
{
    wa_store_list(call, "services", NULL,
                  "SELECT s.id, " WA_SERVICE_JSON "::text"
                  " FROM service s JOIN org_node n ON n.id = s.node_id"
                  " WHERE n.path <@ $1::ltree AND ($2::bigint IS NULL OR s.id > $2)"
                  " ORDER BY s.id LIMIT $3");
}

void wa_cfg_services_get(wa_call_t *call)
{
    wa_store_get(call, s_service_sql);
}

void wa_cfg_services_create(wa_call_t *call)
{
    static const char *const fields[] = { "code", "name", "queue", "standard_s", "active",
                                          "documents", NULL };
    static const wa_cfg_create_t how = {
        .node_member = "node", .fields = fields, .rules = s_rules,
        .insert_sql = "INSERT INTO service (node_id, code, name, queue_id, standard_s, active,"
                      " documents) VALUES ($1, $2, $3, $4, $5, coalesce($6::boolean, true),"
                      " " S_DOCUMENTS("$7") ") RETURNING id",
        .collection = "services", .action = "service.create", .object_type = "service",
        .by_id_sql = s_service_sql };
    wa_cfg_create(call, &s_service_create_spec, &how);
}

void wa_cfg_services_update(wa_call_t *call)
{
    wa_cfg_update_t u;
    int64_t node_id;
    if (wa_cfg_update_begin(call, s_service_sql, &s_service_create_spec, &u) == 0
        && wa_cfg_node_of(call, "service", u.id_text, &node_id) == 0) {
        char queue[24], standard[24], active[24];
        char *documents = wa_cfg_json_text(u.body, "documents");
        /* standard_s: absent keeps it, null clears it; documents: replaced whole */
        const char *params[] = { u.id_text, wa_cfg_str(u.body, "name"),
                                 wa_cfg_text(u.body, "queue", queue),
                                 wa_cfg_text(u.body, "standard_s", standard),
                                 json_object_get(u.body, "standard_s") ? "t" : "f",
                                 wa_cfg_text(u.body, "active", active), documents };
        wa_cfg_update_finish(call, &u, s_rules,
                             "UPDATE service SET name = coalesce($2, name),"
                             " queue_id = coalesce($3::bigint, queue_id),"
                             " standard_s = CASE WHEN $5::boolean THEN $4::int"
                             "                   ELSE standard_s END,"
                             " active = coalesce($6::boolean, active),"
                             " documents = CASE WHEN $7::json IS NULL THEN documents"
                             "             ELSE " S_DOCUMENTS("$7") " END WHERE id = $1",
                             7, params, "service.update", "service", node_id,
                             s_service_sql);
        free(documents);
    }
    wa_cfg_update_end(&u);
}
