/*  ri_tickets: ticket binding caught up from ticket_event (ri_tickets.h). */
#include "ri_tickets.h"

#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/tailcursor.h"

#define S_SOURCE "ticket_event"

struct ri_tickets_t {
    char *ltree;
    tailcursor_t *cursor;      /* source "ticket_event", stream = branch path */
    int64_t as_of_ms;
    ri_ranges_t behind;        /* this catch-up's branches that moved */
};

ri_tickets_t *ri_tickets_new(const char *ltree)
{
    ri_tickets_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ltree = strdup(ltree);
    self->cursor = tailcursor_new();
    if (!self->ltree || !self->cursor)
        ri_tickets_destroy(&self);
    return self;
}

void ri_tickets_destroy(ri_tickets_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ri_tickets_t *self = *self_p;
    ri_ranges_release(&self->behind);
    tailcursor_destroy(&self->cursor);
    free(self->ltree);
    free(self);
    *self_p = NULL;
}

int ri_tickets_catch_up(ri_tickets_t *self, ri_store_t *store, ri_ticket_fn *fn, void *ctx)
{
    int64_t began = clock_now_ms();
    ri_ranges_t *behind = &self->behind;
    ri_ranges_clear(behind);
    int rc = -1;
    if (ri_store_ticket_branches_behind(store, self->cursor, self->ltree, ri_ranges_add,
                                        behind) != 0
        || (behind->count > 0
            && ri_store_finished_tickets(store, behind->items, behind->count, fn, ctx) != 0))
        goto out;
    for (size_t i = 0; i < behind->count; i++)
        if (tailcursor_set(self->cursor, S_SOURCE, behind->items[i].stream,
                           behind->items[i].upto, false) != 0)
            goto out;
    self->as_of_ms = began;
    rc = 0;
out:
    ri_ranges_clear(behind);
    return rc;
}

int64_t ri_tickets_as_of(const ri_tickets_t *self)
{
    return self->as_of_ms;
}

bool ri_tickets_branch_known(const ri_tickets_t *self, const char *path)
{
    return tailcursor_get(self->cursor, S_SOURCE, path) > 0;
}
