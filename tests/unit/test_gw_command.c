/*  Unit tests: gw_command, strict validation of bus device commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "eqms/devcodec.h"
#include "eqms/log.h"
#include "../../services/device-gateway/gw_command.h"
#include "../../services/device-gateway/gw_downlink.h"

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
    /* NUL allowed here: the bus refuses it, the decoder must too */
    json_t *j = json_loads(text, JSON_ALLOW_NUL, &err);
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
    /* rate: the host ended the service of a ticket (or of none) */
    assert_int_equal(decode(state, "{\"serial\":\"EQ-B0001-W03\",\"command\":\"rate\","
                            "\"ticket\":\"A012\"}", &cmd, reason), 0);
    round_trip(&cmd.cmds[0], &back);
    assert_int_equal(back.type, DEVPROTO_CMD_REQUEST_RATING);
    assert_int_equal(back.u.request_rating.ticket_length, 4);
    assert_memory_equal(back.u.request_rating.ticket, "A012", 4);
    assert_int_equal(decode(state, "{\"serial\":\"EQ-1\",\"command\":\"rate\","
                            "\"ticket\":\"\"}", &cmd, reason), 0);
    assert_int_equal(cmd.cmds[0].u.request_rating.ticket_length, 0);
    assert_int_equal(decode(state, "{\"serial\":\"EQ-1\",\"command\":\"rate\","
                            "\"ticket\":\"Z9999999\"}", &cmd, reason), 0);
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

/* A staff command for employee 7 whose name is `n` (< 300) ASCII letters. */
static int decode_staff_name(void **state, size_t n, gw_command_t *cmd, char *reason)
{
    char text[400], name[300];
    memset(name, 'x', n);
    name[n] = 0;
    snprintf(text, sizeof text, "{\"serial\":\"EQ-1\",\"command\":\"staff\","
             "\"employee_no\":\"7\",\"name\":\"%s\"}", name);
    return decode(state, text, cmd, reason);
}

