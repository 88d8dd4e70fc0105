/*  gw_usb: the rating devices on this host, through libusb-1.0.
 *
 *  Finds devices of DEVPROTO_VID/PID by hotplug callbacks (where libusb has
 *  them) and by a periodic rescan (for hosts without hotplug and missed
 *  events), opens each, reads its serial string, claims interface 0
 *  (detaching a kernel driver) and keeps one asynchronous interrupt IN
 *  transfer submitted. OUT reports go through a small per-device queue, one
 *  asynchronous transfer at a time; an ACK has its own slot that a newer ACK
 *  overwrites, so acks never queue up behind texts.
 *
 *  No thread of its own: the owner polls gw_usb_pollitems together with its
 *  ZeroMQ sockets and calls gw_usb_handle, which runs libusb's event handling
 *  without blocking; every callback of the handler runs inside it. A device
 *  that is unplugged or fails has its transfers cancelled; it is freed once
 *  libusb has returned them. Not thread-safe: one owner thread.
 */
#ifndef EQMS_GW_USB_H
#define EQMS_GW_USB_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "eqms/devproto.h"

#define GW_USB_DEVICES_MAX 128
#define GW_USB_QUEUE       32      /* OUT reports queued per device */

typedef struct gw_usb_t gw_usb_t;
typedef struct gw_usb_dev_t gw_usb_dev_t;

/* What the owner is told; `ctx` is the owner's pointer given to gw_usb_new. */
typedef struct {
    /* A device was opened and its IN transfer is running. */
    void (*attached)(void *ctx, gw_usb_dev_t *dev, const char *serial);
    /* One IN report (len bytes as received; the owner checks the size). */
    void (*report)(void *ctx, gw_usb_dev_t *dev, const uint8_t *buf, size_t len);
    /* The device is gone (`reason`: "unplugged", "io_error", "shutdown");
     * no more calls for it, and dev must not be used after this returns. */
    void (*detached)(void *ctx, gw_usb_dev_t *dev, const char *reason);
} gw_usb_handler_t;

/* Initialises libusb and registers the hotplug callback. `rescan_ms` is the
 * period of the rescan. Returns NULL if libusb cannot start (logged). */
gw_usb_t *gw_usb_new(const gw_usb_handler_t *handler, void *ctx, int rescan_ms);

/* Closes every device (detached with "shutdown"), waits briefly for the
 * cancelled transfers and ends libusb. */
void gw_usb_destroy(gw_usb_t **self_p);

/* Fills up to `max` poll items with libusb's file descriptors. Returns the
 * number used. */
int gw_usb_pollitems(gw_usb_t *self, zmq_pollitem_t *items, int max);

/* Milliseconds until gw_usb_handle must run even if no fd is ready. */
int gw_usb_timeout_ms(gw_usb_t *self);

/* Handles pending USB events without blocking, opens arrived devices,
 * closes departed ones, rescans when due. Returns 0. */
int gw_usb_handle(gw_usb_t *self);

/* Queues a 64-byte OUT report. Returns 0, or -1 if the queue is full or the
 * device is going away. */
int gw_usb_send(gw_usb_dev_t *dev, const uint8_t report[DEVPROTO_REPORT_SIZE]);

/* Sends an ACK report ahead of the queue, replacing one not yet sent. */
int gw_usb_send_ack(gw_usb_dev_t *dev, const uint8_t report[DEVPROTO_REPORT_SIZE]);

const char *gw_usb_serial(const gw_usb_dev_t *dev);

/* The owner's pointer for this device (NULL until set). */
void gw_usb_set_user(gw_usb_dev_t *dev, void *user);
void *gw_usb_user(const gw_usb_dev_t *dev);

/* Devices open now. */
int gw_usb_count(const gw_usb_t *self);

#endif
