/*  tailcursor: how far a consumer has read the streams of facts that
 *  PostgreSQL numbers without gaps, and which streams are behind.
 *
 *  A stream is, for example, one branch's ticket events (ticket_event,
 *  numbered by the branch's seq; its head in ticket_branch_head) or one
 *  gateway journal's facts (numbered by the gateway's seq; its head in
 *  gateway_cursor). A consumer never depends on the bus alone
 *  (docs/protocol.md, "Message"): the bus tells it early, the tables are the
 *  truth, and it catches up from them by reading the heads and then what
 *  lies between its position and the head of each stream behind.
 *
 *  Positions are keyed by (source, stream), both the caller's text (source
 *  at most TAILCURSOR_SOURCE_MAX bytes, e.g. "ticket_event"; stream e.g. a
 *  branch id or "<gateway>/<incarnation>"), 0 = nothing read. They move in
 *  memory as the caller takes facts in. A consumer that keeps what it
 *  derived in PostgreSQL makes the positions durable in the same
 *  transaction: it writes the changed ones (tailcursor_each_changed), then
 *  calls tailcursor_committed, or tailcursor_rollback if the transaction
 *  failed, so that it reads those facts again. A consumer that keeps
 *  nothing durable simply starts from 0 (or from the heads) at every start.
 *  A tailcursor_t is used by one thread.
 */
#ifndef EQMS_TAILCURSOR_H
#define EQMS_TAILCURSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "eqms/pgstore.h"

#define TAILCURSOR_SOURCE_MAX 31
#define TAILCURSOR_KEY_MAX 255   /* source + stream + 1 */

typedef struct tailcursor_t tailcursor_t;

/* NULL on allocation failure. */
tailcursor_t *tailcursor_new(void);
void tailcursor_destroy(tailcursor_t **self_p);

/* The position of a stream, 0 if never read. */
int64_t tailcursor_get(const tailcursor_t *self, const char *source, const char *stream);

/* Sets a position: changed = true as the caller takes facts in (written at
 * its next commit), false as loaded from a table (committed already).
 * Returns 0, or -1 if source or stream is too long or memory ran out. */
int tailcursor_set(tailcursor_t *self, const char *source, const char *stream,
                   int64_t position, bool changed);

/* The number of streams known. */
size_t tailcursor_count(const tailcursor_t *self);

typedef int (tailcursor_fn)(void *arg, const char *source, const char *stream,
                            int64_t position);

/* Calls fn for each position changed since the last commit, until fn
 * returns non-zero. Returns 0 or fn's non-zero value. */
int tailcursor_each_changed(const tailcursor_t *self, tailcursor_fn *fn, void *arg);

/* The changed positions are written: they are the committed ones now. */
void tailcursor_committed(tailcursor_t *self);

/* The commit failed: every position goes back to the committed one. */
void tailcursor_rollback(tailcursor_t *self);

/* Called for a stream whose head is above its position; returns 0 to go
 * on, 1 to stop there (e.g. a batch is full), -1 on failure. */
typedef int (tailcursor_behind_fn)(void *arg, const char *stream, int64_t position,
                                   int64_t head);

/* Runs `heads_sql` through `pg` (borrowed) with its text parameters; its
 * rows are (stream text, head bigint). Calls fn for every stream of
 * `source` whose head is above its position, in the rows' order. Returns 0
 * when every row was looked at, 1 if fn stopped, -1 if the query failed (or
 * gave other columns) or fn failed. */
int tailcursor_behind(const tailcursor_t *self, pgstore_t *pg, const char *source,
                      const char *heads_sql, int nparams, const char *const *params,
                      tailcursor_behind_fn *fn, void *arg);

/* A consumer's positions kept in its own table `table` (a trusted name: a
 * table of columns source text, stream text, position bigint, updated_at
 * timestamptz, keyed by (source, stream), as stats_cursor and sms_cursor).
 * tailcursor_load reads them all as committed; tailcursor_save writes the
 * changed ones through `pg` in the caller's open transaction (then
 * tailcursor_committed once it commits). 0 / -1. */
int tailcursor_load(tailcursor_t *self, pgstore_t *pg, const char *table);
int tailcursor_save(const tailcursor_t *self, pgstore_t *pg, const char *table);

/* The streams of rating-ingest's facts (rating, service_record,
 * staff_session): one per gateway journal, named "<gateway>/<incarnation>",
 * each read up to its committed cursor (gateway_cursor.upto), by gateway_seq. */
#define TAILCURSOR_GATEWAY "gateway"
#define TAILCURSOR_GATEWAY_HEADS_SQL \
    "SELECT gateway || '/' || incarnation::text, upto FROM gateway_cursor"

/* The streams of queue-manager's ticket events: one per branch, named by
 * the branch's id, each read up to its head (ticket_branch_head.seq) by
 * ticket_event.seq (gap-free per branch). */
#define TAILCURSOR_TICKET "ticket_event"
#define TAILCURSOR_TICKET_HEADS_SQL "SELECT branch_id::text, seq FROM ticket_branch_head"

/* Splits a gateway journal's stream name into its gateway and incarnation.
 * 0, or -1 if it is not one or a part does not fit its buffer. */
int tailcursor_gateway_split(const char *stream, char *gateway, size_t gateway_size,
                             char *incarnation, size_t incarnation_size);

#endif
