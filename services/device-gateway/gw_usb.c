/*  gw_usb: rating devices through libusb-1.0, hotplug plus rescan, async I/O. */
#include "gw_usb.h"

#include <dirent.h>
#include <fcntl.h>
#include <libusb-1.0/libusb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eqms/clock.h"
#include "eqms/log.h"

#define S_INTERFACE 0

struct gw_usb_dev_t {
    gw_usb_t *usb;
    libusb_device *device;
    libusb_device_handle *handle;
    uint8_t bus, address;
    libusb_context *own_ctx;     /* the device's own context (rescan), or NULL */
    char serial[DEVPROTO_SERIAL_MAX + 1];
    struct libusb_transfer *in;
    struct libusb_transfer *out;
    uint8_t in_buf[DEVPROTO_REPORT_SIZE];
    uint8_t out_buf[DEVPROTO_REPORT_SIZE];
    uint8_t queue[GW_USB_QUEUE][DEVPROTO_REPORT_SIZE];
    int q_head, q_count;
    uint8_t ack[DEVPROTO_REPORT_SIZE];
    bool ack_pending;
    bool in_busy, out_busy;
    bool closing;                /* detached was told; waiting for transfers */
    bool left;                   /* hotplug said it left */
    const char *reason;
    void *user;
};

struct gw_usb_t {
    libusb_context *ctx;
    gw_usb_handler_t handler;
    void *owner;
    int rescan_ms;
    int64_t next_rescan;
    bool hotplug;
    libusb_hotplug_callback_handle hotplug_handle;
    gw_usb_dev_t *devs[GW_USB_DEVICES_MAX];
    int count;
    libusb_device *arrived[GW_USB_DEVICES_MAX];
    int arrived_count;
    libusb_context *open_ctx;    /* s_open hands this context to the device */
    struct {
        uint8_t bus, address;
        int wait_ms;
        int64_t retry_at;
    } failed[GW_USB_DEVICES_MAX]; /* rescan backoff for devices that fail to open */
    int failed_count;
};

static void s_start_close(gw_usb_dev_t *dev, const char *reason);
static void s_events(gw_usb_t *self, struct timeval *tv);

static gw_usb_dev_t *s_find(gw_usb_t *self, uint8_t bus, uint8_t address)
{
    for (int i = 0; i < self->count; i++)
        if (self->devs[i]->bus == bus && self->devs[i]->address == address)
            return self->devs[i];
    return NULL;
}

static int s_hotplug_cb(libusb_context *ctx, libusb_device *device,
                        libusb_hotplug_event event, void *arg)
{
    (void) ctx;
    gw_usb_t *self = arg;
    if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED) {
        /* no synchronous I/O inside a hotplug callback: open it later */
        if (self->arrived_count < GW_USB_DEVICES_MAX)
            self->arrived[self->arrived_count++] = libusb_ref_device(device);
    } else {
        gw_usb_dev_t *dev = s_find(self, libusb_get_bus_number(device),
                                   libusb_get_device_address(device));
        if (dev)
            dev->left = true;
    }
    return 0;
}

/* Submits the next OUT report (the ACK slot first), if idle. */
static void s_out_next(gw_usb_dev_t *dev)
{
    if (dev->out_busy || dev->closing)
        return;
    if (dev->ack_pending) {
        memcpy(dev->out_buf, dev->ack, sizeof dev->out_buf);
        dev->ack_pending = false;
    } else if (dev->q_count > 0) {
        memcpy(dev->out_buf, dev->queue[dev->q_head], sizeof dev->out_buf);
        dev->q_head = (dev->q_head + 1) % GW_USB_QUEUE;
        dev->q_count--;
    } else {
        return;
    }
    int rc = libusb_submit_transfer(dev->out);
    if (rc != 0) {
        log_warn("usb_out_submit_failed", "serial=%s error=%s", dev->serial,
                 libusb_error_name(rc));
        s_start_close(dev, rc == LIBUSB_ERROR_NO_DEVICE ? "unplugged" : "io_error");
        return;
    }
    dev->out_busy = true;
}

