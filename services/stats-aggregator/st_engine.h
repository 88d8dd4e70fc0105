/*  st_engine: facts in, cell changes out (docs/statistics.md).
 *
 *  The aggregator's core, without I/O. Each fact is placed in the cells of
 *  every node it belongs to (st_tree, as the tree was at the fact's time),
 *  for every period kind and dimension that docs/statistics.md lists:
 *
 *    ticket event  the change of its leg's contribution (st_leg) in the
 *                  cells of the leg's start: hour (all), day .. year (all,
 *                  service, class), day / month / year (hour of day); and,
 *                  once the leg ends, its final contribution in the branch's
 *                  window and teller cells, day .. year
 *    rating        at its event time: hour (all), day .. year (all, option);
 *                  the branch's window and teller cells
 *    device service  serving time split over the periods it overlaps, its
 *                  count in the period of its end: hour and day .. year
 *                  (all), the branch's window and teller cells
 *    staff session on-duty time split the same way (when it closes)
 *
 *  A fact it cannot place (an unknown window or branch, a time more than a
 *  day ahead, an event of a ticket it never saw issued) is recorded as
 *  unplaced with its reason. The caller flushes the changed cells, the
 *  changed legs and the unplaced facts in one transaction with its cursors,
 *  then calls st_engine_flushed; if that transaction fails it calls
 *  st_engine_reset and reads again from its cursors. Not thread-safe.
 */
#ifndef EQMS_ST_ENGINE_H
#define EQMS_ST_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "eqms/id.h"
#include "st_cells.h"
#include "st_config.h"
#include "st_leg.h"
#include "st_tree.h"

#define ST_REASON_SIZE 160

typedef struct {
    char id[ID_SIZE];           /* the rating's id */
    int64_t window_id;
    int64_t staff_id;
    int64_t event_ms;
    int option_code;
    int score_x10;
    bool satisfied, unsatisfied;
} st_rating_t;

/* A device service (service_record) or a staff session (staff_session). */
typedef struct {
    char id[ID_SIZE];
    int64_t window_id;
    int64_t staff_id;           /* 0 = nobody logged in (services only) */
    int64_t from_ms, to_ms;     /* started .. ended, login .. logout */
} st_interval_t;

typedef struct st_engine_t st_engine_t;

/* Loads the latest legs of a ticket the engine does not hold (from
 * stats_leg), oldest first, into legs[0..max). Returns how many (0 if the
 * ticket is unknown), or -1 if it could not be read (the fact then waits). */
typedef int (st_leg_loader_fn)(void *arg, const char *ticket_id, st_leg_t *legs, int max);

/* `tree` and `config` are borrowed (st_engine_set_config swaps the config).
 * `loader` (may be NULL) is asked for a ticket's legs only when the engine
 * neither holds the ticket nor was told its legs (st_engine_known_legs). */
st_engine_t *st_engine_new(st_tree_t *tree, const st_config_t *config,
                           st_leg_loader_fn *loader, void *loader_arg);
void st_engine_destroy(st_engine_t **self_p);
void st_engine_set_config(st_engine_t *self, const st_config_t *config);
const st_config_t *st_engine_config(const st_engine_t *self);

/* Records a fact its reader could not even decode (unknown kind...) as
 * unplaced with `reason`. 0, or -1 out of memory. */
int st_engine_unplaced(st_engine_t *self, const char *source, const char *fact,
                       const char *reason);

/* Reading legs in bulk: before placing a chunk of ticket events, the
 * caller reads from stats_leg, in one query, the legs of every ticket of
 * the chunk for which st_engine_needs_legs is true, and hands them over
 * with st_engine_known_legs (n = 0: the ticket has none). The engine then
 * asks the loader nothing for those tickets until the next flush or reset:
 * stats_leg changes only by this engine's flushes, so what it was told
 * stays true until then (a ticket it places is held in memory).
 * st_engine_known_legs returns 0, or -1 out of memory; legs beyond 64 are
 * ignored. */
bool st_engine_needs_legs(const st_engine_t *self, const char *ticket_id);
int st_engine_known_legs(st_engine_t *self, const char *ticket_id, const st_leg_t *legs,
                         int n);
size_t st_engine_loads(const st_engine_t *self);     /* loader calls, for the tests */

/* Place one fact. Return 0 when placed or recorded as unplaced, -1 when it
 * could not be handled now (out of memory, the leg loader failed): the
 * caller stops and retries from its cursor. */
int st_engine_ticket_event(st_engine_t *self, const st_event_t *ev);
int st_engine_rating(st_engine_t *self, const st_rating_t *rating);
int st_engine_service(st_engine_t *self, const st_interval_t *service);
int st_engine_session(st_engine_t *self, const st_interval_t *session);

/* What changed since the last flush. */
st_cells_t *st_engine_cells(st_engine_t *self);
typedef int (st_leg_fn)(void *arg, const st_leg_t *leg);
int st_engine_each_changed_leg(st_engine_t *self, st_leg_fn *fn, void *arg);
typedef int (st_unplaced_fn)(void *arg, const char *source, const char *fact,
                             const char *reason);
int st_engine_each_unplaced(st_engine_t *self, st_unplaced_fn *fn, void *arg);
size_t st_engine_pending(const st_engine_t *self);    /* facts since the flush */
size_t st_engine_unplaced_count(const st_engine_t *self);

/* The flush committed: forget the changes (and the legs that ended). */
void st_engine_flushed(st_engine_t *self);
/* The flush failed: forget the changes and every leg (reloaded on demand). */
void st_engine_reset(st_engine_t *self);

#endif
