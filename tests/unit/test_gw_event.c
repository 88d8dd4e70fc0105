/*  Unit tests: gw_event, device events to bus payloads and envelopes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmpdir.h"
#include "eqms/devcodec.h"
#include "eqms/log.h"
#include "../../services/device-gateway/gw_event.h"
#include "../../services/device-gateway/gw_outbox.h"

static gw_registry_device_t s_reg;

static int setup(void **state)
{
    (void) state;
    log_init("test", LOG_LEVEL_ERROR);
    memset(&s_reg, 0, sizeof s_reg);
    snprintf(s_reg.serial, sizeof s_reg.serial, "EQ-B0001-W03");
    s_reg.assigned = true;
    s_reg.window_id = 12;
    s_reg.window_number = 3;
    snprintf(s_reg.window_code, sizeof s_reg.window_code, "w03");
    snprintf(s_reg.window_path, sizeof s_reg.window_path, "hq.r01.b0001.w03");
    s_reg.option_count = 2;
    s_reg.options[0] = (gw_registry_option_t) { 1, "满意", 5.0 };
    s_reg.options[1] = (gw_registry_option_t) { 2, "不满意", 1.0 };
    return 0;
}

static gw_event_ctx_t ctx_for(const gw_registry_device_t *reg)
{
    gw_event_ctx_t c = {
        .serial = "EQ-B0001-W03",
        .branch = "hq.r01.b0001",
        .reg = reg,
        .employee_no = "1001",
        .received_ms = 1795352940123LL,
        .event_ms = 1795352939000LL,
        .duration_ms = -1,
    };
    return c;
}

static devcodec_event_t rating(uint8_t code)
{
    devcodec_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = code ? DEVPROTO_EV_RATING : DEVPROTO_EV_NOT_RATED;
    ev.seq = 42;
    ev.boot = 0xdeadbeef;
    ev.uptime_ms = 123456;
    ev.u.rating.option_code = code;
    ev.u.rating.ticket_length = 4;
    memcpy(ev.u.rating.ticket, "A012", 4);
    ev.u.rating.service_ms = 90000;
    return ev;
}

static void test_rating_submitted(void **state)
{
    (void) state;
    gw_event_ctx_t c = ctx_for(&s_reg);
    devcodec_event_t ev = rating(2);
    char type[ENVELOPE_TYPE_MAX + 1], path[GW_REGISTRY_PATH_MAX + 1];
    json_t *data = NULL;
    assert_int_equal(gw_event_build(&c, &ev, type, path, &data), 0);
    assert_string_equal(type, "rating.submitted");
    assert_string_equal(path, "hq.r01.b0001.w03");
    const char *serial, *received, *event_time, *branch, *emp, *ticket, *label, *code;
    json_int_t boot, seq, uptime, wid, service_ms, option;
    int number;
    double score;
    json_error_t err;
    int rc = json_unpack_ex(data, &err, JSON_STRICT,
        "{s:s, s:I, s:I, s:I, s:s, s:s, s:{s:I, s:i, s:s}, s:s, s:s, s:s, s:I, s:I,"
        " s:s, s:F}",
        "serial", &serial, "boot", &boot, "device_seq", &seq, "uptime_ms", &uptime,
        "received", &received, "event_time", &event_time, "window", "id", &wid,
        "number", &number, "code", &code, "branch", &branch, "employee_no", &emp,
        "ticket", &ticket, "service_ms", &service_ms, "option_code", &option,
        "label", &label, "score", &score);
    if (rc < 0)
        fail_msg("%s", err.text);
    assert_int_equal(boot, 0xdeadbeef);
    assert_int_equal(seq, 42);
    assert_int_equal(uptime, 123456);
    assert_string_equal(received, "2026-11-22T13:09:00.123Z");
    assert_string_equal(event_time, "2026-11-22T13:08:59.000Z");
    assert_int_equal(wid, 12);
    assert_int_equal(number, 3);
    assert_string_equal(emp, "1001");
    assert_string_equal(ticket, "A012");
    assert_int_equal(service_ms, 90000);
    assert_int_equal(option, 2);
    assert_string_equal(label, "不满意");
    assert_true(score == 1.0);
    json_decref(data);
}

static void test_unassigned_and_unknown_option_still_published(void **state)
{
    (void) state;
    gw_event_ctx_t c = ctx_for(NULL);
    devcodec_event_t ev = rating(5);
    char type[ENVELOPE_TYPE_MAX + 1], path[GW_REGISTRY_PATH_MAX + 1];
    json_t *data = NULL;
    assert_int_equal(gw_event_build(&c, &ev, type, path, &data), 0);
    assert_string_equal(path, "hq.r01.b0001");     /* the branch, window null */
    assert_true(json_is_null(json_object_get(data, "window")));
    assert_true(json_is_null(json_object_get(data, "label")));
    assert_true(json_is_null(json_object_get(data, "score")));
    assert_int_equal(json_integer_value(json_object_get(data, "option_code")), 5);
    json_decref(data);
    ev = rating(0);
    assert_int_equal(gw_event_build(&c, &ev, type, path, &data), 0);
    assert_string_equal(type, "rating.not_rated");
    assert_null(json_object_get(data, "option_code"));
    json_decref(data);
}

