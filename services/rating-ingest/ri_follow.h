/*  ri_follow: where a catch-up stands in the ticket_event streams of this
 *  worker's share: their positions (a tailcursor, source "ticket_event"),
 *  the streams that moved since (ri_ranges) and when the last catch-up that
 *  read everything began. ri_tickets follows a stream per branch (its
 *  path), ri_logins a logins journal per branch ("queue-manager/<id>").
 *
 *  A catch-up is ri_follow_moved (the heads), the caller's read of those
 *  ranges, then ri_follow_advance (the positions); a read that failed skips
 *  the advance, and the next catch-up reads the same again. Used by one
 *  thread.
 */
#ifndef EQMS_RI_FOLLOW_H
#define EQMS_RI_FOLLOW_H

#include <stdint.h>

#include "eqms/tailcursor.h"
#include "ri_ranges.h"
#include "ri_store.h"

typedef struct ri_follow_t ri_follow_t;

/* Lists through `store` the streams of the share `ltree` that are past
 * their positions in `cursor` (ri_store_ticket_branches_behind,
 * ri_store_login_branches_behind). 0 / -1. */
typedef int (ri_follow_heads_fn)(ri_store_t *store, const tailcursor_t *cursor,
                                 const char *ltree, tailcursor_behind_fn *fn, void *arg);

/* For the share `ltree` (an ltree[] literal, "{}" = everything; copied).
 * NULL on allocation failure. */
ri_follow_t *ri_follow_new(const char *ltree);
void ri_follow_destroy(ri_follow_t **self_p);

/* The positions, owned by self (to load committed ones into). */
tailcursor_t *ri_follow_cursor(ri_follow_t *self);

/* The position of `stream`, 0 if it was never read. */
int64_t ri_follow_position(const ri_follow_t *self, const char *stream);

/* Begins a catch-up (now, by the wall clock): the streams that moved, each
 * from its position to its head, listed by `heads` through `store`
 * (borrowed). The list is self's, valid until the next call. NULL if the
 * database failed. */
const ri_ranges_t *ri_follow_moved(ri_follow_t *self, ri_store_t *store,
                                   ri_follow_heads_fn *heads);

/* Ends it: the moved ranges were read in their order, each to its head,
 * until the one named `cut_stream`, read only up to `cut_seq` (a read that
 * reached its limit; the ranges after it were not reached). cut_stream
 * NULL: everything was read, and every fact committed before the catch-up
 * began is known (ri_follow_as_of). 0, or -1 if memory ran out. */
int ri_follow_advance(ri_follow_t *self, const char *cut_stream, int64_t cut_seq);

/* The wall clock (ms) when the last catch-up that read everything began.
 * 0 before the first. */
int64_t ri_follow_as_of(const ri_follow_t *self);

#endif
