/*  forwarder: the site's XSUB/XPUB forwarder, run in its own thread.
 *
 *  Publishers connect to the XSUB side, subscribers to the XPUB side.
 *  Messages flow XSUB -> XPUB frame by frame (multipart kept intact) and
 *  subscriptions flow XPUB -> XSUB, so publishers filter at the source.
 *  The loop drains each side in batches and keeps its counters in locals,
 *  flushing them to the metrics once per batch:
 *    eqms_<svc>_forwarded_messages_total, _forwarded_bytes_total,
 *    _subscriptions_total, _unsubscriptions_total
 *  A subscriber whose queue in the forwarder is full loses messages (PUB
 *  semantics, architecture.md; libzmq sees a reader's progress in steps of
 *  HWM/2, so "full" can come at HWM/2 really queued): the bus is for
 *  latency, not for truth.
 */
#ifndef EQMS_FORWARDER_H
#define EQMS_FORWARDER_H

#include <stddef.h>
#include <stdint.h>

#include "eqms/metrics.h"

typedef struct forwarder_t forwarder_t;

typedef struct {
    const char *xsub_bind;  /* endpoint to bind, e.g. tcp://0.0.0.0:5550; a
                               port of '*' lets the system choose one */
    const char *xpub_bind;  /* e.g. tcp://0.0.0.0:5551 */
    int hwm;                /* ZMQ_SNDHWM/RCVHWM of both sides, messages; 0 = none */
    int io_threads;         /* libzmq I/O threads; 0 = 1 */
} forwarder_config_t;

/* Binds both sides and starts the forwarding thread. Registers its counters
 * in `metrics` (borrowed, must outlive the forwarder; NULL = no metrics).
 * Returns NULL (reason logged) if an endpoint cannot be bound, the metrics
 * names are already taken, or the thread cannot start. */
forwarder_t *forwarder_new(const forwarder_config_t *cfg, metrics_t *metrics);

/* Stops the thread, closes the sockets and frees. Accepts NULL. */
void forwarder_destroy(forwarder_t **self_p);

/* The endpoints actually bound (with the port chosen for a '*' port). */
const char *forwarder_xsub_endpoint(const forwarder_t *self);
const char *forwarder_xpub_endpoint(const forwarder_t *self);

/* Milliseconds since the loop thread last showed it was alive (it does at
 * least once a second, even when idle); -1 once the loop has ended. */
int64_t forwarder_heartbeat_age_ms(const forwarder_t *self);

/* A health_check_fn (health.h) for a forwarder_t passed as ctx: healthy
 * while the loop has beaten within the last 5 s. Thread-safe. */
int forwarder_health_check(void *ctx, char *reason, size_t size);

#endif
