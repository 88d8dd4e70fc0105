/*  ri_validate: gateway event decoding and validation rules (ri_validate.h). */
#include "ri_validate.h"

#include <stdio.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/id.h"

static const struct {
    const char *type;
    ri_kind_t kind;
} s_kinds[] = {
    {"rating.submitted", RI_KIND_RATING},
    {"rating.not_rated", RI_KIND_NOT_RATED},
    {"staff.login", RI_KIND_LOGIN},
    {"staff.logout", RI_KIND_LOGOUT},
    {"service.start", RI_KIND_SERVICE_START},
    {"service.end", RI_KIND_SERVICE_END},
};

const char *ri_device_status(const char *type)
{
    if (strcmp(type, "device.online") == 0 || strcmp(type, "device.assigned") == 0)
        return "online";
    if (strcmp(type, "device.offline") == 0)
        return "offline";
    if (strcmp(type, "device.unassigned") == 0)
        return "unassigned";
    return NULL;
}

ri_kind_t ri_event_kind(const char *type)
{
    for (size_t i = 0; i < sizeof s_kinds / sizeof s_kinds[0]; i++)
        if (strcmp(type, s_kinds[i].type) == 0)
            return s_kinds[i].kind;
    return RI_KIND_OTHER;
}

/* Copies a JSON string or null member into buf; -1 if too long or not text. */
static int s_opt_string(const json_t *value, char *buf, size_t size, bool *present)
{
    *present = false;
    buf[0] = '\0';
    if (!value || json_is_null(value))
        return 0;
    if (!json_is_string(value) || json_string_length(value) >= size)
        return -1;
    memcpy(buf, json_string_value(value), json_string_length(value) + 1);
    *present = true;
    return 0;
}

/* An optional non-negative integer member (null = -1). */
static int s_opt_int(const json_t *value, int64_t *out)
{
    *out = -1;
    if (!value || json_is_null(value))
        return 0;
    if (!json_is_integer(value) || json_integer_value(value) < 0)
        return -1;
    *out = json_integer_value(value);
    return 0;
}

int ri_event_decode(const envelope_t *envelope, ri_event_t *event,
                    char reason[ENVELOPE_REASON_SIZE])
{
    memset(event, 0, sizeof *event);
    snprintf(event->id, sizeof event->id, "%s", envelope->id);
    snprintf(event->gateway, sizeof event->gateway, "%s", envelope->src);
    snprintf(event->type, sizeof event->type, "%s", envelope->type);
    event->seq = envelope->seq;
    event->kind = ri_event_kind(envelope->type);
    event->service_ms = -1;
    event->duration_ms = -1;

    const char *serial = NULL, *received = NULL, *event_time = NULL, *branch = NULL;
    json_t *window = NULL, *employee = NULL, *ticket = NULL;
    json_int_t boot = 0, device_seq = 0;
    json_error_t error;
    const char *incarnation = json_string_value(json_object_get(envelope->data,
                                                                "incarnation"));
    if (!incarnation || !id_v7_or_nil(incarnation))
        return envelope_reject(reason, "malformed: incarnation missing, or neither a "
                               "UUIDv7 nor nil");
    snprintf(event->incarnation, sizeof event->incarnation, "%s", incarnation);
    if (json_unpack_ex(envelope->data, &error, 0,
                       "{s:s, s:I, s:I, s:s, s:s, s:o, s:s, s?o, s?o}", "serial", &serial,
                       "boot", &boot, "device_seq", &device_seq, "received", &received,
                       "event_time", &event_time, "window", &window, "branch", &branch,
                       "employee_no", &employee, "ticket", &ticket) != 0)
        return envelope_reject(reason, "malformed: %s", error.text);
    if (strlen(serial) == 0 || strlen(serial) > RI_SERIAL_MAX)
        return envelope_reject(reason, "malformed: serial length");
    snprintf(event->serial, sizeof event->serial, "%s", serial);
    if (boot < 0 || device_seq < 0)
        return envelope_reject(reason, "malformed: negative boot or device_seq");
    event->boot = boot;
    event->device_seq = device_seq;
    if (clock_parse_rfc3339(received, &event->received_ms) != 0
        || clock_parse_rfc3339(event_time, &event->event_ms) != 0)
        return envelope_reject(reason, "malformed: received or event_time is not RFC 3339");
    if (!envelope_org_path_valid(branch, strlen(branch)))
        return envelope_reject(reason, "malformed: branch is not an org path");
    snprintf(event->branch, sizeof event->branch, "%s", branch);
    if (json_is_object(window)) {
        json_t *id = json_object_get(window, "id");
        if (!json_is_integer(id) || json_integer_value(id) < 1)
            return envelope_reject(reason, "malformed: window.id");
        event->window_id = json_integer_value(id);
    } else if (!json_is_null(window)) {
        return envelope_reject(reason, "malformed: window is neither object nor null");
    }
    bool present;
    if (s_opt_string(employee, event->employee_no, sizeof event->employee_no, &present) != 0)
        return envelope_reject(reason, "malformed: employee_no");
    if (s_opt_string(ticket, event->ticket, sizeof event->ticket, &present) != 0)
        return envelope_reject(reason, "malformed: ticket");

    json_t *data = envelope->data;
    switch (event->kind) {
    case RI_KIND_RATING: {
        json_t *code = json_object_get(data, "option_code");
        if (!json_is_integer(code) || json_integer_value(code) < 1
            || json_integer_value(code) > 6)
            return envelope_reject(reason, "malformed: option_code must be 1..6");
        event->option_code = (int) json_integer_value(code);
    }
        /* fall through */
    case RI_KIND_NOT_RATED:
        if (s_opt_int(json_object_get(data, "service_ms"), &event->service_ms) != 0)
            return envelope_reject(reason, "malformed: service_ms");
        break;
    case RI_KIND_SERVICE_END:
        if (s_opt_int(json_object_get(data, "duration_ms"), &event->duration_ms) != 0)
            return envelope_reject(reason, "malformed: duration_ms");
        break;
    case RI_KIND_LOGIN:
    case RI_KIND_LOGOUT:
        if (event->employee_no[0] == '\0')
            return envelope_reject(reason, "malformed: %s without employee_no", event->type);
        break;
    default:
        break;
    }
    return 0;
}

