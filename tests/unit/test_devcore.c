/*  Unit tests: devcore, the rating device's firmware core, on a simulated clock and a fake board. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "devcore.h"

#define S_DIGIT(n) ((devcore_key_t) (DEVCORE_KEY_0 + (n)))
#define S_RATE(n) ((devcore_key_t) (DEVCORE_KEY_RATE1 + (n) - 1))

/* --- the fake board --------------------------------------------------------- */

#define S_MAX_SENT 1024

typedef struct {
    uint8_t lcd[DEVPROTO_LINES][DEVPROTO_LINE_BYTES + 1];   /* NUL-terminated */
    int lcd_calls;
    int stars;
    int stars_calls;
    uint8_t voice[256];
    int nvoice;
    devcodec_event_t sent[S_MAX_SENT];
    int nsent;
    int busy;                    /* usb_send returns -1 */
    int busy_calls;
} fake_t;

static fake_t s_fake;
static devcore_t s_dev;
static uint32_t s_now;

static void s_lcd_line(void *ctx, uint8_t line, const uint8_t *text, uint8_t len)
{
    fake_t *f = ctx;
    assert_true(line < DEVPROTO_LINES);
    assert_true(len <= DEVPROTO_LINE_BYTES);
    memset(f->lcd[line], 0, sizeof f->lcd[line]);
    memcpy(f->lcd[line], text, len);
    f->lcd_calls++;
}

static void s_stars(void *ctx, uint8_t count)
{
    fake_t *f = ctx;
    assert_true(count <= 5);
    f->stars = count;
    f->stars_calls++;
}

static void s_voice(void *ctx, uint8_t prompt)
{
    fake_t *f = ctx;
    assert_true(prompt >= 1 && prompt <= DEVPROTO_PROMPT_MAX);
    assert_true(f->nvoice < (int) sizeof f->voice);
    f->voice[f->nvoice++] = prompt;
}

static int s_usb_send(void *ctx, const uint8_t report[DEVPROTO_REPORT_SIZE])
{
    fake_t *f = ctx;
    if (f->busy) {
        f->busy_calls++;
        return -1;
    }
    assert_true(f->nsent < S_MAX_SENT);
    /* the core never sends a report the strict decoder would refuse */
    assert_int_equal(devcodec_decode_event(report, DEVPROTO_REPORT_SIZE, &f->sent[f->nsent]),
                     DEVCODEC_OK);
    f->nsent++;
    return 0;
}

#define S_BOOT 0xB0070001u

static void s_start(uint32_t now, uint8_t keys)
{
    memset(&s_fake, 0, sizeof s_fake);
    s_fake.stars = -1;
    s_now = now;
    devcore_board_t board = { &s_fake, s_lcd_line, s_stars, s_voice, s_usb_send };
    devcore_init(&s_dev, &board, S_BOOT, keys, DEVPROTO_CAP_LCD | DEVPROTO_CAP_VOICE
                 | DEVPROTO_CAP_STARS | DEVPROTO_CAP_KEYPAD, now);
}

static int s_setup(void **state)
{
    (void) state;
    s_start(1000, 4);
    return 0;
}

/* --- driving it ------------------------------------------------------------- */

/* Lets `ms` pass, ticking every 5 ms. */
static void s_advance(uint32_t ms)
{
    uint32_t end = s_now + ms;
    while (s_now != end) {
        uint32_t step = end - s_now < 5 ? end - s_now : 5;
        s_now += step;
        devcore_tick(&s_dev, s_now);
    }
}

/* A clean press and release of `key`. */
static void s_key(devcore_key_t key)
{
    devcore_key(&s_dev, key, true, s_now);
    s_advance(40);
    devcore_key(&s_dev, key, false, s_now);
    s_advance(40);
}

static void s_type(const char *digits)
{
    for (; *digits; digits++)
        s_key((devcore_key_t) (DEVCORE_KEY_0 + (*digits - '0')));
}

static void s_connect(void)
{
    devcore_usb_connected(&s_dev, true, s_now);
}

static void s_disconnect(void)
{
    devcore_usb_connected(&s_dev, false, s_now);
}

static void s_command(devcodec_cmd_t *c)
{
    uint8_t report[DEVPROTO_REPORT_SIZE];
    assert_int_equal(devcodec_encode_cmd(c, report), DEVCODEC_OK);
    devcore_usb_out(&s_dev, report, sizeof report, s_now);
}

static devcodec_cmd_t s_cmd(uint8_t type)
{
    devcodec_cmd_t c;
    memset(&c, 0, sizeof c);
    c.type = type;
    c.seq = 1;
    return c;
}

static void s_ack(uint32_t boot, uint32_t upto)
{
    devcodec_cmd_t c = s_cmd(DEVPROTO_CMD_ACK);
    c.u.ack.boot = boot;
    c.u.ack.upto = upto;
    s_command(&c);
}

/* 张三 in GB2312 */
#define S_NAME "\xd5\xc5\xc8\xfd"

static void s_login_reply(int accepted, uint8_t reason)
{
    devcodec_cmd_t c = s_cmd(DEVPROTO_CMD_LOGIN_REPLY);
    c.u.login_reply.accepted = (uint8_t) accepted;
    if (accepted) {
        c.u.login_reply.name_length = 4;
        memcpy(c.u.login_reply.name, S_NAME, 4);
    }
    c.u.login_reply.reason = reason;
    s_command(&c);
}

static void s_show_ticket(const char *ticket, uint8_t window)
{
    devcodec_cmd_t c = s_cmd(DEVPROTO_CMD_SHOW_TICKET);
    c.u.show_ticket.ticket_length = (uint8_t) strlen(ticket);
    memcpy(c.u.show_ticket.ticket, ticket, strlen(ticket));
    c.u.show_ticket.window_number = window;
    s_command(&c);
}

static void s_config(uint16_t timeout_s, uint16_t repeat_s, uint8_t keys, const uint8_t *codes)
{
    devcodec_cmd_t c = s_cmd(DEVPROTO_CMD_SET_CONFIG);
    c.u.config.rating_timeout_s = timeout_s;
    c.u.config.repeat_press_s = repeat_s;
    c.u.config.key_count = keys;
    memcpy(c.u.config.key_codes, codes, keys);
    s_command(&c);
}

/* Connected login of employee 10086, accepted as 张三. */
static void s_login(void)
{
    s_connect();
    s_type("10086");
    s_key(DEVCORE_KEY_LOGIN);
    s_login_reply(1, 0);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
}

/* --- looking at it ---------------------------------------------------------- */

static int s_lcd_is(int line, const char *text)
{
    return strcmp((const char *) s_fake.lcd[line], text) == 0;
}

/* Reports of `type` sent; a stored event sent again (same seq) counts once. */
static int s_count(uint8_t type)
{
    int n = 0;
    uint32_t newest = 0;
    for (int i = 0; i < s_fake.nsent; i++) {
        const devcodec_event_t *e = &s_fake.sent[i];
        if (e->seq && e->seq <= newest)
            continue;                   /* a resend */
        if (e->seq)
            newest = e->seq;
        n += e->type == type;
    }
    return n;
}

/* The last report of `type` sent, or fails. */
static const devcodec_event_t *s_last(uint8_t type)
{
    for (int i = s_fake.nsent - 1; i >= 0; i--)
        if (s_fake.sent[i].type == type)
            return &s_fake.sent[i];
    fail_msg("no report of type 0x%02x", type);
    return NULL;
}

static uint8_t s_last_voice(void)
{
    assert_true(s_fake.nvoice > 0);
    return s_fake.voice[s_fake.nvoice - 1];
}

/* Stored-event reports sent, resends included. */
static int s_stored_count(void)
{
    int n = 0;
    for (int i = 0; i < s_fake.nsent; i++)
        n += s_fake.sent[i].seq != 0;
    return n;
}

/* --- tests: screens and login ----------------------------------------------- */

static void test_starts_with_no_staff_screen(void **state)
{
    (void) state;
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_NO_STAFF);
    assert_true(s_lcd_is(0, DEVTEXT_WELCOME));
    assert_true(s_lcd_is(1, DEVTEXT_NO_STAFF));
    assert_true(s_lcd_is(2, DEVTEXT_ENTER_ID));
    assert_int_equal(s_fake.stars, 0);
    assert_int_equal(devcore_ring_used(&s_dev), 0);
    assert_int_equal(s_fake.nsent, 0);       /* nothing before USB is up */
}

static void test_hello_on_connect(void **state)
{
    (void) state;
    s_connect();
    assert_int_equal(s_fake.nsent, 1);
    const devcodec_event_t *h = s_last(DEVPROTO_EV_HELLO);
    assert_int_equal(h->seq, 0);
    assert_int_equal(h->boot, S_BOOT);
    assert_int_equal(h->u.hello.fw_major, DEVCORE_FW_MAJOR);
    assert_int_equal(h->u.hello.key_count, 4);
    assert_int_equal(h->u.hello.ring_capacity, DEVCORE_RING_CAPACITY);
    assert_int_equal(h->u.hello.ring_used, 0);
    assert_true(h->u.hello.capabilities & DEVPROTO_CAP_KEYPAD);
}

