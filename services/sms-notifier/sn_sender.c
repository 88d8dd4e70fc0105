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
#include "sn_sms.h"

#define S_BATCH 50              /* rows taken per look */

/* The kinds of SMS that wait for their recipient (quiet hours, rate) and
 * may be summarised: those to a supervisor about an alert. */
#define S_HELD_KINDS "('alert', 'reminder', 'escalation')"

/* Which worker a row falls to ($4 workers): a recipient's rows all to one,
 * so that its quiet hours, rate and digests are decided in one place. */
#define S_SHARE "mod(abs(coalesce(recipient_id::int8, hashtext(id::text)::int8)), $4::int)"

#define S_WORKERS_MAX 32

typedef struct s_worker_t s_worker_t;

struct sn_sender_t {
    sn_sender_config_t cfg;
    char *callback_url;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;                  /* guarded by lock */
    uint64_t woken;             /* guarded by lock: counts wake-ups */
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
    uint64_t seen;              /* owner->woken when it last looked */
    int pause_ms;               /* after a retry: the gateway is given time */
};

/* --- one row ------------------------------------------------------------------ */

typedef struct {
    const char *id, *phone, *body, *token;
    int attempts;
    double age_s;
} s_row_t;

static int s_backoff_ms(const s_worker_t *self, int attempts)
{
    int64_t ms = self->owner->cfg.retry_initial_ms;
    for (int i = 0; i < attempts && ms < self->owner->cfg.retry_max_ms; i++)
        ms *= 2;
    return (int) (ms < self->owner->cfg.retry_max_ms ? ms : self->owner->cfg.retry_max_ms);
}

static int s_accepted(s_worker_t *self, const s_row_t *row)
{
    const char *params[] = { row->id, self->owner->cfg.provider->name };
    /* a delivery report may have come first: it is not undone */
    return pgstore_exec(self->pg,
        "UPDATE sms_outbox SET state = CASE state WHEN 'queued' THEN 'accepted' "
        "  ELSE state END, accepted_at = now(), attempts = attempts + 1, provider = $2, "
        "  last_error = '' WHERE id = $1::uuid", 2, params);
}

static int s_failed(s_worker_t *self, const s_row_t *row, const char *reason)
{
    const char *params[] = { row->id, self->owner->cfg.provider->name, reason };
    return pgstore_exec(self->pg,
        "UPDATE sms_outbox SET state = 'failed', attempts = attempts + 1, provider = $2, "
        "  last_error = $3 WHERE id = $1::uuid AND state = 'queued'", 3, params);
}

static int s_retry(s_worker_t *self, const s_row_t *row, int delay_ms, const char *reason)
{
    char delay[24];
    snprintf(delay, sizeof delay, "%d", delay_ms);
    const char *params[] = { row->id, self->owner->cfg.provider->name, reason, delay };
    return pgstore_exec(self->pg,
        "UPDATE sms_outbox SET attempts = attempts + 1, provider = $2, last_error = $3, "
        "  next_at = now() + make_interval(secs => $4::int / 1000.0) "
        "WHERE id = $1::uuid AND state = 'queued'", 4, params);
}

/* Submits one row and writes the answer. 1 when the gateway should be
 * given time (a retry), 0 otherwise, -1 if the row could not be updated. */
static int s_send(s_worker_t *self, const s_row_t *row)
{
    char dlr_url[512] = "";
    if (*self->owner->callback_url)
        snprintf(dlr_url, sizeof dlr_url, "%s/sms/dlr?id=%s&token=%s%s", self->owner->callback_url,
                 row->id, row->token, self->owner->cfg.provider->dlr_suffix);
    sn_message_t msg = { row->id, row->phone, row->body, *dlr_url ? dlr_url : NULL };
    char reason[SN_PROVIDER_REASON_SIZE] = "";
    sn_send_result_t result = self->owner->cfg.provider->send(self->gateway, &msg, reason,
                                                       sizeof reason);
    if (result == SN_SEND_ACCEPTED) {
        metrics_add(self->owner->accepted, 1);
        log_debug("sms_accepted", "id=%s attempts=%d", row->id, row->attempts + 1);
        return s_accepted(self, row);
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
        return s_failed(self, row, why);
    }
    int delay = s_backoff_ms(self, row->attempts);
    metrics_add(self->owner->retried, 1);
    log_warn("sms_retry", "id=%s attempts=%d retry_ms=%d reason=\"%s\"", row->id,
             row->attempts + 1, delay, reason);
    self->pause_ms = delay;
    return s_retry(self, row, delay, reason) == 0 ? 1 : -1;
}

/* --- a look at the outbox ---------------------------------------------------------- */

/* Columns of the claim's rows. */
enum { C_ID, C_PHONE, C_BODY, C_TOKEN, C_ATTEMPTS, C_AGE, C_RECIPIENT, C_HELD, C_FREE_AT,
       C_BUDGET, C_KIND, C_FACTS, C_STALE };

