/*  gw_server: the device gateway service, run in-process by main and tests.
 *
 *  One thread of its own runs a single loop: zmq_poll over the bus SUB
 *  socket and libusb's file descriptors, then libusb's event handling
 *  without blocking (gw_usb), then the bus messages, then timers. Every
 *  report decoded in one pass is appended to the outbox, the outbox is
 *  fsync'd once, and only then are the events published and the devices
 *  acknowledged (group commit); after a failed sync nothing is acknowledged
 *  until the outbox has restarted from its journal (gw_outbox.h). One thread
 *  owns libusb, the bus_t, the outbox, the device table (gw_device.h) and the
 *  registry, so none of them needs a lock; the health check only reads a
 *  syscall and an atomic flag. Parts: gw_device (the devices, the order of
 *  their events), gw_clock (event time), gw_event (payloads), gw_outbox (the
 *  journal), gw_relay (the outbox on the bus: publish, replay, acks),
 *  gw_downlink (commands to devices), gw_registry, gw_command, gw_usb.
 *
 *  Bus: subscribes to ack.ingest.<branch>, replay.request.<branch>,
 *  registry.snapshot.<branch> and cmd.device.<branch>; publishes the device events of gw_event, the
 *  registry requests and nothing else (docs/protocol.md).
 */
#ifndef EQMS_GW_SERVER_H
#define EQMS_GW_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "eqms/metrics.h"

typedef struct {
    const char *bus_pub;            /* forwarder XSUB endpoint */
    const char *bus_sub;            /* forwarder XPUB endpoint */
    const char *gateway_id;         /* envelope src of everything published */
    const char *branch;             /* branch org path, e.g. hq.r01.b0001 */
    const char *state_dir;          /* outbox journal and registry cache */
    int rescan_ms;                  /* USB rescan period */
    int replay_min_ms;              /* first replay of an unacked event (5000) */
    int replay_max_ms;              /* longest replay backoff (300000) */
    int registry_retry_ms;          /* registry request until answered (15000) */
    int registry_refresh_ms;        /* registry request once answered (600000) */
    bool usb;                       /* false: no libusb at all (tests) */
} gw_server_config_t;

typedef struct gw_server_t gw_server_t;

/* Opens the outbox and the registry cache, connects to the bus and starts
 * the thread. `metrics` is borrowed (may be NULL) and must outlive the
 * server. Returns NULL (logged) on a bad config or an unusable state dir. */
gw_server_t *gw_server_new(const gw_server_config_t *cfg, metrics_t *metrics);

/* Stops the thread: every open device is published offline (reason
 * "shutdown"), the outbox synced and the devices closed. */
void gw_server_destroy(gw_server_t **self_p);

/* health_check_fn: fails if the state dir is not writable or the outbox
 * could not be written. */
int gw_server_health_check(void *ctx, char *reason, size_t size);

#endif
