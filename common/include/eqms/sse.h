/*  sse: Server-Sent Events on httpd, fed by a service from its own threads.
 *
 *  A hub holds named channels (one per branch path, say). sse_publish puts
 *  an event on a channel; every stream subscribed to that channel gets it,
 *  in publishing order, as
 *
 *      id: 1718000000000042
 *      event: window
 *      data: {"window":3,"state":"serving"}
 *
 *  Ids are the hub's, increasing across all its channels and never reused
 *  after a restart (they start from the wall clock in microseconds), so one
 *  Last-Event-ID means the same on every channel of a stream. Each channel
 *  keeps its last `replay` events: a client that reconnects with
 *  Last-Event-ID gets what it missed, then the live events. When that id
 *  is older than what the hub kept, or unknown (another process's, or
 *  malformed), the stream carries one
 *
 *      event: reload
 *      data: {"reason":"too_old"}
 *
 *  and ends: the client reads the full state again (its snapshot read
 *  with sse_last_id under the same lock its publishing runs under) and
 *  opens a new stream with that id as Last-Event-ID. A reload event has
 *  no id line, so a browser's automatic reconnect would only be told to
 *  reload again.
 *
 *  No publisher ever waits for a client: every stream has a bounded queue
 *  of events; a stream whose queue is full is cleared, told to reload
 *  ({"reason":"behind"}) and ended (a stuck connection is closed by
 *  httpd's idle timeout). A comment line (": heartbeat") goes to every
 *  idle stream each `heartbeat_ms`, so proxies keep the link and a dead
 *  one is noticed. Beyond `streams_max` open streams, sse_serve answers
 *  503 with Retry-After. Streams are httpd's parked connections: they
 *  hold no thread while waiting.
 *
 *  A stream opened with an owner (the credential it was allowed by) ends
 *  when sse_check_owners finds that credential revoked: a live stream
 *  never outlives the right to read it by more than the caller's period.
 *
 *  Threading: sse_publish, sse_last_id and sse_streams may be called from
 *  any thread; sse_serve from httpd handlers. The hub has one thread of its
 *  own, the heartbeat. Destroy the httpd serving the streams before the
 *  hub.
 */
#ifndef EQMS_SSE_H
#define EQMS_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "eqms/httpd.h"

#define SSE_CHANNELS_MAX 8          /* channels one stream may follow */
#define SSE_OWNER_MAX    96         /* bytes of a stream's owner, with the NUL */
#define SSE_CHANNEL_MAX  128        /* bytes of a channel's name */

typedef struct sse_hub_t sse_hub_t;

typedef struct {
    size_t replay;              /* events kept per channel for resuming; 0: 256 */
    size_t queue_max;           /* events waiting per stream before it is dropped;
                                   0: 1024 */
    unsigned streams_max;       /* open streams at most; 0: 1000 */
    unsigned heartbeat_ms;      /* a comment line to idle streams; 0: 15000 */
    unsigned retry_ms;          /* the reconnection delay browsers are told; 0: 3000 */
} sse_config_t;

/* A hub with its heartbeat thread; NULL when memory or the thread ran out. */
sse_hub_t *sse_hub_new(const sse_config_t *config);

/* Stops the heartbeat and frees every channel. The httpd that served the
 * hub's streams must have been destroyed first (no stream may be open).
 * Accepts NULL. */
void sse_hub_destroy(sse_hub_t **self_p);

/* Publishes event `event` (1..64 of A-Z a-z 0-9 _ . : -) with `data` (JSON,
 * usually one line; line breaks become data lines of their own) on
 * `channel`, created on first use. Returns the event's id; 0 when an
 * argument is invalid or memory ran out (nothing published). Never
 * blocks on a client. */
uint64_t sse_publish(sse_hub_t *self, const char *channel, const char *event,
                     const char *data);

/* The id of the last event published on any channel (the id a snapshot
 * taken now corresponds to); before the first, the hub's starting point. */
uint64_t sse_last_id(sse_hub_t *self);

/* Open streams now. */
size_t sse_streams(sse_hub_t *self);

/* Calls `fn` with the name of each channel some open stream follows now
 * (outside the hub's lock: `fn` may publish). Returns how many. */
size_t sse_followed(sse_hub_t *self, void (*fn)(void *ctx, const char *channel), void *ctx);

/* Answers `req` with a stream of `channels` (n of 1..SSE_CHANNELS_MAX,
 * names of 1..SSE_CHANNEL_MAX bytes; borrowed), resuming after the
 * request's Last-Event-ID header when it has one. `owner` (NULL: none;
 * else 1..SSE_OWNER_MAX - 1 bytes, copied) names the credential the stream
 * was opened with, for sse_check_owners. Returns 0 when the reply is the
 * stream; -1 when it is an error (503 at the limit of streams, 400 for bad
 * channel names or owner, 500 when memory ran out), as Problem Details. */
int sse_serve(sse_hub_t *self, const httpd_req_t *req, httpd_reply_t *reply,
              const char *const *channels, size_t n, const char *owner);

/* Whether the credential `owner` still holds: 1 yes, 0 no (revoked,
 * expired), -1 unknown (a store failed: the streams stay). */
typedef int (sse_alive_fn)(void *ctx, const char *owner);

/* Asks `alive` (outside the hub's lock, so it may take its time) once
 * about each owner of the open streams; every stream of an owner it
 * answers 0 for is told to reload ({"reason":"unauthorized"}: reading the
 * snapshot again then fails with the caller's 401) and ended. A stream
 * opened while this runs is asked about next time. Returns the number of
 * streams ended. Any thread; one caller at a time. */
size_t sse_check_owners(sse_hub_t *self, sse_alive_fn *alive, void *ctx);

#endif
