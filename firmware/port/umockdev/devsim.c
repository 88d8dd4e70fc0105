/*  devsim: firmware cores behind emulated USB devices (see devsim.h). */
#include "devsim.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#include "eqms/log.h"
#include "usbemu.h"

typedef struct {
    uint8_t key;
    bool pressed;
    uint32_t delay_ms;            /* after the previous step */
} step_t;

typedef struct {
    devsim_t *sim;
    size_t index;
    devcore_t core;
    char serial[DEVPROTO_SERIAL_MAX + 1];
    uint8_t lcd[DEVPROTO_LINES][DEVPROTO_LINE_BYTES];
    uint8_t lcd_len[DEVPROTO_LINES];
    uint8_t stars;
    int last_prompt;
    uint32_t prompts;
    step_t steps[DEVSIM_STEPS];
    uint32_t head, count;         /* queue of steps */
    uint32_t step_due;            /* when the head step runs */
    bool step_armed;
    bool down[DEVCORE_KEY_COUNT];
    uint32_t raw_sent;
    uint8_t mutate_match;         /* devsim_mutate: stored type to alter, 0 = none */
    uint8_t mutate_type, mutate_version;
    uint32_t mutate_seq;          /* the seq it applies to, 0 until the first one */
    uint32_t mutated_sent;
} simdev_t;

struct devsim_t {
    devsim_config_t cfg;
    usbemu_t *emu;
    simdev_t *devs;
    size_t count;
};

static const char *const s_key_names[DEVCORE_KEY_COUNT] = {
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
    "login", "call", "start", "end", "recall", "pause", "ok",
    "rate1", "rate2", "rate3", "rate4", "rate5", "rate6"
};

uint32_t devsim_now_ms(void)
{
    return (uint32_t) (g_get_monotonic_time() / 1000);
}

int devsim_key_parse(const char *name)
{
    for (int k = 0; k < DEVCORE_KEY_COUNT; k++)
        if (name && !strcmp(name, s_key_names[k]))
            return k;
    return -1;
}

const char *devsim_key_name(int key)
{
    return key >= 0 && key < DEVCORE_KEY_COUNT ? s_key_names[key] : "?";
}

/* --- the board: calls down from the core (emulator lock held) ------------- */

static void s_lcd_line(void *ctx, uint8_t line, const uint8_t *text, uint8_t len)
{
    simdev_t *d = ctx;
    if (line >= DEVPROTO_LINES)
        return;
    if (len > DEVPROTO_LINE_BYTES)
        len = DEVPROTO_LINE_BYTES;
    memcpy(d->lcd[line], text, len);
    d->lcd_len[line] = len;
}

static void s_stars(void *ctx, uint8_t count)
{
    simdev_t *d = ctx;
    d->stars = count;
}

static void s_voice(void *ctx, uint8_t prompt)
{
    simdev_t *d = ctx;
    d->last_prompt = prompt;
    d->prompts++;
}

static uint32_t s_seq_of(const uint8_t *report)
{
    return (uint32_t) report[2] | (uint32_t) report[3] << 8 | (uint32_t) report[4] << 16
           | (uint32_t) report[5] << 24;
}

