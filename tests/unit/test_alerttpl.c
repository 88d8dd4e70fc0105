/*  Unit tests: alerttpl, alert SMS texts from rule templates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/alerttpl.h"

static const char *K = "unsatisfied_rating";

static void test_every_offered_placeholder_is_accepted(void **state)
{
    (void) state;
    char reason[ALERTTPL_REASON_SIZE] = "";
    for (const char *const *n = alerttpl_names(K); *n; n++) {
        char text[64];
        snprintf(text, sizeof text, "x{%s}y", *n);
        assert_int_equal(alerttpl_check(K, text, reason), 0);
    }
    assert_int_equal(alerttpl_check(K, "{{literal}} braces, no placeholder", reason), 0);
}

/* Each kind offers its own placeholders: a threshold alert has no teller
 * of one rating, a rating alert no share. */
static void test_each_kind_has_its_placeholders(void **state)
{
    (void) state;
    char reason[ALERTTPL_REASON_SIZE] = "";
    assert_int_equal(alerttpl_check("unsatisfied_share",
                                       "{branch}{scope} {unsatisfied}/{rated} {share} "
                                       "{minutes} {time}", reason), 0);
    assert_int_equal(alerttpl_check("unsatisfied_share", "{teller}", reason), -1);
    assert_string_equal(reason, "unknown placeholder {teller}");
    assert_int_equal(alerttpl_check(K, "{share}", reason), -1);
    assert_null(alerttpl_names("no_such_kind"));
}

static void test_malformed_templates_are_refused_with_a_reason(void **state)
{
    (void) state;
    struct {
        const char *text, *reason;
    } cases[] = {
        { "{teller} at {telr}", "unknown placeholder {telr}" },
        { "{}", "unknown placeholder {}" },
        { "{teller", "unclosed '{' at character 1" },
        { "ab{te{ller}", "unclosed '{' at character 3" },
        { "done}", "stray '}' at character 5 (write }})" },
        { "", "empty template" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char reason[ALERTTPL_REASON_SIZE] = "";
        assert_int_equal(alerttpl_check(K, cases[i].text, reason), -1);
        assert_string_equal(reason, cases[i].reason);
    }
    char reason[ALERTTPL_REASON_SIZE] = "";
    assert_int_equal(alerttpl_check("no_such_kind", "x", reason), -1);
    assert_string_equal(reason, "unknown alert kind");
    assert_null(alerttpl_names("no_such_kind"));
}

static void test_render_fills_the_fields(void **state)
{
    (void) state;
    alerttpl_field_t f[] = { { "branch", "城东支行" }, { "window", "3" }, { "teller", "李娜" },
                       { "option", NULL } };
    char *s = alerttpl_render("{branch}{window}号窗口 {teller}: {option}/{ticket} {{x}}",
                                 f, sizeof f / sizeof f[0]);
    assert_non_null(s);
    assert_string_equal(s, "城东支行3号窗口 李娜: / {x}");
    free(s);
    s = alerttpl_render("", f, 0);
    assert_string_equal(s, "");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_offered_placeholder_is_accepted),
        cmocka_unit_test(test_malformed_templates_are_refused_with_a_reason),
        cmocka_unit_test(test_each_kind_has_its_placeholders),
        cmocka_unit_test(test_render_fills_the_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
