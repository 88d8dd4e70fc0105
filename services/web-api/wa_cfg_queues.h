/*  wa_cfg_queues: queues (ticket number sequences: prefix, target wait,
 *  highest number) and services (business types, each drawing its tickets
 *  from a queue defined at its node or above, with its standard handling
 *  time and the documents a customer brings) defined in the caller's
 *  subtree (manage_queues).
 *
 *  Routes: GET/POST /api/v1/queues, GET/PATCH /api/v1/queues/{id},
 *  GET/POST /api/v1/services, GET/PATCH /api/v1/services/{id}.
 */
#ifndef EQMS_WA_CFG_QUEUES_H
#define EQMS_WA_CFG_QUEUES_H

#include "wa.h"

void wa_cfg_queues_list(wa_call_t *call);
void wa_cfg_queues_get(wa_call_t *call);
void wa_cfg_queues_create(wa_call_t *call);
void wa_cfg_queues_update(wa_call_t *call);
void wa_cfg_services_list(wa_call_t *call);
void wa_cfg_services_get(wa_call_t *call);
void wa_cfg_services_create(wa_call_t *call);
void wa_cfg_services_update(wa_call_t *call);

/* A service as JSON, in SQL: s its row, n its node's. */
#define WA_SERVICE_JSON \
    "json_build_object('id', s.id, 'node', n.path::text, 'code', s.code, 'name', s.name," \
    " 'queue', s.queue_id, 'prefix', (SELECT prefix FROM queue WHERE id = s.queue_id)," \
    " 'standard_s', s.standard_s, 'active', s.active, 'documents', to_json(s.documents)," \
    " 'created_at', " WA_TS("s.created_at") ")"

#endif
