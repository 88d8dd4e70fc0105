/*  gw_event: bus payloads of device events. */
#include "gw_event.h"

#include <stdio.h>
#include <string.h>

#include "eqms/clock.h"

static json_t *s_time(int64_t ms)
{
    char buf[CLOCK_RFC3339_SIZE];
    if (clock_format_rfc3339(ms, buf) < 0)
        return json_null();
    return json_string(buf);
}

static json_t *s_strn(const char *s, size_t n)
{
    return n ? json_stringn(s, n) : json_null();
}

/* The members every gateway event has. */
static json_t *s_common(const gw_event_ctx_t *ctx, uint32_t boot, uint32_t seq,
                        uint32_t uptime, const char *employee_no, json_t *ticket,
                        char path[GW_REGISTRY_PATH_MAX + 1])
{
    json_t *window = json_null();
    if (ctx->reg) {
        window = json_pack("{s:I, s:i, s:s}", "id", (json_int_t) ctx->reg->window_id,
                           "number", ctx->reg->window_number, "code",
                           ctx->reg->window_code);
        snprintf(path, GW_REGISTRY_PATH_MAX + 1, "%s", ctx->reg->window_path);
    } else {
        snprintf(path, GW_REGISTRY_PATH_MAX + 1, "%s", ctx->branch);
    }
    return json_pack("{s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:s, s:o, s:o}",
                     "serial", ctx->serial, "boot", (json_int_t) boot,
                     "device_seq", (json_int_t) seq, "uptime_ms", (json_int_t) uptime,
                     "received", s_time(ctx->received_ms), "event_time",
                     s_time(ctx->event_ms), "window", window ? window : json_null(),
                     "branch", ctx->branch, "employee_no",
                     employee_no && *employee_no ? json_string(employee_no) : json_null(),
                     "ticket", ticket ? ticket : json_null());
}

int gw_event_build(const gw_event_ctx_t *ctx, const devcodec_event_t *ev,
                   char type[ENVELOPE_TYPE_MAX + 1],
                   char path[GW_REGISTRY_PATH_MAX + 1], json_t **data_p)
{
    const char *t;
    char employee[DEVPROTO_EMPLOYEE_MAX + 1];
    const char *emp = ctx->employee_no;
    json_t *ticket = NULL;
    switch (ev->type) {
    case DEVPROTO_EV_STAFF_LOGIN:
    case DEVPROTO_EV_STAFF_LOGOUT:
        t = ev->type == DEVPROTO_EV_STAFF_LOGIN ? "staff.login" : "staff.logout";
        snprintf(employee, sizeof employee, "%.*s", (int) ev->u.staff.length,
                 ev->u.staff.employee_no);
        emp = employee;
        break;
    case DEVPROTO_EV_CALL_REQUEST:
        t = "call.request";
        break;
    case DEVPROTO_EV_RECALL_REQUEST:
        t = "call.recall";
        break;
    case DEVPROTO_EV_PAUSE_REQUEST:
        t = "call.pause";
        break;
    case DEVPROTO_EV_SERVICE_START:
        t = "service.start";
        break;
    case DEVPROTO_EV_SERVICE_END:
        t = "service.end";
        break;
    case DEVPROTO_EV_RATING:
        t = "rating.submitted";
        break;
    case DEVPROTO_EV_NOT_RATED:
        t = "rating.not_rated";
        break;
    default:
        return 1;
    }
    if (ev->type >= DEVPROTO_EV_CALL_REQUEST && ev->type <= DEVPROTO_EV_SERVICE_END)
        ticket = s_strn(ev->u.ticket.ticket, ev->u.ticket.ticket_length);
    else if (ev->type == DEVPROTO_EV_RATING || ev->type == DEVPROTO_EV_NOT_RATED)
        ticket = s_strn(ev->u.rating.ticket, ev->u.rating.ticket_length);
    json_t *data = s_common(ctx, ev->boot, ev->seq, ev->uptime_ms, emp, ticket, path);
    if (!data)
        return -1;
    int rc = 0;
    if (ev->type == DEVPROTO_EV_PAUSE_REQUEST) {
        rc = json_object_set_new(data, "reason", json_integer(ev->u.ticket.reason));
    } else if (ev->type == DEVPROTO_EV_SERVICE_END) {
        rc = json_object_set_new(data, "duration_ms", ctx->duration_ms >= 0
                                 ? json_integer(ctx->duration_ms) : json_null());
    } else if (ev->type == DEVPROTO_EV_RATING || ev->type == DEVPROTO_EV_NOT_RATED) {
        uint32_t sm = ev->u.rating.service_ms;
        rc = json_object_set_new(data, "service_ms",
                                 sm ? json_integer(sm) : json_null());
        if (ev->type == DEVPROTO_EV_RATING) {
            const gw_registry_option_t *o =
                gw_registry_option(ctx->reg, ev->u.rating.option_code);
            rc |= json_object_set_new(data, "option_code",
                                      json_integer(ev->u.rating.option_code));
            rc |= json_object_set_new(data, "label",
                                      o ? json_string(o->label) : json_null());
            rc |= json_object_set_new(data, "score",
                                      o ? json_real(o->score) : json_null());
        }
    }
    if (rc != 0) {
        json_decref(data);
        return -1;
    }
    snprintf(type, ENVELOPE_TYPE_MAX + 1, "%s", t);
    *data_p = data;
    return 0;
}

