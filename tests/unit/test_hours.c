/*  Unit tests: hours (opening sessions, special dates, the issue cut-off,
 *  the issuing state at an instant in Asia/Shanghai and around Europe/
 *  Berlin's DST changes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "eqms/hours.h"

static int64_t at(const char *text)
{
    int64_t ms = 0;
    assert_int_equal(clock_parse_rfc3339(text, &ms), 0);
    return ms;
}

/* A status's instants as text, "-" for 0. */
static const char *s_ts(int64_t ms, char buf[CLOCK_RFC3339_SIZE])
{
    if (!ms)
        return "-";
    assert_int_equal(clock_format_rfc3339(ms, buf), 0);
    return buf;
}

/* Checks the state at `now` and its until / closes / resumes ("-": 0). */
static void s_expect(const hours_t *h, const char *zone_name, const char *now,
                     hours_state_t state, const char *until, const char *closes,
                     const char *resumes)
{
    clock_zone_t *zone = clock_zone_new(zone_name);
    assert_non_null(zone);
    hours_status_t st;
    assert_int_equal(hours_status(h, zone, at(now), &st), 0);
    char a[CLOCK_RFC3339_SIZE], b[CLOCK_RFC3339_SIZE], c[CLOCK_RFC3339_SIZE];
    if (st.state != state)
        fail_msg("at %s: %s, expected %s", now, hours_state_name(st.state),
                 hours_state_name(state));
    assert_string_equal(s_ts(st.until_ms, a), until);
    assert_string_equal(s_ts(st.closes_ms, b), closes);
    assert_string_equal(s_ts(st.resumes_ms, c), resumes);
    clock_zone_destroy(&zone);
}

static json_t *s_json(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j)
        fail_msg("test JSON: %s", err.text);
    return j;
}

/* A government hall's week: Monday to Friday 08:30-12:00 and 13:30-17:00,
 * Saturday 09:00-12:00, Sunday closed; cut-off 30 minutes. */
static void s_hall(hours_t *h)
{
    hours_init(h);
    json_t *week = s_json("{\"mon\":[{\"opens\":\"13:30\",\"closes\":\"17:00\"},"
                          "{\"opens\":\"08:30\",\"closes\":\"12:00\"}],"
                          "\"tue\":[{\"opens\":\"08:30\",\"closes\":\"12:00\"},"
                          "{\"opens\":\"13:30\",\"closes\":\"17:00\"}],"
                          "\"wed\":[{\"opens\":\"08:30\",\"closes\":\"12:00\"},"
                          "{\"opens\":\"13:30\",\"closes\":\"17:00\"}],"
                          "\"thu\":[{\"opens\":\"08:30\",\"closes\":\"12:00\"},"
                          "{\"opens\":\"13:30\",\"closes\":\"17:00\"}],"
                          "\"fri\":[{\"opens\":\"08:30\",\"closes\":\"12:00\"},"
                          "{\"opens\":\"13:30\",\"closes\":\"17:00\"}],"
                          "\"sat\":[{\"opens\":\"09:00\",\"closes\":\"12:00\"}],\"sun\":[]}");
    char member[64], reason[HOURS_REASON_SIZE];
    assert_int_equal(hours_decode_week(week, h, member, reason), 0);
    json_decref(week);
    assert_true(h->set);
    /* read in any order, kept in time order */
    assert_int_equal(h->week[0].count, 2);
    assert_int_equal(h->week[0].sessions[0].opens, 510);
    assert_int_equal(h->week[0].sessions[1].closes, 1020);
    assert_int_equal(h->week[6].count, 0);
}

