/*  gw_server: the device gateway's loop: USB reports -> outbox -> bus, and back. */
#include "gw_server.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eqms/backoff.h"
#include "eqms/bus.h"
#include "eqms/clock.h"
#include "eqms/devcodec.h"
#include "eqms/log.h"
#include "gw_command.h"
#include "gw_device.h"
#include "gw_downlink.h"
#include "gw_event.h"
#include "gw_gb2312.h"
#include "gw_outbox.h"
#include "gw_registry.h"
#include "gw_relay.h"
#include "gw_usb.h"

#define S_POLL_MAX 64
#define S_USB_RETRY_MS 10000
#define S_CONNECT_MS 300

struct gw_server_t {
    gw_server_config_t cfg;
    char gateway_id[ENVELOPE_SRC_MAX + 1];
    char ctl_src[ENVELOPE_SRC_MAX + 1];
    char branch[GW_REGISTRY_PATH_MAX + 1];
    char state_dir[1024];
    bus_t *bus;
    gw_outbox_t *outbox;
    gw_registry_t *registry;
    gw_gb2312_t *gb;
    gw_usb_t *usb;
    int64_t usb_retry_at;
    gw_devices_t *devices;
    bool unsynced;
    bool sessions_dirty;            /* sessions.json needs writing */
    gw_downlink_t downlink;         /* commands to the devices */
    gw_relay_t relay;               /* the outbox on the bus */
    int64_t ctl_seq;
    backoff_t registry_backoff;
    bool registry_answered;
    int64_t registry_next;
    int64_t recover_at;             /* monotonic ms of the next restart from the journal */
    pthread_t thread;
    bool started;
    atomic_int stop;
    atomic_int outbox_failed;
    metrics_gauge_t *m_online;
    metrics_counter_t *m_reports, *m_rejected, *m_duplicates, *m_cmds, *m_cmds_rejected;
};

static void s_count(metrics_counter_t *c, uint64_t n)
{
    if (c)
        metrics_add(c, n);
}

static void s_gauge(metrics_gauge_t *g, int64_t v)
{
    if (g)
        metrics_set(g, v);
}

/* The context of an event of `d` received at now; event_ms = now until
 * the caller knows better. */
static void s_ctx(gw_server_t *self, gw_device_t *d, gw_event_ctx_t *ctx, int64_t now)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->serial = d->serial;
    ctx->branch = self->branch;
    ctx->reg = d->has_reg ? &d->reg : NULL;
    ctx->employee_no = d->employee;
    ctx->received_ms = now;
    ctx->event_ms = now;
    ctx->duration_ms = -1;
}

/* Appends to the outbox; published after the next sync (s_flush). */
static int s_store(gw_server_t *self, const char *type, const char *path,
                   json_t **data_p, const char *serial, uint32_t boot, uint32_t dseq)
{
    if (gw_outbox_failed(self->outbox)) {
        /* restarting from the journal: the device sends it again */
        json_decref(*data_p);
        *data_p = NULL;
        log_debug("event_not_stored", "type=%s serial=%s device_seq=%u reason=\"outbox "
                  "failed, restarting from the journal\"", type, serial ? serial : "-", dseq);
        return -1;
    }
    const gw_outbox_entry_t *e =
        gw_outbox_add(self->outbox, type, path, data_p, serial, boot, dseq);
    if (!e) {
        atomic_store(&self->outbox_failed, 1);
        log_error("event_not_stored", "type=%s serial=%s device_seq=%u", type,
                  serial ? serial : "-", dseq);
        return -1;
    }
    self->unsynced = true;
    log_debug("event_stored", "type=%s topic=%s.%s seq=%lld serial=%s device_seq=%u",
              type, type, path, (long long) e->seq, serial ? serial : "-", dseq);
    return 0;
}

static void s_store_device(gw_server_t *self, gw_device_t *d, const char *type,
                           const char *reason)
{
    gw_event_ctx_t ctx;
    int64_t now = clock_now_ms();
    s_ctx(self, d, &ctx, now);
    ctx.event_ms = now;
    char path[GW_REGISTRY_PATH_MAX + 1];
    json_t *data = NULL;
    if (gw_event_device(&ctx, type, d->boot, d->last_uptime,
                        d->has_hello ? &d->hello : NULL, reason, path, &data) < 0) {
        log_error("event_build_failed", "type=%s serial=%s", type, d->serial);
        return;
    }
    s_store(self, type, path, &data, NULL, 0, 0);
}

