/*  devproto: the USB report protocol of the EQMS rating device, version 1.
 *
 *  Shared by the firmware (firmware/core) and the device gateway; plain C99,
 *  no dependencies, no heap. docs/protocol.md ("Rating device") is the
 *  written contract; change it first, then this header.
 *
 *  USB full-speed HID, vendor usage page 0xFF00, no report IDs. Every report
 *  is exactly 64 bytes, on interrupt endpoints 0x81 (IN) and 0x01 (OUT).
 *  VID 0x1209 (pid.codes), PID DEVPROTO_PID; the iSerialNumber string is the
 *  device's unique serial (e.g. "EQ-B0001-W01").
 *
 *  Report layout, all integers little-endian:
 *    0      version        DEVPROTO_VERSION
 *    1      type           devproto_event_t (IN) or devproto_cmd_t (OUT)
 *    2..5   seq            IN: device event sequence (>= 1 for stored
 *                          events, 0 for transient ones); OUT: host sequence
 *    6..9   boot           IN: random id of this power-up; OUT: 0, or the
 *                          boot id the command is meant for
 *    10..13 uptime_ms      IN: device uptime when the event happened; OUT: 0
 *    14     length         payload bytes used, 0..DEVPROTO_PAYLOAD_MAX
 *    15     reserved       0
 *    16..63 payload        type-specific (below); unused bytes are 0
 *
 *  A receiver rejects (counts, never acts on) a report that is not 64 bytes,
 *  has another version, an unknown type, a length over the maximum or not the
 *  exact length its type requires, a non-zero reserved byte or non-zero bytes
 *  after the payload, or a payload that breaks its type's rules.
 *
 *  Stored events (seq >= 1) are kept in the device's ring until the host
 *  acknowledges them (DEVPROTO_CMD_ACK) and are sent again after a
 *  reconnect: the host deduplicates on (serial, boot, seq). Transient reports
 *  (hello, heartbeat, buffer warning) have seq 0 and are never acknowledged.
 */
#ifndef EQMS_DEVPROTO_H
#define EQMS_DEVPROTO_H

#include <stdint.h>

#define DEVPROTO_VERSION      1
#define DEVPROTO_VID          0x1209
#define DEVPROTO_PID          0xE351   /* see docs/protocol.md on its allocation */
#define DEVPROTO_REPORT_SIZE  64
#define DEVPROTO_HEADER_SIZE  16
#define DEVPROTO_PAYLOAD_MAX  (DEVPROTO_REPORT_SIZE - DEVPROTO_HEADER_SIZE)
#define DEVPROTO_EP_IN        0x81
#define DEVPROTO_EP_OUT       0x01
#define DEVPROTO_INTERVAL_MS  4        /* bInterval of both endpoints */
#define DEVPROTO_SERIAL_MAX   32       /* iSerialNumber, ASCII [A-Za-z0-9-] */

#define DEVPROTO_EMPLOYEE_MAX 16       /* employee number: ASCII digits */
#define DEVPROTO_TICKET_MAX   8        /* ticket number: ASCII, e.g. "A012" */
#define DEVPROTO_KEYS_MAX     6        /* rating keys */
#define DEVPROTO_LINES        4        /* LCD text lines */
#define DEVPROTO_LINE_BYTES   16       /* one line: 8 GB2312 characters */
#define DEVPROTO_NAME_BYTES   16       /* a teller's name in GB2312 */

/* --- IN: events from the device ------------------------------------------ */
typedef enum {
    DEVPROTO_EV_HELLO          = 0x01, /* transient: after enumeration */
    DEVPROTO_EV_HEARTBEAT      = 0x02, /* transient: every 5 s */
    DEVPROTO_EV_BUFFER_WARNING = 0x03, /* transient: ring nearly full */
    DEVPROTO_EV_STAFF_LOGIN    = 0x10,
    DEVPROTO_EV_STAFF_LOGOUT   = 0x11,
    DEVPROTO_EV_CALL_REQUEST   = 0x20, /* teller pressed Call (next) */
    DEVPROTO_EV_RECALL_REQUEST = 0x21,
    DEVPROTO_EV_PAUSE_REQUEST  = 0x22,
    DEVPROTO_EV_SERVICE_START  = 0x30, /* teller pressed Start */
    DEVPROTO_EV_SERVICE_END    = 0x31, /* teller pressed End */
    DEVPROTO_EV_RATING         = 0x40, /* customer pressed a rating key */
    DEVPROTO_EV_NOT_RATED      = 0x41  /* rating timeout passed */
} devproto_event_t;

/* Capability bits of the hello event. */
#define DEVPROTO_CAP_LCD    0x0001
#define DEVPROTO_CAP_VOICE  0x0002
#define DEVPROTO_CAP_STARS  0x0004
#define DEVPROTO_CAP_KEYPAD 0x0008
#define DEVPROTO_CAP_CLOCK  0x0010

