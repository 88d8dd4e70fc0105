/*  st_sessions: the staff sessions seen open (stats_open_session).
 *
 *  A session's on-duty time is placed when it closes (docs/statistics.md);
 *  until then the aggregator remembers it here and asks, every sweep,
 *  whether it has closed. Additions and removals are written with the flush
 *  that holds the facts read with them. Not thread-safe.
 */
#ifndef EQMS_ST_SESSIONS_H
#define EQMS_ST_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct st_sessions_t st_sessions_t;

st_sessions_t *st_sessions_new(void);
void st_sessions_destroy(st_sessions_t **self_p);

/* `loaded`: read from the table (not to be written again). 0 / -1. */
int st_sessions_open(st_sessions_t *self, const char *id, int64_t branch_id, bool loaded);
/* The session closed (placed): to be removed at the next flush. */
void st_sessions_close(st_sessions_t *self, const char *id);
bool st_sessions_has(const st_sessions_t *self, const char *id);
size_t st_sessions_count(const st_sessions_t *self);

/* The ids of the open sessions, as a PostgreSQL array literal
 * ("{id,id,...}"), malloc'd; NULL out of memory. */
char *st_sessions_ids(const st_sessions_t *self);

/* What to write: each session opened (with its branch) and closed since
 * the last commit. */
typedef int (st_session_fn)(void *arg, const char *id, int64_t branch_id, bool open);
int st_sessions_each_change(const st_sessions_t *self, st_session_fn *fn, void *arg);
void st_sessions_committed(st_sessions_t *self);
/* The flush failed: back to what the table holds. */
void st_sessions_rollback(st_sessions_t *self);

#endif
