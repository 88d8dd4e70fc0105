/*  st_cursors: how far each stream of facts has been read (stats_cursor).
 *
 *  A stream is a branch's ticket events ("ticket_event", "<branch id>") or
 *  a gateway journal's facts ("gateway", "<gateway>/<incarnation>"); its
 *  position is the last seq turned into figures. Positions move in memory
 *  as facts are placed and are written with the flush that holds those
 *  facts' cells (st_store_flush), so a crash replays from a committed
 *  position. Not thread-safe.
 */
#ifndef EQMS_ST_CURSORS_H
#define EQMS_ST_CURSORS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct st_cursors_t st_cursors_t;

st_cursors_t *st_cursors_new(void);
void st_cursors_destroy(st_cursors_t **self_p);

/* The position of a stream, 0 if never read. */
int64_t st_cursors_get(const st_cursors_t *self, const char *source, const char *stream);

/* Sets a position (changed = true: to be written at the next flush; false:
 * as loaded from the table). Returns 0, or -1 out of memory. */
int st_cursors_set(st_cursors_t *self, const char *source, const char *stream,
                   int64_t position, bool changed);

typedef int (st_cursor_fn)(void *arg, const char *source, const char *stream,
                           int64_t position);
/* Calls fn for each changed position. */
int st_cursors_each_changed(const st_cursors_t *self, st_cursor_fn *fn, void *arg);
/* The changed positions are written: they are the committed ones now. */
void st_cursors_committed(st_cursors_t *self);
/* The flush failed: every position goes back to the committed one. */
void st_cursors_rollback(st_cursors_t *self);

#endif