int gw_event_rejected(const gw_event_ctx_t *ctx, const devcodec_header_t *h,
                      const uint8_t report[DEVPROTO_REPORT_SIZE], const char *reason,
                      char path[GW_REGISTRY_PATH_MAX + 1], json_t **data_p)
{
    static const char hex[] = "0123456789abcdef";
    char text[2 * DEVPROTO_REPORT_SIZE + 1];
    for (int i = 0; i < DEVPROTO_REPORT_SIZE; i++) {
        text[2 * i] = hex[report[i] >> 4];
        text[2 * i + 1] = hex[report[i] & 0x0f];
    }
    text[2 * DEVPROTO_REPORT_SIZE] = 0;
    json_t *data = s_common(ctx, h->boot, h->seq, h->uptime_ms, ctx->employee_no, NULL, path);
    if (!data)
        return -1;
    if (json_object_set_new(data, "report", json_string(text)) != 0
        || json_object_set_new(data, "reason", json_string(reason)) != 0) {
        json_decref(data);
        return -1;
    }
    *data_p = data;
    return 0;
}

int gw_event_device(const gw_event_ctx_t *ctx, const char *type, uint32_t boot,
                    uint32_t uptime_ms, const devproto_hello_t *hello,
                    const char *reason, char path[GW_REGISTRY_PATH_MAX + 1],
                    json_t **data_p)
{
    json_t *data = s_common(ctx, boot, 0, uptime_ms, ctx->employee_no, NULL, path);
    if (!data)
        return -1;
    int rc = 0;
    if (strcmp(type, "device.online") == 0) {
        if (hello) {
            char fw[16];
            snprintf(fw, sizeof fw, "%u.%u.%u", hello->fw_major, hello->fw_minor,
                     hello->fw_patch);
            json_t *caps = json_array();
            static const struct { uint16_t bit; const char *name; } s_caps[] = {
                { DEVPROTO_CAP_LCD, "lcd" }, { DEVPROTO_CAP_VOICE, "voice" },
                { DEVPROTO_CAP_STARS, "stars" }, { DEVPROTO_CAP_KEYPAD, "keypad" },
                { DEVPROTO_CAP_CLOCK, "clock" },
            };
            for (size_t i = 0; caps && i < sizeof s_caps / sizeof s_caps[0]; i++)
                if (hello->capabilities & s_caps[i].bit)
                    json_array_append_new(caps, json_string(s_caps[i].name));
            rc = json_object_set_new(data, "firmware", json_string(fw));
            rc |= json_object_set_new(data, "key_count", json_integer(hello->key_count));
            rc |= json_object_set_new(data, "capabilities", caps ? caps : json_null());
            rc |= json_object_set_new(data, "ring_used", json_integer(hello->ring_used));
            rc |= json_object_set_new(data, "ring_capacity",
                                      json_integer(hello->ring_capacity));
            rc |= json_object_set_new(data, "refused", json_integer(hello->refused));
        } else {
            rc = json_object_set_new(data, "firmware", json_null());
            rc |= json_object_set_new(data, "key_count", json_null());
            rc |= json_object_set_new(data, "capabilities", json_null());
            rc |= json_object_set_new(data, "ring_used", json_null());
            rc |= json_object_set_new(data, "ring_capacity", json_null());
            rc |= json_object_set_new(data, "refused", json_null());
        }
    } else if (strcmp(type, "device.offline") == 0) {
        rc = json_object_set_new(data, "reason", json_string(reason ? reason : "unplugged"));
    } else if (strcmp(type, "device.unassigned") != 0 && strcmp(type, "device.assigned") != 0) {
        rc = -1;
    }
    if (rc != 0) {
        json_decref(data);
        return -1;
    }
    *data_p = data;
    return 0;
}
