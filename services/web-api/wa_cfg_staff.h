/*  wa_cfg_staff: the staff (tellers) whose home node is in the caller's
 *  subtree (manage_configuration): employee number (what a teller types at
 *  the device), name, home node, phone (E.164), active.
 *
 *  Routes: GET/POST /api/v1/staff, GET/PATCH /api/v1/staff/{id}.
 */
#ifndef EQMS_WA_CFG_STAFF_H
#define EQMS_WA_CFG_STAFF_H

#include "wa.h"

void wa_cfg_staff_list(wa_call_t *call);
void wa_cfg_staff_get(wa_call_t *call);
void wa_cfg_staff_create(wa_call_t *call);
void wa_cfg_staff_update(wa_call_t *call);

#endif
