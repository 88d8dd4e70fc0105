/*  eqms-usbprobe: a small libusb-1.0 client proving the emulated devices look
 *  like hardware. Run it as any libusb program, or against eqms-devsim with
 *  LD_PRELOAD=libumockdev-preload.so.0 UMOCKDEV_DIR=<dir>.
 *
 *  It lists devices by VID/PID, reads each serial string, claims interface 0,
 *  keeps one asynchronous interrupt IN transfer per device, acknowledges
 *  every stored event with an interrupt OUT ACK report, and follows hotplug
 *  arrivals and departures. One line per fact on stdout:
 *
 *    found bus=B dev=D                  (a device with our VID/PID)
 *    open serial=S bus=B dev=D          (serial read, interface claimed)
 *    enumerated count=N                 (devices libusb listed at start)
 *    in serial=S type=0x01 seq=0 boot=X len=64
 *    ack serial=S upto=N
 *    arrived serial=S bus=B dev=D       (hotplug)
 *    left bus=B dev=D                   (hotplug)
 *    gone serial=S                      (its IN transfer ended with NO_DEVICE)
 *    summary in=N acks=N cpu_ms=N wall_ms=N
 *
 *  Usage: eqms-usbprobe [--run-ms N] [--no-ack] [--quiet-in]
 *  Exits 0 after --run-ms (default 3000) or on SIGTERM/SIGINT.
 */
#include <libusb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "eqms/devproto.h"

#define MAX_DEV 256

typedef struct {
    bool used;
    libusb_device_handle *handle;
    libusb_device *dev;
    struct libusb_transfer *in;
    char serial[64];
    uint8_t in_buf[DEVPROTO_REPORT_SIZE];
    uint8_t out_buf[DEVPROTO_REPORT_SIZE];
    struct libusb_transfer *out;
    bool out_busy;
    bool closing;
} probe_dev_t;

static probe_dev_t s_devs[MAX_DEV];
static libusb_device *s_arrived[MAX_DEV];   /* opened after the callback returns */
static int s_arrived_n;
static volatile sig_atomic_t s_stop;
static bool s_ack = true, s_quiet_in;
static unsigned long s_in_count, s_ack_count;
static uint32_t s_out_seq;

static void s_on_signal(int sig)
{
    (void) sig;
    s_stop = 1;
}

static long s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static uint32_t s_le32(const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 |
           (uint32_t) p[3] << 24;
}

static void s_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) v; p[1] = (uint8_t) (v >> 8);
    p[2] = (uint8_t) (v >> 16); p[3] = (uint8_t) (v >> 24);
}

/* Closes a device whose transfers have ended; never from a libusb callback
 * (libusb_close there deadlocks): main calls it after handling events. */
static void s_release(probe_dev_t *d)
{
    if (d->in || d->out_busy)
        return;   /* wait for the transfers to end */
    if (d->out)
        libusb_free_transfer(d->out);
    libusb_release_interface(d->handle, 0);
    libusb_close(d->handle);
    libusb_unref_device(d->dev);
    memset(d, 0, sizeof *d);
}

static void LIBUSB_CALL s_on_out(struct libusb_transfer *t)
{
    probe_dev_t *d = t->user_data;
    d->out_busy = false;
    if (t->status != LIBUSB_TRANSFER_COMPLETED)
        printf("out_error serial=%s status=%d\n", d->serial, t->status);
}

static void s_send_ack(probe_dev_t *d, uint32_t boot, uint32_t upto)
{
    if (d->out_busy || d->closing)
        return;   /* a later event acks this one too */
    uint8_t *r = d->out_buf;
    memset(r, 0, DEVPROTO_REPORT_SIZE);
    r[0] = DEVPROTO_VERSION;
    r[1] = DEVPROTO_CMD_ACK;
    s_put32(r + 2, ++s_out_seq);
    r[14] = DEVPROTO_LEN_ACK;
    s_put32(r + 16, boot);
    s_put32(r + 20, upto);
    libusb_fill_interrupt_transfer(d->out, d->handle, DEVPROTO_EP_OUT, r,
                                   DEVPROTO_REPORT_SIZE, s_on_out, d, 1000);
    if (libusb_submit_transfer(d->out) == 0) {
        d->out_busy = true;
        s_ack_count++;
        printf("ack serial=%s upto=%u\n", d->serial, upto);
    }
}

