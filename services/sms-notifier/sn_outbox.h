/*  sn_outbox: the SMS outbox as a sending thread sees it (the SQL of
 *  docs/alerts.md, "Sending" and "Quiet hours, rate limits and digests").
 *
 *  A claim takes a thread's due rows and holds them for a lease (next_at
 *  moved ahead), with every due row of the recipients they reach, so that
 *  a digest takes them all; it says, per row, what the sender decides on:
 *  the recipient (for the rows that wait for one), whether the recipient
 *  is free now, when it will be, how many it may get now, whether the
 *  alert is stale, and what a digest would tell. Rows come grouped: each
 *  recipient's together (stale first), other rows one by one.
 */
#ifndef EQMS_SN_OUTBOX_H
#define EQMS_SN_OUTBOX_H

#include <stdbool.h>

#include "eqms/pgstore.h"
#include "sn_digest.h"

/* One row to submit (text borrowed from the claim or digest it came from). */
typedef struct {
    const char *id, *phone, *body, *token;
    int attempts;
    double age_s;               /* since the row was made */
} sn_outbox_row_t;

typedef struct sn_outbox_claim_t sn_outbox_claim_t;

typedef struct {
    int batch;                  /* due rows at most (more for their recipients) */
    int lease_s;
    int gap_s;                  /* EQMS_SMS_DIGEST_GAP_S */
    int share, shares;          /* this thread's share of the outbox: index, count */
} sn_outbox_claim_args_t;

/* Takes the thread's due rows. NULL if the database failed (logged). */
sn_outbox_claim_t *sn_outbox_claim(pgstore_t *pg, const sn_outbox_claim_args_t *args);
void sn_outbox_claim_destroy(sn_outbox_claim_t **self_p);

int sn_outbox_count(const sn_outbox_claim_t *self);

/* The end of the group that starts at row `first`. */
int sn_outbox_group_end(const sn_outbox_claim_t *self, int first);

sn_outbox_row_t sn_outbox_row(const sn_outbox_claim_t *self, int r);

/* "" for a row that waits for no recipient (a customer's, a digest). */
const char *sn_outbox_recipient(const sn_outbox_claim_t *self, int r);
bool sn_outbox_held(const sn_outbox_claim_t *self, int r);       /* not free now */
int sn_outbox_budget(const sn_outbox_claim_t *self, int r);      /* may get now */
bool sn_outbox_stale(const sn_outbox_claim_t *self, int r);
sn_digest_item_t sn_outbox_item(const sn_outbox_claim_t *self, int r);

/* --- what the sender writes ---------------------------------------------------- */

/* The gateway took it (a delivery report that came first is kept). 0 / -1. */
int sn_outbox_accepted(pgstore_t *pg, const char *id, const char *provider);

/* Failed for good with the reason. 0 / -1. */
int sn_outbox_failed(pgstore_t *pg, const char *id, const char *provider, const char *reason);

/* Tried again in delay_ms, with the reason. 0 / -1. */
int sn_outbox_retry(pgstore_t *pg, const char *id, const char *provider, int delay_ms,
                    const char *reason);

/* Rows [first, last) of a claim wait until their recipient is free. 0 / -1. */
int sn_outbox_hold(pgstore_t *pg, const sn_outbox_claim_t *claim, int first, int last);

/* Rows [first, last) of a claim are let go before their lease ends. */
void sn_outbox_release(pgstore_t *pg, const sn_outbox_claim_t *claim, int first, int last);

/* One digest of `body` in place of rows [first, last) of a claim (they
 * become digested), held for the lease, in one statement. Returns its row
 * in *row, valid until the returned result is PQclear'ed; NULL if the
 * database failed. */
PGresult *sn_outbox_digest(pgstore_t *pg, const sn_outbox_claim_t *claim, int first, int last,
                           const char *body, int lease_s, sn_outbox_row_t *row);

#endif
