/*  ri_store: rating-ingest's PostgreSQL side (tables of 0002_rating_ingest.sql).
 *
 *  Look-ups (window context, staff ids) are cached in memory (windows for
 *  ttl_ms, staff for 10 min); ri_store_commit writes one batch of decided
 *  events in ONE transaction. Idempotency is on the envelope id, whatever
 *  the other fields say: first every item's id is registered in
 *  `ingest_event` (a COPY under a savepoint; the caller filters repeats by
 *  cursor, so this is the normal path; if it meets an id already there the
 *  savepoint is rolled back and one INSERT ... ON CONFLICT DO NOTHING
 *  RETURNING id tells which), and an item whose id was decided before is a
 *  duplicate that writes nothing. Then the sessions, the ratings by COPY
 *  straight into `rating`, the service records, device status and rejected
 *  events, and the gateway cursors (never moved back). Either all of a batch
 *  is committed or nothing is, so the caller can retry the same batch after
 *  a failure. A statement is never run on a connection remade after BEGIN
 *  (it would run outside the transaction). An ri_store_t is used by one
 *  thread.
 */
#ifndef EQMS_RI_STORE_H
#define EQMS_RI_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/pgstore.h"
#include "eqms/tailcursor.h"
#include "ri_ranges.h"
#include "ri_validate.h"

typedef struct ri_store_t ri_store_t;

typedef enum {
    RI_ACTION_NONE = 0,   /* acknowledged only (call.*, not_rated, start) */
    RI_ACTION_RATING,
    RI_ACTION_LOGIN,
    RI_ACTION_LOGOUT,
    RI_ACTION_SERVICE_END,
    RI_ACTION_DEVICE,     /* device.online / offline / assigned / unassigned: device_status */
    RI_ACTION_REJECT
} ri_action_t;

/* One decided event of a batch. */
typedef struct {
    ri_event_t event;
    ri_action_t action;
    int64_t staff_id;                       /* rating, login, logout, service end */
    int64_t left_window;                    /* login: the window the teller left, 0 = none */
    bool live;                              /* login, logout: it changed who is at the
                                             * window now (the live state follows) */
    char window_path[RI_PATH_MAX + 1];      /* rating: for rating.stored */
    char time_zone[64];                     /* rating: the branch's IANA zone */
    ri_option_t option;                     /* rating */
    char ticket_id[ID_SIZE];                /* rating: the ticket rated, "" = unknown */
    char reason[ENVELOPE_REASON_SIZE];      /* reject */
    char *raw;                              /* reject: data as JSON text (owned) */
    char topic[ENVELOPE_TOPIC_MAX + 1];     /* reject */
    bool stored;                            /* set by ri_store_commit for a new rating */
    bool duplicate;                         /* set by ri_store_commit: its id was
                                             * decided before, nothing written */
    /* ri_store_commit's own record across attempts at one batch (false for
     * a fresh item; callers leave them alone): */
    bool settled;                           /* committed: stored, duplicate final */
    bool in_doubt;                          /* in an attempt whose COMMIT got no answer */
    bool doubt_duplicate;                   /* what that attempt found */
} ri_item_t;

/* A gateway cursor to write with a batch. */
typedef struct {
    char gateway[ENVELOPE_SRC_MAX + 1];
    char incarnation[ID_SIZE];              /* of the gateway's journal */
    char branch[RI_PATH_MAX + 1];
    int64_t upto;
} ri_cursor_t;

/* Takes *pg_p (set to NULL). NULL on allocation failure. */
ri_store_t *ri_store_new(pgstore_t **pg_p);
void ri_store_destroy(ri_store_t **self_p);

/* True if the last statement found the database reachable. */
bool ri_store_connected(ri_store_t *self);

/* Runs eqms_ensure_partitions(months_ahead). 0 / -1. */
int ri_store_ensure_partitions(ri_store_t *self, int months_ahead);

/* The window `window_id` as seen by device `serial` (cached for ttl_ms).
 * Returns 1 with *window filled, 0 if the device or the window is unknown
 * (*why says which), -1 if the database is unavailable. */
int ri_store_window(ri_store_t *self, const char *serial, int64_t window_id,
                    int64_t ttl_ms, ri_window_t *window, const char **why);

/* The staff id of an active employee number (cached). Returns the id, 0 if
 * unknown, -1 if the database is unavailable. */
int64_t ri_store_staff_id(ri_store_t *self, const char *employee_no);

/* Calls fn for each open staff session (logout_at NULL), with its login
 * time (ms). 0 / -1. */
int ri_store_open_sessions(ri_store_t *self,
                           void (*fn)(void *ctx, int64_t window_id, int64_t staff_id,
                                      const char *employee_no, int64_t login_ms),
                           void *ctx);

