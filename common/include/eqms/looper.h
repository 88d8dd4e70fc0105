/*  looper: the loop thread of a consumer that catches up from the tables.
 *
 *  Every service that follows committed rows (sms-notifier's alerts and
 *  notices, its live-hall reader) runs the same loop on its own thread: a
 *  first pass at once, then wait for a bus wake-up or poll_ms (the bus only wakes early; nothing
 *  depends on it), run one pass, and after a failed pass wait a backoff
 *  that doubles from retry_min_ms to retry_max_ms before the next one. A
 *  pass that found work may ask for the next one at once.
 *
 *  The pass runs only on the looper's thread; what it touches is the
 *  owner's business. looper_stop ends the wait within 100 ms, lets a
 *  running pass finish, and joins the thread.
 */
#ifndef EQMS_LOOPER_H
#define EQMS_LOOPER_H

#include "eqms/bus.h"
#include "eqms/health.h"

typedef struct looper_t looper_t;

/* What a pass did. */
enum {
    LOOPER_FAILED = -1,         /* retry after the backoff (logged by the looper) */
    LOOPER_IDLE = 0,            /* wait for a wake-up or poll_ms */
    LOOPER_MORE = 1,            /* found work: run again at once */
};

typedef int (looper_pass_fn)(void *ctx);

typedef struct {
    const char *name;           /* in the log: event=loop_pass_failed loop=<name> retry_ms= */
    bus_t *bus;                 /* wake-ups (borrowed; used only by the thread); NULL: poll */
    int poll_ms;
    int retry_min_ms, retry_max_ms;     /* 0: 200 and 5000 */
    health_liveness_t *liveness;    /* beaten every turn, db ok/failed per pass; NULL: none */
    looper_pass_fn *pass;
    void *ctx;                  /* borrowed until looper_stop */
} looper_config_t;

/* Starts the thread. NULL on failure (logged). */
looper_t *looper_start(const looper_config_t *config);

/* Stops and joins the thread; NULL and *self_p NULL are fine. */
void looper_stop(looper_t **self_p);

#endif
