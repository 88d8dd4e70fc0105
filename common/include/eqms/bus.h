/*  bus: a service's connection to its site's forwarder (services/bus).
 *
 *  PUB connects to the forwarder's XSUB side, SUB to its XPUB side. ZeroMQ
 *  reconnects by itself with backoff and re-sends subscriptions, so a forwarder
 *  restart is transparent; heartbeats detect a dead peer. A message is two
 *  frames: topic "<type>.<org-path>", then the envelope.
 *
 *  The bus is for low latency, not for truth: PUB drops on overflow and a
 *  subscriber misses what was sent while it was away (architecture.md).
 *  A bus_t is used by one thread.
 */
#ifndef EQMS_BUS_H
#define EQMS_BUS_H

#include <czmq.h>
#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "eqms/envelope.h"
#include "eqms/metrics.h"

typedef struct bus_t bus_t;

typedef struct {
    uint64_t published;   /* envelopes sent */
    uint64_t received;    /* envelopes decoded and handed out */
    uint64_t rejected;    /* messages dropped as malformed (logged) */
} bus_stats_t;

/* Connects to the forwarder. Either endpoint may be NULL for a publish-only
 * or subscribe-only client. `src` is this producer's id in envelopes.
 * Returns NULL on a malformed endpoint or src. */
bus_t *bus_new(const char *pub_endpoint, const char *sub_endpoint,
               const char *src);
void bus_destroy(bus_t **self_p);

/* Subscribes to topics starting with `prefix` ("" = everything). 0 / -1. */
int bus_subscribe(bus_t *self, const char *prefix);
int bus_unsubscribe(bus_t *self, const char *prefix);

/* Publishes `data` as a new envelope of `type` on topic type.org_path, with
 * this client's next sequence number. Takes *data_p (set to NULL, also on
 * failure). If `id_out` is not NULL the envelope id is copied there.
 * Returns 0, or -1 if the type, path or data is malformed. */
int bus_publish(bus_t *self, const char *type, const char *org_path,
                json_t **data_p, char id_out[ID_SIZE]);

/* Publishes like bus_publish, but with the data written by a jsonw writer
 * that jsonw_finish closed without error (envelope_encode_jsonw): no jansson
 * objects, for hot paths. `data` stays the caller's; reset and reuse it.
 * The sequence number advances only on success; id_out as bus_publish.
 * Returns 0, or -1 (logged) if the type, path or data is malformed, the
 * envelope is too big, or sending failed. */
int bus_publish_jsonw(bus_t *self, const char *type, const char *org_path,
                      const jsonw_t *data, char id_out[ID_SIZE]);

/* Publishes an existing envelope (a replay keeps its id and seq). 0 / -1. */
int bus_publish_envelope(bus_t *self, const char *org_path,
                         const envelope_t *envelope);

/* Waits up to timeout_ms (-1 = forever) for the next well-formed message.
 * Malformed ones are logged with their reason, counted and skipped.
 * Returns 1 with *topic_p (malloc'd string) and *envelope_p (owned by the
 * caller), 0 on timeout, -1 if interrupted or not subscribed. */
int bus_recv(bus_t *self, int timeout_ms, char **topic_p,
             envelope_t **envelope_p);

/* A decoder for bus_recv_raw: reads one message, the topic (topic_len bytes)
 * and the envelope text (len bytes), neither NUL-terminated and both valid
 * only during the call: it copies what it keeps. It must check what bus_recv
 * checks (envelope_decode's rules, then envelope_topic_check). Returns 0 if
 * it took the message, or -1 with a reason if the message is malformed. */
typedef int (bus_decode_fn)(void *arg, const char *topic, size_t topic_len,
                            const void *body, size_t len,
                            char reason[ENVELOPE_REASON_SIZE]);

/* Waits like bus_recv, but hands the raw topic and envelope of each message
 * of two frames to `decode` instead of decoding them with jansson (for
 * receivers with a faster decoder). A message `decode` refuses, or one of
 * another number of frames, is logged with its reason, counted as rejected
 * and skipped, as bus_recv does. Returns 1 when `decode` took a message
 * (counted as received), 0 on timeout, -1 if interrupted or not subscribed. */
int bus_recv_raw(bus_t *self, int timeout_ms, bus_decode_fn *decode, void *arg);

/* For a consumer that catches up from the tables and uses the bus only as
 * an early wake-up (docs/protocol.md, "Message"): waits up to ms for a
 * message, in slices of at most 100 ms so that *stop (set by another
 * thread) ends the wait soon; then drains what else came. The messages are
 * dropped. Returns 1 if one came, 0 if not (ms passed or *stop was set).
 * With self NULL it only sleeps, watching *stop. */
int bus_wait_wakeup(bus_t *self, int ms, const atomic_bool *stop);

/* The SUB socket, to poll it together with other sockets. */
zsock_t *bus_sub_socket(bus_t *self);

bus_stats_t bus_stats(const bus_t *self);

/* Counts this client's traffic in the service's metrics too, from now on:
 * eqms_<svc>_bus_published_total, _bus_received_total and
 * _bus_rejected_total (messages dropped as malformed, each logged with its
 * reason). Several bus_t of one service may attach to one metrics_t: they
 * count together. NULL metrics: nothing is counted (tests). Returns 0, or -1
 * if the counters cannot be registered. */
int bus_attach_metrics(bus_t *self, metrics_t *metrics);

#endif