static void test_times_parse_and_format(void **state)
{
    (void) state;
    assert_int_equal(hours_minute_parse("00:00", false), 0);
    assert_int_equal(hours_minute_parse("08:30", false), 510);
    assert_int_equal(hours_minute_parse("23:59", false), 1439);
    assert_int_equal(hours_minute_parse("24:00", true), 1440);
    const char *bad[] = { "24:00", "8:30", "08:60", "25:00", "08h30", "08:30:00", "", "ab:cd",
                          "-1:00" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hours_minute_parse(bad[i], false), -1);
    assert_int_equal(hours_minute_parse("24:01", true), -1);
    assert_int_equal(hours_minute_parse(NULL, true), -1);
    char out[6];
    hours_minute_format(510, out);
    assert_string_equal(out, "08:30");
    hours_minute_format(1440, out);
    assert_string_equal(out, "24:00");
    assert_string_equal(hours_weekday_name(1), "mon");
    assert_string_equal(hours_weekday_name(7), "sun");
    assert_null(hours_weekday_name(8));
    assert_int_equal(hours_weekday_parse("sat"), 6);
    assert_int_equal(hours_weekday_parse("Sat"), 0);
    assert_string_equal(hours_state_name(HOURS_STOPPED), "issuing_stopped");
}

static void test_sessions_are_ordered_and_never_overlap(void **state)
{
    (void) state;
    hours_t h;
    hours_init(&h);
    char reason[HOURS_REASON_SIZE];
    assert_int_equal(hours_add_session(&h, 3, 780, 1020, reason), 0);
    assert_int_equal(hours_add_session(&h, 3, 480, 720, reason), 0);
    assert_int_equal(hours_add_session(&h, 3, 720, 780, reason), 0);  /* touching is fine */
    assert_int_equal(h.week[2].sessions[0].opens, 480);
    assert_int_equal(h.week[2].sessions[1].opens, 720);
    assert_int_equal(h.week[2].sessions[2].opens, 780);
    assert_int_equal(hours_add_session(&h, 3, 700, 730, reason), -1);
    assert_non_null(strstr(reason, "11:40-12:10 overlaps 08:00-12:00"));
    assert_int_equal(hours_add_session(&h, 3, 1020, 1020, reason), -1);
    assert_int_equal(hours_add_session(&h, 3, 1100, 1000, reason), -1);
    assert_int_equal(hours_add_session(&h, 3, 1100, 1441, reason), -1);
    assert_int_equal(hours_add_session(&h, 0, 100, 200, reason), -1);
    assert_int_equal(hours_add_session(&h, 3, 1200, 1440, reason), 0);
    assert_int_equal(hours_add_session(&h, 3, 0, 60, reason), -1);
    assert_non_null(strstr(reason, "at most 4"));
    assert_int_equal(h.week[2].count, 4);
}

/* Decodes `text` as a week: the member and reason of its refusal. */
static void s_week_refused(const char *text, const char *member, const char *reason_part)
{
    hours_t h;
    hours_init(&h);
    json_t *week = s_json(text);
    char m[64], reason[HOURS_REASON_SIZE];
    assert_int_equal(hours_decode_week(week, &h, m, reason), -1);
    json_decref(week);
    assert_false(h.set);
    if (strcmp(m, member) != 0 || !strstr(reason, reason_part))
        fail_msg("%s: member \"%s\" reason \"%s\"", text, m, reason);
}

#define S_DAYS_BUT_MON "\"tue\":[],\"wed\":[],\"thu\":[],\"fri\":[],\"sat\":[],\"sun\":[]"