/* staff: the host's teller; a long name is cut at a character, not refused */
static void test_staff_command(void **state)
{
    gw_command_t cmd;
    char reason[ENVELOPE_REASON_SIZE];
    devcodec_cmd_t back;
    assert_int_equal(decode(state, "{\"serial\":\"EQ-B0001-W03\",\"command\":\"staff\","
                            "\"employee_no\":\"1001\",\"name\":\"王芳\"}", &cmd, reason), 0);
    assert_int_equal(cmd.count, 1);
    assert_int_equal(cmd.cut, 0);
    assert_int_equal(cmd.marked, 0);
    round_trip(&cmd.cmds[0], &back);
    assert_int_equal(back.type, DEVPROTO_CMD_SET_STAFF);
    assert_int_equal(back.u.set_staff.employee_length, 4);
    assert_memory_equal(back.u.set_staff.employee_no, "1001", 4);
    assert_int_equal(back.u.set_staff.name_length, 4);
    assert_memory_equal(back.u.set_staff.name, "\xcd\xf5\xb7\xbc", 4);
    /* nobody: the host logged the teller out; a name given then is not used */
    assert_int_equal(decode(state, "{\"serial\":\"EQ-B0001-W03\",\"command\":\"staff\","
                            "\"employee_no\":\"\",\"name\":\"\"}", &cmd, reason), 0);
    round_trip(&cmd.cmds[0], &back);
    assert_int_equal(back.u.set_staff.employee_length, 0);
    assert_int_equal(decode(state, "{\"serial\":\"EQ-1\",\"command\":\"staff\","
                            "\"employee_no\":\"\",\"name\":\"王芳\"}", &cmd, reason), 0);
    assert_int_equal(cmd.cmds[0].u.set_staff.name_length, 0);
    /* a nameless teller and the longest number */
    assert_int_equal(decode(state, "{\"serial\":\"EQ-1\",\"command\":\"staff\","
                            "\"employee_no\":\"1234567890123456\",\"name\":\"\"}", &cmd,
                            reason), 0);
    round_trip(&cmd.cmds[0], &back);
    assert_int_equal(back.u.set_staff.employee_length, 16);
    assert_int_equal(back.u.set_staff.name_length, 0);
    /* 9 characters: cut to 8 (16 bytes), flagged for the name_cut log */
    assert_int_equal(decode(state, "{\"serial\":\"EQ-1\",\"command\":\"staff\","
                            "\"employee_no\":\"7\",\"name\":\"欧阳一二三四五六七\"}", &cmd,
                            reason), 0);
    assert_int_equal(cmd.cut, 1);
    round_trip(&cmd.cmds[0], &back);
    assert_int_equal(back.u.set_staff.name_length, 16);
    assert_memory_equal(back.u.set_staff.name, "\xc5\xb7\xd1\xf4\xd2\xbb\xb6\xfe\xc8\xfd"
                        "\xcb\xc4\xce\xe5\xc1\xf9", 16);
    /* at a character's end: 1 + 7 x 2 bytes, the 8th character does not fit */
    assert_int_equal(decode(state, "{\"serial\":\"EQ-1\",\"command\":\"staff\","
                            "\"employee_no\":\"7\",\"name\":\"A欧阳一二三四五六\"}", &cmd,
                            reason), 0);
    assert_int_equal(cmd.cut, 1);
    assert_int_equal(cmd.cmds[0].u.set_staff.name_length, 15);
    round_trip(&cmd.cmds[0], &back);
    /* 256 bytes of name are allowed (and cut); a character without GB2312 is marked */
    assert_int_equal(decode_staff_name(state, 256, &cmd, reason), 0);
    assert_int_equal(cmd.cmds[0].u.set_staff.name_length, 16);
    assert_int_equal(decode(state, "{\"serial\":\"EQ-1\",\"command\":\"staff\","
                            "\"employee_no\":\"7\",\"name\":\"王😀\"}", &cmd, reason), 0);
    assert_int_equal(cmd.marked, 1);
    assert_int_equal(cmd.cut, 0);
}