/* HELLO payload, 12 bytes. */
typedef struct {
    uint8_t fw_major, fw_minor, fw_patch;
    uint8_t key_count;          /* rating keys fitted, 2..6 */
    uint16_t capabilities;      /* DEVPROTO_CAP_* */
    uint16_t ring_capacity;     /* stored events the ring can hold */
    uint16_t ring_used;         /* unacknowledged events in the ring */
    uint16_t refused;           /* key presses refused because the ring was full */
} devproto_hello_t;

/* HEARTBEAT and BUFFER_WARNING payload, 6 bytes. */
typedef struct {
    uint16_t ring_used;
    uint16_t ring_capacity;
    uint8_t state;              /* devproto_state_t */
    uint8_t staff_logged_in;    /* 0 or 1 */
} devproto_status_t;

/* Device states, as reported in heartbeats. */
typedef enum {
    DEVPROTO_STATE_NO_STAFF = 0,
    DEVPROTO_STATE_IDLE,
    DEVPROTO_STATE_SERVING,
    DEVPROTO_STATE_AWAIT_RATING,
    DEVPROTO_STATE_THANKS,
    DEVPROTO_STATE_PAUSED
} devproto_state_t;

/* STAFF_LOGIN / STAFF_LOGOUT payload: 1 + n bytes, n = 1..16 ASCII digits. */
typedef struct {
    uint8_t length;
    char employee_no[DEVPROTO_EMPLOYEE_MAX];
} devproto_staff_t;

/* SERVICE_START / SERVICE_END / CALL / RECALL / PAUSE payload: the ticket
 * shown on the device when the key was pressed (length 0 = none; a walk-in)
 * and, for PAUSE, a reason code. 10 bytes. */
typedef struct {
    uint8_t ticket_length;
    char ticket[DEVPROTO_TICKET_MAX];   /* ASCII [A-Z0-9], e.g. "A012" */
    uint8_t reason;                     /* PAUSE: 1..9 from the keypad, else 0 */
} devproto_ticket_t;

/* RATING / NOT_RATED payload, 14 bytes. */
typedef struct {
    uint8_t option_code;        /* RATING: code of the key pressed, 1..6; NOT_RATED: 0 */
    uint8_t ticket_length;
    char ticket[DEVPROTO_TICKET_MAX];
    uint32_t service_ms;        /* Start -> End of the rated service; 0 if unknown */
} devproto_rating_t;

/* --- OUT: commands to the device ------------------------------------------ */
typedef enum {
    DEVPROTO_CMD_ACK            = 0x81, /* events up to seq are safe */
    DEVPROTO_CMD_SET_TEXT       = 0x82, /* a line of the LCD */
    DEVPROTO_CMD_SET_STARS      = 0x83, /* star grade 0..5 */
    DEVPROTO_CMD_PLAY_PROMPT    = 0x84, /* a voice prompt */
    DEVPROTO_CMD_SET_CONFIG     = 0x85, /* timing and rating keys */
    DEVPROTO_CMD_SHOW_TICKET    = 0x86, /* the ticket being served */
    DEVPROTO_CMD_LOGIN_REPLY    = 0x87, /* staff login accepted or refused */
    DEVPROTO_CMD_SET_TIME       = 0x88, /* wall clock */
    DEVPROTO_CMD_SET_LABEL      = 0x89, /* a rating key's label (firmware 1.1) */
    DEVPROTO_CMD_SET_STAFF      = 0x8A, /* the teller the host logged in (firmware 1.2) */
    DEVPROTO_CMD_REQUEST_RATING = 0x8B  /* the host ended a service: ask for a rating (1.2) */
} devproto_cmd_t;

/* The firmware version that first understands each command type (an older
 * device rejects the type as unknown, so the host must not send it there):
 * 1.0 every type up to SET_TIME, 1.1 SET_LABEL, 1.2 SET_STAFF and
 * REQUEST_RATING. devcodec_cmd_firmware() gives it as (major << 8 | minor). */
#define DEVPROTO_FW_LABELS     0x0101
#define DEVPROTO_FW_HOST_STAFF 0x0102

/* ACK payload, 8 bytes: every stored event of power-up `boot` with
 * seq <= upto may leave the ring. An ACK for another boot is ignored. */
typedef struct {
    uint32_t boot;
    uint32_t upto;
} devproto_ack_t;

/* SET_TEXT payload, 3 + n bytes: n = 0..16 bytes of GB2312 (0 clears the
 * line). target 0 = show now until the state changes, 1 = the idle screen
 * (promotional or courtesy text, kept). Bytes must be printable ASCII or
 * GB2312 double-byte characters (both bytes 0xA1..0xFE). */
