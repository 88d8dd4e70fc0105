/*  ri_committer: rating-ingest's commit thread.
 *
 *  The bus loop (ri_server) decides events into a batch and hands the batch
 *  over; this thread commits it (ri_store_commit: one transaction with the
 *  gateway cursors), updates the live counters in Redis (ri_counters_add)
 *  and hands it back with the result, while the bus loop goes on receiving
 *  and deciding the next batch. One batch is in flight at a time, so batches
 *  commit in the order they were decided.
 *
 *  A batch that fails while the database is reachable is retried event by
 *  event and an event that still fails is rejected with a generic reason
 *  (its SQL state is logged), so a poison message never blocks the stream;
 *  a batch that fails because the database is unreachable comes back with
 *  rc -1 and is submitted again: what any attempt committed stays committed
 *  and is not written twice, and a commit that got no answer is found out by
 *  the next attempt (ri_store_commit), so every new rating of the batch is
 *  published and counted exactly once, after the attempt that succeeds.
 *
 *  The committer owns its own PostgreSQL connection (commits must not share
 *  the bus loop's look-up connection) and the counters; when no batch has
 *  come for a while it checks whether Redis was flushed and rebuilds the
 *  counters from PostgreSQL (ri_counters_rebuild), so increments and
 *  rebuilds never interleave.
 */
#ifndef EQMS_RI_COMMITTER_H
#define EQMS_RI_COMMITTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/pgstore.h"
#include "ri_counters.h"
#include "ri_store.h"

typedef struct ri_committer_t ri_committer_t;

/* A batch of decided events with the cursors it gives (owned: freed by
 * ri_batch_clear). While submitted, only the committer touches it. */
typedef struct {
    ri_item_t *items;
    ri_figures_t *figures;     /* filled after a commit, one per item */
    size_t count, cap;
    ri_cursor_t *cursors;
    size_t ncursors;
    int64_t started_ms;        /* monotonic time of the first item */
    int rc;                    /* result: 0 committed, -1 not (nothing written) */
    int64_t commit_ms;         /* how long the commit took */
} ri_batch_t;

/* Allocates a batch for `cap` items. NULL on allocation failure. */
ri_batch_t *ri_batch_new(size_t cap);
void ri_batch_destroy(ri_batch_t **self_p);

/* Frees what the items own (their raw text) and the cursors, and empties
 * the batch. */
void ri_batch_clear(ri_batch_t *self);

/* Takes *pg_p and *counters_p (both set to NULL, also on failure); borrows
 * `prefixes` (the ltree[] literal of the worker's prefixes, for rebuilds)
 * until destroy. Starts the thread. NULL on failure. */
ri_committer_t *ri_committer_new(pgstore_t **pg_p, ri_counters_t **counters_p,
                                 const char *prefixes);

/* Stops the thread after the batch in flight (its result is discarded: it
 * was not acknowledged, so the gateways replay it). */
void ri_committer_destroy(ri_committer_t **self_p);

/* Hands `batch` over. Returns 0, or -1 if a batch is still in flight. */
int ri_committer_submit(ri_committer_t *self, ri_batch_t *batch);

/* The batch handed over, once done (its rc says how), else NULL. The
 * caller owns it again. */
ri_batch_t *ri_committer_done(ri_committer_t *self);

/* Waits up to timeout_ms for the batch in flight to finish; returns at once
 * if a finished batch waits to be taken (with none in flight it just
 * waits: a pause while a failed batch waits for its retry). */
void ri_committer_wait(ri_committer_t *self, int timeout_ms);

/* True while a submitted batch has not been taken back with _done. */
bool ri_committer_busy(ri_committer_t *self);

#endif
