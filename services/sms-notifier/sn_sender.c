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
#include "sn_digest.h"
#include "sn_outbox.h"
#include "sn_sms.h"

#define S_BATCH 50              /* due rows a worker takes per look */
#define S_WORKERS_MAX 32        /* EQMS_SMS_SENDERS at most */

typedef struct s_worker_t s_worker_t;

struct sn_sender_t {
    sn_sender_config_t cfg;
    char *callback_url;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;                  /* guarded by lock */
    uint64_t woken[S_WORKERS_MAX];  /* guarded by lock: wake-ups, per worker */
    uint64_t noted;             /* guarded by lock: shares noted for the next wake */
    metrics_counter_t *accepted, *retried, *failed, *db_failures, *digests, *held;
    s_worker_t *workers[S_WORKERS_MAX];
    int nworkers;
};

/* One sending thread: its share of the outbox (the rows of the recipients,
 * or of the customers' SMS, whose key falls to it), its own connection to
 * PostgreSQL and to the gateway. */
struct s_worker_t {
    sn_sender_t *owner;
    int index;
    pgstore_t *pg;
    void *gateway;              /* the provider's state */
    pthread_t thread;
    bool running;
    uint64_t seen;              /* owner->woken[index] when it last looked */
    int pause_ms;               /* after a retry: the gateway is given time */
};

/* --- one row ------------------------------------------------------------------ */

static int s_backoff_ms(const s_worker_t *self, int attempts)
{
    int64_t ms = self->owner->cfg.retry_initial_ms;
    for (int i = 0; i < attempts && ms < self->owner->cfg.retry_max_ms; i++)
        ms *= 2;
    return (int) (ms < self->owner->cfg.retry_max_ms ? ms : self->owner->cfg.retry_max_ms);
}

/* Submits one row and writes the answer. 1 when the gateway should be
 * given time (a retry), 0 otherwise, -1 if the row could not be updated. */
static int s_send(s_worker_t *self, const sn_outbox_row_t *row)
{
    const sn_provider_t *provider = self->owner->cfg.provider;
    char dlr_url[512] = "";
    if (*self->owner->callback_url)
        snprintf(dlr_url, sizeof dlr_url, "%s/sms/dlr?id=%s&token=%s%s",
                 self->owner->callback_url, row->id, row->token, provider->dlr_suffix);
    sn_message_t msg = { row->id, row->phone, row->body, *dlr_url ? dlr_url : NULL };
    char reason[SN_PROVIDER_REASON_SIZE] = "";
    sn_send_result_t result = provider->send(self->gateway, &msg, reason, sizeof reason);
    if (result == SN_SEND_ACCEPTED) {
        metrics_add(self->owner->accepted, 1);
        log_debug("sms_accepted", "id=%s attempts=%d", row->id, row->attempts + 1);
        return sn_outbox_accepted(self->pg, row->id, provider->name);
    }
    if (result == SN_SEND_REFUSED || row->age_s > self->owner->cfg.give_up_s) {
        char why[SN_PROVIDER_REASON_SIZE + 64];
        if (result == SN_SEND_REFUSED)
            snprintf(why, sizeof why, "%s", reason);
        else
            snprintf(why, sizeof why, "gave up after %d attempts: %s", row->attempts + 1,
                     reason);
        metrics_add(self->owner->failed, 1);
        log_warn("sms_failed", "id=%s reason=\"%s\"", row->id, why);
        return sn_outbox_failed(self->pg, row->id, provider->name, why);
    }
    int delay = s_backoff_ms(self, row->attempts);
    metrics_add(self->owner->retried, 1);
    log_warn("sms_retry", "id=%s attempts=%d retry_ms=%d reason=\"%s\"", row->id,
             row->attempts + 1, delay, reason);
    self->pause_ms = delay;
    return sn_outbox_retry(self->pg, row->id, provider->name, delay, reason) == 0 ? 1 : -1;
}

/* --- a look at the outbox ---------------------------------------------------------- */

/* Several alerts of one recipient (rows [first, last)): one digest in
 * their place, written before it is sent, then sent. As s_send. */
