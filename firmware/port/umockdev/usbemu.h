/*  usbemu: emulated USB rating devices that libusb cannot tell from hardware.
 *
 *  One UMockdevTestbed holds every device: a usb_device in sysfs (busnum,
 *  devnum, speed, the binary `descriptors` attribute libusb reads, dev=189:n,
 *  idVendor/idProduct/serial, ...), a /dev/bus/usb/BBB/DDD node and a
 *  UMockdevIoctlBase answering the usbdevfs ioctls libusb issues (capabilities,
 *  claim/release, set configuration/interface, control transfers, interrupt
 *  IN/OUT URBs with submit/reap/discard, connect info, speed, reset, clear
 *  halt, driver queries). Plug and unplug send uevents, so a libusb hotplug
 *  callback fires in the client process.
 *
 *  The client (libusb) runs in another process with LD_PRELOAD=
 *  libumockdev-preload.so.0 and UMOCKDEV_DIR=usbemu_dir(). This process needs
 *  the preload library too (eqms-devsim re-executes itself with it): umockdev
 *  builds uevents by reading the testbed's sysfs through libudev, which sees
 *  the testbed only through the preload. Without it there is no hotplug.
 *
 *  Waiting without busy polling: libusb polls the usbfs fd for POLLOUT, which
 *  the kernel raises while a completed URB waits to be reaped. Our device
 *  node is a FIFO shrunk to one pipe buffer and holding one byte while no URB
 *  is reapable, so POLLOUT is clear; completing a URB drains the byte (POLLOUT
 *  set), reaping the last one writes it back. Every ioctl answers at once.
 *
 *  Threads: the ioctl handlers run in the testbed's worker thread. Device
 *  callbacks (usbemu_dev_ops_t) are called with the emulator lock held;
 *  everything a caller does to a device (usbemu_send_in, its firmware) must
 *  hold it too: usbemu_lock/usbemu_unlock (recursive).
 */
#ifndef EQMS_USBEMU_H
#define EQMS_USBEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct usbemu_t usbemu_t;

/* What a device does when the host talks to it; called with the lock held,
 * from any thread. */
typedef struct {
    void *ctx;
    /* An OUT report arrived (interrupt OUT or HID SET_REPORT). */
    void (*out_report)(void *ctx, const uint8_t *report, size_t len);
    /* The host configured the device (true: plug, SET_CONFIGURATION, reset)
     * or it went away (false: unplug, reset). */
    void (*connected)(void *ctx, bool connected);
} usbemu_dev_ops_t;

/* Creates the testbed (a fresh UMOCKDEV_DIR) for up to `max_devices`
 * devices. Returns NULL on failure (logged). */
usbemu_t *usbemu_new(size_t max_devices);

/* Unplugs every device and removes the testbed. Accepts NULL. */
void usbemu_destroy(usbemu_t **self_p);

/* The testbed's root: UMOCKDEV_DIR for clients. Owned by self. */
const char *usbemu_dir(const usbemu_t *self);

void usbemu_lock(usbemu_t *self);
void usbemu_unlock(usbemu_t *self);

/* Describes device slot `index` (< max_devices): its serial (ASCII
 * [A-Za-z0-9-], at most 32) and callbacks. Call once per slot before
 * plugging it. Returns 0 or -1. */
int usbemu_define(usbemu_t *self, size_t index, const char *serial,
                  const usbemu_dev_ops_t *ops);

/* Plugs the device in: sysfs entry, node, ioctl handler, "add" uevent, then
 * ops.connected(true). A replug gets a new device number, as on real
 * hardware. Returns 0, or -1 if it is plugged already or setup failed. */
int usbemu_plug(usbemu_t *self, size_t index);

/* Unplugs: "remove" uevent, ops.connected(false), pending URBs complete with
 * -ESHUTDOWN, later ioctls fail with ENODEV. Returns 0, or -1 if not plugged. */
int usbemu_unplug(usbemu_t *self, size_t index);

bool usbemu_plugged(usbemu_t *self, size_t index);

/* Queues one IN report (the endpoint's single buffer, like the chip's):
 * completes a waiting IN URB at once or when the host submits one. Returns
 * 0, or -1 if the buffer is still full or the device is not plugged. Any
 * length up to 64 bytes (a test may send malformed reports). Lock held. */
int usbemu_send_in(usbemu_t *self, size_t index, const uint8_t *report, size_t len);

/* Counters of one device, for the control endpoint. */
typedef struct {
    unsigned busnum, devnum;      /* 0 when unplugged */
    uint64_t in_reports;          /* IN reports delivered to the host */
    uint64_t out_reports;         /* OUT reports received */
    uint64_t ioctls;
    unsigned clients;             /* open usbfs handles */
    unsigned pending_in;          /* IN URBs waiting for data */
} usbemu_stats_t;

usbemu_stats_t usbemu_stats(usbemu_t *self, size_t index);

/* The device's descriptors as in sysfs `descriptors` (device + config),
 * for tests; returns the length written (<= size). */
size_t usbemu_descriptors(uint8_t *buf, size_t size);

#endif
