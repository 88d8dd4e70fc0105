/*  sn_inbound: inbound SMS become tickets (sn_inbound.h). */
#include "sn_inbound.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/id.h"
#include "eqms/log.h"
#include "eqms/pgstore.h"
#include "eqms/qmclient.h"
#include "eqms/text.h"
#include "eqms/utf8.h"
#include "sn_customer.h"
#include "sn_store.h"

/* A claim younger than this is another handler's, still at work (a
 * gateway retry meanwhile gets 503); an older one was left by a crash or
 * a failure and is taken over. Added to the queue-manager timeout. */
#define S_CLAIM_MARGIN_MS 2000
#define S_TEXT_MAX 1600
#define S_KEYWORDS_LISTED 6

struct sn_inbound_t {
    sn_inbound_config_t cfg;
    char provider[32];
    pgstore_t *pg;                  /* guarded by lock, as is qm */
    qmclient_t *qm;
    pthread_mutex_t lock;
    metrics_counter_t *received, *issued, *refused;
};

/* What the handling of one message knows. */
typedef struct {
    const char *message_id, *phone, *to, *text;
    char inbound_id[ID_SIZE];
    char branch_id[TEXT_I64_SIZE], day[TEXT_I64_SIZE];
    char branch_path[256], branch_name[128], time_zone[64];
    int daily_limit;
    char keyword[SN_CUSTOMER_KEYWORD_SIZE];
    char service_id[TEXT_I64_SIZE], service_code[40];
    bool taken_over;                /* a claim left unfinished, taken over */
} s_msg_t;

static bool s_message_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7F)
            return false;
    return true;
}

static bool s_number_valid(const char *s)
{
    if (*s == '+')
        s++;
    size_t n = strlen(s);
    return n >= 3 && n <= 20 && strspn(s, "0123456789") == n;
}

/* The branch whose service number `to` is, with its day and limit.
 * 1 found, 0 none, -1 database failure. */
static int s_branch(sn_inbound_t *self, s_msg_t *m)
{
    const char *to = m->to[0] == '+' ? m->to + 1 : m->to;
    const char *params[] = { to };
    PGresult *res = pgstore_query(self->pg,
        "SELECT b.id::text, b.path::text, b.name, sb.daily_limit, "
        "       to_char(now() AT TIME ZONE b.time_zone, 'YYYYMMDD'), b.time_zone "
        "FROM sms_branch sb JOIN org_node b ON b.id = sb.branch_id "
        "WHERE sb.service_number = $1", 1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        text_copy(m->branch_id, sizeof m->branch_id, PQgetvalue(res, 0, 0));
        text_copy(m->branch_path, sizeof m->branch_path, PQgetvalue(res, 0, 1));
        text_copy(m->branch_name, sizeof m->branch_name, PQgetvalue(res, 0, 2));
        m->daily_limit = atoi(PQgetvalue(res, 0, 3));
        text_copy(m->day, sizeof m->day, PQgetvalue(res, 0, 4));
        text_copy(m->time_zone, sizeof m->time_zone, PQgetvalue(res, 0, 5));
    }
    PQclear(res);
    return found;
}

/* Claims the message: a new row, or a claim older than the margin taken
 * over. 1 claimed, 0 handled already (*state set) or being handled now
 * (*state "issuing"), -1 database failure. */
