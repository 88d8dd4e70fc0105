/*  wa_purge: purges of raw data (permission purge_data; docs/backup.md).
 *
 *  POST /api/v1/purges {"node": path, "older_than": "month" | "year" | "all",
 *  "confirm": the node's path typed again} asks for one (202 with the job,
 *  run by wa_jobs through the database's eqms_purge_raw), audited. It is
 *  refused with 409 unless a completed backup of the node or an ancestor
 *  holds the data to delete (taken at or after the cut; "all" deletes what
 *  the newest such backup holds: data older than its snapshot). Rollups stay;
 *  the node is marked (purge_mark) so that statistics reading raw data say
 *  where it starts. GET /api/v1/purges and /api/v1/purges/{id}: the caller's
 *  subtree's, with progress; another subtree's answers 404.
 */
#ifndef EQMS_WA_PURGE_H
#define EQMS_WA_PURGE_H

#include "wa.h"

void wa_purge_create(wa_call_t *call);
void wa_purge_list(wa_call_t *call);
void wa_purge_get(wa_call_t *call);

#endif
