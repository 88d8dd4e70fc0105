/*  sn_outbox: the SMS outbox as a sending thread sees it (sn_outbox.h). */
#include "sn_outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The kinds of SMS that wait for their recipient (quiet hours, rate) and
 * may be summarised: those to a supervisor about an alert. */
#define S_HELD_KINDS "('alert', 'reminder', 'escalation')"

/* Which share a row falls to ($4 shares): a recipient's rows all to one,
 * so that its quiet hours, rate and digests are decided in one place. */
#define S_SHARE "mod(abs(coalesce(recipient_id::int8, hashtext(id::text)::int8)), $4::int)"

/* Columns of the claim's rows. */
enum { C_ID, C_PHONE, C_BODY, C_TOKEN, C_ATTEMPTS, C_AGE, C_RECIPIENT, C_HELD, C_FREE_AT,
       C_BUDGET, C_KIND, C_FACTS, C_STALE };

struct sn_outbox_claim_t {
    PGresult *res;
};

sn_outbox_claim_t *sn_outbox_claim(pgstore_t *pg, const sn_outbox_claim_args_t *args)
{
    char batch[16], lease[16], gap[16], shares[16], share[16];
    snprintf(batch, sizeof batch, "%d", args->batch);
    snprintf(lease, sizeof lease, "%d", args->lease_s);
    snprintf(gap, sizeof gap, "%d", args->gap_s);
    snprintf(shares, sizeof shares, "%d", args->shares);
    snprintf(share, sizeof share, "%d", args->share);
    const char *params[] = { batch, lease, gap, shares, share };
    sn_outbox_claim_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->res = pgstore_query(pg,
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
    if (!self->res)
        sn_outbox_claim_destroy(&self);
    return self;
}

void sn_outbox_claim_destroy(sn_outbox_claim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    PQclear((*self_p)->res);
    free(*self_p);
    *self_p = NULL;
}

int sn_outbox_count(const sn_outbox_claim_t *self)
{
    return PQntuples(self->res);
}

int sn_outbox_group_end(const sn_outbox_claim_t *self, int first)
{
    const char *who = PQgetvalue(self->res, first, C_RECIPIENT);
    int last = first + 1, n = PQntuples(self->res);
    while (*who && last < n && strcmp(PQgetvalue(self->res, last, C_RECIPIENT), who) == 0)
        last++;
    return last;
}

static sn_outbox_row_t s_row(const PGresult *res, int r)
{
    return (sn_outbox_row_t) { PQgetvalue(res, r, C_ID), PQgetvalue(res, r, C_PHONE),
                               PQgetvalue(res, r, C_BODY), PQgetvalue(res, r, C_TOKEN),
                               atoi(PQgetvalue(res, r, C_ATTEMPTS)),
                               atof(PQgetvalue(res, r, C_AGE)) };
}

sn_outbox_row_t sn_outbox_row(const sn_outbox_claim_t *self, int r)
{
    return s_row(self->res, r);
}

const char *sn_outbox_recipient(const sn_outbox_claim_t *self, int r)
{
    return PQgetvalue(self->res, r, C_RECIPIENT);
}

bool sn_outbox_held(const sn_outbox_claim_t *self, int r)
{
    return PQgetvalue(self->res, r, C_HELD)[0] == 't';
}

int sn_outbox_budget(const sn_outbox_claim_t *self, int r)
{
    return atoi(PQgetvalue(self->res, r, C_BUDGET));
}

bool sn_outbox_stale(const sn_outbox_claim_t *self, int r)
{
    return PQgetvalue(self->res, r, C_STALE)[0] == 't';
}

sn_digest_item_t sn_outbox_item(const sn_outbox_claim_t *self, int r)
{
    return (sn_digest_item_t) { PQgetvalue(self->res, r, C_KIND),
                                PQgetvalue(self->res, r, C_FACTS) };
}

/* --- what the sender writes ---------------------------------------------------- */

int sn_outbox_accepted(pgstore_t *pg, const char *id, const char *provider)
{
    const char *params[] = { id, provider };
    return pgstore_exec(pg,
        "UPDATE sms_outbox SET state = CASE state WHEN 'queued' THEN 'accepted' "
        "  ELSE state END, accepted_at = now(), attempts = attempts + 1, provider = $2, "
        "  last_error = '' WHERE id = $1::uuid", 2, params);
}

int sn_outbox_failed(pgstore_t *pg, const char *id, const char *provider, const char *reason)
{
    const char *params[] = { id, provider, reason };
    return pgstore_exec(pg,
        "UPDATE sms_outbox SET state = 'failed', attempts = attempts + 1, provider = $2, "
        "  last_error = $3 WHERE id = $1::uuid AND state = 'queued'", 3, params);
}

int sn_outbox_retry(pgstore_t *pg, const char *id, const char *provider, int delay_ms,
                    const char *reason)
{
    char delay[24];
    snprintf(delay, sizeof delay, "%d", delay_ms);
    const char *params[] = { id, provider, reason, delay };
    return pgstore_exec(pg,
        "UPDATE sms_outbox SET attempts = attempts + 1, provider = $2, last_error = $3, "
        "  next_at = now() + make_interval(secs => $4::int / 1000.0) "
        "WHERE id = $1::uuid AND state = 'queued'", 4, params);
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

int sn_outbox_hold(pgstore_t *pg, const sn_outbox_claim_t *claim, int first, int last)
{
    char *ids = s_ids(claim->res, first, last);
    const char *params[] = { ids, PQgetvalue(claim->res, first, C_FREE_AT) };
    int rc = ids ? pgstore_exec(pg, "UPDATE sms_outbox SET next_at = $2::timestamptz "
                                "WHERE id = ANY($1::uuid[]) AND state = 'queued'", 2, params)
                 : -1;
    free(ids);
    return rc;
}

void sn_outbox_release(pgstore_t *pg, const sn_outbox_claim_t *claim, int first, int last)
{
    if (first >= last)
        return;
    char *ids = s_ids(claim->res, first, last);
    const char *params[] = { ids };
    if (ids)
        pgstore_exec(pg, "UPDATE sms_outbox SET next_at = now() "
                     "WHERE id = ANY($1::uuid[]) AND state = 'queued'", 1, params);
    free(ids);
}

PGresult *sn_outbox_digest(pgstore_t *pg, const sn_outbox_claim_t *claim, int first, int last,
                           const char *body, int lease_s, sn_outbox_row_t *row)
{
    char *ids = s_ids(claim->res, first, last);
    char lease[16];
    snprintf(lease, sizeof lease, "%d", lease_s);
    const char *params[] = { ids, PQgetvalue(claim->res, first, C_RECIPIENT),
                             PQgetvalue(claim->res, first, C_PHONE), body, lease };
    PGresult *made = ids ? pgstore_query(pg,
        "WITH d AS (INSERT INTO sms_outbox (id, kind, recipient_id, phone, body, next_at) "
        "  VALUES (gen_random_uuid(), 'digest', $2::bigint, $3, $4, "
        "          now() + make_interval(secs => $5::int)) "
        "  RETURNING id, phone, body, dlr_token, created_at), "
        "u AS (UPDATE sms_outbox SET state = 'digested', digest_id = (SELECT id FROM d) "
        "  WHERE id = ANY($1::uuid[]) AND state = 'queued') "
        "SELECT id::text, phone, body, dlr_token::text, 0, 0.0 FROM d", 5, params) : NULL;
    free(ids);
    if (made)
        *row = s_row(made, 0);
    return made;
}