static int s_claim(sn_inbound_t *self, s_msg_t *m, char *state, size_t size)
{
    if (id_new(m->inbound_id) != 0)
        return -1;
    char margin[TEXT_I64_SIZE];
    text_i64(margin, self->cfg.qm_timeout_ms + S_CLAIM_MARGIN_MS);
    const char *params[] = { m->inbound_id, self->provider, m->message_id, m->phone, m->to,
                             m->text, m->branch_id, m->day, margin };
    PGresult *res = pgstore_query(self->pg,
        "WITH ins AS (INSERT INTO sms_inbound (id, provider, message_id, phone, "
        "             service_number, body, branch_id, day) "
        "             VALUES ($1::uuid, $2, $3, $4, $5, $6, $7::bigint, $8::int) "
        "             ON CONFLICT (provider, message_id) DO NOTHING RETURNING id), "
        "old AS (UPDATE sms_inbound SET claimed_at = now(), attempts = attempts + 1 "
        "        WHERE provider = $2 AND message_id = $3 AND NOT EXISTS (SELECT 1 FROM ins) "
        "          AND state = 'issuing' "
        "          AND claimed_at < now() - $9::bigint * interval '1 millisecond' "
        "        RETURNING id) "
        "SELECT id::text, 'new', 'issuing' FROM ins "
        "UNION ALL SELECT id::text, 'taken', 'issuing' FROM old "
        "UNION ALL SELECT id::text, 'seen', state FROM sms_inbound "
        "  WHERE provider = $2 AND message_id = $3 "
        "    AND NOT EXISTS (SELECT 1 FROM ins) AND NOT EXISTS (SELECT 1 FROM old)",
        9, params);
    if (!res)
        return -1;
    int rc = -1;
    if (PQntuples(res) == 1) {
        const char *how = PQgetvalue(res, 0, 1);
        text_copy(m->inbound_id, sizeof m->inbound_id, PQgetvalue(res, 0, 0));
        text_copy(state, size, PQgetvalue(res, 0, 2));
        m->taken_over = strcmp(how, "taken") == 0;
        rc = strcmp(how, "seen") == 0 ? 0 : 1;
    }
    PQclear(res);
    return rc;
}

/* The service the keyword names at the branch, and the list of keywords
 * for a reply. 1 found, 0 not (list filled), -1 database failure. */
static int s_keyword(sn_inbound_t *self, s_msg_t *m, char *list, size_t size)
{
    const char *params[] = { m->branch_id };
    PGresult *res = pgstore_query(self->pg,
        "WITH b AS (SELECT path FROM org_node WHERE id = $1::bigint) "
        "SELECT * FROM ("
        " SELECT k.keyword, s.id::text, s.code, s.name, 0 AS prio, nlevel(n.path) AS depth "
        " FROM sms_keyword k JOIN org_node n ON n.id = k.node_id "
        " JOIN service s ON s.id = k.service_id, b WHERE b.path <@ n.path AND s.active "
        " UNION ALL "
        " (SELECT DISTINCT ON (q.id) q.prefix, s.id::text, s.code, q.name, 1, 0 "
        "  FROM service s JOIN queue q ON q.id = s.queue_id "
        "  JOIN org_node n ON n.id = s.node_id, b WHERE b.path <@ n.path AND s.active "
        "  ORDER BY q.id, s.id) "
        " UNION ALL "
        " SELECT s.code, s.id::text, s.code, s.name, 2, 0 "
        " FROM service s JOIN org_node n ON n.id = s.node_id, b "
        " WHERE b.path <@ n.path AND s.active) x "
        "ORDER BY prio, depth DESC, keyword", 1, params);
    if (!res)
        return -1;
    int found = 0, listed = 0, configured = 0;
    size_t used = 0;
    list[0] = '\0';
    for (int r = 0; r < PQntuples(res); r++) {
        int prio = atoi(PQgetvalue(res, r, 4));
        char word[SN_CUSTOMER_KEYWORD_SIZE];
        if (sn_customer_keyword(PQgetvalue(res, r, 0), word, sizeof word) != 0)
            continue;
        if (!found && *m->keyword && strcmp(word, m->keyword) == 0) {
            found = 1;
            text_copy(m->service_id, sizeof m->service_id, PQgetvalue(res, r, 1));
            text_copy(m->service_code, sizeof m->service_code, PQgetvalue(res, r, 2));
        }
        configured += prio == 0;
        /* The list: the configured keywords, or else the queues' letters. */
        if (listed < S_KEYWORDS_LISTED && (prio == 0 || (prio == 1 && configured == 0))) {
            int n = snprintf(list + used, size - used, "%s%s %s", listed ? "，" : "",
                             PQgetvalue(res, r, 0), PQgetvalue(res, r, 3));
            if (n > 0 && (size_t) n < size - used) {
                used += (size_t) n;
                listed++;
            }
            else
                list[used] = '\0';
        }
    }
    PQclear(res);
    return found;
}

/* Tickets issued today for the phone by SMS, and whether it was refused
 * for the limit today already. -1 on failure. */
