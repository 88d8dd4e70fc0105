/*  Unit tests: devcodec, the rating device's report codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/devcodec.h"

/* --- sample reports ------------------------------------------------------- */

static devcodec_event_t s_event(uint8_t type)
{
    devcodec_event_t e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.seq = devcodec_event_is_stored(type) ? 42 : 0;
    e.boot = 0xDEADBEEF;
    e.uptime_ms = 123456;
    switch (type) {
    case DEVPROTO_EV_HELLO:
        e.u.hello = (devproto_hello_t) { 1, 2, 3, 4, DEVPROTO_CAP_LCD | DEVPROTO_CAP_VOICE,
                                         128, 7, 2 };
        break;
    case DEVPROTO_EV_HEARTBEAT:
    case DEVPROTO_EV_BUFFER_WARNING:
        e.u.status = (devproto_status_t) { 103, 128, DEVPROTO_STATE_SERVING, 1 };
        break;
    case DEVPROTO_EV_STAFF_LOGIN:
    case DEVPROTO_EV_STAFF_LOGOUT:
        e.u.staff.length = 5;
        memcpy(e.u.staff.employee_no, "10086", 5);
        break;
    case DEVPROTO_EV_RATING:
    case DEVPROTO_EV_NOT_RATED:
        e.u.rating.option_code = type == DEVPROTO_EV_RATING ? 4 : 0;
        e.u.rating.ticket_length = 4;
        memcpy(e.u.rating.ticket, "A012", 4);
        e.u.rating.service_ms = 0x01020304;
        break;
    default:
        e.u.ticket.ticket_length = 4;
        memcpy(e.u.ticket.ticket, "B007", 4);
        e.u.ticket.reason = type == DEVPROTO_EV_PAUSE_REQUEST ? 3 : 0;
        break;
    }
    return e;
}

static devcodec_cmd_t s_cmd(uint8_t type)
{
    devcodec_cmd_t c;
    memset(&c, 0, sizeof c);
    c.type = type;
    c.seq = 9;
    c.boot = 0xDEADBEEF;
    switch (type) {
    case DEVPROTO_CMD_ACK:
        c.u.ack = (devproto_ack_t) { 0xDEADBEEF, 17 };
        break;
    case DEVPROTO_CMD_SET_TEXT:
        c.u.text.target = 1;
        c.u.text.line = 2;
        c.u.text.length = 6;
        /* "欢迎" + "OK" */
        memcpy(c.u.text.text, "\xbb\xb6\xd3\xad" "OK", 6);
        break;
    case DEVPROTO_CMD_SET_STARS:
        c.u.stars = 5;
        break;
    case DEVPROTO_CMD_PLAY_PROMPT:
        c.u.prompt = DEVPROTO_PROMPT_THANKS;
        break;
    case DEVPROTO_CMD_SET_CONFIG:
        c.u.config = (devproto_config_t) { 30, 10, 4, { 4, 3, 2, 1, 0, 0 } };
        break;
    case DEVPROTO_CMD_SHOW_TICKET:
        c.u.show_ticket.ticket_length = 4;
        memcpy(c.u.show_ticket.ticket, "A012", 4);
        c.u.show_ticket.window_number = 3;
        break;
    case DEVPROTO_CMD_LOGIN_REPLY:
        c.u.login_reply.accepted = 1;
        c.u.login_reply.name_length = 6;
        /* 张三丰 */
        memcpy(c.u.login_reply.name, "\xd5\xc5\xc8\xfd\xb7\xe1", 6);
        break;
    case DEVPROTO_CMD_SET_TIME:
        c.u.time_ms = 1795000000123ULL;
        break;
    case DEVPROTO_CMD_SET_LABEL:
        c.u.label.key = 3;
        c.u.label.length = 6;
        /* 不满意 */
        memcpy(c.u.label.text, "\xb2\xbb\xc2\xfa\xd2\xe2", 6);
        break;
    case DEVPROTO_CMD_SET_STAFF:
        c.u.set_staff.employee_length = 4;
        memcpy(c.u.set_staff.employee_no, "1001", 4);
        c.u.set_staff.name_length = 4;
        /* 王芳 */
        memcpy(c.u.set_staff.name, "\xcd\xf5\xb7\xbc", 4);
        break;
    case DEVPROTO_CMD_REQUEST_RATING:
        c.u.request_rating.ticket_length = 4;
        memcpy(c.u.request_rating.ticket, "A012", 4);
        break;
    default:
        break;
    }
    return c;
}

static const uint8_t s_event_types[] = {
    DEVPROTO_EV_HELLO, DEVPROTO_EV_HEARTBEAT, DEVPROTO_EV_BUFFER_WARNING,
    DEVPROTO_EV_STAFF_LOGIN, DEVPROTO_EV_STAFF_LOGOUT, DEVPROTO_EV_CALL_REQUEST,
    DEVPROTO_EV_RECALL_REQUEST, DEVPROTO_EV_PAUSE_REQUEST, DEVPROTO_EV_SERVICE_START,
    DEVPROTO_EV_SERVICE_END, DEVPROTO_EV_RATING, DEVPROTO_EV_NOT_RATED
};
static const uint8_t s_cmd_types[] = {
    DEVPROTO_CMD_ACK, DEVPROTO_CMD_SET_TEXT, DEVPROTO_CMD_SET_STARS,
    DEVPROTO_CMD_PLAY_PROMPT, DEVPROTO_CMD_SET_CONFIG, DEVPROTO_CMD_SHOW_TICKET,
    DEVPROTO_CMD_LOGIN_REPLY, DEVPROTO_CMD_SET_TIME, DEVPROTO_CMD_SET_LABEL,
    DEVPROTO_CMD_SET_STAFF, DEVPROTO_CMD_REQUEST_RATING
};
#define S_N(a) (sizeof(a) / sizeof((a)[0]))

