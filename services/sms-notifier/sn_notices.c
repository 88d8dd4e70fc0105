/*  sn_notices: SMS to customers on their tickets (sn_notices.h). */
#include "sn_notices.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/bus.h"
#include "eqms/id.h"
#include "eqms/log.h"
#include "eqms/looper.h"
#include "eqms/pgstore.h"
#include "eqms/qmclient.h"
#include "eqms/tailcursor.h"
#include "eqms/text.h"
#include "sn_customer.h"
#include "sn_store.h"

#define S_CURSOR_TABLE "sms_cursor"
#define S_CHUNK 5000            /* seqs of one branch read per query */
#define S_BRANCHES 256          /* branches looked at per pass, at most */
#define S_NEAR_MAX 50           /* tickets looked at per branch and pass */

struct sn_notices_t {
    sn_notices_config_t cfg;
    pgstore_t *pg;
    qmclient_t *qm;
    tailcursor_t *cursors;
    bus_t *bus;
    looper_t *loop;
    int64_t recheck[S_BRANCHES];    /* branches whose near check failed */
    size_t nrecheck;
    metrics_counter_t *sent, *failures;
};

typedef struct {
    sn_notices_t *self;
    int64_t branches[S_BRANCHES];
    size_t n;
    int written;
    int rc;
} s_pass_t;

static void s_add(int64_t *set, size_t *n, int64_t id)
{
    for (size_t i = 0; i < *n; i++)
        if (set[i] == id)
            return;
    if (*n < S_BRANCHES)
        set[(*n)++] = id;
}

/* One notice and its SMS, unless the ticket has that notice already.
 * 1 written, 0 had it, -1 failure. */
static int s_notice(sn_notices_t *self, const char *ticket, const char *kind,
                    const char *branch, const char *phone_in, char **text_p)
{
    char *text = *text_p;
    *text_p = NULL;
    char phone[SN_CUSTOMER_PHONE_SIZE], sms_id[ID_SIZE] = "";
    bool sendable = sn_customer_phone(phone_in, phone) == 0;
    if (!text || (sendable && id_new(sms_id) != 0)) {
        free(text);
        return -1;
    }
    const char *params[] = { ticket, kind, branch, sms_id };
    PGresult *res = pgstore_query(self->pg,
        "INSERT INTO sms_notice (ticket_id, kind, branch_id, sms_id) "
        "VALUES ($1::uuid, $2, $3::bigint, nullif($4, '')::uuid) "
        "ON CONFLICT (ticket_id, kind) DO NOTHING RETURNING 1", 4, params);
    int rc = res ? PQntuples(res) : -1;
    PQclear(res);
    if (rc == 1 && !sendable)
        log_info("sms_notice_skipped", "ticket=%s kind=%s reason=\"the ticket's phone is "
                 "not a mobile number\"", ticket, kind);
    if (rc == 1 && sendable
        && sn_store_sms(self->pg, sms_id, phone, text, self->cfg.max_parts) != 0)
        rc = -1;
    free(text);
    return rc;
}

/* The called notices of a branch's events in (after, upto]. 0 / -1. */
static int s_calls(sn_notices_t *self, s_pass_t *p, const char *branch, int64_t after,
                   int64_t upto)
{
    char a[TEXT_I64_SIZE], u[TEXT_I64_SIZE], age[TEXT_I64_SIZE];
    text_i64(a, after);
    text_i64(u, upto);
    text_i64(age, self->cfg.call_max_age_s);
    const char *params[] = { branch, a, u, age };
    PGresult *res = pgstore_query(self->pg,
        "SELECT e.ticket_id::text, e.number, e.window_no::text, t.phone, b.name "
        "FROM ticket_event e JOIN org_node b ON b.id = e.branch_id "
        "LEFT JOIN sms_branch sb ON sb.branch_id = e.branch_id "
        "JOIN ticket t ON t.id = e.ticket_id AND t.branch_id = e.branch_id "
        "     AND t.issued_at > now() - interval '2 days' "
        "WHERE e.branch_id = $1::bigint AND e.seq > $2::bigint AND e.seq <= $3::bigint "
        "  AND e.kind = 'called' AND e.at > now() - $4::bigint * interval '1 second' "
        "  AND t.phone IS NOT NULL AND coalesce(sb.call_notice, true) "
        "ORDER BY e.seq", 4, params);
    if (!res)
        return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc >= 0; r++) {
        char *text = sn_customer_called_text(PQgetvalue(res, r, 4), PQgetvalue(res, r, 1),
                                             PQgetvalue(res, r, 2));
        rc = s_notice(self, PQgetvalue(res, r, 0), "called", branch, PQgetvalue(res, r, 3),
                      &text);
        p->written += rc > 0;
    }
    PQclear(res);
    return rc < 0 ? -1 : 0;
}