const ri_option_t *ri_window_option(const ri_window_t *window, int code)
{
    for (int i = 0; i < window->option_count; i++)
        if (window->options[i].code == code)
            return &window->options[i];
    return NULL;
}

int ri_validate_clock(const ri_event_t *event, int max_skew_s, int max_age_s,
                      char reason[ENVELOPE_REASON_SIZE])
{
    int64_t ahead = event->event_ms - event->received_ms;
    if (ahead > (int64_t) max_skew_s * 1000)
        return envelope_reject(reason, "clock skew: event_time is %lld ms after received "
                               "(limit %d s)", (long long) ahead, max_skew_s);
    if (-ahead > (int64_t) max_age_s * 1000)
        return envelope_reject(reason, "clock skew: event_time is %lld ms before received "
                               "(limit %d s)", (long long) -ahead, max_age_s);
    return 0;
}

int ri_validate_rating(const ri_event_t *event, const ri_window_t *window,
                       const ri_window_state_t *state, const ri_option_t **option_p,
                       const ri_session_t **session_p, char reason[ENVELOPE_REASON_SIZE])
{
    *option_p = NULL;
    *session_p = NULL;
    if (event->window_id == 0)
        return envelope_reject(reason, "unassigned device: %s has no window", event->serial);
    if (!window)
        return envelope_reject(reason, "unknown device or window: %s at window %lld",
                               event->serial, (long long) event->window_id);
    const ri_option_t *option = ri_window_option(window, event->option_code);
    if (!option)
        return envelope_reject(reason, "option %d not in the window's scale",
                               event->option_code);
    const ri_session_t *session = state ? ri_window_session(state, event->event_ms) : NULL;
    if (!session)
        return envelope_reject(reason, "nobody logged in at window %lld",
                               (long long) event->window_id);
    if (state->last_service_end_ms > state->last_rating_ms && window->rating_timeout_s > 0
        && event->event_ms - state->last_service_end_ms
               > (int64_t) window->rating_timeout_s * 1000)
        return envelope_reject(reason, "outside the rating window: %lld ms after the "
                               "service end (limit %d s)",
                               (long long) (event->event_ms - state->last_service_end_ms),
                               window->rating_timeout_s);
    if (state->last_rating_ms > 0 && window->repeat_press_s > 0
        && event->event_ms >= state->last_rating_ms
        && event->event_ms - state->last_rating_ms < (int64_t) window->repeat_press_s * 1000)
        return envelope_reject(reason, "repeat press: %lld ms after the previous rating "
                               "(interval %d s)",
                               (long long) (event->event_ms - state->last_rating_ms),
                               window->repeat_press_s);
    *option_p = option;
    *session_p = session;
    return 0;
}

