/*  qm_model: the in-memory state of one branch (one hall) of queue-manager:
 *  queues, tickets, windows, calling rules; pure and I/O-free.
 *
 *  Event sourced. Every operation is split in two:
 *
 *    DECIDE  qm_issue, qm_act, qm_window_set, qm_day_end read the branch
 *            (const), validate the request, pick the ticket by the window's
 *            rules (qm_rules.h) and append one or more qm_event_t to a
 *            caller-owned journal. On refusal they return a qm_err_t with a
 *            human-readable reason and append nothing.
 *    APPLY   qm_apply(branch, event) changes the state. The same function
 *            rebuilds a branch after a restart: create it with the same
 *            config and apply today's stored events in order. Applying a
 *            given sequence always gives the same state (rotation counters,
 *            recall counts, averages, numbering, display list included):
 *            every choice (ticket id, number, average) is in the event.
 *
 *  Use, single-threaded (one actor owns a branch; that serialisation is what
 *  makes "two windows never get the same ticket" hold under concurrency):
 *
 *      size_t mark = qm_journal_count(journal);
 *      qm_err_t err = qm_act(branch, &action, now, journal, reason);
 *      if (err == QM_OK)
 *          qm_journal_apply(branch, journal, mark);   // before the next decide
 *      ... more requests ...
 *      store all of journal in one transaction (group commit), then reply;
 *      qm_journal_clear(journal);
 *
 *  A decision must be applied before the next decision is made: a decision
 *  numbers its events after the last applied one (qm_event_t.seq) and
 *  qm_apply refuses an event whose seq is not above the last applied, so a
 *  forgotten apply is caught. If the group commit fails, the caller throws
 *  the branch away and rebuilds it from the store.
 *
 *  Time is passed in (ms UTC); the branch-local day (yyyymmdd) is computed
 *  by the caller (eqms/clock.h). Ticket ids are UUIDv7 made here by id_new()
 *  (eqms/id.h) at decision time and carried in the ISSUED / WALK_IN event.
 *
 *  Cost: tickets waiting are kept in per-service, per-class heaps ordered by
 *  original issue time (and per-window / per-teller heaps for transfers), so
 *  call next is O(services of the profile + log n); lookups by id or number
 *  are O(1). Nothing has a fixed limit on tickets; numbers per queue are
 *  bounded by the queue's number_max (then issue is refused).
 */
#ifndef EQMS_QM_MODEL_H
#define EQMS_QM_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/id.h"
#include "qm_hall.h"
#include "qm_rules.h"

#define QM_NAME_SIZE   64     /* service / window names, plus NUL */
#define QM_CODE_SIZE   16     /* service codes, plus NUL */
#define QM_ACTOR_SIZE  64     /* "staff:1001", "kiosk:3", "device:EQ-B0001-W03" */
#define QM_PHONE_SIZE  24     /* digits with an optional leading '+', plus NUL */

/* ---- static configuration (loaded by the caller, copied by qm_branch_new) */

typedef struct {
    int64_t id;                       /* > 0, unique */
    char prefix[QM_PREFIX_SIZE];      /* "A": 1..3 characters A-Z, unique */
    int number_max;                   /* 1..9999; 0 means the default 999 */
} qm_queue_cfg_t;

typedef struct {
    int64_t id;                       /* > 0, unique */
    char code[QM_CODE_SIZE];
    char name[QM_NAME_SIZE];
    int64_t queue_id;                 /* a configured queue */
} qm_service_cfg_t;

typedef struct {
    int64_t id;                       /* > 0, unique */
    int number;                       /* 1..9999, shown and announced; unique */
    char name[QM_NAME_SIZE];
    qm_profile_t profile;             /* services must be configured */
} qm_window_cfg_t;

typedef struct {
    int recall_limit;                 /* recalls allowed per call; default 3 */
    int default_service_s;            /* start of every moving average; 300 */
    qm_hall_cfg_t hall;               /* display size, announcement timing */
} qm_settings_t;

typedef struct {
    const qm_queue_cfg_t *queues;
    size_t queue_count;
    const qm_service_cfg_t *services;
    size_t service_count;
    const qm_window_cfg_t *windows;   /* may be empty; see qm_window_set */
    size_t window_count;
    qm_settings_t settings;
} qm_config_t;

/* ---- tickets, windows, events ----------------------------------------- */

