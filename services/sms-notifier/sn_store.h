/*  sn_store: sms-notifier's PostgreSQL (docs/alerts.md).
 *
 *  Reads the unsatisfied ratings of a gateway journal with everything an
 *  alert names (the rule that applies to the branch, its recipients, the
 *  teller's figures of the day up to that rating), and writes an alert, its
 *  `opened` event and its SMS rows; the caller commits them with its
 *  cursors (sn_store_begin / sn_store_commit), so that what a restart reads
 *  again is written once (alert_fact_unique).
 */
#ifndef EQMS_SN_STORE_H
#define EQMS_SN_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "eqms/id.h"
#include "eqms/pgstore.h"
#include "eqms/tailcursor.h"

typedef struct sn_store_t sn_store_t;

/* An unsatisfied rating and what its alert needs (text borrowed from the
 * query's result: valid during the callback). */
typedef struct {
    const char *rating_id;
    int64_t event_ms;
    int64_t branch_id, window_id, staff_id;
    const char *branch_name, *window_no, *teller, *employee_no, *ticket, *service,
        *option, *local_time;
    int64_t unsatisfied_today, rated_today;
    const char *rule_template;       /* NULL: no enabled rule applies */
    const char *recipient_ids;       /* array literal, "{}" when none */
} sn_rating_t;

typedef int (sn_rating_fn)(void *arg, const sn_rating_t *rating);

/* Takes *pg_p. NULL on allocation failure. */
sn_store_t *sn_store_new(pgstore_t **pg_p);
void sn_store_destroy(sn_store_t **self_p);

/* Loads the committed positions into `cursors`. 0 / -1. */
int sn_store_load_cursors(sn_store_t *self, tailcursor_t *cursors);

/* Calls fn for every gateway journal whose head is above its position
 * (tailcursor_behind). */
int sn_store_gateway_heads(sn_store_t *self, const tailcursor_t *cursors,
                           tailcursor_behind_fn *fn, void *arg);

/* Calls fn for each unsatisfied rating of the journal `stream` with
 * gateway_seq in (after, upto], in seq order. 0, -1 if the query failed,
 * or fn's non-zero value. */
int sn_store_unsatisfied(sn_store_t *self, const char *stream, int64_t after, int64_t upto,
                         sn_rating_fn *fn, void *arg);

/* An alert to write (borrowed). */
typedef struct {
    const char *kind;                /* "unsatisfied_rating", "unsatisfied_share" */
    const char *fact;                /* what raised it: unique per kind */
    int64_t branch_id, window_id, staff_id;      /* window, staff: 0 = none */
    int64_t opened_ms;               /* when its fact happened */
    bool stale;                      /* the fact was old when met: told in a digest */
    const char *recipient_ids;       /* array literal of alert_recipient ids */
} sn_alert_row_t;

/* In the open transaction: the alert with its `opened` event and one
 * queued SMS per recipient, `text` to those allowed complaint details
 * (alert_recipient.complaint_details), `plain_text` (NULL: the same) to
 * the others, unless an alert of that kind and fact exists already.
 * 1 written, 0 existed, -1 on failure. */
int sn_store_alert(sn_store_t *self, const sn_alert_row_t *alert, const char *facts_json,
                   const char *text, const char *plain_text);

/* In the open transaction: the alert of that kind and fact resolved by
 * sms-notifier with `note` (alert_resolve). 0, or -1 on failure. */
int sn_store_resolve_fact(sn_store_t *self, const char *kind, const char *fact,
                          const char *note);

/* A member of a threshold rule (alert_threshold_members; text borrowed
 * from the query's result: valid during the callback). */
typedef struct {
    const char *kind;                /* "unsatisfied_share", ... (alerttpl_kind) */
    int64_t branch_id, window_id, staff_id;     /* window, staff: 0 = none */
    const char *member;              /* "window:12", "teller:7", "device:EQ-0001" */
    bool firing;
    const char *open_alert;          /* "" when none is open */
    const char *template;            /* NULL: the rule is gone or off */
    const char *fields_json;         /* {"branch": ..., ...}: what the text may name */
    const char *note;                /* the resolution's note when it cleared */
    const char *recipient_ids;       /* array literal */
} sn_threshold_t;

typedef int (sn_threshold_fn)(void *arg, const sn_threshold_t *member);

/* Calls fn for every member firing or with an open alert. 0, -1 if the
 * query failed, or fn's non-zero value. */
int sn_store_threshold_members(sn_store_t *self, sn_threshold_fn *fn, void *arg);

/* Resolves an open threshold alert that cleared, with `note`. 0 / -1. */
int sn_store_resolve(sn_store_t *self, const char *alert_id, const char *note);

/* Reminders and escalations due (alert_lifecycle_pass), committed. The SMS
 * rows made, or -1. */
int sn_store_lifecycle(sn_store_t *self);

/* In `pg`'s open transaction: one queued SMS of `text` (fitted to
 * max_parts, sn_sms_fit) to `phone` (E.164), outside any alert, with the
 * id `sms_id` (the caller's id_new). 0 / -1. Customer messages (sn_inbound, sn_notices) use it. */
int sn_store_sms(pgstore_t *pg, const char *sms_id, const char *phone, const char *text,
                 int max_parts);

int sn_store_begin(sn_store_t *self);

/* Writes the changed positions and commits. 0 / -1 (rolled back). */
int sn_store_commit(sn_store_t *self, const tailcursor_t *cursors);
void sn_store_rollback(sn_store_t *self);

#endif