static s_row_t s_row_of(const PGresult *res, int r)
{
    return (s_row_t) { PQgetvalue(res, r, C_ID), PQgetvalue(res, r, C_PHONE),
                       PQgetvalue(res, r, C_BODY), PQgetvalue(res, r, C_TOKEN),
                       atoi(PQgetvalue(res, r, C_ATTEMPTS)), atof(PQgetvalue(res, r, C_AGE)) };
}

/* The ids of rows [first, last) as an array literal (malloc'd). */
static char *s_ids(const PGresult *res, int first, int last)
{
    size_t size = 3 + (size_t) (last - first) * 37;
    char *ids = malloc(size);
    if (!ids)
        return NULL;
    size_t len = 0;
    ids[len++] = '{';
    for (int r = first; r < last; r++)
        len += (size_t) snprintf(ids + len, size - len, "%s%s", r > first ? "," : "",
                                 PQgetvalue(res, r, C_ID));
    snprintf(ids + len, size - len, "}");
    return ids;
}

/* A recipient not free yet (quiet hours, rate, gap): its rows wait until it is. */
static int s_hold(s_worker_t *self, const PGresult *res, int first, int last)
{
    char *ids = s_ids(res, first, last);
    const char *params[] = { ids, PQgetvalue(res, first, C_FREE_AT) };
    int rc = ids ? pgstore_exec(self->pg, "UPDATE sms_outbox SET next_at = $2::timestamptz "
                                "WHERE id = ANY($1::uuid[]) AND state = 'queued'", 2, params)
                 : -1;
    free(ids);
    if (rc == 0)
        metrics_add(self->owner->held, (uint64_t) (last - first));
    return rc;
}

/* Several alerts of one recipient: one digest in their place, written
 * before it is sent (the alerts become `digested`), then sent. As s_send. */
static int s_digest(s_worker_t *self, const PGresult *res, int first, int last)
{
    size_t n = (size_t) (last - first);
    sn_digest_item_t *items = calloc(n, sizeof *items);
    if (!items)
        return -1;
    for (int r = first; r < last; r++)
        items[r - first] = (sn_digest_item_t) { PQgetvalue(res, r, C_KIND),
                                                PQgetvalue(res, r, C_FACTS) };
    char *text = sn_digest_text(items, n);
    free(items);
    bool cut = false;
    char *body = text ? sn_sms_fit(text, self->owner->cfg.max_parts, &cut) : NULL;
    free(text);
    char *ids = s_ids(res, first, last);
    char lease[16];
    snprintf(lease, sizeof lease, "%d", self->owner->cfg.lease_s);
    const char *params[] = { ids, PQgetvalue(res, first, C_RECIPIENT),
                             PQgetvalue(res, first, C_PHONE), body, lease };
    PGresult *made = body && ids ? pgstore_query(self->pg,
        "WITH d AS (INSERT INTO sms_outbox (id, kind, recipient_id, phone, body, next_at) "
        "  VALUES (gen_random_uuid(), 'digest', $2::bigint, $3, $4, "
        "          now() + make_interval(secs => $5::int)) "
        "  RETURNING id, phone, body, dlr_token, created_at), "
        "u AS (UPDATE sms_outbox SET state = 'digested', digest_id = (SELECT id FROM d) "
        "  WHERE id = ANY($1::uuid[]) AND state = 'queued') "
        "SELECT id::text, phone, body, dlr_token::text, 0, 0.0 FROM d", 5, params) : NULL;
    free(ids);
    free(body);
    if (!made)
        return -1;
    metrics_add(self->owner->digests, 1);
    s_row_t row = s_row_of(made, 0);
    log_info("sms_digest", "id=%s recipient=%s alerts=%zu", row.id,
             PQgetvalue(res, first, C_RECIPIENT), n);
    int rc = s_send(self, &row);
    PQclear(made);
    return rc;
}

/* Lets rows [first, last) of a claim go before their lease ends: they are
 * tried at the next look (after a retry, when the gateway is given time). */
static void s_release(s_worker_t *self, const PGresult *res, int first, int last)
{
    if (first >= last)
        return;
    char *ids = s_ids(res, first, last);
    const char *params[] = { ids };
    if (ids)
        pgstore_exec(self->pg, "UPDATE sms_outbox SET next_at = now() "
                     "WHERE id = ANY($1::uuid[]) AND state = 'queued'", 1, params);
    free(ids);
}

/* Rows [first, last): one row to send, or one recipient's alerts (the
 * stale ones first): held; else the stale ones summarised, and the others
 * sent one by one while they fit the recipient's budget, else summarised.
 * As s_send. */
static int s_group(s_worker_t *self, const PGresult *res, int first, int last)
{
    if (PQgetvalue(res, first, C_HELD)[0] == 't')
        return s_hold(self, res, first, last) == 0 ? 0 : -1;
    int fresh = first;
    while (fresh < last && PQgetvalue(res, fresh, C_STALE)[0] == 't')
        fresh++;
    int budget = atoi(PQgetvalue(res, first, C_BUDGET));
    if (fresh > first) {
        int rc = s_digest(self, res, first, fresh);
        if (rc != 0) {
            s_release(self, res, fresh, last);
            return rc;
        }
        budget--;
    }
    bool alerts = *PQgetvalue(res, first, C_RECIPIENT) != '\0';
    if (alerts && last - fresh > budget)
        return fresh < last ? s_digest(self, res, fresh, last) : 0;
    for (int r = fresh; r < last; r++) {
        s_row_t row = s_row_of(res, r);
        int rc = s_send(self, &row);
        if (rc != 0) {
            s_release(self, res, r + 1, last);
            return rc;
        }
    }
    return 0;
}

