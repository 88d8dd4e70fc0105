/*  gw_event: the bus payload (envelope data) of each device event.
 *
 *  Every gateway event carries the same context members (serial, boot,
 *  device_seq, uptime_ms, received, event_time, window, branch, employee_no,
 *  ticket) plus those of its type; docs/protocol.md lists them. The
 *  topic is <type>.<window org path>, or <type>.<branch path> for a device
 *  the registry does not assign (window null): its events are kept.
 */
#ifndef EQMS_GW_EVENT_H
#define EQMS_GW_EVENT_H

#include <jansson.h>
#include <stdint.h>

#include "eqms/devcodec.h"
#include "eqms/envelope.h"
#include "gw_registry.h"

typedef struct {
    const char *serial;
    const char *branch;                  /* the gateway's branch path */
    const gw_registry_device_t *reg;     /* NULL = unassigned */
    const char *employee_no;             /* logged in on the device, or NULL */
    int64_t received_ms;                 /* gateway receive time, UTC ms */
    int64_t event_ms;                    /* when it happened on the device, UTC ms */
    int64_t duration_ms;                 /* service.end: Start -> End, -1 unknown */
} gw_event_ctx_t;

/* Builds the event of decoded report `ev`. Writes its type and org path and
 * sets *data_p (a new object the caller owns). Returns 0, 1 if the report
 * is not published as an event (hello, heartbeat, buffer warning), -1 if
 * the data cannot be built. */
int gw_event_build(const gw_event_ctx_t *ctx, const devcodec_event_t *ev,
                   char type[ENVELOPE_TYPE_MAX + 1],
                   char path[GW_REGISTRY_PATH_MAX + 1], json_t **data_p);

/* Builds device.report_rejected: a stored event (header `h`) this gateway
 * cannot decode, its 64 bytes `report` as hex and the decoder's `reason`.
 * Same return and outputs as gw_event_device (the type is known). */
int gw_event_rejected(const gw_event_ctx_t *ctx, const devcodec_header_t *h,
                      const uint8_t report[DEVPROTO_REPORT_SIZE], const char *reason,
                      char path[GW_REGISTRY_PATH_MAX + 1], json_t **data_p);

/* Builds device.online (from `hello`, may be NULL), device.offline (with
 * `reason`), device.assigned or device.unassigned data for a device with last
 * known boot and uptime. Same return and outputs as gw_event_build, without
 * the 1. */
int gw_event_device(const gw_event_ctx_t *ctx, const char *type, uint32_t boot,
                    uint32_t uptime_ms, const devproto_hello_t *hello,
                    const char *reason, char path[GW_REGISTRY_PATH_MAX + 1],
                    json_t **data_p);

#endif
