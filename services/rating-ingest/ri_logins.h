/*  ri_logins: the tellers' logins and logouts that queue-manager committed
 *  elsewhere than on the window's rating device (the teller console, another
 *  window's device, the day end), caught up from its ticket_event
 *  (docs/protocol.md, "rating-ingest messages", "Logins at queue-manager").
 *
 *  A device's own login reaches rating-ingest as its gateway's staff.login;
 *  a login at the teller console exists only in queue-manager's ticket
 *  events (staff_login / staff_logout whose actor is not `device:...`). Each
 *  branch's are read as a journal of its own, "queue-manager/<branch id>",
 *  numbered by the branch's gap-free seq: they become staff sessions by the
 *  same rules as a device's, with an id derived from (branch, seq), and the
 *  journal's position is committed with them in gateway_cursor (incarnation
 *  nil), where stats-aggregator follows it as it follows a gateway's. At
 *  start the positions are read from there (a branch never read begins with
 *  its last day). Each catch-up reads the heads (ticket_branch_head) and, in
 *  ONE query, at most RI_LOGINS_MAX events of the branches that moved; a
 *  branch cut by that limit is read on from where it stopped. Used by one
 *  thread.
 */
#ifndef EQMS_RI_LOGINS_H
#define EQMS_RI_LOGINS_H

#include <stdbool.h>
#include <stdint.h>

#include "ri_follow.h"
#include "ri_store.h"

/* Events read by one catch-up at most. */
#define RI_LOGINS_MAX 256

/* The positions are a ri_follow_t (ri_follow.h), whose as_of is when the
 * last catch-up that read everything began: every login committed before
 * then is known. */

/* Reads the committed positions through `store` (borrowed). 0 / -1. */
int ri_logins_load(ri_follow_t *logins, ri_store_t *store);

/* Calls fn, in each branch's order, for the logins and logouts committed
 * since the last catch-up (at most RI_LOGINS_MAX). Returns how many, or -1
 * if the database failed (positions unchanged: read again next time). */
int ri_logins_catch_up(ri_follow_t *logins, ri_store_t *store, ri_login_fn *fn, void *ctx);

/* True if `gateway` names a logins journal (not a device gateway's). */
bool ri_logins_journal(const char *gateway);

#endif
