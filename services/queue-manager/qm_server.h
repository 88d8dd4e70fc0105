/*  qm_server: queue-manager's loop, run in its own thread.
 *
 *  Holds one qm_model branch per branch under the configured org-path
 *  prefixes, rebuilt at start from PostgreSQL (qm_store: the events since
 *  each branch's latest day_start). Serves requests on a ZeroMQ ROUTER
 *  (qm_request.h, docs/protocol.md "queue-manager requests") and acts on the
 *  device keys of the branches' gateways (call, recall, pause, start, end,
 *  login, logout). Every decision is applied to the branch at once (so the
 *  next request sees it: one thread decides, two windows never get the same
 *  ticket) and its events go into the open batch, which is sent to
 *  PostgreSQL as one statement (one transaction) on a connection in
 *  pipeline mode while the next one fills (group commit; up to two batches
 *  on their way, in order), and only then are the batch's replies sent and
 *  its events published
 *  (qm_publish.h: bus events, display, announcements, device screens, the
 *  Redis mirror). A failed commit answers "unavailable" to every request
 *  not yet answered and rebuilds the branches from PostgreSQL, so the live
 *  state never runs ahead of what is stored.
 *
 *  Day end: when a branch's local date changes (its IANA zone), its live
 *  tickets are abandoned, windows closed and numbering restarts (qm_day_end).
 */
#ifndef EQMS_QM_SERVER_H
#define EQMS_QM_SERVER_H

#include "eqms/health.h"
#include "eqms/metrics.h"
#include "eqms/pgstore.h"

typedef struct qm_server_t qm_server_t;

typedef struct {
    const char *pg_conninfo;  /* for the commit connection */
    const char *endpoint;     /* ROUTER bind, e.g. tcp://0.0.0.0:9553 */
    const char *bus_pub;
    const char *bus_sub;
    const char *src;          /* producer id of its bus messages */
    const char *redis_url;    /* mirror (qm_publish.h); "" = off */
    const char *prefixes;     /* comma-separated org-path prefixes; "" = all */
    int refresh_ms;           /* how often windows added in the database are looked for */
} qm_server_config_t;

/* Takes *pg_p (look-ups and rebuilds; set to NULL, also on failure), loads
 * every branch, binds the endpoint and starts the thread; `metrics` is
 * borrowed. NULL (logged) on a bad endpoint or prefix, a branch that cannot
 * be loaded, or if the thread cannot start. */
qm_server_t *qm_server_new(pgstore_t **pg_p, const qm_server_config_t *config,
                           metrics_t *metrics);
void qm_server_destroy(qm_server_t **self_p);

/* Its loop's liveness, for health_new with health_liveness_check. */
health_liveness_t *qm_server_liveness(qm_server_t *self);

#endif
