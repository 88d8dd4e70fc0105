/*  qm_publish: what queue-manager tells the world after a commit.
 *
 *  Bus (docs/protocol.md, "queue-manager requests"): one
 *  `ticket.<event kind>.<branch path>` per committed event; the hall
 *  display `display.<branch path>` (last N called, each window's current
 *  ticket); announcements `announce.<branch path>` one at a time per hall
 *  (the next only when the previous one has finished: qm_hall.h); the called
 *  ticket on the window's device (`cmd.device.<branch>.<window code>`,
 *  command "ticket").
 *
 *  Redis mirror (rebuilt from the model, which is rebuilt from PostgreSQL):
 *    eqms:qm:<branch>:windows   hash window id -> {"number","name","state",
 *                               "pause_reason","staff","current"}
 *    eqms:qm:<branch>:queues    hash queue id -> {"prefix","waiting","next"}
 *    eqms:qm:<branch>:tickets   hash ticket id -> {"number","state","service",
 *                               "class","window","staff","recall"} (today)
 *    eqms:qm:<branch>:display   the display.<branch> data
 *    eqms:qm:ready:<src>        marker: gone = Redis was flushed, rewrite all
 *  Redis failures are logged; the mirror is rewritten once Redis answers.
 *  Used by one thread (the server's).
 */
#ifndef EQMS_QM_PUBLISH_H
#define EQMS_QM_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>

#include "eqms/bus.h"
#include "qm_model.h"
#include "qm_store.h"

typedef struct qm_publish_t qm_publish_t;

/* `bus` is borrowed. `redis_url` "" = no mirror. NULL on a malformed url. */
qm_publish_t *qm_publish_new(bus_t *bus, const char *redis_url, const char *src);
void qm_publish_destroy(qm_publish_t **self_p);

/* ticket.<kind>.<branch path> for one committed event. */
void qm_publish_event(qm_publish_t *self, const char *branch_path, const qm_event_t *event);

/* display.<branch path>: what the hall showed after one committed event
 * (a view taken when it was decided); the next qm_publish_mirror of that
 * branch writes the same text to Redis. */
void qm_publish_display(qm_publish_t *self, const char *branch_path,
                        const qm_hall_view_t *view);

/* announce.<branch path> for each announcement `hall` (NULL: none) releases
 * now. */
void qm_publish_announcements(qm_publish_t *self, const char *branch_path, qm_hall_t *hall,
                              int64_t now_ms);

/* The device of a window shows `number` ("" clears) with the window number. */
void qm_publish_device_ticket(qm_publish_t *self, const char *branch_path,
                              const char *window_code, const char *serial,
                              const char *number, int window_no);

/* The window's device is told who is logged in at the window
 * (`employee_no` "" = nobody): a login or logout made elsewhere than on
 * the device (the teller console, another window's device, the day end). */
void qm_publish_device_staff(qm_publish_t *self, const char *branch_path,
                             const char *window_code, const char *serial,
                             const char *employee_no, const char *name);

/* The window's device asks the customer of ticket `number` ("" = none) to
 * rate: the service was finished elsewhere than on the device. */
void qm_publish_device_rate(qm_publish_t *self, const char *branch_path,
                            const char *window_code, const char *serial, const char *number);

/* Mirrors a branch into Redis: the windows, queues and tickets the events
 * name and the display just published (everything of today when `full`). `queues` are the
 * branch's configured queues. 0, or -1 (logged; call again with full). */
int qm_publish_mirror(qm_publish_t *self, const char *branch_path, qm_branch_t *branch,
                      const qm_queue_cfg_t *queues, size_t queue_count,
                      const qm_stored_event_t *events, size_t count, bool full);

/* True if the mirror must be rewritten in full: Redis was flushed or
 * restarted (marker gone), or a write failed. False without Redis. */
bool qm_publish_mirror_lost(qm_publish_t *self);

/* Sets the marker after every branch was rewritten in full. */
void qm_publish_mirror_ready(qm_publish_t *self);

#endif