/* --- USB handler ---------------------------------------------------------- */
static void s_usb_attached(void *arg, gw_usb_dev_t *usb, const char *serial)
{
    gw_server_t *self = arg;
    gw_device_t *d = gw_devices_get(self->devices, serial, true);
    if (!d) {
        log_error("device_table_full", "serial=%s", serial);
        return;
    }
    if (d->usb) {
        log_warn("device_serial_twice", "serial=%s reason=\"a second device has this "
                 "serial; ignoring it\"", serial);
        return;
    }
    d->usb = usb;
    d->online_published = false;
    d->has_hello = false;
    gw_device_connected(d);
    gw_usb_set_user(usb, d);
    const gw_registry_device_t *r = gw_registry_find(self->registry, serial);
    d->has_reg = r != NULL;
    if (r)
        d->reg = *r;
    s_gauge(self->m_online, gw_devices_online(self->devices));
}

static void s_publish_online(gw_server_t *self, gw_device_t *d)
{
    d->online_published = true;
    s_store_device(self, d, "device.online", NULL);
    if (!d->has_reg) {
        log_warn("device_unassigned", "serial=%s branch=%s", d->serial, self->branch);
        s_store_device(self, d, "device.unassigned", NULL);
    }
}

static void s_usb_detached(void *arg, gw_usb_dev_t *usb, const char *reason)
{
    gw_server_t *self = arg;
    gw_device_t *d = gw_usb_user(usb);
    if (!d)
        return;
    if (d->online_published || d->boot_known)
        s_store_device(self, d, "device.offline", reason);
    d->usb = NULL;
    d->online_published = false;
    d->ack_due = false;
    s_gauge(self->m_online, gw_devices_online(self->devices));
}

/* A report of another power-up than the one known: the session ends with
 * it (unless sessions.json kept it for this very power-up). */
static void s_boot(gw_server_t *self, gw_device_t *d, uint32_t boot)
{
    if (d->boot_known && boot == d->boot)
        return;
    bool restored = !d->boot_known && d->saved && d->saved_boot == boot;
    if (d->boot_known)
        log_info("device_rebooted", "serial=%s boot=%u", d->serial, boot);
    if (restored) {
        log_info("device_session_restored", "serial=%s boot=%u employee_no=%s",
                 d->serial, boot, d->employee[0] ? d->employee : "-");
    } else if (d->employee[0] || d->service_start_uptime >= 0) {
        d->employee[0] = 0;          /* a power-up ends the session */
        d->service_start_uptime = -1;
        self->sessions_dirty = true;
    }
    d->saved = false;
    d->boot_known = true;
    d->boot = boot;
    gw_clock_reset(&d->clock);
}

/* Session state the device's events change, once stored. */
static void s_session(gw_server_t *self, gw_device_t *d, const devcodec_event_t *ev)
{
    switch (ev->type) {
    case DEVPROTO_EV_STAFF_LOGIN:
        snprintf(d->employee, sizeof d->employee, "%.*s", (int) ev->u.staff.length,
                 ev->u.staff.employee_no);
        gw_downlink_login_reply(&self->downlink, self->registry, d, d->employee);
        break;
    case DEVPROTO_EV_STAFF_LOGOUT:
        d->employee[0] = 0;
        break;
    case DEVPROTO_EV_SERVICE_START:
        d->service_start_uptime = ev->uptime_ms;
        break;
    case DEVPROTO_EV_SERVICE_END:
        d->service_start_uptime = -1;
        break;
    default:
        return;
    }
    self->sessions_dirty = true;
}

/* A stored event (seq >= 1) of `d`: decoded (`ev`), or one this gateway
 * cannot decode (`ev` NULL, its header `h`, its bytes `raw`, why `err`).
 * Stored in the device's seq order and acknowledged after the next sync;
 * an undecodable one becomes device.report_rejected (docs/protocol.md,
 * "Version skew"), so the ACK that covers it removes nothing untraced. */
