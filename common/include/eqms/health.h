/*  health: a service's small HTTP port (libmicrohttpd, own thread).
 *
 *  GET /health  -> 200 {"status":"ok","service":...} or 503 with the reason
 *                  given by the service's check function
 *  GET /metrics -> 200 Prometheus text from the service's metrics_t
 *  anything else -> 404; methods other than GET/HEAD -> 405
 */
#ifndef EQMS_HEALTH_H
#define EQMS_HEALTH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/metrics.h"

typedef struct health_t health_t;

/* Returns 0 when healthy; otherwise writes a short reason and returns -1.
 * Called from the HTTP thread: it must only read thread-safe state. */
typedef int (health_check_fn)(void *ctx, char *reason, size_t size);

/* Listens on `address`:`port` (address "0.0.0.0" or "127.0.0.1"; port 0 =
 * no HTTP port at all, which returns a valid, inert health_t). `metrics` and
 * `ctx` are borrowed and must outlive the server; NULL metrics makes
 * /metrics 404, a NULL check means always healthy. NULL if it cannot listen. */
health_t *health_new(const char *service, const char *address, int port,
                     metrics_t *metrics, health_check_fn *check, void *ctx);
void health_destroy(health_t **self_p);

/* The liveness most services report: their loop thread beats (at least every
 * few seconds) and the database answered last time. Written by the loop,
 * read by the HTTP thread; lock-free. */
typedef struct {
    _Atomic int64_t beat_ms;       /* monotonic ms of the loop's last pass */
    _Atomic int db_ok;             /* 1 while the database answers */
} health_liveness_t;

#define HEALTH_STALL_MS 5000       /* a loop silent this long is unhealthy */

/* Starts healthy, beating now. */
void health_liveness_init(health_liveness_t *self);
void health_liveness_beat(health_liveness_t *self);
void health_liveness_db(health_liveness_t *self, bool ok);

/* A health_check_fn for a health_liveness_t passed as ctx: unhealthy with
 * "loop stalled" or "database unavailable". */
int health_liveness_check(void *ctx, char *reason, size_t size);

#endif
