/*  qm_store: queue-manager's PostgreSQL side (0003_queue_manager.sql).
 *
 *  Reads the configuration of a branch (queues and services at the branch
 *  or above it, its active windows with their work profiles, the hall
 *  settings and the opening hours in force), reads a branch's events back for a rebuild, and
 *  writes events in group commits: every event of a batch, of any branch,
 *  and the tickets they create, in one statement. A qm_store_t is used by
 *  one thread.
 */
#ifndef EQMS_QM_STORE_H
#define EQMS_QM_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/envelope.h"
#include "eqms/hours.h"
#include "eqms/pgstore.h"
#include "qm_model.h"

typedef struct qm_store_t qm_store_t;

/* A branch queue-manager serves. */
typedef struct {
    int64_t id;
    char path[ENVELOPE_TOPIC_MAX + 1];
    char time_zone[64];
} qm_branch_ref_t;

/* An event of a branch, as committed. */
typedef struct {
    int64_t branch_id;
    qm_event_t event;
    char cause[ID_SIZE];        /* the device key event (envelope id) that caused it,
                                 * "" if none: stored in ticket_event_cause */
    int64_t est_position;       /* an issued event: the place and wait its */
    int64_t est_wait_s;         /* customer was told (ticket.est_*), else -1 */
} qm_stored_event_t;

/* Takes *pg_p (set to NULL). NULL on allocation failure. */
qm_store_t *qm_store_new(pgstore_t **pg_p);
void qm_store_destroy(qm_store_t **self_p);

/* Runs eqms_ensure_partitions(months_ahead). 0 / -1. */
int qm_store_ensure_partitions(qm_store_t *self, int months_ahead);

/* Calls fn for every branch node (kind 'branch') at or under one of
 * `prefixes` (an ltree[] literal such as {hq.r01}; "{}" = all), by path.
 * 0 / -1. */
int qm_store_branches(qm_store_t *self, const char *prefixes,
                      void (*fn)(void *ctx, const qm_branch_ref_t *branch), void *ctx);

/* Fills *config for a branch: queues and active services of the branch and
 * its ancestors, its active windows (profile from work_profile, else every
 * service, longest waiting first) and the effective hall settings. The
 * arrays are malloc'd: free with qm_store_config_free. 0, or -1 (database
 * error or a stored profile that does not parse, logged). */
int qm_store_config(qm_store_t *self, int64_t branch_id, qm_config_t *config);
void qm_store_config_free(qm_config_t *config);

/* Fills *hours with the opening hours in force at the branch
 * (opening_hours_in_force: its week, the special dates of the days ahead,
 * the issue cut-off). 0, or -1 (database error, or a document hours_decode
 * refuses: logged). */
int qm_store_hours(qm_store_t *self, int64_t branch_id, hours_t *hours);

/* Calls fn for each active window of the branch with its code and the
 * serial of its device (NULL if none). 0 / -1. */
int qm_store_window_devices(qm_store_t *self, int64_t branch_id,
                            void (*fn)(void *ctx, int64_t window_id, const char *code,
                                       const char *serial),
                            void *ctx);

/* Calls fn for each event of the branch from its latest day_start (or from
 * its first event if it never had one), in seq order; stops if fn returns
 * non-zero. Returns the number of events, or -1. */
long qm_store_events(qm_store_t *self, int64_t branch_id,
                     int (*fn)(void *ctx, const qm_event_t *event), void *ctx);

/* Calls fn with each service's moving average (the avg_ms of its last
 * finished event) from before event `before_seq` of the branch. 0 / -1. */
int qm_store_averages(qm_store_t *self, int64_t branch_id, int64_t before_seq,
                      void (*fn)(void *ctx, int64_t service_id, int64_t avg_ms),
                      void *ctx);

/* The id of the active staff member with that employee number who may work
 * at branch `branch_id` (bound to it or to a node above it), 0 if none, -1
 * if the database is unavailable. */
int64_t qm_store_staff_id(qm_store_t *self, const char *employee_no, int64_t branch_id);

/* 1 if staff `staff_id` exists, is active and may work at the branch, 0 if
 * not, -1 if the database is unavailable. */
int qm_store_staff_of_branch(qm_store_t *self, int64_t staff_id, int64_t branch_id);

/* The employee number and name of staff `staff_id` (copied, cut to the
 * sizes). 1 if found, 0 if not, -1 if the database is unavailable. */
int qm_store_staff_card(qm_store_t *self, int64_t staff_id, char *employee_no,
                        size_t employee_no_size, char *name, size_t name_size);

/* --- commits ------------------------------------------------------------------
 * A batch of events (and the tickets ISSUED / WALK_IN create) is written by
 * one statement, eqms_ticket_events_insert (one transaction), sent on the
 * connection in libpq pipeline mode without waiting for its result, so that
 * up to QM_STORE_PIPELINE_MAX batches are on their way at once; one
 * connection keeps them in order. A store used for commits is used for
 * nothing else. */
#define QM_STORE_PIPELINE_MAX 8

/* Calls fn with the id of every device key event acted on since
 * `since_s` seconds ago (ticket_event_cause). Returns how many, or -1. */
long qm_store_recent_causes(qm_store_t *self, int since_s,
                            void (*fn)(void *arg, const char *id), void *arg);

/* Deletes the causes older than a day. 0 / -1. */
int qm_store_prune_causes(qm_store_t *self);

/* Sends one batch (connecting first if need be), with the causes of its
 * events in the same transaction. 0, or -1 if it could not
 * be sent (nothing of it runs; batches sent before it are unaffected). */
int qm_store_send(qm_store_t *self, const qm_stored_event_t *events, size_t count);

/* The connection's socket while batches are on their way, else -1; poll it
 * for reading, and for writing as well while qm_store_flush says so. */
int qm_store_socket(qm_store_t *self);

/* Pushes out what is still buffered. 1 if some remains (wait for the
 * socket to be writable), 0 when all is sent, -1 if the connection broke. */
int qm_store_flush(qm_store_t *self);

/* Outcome of a batch whose connection broke while it was on its way: it
 * may or may not be stored. */
#define QM_STORE_IN_DOUBT (-2)

/* Reads what the server sent and reports the batches finished since, in
 * the order they were sent: rc[i] is 0 if the i-th committed, -1 if not,
 * QM_STORE_IN_DOUBT if the connection broke with it on its way. Returns how
 * many (0 if none yet). */
int qm_store_receive(qm_store_t *self, int rc[QM_STORE_PIPELINE_MAX]);

#endif
