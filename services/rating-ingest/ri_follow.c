/*  ri_follow: a catch-up's place in the ticket_event streams (ri_follow.h). */
#include "ri_follow.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"

#define S_SOURCE "ticket_event"

struct ri_follow_t {
    char *ltree;
    tailcursor_t *cursor;      /* source S_SOURCE */
    int64_t began_ms;          /* the catch-up under way began then */
    int64_t as_of_ms;
    ri_ranges_t moved;         /* the catch-up's streams that moved */
};

ri_follow_t *ri_follow_new(const char *ltree)
{
    ri_follow_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ltree = strdup(ltree);
    self->cursor = tailcursor_new();
    if (!self->ltree || !self->cursor)
        ri_follow_destroy(&self);
    return self;
}

void ri_follow_destroy(ri_follow_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ri_follow_t *self = *self_p;
    ri_ranges_release(&self->moved);
    tailcursor_destroy(&self->cursor);
    free(self->ltree);
    free(self);
    *self_p = NULL;
}

tailcursor_t *ri_follow_cursor(ri_follow_t *self)
{
    return self->cursor;
}

int64_t ri_follow_position(const ri_follow_t *self, const char *stream)
{
    return tailcursor_get(self->cursor, S_SOURCE, stream);
}

const ri_ranges_t *ri_follow_moved(ri_follow_t *self, ri_store_t *store,
                                   ri_follow_heads_fn *heads)
{
    self->began_ms = clock_now_ms();
    ri_ranges_clear(&self->moved);
    if (heads(store, self->cursor, self->ltree, ri_ranges_add, &self->moved) != 0) {
        ri_ranges_clear(&self->moved);
        return NULL;
    }
    return &self->moved;
}

int ri_follow_advance(ri_follow_t *self, const char *cut_stream, int64_t cut_seq)
{
    int rc = 0;
    for (size_t i = 0; i < self->moved.count && rc == 0; i++) {
        const ri_range_t *range = &self->moved.items[i];
        bool cut = cut_stream && strcmp(range->stream, cut_stream) == 0;
        rc = tailcursor_set(self->cursor, S_SOURCE, range->stream, cut ? cut_seq : range->upto,
                            false);
        if (cut)
            break;
    }
    if (rc == 0 && !cut_stream)
        self->as_of_ms = self->began_ms;
    ri_ranges_clear(&self->moved);
    return rc;
}

int64_t ri_follow_as_of(const ri_follow_t *self)
{
    return self->as_of_ms;
}
