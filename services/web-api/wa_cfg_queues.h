/*  wa_cfg_queues: queues (ticket number sequences: prefix, target wait,
 *  highest number) and services (business types, each drawing its tickets
 *  from a queue defined at its node or above, with its standard handling
 *  time) defined in the caller's subtree (manage_queues).
 *
 *  Routes: GET/POST /api/v1/queues, GET/PATCH /api/v1/queues/{id},
 *  GET/POST /api/v1/services, GET/PATCH /api/v1/services/{id};
 *  GET /api/v1/branches/{branch}/services (the services a branch's kiosk
 *  and tellers offer: issue_tickets, operate_windows or view_live_hall).
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
/* The active services usable at a branch (defined at it or above), by id. */
void wa_cfg_services_of_branch(wa_call_t *call);

#endif