static void test_login_accepted(void **state)
{
    (void) state;
    s_connect();
    s_type("10086");
    assert_true(s_lcd_is(0, DEVTEXT_ENTER_ID));
    assert_true(s_lcd_is(1, "10086"));              /* shown while typing */
    assert_int_equal(s_count(DEVPROTO_EV_STAFF_LOGIN), 0);
    s_key(DEVCORE_KEY_LOGIN);
    const devcodec_event_t *e = s_last(DEVPROTO_EV_STAFF_LOGIN);
    assert_int_equal(e->seq, 1);
    assert_int_equal(e->u.staff.length, 5);
    assert_memory_equal(e->u.staff.employee_no, "10086", 5);
    assert_true(s_lcd_is(0, DEVTEXT_LOGGING_IN));
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_NO_STAFF);
    s_advance(1000);
    s_login_reply(1, 0);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_true(s_lcd_is(1, S_NAME));
    assert_true(s_lcd_is(2, DEVTEXT_STAFF_NO "10086"));
    assert_true(s_lcd_is(3, DEVTEXT_SERVED "0" DEVTEXT_PERSONS));
    /* a second reply is ignored */
    s_login_reply(0, DEVPROTO_REFUSED_INACTIVE);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
}

static void test_login_with_ok_key_and_empty_login_is_an_error(void **state)
{
    (void) state;
    s_connect();
    s_key(DEVCORE_KEY_LOGIN);                       /* nothing typed */
    assert_int_equal(s_last_voice(), DEVPROTO_PROMPT_ERROR);
    assert_int_equal(devcore_ring_used(&s_dev), 0);
    s_type("7");
    s_key(DEVCORE_KEY_OK);
    assert_int_equal(s_count(DEVPROTO_EV_STAFF_LOGIN), 1);
    /* a 17th digit does not fit */
    s_start(1000, 4);
    s_type("1234567890123456");
    int voices = s_fake.nvoice;
    s_type("7");
    assert_int_equal(s_fake.nvoice, voices + 1);
    assert_true(s_lcd_is(1, "1234567890123456"));
}

static void test_login_refused_shows_why(void **state)
{
    (void) state;
    s_connect();
    s_type("999");
    s_key(DEVCORE_KEY_LOGIN);
    s_login_reply(0, DEVPROTO_REFUSED_UNKNOWN_STAFF);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_NO_STAFF);
    assert_true(s_lcd_is(0, DEVTEXT_LOGIN_FAILED));
    assert_true(s_lcd_is(1, DEVTEXT_UNKNOWN_STAFF));
    assert_int_equal(s_last_voice(), DEVPROTO_PROMPT_ERROR);
    assert_int_equal(s_count(DEVPROTO_EV_STAFF_LOGOUT), 0);
    s_advance(DEVCORE_MESSAGE_MS);
    assert_true(s_lcd_is(0, DEVTEXT_WELCOME));
    assert_true(s_lcd_is(1, DEVTEXT_NO_STAFF));
    /* the teller keys do nothing useful without a login */
    s_key(DEVCORE_KEY_START);
    assert_int_equal(s_last_voice(), DEVPROTO_PROMPT_ERROR);
    assert_int_equal(s_count(DEVPROTO_EV_SERVICE_START), 0);

    s_type("5");
    s_key(DEVCORE_KEY_LOGIN);
    s_login_reply(0, DEVPROTO_REFUSED_LOGGED_IN_ELSEWHERE);
    assert_true(s_lcd_is(1, DEVTEXT_ELSEWHERE));
    s_key(S_DIGIT(1));                           /* a key clears the message */
    assert_true(s_lcd_is(0, DEVTEXT_ENTER_ID));
}

static void test_login_standalone_without_reply(void **state)
{
    (void) state;
    /* USB up but no gateway answers */
    s_connect();
    s_type("42");
    s_key(DEVCORE_KEY_LOGIN);
    s_advance(DEVCORE_LOGIN_REPLY_MS - 200);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_NO_STAFF);
    assert_true(s_lcd_is(0, DEVTEXT_LOGGING_IN));
    s_advance(200);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_true(s_lcd_is(1, DEVTEXT_TELLER));
    /* a late acceptance fills in the name */
    s_login_reply(1, 0);
    assert_true(s_lcd_is(1, S_NAME));

    /* without USB the login is accepted at once */
    s_start(1000, 4);
    s_type("42");
    s_key(DEVCORE_KEY_LOGIN);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_int_equal(devcore_ring_used(&s_dev), 1);
    /* and a late refusal logs out with the reason */
    s_connect();
    s_login_reply(0, DEVPROTO_REFUSED_INACTIVE);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_NO_STAFF);
    assert_true(s_lcd_is(1, DEVTEXT_INACTIVE));
}

static void test_late_refusal_waits_for_the_service_to_end(void **state)
{
    (void) state;
    s_type("42");
    s_key(DEVCORE_KEY_LOGIN);                       /* standalone */
    s_key(DEVCORE_KEY_START);
    s_connect();
    s_login_reply(0, DEVPROTO_REFUSED_UNKNOWN_STAFF);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_SERVING);
    s_key(DEVCORE_KEY_END);
    s_key(S_RATE(2));
    assert_int_equal(s_last(DEVPROTO_EV_RATING)->u.rating.option_code, 2);
    s_advance(DEVCORE_THANKS_MS);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_NO_STAFF);
    assert_true(s_lcd_is(1, DEVTEXT_UNKNOWN_STAFF));
}

static void test_logout(void **state)
{
    (void) state;
    s_login();
    s_key(DEVCORE_KEY_LOGIN);
    const devcodec_event_t *e = s_last(DEVPROTO_EV_STAFF_LOGOUT);
    assert_int_equal(e->seq, 2);
    assert_memory_equal(e->u.staff.employee_no, "10086", 5);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_NO_STAFF);
    assert_true(s_lcd_is(1, DEVTEXT_NO_STAFF));
    /* no logout in the middle of a service */
    s_login();
    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_LOGIN);
    assert_int_equal(s_last_voice(), DEVPROTO_PROMPT_ERROR);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_SERVING);
}

/* --- tests: service and rating ---------------------------------------------- */

static void test_full_service_with_rating(void **state)
{
    (void) state;
    s_login();
    s_show_ticket("A012", 3);
    assert_true(s_lcd_is(0, DEVTEXT_PLEASE "A012" DEVTEXT_NUMBER));
    assert_true(s_lcd_is(1, DEVTEXT_TO "3" DEVTEXT_WINDOW_NO));
    s_key(DEVCORE_KEY_CALL);
    const devcodec_event_t *e = s_last(DEVPROTO_EV_CALL_REQUEST);
    assert_memory_equal(e->u.ticket.ticket, "A012", 4);
    s_key(DEVCORE_KEY_RECALL);
    assert_int_equal(s_last(DEVPROTO_EV_RECALL_REQUEST)->u.ticket.ticket_length, 4);

    s_key(DEVCORE_KEY_START);
    assert_int_equal(s_last_voice(), DEVPROTO_PROMPT_WELCOME);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_SERVING);
    e = s_last(DEVPROTO_EV_SERVICE_START);
    assert_memory_equal(e->u.ticket.ticket, "A012", 4);
    uint32_t start_uptime = e->uptime_ms;
    assert_true(s_lcd_is(0, DEVTEXT_SERVING));
    assert_true(s_lcd_is(1, "A012"));

    s_advance(65000);
    s_key(DEVCORE_KEY_END);
    assert_int_equal(s_last_voice(), DEVPROTO_PROMPT_PLEASE_RATE);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    e = s_last(DEVPROTO_EV_SERVICE_END);
    assert_memory_equal(e->u.ticket.ticket, "A012", 4);
    assert_true(e->uptime_ms - start_uptime >= 65000);
    assert_true(s_lcd_is(0, DEVTEXT_RATE_1));
    assert_true(s_lcd_is(1, DEVTEXT_RATE_2));

    s_advance(2000);
    s_key(DEVCORE_KEY_RATE1);
    e = s_last(DEVPROTO_EV_RATING);
    assert_int_equal(e->u.rating.option_code, 1);
    assert_int_equal(e->u.rating.ticket_length, 4);
    assert_memory_equal(e->u.rating.ticket, "A012", 4);
    assert_int_equal(e->u.rating.service_ms, 65000 + 80);   /* Start -> End */
    assert_int_equal(s_last_voice(), DEVPROTO_PROMPT_THANKS);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_THANKS);
    assert_true(s_lcd_is(0, DEVTEXT_THANKS));

    s_advance(DEVCORE_THANKS_MS);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_true(s_lcd_is(0, DEVTEXT_WELCOME));                  /* ticket cleared */
    assert_true(s_lcd_is(3, DEVTEXT_SERVED "1" DEVTEXT_PERSONS));
    /* seqs are consecutive from 1 (no ack came, so some were sent again) */
    uint32_t newest = 0;
    for (int i = 0; i < s_fake.nsent; i++)
        if (s_fake.sent[i].seq) {
            assert_true(s_fake.sent[i].seq <= newest + 1);
            if (s_fake.sent[i].seq > newest)
                newest = s_fake.sent[i].seq;
        }
    assert_int_equal(newest, 6);   /* login, call, recall, start, end, rating */
}