static void s_stored_event(gw_server_t *self, gw_device_t *d, const devcodec_event_t *ev,
                           const devcodec_header_t *h, const uint8_t *raw,
                           devcodec_err_t err, int64_t now)
{
    if (d->unreadable) {
        /* a report it could not read at all came first: nothing of the
         * device is acknowledged until it connects again */
        log_debug("event_held", "serial=%s boot=%u device_seq=%u reason=\"unreadable "
                  "report before it\"", d->serial, h->boot, h->seq);
        return;
    }
    gw_device_order_t order = gw_device_order(d, self->outbox, h->boot, h->seq);
    if (order == GW_DEVICE_HOLD) {
        /* a seq before it is missing (not stored, or stored and lost in a
         * restart from the journal): the device sends it again, oldest
         * first, after its ack timeout; never acknowledge past the gap */
        log_debug("event_held", "serial=%s boot=%u device_seq=%u", d->serial, h->boot,
                  h->seq);
        return;
    }
    if (order == GW_DEVICE_REPEAT) {
        s_count(self->m_duplicates, 1);
        log_debug("event_duplicate", "serial=%s boot=%u device_seq=%u", d->serial,
                  h->boot, h->seq);
    } else {
        gw_event_ctx_t ctx;
        s_ctx(self, d, &ctx, now);
        if (!gw_clock_event(&d->clock, h->uptime_ms, now, &ctx.event_ms))
            log_info("event_time_unanchored", "serial=%s boot=%u device_seq=%u "
                     "reason=\"no live report of this power-up seen yet: stamped with "
                     "the receive time\"", d->serial, h->boot, h->seq);
        if (ev && ev->type == DEVPROTO_EV_SERVICE_END && d->service_start_uptime >= 0)
            /* modulo 2^32: a service across the uptime's wrap */
            ctx.duration_ms = (uint32_t) (ev->uptime_ms - (uint32_t) d->service_start_uptime);
        char type[ENVELOPE_TYPE_MAX + 1], path[GW_REGISTRY_PATH_MAX + 1];
        json_t *data = NULL;
        int rc;
        if (ev) {
            rc = gw_event_build(&ctx, ev, type, path, &data);
        } else {
            log_warn("report_undecodable", "serial=%s boot=%u device_seq=%u type=0x%02x "
                     "error=\"%s\" reason=\"kept as device.report_rejected\"", d->serial,
                     h->boot, h->seq, h->type, devcodec_strerror(err));
            rc = gw_event_rejected(&ctx, h, raw, devcodec_strerror(err), path, &data);
            snprintf(type, sizeof type, "device.report_rejected");
        }
        if (rc != 0)
            log_error("event_build_failed", "serial=%s type=0x%02x", d->serial, h->type);
        if (rc != 0 || s_store(self, type, path, &data, d->serial, h->boot, h->seq) < 0)
            return;   /* not acked: the device sends it again after its ack timeout */
        if (ev)
            s_session(self, d, ev);
    }
    /* sent after the next sync that succeeds, never after a failed one */
    gw_device_owe_ack(d, h->boot, h->seq);
}

/* A report devcodec_decode_event refused (docs/protocol.md, "Version
 * skew"): of a version this gateway does not speak, it is not read and
 * nothing of the device is acknowledged; a stored event with a readable
 * header is kept as device.report_rejected; anything else is logged. */
static void s_undecodable(gw_server_t *self, gw_device_t *d, const uint8_t *buf, size_t len,
                          devcodec_err_t err)
{
    devcodec_header_t h;
    devcodec_err_t herr = devcodec_decode_header(buf, len, &h);
    if (herr == DEVCODEC_ERR_VERSION) {
        if (!d->unreadable)
            log_warn("report_version_unsupported", "serial=%s version=%u speaks=%u "
                     "reason=\"a report version this gateway does not speak: nothing of "
                     "the device is acknowledged until a gateway that speaks it reads it "
                     "(upgrade gateways before firmware)\"", d->serial, buf[0],
                     DEVPROTO_VERSION);
        d->unreadable = true;
        d->ack_due = false;
        return;
    }
    if (herr != DEVCODEC_OK || h.seq == 0 || (d->boot_known && h.boot != d->boot)) {
        log_warn("report_rejected", "serial=%s len=%zu type=0x%02x error=\"%s\"%s",
                 d->serial, len, len > 1 ? buf[1] : 0, devcodec_strerror(err),
                 herr == DEVCODEC_OK && h.seq
                     ? " reason=\"a stored event of another power-up\"" : "");
        return;
    }
    int64_t now = clock_now_ms();
    s_boot(self, d, h.boot);
    if (!d->online_published)
        s_publish_online(self, d);
    s_stored_event(self, d, NULL, &h, buf, err, now);
}

