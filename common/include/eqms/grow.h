/*  grow: room for one more item at the end of a growable array.
 *
 *      event_t *grown = grow_room(self->items, self->count, &self->cap,
 *                                 sizeof *grown, 64);
 *      if (!grown)
 *          return -1;                       // items and cap are unchanged
 *      self->items = grown;
 *      self->items[self->count++] = *event;
 *
 *  The capacity doubles when the array is full (starting at `first` items),
 *  so appending n items costs O(n) copies in all.
 */
#ifndef EQMS_GROW_H
#define EQMS_GROW_H

#include <stddef.h>

/* `items` (count used of *cap, each `size` bytes; NULL when *cap is 0) with
 * room for at least one more: returned as is while count < *cap, else
 * reallocated to twice *cap (or `first`) items and *cap updated. NULL if
 * memory ran out or the size would overflow; then `items` is untouched and
 * still the caller's. */
void *grow_room(void *items, size_t count, size_t *cap, size_t size, size_t first);

#endif
