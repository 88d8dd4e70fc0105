/*  webapi_server: web-api's bus side, run in its own thread.
 *
 *  Answers `registry.request.<branch-path>` with
 *  `registry.snapshot.<branch-path>` (docs/protocol.md), and hands the
 *  live topics (wa_live_topics) to wa_live for the live streams.
 *  Also counts _live_events_total and keeps the gauge _live_streams (of
 *  `hub`, read every loop). Counters:
 *  eqms_web_api_registry_requests_total, _registry_snapshots_total,
 *  _registry_refused_total.
 */
#ifndef EQMS_WEBAPI_SERVER_H
#define EQMS_WEBAPI_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "eqms/health.h"
#include "eqms/metrics.h"
#include "eqms/pgstore.h"
#include "wa_live.h"

typedef struct webapi_server_t webapi_server_t;

/* Takes *pg_p (set to NULL) and starts the thread; `metrics`, `live`
 * (NULL: no live topics) and `hub` (its streams counted; NULL: none) are
 * borrowed and must outlive the server.
 * Returns NULL (logged) if the bus endpoints are bad or the thread fails. */
webapi_server_t *webapi_server_new(pgstore_t **pg_p, const char *bus_pub,
                                   const char *bus_sub, metrics_t *metrics, wa_live_t *live,
                                   sse_hub_t *hub);
void webapi_server_destroy(webapi_server_t **self_p);

/* Notes that the configuration at or below the org path `path` changed
 * (wa_config_t.changed, with the server as ctx); the snapshots go out from
 * the server's thread. Safe from any thread. */
void webapi_server_changed(void *ctx, const char *path);

/* Its loop's liveness, for health_new with health_liveness_check. */
health_liveness_t *webapi_server_liveness(webapi_server_t *self);

#endif