static void s_usb_report(void *arg, gw_usb_dev_t *usb, const uint8_t *buf, size_t len)
{
    gw_server_t *self = arg;
    gw_device_t *d = gw_usb_user(usb);
    if (!d)
        return;
    s_count(self->m_reports, 1);
    devcodec_event_t ev;
    devcodec_err_t err = devcodec_decode_event(buf, len, &ev);
    if (err != DEVCODEC_OK) {
        s_count(self->m_rejected, 1);
        s_undecodable(self, d, buf, len, err);
        return;
    }
    int64_t now = clock_now_ms();
    s_boot(self, d, ev.boot);
    if (ev.seq == 0)   /* only live (transient) reports: stored ones may be resent */
        gw_clock_live(&d->clock, ev.uptime_ms, now);
    /* device.* events carry the latest live uptime (a re-sent event's is old) */
    d->last_uptime = d->clock.anchored ? d->clock.up : ev.uptime_ms;
    if (ev.type == DEVPROTO_EV_HELLO) {
        d->hello = ev.u.hello;
        d->has_hello = true;
        gw_device_connected(d);
        log_info("device_hello", "serial=%s boot=%u fw=%u.%u.%u keys=%u ring_used=%u "
                 "refused=%u", d->serial, ev.boot, ev.u.hello.fw_major,
                 ev.u.hello.fw_minor, ev.u.hello.fw_patch, ev.u.hello.key_count,
                 ev.u.hello.ring_used, ev.u.hello.refused);
        if (!d->online_published)
            s_publish_online(self, d);
        gw_downlink_config(&self->downlink, d);
        return;
    }
    if (!d->online_published)
        s_publish_online(self, d);
    if (!devcodec_event_is_stored(ev.type)) {
        if (ev.type == DEVPROTO_EV_BUFFER_WARNING)
            log_warn("device_buffer_warning", "serial=%s ring_used=%u ring_capacity=%u",
                     d->serial, ev.u.status.ring_used, ev.u.status.ring_capacity);
        return;
    }
    devcodec_header_t h = { ev.type, ev.seq, ev.boot, ev.uptime_ms };
    s_stored_event(self, d, &ev, &h, buf, DEVCODEC_OK, now);
}

/* --- outbox -> bus -------------------------------------------------------- */
/* The outbox failed (a write or a sync): no device is acknowledged for
 * what the failed sync covered; restart from the journal now, then every
 * second until it works. What the journal holds after it is durable and is
 * published again; the devices send again what it lost. */
static void s_recover(gw_server_t *self)
{
    gw_devices_drop_acks(self->devices);
    atomic_store(&self->outbox_failed, 1);
    if (clock_mono_ms() < self->recover_at)
        return;
    if (gw_outbox_recover(self->outbox) < 0) {
        self->recover_at = clock_mono_ms() + 1000;
        return;
    }
    self->unsynced = false;
    gw_relay_reloaded(&self->relay);
    atomic_store(&self->outbox_failed, 0);
    /* a device.online lost with the cut bytes is published again at the
     * device's next report */
    for (size_t i = 0; i < gw_devices_count(self->devices); i++)
        gw_devices_at(self->devices, i)->online_published = false;
}

/* Group commit: one fsync, then publish what it made durable, then ack the
 * devices. */
