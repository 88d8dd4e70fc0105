/*  ri_counters: today's live rating counters in Redis, updated after commit.
 *
 *  For each stored rating, in one pipeline per batch, hashes
 *    eqms:today:<local date>:window:<window id>
 *    eqms:today:<local date>:staff:<staff id>
 *    eqms:today:<local date>:branch:<branch path>
 *  get HINCRBY on `total`, `satisfied`, `unsatisfied` and `opt:<code>`; the
 *  date is the branch's local calendar day (org_node.time_zone). Keys expire
 *  after 48 h. Redis holds nothing that PostgreSQL does not: a failure is
 *  logged, the facts stay committed and the counters are rebuilt from
 *  PostgreSQL (ri_counters_rebuild) once Redis answers again; a flushed or
 *  restarted Redis is detected by the absence of this worker's marker key
 *  eqms:counters:ready:<src>. An ri_counters_t is used by one thread.
 */
#ifndef EQMS_RI_COUNTERS_H
#define EQMS_RI_COUNTERS_H

#include <stdbool.h>
#include <stddef.h>

#include "ri_store.h"

typedef struct ri_counters_t ri_counters_t;

/* The teller's figures for today after one rating. */
typedef struct {
    long total;
    long satisfied;
    long unsatisfied;
    int known;           /* 0 if Redis was unavailable */
} ri_figures_t;

/* `src` names the marker key. `url` "" = counters off (every call succeeds and knows nothing). NULL if
 * the url is malformed. Does not connect yet. */
ri_counters_t *ri_counters_new(const char *url, const char *src);
void ri_counters_destroy(ri_counters_t **self_p);

/* Counts the items with stored == true (ratings), each on the local day of
 * its time_zone. Fills figures[i] for those items. 0, or -1 if Redis failed
 * (logged; figures unknown). */
int ri_counters_add(ri_counters_t *self, const ri_item_t *items, size_t count,
                    ri_figures_t *figures);

/* True if the counters must be rebuilt: never rebuilt yet, an update
 * failed, or the marker key is gone (Redis flushed). False while Redis is
 * unreachable or the counters are off. */
bool ri_counters_need_rebuild(ri_counters_t *self);

/* Rewrites today's counters of the branches under `prefixes` (ltree[]
 * literal, "{}" = all) from PostgreSQL, then sets the marker. Must run in
 * the thread that calls ri_counters_add (no increments interleave). 0 / -1. */
int ri_counters_rebuild(ri_counters_t *self, ri_store_t *store, const char *prefixes);

#endif
