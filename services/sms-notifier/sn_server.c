/*  sn_server: sms-notifier's loop thread (sn_server.h). */
#include "sn_server.h"

#include <stdlib.h>

#include "eqms/bus.h"
#include "eqms/log.h"
#include "eqms/looper.h"
#include "eqms/tailcursor.h"
#include "sn_alerts.h"
#include "sn_store.h"

/* Seqs of one journal read per query, at most. */
#define S_CHUNK 5000

struct sn_server_t {
    sn_server_config_t cfg;
    sn_store_t *store;
    sn_alerts_t *alerts;
    tailcursor_t *cursors;
    bus_t *bus;
    looper_t *loop;
    health_liveness_t liveness;
    metrics_counter_t *raised, *no_rule, *bad_rule, *failures;
    sn_alerts_counts_t counted;     /* what the metrics have of sn_alerts_counts */
};

typedef struct {
    sn_server_t *self;
    int rc;
    bool moved;
} s_walk_t;

/* An unsatisfied rating into its alert (sn_alerts_rating); its SMS rows'
 * senders noted, so that the wake after the commit goes to them alone. */
static int s_rating(void *arg, const sn_rating_t *r)
{
    sn_server_t *self = arg;
    int rc = sn_alerts_rating(self->alerts, r);
    if (rc == 0)
        sn_sender_note(self->cfg.sender, r->recipient_ids);
    return rc;
}

static int s_gateway_head(void *arg, const char *stream, int64_t pos, int64_t head)
{
    s_walk_t *w = arg;
    sn_server_t *self = w->self;
    while (pos < head) {
        int64_t upto = head - pos > S_CHUNK ? pos + S_CHUNK : head;
        if (sn_store_unsatisfied(self->store, stream, pos, upto, s_rating, self) != 0
            || tailcursor_set(self->cursors, TAILCURSOR_GATEWAY, stream, upto, true) != 0) {
            w->rc = -1;
            return 1;
        }
        pos = upto;
        w->moved = true;
    }
    return 0;
}

static void s_count(sn_server_t *self)
{
    sn_alerts_counts_t now = sn_alerts_counts(self->alerts);
    metrics_add(self->raised, now.raised - self->counted.raised);
    metrics_add(self->no_rule, now.no_rule - self->counted.no_rule);
    metrics_add(self->bad_rule, now.bad_rule - self->counted.bad_rule);
    self->counted = now;
}

/* One pass over the journals behind, in one transaction. 0 / -1. */
static int s_catch_up(sn_server_t *self)
{
    if (sn_store_begin(self->store) != 0)
        return -1;
    s_walk_t w = { self, 0, false };
    if (sn_store_gateway_heads(self->store, self->cursors, s_gateway_head, &w) < 0
        || w.rc < 0) {
        sn_store_rollback(self->store);
        tailcursor_rollback(self->cursors);
        return -1;
    }
    if (!w.moved) {
        sn_store_rollback(self->store);
        return 0;
    }
    if (sn_store_commit(self->store, self->cursors) != 0) {
        tailcursor_rollback(self->cursors);
        return -1;
    }
    tailcursor_committed(self->cursors);
    return 0;
}

/* One turn of the loop (a looper_pass_fn): the ratings behind. */
static int s_pass(void *arg)
{
    sn_server_t *self = arg;
    int rc = s_catch_up(self);
    sn_alerts_settle(self->alerts, rc == 0);
    if (rc != 0) {
        metrics_add(self->failures, 1);
        return LOOPER_FAILED;
    }
    if (sn_alerts_counts(self->alerts).raised > self->counted.raised)
        sn_sender_wake(self->cfg.sender);
    s_count(self);
    return LOOPER_IDLE;
}

static void s_free(sn_server_t *self)
{
    looper_stop(&self->loop);
    bus_destroy(&self->bus);
    sn_alerts_destroy(&self->alerts);
    tailcursor_destroy(&self->cursors);
    sn_store_destroy(&self->store);
    free(self);
}

static int s_metrics(sn_server_t *self, metrics_t *metrics)
{
    self->raised = metrics_counter_shared(metrics, "alerts_raised_total",
                                          "Alerts written (with their SMS rows).");
    self->no_rule = metrics_counter(metrics, "alerts_without_rule_total",
                                    "Unsatisfied ratings no enabled rule covers.");
    self->bad_rule = metrics_counter_shared(metrics, "alerts_builtin_template_total",
                                            "Alerts written with the built-in template "
                                            "because their rule's template was refused.");
    self->failures = metrics_counter(metrics, "catch_up_failures_total",
                                     "Transactions that failed (read again).");
    return self->raised && self->no_rule && self->bad_rule && self->failures ? 0 : -1;
}

sn_server_t *sn_server_new(pgstore_t **pg_p, const sn_server_config_t *config,
                           metrics_t *metrics)
{
    sn_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        pgstore_destroy(pg_p);
        return NULL;
    }
    self->cfg = *config;
    self->store = sn_store_new(pg_p);
    self->cursors = tailcursor_new();
    health_liveness_init(&self->liveness);
    if (!self->store || !self->cursors || s_metrics(self, metrics) != 0)
        goto err;
    self->alerts = sn_alerts_new(self->store, self->cfg.max_parts, self->cfg.stale_s);
    if (!self->alerts)
        goto err;
    if (sn_store_load_cursors(self->store, self->cursors) != 0) {
        log_error("notifier_start_failed", "reason=\"cannot load sms_cursor\"");
        goto err;
    }
    const char *sub = self->cfg.bus_sub && *self->cfg.bus_sub ? self->cfg.bus_sub : NULL;
    if (sub) {
        self->bus = bus_new(NULL, sub, "sms-notifier");
        if (!self->bus || bus_attach_metrics(self->bus, metrics) != 0
            || bus_subscribe(self->bus, "rating.stored") != 0)
            goto err;
    }
    looper_config_t loop = { .name = "alerts", .bus = self->bus, .poll_ms = self->cfg.poll_ms,
                             .liveness = &self->liveness, .pass = s_pass, .ctx = self };
    self->loop = looper_start(&loop);
    if (!self->loop)
        goto err;
    return self;
err:
    s_free(self);
    return NULL;
}

void sn_server_destroy(sn_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_free(*self_p);
    *self_p = NULL;
}

health_liveness_t *sn_server_liveness(sn_server_t *self)
{
    return &self->liveness;
}
