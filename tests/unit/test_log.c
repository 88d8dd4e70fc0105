/*  Unit tests: log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

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
        cmocka_unit_test(test_long_line_is_cut_and_marked),
        cmocka_unit_test(test_level_parse_and_filter),
        cmocka_unit_test(test_null_event_and_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
