/*  Unit tests: sn_digest, the SMS that summarises waiting alerts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/sms-notifier/sn_digest.h"

#define U "unsatisfied_rating"

static void assert_digest(const sn_digest_item_t *items, size_t n, const char *want)
{
    char *got = sn_digest_text(items, n);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_one_branch_most_first(void **state)
{
    (void) state;
    const sn_digest_item_t items[] = {
        { U, "{\"branch\":\"浦东支行\",\"window\":\"4\",\"teller\":\"李四\",\"time\":\"2026-12-05 14:02\"}" },
        { U, "{\"branch\":\"浦东支行\",\"window\":\"3\",\"teller\":\"张三\",\"time\":\"2026-12-05 14:05\"}" },
        { U, "{\"branch\":\"浦东支行\",\"window\":\"3\",\"teller\":\"张三\",\"time\":\"2026-12-05 14:09\"}" },
        { U, "{\"branch\":\"浦东支行\",\"window\":\"1\",\"teller\":\"王芳\",\"time\":\"2026-12-05 14:03\"}" },
    };
    assert_digest(items, 4, "【服务评价汇总】浦东支行 14:02-14:09 共4条不满意评价："
                            "3号窗口 张三×2；4号窗口 李四×1；1号窗口 王芳×1");
    assert_digest(items + 1, 1, "【服务评价汇总】浦东支行 14:05 共1条不满意评价：3号窗口 张三×1");
}

static void test_several_branches_and_kinds(void **state)
{
    (void) state;
    const sn_digest_item_t items[] = {
        { U, "{\"branch\":\"浦东支行\",\"window\":\"3\",\"teller\":\"张三\",\"time\":\"2026-12-05 09:00\"}" },
        { "threshold", "{\"branch\":\"西湖支行\",\"window\":\"2\",\"time\":\"2026-12-05 09:30\"}" },
        { U, "not json" },
    };
    assert_digest(items, 3, "【服务评价汇总】浦东支行等3个网点 09:00-09:30 共3条告警："
                            "浦东支行3号窗口 张三×1；西湖支行2号窗口×1；×1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_branch_most_first),
        cmocka_unit_test(test_several_branches_and_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