static void LIBUSB_CALL s_in_cb(struct libusb_transfer *t)
{
    gw_usb_dev_t *dev = t->user_data;
    dev->in_busy = false;
    if (dev->closing)
        return;
    switch (t->status) {
    case LIBUSB_TRANSFER_COMPLETED:
        dev->usb->handler.report(dev->usb->owner, dev, t->buffer,
                                 (size_t) t->actual_length);
        break;
    case LIBUSB_TRANSFER_TIMED_OUT:
        break;
    case LIBUSB_TRANSFER_NO_DEVICE:
        s_start_close(dev, "unplugged");
        return;
    default:
        log_warn("usb_in_failed", "serial=%s status=%d", dev->serial, (int) t->status);
        s_start_close(dev, "io_error");
        return;
    }
    if (dev->closing)   /* the handler may have closed nothing, but be safe */
        return;
    int rc = libusb_submit_transfer(t);
    if (rc != 0) {
        log_warn("usb_in_submit_failed", "serial=%s error=%s", dev->serial,
                 libusb_error_name(rc));
        s_start_close(dev, rc == LIBUSB_ERROR_NO_DEVICE ? "unplugged" : "io_error");
        return;
    }
    dev->in_busy = true;
}

static void LIBUSB_CALL s_out_cb(struct libusb_transfer *t)
{
    gw_usb_dev_t *dev = t->user_data;
    dev->out_busy = false;
    if (dev->closing)
        return;
    if (t->status == LIBUSB_TRANSFER_NO_DEVICE) {
        s_start_close(dev, "unplugged");
        return;
    }
    if (t->status != LIBUSB_TRANSFER_COMPLETED)
        log_warn("usb_out_failed", "serial=%s status=%d type=0x%02x", dev->serial,
                 (int) t->status, t->buffer[1]);
    s_out_next(dev);
}

/* Tells the owner once, cancels what is in flight; s_reap frees it later. */
static void s_start_close(gw_usb_dev_t *dev, const char *reason)
{
    if (dev->closing)
        return;
    dev->closing = true;
    dev->reason = reason;
    /* a submitted transfer always comes back through its callback (also
     * when cancelling fails because it just completed or the device is
     * gone), which clears the busy flag; only then is it freed */
    if (dev->in_busy)
        libusb_cancel_transfer(dev->in);
    if (dev->out_busy)
        libusb_cancel_transfer(dev->out);
    log_info("usb_device_closing", "serial=%s bus=%u address=%u reason=%s",
             dev->serial, dev->bus, dev->address, reason);
    dev->usb->handler.detached(dev->usb->owner, dev, reason);
    dev->user = NULL;
}

static void s_free(gw_usb_dev_t *dev)
{
    if (dev->handle) {
        libusb_release_interface(dev->handle, S_INTERFACE);
        libusb_close(dev->handle);
    }
    libusb_free_transfer(dev->in);
    libusb_free_transfer(dev->out);
    libusb_unref_device(dev->device);
    if (dev->own_ctx)
        libusb_exit(dev->own_ctx);
    free(dev);
}

/* Frees closed devices whose transfers libusb has returned. */
static void s_reap(gw_usb_t *self)
{
    for (int i = 0; i < self->count;) {
        gw_usb_dev_t *dev = self->devs[i];
        if (dev->left && !dev->closing)
            s_start_close(dev, "unplugged");
        if (dev->closing && !dev->in_busy && !dev->out_busy) {
            self->devs[i] = self->devs[--self->count];
            s_free(dev);
            continue;
        }
        i++;
    }
}

static bool s_serial_ok(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')
              || (*s >= '0' && *s <= '9') || *s == '-'))
            return false;
    return true;
}

/* Sets up an opened handle: serial, interface, IN transfer. The device is
 * added to the list, or freed on failure (logged). */