typedef enum {
    QM_TICKET_WAITING = 0,    /* in a queue (or transferred to a window / teller) */
    QM_TICKET_CALLED,         /* called to a window, service not started */
    QM_TICKET_SERVING,        /* service started */
    QM_TICKET_PARKED,         /* held by a window, to be called back */
    QM_TICKET_FINISHED,       /* served (terminal) */
    QM_TICKET_NO_SHOW,        /* did not come (terminal) */
    QM_TICKET_ABANDONED       /* closed at day end (terminal) */
} qm_ticket_state_t;

typedef enum {
    QM_WINDOW_CLOSED = 0,
    QM_WINDOW_OPEN,
    QM_WINDOW_PAUSED
} qm_window_state_t;

/* Where a transfer sends a ticket. */
typedef enum {
    QM_TARGET_NONE = 0,       /* ordinary waiting in its service */
    QM_TARGET_SERVICE,        /* back into waiting for another (or the same) service */
    QM_TARGET_WINDOW,         /* waits for that window, ahead of its other work */
    QM_TARGET_STAFF           /* waits for whichever window that teller is at */
} qm_target_t;

/* Why a CALLED event picked its ticket (the weighted rotation counts only
 * QM_VIA_STRATEGY). */
typedef enum {
    QM_VIA_NONE = 0,
    QM_VIA_GREEN,             /* call next: green channel */
    QM_VIA_TRANSFER,          /* call next: transferred to this window / teller */
    QM_VIA_APPOINTMENT,       /* call next: appointment due */
    QM_VIA_STRATEGY,          /* call next: the profile's strategy */
    QM_VIA_EXPLICIT,          /* call ticket (out of order) */
    QM_VIA_CALL_BACK          /* call back a parked ticket */
} qm_via_t;

typedef enum {
    QM_EV_ISSUED = 1,         /* ticket created, waiting */
    QM_EV_WALK_IN,            /* ticket created already serving at window */
    QM_EV_CALLED,             /* ticket called to window (via) */
    QM_EV_RECALLED,           /* called again; recall = count after */
    QM_EV_STARTED,            /* service start */
    QM_EV_FINISHED,           /* served; avg_ms = service's new average:
                                 (3 * old + sample) / 4, sample = finish - start
                                 (finish - call if never started) */
    QM_EV_NO_SHOW,
    QM_EV_TRANSFERRED,        /* target, target_id; keeps original_ms */
    QM_EV_PARKED,             /* held by window_id */
    QM_EV_RETURNED,           /* called ticket put back in waiting (logout / close) */
    QM_EV_ABANDONED,          /* day end; detail = reason */
    QM_EV_WINDOW_OPENED,
    QM_EV_WINDOW_CLOSED,
    QM_EV_WINDOW_PAUSED,      /* detail = pause reason */
    QM_EV_WINDOW_RESUMED,
    QM_EV_STAFF_LOGIN,        /* staff_id at window_id */
    QM_EV_STAFF_LOGOUT,       /* staff_id leaves window_id; detail = why */
    QM_EV_WINDOW_SET,         /* window added / renamed: window_no, detail = name */
    QM_EV_PROFILE_SET,        /* detail = qm_profile_format text; resets rotation */
    QM_EV_DAY_START           /* day = the new day; numbering restarts */
} qm_event_kind_t;

/* One ticket event. Fields an event kind does not use are 0 / "". All text
 * is NUL-terminated. The store persists every field; qm_apply needs them all. */
typedef struct {
    int64_t seq;                      /* branch event number, strictly increasing */
    qm_event_kind_t kind;
    int64_t at_ms;                    /* ms UTC */
    int day;                          /* branch-local day yyyymmdd */
    char actor[QM_ACTOR_SIZE];        /* who did it */
    char ticket_id[ID_SIZE];          /* UUIDv7 of the ticket, "" if none */
    char number[QM_NUMBER_SIZE];      /* "A012" */
    int number_seq;                   /* 12 */
    int64_t queue_id;
    int64_t service_id;               /* the ticket's service (new one after transfer) */
    qm_class_t klass;
    int64_t window_id;
    int window_no;                    /* the window's number (display, announce) */
    int64_t staff_id;                 /* teller at the window, 0 = none */
    int64_t original_ms;              /* ISSUED / WALK_IN / TRANSFERRED: original issue time */
    int64_t appointment_ms;           /* ISSUED: 0 = walk-in customer */
    char phone[QM_PHONE_SIZE];        /* ISSUED: "" = none */
    qm_target_t target;               /* TRANSFERRED */
    int64_t target_id;                /* service / window / staff id */
    qm_via_t via;                     /* CALLED */
    int recall;                       /* RECALLED: recall count after it */
    int64_t avg_ms;                   /* FINISHED: service's moving average after it */
    char detail[QM_DETAIL_SIZE];      /* reasons, window name, profile text */
} qm_event_t;

