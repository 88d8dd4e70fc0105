/*  gw_command: device commands from the bus (`cmd.device.<branch>`) checked
 *  strictly and turned into devproto OUT commands.
 *
 *  data: {"serial": "...", "command": "text"|"stars"|"prompt"|"config"|
 *  "ticket"|"login_reply"|"time"|"staff"|"rate", ...} with exactly the
 *  members of its command (docs/protocol.md, "Device commands"). Text is
 *  converted to GB2312; a character with no GB2312 form becomes "□" and is
 *  counted in `marked`. A text line too long is refused; a teller's name
 *  (staff) is cut to the device's 16 bytes instead (`cut`).
 */
#ifndef EQMS_GW_COMMAND_H
#define EQMS_GW_COMMAND_H

#include <jansson.h>

#include "eqms/devcodec.h"
#include "eqms/envelope.h"
#include "gw_gb2312.h"

#define GW_COMMAND_MAX DEVPROTO_LINES   /* OUT reports one command may need */
#define GW_COMMAND_NAME_MAX 256         /* bytes of UTF-8 in a staff command's name */

typedef struct {
    char serial[DEVPROTO_SERIAL_MAX + 1];
    char command[16];
    int count;                          /* reports in cmds */
    devcodec_cmd_t cmds[GW_COMMAND_MAX];
    int marked;                         /* characters replaced by the marker */
    int cut;                            /* staff: the name was cut to fit the device */
} gw_command_t;

/* Decodes and checks one command; every report in out->cmds encodes. Returns
 * 0, or -1 with a reason (out is then unspecified). */
int gw_command_decode(const json_t *data, gw_gb2312_t *gb, gw_command_t *out,
                      char reason[ENVELOPE_REASON_SIZE]);

/* A LOGIN_REPLY for `name` (UTF-8, converted; truncated to 16 bytes) or a
 * refusal with `reason` (devproto_refusal_t). *marked as above. 0 / -1. */
int gw_command_login_reply(gw_gb2312_t *gb, int accepted, const char *name,
                           int reason, devcodec_cmd_t *out, int *marked);

#endif
