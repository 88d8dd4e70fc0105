/*  wa_cfg_hours: the opening hours of an organisation node (schema 33,
 *  common/hours.h), each part with the value in force and where it comes
 *  from, as the node settings are.
 *
 *  GET   /nodes/{id}/opening-hours   manage_queues
 *  PATCH /nodes/{id}/opening-hours   manage_queues
 *
 *  A PATCH names at least one of `week` (the node's own week, null: inherit
 *  it), `issue_cutoff_min` (null: inherit) and `dates` (the node's own
 *  special dates, replaced whole). It is audited ("opening_hours.update")
 *  and told to the services (queue-manager reads the hours again at the
 *  branches' registry snapshots).
 */
#ifndef EQMS_WA_CFG_HOURS_H
#define EQMS_WA_CFG_HOURS_H

#include "wa.h"

void wa_cfg_hours_get(wa_call_t *call);
void wa_cfg_hours_update(wa_call_t *call);

/* The issuing state now of hours in force `in_force` (opening_hours_in_force's
 * JSON text) in `time_zone`: a new object {"state", "until", "closes_at",
 * "resumes_at"} (times RFC 3339 or null), or NULL when they cannot be read
 * (logged). */
json_t *wa_cfg_hours_issuing(const char *in_force, const char *time_zone);

#endif