static void s_flush(gw_server_t *self)
{
    if (self->sessions_dirty) {
        gw_devices_save_sessions(self->devices, self->state_dir);
        self->sessions_dirty = false;
    }
    if (gw_outbox_failed(self->outbox)) {
        s_recover(self);
        return;
    }
    if (self->unsynced) {
        if (gw_outbox_sync(self->outbox) < 0) {
            s_recover(self);
            return;
        }
        atomic_store(&self->outbox_failed, 0);
        self->unsynced = false;
        gw_relay_synced(&self->relay);
    }
    for (size_t i = 0; i < gw_devices_count(self->devices); i++) {
        gw_device_t *d = gw_devices_at(self->devices, i);
        if (!d->ack_due || !d->usb || d->unreadable)
            continue;
        devcodec_cmd_t cmd;
        memset(&cmd, 0, sizeof cmd);
        cmd.type = DEVPROTO_CMD_ACK;
        cmd.u.ack.boot = d->ack_boot;
        cmd.u.ack.upto = d->ack_upto;
        if (gw_downlink_send(&self->downlink, d, &cmd) == 0)
            d->ack_due = false;
    }
}

/* --- bus messages --------------------------------------------------------- */
static void s_registry_request(gw_server_t *self)
{
    json_t *data = json_pack("{s:s, s:s, s:b}", "gateway", self->gateway_id, "branch",
                             self->branch, "cached", gw_registry_loaded(self->registry));
    envelope_t *env = data ? envelope_new("registry.request", self->ctl_src,
                                          ++self->ctl_seq, &data)
                           : NULL;
    if (!env || bus_publish_envelope(self->bus, self->branch, env) < 0)
        log_warn("registry_request_failed", "branch=%s", self->branch);
    else
        log_debug("registry_requested", "branch=%s", self->branch);
    envelope_destroy(&env);
}

/* True if an ack or replay request for (gateway, incarnation) is for this
 * gateway's journal; one for another incarnation (of a journal this gateway
 * lost, or not yet made) is logged at debug level. */
static void s_on_snapshot(gw_server_t *self, const envelope_t *env)
{
    char reason[ENVELOPE_REASON_SIZE];
    if (gw_registry_apply(self->registry, env->data, reason) < 0) {
        log_warn("registry_snapshot_rejected", "id=%s reason=\"%s\"", env->id, reason);
        return;
    }
    self->registry_answered = true;
    self->registry_next = clock_mono_ms() + self->cfg.registry_refresh_ms;
    log_info("registry_updated", "devices=%zu staff=%s",
             gw_registry_count(self->registry),
             gw_registry_has_staff(self->registry) ? "yes" : "no");
    for (size_t i = 0; i < gw_devices_count(self->devices); i++) {
        gw_device_t *d = gw_devices_at(self->devices, i);
        const gw_registry_device_t *r = gw_registry_find(self->registry, d->serial);
        if (gw_registry_device_same(d->has_reg ? &d->reg : NULL, r))
            continue;
        bool was = d->has_reg;
        bool moved = r && (!was || d->reg.window_id != r->window_id);
        d->has_reg = r != NULL;
        if (r)
            d->reg = *r;
        log_info("device_assignment_changed", "serial=%s window=%s", d->serial,
                 r ? r->window_path : "none");
        if (!d->usb)
            continue;   /* its next device.online carries the window */
        if (r)
            gw_downlink_config(&self->downlink, d);
        /* the live view follows the registry both ways (a device.online
         * not yet published will carry the window itself) */
        if (d->online_published && moved)
            s_store_device(self, d, "device.assigned", NULL);
        else if (d->online_published && was && !r)
            s_store_device(self, d, "device.unassigned", NULL);
    }
}

/* The host logged a teller in at the device (SET_STAFF, no STAFF_LOGIN
 * from the device) or out: the device's events from now on carry that
 * teller (docs/protocol.md, "Device commands"). */
static void s_host_staff(gw_server_t *self, gw_device_t *d, const devproto_set_staff_t *st)
{
    snprintf(d->employee, sizeof d->employee, "%.*s", (int) st->employee_length,
             st->employee_no);
    self->sessions_dirty = true;
    log_info("staff_set", "serial=%s employee_no=%s", d->serial,
             d->employee[0] ? d->employee : "-");
}

