/*  qm_request: queue-manager's request decoder and reply encoders (qm_request.h). */
#include "qm_request.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/envelope.h"
#include "eqms/text.h"
#include "qm_wire.h"

/* ---- members ------------------------------------------------------------ */

typedef enum { S_INT, S_STR } s_type_t;

enum {
    M_V = 1u << 0, M_ID = 1u << 1, M_OP = 1u << 2, M_BRANCH = 1u << 3, M_ACTOR = 1u << 4,
    M_SERVICE = 1u << 5, M_SERVICE_CODE = 1u << 6, M_CLASS = 1u << 7,
    M_APPOINTMENT = 1u << 8, M_PHONE = 1u << 9, M_TICKET = 1u << 10, M_WINDOW = 1u << 11,
    M_REASON = 1u << 12, M_STAFF = 1u << 13, M_EMPLOYEE_NO = 1u << 14, M_TO = 1u << 15,
    M_TARGET = 1u << 16, M_PROFILE = 1u << 17
};
#define M_COMMON (M_V | M_ID | M_OP | M_BRANCH | M_ACTOR)

/* Every member a request may have, in the order missing ones are reported. */
static const struct {
    const char *name;
    unsigned bit;
    s_type_t type;
} s_members[] = {
    {"v", M_V, S_INT},
    {"id", M_ID, S_STR},
    {"op", M_OP, S_STR},
    {"branch", M_BRANCH, S_STR},
    {"actor", M_ACTOR, S_STR},
    {"window", M_WINDOW, S_INT},
    {"service", M_SERVICE, S_INT},
    {"service_code", M_SERVICE_CODE, S_STR},
    {"class", M_CLASS, S_STR},
    {"appointment", M_APPOINTMENT, S_STR},
    {"phone", M_PHONE, S_STR},
    {"ticket", M_TICKET, S_STR},
    {"reason", M_REASON, S_STR},
    {"staff", M_STAFF, S_INT},
    {"employee_no", M_EMPLOYEE_NO, S_STR},
    {"to", M_TO, S_STR},
    {"target", M_TARGET, S_INT},
    {"profile", M_PROFILE, S_STR},
};
#define S_MEMBER_COUNT (sizeof s_members / sizeof s_members[0])

/* Every op: the members it may carry besides the common ones, and those it
 * must carry (one-of pairs are checked apart). */
static const struct {
    const char *name;
    qm_op_kind_t kind;
    qm_action_kind_t action;
    unsigned allowed;
    unsigned required;
} s_ops[] = {
    {"ticket.issue", QM_OP_TICKET_ISSUE, 0,
     M_SERVICE | M_SERVICE_CODE | M_CLASS | M_APPOINTMENT | M_PHONE, 0},
    {"ticket.get", QM_OP_TICKET_GET, 0, M_TICKET, M_TICKET},
    {"window.open", QM_OP_WINDOW_ACTION, QM_ACT_OPEN, M_WINDOW, M_WINDOW},
    {"window.close", QM_OP_WINDOW_ACTION, QM_ACT_CLOSE, M_WINDOW, M_WINDOW},
    {"window.pause", QM_OP_WINDOW_ACTION, QM_ACT_PAUSE, M_WINDOW | M_REASON,
     M_WINDOW | M_REASON},
    {"window.resume", QM_OP_WINDOW_ACTION, QM_ACT_RESUME, M_WINDOW, M_WINDOW},
    {"window.login", QM_OP_WINDOW_ACTION, QM_ACT_LOGIN, M_WINDOW | M_STAFF | M_EMPLOYEE_NO,
     M_WINDOW},
    {"window.logout", QM_OP_WINDOW_ACTION, QM_ACT_LOGOUT, M_WINDOW, M_WINDOW},
    {"window.call_next", QM_OP_WINDOW_ACTION, QM_ACT_CALL_NEXT, M_WINDOW, M_WINDOW},
    {"window.call_ticket", QM_OP_WINDOW_ACTION, QM_ACT_CALL_TICKET, M_WINDOW | M_TICKET,
     M_WINDOW | M_TICKET},
    {"window.recall", QM_OP_WINDOW_ACTION, QM_ACT_RECALL, M_WINDOW, M_WINDOW},
    {"window.start", QM_OP_WINDOW_ACTION, QM_ACT_START, M_WINDOW, M_WINDOW},
    {"window.finish", QM_OP_WINDOW_ACTION, QM_ACT_FINISH, M_WINDOW, M_WINDOW},
    {"window.no_show", QM_OP_WINDOW_ACTION, QM_ACT_NO_SHOW, M_WINDOW, M_WINDOW},
    {"window.transfer", QM_OP_WINDOW_ACTION, QM_ACT_TRANSFER, M_WINDOW | M_TO | M_TARGET,
     M_WINDOW | M_TO | M_TARGET},
    {"window.park", QM_OP_WINDOW_ACTION, QM_ACT_PARK, M_WINDOW, M_WINDOW},
    {"window.call_back", QM_OP_WINDOW_ACTION, QM_ACT_CALL_BACK, M_WINDOW | M_TICKET, M_WINDOW},
    {"window.walk_in", QM_OP_WINDOW_ACTION, QM_ACT_WALK_IN,
     M_WINDOW | M_SERVICE | M_SERVICE_CODE | M_CLASS, M_WINDOW},
    {"window.set_profile", QM_OP_WINDOW_SET_PROFILE, 0, M_WINDOW | M_PROFILE,
     M_WINDOW | M_PROFILE},
    {"branch.state", QM_OP_BRANCH_STATE, 0, 0, 0},
};
#define S_OP_COUNT (sizeof s_ops / sizeof s_ops[0])

