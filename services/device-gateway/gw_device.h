/*  gw_device: what the device gateway knows of each rating device.
 *
 *  One gw_device_t per serial, kept across unplug and replug: its USB
 *  handle while open, its current power-up (boot), the teller's session,
 *  its registry entry, and the acknowledgement it is owed. The table also
 *  decides where a stored event stands in the device's sequence
 *  (gw_device_order) and keeps the sessions across a gateway restart
 *  (<state dir>/sessions.json).
 *
 *  Order rule (docs/protocol.md, "Version skew between firmware and
 *  gateway"): the gateway stores a power-up's events in seq order and
 *  acknowledges only up to the highest seq below which it has stored every
 *  one, so a cumulative ACK never removes from the device an event the
 *  gateway did not keep. The device sends its unacknowledged events oldest
 *  first after every connection and on every resend, so the first stored
 *  event seen of a power-up the outbox has nothing of is the oldest the
 *  device holds.
 *
 *  Not thread-safe: the gateway's loop thread owns it.
 */
#ifndef EQMS_GW_DEVICE_H
#define EQMS_GW_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/devproto.h"
#include "gw_clock.h"
#include "gw_outbox.h"
#include "gw_registry.h"
#include "gw_usb.h"

typedef struct {
    char serial[DEVPROTO_SERIAL_MAX + 1];
    gw_usb_dev_t *usb;              /* NULL while offline */
    bool boot_known;
    uint32_t boot;
    uint32_t last_uptime;           /* as the device last reported it */
    gw_clock_t clock;               /* event time of this power-up */
    char employee[DEVPROTO_EMPLOYEE_MAX + 1];   /* logged in, "" = none */
    int64_t service_start_uptime;   /* -1 = no service running */
    bool online_published;          /* device.online sent for this connection */
    bool has_hello;
    devproto_hello_t hello;
    bool has_reg;                   /* reg holds the registry entry in force */
    gw_registry_device_t reg;
    bool ack_due;                   /* an ACK (ack_boot, ack_upto) is owed */
    uint32_t ack_boot, ack_upto;
    bool floor_known;               /* floor: the first stored seq seen of */
    uint32_t floor_boot, floor;     /* floor_boot on this connection */
    bool unreadable;                /* a report of a version not spoken came on
                                     * this connection: acknowledge nothing */
    bool saved;                     /* session restored from sessions.json */
    uint32_t saved_boot;            /* ... valid only for this power-up */
} gw_device_t;

typedef struct gw_devices_t gw_devices_t;

/* NULL if memory ran out. */
gw_devices_t *gw_devices_new(void);
void gw_devices_destroy(gw_devices_t **self_p);

/* The device with `serial`, created (offline, no session) if `create`;
 * NULL if absent or memory ran out. Borrowed, valid until destroy. */
gw_device_t *gw_devices_get(gw_devices_t *self, const char *serial, bool create);

/* Devices by index 0..count-1, and how many are open now. */
size_t gw_devices_count(const gw_devices_t *self);
gw_device_t *gw_devices_at(gw_devices_t *self, size_t i);
int gw_devices_online(const gw_devices_t *self);

/* Where stored event (boot, dseq) of `dev` stands (gw_device.h's order rule). */
typedef enum {
    GW_DEVICE_STORE,     /* the next one: store it, then acknowledge it */
    GW_DEVICE_REPEAT,    /* stored already: acknowledge it again */
    GW_DEVICE_HOLD       /* a seq before it is missing: neither store nor ack */
} gw_device_order_t;

gw_device_order_t gw_device_order(gw_device_t *dev, const gw_outbox_t *outbox,
                                  uint32_t boot, uint32_t dseq);

/* A new connection (or hello): the first stored event that follows is the
 * oldest the device holds, and an unreadable report before is forgotten
 * (the device sends it again if it still holds it). */
void gw_device_connected(gw_device_t *dev);

/* Owes the device an ACK up to dseq of boot (kept if a higher one of that
 * boot is owed already). */
void gw_device_owe_ack(gw_device_t *dev, uint32_t boot, uint32_t dseq);

/* Forgets every ACK owed: what the last sync covered is not durable. */
void gw_devices_drop_acks(gw_devices_t *self);

/* sessions.json: {"<serial>": {"boot": n, "employee_no": "1001"|null,
 * "service_start_uptime": n|null}, ...}. Soft state written by rename
 * without fsync (a crash of the process keeps it; a power loss may lose the
 * last change, as the device's own session is lost with its power anyway),
 * restored only for the same power-up. Both log what goes wrong. */
void gw_devices_save_sessions(gw_devices_t *self, const char *state_dir);
void gw_devices_load_sessions(gw_devices_t *self, const char *state_dir);

#endif
