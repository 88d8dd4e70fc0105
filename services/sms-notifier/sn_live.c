/*  sn_live: queue-manager's live state for the live-hall rules (sn_live.h). */
#include "sn_live.h"

#include <czmq.h>
#include <jansson.h>
#include <stdlib.h>

#include "eqms/log.h"
#include "eqms/looper.h"
#include "eqms/pgstore.h"
#include "eqms/qmclient.h"
#include "sn_livestate.h"

/* Timeouts in one pass after which it ends: queue-manager is away, and
 * waiting for it branch by branch would hold the rest for minutes. */
#define S_TIMEOUTS_MAX 3

struct sn_live_t {
    sn_live_config_t cfg;
    pgstore_t *pg;
    qmclient_t *qm;
    looper_t *loop;
    zhash_t *silent;                /* paths that did not answer last time */
    int timeouts;                   /* in this pass */
    metrics_counter_t *read, *unread;
};

static const char *s_upsert_sql =
    "INSERT INTO alert_live (branch_id, read_at, state) VALUES ($1::bigint, now(), $2::jsonb) "
    "ON CONFLICT (branch_id) DO UPDATE SET read_at = excluded.read_at, state = excluded.state";

/* Notes whether `path` answered, logging only the changes. */
static void s_answered(sn_live_t *self, const char *path, bool answered, const char *reason)
{
    bool was_silent = zhash_lookup(self->silent, path) != NULL;
    if (answered && was_silent) {
        zhash_delete(self->silent, path);
        log_info("live_state_back", "branch=%s", path);
    } else if (!answered && !was_silent) {
        zhash_insert(self->silent, path, (void *) "silent");
        log_warn("live_state_unread", "branch=%s reason=\"%s\" effect=\"its live-hall "
                 "alerts wait until it answers\"", path, reason);
    }
}

/* One branch's state read and kept. 0, or -1 if the database failed. */
static int s_read(sn_live_t *self, const char *branch_id, const char *path)
{
    qmclient_reply_t reply = { 0 };
    int rc = qmclient_call(self->qm, "branch.state", path, "sms-notifier", NULL,
                           self->cfg.qm_timeout_ms, &reply);
    if (rc != 0 || !reply.ok) {
        metrics_add(self->unread, 1);
        if (rc == QMCLIENT_TIMEOUT)
            self->timeouts++;
        s_answered(self, path, false, rc == QMCLIENT_TIMEOUT ? "no reply in time"
                                      : rc != 0 ? "request failed" : reply.reason);
        qmclient_reply_clear(&reply);
        return 0;
    }
    char why[200];
    if (sn_livestate_check(reply.body, why, sizeof why) != 0) {
        /* kept as it was: the old state ages and is not judged */
        metrics_add(self->unread, 1);
        s_answered(self, path, false, why);
        qmclient_reply_clear(&reply);
        return 0;
    }
    char *text = json_dumps(reply.body, JSON_COMPACT);
    qmclient_reply_clear(&reply);
    if (!text)
        return 0;
    const char *params[] = { branch_id, text };
    rc = pgstore_exec(self->pg, s_upsert_sql, 2, params);
    free(text);
    if (rc != 0)
        return -1;
    metrics_add(self->read, 1);
    s_answered(self, path, true, NULL);
    return 0;
}

/* One reading of every covered branch (a looper_pass_fn). */
static int s_pass(void *arg)
{
    sn_live_t *self = arg;
    if (pgstore_connect(self->pg, 0) != 0)
        return LOOPER_FAILED;
    /* the states of branches no rule covers any more go */
    if (pgstore_exec(self->pg, "DELETE FROM alert_live WHERE branch_id NOT IN "
                     "(SELECT branch_id FROM alert_live_branches())", 0, NULL) != 0)
        return LOOPER_FAILED;
    PGresult *res = pgstore_query(self->pg, "SELECT branch_id, path FROM alert_live_branches()",
                                  0, NULL);
    if (!res)
        return LOOPER_FAILED;
    int rc = LOOPER_IDLE;
    self->timeouts = 0;
    int n = PQntuples(res), r = 0;
    for (; r < n && rc == LOOPER_IDLE && self->timeouts < S_TIMEOUTS_MAX; r++)
        if (s_read(self, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1)) != 0)
            rc = LOOPER_FAILED;
    if (r < n && rc == LOOPER_IDLE)
        log_warn("live_states_skipped", "branches=%d reason=\"queue-manager did not answer "
                 "%d times in this pass\"", n - r, self->timeouts);
    PQclear(res);
    return rc;
}

sn_live_t *sn_live_new(const sn_live_config_t *config, metrics_t *metrics)
{
    sn_live_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *config;
    self->pg = pgstore_new(config->pg_conninfo);
    self->qm = qmclient_new(config->qm_endpoint, "sms-live");
    self->silent = zhash_new();
    self->read = metrics_counter(metrics, "live_states_read_total",
                                 "Branch states read from queue-manager for live-hall rules.");
    self->unread = metrics_counter(metrics, "live_states_unread_total",
                                   "Branch states queue-manager did not give (timeout, error).");
    if (!self->pg || !self->qm || !self->silent || !self->read || !self->unread)
        goto err;
    looper_config_t loop = { .name = "live", .poll_ms = config->every_ms,
                             .pass = s_pass, .ctx = self };
    self->loop = looper_start(&loop);
    if (!self->loop)
        goto err;
    return self;
err:
    sn_live_destroy(&self);
    return NULL;
}

void sn_live_destroy(sn_live_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sn_live_t *self = *self_p;
    looper_stop(&self->loop);
    zhash_destroy(&self->silent);
    qmclient_destroy(&self->qm);
    pgstore_destroy(&self->pg);
    free(self);
    *self_p = NULL;
}