static void test_walk_in_and_start_after_thanks(void **state)
{
    (void) state;
    s_login();
    s_key(DEVCORE_KEY_START);                       /* no ticket shown */
    assert_int_equal(s_last(DEVPROTO_EV_SERVICE_START)->u.ticket.ticket_length, 0);
    s_key(DEVCORE_KEY_END);
    s_key(S_RATE(4));
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_THANKS);
    s_key(DEVCORE_KEY_START);                       /* the next customer at once */
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_SERVING);
}

static void test_not_rated_after_timeout(void **state)
{
    (void) state;
    s_login();
    s_show_ticket("B7", 0);
    s_key(DEVCORE_KEY_START);
    s_advance(1000);
    s_key(DEVCORE_KEY_END);
    int voices = s_fake.nvoice;
    /* END settled 20 ms into s_key, 40 ms before it returned */
    s_advance(DEVCORE_DEFAULT_RATING_TIMEOUT_S * 1000 - 1000);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    assert_int_equal(s_count(DEVPROTO_EV_NOT_RATED), 0);
    /* the teller cannot cut the rating window short */
    s_key(DEVCORE_KEY_START);
    assert_int_equal(s_last_voice(), DEVPROTO_PROMPT_ERROR);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    voices = s_fake.nvoice;
    s_advance(1000 - 60 - 80 - 5);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    s_advance(5);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    const devcodec_event_t *e = s_last(DEVPROTO_EV_NOT_RATED);
    assert_int_equal(e->u.rating.option_code, 0);
    assert_memory_equal(e->u.rating.ticket, "B7", 2);
    assert_int_equal(e->u.rating.service_ms, 1080);
    assert_int_equal(s_count(DEVPROTO_EV_RATING), 0);
    assert_int_equal(s_fake.nvoice, voices);        /* no thanks */
    /* a late press is outside the window: ignored, not counted */
    s_key(DEVCORE_KEY_RATE1);
    assert_int_equal(s_count(DEVPROTO_EV_RATING), 0);
    assert_int_equal(devcore_stats(&s_dev).presses_suppressed, 0);
}

static void test_call_during_rating_window_keeps_the_rated_ticket(void **state)
{
    (void) state;
    s_login();
    s_show_ticket("A1", 1);
    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_END);
    s_key(DEVCORE_KEY_CALL);                        /* teller calls the next one */
    s_show_ticket("A2", 1);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    s_key(S_RATE(3));
    assert_memory_equal(s_last(DEVPROTO_EV_RATING)->u.rating.ticket, "A1", 2);
    s_advance(DEVCORE_THANKS_MS);
    assert_true(s_lcd_is(0, DEVTEXT_PLEASE "A2" DEVTEXT_NUMBER));
}

static void test_repeat_presses_suppressed(void **state)
{
    (void) state;
    s_login();
    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_END);
    s_key(S_RATE(2));
    s_key(S_RATE(2));                       /* thank-you screen */
    s_key(DEVCORE_KEY_RATE1);
    s_advance(DEVCORE_THANKS_MS);
    s_key(S_RATE(4));                       /* idle, still inside 10 s */
    assert_int_equal(s_count(DEVPROTO_EV_RATING), 1);
    assert_int_equal(devcore_stats(&s_dev).presses_suppressed, 3);

    /* a quick next service: presses inside the interval still do not rate */
    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_END);
    s_key(DEVCORE_KEY_RATE1);
    assert_int_equal(s_count(DEVPROTO_EV_RATING), 1);
    assert_int_equal(devcore_stats(&s_dev).presses_suppressed, 4);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    s_advance(DEVCORE_DEFAULT_REPEAT_PRESS_S * 1000);
    s_key(DEVCORE_KEY_RATE1);                       /* this one counts */
    assert_int_equal(s_count(DEVPROTO_EV_RATING), 2);
    assert_int_equal(devcore_stats(&s_dev).presses_suppressed, 4);
}

static void test_rating_keys_outside_the_window_ignored(void **state)
{
    (void) state;
    s_key(DEVCORE_KEY_RATE1);                       /* no staff */
    s_login();
    s_key(DEVCORE_KEY_RATE1);                       /* idle */
    s_key(DEVCORE_KEY_START);
    s_key(S_RATE(2));                       /* serving */
    assert_int_equal(s_count(DEVPROTO_EV_RATING), 0);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_SERVING);
    assert_int_equal(devcore_stats(&s_dev).presses_suppressed, 0);
    /* keys beyond the 4 in use do nothing */
    s_key(DEVCORE_KEY_END);
    s_key(DEVCORE_KEY_RATE1 + 4);
    assert_int_equal(s_count(DEVPROTO_EV_RATING), 0);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
}

static void test_debounce_of_a_bouncing_key(void **state)
{
    (void) state;
    /* a contact that bounces for 9 ms, then holds: one press */
    devcore_key(&s_dev, S_DIGIT(5), true, s_now);
    s_advance(2);
    devcore_key(&s_dev, S_DIGIT(5), false, s_now);
    s_advance(3);
    devcore_key(&s_dev, S_DIGIT(5), true, s_now);
    s_advance(2);
    devcore_key(&s_dev, S_DIGIT(5), false, s_now);
    s_advance(2);
    devcore_key(&s_dev, S_DIGIT(5), true, s_now);
    s_advance(DEVCORE_DEBOUNCE_MS - 1);
    assert_true(s_lcd_is(1, DEVTEXT_NO_STAFF));     /* not yet */
    s_advance(1);
    assert_true(s_lcd_is(1, "5"));
    /* release bounces too: still one */
    devcore_key(&s_dev, S_DIGIT(5), false, s_now);
    s_advance(3);
    devcore_key(&s_dev, S_DIGIT(5), true, s_now);
    s_advance(3);
    devcore_key(&s_dev, S_DIGIT(5), false, s_now);
    s_advance(100);
    assert_true(s_lcd_is(1, "5"));
    /* a glitch shorter than the debounce time is no press */
    devcore_key(&s_dev, S_DIGIT(6), true, s_now);
    s_advance(DEVCORE_DEBOUNCE_MS / 2);
    devcore_key(&s_dev, S_DIGIT(6), false, s_now);
    s_advance(100);
    assert_true(s_lcd_is(1, "5"));
    /* a held key repeats nothing */
    devcore_key(&s_dev, S_DIGIT(7), true, s_now);
    s_advance(5000);
    assert_true(s_lcd_is(1, "57"));
    /* an unknown key is ignored */
    devcore_key(&s_dev, DEVCORE_KEY_COUNT, true, s_now);
    s_advance(100);
}

static void test_pause_with_reason_and_resume_by_call(void **state)
{
    (void) state;
    s_login();
    s_type("3");
    assert_true(s_lcd_is(3, DEVTEXT_REASON " 3"));
    s_key(DEVCORE_KEY_PAUSE);
    const devcodec_event_t *e = s_last(DEVPROTO_EV_PAUSE_REQUEST);
    assert_int_equal(e->u.ticket.reason, 3);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_PAUSED);
    assert_true(s_lcd_is(0, DEVTEXT_PAUSED));
    assert_true(s_lcd_is(3, DEVTEXT_REASON " 3"));
    s_key(DEVCORE_KEY_START);                       /* not while paused */
    assert_int_equal(s_last_voice(), DEVPROTO_PROMPT_ERROR);
    s_key(DEVCORE_KEY_CALL);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_int_equal(s_count(DEVPROTO_EV_CALL_REQUEST), 1);
    /* pause without a reason */
    s_key(DEVCORE_KEY_PAUSE);
    assert_int_equal(s_last(DEVPROTO_EV_PAUSE_REQUEST)->u.ticket.reason, 0);
    /* logout from pause */
    s_key(DEVCORE_KEY_LOGIN);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_NO_STAFF);
    assert_int_equal(s_count(DEVPROTO_EV_STAFF_LOGOUT), 1);
}

/* --- tests: ring, ack, resend ----------------------------------------------- */

/* Standalone: a whole service with nobody listening. 5 stored events. */
static void s_offline_service(void)
{
    s_type("10086");
    s_key(DEVCORE_KEY_LOGIN);
    s_key(DEVCORE_KEY_CALL);
    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_END);
    s_key(S_RATE(3));
}

