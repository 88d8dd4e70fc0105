/*  wa_cfg_nodes: the organisation tree of the caller's subtree
 *  (manage_configuration): list it flat or nested, add a node, rename,
 *  recode, move it to another parent inside the subtree, set its time zone.
 *
 *  Routes (wa_http.c, docs/openapi.yaml): GET/POST /api/v1/nodes,
 *  GET /api/v1/nodes/tree, GET/PATCH /api/v1/nodes/{id}.
 */
#ifndef EQMS_WA_CFG_NODES_H
#define EQMS_WA_CFG_NODES_H

#include "wa.h"

void wa_cfg_nodes_list(wa_call_t *call);
void wa_cfg_nodes_tree(wa_call_t *call);
void wa_cfg_nodes_get(wa_call_t *call);
void wa_cfg_nodes_create(wa_call_t *call);
void wa_cfg_nodes_update(wa_call_t *call);

#endif
