/*  gw_downlink: commands from the gateway to a device (gw_downlink.h). */
#include "gw_downlink.h"

#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"
#include "gw_command.h"

int gw_downlink_send(gw_downlink_t *self, gw_device_t *d, devcodec_cmd_t *cmd)
{
    uint8_t buf[DEVPROTO_REPORT_SIZE];
    cmd->seq = ++self->seq;
    cmd->boot = d->boot_known ? d->boot : 0;
    devcodec_err_t e = devcodec_encode_cmd(cmd, buf);
    if (e != DEVCODEC_OK) {
        log_error("command_encode_failed", "serial=%s type=0x%02x error=\"%s\"",
                  d->serial, cmd->type, devcodec_strerror(e));
        return -1;
    }
    if (!d->usb)
        return -1;
    int rc = cmd->type == DEVPROTO_CMD_ACK ? gw_usb_send_ack(d->usb, buf)
                                           : gw_usb_send(d->usb, buf);
    if (rc < 0)
        log_warn("command_dropped", "serial=%s type=0x%02x reason=\"queue full or "
                 "device closing\"", d->serial, cmd->type);
    return rc;
}

bool gw_downlink_understands(const gw_device_t *d, uint8_t type)
{
    uint16_t need = devcodec_cmd_firmware(type);
    if (need == 0)
        return false;
    if (need <= 0x0100)
        return true;
    return d->has_hello && ((uint16_t) (d->hello.fw_major << 8) | d->hello.fw_minor) >= need;
}

/* SET_LABEL for every key the device has (firmware 1.1 on): the scale's
 * label of each of the first `keys`, none for the others. */
static void s_labels(gw_downlink_t *self, gw_device_t *d, int keys)
{
    if (!gw_downlink_understands(d, DEVPROTO_CMD_SET_LABEL))
        return;
    for (int key = 0; key < d->hello.key_count && key < DEVPROTO_KEYS_MAX; key++) {
        devcodec_cmd_t cmd;
        memset(&cmd, 0, sizeof cmd);
        cmd.type = DEVPROTO_CMD_SET_LABEL;
        cmd.u.label.key = (uint8_t) key;
        if (key < keys) {
            size_t len;
            int marked, cut;
            char why[GW_GB2312_REASON_SIZE];
            if (gw_gb2312_convert(self->gb, d->reg.options[key].label, cmd.u.label.text,
                                  DEVPROTO_LINE_BYTES, &len, &marked, 1, &cut, why) < 0) {
                log_warn("label_bad", "serial=%s key=%d reason=\"%s\"", d->serial, key, why);
                len = 0;
            }
            if (marked || cut)
                log_warn("label_marked", "serial=%s key=%d marked=%d cut=%d", d->serial, key,
                         marked, cut);
            cmd.u.label.length = (uint8_t) len;
        }
        gw_downlink_send(self, d, &cmd);
    }
}

void gw_downlink_config(gw_downlink_t *self, gw_device_t *d)
{
    devcodec_cmd_t cmd;
    if (d->has_reg) {
        const gw_registry_device_t *r = &d->reg;
        memset(&cmd, 0, sizeof cmd);
        cmd.type = DEVPROTO_CMD_SET_CONFIG;
        cmd.u.config.rating_timeout_s = (uint16_t) r->rating_timeout_s;
        cmd.u.config.repeat_press_s = (uint16_t) r->repeat_press_s;
        int keys = r->option_count;
        if (d->has_hello && d->hello.key_count < keys) {
            log_warn("scale_too_large", "serial=%s scale=%s options=%d keys=%u",
                     d->serial, r->scale_code, keys, d->hello.key_count);
            keys = d->hello.key_count;
        }
        cmd.u.config.key_count = (uint8_t) keys;
        for (int i = 0; i < keys; i++)
            cmd.u.config.key_codes[i] = r->options[i].code;
        gw_downlink_send(self, d, &cmd);
        s_labels(self, d, keys);
        for (int line = 0; line < DEVPROTO_LINES; line++) {
            memset(&cmd, 0, sizeof cmd);
            cmd.type = DEVPROTO_CMD_SET_TEXT;
            cmd.u.text.target = 1;
            cmd.u.text.line = (uint8_t) line;
            if (line < r->idle_lines) {
                size_t len;
                int marked, cut;
                char why[GW_GB2312_REASON_SIZE];
                if (gw_gb2312_convert(self->gb, r->idle_text[line], cmd.u.text.text,
                                      DEVPROTO_LINE_BYTES, &len, &marked, 1, &cut,
                                      why) < 0) {
                    log_warn("idle_text_bad", "serial=%s line=%d reason=\"%s\"",
                             d->serial, line, why);
                    len = 0;
                }
                if (marked || cut)
                    log_warn("idle_text_marked", "serial=%s line=%d marked=%d cut=%d",
                             d->serial, line, marked, cut);
                cmd.u.text.length = (uint8_t) len;
            }
            gw_downlink_send(self, d, &cmd);
        }
    }
    memset(&cmd, 0, sizeof cmd);
    cmd.type = DEVPROTO_CMD_SET_TIME;
    cmd.u.time_ms = (uint64_t) clock_now_ms();
    gw_downlink_send(self, d, &cmd);
}

void gw_downlink_login_reply(gw_downlink_t *self, gw_registry_t *registry,
                             gw_device_t *d, const char *employee)
{
    if (!gw_registry_has_staff(registry) || !d->usb)
        return;
    const gw_registry_staff_t *st = gw_registry_staff(registry, employee);
    int accepted = st && st->active;
    int reason = !st ? DEVPROTO_REFUSED_UNKNOWN_STAFF
                     : !st->active ? DEVPROTO_REFUSED_INACTIVE : DEVPROTO_REFUSED_NONE;
    devcodec_cmd_t cmd;
    int marked = 0;
    if (gw_command_login_reply(self->gb, accepted, st ? st->name : NULL, reason, &cmd,
                               &marked) < 0) {
        log_error("login_reply_failed", "serial=%s employee_no=%s", d->serial, employee);
        return;
    }
    if (marked)
        log_warn("text_marked", "serial=%s what=staff_name marked=%d", d->serial, marked);
    log_info("login_reply", "serial=%s employee_no=%s accepted=%d reason=%d", d->serial,
             employee, accepted, reason);
    gw_downlink_send(self, d, &cmd);
}
