/*  Unit tests: ri_validate, gateway event decoding and rating-ingest's rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"
#include "../../services/rating-ingest/ri_validate.h"

/* 2026-11-28T14:00:00.000Z */
#define T0 1795874400000LL

static ri_window_t s_window;

static int setup(void **state)
{
    (void) state;
    log_init("test", LOG_LEVEL_ERROR);
    memset(&s_window, 0, sizeof s_window);
    s_window.window_id = 12;
    snprintf(s_window.path, sizeof s_window.path, "hq.r01.b0001.w03");
    snprintf(s_window.branch, sizeof s_window.branch, "hq.r01.b0001");
    s_window.rating_timeout_s = 30;
    s_window.repeat_press_s = 10;
    s_window.option_count = 3;
    s_window.options[0] = (ri_option_t) { 1, 5.0, true, false };
    s_window.options[1] = (ri_option_t) { 2, 4.0, true, false };
    s_window.options[2] = (ri_option_t) { 4, 1.0, false, true };
    return 0;
}

/* A gateway envelope of `type` with the common members and `extra` merged. */
static envelope_t *gateway_envelope(const char *type, const char *extra_json)
{
    char when[CLOCK_RFC3339_SIZE];
    clock_format_rfc3339(T0, when);
    json_t *data = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:{s:I, s:i, s:s}, "
                             "s:s, s:s, s:s}",
                             "incarnation", "01a2038e-0000-7000-8000-000000000001",
                             "serial", "EQ-B0001-W03", "boot", (json_int_t) 2656808298LL,
                             "device_seq", (json_int_t) 4, "uptime_ms", (json_int_t) 22640,
                             "received", when, "event_time", when, "window", "id",
                             (json_int_t) 12, "number", 3, "code", "w03", "branch",
                             "hq.r01.b0001", "employee_no", "1001", "ticket", "A012");
    assert_non_null(data);
    if (extra_json) {
        json_t *extra = json_loads(extra_json, 0, NULL);
        assert_non_null(extra);
        json_object_update(data, extra);
        json_decref(extra);
    }
    envelope_t *env = envelope_new(type, "device-gateway.b0001", 8, &data);
    assert_non_null(env);
    return env;
}

static void test_decode_rating(void **state)
{
    (void) state;
    envelope_t *env = gateway_envelope("rating.submitted",
                                       "{\"option_code\": 2, \"service_ms\": 500, "
                                       "\"label\": \"x\", \"score\": 4.0}");
    ri_event_t e;
    char reason[ENVELOPE_REASON_SIZE] = "";
    assert_int_equal(ri_event_decode(env, &e, reason), 0);
    assert_int_equal(e.kind, RI_KIND_RATING);
    assert_string_equal(e.id, env->id);
    assert_string_equal(e.gateway, "device-gateway.b0001");
    assert_string_equal(e.incarnation, "01a2038e-0000-7000-8000-000000000001");
    assert_int_equal(e.seq, 8);
    assert_string_equal(e.serial, "EQ-B0001-W03");
    assert_int_equal(e.boot, 2656808298LL);
    assert_int_equal(e.device_seq, 4);
    assert_int_equal(e.event_ms, T0);
    assert_int_equal(e.window_id, 12);
    assert_string_equal(e.branch, "hq.r01.b0001");
    assert_string_equal(e.employee_no, "1001");
    assert_string_equal(e.ticket, "A012");
    assert_int_equal(e.option_code, 2);
    assert_int_equal(e.service_ms, 500);
    envelope_destroy(&env);
}

static void test_decode_kinds_and_nulls(void **state)
{
    (void) state;
    envelope_t *env = gateway_envelope("service.end", "{\"duration_ms\": null, "
                                       "\"window\": null, \"ticket\": null}");
    ri_event_t e;
    char reason[ENVELOPE_REASON_SIZE] = "";
    assert_int_equal(ri_event_decode(env, &e, reason), 0);
    assert_int_equal(e.kind, RI_KIND_SERVICE_END);
    assert_int_equal(e.duration_ms, -1);
    assert_int_equal(e.window_id, 0);
    assert_string_equal(e.ticket, "");
    envelope_destroy(&env);

    env = gateway_envelope("call.pause", "{\"reason\": 3}");
    assert_int_equal(ri_event_decode(env, &e, reason), 0);
    assert_int_equal(e.kind, RI_KIND_OTHER);
    envelope_destroy(&env);
}

