/*  sn_sender: hands the SMS outbox to the gateway (sn_sender.h). */
#include "sn_sender.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"
#include "eqms/pgstore.h"

#define S_BATCH 50              /* rows taken per look */

struct sn_sender_t {
    sn_sender_config_t cfg;
    char *callback_url;
    pgstore_t *pg;
    void *gateway;              /* the provider's state */
    pthread_t thread;
    bool running;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop, woken;           /* guarded by lock */
    int pause_ms;               /* after a retry: the gateway is given time */
    metrics_counter_t *accepted, *retried, *failed, *db_failures;
};

/* --- one row ------------------------------------------------------------------ */

typedef struct {
    const char *id, *phone, *body, *token;
    int attempts;
    double age_s;
} s_row_t;

static int s_backoff_ms(const sn_sender_t *self, int attempts)
{
    int64_t ms = self->cfg.retry_initial_ms;
    for (int i = 0; i < attempts && ms < self->cfg.retry_max_ms; i++)
        ms *= 2;
    return (int) (ms < self->cfg.retry_max_ms ? ms : self->cfg.retry_max_ms);
}

static int s_accepted(sn_sender_t *self, const s_row_t *row)
{
    const char *params[] = { row->id, self->cfg.provider->name };
    /* a delivery report may have come first: it is not undone */
    return pgstore_exec(self->pg,
        "UPDATE sms_outbox SET state = CASE state WHEN 'queued' THEN 'accepted' "
        "  ELSE state END, accepted_at = now(), attempts = attempts + 1, provider = $2, "
        "  last_error = '' WHERE id = $1::uuid", 2, params);
}

static int s_failed(sn_sender_t *self, const s_row_t *row, const char *reason)
{
    const char *params[] = { row->id, self->cfg.provider->name, reason };
    return pgstore_exec(self->pg,
        "UPDATE sms_outbox SET state = 'failed', attempts = attempts + 1, provider = $2, "
        "  last_error = $3 WHERE id = $1::uuid AND state = 'queued'", 3, params);
}

static int s_retry(sn_sender_t *self, const s_row_t *row, int delay_ms, const char *reason)
{
    char delay[24];
    snprintf(delay, sizeof delay, "%d", delay_ms);
    const char *params[] = { row->id, self->cfg.provider->name, reason, delay };
    return pgstore_exec(self->pg,
        "UPDATE sms_outbox SET attempts = attempts + 1, provider = $2, last_error = $3, "
        "  next_at = now() + make_interval(secs => $4::int / 1000.0) "
        "WHERE id = $1::uuid AND state = 'queued'", 4, params);
}

/* Submits one row and writes the answer. 1 when the gateway should be
 * given time (a retry), 0 otherwise, -1 if the row could not be updated. */
static int s_send(sn_sender_t *self, const s_row_t *row)
{
    char dlr_url[512] = "";
    if (*self->callback_url)
        snprintf(dlr_url, sizeof dlr_url, "%s/sms/dlr?id=%s&token=%s%s", self->callback_url,
                 row->id, row->token, self->cfg.provider->dlr_suffix);
    sn_message_t msg = { row->id, row->phone, row->body, *dlr_url ? dlr_url : NULL };
    char reason[SN_PROVIDER_REASON_SIZE] = "";
    sn_send_result_t result = self->cfg.provider->send(self->gateway, &msg, reason,
                                                       sizeof reason);
    if (result == SN_SEND_ACCEPTED) {
        metrics_add(self->accepted, 1);
        log_debug("sms_accepted", "id=%s attempts=%d", row->id, row->attempts + 1);
        return s_accepted(self, row);
    }
    if (result == SN_SEND_REFUSED || row->age_s > self->cfg.give_up_s) {
        char why[SN_PROVIDER_REASON_SIZE + 64];
        if (result == SN_SEND_REFUSED)
            snprintf(why, sizeof why, "%s", reason);
        else
            snprintf(why, sizeof why, "gave up after %d attempts: %s", row->attempts + 1,
                     reason);
        metrics_add(self->failed, 1);
        log_warn("sms_failed", "id=%s reason=\"%s\"", row->id, why);
        return s_failed(self, row, why);
    }
    int delay = s_backoff_ms(self, row->attempts);
    metrics_add(self->retried, 1);
    log_warn("sms_retry", "id=%s attempts=%d retry_ms=%d reason=\"%s\"", row->id,
             row->attempts + 1, delay, reason);
    self->pause_ms = delay;
    return s_retry(self, row, delay, reason) == 0 ? 1 : -1;
}

/* --- a look at the outbox ---------------------------------------------------------- */

/* Takes the due rows, holding them for the lease, and submits them. The
 * rows left after a retry are let go at once. Returns the rows taken, or
 * -1 if the database failed. */