/* A growable array of events, owned by the caller. Decisions append; the
 * journal owns its copies. Not thread-safe. */
typedef struct qm_journal_t qm_journal_t;

qm_journal_t *qm_journal_new(void);
void qm_journal_destroy(qm_journal_t **self_p);
size_t qm_journal_count(const qm_journal_t *self);
/* Event i (0-based), or NULL. Valid until the journal next grows or clears. */
const qm_event_t *qm_journal_at(const qm_journal_t *self, size_t i);
/* Empties the journal (keeps its memory). */
void qm_journal_clear(qm_journal_t *self);
/* Appends a copy of an event. Returns 0, or -1 out of memory. */
int qm_journal_push(qm_journal_t *self, const qm_event_t *event);

/* Snapshot of one ticket for queries. */
typedef struct {
    char id[ID_SIZE];
    char number[QM_NUMBER_SIZE];
    int number_seq;
    int64_t queue_id;
    int64_t service_id;
    qm_class_t klass;
    qm_ticket_state_t state;
    int64_t appointment_ms;           /* 0 = none */
    char phone[QM_PHONE_SIZE];
    int64_t issued_ms;                /* this ticket's last (re)entry into waiting:
                                         issue, transfer or return */
    int64_t original_ms;              /* first issue: the customer's place */
    qm_target_t target;               /* while waiting after a transfer */
    int64_t target_id;
    int64_t window_id;                /* called / serving / parked at; last one after */
    int64_t staff_id;
    int recall;                       /* recalls of the current call */
    int64_t called_ms, started_ms, finished_ms;   /* 0 = not yet */
} qm_ticket_info_t;

typedef struct {
    int64_t id;
    int number;
    char name[QM_NAME_SIZE];
    qm_window_state_t state;
    char pause_reason[QM_DETAIL_SIZE];
    int64_t staff_id;                 /* 0 = nobody logged in */
    char current_id[ID_SIZE];         /* "" = no current ticket */
    size_t parked;                    /* tickets parked here */
    size_t transferred;               /* tickets waiting for this window */
    qm_profile_t profile;
    int rotation[QM_ROTATION_KEYS];   /* weighted rotation counters */
    int64_t since_ms;                 /* at_ms of the last event that changed its
                                         state, teller or current ticket; 0 = none
                                         since the day started */
} qm_window_info_t;

typedef struct {
    size_t waiting;                   /* all waiting tickets of the service */
    size_t by_class[QM_CLASS_COUNT];  /* waiting walk-ins per class */
    size_t appointments;              /* waiting appointment tickets (due or not) */
    size_t windows_serving;           /* open, unpaused, staffed, profile lists it */
    int64_t avg_ms;                   /* moving average service time */
} qm_service_stats_t;

typedef struct qm_branch_t qm_branch_t;

/* ---- lifecycle and configuration ---------------------------------------- */

/* Fills the default settings: recall limit 3, 300 s service, hall defaults. */
void qm_settings_default(qm_settings_t *settings);

/* New branch on local day `day` (yyyymmdd) with a copy of `config`: every
 * window closed, nobody logged in, no tickets, numbering at 1. Returns NULL
 * with a reason for an invalid config (duplicate ids or prefixes, unknown
 * references, bad settings) or out of memory. */
qm_branch_t *qm_branch_new(const qm_config_t *config, int day,
                           char reason[QM_REASON_SIZE]);
void qm_branch_destroy(qm_branch_t **self_p);

/* Sets a service's moving average service time (ms > 0) outside the event
 * stream. The store calls it when it rebuilds a branch from today's events
 * only: before replaying, with the avg_ms of each service's last FINISHED
 * event before today, so averages carry across days. 0, or -1 for an
 * unknown service or avg_ms <= 0. */
int qm_branch_seed_average(qm_branch_t *self, int64_t service_id, int64_t avg_ms);

/* ---- decisions (const: they append events, change nothing) -------------- */