typedef struct {
    uint8_t target;
    uint8_t line;               /* 0..3 */
    uint8_t length;
    uint8_t text[DEVPROTO_LINE_BYTES];
} devproto_text_t;

/* SET_LABEL payload, 2 + n bytes: the label of rating key `key` (0..5,
 * left to right), n = 0..16 bytes of text as SET_TEXT's (0: no label).
 * The device shows the labelled keys in use while a rating is awaited. */
typedef struct {
    uint8_t key;
    uint8_t length;
    uint8_t text[DEVPROTO_LINE_BYTES];
} devproto_label_t;

/* SET_STAFF payload, 34 bytes: the teller the host logged in at this
 * window (employee_length 1..16 digits, zero after them, and the name as
 * LOGIN_REPLY's: 0..16 bytes of text, zero after it), or nobody: the host
 * logged the teller out (employee_length 0; the name is then empty too).
 * Offsets: 0 employee_length, 1 employee_no, 17 name_length, 18 name. */
typedef struct {
    uint8_t employee_length;        /* 0 = nobody */
    char employee_no[DEVPROTO_EMPLOYEE_MAX];
    uint8_t name_length;            /* GB2312 bytes, 0..16 */
    uint8_t name[DEVPROTO_NAME_BYTES];
} devproto_set_staff_t;

/* REQUEST_RATING payload, 9 bytes: the ticket of the service the host
 * ended (the ticket field's rules; length 0 = none). */
typedef struct {
    uint8_t ticket_length;
    char ticket[DEVPROTO_TICKET_MAX];
} devproto_request_rating_t;

/* SET_STARS payload, 1 byte: 0..5. */
/* PLAY_PROMPT payload, 1 byte: devproto_prompt_t. */
typedef enum {
    DEVPROTO_PROMPT_WELCOME     = 1,  /* 欢迎光临 */
    DEVPROTO_PROMPT_PLEASE_RATE = 2,  /* 您好，请对我的服务进行评价 */
    DEVPROTO_PROMPT_THANKS      = 3,  /* 谢谢您的评价 */
    DEVPROTO_PROMPT_ERROR       = 4,  /* a short error tone */
    DEVPROTO_PROMPT_MAX         = 4
} devproto_prompt_t;

/* SET_CONFIG payload, 11 bytes. */
typedef struct {
    uint16_t rating_timeout_s;      /* 5..300 */
    uint16_t repeat_press_s;        /* 0..600 */
    uint8_t key_count;              /* 2..6, at most the keys fitted */
    uint8_t key_codes[DEVPROTO_KEYS_MAX]; /* code sent for key i, 1..6, distinct */
} devproto_config_t;

/* SHOW_TICKET payload, 10 bytes: length 0 clears it. */
typedef struct {
    uint8_t ticket_length;
    char ticket[DEVPROTO_TICKET_MAX];
    uint8_t window_number;          /* 1..255, 0 = not shown */
} devproto_show_ticket_t;

/* LOGIN_REPLY payload, 19 bytes. */
typedef struct {
    uint8_t accepted;               /* 1 accepted, 0 refused */
    uint8_t name_length;            /* GB2312 bytes, 0..16 */
    uint8_t name[DEVPROTO_NAME_BYTES];
    uint8_t reason;                 /* refused: devproto_refusal_t */
} devproto_login_reply_t;

typedef enum {
    DEVPROTO_REFUSED_NONE = 0,
    DEVPROTO_REFUSED_UNKNOWN_STAFF = 1,
    DEVPROTO_REFUSED_INACTIVE = 2,
    DEVPROTO_REFUSED_LOGGED_IN_ELSEWHERE = 3   /* the gateway logs the other out */
} devproto_refusal_t;

/* SET_TIME payload, 8 bytes: Unix time in ms (UTC). */

/* Exact payload length of each type, or -1 for a variable length with the
 * given bounds; used by both codecs. */
#define DEVPROTO_LEN_HELLO          12
#define DEVPROTO_LEN_STATUS         6
#define DEVPROTO_LEN_TICKET         10
#define DEVPROTO_LEN_RATING         14
#define DEVPROTO_LEN_ACK            8
#define DEVPROTO_LEN_STARS          1
#define DEVPROTO_LEN_PROMPT         1
#define DEVPROTO_LEN_CONFIG         11
#define DEVPROTO_LEN_SHOW_TICKET    10
#define DEVPROTO_LEN_LOGIN_REPLY    19
#define DEVPROTO_LEN_TIME           8
#define DEVPROTO_LEN_SET_STAFF      34
#define DEVPROTO_LEN_REQUEST_RATING 9
/* STAFF_*: 2..17 (1 + employee number); SET_TEXT: 3..19 (3 + text);
 * SET_LABEL: 2..18 (2 + text). */

#endif
