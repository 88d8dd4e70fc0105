/*  Unit tests: export, the CSV writer byte for byte, rounding, and the
 *  table's checks (the XLSX is read back by tests/system/test_export.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/export.h"

static const export_column_t s_columns[] = {
    { "窗口", EXPORT_TEXT, 0 },
    { "服务人次", EXPORT_INTEGER, 0 },
    { "平均等候(分)", EXPORT_DECIMAL, 2 },
    { "满意率", EXPORT_PERCENT, 1 },
    { "日期", EXPORT_DATE, 0 },
    { "最后评价", EXPORT_DATETIME, 0 },
};

static struct tm s_tm(int y, int mo, int d, int h, int mi, int s)
{
    return (struct tm) { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                         .tm_min = mi, .tm_sec = s };
}

static void test_csv_bytes(void **state)
{
    (void) state;
    export_table_t *t = export_table_new("窗口统计", s_columns, 6);
    assert_non_null(t);
    struct tm day = s_tm(2024, 3, 9, 0, 0, 0), at = s_tm(2024, 3, 9, 16, 5, 7);
    /* a row of everything, Chinese and a comma */
    assert_int_equal(export_add_text(t, "3号窗口, 对公"), 0);
    assert_int_equal(export_add_integer(t, 128), 0);
    assert_int_equal(export_add_decimal(t, 2.675), 0);
    assert_int_equal(export_add_decimal(t, 0.9535), 0);
    assert_int_equal(export_add_time(t, &day), 0);
    assert_int_equal(export_add_time(t, &at), 0);
    /* quotes, line breaks, formula injection, empties, negatives */
    assert_int_equal(export_add_text(t, "=HYPERLINK(\"http://x\")"), 0);
    assert_int_equal(export_add_integer(t, -3), 0);
    assert_int_equal(export_add_decimal(t, -0.004), 0);
    assert_int_equal(export_add_decimal(t, 1.0), 0);
    assert_int_equal(export_add_empty(t), 0);
    assert_int_equal(export_add_empty(t), 0);
    assert_int_equal(export_add_text(t, "说\"好\"\r\n第二行"), 0);
    assert_int_equal(export_add_empty(t), 0);
    assert_int_equal(export_add_decimal(t, 10), 0);
    assert_int_equal(export_add_decimal(t, 0), 0);
    assert_int_equal(export_add_empty(t), 0);
    assert_int_equal(export_add_empty(t), 0);
    const char *guarded[] = { "+1", "-1", "@SUM(A1)", "\tx", "\rx", "a=b" };
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(export_add_text(t, guarded[i]), 0);
        for (int k = 0; i < 5 && k < 5; k++)
            assert_int_equal(export_add_empty(t), 0);
    }
    /* a last row left short: its missing cells are empty */
    assert_int_equal(export_rows(t), 9);

    size_t len = 0;
    char *csv = export_csv(t, &len);
    assert_non_null(csv);
    static const char want[] =
        "\xEF\xBB\xBF"
        "窗口,服务人次,平均等候(分),满意率,日期,最后评价\r\n"
        "\"3号窗口, 对公\",128,2.68,95.4%,2024-03-09,2024-03-09 16:05:07\r\n"
        "\"'=HYPERLINK(\"\"http://x\"\")\",-3,0.00,100.0%,,\r\n"
        "\"说\"\"好\"\"\r\n第二行\",,10.00,0.0%,,\r\n"
        "'+1,,,,,\r\n"
        "'-1,,,,,\r\n"
        "'@SUM(A1),,,,,\r\n"
        "'\tx,,,,,\r\n"
        "\"'\rx\",,,,,\r\n"
        "a=b,,,,,\r\n";
    assert_int_equal(len, sizeof want - 1);
    assert_memory_equal(csv, want, len);
    free(csv);
    export_table_destroy(&t);
    assert_null(t);
    export_table_destroy(&t);
}

static void test_headers_are_guarded_too(void **state)
{
    (void) state;
    export_column_t cols[] = { { "-差值", EXPORT_INTEGER, 0 }, { "a\"b", EXPORT_TEXT, 0 } };
    export_table_t *t = export_table_new("x", cols, 2);
    assert_non_null(t);
    size_t len;
    char *csv = export_csv(t, &len);
    assert_string_equal(csv, "\xEF\xBB\xBF'-差值,\"a\"\"b\"\r\n");
    free(csv);
    export_table_destroy(&t);
}

