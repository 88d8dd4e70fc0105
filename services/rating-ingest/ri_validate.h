/*  ri_validate: decoding and validation rules of rating-ingest, pure functions.
 *
 *  ri_event_decode turns a gateway envelope (docs/protocol.md, "Device gateway
 *  messages") into an ri_event_t; the ri_validate_* rules decide whether an
 *  event becomes a fact. Every refusal comes with a reason, which rating-ingest
 *  stores in rejected_event. Nothing here touches the network or a database.
 */
#ifndef EQMS_RI_VALIDATE_H
#define EQMS_RI_VALIDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "eqms/envelope.h"

#define RI_SERIAL_MAX   32
#define RI_EMPLOYEE_MAX 16
#define RI_TICKET_MAX   8
#define RI_PATH_MAX     ENVELOPE_TOPIC_MAX
#define RI_MAX_OPTIONS  6

typedef enum {
    RI_KIND_OTHER = 0,       /* device.*, call.*: acknowledged, not stored */
    RI_KIND_RATING,          /* rating.submitted */
    RI_KIND_NOT_RATED,       /* rating.not_rated: acknowledged, not stored */
    RI_KIND_LOGIN,           /* staff.login */
    RI_KIND_LOGOUT,          /* staff.logout */
    RI_KIND_SERVICE_START,   /* service.start */
    RI_KIND_SERVICE_END      /* service.end */
} ri_kind_t;

/* One decoded gateway event. Fields a type does not carry are 0 / "". */
typedef struct {
    char id[ID_SIZE];                    /* envelope id */
    char gateway[ENVELOPE_SRC_MAX + 1];  /* envelope src */
    char incarnation[ID_SIZE];           /* the gateway journal's (UUIDv7 or nil) */
    int64_t seq;                         /* envelope seq, within the incarnation */
    char type[ENVELOPE_TYPE_MAX + 1];
    ri_kind_t kind;
    char serial[RI_SERIAL_MAX + 1];
    int64_t boot;
    int64_t device_seq;
    int64_t event_ms;                    /* event_time */
    int64_t received_ms;                 /* received */
    int64_t window_id;                   /* 0 = unassigned */
    char branch[RI_PATH_MAX + 1];
    char employee_no[RI_EMPLOYEE_MAX + 1];   /* "" = none */
    char ticket[RI_TICKET_MAX + 1];          /* "" = none */
    int option_code;                     /* rating: 1..6 */
    int64_t service_ms;                  /* -1 = unknown */
    int64_t duration_ms;                 /* service.end: -1 = unknown */
} ri_event_t;

/* One option of a rating scale. */
typedef struct {
    int code;
    double score;
    bool satisfied;
    bool unsatisfied;
} ri_option_t;

/* What rating-ingest knows about a window (from the database). */
typedef struct {
    int64_t window_id;
    char path[RI_PATH_MAX + 1];          /* window org path */
    char branch[RI_PATH_MAX + 1];        /* its branch's org path */
    char time_zone[64];                  /* its branch's IANA zone */
    int rating_timeout_s;
    int repeat_press_s;
    int option_count;
    ri_option_t options[RI_MAX_OPTIONS];
} ri_window_t;

/* A teller's session at a window, by event time. */
#define RI_OPEN INT64_MAX
typedef struct {
    int64_t staff_id;                    /* 0 = no session (slot unused) */
    char employee_no[RI_EMPLOYEE_MAX + 1];
    int64_t from_ms;                     /* the login */
    int64_t to_ms;                       /* the logout, or when another login took the
                                          * window or the teller; RI_OPEN while open */
} ri_session_t;

/* Sessions remembered per window: a rating is bound to the one at its
 * event time, so an event decided late (after a gap the replay did not
 * fill in time) still finds the teller of its moment. */
#define RI_SESSIONS 4

/* The per-window state kept in memory while events stream through. */
typedef struct {
    ri_session_t sessions[RI_SESSIONS];  /* the latest ones, newest login first */
    int64_t last_rating_ms;              /* 0 = none yet */
    int64_t last_service_end_ms;         /* 0 = unknown */
    char last_ticket_id[ID_SIZE];        /* last ticket finished here ("" = none) */
    char last_ticket[RI_TICKET_MAX + 1]; /* its number */
    int64_t last_ticket_ms;              /* when it finished */
} ri_window_state_t;