/* ---- text helpers ------------------------------------------------------- */

/* Writes a reason (cut to fit) and returns -1. */
static int s_refuse(char reason[QM_REASON_SIZE], qm_request_t *req, const char *code,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int s_refuse(char reason[QM_REASON_SIZE], qm_request_t *req, const char *code,
                    const char *fmt, ...)
{
    req->refusal = code;
    if (reason) {
        va_list args;
        va_start(args, fmt);
        vsnprintf(reason, QM_REASON_SIZE, fmt, args);
        va_end(args);
    }
    return -1;
}

/* Copies client text for a reason: at most 40 bytes, anything but
 * printable ASCII as '?', so reasons stay one valid UTF-8 line. */
static const char *s_shown(const char *text, char out[48])
{
    size_t n = 0;
    for (; text[n] && n < 40; n++)
        out[n] = text[n] >= 0x20 && text[n] < 0x7f ? text[n] : '?';
    if (text[n]) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

static bool s_is_id_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || c == '.' || c == '_' || c == ':' || c == '-';
}

static bool s_request_id_valid(const char *text, size_t len)
{
    if (len < 1 || len > QM_REQUEST_ID_SIZE - 1)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!s_is_id_char(text[i]))
            return false;
    return true;
}

/* Printable ASCII 0x20..0x7e (space allowed or not), min..max bytes. */
static bool s_ascii_valid(const char *text, size_t len, size_t min, size_t max, bool space)
{
    if (len < min || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if (text[i] < (space ? 0x20 : 0x21) || text[i] > 0x7e)
            return false;
    return true;
}

static bool s_digits_valid(const char *text, size_t len, size_t min, size_t max)
{
    if (len < min || len > max)
        return false;
    for (size_t i = 0; i < len; i++)
        if (text[i] < '0' || text[i] > '9')
            return false;
    return true;
}

/* [+]digits with 3..20 digits (the model's rule). */
static bool s_phone_valid(const char *text, size_t len)
{
    size_t start = len > 0 && text[0] == '+' ? 1 : 0;
    return s_digits_valid(text + start, len - start, 3, 20);
}

/* A ticket id (UUIDv7 text) or a number: 1..3 of A-Z then 3..4 digits. */
static bool s_ticket_ref_valid(const char *text, size_t len)
{
    if (len == ID_SIZE - 1)
        return id_valid(text);
    size_t p = 0;
    while (p < len && text[p] >= 'A' && text[p] <= 'Z')
        p++;
    return p >= 1 && p <= 3 && s_digits_valid(text + p, len - p, 3, 4);
}

/* No control characters (tabs and line breaks included) in UTF-8 text. */
static bool s_line_valid(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) text[i] < 0x20 || text[i] == 0x7f)
            return false;
    return true;
}

/* ---- decoding ----------------------------------------------------------- */

/* The member `name` of the request (NULL if it has none). */
static const qm_wire_member_t *s_member(const qm_wire_t *root, const char *name)
{
    for (size_t i = 0; i < root->count; i++)
        if (strcmp(root->members[i].key, name) == 0)
            return &root->members[i];
    return NULL;
}

/* A string member's text and length (NULL and 0 if absent or no string). */
static const char *s_str(const qm_wire_t *root, const char *name, size_t *len)
{
    const qm_wire_member_t *m = s_member(root, name);
    bool str = m && m->type == QM_WIRE_STR;
    *len = str ? m->len : 0;
    return str ? m->str : NULL;
}

/* An integer member (0 if absent or no integer). */
static int64_t s_int(const qm_wire_t *root, const char *name)
{
    const qm_wire_member_t *m = s_member(root, name);
    return m && m->type == QM_WIRE_INT ? m->num : 0;
}

