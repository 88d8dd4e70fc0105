/*  sn_callbacks: the notifier's HTTP endpoint for the gateway (sn_callbacks.h). */
#include "sn_callbacks.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/httpd.h"
#include "eqms/log.h"
#include "eqms/pgstore.h"

#define S_ARGS_MAX 16

struct sn_callbacks_t {
    const sn_provider_t *provider;
    sn_inbound_t *inbound;
    pgstore_t *pg;                      /* guarded by lock */
    pthread_mutex_t lock;
    httpd_t *http;
    const char *dlr_args[S_ARGS_MAX + 3];
    metrics_counter_t *reports, *refused;
};

/* A uuid in its text form (8-4-4-4-12 hex digits). */
static bool s_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
            return false;
    }
    return true;
}

static void s_refuse(sn_callbacks_t *self, const httpd_req_t *req, httpd_reply_t *reply,
                     unsigned status, const char *reason)
{
    metrics_add(self->refused, 1);
    log_warn("dlr_refused", "peer=%s id=%s reason=\"%s\"", httpd_req_peer(req),
             httpd_req_arg(req, "id") ? httpd_req_arg(req, "id") : "", reason);
    httpd_reply_text(reply, status, "%s\n", reason);
}

static void s_dlr(void *ctx, const httpd_req_t *req, httpd_reply_t *reply)
{
    sn_callbacks_t *self = ctx;
    char reason[SN_PROVIDER_REASON_SIZE];
    sn_dlr_t dlr;
    const char *id = httpd_req_arg(req, "id"), *token = httpd_req_arg(req, "token");
    const char *bad = NULL;
    if (httpd_req_args_check(req, self->dlr_args, reason, sizeof reason) != 0
        || self->provider->dlr_parse(req, &dlr, reason, sizeof reason) != 0)
        bad = reason;
    else if (!s_uuid(id) || !s_uuid(token))
        bad = "id and token must be uuids";
    if (bad) {
        s_refuse(self, req, reply, 400, bad);
        return;
    }
    static const char *const states[] = { "delivered", "failed", "progress" };
    char status[16];
    snprintf(status, sizeof status, "%d", dlr.status);
    const char *params[] = { id, token, states[dlr.state], status };
    pthread_mutex_lock(&self->lock);
    PGresult *res = pgstore_connect(self->pg, 0) == 0 ? pgstore_query(self->pg,
        "UPDATE sms_outbox SET reported_at = now(), "
        "  dlr_status = CASE WHEN state IN ('delivered', 'failed') THEN dlr_status "
        "    ELSE $4::int END, "
        "  delivered_at = CASE WHEN state NOT IN ('delivered', 'failed') "
        "    AND $3 = 'delivered' THEN now() ELSE delivered_at END, "
        "  state = CASE WHEN state IN ('delivered', 'failed') THEN state "
        "    WHEN $3 = 'progress' THEN 'accepted' ELSE $3 END "
        "WHERE id = $1::uuid AND dlr_token = $2::uuid RETURNING state", 4, params) : NULL;
    pthread_mutex_unlock(&self->lock);
    if (!res) {
        httpd_reply_text(reply, 503, "database unavailable, try again\n");
        return;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        s_refuse(self, req, reply, 404, "no SMS with that id and token");
        return;
    }
    metrics_add(self->reports, 1);
    log_debug("dlr", "id=%s type=%d state=%s", id, dlr.status, PQgetvalue(res, 0, 0));
    httpd_reply_text(reply, 200, "ok %s\n", PQgetvalue(res, 0, 0));
    PQclear(res);
}

static void s_inbound(void *ctx, const httpd_req_t *req, httpd_reply_t *reply)
{
    sn_callbacks_t *self = ctx;
    sn_inbound_handle(self->inbound, req, reply);
}

static const httpd_route_t s_routes[] = {
    { "GET", "/sms/dlr", s_dlr },
    { "GET", "/sms/inbound", s_inbound },
};

sn_callbacks_t *sn_callbacks_new(const sn_callbacks_config_t *config, metrics_t *metrics)
{
    sn_callbacks_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    self->provider = config->provider;
    self->inbound = config->inbound;
    size_t n = 0;
    self->dlr_args[n++] = "id";
    self->dlr_args[n++] = "token";
    for (const char *const *a = config->provider->dlr_args; *a && n < S_ARGS_MAX + 2; a++)
        self->dlr_args[n++] = *a;
    self->pg = pgstore_new(config->pg_conninfo);
    self->reports = metrics_counter(metrics, "dlr_total", "Delivery reports applied.");
    self->refused = metrics_counter(metrics, "dlr_refused_total",
                                    "Delivery reports refused (malformed, unknown, forged).");
    if (!self->pg || !self->reports || !self->refused)
        goto err;
    httpd_config_t http = { .name = "sms-callbacks", .address = config->address,
                            .port = config->port, .body_max = 4096, .threads = 2 };
    self->http = httpd_new(&http, s_routes, sizeof s_routes / sizeof s_routes[0], self);
    if (!self->http)
        goto err;
    return self;
err:
    sn_callbacks_destroy(&self);
    return NULL;
}

void sn_callbacks_destroy(sn_callbacks_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sn_callbacks_t *self = *self_p;
    httpd_destroy(&self->http);
    pgstore_destroy(&self->pg);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}
