/*  wa_snap: the live hall snapshots (GET /branches/{branch}/state) kept in
 *  memory between two changes of their branch, so that a hall read by many
 *  screens asks queue-manager once per change, not once per read.
 *
 *  A branch's kept state is forgotten
 *    - when a live event of the branch comes from the bus (wa_live_bus:
 *      every change queue-manager commits is published there),
 *    - when web-api itself sends the branch a change (wa_ops_qm), before
 *      it answers, so that its own callers read their change at once,
 *    - on a configuration change (every branch's: main's hook), and
 *    - at the latest `max_age_ms` after it was read (a bound for a change
 *      whose event was lost).
 *  A state read while its branch was forgotten is not kept: a reader takes
 *  wa_snap_begin's generation before it asks queue-manager and gives it to
 *  wa_snap_put, which refuses it when the branch was forgotten since.
 *
 *  The kept text is the whole answer, its live_event_id taken before the
 *  state was read, so a client that resumes the stream from it misses no
 *  change (sse.h); it is read at most one bus hop behind queue-manager,
 *  as the live streams are.
 *
 *  Threading: every function may be called from any thread (one mutex).
 */
#ifndef EQMS_WA_SNAP_H
#define EQMS_WA_SNAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct wa_snap_t wa_snap_t;

/* An empty store whose states live at most `max_age_ms` (0: nothing is
 * kept). NULL when memory ran out. */
wa_snap_t *wa_snap_new(int max_age_ms);
void wa_snap_destroy(wa_snap_t **self_p);

/* The generation to give wa_snap_put: take it before reading the state. */
uint64_t wa_snap_begin(wa_snap_t *self);

/* Keeps a copy of `text` (`len` bytes) as `branch`'s state read after
 * `gen`. 0 kept; -1 not: the branch was forgotten since `gen`, nothing is
 * kept, the store is full (WA_SNAP_MAX branches) or memory ran out. */
int wa_snap_put(wa_snap_t *self, const char *branch, uint64_t gen, const char *text,
                size_t len);

/* A heap copy of `branch`'s kept state (NUL-terminated, *len its length;
 * the caller frees it), or NULL when none is kept or it is too old. */
char *wa_snap_get(wa_snap_t *self, const char *branch, size_t *len);

/* Forgets `branch`'s state; NULL: every branch's. */
void wa_snap_forget(wa_snap_t *self, const char *branch);

#define WA_SNAP_MAX 65536         /* branches kept at most */

#endif