/* A ticket finished at a window (queue-manager's ticket_event). */
typedef void (ri_ticket_fn)(void *ctx, int64_t window_id, const char *ticket_id,
                            const char *number, int64_t finished_ms);

/* Calls fn for each branch (stream: its org path) of the share `ltree`
 * (an ltree[] literal, "{}" = everything) whose ticket events are numbered
 * beyond its position in `cursor` (source "ticket_event"); see
 * tailcursor_behind for fn and the return value. */
int ri_store_ticket_branches_behind(ri_store_t *self, const tailcursor_t *cursor,
                                    const char *ltree, tailcursor_behind_fn *fn, void *arg);

/* Calls fn with the ticket last finished (within the last day) at each
 * window among the ticket events of the n ranges (stream: the branch's org
 * path), in one query. 0 / -1. */
int ri_store_finished_tickets(ri_store_t *self, const ri_range_t *ranges, size_t n,
                              ri_ticket_fn *fn, void *ctx);

/* A teller's login or logout committed by queue-manager elsewhere than on
 * the window's device (ticket_event staff_login / staff_logout whose actor
 * is not a device: the teller console, the day end). */
#define RI_LOGINS_JOURNAL "queue-manager/"

typedef struct {
    char id[ID_SIZE];                    /* derived from (branch, seq): the same
                                          * event always has the same id */
    char journal[ENVELOPE_SRC_MAX + 1];  /* "queue-manager/<branch id>" */
    char branch[RI_PATH_MAX + 1];        /* the branch's org path */
    int64_t seq;                         /* the branch's event number */
    int64_t at_ms;
    bool login;                          /* else logout */
    int64_t window_id;
    int64_t staff_id;
    char employee_no[RI_EMPLOYEE_MAX + 1];
} ri_login_t;

typedef void (ri_login_fn)(void *ctx, const ri_login_t *login);

/* As ri_store_ticket_branches_behind, for the journals of queue-manager's
 * logins (streams "queue-manager/<branch id>", source "ticket_event"). */
int ri_store_login_branches_behind(ri_store_t *self, const tailcursor_t *cursor,
                                   const char *ltree, tailcursor_behind_fn *fn, void *arg);

/* Sets in `cursor` the committed position of every logins journal
 * (gateway_cursor rows named "queue-manager/<branch id>"). 0 / -1. */
int ri_store_login_positions(ri_store_t *self, tailcursor_t *cursor);

/* Calls fn for the logins and logouts (ri_login_t) among the ticket events
 * of the n ranges (stream: the journal name; within the last day when
 * `after` is 0: a branch never read), in one query, in the ranges' then
 * seq order, at most `limit`. Returns how many, or -1. */
int ri_store_logins(ri_store_t *self, const ri_range_t *ranges, size_t n, int limit,
                    ri_login_fn *fn, void *ctx);

/* Calls fn for each gateway cursor (one per gateway journal incarnation;
 * not queue-manager's logins journals). 0 / -1. */
int ri_store_cursors(ri_store_t *self,
                     void (*fn)(void *ctx, const char *gateway, const char *incarnation,
                                const char *branch, int64_t upto),
                     void *ctx);

/* Today's counters and the live state (ri_counters.h) recomputed from
 * `rating`, `staff_session` and `device_status` for the branches under
 * `prefixes` (a PostgreSQL ltree[] literal such as {hq.r01}; "{}" = all),
 * each branch on its own local day: rows (key, field, value) ordered by
 * key. Returns the result (caller PQclear's it) or NULL. */
PGresult *ri_store_today_counts(ri_store_t *self, const char *prefixes);

/* The outcome of a commit whose COMMIT was sent but whose answer never
 * came (the connection broke): it may or may not be committed. */
#define RI_STORE_IN_DOUBT (-2)

/* Commits `items` and `cursors` in one transaction; sets items[i].stored for
 * ratings that were new and items[i].duplicate for items whose envelope id
 * was decided before (they wrote nothing). Returns 0; -1 after a rollback
 * (nothing of this attempt written; reason logged); or RI_STORE_IN_DOUBT.
 *
 * The same items may be committed again after a failure (the caller
 * retries a batch, or commits its items one by one): items committed by an
 * earlier call are skipped and keep their outcome. After RI_STORE_IN_DOUBT
 * the next call finds out whether that attempt committed: if every item it
 * held has its id registered now, it did, and those items take the outcome
 * it found (a new rating is `stored`, to be published and counted once, not
 * a duplicate of itself); otherwise it did not and they are committed
 * afresh. */
int ri_store_commit(ri_store_t *self, ri_item_t *items, size_t count,
                    const ri_cursor_t *cursors, size_t ncursors);

#endif