static int s_today(sn_inbound_t *self, s_msg_t *m, bool *refused_today)
{
    const char *params[] = { m->phone, m->day, m->inbound_id };
    PGresult *res = pgstore_query(self->pg,
        "SELECT count(*) FILTER (WHERE state = 'issued'), "
        "       count(*) FILTER (WHERE state = 'over_limit') "
        "FROM sms_inbound WHERE phone = $1 AND day = $2::int AND id <> $3::uuid", 3, params);
    if (!res)
        return -1;
    int issued = atoi(PQgetvalue(res, 0, 0));
    *refused_today = atoi(PQgetvalue(res, 0, 1)) > 0;
    PQclear(res);
    return issued;
}

/* The outcome and its reply (NULL: none) in one transaction. 0 / -1. */
static int s_finish(sn_inbound_t *self, s_msg_t *m, const char *state, const char *ticket_id,
                    const char *number, const char *reason, char **text_p)
{
    char *text = *text_p;
    *text_p = NULL;
    char sms_id[ID_SIZE];
    const char *params[] = { m->inbound_id, state, ticket_id, number, reason, m->keyword,
                             *m->service_id ? m->service_id : "0" };
    int rc = -1;
    if ((text && id_new(sms_id) != 0) || pgstore_begin(self->pg) != 0)
        goto done;
    if (pgstore_exec(self->pg,
            "UPDATE sms_inbound SET state = $2, ticket_id = nullif($3, '')::uuid, "
            "  ticket_number = nullif($4, ''), reason = $5, keyword = $6, "
            "  service_id = nullif($7, '0')::bigint "
            "WHERE id = $1::uuid AND state = 'issuing'", 7, params) != 0
        || (text && sn_store_sms(self->pg, sms_id, m->phone, text, self->cfg.max_parts) != 0)
        || pgstore_commit(self->pg) != 0) {
        pgstore_rollback(self->pg);
        goto done;
    }
    rc = 0;
    if (text)
        sn_sender_wake(self->cfg.sender);
done:
    free(text);
    return rc;
}

/* A ticket the message's claim got before it was left unfinished. 1 found
 * (*t filled), 0 none, -1 failure. */
static int s_ticket_of_claim(sn_inbound_t *self, s_msg_t *m, qmclient_ticket_reply_t *t)
{
    char actor[64];
    snprintf(actor, sizeof actor, "sms:%s", m->inbound_id);
    const char *params[] = { actor, m->branch_id, m->day };
    PGresult *res = pgstore_query(self->pg,
        "SELECT id::text, number, coalesce(est_position, 0), coalesce(est_wait_s, 0) "
        "FROM ticket WHERE branch_id = $2::bigint AND day = $3::int AND actor = $1 "
        "ORDER BY issued_at LIMIT 1", 3, params);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        memset(t, 0, sizeof *t);
        text_copy(t->ticket.id, sizeof t->ticket.id, PQgetvalue(res, 0, 0));
        text_copy(t->ticket.number, sizeof t->ticket.number, PQgetvalue(res, 0, 1));
        t->position = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
        t->est_wait_s = strtoll(PQgetvalue(res, 0, 3), NULL, 10);
    }
    PQclear(res);
    return found;
}

/* The reply to a ticket queue-manager refused: when issuing resumes, in the
 * branch's local time, when its opening hours refused it; else the
 * general apology. NULL when memory ran out. */
static char *s_refused_text(const s_msg_t *m, const qmclient_reply_t *reply)
{
    if (strcmp(reply->error, "closed") != 0 && strcmp(reply->error, "issuing_stopped") != 0)
        return sn_customer_refused_text(m->branch_name);
    clock_zone_t *zone = clock_zone_new(m->time_zone);
    clock_date_t today, resumes;
    int64_t ms;
    int minute = -1;
    char *text;
    if (zone && clock_local_date(zone, clock_now_ms(), &today) == 0) {
        bool known = reply->resumes[0] && clock_parse_rfc3339(reply->resumes, &ms) == 0
                     && clock_local_date(zone, ms, &resumes) == 0
                     && (minute = clock_local_minute(zone, ms)) >= 0;
        text = sn_customer_not_issuing_text(m->branch_name, today, known ? &resumes : NULL,
                                            known ? minute : 0);
    } else {
        text = sn_customer_refused_text(m->branch_name);
    }
    clock_zone_destroy(&zone);
    return text;
}

/* Asks queue-manager for the ticket (or finds the one a left claim got).
 * The HTTP status. */