static int s_digest(s_worker_t *self, const sn_outbox_claim_t *claim, int first, int last)
{
    size_t n = (size_t) (last - first);
    sn_digest_item_t *items = calloc(n, sizeof *items);
    if (!items)
        return -1;
    for (int r = first; r < last; r++)
        items[r - first] = sn_outbox_item(claim, r);
    char *text = sn_digest_text(items, n);
    free(items);
    bool cut = false;
    char *body = text ? sn_sms_fit(text, self->owner->cfg.max_parts, &cut) : NULL;
    free(text);
    sn_outbox_row_t row;
    PGresult *made = body ? sn_outbox_digest(self->pg, claim, first, last, body,
                                             self->owner->cfg.lease_s, &row) : NULL;
    free(body);
    if (!made)
        return -1;
    metrics_add(self->owner->digests, 1);
    log_info("sms_digest", "id=%s recipient=%s alerts=%zu", row.id,
             sn_outbox_recipient(claim, first), n);
    int rc = s_send(self, &row);
    PQclear(made);
    return rc;
}

/* Rows [first, last): one row to send, or one recipient's alerts (the
 * stale ones first): held; else the stale ones summarised, and the others
 * sent one by one while they fit the recipient's budget, else summarised.
 * As s_send. */
static int s_group(s_worker_t *self, const sn_outbox_claim_t *claim, int first, int last)
{
    if (sn_outbox_held(claim, first)) {
        if (sn_outbox_hold(self->pg, claim, first, last) != 0)
            return -1;
        metrics_add(self->owner->held, (uint64_t) (last - first));
        return 0;
    }
    int fresh = first;
    while (fresh < last && sn_outbox_stale(claim, fresh))
        fresh++;
    int budget = sn_outbox_budget(claim, first);
    if (fresh > first) {
        int rc = s_digest(self, claim, first, fresh);
        if (rc != 0) {
            sn_outbox_release(self->pg, claim, fresh, last);
            return rc;
        }
        budget--;
    }
    bool alerts = *sn_outbox_recipient(claim, first) != '\0';
    if (alerts && last - fresh > budget)
        return fresh < last ? s_digest(self, claim, fresh, last) : 0;
    for (int r = fresh; r < last; r++) {
        sn_outbox_row_t row = sn_outbox_row(claim, r);
        int rc = s_send(self, &row);
        if (rc != 0) {
            sn_outbox_release(self->pg, claim, r + 1, last);
            return rc;
        }
    }
    return 0;
}

/* Claims the worker's due rows and sends them group by group; the rows
 * left after a retry are let go at once. Returns the rows taken, or -1 if
 * the database failed. */
static int s_pass(s_worker_t *self)
{
    if (pgstore_connect(self->pg, 0) != 0)
        return -1;
    sn_outbox_claim_args_t args = { S_BATCH, self->owner->cfg.lease_s,
                                    self->owner->cfg.digest_gap_s, self->index,
                                    self->owner->nworkers };
    sn_outbox_claim_t *claim = sn_outbox_claim(self->pg, &args);
    if (!claim)
        return -1;
    int n = sn_outbox_count(claim), rc = n;
    for (int first = 0, last; first < n; first = last) {
        last = sn_outbox_group_end(claim, first);
        int sent = s_group(self, claim, first, last);
        if (sent != 0) {
            if (sent < 0)
                rc = -1;
            sn_outbox_release(self->pg, claim, last, n);
            break;
        }
    }
    sn_outbox_claim_destroy(&claim);
    return rc;
}

static void *s_run(void *arg)
{
    s_worker_t *self = arg;
    sn_sender_t *owner = self->owner;
    int64_t next_ms = 0, paused_until = 0;     /* monotonic */
    pthread_mutex_lock(&owner->lock);
    while (!owner->stop) {
        int64_t now = clock_mono_ms();
        bool woken = owner->woken[self->index] != self->seen;
        if (now < next_ms && !(woken && now >= paused_until)) {
            struct timespec until;
            clock_deadline(&until, (int) ((woken ? paused_until : next_ms) - now));
            pthread_cond_timedwait(&owner->wake, &owner->lock, &until);
            continue;
        }
        self->seen = owner->woken[self->index];
        pthread_mutex_unlock(&owner->lock);
        self->pause_ms = 0;
        int taken = s_pass(self);
        now = clock_mono_ms();
        if (taken < 0)
            metrics_add(owner->db_failures, 1);
        paused_until = self->pause_ms > 0 ? now + self->pause_ms : 0;
        if (self->pause_ms > 0)
            next_ms = paused_until;     /* new rows wait for the gateway too */
        else
            next_ms = taken == S_BATCH ? now : now + owner->cfg.poll_ms;
        pthread_mutex_lock(&owner->lock);
    }
    pthread_mutex_unlock(&owner->lock);
    return NULL;
}