/* Encodes a sample event of `type` into buf (must succeed). */
static void s_event_bytes(uint8_t type, uint8_t buf[DEVPROTO_REPORT_SIZE])
{
    devcodec_event_t e = s_event(type);
    assert_int_equal(devcodec_encode_event(&e, buf), DEVCODEC_OK);
}

static void s_cmd_bytes(uint8_t type, uint8_t buf[DEVPROTO_REPORT_SIZE])
{
    devcodec_cmd_t c = s_cmd(type);
    assert_int_equal(devcodec_encode_cmd(&c, buf), DEVCODEC_OK);
}

static devcodec_err_t s_dec_ev(const uint8_t *buf)
{
    devcodec_event_t e;
    return devcodec_decode_event(buf, DEVPROTO_REPORT_SIZE, &e);
}

static devcodec_err_t s_dec_cmd(const uint8_t *buf)
{
    devcodec_cmd_t c;
    return devcodec_decode_cmd(buf, DEVPROTO_REPORT_SIZE, &c);
}

/* --- round trips ---------------------------------------------------------- */

static void test_every_event_round_trips(void **state)
{
    (void) state;
    for (size_t i = 0; i < S_N(s_event_types); i++) {
        devcodec_event_t in = s_event(s_event_types[i]), out;
        uint8_t buf[DEVPROTO_REPORT_SIZE];
        assert_int_equal(devcodec_encode_event(&in, buf), DEVCODEC_OK);
        assert_int_equal(devcodec_decode_event(buf, sizeof buf, &out), DEVCODEC_OK);
        assert_int_equal(out.type, in.type);
        assert_int_equal(out.seq, in.seq);
        assert_int_equal(out.boot, in.boot);
        assert_int_equal(out.uptime_ms, in.uptime_ms);
        assert_memory_equal(&out.u, &in.u, sizeof in.u);
        /* and re-encoding gives the same bytes */
        uint8_t again[DEVPROTO_REPORT_SIZE];
        assert_int_equal(devcodec_encode_event(&out, again), DEVCODEC_OK);
        assert_memory_equal(again, buf, sizeof buf);
    }
}

static void test_every_command_round_trips(void **state)
{
    (void) state;
    for (size_t i = 0; i < S_N(s_cmd_types); i++) {
        devcodec_cmd_t in = s_cmd(s_cmd_types[i]), out;
        uint8_t buf[DEVPROTO_REPORT_SIZE];
        assert_int_equal(devcodec_encode_cmd(&in, buf), DEVCODEC_OK);
        assert_int_equal(devcodec_decode_cmd(buf, sizeof buf, &out), DEVCODEC_OK);
        assert_int_equal(out.type, in.type);
        assert_int_equal(out.seq, in.seq);
        assert_int_equal(out.boot, in.boot);
        assert_memory_equal(&out.u, &in.u, sizeof in.u);
    }
}

static void test_wire_layout_is_little_endian_and_fixed(void **state)
{
    (void) state;
    uint8_t buf[DEVPROTO_REPORT_SIZE];
    s_event_bytes(DEVPROTO_EV_RATING, buf);
    static const uint8_t want[30] = {
        1, 0x40, 42, 0, 0, 0, 0xEF, 0xBE, 0xAD, 0xDE, 0x40, 0xE2, 0x01, 0,
        14, 0,
        4, 4, 'A', '0', '1', '2', 0, 0, 0, 0, 0x04, 0x03, 0x02, 0x01
    };
    assert_memory_equal(buf, want, sizeof want);
    for (size_t i = sizeof want; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0);

    s_event_bytes(DEVPROTO_EV_STAFF_LOGIN, buf);
    assert_int_equal(buf[14], 6);                 /* 1 + "10086" */
    assert_int_equal(buf[16], 5);
    assert_memory_equal(buf + 17, "10086", 5);

    s_cmd_bytes(DEVPROTO_CMD_SET_TIME, buf);
    assert_int_equal(buf[14], 8);
    uint64_t t = 0;
    for (int i = 7; i >= 0; i--)
        t = (t << 8) | buf[16 + i];
    assert_true(t == 1795000000123ULL);
    assert_memory_equal(buf + 10, "\0\0\0\0", 4); /* OUT uptime is 0 */

    /* SET_STAFF: employee length + 16, name length + 16, fixed 34 bytes */
    s_cmd_bytes(DEVPROTO_CMD_SET_STAFF, buf);
    static const uint8_t staff[34] = {
        4, '1', '0', '0', '1', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        4, 0xcd, 0xf5, 0xb7, 0xbc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
    };
    assert_int_equal(buf[1], 0x8A);
    assert_int_equal(buf[14], 34);
    assert_memory_equal(buf + 16, staff, sizeof staff);
    for (size_t i = 16 + sizeof staff; i < sizeof buf; i++)
        assert_int_equal(buf[i], 0);
    /* REQUEST_RATING: the ticket field, 9 bytes */
    s_cmd_bytes(DEVPROTO_CMD_REQUEST_RATING, buf);
    assert_int_equal(buf[1], 0x8B);
    assert_int_equal(buf[14], 9);
    assert_memory_equal(buf + 16, "\x04" "A012\0\0\0\0", 9);
}

