/*  st_store: stats-aggregator's PostgreSQL: its own tables and its reads.
 *
 *  Reads (each one statement): the tree's versions and, against org_node,
 *  the versions that changed; the configuration (st_config); the cursors;
 *  the open sessions; one ticket's legs; the heads of every stream (each
 *  branch's last ticket event seq, each gateway journal's committed
 *  cursor); the facts of several streams' ranges at once (ticket events,
 *  with one more statement for the legs of their tickets; or gateway
 *  journals); the open sessions that have closed.
 *
 *  Writes: st_store_flush writes in ONE transaction the cell changes, the
 *  changed legs, the unplaced facts, the open-session changes and the
 *  cursors that produced them, so figures and positions never disagree
 *  (docs/statistics.md, "Idempotent"). The transaction commits without
 *  waiting for the WAL flush: everything in it is derived, and a crash loses
 *  the cells together with the cursor positions, which are read again.
 *
 *  A st_store_t is used by one thread.
 */
#ifndef EQMS_ST_STORE_H
#define EQMS_ST_STORE_H

#include <stdint.h>

#include "eqms/pgstore.h"
#include "st_config.h"
#include "eqms/tailcursor.h"
#include "st_engine.h"
#include "st_sessions.h"
#include "st_tree.h"

typedef struct st_store_t st_store_t;

/* Takes *pg_p. NULL out of memory. */
st_store_t *st_store_new(pgstore_t **pg_p);
void st_store_destroy(st_store_t **self_p);
pgstore_t *st_store_pg(st_store_t *self);

/* Loads every version of stats_node_version into `tree`. 0 / -1. */
int st_store_load_tree(st_store_t *self, st_tree_t *tree);

/* Opens a version for every node whose path, ancestors or zone in org_node
 * differ from its open version (or that has none: valid from -infinity for a
 * node never seen), closes the old one, and adds both to `tree`. Returns the
 * number of changed nodes, or -1. */
int st_store_sync_tree(st_store_t *self, st_tree_t *tree);

/* The configuration now; NULL on failure. */
st_config_t *st_store_load_config(st_store_t *self);

int st_store_load_cursors(st_store_t *self, tailcursor_t *cursors);
int st_store_load_sessions(st_store_t *self, st_sessions_t *sessions);

/* st_leg_loader_fn over stats_leg (arg: the st_store_t). */
int st_store_load_legs(void *self, const char *ticket_id, st_leg_t *legs, int max);

/* Streams. The head callbacks get each stream and its last committed seq. */
int st_store_ticket_heads(st_store_t *self, const tailcursor_t *cursors,
                          tailcursor_behind_fn *fn, void *arg);
int st_store_gateway_heads(st_store_t *self, const tailcursor_t *cursors,
                           tailcursor_behind_fn *fn, void *arg);

/* A range of one stream to read: the facts with seq in (after, upto]. */
typedef struct {
    const char *stream;         /* borrowed: a branch id, or "<gateway>/<incarnation>" */
    int64_t after, upto;
    int64_t last;               /* out: the last seq placed (after if none) */
} st_range_t;

/* Places the ticket events of the ranges' branches, each branch in seq
 * order, in one query; before placing them, tells the engine the legs of
 * their tickets in one more (st_engine_known_legs). Sets every range's
 * `last` (below upto if fewer events are stored than the head said).
 * Returns 0, or -1 (read failure, or the engine could not go on: the
 * caller then drops the whole unflushed batch, st_engine_reset). */
int st_store_ticket_events(st_store_t *self, st_range_t *ranges, int n, st_engine_t *engine);

/* Places the facts of the ranges' gateway journals in one query: ratings,
 * device services, and sessions that opened (placed at once if already
 * closed, else remembered in `sessions`). Sets every `last` to upto.
 * Returns 0, or -1 (as above). */
int st_store_gateway_facts(st_store_t *self, st_range_t *ranges, int n, st_engine_t *engine,
                           st_sessions_t *sessions);

/* Places the open sessions that have closed since. Returns how many, or -1. */
int st_store_closed_sessions(st_store_t *self, st_engine_t *engine, st_sessions_t *sessions);

/* The flush (above); `hook` (may be NULL) runs in its transaction after the
 * cells (st_stars_regrade). Returns 0, or -1 with nothing written. */
typedef int (st_flush_hook_fn)(void *arg, pgstore_t *pg);
int st_store_flush(st_store_t *self, st_engine_t *engine, tailcursor_t *cursors,
                   st_sessions_t *sessions, st_flush_hook_fn *hook, void *hook_arg);

#endif
