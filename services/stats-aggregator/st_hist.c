/*  st_hist: duration histogram buckets and percentiles (st_hist.h). */
#include "st_hist.h"

#include <math.h>
#include <stdlib.h>

/* Each band: its first edge (s), bucket width (s) and bucket count. */
static const struct {
    int32_t from, width, count;
} s_bands[] = {
    { 0, 15, 40 }, { 600, 60, 20 }, { 1800, 300, 18 }, { 7200, 1800, 20 },
};
#define S_BANDS (int) (sizeof s_bands / sizeof s_bands[0])
#define S_LAST_EDGE 43200

int st_hist_bucket(int64_t ms)
{
    int64_t s = ms <= 0 ? 0 : ms / 1000;
    int base = 0;
    for (int i = 0; i < S_BANDS; i++) {
        int64_t end = s_bands[i].from + (int64_t) s_bands[i].width * s_bands[i].count;
        if (s < end)
            return base + (int) ((s - s_bands[i].from) / s_bands[i].width);
        base += s_bands[i].count;
    }
    return ST_HIST_BUCKETS - 1;
}

int32_t st_hist_lower_s(int b)
{
    for (int i = 0; i < S_BANDS; i++) {
        if (b < s_bands[i].count)
            return s_bands[i].from + b * s_bands[i].width;
        b -= s_bands[i].count;
    }
    return S_LAST_EDGE;
}

int32_t st_hist_upper_s(int b)
{
    return b >= ST_HIST_BUCKETS - 1 ? INT32_MAX : st_hist_lower_s(b + 1);
}

int64_t st_hist_percentile(const int64_t counts[ST_HIST_BUCKETS], double p)
{
    int64_t n = 0;
    for (int b = 0; b < ST_HIST_BUCKETS; b++)
        n += counts[b];
    if (n <= 0)
        return -1;
    int64_t rank = (int64_t) ceil(p / 100.0 * (double) n);
    if (rank < 1)
        rank = 1;
    int64_t seen = 0;
    for (int b = 0; b < ST_HIST_BUCKETS; b++) {
        seen += counts[b];
        if (seen >= rank)
            return (b == ST_HIST_BUCKETS - 1 ? st_hist_lower_s(b) : st_hist_upper_s(b))
                   * 1000LL;
    }
    return st_hist_lower_s(ST_HIST_BUCKETS - 1) * 1000LL;
}

static int s_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

int64_t st_exact_percentile(int64_t *values, long n, double p)
{
    if (n <= 0)
        return -1;
    qsort(values, (size_t) n, sizeof *values, s_cmp);
    long rank = (long) ceil(p / 100.0 * (double) n);
    if (rank < 1)
        rank = 1;
    return values[rank - 1];
}

int64_t st_hist_between(const int64_t counts[ST_HIST_BUCKETS], int32_t from_s,
                        int32_t to_s)
{
    int64_t n = 0;
    for (int b = 0; b < ST_HIST_BUCKETS; b++)
        if (st_hist_lower_s(b) >= from_s && (to_s < 0 || st_hist_lower_s(b) < to_s))
            n += counts[b];
    return n;
}

int st_hist_cumulative(const int32_t counts[ST_HIST_BUCKETS],
                       int32_t upto[ST_HIST_BUCKETS])
{
    int32_t sum = 0;
    for (int b = 0; b < ST_HIST_BUCKETS; b++) {
        sum += counts[b];
        upto[b] = sum;
    }
    int n = ST_HIST_BUCKETS;
    while (n > 1 && upto[n - 1] == upto[n - 2])
        n--;
    return n == 1 && upto[0] == 0 ? 0 : n;
}
