/*  st_stars: the star grades of windows and tellers (docs/statistics.md,
 *  "Star grades").
 *
 *  A grade is regraded from its cells in the flush transaction that changes
 *  the ratings of a window or teller (st_stars_regrade, given to
 *  st_store_flush), under the rule in force at its branch (star_rule,
 *  inherited). A change of a window's grade in the rule's current period is
 *  published only after that transaction committed (st_stars_publish):
 *  `star.grade.<window path>` and a `stars` command to the window's device
 *  on `cmd.device.<window path>`, so the five LEDs show it. A device that
 *  came online (device_status, rating-ingest's table: not the bus alone) is
 *  sent its window's current grade again (st_stars_resend). Used by one
 *  thread.
 */
#ifndef EQMS_ST_STARS_H
#define EQMS_ST_STARS_H

#include <stddef.h>

#include "eqms/bus.h"
#include "eqms/pgstore.h"

typedef struct st_stars_t st_stars_t;

/* Publishes through `pub` (borrowed; NULL: grades are kept, nothing is
 * published). NULL out of memory. */
st_stars_t *st_stars_new(bus_t *pub);
void st_stars_destroy(st_stars_t **self_p);

/* In the flush transaction, after the cells: regrades every window and
 * teller whose rating cells the flush changed and remembers the changed
 * window grades of current periods. `self` is an st_stars_t (the signature
 * of st_store_flush's hook). 0 / -1. */
int st_stars_regrade(void *self, pgstore_t *pg);

/* The flush failed: forgets what st_stars_regrade remembered. */
void st_stars_rollback(st_stars_t *self);

/* The flush committed: publishes the remembered changes and forgets them.
 * Returns how many windows' grades were published. */
size_t st_stars_publish(st_stars_t *self);

/* Sends the current grade to every device that came online since the last
 * call (all online devices at the first). Returns how many, or -1 if the
 * database failed (tried again next time). */
int st_stars_resend(st_stars_t *self, pgstore_t *pg);

#endif
