/*  st_measures: adding cells and changes of cells (st_measures.h). */
#include "st_measures.h"

#include <string.h>

static const char *const s_counter_names[] = {
#define S_NAME(name) #name,
    ST_MEASURE_COUNTERS(S_NAME)
#undef S_NAME
};
#define S_COUNTERS ((int) (sizeof s_counter_names / sizeof s_counter_names[0]))

int st_measures_counter_count(void)
{
    return S_COUNTERS;
}

const char *st_measures_counter_name(int i)
{
    return i >= 0 && i < S_COUNTERS ? s_counter_names[i] : NULL;
}

int64_t st_measures_counter(const st_measures_t *m, int i)
{
    int64_t values[] = {
#define S_VALUE(name) m->name,
        ST_MEASURE_COUNTERS(S_VALUE)
#undef S_VALUE
    };
    return i >= 0 && i < S_COUNTERS ? values[i] : 0;
}

static int64_t s_max(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

void st_measures_add(st_measures_t *into, const st_measures_t *m)
{
#define S_ADD(name) into->name += m->name;
    ST_MEASURE_COUNTERS(S_ADD)
#undef S_ADD
#define S_MAX(name) into->name = s_max(into->name, m->name);
    ST_MEASURE_MAXIMA(S_MAX)
#undef S_MAX
    for (int c = 0; c < ST_CATEGORIES; c++)
        into->cat[c] += m->cat[c];
    for (int b = 0; b < ST_HIST_BUCKETS; b++) {
        into->wait_hist[b] += m->wait_hist[b];
        into->svc_hist[b] += m->svc_hist[b];
    }
}

void st_measures_add_change(st_measures_t *into, const st_measures_t *before,
                            const st_measures_t *now)
{
#define S_ADD(name) into->name += now->name - before->name;
    ST_MEASURE_COUNTERS(S_ADD)
#undef S_ADD
#define S_MAX(name) into->name = s_max(into->name, now->name);
    ST_MEASURE_MAXIMA(S_MAX)
#undef S_MAX
    for (int c = 0; c < ST_CATEGORIES; c++)
        into->cat[c] += now->cat[c] - before->cat[c];
    for (int b = 0; b < ST_HIST_BUCKETS; b++) {
        into->wait_hist[b] += now->wait_hist[b] - before->wait_hist[b];
        into->svc_hist[b] += now->svc_hist[b] - before->svc_hist[b];
    }
}

bool st_measures_zero(const st_measures_t *m)
{
    static const st_measures_t zero;
    return memcmp(m, &zero, sizeof zero) == 0;
}
