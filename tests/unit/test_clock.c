/*  Unit tests: clock (RFC 3339, IANA zones, local days around DST). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "eqms/clock.h"

static int64_t at(const char *text)
{
    int64_t ms = 0;
    assert_int_equal(clock_parse_rfc3339(text, &ms), 0);
    return ms;
}

static void test_rfc3339_round_trip(void **state)
{
    (void) state;
    const char *samples[] = { "1970-01-01T00:00:00.000Z", "2026-11-22T13:09:00.123Z",
                              "2024-02-29T23:59:59.999Z", "1969-12-31T23:59:59.999Z",
                              "9999-12-31T23:59:59.999Z", "2000-03-01T00:00:00.001Z" };
    for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
        char buf[CLOCK_RFC3339_SIZE];
        assert_int_equal(clock_format_rfc3339(at(samples[i]), buf), 0);
        assert_string_equal(buf, samples[i]);
    }
    assert_int_equal(at("1970-01-01T00:00:01.500Z"), 1500);
    assert_int_equal(at("1969-12-31T23:59:59.999Z"), -1);
}

static void test_rfc3339_rejects_malformed(void **state)
{
    (void) state;
    const char *bad[] = { "", "2026-11-22", "2026-11-22T13:09:00Z",
                          "2026-11-22T13:09:00.123+08:00", "2026-11-22T13:09:00.123z",
                          "2026-11-22 13:09:00.123Z", "2026-02-29T00:00:00.000Z",
                          "2026-13-01T00:00:00.000Z", "2026-00-01T00:00:00.000Z",
                          "2026-11-31T00:00:00.000Z", "2026-11-22T24:00:00.000Z",
                          "2026-11-22T23:60:00.000Z", "2026-11-22T23:59:60.000Z",
                          "2026-11-22T13:09:00.123Z ", "+026-11-22T13:09:00.123Z",
                          "2026-11-22T13:09:00.1234Z", "2100-02-29T00:00:00.000Z" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms;
        assert_int_equal(clock_parse_rfc3339(bad[i], &ms), -1);
    }
    int64_t ms;
    assert_int_equal(clock_parse_rfc3339(NULL, &ms), -1);
    char buf[CLOCK_RFC3339_SIZE];
    assert_int_equal(clock_format_rfc3339(at("9999-12-31T23:59:59.999Z") + 1, buf), -1);
}

static void test_unknown_zone_refused(void **state)
{
    (void) state;
    assert_null(clock_zone_new("Mars/Olympus_Mons"));
    assert_null(clock_zone_new(""));
    assert_null(clock_zone_new(NULL));
    assert_null(clock_zone_new("GMT+8:00"));
    clock_zone_t *zone = clock_zone_new("Asia/Shanghai");
    assert_non_null(zone);
    assert_string_equal(clock_zone_name(zone), "Asia/Shanghai");
    clock_zone_destroy(&zone);
    assert_null(zone);
    clock_zone_destroy(&zone);
}

static void test_shanghai_day(void **state)
{
    (void) state;
    clock_zone_t *zone = clock_zone_new("Asia/Shanghai");
    clock_date_t date;
    assert_int_equal(clock_local_date(zone, at("2026-11-21T16:00:00.000Z"), &date), 0);
    assert_int_equal(date.year, 2026);
    assert_int_equal(date.month, 11);
    assert_int_equal(date.day, 22);
    assert_int_equal(clock_local_date(zone, at("2026-11-21T15:59:59.999Z"), &date), 0);
    assert_int_equal(date.day, 21);
    int64_t start, end;
    assert_int_equal(clock_day_of(zone, at("2026-11-22T13:09:00.000Z"), &start, &end), 0);
    assert_int_equal(start, at("2026-11-21T16:00:00.000Z"));
    assert_int_equal(end, at("2026-11-22T16:00:00.000Z"));
    /* New year across the day boundary */
    clock_date_t last = { 2026, 12, 31 };
    assert_int_equal(clock_day_bounds(zone, last, &start, &end), 0);
    assert_int_equal(end, at("2026-12-31T16:00:00.000Z"));
    clock_zone_destroy(&zone);
}