static void s_setup(gw_usb_t *self, gw_usb_dev_t *dev)
{
    struct libusb_device_descriptor desc;
    const char *step = "descriptor";
    int rc = libusb_get_device_descriptor(dev->device, &desc);
    if (rc != 0)
        goto err;
    step = "ids";
    if (desc.idVendor != DEVPROTO_VID || desc.idProduct != DEVPROTO_PID) {
        rc = LIBUSB_ERROR_NOT_SUPPORTED;
        goto err;
    }
    step = "serial";
    unsigned char serial[DEVPROTO_SERIAL_MAX + 2];
    rc = desc.iSerialNumber
             ? libusb_get_string_descriptor_ascii(dev->handle, desc.iSerialNumber,
                                                  serial, sizeof serial)
             : LIBUSB_ERROR_NOT_FOUND;
    if (rc < 0)
        goto err;
    serial[rc < (int) sizeof serial ? rc : (int) sizeof serial - 1] = 0;
    if (rc > DEVPROTO_SERIAL_MAX || !s_serial_ok((char *) serial)) {
        rc = LIBUSB_ERROR_INVALID_PARAM;
        goto err;
    }
    memcpy(dev->serial, serial, (size_t) rc + 1);
    step = "detach_kernel_driver";
    if (libusb_kernel_driver_active(dev->handle, S_INTERFACE) == 1) {
        rc = libusb_detach_kernel_driver(dev->handle, S_INTERFACE);
        if (rc != 0 && rc != LIBUSB_ERROR_NOT_FOUND)
            goto err;
    }
    step = "claim_interface";
    rc = libusb_claim_interface(dev->handle, S_INTERFACE);
    if (rc != 0)
        goto err;
    step = "alloc_transfer";
    dev->in = libusb_alloc_transfer(0);
    dev->out = libusb_alloc_transfer(0);
    if (!dev->in || !dev->out) {
        rc = LIBUSB_ERROR_NO_MEM;
        goto err;
    }
    libusb_fill_interrupt_transfer(dev->in, dev->handle, DEVPROTO_EP_IN, dev->in_buf,
                                   sizeof dev->in_buf, s_in_cb, dev, 0);
    libusb_fill_interrupt_transfer(dev->out, dev->handle, DEVPROTO_EP_OUT,
                                   dev->out_buf, sizeof dev->out_buf, s_out_cb, dev,
                                   1000);
    step = "submit_in";
    rc = libusb_submit_transfer(dev->in);
    if (rc != 0)
        goto err;
    dev->in_busy = true;
    self->devs[self->count++] = dev;
    log_info("usb_device_open", "serial=%s bus=%u address=%u", dev->serial, dev->bus,
             dev->address);
    self->handler.attached(self->owner, dev, dev->serial);
    return;
err:
    log_warn("usb_device_open_failed", "bus=%u address=%u step=%s error=%s", dev->bus,
             dev->address, step, libusb_error_name(rc));
    self->open_ctx = dev->own_ctx;   /* back to s_open_found, which ends it */
    dev->own_ctx = NULL;
    s_free(dev);
}

static gw_usb_dev_t *s_dev_new(gw_usb_t *self, uint8_t bus, uint8_t address)
{
    if (self->count == GW_USB_DEVICES_MAX) {
        log_warn("usb_device_refused", "bus=%u address=%u reason=\"more than %d "
                 "devices\"", bus, address, GW_USB_DEVICES_MAX);
        return NULL;
    }
    gw_usb_dev_t *dev = calloc(1, sizeof *dev);
    if (!dev)
        return NULL;
    dev->usb = self;
    dev->bus = bus;
    dev->address = address;
    return dev;
}

/* Opens a device libusb enumerated (hotplug), if it is ours and not open. */
static void s_open(gw_usb_t *self, libusb_device *device)
{
    struct libusb_device_descriptor desc;
    uint8_t bus = libusb_get_bus_number(device);
    uint8_t address = libusb_get_device_address(device);
    if (libusb_get_device_descriptor(device, &desc) != 0
        || desc.idVendor != DEVPROTO_VID || desc.idProduct != DEVPROTO_PID
        || s_find(self, bus, address))
        return;
    gw_usb_dev_t *dev = s_dev_new(self, bus, address);
    if (!dev)
        return;
    dev->device = libusb_ref_device(device);
    dev->own_ctx = self->open_ctx;   /* freed with the device from now on */
    self->open_ctx = NULL;
    int rc = libusb_open(device, &dev->handle);
    if (rc != 0) {
        log_warn("usb_device_open_failed", "bus=%u address=%u step=open error=%s", bus,
                 address, libusb_error_name(rc));
        self->open_ctx = dev->own_ctx;
        dev->own_ctx = NULL;
        s_free(dev);
        return;
    }
    s_setup(self, dev);
}

