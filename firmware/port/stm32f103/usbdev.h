/*  usbdev: USB full-speed HID device on the STM32F103's USB cell, register level.
 *
 *  One vendor HID interface (usage page 0xFF00, 64-byte input and output
 *  reports, no report IDs) with interrupt endpoints DEVPROTO_EP_IN (0x81)
 *  and DEVPROTO_EP_OUT (0x01), bInterval DEVPROTO_INTERVAL_MS; identity from
 *  devproto.h. Polled: usbdev_poll() does all the work from the main loop;
 *  the USB interrupt only wakes the CPU (see usbdev_wake_pending). Events
 *  are delivered from inside usbdev_poll() through usbdev_events_t.
 */
#ifndef EQMS_USBDEV_H
#define EQMS_USBDEV_H

#include <stdbool.h>
#include <stdint.h>

#include "eqms/devproto.h"

/* Events up to the board. Both may call usbdev_send(). */
typedef struct {
    void *ctx;
    /* The host configured the device (true) or it was reset, unconfigured
     * or suspended (false). Only called on a change. */
    void (*online)(void *ctx, bool online);
    /* An OUT report (interrupt OUT or HID SET_REPORT); `len` is what the
     * host sent (a well-behaved host sends DEVPROTO_REPORT_SIZE). The
     * buffer is only valid during the call. */
    void (*out_report)(void *ctx, const uint8_t *report, uint32_t len);
} usbdev_events_t;

/* Starts the device: forces a re-enumeration (D+ low for 10 ms or the
 * pull-up GPIO off), powers the USB cell and connects. `serial` (ASCII,
 * at most DEVPROTO_SERIAL_MAX characters) is copied. The events table is
 * copied. Needs the 48 MHz USB clock (board_usb_clock_ok). */
void usbdev_init(const usbdev_events_t *events, const char *serial);

/* Handles everything the USB cell has flagged: bus reset, control
 * transfers, endpoint completions, suspend and resume. */
void usbdev_poll(void);

/* True when the USB interrupt fired since the last usbdev_poll(); the main
 * loop checks it with interrupts disabled before sleeping. */
bool usbdev_wake_pending(void);

/* Queues one 64-byte IN report on 0x81. Returns 0, or -1 when the endpoint
 * still holds the previous report, is halted, or the device is not
 * configured (the caller retries later). Copies the report. */
int usbdev_send(const uint8_t report[DEVPROTO_REPORT_SIZE]);

/* Configured by the host and not suspended. */
bool usbdev_online(void);

#endif
