/*  qm_rules: work profiles and the calling rules of queue-manager, pure functions.
 *
 *  A window's work profile names the services it serves and the strategy that
 *  picks among them. Whatever the strategy, qm_model calls in this order:
 *
 *    1. green channel tickets of the window's services (oldest first);
 *    2. tickets transferred to this window, then to the teller logged in here;
 *    3. appointments whose time has come (appointment_ms <= now; earliest
 *       appointment first); appointments not yet due are held back (a teller
 *       can still take one early with "call ticket");
 *    4. the strategy over VIP and ordinary tickets of the profile's services:
 *       STRICT        VIP before ordinary; within a class the first service in
 *                     profile order that has a ticket, FIFO within it;
 *       LONGEST_WAIT  VIP before ordinary; within a class the ticket with the
 *                     oldest original issue time across the services;
 *       WEIGHTED      counted rotation over the classes (the rotation keys are
 *                     the classes VIP and ordinary, in that order): a class
 *                     is taken while fewer than its weight have been called
 *                     since the last reset; when no non-empty class is below
 *                     its weight the counters reset. vip:2, ordinary:1 gives
 *                     V, V, O, V, V, O; an empty class is skipped, never
 *                     waited for. Within a class: oldest original issue time
 *                     across the services.
 *  "FIFO" always means by original issue time (kept across transfers), ties
 *  broken by issue order.
 *
 *  This module holds the parts of those rules that need no branch state: the
 *  profile type and its text form (carried in profile events), the rotation
 *  arithmetic, names of enums, ticket number formatting and error names.
 */
#ifndef EQMS_QM_RULES_H
#define EQMS_QM_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most services one work profile can list (a window rarely serves > 10). */
#define QM_PROFILE_MAX     32
/* Queue number prefix: 1..3 characters A-Z, plus NUL. */
#define QM_PREFIX_SIZE     4
/* Ticket number text: prefix + up to 4 digits, plus NUL ("A012", "AB1234"). */
#define QM_NUMBER_SIZE     8
/* Refusal reasons, human-readable, one line. */
#define QM_REASON_SIZE     160
/* Free-text event detail: pause / abandon reasons, window names, profiles. */
#define QM_DETAIL_SIZE     512

/* Customer classes. Green channel is always called first; VIP ("priority")
 * and ordinary are ordered by the window's strategy. */
typedef enum {
    QM_CLASS_ORDINARY = 0,
    QM_CLASS_VIP = 1,
    QM_CLASS_GREEN = 2,
    QM_CLASS_COUNT = 3
} qm_class_t;

/* Number of rotation keys of WEIGHTED (VIP, ordinary). Index = qm_class_t. */
#define QM_ROTATION_KEYS 2

typedef enum {
    QM_STRATEGY_STRICT = 0,
    QM_STRATEGY_LONGEST_WAIT = 1,
    QM_STRATEGY_WEIGHTED = 2
} qm_strategy_t;

/* A window's work profile. Services are configured service ids, no repeats;
 * weights are used by WEIGHTED only and must be 1..100 each. */
typedef struct {
    qm_strategy_t strategy;
    size_t service_count;                 /* 0..QM_PROFILE_MAX */
    int64_t services[QM_PROFILE_MAX];     /* in priority order (STRICT) */
    int weights[QM_ROTATION_KEYS];        /* [QM_CLASS_VIP], [QM_CLASS_ORDINARY] */
} qm_profile_t;

/* Error codes of every qm_ decision; 0 is success. Stable: the numbers and
 * the names of qm_err_name go into replies (docs/protocol.md). */
