/*  wa_ops_names: what queue-manager's branch state names only by id, read
 *  from the configuration, so that a screen without configuration
 *  permissions can show it: each window's teller by name (`staff_name`)
 *  and its rating device with its live state (`device`: serial, status
 *  online / offline / unassigned / unknown, since), each queue's `name`
 *  (docs/openapi.yaml, BranchState).
 */
#ifndef EQMS_WA_OPS_NAMES_H
#define EQMS_WA_OPS_NAMES_H

#include <stdint.h>

#include "wa.h"

/* Adds the names to `state` (GET /branches/{branch}/state's object) of the
 * branch `branch_id` with one statement. 0, or -1 when the database
 * failed (logged; `state` may lack some, the caller answers 503). */
int wa_ops_names_add(wa_call_t *call, int64_t branch_id, json_t *state);

#endif