/* Checks the members' names and types in order; returns the bits present,
 * or -1. */
static long s_members_check(const qm_wire_t *root, qm_request_t *req,
                            char reason[QM_REASON_SIZE])
{
    unsigned present = 0;
    char shown[48];
    for (size_t i = 0; i < root->count; i++) {
        const char *key = root->members[i].key;
        qm_wire_type_t type = root->members[i].type;
        size_t m = 0;
        while (m < S_MEMBER_COUNT && strcmp(s_members[m].name, key) != 0)
            m++;
        if (m == S_MEMBER_COUNT)
            return s_refuse(reason, req, QM_REPLY_MALFORMED, "unknown member '%s'",
                            s_shown(key, shown));
        if (s_members[m].type == S_INT && type != QM_WIRE_INT)
            return s_refuse(reason, req, QM_REPLY_MALFORMED,
                            "member '%s' must be an integer", key);
        if (s_members[m].type == S_STR && type != QM_WIRE_STR)
            return s_refuse(reason, req, QM_REPLY_MALFORMED, "member '%s' must be a string",
                            key);
        present |= s_members[m].bit;
    }
    return (long) present;
}

/* A positive id member. */
static int s_positive(const qm_wire_t *root, const char *name, int64_t *out, qm_request_t *req,
                      char reason[QM_REASON_SIZE])
{
    *out = s_int(root, name);
    if (*out < 1)
        return s_refuse(reason, req, QM_REPLY_MALFORMED, "%s must be an id >= 1, got %lld",
                        name, (long long) *out);
    return 0;
}

/* service or service_code (exactly one) and class. */
static int s_decode_service(const qm_wire_t *root, unsigned present, qm_request_t *req,
                            char reason[QM_REASON_SIZE])
{
    bool by_id = present & M_SERVICE, by_code = present & M_SERVICE_CODE;
    if (by_id && by_code)
        return s_refuse(reason, req, QM_REPLY_MALFORMED,
                        "%s takes service or service_code, not both", req->op);
    if (!by_id && !by_code)
        return s_refuse(reason, req, QM_REPLY_MALFORMED, "%s needs service or service_code",
                        req->op);
    if (by_id && s_positive(root, "service", &req->service_id, req, reason) != 0)
        return -1;
    size_t len;
    const char *text;
    if (by_code) {
        text = s_str(root, "service_code", &len);
        if (!s_ascii_valid(text, len, 1, QM_CODE_SIZE - 1, false))
            return s_refuse(reason, req, QM_REPLY_MALFORMED,
                            "service_code must be 1..%d printable ASCII characters, no space",
                            QM_CODE_SIZE - 1);
        memcpy(req->service_code, text, len + 1);
    }
    req->klass = QM_CLASS_ORDINARY;
    char shown[48];
    if ((present & M_CLASS) && qm_class_parse(s_str(root, "class", &len), &req->klass) != 0)
        return s_refuse(reason, req, QM_REPLY_MALFORMED,
                        "class must be \"ordinary\", \"vip\" or \"green\", got '%s'",
                        s_shown(s_str(root, "class", &len), shown));
    return 0;
}

static int s_decode_ticket_ref(const qm_wire_t *root, qm_request_t *req, char reason[QM_REASON_SIZE])
{
    size_t len;
    const char *text = s_str(root, "ticket", &len);
    char shown[48];
    if (!s_ticket_ref_valid(text, len))
        return s_refuse(reason, req, QM_REPLY_MALFORMED,
                        "ticket must be a ticket id or a number like A012, got '%s'",
                        s_shown(text, shown));
    memcpy(req->ticket, text, len + 1);
    return 0;
}

