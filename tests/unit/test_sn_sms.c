/*  Unit tests: sn_sms, the SMS coding and parts of a text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/sms-notifier/sn_sms.h"

static char *repeat(const char *s, int n)
{
    char *out = malloc(strlen(s) * (size_t) n + 1);
    assert_non_null(out);
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        strcat(out, s);
    return out;
}

static void assert_plan(const char *text, sn_sms_coding_t coding, size_t units, int parts)
{
    sn_sms_plan_t plan;
    assert_int_equal(sn_sms_plan(text, &plan), 0);
    assert_int_equal(plan.coding, coding);
    assert_int_equal(plan.units, units);
    assert_int_equal(plan.parts, parts);
}

static void test_gsm_alphabet(void **state)
{
    (void) state;
    assert_plan("Window 3: unsatisfied (slow)", SN_SMS_GSM7, 28, 1);
    assert_plan("Ça coûte 5€", SN_SMS_UCS2, 11, 1);       /* û is not GSM */
    assert_plan("Ça va 5€ {x}", SN_SMS_GSM7, 15, 1);      /* €, {, } take two septets */
    assert_plan("back`tick", SN_SMS_UCS2, 9, 1);
    assert_plan("line\r\nnext", SN_SMS_GSM7, 10, 1);
}

static void test_parts(void **state)
{
    (void) state;
    char *t = repeat("a", 160);
    assert_plan(t, SN_SMS_GSM7, 160, 1);
    free(t);
    t = repeat("a", 161);
    assert_plan(t, SN_SMS_GSM7, 161, 2);
    free(t);
    t = repeat("a", 306);
    assert_plan(t, SN_SMS_GSM7, 306, 2);                  /* 2 x 153 */
    free(t);
    t = repeat("a", 307);
    assert_plan(t, SN_SMS_GSM7, 307, 3);
    free(t);
    t = repeat("窗", 70);
    assert_plan(t, SN_SMS_UCS2, 70, 1);
    free(t);
    t = repeat("窗", 71);
    assert_plan(t, SN_SMS_UCS2, 71, 2);
    free(t);
    t = repeat("窗", 134);
    assert_plan(t, SN_SMS_UCS2, 134, 2);                  /* 2 x 67 */
    free(t);
    t = repeat("窗", 135);
    assert_plan(t, SN_SMS_UCS2, 135, 3);
    free(t);
    assert_plan("😀", SN_SMS_UCS2, 2, 1);                 /* a surrogate pair */
}

static void test_bad_text(void **state)
{
    (void) state;
    sn_sms_plan_t plan;
    assert_int_equal(sn_sms_plan("", &plan), -1);
    assert_int_equal(sn_sms_plan("\xC3\x28", &plan), -1);
    bool cut;
    assert_null(sn_sms_fit("abc", 0, &cut));
    assert_null(sn_sms_fit("\xFF", 2, &cut));
}

static void test_fit(void **state)
{
    (void) state;
    bool cut = true;
    char *out = sn_sms_fit("short", 1, &cut);
    assert_string_equal(out, "short");
    assert_false(cut);
    free(out);

    char *t = repeat("窗", 300);
    out = sn_sms_fit(t, 2, &cut);
    assert_true(cut);
    sn_sms_plan_t plan;
    assert_int_equal(sn_sms_plan(out, &plan), 0);
    assert_int_equal(plan.units, 134);                    /* 133 characters and "…" */
    assert_int_equal(plan.parts, 2);
    assert_int_equal(strncmp(out + strlen(out) - 3, "\xE2\x80\xA6", 3), 0);
    assert_int_equal(strncmp(out, t, strlen(out) - 3), 0);
    free(out);
    out = sn_sms_fit(t, 1, &cut);
    assert_int_equal(sn_sms_plan(out, &plan), 0);
    assert_int_equal(plan.units, 70);
    free(out);
    free(t);

    t = repeat("b", 400);
    out = sn_sms_fit(t, 2, &cut);
    assert_true(cut);
    assert_int_equal(strlen(out), 306);
    assert_string_equal(out + 303, "...");
    free(out);
    free(t);

    /* a character of four bytes is never split */
    t = repeat("😀", 40);
    out = sn_sms_fit(t, 1, &cut);
    assert_int_equal(sn_sms_plan(out, &plan), 0);
    assert_int_equal(plan.units, 69);                     /* 34 x 2 and "…" */
    free(out);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gsm_alphabet),
        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_bad_text),
        cmocka_unit_test(test_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