static int s_usb_send(void *ctx, const uint8_t report[DEVPROTO_REPORT_SIZE])
{
    simdev_t *d = ctx;
    uint32_t seq = s_seq_of(report);
    uint16_t fw = d->sim->cfg.firmware;
    if (fw && report[1] == DEVPROTO_EV_HELLO) {
        /* an older firmware: its version in the hello (fw_major, _minor, _patch) */
        uint8_t out[DEVPROTO_REPORT_SIZE];
        memcpy(out, report, sizeof out);
        out[DEVPROTO_HEADER_SIZE] = (uint8_t) (fw >> 8);
        out[DEVPROTO_HEADER_SIZE + 1] = (uint8_t) fw;
        out[DEVPROTO_HEADER_SIZE + 2] = 0;
        return usbemu_send_in(d->sim->emu, d->index, out, sizeof out);
    }
    if (d->mutate_match && seq >= 1
        && (d->mutate_seq ? seq == d->mutate_seq : report[1] == d->mutate_match)) {
        /* a newer firmware's event: the same seq, a type or version unknown */
        uint8_t out[DEVPROTO_REPORT_SIZE];
        memcpy(out, report, sizeof out);
        if (d->mutate_type)
            out[1] = d->mutate_type;
        if (d->mutate_version)
            out[0] = d->mutate_version;
        int r = usbemu_send_in(d->sim->emu, d->index, out, sizeof out);
        if (r == 0) {
            d->mutate_seq = seq;
            d->mutated_sent++;
        }
        return r;
    }
    return usbemu_send_in(d->sim->emu, d->index, report, DEVPROTO_REPORT_SIZE);
}

/* --- USB: calls up into the core (emulator lock held) ----------------------- */

static void s_out_report(void *ctx, const uint8_t *report, size_t len)
{
    simdev_t *d = ctx;
    uint16_t fw = d->sim->cfg.firmware;
    if (fw && len == DEVPROTO_REPORT_SIZE && devcodec_cmd_firmware(report[1]) > fw) {
        /* a type the emulated firmware did not know: rejected as unknown,
         * counted where that firmware counts it */
        uint8_t older[DEVPROTO_REPORT_SIZE];
        memcpy(older, report, sizeof older);
        older[1] = 0xFF;
        devcore_usb_out(&d->core, older, sizeof older, devsim_now_ms());
        return;
    }
    devcore_usb_out(&d->core, report, (uint32_t) len, devsim_now_ms());
}

static void s_connected(void *ctx, bool connected)
{
    simdev_t *d = ctx;
    devcore_usb_connected(&d->core, connected, devsim_now_ms());
}

/* --- life cycle ------------------------------------------------------------- */

static int s_serial(const devsim_config_t *cfg, size_t i, char *out, size_t size)
{
    if (cfg->serials && *cfg->serials) {
        gchar **parts = g_strsplit(cfg->serials, ",", -1);
        int r = -1;
        if (g_strv_length(parts) > i) {
            gchar *s = g_strstrip(parts[i]);
            if (*s && strlen(s) < size) {
                snprintf(out, size, "%s", s);
                r = 0;
            }
        }
        g_strfreev(parts);
        return r;
    }
    int n = snprintf(out, size, "%s-W%02zu", cfg->serial_prefix ? cfg->serial_prefix : "EQ-SIM",
                     i + 1);
    return n > 0 && (size_t) n < size ? 0 : -1;
}

devsim_t *devsim_new(const devsim_config_t *cfg)
{
    if (cfg->count == 0 || cfg->count > DEVSIM_MAX || cfg->key_count < 2 ||
        cfg->key_count > DEVPROTO_KEYS_MAX) {
        log_error("devsim_config", "count=%zu key_count=%u reason=\"out of range\"", cfg->count,
                  cfg->key_count);
        return NULL;
    }
    devsim_t *self = g_new0(devsim_t, 1);
    self->cfg = *cfg;
    self->cfg.serials = NULL;
    self->cfg.serial_prefix = NULL;
    self->count = cfg->count;
    self->devs = g_new0(simdev_t, cfg->count);
    self->emu = usbemu_new(cfg->count);
    if (!self->emu)
        goto err;
    uint32_t now = devsim_now_ms();
    for (size_t i = 0; i < cfg->count; i++) {
        simdev_t *d = &self->devs[i];
        d->sim = self;
        d->index = i;
        if (s_serial(cfg, i, d->serial, sizeof d->serial) < 0) {
            log_error("devsim_serial", "index=%zu reason=\"no valid serial\"", i);
            goto err;
        }
        usbemu_dev_ops_t ops = { d, s_out_report, s_connected };
        if (usbemu_define(self->emu, i, d->serial, &ops) < 0) {
            log_error("devsim_serial", "index=%zu serial=%s reason=\"invalid serial\"", i,
                      d->serial);
            goto err;
        }
        devcore_board_t board = { d, s_lcd_line, s_stars, s_voice, s_usb_send };
        usbemu_lock(self->emu);
        /* powered up uptime_start_ms ago: its uptime starts there (the
         * core's timers start at the next tick; nothing runs before USB) */
        devcore_init(&d->core, &board, g_random_int(), cfg->key_count,
                     DEVPROTO_CAP_LCD | DEVPROTO_CAP_VOICE | DEVPROTO_CAP_STARS |
                     DEVPROTO_CAP_KEYPAD | DEVPROTO_CAP_CLOCK, now - cfg->uptime_start_ms);
        usbemu_unlock(self->emu);
    }
    if (cfg->plug)
        for (size_t i = 0; i < cfg->count; i++)
            if (usbemu_plug(self->emu, i) < 0)
                goto err;
    return self;
err:
    devsim_destroy(&self);
    return NULL;
}