typedef enum {
    QM_OK = 0,
    QM_ERR_INVALID = 1,          /* malformed input: NULL, bad class, bad text */
    QM_ERR_UNKNOWN_SERVICE = 2,
    QM_ERR_UNKNOWN_WINDOW = 3,
    QM_ERR_UNKNOWN_TICKET = 4,   /* no ticket of today with that id / number */
    QM_ERR_WRONG_DAY = 5,        /* request for a day the branch is not in */
    QM_ERR_QUEUE_FULL = 6,       /* every number of the queue is live */
    QM_ERR_WINDOW_CLOSED = 7,
    QM_ERR_WINDOW_PAUSED = 8,
    QM_ERR_WINDOW_STATE = 9,     /* open when open, resume when not paused... */
    QM_ERR_NO_STAFF = 10,        /* nobody logged in at the window */
    QM_ERR_STAFF_STATE = 11,     /* login of the teller already there, ... */
    QM_ERR_NO_TICKET = 12,       /* nothing waiting that this window serves */
    QM_ERR_NO_CURRENT = 13,      /* the window has no current ticket */
    QM_ERR_TICKET_STATE = 14,    /* the ticket is not in a state that allows it */
    QM_ERR_WRONG_WINDOW = 15,    /* the ticket belongs to another window */
    QM_ERR_NOT_SERVED = 16,      /* the window's profile does not serve it */
    QM_ERR_RECALL_LIMIT = 17,    /* recalled the limit: mark no-show instead */
    QM_ERR_BUSY = 18,            /* window has a current ticket (close, logout) */
    QM_ERR_SEQUENCE = 19,        /* qm_apply: event out of order or inconsistent */
    QM_ERR_NO_MEMORY = 20,       /* out of memory; nothing appended */
    QM_ERR_CLOSED = 21,          /* ticket.issue outside the branch's opening hours */
    QM_ERR_ISSUING_STOPPED = 22  /* ticket.issue past the cut-off before a session closes */
} qm_err_t;

/* Fills a profile with no services, STRICT, weights vip:2 ordinary:1. */
void qm_profile_init(qm_profile_t *profile);

/* Checks a profile's shape (not that the services exist): strategy known,
 * count in range, no repeated or non-positive ids, weights 1..100. Returns 0,
 * or -1 with a reason. */
int qm_profile_check(const qm_profile_t *profile, char reason[QM_REASON_SIZE]);

/* Writes the text form, e.g. "weighted;vip=2;ordinary=1;services=3,1,2".
 * Returns 0, or -1 if it does not fit in `size`. */
int qm_profile_format(const qm_profile_t *profile, char *buf, size_t size);

/* Reads the text form (exactly as qm_profile_format writes it) without
 * checking what it says (a service listed twice reads fine: that is for
 * qm_profile_check). Returns 0, or -1 with a reason if the text is not of
 * that form; *profile is undefined on failure. */
int qm_profile_read(const char *text, qm_profile_t *profile, char reason[QM_REASON_SIZE]);

/* qm_profile_read, then qm_profile_check. Returns 0, or -1 with a reason;
 * *profile is undefined on failure. */
int qm_profile_parse(const char *text, qm_profile_t *profile,
                     char reason[QM_REASON_SIZE]);

/* Counted rotation, decision half. `counts` are calls per key since the last
 * reset, `available` says which keys have a ticket. Returns the key to call
 * (0..QM_ROTATION_KEYS-1, i.e. a qm_class_t), or -1 if none is available.
 * Keys are tried in the order VIP, ordinary. */
int qm_rotation_pick(const int weights[QM_ROTATION_KEYS],
                     const int counts[QM_ROTATION_KEYS],
                     const bool available[QM_ROTATION_KEYS]);

/* Counted rotation, apply half: records a call of `key`. Resets every count
 * first if `key` had reached its weight (that is exactly when pick had to
 * reset), so replaying the calls rebuilds the same counters. */
void qm_rotation_note(const int weights[QM_ROTATION_KEYS],
                      int counts[QM_ROTATION_KEYS], int key);

/* Formats number `n` of a queue: prefix + 3 digits, or 4 when number_max >
 * 999 ("A012", "A0012"). Returns 0, or -1 if out of range or too long. */
int qm_number_format(const char *prefix, int number_max, int n,
                     char out[QM_NUMBER_SIZE]);

/* True for a valid queue prefix: 1..3 characters A-Z. */
bool qm_prefix_valid(const char *prefix);

/* Names for logs and the protocol: "ordinary", "vip", "green"; "strict",
 * "longest_wait", "weighted"; "ok", "invalid", "unknown_service", ... Never
 * NULL ("?" for an unknown value). */
const char *qm_class_name(qm_class_t klass);
const char *qm_strategy_name(qm_strategy_t strategy);
const char *qm_err_name(qm_err_t err);

/* Parses a class or strategy name. Returns 0 or -1. */
int qm_class_parse(const char *name, qm_class_t *klass);
int qm_strategy_parse(const char *name, qm_strategy_t *strategy);

/* Writes a refusal reason (printf format) and returns `err`, for
 * `return qm_refuse(reason, QM_ERR_..., "...", ...)`. reason may be NULL. */
qm_err_t qm_refuse(char reason[QM_REASON_SIZE], qm_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