static void s_on_command(gw_server_t *self, const envelope_t *env)
{
    gw_command_t cmd;
    char reason[ENVELOPE_REASON_SIZE];
    if (gw_command_decode(env->data, self->gb, &cmd, reason) < 0) {
        s_count(self->m_cmds_rejected, 1);
        log_warn("command_rejected", "id=%s reason=\"%s\"", env->id, reason);
        return;
    }
    gw_device_t *d = gw_devices_get(self->devices, cmd.serial, false);
    if (!d || !d->usb) {
        s_count(self->m_cmds_rejected, 1);
        log_warn("command_rejected", "id=%s serial=%s command=%s reason=\"%s\"",
                 env->id, cmd.serial, cmd.command,
                 d ? "device is offline" : "no such device on this gateway");
        return;
    }
    for (int i = 0; i < cmd.count; i++)
        if (!gw_downlink_understands(d, cmd.cmds[i].type)) {
            /* an older firmware would reject the report as unknown */
            uint16_t need = devcodec_cmd_firmware(cmd.cmds[i].type);
            s_count(self->m_cmds_rejected, 1);
            if (d->has_hello)
                log_warn("command_rejected", "id=%s serial=%s command=%s firmware=%u.%u.%u "
                         "reason=\"the device's firmware does not know it (needs %u.%u)\"",
                         env->id, cmd.serial, cmd.command, d->hello.fw_major,
                         d->hello.fw_minor, d->hello.fw_patch, need >> 8, need & 0xFF);
            else
                log_warn("command_rejected", "id=%s serial=%s command=%s reason=\"the "
                         "device's firmware is not known yet (no hello)\"", env->id,
                         cmd.serial, cmd.command);
            return;
        }
    if (cmd.marked)
        log_warn("text_marked", "serial=%s command=%s marked=%d reason=\"characters "
                 "without a GB2312 form shown as a marker\"", cmd.serial, cmd.command,
                 cmd.marked);
    if (cmd.cut)
        log_warn("name_cut", "serial=%s command=%s bytes=%d reason=\"the name is longer "
                 "than the device's field: cut at a character\"", cmd.serial, cmd.command,
                 DEVPROTO_NAME_BYTES);
    for (int i = 0; i < cmd.count; i++)
        if (gw_downlink_send(&self->downlink, d, &cmd.cmds[i]) < 0) {
            s_count(self->m_cmds_rejected, 1);
            return;
        }
    if (cmd.cmds[0].type == DEVPROTO_CMD_SET_STAFF)
        s_host_staff(self, d, &cmd.cmds[0].u.set_staff);
    s_count(self->m_cmds, 1);
    log_debug("command_queued", "serial=%s command=%s reports=%d", cmd.serial,
              cmd.command, cmd.count);
}

/* True if topic path `path` is the branch itself or below it. */
static bool s_in_branch(const gw_server_t *self, const char *path, bool below)
{
    size_t n = strlen(self->branch);
    if (strncmp(path, self->branch, n) != 0)
        return false;
    return path[n] == 0 || (below && path[n] == '.');
}

static void s_on_message(gw_server_t *self, const char *topic, const envelope_t *env)
{
    size_t tl = strlen(env->type);
    const char *path = topic + tl + 1;   /* bus_recv checked type "." path */
    if (strcmp(env->type, "ack.ingest") == 0 && s_in_branch(self, path, false)) {
        if (gw_relay_on_ack(&self->relay, env) < 0)
            atomic_store(&self->outbox_failed, 1);
    } else if (strcmp(env->type, "replay.request") == 0 && s_in_branch(self, path, false)) {
        gw_relay_on_replay_request(&self->relay, env);
    }
    else if (strcmp(env->type, "registry.snapshot") == 0 && s_in_branch(self, path, false))
        s_on_snapshot(self, env);
    else if (strcmp(env->type, "cmd.device") == 0 && s_in_branch(self, path, true))
        s_on_command(self, env);
}

/* --- the loop ------------------------------------------------------------- */
static void s_usb_start(gw_server_t *self)
{
    static const gw_usb_handler_t handler = {
        .attached = s_usb_attached,
        .report = s_usb_report,
        .detached = s_usb_detached,
    };
    if (!self->cfg.usb || self->usb || clock_mono_ms() < self->usb_retry_at)
        return;
    /* usb_retry_at starts a little after gw_server_new: the bus connects
     * first, so the first device.online is not published into the void */
    self->usb = gw_usb_new(&handler, self, self->cfg.rescan_ms);
    if (!self->usb)
        self->usb_retry_at = clock_mono_ms() + S_USB_RETRY_MS;
}

