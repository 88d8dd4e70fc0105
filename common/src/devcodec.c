/*  devcodec: encoder and strict decoder of the rating device's 64-byte reports (devcodec.h). */
#include "eqms/devcodec.h"

#include <string.h>

/* Known capability bits of the hello event; others are rejected. */
#define S_CAPS_KNOWN (DEVPROTO_CAP_LCD | DEVPROTO_CAP_VOICE | DEVPROTO_CAP_STARS \
                      | DEVPROTO_CAP_KEYPAD | DEVPROTO_CAP_CLOCK)

/* --- little-endian helpers ------------------------------------------------ */

static void s_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
}

static void s_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
    p[2] = (uint8_t) (v >> 16);
    p[3] = (uint8_t) (v >> 24);
}

static uint16_t s_get16(const uint8_t *p)
{
    return (uint16_t) (p[0] | (p[1] << 8));
}

static uint32_t s_get32(const uint8_t *p)
{
    return (uint32_t) p[0] | ((uint32_t) p[1] << 8) | ((uint32_t) p[2] << 16)
           | ((uint32_t) p[3] << 24);
}

/* --- field rules ---------------------------------------------------------- */

/* 1 if `n` bytes are ASCII digits. */
static int s_digits_ok(const uint8_t *p, uint8_t n)
{
    for (uint8_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    return 1;
}

/* 1 if `n` bytes are [A-Z0-9]. */
static int s_ticket_chars_ok(const uint8_t *p, uint8_t n)
{
    for (uint8_t i = 0; i < n; i++)
        if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9')))
            return 0;
    return 1;
}

/* 1 if `n` bytes are printable ASCII or whole GB2312 pairs (0xA1..0xFE). */
static int s_text_ok(const uint8_t *p, uint8_t n)
{
    uint8_t i = 0;
    while (i < n) {
        if (p[i] >= 0x20 && p[i] <= 0x7E)
            i++;
        else if (p[i] >= 0xA1 && p[i] <= 0xFE && i + 1 < n
                 && p[i + 1] >= 0xA1 && p[i + 1] <= 0xFE)
            i += 2;
        else
            return 0;
    }
    return 1;
}

/* 1 if the `n` bytes are all zero. */
static int s_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* A ticket field: length byte at p[0], DEVPROTO_TICKET_MAX bytes after it,
 * unused ones 0. Copies into `len`/`out` (zero-filled). */
static int s_ticket_get(const uint8_t *p, uint8_t *len, char *out)
{
    uint8_t n = p[0];
    if (n > DEVPROTO_TICKET_MAX || !s_ticket_chars_ok(p + 1, n)
        || !s_zero(p + 1 + n, (size_t) (DEVPROTO_TICKET_MAX - n)))
        return -1;
    *len = n;
    memset(out, 0, DEVPROTO_TICKET_MAX);
    memcpy(out, p + 1, n);
    return 0;
}

/* Writes a ticket field; bytes past the length are written as 0. The
 * decoder checks the rules afterwards. */
static void s_ticket_put(uint8_t *p, uint8_t len, const char *ticket)
{
    p[0] = len;
    if (len <= DEVPROTO_TICKET_MAX)
        memcpy(p + 1, ticket, len);
}

/* --- type tables ---------------------------------------------------------- */

int devcodec_event_is_stored(uint8_t type)
{
    switch (type) {
    case DEVPROTO_EV_STAFF_LOGIN:
    case DEVPROTO_EV_STAFF_LOGOUT:
    case DEVPROTO_EV_CALL_REQUEST:
    case DEVPROTO_EV_RECALL_REQUEST:
    case DEVPROTO_EV_PAUSE_REQUEST:
    case DEVPROTO_EV_SERVICE_START:
    case DEVPROTO_EV_SERVICE_END:
    case DEVPROTO_EV_RATING:
    case DEVPROTO_EV_NOT_RATED:
        return 1;
    default:
        return 0;
    }
}

/* Exact payload length of an event type, 0 for a variable one, -1 if unknown. */
static int s_event_len(uint8_t type)
{
    switch (type) {
    case DEVPROTO_EV_HELLO:
        return DEVPROTO_LEN_HELLO;
    case DEVPROTO_EV_HEARTBEAT:
    case DEVPROTO_EV_BUFFER_WARNING:
        return DEVPROTO_LEN_STATUS;
    case DEVPROTO_EV_STAFF_LOGIN:
    case DEVPROTO_EV_STAFF_LOGOUT:
        return 0;
    case DEVPROTO_EV_CALL_REQUEST:
    case DEVPROTO_EV_RECALL_REQUEST:
    case DEVPROTO_EV_PAUSE_REQUEST:
    case DEVPROTO_EV_SERVICE_START:
    case DEVPROTO_EV_SERVICE_END:
        return DEVPROTO_LEN_TICKET;
    case DEVPROTO_EV_RATING:
    case DEVPROTO_EV_NOT_RATED:
        return DEVPROTO_LEN_RATING;
    default:
        return -1;
    }
}

static int s_cmd_len(uint8_t type)
{
    switch (type) {
    case DEVPROTO_CMD_ACK:
        return DEVPROTO_LEN_ACK;
    case DEVPROTO_CMD_SET_TEXT:
    case DEVPROTO_CMD_SET_LABEL:
        return 0;
    case DEVPROTO_CMD_SET_STARS:
        return DEVPROTO_LEN_STARS;
    case DEVPROTO_CMD_PLAY_PROMPT:
        return DEVPROTO_LEN_PROMPT;
    case DEVPROTO_CMD_SET_CONFIG:
        return DEVPROTO_LEN_CONFIG;
    case DEVPROTO_CMD_SHOW_TICKET:
        return DEVPROTO_LEN_SHOW_TICKET;
    case DEVPROTO_CMD_LOGIN_REPLY:
        return DEVPROTO_LEN_LOGIN_REPLY;
    case DEVPROTO_CMD_SET_TIME:
        return DEVPROTO_LEN_TIME;
    case DEVPROTO_CMD_SET_STAFF:
        return DEVPROTO_LEN_SET_STAFF;
    case DEVPROTO_CMD_REQUEST_RATING:
        return DEVPROTO_LEN_REQUEST_RATING;
    default:
        return -1;
    }
}

uint16_t devcodec_cmd_firmware(uint8_t type)
{
    switch (type) {
    case DEVPROTO_CMD_SET_LABEL:
        return DEVPROTO_FW_LABELS;
    case DEVPROTO_CMD_SET_STAFF:
    case DEVPROTO_CMD_REQUEST_RATING:
        return DEVPROTO_FW_HOST_STAFF;
    default:
        return s_cmd_len(type) < 0 ? 0 : 0x0100;
    }
}

const char *devcodec_strerror(devcodec_err_t err)
{
    switch (err) {
    case DEVCODEC_OK:
        return "ok";
    case DEVCODEC_ERR_SIZE:
        return "report is not 64 bytes";
    case DEVCODEC_ERR_VERSION:
        return "unsupported protocol version";
    case DEVCODEC_ERR_TYPE:
        return "unknown report type";
    case DEVCODEC_ERR_LENGTH:
        return "payload length wrong for the type";
    case DEVCODEC_ERR_RESERVED:
        return "reserved header field not zero";
    case DEVCODEC_ERR_PADDING:
        return "non-zero bytes after the payload";
    case DEVCODEC_ERR_PAYLOAD:
        return "payload field out of range";
    case DEVCODEC_ERR_SEQ:
        return "sequence number breaks the stored/transient rule";
    }
    return "unknown error";
}

/* --- header checks shared by both directions ------------------------------ */

/* Checks size, version, type (via `exact`, from the type table), reserved
 * byte and padding. For variable types (`exact` 0) the length rule is
 * checked by the payload decoder; here only the maximum. */
static devcodec_err_t s_header_check(const uint8_t *buf, size_t len, int exact)
{
    if (len != DEVPROTO_REPORT_SIZE)
        return DEVCODEC_ERR_SIZE;
    if (buf[0] != DEVPROTO_VERSION)
        return DEVCODEC_ERR_VERSION;
    if (exact < 0)
        return DEVCODEC_ERR_TYPE;
    uint8_t plen = buf[14];
    if (plen > DEVPROTO_PAYLOAD_MAX || (exact > 0 && plen != exact))
        return DEVCODEC_ERR_LENGTH;
    if (buf[15] != 0)
        return DEVCODEC_ERR_RESERVED;
    if (!s_zero(buf + DEVPROTO_HEADER_SIZE + plen, (size_t) (DEVPROTO_PAYLOAD_MAX - plen)))
        return DEVCODEC_ERR_PADDING;
    return DEVCODEC_OK;
}

/* --- events (IN) ---------------------------------------------------------- */

devcodec_err_t devcodec_decode_header(const uint8_t *buf, size_t len,
                                      devcodec_header_t *header)
{
    if (len != DEVPROTO_REPORT_SIZE)
        return DEVCODEC_ERR_SIZE;
    if (buf[0] != DEVPROTO_VERSION)
        return DEVCODEC_ERR_VERSION;
    header->type = buf[1];
    header->seq = s_get32(buf + 2);
    header->boot = s_get32(buf + 6);
    header->uptime_ms = s_get32(buf + 10);
    return DEVCODEC_OK;
}

devcodec_err_t devcodec_decode_event(const uint8_t *buf, size_t len,
                                     devcodec_event_t *event)
{
    if (len != DEVPROTO_REPORT_SIZE)
        return DEVCODEC_ERR_SIZE;
    devcodec_err_t err = s_header_check(buf, len, s_event_len(buf[1]));
    if (err != DEVCODEC_OK)
        return err;

    memset(event, 0, sizeof *event);
    event->type = buf[1];
    event->seq = s_get32(buf + 2);
    event->boot = s_get32(buf + 6);
    event->uptime_ms = s_get32(buf + 10);
    const uint8_t plen = buf[14];
    const uint8_t *p = buf + DEVPROTO_HEADER_SIZE;

    switch (event->type) {
    case DEVPROTO_EV_HELLO: {
        devproto_hello_t *h = &event->u.hello;
        h->fw_major = p[0];
        h->fw_minor = p[1];
        h->fw_patch = p[2];
        h->key_count = p[3];
        h->capabilities = s_get16(p + 4);
        h->ring_capacity = s_get16(p + 6);
        h->ring_used = s_get16(p + 8);
        h->refused = s_get16(p + 10);
        if (h->key_count < 2 || h->key_count > DEVPROTO_KEYS_MAX
            || (h->capabilities & ~S_CAPS_KNOWN) || h->ring_used > h->ring_capacity)
            return DEVCODEC_ERR_PAYLOAD;
        break;
    }
    case DEVPROTO_EV_HEARTBEAT:
    case DEVPROTO_EV_BUFFER_WARNING: {
        devproto_status_t *s = &event->u.status;
        s->ring_used = s_get16(p);
        s->ring_capacity = s_get16(p + 2);
        s->state = p[4];
        s->staff_logged_in = p[5];
        if (s->ring_used > s->ring_capacity || s->state > DEVPROTO_STATE_PAUSED
            || s->staff_logged_in > 1)
            return DEVCODEC_ERR_PAYLOAD;
        break;
    }
    case DEVPROTO_EV_STAFF_LOGIN:
    case DEVPROTO_EV_STAFF_LOGOUT: {
        if (plen < 2 || plen > 1 + DEVPROTO_EMPLOYEE_MAX || p[0] != plen - 1)
            return DEVCODEC_ERR_LENGTH;
        if (!s_digits_ok(p + 1, p[0]))
            return DEVCODEC_ERR_PAYLOAD;
        event->u.staff.length = p[0];
        memcpy(event->u.staff.employee_no, p + 1, p[0]);
        break;
    }
    case DEVPROTO_EV_CALL_REQUEST:
    case DEVPROTO_EV_RECALL_REQUEST:
    case DEVPROTO_EV_PAUSE_REQUEST:
    case DEVPROTO_EV_SERVICE_START:
    case DEVPROTO_EV_SERVICE_END: {
        devproto_ticket_t *t = &event->u.ticket;
        if (s_ticket_get(p, &t->ticket_length, t->ticket) != 0)
            return DEVCODEC_ERR_PAYLOAD;
        t->reason = p[9];
        if (event->type == DEVPROTO_EV_PAUSE_REQUEST ? t->reason > 9 : t->reason != 0)
            return DEVCODEC_ERR_PAYLOAD;
        break;
    }
    case DEVPROTO_EV_RATING:
    case DEVPROTO_EV_NOT_RATED: {
        devproto_rating_t *r = &event->u.rating;
        r->option_code = p[0];
        if (event->type == DEVPROTO_EV_RATING
                ? (r->option_code < 1 || r->option_code > DEVPROTO_KEYS_MAX)
                : r->option_code != 0)
            return DEVCODEC_ERR_PAYLOAD;
        if (s_ticket_get(p + 1, &r->ticket_length, r->ticket) != 0)
            return DEVCODEC_ERR_PAYLOAD;
        r->service_ms = s_get32(p + 10);
        break;
    }
    default:
        return DEVCODEC_ERR_TYPE;
    }

    if (devcodec_event_is_stored(event->type) ? event->seq == 0 : event->seq != 0)
        return DEVCODEC_ERR_SEQ;
    return DEVCODEC_OK;
}

/* Clears the report and writes its header (the length comes later). */
static void s_put_header(uint8_t out[DEVPROTO_REPORT_SIZE], uint8_t type, uint32_t seq,
                         uint32_t boot, uint32_t uptime_ms)
{
    memset(out, 0, DEVPROTO_REPORT_SIZE);
    out[0] = DEVPROTO_VERSION;
    out[1] = type;
    s_put32(out + 2, seq);
    s_put32(out + 6, boot);
    s_put32(out + 10, uptime_ms);
}

devcodec_err_t devcodec_encode_event(const devcodec_event_t *event,
                                     uint8_t out[DEVPROTO_REPORT_SIZE])
{
    uint8_t *p = out + DEVPROTO_HEADER_SIZE;
    int plen = s_event_len(event->type);

    s_put_header(out, event->type, event->seq, event->boot, event->uptime_ms);

    switch (event->type) {
    case DEVPROTO_EV_HELLO: {
        const devproto_hello_t *h = &event->u.hello;
        p[0] = h->fw_major;
        p[1] = h->fw_minor;
        p[2] = h->fw_patch;
        p[3] = h->key_count;
        s_put16(p + 4, h->capabilities);
        s_put16(p + 6, h->ring_capacity);
        s_put16(p + 8, h->ring_used);
        s_put16(p + 10, h->refused);
        break;
    }
    case DEVPROTO_EV_HEARTBEAT:
    case DEVPROTO_EV_BUFFER_WARNING: {
        const devproto_status_t *s = &event->u.status;
        s_put16(p, s->ring_used);
        s_put16(p + 2, s->ring_capacity);
        p[4] = s->state;
        p[5] = s->staff_logged_in;
        break;
    }
    case DEVPROTO_EV_STAFF_LOGIN:
    case DEVPROTO_EV_STAFF_LOGOUT: {
        uint8_t n = event->u.staff.length;
        if (n < 1 || n > DEVPROTO_EMPLOYEE_MAX)
            return DEVCODEC_ERR_LENGTH;
        p[0] = n;
        memcpy(p + 1, event->u.staff.employee_no, n);
        plen = 1 + n;
        break;
    }
    case DEVPROTO_EV_CALL_REQUEST:
    case DEVPROTO_EV_RECALL_REQUEST:
    case DEVPROTO_EV_PAUSE_REQUEST:
    case DEVPROTO_EV_SERVICE_START:
    case DEVPROTO_EV_SERVICE_END:
        s_ticket_put(p, event->u.ticket.ticket_length, event->u.ticket.ticket);
        p[9] = event->u.ticket.reason;
        break;
    case DEVPROTO_EV_RATING:
    case DEVPROTO_EV_NOT_RATED:
        p[0] = event->u.rating.option_code;
        s_ticket_put(p + 1, event->u.rating.ticket_length, event->u.rating.ticket);
        s_put32(p + 10, event->u.rating.service_ms);
        break;
    default:
        return DEVCODEC_ERR_TYPE;
    }
    out[14] = (uint8_t) plen;

    devcodec_event_t check;
    devcodec_err_t err = devcodec_decode_event(out, DEVPROTO_REPORT_SIZE, &check);
    if (err != DEVCODEC_OK)
        memset(out, 0, DEVPROTO_REPORT_SIZE);
    return err;
}

/* --- commands (OUT) ------------------------------------------------------- */

/* The text that ends a command's payload of `plen` bytes: its length byte
 * at p[at - 1], then that many bytes from p[at] (0..DEVPROTO_LINE_BYTES),
 * copied into `text` with its length in *len; else the error. */
static devcodec_err_t s_text_get(const uint8_t *p, uint8_t plen, uint8_t at, uint8_t *len,
                                 uint8_t text[DEVPROTO_LINE_BYTES])
{
    if (plen < at || plen > at + DEVPROTO_LINE_BYTES || p[at - 1] != plen - at)
        return DEVCODEC_ERR_LENGTH;
    if (!s_text_ok(p + at, p[at - 1]))
        return DEVCODEC_ERR_PAYLOAD;
    *len = p[at - 1];
    memcpy(text, p + at, *len);
    return DEVCODEC_OK;
}

/* A fixed-size name field: `n` (0..DEVPROTO_NAME_BYTES) bytes of text at p,
 * zeros after them up to DEVPROTO_NAME_BYTES. 1 if it keeps the rules. */
static int s_name_ok(const uint8_t *p, uint8_t n)
{
    return n <= DEVPROTO_NAME_BYTES && s_text_ok(p, n)
           && s_zero(p + n, (size_t) (DEVPROTO_NAME_BYTES - n));
}

devcodec_err_t devcodec_decode_cmd(const uint8_t *buf, size_t len, devcodec_cmd_t *cmd)
{
    if (len != DEVPROTO_REPORT_SIZE)
        return DEVCODEC_ERR_SIZE;
    devcodec_err_t err = s_header_check(buf, len, s_cmd_len(buf[1]));
    if (err != DEVCODEC_OK)
        return err;
    /* uptime_ms is 0 in every OUT report */
    if (!s_zero(buf + 10, 4))
        return DEVCODEC_ERR_RESERVED;

    memset(cmd, 0, sizeof *cmd);
    cmd->type = buf[1];
    cmd->seq = s_get32(buf + 2);
    cmd->boot = s_get32(buf + 6);
    const uint8_t plen = buf[14];
    const uint8_t *p = buf + DEVPROTO_HEADER_SIZE;

    switch (cmd->type) {
    case DEVPROTO_CMD_ACK:
        cmd->u.ack.boot = s_get32(p);
        cmd->u.ack.upto = s_get32(p + 4);
        break;
    case DEVPROTO_CMD_SET_TEXT: {
        devproto_text_t *t = &cmd->u.text;
        if ((err = s_text_get(p, plen, 3, &t->length, t->text)) != DEVCODEC_OK)
            return err;
        t->target = p[0];
        t->line = p[1];
        if (t->target > 1 || t->line >= DEVPROTO_LINES)
            return DEVCODEC_ERR_PAYLOAD;
        break;
    }
    case DEVPROTO_CMD_SET_LABEL: {
        devproto_label_t *l = &cmd->u.label;
        if ((err = s_text_get(p, plen, 2, &l->length, l->text)) != DEVCODEC_OK)
            return err;
        l->key = p[0];
        if (l->key >= DEVPROTO_KEYS_MAX)
            return DEVCODEC_ERR_PAYLOAD;
        break;
    }
    case DEVPROTO_CMD_SET_STARS:
        cmd->u.stars = p[0];
        if (cmd->u.stars > 5)
            return DEVCODEC_ERR_PAYLOAD;
        break;
    case DEVPROTO_CMD_PLAY_PROMPT:
        cmd->u.prompt = p[0];
        if (cmd->u.prompt < 1 || cmd->u.prompt > DEVPROTO_PROMPT_MAX)
            return DEVCODEC_ERR_PAYLOAD;
        break;
    case DEVPROTO_CMD_SET_CONFIG: {
        devproto_config_t *c = &cmd->u.config;
        c->rating_timeout_s = s_get16(p);
        c->repeat_press_s = s_get16(p + 2);
        c->key_count = p[4];
        memcpy(c->key_codes, p + 5, DEVPROTO_KEYS_MAX);
        if (c->rating_timeout_s < 5 || c->rating_timeout_s > 300
            || c->repeat_press_s > 600
            || c->key_count < 2 || c->key_count > DEVPROTO_KEYS_MAX)
            return DEVCODEC_ERR_PAYLOAD;
        uint8_t seen = 0;
        for (uint8_t i = 0; i < DEVPROTO_KEYS_MAX; i++) {
            uint8_t code = c->key_codes[i];
            if (i >= c->key_count) {
                if (code != 0)
                    return DEVCODEC_ERR_PAYLOAD;
                continue;
            }
            if (code < 1 || code > DEVPROTO_KEYS_MAX || (seen & (1u << code)))
                return DEVCODEC_ERR_PAYLOAD;
            seen = (uint8_t) (seen | (1u << code));
        }
        break;
    }
    case DEVPROTO_CMD_SHOW_TICKET: {
        devproto_show_ticket_t *s = &cmd->u.show_ticket;
        if (s_ticket_get(p, &s->ticket_length, s->ticket) != 0)
            return DEVCODEC_ERR_PAYLOAD;
        s->window_number = p[9];
        break;
    }
    case DEVPROTO_CMD_LOGIN_REPLY: {
        devproto_login_reply_t *r = &cmd->u.login_reply;
        r->accepted = p[0];
        r->name_length = p[1];
        r->reason = p[18];
        if (r->accepted > 1 || !s_name_ok(p + 2, r->name_length))
            return DEVCODEC_ERR_PAYLOAD;
        if (r->accepted ? r->reason != DEVPROTO_REFUSED_NONE
                        : (r->reason < DEVPROTO_REFUSED_UNKNOWN_STAFF
                           || r->reason > DEVPROTO_REFUSED_LOGGED_IN_ELSEWHERE))
            return DEVCODEC_ERR_PAYLOAD;
        memcpy(r->name, p + 2, r->name_length);
        break;
    }
    case DEVPROTO_CMD_SET_TIME:
        cmd->u.time_ms = (uint64_t) s_get32(p) | ((uint64_t) s_get32(p + 4) << 32);
        break;
    case DEVPROTO_CMD_SET_STAFF: {
        devproto_set_staff_t *st = &cmd->u.set_staff;
        st->employee_length = p[0];
        st->name_length = p[1 + DEVPROTO_EMPLOYEE_MAX];
        const uint8_t *name = p + 2 + DEVPROTO_EMPLOYEE_MAX;
        /* nobody has no name: one encoding per meaning */
        if (st->employee_length > DEVPROTO_EMPLOYEE_MAX
            || !s_digits_ok(p + 1, st->employee_length)
            || !s_zero(p + 1 + st->employee_length,
                       (size_t) (DEVPROTO_EMPLOYEE_MAX - st->employee_length))
            || !s_name_ok(name, st->name_length)
            || (st->employee_length == 0 && st->name_length != 0))
            return DEVCODEC_ERR_PAYLOAD;
        memcpy(st->employee_no, p + 1, st->employee_length);
        memcpy(st->name, name, st->name_length);
        break;
    }
    case DEVPROTO_CMD_REQUEST_RATING: {
        devproto_request_rating_t *r = &cmd->u.request_rating;
        if (s_ticket_get(p, &r->ticket_length, r->ticket) != 0)
            return DEVCODEC_ERR_PAYLOAD;
        break;
    }
    default:
        return DEVCODEC_ERR_TYPE;
    }
    return DEVCODEC_OK;
}

devcodec_err_t devcodec_encode_cmd(const devcodec_cmd_t *cmd,
                                   uint8_t out[DEVPROTO_REPORT_SIZE])
{
    uint8_t *p = out + DEVPROTO_HEADER_SIZE;
    int plen = s_cmd_len(cmd->type);

    s_put_header(out, cmd->type, cmd->seq, cmd->boot, 0);

    switch (cmd->type) {
    case DEVPROTO_CMD_ACK:
        s_put32(p, cmd->u.ack.boot);
        s_put32(p + 4, cmd->u.ack.upto);
        break;
    case DEVPROTO_CMD_SET_TEXT: {
        uint8_t n = cmd->u.text.length;
        if (n > DEVPROTO_LINE_BYTES)
            return DEVCODEC_ERR_LENGTH;
        p[0] = cmd->u.text.target;
        p[1] = cmd->u.text.line;
        p[2] = n;
        memcpy(p + 3, cmd->u.text.text, n);
        plen = 3 + n;
        break;
    }
    case DEVPROTO_CMD_SET_LABEL: {
        uint8_t n = cmd->u.label.length;
        if (n > DEVPROTO_LINE_BYTES)
            return DEVCODEC_ERR_LENGTH;
        p[0] = cmd->u.label.key;
        p[1] = n;
        memcpy(p + 2, cmd->u.label.text, n);
        plen = 2 + n;
        break;
    }
    case DEVPROTO_CMD_SET_STARS:
        p[0] = cmd->u.stars;
        break;
    case DEVPROTO_CMD_PLAY_PROMPT:
        p[0] = cmd->u.prompt;
        break;
    case DEVPROTO_CMD_SET_CONFIG: {
        const devproto_config_t *c = &cmd->u.config;
        s_put16(p, c->rating_timeout_s);
        s_put16(p + 2, c->repeat_press_s);
        p[4] = c->key_count;
        memcpy(p + 5, c->key_codes, DEVPROTO_KEYS_MAX);
        break;
    }
    case DEVPROTO_CMD_SHOW_TICKET:
        s_ticket_put(p, cmd->u.show_ticket.ticket_length, cmd->u.show_ticket.ticket);
        p[9] = cmd->u.show_ticket.window_number;
        break;
    case DEVPROTO_CMD_LOGIN_REPLY: {
        const devproto_login_reply_t *r = &cmd->u.login_reply;
        p[0] = r->accepted;
        p[1] = r->name_length;
        if (r->name_length <= DEVPROTO_NAME_BYTES)
            memcpy(p + 2, r->name, r->name_length);
        p[18] = r->reason;
        break;
    }
    case DEVPROTO_CMD_SET_TIME:
        s_put32(p, (uint32_t) cmd->u.time_ms);
        s_put32(p + 4, (uint32_t) (cmd->u.time_ms >> 32));
        break;
    case DEVPROTO_CMD_SET_STAFF: {
        const devproto_set_staff_t *st = &cmd->u.set_staff;
        p[0] = st->employee_length;
        if (st->employee_length <= DEVPROTO_EMPLOYEE_MAX)
            memcpy(p + 1, st->employee_no, st->employee_length);
        p[1 + DEVPROTO_EMPLOYEE_MAX] = st->name_length;
        if (st->name_length <= DEVPROTO_NAME_BYTES)
            memcpy(p + 2 + DEVPROTO_EMPLOYEE_MAX, st->name, st->name_length);
        break;
    }
    case DEVPROTO_CMD_REQUEST_RATING:
        s_ticket_put(p, cmd->u.request_rating.ticket_length, cmd->u.request_rating.ticket);
        break;
    default:
        return DEVCODEC_ERR_TYPE;
    }
    out[14] = (uint8_t) plen;

    devcodec_cmd_t check;
    devcodec_err_t err = devcodec_decode_cmd(out, DEVPROTO_REPORT_SIZE, &check);
    if (err != DEVCODEC_OK)
        memset(out, 0, DEVPROTO_REPORT_SIZE);
    return err;
}
