/*  Unit tests: log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "eqms/clock.h"
#include "eqms/log.h"

static void test_format_fields(void **state)
{
    (void) state;
    char line[LOG_LINE_MAX];
    clock_set_fake(1795000000123LL);
    log_init("bus", LOG_LEVEL_INFO);
    int n = log_format(line, sizeof line, LOG_LEVEL_WARN, "started", "port=%d", 9550);
    clock_set_fake(0);
    assert_string_equal(line, "ts=2026-11-18T11:06:40.123Z svc=bus level=warn "
                              "event=started port=9550");
    assert_int_equal(n, (int) strlen(line));
}

static void test_control_characters_escaped(void **state)
{
    (void) state;
    char line[LOG_LINE_MAX];
    log_init("t", LOG_LEVEL_DEBUG);
    log_format(line, sizeof line, LOG_LEVEL_ERROR, "bad", "reason=\"%s\"",
               "two\nlines\r\x01\ttab");
    assert_null(strchr(line, '\n'));
    assert_null(strchr(line, '\r'));
    assert_non_null(strstr(line, "reason=\"two\\nlines\\r\\x01\\ttab\""));
}

/* The context after "event=x ", for the assertions below. */
#define CONTEXT(line, ...) \
    (log_format(line, sizeof line, LOG_LEVEL_INFO, "x", __VA_ARGS__), \
     strstr(line, "event=x ") + 8)

/* A value can never end its field early or forge another key: quotes and
 * backslashes are escaped inside quotes, and a bare value that holds a space,
 * a quote, '=' or a backslash (or is empty) is put in quotes. */
static void test_values_are_escaped_as_logfmt(void **state)
{
    (void) state;
    char line[LOG_LINE_MAX];
    log_init("t", LOG_LEVEL_DEBUG);
    assert_string_equal(CONTEXT(line, "reason=\"%s\" n=%d", "bad \"x\" \\ y", 3),
                        "reason=\"bad \\\"x\\\" \\\\ y\" n=3");
    assert_string_equal(CONTEXT(line, "serial=%s branch=%s", "EQ 1 level=error", "hq.r01"),
                        "serial=\"EQ 1 level=error\" branch=hq.r01");
    assert_string_equal(CONTEXT(line, "a=%s b=%s c=%s", "", "x=y", "q\"q"),
                        "a=\"\" b=\"x=y\" c=\"q\\\"q\"");
    assert_string_equal(CONTEXT(line, "serial=%s", "EQ-B0001-W01"), "serial=EQ-B0001-W01");
    /* a value inside composite text is escaped, not quoted */
    assert_string_equal(CONTEXT(line, "http=%s:%ld topic=%s.%s", "0.0.0.0", 9550L, "a", "b"),
                        "http=0.0.0.0:9550 topic=a.b");
    assert_string_equal(CONTEXT(line, "topic=\"%.*s\" p=%.3s", 4, "abcdefg", "xy\"zw"),
                        "topic=\"abcd\" p=\"xy\\\"\"");
}

/* Every other conversion is written as printf writes it. */
static void test_numbers_as_printf(void **state)
{
    (void) state;
    char line[LOG_LINE_MAX], expected[256];
    log_init("t", LOG_LEVEL_DEBUG);
    snprintf(expected, sizeof expected,
             "a=%d b=%u c=%ld d=%lld e=%zu f=%zd g=%.1f h=%x i=%5d j=%-3d| k=%*d l=%c m=%% "
             "n=%08.3f o=%hhd p=%jd q=%llu",
             -7, 4000000000u, -123456789L, -9007199254740993LL, (size_t) 42, (ssize_t) -1,
             3.25, 255u, 12, 7, 4, 3, 'Z', 3.14159, (signed char) -5, (intmax_t) 1 << 40,
             18446744073709551615ULL);
    assert_string_equal(
        CONTEXT(line, "a=%d b=%u c=%ld d=%lld e=%zu f=%zd g=%.1f h=%x i=%5d j=%-3d| k=%*d "
                "l=%c m=%% n=%08.3f o=%hhd p=%jd q=%llu",
                -7, 4000000000u, -123456789L, -9007199254740993LL, (size_t) 42,
                (ssize_t) -1, 3.25, 255u, 12, 7, 4, 3, 'Z', 3.14159, (signed char) -5,
                (intmax_t) 1 << 40, 18446744073709551615ULL),
        expected);
}

static void test_long_line_is_cut_and_marked(void **state)
{
    (void) state;
    char big[LOG_LINE_MAX * 2];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char line[LOG_LINE_MAX];
    int n = log_format(line, sizeof line, LOG_LEVEL_INFO, "big", "v=%s", big);
    assert_true(n < LOG_LINE_MAX);
    assert_int_equal(n, (int) strlen(line));
    assert_string_equal(line + n - 3, "...");
}

static void test_level_parse_and_filter(void **state)
{
    (void) state;
    assert_int_equal(log_level_parse("debug"), LOG_LEVEL_DEBUG);
    assert_int_equal(log_level_parse("error"), LOG_LEVEL_ERROR);
    assert_int_equal(log_level_parse("ERROR"), -1);
    assert_int_equal(log_level_parse(""), -1);
    assert_int_equal(log_level_parse(NULL), -1);
    log_init("t", LOG_LEVEL_WARN);
    assert_false(log_enabled(LOG_LEVEL_INFO));
    assert_true(log_enabled(LOG_LEVEL_ERROR));
}

static void test_null_event_and_format(void **state)
{
    (void) state;
    char line[LOG_LINE_MAX];
    log_init(NULL, LOG_LEVEL_INFO);
    log_format(line, sizeof line, LOG_LEVEL_INFO, NULL, NULL);
    assert_non_null(strstr(line, "svc=eqms level=info event=-"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_fields),
        cmocka_unit_test(test_control_characters_escaped),
        cmocka_unit_test(test_values_are_escaped_as_logfmt),
        cmocka_unit_test(test_numbers_as_printf),
        cmocka_unit_test(test_long_line_is_cut_and_marked),
        cmocka_unit_test(test_level_parse_and_filter),
        cmocka_unit_test(test_null_event_and_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