typedef struct {
    int64_t service_id;
    qm_class_t klass;
    int64_t appointment_ms;           /* 0 = none (walk-in customer) */
    const char *phone;                /* NULL or "" = none; [+]digits, 3..20 */
    const char *actor;                /* required: "kiosk:3", "web", "sms" */
} qm_issue_req_t;

/* Issues a ticket on `day`: the next free number of the service's queue
 * (after number_max it wraps to 1, skipping numbers still live today).
 * Appends one ISSUED event. Refused for a day other than the branch's day,
 * an unknown service, a full queue or malformed fields. After applying, the
 * reply's position and wait come from qm_ticket_estimate. */
qm_err_t qm_issue(const qm_branch_t *self, const qm_issue_req_t *req, int day,
                  int64_t now_ms, qm_journal_t *journal, char reason[QM_REASON_SIZE]);

typedef enum {
    QM_ACT_OPEN = 1,
    QM_ACT_CLOSE,             /* refused while a ticket is serving; a called one returns */
    QM_ACT_PAUSE,             /* reason required; stops calling, not serving */
    QM_ACT_RESUME,
    QM_ACT_LOGIN,             /* staff_id; logs it out elsewhere, logs out another here */
    QM_ACT_LOGOUT,            /* refused while serving; a called ticket returns */
    QM_ACT_CALL_NEXT,         /* finishes the current ticket first (Qmatic), even
                                 one called and not started */
    QM_ACT_CALL_TICKET,       /* ticket: a waiting ticket out of order */
    QM_ACT_RECALL,            /* current called ticket again, up to the limit */
    QM_ACT_START,             /* current called ticket: service starts */
    QM_ACT_FINISH,            /* current called or serving ticket */
    QM_ACT_NO_SHOW,           /* current called (not started) ticket */
    QM_ACT_TRANSFER,          /* current ticket to target / target_id */
    QM_ACT_PARK,              /* current ticket held by this window */
    QM_ACT_CALL_BACK,         /* ticket: parked here (NULL = oldest parked) */
    QM_ACT_WALK_IN            /* service_id, klass: new ticket numbered in its queue,
                                 serving at once; shown as the window's current
                                 ticket, not announced */
} qm_action_kind_t;

/* A window action. Fields an action does not use are ignored. */
typedef struct {
    qm_action_kind_t kind;
    int64_t window_id;
    const char *actor;                /* required */
    int64_t staff_id;                 /* LOGIN: > 0 */
    const char *ticket;               /* CALL_TICKET / CALL_BACK: id or number "A012" */
    const char *reason;               /* PAUSE: required, 1..QM_DETAIL_SIZE-1 bytes */
    qm_target_t target;               /* TRANSFER */
    int64_t target_id;                /* TRANSFER: service / window / staff id */
    int64_t service_id;               /* WALK_IN */
    qm_class_t klass;                 /* WALK_IN */
} qm_action_t;

/* Decides a window action at `now_ms` and appends its events (one to five:
 * e.g. call next = FINISHED of the current ticket + CALLED; login = the
 * teller's LOGOUT elsewhere + LOGOUT of the previous teller here + LOGIN,
 * each LOGOUT preceded by FINISHED of a ticket being served there or
 * RETURNED of one only called). Calling actions
 * (call next / ticket / back, recall, walk-in) need the window open, not
 * paused, with a teller logged in. Returns QM_OK, or an error with a reason
 * and nothing appended. */
qm_err_t qm_act(const qm_branch_t *self, const qm_action_t *action, int64_t now_ms,
                qm_journal_t *journal, char reason[QM_REASON_SIZE]);

/* Adds a window or changes its number, name or profile at run time. Appends
 * WINDOW_SET (new window or new number / name) and PROFILE_SET (new window
 * or new profile; resets its rotation counters). A window's state, teller
 * and tickets are kept. Refused for a bad profile, unknown services or a
 * number used by another window. Appends nothing when nothing changes. */
qm_err_t qm_window_set(const qm_branch_t *self, const qm_window_cfg_t *window,
                       const char *actor, int64_t now_ms, qm_journal_t *journal,
                       char reason[QM_REASON_SIZE]);

/* Day end: ABANDONED (detail "day end: was waiting" / called / serving /
 * parked) for every live ticket, STAFF_LOGOUT and WINDOW_CLOSED for every
 * window, then DAY_START of `new_day`, which restarts numbering at 1 and
 * clears today's tickets, display and announcements. Refused unless new_day
 * is after the branch's day. */
