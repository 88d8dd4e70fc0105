/*  control: JSON requests over ZeroMQ REP driving eqms-devsim (see control.h). */
#include "control.h"

#include <glib.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "eqms/log.h"

struct control_t {
    devsim_t *sim;
    model_t *model;
    void *zctx;
    void *sock;
};

static const char *const s_state_names[] = {
    "no_staff", "idle", "serving", "await_rating", "thanks", "paused"
};

static json_t *s_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *s_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    json_t *r = json_pack("{s:b, s:s}", "ok", 0, "error", msg);
    g_free(msg);
    return r;
}

static json_t *s_ok(void)
{
    return json_pack("{s:b}", "ok", 1);
}

static json_t *s_state_json(devsim_t *sim, size_t i)
{
    devsim_info_t in;
    if (devsim_info(sim, i, &in) < 0)
        return NULL;
    json_t *lcd = json_array();
    for (int l = 0; l < DEVPROTO_LINES; l++) {
        char hex[2 * DEVPROTO_LINE_BYTES + 1] = "";
        for (int b = 0; b < in.lcd_len[l]; b++)
            snprintf(hex + 2 * b, 3, "%02x", in.lcd[l][b]);
        gchar *utf8 = g_convert((const gchar *) in.lcd[l], in.lcd_len[l], "UTF-8", "GB2312",
                                NULL, NULL, NULL);
        json_array_append_new(lcd, json_pack("{s:s, s:s?}", "hex", hex, "text", utf8));
        g_free(utf8);
    }
    const char *st = (unsigned) in.state < G_N_ELEMENTS(s_state_names)
                     ? s_state_names[in.state] : "unknown";
    return json_pack(
        "{s:b, s:i, s:s, s:b, s:i, s:i, s:s, s:i, s:i,"
        " s:{s:I, s:I, s:I, s:I, s:I},"
        " s:o, s:i, s:i, s:I, s:i, s:{s:I, s:I, s:i}, s:I, s:I}",
        "ok", 1, "device", (int) i, "serial", in.serial, "plugged", in.plugged,
        "bus", (int) in.busnum, "dev", (int) in.devnum, "state", st, "state_code",
        (int) in.state, "ring_used", (int) in.ring_used,
        "stats", "reports_sent", (json_int_t) in.stats.reports_sent,
        "commands_applied", (json_int_t) in.stats.commands_applied,
        "commands_rejected", (json_int_t) in.stats.commands_rejected,
        "presses_suppressed", (json_int_t) in.stats.presses_suppressed,
        "presses_refused", (json_int_t) in.stats.presses_refused,
        "lcd", lcd, "stars", (int) in.stars, "last_prompt", in.last_prompt,
        "prompts", (json_int_t) in.prompts, "queued", (int) in.queued_steps,
        "usb", "in_reports", (json_int_t) in.in_reports, "out_reports",
        (json_int_t) in.out_reports, "clients", (int) in.usb_clients,
        "raw_sent", (json_int_t) in.raw_sent, "mutated_sent", (json_int_t) in.mutated_sent);
}

static int s_hex(const char *hex, uint8_t *out, size_t max, size_t *len)
{
    size_t n = strlen(hex);
    if (n == 0 || n % 2 || n / 2 > max)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = g_ascii_xdigit_value(hex[2 * i]), lo = g_ascii_xdigit_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t) (hi << 4 | lo);
    }
    *len = n / 2;
    return 0;
}

/* Unpacks strictly; on failure *reply gets the reason. */
#define UNPACK(req, reply, ...) \
    (json_unpack_ex((req), &jerr, JSON_STRICT, __VA_ARGS__) == 0 \
     ? 0 : (*(reply) = s_error("bad request: %s", jerr.text), -1))