static void test_each_type(void **state)
{
    (void) state;
    static const struct { uint8_t ev; const char *type; } map[] = {
        { DEVPROTO_EV_STAFF_LOGIN, "staff.login" },
        { DEVPROTO_EV_STAFF_LOGOUT, "staff.logout" },
        { DEVPROTO_EV_CALL_REQUEST, "call.request" },
        { DEVPROTO_EV_RECALL_REQUEST, "call.recall" },
        { DEVPROTO_EV_PAUSE_REQUEST, "call.pause" },
        { DEVPROTO_EV_SERVICE_START, "service.start" },
        { DEVPROTO_EV_SERVICE_END, "service.end" },
    };
    gw_event_ctx_t c = ctx_for(&s_reg);
    c.duration_ms = 61000;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        devcodec_event_t ev;
        memset(&ev, 0, sizeof ev);
        ev.type = map[i].ev;
        ev.seq = 1;
        if (ev.type == DEVPROTO_EV_STAFF_LOGIN || ev.type == DEVPROTO_EV_STAFF_LOGOUT) {
            ev.u.staff.length = 4;
            memcpy(ev.u.staff.employee_no, "2002", 4);
        } else {
            ev.u.ticket.ticket_length = 3;
            memcpy(ev.u.ticket.ticket, "B07", 3);
            ev.u.ticket.reason = ev.type == DEVPROTO_EV_PAUSE_REQUEST ? 3 : 0;
        }
        char type[ENVELOPE_TYPE_MAX + 1], path[GW_REGISTRY_PATH_MAX + 1];
        json_t *data = NULL;
        assert_int_equal(gw_event_build(&c, &ev, type, path, &data), 0);
        assert_string_equal(type, map[i].type);
        json_t *emp = json_object_get(data, "employee_no");
        json_t *ticket = json_object_get(data, "ticket");
        if (i < 2) {
            /* the login's own employee number, not the one logged in before */
            assert_string_equal(json_string_value(emp), "2002");
            assert_true(json_is_null(ticket));
        } else {
            assert_string_equal(json_string_value(emp), "1001");
            assert_string_equal(json_string_value(ticket), "B07");
        }
        if (ev.type == DEVPROTO_EV_PAUSE_REQUEST)
            assert_int_equal(json_integer_value(json_object_get(data, "reason")), 3);
        if (ev.type == DEVPROTO_EV_SERVICE_END)
            assert_int_equal(json_integer_value(json_object_get(data, "duration_ms")),
                             61000);
        json_decref(data);
    }
    devcodec_event_t hb;
    memset(&hb, 0, sizeof hb);
    hb.type = DEVPROTO_EV_HEARTBEAT;
    char type[ENVELOPE_TYPE_MAX + 1], path[GW_REGISTRY_PATH_MAX + 1];
    json_t *data = NULL;
    assert_int_equal(gw_event_build(&c, &hb, type, path, &data), 1);
    assert_null(data);
}