/* The op-specific members (presence and types already checked). */
static int s_decode_op(const qm_wire_t *root, unsigned present, qm_request_t *req,
                       char reason[QM_REASON_SIZE])
{
    size_t len;
    const char *text;
    char shown[48];
    if ((present & M_WINDOW) && s_positive(root, "window", &req->window_id, req, reason) != 0)
        return -1;
    if (present & M_TICKET && s_decode_ticket_ref(root, req, reason) != 0)
        return -1;
    switch (req->kind) {
    case QM_OP_TICKET_ISSUE:
        if (s_decode_service(root, present, req, reason) != 0)
            return -1;
        if (present & M_APPOINTMENT) {
            text = s_str(root, "appointment", &len);
            if (clock_parse_rfc3339(text, &req->appointment_ms) != 0
                || req->appointment_ms <= 0)
                return s_refuse(reason, req, QM_REPLY_MALFORMED,
                                "appointment must be an RFC 3339 UTC time like "
                                "2026-11-28T09:30:00.000Z, got '%s'", s_shown(text, shown));
        }
        if (present & M_PHONE) {
            text = s_str(root, "phone", &len);
            if (!s_phone_valid(text, len))
                return s_refuse(reason, req, QM_REPLY_MALFORMED,
                                "phone must be 3..20 digits with an optional leading '+'");
            memcpy(req->phone, text, len + 1);
        }
        return 0;
    case QM_OP_WINDOW_SET_PROFILE:
        text = s_str(root, "profile", &len);
        if (len >= sizeof req->profile_text)
            return s_refuse(reason, req, QM_REPLY_MALFORMED,
                            "profile is longer than %zu bytes", sizeof req->profile_text - 1);
        memcpy(req->profile_text, text, len + 1);
        char why[QM_REASON_SIZE];
        /* the form here (malformed); what it says is the branch's to judge
         * (invalid: a service listed twice) */
        if (qm_profile_read(req->profile_text, &req->profile, why) != 0)
            return s_refuse(reason, req, QM_REPLY_MALFORMED, "profile: %s", why);
        return 0;
    case QM_OP_WINDOW_ACTION:
        break;
    default:
        return 0;
    }
    switch (req->action) {
    case QM_ACT_PAUSE:
        text = s_str(root, "reason", &len);
        if (len < 1 || len >= sizeof req->reason || !s_line_valid(text, len))
            return s_refuse(reason, req, QM_REPLY_MALFORMED,
                            "reason must be 1..%zu bytes of text without control characters",
                            sizeof req->reason - 1);
        memcpy(req->reason, text, len + 1);
        return 0;
    case QM_ACT_LOGIN:
        if ((present & M_STAFF) && (present & M_EMPLOYEE_NO))
            return s_refuse(reason, req, QM_REPLY_MALFORMED,
                            "window.login takes staff or employee_no, not both");
        if (!(present & (M_STAFF | M_EMPLOYEE_NO)))
            return s_refuse(reason, req, QM_REPLY_MALFORMED,
                            "window.login needs staff or employee_no");
        if (present & M_STAFF)
            return s_positive(root, "staff", &req->staff_id, req, reason);
        text = s_str(root, "employee_no", &len);
        if (!s_digits_valid(text, len, 1, QM_EMPLOYEE_NO_SIZE - 1))
            return s_refuse(reason, req, QM_REPLY_MALFORMED,
                            "employee_no must be 1..%d digits", QM_EMPLOYEE_NO_SIZE - 1);
        memcpy(req->employee_no, text, len + 1);
        return 0;
    case QM_ACT_TRANSFER:
        text = s_str(root, "to", &len);
        if (strcmp(text, "service") == 0)
            req->target = QM_TARGET_SERVICE;
        else if (strcmp(text, "window") == 0)
            req->target = QM_TARGET_WINDOW;
        else if (strcmp(text, "staff") == 0)
            req->target = QM_TARGET_STAFF;
        else
            return s_refuse(reason, req, QM_REPLY_MALFORMED,
                            "to must be \"service\", \"window\" or \"staff\", got '%s'",
                            s_shown(text, shown));
        return s_positive(root, "target", &req->target_id, req, reason);
    case QM_ACT_WALK_IN:
        return s_decode_service(root, present, req, reason);
    default:
        return 0;
    }
}