static void LIBUSB_CALL s_on_in(struct libusb_transfer *t)
{
    probe_dev_t *d = t->user_data;
    if (t->status == LIBUSB_TRANSFER_COMPLETED) {
        const uint8_t *r = t->buffer;
        uint32_t seq = s_le32(r + 2), boot = s_le32(r + 6);
        s_in_count++;
        if (!s_quiet_in)
            printf("in serial=%s type=0x%02x seq=%u boot=%u len=%d\n", d->serial, r[1], seq,
                   boot, t->actual_length);
        if (s_ack && seq > 0 && t->actual_length == DEVPROTO_REPORT_SIZE)
            s_send_ack(d, boot, seq);
        if (!d->closing && libusb_submit_transfer(t) == 0)
            return;
    } else if (t->status == LIBUSB_TRANSFER_NO_DEVICE) {
        printf("gone serial=%s\n", d->serial);
    } else if (t->status != LIBUSB_TRANSFER_CANCELLED) {
        printf("in_error serial=%s status=%d\n", d->serial, t->status);
    }
    libusb_free_transfer(t);
    d->in = NULL;
    d->closing = true;
}

static void s_open(libusb_device *dev)
{
    probe_dev_t *d = NULL;
    for (int i = 0; i < MAX_DEV; i++) {
        if (s_devs[i].used && s_devs[i].dev == dev)
            return;
        if (!d && !s_devs[i].used)
            d = &s_devs[i];
    }
    if (!d)
        return;
    struct libusb_device_descriptor desc;
    if (libusb_get_device_descriptor(dev, &desc) != 0 || desc.idVendor != DEVPROTO_VID ||
        desc.idProduct != DEVPROTO_PID)
        return;
    printf("found bus=%u dev=%u\n", libusb_get_bus_number(dev),
           libusb_get_device_address(dev));
    int r = libusb_open(dev, &d->handle);
    if (r != 0) {
        printf("open_error bus=%u dev=%u err=%s\n", libusb_get_bus_number(dev),
               libusb_get_device_address(dev), libusb_error_name(r));
        return;
    }
    d->used = true;
    d->dev = libusb_ref_device(dev);
    r = libusb_get_string_descriptor_ascii(d->handle, desc.iSerialNumber,
                                           (unsigned char *) d->serial, sizeof d->serial);
    if (r < 0)
        snprintf(d->serial, sizeof d->serial, "?%s", libusb_error_name(r));
    libusb_set_auto_detach_kernel_driver(d->handle, 1);
    r = libusb_claim_interface(d->handle, 0);
    if (r != 0) {
        printf("claim_error serial=%s err=%s\n", d->serial, libusb_error_name(r));
        d->closing = true;
        s_release(d);
        return;
    }
    printf("open serial=%s bus=%u dev=%u\n", d->serial, libusb_get_bus_number(dev),
           libusb_get_device_address(dev));
    d->out = libusb_alloc_transfer(0);
    d->in = libusb_alloc_transfer(0);
    libusb_fill_interrupt_transfer(d->in, d->handle, DEVPROTO_EP_IN, d->in_buf,
                                   DEVPROTO_REPORT_SIZE, s_on_in, d, 0);
    if (libusb_submit_transfer(d->in) != 0) {
        printf("submit_error serial=%s\n", d->serial);
        libusb_free_transfer(d->in);
        d->in = NULL;
        d->closing = true;
        s_release(d);
    }
}

