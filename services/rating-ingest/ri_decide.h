/*  ri_decide: what a gateway event becomes (docs/protocol.md, "rating-ingest
 *  messages", "Consumed").
 *
 *  Keeps, per window, the tellers' sessions by event time (ri_validate.h)
 *  and the ticket last finished there, and decides each event in its
 *  gateway's sequence order (ri_journal.h): a fact (rating bound to the
 *  teller whose session covers its time, login, logout, service end, device
 *  status), only acknowledged, or rejected with a reason. Look-ups (window,
 *  staff) go through the borrowed ri_store. Used by one thread.
 */
#ifndef EQMS_RI_DECIDE_H
#define EQMS_RI_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/envelope.h"
#include "ri_store.h"

typedef struct ri_decider_t ri_decider_t;

/* Borrows `store` until destroy. `ltree` is the worker's share of the tree
 * (an ltree[] literal, "{}" = everything; copied). max_skew_s and max_age_s
 * are the clock rule (ri_validate_clock). NULL on allocation failure. */
ri_decider_t *ri_decider_new(ri_store_t *store, const char *ltree, int max_skew_s,
                             int max_age_s);
void ri_decider_destroy(ri_decider_t **self_p);

/* Loads the open sessions and each window's last finished ticket from
 * PostgreSQL (at start). 0 / -1. */
int ri_decider_load(ri_decider_t *self);

/* Catches the windows' finished tickets up from ticket_event (ri_tickets.h):
 * called periodically, and by a rating that finds no ticket while a finish
 * may have been missed on the bus. 0, or -1 if the database failed. */
int ri_decider_catch_up_tickets(ri_decider_t *self);

/* Catches the logins and logouts made at queue-manager up from
 * ticket_event (ri_logins.h): each is decided into an item of its journal
 * and applied to the window's state at once; the caller takes the items
 * into its batch with ri_decider_take_login. Nothing is read while items of
 * the last catch-up wait to be taken. Called periodically, and by a rating
 * that finds nobody logged in. Returns how many were read, or -1 if the
 * database failed. */
int ri_decider_catch_up_logins(ri_decider_t *self);

/* Copies the next decided login or logout into *item; false if none waits. */
bool ri_decider_take_login(ri_decider_t *self, ri_item_t *item);

/* Decides item->event (decoded) into item: action, staff, option, ticket,
 * window path, or a rejection with its reason; applies it to the window's
 * state. `left_window` and `live` say what changed for the live state.
 * Returns 0, or -1 if the database was needed and unavailable (nothing
 * applied: the event is to be dropped unacknowledged). */
int ri_decider_decide(ri_decider_t *self, ri_item_t *item);

/* ticket.finished from queue-manager: the ticket a rating at that window
 * that follows will rate (the early news of what ri_decider_catch_up_tickets
 * reads from the tables). A malformed one is logged and ignored. */
void ri_decider_ticket_finished(ri_decider_t *self, const envelope_t *envelope);

/* Windows with state in memory. */
size_t ri_decider_windows(const ri_decider_t *self);

#endif
