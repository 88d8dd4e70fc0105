/*  ri_wire: one-pass decoding of gateway envelopes with yajl (ri_wire.h). */
#include "ri_wire.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "eqms/clock.h"
#include "eqms/id.h"
#include "eqms/utf8.h"

/* The device gateway's event types (docs/protocol.md); any other type is
 * declined. Their kinds come from ri_event_kind, as in ri_event_decode. */
static const char *s_types[] = {
    "rating.submitted", "rating.not_rated", "staff.login", "staff.logout",
    "service.start", "service.end", "call.request", "call.recall", "call.pause",
    "device.online", "device.offline", "device.unassigned", "device.assigned",
    "device.report_rejected",
};

/* Every member known here, one bit each in s_ctx_t.seen. */
typedef enum {
    M_NONE = -1,
    /* the envelope */
    M_V, M_ID, M_TYPE, M_TS, M_SRC, M_SEQ, M_DATA,
    /* data: what ri_event_decode reads */
    M_SERIAL, M_BOOT, M_DEVICE_SEQ, M_RECEIVED, M_EVENT_TIME, M_WINDOW, M_BRANCH,
    M_INCARNATION, M_EMPLOYEE_NO, M_TICKET, M_OPTION_CODE, M_SERVICE_MS, M_DURATION_MS,
    /* data: what the protocol lists and ri_event_decode ignores (any scalar,
     * or an array of scalars) */
    M_UPTIME_MS, M_LABEL, M_SCORE, M_FIRMWARE, M_KEY_COUNT, M_CAPABILITIES,
    M_RING_USED, M_RING_CAPACITY, M_REFUSED, M_REPORT, M_REASON,
    /* data.window: id is read, the others ignored (any scalar) */
    M_WINDOW_ID, M_WINDOW_NUMBER, M_WINDOW_CODE
} s_member_t;

#define S_BIT(m) (UINT64_C(1) << (m))
#define S_ENVELOPE_MEMBERS (S_BIT(M_V) | S_BIT(M_ID) | S_BIT(M_TYPE) | S_BIT(M_TS) \
                            | S_BIT(M_SRC) | S_BIT(M_SEQ) | S_BIT(M_DATA))
#define S_DATA_REQUIRED (S_BIT(M_SERIAL) | S_BIT(M_BOOT) | S_BIT(M_DEVICE_SEQ) \
                         | S_BIT(M_RECEIVED) | S_BIT(M_EVENT_TIME) | S_BIT(M_WINDOW) \
                         | S_BIT(M_BRANCH) | S_BIT(M_INCARNATION))

typedef struct {
    const char *name;
    size_t len;
    s_member_t member;
} s_name_t;

#define S_NAME(text, member) { text, sizeof text - 1, member }

static const s_name_t s_envelope_names[] = {
    S_NAME("v", M_V), S_NAME("id", M_ID), S_NAME("type", M_TYPE), S_NAME("ts", M_TS),
    S_NAME("src", M_SRC), S_NAME("seq", M_SEQ), S_NAME("data", M_DATA),
};

/* In the order the gateway writes them, so that lookups end early. */
static const s_name_t s_data_names[] = {
    S_NAME("serial", M_SERIAL), S_NAME("boot", M_BOOT),
    S_NAME("device_seq", M_DEVICE_SEQ), S_NAME("uptime_ms", M_UPTIME_MS),
    S_NAME("received", M_RECEIVED), S_NAME("event_time", M_EVENT_TIME),
    S_NAME("window", M_WINDOW), S_NAME("branch", M_BRANCH),
    S_NAME("employee_no", M_EMPLOYEE_NO), S_NAME("ticket", M_TICKET),
    S_NAME("option_code", M_OPTION_CODE), S_NAME("service_ms", M_SERVICE_MS),
    S_NAME("label", M_LABEL), S_NAME("score", M_SCORE),
    S_NAME("duration_ms", M_DURATION_MS), S_NAME("firmware", M_FIRMWARE),
    S_NAME("key_count", M_KEY_COUNT), S_NAME("capabilities", M_CAPABILITIES),
    S_NAME("ring_used", M_RING_USED), S_NAME("ring_capacity", M_RING_CAPACITY),
    S_NAME("refused", M_REFUSED), S_NAME("reason", M_REASON), S_NAME("report", M_REPORT),
    S_NAME("incarnation", M_INCARNATION),
};