/* Each refusal names the member (or the rule) that broke it. */
static void test_bad_staff_and_rate_commands_say_why(void **state)
{
    static const struct { const char *json, *why; } bad[] = {
        { "{\"serial\":\"EQ-1\",\"command\":\"staff\",\"employee_no\":\"10a1\",\"name\":\"x\"}",
          "employee_no" },
        { "{\"serial\":\"EQ-1\",\"command\":\"staff\",\"employee_no\":\" 1001\",\"name\":\"x\"}",
          "employee_no" },
        { "{\"serial\":\"EQ-1\",\"command\":\"staff\",\"employee_no\":\"12345678901234567\","
          "\"name\":\"x\"}", "employee_no" },
        { "{\"serial\":\"EQ-1\",\"command\":\"staff\",\"employee_no\":\"10\\u00001\","
          "\"name\":\"x\"}", "employee_no" },
        { "{\"serial\":\"EQ-1\",\"command\":\"staff\",\"employee_no\":1001,\"name\":\"x\"}",
          "employee_no" },
        { "{\"serial\":\"EQ-1\",\"command\":\"staff\",\"employee_no\":null,\"name\":\"x\"}",
          "employee_no" },
        { "{\"serial\":\"EQ-1\",\"command\":\"staff\",\"employee_no\":\"1001\",\"name\":7}",
          "name" },
        { "{\"serial\":\"EQ-1\",\"command\":\"staff\",\"employee_no\":\"1001\",\"name\":null}",
          "name" },
        { "{\"serial\":\"EQ-1\",\"command\":\"staff\",\"employee_no\":\"1001\","
          "\"name\":\"a\\u0000b\"}", "name" },
        { "{\"serial\":\"EQ-1\",\"command\":\"staff\",\"employee_no\":\"1001\"}", "name" },
        { "{\"serial\":\"EQ-1\",\"command\":\"staff\",\"name\":\"x\"}", "employee_no" },
        { "{\"serial\":\"EQ-1\",\"command\":\"staff\",\"employee_no\":\"1001\",\"name\":\"x\","
          "\"window\":3}", "window" },
        { "{\"serial\":\"EQ-1\",\"command\":\"rate\",\"ticket\":\"a012\"}", "ticket" },
        { "{\"serial\":\"EQ-1\",\"command\":\"rate\",\"ticket\":\"A0123456X\"}", "ticket" },
        { "{\"serial\":\"EQ-1\",\"command\":\"rate\",\"ticket\":\"A-12\"}", "ticket" },
        { "{\"serial\":\"EQ-1\",\"command\":\"rate\",\"ticket\":\"A0\\u000012\"}", "ticket" },
        { "{\"serial\":\"EQ-1\",\"command\":\"rate\",\"ticket\":12}", "ticket" },
        { "{\"serial\":\"EQ-1\",\"command\":\"rate\"}", "ticket" },
        { "{\"serial\":\"EQ-1\",\"command\":\"rate\",\"ticket\":\"A012\",\"window_number\":3}",
          "window_number" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        gw_command_t cmd;
        char reason[ENVELOPE_REASON_SIZE] = "";
        if (decode(state, bad[i].json, &cmd, reason) == 0)
            fail_msg("accepted: %s", bad[i].json);
        if (!strstr(reason, bad[i].why))
            fail_msg("%s: reason \"%s\" does not name %s", bad[i].json, reason, bad[i].why);
    }
    /* a name over 256 bytes is refused (only the device's 16 are cut) */
    gw_command_t cmd;
    char reason[ENVELOPE_REASON_SIZE] = "";
    assert_int_equal(decode_staff_name(state, 257, &cmd, reason), -1);
    assert_non_null(strstr(reason, "name must be at most 256 bytes"));
}

/* Firmware 1.2 commands go only to a device whose hello said 1.2 or later;
 * those of 1.0 to any (an older device rejects an unknown type). */
static void test_commands_by_firmware(void **state)
{
    (void) state;
    gw_device_t d;
    memset(&d, 0, sizeof d);
    assert_true(gw_downlink_understands(&d, DEVPROTO_CMD_SET_TEXT));
    assert_false(gw_downlink_understands(&d, DEVPROTO_CMD_SET_LABEL));   /* no hello yet */
    assert_false(gw_downlink_understands(&d, DEVPROTO_CMD_SET_STAFF));
    d.has_hello = true;
    d.hello.fw_major = 1;
    d.hello.fw_minor = 0;
    assert_true(gw_downlink_understands(&d, DEVPROTO_CMD_ACK));
    assert_false(gw_downlink_understands(&d, DEVPROTO_CMD_SET_LABEL));
    d.hello.fw_minor = 1;
    assert_true(gw_downlink_understands(&d, DEVPROTO_CMD_SET_LABEL));
    assert_false(gw_downlink_understands(&d, DEVPROTO_CMD_SET_STAFF));
    assert_false(gw_downlink_understands(&d, DEVPROTO_CMD_REQUEST_RATING));
    d.hello.fw_minor = 2;
    assert_true(gw_downlink_understands(&d, DEVPROTO_CMD_SET_STAFF));
    assert_true(gw_downlink_understands(&d, DEVPROTO_CMD_REQUEST_RATING));
    d.hello.fw_major = 2;
    d.hello.fw_minor = 0;
    assert_true(gw_downlink_understands(&d, DEVPROTO_CMD_REQUEST_RATING));
    assert_false(gw_downlink_understands(&d, 0x8C));                      /* unknown */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_lines),
        cmocka_unit_test(test_each_command_kind),
        cmocka_unit_test(test_bad_commands_rejected),
        cmocka_unit_test(test_login_reply_helper),
        cmocka_unit_test(test_staff_command),
        cmocka_unit_test(test_bad_staff_and_rate_commands_say_why),
        cmocka_unit_test(test_commands_by_firmware),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
