/*  wa_live: the live streams (Server-Sent Events) of the halls, fed by the
 *  bus events the services already publish (docs/protocol.md).
 *
 *  Bus side (webapi_server's thread): wa_live_bus turns one bus message of
 *  a topic in WA_LIVE_TOPICS into an event of the hub, published on the
 *  channel of its branch (the branch's org path) and on the channel of
 *  every node above it ("hq.r01", "hq"), so that a subtree stream follows
 *  one channel whatever the number of branches below it. After a ticket
 *  event that may change the queues it also publishes a `queues` event with
 *  the branch's absolute counts from queue-manager's Redis mirror, so that
 *  an event seen twice (between a snapshot and the stream) never counts
 *  twice. A branch's registry snapshot (web-api pushes one after every
 *  change of its configuration) becomes a `config` event that names the
 *  branch and nothing else (the snapshot lists the staff). queue-manager writes that mirror just after it publishes the
 *  events, so the counts are read 50 ms after the event (once for a burst
 *  of events of one branch; wa_live_tick).
 *
 *  HTTP side (handlers, view_live_hall):
 *    GET /live/branches/{branch}   the stream of one branch (404 outside)
 *    GET /live?node=<path>         the stream of a subtree (default: the
 *                                  caller's node; 404 outside)
 *  Both resume after Last-Event-ID (sse.h). A stream ends, told to reload,
 *  within EQMS_WEBAPI_LIVE_CHECK_S of its credential being revoked. The snapshot a client starts
 *  from is GET /branches/{branch}/state, whose `live_event_id` is the
 *  hub's last id taken before queue-manager was asked: every event after
 *  the snapshot has a larger id (some before it may come again).
 *
 *  The stream is only the changes: nothing here keeps state, and a client
 *  told to reload reads the snapshot again.
 */
#ifndef EQMS_WA_LIVE_H
#define EQMS_WA_LIVE_H

#include "eqms/envelope.h"
#include "eqms/pgstore.h"
#include "eqms/sse.h"
#include "wa.h"

typedef struct wa_live_t wa_live_t;

/* Bus prefixes the live streams are fed from (NULL-terminated). */
extern const char *const wa_live_topics[];

/* The bus side, publishing into `hub` (borrowed; it must outlive this),
 * reading queue counts and sessions from Redis at `redis_url` ("" = none:
 * no `queues` events, login sessions of streams never checked), checking
 * the credentials of the open streams every `check_ms` (sessions as
 * `session` (copied) says) and forgetting in `snap` (borrowed; NULL: none)
 * the kept state of every branch a live event comes for. NULL when memory
 * ran out or the URL is malformed. */
wa_live_t *wa_live_new(sse_hub_t *hub, const char *redis_url,
                       const session_config_t *session, int check_ms, wa_snap_t *snap);
void wa_live_destroy(wa_live_t **self_p);

/* Publishes what the bus message (`topic`, `envelope`, both borrowed) means
 * for the live streams. Returns the number of events published (0: not a
 * live topic, or malformed: logged). Runs on one thread. */
int wa_live_bus(wa_live_t *self, const char *topic, const envelope_t *envelope);

/* Publishes the `queues` events that are due and, every second, the alert
 * steps committed since the last look (read from alert_event through `pg`,
 * borrowed; NULL: none), as `alert.<step>` (opened, acknowledged,
 * resolved, reminded, escalated): sms-notifier does not publish them.
 * Every 5 s it publishes today's figures of the followed channels that
 * changed (wa_livefig). Every check_ms it ends the streams whose credential
 * no longer holds (a
 * login session logged out, revoked, expired; an API token revoked or
 * expired: sse_check_owners). An open stream counts as a use of its login
 * session, which it keeps alive up to the session's absolute end.
 * Returns the milliseconds until the next is due, -1 when none waits. Same
 * thread as wa_live_bus. */
int wa_live_tick(wa_live_t *self, pgstore_t *pg);

/* The route handlers (call->config->live is the hub; without one: 503). */
void wa_live_branch(wa_call_t *call);
void wa_live_node(wa_call_t *call);

#endif