static int s_pass(sn_sender_t *self)
{
    if (pgstore_connect(self->pg, 0) != 0)
        return -1;
    char batch[16], lease[16];
    snprintf(batch, sizeof batch, "%d", S_BATCH);
    snprintf(lease, sizeof lease, "%d", self->cfg.lease_s);
    const char *params[] = { batch, lease };
    PGresult *res = pgstore_query(self->pg,
        "WITH due AS (SELECT id FROM sms_outbox WHERE state = 'queued' AND next_at <= now() "
        "  ORDER BY next_at LIMIT $1::int FOR UPDATE SKIP LOCKED) "
        ", taken AS (UPDATE sms_outbox o SET next_at = now() + make_interval(secs => $2::int) "
        "  FROM due WHERE o.id = due.id "
        "  RETURNING o.id, o.phone, o.body, o.dlr_token, o.attempts, o.created_at) "
        "SELECT id::text, phone, body, dlr_token::text, attempts, "
        "  extract(epoch FROM now() - created_at)::float8 FROM taken ORDER BY created_at",
        2, params);
    if (!res)
        return -1;
    int n = PQntuples(res), rc = n;
    for (int r = 0; r < n; r++) {
        s_row_t row = { PQgetvalue(res, r, 0), PQgetvalue(res, r, 1), PQgetvalue(res, r, 2),
                        PQgetvalue(res, r, 3), atoi(PQgetvalue(res, r, 4)),
                        atof(PQgetvalue(res, r, 5)) };
        int sent = s_send(self, &row);
        if (sent != 0) {
            if (sent < 0)
                rc = -1;
            /* let the rest go: they are tried when the gateway is back */
            for (int k = r + 1; k < n; k++) {
                const char *id[] = { PQgetvalue(res, k, 0) };
                pgstore_exec(self->pg, "UPDATE sms_outbox SET next_at = now() "
                             "WHERE id = $1::uuid AND state = 'queued'", 1, id);
            }
            break;
        }
    }
    PQclear(res);
    return rc;
}

static void *s_run(void *arg)
{
    sn_sender_t *self = arg;
    int64_t next_ms = 0, paused_until = 0;     /* monotonic */
    pthread_mutex_lock(&self->lock);
    while (!self->stop) {
        int64_t now = clock_mono_ms();
        if (now < next_ms && !(self->woken && now >= paused_until)) {
            struct timespec until;
            clock_deadline(&until, (int) ((self->woken ? paused_until : next_ms) - now));
            pthread_cond_timedwait(&self->wake, &self->lock, &until);
            continue;
        }
        self->woken = false;
        pthread_mutex_unlock(&self->lock);
        self->pause_ms = 0;
        int taken = s_pass(self);
        now = clock_mono_ms();
        if (taken < 0)
            metrics_add(self->db_failures, 1);
        paused_until = self->pause_ms > 0 ? now + self->pause_ms : 0;
        if (self->pause_ms > 0)
            next_ms = paused_until;     /* new rows wait for the gateway too */
        else
            next_ms = taken == S_BATCH ? now : now + self->cfg.poll_ms;
        pthread_mutex_lock(&self->lock);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

/* --- life cycle ----------------------------------------------------------------------- */

sn_sender_t *sn_sender_new(const sn_sender_config_t *config, metrics_t *metrics)
{
    sn_sender_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *config;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    self->callback_url = strdup(config->callback_url ? config->callback_url : "");
    self->pg = pgstore_new(config->pg_conninfo);
    self->accepted = metrics_counter(metrics, "sms_accepted_total",
                                     "SMS the gateway accepted.");
    self->retried = metrics_counter(metrics, "sms_retries_total",
                                    "Submissions the gateway did not take (tried again).");
    self->failed = metrics_counter(metrics, "sms_failed_total",
                                   "SMS given up: refused by the gateway, or too old.");
    self->db_failures = metrics_counter(metrics, "sender_db_failures_total",
                                        "Looks at the outbox that failed (database).");
    if (!self->callback_url || !self->pg || !self->accepted || !self->retried
        || !self->failed || !self->db_failures)
        goto err;
    self->gateway = config->provider->open(&config->gateway);
    if (!self->gateway)
        goto err;
    if (pthread_create(&self->thread, NULL, s_run, self) != 0)
        goto err;
    self->running = true;
    return self;
err:
    log_error("sms_sender_start_failed", "provider=%s", config->provider->name);
    sn_sender_destroy(&self);
    return NULL;
}

void sn_sender_destroy(sn_sender_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sn_sender_t *self = *self_p;
    if (self->running) {
        pthread_mutex_lock(&self->lock);
        self->stop = true;
        pthread_cond_signal(&self->wake);
        pthread_mutex_unlock(&self->lock);
        pthread_join(self->thread, NULL);
    }
    if (self->gateway)
        self->cfg.provider->close(self->gateway);
    pgstore_destroy(&self->pg);
    free(self->callback_url);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

void sn_sender_wake(sn_sender_t *self)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->woken = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
}