static const s_name_t s_window_names[] = {
    S_NAME("id", M_WINDOW_ID), S_NAME("number", M_WINDOW_NUMBER),
    S_NAME("code", M_WINDOW_CODE),
};

/* One scalar value as yajl reports it; text and len for numbers and strings
 * (into the envelope: not NUL-terminated). */
typedef enum { S_NULL, S_BOOL, S_INT, S_REAL, S_STRING } s_type_t;

typedef struct {
    s_type_t type;
    const char *text;
    size_t len;
    int64_t integer;      /* S_INT */
} s_value_t;

/* An optional integer member whose rule depends on the type, which may come
 * after data: kept as it came and checked at the end. */
typedef enum { S_ABSENT = 0, S_IS_NULL, S_IS_INT, S_IS_OTHER } s_opt_state_t;

typedef struct {
    s_opt_state_t state;
    int64_t value;        /* S_IS_INT */
} s_opt_int_t;

typedef struct {
    envelope_t *header;   /* the caller's */
    ri_event_t *event;    /* the caller's */
    int depth;            /* 0 outside, 1 envelope, 2 data, 3 data.window */
    bool in_array;        /* in the array value of an ignored data member */
    s_member_t member;    /* whose value comes next */
    uint64_t seen;        /* S_BIT of every member seen */
    s_opt_int_t option_code, service_ms, duration_ms;
} s_ctx_t;

/* --- input checks ---------------------------------------------------------------- */

/* False for text this decoder leaves to the strict one: escapes (not
 * handled here), \v and \f (whitespace to yajl, not to jansson) and UTF-8
 * that jansson refuses. */
static bool s_plain(const unsigned char *buf, size_t len)
{
    if (memchr(buf, '\\', len) || memchr(buf, '\v', len) || memchr(buf, '\f', len))
        return false;
    /* yajl only checks the byte pattern of UTF-8 and lets overlong forms,
     * surrogates and code points above U+10FFFF through. */
    return utf8_valid(buf, len);
}

/* Classifies a JSON number (yajl checked its grammar) as jansson reads it:
 * S_INT for at most 18 digits (always within json_int_t), S_REAL for a
 * fraction without exponent of at most 32 characters (never overflows a
 * double). -1 for anything else, which jansson might refuse. */
