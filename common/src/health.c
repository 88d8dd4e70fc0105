/*  health: /health and /metrics on a small HTTP port (libmicrohttpd). */
#include "eqms/health.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"

#define HEALTH_REASON_SIZE  200
#define HEALTH_SERVICE_MAX  32

struct health_t {
    char service[HEALTH_SERVICE_MAX + 1];
    metrics_t *metrics;          /* borrowed */
    health_check_fn *check;      /* may be NULL: always healthy */
    void *ctx;
    struct MHD_Daemon *daemon;   /* NULL when inert (port 0) */
};

/* libmicrohttpd's error messages go to our log, never to stderr directly. */
static void s_mhd_logger(void *cls, const char *fmt, va_list ap)
{
    (void) cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        msg[--len] = '\0';
    for (char *p = msg; *p; p++) {
        if (*p == '"')
            *p = '\'';
    }
    log_warn("http_error", "msg=\"%s\"", msg);
}

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

/* Queues a response whose body is `body` (taken, freed by libmicrohttpd;
 * NULL after a failed allocation refuses the request). */
static enum MHD_Result s_reply(struct MHD_Connection *conn, unsigned int code,
                               const char *content_type, char *body)
{
    if (!body)
        return MHD_NO;
    struct MHD_Response *response = MHD_create_response_from_buffer(
        strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            content_type);
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL,
                            "no-store");
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(conn, code, response);
    MHD_destroy_response(response);
    return ret;
}

static enum MHD_Result s_reply_text(struct MHD_Connection *conn,
                                    unsigned int code, const char *text)
{
    return s_reply(conn, code, "text/plain; charset=utf-8", strdup(text));
}

static enum MHD_Result s_health(health_t *self, struct MHD_Connection *conn)
{
    char reason[HEALTH_REASON_SIZE] = "";
    int rc = self->check ? self->check(self->ctx, reason, sizeof reason) : 0;
    char body[HEALTH_REASON_SIZE * 6 + 128];
    if (rc == 0) {
        snprintf(body, sizeof body, "{\"status\":\"ok\",\"service\":\"%s\"}\n",
                 self->service);
        return s_reply(conn, MHD_HTTP_OK, "application/json", strdup(body));
    }
    reason[sizeof reason - 1] = '\0';
    char escaped[HEALTH_REASON_SIZE * 6];
    if (!reason[0] || s_json_escape(escaped, sizeof escaped, reason) != 0)
        strcpy(escaped, "unknown");
    snprintf(body, sizeof body,
             "{\"status\":\"unhealthy\",\"service\":\"%s\",\"reason\":\"%s\"}\n",
             self->service, escaped);
    return s_reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json",
                   strdup(body));
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn,
                                 const char *url, const char *method,
                                 const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    (void) version;
    (void) upload_data;
    (void) upload_data_size;
    (void) con_cls;
    health_t *self = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0
        && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return s_reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                            "method not allowed\n");
    if (strcmp(url, "/health") == 0)
        return s_health(self, conn);
    if (strcmp(url, "/metrics") == 0 && self->metrics) {
        char *text = metrics_render(self->metrics);
        if (!text)
            return s_reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                "cannot render metrics\n");
        return s_reply(conn, MHD_HTTP_OK,
                       "text/plain; version=0.0.4; charset=utf-8", text);
    }
    return s_reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

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
    if (port == 0)
        return self;            /* inert: no HTTP port */

    struct sockaddr_in in4 = { .sin_family = AF_INET };
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
    const struct sockaddr *addr;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO
                       | MHD_USE_ERROR_LOG;
    if (inet_pton(AF_INET, address, &in4.sin_addr) == 1) {
        in4.sin_port = htons((uint16_t) port);
        addr = (const struct sockaddr *) &in4;
    }
    else if (inet_pton(AF_INET6, address, &in6.sin6_addr) == 1) {
        in6.sin6_port = htons((uint16_t) port);
        addr = (const struct sockaddr *) &in6;
        flags |= MHD_USE_IPv6;
    }
    else {
        log_error("health_config", "address=%s reason=\"not an IP address\"",
                  address);
        goto err;
    }
    self->daemon = MHD_start_daemon(
        flags, (uint16_t) port, NULL, NULL, s_handler, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_logger, NULL,
        MHD_OPTION_SOCK_ADDR, addr,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 32,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 10,
        MHD_OPTION_END);
    if (!self->daemon) {
        log_error("health_listen", "address=%s port=%d", address, port);
        goto err;
    }
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
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
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