static void test_a_week_is_read_strictly(void **state)
{
    (void) state;
    s_week_refused("[]", "", "seven days");
    s_week_refused("{\"mon\":[]}", "", "seven days");
    s_week_refused("{\"monday\":[]," S_DAYS_BUT_MON "}", "", "each of");
    s_week_refused("{\"mon\":{}," S_DAYS_BUT_MON "}", "mon", "array");
    s_week_refused("{\"mon\":[1]," S_DAYS_BUT_MON "}", "mon[0]", "opens and closes");
    s_week_refused("{\"mon\":[{\"opens\":\"08:00\"}]," S_DAYS_BUT_MON "}", "mon[0]",
                   "opens and closes");
    s_week_refused("{\"mon\":[{\"opens\":\"08:00\",\"closes\":\"12:00\",\"x\":1}],"
                   S_DAYS_BUT_MON "}", "mon[0]", "opens and closes");
    s_week_refused("{\"mon\":[{\"opens\":\"8:00\",\"closes\":\"12:00\"}]," S_DAYS_BUT_MON "}",
                   "mon[0].opens", "HH:MM");
    s_week_refused("{\"mon\":[{\"opens\":\"24:00\",\"closes\":\"24:00\"}]," S_DAYS_BUT_MON "}",
                   "mon[0].opens", "HH:MM");
    s_week_refused("{\"mon\":[{\"opens\":\"08:00\",\"closes\":8}]," S_DAYS_BUT_MON "}",
                   "mon[0].closes", "HH:MM");
    s_week_refused("{\"mon\":[{\"opens\":\"12:00\",\"closes\":\"08:00\"}]," S_DAYS_BUT_MON "}",
                   "mon[0].closes", "open before it closes");
    s_week_refused("{\"mon\":[{\"opens\":\"08:00\",\"closes\":\"12:00\"},"
                   "{\"opens\":\"11:00\",\"closes\":\"13:00\"}]," S_DAYS_BUT_MON "}",
                   "mon[1].opens", "overlaps");
    s_week_refused("{\"mon\":[{\"opens\":\"01:00\",\"closes\":\"02:00\"},"
                   "{\"opens\":\"03:00\",\"closes\":\"04:00\"},{\"opens\":\"05:00\","
                   "\"closes\":\"06:00\"},{\"opens\":\"07:00\",\"closes\":\"08:00\"},"
                   "{\"opens\":\"09:00\",\"closes\":\"10:00\"}]," S_DAYS_BUT_MON "}",
                   "mon", "at most 4");
    hours_t h;
    s_hall(&h);
}