/* Which firmware first understands each command (the gateway sends a
 * later type only to a device that said it has that firmware). */
static void test_firmware_of_each_command(void **state)
{
    (void) state;
    for (uint8_t t = DEVPROTO_CMD_ACK; t <= DEVPROTO_CMD_SET_TIME; t++)
        assert_int_equal(devcodec_cmd_firmware(t), 0x0100);
    assert_int_equal(devcodec_cmd_firmware(DEVPROTO_CMD_SET_LABEL), 0x0101);
    assert_int_equal(devcodec_cmd_firmware(DEVPROTO_CMD_SET_STAFF), 0x0102);
    assert_int_equal(devcodec_cmd_firmware(DEVPROTO_CMD_REQUEST_RATING), 0x0102);
    assert_int_equal(devcodec_cmd_firmware(0x8C), 0);
    assert_int_equal(devcodec_cmd_firmware(DEVPROTO_EV_RATING), 0);
    assert_int_equal(devcodec_cmd_firmware(0), 0);
}

static void test_stored_and_transient_types(void **state)
{
    (void) state;
    assert_false(devcodec_event_is_stored(DEVPROTO_EV_HELLO));
    assert_false(devcodec_event_is_stored(DEVPROTO_EV_HEARTBEAT));
    assert_false(devcodec_event_is_stored(DEVPROTO_EV_BUFFER_WARNING));
    assert_false(devcodec_event_is_stored(DEVPROTO_CMD_ACK));
    assert_false(devcodec_event_is_stored(0));
    assert_true(devcodec_event_is_stored(DEVPROTO_EV_STAFF_LOGIN));
    assert_true(devcodec_event_is_stored(DEVPROTO_EV_SERVICE_END));
    assert_true(devcodec_event_is_stored(DEVPROTO_EV_RATING));
    assert_true(devcodec_event_is_stored(DEVPROTO_EV_NOT_RATED));
}

static void test_strerror_names_every_error(void **state)
{
    (void) state;
    for (int e = DEVCODEC_OK; e <= DEVCODEC_ERR_SEQ; e++) {
        const char *s = devcodec_strerror((devcodec_err_t) e);
        assert_non_null(s);
        assert_true(strlen(s) > 1);
        if (e > DEVCODEC_OK)
            assert_string_not_equal(s, devcodec_strerror((devcodec_err_t) (e - 1)));
    }
}

/* --- header rejections ---------------------------------------------------- */

static void test_rejects_wrong_size(void **state)
{
    (void) state;
    uint8_t buf[DEVPROTO_REPORT_SIZE + 1];
    s_event_bytes(DEVPROTO_EV_RATING, buf);
    buf[64] = 0;
    devcodec_event_t e;
    devcodec_cmd_t c;
    assert_int_equal(devcodec_decode_event(buf, 63, &e), DEVCODEC_ERR_SIZE);
    assert_int_equal(devcodec_decode_event(buf, 65, &e), DEVCODEC_ERR_SIZE);
    assert_int_equal(devcodec_decode_event(buf, 0, &e), DEVCODEC_ERR_SIZE);
    s_cmd_bytes(DEVPROTO_CMD_ACK, buf);
    assert_int_equal(devcodec_decode_cmd(buf, 16, &c), DEVCODEC_ERR_SIZE);
    assert_int_equal(devcodec_decode_cmd(buf, 65, &c), DEVCODEC_ERR_SIZE);
    assert_int_equal(devcodec_decode_cmd(buf, 64, &c), DEVCODEC_OK);
}

static void test_rejects_wrong_version(void **state)
{
    (void) state;
    uint8_t buf[DEVPROTO_REPORT_SIZE];
    s_event_bytes(DEVPROTO_EV_HEARTBEAT, buf);
    buf[0] = 2;
    assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_VERSION);
    buf[0] = 0;
    assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_VERSION);
    s_cmd_bytes(DEVPROTO_CMD_SET_STARS, buf);
    buf[0] = 0xFF;
    assert_int_equal(s_dec_cmd(buf), DEVCODEC_ERR_VERSION);
}

/* The header of a report the decoder refuses: what a newer firmware's
 * stored event was (seq, boot, uptime), unless its version is another. */
static void test_header_of_an_undecodable_report(void **state)
{
    (void) state;
    uint8_t buf[DEVPROTO_REPORT_SIZE];
    s_event_bytes(DEVPROTO_EV_CALL_REQUEST, buf);
    devcodec_event_t e;
    assert_int_equal(devcodec_decode_event(buf, sizeof buf, &e), DEVCODEC_OK);
    buf[1] = 0x50;                          /* a type of a newer firmware */
    assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_TYPE);
    devcodec_header_t h;
    assert_int_equal(devcodec_decode_header(buf, sizeof buf, &h), DEVCODEC_OK);
    assert_int_equal(h.type, 0x50);
    assert_int_equal(h.seq, e.seq);
    assert_int_equal(h.boot, e.boot);
    assert_int_equal(h.uptime_ms, e.uptime_ms);
    buf[0] = 2;
    assert_int_equal(devcodec_decode_header(buf, sizeof buf, &h), DEVCODEC_ERR_VERSION);
    assert_int_equal(devcodec_decode_header(buf, 63, &h), DEVCODEC_ERR_SIZE);
}

