/*  wa_audit: reading the audit log (wa_audit.h). */
#include "wa_audit.h"

#include "wa_store.h"

void wa_audit_list(wa_call_t *call)
{
    static const char *const filters[] = { "action", "object_type", "object_id", NULL };
    wa_store_list(call, "audit", filters,
                  "SELECT a.id, json_build_object('id', a.id, 'at', " WA_TS("a.at") ","
                  " 'actor', json_build_object('kind', CASE WHEN a.actor_user_id IS NOT NULL"
                  "   THEN 'user' WHEN a.actor_token_id IS NOT NULL THEN 'api_token'"
                  "   ELSE 'system' END,"
                  "   'id', coalesce(a.actor_user_id, a.actor_token_id), 'name', a.actor),"
                  " 'address', host(a.address), 'action', a.action,"
                  " 'object_type', a.object_type, 'object_id', a.object_id,"
                  " 'node', n.path::text, 'detail', a.detail)::text"
                  " FROM audit_log a LEFT JOIN org_node n ON n.id = a.node_id"
                  " WHERE (n.path <@ $1::ltree OR (a.node_id IS NULL AND nlevel($1::ltree) = 1))"
                  "   AND ($2::bigint IS NULL OR a.id < $2)"
                  "   AND ($4::text IS NULL OR a.action = $4)"
                  "   AND ($5::text IS NULL OR a.object_type = $5)"
                  "   AND ($6::text IS NULL OR a.object_id = $6)"
                  " ORDER BY a.id DESC LIMIT $3");
}