static void test_dst_days_are_23_and_25_hours(void **state)
{
    (void) state;
    clock_zone_t *zone = clock_zone_new("America/New_York");
    int64_t start, end;
    clock_date_t spring = { 2026, 3, 8 }, autumn = { 2026, 11, 1 };
    assert_int_equal(clock_day_bounds(zone, spring, &start, &end), 0);
    assert_int_equal(start, at("2026-03-08T05:00:00.000Z"));
    assert_int_equal(end - start, 23 * 3600 * 1000LL);
    assert_int_equal(clock_day_bounds(zone, autumn, &start, &end), 0);
    assert_int_equal(start, at("2026-11-01T04:00:00.000Z"));
    assert_int_equal(end - start, 25 * 3600 * 1000LL);
    clock_zone_destroy(&zone);
}

static void test_skipped_midnight_starts_after_gap(void **state)
{
    (void) state;
    /* Chile moves 00:00 -> 01:00 on 2026-09-06: that day has no midnight. */
    clock_zone_t *zone = clock_zone_new("America/Santiago");
    int64_t start, end, prev_start, prev_end;
    clock_date_t day = { 2026, 9, 6 }, before = { 2026, 9, 5 };
    assert_int_equal(clock_day_bounds(zone, day, &start, &end), 0);
    assert_int_equal(start, at("2026-09-06T04:00:00.000Z"));
    assert_int_equal(end - start, 23 * 3600 * 1000LL);
    assert_int_equal(clock_day_bounds(zone, before, &prev_start, &prev_end), 0);
    assert_int_equal(prev_end, start);
    clock_zone_destroy(&zone);
}

