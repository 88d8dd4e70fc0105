/*  gw_relay: the outbox on the bus (docs/protocol.md, "Acknowledgement from
 *  rating-ingest" and "Replay request from rating-ingest").
 *
 *  Publishes every entry a sync made durable, re-publishes the oldest
 *  unacknowledged ones (byte for byte) 5 s after their last publication,
 *  backing off to 5 min while no ack comes, answers replay.request at once,
 *  and applies ack.ingest (compacting the journal when it is mostly
 *  acknowledged). Acks and replay requests for another gateway or another
 *  incarnation of this gateway's journal are ignored.
 *
 *  Borrows the bus and the outbox; owned by the gateway's loop thread.
 */
#ifndef EQMS_GW_RELAY_H
#define EQMS_GW_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "eqms/backoff.h"
#include "eqms/bus.h"
#include "eqms/envelope.h"
#include "eqms/metrics.h"
#include "gw_outbox.h"

typedef struct {
    bus_t *bus;                     /* borrowed */
    gw_outbox_t *outbox;            /* borrowed */
    const char *gateway_id;         /* borrowed: the src of its events */
    int replay_min_ms;
    int64_t flushed_seq;            /* entries up to here were published */
    backoff_t replay;
    metrics_counter_t *published, *replayed, *replay_requests, *acks;   /* or NULL */
    metrics_gauge_t *depth;         /* or NULL */
} gw_relay_t;

/* Starts relaying `outbox` (what it holds is durable: replayed soon, not
 * before first_replay_at, a monotonic ms). */
void gw_relay_init(gw_relay_t *self, bus_t *bus, gw_outbox_t *outbox, const char *gateway_id,
                   int replay_min_ms, int replay_max_ms, int64_t first_replay_at);

/* A sync succeeded: publishes the entries it made durable. */
void gw_relay_synced(gw_relay_t *self);

/* The outbox restarted from its journal: all it holds is durable, its
 * indexes changed; replays it at once. */
void gw_relay_reloaded(gw_relay_t *self);

/* The periodic replay, when due. */
void gw_relay_replay(gw_relay_t *self);

/* ack.ingest / replay.request for this branch (decoded strictly, rejects
 * logged). gw_relay_on_ack returns -1 if compacting the journal failed. */
int gw_relay_on_ack(gw_relay_t *self, const envelope_t *env);
void gw_relay_on_replay_request(gw_relay_t *self, const envelope_t *env);

/* Sets the outbox depth gauge. */
void gw_relay_gauge(gw_relay_t *self);

#endif