/* Opens a device the rescan found in sysfs. libusb's device list is a cache
 * kept by hotplug events where hotplug exists, so a device whose events were
 * missed (containers without udev, lost uevents) is not in it: such a device
 * gets a libusb context of its own, whose start enumerates afresh, polled
 * like the main one and ended with the device. */
static void s_open_found(gw_usb_t *self, uint8_t bus, uint8_t address)
{
    for (int pass = 0; pass < 2; pass++) {
        libusb_context *ctx = self->ctx;
        if (pass == 1 && libusb_init(&ctx) != 0) {
            log_warn("usb_rescan_context_failed", "bus=%u address=%u", bus, address);
            return;
        }
        libusb_device **list;
        ssize_t n = libusb_get_device_list(ctx, &list);
        libusb_device *found = NULL;
        for (ssize_t k = 0; k < n && !found; k++)
            if (libusb_get_bus_number(list[k]) == bus
                && libusb_get_device_address(list[k]) == address)
                found = list[k];
        if (found) {
            self->open_ctx = pass == 1 ? ctx : NULL;
            s_open(self, found);
            if (self->open_ctx) {   /* not taken by a device: end it */
                libusb_free_device_list(list, 1);
                libusb_exit(self->open_ctx);
                self->open_ctx = NULL;
                return;
            }
        }
        if (n >= 0)
            libusb_free_device_list(list, 1);
        if (found)
            return;
        if (pass == 1)
            libusb_exit(ctx);
    }
    log_warn("usb_device_not_enumerated", "bus=%u address=%u", bus, address);
}

static int s_read_attr(const char *dir, const char *name, char *buf, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "/sys/bus/usb/devices/%s/%s", dir, name);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char *ok = fgets(buf, (int) size, f);
    fclose(f);
    return ok ? 0 : -1;
}

/* True if the rescan should try (bus, address) now; a device that keeps
 * failing to open (permissions, a broken device) is retried with a backoff
 * from the rescan period to a minute instead of being logged every time. */
static bool s_failed_due(gw_usb_t *self, uint8_t bus, uint8_t address)
{
    for (int i = 0; i < self->failed_count; i++)
        if (self->failed[i].bus == bus && self->failed[i].address == address)
            return clock_mono_ms() >= self->failed[i].retry_at;
    return true;
}

static void s_failed_note(gw_usb_t *self, uint8_t bus, uint8_t address, bool opened)
{
    int i = 0;
    while (i < self->failed_count
           && !(self->failed[i].bus == bus && self->failed[i].address == address))
        i++;
    if (opened) {
        if (i < self->failed_count)
            self->failed[i] = self->failed[--self->failed_count];
        return;
    }
    if (i == self->failed_count) {
        if (self->failed_count == GW_USB_DEVICES_MAX)
            return;
        self->failed_count++;
        self->failed[i].bus = bus;
        self->failed[i].address = address;
        self->failed[i].wait_ms = self->rescan_ms;
    } else {
        self->failed[i].wait_ms = self->failed[i].wait_ms * 2 > 60000
                                      ? 60000 : self->failed[i].wait_ms * 2;
    }
    self->failed[i].retry_at = clock_mono_ms() + self->failed[i].wait_ms;
}

/* The rescan reads sysfs itself: libusb's device list is a cache kept by
 * hotplug events where hotplug exists, so it cannot see what the events
 * missed (containers without udev, lost uevents). */
