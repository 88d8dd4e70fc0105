/*  wa_cfg_windows: the service windows of the caller's branches, added at
 *  run time (manage_configuration), and their work profiles (manage_queues)
 *  in queue-manager's text form, checked by queue-manager's own parser
 *  (qm_rules, linked into web-api) and against the branch's services.
 *
 *  Routes: GET/POST /api/v1/windows, GET/PATCH /api/v1/windows/{id},
 *  PUT /api/v1/windows/{id}/profile.
 */
#ifndef EQMS_WA_CFG_WINDOWS_H
#define EQMS_WA_CFG_WINDOWS_H

#include "wa.h"

void wa_cfg_windows_list(wa_call_t *call);
void wa_cfg_windows_get(wa_call_t *call);
void wa_cfg_windows_create(wa_call_t *call);
void wa_cfg_windows_update(wa_call_t *call);
void wa_cfg_windows_set_profile(wa_call_t *call);

#endif
