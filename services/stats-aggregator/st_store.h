/*  st_store: stats-aggregator's PostgreSQL: its own tables and its reads.
 *
 *  Reads (each one statement): the tree's versions and, against org_node,
 *  the versions that changed; the configuration (st_config); the cursors;
 *  the open sessions; one ticket's legs; the heads of every stream (each
 *  branch's last ticket event seq, each gateway journal's committed
 *  cursor); a stream's facts after a position; the open sessions that have
 *  closed.
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

/* Places the ticket events of branch `stream` with seq in (after, upto], at
 * most `limit` of them, in seq order. Returns the last seq placed (after if
 * none), or -1 (read failure, or the engine could not go on: the caller then
 * drops the whole unflushed batch, st_engine_reset). */
int64_t st_store_ticket_events(st_store_t *self, const char *stream, int64_t after,
                               int64_t upto, int limit, st_engine_t *engine);

/* Places the facts of gateway journal `stream` ("<gateway>/<incarnation>")
 * with seq in (after, upto]: ratings, device services, and sessions that
 * opened (placed at once if already closed, else remembered in `sessions`).
 * Returns upto, or -1. */
int64_t st_store_gateway_facts(st_store_t *self, const char *stream, int64_t after,
                               int64_t upto, st_engine_t *engine, st_sessions_t *sessions);

/* Places the open sessions that have closed since. Returns how many, or -1. */
int st_store_closed_sessions(st_store_t *self, st_engine_t *engine, st_sessions_t *sessions);

/* Makes the report snapshots of the periods that closed at least delay_s
 * ago (stats_make_reports). Returns how many, or -1. */
int st_store_make_reports(st_store_t *self, int delay_s);

/* The flush (above); `hook` (may be NULL) runs in its transaction after the
 * cells (st_stars_regrade). Returns 0, or -1 with nothing written. */
typedef int (st_flush_hook_fn)(void *arg, pgstore_t *pg);
int st_store_flush(st_store_t *self, st_engine_t *engine, tailcursor_t *cursors,
                   st_sessions_t *sessions, st_flush_hook_fn *hook, void *hook_arg);

#endif