static json_t *s_dispatch(control_t *self, json_t *req)
{
    json_error_t jerr;
    const char *op = NULL;
    json_t *reply = NULL;
    int dev = -1;
    size_t count = devsim_count(self->sim);

    if (json_unpack_ex(req, &jerr, 0, "{s:s}", "op", &op) != 0)
        return s_error("bad request: %s", jerr.text);

    if (!strcmp(op, "hello")) {
        if (UNPACK(req, &reply, "{s:s}", "op", &op) < 0)
            return reply;
        json_t *keys = json_array();
        for (int k = 0; k < DEVCORE_KEY_COUNT; k++)
            json_array_append_new(keys, json_string(devsim_key_name(k)));
        return json_pack("{s:b, s:i, s:s, s:o}", "ok", 1, "count", (int) count, "dir",
                         devsim_dir(self->sim), "keys", keys);
    }
    if (!strcmp(op, "states")) {
        if (UNPACK(req, &reply, "{s:s}", "op", &op) < 0)
            return reply;
        json_t *arr = json_array();
        for (size_t i = 0; i < count; i++)
            json_array_append_new(arr, s_state_json(self->sim, i));
        return json_pack("{s:b, s:o}", "ok", 1, "devices", arr);
    }
    if (!strcmp(op, "model")) {
        int enable = -1;
        if (UNPACK(req, &reply, "{s:s, s?b}", "op", &op, "enable", &enable) < 0)
            return reply;
        if (!self->model)
            return s_error("no model: start with --simulate or --fast");
        if (enable >= 0)
            model_enable(self->model, enable);
        model_stats_t st = model_stats(self->model);
        json_t *keys = json_array();
        for (int k = 0; k < DEVPROTO_KEYS_MAX; k++)
            json_array_append_new(keys, json_integer((json_int_t) st.rated_key[k]));
        return json_pack("{s:b, s:b, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:o}}", "ok", 1,
                         "enabled", model_enabled(self->model), "stats",
                         "presses", (json_int_t) st.presses, "logins", (json_int_t) st.logins,
                         "calls", (json_int_t) st.calls, "services", (json_int_t) st.services,
                         "ratings", (json_int_t) st.ratings, "walked_away",
                         (json_int_t) st.walked_away, "rated_key", keys);
    }

    /* every other request names a device */
    json_t *jdev = json_object_get(req, "device");
    if (!json_is_integer(jdev))
        return s_error("bad request: \"device\" (integer) is required for op %s", op);
    json_int_t di = json_integer_value(jdev);
    if (di < 0 || (size_t) di >= count)
        return s_error("no device %lld (count %zu)", (long long) di, count);
    dev = (int) di;

    if (!strcmp(op, "plug") || !strcmp(op, "unplug") || !strcmp(op, "state") ||
        !strcmp(op, "logout") || !strcmp(op, "clear")) {
        if (UNPACK(req, &reply, "{s:s, s:i}", "op", &op, "device", &dev) < 0)
            return reply;
        if (!strcmp(op, "plug")) {
            if (devsim_plug(self->sim, (size_t) dev) < 0)
                return s_error("device %d is plugged in already or could not be added", dev);
            devsim_info_t in;
            devsim_info(self->sim, (size_t) dev, &in);
            return json_pack("{s:b, s:i, s:i}", "ok", 1, "bus", (int) in.busnum, "dev",
                             (int) in.devnum);
        }
        if (!strcmp(op, "unplug"))
            return devsim_unplug(self->sim, (size_t) dev) == 0
                   ? s_ok() : s_error("device %d is not plugged in", dev);
        if (!strcmp(op, "logout"))
            return devsim_press(self->sim, (size_t) dev, DEVCORE_KEY_LOGIN, 0) == 0
                   ? s_ok() : s_error("key queue of device %d is full", dev);
        if (!strcmp(op, "clear")) {
            devsim_clear_steps(self->sim, (size_t) dev);
            return s_ok();
        }
        return s_state_json(self->sim, (size_t) dev);
    }
    if (!strcmp(op, "key") || !strcmp(op, "press")) {
        const char *key = NULL;
        int pressed = 1, delay = 0;
        if (!strcmp(op, "key")) {
            if (UNPACK(req, &reply, "{s:s, s:i, s:s, s:b}", "op", &op, "device", &dev,
                       "key", &key, "pressed", &pressed) < 0)
                return reply;
        } else if (UNPACK(req, &reply, "{s:s, s:i, s:s, s?i}", "op", &op, "device", &dev,
                          "key", &key, "delay_ms", &delay) < 0) {
            return reply;
        }
        int k = devsim_key_parse(key);
        if (k < 0)
            return s_error("unknown key \"%s\"", key);
        if (delay < 0 || delay > 3600000)
            return s_error("delay_ms out of range 0..3600000");
        int r = !strcmp(op, "key")
                ? devsim_key(self->sim, (size_t) dev, (devcore_key_t) k, pressed)
                : devsim_press(self->sim, (size_t) dev, (devcore_key_t) k, (uint32_t) delay);
        return r == 0 ? s_ok() : s_error("key queue of device %d is full", dev);
    }
    if (!strcmp(op, "keys")) {
        json_t *keys = NULL;
        if (UNPACK(req, &reply, "{s:s, s:i, s:o}", "op", &op, "device", &dev, "keys", &keys) < 0)
            return reply;
        if (!json_is_array(keys) || json_array_size(keys) == 0)
            return s_error("\"keys\" must be a non-empty array of key names");
        size_t n = json_array_size(keys);
        int codes[DEVSIM_STEPS / 2];
        if (n > G_N_ELEMENTS(codes) || devsim_queued(self->sim, (size_t) dev) + 2 * n > DEVSIM_STEPS)
            return s_error("too many keys for the queue of device %d", dev);
        for (size_t i = 0; i < n; i++) {
            const char *name = json_string_value(json_array_get(keys, i));
            codes[i] = devsim_key_parse(name);
            if (codes[i] < 0)
                return s_error("unknown key at %zu", i);
        }
        for (size_t i = 0; i < n; i++)
            devsim_press(self->sim, (size_t) dev, (devcore_key_t) codes[i], 0);
        return s_ok();
    }
    if (!strcmp(op, "login")) {
        const char *emp = NULL;
        if (UNPACK(req, &reply, "{s:s, s:i, s:s}", "op", &op, "device", &dev, "employee", &emp) < 0)
            return reply;
        return devsim_login(self->sim, (size_t) dev, emp) == 0
               ? s_ok() : s_error("employee number must be 1..16 digits (or queue full)");
    }
    if (!strcmp(op, "service")) {
        int rate = 1, service_ms = 200, rate_after_ms = 200, call = 0;
        if (UNPACK(req, &reply, "{s:s, s:i, s?i, s?i, s?i, s?b}", "op", &op, "device", &dev,
                   "rate", &rate, "service_ms", &service_ms, "rate_after_ms", &rate_after_ms,
                   "call", &call) < 0)
            return reply;
        if (rate < 0 || rate > DEVPROTO_KEYS_MAX)
            return s_error("rate must be 0 (not rated) or 1..%d", DEVPROTO_KEYS_MAX);
        if (service_ms < 0 || service_ms > 3600000 || rate_after_ms < 0 ||
            rate_after_ms > 3600000)
            return s_error("service_ms and rate_after_ms must be 0..3600000");
        if (devsim_queued(self->sim, (size_t) dev) + 8 > DEVSIM_STEPS)
            return s_error("key queue of device %d is full", dev);
        if (call)
            devsim_press(self->sim, (size_t) dev, DEVCORE_KEY_CALL, 0);
        devsim_press(self->sim, (size_t) dev, DEVCORE_KEY_START, 0);
        devsim_press(self->sim, (size_t) dev, DEVCORE_KEY_END, (uint32_t) service_ms);
        if (rate > 0)
            devsim_press(self->sim, (size_t) dev, (devcore_key_t) (DEVCORE_KEY_RATE1 + rate - 1),
                         (uint32_t) rate_after_ms);
        return s_ok();
    }
    if (!strcmp(op, "raw")) {
        const char *hex = NULL;
        uint8_t buf[DEVPROTO_REPORT_SIZE];
        size_t len;
        if (UNPACK(req, &reply, "{s:s, s:i, s:s}", "op", &op, "device", &dev, "hex", &hex) < 0)
            return reply;
        if (s_hex(hex, buf, sizeof buf, &len) < 0)
            return s_error("hex must be 1..64 bytes as hex digits");
        return devsim_raw_in(self->sim, (size_t) dev, buf, len) == 0
               ? s_ok() : s_error("IN endpoint of device %d is busy or unplugged; retry", dev);
    }
    if (!strcmp(op, "mutate")) {
        int match = 0, type = 0, version = 0;
        if (UNPACK(req, &reply, "{s:s, s:i, s:i, s?i, s?i}", "op", &op, "device", &dev,
                   "match", &match, "type", &type, "version", &version) < 0)
            return reply;
        if (match < 0 || match > 255 || type < 0 || type > 255 || version < 0 || version > 255)
            return s_error("match, type and version are bytes (0..255)");
        devsim_mutate(self->sim, (size_t) dev, (uint8_t) match, (uint8_t) type,
                      (uint8_t) version);
        return s_ok();
    }
    return s_error("unknown op \"%s\"", op);
}