static void s_rescan(gw_usb_t *self)
{
    DIR *d = opendir("/sys/bus/usb/devices");
    if (!d) {
        log_debug("usb_rescan_failed", "reason=\"no /sys/bus/usb/devices\"");
        return;
    }
    bool seen[GW_USB_DEVICES_MAX] = { false };
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strchr(e->d_name, ':'))
            continue;   /* interfaces are "1-1:1.0" */
        char vid[16], pid[16], busnum[16], devnum[16];
        if (s_read_attr(e->d_name, "idVendor", vid, sizeof vid) < 0
            || s_read_attr(e->d_name, "idProduct", pid, sizeof pid) < 0
            || strtoul(vid, NULL, 16) != DEVPROTO_VID
            || strtoul(pid, NULL, 16) != DEVPROTO_PID
            || s_read_attr(e->d_name, "busnum", busnum, sizeof busnum) < 0
            || s_read_attr(e->d_name, "devnum", devnum, sizeof devnum) < 0)
            continue;
        unsigned long bus = strtoul(busnum, NULL, 10), addr = strtoul(devnum, NULL, 10);
        if (bus < 1 || bus > 255 || addr < 1 || addr > 127)
            continue;
        gw_usb_dev_t *dev = s_find(self, (uint8_t) bus, (uint8_t) addr);
        if (dev) {
            for (int i = 0; i < self->count; i++)
                if (self->devs[i] == dev)
                    seen[i] = true;
            continue;
        }
        if (!s_failed_due(self, (uint8_t) bus, (uint8_t) addr))
            continue;
        s_open_found(self, (uint8_t) bus, (uint8_t) addr);
        bool opened = self->count > 0 && self->devs[self->count - 1]->bus == bus
                      && self->devs[self->count - 1]->address == addr;
        if (opened)
            seen[self->count - 1] = true;
        s_failed_note(self, (uint8_t) bus, (uint8_t) addr, opened);
    }
    closedir(d);
    /* a device that vanished without a hotplug event or an I/O error */
    for (int i = 0; i < self->count; i++)
        if (!seen[i])
            self->devs[i]->left = true;
}

gw_usb_t *gw_usb_new(const gw_usb_handler_t *handler, void *ctx, int rescan_ms)
{
    gw_usb_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->handler = *handler;
    self->owner = ctx;
    self->rescan_ms = rescan_ms > 0 ? rescan_ms : 2000;
    int rc = libusb_init(&self->ctx);
    if (rc != 0) {
        log_error("usb_init_failed", "error=%s", libusb_error_name(rc));
        self->ctx = NULL;
        goto err;
    }
    if (libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
        rc = libusb_hotplug_register_callback(
            self->ctx,
            LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT,
            LIBUSB_HOTPLUG_ENUMERATE, DEVPROTO_VID, DEVPROTO_PID,
            LIBUSB_HOTPLUG_MATCH_ANY, s_hotplug_cb, self, &self->hotplug_handle);
        self->hotplug = rc == 0;
        if (rc != 0)
            log_warn("usb_hotplug_unavailable", "error=%s", libusb_error_name(rc));
    }
    log_info("usb_started", "hotplug=%s rescan_ms=%d", self->hotplug ? "yes" : "no",
             self->rescan_ms);
    return self;
err:
    gw_usb_destroy(&self);
    return NULL;
}

void gw_usb_destroy(gw_usb_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_usb_t *self = *self_p;
    if (self->ctx) {
        for (int i = 0; i < self->count; i++)
            s_start_close(self->devs[i], "shutdown");
        /* let libusb return the cancelled transfers, at most ~1 s */
        for (int round = 0; round < 100; round++) {
            bool busy = false;
            for (int i = 0; i < self->count; i++)
                busy |= self->devs[i]->in_busy || self->devs[i]->out_busy;
            if (!busy)
                break;
            struct timeval tv = { 0, 10000 };
            s_events(self, &tv);
        }
        for (int i = 0; i < self->count; i++) {
            gw_usb_dev_t *dev = self->devs[i];
            if (dev->in_busy || dev->out_busy) {
                /* a transfer libusb never returned: leak it rather than crash */
                log_warn("usb_transfer_stuck", "serial=%s", dev->serial);
                continue;
            }
            s_free(dev);
        }
        self->count = 0;
        for (int i = 0; i < self->arrived_count; i++)
            libusb_unref_device(self->arrived[i]);
        if (self->hotplug)
            libusb_hotplug_deregister_callback(self->ctx, self->hotplug_handle);
        libusb_exit(self->ctx);
    }
    free(self);
    *self_p = NULL;
}

