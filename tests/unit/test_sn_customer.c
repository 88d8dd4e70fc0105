/*  Unit tests: sn_customer, how an inbound SMS's keyword and sender are
 *  read, and the customer texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/sms-notifier/sn_customer.h"

static void s_keyword(const char *text, const char *want)
{
    char out[SN_CUSTOMER_KEYWORD_SIZE];
    assert_int_equal(sn_customer_keyword(text, out, sizeof out), 0);
    assert_string_equal(out, want);
}

static void test_keywords_are_case_and_width_insensitive(void **state)
{
    (void) state;
    s_keyword("A", "A");
    s_keyword("a", "A");
    s_keyword("  cash  ", "CASH");
    s_keyword("\xef\xbc\xa1", "A");                 /* Ａ, full-width */
    s_keyword("\xef\xbd\x81", "A");                 /* ａ */
    s_keyword("\xef\xbc\xa3\xef\xbd\x81sh", "CASH"); /* Ｃａsh */
    s_keyword("\xe3\x80\x80" "b\xe3\x80\x80x", "B"); /* ideographic spaces around */
    s_keyword("\xef\xbc\x91\xef\xbc\x90", "10");     /* full-width digits */
    s_keyword("取号 A", "取号");
    s_keyword("A 请给我一个号", "A");
    s_keyword("", "");
    s_keyword(" \t\r\n", "");
}

static void test_bad_keywords_are_refused(void **state)
{
    (void) state;
    char out[8];
    assert_int_equal(sn_customer_keyword("\xff" "A", out, sizeof out), -1);   /* not UTF-8 */
    assert_int_equal(sn_customer_keyword("\xc0\x81", out, sizeof out), -1);  /* overlong */
    assert_int_equal(sn_customer_keyword("ABCDEFGH", out, sizeof out), -1);   /* too long */
    assert_int_equal(sn_customer_keyword("ABCDEFG", out, sizeof out), 0);
    assert_int_equal(sn_customer_keyword("取号取", out, sizeof out), -1);     /* 9 bytes */
}

static void s_phone(const char *in, const char *want)
{
    char out[SN_CUSTOMER_PHONE_SIZE];
    print_message("phone \"%s\"\n", in ? in : "(null)");
    if (!want) {
        assert_int_equal(sn_customer_phone(in, out), -1);
        return;
    }
    assert_int_equal(sn_customer_phone(in, out), 0);
    assert_string_equal(out, want);
}

/* Every case of tests/data/phones.txt, the list the database's reading
 * (sms_phone_normal) is held to as well. */
static void test_phones_become_e164(void **state)
{
    (void) state;
    char path[512];
    snprintf(path, sizeof path, "%.*s/../data/phones.txt",
             (int) (strrchr(__FILE__, '/') - __FILE__), __FILE__);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *tab = strchr(line, '\t');
        if (line[0] == '#' || !tab)
            continue;
        *tab = '\0';
        s_phone(line, strcmp(tab + 1, "-") == 0 ? NULL : tab + 1);
        cases++;
    }
    fclose(f);
    assert_true(cases >= 20);
    s_phone(NULL, NULL);
    s_phone("+86138001380001380013800138000138", NULL);   /* longer than any phone */
}

static void test_texts_say_what_the_customer_needs(void **state)
{
    (void) state;
    char *t = sn_customer_issued_text("浦东支行", "A012", 3, 541);
    assert_string_equal(t, "【浦东支行】取号成功：您的号码A012，前面还有3位，预计等候约10分钟，"
                           "叫号时将短信通知您。Ticket A012: 3 ahead, about 10 min.");
    free(t);
    t = sn_customer_called_text("浦东支行", "A012", "3");
    assert_string_equal(t, "请A012号到3号窗口办理业务【浦东支行】。Ticket A012, please go to window 3.");
    free(t);
    t = sn_customer_near_text("浦东支行", "B004", 2);
    assert_non_null(strstr(t, "B004前面还有2位"));
    free(t);
    t = sn_customer_limit_text("浦东支行", 5);
    assert_non_null(strstr(t, "已达5次上限"));
    free(t);
    t = sn_customer_unknown_text("浦东支行", "A 个人业务, B 对公业务");
    assert_non_null(strstr(t, "A 个人业务, B 对公业务"));
    free(t);
    t = sn_customer_refused_text("浦东支行");
    assert_non_null(strstr(t, "无法为您取号"));
    free(t);
    clock_date_t today = { 2026, 11, 30 }, tomorrow = { 2026, 12, 1 };
    t = sn_customer_not_issuing_text("浦东支行", today, &today, 13 * 60 + 30);
    assert_string_equal(t, "【浦东支行】抱歉，现在暂停取号，今天13:30恢复取号，届时请再发短信取号。"
                           "Tickets again from 13:30 today.");
    free(t);
    t = sn_customer_not_issuing_text("浦东支行", today, &tomorrow, 8 * 60 + 30);
    assert_string_equal(t, "【浦东支行】抱歉，本网点今日已停止取号，12月1日 08:30恢复取号。"
                           "No more tickets today; again from 2026-12-01 08:30.");
    free(t);
    t = sn_customer_not_issuing_text("浦东支行", today, NULL, 0);
    assert_non_null(strstr(t, "现在不办理取号"));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keywords_are_case_and_width_insensitive),
        cmocka_unit_test(test_bad_keywords_are_refused),
        cmocka_unit_test(test_phones_become_e164),
        cmocka_unit_test(test_texts_say_what_the_customer_needs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
