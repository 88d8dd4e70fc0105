/*  Unit tests: gw_command, strict validation of bus device commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "eqms/devcodec.h"
#include "eqms/log.h"
#include "../../services/device-gateway/gw_command.h"

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
    return 0;
}

static int decode(void **state, const char *text, gw_command_t *cmd, char *reason)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    assert_non_null(j);
    int rc = gw_command_decode(j, *state, cmd, reason);
    json_decref(j);
    return rc;
}

/* Every report a command produced goes through the device's own decoder. */
static void round_trip(const devcodec_cmd_t *c, devcodec_cmd_t *back)
{
    uint8_t buf[DEVPROTO_REPORT_SIZE];
    assert_int_equal(devcodec_encode_cmd(c, buf), DEVCODEC_OK);
    assert_int_equal(devcodec_decode_cmd(buf, sizeof buf, back), DEVCODEC_OK);
}

static void test_text_lines(void **state)
{
    gw_command_t cmd;
    char reason[ENVELOPE_REASON_SIZE];
    assert_int_equal(decode(state, "{\"serial\":\"EQ-1\",\"command\":\"text\","
                            "\"target\":\"idle\",\"lines\":[\"欢迎光临\",\"Hi😀\"]}",
                            &cmd, reason), 0);
    assert_string_equal(cmd.serial, "EQ-1");
    assert_int_equal(cmd.count, 2);
    assert_int_equal(cmd.marked, 1);
    devcodec_cmd_t back;
    round_trip(&cmd.cmds[1], &back);
    assert_int_equal(back.type, DEVPROTO_CMD_SET_TEXT);
    assert_int_equal(back.u.text.target, 1);
    assert_int_equal(back.u.text.line, 1);
    assert_int_equal(back.u.text.length, 4);
    assert_memory_equal(back.u.text.text, "Hi\xA1\xF5", 4);
}

static void test_each_command_kind(void **state)
{
    gw_command_t cmd;
    char reason[ENVELOPE_REASON_SIZE];
    devcodec_cmd_t back;
    assert_int_equal(decode(state, "{\"serial\":\"EQ-1\",\"command\":\"stars\",\"stars\":4}",
                            &cmd, reason), 0);
    round_trip(&cmd.cmds[0], &back);
    assert_int_equal(back.u.stars, 4);
    assert_int_equal(decode(state, "{\"serial\":\"EQ-1\",\"command\":\"prompt\","
                            "\"prompt\":\"please_rate\"}", &cmd, reason), 0);
    assert_int_equal(cmd.cmds[0].u.prompt, DEVPROTO_PROMPT_PLEASE_RATE);
    assert_int_equal(decode(state, "{\"serial\":\"EQ-1\",\"command\":\"config\","
                            "\"rating_timeout_s\":30,\"repeat_press_s\":10,"
                            "\"key_codes\":[3,2,1]}", &cmd, reason), 0);
    round_trip(&cmd.cmds[0], &back);
    assert_int_equal(back.u.config.key_count, 3);
    assert_int_equal(back.u.config.key_codes[0], 3);
    assert_int_equal(decode(state, "{\"serial\":\"EQ-1\",\"command\":\"ticket\","
                            "\"ticket\":\"A012\",\"window_number\":3}", &cmd, reason), 0);
    round_trip(&cmd.cmds[0], &back);
    assert_memory_equal(back.u.show_ticket.ticket, "A012", 4);
    assert_int_equal(decode(state, "{\"serial\":\"EQ-1\",\"command\":\"login_reply\","
                            "\"accepted\":true,\"name\":\"张三\",\"reason\":\"none\"}",
                            &cmd, reason), 0);
    round_trip(&cmd.cmds[0], &back);
    assert_int_equal(back.u.login_reply.accepted, 1);
    assert_int_equal(back.u.login_reply.name_length, 4);
    assert_int_equal(decode(state, "{\"serial\":\"EQ-1\",\"command\":\"login_reply\","
                            "\"accepted\":false,\"name\":\"\",\"reason\":\"inactive\"}",
                            &cmd, reason), 0);
    assert_int_equal(cmd.cmds[0].u.login_reply.reason, DEVPROTO_REFUSED_INACTIVE);
    assert_int_equal(decode(state, "{\"serial\":\"EQ-1\",\"command\":\"time\","
                            "\"time\":\"2026-11-22T13:09:00.123Z\"}", &cmd, reason), 0);
    assert_int_equal(cmd.cmds[0].u.time_ms, 1795352940123ull);
}