static void test_reconnect_resends_in_order(void **state)
{
    (void) state;
    s_offline_service();
    assert_int_equal(devcore_ring_used(&s_dev), 5);
    assert_int_equal(s_fake.nsent, 0);
    s_connect();
    assert_int_equal(s_fake.nsent, 6);
    assert_int_equal(s_fake.sent[0].type, DEVPROTO_EV_HELLO);
    assert_int_equal(s_fake.sent[0].u.hello.ring_used, 5);
    static const uint8_t want[5] = { DEVPROTO_EV_STAFF_LOGIN, DEVPROTO_EV_CALL_REQUEST,
                                     DEVPROTO_EV_SERVICE_START, DEVPROTO_EV_SERVICE_END,
                                     DEVPROTO_EV_RATING };
    for (int i = 0; i < 5; i++) {
        assert_int_equal(s_fake.sent[1 + i].type, want[i]);
        assert_int_equal(s_fake.sent[1 + i].seq, i + 1);
        assert_int_equal(s_fake.sent[1 + i].boot, S_BOOT);
    }
    /* uptime is when it happened, not when it was sent */
    assert_true(s_fake.sent[5].uptime_ms < s_now - 1000);
    /* unplugged before the ack: everything again after replug */
    s_disconnect();
    s_connect();
    assert_int_equal(s_stored_count(), 10);
    assert_int_equal(s_fake.sent[s_fake.nsent - 1].seq, 5);
    s_ack(S_BOOT, 5);
    assert_int_equal(devcore_ring_used(&s_dev), 0);
    s_disconnect();
    s_connect();
    assert_int_equal(s_fake.sent[s_fake.nsent - 1].type, DEVPROTO_EV_HELLO);
    assert_int_equal(s_stored_count(), 10);
}

static void test_ack_handling(void **state)
{
    (void) state;
    s_offline_service();
    s_connect();
    s_ack(S_BOOT, 2);                               /* partial */
    assert_int_equal(devcore_ring_used(&s_dev), 3);
    s_ack(S_BOOT + 1, 5);                           /* another power-up's */
    assert_int_equal(devcore_ring_used(&s_dev), 3);
    s_ack(S_BOOT, 1);                               /* old */
    assert_int_equal(devcore_ring_used(&s_dev), 3);
    uint32_t rejected = devcore_stats(&s_dev).commands_rejected;
    s_ack(S_BOOT, 6);                               /* events never made */
    assert_int_equal(devcore_ring_used(&s_dev), 3);
    assert_int_equal(devcore_stats(&s_dev).commands_rejected, rejected + 1);
    /* an ACK whose header names another boot is not for us */
    devcodec_cmd_t c = s_cmd(DEVPROTO_CMD_ACK);
    c.boot = 7;
    c.u.ack.boot = S_BOOT;
    c.u.ack.upto = 5;
    s_command(&c);
    assert_int_equal(devcore_ring_used(&s_dev), 3);
    /* after replug only the unacked ones go again */
    s_disconnect();
    int before = s_fake.nsent;
    s_connect();
    assert_int_equal(s_fake.nsent - before, 4);
    assert_int_equal(s_fake.sent[before + 1].seq, 3);
    assert_int_equal(s_fake.sent[before + 3].seq, 5);
    s_ack(S_BOOT, 5);
    assert_int_equal(devcore_ring_used(&s_dev), 0);
    /* the next event continues the sequence */
    s_key(DEVCORE_KEY_CALL);
    assert_int_equal(s_last(DEVPROTO_EV_CALL_REQUEST)->seq, 6);
}

static void test_resend_after_ack_timeout(void **state)
{
    (void) state;
    s_login();                                      /* seq 1, unacked */
    s_key(DEVCORE_KEY_CALL);                        /* seq 2 */
    assert_int_equal(s_stored_count(), 2);
    uint32_t t0 = s_now;
    /* the gateway process died: the device sees no USB reset, no acks */
    while (s_stored_count() == 2)
        s_advance(5);
    assert_true(s_now - t0 <= DEVCORE_ACK_TIMEOUT_MS + 5);
    assert_int_equal(s_stored_count(), 4);
    assert_int_equal(s_fake.sent[s_fake.nsent - 2].seq, 1);
    assert_int_equal(s_fake.sent[s_fake.nsent - 1].seq, 2);
    /* the next resend waits twice as long */
    uint32_t t1 = s_now;
    while (s_stored_count() == 4)
        s_advance(5);
    assert_true(s_now - t1 >= 2 * DEVCORE_ACK_TIMEOUT_MS - 5);
    assert_true(s_now - t1 <= 2 * DEVCORE_ACK_TIMEOUT_MS + 5);
    /* the restarted gateway acks: resending stops */
    s_ack(S_BOOT, 2);
    int n = s_stored_count();
    s_advance(60000);
    assert_int_equal(s_stored_count(), n);
    assert_int_equal(devcore_ring_used(&s_dev), 0);
}

static void test_flow_control_on_busy_endpoint(void **state)
{
    (void) state;
    s_connect();
    s_fake.busy = 1;
    s_type("10086");
    s_key(DEVCORE_KEY_LOGIN);
    s_login_reply(1, 0);
    s_key(DEVCORE_KEY_CALL);
    s_key(DEVCORE_KEY_START);
    assert_true(s_fake.busy_calls > 0);
    assert_int_equal(s_stored_count(), 0);
    s_fake.busy = 0;
    s_advance(10);
    assert_int_equal(s_stored_count(), 3);
    for (int i = 0, seq = 1; i < s_fake.nsent; i++)
        if (s_fake.sent[i].seq)
            assert_int_equal(s_fake.sent[i].seq, seq++);
    assert_int_equal(devcore_stats(&s_dev).reports_sent, (uint32_t) s_fake.nsent);
}

static void test_heartbeat_every_5s_while_connected(void **state)
{
    (void) state;
    s_advance(20000);
    assert_int_equal(s_count(DEVPROTO_EV_HEARTBEAT), 0);
    s_login();
    s_ack(S_BOOT, 1);
    int before = s_count(DEVPROTO_EV_HEARTBEAT);
    s_advance(DEVCORE_HEARTBEAT_MS * 4);
    assert_int_equal(s_count(DEVPROTO_EV_HEARTBEAT) - before, 4);
    const devcodec_event_t *h = s_last(DEVPROTO_EV_HEARTBEAT);
    assert_int_equal(h->u.status.state, DEVPROTO_STATE_IDLE);
    assert_int_equal(h->u.status.staff_logged_in, 1);
    assert_int_equal(h->u.status.ring_capacity, DEVCORE_RING_CAPACITY);
    s_disconnect();
    s_advance(DEVCORE_HEARTBEAT_MS * 3);
    assert_int_equal(s_count(DEVPROTO_EV_HEARTBEAT) - before, 4);
}

/* Presses Call until the ring has `used` events (logged in, idle). */
static void s_fill(uint16_t used)
{
    while (devcore_ring_used(&s_dev) < used)
        s_key(DEVCORE_KEY_CALL);
}

static void test_ring_full_keeps_the_rating(void **state)
{
    (void) state;
    const uint16_t ordinary = DEVCORE_RING_CAPACITY - DEVCORE_RING_RESERVED;
    s_type("10086");
    s_key(DEVCORE_KEY_LOGIN);                       /* offline */
    s_fill(ordinary - 2);
    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_END);                         /* takes the last ordinary slot */
    assert_int_equal(devcore_ring_used(&s_dev), ordinary);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    s_key(DEVCORE_KEY_CALL);                        /* refused, visibly */
    assert_int_equal(devcore_stats(&s_dev).presses_refused, 1);
    assert_int_equal(s_last_voice(), DEVPROTO_PROMPT_ERROR);
    assert_true(s_lcd_is(0, DEVTEXT_RING_FULL));
    assert_int_equal(devcore_ring_used(&s_dev), ordinary);
    s_key(DEVCORE_KEY_RATE1);                       /* the rating fits */
    assert_int_equal(devcore_ring_used(&s_dev), DEVCORE_RING_CAPACITY);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_THANKS);
    assert_int_equal(s_last_voice(), DEVPROTO_PROMPT_THANKS);
    s_advance(DEVCORE_THANKS_MS + DEVCORE_MESSAGE_MS);
    /* Start is refused and the state stays */
    s_key(DEVCORE_KEY_START);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_int_equal(devcore_stats(&s_dev).presses_refused, 2);
    assert_true(s_lcd_is(1, DEVTEXT_CHECK_LINK));
    s_advance(DEVCORE_MESSAGE_MS);
    assert_true(s_lcd_is(0, DEVTEXT_WELCOME));
    s_key(DEVCORE_KEY_LOGIN);                       /* logout too */
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_int_equal(devcore_stats(&s_dev).presses_refused, 3);

    /* on connect: hello (with the refusals), a full-ring warning, all 128 */
    s_connect();
    assert_int_equal(s_fake.sent[0].type, DEVPROTO_EV_HELLO);
    assert_int_equal(s_fake.sent[0].u.hello.ring_used, DEVCORE_RING_CAPACITY);
    assert_int_equal(s_fake.sent[0].u.hello.refused, 3);
    assert_int_equal(s_fake.sent[1].type, DEVPROTO_EV_BUFFER_WARNING);
    assert_int_equal(s_stored_count(), DEVCORE_RING_CAPACITY);
    const devcodec_event_t *r = s_last(DEVPROTO_EV_RATING);
    assert_int_equal(r->seq, DEVCORE_RING_CAPACITY);
    s_ack(S_BOOT, DEVCORE_RING_CAPACITY);
    s_key(DEVCORE_KEY_START);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_SERVING);
}