/* A CSV streamed a few rows at a time is the file export_csv writes. */
static void test_csv_in_parts(void **state)
{
    (void) state;
    export_column_t cols[] = { { "柜员", EXPORT_TEXT, 0 }, { "等候(秒)", EXPORT_DECIMAL, 1 } };
    export_table_t *whole = export_table_new("x", cols, 2), *part = export_table_new("x", cols, 2);
    assert_non_null(whole);
    assert_non_null(part);
    char *joined = NULL;
    size_t joined_len = 0;
    for (int i = 0; i < 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "张%d", i);
        assert_int_equal(export_add_text(whole, name), 0);
        assert_int_equal(export_add_decimal(whole, i * 1.25), 0);
        assert_int_equal(export_add_text(part, name), 0);
        assert_int_equal(export_add_decimal(part, i * 1.25), 0);
        if (i % 2 == 1 || i == 4) {
            size_t len;
            char *csv = export_csv_part(part, joined == NULL, &len);
            assert_non_null(csv);
            joined = realloc(joined, joined_len + len);
            memcpy(joined + joined_len, csv, len);
            joined_len += len;
            free(csv);
            export_table_clear(part);
            assert_int_equal(export_rows(part), 0);
        }
    }
    size_t len;
    char *csv = export_csv(whole, &len);
    assert_int_equal(len, joined_len);
    assert_memory_equal(csv, joined, len);
    free(csv);
    free(joined);
    export_table_destroy(&whole);
    export_table_destroy(&part);
}

static void test_rounding(void **state)
{
    (void) state;
    assert_true(export_round(2.675, 2) == 2.68);
    assert_true(export_round(1.005, 2) == 1.01);
    assert_true(export_round(-2.675, 2) == -2.68);
    assert_true(export_round(0.125, 2) == 0.13);
    assert_true(export_round(2.5, 0) == 3.0);
    assert_true(export_round(-2.5, 0) == -3.0);
    assert_true(export_round(1.23456789, 6) == 1.234568);
    assert_true(export_round(-0.0001, 2) == 0.0);
    char text[32];
    snprintf(text, sizeof text, "%.2f", export_round(-0.0001, 2));
    assert_string_equal(text, "0.00");                  /* never "-0.00" */
    assert_true(export_round(95.35, 1) == 95.4);
    assert_true(export_round(7, 9) == 7.0);            /* places clamped */
}

static void test_refusals(void **state)
{
    (void) state;
    export_column_t bad[] = { { "x", EXPORT_DECIMAL, 7 } };
    assert_null(export_table_new("x", bad, 1));
    export_column_t untitled[] = { { NULL, EXPORT_TEXT, 0 } };
    assert_null(export_table_new("x", untitled, 1));
    assert_null(export_table_new("x", s_columns, 0));

    export_table_t *t = export_table_new("x", s_columns, 6);
    assert_int_equal(export_add_integer(t, 1), -1);     /* column 1 is text */
    assert_int_equal(export_add_text(t, "\xff"), -1);   /* not UTF-8 */
    assert_int_equal(export_add_text(t, NULL), -1);
    assert_int_equal(export_add_text(t, "ok"), 0);
    assert_int_equal(export_add_decimal(t, 1), -1);     /* column 2 is an integer */
    assert_int_equal(export_add_integer(t, 1), 0);
    struct tm bad_tm = s_tm(2024, 13, 1, 0, 0, 0);
    assert_int_equal(export_add_text(t, "x"), -1);
    assert_int_equal(export_add_decimal(t, 1.0 / 0.0), -1);
    assert_int_equal(export_add_decimal(t, 1), 0);
    assert_int_equal(export_add_decimal(t, 1), 0);
    assert_int_equal(export_add_time(t, &bad_tm), -1);
    assert_int_equal(export_rows(t), 1);
    export_table_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_bytes),
        cmocka_unit_test(test_headers_are_guarded_too),
        cmocka_unit_test(test_csv_in_parts),
        cmocka_unit_test(test_rounding),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