static int s_decode(const qm_wire_t *root, qm_request_t *req, char reason[QM_REASON_SIZE])
{
    size_t len;
    const char *text = s_str(root, "id", &len);
    if (text && s_request_id_valid(text, len))
        memcpy(req->id, text, len + 1);

    long checked = s_members_check(root, req, reason);
    if (checked < 0)
        return -1;
    unsigned present = (unsigned) checked;
    for (size_t m = 0; m < S_MEMBER_COUNT; m++)
        if ((s_members[m].bit & M_COMMON) && !(present & s_members[m].bit))
            return s_refuse(reason, req, QM_REPLY_MALFORMED, "missing member '%s'",
                            s_members[m].name);
    int64_t v = s_int(root, "v");
    if (v != QM_REQUEST_VERSION)
        return s_refuse(reason, req, QM_REPLY_MALFORMED, "unsupported version %lld (v must be %d)",
                        (long long) v, QM_REQUEST_VERSION);
    if (!req->id[0])
        return s_refuse(reason, req, QM_REPLY_MALFORMED,
                        "id must be 1..%d characters of [A-Za-z0-9._:-]",
                        QM_REQUEST_ID_SIZE - 1);

    char shown[48];
    text = s_str(root, "op", &len);
    size_t o = 0;
    while (o < S_OP_COUNT && strcmp(s_ops[o].name, text) != 0)
        o++;
    if (o == S_OP_COUNT || len != strlen(text))
        return s_refuse(reason, req, QM_REPLY_UNKNOWN_OP, "unknown op '%s'",
                        s_shown(text, shown));
    text_copy(req->op, sizeof req->op, s_ops[o].name);
    req->kind = s_ops[o].kind;
    req->action = s_ops[o].action;

    text = s_str(root, "branch", &len);
    if (len >= sizeof req->branch || !envelope_org_path_valid(text, len)
        || len != strlen(text))
        return s_refuse(reason, req, QM_REPLY_MALFORMED,
                        "branch must be an org path like hq.r01.b0001 of at most %zu bytes",
                        sizeof req->branch - 1);
    memcpy(req->branch, text, len + 1);
    text = s_str(root, "actor", &len);
    if (!s_ascii_valid(text, len, 1, QM_ACTOR_SIZE - 1, true))
        return s_refuse(reason, req, QM_REPLY_MALFORMED,
                        "actor must be 1..%d printable ASCII characters", QM_ACTOR_SIZE - 1);
    memcpy(req->actor, text, len + 1);

    unsigned extra = present & ~(M_COMMON | s_ops[o].allowed);
    unsigned missing = s_ops[o].required & ~present;
    for (size_t m = 0; m < S_MEMBER_COUNT; m++)
        if (extra & s_members[m].bit)
            return s_refuse(reason, req, QM_REPLY_MALFORMED, "member '%s' is not used by %s",
                            s_members[m].name, req->op);
    for (size_t m = 0; m < S_MEMBER_COUNT; m++)
        if (missing & s_members[m].bit)
            return s_refuse(reason, req, QM_REPLY_MALFORMED, "%s needs member '%s'", req->op,
                            s_members[m].name);
    return s_decode_op(root, present, req, reason);
}

/* Reads the request with jansson into `root` (members in order, as
 * qm_wire_read would). 0, or -1 with the reason it is no JSON object. */
static int s_read_strict(qm_wire_t *root, const void *buf, size_t len, qm_request_t *req,
                         char reason[QM_REASON_SIZE])
{
    json_error_t error;
    json_t *json = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &error);
    char shown[48];
    if (!json)
        return s_refuse(reason, req, QM_REPLY_MALFORMED, "not JSON: %s (at byte %d)",
                        s_shown(error.text, shown), error.position);
    if (!json_is_object(json)) {
        json_decref(json);
        return s_refuse(reason, req, QM_REPLY_MALFORMED, "request is not a JSON object");
    }
    root->count = 0;
    root->used = 0;
    const char *key;
    json_t *value;
    /* Past QM_WIRE_MEMBERS_MAX members (all distinct), an unknown one has
     * come: the members kept are enough for s_members_check. */
    json_object_foreach(json, key, value) {
        if (root->count == QM_WIRE_MEMBERS_MAX)
            break;
        qm_wire_member_t *m = &root->members[root->count++];
        m->key = qm_wire_keep(root, key, strlen(key));
        m->type = json_is_integer(value) ? QM_WIRE_INT
                  : json_is_string(value) ? QM_WIRE_STR : QM_WIRE_OTHER;
        m->num = json_is_integer(value) ? json_integer_value(value) : 0;
        m->len = json_string_length(value);
        m->str = m->type == QM_WIRE_STR ? qm_wire_keep(root, json_string_value(value), m->len)
                                        : NULL;
        /* Decoded keys and strings are never longer than their JSON text,
         * which the arena holds; should one not fit, refuse, never crash. */
        if (!m->key || (m->type == QM_WIRE_STR && !m->str)) {
            json_decref(json);
            return s_refuse(reason, req, QM_REPLY_TOO_LARGE, "request members do not fit");
        }
    }
    json_decref(json);
    return 0;
}

int qm_request_decode(const void *buf, size_t len, qm_request_t *req,
                      char reason[QM_REASON_SIZE])
{
    if (!req)
        return -1;
    memset(req, 0, sizeof *req);
    req->klass = QM_CLASS_ORDINARY;
    if (!buf)
        return s_refuse(reason, req, QM_REPLY_MALFORMED, "no request");
    if (len > QM_REQUEST_MAX_BYTES)
        return s_refuse(reason, req, QM_REPLY_TOO_LARGE, "request is %zu bytes, limit %d",
                        len, QM_REQUEST_MAX_BYTES);
    /* The fast path reads plain requests; jansson the rest, and says what
     * is wrong with them. */
    qm_wire_t root;
    int rc = qm_wire_read(&root, buf, len) == 1 ? 0 : s_read_strict(&root, buf, len, req, reason);
    if (rc == 0)
        rc = s_decode(&root, req, reason);
    if (rc == 0)
        req->refusal = NULL;
    return rc;
}