/* --- life cycle ----------------------------------------------------------------------- */

static void s_worker_destroy(s_worker_t **self_p)
{
    s_worker_t *self = *self_p;
    if (!self)
        return;
    if (self->gateway)
        self->owner->cfg.provider->close(self->gateway);
    pgstore_destroy(&self->pg);
    free(self);
    *self_p = NULL;
}

static s_worker_t *s_worker_new(sn_sender_t *owner, int index)
{
    s_worker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->owner = owner;
    self->index = index;
    self->pg = pgstore_new(owner->cfg.pg_conninfo);
    self->gateway = self->pg ? owner->cfg.provider->open(&owner->cfg.gateway) : NULL;
    if (!self->gateway)
        s_worker_destroy(&self);
    return self;
}

sn_sender_t *sn_sender_new(const sn_sender_config_t *config, metrics_t *metrics)
{
    sn_sender_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *config;
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    self->callback_url = strdup(config->callback_url ? config->callback_url : "");
    self->accepted = metrics_counter(metrics, "sms_accepted_total",
                                     "SMS the gateway accepted.");
    self->retried = metrics_counter(metrics, "sms_retries_total",
                                    "Submissions the gateway did not take (tried again).");
    self->failed = metrics_counter(metrics, "sms_failed_total",
                                   "SMS given up: refused by the gateway, or too old.");
    self->db_failures = metrics_counter(metrics, "sender_db_failures_total",
                                        "Looks at the outbox that failed (database).");
    self->digests = metrics_counter(metrics, "sms_digests_total",
                                    "Digests sent in place of several alert SMS.");
    self->held = metrics_counter(metrics, "sms_held_total",
                                 "Alert SMS held for quiet hours or a recipient's rate.");
    if (!self->callback_url || !self->accepted || !self->retried || !self->failed
        || !self->db_failures || !self->digests || !self->held)
        goto err;
    int n = config->workers < 1 ? 1 : config->workers > S_WORKERS_MAX ? S_WORKERS_MAX
                                                                      : config->workers;
    for (self->nworkers = 0; self->nworkers < n; self->nworkers++)
        if (!(self->workers[self->nworkers] = s_worker_new(self, self->nworkers)))
            goto err;
    for (int i = 0; i < self->nworkers; i++) {
        s_worker_t *w = self->workers[i];
        if (pthread_create(&w->thread, NULL, s_run, w) != 0)
            goto err;
        w->running = true;
    }
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
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_broadcast(&self->wake);
    pthread_mutex_unlock(&self->lock);
    for (int i = 0; i < self->nworkers; i++) {
        if (self->workers[i] && self->workers[i]->running)
            pthread_join(self->workers[i]->thread, NULL);
        s_worker_destroy(&self->workers[i]);
    }
    free(self->callback_url);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

void sn_sender_note(sn_sender_t *self, const char *recipient_ids)
{
    if (!self || !recipient_ids)
        return;
    uint64_t shares = 0;
    for (const char *p = recipient_ids; *p;) {
        char *end;
        long long id = strtoll(p, &end, 10);
        if (end == p) {
            p++;
            continue;
        }
        /* as S_SHARE in sn_outbox.c: mod(abs(recipient_id), workers) */
        shares |= 1ULL << (llabs(id) % self->nworkers);
        p = end;
    }
    pthread_mutex_lock(&self->lock);
    self->noted |= shares;
    pthread_mutex_unlock(&self->lock);
}

void sn_sender_wake(sn_sender_t *self)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    for (int i = 0; i < self->nworkers; i++)
        if (!self->noted || (self->noted & (1ULL << i)))
            self->woken[i]++;
    self->noted = 0;
    pthread_cond_broadcast(&self->wake);
    pthread_mutex_unlock(&self->lock);
}