static void test_rejects_unknown_or_crossed_types(void **state)
{
    (void) state;
    uint8_t buf[DEVPROTO_REPORT_SIZE];
    s_event_bytes(DEVPROTO_EV_HEARTBEAT, buf);
    buf[1] = 0x04;
    assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_TYPE);
    buf[1] = 0x00;
    assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_TYPE);
    /* a command type in an IN report and an event in an OUT report */
    s_cmd_bytes(DEVPROTO_CMD_ACK, buf);
    assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_TYPE);
    s_event_bytes(DEVPROTO_EV_HELLO, buf);
    assert_int_equal(s_dec_cmd(buf), DEVCODEC_ERR_TYPE);
    s_cmd_bytes(DEVPROTO_CMD_SET_TIME, buf);
    buf[1] = 0x8C;                          /* the first type after firmware 1.2's */
    assert_int_equal(s_dec_cmd(buf), DEVCODEC_ERR_TYPE);

    devcodec_event_t e = s_event(DEVPROTO_EV_RATING);
    e.type = 0x42;
    assert_int_equal(devcodec_encode_event(&e, buf), DEVCODEC_ERR_TYPE);
    devcodec_cmd_t c = s_cmd(DEVPROTO_CMD_ACK);
    c.type = DEVPROTO_EV_RATING;
    assert_int_equal(devcodec_encode_cmd(&c, buf), DEVCODEC_ERR_TYPE);
}

/* A command ending in a text of `at` - 1 bytes, its length, and the text:
 * a length byte that disagrees with the header's, a header too short for
 * the text's length byte, and 17 bytes of text are refused. */
static void s_text_length_rules(uint8_t type, int at)
{
    uint8_t buf[DEVPROTO_REPORT_SIZE];
    s_cmd_bytes(type, buf);
    buf[16 + at - 1] = 5;
    assert_int_equal(s_dec_cmd(buf), DEVCODEC_ERR_LENGTH);
    s_cmd_bytes(type, buf);
    memset(buf + 16, 0, 48);
    buf[14] = (uint8_t) (at - 1);
    assert_int_equal(s_dec_cmd(buf), DEVCODEC_ERR_LENGTH);
    memset(buf + 16 + at, 'a', 17);
    buf[16 + at - 1] = 17;
    buf[14] = (uint8_t) (at + 17);
    assert_int_equal(s_dec_cmd(buf), DEVCODEC_ERR_LENGTH);
}

static void test_rejects_wrong_length(void **state)
{
    (void) state;
    uint8_t buf[DEVPROTO_REPORT_SIZE];
    /* every fixed-length type, one byte short and one too long */
    for (size_t i = 0; i < S_N(s_event_types); i++) {
        uint8_t t = s_event_types[i];
        if (t == DEVPROTO_EV_STAFF_LOGIN || t == DEVPROTO_EV_STAFF_LOGOUT)
            continue;
        s_event_bytes(t, buf);
        buf[14]--;
        assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_LENGTH);
        buf[14] += 2;
        assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_LENGTH);
        buf[14] = 49;
        assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_LENGTH);
        buf[14] = 255;
        assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_LENGTH);
    }
    for (size_t i = 0; i < S_N(s_cmd_types); i++) {
        uint8_t t = s_cmd_types[i];
        if (t == DEVPROTO_CMD_SET_TEXT || t == DEVPROTO_CMD_SET_LABEL)
            continue;
        s_cmd_bytes(t, buf);
        buf[14]++;
        assert_int_equal(s_dec_cmd(buf), DEVCODEC_ERR_LENGTH);
        buf[14] = 0;
        assert_int_equal(s_dec_cmd(buf), DEVCODEC_ERR_LENGTH);
    }
    /* staff: header length must be 1 + the employee number's length */
    s_event_bytes(DEVPROTO_EV_STAFF_LOGIN, buf);
    buf[14] = 7;                       /* one zero byte too many */
    assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_LENGTH);
    buf[14] = 5;                       /* cuts the last digit off */
    assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_PADDING);
    s_event_bytes(DEVPROTO_EV_STAFF_LOGIN, buf);
    buf[16] = 4;                       /* says 4, header says 1 + 5 */
    assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_LENGTH);
    s_event_bytes(DEVPROTO_EV_STAFF_LOGIN, buf);
    memset(buf + 16, 0, 48);
    buf[14] = 1;                       /* empty employee number */
    assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_LENGTH);
    /* 17 digits do not fit */
    memset(buf + 16, '1', 18);
    buf[16] = 17;
    buf[14] = 18;
    assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_LENGTH);
    /* text and label: header length must be 3 (2) + the text's, at most 16 */
    s_text_length_rules(DEVPROTO_CMD_SET_TEXT, 3);
    s_text_length_rules(DEVPROTO_CMD_SET_LABEL, 2);

    /* encoders refuse variable lengths over the maximum */
    devcodec_event_t e = s_event(DEVPROTO_EV_STAFF_LOGIN);
    e.u.staff.length = 17;
    assert_int_equal(devcodec_encode_event(&e, buf), DEVCODEC_ERR_LENGTH);
    e.u.staff.length = 0;
    assert_int_equal(devcodec_encode_event(&e, buf), DEVCODEC_ERR_LENGTH);
    devcodec_cmd_t c = s_cmd(DEVPROTO_CMD_SET_TEXT);
    c.u.text.length = 17;
    assert_int_equal(devcodec_encode_cmd(&c, buf), DEVCODEC_ERR_LENGTH);
    c = s_cmd(DEVPROTO_CMD_SET_LABEL);
    c.u.label.length = 17;
    assert_int_equal(devcodec_encode_cmd(&c, buf), DEVCODEC_ERR_LENGTH);
}