const char *qm_request_op_name(qm_op_kind_t kind, qm_action_kind_t action)
{
    for (size_t o = 0; o < S_OP_COUNT; o++)
        if (s_ops[o].kind == kind && (kind != QM_OP_WINDOW_ACTION || s_ops[o].action == action))
            return s_ops[o].name;
    return "?";
}

void qm_request_issue(const qm_request_t *req, qm_issue_req_t *out)
{
    memset(out, 0, sizeof *out);
    out->service_id = req->service_id;
    out->klass = req->klass;
    out->appointment_ms = req->appointment_ms;
    out->phone = req->phone[0] ? req->phone : NULL;
    out->actor = req->actor;
}

void qm_request_action(const qm_request_t *req, qm_action_t *out)
{
    memset(out, 0, sizeof *out);
    out->kind = req->action;
    out->window_id = req->window_id;
    out->actor = req->actor;
    out->staff_id = req->staff_id;
    out->ticket = req->ticket[0] ? req->ticket : NULL;
    out->reason = req->reason[0] ? req->reason : NULL;
    out->target = req->target;
    out->target_id = req->target_id;
    out->service_id = req->service_id;
    out->klass = req->klass;
}

/* ---- replies ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t s_utf8_seq(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n;
    uint32_t cp;
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* Copies text as valid UTF-8 (a reason may have been cut mid-character),
 * invalid bytes as '?'. */
static void s_utf8_clean(const char *in, char *out, size_t size)
{
    size_t o = 0;
    const unsigned char *s = (const unsigned char *) in;
    while (*s && o + 1 < size) {
        size_t n = s_utf8_seq(s);
        if (n == 0 || o + n >= size) {
            if (n != 0)
                break;
            out[o++] = '?';
            s++;
            continue;
        }
        memcpy(out + o, s, n);
        o += n;
        s += n;
    }
    out[o] = '\0';
}

static void s_w_time(jsonw_t *w, const char *key, int64_t ms);

static void s_head(jsonw_t *w, const char *id, bool ok)
{
    jsonw_reset(w);
    jsonw_int(w, "v", QM_REQUEST_VERSION);
    if (id)
        jsonw_str(w, "id", id);
    else
        jsonw_null(w, "id");
    jsonw_bool(w, "ok", ok);
}

static void s_w_time(jsonw_t *w, const char *key, int64_t ms)
{
    char text[CLOCK_RFC3339_SIZE];
    if (ms > 0 && clock_format_rfc3339(ms, text) == 0)
        jsonw_str(w, key, text);
    else
        jsonw_null(w, key);
}

static void s_w_id(jsonw_t *w, const char *key, int64_t id)
{
    if (id > 0)
        jsonw_int(w, key, id);
    else
        jsonw_null(w, key);
}

/* The ticket object (docs/protocol.md, "Ticket object"). */
static void s_w_ticket(jsonw_t *w, const qm_ticket_info_t *t)
{
    jsonw_object_begin(w, "ticket");
    jsonw_str(w, "id", t->id);
    jsonw_str(w, "number", t->number);
    jsonw_int(w, "service", t->service_id);
    jsonw_int(w, "queue", t->queue_id);
    jsonw_str(w, "class", qm_class_name(t->klass));
    jsonw_str(w, "state", qm_ticket_state_name(t->state));
    s_w_time(w, "issued", t->original_ms);
    s_w_time(w, "appointment", t->appointment_ms);
    if (t->state == QM_TICKET_WAITING && t->target != QM_TARGET_NONE) {
        jsonw_object_begin(w, "transfer");
        jsonw_str(w, "to", qm_target_name(t->target));
        jsonw_int(w, "target", t->target_id);
        jsonw_object_end(w);
    } else {
        jsonw_null(w, "transfer");
    }
    s_w_id(w, "window", t->window_id);
    s_w_id(w, "staff", t->staff_id);
    jsonw_int(w, "recall", t->recall);
    s_w_time(w, "called", t->called_ms);
    s_w_time(w, "started", t->started_ms);
    s_w_time(w, "finished", t->finished_ms);
    jsonw_object_end(w);
}

/* The members of every error reply, left open for more. */
static int s_error_head(jsonw_t *w, const char *id, const char *code, const char *reason)
{
    if (!w || !code)
        return -1;
    char clean[QM_DETAIL_SIZE];
    s_utf8_clean(reason ? reason : "", clean, sizeof clean);
    s_head(w, id, false);
    jsonw_str(w, "error", code);
    jsonw_str(w, "reason", clean);
    return 0;
}

