/*  Unit tests: gw_gb2312, UTF-8 to the LCD's GB2312 with visible markers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "eqms/log.h"
#include "../../services/device-gateway/gw_gb2312.h"

static int setup(void **state)
{
    log_init("test", LOG_LEVEL_ERROR);
    *state = gw_gb2312_new();
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    gw_gb2312_t *gb = *state;
    gw_gb2312_destroy(&gb);
    assert_null(gb);
    return 0;
}

static void test_ascii_and_chinese(void **state)
{
    uint8_t out[32];
    size_t len;
    int marked;
    char reason[GW_GB2312_REASON_SIZE];
    assert_int_equal(gw_gb2312_convert(*state, "A1 欢迎", out, sizeof out, &len,
                                       &marked, 0, NULL, reason), 0);
    /* 欢 = B B B 6, 迎 = D3 AD in GB2312 */
    const uint8_t want[] = { 'A', '1', ' ', 0xBB, 0xB6, 0xD3, 0xAD };
    assert_int_equal(len, sizeof want);
    assert_memory_equal(out, want, sizeof want);
    assert_int_equal(marked, 0);
    assert_int_equal(gw_gb2312_convert(*state, "", out, sizeof out, &len, &marked, 0,
                                       NULL, reason), 0);
    assert_int_equal(len, 0);
}

static void test_unmappable_characters_are_marked(void **state)
{
    uint8_t out[32];
    size_t len;
    int marked;
    char reason[GW_GB2312_REASON_SIZE];
    /* 😀 (emoji), 鎔 (traditional, not in GB2312), € and a tab: all marked */
    assert_int_equal(gw_gb2312_convert(*state, "a😀鎔€\tb", out, sizeof out, &len,
                                       &marked, 0, NULL, reason), 0);
    const uint8_t want[] = { 'a', 0xA1, 0xF5, 0xA1, 0xF5, 0xA1, 0xF5, 0xA1, 0xF5, 'b' };
    assert_int_equal(marked, 4);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(out, want, sizeof want);
    /* the marker itself converts to itself */
    assert_int_equal(gw_gb2312_convert(*state, "□", out, sizeof out, &len, &marked, 0,
                                       NULL, reason), 0);
    assert_int_equal(marked, 0);
    assert_int_equal(len, 2);
    assert_memory_equal(out, GW_GB2312_MARKER, 2);
}

static void test_invalid_utf8_is_refused(void **state)
{
    uint8_t out[32];
    size_t len;
    int marked;
    char reason[GW_GB2312_REASON_SIZE];
    const char *bad[] = { "\xC3", "a\xFF", "\xC0\x80", "\xED\xA0\x80", "\xE6\xAC" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reason[0] = 0;
        assert_int_equal(gw_gb2312_convert(*state, bad[i], out, sizeof out, &len,
                                           &marked, 0, NULL, reason), -1);
        assert_non_null(strstr(reason, "UTF-8"));
    }
}

static void test_too_long_refused_or_cut(void **state)
{
    uint8_t out[16];
    size_t len;
    int marked, cut;
    char reason[GW_GB2312_REASON_SIZE];
    const char *nine = "一二三四五六七八九";   /* 18 bytes of GB2312 */
    assert_int_equal(gw_gb2312_convert(*state, nine, out, 16, &len, &marked, 0, NULL,
                                       reason), -1);
    assert_non_null(strstr(reason, "longer"));
    assert_int_equal(gw_gb2312_convert(*state, nine, out, 16, &len, &marked, 1, &cut,
                                       reason), 0);
    assert_int_equal(len, 16);
    assert_int_equal(cut, 1);
    /* never cut inside a double-byte character */
    assert_int_equal(gw_gb2312_convert(*state, "a一二三四五六七八", out, 16, &len,
                                       &marked, 1, &cut, reason), 0);
    assert_int_equal(len, 15);
    assert_int_equal(cut, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii_and_chinese),
        cmocka_unit_test(test_unmappable_characters_are_marked),
        cmocka_unit_test(test_invalid_utf8_is_refused),
        cmocka_unit_test(test_too_long_refused_or_cut),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