static void test_rejects_reserved_and_padding(void **state)
{
    (void) state;
    uint8_t buf[DEVPROTO_REPORT_SIZE];
    for (size_t i = 0; i < S_N(s_event_types); i++) {
        s_event_bytes(s_event_types[i], buf);
        buf[15] = 1;
        assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_RESERVED);
        s_event_bytes(s_event_types[i], buf);
        buf[16 + buf[14]] = 1;             /* first byte after the payload */
        assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_PADDING);
        s_event_bytes(s_event_types[i], buf);
        buf[63] = 0x80;                    /* the very last byte */
        assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_PADDING);
    }
    for (size_t i = 0; i < S_N(s_cmd_types); i++) {
        s_cmd_bytes(s_cmd_types[i], buf);
        buf[15] = 0xFF;
        assert_int_equal(s_dec_cmd(buf), DEVCODEC_ERR_RESERVED);
        s_cmd_bytes(s_cmd_types[i], buf);
        buf[12] = 1;                       /* OUT reports carry no uptime */
        assert_int_equal(s_dec_cmd(buf), DEVCODEC_ERR_RESERVED);
        s_cmd_bytes(s_cmd_types[i], buf);
        buf[16 + buf[14]] = ' ';
        assert_int_equal(s_dec_cmd(buf), DEVCODEC_ERR_PADDING);
        s_cmd_bytes(s_cmd_types[i], buf);
        buf[63] = 1;
        assert_int_equal(s_dec_cmd(buf), DEVCODEC_ERR_PADDING);
    }
}

static void test_rejects_seq_rule(void **state)
{
    (void) state;
    uint8_t buf[DEVPROTO_REPORT_SIZE];
    for (size_t i = 0; i < S_N(s_event_types); i++) {
        uint8_t t = s_event_types[i];
        s_event_bytes(t, buf);
        memset(buf + 2, 0, 4);
        if (devcodec_event_is_stored(t)) {
            assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_SEQ);
        } else {
            assert_int_equal(s_dec_ev(buf), DEVCODEC_OK);
            buf[5] = 1;
            assert_int_equal(s_dec_ev(buf), DEVCODEC_ERR_SEQ);
        }
    }
    devcodec_event_t e = s_event(DEVPROTO_EV_RATING);
    e.seq = 0;
    assert_int_equal(devcodec_encode_event(&e, buf), DEVCODEC_ERR_SEQ);
    e = s_event(DEVPROTO_EV_HEARTBEAT);
    e.seq = 1;
    assert_int_equal(devcodec_encode_event(&e, buf), DEVCODEC_ERR_SEQ);
}

/* --- payload rejections: events ------------------------------------------- */

/* Decodes event `type` after one payload byte is set; returns the result. */
static devcodec_err_t s_ev_poke(uint8_t type, int off, uint8_t v)
{
    uint8_t buf[DEVPROTO_REPORT_SIZE];
    s_event_bytes(type, buf);
    buf[16 + off] = v;
    return s_dec_ev(buf);
}

static devcodec_err_t s_cmd_poke(uint8_t type, int off, uint8_t v)
{
    uint8_t buf[DEVPROTO_REPORT_SIZE];
    s_cmd_bytes(type, buf);
    buf[16 + off] = v;
    return s_dec_cmd(buf);
}

static void test_rejects_bad_event_payloads(void **state)
{
    (void) state;
    /* hello: key count 2..6, known capabilities, used <= capacity */
    assert_int_equal(s_ev_poke(DEVPROTO_EV_HELLO, 3, 1), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_HELLO, 3, 7), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_HELLO, 3, 6), DEVCODEC_OK);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_HELLO, 4, 0x20), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_HELLO, 5, 0x01), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_HELLO, 8, 129), DEVCODEC_ERR_PAYLOAD);
    /* status: used <= capacity, state 0..5, staff 0/1 */
    assert_int_equal(s_ev_poke(DEVPROTO_EV_HEARTBEAT, 0, 129), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_HEARTBEAT, 4, 6), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_HEARTBEAT, 4, 5), DEVCODEC_OK);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_BUFFER_WARNING, 5, 2), DEVCODEC_ERR_PAYLOAD);
    /* employee number: ASCII digits only */
    assert_int_equal(s_ev_poke(DEVPROTO_EV_STAFF_LOGIN, 1, 'a'), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_STAFF_LOGOUT, 5, ' '), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_STAFF_LOGIN, 3, 0), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_STAFF_LOGIN, 3, '0' + 10), DEVCODEC_ERR_PAYLOAD);
    /* ticket: [A-Z0-9], 0..8, nothing after its length */
    assert_int_equal(s_ev_poke(DEVPROTO_EV_SERVICE_START, 1, 'a'), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_SERVICE_END, 4, '-'), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_CALL_REQUEST, 5, 'X'), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_CALL_REQUEST, 0, 9), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_CALL_REQUEST, 0, 3), DEVCODEC_ERR_PAYLOAD); /* '2' left over */
    assert_int_equal(s_ev_poke(DEVPROTO_EV_RECALL_REQUEST, 8, 0xB0), DEVCODEC_ERR_PAYLOAD);
    /* reason: pause 0..9, others 0 */
    assert_int_equal(s_ev_poke(DEVPROTO_EV_PAUSE_REQUEST, 9, 9), DEVCODEC_OK);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_PAUSE_REQUEST, 9, 0), DEVCODEC_OK);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_PAUSE_REQUEST, 9, 10), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_SERVICE_START, 9, 1), DEVCODEC_ERR_PAYLOAD);
    /* rating: option 1..6; not rated: 0; ticket rules */
    assert_int_equal(s_ev_poke(DEVPROTO_EV_RATING, 0, 0), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_RATING, 0, 7), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_RATING, 0, 6), DEVCODEC_OK);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_NOT_RATED, 0, 1), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_RATING, 1, 9), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_NOT_RATED, 2, 'z'), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_ev_poke(DEVPROTO_EV_RATING, 9, 'A'), DEVCODEC_ERR_PAYLOAD);

    /* a walk-in: empty ticket is fine */
    devcodec_event_t e = s_event(DEVPROTO_EV_SERVICE_START), out;
    uint8_t buf[DEVPROTO_REPORT_SIZE];
    e.u.ticket.ticket_length = 0;
    memset(e.u.ticket.ticket, 0, sizeof e.u.ticket.ticket);
    assert_int_equal(devcodec_encode_event(&e, buf), DEVCODEC_OK);
    assert_int_equal(devcodec_decode_event(buf, sizeof buf, &out), DEVCODEC_OK);
    assert_int_equal(out.u.ticket.ticket_length, 0);
}