char *control_handle(control_t *self, const char *request)
{
    json_error_t jerr;
    json_t *req = json_loads(request, JSON_REJECT_DUPLICATES, &jerr);
    json_t *reply;
    if (!req)
        reply = s_error("invalid JSON: %s (column %d)", jerr.text, jerr.column);
    else if (!json_is_object(req))
        reply = s_error("request must be a JSON object");
    else
        reply = s_dispatch(self, req);
    json_decref(req);
    if (!reply)
        reply = s_error("internal error");
    json_t *okv = json_object_get(reply, "ok");
    if (!json_is_true(okv))
        log_info("control_refused", "reason=\"%s\"",
                 json_string_value(json_object_get(reply, "error")));
    char *text = json_dumps(reply, JSON_COMPACT);
    json_decref(reply);
    char *out = g_strdup(text ? text : "{\"ok\":false,\"error\":\"encoding\"}");
    free(text);
    return out;
}

control_t *control_new(devsim_t *sim, model_t *model, const char *endpoint)
{
    control_t *self = g_new0(control_t, 1);
    self->sim = sim;
    self->model = model;
    self->zctx = zmq_ctx_new();
    if (!self->zctx)
        goto err;
    self->sock = zmq_socket(self->zctx, ZMQ_REP);
    int linger = 0;
    if (!self->sock || zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(self->sock, endpoint) != 0) {
        log_error("control_bind", "endpoint=%s reason=\"%s\"", endpoint, zmq_strerror(zmq_errno()));
        goto err;
    }
    log_info("control_listening", "endpoint=%s", endpoint);
    return self;
err:
    control_destroy(&self);
    return NULL;
}

void control_destroy(control_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    control_t *self = *self_p;
    if (self->sock)
        zmq_close(self->sock);
    if (self->zctx)
        zmq_ctx_term(self->zctx);
    g_free(self);
    *self_p = NULL;
}

void control_poll(control_t *self)
{
    for (int i = 0; i < 64; i++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        int n = zmq_msg_recv(&msg, self->sock, ZMQ_DONTWAIT);
        if (n < 0) {
            zmq_msg_close(&msg);
            return;
        }
        char *text = g_strndup(zmq_msg_data(&msg), zmq_msg_size(&msg));
        zmq_msg_close(&msg);
        char *reply = control_handle(self, text);
        g_free(text);
        if (zmq_send(self->sock, reply, strlen(reply), 0) < 0)
            log_warn("control_send", "reason=\"%s\"", zmq_strerror(zmq_errno()));
        g_free(reply);
    }
}