static int s_number(const char *text, size_t len, s_value_t *v)
{
    size_t i = text[0] == '-' ? 1 : 0;
    size_t digits = 0;
    int64_t value = 0;
    for (; i < len && text[i] >= '0' && text[i] <= '9'; i++, digits++) {
        if (digits == 18)
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    if (digits == 0)
        return -1;
    if (i == len) {
        v->type = S_INT;
        v->integer = text[0] == '-' ? -value : value;
        return 0;
    }
    if (text[i] != '.' || len > 32)
        return -1;
    for (i++; i < len; i++)
        if (text[i] < '0' || text[i] > '9')
            return -1;
    v->type = S_REAL;
    return 0;
}

/* --- values ------------------------------------------------------------------------ */

/* Copies a string value into buf (size bytes with the NUL); false if the
 * value is not a string or does not fit. */
static bool s_copy(const s_value_t *v, char *buf, size_t size)
{
    if (v->type != S_STRING || v->len >= size)
        return false;
    memcpy(buf, v->text, v->len);
    buf[v->len] = '\0';
    return true;
}

static bool s_uint(const s_value_t *v, int64_t *out)
{
    if (v->type != S_INT || v->integer < 0)
        return false;
    *out = v->integer;
    return true;
}

/* An RFC 3339 time as clock_parse_rfc3339 reads it. */
static bool s_time(const s_value_t *v, int64_t *ms)
{
    char text[CLOCK_RFC3339_SIZE + 8];
    return s_copy(v, text, sizeof text) && clock_parse_rfc3339(text, ms) == 0;
}

/* Keeps an optional integer member as it came (any value is taken here). */
static bool s_opt_int(const s_value_t *v, s_opt_int_t *out)
{
    out->state = v->type == S_NULL ? S_IS_NULL : v->type == S_INT ? S_IS_INT : S_IS_OTHER;
    out->value = v->integer;
    return true;
}

/* A string-or-null member (employee_no, ticket); "" when null. */
static bool s_opt_string(const s_value_t *v, char *buf, size_t size)
{
    return v->type == S_NULL || s_copy(v, buf, size);
}

/* Takes the value of the current member; false declines the envelope. */
static bool s_value(s_ctx_t *c, const s_value_t *v)
{
    envelope_t *h = c->header;
    ri_event_t *e = c->event;
    int64_t version;
    if (c->in_array)
        return true;   /* an element of an ignored member's array */
    s_member_t m = c->member;
    c->member = M_NONE;
    switch (m) {
    case M_V:
        return s_uint(v, &version) && version == ENVELOPE_VERSION;
    case M_ID:
        return s_copy(v, h->id, sizeof h->id) && id_v7(h->id);
    case M_TYPE:
        return s_copy(v, h->type, sizeof h->type) && envelope_type_valid(h->type);
    case M_TS:
        return s_time(v, &h->ts_ms);
    case M_SRC:
        return s_copy(v, h->src, sizeof h->src) && envelope_src_valid(h->src);
    case M_SEQ:
        return s_uint(v, &h->seq);
    case M_SERIAL:
        return s_copy(v, e->serial, sizeof e->serial) && v->len > 0;
    case M_BOOT:
        return s_uint(v, &e->boot);
    case M_DEVICE_SEQ:
        return s_uint(v, &e->device_seq);
    case M_RECEIVED:
        return s_time(v, &e->received_ms);
    case M_EVENT_TIME:
        return s_time(v, &e->event_ms);
    case M_WINDOW:
        return v->type == S_NULL;   /* an object comes through s_start_map */
    case M_BRANCH:
        /* Not longer than event->branch holds: s_accept uses it whole. */
        return s_copy(v, e->branch, sizeof e->branch)
               && envelope_org_path_valid(e->branch, v->len);
    case M_INCARNATION:
        return s_copy(v, e->incarnation, sizeof e->incarnation)
               && id_v7_or_nil(e->incarnation);
    case M_EMPLOYEE_NO:
        return s_opt_string(v, e->employee_no, sizeof e->employee_no);
    case M_TICKET:
        return s_opt_string(v, e->ticket, sizeof e->ticket);
    case M_OPTION_CODE:
        return s_opt_int(v, &c->option_code);
    case M_SERVICE_MS:
        return s_opt_int(v, &c->service_ms);
    case M_DURATION_MS:
        return s_opt_int(v, &c->duration_ms);
    case M_WINDOW_ID:
        return s_uint(v, &e->window_id) && e->window_id >= 1;
    case M_UPTIME_MS:
    case M_LABEL:
    case M_SCORE:
    case M_FIRMWARE:
    case M_KEY_COUNT:
    case M_CAPABILITIES:
    case M_RING_USED:
    case M_RING_CAPACITY:
    case M_REFUSED:
    case M_REPORT:
    case M_REASON:
    case M_WINDOW_NUMBER:
    case M_WINDOW_CODE:
        return true;
    case M_DATA:
    case M_NONE:
        return false;
    }
    return false;
}

/* --- yajl callbacks: nonzero goes on, 0 declines ---------------------------------- */

static int s_null(void *ctx)
{
    return s_value(ctx, &(s_value_t) { .type = S_NULL });
}

static int s_boolean(void *ctx, int value)
{
    (void) value;
    return s_value(ctx, &(s_value_t) { .type = S_BOOL });
}

static int s_num(void *ctx, const char *text, size_t len)
{
    s_value_t v = { .text = text, .len = len };
    return s_number(text, len, &v) == 0 && s_value(ctx, &v);
}

static int s_string(void *ctx, const unsigned char *text, size_t len)
{
    return s_value(ctx, &(s_value_t) { .type = S_STRING, .text = (const char *) text,
                                       .len = len });
}

static s_member_t s_lookup(const s_name_t *names, size_t n, const unsigned char *key,
                           size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (names[i].len == len && names[i].name[0] == key[0]
            && memcmp(names[i].name, key, len) == 0)
            return names[i].member;
    return M_NONE;
}

#define S_LOOKUP(names, key, len) s_lookup(names, sizeof names / sizeof names[0], key, len)

/* A member name: known at this level and not seen before (jansson refuses
 * duplicates), or the envelope is declined. */
static int s_map_key(void *ctx, const unsigned char *key, size_t len)
{
    s_ctx_t *c = ctx;
    s_member_t m = c->depth == 1 ? S_LOOKUP(s_envelope_names, key, len)
                 : c->depth == 2 ? S_LOOKUP(s_data_names, key, len)
                 : S_LOOKUP(s_window_names, key, len);
    if (m == M_NONE || (c->seen & S_BIT(m)))
        return 0;
    c->seen |= S_BIT(m);
    c->member = m;
    return 1;
}

/* Objects: the envelope, its data, and data.window; nothing else. */
static int s_start_map(void *ctx)
{
    s_ctx_t *c = ctx;
    bool ok = !c->in_array
              && ((c->depth == 0 && c->seen == 0) || (c->depth == 1 && c->member == M_DATA)
                  || (c->depth == 2 && c->member == M_WINDOW));
    c->member = M_NONE;
    c->depth++;
    return ok;
}

static int s_end_map(void *ctx)
{
    s_ctx_t *c = ctx;
    c->depth--;
    /* data.window closed: ri_event_decode requires its id. */
    return c->depth != 2 || (c->seen & S_BIT(M_WINDOW_ID));
}

/* Arrays: only as the value of an ignored data member, of scalars. */
static int s_start_array(void *ctx)
{
    s_ctx_t *c = ctx;
    bool ok = !c->in_array && c->depth == 2 && c->member >= M_UPTIME_MS
              && c->member <= M_REASON;
    c->member = M_NONE;
    c->in_array = true;
    return ok;
}

static int s_end_array(void *ctx)
{
    ((s_ctx_t *) ctx)->in_array = false;
    return 1;
}

static const yajl_callbacks s_callbacks = {
    .yajl_null = s_null,
    .yajl_boolean = s_boolean,
    .yajl_number = s_num,
    .yajl_string = s_string,
    .yajl_start_map = s_start_map,
    .yajl_map_key = s_map_key,
    .yajl_end_map = s_end_map,
    .yajl_start_array = s_start_array,
    .yajl_end_array = s_end_array,
};

/* --- after the parse ----------------------------------------------------------------- */

/* An optional non-negative integer as ri_event_decode reads it (absent or
 * null = -1). */
static bool s_opt_int_value(const s_opt_int_t *opt, int64_t *out)
{
    *out = -1;
    if (opt->state == S_ABSENT || opt->state == S_IS_NULL)
        return true;
    if (opt->state != S_IS_INT || opt->value < 0)
        return false;
    *out = opt->value;
    return true;
}

/* The rules that depend on the type, and the event's envelope fields, as
 * ri_event_decode applies them. */
static bool s_finish(s_ctx_t *c)
{
    const envelope_t *h = c->header;
    ri_event_t *e = c->event;
    if ((c->seen & S_ENVELOPE_MEMBERS) != S_ENVELOPE_MEMBERS
        || (c->seen & S_DATA_REQUIRED) != S_DATA_REQUIRED)
        return false;
    size_t i = 0, n = sizeof s_types / sizeof s_types[0];
    while (i < n && strcmp(h->type, s_types[i]) != 0)
        i++;
    if (i == n)
        return false;
    memcpy(e->id, h->id, sizeof e->id);
    memcpy(e->gateway, h->src, sizeof e->gateway);
    memcpy(e->type, h->type, sizeof e->type);
    e->seq = h->seq;
    e->kind = ri_event_kind(h->type);
    e->service_ms = -1;
    e->duration_ms = -1;
    switch (e->kind) {
    case RI_KIND_RATING:
        if (c->option_code.state != S_IS_INT || c->option_code.value < 1
            || c->option_code.value > 6)
            return false;
        e->option_code = (int) c->option_code.value;
        return s_opt_int_value(&c->service_ms, &e->service_ms);
    case RI_KIND_NOT_RATED:
        return s_opt_int_value(&c->service_ms, &e->service_ms);
    case RI_KIND_SERVICE_END:
        return s_opt_int_value(&c->duration_ms, &e->duration_ms);
    case RI_KIND_LOGIN:
    case RI_KIND_LOGOUT:
        return e->employee_no[0] != '\0';
    case RI_KIND_OTHER:
    case RI_KIND_SERVICE_START:
        return true;
    }
    return false;
}

int ri_wire_decode(const void *buf, size_t len, envelope_t *header, ri_event_t *event)
{
    if (len > ENVELOPE_MAX_BYTES || !s_plain(buf, len))
        return -1;
    memset(header, 0, sizeof *header);
    memset(event, 0, sizeof *event);
    s_ctx_t ctx = { .header = header, .event = event, .member = M_NONE };
    yajl_handle parser = yajl_alloc(&s_callbacks, NULL, &ctx);
    if (!parser)
        return -1;
    bool parsed = yajl_parse(parser, buf, len) == yajl_status_ok
                  && yajl_complete_parse(parser) == yajl_status_ok;
    yajl_free(parser);
    return parsed && s_finish(&ctx) ? 0 : -1;
}