static void test_encoder_refuses_bad_events_and_leaves_nothing(void **state)
{
    (void) state;
    uint8_t buf[DEVPROTO_REPORT_SIZE];
    uint8_t zero[DEVPROTO_REPORT_SIZE] = { 0 };
    devcodec_event_t e = s_event(DEVPROTO_EV_RATING);
    e.u.rating.option_code = 9;
    memset(buf, 0x55, sizeof buf);
    assert_int_equal(devcodec_encode_event(&e, buf), DEVCODEC_ERR_PAYLOAD);
    assert_memory_equal(buf, zero, sizeof buf);
    e = s_event(DEVPROTO_EV_CALL_REQUEST);
    e.u.ticket.ticket_length = 9;
    assert_int_equal(devcodec_encode_event(&e, buf), DEVCODEC_ERR_PAYLOAD);
    e = s_event(DEVPROTO_EV_CALL_REQUEST);
    e.u.ticket.ticket[1] = 'b';
    assert_int_equal(devcodec_encode_event(&e, buf), DEVCODEC_ERR_PAYLOAD);
    e = s_event(DEVPROTO_EV_STAFF_LOGIN);
    e.u.staff.employee_no[0] = 'x';
    assert_int_equal(devcodec_encode_event(&e, buf), DEVCODEC_ERR_PAYLOAD);
    /* bytes past a field's length in the struct are not sent */
    e = s_event(DEVPROTO_EV_CALL_REQUEST);
    e.u.ticket.ticket_length = 2;
    assert_int_equal(devcodec_encode_event(&e, buf), DEVCODEC_OK);
    assert_int_equal(buf[16 + 3], 0);
}

/* --- payload rejections: commands ----------------------------------------- */

