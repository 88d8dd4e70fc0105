/*  Unit tests: st_hist, the mergeable histogram, against exact percentiles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/stats-aggregator/st_hist.h"

static void test_edges(void **state)
{
    (void) state;
    assert_int_equal(st_hist_bucket(0), 0);
    assert_int_equal(st_hist_bucket(-5), 0);
    assert_int_equal(st_hist_bucket(14999), 0);
    assert_int_equal(st_hist_bucket(15000), 1);
    assert_int_equal(st_hist_bucket(599999), 39);
    assert_int_equal(st_hist_bucket(600000), 40);
    assert_int_equal(st_hist_bucket(1800000), 60);
    assert_int_equal(st_hist_bucket(7200000), 78);
    assert_int_equal(st_hist_bucket(43199999), 97);
    assert_int_equal(st_hist_bucket(43200000), 98);
    assert_int_equal(st_hist_bucket(INT64_MAX / 2), 98);
    for (int b = 0; b < ST_HIST_BUCKETS; b++) {
        assert_true(st_hist_lower_s(b) < st_hist_upper_s(b));
        assert_int_equal(st_hist_bucket(st_hist_lower_s(b) * 1000LL), b);
        if (b + 1 < ST_HIST_BUCKETS)
            assert_int_equal(st_hist_upper_s(b), st_hist_lower_s(b + 1));
    }
    /* the Qmatic report edges are bucket edges */
    int32_t qmatic[] = { 180, 360, 540, 720, 900 };
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(st_hist_lower_s(st_hist_bucket(qmatic[i] * 1000LL)), qmatic[i]);
}

static int32_t s_width(int64_t ms)
{
    int b = st_hist_bucket(ms);
    return st_hist_upper_s(b) - st_hist_lower_s(b);
}

/* The documented bound: the estimate is never below the exact value and
 * above it by at most the width of the exact value's bucket. */
static void test_percentile_error_bound(void **state)
{
    (void) state;
    srand(7);
    for (int round = 0; round < 2000; round++) {
        long n = 1 + rand() % 400;
        int64_t *values = malloc((size_t) n * sizeof *values);
        int64_t counts[ST_HIST_BUCKETS] = { 0 };
        int64_t scale = (int64_t[]) { 60000, 900000, 3600000, 40000000 }[round % 4];
        for (long i = 0; i < n; i++) {
            values[i] = (int64_t) ((double) rand() / RAND_MAX * (double) scale);
            counts[st_hist_bucket(values[i])]++;
        }
        double ps[] = { 50, 90, 99, 100 };
        for (int k = 0; k < 4; k++) {
            int64_t estimate = st_hist_percentile(counts, ps[k]);
            int64_t exact = st_exact_percentile(values, n, ps[k]);
            assert_true(estimate >= exact);
            assert_true(estimate - exact <= s_width(exact) * 1000LL);
        }
        free(values);
    }
    int64_t empty[ST_HIST_BUCKETS] = { 0 };
    assert_int_equal(st_hist_percentile(empty, 90), -1);
    assert_int_equal(st_exact_percentile(NULL, 0, 90), -1);
    int64_t v[] = { 5, 1, 4, 2, 3, 6, 7, 8, 9, 10 };
    assert_int_equal(st_exact_percentile(v, 10, 90), 9);   /* nearest rank 9 */
    assert_int_equal(st_exact_percentile(v, 10, 91), 10);
}

static void test_qmatic_buckets_sum(void **state)
{
    (void) state;
    int64_t counts[ST_HIST_BUCKETS] = { 0 };
    int64_t waits_s[] = { 0, 179, 180, 359, 361, 600, 899, 900, 4000, 50000 };
    for (size_t i = 0; i < 10; i++)
        counts[st_hist_bucket(waits_s[i] * 1000)]++;
    assert_int_equal(st_hist_between(counts, 0, 180), 2);
    assert_int_equal(st_hist_between(counts, 180, 360), 2);
    assert_int_equal(st_hist_between(counts, 360, 540), 1);
    assert_int_equal(st_hist_between(counts, 540, 720), 1);
    assert_int_equal(st_hist_between(counts, 720, 900), 1);
    assert_int_equal(st_hist_between(counts, 900, -1), 3);
}

/* Running counts: what they store, and that they add as the counts do. */
static void test_cumulative(void **state)
{
    (void) state;
    int32_t counts[ST_HIST_BUCKETS] = { 0 }, upto[ST_HIST_BUCKETS];
    assert_int_equal(st_hist_cumulative(counts, upto), 0);          /* nothing */
    counts[0] = 2;
    assert_int_equal(st_hist_cumulative(counts, upto), 1);
    assert_int_equal(upto[0], 2);
    counts[3] = 1;
    counts[7] = 4;
    assert_int_equal(st_hist_cumulative(counts, upto), 8);
    int32_t want[] = { 2, 2, 2, 3, 3, 3, 3, 7 };
    for (int b = 0; b < 8; b++)
        assert_int_equal(upto[b], want[b]);
    assert_int_equal(upto[ST_HIST_BUCKETS - 1], 7);
    /* a correction's delta: one value moved from bucket 3 to bucket 20 */
    int32_t moved[ST_HIST_BUCKETS] = { 0 }, delta[ST_HIST_BUCKETS];
    moved[3] = -1;
    moved[20] = 1;
    assert_int_equal(st_hist_cumulative(moved, delta), 21);
    assert_int_equal(delta[2], 0);
    assert_int_equal(delta[3], -1);
    assert_int_equal(delta[19], -1);
    assert_int_equal(delta[20], 0);
    for (int b = 0; b < ST_HIST_BUCKETS; b++)
        counts[b] += moved[b];
    int32_t after[ST_HIST_BUCKETS];
    st_hist_cumulative(counts, after);
    for (int b = 0; b < ST_HIST_BUCKETS; b++)
        assert_int_equal(after[b], upto[b] + delta[b]);
    /* only the last bucket: nothing left out */
    int32_t last[ST_HIST_BUCKETS] = { 0 };
    last[ST_HIST_BUCKETS - 1] = 5;
    assert_int_equal(st_hist_cumulative(last, upto), ST_HIST_BUCKETS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_percentile_error_bound),
        cmocka_unit_test(test_qmatic_buckets_sum),
        cmocka_unit_test(test_cumulative),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
