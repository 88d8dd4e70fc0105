/*  health: /health and /metrics on a small HTTP port (on httpd). */
#include "eqms/health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/httpd.h"
#include "eqms/log.h"

#define HEALTH_REASON_SIZE  200
#define HEALTH_SERVICE_MAX  32

struct health_t {
    char service[HEALTH_SERVICE_MAX + 1];
    metrics_t *metrics;          /* borrowed */
    health_check_fn *check;      /* may be NULL: always healthy */
    void *ctx;
    httpd_t *http;
};

/* Appends `in` to out[0..size) as JSON string content; returns 0 or -1 if
 * it does not fit. Bytes >= 0x80 pass through unchanged. */
static int s_json_escape(char *out, size_t size, const char *in)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *) in; *p; p++) {
        char tmp[8];
        size_t len;
        if (*p == '"' || *p == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char) *p;
            len = 2;
        }
        else if (*p < 0x20 || *p == 0x7f) {
            len = (size_t) snprintf(tmp, sizeof tmp, "\\u%04x", *p);
        }
        else {
            tmp[0] = (char) *p;
            len = 1;
        }
        if (n + len >= size)
            return -1;
        memcpy(out + n, tmp, len);
        n += len;
    }
    out[n] = '\0';
    return 0;
}

static void s_health(void *ctx, const httpd_req_t *req, httpd_reply_t *reply)
{
    (void) req;
    health_t *self = ctx;
    char reason[HEALTH_REASON_SIZE] = "";
    int rc = self->check ? self->check(self->ctx, reason, sizeof reason) : 0;
    char *body = NULL;
    if (rc == 0) {
        if (asprintf(&body, "{\"status\":\"ok\",\"service\":\"%s\"}\n", self->service) < 0)
            body = NULL;
        httpd_reply_take(reply, 200, "application/json", &body);
        return;
    }
    reason[sizeof reason - 1] = '\0';
    char escaped[HEALTH_REASON_SIZE * 6];
    if (!reason[0] || s_json_escape(escaped, sizeof escaped, reason) != 0)
        strcpy(escaped, "unknown");
    if (asprintf(&body, "{\"status\":\"unhealthy\",\"service\":\"%s\",\"reason\":\"%s\"}\n",
                 self->service, escaped) < 0)
        body = NULL;
    httpd_reply_take(reply, 503, "application/json", &body);
}

static void s_metrics(void *ctx, const httpd_req_t *req, httpd_reply_t *reply)
{
    (void) req;
    health_t *self = ctx;
    if (!self->metrics) {
        httpd_reply_text(reply, 404, "not found\n");
        return;
    }
    char *text = metrics_render(self->metrics);
    if (!text) {
        httpd_reply_text(reply, 500, "cannot render metrics\n");
        return;
    }
    httpd_reply_take(reply, 200, "text/plain; version=0.0.4; charset=utf-8", &text);
}

static const httpd_route_t s_routes[] = {
    { "GET", "/health", s_health },
    { "GET", "/metrics", s_metrics },
};

health_t *health_new(const char *service, const char *address, int port,
                     metrics_t *metrics, health_check_fn *check, void *ctx)
{
    health_t *self = NULL;
    if (!service || !*service || strlen(service) > HEALTH_SERVICE_MAX
        || !address || port < 0 || port > 65535) {
        log_error("health_config", "service=%s address=%s port=%d",
                  service ? service : "(null)", address ? address : "(null)",
                  port);
        goto err;
    }
    for (const char *p = service; *p; p++) {
        if (*p == '"' || *p == '\\' || (unsigned char) *p < 0x20)
            goto err;
    }
    self = calloc(1, sizeof *self);
    if (!self)
        goto err;
    strcpy(self->service, service);
    self->metrics = metrics;
    self->check = check;
    self->ctx = ctx;
    httpd_config_t config = { .name = service, .address = address, .port = port,
                              .body_max = 4096, .connections = 32 };
    self->http = httpd_new(&config, s_routes, sizeof s_routes / sizeof s_routes[0], self);
    if (!self->http)
        goto err;
    return self;
err:
    free(self);
    return NULL;
}

void health_destroy(health_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    health_t *self = *self_p;
    httpd_destroy(&self->http);
    free(self);
    *self_p = NULL;
}

void health_liveness_init(health_liveness_t *self)
{
    atomic_store(&self->db_ok, 1);
    health_liveness_beat(self);
}

void health_liveness_beat(health_liveness_t *self)
{
    atomic_store_explicit(&self->beat_ms, clock_mono_ms(), memory_order_relaxed);
}

void health_liveness_db(health_liveness_t *self, bool ok)
{
    atomic_store_explicit(&self->db_ok, ok ? 1 : 0, memory_order_relaxed);
}

int health_liveness_check(void *ctx, char *reason, size_t size)
{
    health_liveness_t *self = ctx;
    if (clock_mono_ms() - atomic_load(&self->beat_ms) > HEALTH_STALL_MS) {
        snprintf(reason, size, "loop stalled");
        return -1;
    }
    if (!atomic_load(&self->db_ok)) {
        snprintf(reason, size, "database unavailable");
        return -1;
    }
    return 0;
}