static void test_rejects_bad_command_payloads(void **state)
{
    (void) state;
    /* text: target 0/1, line 0..3, printable ASCII or GB2312 pairs */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_TEXT, 0, 2), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_TEXT, 0, 0), DEVCODEC_OK);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_TEXT, 1, 4), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_TEXT, 1, 3), DEVCODEC_OK);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_TEXT, 3, 0x0A), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_TEXT, 7, 0x7F), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_TEXT, 8, 0x00), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_TEXT, 4, 0x41), DEVCODEC_ERR_PAYLOAD); /* half a pair */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_TEXT, 3, 0xFF), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_TEXT, 3, 0xA0), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_TEXT, 8, 0xA1), DEVCODEC_ERR_PAYLOAD); /* lone lead at the end */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_TEXT, 3, 0xA1), DEVCODEC_OK);
    /* label: key 0..5, the text's rules */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_LABEL, 0, 6), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_LABEL, 0, 5), DEVCODEC_OK);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_LABEL, 0, 0), DEVCODEC_OK);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_LABEL, 2, 0x0A), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_LABEL, 7, 0x41), DEVCODEC_ERR_PAYLOAD); /* half a pair */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_LABEL, 2, 0x41), DEVCODEC_ERR_PAYLOAD); /* lead left alone */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_LABEL, 8, 0x41), DEVCODEC_ERR_PADDING);
    /* stars 0..5 */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_STARS, 0, 6), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_STARS, 0, 0), DEVCODEC_OK);
    /* prompt 1..4 */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_PLAY_PROMPT, 0, 0), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_PLAY_PROMPT, 0, 5), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_PLAY_PROMPT, 0, 1), DEVCODEC_OK);
    /* config: timeout 5..300, repeat 0..600, keys 2..6, codes 1..6 distinct, rest 0 */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_CONFIG, 0, 4), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_CONFIG, 0, 5), DEVCODEC_OK);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_CONFIG, 1, 2), DEVCODEC_ERR_PAYLOAD); /* 542 s */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_CONFIG, 3, 3), DEVCODEC_ERR_PAYLOAD); /* 778 s */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_CONFIG, 2, 0), DEVCODEC_OK);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_CONFIG, 4, 1), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_CONFIG, 4, 7), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_CONFIG, 4, 5), DEVCODEC_ERR_PAYLOAD); /* 5th code 0 */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_CONFIG, 4, 2), DEVCODEC_ERR_PAYLOAD); /* 3rd code left */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_CONFIG, 5, 3), DEVCODEC_ERR_PAYLOAD); /* duplicate */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_CONFIG, 5, 0), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_CONFIG, 5, 7), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_CONFIG, 5, 6), DEVCODEC_OK);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_CONFIG, 10, 5), DEVCODEC_ERR_PAYLOAD);
    /* show ticket */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SHOW_TICKET, 0, 9), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SHOW_TICKET, 2, 'o'), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SHOW_TICKET, 6, '1'), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SHOW_TICKET, 9, 255), DEVCODEC_OK);
    /* login reply: accepted 0/1, reason matches it, name GB2312 <= 16 and padded */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_LOGIN_REPLY, 0, 2), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_LOGIN_REPLY, 18, 1), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_LOGIN_REPLY, 0, 0), DEVCODEC_ERR_PAYLOAD); /* refused, no reason */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_LOGIN_REPLY, 1, 17), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_LOGIN_REPLY, 1, 5), DEVCODEC_ERR_PAYLOAD); /* splits a pair */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_LOGIN_REPLY, 1, 4), DEVCODEC_ERR_PAYLOAD); /* bytes left over */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_LOGIN_REPLY, 2, 0x01), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_LOGIN_REPLY, 17, 'x'), DEVCODEC_ERR_PAYLOAD);
    /* set staff: 0..16 digits, zero after them; the name's rules; nobody
     * has no name */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_STAFF, 0, 17), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_STAFF, 0, 5), DEVCODEC_ERR_PAYLOAD);  /* a 0 digit */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_STAFF, 0, 3), DEVCODEC_ERR_PAYLOAD);  /* '1' left */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_STAFF, 2, 'a'), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_STAFF, 16, '9'), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_STAFF, 17, 17), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_STAFF, 17, 3), DEVCODEC_ERR_PAYLOAD); /* splits a pair */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_STAFF, 17, 2), DEVCODEC_ERR_PAYLOAD); /* bytes left over */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_STAFF, 18, 0x0A), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_STAFF, 33, 'x'), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_SET_STAFF, 17, 0), DEVCODEC_ERR_PAYLOAD); /* name bytes left */
    /* request rating: the ticket's rules */
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_REQUEST_RATING, 0, 9), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_REQUEST_RATING, 1, 'a'), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_REQUEST_RATING, 5, 'B'), DEVCODEC_ERR_PAYLOAD);
    assert_int_equal(s_cmd_poke(DEVPROTO_CMD_REQUEST_RATING, 0, 0), DEVCODEC_ERR_PAYLOAD); /* 'A012' left */

    uint8_t buf[DEVPROTO_REPORT_SIZE];
    devcodec_cmd_t c = s_cmd(DEVPROTO_CMD_LOGIN_REPLY), out;
    c.u.login_reply = (devproto_login_reply_t) { 0, 0, { 0 }, DEVPROTO_REFUSED_LOGGED_IN_ELSEWHERE };
    assert_int_equal(devcodec_encode_cmd(&c, buf), DEVCODEC_OK);
    assert_int_equal(devcodec_decode_cmd(buf, sizeof buf, &out), DEVCODEC_OK);
    assert_int_equal(out.u.login_reply.reason, DEVPROTO_REFUSED_LOGGED_IN_ELSEWHERE);
    c.u.login_reply.reason = 4;
    assert_int_equal(devcodec_encode_cmd(&c, buf), DEVCODEC_ERR_PAYLOAD);
    /* 6 keys with custom codes */
    c = s_cmd(DEVPROTO_CMD_SET_CONFIG);
    c.u.config = (devproto_config_t) { 300, 600, 6, { 6, 1, 5, 2, 4, 3 } };
    assert_int_equal(devcodec_encode_cmd(&c, buf), DEVCODEC_OK);
    assert_int_equal(devcodec_decode_cmd(buf, sizeof buf, &out), DEVCODEC_OK);
    assert_memory_equal(out.u.config.key_codes, "\x06\x01\x05\x02\x04\x03", 6);
    /* an empty text line clears it */
    c = s_cmd(DEVPROTO_CMD_SET_TEXT);
    c.u.text.length = 0;
    assert_int_equal(devcodec_encode_cmd(&c, buf), DEVCODEC_OK);
    assert_int_equal(buf[14], 3);
    assert_int_equal(devcodec_decode_cmd(buf, sizeof buf, &out), DEVCODEC_OK);
    assert_int_equal(out.u.text.length, 0);
    /* so does an empty label */
    c = s_cmd(DEVPROTO_CMD_SET_LABEL);
    c.u.label.key = 5;
    c.u.label.length = 0;
    assert_int_equal(devcodec_encode_cmd(&c, buf), DEVCODEC_OK);
    assert_int_equal(buf[14], 2);
    assert_int_equal(devcodec_decode_cmd(buf, sizeof buf, &out), DEVCODEC_OK);
    assert_int_equal(out.u.label.key, 5);
    assert_int_equal(out.u.label.length, 0);
    /* nobody (the host logged the teller out): no number, no name */
    c = s_cmd(DEVPROTO_CMD_SET_STAFF);
    memset(&c.u.set_staff, 0, sizeof c.u.set_staff);
    assert_int_equal(devcodec_encode_cmd(&c, buf), DEVCODEC_OK);
    assert_int_equal(buf[14], 34);
    assert_int_equal(devcodec_decode_cmd(buf, sizeof buf, &out), DEVCODEC_OK);
    assert_int_equal(out.u.set_staff.employee_length, 0);
    c.u.set_staff.name_length = 2;
    memcpy(c.u.set_staff.name, "AB", 2);
    assert_int_equal(devcodec_encode_cmd(&c, buf), DEVCODEC_ERR_PAYLOAD);
    /* 16 digits and a whole name field; no name is fine too */
    c = s_cmd(DEVPROTO_CMD_SET_STAFF);
    c.u.set_staff.employee_length = 16;
    memcpy(c.u.set_staff.employee_no, "1234567890123456", 16);
    c.u.set_staff.name_length = 16;
    memcpy(c.u.set_staff.name, "\xc5\xb7\xd1\xf4\xd2\xbb\xb6\xfe\xc8\xfd\xcb\xc4\xce\xe5\xc1\xf9", 16);
    assert_int_equal(devcodec_encode_cmd(&c, buf), DEVCODEC_OK);
    assert_int_equal(devcodec_decode_cmd(buf, sizeof buf, &out), DEVCODEC_OK);
    assert_memory_equal(out.u.set_staff.employee_no, "1234567890123456", 16);
    c.u.set_staff.name_length = 0;
    memset(c.u.set_staff.name, 0, sizeof c.u.set_staff.name);
    assert_int_equal(devcodec_encode_cmd(&c, buf), DEVCODEC_OK);
    c.u.set_staff.employee_length = 17;
    assert_int_equal(devcodec_encode_cmd(&c, buf), DEVCODEC_ERR_PAYLOAD);
    /* a rating asked for no ticket (a walk-in) */
    c = s_cmd(DEVPROTO_CMD_REQUEST_RATING);
    memset(&c.u.request_rating, 0, sizeof c.u.request_rating);
    assert_int_equal(devcodec_encode_cmd(&c, buf), DEVCODEC_OK);
    assert_int_equal(devcodec_decode_cmd(buf, sizeof buf, &out), DEVCODEC_OK);
    assert_int_equal(out.u.request_rating.ticket_length, 0);
}

