/*  wa_livefig: today's figures on the live streams.
 *
 *  Every `every_ms`, for each channel some stream follows (a branch's or
 *  a node's org path: wa_live), the node's figures of its local today
 *  (stats_figures(node, today, today + 1, 'none', no percentiles), the row
 *  GET /stats/figures answers) are read and published on that channel as
 *
 *      event: figures
 *      data: {"node":"hq.r01.b0001","day":"2026-12-06","figures":{...}}
 *
 *  when they differ from what that channel was last sent (and at the first
 *  reading after a channel is followed anew). A client reads today's
 *  figures once when it starts (GET /stats/figures) and is then kept up
 *  to date without asking. One statement per followed channel per period:
 *  the cost follows the channels watched, not the branches.
 *
 *  Runs on wa_live's thread (wa_live_tick).
 */
#ifndef EQMS_WA_LIVEFIG_H
#define EQMS_WA_LIVEFIG_H

#include "eqms/pgstore.h"
#include "eqms/sse.h"

typedef struct wa_livefig_t wa_livefig_t;

/* Publishing into `hub` (borrowed). NULL when memory ran out. */
wa_livefig_t *wa_livefig_new(sse_hub_t *hub, int every_ms);
void wa_livefig_destroy(wa_livefig_t **self_p);

/* Publishes the figures that changed when their time has come, reading
 * through `pg` (borrowed). Returns the milliseconds until the next time. */
int wa_livefig_tick(wa_livefig_t *self, pgstore_t *pg);

#endif
