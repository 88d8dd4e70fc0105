/*  gw_device: the gateway's table of rating devices (gw_device.h). */
#include "gw_device.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eqms/grow.h"
#include "eqms/log.h"

struct gw_devices_t {
    gw_device_t **devs;
    size_t count, cap;
};

gw_devices_t *gw_devices_new(void)
{
    return calloc(1, sizeof(gw_devices_t));
}

void gw_devices_destroy(gw_devices_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_devices_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++)
        free(self->devs[i]);
    free(self->devs);
    free(self);
    *self_p = NULL;
}

gw_device_t *gw_devices_get(gw_devices_t *self, const char *serial, bool create)
{
    for (size_t i = 0; i < self->count; i++)
        if (strcmp(self->devs[i]->serial, serial) == 0)
            return self->devs[i];
    if (!create || strlen(serial) > DEVPROTO_SERIAL_MAX)
        return NULL;
    gw_device_t **n = grow_room(self->devs, self->count, &self->cap, sizeof *n, 16);
    if (!n)
        return NULL;
    self->devs = n;
    gw_device_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    snprintf(d->serial, sizeof d->serial, "%s", serial);
    d->service_start_uptime = -1;
    self->devs[self->count++] = d;
    return d;
}

size_t gw_devices_count(const gw_devices_t *self)
{
    return self->count;
}

gw_device_t *gw_devices_at(gw_devices_t *self, size_t i)
{
    return i < self->count ? self->devs[i] : NULL;
}

int gw_devices_online(const gw_devices_t *self)
{
    int n = 0;
    for (size_t i = 0; i < self->count; i++)
        n += self->devs[i]->usb != NULL;
    return n;
}

gw_device_order_t gw_device_order(gw_device_t *dev, const gw_outbox_t *outbox,
                                  uint32_t boot, uint32_t dseq)
{
    uint32_t last;
    if (gw_outbox_last(outbox, dev->serial, boot, &last)) {
        if (dseq <= last)
            return GW_DEVICE_REPEAT;
        return dseq == last + 1 ? GW_DEVICE_STORE : GW_DEVICE_HOLD;
    }
    /* nothing of this power-up is stored */
    if (dev->floor_known && dev->floor_boot == boot)
        return dseq == dev->floor ? GW_DEVICE_STORE : GW_DEVICE_HOLD;
    dev->floor_known = true;
    dev->floor_boot = boot;
    dev->floor = dseq;
    return GW_DEVICE_STORE;
}

void gw_device_connected(gw_device_t *dev)
{
    dev->floor_known = false;
    dev->unreadable = false;
}

void gw_device_owe_ack(gw_device_t *dev, uint32_t boot, uint32_t dseq)
{
    if (!dev->ack_due || dev->ack_boot != boot || dseq > dev->ack_upto) {
        dev->ack_due = true;
        dev->ack_boot = boot;
        dev->ack_upto = dseq;
    }
}

void gw_devices_drop_acks(gw_devices_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        self->devs[i]->ack_due = false;
}

/* --- sessions.json ------------------------------------------------------------- */
void gw_devices_save_sessions(gw_devices_t *self, const char *state_dir)
{
    char path[1100], tmp[1110];
    snprintf(path, sizeof path, "%s/sessions.json", state_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    json_t *all = json_object();
    for (size_t i = 0; all && i < self->count; i++) {
        gw_device_t *d = self->devs[i];
        if (!d->boot_known && !d->saved)
            continue;
        json_object_set_new(all, d->serial, json_pack(
            "{s:I, s:o, s:o}", "boot", (json_int_t) (d->boot_known ? d->boot : d->saved_boot),
            "employee_no", d->employee[0] ? json_string(d->employee) : json_null(),
            "service_start_uptime", d->service_start_uptime >= 0
                ? json_integer(d->service_start_uptime) : json_null()));
    }
    if (!all || json_dump_file(all, tmp, JSON_COMPACT) < 0 || rename(tmp, path) < 0)
        log_warn("sessions_save_failed", "path=%s error=\"%s\"", path, strerror(errno));
    json_decref(all);
}

void gw_devices_load_sessions(gw_devices_t *self, const char *state_dir)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/sessions.json", state_dir);
    json_error_t err;
    json_t *all = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!all) {
        if (access(path, F_OK) == 0)
            log_warn("sessions_bad", "path=%s reason=\"%s\"", path, err.text);
        return;
    }
    const char *serial;
    json_t *v;
    json_object_foreach(all, serial, v) {
        json_int_t boot;
        json_t *emp, *start;
        if (strlen(serial) > DEVPROTO_SERIAL_MAX
            || json_unpack_ex(v, &err, JSON_STRICT, "{s:I, s:o, s:o}", "boot", &boot,
                              "employee_no", &emp, "service_start_uptime", &start) < 0
            || boot < 0 || boot > UINT32_MAX
            || !(json_is_null(emp) || (json_is_string(emp)
                                       && json_string_length(emp) <= DEVPROTO_EMPLOYEE_MAX))
            || !(json_is_null(start) || json_is_integer(start))) {
            log_warn("sessions_bad", "path=%s serial=%.32s", path, serial);
            continue;
        }
        gw_device_t *d = gw_devices_get(self, serial, true);
        if (!d)
            break;
        d->saved = true;
        d->saved_boot = (uint32_t) boot;
        snprintf(d->employee, sizeof d->employee, "%s",
                 json_is_string(emp) ? json_string_value(emp) : "");
        d->service_start_uptime = json_is_integer(start) ? json_integer_value(start) : -1;
    }
    json_decref(all);
}