qm_err_t qm_day_end(const qm_branch_t *self, int new_day, const char *actor,
                    int64_t now_ms, qm_journal_t *journal, char reason[QM_REASON_SIZE]);

/* ---- apply ----------------------------------------------------------- */

/* Applies one event. Returns 0, or -1 with the branch unchanged if the event
 * does not fit the state (seq not above the last applied one, unknown
 * ticket or window, wrong state: a corrupt or reordered event stream).
 * Applying CALLED / RECALLED queues hall announcements: after rebuilding a
 * branch from stored events, call qm_hall_flush_announcements(
 * qm_branch_hall(branch)) so old calls are not announced again. */
int qm_apply(qm_branch_t *self, const qm_event_t *event);

/* Applies journal events [from, count) in order. Returns 0, or -1 at the
 * first event refused (the earlier ones stay applied). */
int qm_journal_apply(qm_branch_t *self, const qm_journal_t *journal, size_t from);

/* ---- queries --------------------------------------------------------- */

int qm_branch_day(const qm_branch_t *self);
/* seq of the last applied event, 0 if none. */
int64_t qm_branch_last_seq(const qm_branch_t *self);
/* The branch's hall: display list and announcements (qm_hall.h). The
 * caller may release / ack / flush announcements; the rest is fed by apply. */
qm_hall_t *qm_branch_hall(qm_branch_t *self);

/* Finds a ticket of today by id or by number ("A012": the live ticket with
 * that number, else the last one issued with it). Returns 0, or -1. */
int qm_ticket_find(const qm_branch_t *self, const char *ref, qm_ticket_info_t *info);

/* Tickets of today in issue order: count, and the i-th. 0 or -1. */
size_t qm_ticket_count(const qm_branch_t *self);
int qm_ticket_at(const qm_branch_t *self, size_t i, qm_ticket_info_t *info);

/* Position (the tickets that windows able to call it will call before it)
 * and estimated wait of a waiting ticket at now_ms, from the windows played
 * forward by their own rules with each service's moving average time
 * (qm_estimate.c). Returns 0, or -1 if the ticket is not found or not
 * waiting. */
int qm_ticket_estimate(const qm_branch_t *self, const char *ref, int64_t now_ms,
                       size_t *position, int64_t *est_wait_s);

/* Waiting counts and average of a service. Returns 0, or -1 if unknown. */
int qm_service_stats(const qm_branch_t *self, int64_t service_id,
                     qm_service_stats_t *stats);

/* Waiting tickets of a queue (all its services, transfers to windows and
 * tellers not counted). Returns the count, or -1 if unknown. */
int64_t qm_queue_waiting(const qm_branch_t *self, int64_t queue_id);

/* Since when the ticket waiting longest in a queue has waited: the
 * earliest issued_ms (last entry into waiting) among the tickets
 * qm_queue_waiting counts. Returns it, 0 if none waits, or -1 if unknown. */
int64_t qm_queue_oldest(const qm_branch_t *self, int64_t queue_id);

/* Next number the queue would issue now (after skipping live ones), or -1
 * if unknown queue or all numbers are live. */
int qm_queue_next_number(const qm_branch_t *self, int64_t queue_id);

/* Windows in the order they were configured / added. 0 or -1. */
size_t qm_window_count(const qm_branch_t *self);
int qm_window_at(const qm_branch_t *self, size_t i, qm_window_info_t *info);
int qm_window_find(const qm_branch_t *self, int64_t window_id, qm_window_info_t *info);

/* Tickets waiting now that a window could call, whatever its own state:
 * those waiting in the services its profile lists (appointments not yet
 * due included), those transferred to it and those transferred to the
 * teller logged in there. Returns the count, or -1 if unknown window. */
int64_t qm_window_waiting(const qm_branch_t *self, int64_t window_id);

/* Names for logs and the protocol ("waiting", "open", "called", ...). */
const char *qm_ticket_state_name(qm_ticket_state_t state);
const char *qm_window_state_name(qm_window_state_t state);
const char *qm_event_kind_name(qm_event_kind_t kind);
const char *qm_target_name(qm_target_t target);

/* True if a waiting ticket transferred to `target` waits for that window
 * or teller only (a service transfer waits in its service's queue). */
bool qm_target_routes(qm_target_t target);

#endif