static void *s_run(void *arg)
{
    gw_server_t *self = arg;
    zsock_t *sub = bus_sub_socket(self->bus);
    while (!atomic_load(&self->stop)) {
        s_usb_start(self);
        zmq_pollitem_t items[S_POLL_MAX];
        int n = 0;
        items[n].socket = zsock_resolve(sub);
        items[n].fd = 0;
        items[n].events = ZMQ_POLLIN;
        items[n].revents = 0;
        n++;
        int timeout = 200;
        if (self->usb) {
            n += gw_usb_pollitems(self->usb, items + n, S_POLL_MAX - n);
            int t = gw_usb_timeout_ms(self->usb);
            if (t < timeout)
                timeout = t;
        }
        if (zmq_poll(items, n, timeout) < 0 && zmq_errno() != EINTR) {
            log_error("poll_failed", "error=\"%s\"", zmq_strerror(zmq_errno()));
            zclock_sleep(100);
        }
        if (self->usb)
            gw_usb_handle(self->usb);
        s_flush(self);
        for (int k = 0; k < 1000; k++) {
            char *topic = NULL;
            envelope_t *env = NULL;
            if (bus_recv(self->bus, 0, &topic, &env) != 1)
                break;
            s_on_message(self, topic, env);
            free(topic);
            envelope_destroy(&env);
        }
        s_flush(self);   /* commands and config queued by messages go out now */
        gw_relay_replay(&self->relay);
        if (clock_mono_ms() >= self->registry_next) {
            s_registry_request(self);
            if (self->registry_answered)
                self->registry_next = clock_mono_ms() + self->cfg.registry_refresh_ms;
            else
                self->registry_next = clock_mono_ms()
                                      + backoff_failed(&self->registry_backoff);
        }
    }
    /* orderly stop: every open device goes offline ("shutdown") */
    gw_usb_destroy(&self->usb);
    s_flush(self);
    return NULL;
}