static void test_ring_full_keeps_the_not_rated(void **state)
{
    (void) state;
    s_type("1");
    s_key(DEVCORE_KEY_LOGIN);
    s_fill(DEVCORE_RING_CAPACITY - DEVCORE_RING_RESERVED - 2);
    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_END);
    s_advance(DEVCORE_DEFAULT_RATING_TIMEOUT_S * 1000);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_int_equal(devcore_ring_used(&s_dev), DEVCORE_RING_CAPACITY);
    /* a service cannot even start now, so no outcome can be lost */
    s_key(DEVCORE_KEY_START);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
}

static void test_buffer_warnings_at_80_percent_and_full(void **state)
{
    (void) state;
    s_login();                                      /* connected, the host never acks */
    s_fill(DEVCORE_RING_WARN - 1);
    assert_int_equal(s_count(DEVPROTO_EV_BUFFER_WARNING), 0);
    s_key(DEVCORE_KEY_CALL);
    assert_int_equal(s_count(DEVPROTO_EV_BUFFER_WARNING), 1);
    const devcodec_event_t *w = s_last(DEVPROTO_EV_BUFFER_WARNING);
    assert_int_equal(w->u.status.ring_used, DEVCORE_RING_WARN);
    s_fill(DEVCORE_RING_CAPACITY - DEVCORE_RING_RESERVED - 1);
    assert_int_equal(s_count(DEVPROTO_EV_BUFFER_WARNING), 1);
    s_key(DEVCORE_KEY_CALL);
    assert_int_equal(s_count(DEVPROTO_EV_BUFFER_WARNING), 2);
    s_key(DEVCORE_KEY_CALL);                        /* refused, no third warning */
    assert_int_equal(s_count(DEVPROTO_EV_BUFFER_WARNING), 2);
    assert_int_equal(devcore_stats(&s_dev).presses_refused, 1);
    /* drained and filled again: warned again */
    s_ack(S_BOOT, devcore_ring_used(&s_dev));
    assert_int_equal(devcore_ring_used(&s_dev), 0);
    s_fill(DEVCORE_RING_WARN);
    assert_int_equal(s_count(DEVPROTO_EV_BUFFER_WARNING), 3);
}

/* --- tests: commands -------------------------------------------------------- */

static void test_malformed_out_reports_counted_and_ignored(void **state)
{
    (void) state;
    s_login();
    uint8_t r[DEVPROTO_REPORT_SIZE + 1];
    devcodec_cmd_t c = s_cmd(DEVPROTO_CMD_SET_STARS);
    c.u.stars = 4;
    assert_int_equal(devcodec_encode_cmd(&c, r), DEVCODEC_OK);
    devcore_stats_t before = devcore_stats(&s_dev);
    int stars_calls = s_fake.stars_calls;

    devcore_usb_out(&s_dev, r, 63, s_now);          /* short */
    r[64] = 0;
    devcore_usb_out(&s_dev, r, 65, s_now);          /* long */
    r[16] = 6;                                      /* six stars */
    devcore_usb_out(&s_dev, r, 64, s_now);
    r[16] = 4;
    r[40] = 1;                                      /* dirty padding */
    devcore_usb_out(&s_dev, r, 64, s_now);
    r[40] = 0;
    r[0] = 2;                                       /* version */
    devcore_usb_out(&s_dev, r, 64, s_now);
    r[0] = 1;
    r[1] = DEVPROTO_EV_RATING;                      /* an IN type */
    devcore_usb_out(&s_dev, r, 64, s_now);
    memset(r, 0xFF, sizeof r);                      /* garbage */
    devcore_usb_out(&s_dev, r, 64, s_now);
    /* a login reply that would log in a name with a control byte */
    devcodec_cmd_t lr = s_cmd(DEVPROTO_CMD_LOGIN_REPLY);
    lr.u.login_reply.accepted = 1;
    assert_int_equal(devcodec_encode_cmd(&lr, r), DEVCODEC_OK);
    r[17] = 1;
    r[18] = 0x07;
    devcore_usb_out(&s_dev, r, 64, s_now);

    devcore_stats_t after = devcore_stats(&s_dev);
    assert_int_equal(after.commands_rejected, before.commands_rejected + 8);
    assert_int_equal(after.commands_applied, before.commands_applied);
    assert_int_equal(s_fake.stars_calls, stars_calls);
    assert_true(s_lcd_is(1, S_NAME));
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);

    /* well-formed, for another boot: not acted on either */
    c.boot = S_BOOT + 1;
    s_command(&c);
    assert_int_equal(s_fake.stars_calls, stars_calls);
    /* and the good one works */
    c.boot = S_BOOT;
    s_command(&c);
    assert_int_equal(s_fake.stars, 4);
    assert_int_equal(devcore_stats(&s_dev).commands_applied, after.commands_applied + 1);
}

static void test_set_config_six_keys_custom_codes(void **state)
{
    (void) state;
    s_start(1000, 6);
    s_login();
    static const uint8_t codes[6] = { 6, 5, 4, 3, 2, 1 };
    s_config(5, 0, 6, codes);
    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_END);
    s_key(DEVCORE_KEY_RATE1 + 1);
    assert_int_equal(s_last(DEVPROTO_EV_RATING)->u.rating.option_code, 5);
    s_advance(DEVCORE_THANKS_MS);
    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_END);
    s_key(DEVCORE_KEY_RATE6);                       /* repeat interval 0: counts */
    assert_int_equal(s_last(DEVPROTO_EV_RATING)->u.rating.option_code, 1);
    s_advance(DEVCORE_THANKS_MS);
    /* rating timeout 5 s */
    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_END);
    s_advance(5000);
    assert_int_equal(s_count(DEVPROTO_EV_NOT_RATED), 1);
    /* down to 4 keys: the 5th and 6th do nothing */
    static const uint8_t four[4] = { 1, 2, 3, 4 };
    s_config(30, 10, 4, four);
    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_END);
    s_key(DEVCORE_KEY_RATE6);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    s_key(DEVCORE_KEY_RATE1 + 3);
    assert_int_equal(s_last(DEVPROTO_EV_RATING)->u.rating.option_code, 4);

    /* a config for more keys than fitted is refused */
    s_start(1000, 4);
    s_login();
    uint32_t rejected = devcore_stats(&s_dev).commands_rejected;
    s_config(30, 10, 6, codes);
    assert_int_equal(devcore_stats(&s_dev).commands_rejected, rejected + 1);
    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_END);
    s_key(DEVCORE_KEY_RATE1);
    assert_int_equal(s_last(DEVPROTO_EV_RATING)->u.rating.option_code, 1);
}

static void test_text_stars_prompt_time_commands(void **state)
{
    (void) state;
    s_login();
    /* idle text replaces the default of its line and is kept */
    devcodec_cmd_t c = s_cmd(DEVPROTO_CMD_SET_TEXT);
    c.u.text.target = 1;
    c.u.text.line = 3;
    c.u.text.length = 8;
    memcpy(c.u.text.text, DEVTEXT_WELCOME_AGAIN, 8);
    s_command(&c);
    assert_memory_equal(s_fake.lcd[3], DEVTEXT_WELCOME_AGAIN, 8);
    s_key(DEVCORE_KEY_START);
    assert_true(s_lcd_is(0, DEVTEXT_SERVING));
    s_key(DEVCORE_KEY_END);
    s_key(DEVCORE_KEY_RATE1);
    s_advance(DEVCORE_THANKS_MS);
    assert_int_equal(strlen((const char *) s_fake.lcd[3]), 8);
    assert_memory_equal(s_fake.lcd[3], DEVTEXT_WELCOME_AGAIN, 8);
    /* a temporary line lasts until the state changes */
    c.u.text.target = 0;
    c.u.text.line = 0;
    c.u.text.length = 5;
    memcpy(c.u.text.text, "HELLO", 5);
    s_command(&c);
    assert_true(s_lcd_is(0, "HELLO"));
    s_key(DEVCORE_KEY_START);
    assert_true(s_lcd_is(0, DEVTEXT_SERVING));
    /* clearing the idle line brings the default back */
    c.u.text.target = 1;
    c.u.text.line = 3;
    c.u.text.length = 0;
    s_command(&c);
    s_key(DEVCORE_KEY_END);
    s_advance(DEVCORE_DEFAULT_RATING_TIMEOUT_S * 1000);
    assert_true(s_lcd_is(3, DEVTEXT_SERVED "2" DEVTEXT_PERSONS));

    c = s_cmd(DEVPROTO_CMD_SET_STARS);
    c.u.stars = 5;
    s_command(&c);
    assert_int_equal(s_fake.stars, 5);
    c = s_cmd(DEVPROTO_CMD_PLAY_PROMPT);
    c.u.prompt = DEVPROTO_PROMPT_WELCOME;
    s_command(&c);
    assert_int_equal(s_last_voice(), DEVPROTO_PROMPT_WELCOME);
    c = s_cmd(DEVPROTO_CMD_SET_TIME);
    c.u.time_ms = 1795000000000ULL;
    s_command(&c);
    assert_true(s_dev.time_valid);
    assert_true(s_dev.time_ms == 1795000000000ULL);
}