static int s_ctx_pollitems(libusb_context *ctx, zmq_pollitem_t *items, int max)
{
    const struct libusb_pollfd **fds = libusb_get_pollfds(ctx);
    int n = 0;
    for (int i = 0; fds && fds[i] && n < max; i++) {
        items[n].socket = NULL;
        items[n].fd = fds[i]->fd;
        items[n].events = (short) ((fds[i]->events & POLLIN ? ZMQ_POLLIN : 0)
                                   | (fds[i]->events & POLLOUT ? ZMQ_POLLOUT : 0));
        items[n].revents = 0;
        n++;
    }
    libusb_free_pollfds(fds);
    return n;
}

int gw_usb_pollitems(gw_usb_t *self, zmq_pollitem_t *items, int max)
{
    int n = s_ctx_pollitems(self->ctx, items, max);
    for (int i = 0; i < self->count; i++)
        if (self->devs[i]->own_ctx)
            n += s_ctx_pollitems(self->devs[i]->own_ctx, items + n, max - n);
    return n;
}

static int64_t s_ctx_timeout(libusb_context *ctx, int64_t ms)
{
    struct timeval tv;
    if (libusb_get_next_timeout(ctx, &tv) == 1) {
        int64_t t = (int64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
        if (t < ms)
            ms = t;
    }
    return ms;
}

int gw_usb_timeout_ms(gw_usb_t *self)
{
    int64_t ms = self->next_rescan - clock_mono_ms();
    if (ms < 0)
        ms = 0;
    ms = s_ctx_timeout(self->ctx, ms);
    for (int i = 0; i < self->count; i++)
        if (self->devs[i]->own_ctx)
            ms = s_ctx_timeout(self->devs[i]->own_ctx, ms);
    return (int) (ms > 1000 ? 1000 : ms);
}

static void s_events(gw_usb_t *self, struct timeval *tv)
{
    int rc = libusb_handle_events_timeout_completed(self->ctx, tv, NULL);
    if (rc != 0 && rc != LIBUSB_ERROR_INTERRUPTED)
        log_warn("usb_events_failed", "error=%s", libusb_error_name(rc));
    /* callbacks never add devices (hotplug arrivals are queued), so the
     * list is stable here */
    for (int i = 0; i < self->count; i++) {
        if (!self->devs[i]->own_ctx)
            continue;
        struct timeval zero = { 0, 0 };
        libusb_handle_events_timeout_completed(self->devs[i]->own_ctx, &zero, NULL);
    }
}

int gw_usb_handle(gw_usb_t *self)
{
    struct timeval zero = { 0, 0 };
    s_events(self, &zero);
    s_reap(self);
    for (int i = 0; i < self->arrived_count; i++) {
        s_open(self, self->arrived[i]);
        libusb_unref_device(self->arrived[i]);
    }
    self->arrived_count = 0;
    if (clock_mono_ms() >= self->next_rescan) {
        s_rescan(self);
        s_reap(self);
        self->next_rescan = clock_mono_ms() + self->rescan_ms;
    }
    return 0;
}

int gw_usb_send(gw_usb_dev_t *dev, const uint8_t report[DEVPROTO_REPORT_SIZE])
{
    if (dev->closing || dev->q_count == GW_USB_QUEUE)
        return -1;
    memcpy(dev->queue[(dev->q_head + dev->q_count) % GW_USB_QUEUE], report,
           DEVPROTO_REPORT_SIZE);
    dev->q_count++;
    s_out_next(dev);
    return 0;
}

int gw_usb_send_ack(gw_usb_dev_t *dev, const uint8_t report[DEVPROTO_REPORT_SIZE])
{
    if (dev->closing)
        return -1;
    memcpy(dev->ack, report, DEVPROTO_REPORT_SIZE);
    dev->ack_pending = true;
    s_out_next(dev);
    return 0;
}

const char *gw_usb_serial(const gw_usb_dev_t *dev)
{
    return dev->serial;
}

void gw_usb_set_user(gw_usb_dev_t *dev, void *user)
{
    dev->user = user;
}

void *gw_usb_user(const gw_usb_dev_t *dev)
{
    return dev->user;
}

int gw_usb_count(const gw_usb_t *self)
{
    int n = 0;
    for (int i = 0; i < self->count; i++)
        n += !self->devs[i]->closing;
    return n;
}
