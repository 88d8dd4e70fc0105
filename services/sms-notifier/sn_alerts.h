/*  sn_alerts: an unsatisfied rating made into its alert and SMS text
 *  (docs/alerts.md, "Unsatisfied rating").
 *
 *  The text comes from the rule that applies to the branch (sn_store reads
 *  it); a rule whose template is malformed or names an unknown placeholder
 *  is refused once with its reason in the log, and its alerts are written
 *  with the built-in template instead, so that a typo in the configuration
 *  never silences an alert. A branch no enabled rule covers raises none.
 */
#ifndef EQMS_SN_ALERTS_H
#define EQMS_SN_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "sn_store.h"

typedef struct sn_alerts_t sn_alerts_t;


/* What {option} reads for recipients not allowed complaint details. */
extern const char *const SN_ALERTS_PLAIN_OPTION;

/* Borrows `store` until destroy; texts are cut to `max_parts` SMS
 * (sn_sms_fit, logged); a rating older than `stale_s` when met makes a
 * stale alert (told in a digest, never reminded). NULL on allocation
 * failure. */
sn_alerts_t *sn_alerts_new(sn_store_t *store, int max_parts, int stale_s);
void sn_alerts_destroy(sn_alerts_t **self_p);

/* An sn_rating_fn (arg = the sn_alerts_t): writes the rating's alert and
 * its SMS in the open transaction. 0, or -1 if the database failed. */
int sn_alerts_rating(void *arg, const sn_rating_t *rating);

/* An sn_threshold_fn (arg = the sn_alerts_t): a member firing without an
 * open alert gets one (its fact: member and now, one per episode; its text
 * from the rule's template, or the kind's built-in one, over the member's
 * fields); an open one that cleared is resolved with the member's note.
 * Praise (alerttpl_kind_t.praise) is resolved as it is written, with its note.
 * 0, or -1 if the database failed. */
int sn_alerts_threshold(void *arg, const sn_threshold_t *member);

/* What was done since start, counting only what was committed: the
 * caller settles the alerts of each transaction. */
typedef struct {
    uint64_t raised;       /* alerts written */
    uint64_t repeated;     /* alerts found written before (a replay) */
    uint64_t no_rule;      /* unsatisfied ratings no enabled rule covers */
    uint64_t bad_rule;     /* alerts written with the built-in template */
    uint64_t resolved;     /* threshold alerts resolved because they cleared */
} sn_alerts_counts_t;
sn_alerts_counts_t sn_alerts_counts(const sn_alerts_t *self);

/* The transaction of the alerts since the last call committed (or not:
 * they are not counted, and are written again when read again). */
void sn_alerts_settle(sn_alerts_t *self, bool committed);

#endif