static void s_label(uint8_t key, const char *text)
{
    devcodec_cmd_t c = s_cmd(DEVPROTO_CMD_SET_LABEL);
    c.u.label.key = key;
    c.u.label.length = (uint8_t) strlen(text);
    memcpy(c.u.label.text, text, strlen(text));
    s_command(&c);
}

/* 不满意 and 欢迎光临 twice (16 bytes: a whole line) in GB2312 */
#define S_UNSATISFIED "\xb2\xbb\xc2\xfa\xd2\xe2"

static void test_labels_shown_one_after_the_other_while_a_rating_is_awaited(void **state)
{
    (void) state;
    s_start(1000, 6);
    s_login();
    static const uint8_t four[4] = { 1, 2, 3, 4 };
    s_config(30, 0, 4, four);
    uint32_t applied = devcore_stats(&s_dev).commands_applied;
    s_label(0, "GOOD");
    s_label(2, "MEH");
    s_label(3, S_UNSATISFIED);
    s_label(4, "UNUSED");                            /* a key the scale does not use */
    assert_int_equal(devcore_stats(&s_dev).commands_applied, applied + 4);
    assert_true(s_lcd_is(2, DEVTEXT_STAFF_NO "10086"));   /* the idle screen is not touched */

    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_END);
    assert_true(s_lcd_is(0, DEVTEXT_RATE_1));
    assert_true(s_lcd_is(2, "1 GOOD"));
    s_advance(DEVCORE_LABEL_MS);
    assert_true(s_lcd_is(2, "3 MEH"));               /* key 2 has none: skipped */
    s_advance(DEVCORE_LABEL_MS);
    assert_true(s_lcd_is(2, "4 " S_UNSATISFIED));
    s_advance(DEVCORE_LABEL_MS);
    assert_true(s_lcd_is(2, "1 GOOD"));              /* key 5 is not in use */
    /* a label changed meanwhile shows at its turn; the one shown, cleared,
     * gives way to the next at once */
    s_label(2, "SO-SO");
    s_label(0, "");
    assert_true(s_lcd_is(2, "3 SO-SO"));
    /* a whole line of label is cut after the key number, at a character */
    s_label(1, DEVTEXT_WELCOME DEVTEXT_WELCOME);
    s_advance(DEVCORE_LABEL_MS);
    assert_true(s_lcd_is(2, "4 " S_UNSATISFIED));
    s_advance(DEVCORE_LABEL_MS);
    assert_true(s_lcd_is(2, "2 " DEVTEXT_WELCOME "\xbb\xb6\xd3\xad\xb9\xe2"));
    assert_true(s_lcd_is(3, ""));                    /* a walk-in: no ticket */

    s_key(DEVCORE_KEY_RATE1 + 3);
    assert_int_equal(s_last(DEVPROTO_EV_RATING)->u.rating.option_code, 4);
    assert_true(s_lcd_is(0, DEVTEXT_THANKS));
    assert_true(s_lcd_is(2, ""));
}

static void test_without_labels_the_rating_screen_keeps_its_prompt(void **state)
{
    (void) state;
    s_login();
    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_END);
    s_advance(3 * DEVCORE_LABEL_MS);
    assert_true(s_lcd_is(0, DEVTEXT_RATE_1));
    assert_true(s_lcd_is(1, DEVTEXT_RATE_2));
    assert_true(s_lcd_is(2, ""));
    /* the first label arriving during the rating shows at once */
    s_label(1, "OK");
    assert_true(s_lcd_is(2, "2 OK"));
}

static void test_uptime_wraps_around(void **state)
{
    (void) state;
    s_start(0xFFFFFFFFu - 3000, 4);                 /* the clock wraps in 3 s */
    s_login();
    s_show_ticket("C9", 2);
    s_key(DEVCORE_KEY_START);
    s_advance(5000);                                /* past the wrap */
    assert_true(s_now < 3000);
    s_key(DEVCORE_KEY_END);
    const devcodec_event_t *e = s_last(DEVPROTO_EV_SERVICE_END);
    assert_true(e->uptime_ms > 5000 && e->uptime_ms < 6000);
    s_advance(DEVCORE_DEFAULT_RATING_TIMEOUT_S * 1000 - 60 - 5);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    s_advance(5);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    e = s_last(DEVPROTO_EV_NOT_RATED);
    assert_int_equal(e->u.rating.service_ms, 5080);
    /* debounce and the ack timeout across the wrap */
    s_start(0xFFFFFFFFu - 10, 4);
    s_connect();
    s_type("12");
    assert_true(s_lcd_is(1, "12"));
    s_key(DEVCORE_KEY_LOGIN);
    int n = s_stored_count();
    s_advance(DEVCORE_ACK_TIMEOUT_MS + 10);
    assert_int_equal(s_stored_count(), n + 1);
}

/* --- tests: the host's teller and rating request (firmware 1.2) ------------ */

/* 王芳 in GB2312 */
#define S_HOST_NAME "\xcd\xf5\xb7\xbc"

/* SET_STAFF from the host: `no` ("" = nobody) and its GB2312 name. */
static void s_set_staff(const char *no, const char *name)
{
    devcodec_cmd_t c = s_cmd(DEVPROTO_CMD_SET_STAFF);
    c.u.set_staff.employee_length = (uint8_t) strlen(no);
    memcpy(c.u.set_staff.employee_no, no, strlen(no));
    c.u.set_staff.name_length = (uint8_t) strlen(name);
    memcpy(c.u.set_staff.name, name, strlen(name));
    s_command(&c);
}

static void s_request_rating(const char *ticket)
{
    devcodec_cmd_t c = s_cmd(DEVPROTO_CMD_REQUEST_RATING);
    c.u.request_rating.ticket_length = (uint8_t) strlen(ticket);
    memcpy(c.u.request_rating.ticket, ticket, strlen(ticket));
    s_command(&c);
}

/* Teller 1001 (王芳) logged in by the host on a connected device. */
static void s_host_login(void)
{
    s_connect();
    s_set_staff("1001", S_HOST_NAME);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
}

static void test_host_login_shows_the_teller_and_stores_nothing(void **state)
{
    (void) state;
    s_connect();
    uint32_t applied = devcore_stats(&s_dev).commands_applied;
    s_set_staff("1001", S_HOST_NAME);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_int_equal(devcore_stats(&s_dev).commands_applied, applied + 1);
    /* the screen of an accepted login */
    assert_true(s_lcd_is(0, DEVTEXT_WELCOME));
    assert_true(s_lcd_is(1, S_HOST_NAME));
    assert_true(s_lcd_is(2, DEVTEXT_STAFF_NO "1001"));
    assert_true(s_lcd_is(3, DEVTEXT_SERVED "0" DEVTEXT_PERSONS));
    /* no STAFF_LOGIN: the host knows */
    assert_int_equal(devcore_ring_used(&s_dev), 0);
    assert_int_equal(s_stored_count(), 0);
    /* the heartbeat tells a teller is in */
    s_advance(DEVCORE_HEARTBEAT_MS);
    assert_int_equal(s_last(DEVPROTO_EV_HEARTBEAT)->u.status.staff_logged_in, 1);
    /* the teller keys work: events are stored as after a device login */
    s_show_ticket("A012", 3);
    s_key(DEVCORE_KEY_START);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_SERVING);
    assert_memory_equal(s_last(DEVPROTO_EV_SERVICE_START)->u.ticket.ticket, "A012", 4);
    s_key(DEVCORE_KEY_END);
    s_key(S_RATE(1));
    assert_int_equal(s_count(DEVPROTO_EV_RATING), 1);
    s_advance(DEVCORE_THANKS_MS);
    /* a logout typed on the device is stored with the host's teller */
    s_key(DEVCORE_KEY_LOGIN);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_NO_STAFF);
    const devcodec_event_t *e = s_last(DEVPROTO_EV_STAFF_LOGOUT);
    assert_int_equal(e->u.staff.length, 4);
    assert_memory_equal(e->u.staff.employee_no, "1001", 4);
    assert_int_equal(s_count(DEVPROTO_EV_STAFF_LOGIN), 0);
    /* a name-less teller shows as 柜员 */
    s_set_staff("7", "");
    assert_true(s_lcd_is(1, DEVTEXT_TELLER));
    assert_true(s_lcd_is(2, DEVTEXT_STAFF_NO "7"));
}