static void test_invalid_dates_refused(void **state)
{
    (void) state;
    clock_zone_t *zone = clock_zone_new("UTC");
    assert_non_null(zone);
    int64_t start, end;
    clock_date_t bad[] = { { 2026, 2, 29 }, { 2026, 13, 1 }, { 2026, 0, 1 }, { 2026, 4, 31 },
                           { 0, 1, 1 }, { 10000, 1, 1 } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(clock_day_bounds(zone, bad[i], &start, &end), -1);
    clock_date_t leap = { 2024, 2, 29 };
    assert_int_equal(clock_day_bounds(zone, leap, &start, &end), 0);
    assert_int_equal(start, at("2024-02-29T00:00:00.000Z"));
    clock_zone_destroy(&zone);
}

static void test_fake_clock(void **state)
{
    (void) state;
    clock_set_fake(at("2026-11-22T23:59:59.999Z"));
    assert_int_equal(clock_now_ms(), at("2026-11-22T23:59:59.999Z"));
    clock_set_fake(0);
    assert_true(clock_now_ms() > at("2026-01-01T00:00:00.000Z"));
    int64_t a = clock_mono_ms(), b = clock_mono_ms();
    assert_true(b >= a);
}

static void test_deadline(void **state)
{
    (void) state;
    struct timespec before, deadline, after;
    clock_gettime(CLOCK_REALTIME, &before);
    clock_deadline(&deadline, 1999);
    clock_gettime(CLOCK_REALTIME, &after);
    assert_true(deadline.tv_nsec >= 0 && deadline.tv_nsec < 1000000000);
    int64_t d = (int64_t) deadline.tv_sec * 1000000000 + deadline.tv_nsec;
    int64_t b = (int64_t) before.tv_sec * 1000000000 + before.tv_nsec;
    int64_t a = (int64_t) after.tv_sec * 1000000000 + after.tv_nsec;
    assert_true(d >= b + 1999000000LL && d <= a + 1999000000LL);
}

static void test_format_date_like_snprintf(void **state)
{
    (void) state;
    char got[CLOCK_DATE_SIZE], want[32];
    for (int year = 0; year <= 9999; year += 7)
        for (int month = 1; month <= 12; month++) {
            clock_date_t date = { year, month, 1 + (year + month) % 31 };
            clock_format_date(date, got);
            snprintf(want, sizeof want, "%04d-%02d-%02d", date.year, date.month, date.day);
            assert_string_equal(got, want);
        }
}

/* Calendar arithmetic against known dates, and the wall-clock hour across a
 * DST change. */
static void test_date_arithmetic_and_local_hour(void **state)
{
    (void) state;
    clock_date_t d = clock_date_add_days((clock_date_t) { 2024, 2, 28 }, 1);
    assert_true(d.year == 2024 && d.month == 2 && d.day == 29);
    d = clock_date_add_days((clock_date_t) { 2024, 12, 31 }, 1);
    assert_true(d.year == 2025 && d.month == 1 && d.day == 1);
    d = clock_date_add_days((clock_date_t) { 2025, 3, 1 }, -1);
    assert_true(d.year == 2025 && d.month == 2 && d.day == 28);
    assert_int_equal(clock_date_weekday((clock_date_t) { 1970, 1, 1 }), 4);
    assert_int_equal(clock_date_weekday((clock_date_t) { 2026, 12, 5 }), 6);
    assert_int_equal(clock_date_weekday((clock_date_t) { 2026, 12, 7 }), 1);
    assert_int_equal(clock_date_weekday((clock_date_t) { 1969, 12, 28 }), 7);
    assert_int_equal(clock_date_diff((clock_date_t) { 2025, 1, 1 },
                                     (clock_date_t) { 2026, 1, 1 }), 365);
    clock_zone_t *z = clock_zone_new("Europe/Berlin");
    int64_t ms;
    assert_int_equal(clock_parse_rfc3339("2026-03-29T00:59:59.000Z", &ms), 0);
    assert_int_equal(clock_local_hour(z, ms), 1);
    assert_int_equal(clock_local_hour(z, ms + 1000), 3);    /* 02:00 skipped */
    assert_int_equal(clock_local_minute(z, ms), 119);
    assert_int_equal(clock_local_minute(z, ms + 1000), 180);
    clock_zone_destroy(&z);
}

static void test_local_wall_clock_instants(void **state)
{
    (void) state;
    clock_zone_t *z = clock_zone_new("Europe/Berlin");
    char buf[CLOCK_RFC3339_SIZE];
    int64_t ms;
    const struct {
        clock_date_t date;
        int minute;
        const char *utc;
    } cases[] = {
        { { 2026, 3, 28 }, 8 * 60, "2026-03-28T07:00:00.000Z" },    /* CET */
        { { 2026, 3, 29 }, 8 * 60, "2026-03-29T06:00:00.000Z" },    /* CEST */
        { { 2026, 3, 29 }, 2 * 60 + 30, "2026-03-29T01:00:00.000Z" }, /* skipped: 03:00 */
        { { 2026, 10, 25 }, 2 * 60 + 30, "2026-10-25T00:30:00.000Z" }, /* twice: the first */
        { { 2026, 10, 25 }, 1440, "2026-10-25T23:00:00.000Z" },     /* the 26th's start */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(clock_local_instant(z, cases[i].date, cases[i].minute, &ms), 0);
        assert_int_equal(clock_format_rfc3339(ms, buf), 0);
        assert_string_equal(buf, cases[i].utc);
    }
    assert_int_equal(clock_local_instant(z, (clock_date_t) { 2026, 2, 30 }, 0, &ms), -1);
    assert_int_equal(clock_local_instant(z, (clock_date_t) { 2026, 2, 3 }, 1441, &ms), -1);
    assert_int_equal(clock_local_instant(z, (clock_date_t) { 2026, 2, 3 }, -1, &ms), -1);
    clock_zone_destroy(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_date_like_snprintf),
        cmocka_unit_test(test_rfc3339_round_trip),
        cmocka_unit_test(test_rfc3339_rejects_malformed),
        cmocka_unit_test(test_unknown_zone_refused),
        cmocka_unit_test(test_shanghai_day),
        cmocka_unit_test(test_dst_days_are_23_and_25_hours),
        cmocka_unit_test(test_skipped_midnight_starts_after_gap),
        cmocka_unit_test(test_invalid_dates_refused),
        cmocka_unit_test(test_fake_clock),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_date_arithmetic_and_local_hour),
        cmocka_unit_test(test_local_wall_clock_instants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