static void test_the_hours_in_force_are_read_as_the_database_writes_them(void **state)
{
    (void) state;
    hours_t h;
    char reason[HOURS_REASON_SIZE];
    json_t *doc = s_json("{\"week\":null,\"week_from\":null,\"issue_cutoff_min\":30,"
                         "\"cutoff_from\":null,\"dates\":[]}");
    assert_int_equal(hours_decode(doc, &h, reason), 0);
    json_decref(doc);
    assert_false(h.set);
    assert_int_equal(h.cutoff_min, 30);
    doc = s_json("{\"week\":{\"mon\":[{\"opens\":\"09:00\",\"closes\":\"24:00\"}]," S_DAYS_BUT_MON
                 "},\"week_from\":\"hq.r01\",\"issue_cutoff_min\":15,\"cutoff_from\":\"hq\","
                 "\"dates\":[{\"date\":\"2026-10-01\",\"hours_of\":null,\"note\":\"国庆节\","
                 "\"from\":\"hq\"},{\"date\":\"2026-10-11\",\"hours_of\":\"fri\",\"note\":\"\","
                 "\"from\":\"hq\"}]}");
    assert_int_equal(hours_decode(doc, &h, reason), 0);
    json_decref(doc);
    assert_true(h.set);
    assert_int_equal(h.cutoff_min, 15);
    assert_int_equal(h.week[0].sessions[0].closes, 1440);
    assert_int_equal(h.date_count, 2);
    assert_int_equal(h.dates[0].hours_of, 0);
    assert_int_equal(h.dates[1].date.day, 11);
    assert_int_equal(h.dates[1].hours_of, 5);
    const char *bad[] = {
        "{\"week\":null,\"week_from\":null,\"issue_cutoff_min\":30,\"cutoff_from\":null}",
        "{\"week\":null,\"week_from\":null,\"issue_cutoff_min\":30,\"cutoff_from\":null,"
        "\"dates\":[],\"extra\":1}",
        "{\"week\":null,\"week_from\":null,\"issue_cutoff_min\":241,\"cutoff_from\":null,"
        "\"dates\":[]}",
        "{\"week\":{\"mon\":[]},\"week_from\":null,\"issue_cutoff_min\":30,\"cutoff_from\":null,"
        "\"dates\":[]}",
        "{\"week\":null,\"week_from\":null,\"issue_cutoff_min\":30,\"cutoff_from\":null,"
        "\"dates\":[{\"date\":\"2026-02-30\",\"hours_of\":null,\"note\":\"\",\"from\":\"hq\"}]}",
        "{\"week\":null,\"week_from\":null,\"issue_cutoff_min\":30,\"cutoff_from\":null,"
        "\"dates\":[{\"date\":\"2026-02-03\",\"hours_of\":\"holiday\",\"note\":\"\","
        "\"from\":\"hq\"}]}",
        "{\"week\":null,\"week_from\":null,\"issue_cutoff_min\":30,\"cutoff_from\":null,"
        "\"dates\":[{\"date\":\"2026-02-03\",\"hours_of\":null,\"note\":\"\",\"from\":\"hq\"},"
        "{\"date\":\"2026-02-03\",\"hours_of\":null,\"note\":\"\",\"from\":\"hq\"}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        doc = s_json(bad[i]);
        reason[0] = '\0';
        if (hours_decode(doc, &h, reason) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_true(reason[0] != '\0');
        json_decref(doc);
    }
}

static void test_no_week_is_always_open(void **state)
{
    (void) state;
    hours_t h;
    hours_init(&h);
    s_expect(&h, "Asia/Shanghai", "2026-11-29T19:00:00.000Z", HOURS_OPEN, "-", "-", "-");
}

/* Asia/Shanghai is UTC+8 all year: local 09:00 is 01:00Z. */
static void test_a_working_day_with_a_lunch_break(void **state)
{
    (void) state;
    hours_t h;
    s_hall(&h);
    const char *z = "Asia/Shanghai";
    /* Monday 2026-11-30: before opening (07:00), resumes at 08:30 */
    s_expect(&h, z, "2026-11-29T23:00:00.000Z", HOURS_CLOSED, "-", "-",
             "2026-11-30T00:30:00.000Z");
    /* the opening minute itself issues, until 11:30 (30 min before 12:00) */
    s_expect(&h, z, "2026-11-30T00:30:00.000Z", HOURS_OPEN, "2026-11-30T03:30:00.000Z",
             "2026-11-30T04:00:00.000Z", "-");
    s_expect(&h, z, "2026-11-30T03:29:59.999Z", HOURS_OPEN, "2026-11-30T03:30:00.000Z",
             "2026-11-30T04:00:00.000Z", "-");
    /* 11:30 .. 12:00: stopped, resumes after lunch at 13:30 */
    s_expect(&h, z, "2026-11-30T03:30:00.000Z", HOURS_STOPPED, "-",
             "2026-11-30T04:00:00.000Z", "2026-11-30T05:30:00.000Z");
    /* lunch: closed, resumes 13:30 */
    s_expect(&h, z, "2026-11-30T04:00:00.000Z", HOURS_CLOSED, "-", "-",
             "2026-11-30T05:30:00.000Z");
    /* 16:40: stopped for the day, resumes Tuesday 08:30 */
    s_expect(&h, z, "2026-11-30T08:40:00.000Z", HOURS_STOPPED, "-",
             "2026-11-30T09:00:00.000Z", "2026-12-01T00:30:00.000Z");
    /* Friday 17:30 (closed): resumes Saturday 09:00; Saturday 11:45: stopped
     * until Monday, Sunday being closed */
    s_expect(&h, z, "2026-12-04T09:30:00.000Z", HOURS_CLOSED, "-", "-",
             "2026-12-05T01:00:00.000Z");
    s_expect(&h, z, "2026-12-05T03:45:00.000Z", HOURS_STOPPED, "-",
             "2026-12-05T04:00:00.000Z", "2026-12-07T00:30:00.000Z");
    s_expect(&h, z, "2026-12-06T02:00:00.000Z", HOURS_CLOSED, "-", "-",
             "2026-12-07T00:30:00.000Z");
}

static void test_special_dates_close_or_open_a_day(void **state)
{
    (void) state;
    hours_t h;
    s_hall(&h);
    const char *z = "Asia/Shanghai";
    /* Monday 2026-12-07 a holiday, Sunday 2026-12-06 a make-up day with
     * Friday's sessions */
    h.dates[0] = (hours_date_t) { { 2026, 12, 6 }, 5 };
    h.dates[1] = (hours_date_t) { { 2026, 12, 7 }, 0 };
    h.date_count = 2;
    s_expect(&h, z, "2026-12-05T03:45:00.000Z", HOURS_STOPPED, "-",
             "2026-12-05T04:00:00.000Z", "2026-12-06T00:30:00.000Z");
    s_expect(&h, z, "2026-12-06T02:00:00.000Z", HOURS_OPEN, "2026-12-06T03:30:00.000Z",
             "2026-12-06T04:00:00.000Z", "-");
    /* Sunday 16:45: the holiday Monday is skipped, Tuesday 08:30 */
    s_expect(&h, z, "2026-12-06T08:45:00.000Z", HOURS_STOPPED, "-",
             "2026-12-06T09:00:00.000Z", "2026-12-08T00:30:00.000Z");
    s_expect(&h, z, "2026-12-07T02:00:00.000Z", HOURS_CLOSED, "-", "-",
             "2026-12-08T00:30:00.000Z");
}

static void test_cut_offs_at_their_limits(void **state)
{
    (void) state;
    hours_t h;
    hours_init(&h);
    char reason[HOURS_REASON_SIZE];
    const char *z = "Asia/Shanghai";
    /* Wednesdays: a 20-minute session the 30-minute cut-off leaves nothing
     * of, then 14:00-24:00 */
    assert_int_equal(hours_add_session(&h, 3, 720, 740, reason), 0);
    assert_int_equal(hours_add_session(&h, 3, 840, 1440, reason), 0);
    h.set = true;
    /* 2026-12-02 11:00: the short session never issues: resumes at 14:00 */
    s_expect(&h, z, "2026-12-02T03:00:00.000Z", HOURS_CLOSED, "-", "-",
             "2026-12-02T06:00:00.000Z");
    s_expect(&h, z, "2026-12-02T04:10:00.000Z", HOURS_STOPPED, "-",
             "2026-12-02T04:20:00.000Z", "2026-12-02T06:00:00.000Z");
    /* until 23:30; after it the next Wednesday */
    s_expect(&h, z, "2026-12-02T15:00:00.000Z", HOURS_OPEN, "2026-12-02T15:30:00.000Z",
             "2026-12-02T16:00:00.000Z", "-");
    s_expect(&h, z, "2026-12-02T15:45:00.000Z", HOURS_STOPPED, "-",
             "2026-12-02T16:00:00.000Z", "2026-12-09T06:00:00.000Z");
    /* no cut-off: issuing right up to the close */
    h.cutoff_min = 0;
    s_expect(&h, z, "2026-12-02T15:59:59.999Z", HOURS_OPEN, "2026-12-02T16:00:00.000Z",
             "2026-12-02T16:00:00.000Z", "-");
    s_expect(&h, z, "2026-12-02T16:00:00.000Z", HOURS_CLOSED, "-", "-",
             "2026-12-09T04:00:00.000Z");
    /* a week of closed days: closed with no restart in sight */
    hours_init(&h);
    h.set = true;
    s_expect(&h, z, "2026-12-02T03:00:00.000Z", HOURS_CLOSED, "-", "-", "-");
}

/* Europe/Berlin: CET (UTC+1) to CEST (UTC+2) at 02:00 on Sunday 2026-03-29
 * (a 23-hour day), back at 03:00 on Sunday 2026-10-25 (a 25-hour day). */
static void test_days_of_23_and_25_hours(void **state)
{
    (void) state;
    hours_t h;
    hours_init(&h);
    char reason[HOURS_REASON_SIZE];
    const char *z = "Europe/Berlin";
    /* Sundays 01:00-04:00 (across the change), Saturdays 08:00-17:00 and
     * Mondays 08:00-17:00 */
    assert_int_equal(hours_add_session(&h, 7, 60, 240, reason), 0);
    assert_int_equal(hours_add_session(&h, 6, 480, 1020, reason), 0);
    assert_int_equal(hours_add_session(&h, 1, 480, 1020, reason), 0);
    h.set = true;
    /* spring: 01:00 CET = 00:00Z, 04:00 CEST = 02:00Z: two hours of session,
     * issuing until 01:30Z (03:30 CEST) */
    s_expect(&h, z, "2026-03-29T00:00:00.000Z", HOURS_OPEN, "2026-03-29T01:30:00.000Z",
             "2026-03-29T02:00:00.000Z", "-");
    s_expect(&h, z, "2026-03-29T01:45:00.000Z", HOURS_STOPPED, "-",
             "2026-03-29T02:00:00.000Z", "2026-03-30T06:00:00.000Z");
    /* Saturday 18:00 CET: Sunday's session opens at 01:00 CET */
    s_expect(&h, z, "2026-03-28T17:00:00.000Z", HOURS_CLOSED, "-", "-",
             "2026-03-29T00:00:00.000Z");
    /* Saturday before the change: 08:00 CET = 07:00Z; Monday after: 06:00Z */
    s_expect(&h, z, "2026-03-28T06:59:00.000Z", HOURS_CLOSED, "-", "-",
             "2026-03-28T07:00:00.000Z");
    /* autumn: 01:00 CEST = 23:00Z the day before, 04:00 CET = 03:00Z: four
     * hours of session, issuing until 02:30Z (03:30 CET, the second one) */
    s_expect(&h, z, "2026-10-24T23:00:00.000Z", HOURS_OPEN, "2026-10-25T02:30:00.000Z",
             "2026-10-25T03:00:00.000Z", "-");
    s_expect(&h, z, "2026-10-25T02:15:00.000Z", HOURS_OPEN, "2026-10-25T02:30:00.000Z",
             "2026-10-25T03:00:00.000Z", "-");
    s_expect(&h, z, "2026-10-25T02:45:00.000Z", HOURS_STOPPED, "-",
             "2026-10-25T03:00:00.000Z", "2026-10-26T07:00:00.000Z");
    /* a session opening inside the spring gap (02:30, which does not exist)
     * opens when the clock jumps, at 03:00 CEST */
    hours_init(&h);
    assert_int_equal(hours_add_session(&h, 7, 150, 300, reason), 0);
    h.set = true;
    s_expect(&h, z, "2026-03-28T23:30:00.000Z", HOURS_CLOSED, "-", "-",
             "2026-03-29T01:00:00.000Z");
    s_expect(&h, z, "2026-03-29T01:00:00.000Z", HOURS_OPEN, "2026-03-29T02:30:00.000Z",
             "2026-03-29T03:00:00.000Z", "-");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_times_parse_and_format),
        cmocka_unit_test(test_sessions_are_ordered_and_never_overlap),
        cmocka_unit_test(test_a_week_is_read_strictly),
        cmocka_unit_test(test_the_hours_in_force_are_read_as_the_database_writes_them),
        cmocka_unit_test(test_no_week_is_always_open),
        cmocka_unit_test(test_a_working_day_with_a_lunch_break),
        cmocka_unit_test(test_special_dates_close_or_open_a_day),
        cmocka_unit_test(test_cut_offs_at_their_limits),
        cmocka_unit_test(test_days_of_23_and_25_hours),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