int qm_reply_error(jsonw_t *w, const char *id, const char *code, const char *reason)
{
    return s_error_head(w, id, code, reason) == 0 ? jsonw_finish(w) : -1;
}

int qm_reply_not_issuing(jsonw_t *w, const char *id, const char *code, const char *reason,
                         int64_t resumes_ms)
{
    if (!id || s_error_head(w, id, code, reason) != 0)
        return -1;
    s_w_time(w, "resumes", resumes_ms);
    return jsonw_finish(w);
}

int qm_reply_ok(jsonw_t *w, const char *id, size_t events)
{
    if (!w || !id)
        return -1;
    s_head(w, id, true);
    jsonw_int(w, "events", (int64_t) events);
    return jsonw_finish(w);
}

int qm_reply_ticket(jsonw_t *w, const char *id, size_t events,
                    const qm_ticket_info_t *ticket, int64_t position, int64_t est_wait_s)
{
    if (!w || !id || !ticket)
        return -1;
    s_head(w, id, true);
    jsonw_int(w, "events", (int64_t) events);
    s_w_ticket(w, ticket);
    if (position >= 0) {
        jsonw_int(w, "position", position);
        jsonw_int(w, "est_wait_s", est_wait_s);
    } else {
        jsonw_null(w, "position");
        jsonw_null(w, "est_wait_s");
    }
    return jsonw_finish(w);
}

int qm_reply_ticket_get(jsonw_t *w, const char *id, size_t events,
                        const qm_branch_t *branch, const char *ref, int64_t now_ms,
                        qm_told_t *told)
{
    qm_ticket_info_t info;
    if (!branch || !ref || qm_ticket_find(branch, ref, &info) != 0)
        return -1;
    size_t position = 0;
    int64_t est = 0;
    qm_told_t said = { -1, -1 };
    if (info.state == QM_TICKET_WAITING
        && qm_ticket_estimate(branch, info.id, now_ms, &position, &est) == 0)
        said = (qm_told_t) { (int64_t) position, est };
    if (told)
        *told = said;
    return qm_reply_ticket(w, id, events, &info, said.position, said.est_wait_s);
}

int qm_reply_action(jsonw_t *w, const char *id, size_t events,
                    const qm_branch_t *branch, int64_t window_id)
{
    qm_window_info_t win;
    if (!w || !id || !branch || qm_window_find(branch, window_id, &win) != 0)
        return -1;
    qm_ticket_info_t ticket;
    bool current = win.current_id[0] && qm_ticket_find(branch, win.current_id, &ticket) == 0;
    char profile[QM_DETAIL_SIZE];
    if (qm_profile_format(&win.profile, profile, sizeof profile) != 0)
        profile[0] = '\0';

    s_head(w, id, true);
    jsonw_int(w, "events", (int64_t) events);
    jsonw_object_begin(w, "window");
    jsonw_int(w, "id", win.id);
    jsonw_int(w, "number", win.number);
    jsonw_str(w, "name", win.name);
    jsonw_str(w, "state", qm_window_state_name(win.state));
    if (win.state == QM_WINDOW_PAUSED)
        jsonw_str(w, "pause_reason", win.pause_reason);
    else
        jsonw_null(w, "pause_reason");
    s_w_id(w, "staff", win.staff_id);
    if (current)
        jsonw_str(w, "current", ticket.number);
    else
        jsonw_null(w, "current");
    jsonw_int(w, "parked", (int64_t) win.parked);
    jsonw_int(w, "transferred", (int64_t) win.transferred);
    jsonw_str(w, "profile", profile);
    jsonw_object_end(w);
    if (current)
        s_w_ticket(w, &ticket);
    else
        jsonw_null(w, "ticket");
    return jsonw_finish(w);
}

/* ---- branch.state (jansson: it has arrays) ------------------------------- */

/* json_object_set_new that records a failure in *ok. */
static void s_set(json_t *obj, const char *key, json_t *value, bool *ok)
{
    if (!value || json_object_set_new(obj, key, value) != 0)
        *ok = false;
}

static json_t *s_j_time(int64_t ms)
{
    char text[CLOCK_RFC3339_SIZE];
    if (ms > 0 && clock_format_rfc3339(ms, text) == 0)
        return json_string(text);
    return json_null();
}