/* How far a rating may precede the finish it rates (device and server clocks). */
#define S_TICKET_EARLY_MS 5000

const char *ri_rating_ticket(const ri_event_t *rating, const ri_window_t *window,
                             const ri_window_state_t *state)
{
    if (!state->last_ticket_id[0])
        return NULL;
    int64_t since = rating->event_ms - state->last_ticket_ms;
    if (since < -S_TICKET_EARLY_MS || since > (int64_t) window->rating_timeout_s * 1000)
        return NULL;
    if (rating->ticket[0] && strcmp(rating->ticket, state->last_ticket) != 0)
        return NULL;
    return state->last_ticket_id;
}

const ri_session_t *ri_window_session(const ri_window_state_t *state, int64_t t)
{
    for (int i = 0; i < RI_SESSIONS; i++) {
        const ri_session_t *s = &state->sessions[i];
        if (s->staff_id != 0 && s->from_ms <= t && t < s->to_ms)
            return s;
    }
    return NULL;
}

const ri_session_t *ri_window_current(const ri_window_state_t *state)
{
    const ri_session_t *s = &state->sessions[0];
    return s->staff_id != 0 && s->to_ms == RI_OPEN ? s : NULL;
}

bool ri_window_state_login(ri_window_state_t *state, int64_t staff_id,
                           const char *employee_no, int64_t t)
{
    ri_session_t *sessions = state->sessions;
    int at = 0;   /* newest first: the new one goes before the first older login */
    while (at < RI_SESSIONS && sessions[at].staff_id != 0 && sessions[at].from_ms > t)
        at++;
    if (at < RI_SESSIONS && sessions[at].staff_id == staff_id && sessions[at].from_ms == t)
        return false;
    if (at == RI_SESSIONS)
        return false;   /* older than all remembered: nothing here depends on it */
    ri_session_t fresh = { .staff_id = staff_id, .from_ms = t,
                           .to_ms = at > 0 ? sessions[at - 1].from_ms : RI_OPEN };
    snprintf(fresh.employee_no, sizeof fresh.employee_no, "%s", employee_no);
    /* The session open at t is taken by this login (a session ended
     * already keeps its end). */
    if (sessions[at].staff_id != 0 && sessions[at].to_ms == RI_OPEN)
        sessions[at].to_ms = t;
    memmove(&sessions[at + 1], &sessions[at], (size_t) (RI_SESSIONS - 1 - at) * sizeof *sessions);
    sessions[at] = fresh;
    return at == 0 && fresh.to_ms == RI_OPEN;
}

bool ri_window_state_logout(ri_window_state_t *state, const char *employee_no, int64_t t)
{
    for (int i = 0; i < RI_SESSIONS; i++) {
        ri_session_t *s = &state->sessions[i];
        if (s->staff_id == 0 || s->from_ms > t || strcmp(s->employee_no, employee_no) != 0)
            continue;
        bool current = i == 0 && s->to_ms == RI_OPEN;
        if (s->to_ms > t)
            s->to_ms = t;
        return current;
    }
    return false;
}

bool ri_window_state_leave(ri_window_state_t *state, int64_t staff_id, int64_t t)
{
    for (int i = 0; i < RI_SESSIONS; i++) {
        ri_session_t *s = &state->sessions[i];
        if (s->staff_id == staff_id && s->from_ms <= t && s->to_ms == RI_OPEN) {
            s->to_ms = t;
            return i == 0;
        }
    }
    return false;
}

bool ri_window_state_apply(ri_window_state_t *state, const ri_event_t *event,
                           int64_t staff_id)
{
    switch (event->kind) {
    case RI_KIND_LOGIN:
        return ri_window_state_login(state, staff_id, event->employee_no, event->event_ms);
    case RI_KIND_LOGOUT:
        return ri_window_state_logout(state, event->employee_no, event->event_ms);
    case RI_KIND_SERVICE_END:
        if (event->event_ms > state->last_service_end_ms)
            state->last_service_end_ms = event->event_ms;
        return false;
    case RI_KIND_RATING:
        if (event->event_ms > state->last_rating_ms)
            state->last_rating_ms = event->event_ms;
        return false;
    default:
        return false;
    }
}
