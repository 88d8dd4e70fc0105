/*  ri_server: rating-ingest's bus loop, run in its own thread.
 *
 *  Subscribes to the gateway event types (docs/protocol.md, "Device gateway
 *  messages") under the configured org-path prefixes, decides each event in
 *  its gateway journal's sequence order (ri_journal.h: what follows a gap
 *  waits for the replay, at most hold_ms) into a fact or a rejected_event
 *  (ri_decide.h: the teller bound from the sessions it keeps per window by
 *  event time), collects a batch (at most batch_max events
 *  or batch_delay_ms) and hands it to the commit thread (ri_committer.h),
 *  which commits it in one transaction with the gateway cursors while the
 *  next batch fills; only after the commit does it publish `ack.ingest.<branch>`
 *  {"gateway","incarnation","upto"} per gateway journal and `rating.stored.<window path>` per new
 *  rating (docs/protocol.md, "rating-ingest messages"), after updating
 *  today's counters in Redis (ri_counters.h) whose figures for the teller
 *  go into rating.stored.
 *
 *  Exactly once: an event at or below its gateway's committed cursor, or
 *  already in the batch, is a duplicate and only re-acknowledged; the rest is
 *  written idempotently on its envelope id (ri_store_commit: an id decided
 *  before writes nothing, whatever the other fields say).
 *  PostgreSQL down: the failed batch is kept and retried with backoff
 *  (100 ms .. 5 s); events arriving meanwhile are dropped unacknowledged
 *  (the gateways re-publish until acknowledged), so memory stays bounded by
 *  two batches and nothing acknowledged is ever lost. A batch that fails
 *  while the database is reachable is retried event by event, so a poison
 *  message never blocks the stream.
 */
#ifndef EQMS_RI_SERVER_H
#define EQMS_RI_SERVER_H

#include <stddef.h>

#include "eqms/health.h"
#include "eqms/metrics.h"
#include "eqms/pgstore.h"
#include "ri_prefixes.h"

typedef struct ri_server_t ri_server_t;

typedef struct {
    const char *pg_conninfo;  /* for the commit connection (ri_committer.h) */
    const char *bus_pub;
    const char *bus_sub;
    const char *src;          /* producer id of acks and rating.stored */
    const char *redis_url;    /* live counters (ri_counters.h); "" = off */
    const ri_prefixes_t *prefixes;  /* the worker's share (borrowed until destroy) */
    int batch_max;            /* events per commit, >= 1 */
    int batch_delay_ms;       /* longest wait before a partial batch commits */
    int max_skew_s;           /* event_time later than received by at most */
    int max_age_s;            /* event_time earlier than received by at most */
    int hold_ms;              /* events after a gap wait at most this for the replay */
    int ticket_poll_ms;       /* how often finished tickets are caught up from the tables */
} ri_server_config_t;

/* Takes *pg_p (look-ups; set to NULL, also on failure), opens a second
 * connection for commits, loads cursors and open sessions
 * (waiting for the database if needed: it retries in the loop), subscribes
 * and starts the thread; `metrics` is borrowed. NULL (logged) on a bad
 * endpoint or if the thread cannot start. */
ri_server_t *ri_server_new(pgstore_t **pg_p, const ri_server_config_t *config,
                           metrics_t *metrics);
void ri_server_destroy(ri_server_t **self_p);

/* Its loop's liveness, for health_new with health_liveness_check. */
health_liveness_t *ri_server_liveness(ri_server_t *self);

#endif
