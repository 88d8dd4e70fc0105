/*  Unit tests: st_period, a node's local periods (DST days, odd offsets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "../../services/stats-aggregator/st_period.h"

static int64_t s_ms(const char *rfc3339)
{
    int64_t ms = 0;
    assert_int_equal(clock_parse_rfc3339(rfc3339, &ms), 0);
    return ms;
}

static void s_assert_date(clock_date_t d, int y, int m, int day)
{
    assert_int_equal(d.year, y);
    assert_int_equal(d.month, m);
    assert_int_equal(d.day, day);
}

static void test_place_and_dst_days(void **state)
{
    (void) state;
    st_zone_t *z = st_zone_new("Europe/Berlin");
    assert_non_null(z);
    st_place_t p;
    /* 2026-03-29: 02:00 local is skipped, the day has 23 hours */
    assert_int_equal(st_zone_place(z, s_ms("2026-03-29T12:00:00.000Z"), &p), 0);
    s_assert_date(p.day, 2026, 3, 29);
    assert_int_equal(p.day_end - p.day_start, 23 * 3600000LL);
    assert_int_equal(p.hour, 13);            /* 14:00 local, 13 hours elapsed */
    assert_int_equal(st_zone_wall_hour(z, s_ms("2026-03-29T12:00:00.000Z")), 14);
    int64_t from, to;
    assert_int_equal(st_zone_bounds(z, ST_PERIOD_HOUR, p.day, 22, &from, &to), 0);
    assert_int_equal(to, p.day_end);
    assert_int_not_equal(st_zone_bounds(z, ST_PERIOD_HOUR, p.day, 23, &from, &to), 0);
    /* 2026-10-25: 25 hours */
    assert_int_equal(st_zone_place(z, s_ms("2026-10-25T23:30:00.000Z"), &p), 0);
    s_assert_date(p.day, 2026, 10, 26);
    assert_int_equal(st_zone_place(z, s_ms("2026-10-25T22:59:59.999Z"), &p), 0);
    s_assert_date(p.day, 2026, 10, 25);
    assert_int_equal(p.day_end - p.day_start, 25 * 3600000LL);
    assert_int_equal(p.hour, 24);
    st_zone_destroy(&z);
    assert_null(st_zone_new("Mars/Olympus"));
}

static void test_half_hour_zone(void **state)
{
    (void) state;
    st_zone_t *z = st_zone_new("Asia/Kolkata");
    st_place_t p;
    assert_int_equal(st_zone_place(z, s_ms("2026-12-04T18:29:59.999Z"), &p), 0);
    s_assert_date(p.day, 2026, 12, 4);
    assert_int_equal(p.hour, 23);
    assert_int_equal(st_zone_place(z, s_ms("2026-12-04T18:30:00.000Z"), &p), 0);
    s_assert_date(p.day, 2026, 12, 5);
    assert_int_equal(p.hour, 0);
    st_zone_destroy(&z);
}

static void test_period_starts(void **state)
{
    (void) state;
    clock_date_t d = { 2026, 12, 5 };    /* a Saturday */
    s_assert_date(st_period_start(ST_PERIOD_WEEK, d), 2026, 11, 30);
    s_assert_date(st_period_start(ST_PERIOD_MONTH, d), 2026, 12, 1);
    s_assert_date(st_period_start(ST_PERIOD_QUARTER, d), 2026, 10, 1);
    s_assert_date(st_period_start(ST_PERIOD_YEAR, d), 2026, 1, 1);
    s_assert_date(st_period_start(ST_PERIOD_DAY, d), 2026, 12, 5);
    s_assert_date(st_period_next(ST_PERIOD_WEEK, (clock_date_t) { 2026, 12, 28 }), 2027, 1, 4);
    s_assert_date(st_period_next(ST_PERIOD_QUARTER, (clock_date_t) { 2026, 10, 1 }), 2027, 1, 1);
    s_assert_date(st_period_next(ST_PERIOD_MONTH, (clock_date_t) { 2026, 12, 1 }), 2027, 1, 1);
    s_assert_date(st_period_start(ST_PERIOD_WEEK, (clock_date_t) { 2027, 1, 3 }), 2026, 12, 28);
}

typedef struct {
    int n;
    clock_date_t start[8];
    int hour[8];
    int64_t ms[8];
} s_pieces_t;

static int s_collect(void *arg, clock_date_t start, int hour, int64_t ms)
{
    s_pieces_t *p = arg;
    assert_true(p->n < 8);
    p->start[p->n] = start;
    p->hour[p->n] = hour;
    p->ms[p->n++] = ms;
    return 0;
}

static void test_split_intervals(void **state)
{
    (void) state;
    st_zone_t *z = st_zone_new("Asia/Shanghai");
    s_pieces_t pieces = { 0 };
    /* 23:30 to 01:15 local across a month end, by days */
    assert_int_equal(st_zone_split(z, ST_PERIOD_DAY, s_ms("2026-11-30T15:30:00.000Z"),
                                   s_ms("2026-11-30T17:15:00.000Z"), s_collect, &pieces), 0);
    assert_int_equal(pieces.n, 2);
    s_assert_date(pieces.start[0], 2026, 11, 30);
    assert_int_equal(pieces.ms[0], 30 * 60000);
    s_assert_date(pieces.start[1], 2026, 12, 1);
    assert_int_equal(pieces.ms[1], 75 * 60000);
    memset(&pieces, 0, sizeof pieces);
    assert_int_equal(st_zone_split(z, ST_PERIOD_MONTH, s_ms("2026-11-30T15:30:00.000Z"),
                                   s_ms("2026-11-30T17:15:00.000Z"), s_collect, &pieces), 0);
    assert_int_equal(pieces.n, 2);
    s_assert_date(pieces.start[1], 2026, 12, 1);
    memset(&pieces, 0, sizeof pieces);
    assert_int_equal(st_zone_split(z, ST_PERIOD_HOUR, s_ms("2026-11-30T01:10:00.000Z"),
                                   s_ms("2026-11-30T03:00:00.000Z"), s_collect, &pieces), 0);
    assert_int_equal(pieces.n, 2);
    assert_int_equal(pieces.hour[0], 9);
    assert_int_equal(pieces.ms[0], 50 * 60000);
    assert_int_equal(pieces.hour[1], 10);
    assert_int_equal(pieces.ms[1], 60 * 60000);
    memset(&pieces, 0, sizeof pieces);
    assert_int_equal(st_zone_split(z, ST_PERIOD_DAY, 1000, 1000, s_collect, &pieces), 0);
    assert_int_equal(pieces.n, 0);
    st_zone_destroy(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_place_and_dst_days),
        cmocka_unit_test(test_half_hour_zone),
        cmocka_unit_test(test_period_starts),
        cmocka_unit_test(test_split_intervals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
