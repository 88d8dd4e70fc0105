/*  gw_downlink: reports from the gateway to a device (OUT commands).
 *
 *  Numbers, encodes and queues commands on a device's USB handle (ACKs go
 *  ahead of the queue, gw_usb.h), and builds the ones the gateway sends of
 *  its own accord: the configuration after a hello or a registry change
 *  (SET_CONFIG, the keys' labels, the idle text, SET_TIME) and the LOGIN_REPLY to a staff
 *  login (docs/protocol.md, "Registry"). Failures are logged; the device
 *  keeps working with what it has.
 *
 *  A value type owned by the gateway's loop thread.
 */
#ifndef EQMS_GW_DOWNLINK_H
#define EQMS_GW_DOWNLINK_H

#include <stdbool.h>
#include <stdint.h>

#include "eqms/devcodec.h"
#include "gw_device.h"
#include "gw_gb2312.h"
#include "gw_registry.h"

typedef struct {
    gw_gb2312_t *gb;                /* borrowed: UTF-8 to GB2312 */
    uint32_t seq;                   /* host sequence of OUT reports */
} gw_downlink_t;

/* Sends `cmd` to `dev` (its seq and boot are filled in). 0, or -1 if it
 * cannot be encoded, the device is offline or its queue is full (logged). */
int gw_downlink_send(gw_downlink_t *self, gw_device_t *dev, devcodec_cmd_t *cmd);

/* True if the device's firmware understands OUT reports of `type`
 * (devcodec_cmd_firmware): the types of firmware 1.0 always; a later one
 * only once a hello told a firmware that has it (an older device would
 * reject it as unknown). */
bool gw_downlink_understands(const gw_device_t *dev, uint8_t type);

/* SET_CONFIG, the labels of its keys (firmware that knows SET_LABEL) and
 * the idle text of the device's registry entry (if it has one), then
 * SET_TIME. */
void gw_downlink_config(gw_downlink_t *self, gw_device_t *dev);

/* LOGIN_REPLY to a login of `employee`, when the registry has a staff list:
 * accepted with the name if listed and active, else refused with the
 * reason. */
void gw_downlink_login_reply(gw_downlink_t *self, gw_registry_t *registry,
                             gw_device_t *dev, const char *employee);

#endif