static void test_bad_commands_rejected(void **state)
{
    static const char *bad[] = {
        "[]",
        "{\"command\":\"stars\",\"stars\":4}",
        "{\"serial\":\"EQ 1\",\"command\":\"stars\",\"stars\":4}",
        "{\"serial\":\"EQ-1\",\"command\":\"reboot\"}",
        "{\"serial\":\"EQ-1\",\"command\":\"stars\",\"stars\":6}",
        "{\"serial\":\"EQ-1\",\"command\":\"stars\",\"stars\":\"4\"}",
        "{\"serial\":\"EQ-1\",\"command\":\"stars\",\"stars\":4,\"extra\":1}",
        "{\"serial\":\"EQ-1\",\"command\":\"text\",\"target\":\"now\",\"lines\":[]}",
        "{\"serial\":\"EQ-1\",\"command\":\"text\",\"target\":\"now\",\"lines\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}",
        "{\"serial\":\"EQ-1\",\"command\":\"text\",\"target\":\"later\",\"lines\":[\"a\"]}",
        "{\"serial\":\"EQ-1\",\"command\":\"text\",\"target\":\"now\",\"lines\":[\"一二三四五六七八九\"]}",
        "{\"serial\":\"EQ-1\",\"command\":\"text\",\"target\":\"now\",\"lines\":[7]}",
        "{\"serial\":\"EQ-1\",\"command\":\"prompt\",\"prompt\":\"sing\"}",
        "{\"serial\":\"EQ-1\",\"command\":\"config\",\"rating_timeout_s\":1,\"repeat_press_s\":10,\"key_codes\":[1,2]}",
        "{\"serial\":\"EQ-1\",\"command\":\"config\",\"rating_timeout_s\":30,\"repeat_press_s\":10,\"key_codes\":[1,1]}",
        "{\"serial\":\"EQ-1\",\"command\":\"config\",\"rating_timeout_s\":30,\"repeat_press_s\":10,\"key_codes\":[1]}",
        "{\"serial\":\"EQ-1\",\"command\":\"config\",\"rating_timeout_s\":30,\"repeat_press_s\":10,\"key_codes\":[1,7]}",
        "{\"serial\":\"EQ-1\",\"command\":\"ticket\",\"ticket\":\"a012\",\"window_number\":3}",
        "{\"serial\":\"EQ-1\",\"command\":\"ticket\",\"ticket\":\"A0123456789\",\"window_number\":3}",
        "{\"serial\":\"EQ-1\",\"command\":\"ticket\",\"ticket\":\"A012\",\"window_number\":256}",
        "{\"serial\":\"EQ-1\",\"command\":\"login_reply\",\"accepted\":true,\"name\":\"x\",\"reason\":\"inactive\"}",
        "{\"serial\":\"EQ-1\",\"command\":\"login_reply\",\"accepted\":false,\"name\":\"\",\"reason\":\"none\"}",
        "{\"serial\":\"EQ-1\",\"command\":\"time\",\"time\":\"now\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_command_t cmd;
        char reason[ENVELOPE_REASON_SIZE] = "";
        if (decode(state, bad[i], &cmd, reason) == 0)
            fail_msg("accepted: %s", bad[i]);
        assert_true(strlen(reason) > 0);
    }
}

static void test_login_reply_helper(void **state)
{
    devcodec_cmd_t c, back;
    int marked;
    assert_int_equal(gw_command_login_reply(*state, 1, "欧阳一二三四五六七", 0, &c,
                                            &marked), 0);
    round_trip(&c, &back);
    assert_int_equal(back.u.login_reply.name_length, 16);   /* cut to the LCD */
    assert_int_equal(gw_command_login_reply(*state, 0, NULL,
                                            DEVPROTO_REFUSED_UNKNOWN_STAFF, &c,
                                            &marked), 0);
    round_trip(&c, &back);
    assert_int_equal(back.u.login_reply.accepted, 0);
    assert_int_equal(back.u.login_reply.reason, DEVPROTO_REFUSED_UNKNOWN_STAFF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_lines),
        cmocka_unit_test(test_each_command_kind),
        cmocka_unit_test(test_bad_commands_rejected),
        cmocka_unit_test(test_login_reply_helper),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
