/*  st_hist: the mergeable duration histogram of stats cells, and percentiles.
 *
 *  ST_HIST_BUCKETS buckets of seconds, each [lower, upper):
 *      width 15 s from 0 to 10 min        (40 buckets)
 *      width 60 s from 10 to 30 min       (20)
 *      width 5 min from 30 min to 2 h     (18)
 *      width 30 min from 2 h to 12 h      (20)
 *      12 h and more                       (1, upper edge "infinite")
 *  Every Qmatic report edge (3, 6, 9, 12, 15 min) is a bucket edge, so the
 *  distributions of docs/statistics.md are sums of whole buckets.
 *
 *  A percentile from a histogram is the upper edge of the bucket holding the
 *  nearest rank: never below the exact value, above it by less than that
 *  bucket's width (docs/statistics.md, "Percentiles"). Pure functions.
 */
#ifndef EQMS_ST_HIST_H
#define EQMS_ST_HIST_H

#include <stdint.h>

#define ST_HIST_BUCKETS 99

/* The bucket of a duration in ms (negative counts as 0). */
int st_hist_bucket(int64_t ms);

/* Bucket b's edges in seconds: [lower, upper); the last bucket's upper edge
 * is INT32_MAX. */
int32_t st_hist_lower_s(int b);
int32_t st_hist_upper_s(int b);

/* The nearest-rank percentile p (0 < p <= 100) of the values counted in
 * `counts`, in ms: the upper edge of the bucket holding rank ceil(p% of n)
 * (the last bucket answers its lower edge). -1 if the histogram is empty. */
int64_t st_hist_percentile(const int64_t counts[ST_HIST_BUCKETS], double p);

/* The exact nearest-rank percentile of n values (sorted in place), -1 if n
 * is 0: what one branch's day uses, and what tests compare with. */
int64_t st_exact_percentile(int64_t *values, long n, double p);

/* Values counted with lower edge >= from_s and < to_s (to_s < 0: no upper
 * limit); both must be bucket edges (the Qmatic buckets are). */
int64_t st_hist_between(const int64_t counts[ST_HIST_BUCKETS], int32_t from_s,
                        int32_t to_s);

/* The running counts of `counts` into `upto` (upto[b]: the values in buckets
 * 0..b), as stats_cell keeps its histograms (schema 35), and how many of
 * them to store: the trailing elements equal to the one before them are left
 * out (a reader takes the last stored element for every later bucket); 0
 * when every running count is 0. Counts may be negative (a correction's
 * delta); running counts add as the counts do. */
int st_hist_cumulative(const int32_t counts[ST_HIST_BUCKETS],
                       int32_t upto[ST_HIST_BUCKETS]);

#endif
