/*  webapi_server: answers registry requests on the bus (webapi_server.h). */
#include "webapi_server.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/bus.h"
#include "eqms/health.h"
#include "eqms/clock.h"
#include "eqms/log.h"
#include "registry.h"
#include "wa_live.h"

#define S_REQUEST_TYPE  "registry.request"
#define S_SNAPSHOT_TYPE "registry.snapshot"
#define S_CHANGED_MAX   64      /* paths waiting; beyond: the whole tree */
#define S_WAIT_MS       100     /* a change waits at most this long to go out */

struct webapi_server_t {
    pgstore_t *pg;
    bus_t *bus;
    wa_live_t *live;                /* borrowed; NULL: no live streams */
    pthread_t thread;
    _Atomic int stop;
    health_liveness_t liveness;    /* read by the health port */
    metrics_counter_t *requests;
    metrics_counter_t *snapshots;
    metrics_counter_t *refused;
    metrics_counter_t *pushed;
    metrics_counter_t *live_events;
    metrics_gauge_t *live_streams;
    sse_hub_t *hub;                 /* borrowed, for the gauge; NULL without live */
    pthread_mutex_t lock;           /* guards the changes below */
    char changed[S_CHANGED_MAX][256];
    int nchanged;
    bool everything;                /* more changes than fit: every branch */
};

/* Answers one request: {"gateway": id, "branch": path, "cached": bool?},
 * where the branch must be the topic's org path. */
static void s_answer(webapi_server_t *self, const char *topic, envelope_t *request)
{
    const char *branch = topic + strlen(S_REQUEST_TYPE) + 1;
    const char *gateway = NULL, *asked = NULL;
    int cached = 0;
    json_error_t error;
    metrics_add(self->requests, 1);
    if (json_unpack_ex(request->data, &error, JSON_STRICT, "{s:s, s:s, s?b}", "gateway",
                       &gateway, "branch", &asked, "cached", &cached) != 0
        || strcmp(asked, branch) != 0) {
        metrics_add(self->refused, 1);
        log_warn("registry_request_rejected", "src=%s reason=\"%s\"", request->src,
                 asked && strcmp(asked, branch) != 0 ? "branch differs from the topic"
                                                     : error.text);
        return;
    }
    json_t *snapshot = registry_snapshot(self->pg, branch);
    health_liveness_db(&self->liveness, pgstore_connected(self->pg));
    if (!snapshot) {
        metrics_add(self->refused, 1);
        log_warn("registry_request_refused", "branch=%s src=%s reason=\"no such branch "
                 "or database unavailable\"", branch, request->src);
        return;
    }
    if (bus_publish(self->bus, S_SNAPSHOT_TYPE, branch, &snapshot, NULL) == 0) {
        metrics_add(self->snapshots, 1);
        log_info("registry_snapshot_sent", "branch=%s gateway=%s cached=%d", branch,
                 gateway, cached);
    }
}

void webapi_server_changed(void *ctx, const char *path)
{
    webapi_server_t *self = ctx;
    pthread_mutex_lock(&self->lock);
    bool known = false;
    for (int i = 0; i < self->nchanged && !known; i++)
        known = strcmp(self->changed[i], path) == 0;
    if (!known && self->nchanged < S_CHANGED_MAX)
        snprintf(self->changed[self->nchanged++], sizeof self->changed[0], "%s", path);
    else if (!known)
        self->everything = true;
    pthread_mutex_unlock(&self->lock);
}

/* Publishes the snapshot of every branch at or below the changed paths. */
static void s_push_changes(webapi_server_t *self)
{
    char changed[S_CHANGED_MAX][256];
    pthread_mutex_lock(&self->lock);
    int n = self->everything ? 0 : self->nchanged;
    memcpy(changed, self->changed, sizeof changed[0] * (size_t) n);
    bool everything = self->everything;
    self->nchanged = 0;
    self->everything = false;
    pthread_mutex_unlock(&self->lock);
    if (!n && !everything)
        return;
    char array[S_CHANGED_MAX * 260] = "{";
    size_t used = 1;
    for (int i = 0; i < n; i++)
        used += (size_t) snprintf(array + used, sizeof array - used, "%s\"%s\"",
                                  i ? "," : "", changed[i]);
    snprintf(array + used, sizeof array - used, "}");
    const char *params[] = { everything ? NULL : array };
    PGresult *res = pgstore_query(self->pg,
                                  "SELECT path::text FROM org_node WHERE kind = 'branch'"
                                  " AND ($1::ltree[] IS NULL OR path <@ $1::ltree[])"
                                  " ORDER BY path",
                                  1, params);
    health_liveness_db(&self->liveness, pgstore_connected(self->pg));
    if (!res) {
        log_warn("registry_push_failed", "reason=\"database unavailable\"");
        return;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const char *branch = PQgetvalue(res, i, 0);
        json_t *snapshot = registry_snapshot(self->pg, branch);
        if (snapshot && bus_publish(self->bus, S_SNAPSHOT_TYPE, branch, &snapshot, NULL) == 0) {
            metrics_add(self->pushed, 1);
            log_info("registry_snapshot_pushed", "branch=%s reason=configuration", branch);
        }
        json_decref(snapshot);
    }
    PQclear(res);
}