static void test_host_login_abandons_a_login_typed_or_awaiting_its_reply(void **state)
{
    (void) state;
    s_connect();
    s_type("42");
    s_set_staff("1001", S_HOST_NAME);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_true(s_lcd_is(2, DEVTEXT_STAFF_NO "1001"));
    s_type("5");                                     /* digits are a pause reason now */
    assert_true(s_lcd_is(3, DEVTEXT_REASON " 5"));
    assert_int_equal(devcore_ring_used(&s_dev), 0);

    s_start(1000, 4);
    s_connect();
    s_type("42");
    s_key(DEVCORE_KEY_LOGIN);                        /* STAFF_LOGIN, awaiting the reply */
    assert_true(s_lcd_is(0, DEVTEXT_LOGGING_IN));
    s_set_staff("1001", S_HOST_NAME);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_true(s_lcd_is(1, S_HOST_NAME));
    assert_int_equal(devcore_ring_used(&s_dev), 1);  /* the device's own login, no more */
    /* the abandoned login's reply changes nothing, nor does its timeout */
    s_login_reply(0, DEVPROTO_REFUSED_UNKNOWN_STAFF);
    s_advance(DEVCORE_LOGIN_REPLY_MS);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_true(s_lcd_is(2, DEVTEXT_STAFF_NO "1001"));
    s_key(DEVCORE_KEY_LOGIN);
    assert_memory_equal(s_last(DEVPROTO_EV_STAFF_LOGOUT)->u.staff.employee_no, "1001", 4);
}

static void test_host_login_of_the_same_teller_only_refreshes_the_name(void **state)
{
    (void) state;
    s_login();                                       /* 10086 on the device, as 张三 */
    s_show_ticket("B007", 3);
    s_key(DEVCORE_KEY_START);
    uint16_t used = devcore_ring_used(&s_dev);
    s_set_staff("10086", S_HOST_NAME);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_SERVING);   /* goes on */
    assert_true(s_lcd_is(2, S_HOST_NAME));
    assert_int_equal(devcore_ring_used(&s_dev), used);
    s_key(DEVCORE_KEY_END);
    assert_memory_equal(s_last(DEVPROTO_EV_SERVICE_END)->u.ticket.ticket, "B007", 4);
    s_set_staff("10086", S_NAME);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    s_key(S_RATE(3));
    assert_int_equal(s_last(DEVPROTO_EV_RATING)->u.rating.option_code, 3);
    s_advance(DEVCORE_THANKS_MS);
    assert_true(s_lcd_is(1, S_NAME));
    assert_true(s_lcd_is(3, DEVTEXT_SERVED "1" DEVTEXT_PERSONS));      /* count kept */

    /* a late refusal waiting for the service's end is overruled by the host */
    s_start(1000, 4);
    s_type("42");
    s_key(DEVCORE_KEY_LOGIN);                        /* standalone */
    s_key(DEVCORE_KEY_START);
    s_connect();
    s_login_reply(0, DEVPROTO_REFUSED_UNKNOWN_STAFF);
    s_set_staff("42", S_HOST_NAME);
    s_key(DEVCORE_KEY_END);
    s_key(S_RATE(1));
    s_advance(DEVCORE_THANKS_MS);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_true(s_lcd_is(1, S_HOST_NAME));
}

static void test_host_login_replaces_another_teller_without_events(void **state)
{
    (void) state;
    /* serving: the service ends without SERVICE_END */
    s_login();
    s_show_ticket("B007", 3);
    s_key(DEVCORE_KEY_START);
    uint16_t used = devcore_ring_used(&s_dev);
    int stored = s_stored_count();
    s_set_staff("1001", S_HOST_NAME);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_true(s_lcd_is(2, S_HOST_NAME));           /* B007 still called */
    assert_true(s_lcd_is(3, DEVTEXT_STAFF_NO "1001"));
    assert_int_equal(devcore_ring_used(&s_dev), used);
    assert_int_equal(s_stored_count(), stored);
    s_advance(DEVCORE_ACK_TIMEOUT_MS / 2);
    assert_int_equal(s_count(DEVPROTO_EV_SERVICE_END), 0);
    assert_int_equal(s_count(DEVPROTO_EV_STAFF_LOGOUT), 0);

    /* awaiting a rating (and its timeout): ends, no NOT_RATED */
    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_END);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    used = devcore_ring_used(&s_dev);
    s_set_staff("10086", S_NAME);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_true(s_lcd_is(3, DEVTEXT_SERVED "0" DEVTEXT_PERSONS));
    s_advance(DEVCORE_DEFAULT_RATING_TIMEOUT_S * 1000);
    assert_int_equal(devcore_ring_used(&s_dev), used);
    assert_int_equal(s_count(DEVPROTO_EV_NOT_RATED), 0);
    s_key(S_RATE(1));                                /* outside any rating window */
    assert_int_equal(s_count(DEVPROTO_EV_RATING), 0);

    /* thank-you and paused: ended too */
    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_END);
    s_key(S_RATE(2));
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_THANKS);
    s_set_staff("1001", S_HOST_NAME);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    s_type("4");
    s_key(DEVCORE_KEY_PAUSE);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_PAUSED);
    used = devcore_ring_used(&s_dev);
    s_set_staff("10086", S_NAME);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_true(s_lcd_is(3, DEVTEXT_SERVED "0" DEVTEXT_PERSONS));   /* no reason left */
    assert_int_equal(devcore_ring_used(&s_dev), used);
    /* the teller logged out on the device is the new one */
    s_key(DEVCORE_KEY_LOGIN);
    assert_memory_equal(s_last(DEVPROTO_EV_STAFF_LOGOUT)->u.staff.employee_no, "10086", 5);
    assert_int_equal(s_count(DEVPROTO_EV_STAFF_LOGOUT), 1);
}

static void test_host_logout_stores_no_event(void **state)
{
    (void) state;
    s_host_login();
    s_set_staff("", "");
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_NO_STAFF);
    assert_true(s_lcd_is(0, DEVTEXT_WELCOME));
    assert_true(s_lcd_is(1, DEVTEXT_NO_STAFF));
    assert_int_equal(devcore_ring_used(&s_dev), 0);
    assert_int_equal(s_stored_count(), 0);
    s_key(DEVCORE_KEY_START);                        /* nobody to serve */
    assert_int_equal(s_last_voice(), DEVPROTO_PROMPT_ERROR);

    /* from a device login in the middle of a service: no SERVICE_END, no logout */
    s_login();
    s_key(DEVCORE_KEY_START);
    uint16_t used = devcore_ring_used(&s_dev);
    s_set_staff("", "");
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_NO_STAFF);
    assert_int_equal(devcore_ring_used(&s_dev), used);
    assert_int_equal(s_count(DEVPROTO_EV_STAFF_LOGOUT), 0);
    assert_int_equal(s_count(DEVPROTO_EV_SERVICE_END), 0);

    /* nobody logged in: a login being typed goes on */
    s_type("77");
    s_set_staff("", "");
    assert_true(s_lcd_is(1, "77"));
    s_key(DEVCORE_KEY_LOGIN);
    assert_memory_equal(s_last(DEVPROTO_EV_STAFF_LOGIN)->u.staff.employee_no, "77", 2);
}

static void test_rating_requested_by_the_host(void **state)
{
    (void) state;
    s_host_login();
    s_show_ticket("A012", 3);
    uint16_t used = devcore_ring_used(&s_dev);
    s_request_rating("A012");
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    assert_int_equal(s_last_voice(), DEVPROTO_PROMPT_PLEASE_RATE);
    assert_true(s_lcd_is(0, DEVTEXT_RATE_1));
    assert_true(s_lcd_is(1, DEVTEXT_RATE_2));
    assert_true(s_lcd_is(3, "A012"));
    assert_int_equal(devcore_ring_used(&s_dev), used);           /* no SERVICE_END */
    assert_int_equal(s_count(DEVPROTO_EV_SERVICE_END), 0);
    s_key(S_RATE(2));
    const devcodec_event_t *r = s_last(DEVPROTO_EV_RATING);
    assert_int_equal(r->u.rating.option_code, 2);
    assert_int_equal(r->u.rating.ticket_length, 4);
    assert_memory_equal(r->u.rating.ticket, "A012", 4);
    assert_int_equal(r->u.rating.service_ms, 0);                  /* timed by the host */
    assert_int_equal(s_last_voice(), DEVPROTO_PROMPT_THANKS);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_THANKS);
    s_advance(DEVCORE_THANKS_MS);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_true(s_lcd_is(0, DEVTEXT_WELCOME));                    /* A012 no longer called */
    assert_true(s_lcd_is(3, DEVTEXT_SERVED "1" DEVTEXT_PERSONS));
    /* the rating is the host teller's: the next STAFF_LOGOUT says who */
    s_key(DEVCORE_KEY_LOGIN);
    assert_true(s_last(DEVPROTO_EV_STAFF_LOGOUT)->seq > r->seq);
    assert_memory_equal(s_last(DEVPROTO_EV_STAFF_LOGOUT)->u.staff.employee_no, "1001", 4);
    assert_int_equal(s_count(DEVPROTO_EV_STAFF_LOGIN), 0);

    /* not rated within the configured timeout: NOT_RATED with the ticket */
    s_host_login();
    static const uint8_t four[4] = { 1, 2, 3, 4 };
    s_config(5, 0, 4, four);
    s_request_rating("C3");
    s_advance(5000 - 5);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    s_advance(5);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    const devcodec_event_t *n = s_last(DEVPROTO_EV_NOT_RATED);
    assert_memory_equal(n->u.rating.ticket, "C3", 2);
    /* a walk-in finished at the PC: no ticket */
    s_request_rating("");
    s_key(S_RATE(4));
    assert_int_equal(s_last(DEVPROTO_EV_RATING)->u.rating.ticket_length, 0);
}