static int s_branch_head(void *arg, const char *stream, int64_t pos, int64_t head)
{
    s_pass_t *p = arg;
    sn_notices_t *self = p->self;
    while (pos < head) {
        int64_t upto = head - pos > S_CHUNK ? pos + S_CHUNK : head;
        if (s_calls(self, p, stream, pos, upto) != 0
            || tailcursor_set(self->cursors, TAILCURSOR_TICKET, stream, upto, true) != 0) {
            p->rc = -1;
            return 1;
        }
        pos = upto;
    }
    s_add(p->branches, &p->n, strtoll(stream, NULL, 10));
    return 0;
}

/* The near notices of one branch. 0, 1 if queue-manager did not answer
 * (looked at again next pass), -1 on a database failure. */
static int s_near(sn_notices_t *self, s_pass_t *p, int64_t branch_id)
{
    char branch[TEXT_I64_SIZE], limit[TEXT_I64_SIZE];
    text_i64(branch, branch_id);
    text_i64(limit, S_NEAR_MAX);
    const char *params[] = { branch, limit };
    PGresult *res = pgstore_query(self->pg,
        "SELECT t.id::text, t.number, t.phone, coalesce(sb.near_ahead, 3), b.path::text, "
        "       b.name "
        "FROM org_node b LEFT JOIN sms_branch sb ON sb.branch_id = b.id "
        "JOIN ticket t ON t.branch_id = b.id "
        "     AND t.day = to_char(now() AT TIME ZONE b.time_zone, 'YYYYMMDD')::int "
        "WHERE b.id = $1::bigint AND t.phone IS NOT NULL AND NOT t.walk_in "
        "  AND coalesce(sb.near_ahead, 3) > 0 "
        "  AND coalesce(t.est_position, 2147483647) > coalesce(sb.near_ahead, 3) "
        "  AND NOT EXISTS (SELECT 1 FROM sms_notice n WHERE n.ticket_id = t.id) "
        "  AND NOT EXISTS (SELECT 1 FROM ticket_event e WHERE e.ticket_id = t.id "
        "      AND e.kind IN ('called', 'finished', 'no_show', 'abandoned')) "
        "ORDER BY t.issued_at LIMIT $2::int", 2, params);
    if (!res)
        return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        if (!self->qm) {
            rc = 1;
            break;
        }
        json_t *members = json_pack("{s:s}", "ticket", PQgetvalue(res, r, 0));
        qmclient_reply_t reply;
        qmclient_ticket_reply_t t;
        char reason[256];
        int qrc = qmclient_call(self->qm, "ticket.get", PQgetvalue(res, r, 4), "sms",
                                &members, self->cfg.qm_timeout_ms, &reply);
        if (qrc != 0 || (!reply.ok && strcmp(reply.error, "unavailable") == 0)) {
            rc = 1;
        }
        else if (reply.ok && qmclient_ticket_reply(&reply, &t, reason, sizeof reason) == 0
                 && t.waiting && t.position <= atoll(PQgetvalue(res, r, 3))) {
            char *text = sn_customer_near_text(PQgetvalue(res, r, 5), PQgetvalue(res, r, 1),
                                               t.position);
            int nrc = s_notice(self, PQgetvalue(res, r, 0), "near", branch,
                               PQgetvalue(res, r, 2), &text);
            rc = nrc < 0 ? -1 : 0;
            p->written += nrc > 0;
        }
        qmclient_reply_clear(&reply);
    }
    PQclear(res);
    return rc;
}