static void *s_loop(void *arg)
{
    webapi_server_t *self = arg;
    while (!atomic_load(&self->stop)) {
        health_liveness_beat(&self->liveness);
        char *topic = NULL;
        envelope_t *envelope = NULL;
        int wait = S_WAIT_MS;
        int due = self->live ? wa_live_tick(self->live, self->pg) : -1;
        if (due >= 0 && due < wait)
            wait = due;
        if (bus_recv(self->bus, wait, &topic, &envelope) == 1) {
            if (strncmp(topic, S_REQUEST_TYPE ".", strlen(S_REQUEST_TYPE) + 1) == 0)
                s_answer(self, topic, envelope);
            else if (self->live)
                metrics_add(self->live_events,
                            (uint64_t) wa_live_bus(self->live, topic, envelope));
            free(topic);
            envelope_destroy(&envelope);
        }
        s_push_changes(self);
        if (self->hub)
            metrics_set(self->live_streams, (int64_t) sse_streams(self->hub));
    }
    return NULL;
}

webapi_server_t *webapi_server_new(pgstore_t **pg_p, const char *bus_pub,
                                   const char *bus_sub, metrics_t *metrics, wa_live_t *live,
                                   sse_hub_t *hub)
{
    webapi_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        pgstore_destroy(pg_p);
        return NULL;
    }
    self->pg = *pg_p;
    *pg_p = NULL;
    self->live = live;
    self->hub = hub;
    self->requests = metrics_counter(metrics, "registry_requests_total",
                                     "Registry requests received from gateways.");
    self->snapshots = metrics_counter(metrics, "registry_snapshots_total",
                                      "Registry snapshots published.");
    self->refused = metrics_counter(metrics, "registry_refused_total",
                                    "Registry requests refused (malformed, unknown branch, "
                                    "database down).");
    self->pushed = metrics_counter(metrics, "registry_pushed_total",
                                   "Registry snapshots published after a configuration "
                                   "change.");
    self->live_events = metrics_counter(metrics, "live_events_total",
                                        "Events published on the live streams' channels "
                                        "(one per channel: a branch's and each node's above).");
    self->live_streams = metrics_gauge(metrics, "live_streams",
                                       "Live streams (Server-Sent Events) open.");
    pthread_mutex_init(&self->lock, NULL);
    self->bus = bus_new(bus_pub, bus_sub, "web-api");
    if (!self->requests || !self->snapshots || !self->refused || !self->pushed
        || !self->live_events || !self->live_streams || !self->bus
        || bus_attach_metrics(self->bus, metrics) != 0
        || bus_subscribe(self->bus, S_REQUEST_TYPE ".") != 0)
        goto err;
    for (size_t i = 0; live && wa_live_topics[i]; i++)
        if (bus_subscribe(self->bus, wa_live_topics[i]) != 0)
            goto err;
    health_liveness_init(&self->liveness);
    if (pthread_create(&self->thread, NULL, s_loop, self) != 0)
        goto err;
    return self;
err:
    log_error("webapi_start_failed", "reason=\"bus or metrics could not be set up\"");
    bus_destroy(&self->bus);
    pgstore_destroy(&self->pg);
    pthread_mutex_destroy(&self->lock);
    free(self);
    return NULL;
}

void webapi_server_destroy(webapi_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    webapi_server_t *self = *self_p;
    atomic_store(&self->stop, 1);
    pthread_join(self->thread, NULL);
    bus_destroy(&self->bus);
    pgstore_destroy(&self->pg);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

health_liveness_t *webapi_server_liveness(webapi_server_t *self)
{
    return &self->liveness;
}