/* --- hostile bytes -------------------------------------------------------- */

/* Mutates valid reports at random: the decoder never reads out of bounds
 * (ASan), and whatever it accepts re-encodes to the very same bytes, so no
 * two encodings of one meaning exist. */
static void test_mutated_reports_are_rejected_or_canonical(void **state)
{
    (void) state;
    srand(12345);
    int accepted = 0, rejected = 0;
    for (int round = 0; round < 20000; round++) {
        uint8_t buf[DEVPROTO_REPORT_SIZE], again[DEVPROTO_REPORT_SIZE];
        int is_cmd = round & 1;
        if (is_cmd)
            s_cmd_bytes(s_cmd_types[(size_t) rand() % S_N(s_cmd_types)], buf);
        else
            s_event_bytes(s_event_types[(size_t) rand() % S_N(s_event_types)], buf);
        int flips = 1 + rand() % 3;
        for (int f = 0; f < flips; f++)
            buf[rand() % DEVPROTO_REPORT_SIZE] = (uint8_t) rand();
        if (is_cmd) {
            devcodec_cmd_t c;
            if (devcodec_decode_cmd(buf, sizeof buf, &c) == DEVCODEC_OK) {
                accepted++;
                assert_int_equal(devcodec_encode_cmd(&c, again), DEVCODEC_OK);
                assert_memory_equal(again, buf, sizeof buf);
            } else {
                rejected++;
            }
        } else {
            devcodec_event_t e;
            if (devcodec_decode_event(buf, sizeof buf, &e) == DEVCODEC_OK) {
                accepted++;
                assert_int_equal(devcodec_encode_event(&e, again), DEVCODEC_OK);
                assert_memory_equal(again, buf, sizeof buf);
            } else {
                rejected++;
            }
        }
    }
    assert_true(accepted > 100);
    assert_true(rejected > 1000);
}

static void test_random_garbage_is_rejected(void **state)
{
    (void) state;
    srand(777);
    for (int round = 0; round < 20000; round++) {
        uint8_t buf[DEVPROTO_REPORT_SIZE];
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = (uint8_t) rand();
        /* with 40+ random padding bytes nothing can pass */
        assert_int_not_equal(s_dec_ev(buf), DEVCODEC_OK);
        assert_int_not_equal(s_dec_cmd(buf), DEVCODEC_OK);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_event_round_trips),
        cmocka_unit_test(test_every_command_round_trips),
        cmocka_unit_test(test_wire_layout_is_little_endian_and_fixed),
        cmocka_unit_test(test_firmware_of_each_command),
        cmocka_unit_test(test_stored_and_transient_types),
        cmocka_unit_test(test_strerror_names_every_error),
        cmocka_unit_test(test_rejects_wrong_size),
        cmocka_unit_test(test_rejects_wrong_version),
        cmocka_unit_test(test_rejects_unknown_or_crossed_types),
        cmocka_unit_test(test_header_of_an_undecodable_report),
        cmocka_unit_test(test_rejects_wrong_length),
        cmocka_unit_test(test_rejects_reserved_and_padding),
        cmocka_unit_test(test_rejects_seq_rule),
        cmocka_unit_test(test_rejects_bad_event_payloads),
        cmocka_unit_test(test_encoder_refuses_bad_events_and_leaves_nothing),
        cmocka_unit_test(test_rejects_bad_command_payloads),
        cmocka_unit_test(test_mutated_reports_are_rejected_or_canonical),
        cmocka_unit_test(test_random_garbage_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