void devsim_destroy(devsim_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    devsim_t *self = *self_p;
    usbemu_destroy(&self->emu);
    g_free(self->devs);
    g_free(self);
    *self_p = NULL;
}

const char *devsim_dir(devsim_t *self)
{
    return usbemu_dir(self->emu);
}

size_t devsim_count(devsim_t *self)
{
    return self->count;
}

int devsim_plug(devsim_t *self, size_t index)
{
    return index < self->count ? usbemu_plug(self->emu, index) : -1;
}

int devsim_unplug(devsim_t *self, size_t index)
{
    return index < self->count ? usbemu_unplug(self->emu, index) : -1;
}

/* --- keys ----------------------------------------------------------------- */

int devsim_key(devsim_t *self, size_t index, devcore_key_t key, bool pressed)
{
    if (index >= self->count || (int) key < 0 || key >= DEVCORE_KEY_COUNT)
        return -1;
    simdev_t *d = &self->devs[index];
    usbemu_lock(self->emu);
    d->down[key] = pressed;
    devcore_key(&d->core, key, pressed, devsim_now_ms());
    usbemu_unlock(self->emu);
    return 0;
}

static int s_push(simdev_t *d, uint8_t key, bool pressed, uint32_t delay_ms)
{
    if (d->count >= DEVSIM_STEPS)
        return -1;
    step_t *s = &d->steps[(d->head + d->count) % DEVSIM_STEPS];
    s->key = key;
    s->pressed = pressed;
    s->delay_ms = delay_ms;
    d->count++;
    return 0;
}

int devsim_press(devsim_t *self, size_t index, devcore_key_t key, uint32_t delay_ms)
{
    if (index >= self->count || (int) key < 0 || key >= DEVCORE_KEY_COUNT)
        return -1;
    simdev_t *d = &self->devs[index];
    if (d->count + 2 > DEVSIM_STEPS)
        return -1;
    /* the gap of the previous press comes first */
    uint32_t lead = d->count > 0 ? self->cfg.gap_ms : 0;
    s_push(d, (uint8_t) key, true, lead + delay_ms);
    s_push(d, (uint8_t) key, false, self->cfg.hold_ms);
    return 0;
}

