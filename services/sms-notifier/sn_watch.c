/*  sn_watch: threshold rules and the alert lifecycle (sn_watch.h). */
#include "sn_watch.h"

#include <stdlib.h>

#include "eqms/clock.h"
#include "eqms/log.h"
#include "eqms/looper.h"
#include "eqms/pgstore.h"
#include "sn_alerts.h"
#include "sn_store.h"

#define S_THRESHOLDS_MS 1000
#define S_LIFECYCLE_MS 5000

struct sn_watch_t {
    sn_watch_config_t cfg;
    sn_store_t *store;
    sn_alerts_t *alerts;
    looper_t *loop;
    int64_t next_lifecycle_ms;
    sn_alerts_counts_t counted;     /* what the metrics have of sn_alerts_counts */
    metrics_counter_t *raised, *resolved, *bad_rule, *lifecycle_sms;
};

/* The threshold rules, in one transaction. 0 / -1. */
static int s_thresholds(sn_watch_t *self)
{
    uint64_t raised = sn_alerts_counts(self->alerts).raised;
    int rc = sn_store_begin(self->store);
    if (rc == 0 && sn_store_threshold_members(self->store, sn_alerts_threshold, self->alerts) != 0) {
        sn_store_rollback(self->store);
        rc = -1;
    }
    if (rc == 0)
        rc = sn_store_commit(self->store, NULL);
    sn_alerts_settle(self->alerts, rc == 0);
    if (rc != 0) {
        log_warn("alert_thresholds_failed", "reason=\"database error\"");
        return -1;
    }
    sn_alerts_counts_t now = sn_alerts_counts(self->alerts);
    if (now.raised > raised)
        sn_sender_wake(self->cfg.sender);
    metrics_add(self->raised, now.raised - self->counted.raised);
    metrics_add(self->resolved, now.resolved - self->counted.resolved);
    metrics_add(self->bad_rule, now.bad_rule - self->counted.bad_rule);
    self->counted = now;
    return 0;
}

/* Reminders and escalations, when due. 0 / -1. */
static int s_lifecycle(sn_watch_t *self)
{
    int64_t now = clock_mono_ms();
    if (now < self->next_lifecycle_ms)
        return 0;
    self->next_lifecycle_ms = now + S_LIFECYCLE_MS;
    int made = sn_store_lifecycle(self->store);
    if (made < 0) {
        log_warn("alert_lifecycle_failed", "reason=\"database error\"");
        return -1;
    }
    if (made > 0) {
        metrics_add(self->lifecycle_sms, (uint64_t) made);
        log_info("alert_reminders", "sms=%d", made);
        sn_sender_wake(self->cfg.sender);
    }
    return 0;
}

/* One turn (a looper_pass_fn): a failure of either is tried again after
 * the backoff. */
static int s_pass(void *arg)
{
    sn_watch_t *self = arg;
    int rc = s_thresholds(self);
    if (s_lifecycle(self) != 0)
        rc = -1;
    return rc == 0 ? LOOPER_IDLE : LOOPER_FAILED;
}

sn_watch_t *sn_watch_new(const sn_watch_config_t *config, metrics_t *metrics)
{
    sn_watch_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *config;
    pgstore_t *pg = pgstore_new(config->pg_conninfo);
    self->store = sn_store_new(&pg);
    self->raised = metrics_counter_shared(metrics, "alerts_raised_total",
                                          "Alerts written (with their SMS rows).");
    self->resolved = metrics_counter(metrics, "alerts_cleared_total",
                                     "Threshold alerts resolved because they cleared.");
    self->bad_rule = metrics_counter_shared(metrics, "alerts_builtin_template_total",
                                            "Alerts written with the built-in template "
                                            "because their rule's template was refused.");
    self->lifecycle_sms = metrics_counter(metrics, "alert_reminder_sms_total",
                                          "SMS of reminders and escalations.");
    if (!self->store || !self->raised || !self->resolved || !self->bad_rule
        || !self->lifecycle_sms)
        goto err;
    self->alerts = sn_alerts_new(self->store, config->max_parts, config->stale_s);
    if (!self->alerts)
        goto err;
    looper_config_t loop = { .name = "watch", .poll_ms = S_THRESHOLDS_MS, .pass = s_pass,
                             .ctx = self };
    self->loop = looper_start(&loop);
    if (!self->loop)
        goto err;
    return self;
err:
    sn_watch_destroy(&self);
    return NULL;
}

void sn_watch_destroy(sn_watch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sn_watch_t *self = *self_p;
    looper_stop(&self->loop);
    sn_alerts_destroy(&self->alerts);
    sn_store_destroy(&self->store);
    free(self);
    *self_p = NULL;
}