static void test_device_events(void **state)
{
    (void) state;
    gw_event_ctx_t c = ctx_for(&s_reg);
    devproto_hello_t hello = { 1, 2, 3, 5, DEVPROTO_CAP_LCD | DEVPROTO_CAP_VOICE,
                               64, 2, 0 };
    char path[GW_REGISTRY_PATH_MAX + 1];
    json_t *data = NULL;
    assert_int_equal(gw_event_device(&c, "device.online", 7, 1000, &hello, NULL, path,
                                     &data), 0);
    assert_string_equal(path, "hq.r01.b0001.w03");
    assert_string_equal(json_string_value(json_object_get(data, "firmware")), "1.2.3");
    assert_int_equal(json_array_size(json_object_get(data, "capabilities")), 2);
    assert_int_equal(json_integer_value(json_object_get(data, "device_seq")), 0);
    json_decref(data);
    assert_int_equal(gw_event_device(&c, "device.offline", 7, 1000, NULL, "unplugged",
                                     path, &data), 0);
    assert_string_equal(json_string_value(json_object_get(data, "reason")), "unplugged");
    json_decref(data);
    assert_int_equal(gw_event_device(&c, "device.assigned", 7, 1000, NULL, NULL, path,
                                     &data), 0);
    assert_string_equal(path, "hq.r01.b0001.w03");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(data, "window"), "id")),
                     12);
    json_decref(data);
    assert_int_equal(gw_event_device(&c, "device.reboot", 7, 1000, NULL, NULL, path,
                                     &data), -1);
}

/* A stored event of a newer firmware: its header and its 64 bytes kept. */
static void test_report_rejected(void **state)
{
    (void) state;
    gw_event_ctx_t c = ctx_for(&s_reg);
    devcodec_event_t ev = rating(2);
    uint8_t raw[DEVPROTO_REPORT_SIZE];
    assert_int_equal(devcodec_encode_event(&ev, raw), DEVCODEC_OK);
    raw[1] = 0x50;
    devcodec_header_t h;
    assert_int_equal(devcodec_decode_header(raw, sizeof raw, &h), DEVCODEC_OK);
    char path[GW_REGISTRY_PATH_MAX + 1];
    json_t *data = NULL;
    assert_int_equal(gw_event_rejected(&c, &h, raw, "unknown type", path, &data), 0);
    assert_string_equal(path, "hq.r01.b0001.w03");
    assert_int_equal(json_integer_value(json_object_get(data, "device_seq")), 42);
    assert_int_equal(json_integer_value(json_object_get(data, "boot")), 0xdeadbeef);
    assert_int_equal(json_integer_value(json_object_get(data, "uptime_ms")), 123456);
    assert_string_equal(json_string_value(json_object_get(data, "reason")), "unknown type");
    const char *hex = json_string_value(json_object_get(data, "report"));
    assert_int_equal(strlen(hex), 128);
    assert_memory_equal(hex, "01502a000000", 12);
    assert_true(json_is_null(json_object_get(data, "ticket")));
    json_decref(data);
}

/* The envelope that the outbox keeps is what goes on the bus: right type,
 * topic, src and a gateway seq; the data survive the strict envelope codec. */
static void test_event_to_envelope(void **state)
{
    (void) state;
    char *dir = tmpdir_new("test_gw_event");
    assert_non_null(dir);
    gw_outbox_t *ob = gw_outbox_new(dir, "device-gateway.b0001");
    gw_event_ctx_t c = ctx_for(&s_reg);
    devcodec_event_t ev = rating(1);
    char type[ENVELOPE_TYPE_MAX + 1], path[GW_REGISTRY_PATH_MAX + 1];
    json_t *data = NULL;
    assert_int_equal(gw_event_build(&c, &ev, type, path, &data), 0);
    const gw_outbox_entry_t *e = gw_outbox_add(ob, type, path, &data, c.serial, ev.boot,
                                               ev.seq);
    assert_non_null(e);
    char reason[ENVELOPE_REASON_SIZE];
    envelope_t *env = envelope_decode(e->envelope, e->len, reason);
    assert_non_null(env);
    assert_string_equal(env->type, "rating.submitted");
    assert_string_equal(env->src, "device-gateway.b0001");
    assert_int_equal(env->seq, 1);
    char topic[300];
    snprintf(topic, sizeof topic, "%s.%s", env->type, e->org_path);
    assert_int_equal(envelope_topic_check(topic, strlen(topic), env->type, reason), 0);
    assert_string_equal(topic, "rating.submitted.hq.r01.b0001.w03");
    assert_string_equal(json_string_value(json_object_get(env->data, "label")), "满意");
    envelope_destroy(&env);
    gw_outbox_destroy(&ob);
    assert_int_equal(tmpdir_remove(&dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rating_submitted),
        cmocka_unit_test(test_unassigned_and_unknown_option_still_published),
        cmocka_unit_test(test_each_type),
        cmocka_unit_test(test_device_events),
        cmocka_unit_test(test_report_rejected),
        cmocka_unit_test(test_event_to_envelope),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