int devsim_login(devsim_t *self, size_t index, const char *employee_no)
{
    size_t n = employee_no ? strlen(employee_no) : 0;
    if (index >= self->count || n == 0 || n > DEVPROTO_EMPLOYEE_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (employee_no[i] < '0' || employee_no[i] > '9')
            return -1;
    simdev_t *d = &self->devs[index];
    if (d->count + 2 * (n + 1) > DEVSIM_STEPS)
        return -1;
    for (size_t i = 0; i < n; i++)
        devsim_press(self, index, (devcore_key_t) (DEVCORE_KEY_0 + (employee_no[i] - '0')), 0);
    devsim_press(self, index, DEVCORE_KEY_OK, 0);
    return 0;
}

void devsim_clear_steps(devsim_t *self, size_t index)
{
    if (index >= self->count)
        return;
    simdev_t *d = &self->devs[index];
    d->count = 0;
    d->step_armed = false;
    for (int k = 0; k < DEVCORE_KEY_COUNT; k++)
        if (d->down[k])
            devsim_key(self, index, (devcore_key_t) k, false);
}

uint32_t devsim_queued(devsim_t *self, size_t index)
{
    return index < self->count ? self->devs[index].count : 0;
}

/* --- time ------------------------------------------------------------------ */

static void s_run_steps(devsim_t *self, simdev_t *d, uint32_t now)
{
    while (d->count > 0) {
        step_t *s = &d->steps[d->head];
        if (!d->step_armed) {
            d->step_due = now + s->delay_ms;
            d->step_armed = true;
        }
        if ((int32_t) (now - d->step_due) < 0)
            return;
        d->down[s->key] = s->pressed;
        devcore_key(&d->core, (devcore_key_t) s->key, s->pressed, now);
        d->head = (d->head + 1) % DEVSIM_STEPS;
        d->count--;
        d->step_armed = false;   /* the next delay counts from now */
    }
    (void) self;
}

void devsim_tick(devsim_t *self)
{
    uint32_t now = devsim_now_ms();
    usbemu_lock(self->emu);
    for (size_t i = 0; i < self->count; i++) {
        simdev_t *d = &self->devs[i];
        s_run_steps(self, d, now);
        devcore_tick(&d->core, now);
    }
    usbemu_unlock(self->emu);
}

/* --- inspection --------------------------------------------------------------- */

int devsim_raw_in(devsim_t *self, size_t index, const uint8_t *report, size_t len)
{
    if (index >= self->count)
        return -1;
    usbemu_lock(self->emu);
    int r = usbemu_send_in(self->emu, index, report, len);
    if (r == 0)
        self->devs[index].raw_sent++;
    usbemu_unlock(self->emu);
    return r;
}

int devsim_mutate(devsim_t *self, size_t index, uint8_t match, uint8_t type,
                  uint8_t version)
{
    if (index >= self->count)
        return -1;
    usbemu_lock(self->emu);
    simdev_t *d = &self->devs[index];
    d->mutate_match = match;
    d->mutate_type = type;
    d->mutate_version = version;
    d->mutate_seq = 0;
    usbemu_unlock(self->emu);
    return 0;
}

devproto_state_t devsim_state(devsim_t *self, size_t index)
{
    if (index >= self->count)
        return DEVPROTO_STATE_NO_STAFF;
    usbemu_lock(self->emu);
    devproto_state_t st = devcore_state(&self->devs[index].core);
    usbemu_unlock(self->emu);
    return st;
}

int devsim_info(devsim_t *self, size_t index, devsim_info_t *info)
{
    if (index >= self->count)
        return -1;
    simdev_t *d = &self->devs[index];
    memset(info, 0, sizeof *info);
    usbemu_stats_t us = usbemu_stats(self->emu, index);
    usbemu_lock(self->emu);
    snprintf(info->serial, sizeof info->serial, "%s", d->serial);
    info->plugged = us.devnum != 0;
    info->busnum = us.busnum;
    info->devnum = us.devnum;
    info->state = devcore_state(&d->core);
    info->ring_used = devcore_ring_used(&d->core);
    info->stats = devcore_stats(&d->core);
    memcpy(info->lcd, d->lcd, sizeof info->lcd);
    memcpy(info->lcd_len, d->lcd_len, sizeof info->lcd_len);
    info->stars = d->stars;
    info->last_prompt = d->last_prompt;
    info->prompts = d->prompts;
    info->queued_steps = d->count;
    info->in_reports = us.in_reports;
    info->out_reports = us.out_reports;
    info->usb_clients = us.clients;
    info->raw_sent = d->raw_sent;
    info->mutated_sent = d->mutated_sent;
    usbemu_unlock(self->emu);
    return 0;
}
