/*  ri_ranges: the streams a catch-up reads (ri_ranges.h). */
#include "ri_ranges.h"

#include <stdlib.h>
#include <string.h>

#include "eqms/grow.h"

int ri_ranges_add(void *arg, const char *stream, int64_t position, int64_t head)
{
    ri_ranges_t *self = arg;
    ri_range_t *grown = grow_room(self->items, self->count, &self->cap, sizeof *grown, 64);
    if (!grown)
        return -1;
    self->items = grown;
    char *copy = strdup(stream);
    if (!copy)
        return -1;
    self->items[self->count++] = (ri_range_t) { copy, position, head };
    return 0;
}

void ri_ranges_clear(ri_ranges_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free(self->items[i].stream);
    self->count = 0;
}

void ri_ranges_release(ri_ranges_t *self)
{
    ri_ranges_clear(self);
    free(self->items);
    self->items = NULL;
    self->cap = 0;
}