static json_t *s_j_window(const qm_branch_t *branch, const qm_window_info_t *win, bool *ok)
{
    json_t *o = json_object();
    if (!o) {
        *ok = false;
        return NULL;
    }
    qm_ticket_info_t ticket;
    bool current = win->current_id[0] && qm_ticket_find(branch, win->current_id, &ticket) == 0;
    char profile[QM_DETAIL_SIZE], name[QM_NAME_SIZE], pause[QM_DETAIL_SIZE];
    if (qm_profile_format(&win->profile, profile, sizeof profile) != 0)
        profile[0] = '\0';
    s_utf8_clean(win->name, name, sizeof name);
    s_utf8_clean(win->pause_reason, pause, sizeof pause);
    s_set(o, "id", json_integer(win->id), ok);
    s_set(o, "number", json_integer(win->number), ok);
    s_set(o, "name", json_string(name), ok);
    s_set(o, "state", json_string(qm_window_state_name(win->state)), ok);
    s_set(o, "pause_reason",
          win->state == QM_WINDOW_PAUSED ? json_string(pause) : json_null(), ok);
    s_set(o, "staff", win->staff_id > 0 ? json_integer(win->staff_id) : json_null(), ok);
    s_set(o, "current", current ? json_string(ticket.number) : json_null(), ok);
    s_set(o, "parked", json_integer((json_int_t) win->parked), ok);
    s_set(o, "transferred", json_integer((json_int_t) win->transferred), ok);
    s_set(o, "profile", json_string(profile), ok);
    int64_t waiting = qm_window_waiting(branch, win->id);
    s_set(o, "since", s_j_time(win->since_ms), ok);
    s_set(o, "waiting", json_integer(waiting < 0 ? 0 : waiting), ok);
    s_set(o, "service", current ? json_integer(ticket.service_id) : json_null(), ok);
    s_set(o, "called", s_j_time(current ? ticket.called_ms : 0), ok);
    s_set(o, "started", s_j_time(current ? ticket.started_ms : 0), ok);
    return o;
}

char *qm_reply_branch_state(const char *id, qm_branch_t *branch, const char *branch_path,
                            const qm_queue_cfg_t *queues, size_t queue_count, size_t *len)
{
    if (!id || !branch || !branch_path || (queue_count && !queues) || !len)
        return NULL;
    bool ok = true;
    json_t *root = json_object();
    json_t *jq = json_array(), *jw = json_array(), *jd = json_array();
    if (!root || !jq || !jw || !jd) {
        json_decref(root);
        json_decref(jq);
        json_decref(jw);
        json_decref(jd);
        return NULL;
    }
    int day = qm_branch_day(branch);
    char day_text[CLOCK_DATE_SIZE];
    clock_format_date((clock_date_t) { day / 10000, day / 100 % 100, day % 100 }, day_text);
    s_set(root, "v", json_integer(QM_REQUEST_VERSION), &ok);
    s_set(root, "id", json_string(id), &ok);
    s_set(root, "ok", json_true(), &ok);
    s_set(root, "events", json_integer(0), &ok);
    s_set(root, "branch", json_string(branch_path), &ok);
    s_set(root, "day", json_string(day_text), &ok);
    s_set(root, "queues", jq, &ok);
    s_set(root, "windows", jw, &ok);
    s_set(root, "display", jd, &ok);

    for (size_t i = 0; ok && i < queue_count; i++) {
        json_t *o = json_object();
        if (!o || json_array_append_new(jq, o) != 0) {
            ok = false;
            break;
        }
        int64_t waiting = qm_queue_waiting(branch, queues[i].id);
        int next = qm_queue_next_number(branch, queues[i].id);
        s_set(o, "id", json_integer(queues[i].id), &ok);
        s_set(o, "prefix", json_string(queues[i].prefix), &ok);
        s_set(o, "waiting", json_integer(waiting < 0 ? 0 : waiting), &ok);
        s_set(o, "next_number", next < 0 ? json_null() : json_integer(next), &ok);
        s_set(o, "oldest", s_j_time(qm_queue_oldest(branch, queues[i].id)), &ok);
    }
    size_t count = qm_window_count(branch);
    for (size_t i = 0; ok && i < count; i++) {
        qm_window_info_t win;
        if (qm_window_at(branch, i, &win) != 0)
            continue;
        json_t *o = s_j_window(branch, &win, &ok);
        if (!o || json_array_append_new(jw, o) != 0)
            ok = false;
    }
    const qm_hall_t *hall = qm_branch_hall(branch);
    count = qm_hall_line_count(hall);
    for (size_t i = 0; ok && i < count; i++) {
        const qm_hall_line_t *line = qm_hall_line(hall, i);
        json_t *o = line ? json_object() : NULL;
        if (!o || json_array_append_new(jd, o) != 0) {
            ok = false;
            break;
        }
        s_set(o, "number", json_string(line->number), &ok);
        s_set(o, "window_no", json_integer(line->window_no), &ok);
        s_set(o, "at", s_j_time(line->at_ms), &ok);
    }
    char *text = ok ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (text)
        *len = strlen(text);
    return text;
}
