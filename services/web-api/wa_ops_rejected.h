/*  wa_ops_rejected: the gateway events rating-ingest did not turn into facts
 *  (rejected_event, owned by rating-ingest), newest first, with the reason
 *  (docs/protocol.md, "Rejections"): why a rating or a login did not count.
 *
 *  An event belongs to the branch of the gateway journal that sent it
 *  (gateway_cursor.branch); the caller sees those of the branches in their
 *  subtree. Held with view_live_hall (a branch manager asking why a rating
 *  is missing) or manage_devices (a technician).
 *
 *  Route: GET /rejected-events?branch=&from=&to=&limit=&cursor=.
 */
#ifndef EQMS_WA_OPS_REJECTED_H
#define EQMS_WA_OPS_REJECTED_H

#include "wa.h"

void wa_ops_rejected_list(wa_call_t *call);

#endif