static unsigned s_issue(sn_inbound_t *self, s_msg_t *m)
{
    qmclient_ticket_reply_t t;
    int found = m->taken_over ? s_ticket_of_claim(self, m, &t) : 0;
    if (found < 0)
        return 503;
    if (!found) {
        char actor[64], reason[256];
        snprintf(actor, sizeof actor, "sms:%s", m->inbound_id);
        json_t *members = json_pack("{s:s, s:s}", "service_code", m->service_code,
                                    "phone", m->phone);
        qmclient_reply_t reply;
        int rc = qmclient_call(self->qm, "ticket.issue", m->branch_path, actor, &members,
                               self->cfg.qm_timeout_ms, &reply);
        if (rc != 0 || qmclient_outcome_unknown(&reply)
            || (!reply.ok && strcmp(reply.error, "unavailable") == 0)) {
            /* Unknown or not done: the claim stays; the gateway's retry,
             * after the claim's margin, looks for its ticket first. */
            log_warn("sms_inbound_pending", "id=%s message=%s error=%s reason=\"%s\"",
                     m->inbound_id, m->message_id, rc == QMCLIENT_TIMEOUT ? "timeout"
                     : rc ? "failed" : reply.error, rc ? "no reply from queue-manager"
                     : reply.reason);
            qmclient_reply_clear(&reply);
            return 503;
        }
        if (!reply.ok) {
            log_info("sms_ticket_refused", "id=%s branch=%s service=%s error=%s reason=\"%s\"",
                     m->inbound_id, m->branch_path, m->service_code, reply.error,
                     reply.reason);
            char *text = s_refused_text(m, &reply);
            int frc = text ? s_finish(self, m, "refused", "", "", reply.error, &text) : -1;
            qmclient_reply_clear(&reply);
            return frc == 0 ? 200 : 503;
        }
        rc = qmclient_ticket_reply(&reply, &t, reason, sizeof reason);
        qmclient_reply_clear(&reply);
        if (rc != 0) {
            log_error("sms_inbound_pending", "id=%s reason=\"%s\"", m->inbound_id, reason);
            return 503;
        }
    }
    char *text = sn_customer_issued_text(m->branch_name, t.ticket.number, t.position,
                                         t.est_wait_s);
    if (!text || s_finish(self, m, "issued", t.ticket.id, t.ticket.number, "", &text) != 0) {
        free(text);
        /* The ticket is issued; the retry finds it by its actor. */
        log_warn("sms_inbound_pending", "id=%s ticket=%s reason=\"the outcome could not "
                 "be written\"", m->inbound_id, t.ticket.number);
        return 503;
    }
    metrics_add(self->issued, 1);
    log_info("sms_ticket_issued", "id=%s message=%s branch=%s ticket=%s position=%lld",
             m->inbound_id, m->message_id, m->branch_path, t.ticket.number,
             (long long) t.position);
    return 200;
}

/* Decides a claimed message. The HTTP status. */
static unsigned s_decide(sn_inbound_t *self, s_msg_t *m)
{
    char list[512];
    int found = s_keyword(self, m, list, sizeof list);
    if (found < 0)
        return 503;
    char *text = NULL;
    const char *state = NULL;
    if (!found) {
        state = "unknown_keyword";
        text = sn_customer_unknown_text(m->branch_name, list);
    }
    else {
        bool refused_today = false;
        int issued = s_today(self, m, &refused_today);
        if (issued < 0)
            return 503;
        if (issued >= m->daily_limit) {
            state = refused_today ? "over_limit_silent" : "over_limit";
            text = refused_today ? NULL : sn_customer_limit_text(m->branch_name,
                                                                 m->daily_limit);
        }
    }
    if (!state)
        return s_issue(self, m);
    log_info("sms_inbound_refused", "id=%s message=%s branch=%s keyword=\"%s\" outcome=%s",
             m->inbound_id, m->message_id, m->branch_path, m->keyword, state);
    return s_finish(self, m, state, "", "", "", &text) == 0 ? 200 : 503;
}

static const char *const s_args[] = { "from", "to", "text", "coding", "charset", "smsc",
                                      "time", "id", NULL };

static void s_bad(sn_inbound_t *self, const httpd_req_t *req, httpd_reply_t *reply,
                  const char *reason)
{
    metrics_add(self->refused, 1);
    log_warn("sms_inbound_refused", "peer=%s id=%s reason=\"%s\"", httpd_req_peer(req),
             httpd_req_arg(req, "id") && s_message_id_valid(httpd_req_arg(req, "id"))
             ? httpd_req_arg(req, "id") : "", reason);
    httpd_reply_text(reply, 400, "%s\n", reason);
}

