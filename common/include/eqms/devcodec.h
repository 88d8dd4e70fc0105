/*  devcodec: encodes and strictly decodes the 64-byte reports of devproto.h.
 *
 *  Plain C99, no heap, no dependencies beyond <string.h>: the firmware core
 *  and the device gateway use this one codec. The structs of devproto.h are
 *  the decoded form; the wire layout is written byte by byte, little-endian.
 */
#ifndef EQMS_DEVCODEC_H
#define EQMS_DEVCODEC_H

#include <stddef.h>
#include <stdint.h>

#include "eqms/devproto.h"

typedef enum {
    DEVCODEC_OK = 0,
    DEVCODEC_ERR_SIZE,       /* not exactly 64 bytes */
    DEVCODEC_ERR_VERSION,    /* another protocol version */
    DEVCODEC_ERR_TYPE,       /* unknown type (or an IN type in an OUT report) */
    DEVCODEC_ERR_LENGTH,     /* payload length wrong for the type */
    DEVCODEC_ERR_RESERVED,   /* reserved header byte not 0 */
    DEVCODEC_ERR_PADDING,    /* non-zero bytes after the payload */
    DEVCODEC_ERR_PAYLOAD,    /* a payload field breaks its rule */
    DEVCODEC_ERR_SEQ         /* stored event with seq 0 or transient with seq != 0 */
} devcodec_err_t;

/* A decoded IN report. */
typedef struct {
    uint8_t type;                 /* devproto_event_t */
    uint32_t seq;
    uint32_t boot;
    uint32_t uptime_ms;
    union {
        devproto_hello_t hello;   /* HELLO */
        devproto_status_t status; /* HEARTBEAT, BUFFER_WARNING */
        devproto_staff_t staff;   /* STAFF_LOGIN, STAFF_LOGOUT */
        devproto_ticket_t ticket; /* CALL/RECALL/PAUSE_REQUEST, SERVICE_START/END */
        devproto_rating_t rating; /* RATING, NOT_RATED */
    } u;
} devcodec_event_t;

/* The header of an IN report, all a report of this version is sure to have
 * (devcodec_decode_header). */
typedef struct {
    uint8_t type;                 /* as sent: maybe a type this codec does not know */
    uint32_t seq;
    uint32_t boot;
    uint32_t uptime_ms;
} devcodec_header_t;

/* A decoded OUT report. */
typedef struct {
    uint8_t type;                 /* devproto_cmd_t */
    uint32_t seq;
    uint32_t boot;
    union {
        devproto_ack_t ack;
        devproto_text_t text;
        devproto_label_t label;
        uint8_t stars;            /* 0..5 */
        uint8_t prompt;           /* devproto_prompt_t */
        devproto_config_t config;
        devproto_show_ticket_t show_ticket;
        devproto_login_reply_t login_reply;
        uint64_t time_ms;
        devproto_set_staff_t set_staff;
        devproto_request_rating_t request_rating;
    } u;
} devcodec_cmd_t;

/* A short English reason for an error code (static string). */
const char *devcodec_strerror(devcodec_err_t err);

/* The first firmware version that understands command type `type`, as
 * (major << 8 | minor): 0x0100 for the types of 1.0, DEVPROTO_FW_LABELS,
 * DEVPROTO_FW_HOST_STAFF; 0 for a type this codec does not know. */
uint16_t devcodec_cmd_firmware(uint8_t type);

/* True for the event types kept in the ring until acknowledged. */
int devcodec_event_is_stored(uint8_t type);

/* Encodes; checks the same rules as the decoder, so nothing malformed is
 * ever sent. Returns DEVCODEC_OK or the rule broken. */
devcodec_err_t devcodec_encode_event(const devcodec_event_t *event,
                                     uint8_t out[DEVPROTO_REPORT_SIZE]);
devcodec_err_t devcodec_encode_cmd(const devcodec_cmd_t *cmd,
                                   uint8_t out[DEVPROTO_REPORT_SIZE]);

/* Decodes strictly (devproto.h lists the rules). On an error `*event` is
 * unspecified and must not be acted on. */
devcodec_err_t devcodec_decode_event(const uint8_t *buf, size_t len,
                                     devcodec_event_t *event);
devcodec_err_t devcodec_decode_cmd(const uint8_t *buf, size_t len,
                                   devcodec_cmd_t *cmd);

/* Reads only the header of an IN report: DEVCODEC_OK with *header if it is
 * 64 bytes of version DEVPROTO_VERSION, else DEVCODEC_ERR_SIZE or
 * DEVCODEC_ERR_VERSION. Type, lengths and payload are not checked: it tells
 * what a report devcodec_decode_event refused was (a stored event of a
 * newer firmware has seq >= 1; docs/protocol.md, "Version skew"). */
devcodec_err_t devcodec_decode_header(const uint8_t *buf, size_t len,
                                      devcodec_header_t *header);

#endif