static void test_decode_rejects_malformed(void **state)
{
    (void) state;
    const struct {
        const char *type;
        const char *extra;
        const char *reason_part;
    } cases[] = {
        {"rating.submitted", "{\"option_code\": 7}", "option_code"},
        {"rating.submitted", "{}", "option_code"},
        {"rating.submitted", "{\"option_code\": 1, \"service_ms\": \"x\"}", "service_ms"},
        {"rating.submitted", "{\"option_code\": 1, \"event_time\": \"yesterday\"}",
         "RFC 3339"},
        {"staff.login", "{\"employee_no\": null}", "without employee_no"},
        {"staff.login", "{\"branch\": \"Not A Path\"}", "branch"},
        {"staff.login", "{\"window\": 3}", "window"},
        {"staff.login", "{\"window\": {\"id\": 0}}", "window.id"},
        {"staff.login", "{\"serial\": 5}", "malformed"},
        {"staff.login", "{\"ticket\": \"TOO-LONG-TICKET\"}", "ticket"},
        {"call.request", "{\"incarnation\": null}", "incarnation"},
        {"call.request", "{\"incarnation\": \"01a2038e-0000-4000-8000-000000000001\"}",
         "incarnation"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        envelope_t *env = gateway_envelope(cases[i].type, cases[i].extra);
        ri_event_t e;
        char reason[ENVELOPE_REASON_SIZE] = "";
        assert_int_equal(ri_event_decode(env, &e, reason), -1);
        if (!strstr(reason, cases[i].reason_part))
            fail_msg("case %zu: reason \"%s\" lacks \"%s\"", i, reason, cases[i].reason_part);
        envelope_destroy(&env);
    }
}

static void test_device_status_of_each_type(void **state)
{
    (void) state;
    assert_string_equal(ri_device_status("device.online"), "online");
    assert_string_equal(ri_device_status("device.assigned"), "online");
    assert_string_equal(ri_device_status("device.offline"), "offline");
    assert_string_equal(ri_device_status("device.unassigned"), "unassigned");
    assert_null(ri_device_status("device.report_rejected"));
    assert_null(ri_device_status("call.request"));
}

/* Teller 7 ("1001") logged in at window 12 a minute before T0. */
static void logged_in(ri_window_state_t *ws)
{
    memset(ws, 0, sizeof *ws);
    assert_true(ri_window_state_login(ws, 7, "1001", T0 - 60000));
}

static ri_event_t rating_at(int64_t ms, int code)
{
    ri_event_t e;
    memset(&e, 0, sizeof e);
    e.kind = RI_KIND_RATING;
    snprintf(e.serial, sizeof e.serial, "EQ-B0001-W03");
    e.window_id = 12;
    e.event_ms = ms;
    e.received_ms = ms;
    e.option_code = code;
    return e;
}

/* The ticket a rating rates: last finished at the window, within the rating
 * window (5 s early tolerated), same number when the device reported one. */
static void test_rating_bound_to_the_ticket_finished(void **state)
{
    (void) state;
    ri_window_state_t ws;
    memset(&ws, 0, sizeof ws);
    ri_event_t e = rating_at(1000000, 1);
    assert_null(ri_rating_ticket(&e, &s_window, &ws));           /* none finished yet */
    snprintf(ws.last_ticket_id, sizeof ws.last_ticket_id,
             "019ab2c4-1234-7000-8123-000000001cad");
    snprintf(ws.last_ticket, sizeof ws.last_ticket, "A012");
    ws.last_ticket_ms = 1000000 - 29000;
    assert_string_equal(ri_rating_ticket(&e, &s_window, &ws), ws.last_ticket_id);
    snprintf(e.ticket, sizeof e.ticket, "A012");
    assert_string_equal(ri_rating_ticket(&e, &s_window, &ws), ws.last_ticket_id);
    snprintf(e.ticket, sizeof e.ticket, "A013");                  /* another number */
    assert_null(ri_rating_ticket(&e, &s_window, &ws));
    e.ticket[0] = '\0';
    ws.last_ticket_ms = 1000000 - 31000;                          /* past the window */
    assert_null(ri_rating_ticket(&e, &s_window, &ws));
    ws.last_ticket_ms = 1000000 + 4000;                           /* clocks differ */
    assert_non_null(ri_rating_ticket(&e, &s_window, &ws));
    ws.last_ticket_ms = 1000000 + 6000;                           /* too far ahead */
    assert_null(ri_rating_ticket(&e, &s_window, &ws));
}

static void test_rating_rules(void **state)
{
    (void) state;
    ri_window_state_t ws;
    logged_in(&ws);
    const ri_option_t *option = NULL;
    const ri_session_t *session = NULL;
    char reason[ENVELOPE_REASON_SIZE] = "";
    ri_event_t e = rating_at(T0, 4);

    assert_int_equal(ri_validate_rating(&e, &s_window, &ws, &option, &session, reason), 0);
    assert_non_null(option);
    assert_non_null(session);
    assert_int_equal(session->staff_id, 7);
    assert_true(option->unsatisfied);
    assert_true(option->score == 1.0);

    e.option_code = 3;   /* not in this scale */
    assert_int_equal(ri_validate_rating(&e, &s_window, &ws, &option, &session, reason), -1);
    assert_null(option);
    assert_non_null(strstr(reason, "option 3 not in the window's scale"));

    e.option_code = 1;
    assert_int_equal(ri_validate_rating(&e, NULL, &ws, &option, &session, reason), -1);
    assert_non_null(strstr(reason, "unknown device or window"));

    e.window_id = 0;
    assert_int_equal(ri_validate_rating(&e, &s_window, &ws, &option, &session, reason), -1);
    assert_non_null(strstr(reason, "unassigned device"));
    e.window_id = 12;

    ri_window_state_t nobody = { 0 };
    assert_int_equal(ri_validate_rating(&e, &s_window, &nobody, &option, &session, reason), -1);
    assert_non_null(strstr(reason, "nobody logged in"));
}

static void test_repeat_press_and_rating_window(void **state)
{
    (void) state;
    ri_window_state_t ws;
    logged_in(&ws);
    const ri_option_t *option = NULL;
    const ri_session_t *session = NULL;
    char reason[ENVELOPE_REASON_SIZE] = "";
    ri_event_t first = rating_at(T0, 1);
    assert_int_equal(ri_validate_rating(&first, &s_window, &ws, &option, &session, reason), 0);
    ri_window_state_apply(&ws, &first, 0);

    ri_event_t again = rating_at(T0 + 9999, 2);   /* inside 10 s */
    assert_int_equal(ri_validate_rating(&again, &s_window, &ws, &option, &session, reason), -1);
    assert_non_null(strstr(reason, "repeat press"));
    again.event_ms = T0 + 10000;                   /* interval over */
    assert_int_equal(ri_validate_rating(&again, &s_window, &ws, &option, &session, reason), 0);

    /* A service ended at T0+60 s: a rating 31 s later is too late, 30 s is not. */
    ri_event_t end;
    memset(&end, 0, sizeof end);
    end.kind = RI_KIND_SERVICE_END;
    end.event_ms = T0 + 60000;
    ri_window_state_apply(&ws, &end, 0);
    ri_event_t late = rating_at(T0 + 91001, 1);
    assert_int_equal(ri_validate_rating(&late, &s_window, &ws, &option, &session, reason), -1);
    assert_non_null(strstr(reason, "outside the rating window"));
    ri_event_t in_time = rating_at(T0 + 90000, 1);
    assert_int_equal(ri_validate_rating(&in_time, &s_window, &ws, &option, &session, reason), 0);
    /* Once that service is rated, the rule no longer applies to later presses. */
    ri_window_state_apply(&ws, &in_time, 0);
    ri_event_t later = rating_at(T0 + 200000, 1);
    assert_int_equal(ri_validate_rating(&later, &s_window, &ws, &option, &session, reason), 0);
}

static void test_clock_skew(void **state)
{
    (void) state;
    char reason[ENVELOPE_REASON_SIZE] = "";
    ri_event_t e = rating_at(T0, 1);
    /* kept on the device while the gateway was away: a fact, up to max age */
    e.received_ms = T0 + 300001;
    assert_int_equal(ri_validate_clock(&e, 300, 86400, reason), 0);
    e.received_ms = T0 + 86400000;
    assert_int_equal(ri_validate_clock(&e, 300, 86400, reason), 0);
    e.received_ms = T0 + 86400001;
    assert_int_equal(ri_validate_clock(&e, 300, 86400, reason), -1);
    assert_non_null(strstr(reason, "clock skew"));
    assert_non_null(strstr(reason, "before received"));
    /* a device clock ahead: at most max_skew_s */
    e.received_ms = T0 - 300000;
    assert_int_equal(ri_validate_clock(&e, 300, 86400, reason), 0);
    e.received_ms = T0 - 300001;
    assert_int_equal(ri_validate_clock(&e, 300, 86400, reason), -1);
    assert_non_null(strstr(reason, "clock skew"));
    assert_non_null(strstr(reason, "after received"));
}

static ri_event_t staff_event(ri_kind_t kind, const char *employee_no, int64_t ms)
{
    ri_event_t e;
    memset(&e, 0, sizeof e);
    e.kind = kind;
    e.window_id = 12;
    e.event_ms = e.received_ms = ms;
    snprintf(e.employee_no, sizeof e.employee_no, "%s", employee_no);
    return e;
}

static int64_t staff_at(const ri_window_state_t *ws, int64_t t)
{
    const ri_session_t *s = ri_window_session(ws, t);
    return s ? s->staff_id : 0;
}

static void test_binding_follows_sessions(void **state)
{
    (void) state;
    ri_window_state_t ws = { 0 };
    ri_event_t login = staff_event(RI_KIND_LOGIN, "1001", T0);
    assert_true(ri_window_state_apply(&ws, &login, 7));
    assert_int_equal(staff_at(&ws, T0), 7);
    assert_int_equal(staff_at(&ws, T0 - 1), 0);          /* before the login: nobody */
    assert_string_equal(ri_window_current(&ws)->employee_no, "1001");
    assert_false(ri_window_state_apply(&ws, &login, 7));  /* the same login again */

    /* Another teller's logout does not end this session. */
    ri_event_t other = staff_event(RI_KIND_LOGOUT, "1002", T0 + 1000);
    assert_false(ri_window_state_apply(&ws, &other, 0));
    assert_int_equal(staff_at(&ws, T0 + 2000), 7);

    ri_event_t logout = staff_event(RI_KIND_LOGOUT, "1001", T0 + 5000);
    assert_true(ri_window_state_apply(&ws, &logout, 0));
    assert_null(ri_window_current(&ws));
    assert_int_equal(staff_at(&ws, T0 + 4999), 7);       /* a rating before it still is */
    assert_int_equal(staff_at(&ws, T0 + 5000), 0);
}

/* Decided late or sent again, staff events never rewrite what came after
 * them: a logout never ends a session that began after it, a login older
 * than the current session does not take the window, and a rating is bound
 * to the session of its own time. */
static void test_sessions_follow_event_time(void **state)
{
    (void) state;
    ri_window_state_t ws = { 0 };
    ri_event_t a1 = staff_event(RI_KIND_LOGIN, "1001", T0);
    ri_event_t out = staff_event(RI_KIND_LOGOUT, "1001", T0 + 10000);
    ri_event_t a2 = staff_event(RI_KIND_LOGIN, "1001", T0 + 20000);
    ri_window_state_apply(&ws, &a1, 7);
    ri_window_state_apply(&ws, &out, 0);
    assert_true(ri_window_state_apply(&ws, &a2, 7));
    /* the logout sent again (a new envelope id) */
    assert_false(ri_window_state_apply(&ws, &out, 0));
    assert_non_null(ri_window_current(&ws));
    assert_int_equal(staff_at(&ws, T0 + 30000), 7);
    assert_int_equal(staff_at(&ws, T0 + 15000), 0);

    /* B took the window at T0+40 s; a login of C at T0+35 s decided late ends
     * where B's begins and does not become the current teller. */
    ri_event_t b = staff_event(RI_KIND_LOGIN, "1002", T0 + 40000);
    assert_true(ri_window_state_apply(&ws, &b, 8));
    assert_int_equal(staff_at(&ws, T0 + 39999), 7);
    ri_event_t c = staff_event(RI_KIND_LOGIN, "1003", T0 + 35000);
    assert_false(ri_window_state_apply(&ws, &c, 9));
    assert_int_equal(ri_window_current(&ws)->staff_id, 8);
    assert_int_equal(staff_at(&ws, T0 + 36000), 9);
    assert_int_equal(staff_at(&ws, T0 + 40000), 8);

    /* a rating decided late is bound to the teller of its moment */
    const ri_option_t *option = NULL;
    const ri_session_t *session = NULL;
    char reason[ENVELOPE_REASON_SIZE] = "";
    ri_event_t r = rating_at(T0 + 25000, 1);
    assert_int_equal(ri_validate_rating(&r, &s_window, &ws, &option, &session, reason), 0);
    assert_int_equal(session->staff_id, 7);
    r = rating_at(T0 + 15000, 1);
    assert_int_equal(ri_validate_rating(&r, &s_window, &ws, &option, &session, reason), -1);
    assert_non_null(strstr(reason, "nobody logged in"));

    /* B logs in elsewhere at T0+50 s: B's session here ends then */
    assert_false(ri_window_state_leave(&ws, 8, T0 + 30000));   /* not open then */
    assert_true(ri_window_state_leave(&ws, 8, T0 + 50000));
    assert_null(ri_window_current(&ws));
    assert_int_equal(staff_at(&ws, T0 + 49999), 8);
    assert_int_equal(staff_at(&ws, T0 + 50000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_status_of_each_type),
        cmocka_unit_test(test_decode_rating),
        cmocka_unit_test(test_decode_kinds_and_nulls),
        cmocka_unit_test(test_decode_rejects_malformed),
        cmocka_unit_test(test_rating_rules),
        cmocka_unit_test(test_rating_bound_to_the_ticket_finished),
        cmocka_unit_test(test_repeat_press_and_rating_window),
        cmocka_unit_test(test_clock_skew),
        cmocka_unit_test(test_binding_follows_sessions),
        cmocka_unit_test(test_sessions_follow_event_time),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
