/*  st_measures: the summable parts of every measure of one stats cell.
 *
 *  docs/statistics.md defines the measures; a cell keeps what they are
 *  computed from: counts, sums and maxima, two histograms (st_hist.h) and
 *  rating counts per reason category. Cells combine by adding every field
 *  but the maxima, which combine by taking the greater (a leg's wait and
 *  service time only grow, so a maximum never has to shrink).
 *  Pure functions on plain structs.
 */
#ifndef EQMS_ST_MEASURES_H
#define EQMS_ST_MEASURES_H

#include <stdbool.h>
#include <stdint.h>

#include "st_hist.h"

/* Reason categories of rating options (rating_option.category). */
typedef enum {
    ST_CAT_NONE = 0,
    ST_CAT_ATTITUDE,
    ST_CAT_EFFICIENCY,
    ST_CAT_SKILL,
    ST_CAT_ENVIRONMENT,
    ST_CAT_OTHER,
    ST_CATEGORIES
} st_category_t;

/* The fields in the order of stats_cell's columns (st_store.c relies on it):
 * the counters, then the maxima. */
#define ST_MEASURE_COUNTERS(X) \
    X(issued) X(walk_ins) X(transferred_in) X(served) X(no_show) X(abandoned) \
    X(transferred) X(wait_n) X(wait_sum_ms) X(sl_served) X(sl_served_in) X(sl_abandoned_in) \
    X(svc_n) X(svc_sum_ms) X(rated) X(satisfied) X(unsatisfied) X(score_x10) \
    X(services) X(serving_ms) X(on_duty_ms)
#define ST_MEASURE_MAXIMA(X) X(wait_max_ms) X(svc_max_ms)

typedef struct {
#define S_FIELD(name) int64_t name;
    ST_MEASURE_COUNTERS(S_FIELD)
    ST_MEASURE_MAXIMA(S_FIELD)
#undef S_FIELD
    int64_t cat[ST_CATEGORIES];          /* ratings per reason category */
    int32_t wait_hist[ST_HIST_BUCKETS];  /* legs by wait */
    int32_t svc_hist[ST_HIST_BUCKETS];   /* legs by service time */
} st_measures_t;

/* Number of counter fields (ST_MEASURE_COUNTERS). */
int st_measures_counter_count(void);

/* `into` += `m` (maxima: the greater). */
void st_measures_add(st_measures_t *into, const st_measures_t *m);

/* `into` += `now` - `before` (maxima: the greater of into's and now's):
 * the change a fact's new contribution makes. */
void st_measures_add_change(st_measures_t *into, const st_measures_t *before,
                            const st_measures_t *now);

/* True if every field is 0. */
bool st_measures_zero(const st_measures_t *m);

/* Field i of the counters (0 .. st_measures_counter_count() - 1), by the
 * order of ST_MEASURE_COUNTERS, and its column name. */
int64_t st_measures_counter(const st_measures_t *m, int i);
const char *st_measures_counter_name(int i);

#endif
