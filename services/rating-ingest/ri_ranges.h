/*  ri_ranges: the streams a catch-up reads, each from its position to its
 *  head (filled by tailcursor_behind; see eqms/tailcursor.h). Used by one
 *  thread.
 */
#ifndef EQMS_RI_RANGES_H
#define EQMS_RI_RANGES_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *stream;              /* owned */
    int64_t after, upto;       /* read (after, upto] */
} ri_range_t;

typedef struct {
    ri_range_t *items;
    size_t count, cap;
} ri_ranges_t;

/* A tailcursor_behind_fn: appends (stream, position, head) to the
 * ri_ranges_t `arg`. 0, or -1 if memory ran out. */
int ri_ranges_add(void *arg, const char *stream, int64_t position, int64_t head);

/* Empties the list (keeps its memory). */
void ri_ranges_clear(ri_ranges_t *self);

/* Empties the list and frees its memory. */
void ri_ranges_release(ri_ranges_t *self);

#endif