static int LIBUSB_CALL s_on_hotplug(libusb_context *ctx, libusb_device *dev,
                                    libusb_hotplug_event event, void *user)
{
    (void) ctx;
    (void) user;
    if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED) {
        printf("arrived bus=%u dev=%u\n", libusb_get_bus_number(dev),
               libusb_get_device_address(dev));
        if (s_arrived_n < MAX_DEV)
            s_arrived[s_arrived_n++] = libusb_ref_device(dev);
    } else {
        printf("left bus=%u dev=%u\n", libusb_get_bus_number(dev),
               libusb_get_device_address(dev));
        for (int i = 0; i < MAX_DEV; i++) {
            probe_dev_t *d = &s_devs[i];
            if (d->used && d->dev == dev && !d->closing) {
                d->closing = true;
                if (d->in)
                    libusb_cancel_transfer(d->in);
            }
        }
    }
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv)
{
    long run_ms = 3000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--run-ms") && i + 1 < argc)
            run_ms = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--no-ack"))
            s_ack = false;
        else if (!strcmp(argv[i], "--quiet-in"))
            s_quiet_in = true;
        else {
            fprintf(stderr, "usage: eqms-usbprobe [--run-ms N] [--no-ack] [--quiet-in]\n");
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGTERM, s_on_signal);
    signal(SIGINT, s_on_signal);

    libusb_context *ctx;
    if (libusb_init(&ctx) != 0) {
        fprintf(stderr, "libusb_init failed\n");
        return 1;
    }
    if (!libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG))
        printf("no_hotplug\n");
    libusb_hotplug_callback_handle hp;
    if (libusb_hotplug_register_callback(ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED |
                                         LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0, DEVPROTO_VID,
                                         DEVPROTO_PID, LIBUSB_HOTPLUG_MATCH_ANY, s_on_hotplug,
                                         NULL, &hp) != 0)
        printf("hotplug_register_failed\n");

    libusb_device **list;
    ssize_t n = libusb_get_device_list(ctx, &list);
    for (ssize_t i = 0; i < n; i++) {
        struct libusb_device_descriptor desc;
        if (libusb_get_device_descriptor(list[i], &desc) == 0 &&
            desc.idVendor == DEVPROTO_VID && desc.idProduct == DEVPROTO_PID)
            s_open(list[i]);
    }
    libusb_free_device_list(list, 1);
    printf("enumerated count=%zd\n", n);

    long start = s_now_ms();
    while (!s_stop && s_now_ms() - start < run_ms) {
        struct timeval tv = { 0, 100000 };
        libusb_handle_events_timeout_completed(ctx, &tv, NULL);
        for (int i = 0; i < MAX_DEV; i++)
            if (s_devs[i].used && s_devs[i].closing)
                s_release(&s_devs[i]);
        while (s_arrived_n > 0) {
            libusb_device *dev = s_arrived[--s_arrived_n];
            s_open(dev);
            libusb_unref_device(dev);
        }
    }
    for (int i = 0; i < MAX_DEV; i++) {
        probe_dev_t *d = &s_devs[i];
        if (d->used && !d->closing) {
            d->closing = true;
            if (d->in)
                libusb_cancel_transfer(d->in);
        }
    }
    for (int k = 0; k < 20; k++) {
        bool busy = false;
        for (int i = 0; i < MAX_DEV; i++)
            if (s_devs[i].used && (s_devs[i].in || s_devs[i].out_busy))
                busy = true;
        if (!busy)
            break;
        struct timeval tv = { 0, 50000 };
        libusb_handle_events_timeout_completed(ctx, &tv, NULL);
    }
    for (int i = 0; i < MAX_DEV; i++)
        if (s_devs[i].used)
            s_release(&s_devs[i]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long cpu = ru.ru_utime.tv_sec * 1000L + ru.ru_utime.tv_usec / 1000 +
               ru.ru_stime.tv_sec * 1000L + ru.ru_stime.tv_usec / 1000;
    printf("summary in=%lu acks=%lu cpu_ms=%ld wall_ms=%ld\n", s_in_count, s_ack_count, cpu,
           s_now_ms() - start);
    libusb_hotplug_deregister_callback(ctx, hp);
    libusb_exit(ctx);
    return 0;
}