gw_server_t *gw_server_new(const gw_server_config_t *cfg, metrics_t *metrics)
{
    gw_server_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *cfg;
    if (!cfg->gateway_id || !cfg->branch || !cfg->state_dir
        || strlen(cfg->gateway_id) + 4 > ENVELOPE_SRC_MAX
        || strlen(cfg->branch) >= sizeof self->branch
        || strlen(cfg->state_dir) >= sizeof self->state_dir) {
        log_error("config_bad", "reason=\"gateway id, branch or state dir missing or "
                  "too long\"");
        goto err;
    }
    snprintf(self->gateway_id, sizeof self->gateway_id, "%s", cfg->gateway_id);
    snprintf(self->ctl_src, sizeof self->ctl_src, "%s.ctl", cfg->gateway_id);
    snprintf(self->branch, sizeof self->branch, "%s", cfg->branch);
    snprintf(self->state_dir, sizeof self->state_dir, "%s", cfg->state_dir);
    self->cfg.gateway_id = self->gateway_id;
    self->cfg.branch = self->branch;
    self->cfg.state_dir = self->state_dir;
    if (self->cfg.replay_min_ms <= 0)
        self->cfg.replay_min_ms = 5000;
    if (self->cfg.replay_max_ms < self->cfg.replay_min_ms)
        self->cfg.replay_max_ms = 300000;
    if (self->cfg.registry_retry_ms <= 0)
        self->cfg.registry_retry_ms = 15000;
    if (self->cfg.registry_refresh_ms <= 0)
        self->cfg.registry_refresh_ms = 600000;
    if (!envelope_org_path_valid(self->branch, strlen(self->branch))) {
        log_error("config_bad", "branch=%s reason=\"not an org path\"", self->branch);
        goto err;
    }
    /* the sequence of the non-durable control messages starts clock-derived */
    self->ctl_seq = clock_now_ms();
    self->outbox = gw_outbox_new(self->state_dir, self->gateway_id);
    self->registry = gw_registry_new(self->branch, self->state_dir);
    self->gb = gw_gb2312_new();
    self->devices = gw_devices_new();
    self->bus = bus_new(cfg->bus_pub, cfg->bus_sub, self->gateway_id);
    if (!self->outbox || !self->registry || !self->gb || !self->devices || !self->bus
        || bus_attach_metrics(self->bus, metrics) != 0)
        goto err;
    self->downlink.gb = self->gb;
    gw_devices_load_sessions(self->devices, self->state_dir);
    char prefix[ENVELOPE_TOPIC_MAX + 64];
    const char *types[] = { "ack.ingest", "replay.request", "registry.snapshot",
                            "cmd.device" };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        snprintf(prefix, sizeof prefix, "%s.%s", types[i], self->branch);
        if (bus_subscribe(self->bus, prefix) < 0)
            goto err;
    }
    gw_outbox_stats_t st = gw_outbox_stats(self->outbox);
    /* ZeroMQ connects in the background and a PUB drops what it sends before
     * that: registry request, USB and the first replay wait a moment */
    gw_relay_init(&self->relay, self->bus, self->outbox, self->gateway_id,
                  self->cfg.replay_min_ms, self->cfg.replay_max_ms,
                  clock_mono_ms() + S_CONNECT_MS);
    backoff_init(&self->registry_backoff, 1000, self->cfg.registry_retry_ms);
    self->registry_next = clock_mono_ms() + S_CONNECT_MS;
    self->usb_retry_at = clock_mono_ms() + S_CONNECT_MS;
    if (metrics) {
        self->m_online = metrics_gauge(metrics, "devices_online", "devices open now");
        self->relay.depth = metrics_gauge(metrics, "outbox_depth",
                                          "events not yet acknowledged by rating-ingest");
        self->m_reports = metrics_counter(metrics, "reports_in_total",
                                          "IN reports received");
        self->m_rejected = metrics_counter(metrics, "reports_rejected_total",
                                           "IN reports rejected as malformed");
        self->relay.published = metrics_counter(metrics, "events_published_total",
                                                "events published for the first time");
        self->relay.replayed = metrics_counter(metrics, "events_replayed_total",
                                               "unacknowledged events published again");
        self->relay.replay_requests = metrics_counter(metrics, "replay_requests_total",
                                                      "replay requests for this gateway "
                                                      "answered");
        self->m_duplicates = metrics_counter(metrics, "events_duplicate_total",
                                             "device events received again and "
                                             "acknowledged without storing");
        self->relay.acks = metrics_counter(metrics, "acks_total",
                                           "ingest acknowledgements that freed events");
        self->m_cmds = metrics_counter(metrics, "commands_total",
                                       "bus commands queued to devices");
        self->m_cmds_rejected = metrics_counter(metrics, "commands_rejected_total",
                                                "bus commands rejected");
        gw_relay_gauge(&self->relay);
    }
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        log_error("thread_failed", NULL);
        goto err;
    }
    self->started = true;
    log_info("gateway_started", "gateway=%s branch=%s state_dir=%s incarnation=%s "
             "outbox_depth=%zu last_seq=%lld registry_devices=%zu", self->gateway_id,
             self->branch, self->state_dir, gw_outbox_incarnation(self->outbox), st.depth,
             (long long) st.last_seq, gw_registry_count(self->registry));
    return self;
err:
    gw_server_destroy(&self);
    return NULL;
}

void gw_server_destroy(gw_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_server_t *self = *self_p;
    if (self->started) {
        atomic_store(&self->stop, 1);
        pthread_join(self->thread, NULL);
    }
    gw_usb_destroy(&self->usb);
    bus_destroy(&self->bus);
    gw_outbox_destroy(&self->outbox);
    gw_registry_destroy(&self->registry);
    gw_gb2312_destroy(&self->gb);
    gw_devices_destroy(&self->devices);
    free(self);
    *self_p = NULL;
}

int gw_server_health_check(void *ctx, char *reason, size_t size)
{
    gw_server_t *self = ctx;
    if (access(self->state_dir, W_OK) != 0) {
        snprintf(reason, size, "state dir %s is not writable: %s", self->state_dir,
                 strerror(errno));
        return -1;
    }
    if (atomic_load(&self->outbox_failed)) {
        snprintf(reason, size, "the outbox could not be written");
        return -1;
    }
    return 0;
}
