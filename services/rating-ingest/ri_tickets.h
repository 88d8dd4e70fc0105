/*  ri_tickets: the tickets finished at the windows of this worker's
 *  branches, caught up from queue-manager's ticket_event (docs/protocol.md,
 *  "Rating binding").
 *
 *  ticket.finished on the bus tells rating-ingest early; this is what makes
 *  the binding complete when a message was missed: each catch-up reads the
 *  heads of the branches' ticket event numbers (ticket_branch_head), and for
 *  the branches that moved, the ticket last finished at each window among
 *  the new events, in ONE query. Positions are in memory (a tailcursor):
 *  the first catch-up after a start reads each branch's last day. Used by
 *  one thread.
 */
#ifndef EQMS_RI_TICKETS_H
#define EQMS_RI_TICKETS_H

#include <stdbool.h>
#include <stdint.h>

#include "ri_follow.h"
#include "ri_store.h"

/* The positions are a ri_follow_t (ri_follow.h), whose as_of is when the
 * last successful catch-up began: every finish committed before then is
 * known. */

/* Reads what the branches' ticket events added since the last catch-up
 * through `store` (borrowed) and calls fn for the ticket last finished at
 * each window there. Returns 0, or -1 if the database failed (positions
 * unchanged: the next catch-up reads it again). */
int ri_tickets_catch_up(ri_follow_t *tickets, ri_store_t *store, ri_ticket_fn *fn, void *ctx);

/* True if branch `path` had ticket events at the last catch-up (it uses
 * queue-manager). */
bool ri_tickets_branch_known(const ri_follow_t *tickets, const char *path);

#endif