/* Takes the due rows, holding them for the lease (with every due alert
 * of the recipients they reach, so that a digest takes them all), and
 * sends them: a customer's SMS or a digest as they are, a recipient's
 * alerts one by one when there is one, as a digest when there are more,
 * or not yet when the recipient is not free. The rows left after a retry
 * are let go at once. Returns the rows taken, or -1 if the database failed. */
static int s_pass(s_worker_t *self)
{
    if (pgstore_connect(self->pg, 0) != 0)
        return -1;
    char batch[16], lease[16], gap[16], workers[16], index[16];
    snprintf(batch, sizeof batch, "%d", S_BATCH);
    snprintf(lease, sizeof lease, "%d", self->owner->cfg.lease_s);
    snprintf(gap, sizeof gap, "%d", self->owner->cfg.digest_gap_s);
    snprintf(workers, sizeof workers, "%d", self->owner->nworkers);
    snprintf(index, sizeof index, "%d", self->index);
    const char *params[] = { batch, lease, gap, workers, index };
    PGresult *res = pgstore_query(self->pg,
        "WITH due AS (SELECT id, recipient_id, kind IN " S_HELD_KINDS " AS waits "
        "  FROM sms_outbox WHERE state = 'queued' AND next_at <= now() "
        "  AND " S_SHARE " = $5::int "
        "  ORDER BY next_at LIMIT $1::int FOR UPDATE SKIP LOCKED), "
        "more AS (SELECT o.id FROM sms_outbox o WHERE o.state = 'queued' "
        "  AND o.next_at <= now() AND o.kind IN " S_HELD_KINDS " AND o.recipient_id IN "
        "    (SELECT recipient_id FROM due WHERE waits) "
        "  AND o.id NOT IN (SELECT id FROM due) FOR UPDATE SKIP LOCKED), "
        "taken AS (UPDATE sms_outbox o SET next_at = now() + make_interval(secs => $2::int) "
        "  WHERE o.id IN (SELECT id FROM due UNION ALL SELECT id FROM more) "
        "  RETURNING o.*, o.kind IN " S_HELD_KINDS " AS waits), "
        "policy AS (SELECT x.r, sms_recipient_free_at(x.r, make_interval(secs => $3::int)) AS at, "
        "    CASE WHEN $3::int > 0 THEN 1 ELSE p.max_per_hour - (SELECT count(*) "
        "      FROM sms_outbox s WHERE s.phone = p.phone AND s.recipient_id IS NOT NULL "
        "      AND s.accepted_at > now() - interval '1 hour') END AS budget "
        "  FROM (SELECT DISTINCT recipient_id AS r FROM taken WHERE waits) x "
        "  JOIN alert_recipient p ON p.id = x.r) "
        "SELECT t.id::text, t.phone, t.body, t.dlr_token::text, t.attempts, "
        "  extract(epoch FROM now() - t.created_at)::float8, "
        "  CASE WHEN t.waits THEN t.recipient_id::text ELSE '' END, "
        "  coalesce(p.at > now(), false), p.at, coalesce(p.budget, 1), "
        "  CASE t.kind WHEN 'alert' THEN coalesce(a.kind, t.kind) ELSE t.kind END, "
        "  coalesce(a.facts::text, ''), coalesce(a.stale, false) "
        "FROM taken t LEFT JOIN policy p ON t.waits AND p.r = t.recipient_id "
        "LEFT JOIN alert a ON a.id = t.alert_id "
        "ORDER BY CASE WHEN t.waits THEN t.recipient_id END NULLS FIRST, "
        "  coalesce(a.stale, false) DESC, t.created_at",
        5, params);
    if (!res)
        return -1;
    int n = PQntuples(res), rc = n;
    for (int first = 0, last; first < n; first = last) {
        /* a group: one recipient's alerts, or one other row */
        const char *who = PQgetvalue(res, first, C_RECIPIENT);
        for (last = first + 1; *who && last < n
             && strcmp(PQgetvalue(res, last, C_RECIPIENT), who) == 0; last++)
            ;
        int sent = s_group(self, res, first, last);
        if (sent != 0) {
            if (sent < 0)
                rc = -1;
            s_release(self, res, last, n);
            break;
        }
    }
    PQclear(res);
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
        bool woken = owner->woken != self->seen;
        if (now < next_ms && !(woken && now >= paused_until)) {
            struct timespec until;
            clock_deadline(&until, (int) ((woken ? paused_until : next_ms) - now));
            pthread_cond_timedwait(&owner->wake, &owner->lock, &until);
            continue;
        }
        self->seen = owner->woken;
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

void sn_sender_wake(sn_sender_t *self)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->woken++;
    pthread_cond_broadcast(&self->wake);
    pthread_mutex_unlock(&self->lock);
}