void sn_inbound_handle(sn_inbound_t *self, const httpd_req_t *req, httpd_reply_t *reply)
{
    char reason[256], phone[SN_CUSTOMER_PHONE_SIZE];
    s_msg_t m;
    memset(&m, 0, sizeof m);
    m.message_id = httpd_req_arg(req, "id");
    m.to = httpd_req_arg(req, "to");
    m.text = httpd_req_arg(req, "text");
    const char *from = httpd_req_arg(req, "from");
    if (httpd_req_args_check(req, s_args, reason, sizeof reason) != 0)
        return s_bad(self, req, reply, reason);
    if (!m.message_id || !from || !m.to || !m.text)
        return s_bad(self, req, reply, "id, from, to and text are required");
    if (!s_message_id_valid(m.message_id))
        return s_bad(self, req, reply, "id must be 1..64 printable ASCII characters");
    if (!s_number_valid(m.to))
        return s_bad(self, req, reply, "to must be 3..20 digits");
    if (sn_customer_phone(from, phone) != 0)
        return s_bad(self, req, reply, "from is not a phone number");
    if (strlen(m.text) > S_TEXT_MAX || !utf8_valid(m.text, strlen(m.text)))
        return s_bad(self, req, reply, "text must be valid UTF-8 of at most 1600 bytes");
    m.phone = phone;
    if (sn_customer_keyword(m.text, m.keyword, sizeof m.keyword) != 0)
        m.keyword[0] = '\0';                /* too long for a keyword: unknown */
    metrics_add(self->received, 1);

    unsigned status = 503;
    char state[32] = "";
    pthread_mutex_lock(&self->lock);
    int rc = pgstore_connect(self->pg, 0) == 0 ? s_branch(self, &m) : -1;
    if (rc == 0) {
        log_info("sms_inbound_ignored", "message=%s to=%s reason=\"no branch has this "
                 "service number\"", m.message_id, m.to);
        status = 200;
        snprintf(state, sizeof state, "ignored");
    }
    else if (rc == 1 && !self->qm)
        log_warn("sms_inbound_pending", "message=%s reason=\"EQMS_QM_ENDPOINT is empty\"",
                 m.message_id);
    else if (rc == 1 && (rc = s_claim(self, &m, state, sizeof state)) == 0) {
        /* handled already (200), or by another handler right now (503) */
        status = strcmp(state, "issuing") == 0 ? 503 : 200;
        log_info("sms_inbound_repeated", "id=%s message=%s state=%s", m.inbound_id,
                 m.message_id, state);
    }
    else if (rc == 1) {
        status = s_decide(self, &m);
        snprintf(state, sizeof state, "%s", status == 200 ? "done" : "pending");
    }
    pthread_mutex_unlock(&self->lock);
    if (status == 200)
        httpd_reply_text(reply, 200, "ok %s\n", state);
    else
        httpd_reply_text(reply, 503, "not done yet, try again\n");
}

sn_inbound_t *sn_inbound_new(const sn_inbound_config_t *config, metrics_t *metrics)
{
    sn_inbound_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *config;
    pthread_mutex_init(&self->lock, NULL);
    text_copy(self->provider, sizeof self->provider, config->provider);
    self->pg = pgstore_new(config->pg_conninfo);
    self->received = metrics_counter(metrics, "inbound_total",
                                     "Inbound SMS received (well-formed).");
    self->issued = metrics_counter(metrics, "inbound_tickets_total",
                                   "Tickets issued for inbound SMS.");
    self->refused = metrics_counter(metrics, "inbound_refused_total",
                                    "Inbound requests refused as malformed (400).");
    if (!self->pg || !self->received || !self->issued || !self->refused)
        goto err;
    if (config->qm_endpoint && *config->qm_endpoint) {
        self->qm = qmclient_new(config->qm_endpoint, "sms-inbound");
        if (!self->qm)
            goto err;
    }
    return self;
err:
    sn_inbound_destroy(&self);
    return NULL;
}

void sn_inbound_destroy(sn_inbound_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sn_inbound_t *self = *self_p;
    qmclient_destroy(&self->qm);
    pgstore_destroy(&self->pg);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}