/* One pass: the streams behind, then the near checks, in one transaction.
 * Returns the notices written, or -1. */
static int s_catch_up(sn_notices_t *self)
{
    s_pass_t p = { .self = self };
    if (pgstore_connect(self->pg, 0) != 0 || pgstore_begin(self->pg) != 0)
        return -1;
    if (tailcursor_behind(self->cursors, self->pg, TAILCURSOR_TICKET,
                          TAILCURSOR_TICKET_HEADS_SQL, 0, NULL, s_branch_head, &p) < 0
        || p.rc < 0)
        goto err;
    for (size_t i = 0; i < self->nrecheck; i++)
        s_add(p.branches, &p.n, self->recheck[i]);
    int64_t recheck[S_BRANCHES];
    size_t nrecheck = 0;
    for (size_t i = 0; i < p.n; i++) {
        int rc = s_near(self, &p, p.branches[i]);
        if (rc < 0)
            goto err;
        if (rc > 0)
            s_add(recheck, &nrecheck, p.branches[i]);
    }
    if (tailcursor_save(self->cursors, self->pg, S_CURSOR_TABLE) != 0
        || pgstore_commit(self->pg) != 0)
        goto err;
    tailcursor_committed(self->cursors);
    memcpy(self->recheck, recheck, nrecheck * sizeof recheck[0]);
    self->nrecheck = nrecheck;
    return p.written;
err:
    pgstore_rollback(self->pg);
    tailcursor_rollback(self->cursors);
    return -1;
}

/* One turn of the loop (a looper_pass_fn). */
static int s_pass(void *arg)
{
    sn_notices_t *self = arg;
    int written = s_catch_up(self);
    if (written < 0) {
        metrics_add(self->failures, 1);
        return LOOPER_FAILED;
    }
    if (written > 0) {
        metrics_add(self->sent, written);
        sn_sender_wake(self->cfg.sender);
    }
    return LOOPER_IDLE;
}

sn_notices_t *sn_notices_new(const sn_notices_config_t *config, metrics_t *metrics)
{
    sn_notices_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *config;
    self->pg = pgstore_new(config->pg_conninfo);
    self->cursors = tailcursor_new();
    self->sent = metrics_counter(metrics, "notices_total",
                                 "Customer notices written (turn near, called).");
    self->failures = metrics_counter(metrics, "notices_failures_total",
                                     "Notice passes that failed (read again).");
    if (!self->pg || !self->cursors || !self->sent || !self->failures)
        goto err;
    if (config->qm_endpoint && *config->qm_endpoint) {
        self->qm = qmclient_new(config->qm_endpoint, "sms-notices");
        if (!self->qm)
            goto err;
    }
    if (pgstore_connect(self->pg, 0) != 0
        || tailcursor_load(self->cursors, self->pg, S_CURSOR_TABLE) != 0) {
        log_error("notifier_start_failed", "reason=\"cannot load sms_cursor\"");
        goto err;
    }
    if (config->bus_sub && *config->bus_sub) {
        self->bus = bus_new(NULL, config->bus_sub, "sms-notifier");
        if (!self->bus || bus_subscribe(self->bus, "ticket.") != 0)
            goto err;
    }
    looper_config_t loop = { .name = "notices", .bus = self->bus, .poll_ms = config->poll_ms,
                             .pass = s_pass, .ctx = self };
    self->loop = looper_start(&loop);
    if (!self->loop)
        goto err;
    return self;
err:
    sn_notices_destroy(&self);
    return NULL;
}

void sn_notices_destroy(sn_notices_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sn_notices_t *self = *self_p;
    looper_stop(&self->loop);
    bus_destroy(&self->bus);
    qmclient_destroy(&self->qm);
    tailcursor_destroy(&self->cursors);
    pgstore_destroy(&self->pg);
    free(self);
    *self_p = NULL;
}