static void test_rating_requested_while_serving_drops_the_device_service(void **state)
{
    (void) state;
    s_host_login();
    s_show_ticket("B007", 3);
    s_key(DEVCORE_KEY_START);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_SERVING);
    uint16_t used = devcore_ring_used(&s_dev);
    s_request_rating("A012");
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    assert_true(s_lcd_is(3, "A012"));
    assert_int_equal(devcore_ring_used(&s_dev), used);
    assert_int_equal(s_count(DEVPROTO_EV_SERVICE_END), 0);
    s_key(S_RATE(1));
    const devcodec_event_t *r = s_last(DEVPROTO_EV_RATING);
    assert_memory_equal(r->u.rating.ticket, "A012", 4);
    assert_int_equal(r->u.rating.service_ms, 0);
    s_advance(DEVCORE_THANKS_MS);
    s_key(DEVCORE_KEY_END);                          /* the device's service is gone */
    assert_int_equal(s_last_voice(), DEVPROTO_PROMPT_ERROR);
    assert_int_equal(s_count(DEVPROTO_EV_SERVICE_END), 0);
}

static void test_rating_requested_in_the_rating_window_or_thanks(void **state)
{
    (void) state;
    s_host_login();
    s_show_ticket("A011", 3);
    s_key(DEVCORE_KEY_START);
    s_key(DEVCORE_KEY_END);                          /* A011 awaits its rating */
    s_request_rating("A012");
    /* A011's customer did not rate: NOT_RATED, then A012's window */
    const devcodec_event_t *n = s_last(DEVPROTO_EV_NOT_RATED);
    assert_memory_equal(n->u.rating.ticket, "A011", 4);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    assert_true(s_lcd_is(3, "A012"));
    s_advance(DEVCORE_DEFAULT_RATING_TIMEOUT_S * 1000 - 100);    /* the timeout restarted */
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    s_key(S_RATE(3));
    assert_memory_equal(s_last(DEVPROTO_EV_RATING)->u.rating.ticket, "A012", 4);
    assert_int_equal(s_count(DEVPROTO_EV_NOT_RATED), 1);
    /* in the thank-you screen: the next rating window opens */
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_THANKS);
    s_request_rating("A013");
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    assert_int_equal(s_count(DEVPROTO_EV_NOT_RATED), 1);
    s_advance(DEVCORE_DEFAULT_REPEAT_PRESS_S * 1000);             /* one press, one rating */
    s_key(S_RATE(4));
    assert_memory_equal(s_last(DEVPROTO_EV_RATING)->u.rating.ticket, "A013", 4);
    assert_int_equal(s_count(DEVPROTO_EV_RATING), 2);
}

static void test_rating_request_ignored_without_teller_or_paused(void **state)
{
    (void) state;
    s_connect();
    uint32_t rejected = devcore_stats(&s_dev).commands_rejected;
    int voices = s_fake.nvoice;
    s_request_rating("A012");
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_NO_STAFF);
    assert_int_equal(devcore_stats(&s_dev).commands_rejected, rejected + 1);
    assert_int_equal(s_fake.nvoice, voices);
    assert_true(s_lcd_is(1, DEVTEXT_NO_STAFF));
    s_set_staff("1001", S_HOST_NAME);
    s_key(DEVCORE_KEY_PAUSE);
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_PAUSED);
    uint16_t used = devcore_ring_used(&s_dev);
    voices = s_fake.nvoice;
    s_request_rating("A012");
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_PAUSED);
    assert_int_equal(devcore_stats(&s_dev).commands_rejected, rejected + 2);
    assert_int_equal(s_fake.nvoice, voices);
    assert_int_equal(devcore_ring_used(&s_dev), used);
    s_key(S_RATE(1));
    assert_int_equal(s_count(DEVPROTO_EV_RATING), 0);
}

static void test_rating_request_refused_when_its_outcome_would_not_fit(void **state)
{
    (void) state;
    s_type("10086");
    s_key(DEVCORE_KEY_LOGIN);                        /* offline: nothing is acked */
    s_fill(DEVCORE_RING_CAPACITY - DEVCORE_RING_RESERVED);
    s_key(DEVCORE_KEY_START);                        /* refused: no ordinary slot */
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    s_advance(DEVCORE_MESSAGE_MS);                   /* 缓存已满 goes */
    s_request_rating("A012");                        /* the reserved slot takes its outcome */
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_AWAIT_RATING);
    uint32_t rejected = devcore_stats(&s_dev).commands_rejected;
    s_request_rating("A013");                        /* A012's NOT_RATED and A013's: no room */
    assert_int_equal(devcore_stats(&s_dev).commands_rejected, rejected + 1);
    assert_true(s_lcd_is(3, "A012"));
    s_key(S_RATE(1));
    assert_int_equal(devcore_ring_used(&s_dev), DEVCORE_RING_CAPACITY);
    s_advance(DEVCORE_THANKS_MS);
    s_request_rating("A013");                        /* the ring is full */
    assert_int_equal(devcore_state(&s_dev), DEVPROTO_STATE_IDLE);
    assert_int_equal(devcore_stats(&s_dev).commands_rejected, rejected + 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_starts_with_no_staff_screen, s_setup),
        cmocka_unit_test_setup(test_hello_on_connect, s_setup),
        cmocka_unit_test_setup(test_login_accepted, s_setup),
        cmocka_unit_test_setup(test_login_with_ok_key_and_empty_login_is_an_error, s_setup),
        cmocka_unit_test_setup(test_login_refused_shows_why, s_setup),
        cmocka_unit_test_setup(test_login_standalone_without_reply, s_setup),
        cmocka_unit_test_setup(test_late_refusal_waits_for_the_service_to_end, s_setup),
        cmocka_unit_test_setup(test_logout, s_setup),
        cmocka_unit_test_setup(test_full_service_with_rating, s_setup),
        cmocka_unit_test_setup(test_walk_in_and_start_after_thanks, s_setup),
        cmocka_unit_test_setup(test_not_rated_after_timeout, s_setup),
        cmocka_unit_test_setup(test_call_during_rating_window_keeps_the_rated_ticket, s_setup),
        cmocka_unit_test_setup(test_repeat_presses_suppressed, s_setup),
        cmocka_unit_test_setup(test_rating_keys_outside_the_window_ignored, s_setup),
        cmocka_unit_test_setup(test_debounce_of_a_bouncing_key, s_setup),
        cmocka_unit_test_setup(test_pause_with_reason_and_resume_by_call, s_setup),
        cmocka_unit_test_setup(test_reconnect_resends_in_order, s_setup),
        cmocka_unit_test_setup(test_ack_handling, s_setup),
        cmocka_unit_test_setup(test_resend_after_ack_timeout, s_setup),
        cmocka_unit_test_setup(test_flow_control_on_busy_endpoint, s_setup),
        cmocka_unit_test_setup(test_heartbeat_every_5s_while_connected, s_setup),
        cmocka_unit_test_setup(test_ring_full_keeps_the_rating, s_setup),
        cmocka_unit_test_setup(test_ring_full_keeps_the_not_rated, s_setup),
        cmocka_unit_test_setup(test_buffer_warnings_at_80_percent_and_full, s_setup),
        cmocka_unit_test_setup(test_malformed_out_reports_counted_and_ignored, s_setup),
        cmocka_unit_test_setup(test_set_config_six_keys_custom_codes, s_setup),
        cmocka_unit_test_setup(test_text_stars_prompt_time_commands, s_setup),
        cmocka_unit_test_setup(test_labels_shown_one_after_the_other_while_a_rating_is_awaited,
                               s_setup),
        cmocka_unit_test_setup(test_without_labels_the_rating_screen_keeps_its_prompt, s_setup),
        cmocka_unit_test_setup(test_uptime_wraps_around, s_setup),
        cmocka_unit_test_setup(test_host_login_shows_the_teller_and_stores_nothing, s_setup),
        cmocka_unit_test_setup(test_host_login_abandons_a_login_typed_or_awaiting_its_reply,
                               s_setup),
        cmocka_unit_test_setup(test_host_login_of_the_same_teller_only_refreshes_the_name,
                               s_setup),
        cmocka_unit_test_setup(test_host_login_replaces_another_teller_without_events, s_setup),
        cmocka_unit_test_setup(test_host_logout_stores_no_event, s_setup),
        cmocka_unit_test_setup(test_rating_requested_by_the_host, s_setup),
        cmocka_unit_test_setup(test_rating_requested_while_serving_drops_the_device_service,
                               s_setup),
        cmocka_unit_test_setup(test_rating_requested_in_the_rating_window_or_thanks, s_setup),
        cmocka_unit_test_setup(test_rating_request_ignored_without_teller_or_paused, s_setup),
        cmocka_unit_test_setup(test_rating_request_refused_when_its_outcome_would_not_fit,
                               s_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
