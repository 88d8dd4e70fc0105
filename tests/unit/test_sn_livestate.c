/*  Unit tests: sn_livestate, queue-manager's branch.state checked before
 *  sn_live keeps it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "../../services/sms-notifier/sn_livestate.h"

static const char *s_good =
    "{\"v\":1,\"id\":\"s1\",\"ok\":true,\"events\":0,\"branch\":\"hq.r01.b0001\","
    "\"day\":\"2026-11-28\",\"queues\":[{\"id\":1,\"prefix\":\"A\",\"waiting\":2,"
    "\"next_number\":4,\"oldest\":\"2026-11-28T01:00:01.000Z\"},{\"id\":2,\"prefix\":\"B\","
    "\"waiting\":0,\"next_number\":null,\"oldest\":null}],\"windows\":[{\"id\":101,"
    "\"number\":1,\"name\":\"1\",\"state\":\"open\",\"pause_reason\":null,\"staff\":7,"
    "\"current\":\"A001\",\"parked\":0,\"transferred\":0,\"profile\":\"\","
    "\"since\":\"2026-11-28T01:00:12.000Z\",\"waiting\":3,\"service\":10,"
    "\"called\":\"2026-11-28T01:00:12.000Z\",\"started\":null}],\"display\":[]}";

/* s_good with `from` replaced by `to`, checked: the reason, or "" when kept. */
static const char *s_check(const char *from, const char *to)
{
    static char text[2048], reason[200];
    const char *at = strstr(s_good, from);
    assert_non_null(at);
    snprintf(text, sizeof text, "%.*s%s%s", (int) (at - s_good), s_good, to, at + strlen(from));
    json_error_t error;
    json_t *state = json_loads(text, 0, &error);
    assert_non_null(state);
    reason[0] = '\0';
    int rc = sn_livestate_check(state, reason, sizeof reason);
    json_decref(state);
    assert_true(rc == 0 ? reason[0] == '\0' : reason[0] != '\0');
    return reason;
}

static void test_a_documented_reply_is_kept(void **state)
{
    (void) state;
    assert_string_equal(s_check("\"v\":1", "\"v\":1"), "");
    assert_string_equal(s_check("\"state\":\"open\"", "\"state\":\"paused\""), "");
}

static void test_a_reply_of_another_form_is_refused_naming_the_member(void **state)
{
    (void) state;
    assert_string_equal(s_check("\"waiting\":2", "\"waiting\":\"2\""),
                        "'queues[0].waiting' is missing or not of its documented type");
    assert_string_equal(s_check("\"waiting\":0", "\"waiting\":-1"),
                        "'queues[1].waiting' is missing or not of its documented type");
    assert_string_equal(s_check("\"oldest\":null", "\"oldest\":\"yesterday\""),
                        "'queues[1].oldest' is missing or not of its documented type");
    assert_string_equal(s_check("\"since\":\"2026-11-28T01:00:12.000Z\"",
                                "\"since\":\"2026-11-28 01:00\""),
                        "'windows[0].since' is missing or not of its documented type");
    assert_string_equal(s_check("\"state\":\"open\"", "\"state\":\"busy\""),
                        "'windows[0].state' is missing or not of its documented type");
    assert_string_equal(s_check("\"staff\":7", "\"staff\":7.0"),
                        "'windows[0].staff' is missing or not of its documented type");
    assert_string_equal(s_check("\"service\":10,", ""),
                        "'windows[0].service' is missing or not of its documented type");
    assert_string_equal(s_check("\"windows\":[", "\"windows\":[1,"),
                        "'windows[0]' must be an object");
    assert_string_equal(s_check("\"queues\":[", "\"queues\":7,\"q\":["),
                        "'queues' must be an array");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_documented_reply_is_kept),
        cmocka_unit_test(test_a_reply_of_another_form_is_refused_naming_the_member),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