/* The device_status a device.* event sets ("online" for device.online and
 * device.assigned: an online device with a window; "offline";
 * "unassigned"), or NULL for a type that sets none. */
const char *ri_device_status(const char *type);

/* Decodes the data of a gateway envelope. Returns 0, or -1 with a reason
 * (the event is then rejected as malformed). */
/* The kind of a gateway event type (RI_KIND_OTHER for the ones only
 * acknowledged). */
ri_kind_t ri_event_kind(const char *type);

int ri_event_decode(const envelope_t *envelope, ri_event_t *event,
                    char reason[ENVELOPE_REASON_SIZE]);

/* The option with `code` in the window's scale, or NULL. */
const ri_option_t *ri_window_option(const ri_window_t *window, int code);

/* Rules common to every stored event: the event time may be later than
 * the gateway's receive time by at most max_skew_s (a clock ahead), and
 * earlier by at most max_age_s (an event the device kept while the gateway
 * was away is a fact with its own time, up to that age). 0 or -1 with a
 * reason ("clock skew: ..."). */
int ri_validate_clock(const ri_event_t *event, int max_skew_s, int max_age_s,
                      char reason[ENVELOPE_REASON_SIZE]);

/* Rules for a rating at `window` (NULL = the device or window is not
 * known): the device is assigned, the option is in the window's scale, a
 * teller's session at the window covers the rating's time, the press is
 * within rating_timeout_s of the last service end (when one is known and
 * not yet rated) and not within repeat_press_s of the previous stored
 * rating at that window. On success *option_p is the option and *session_p
 * the teller's session (both point into the arguments). Returns 0, or -1
 * with a reason. */
int ri_validate_rating(const ri_event_t *event, const ri_window_t *window,
                       const ri_window_state_t *state, const ri_option_t **option_p,
                       const ri_session_t **session_p, char reason[ENVELOPE_REASON_SIZE]);

/* The session at the window at time t (from_ms <= t < to_ms; the latest
 * login wins), or NULL if nobody was logged in. */
const ri_session_t *ri_window_session(const ri_window_state_t *state, int64_t t);

/* The session open now (the latest login, not ended), or NULL. */
const ri_session_t *ri_window_current(const ri_window_state_t *state);

/* A login of `staff_id` at time t: the session open at t ends at t (the
 * window is taken), and the new one ends where a later login begins if
 * one is known already (a login decided late), else stays open. A login
 * already known (same teller, same time) changes nothing. Returns true if
 * the new session is the window's current one. */
bool ri_window_state_login(ri_window_state_t *state, int64_t staff_id,
                           const char *employee_no, int64_t t);

/* A logout of `employee_no` at time t ends that teller's latest session
 * that began at or before t, if it did not end earlier; a session that
 * began after t is never touched (a logout sent again late cannot end a
 * newer session). Returns true if it ended the current session. */
bool ri_window_state_logout(ri_window_state_t *state, const char *employee_no, int64_t t);

/* Teller `staff_id` logged in at another window at time t: the session of
 * theirs open at t here ends at t. Returns true if it was the current one. */
bool ri_window_state_leave(ri_window_state_t *state, int64_t staff_id, int64_t t);

/* The ticket a rating at `window` rates: the one last finished there, at
 * most rating_timeout_s before the rating (a little after is tolerated:
 * clocks differ), with the number the device reported if it reported one.
 * Returns its id, or NULL. */
const char *ri_rating_ticket(const ri_event_t *rating, const ri_window_t *window,
                             const ri_window_state_t *state);

/* Applies a stored event to the window's state (login, logout, service end,
 * rating; the last two never move back in time). `staff_id` is the teller
 * of a login (ignored otherwise). Returns true if it changed who is at the
 * window now (ri_window_state_login, _logout). */
bool ri_window_state_apply(ri_window_state_t *state, const ri_event_t *event,
                           int64_t staff_id);

#endif
