/*  ri_tickets: ticket binding caught up from ticket_event (ri_tickets.h). */
#include "ri_tickets.h"

#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/grow.h"
#include "eqms/log.h"
#include "eqms/tailcursor.h"

#define S_SOURCE "ticket_event"

typedef struct {
    char *branch;
    int64_t after, upto;
} s_behind_t;

struct ri_tickets_t {
    char *ltree;
    tailcursor_t *cursor;      /* source "ticket_event", stream = branch path */
    int64_t as_of_ms;
    s_behind_t *behind;        /* this catch-up's branches that moved */
    size_t nbehind, cap;
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

static void s_clear(ri_tickets_t *self)
{
    for (size_t i = 0; i < self->nbehind; i++)
        free(self->behind[i].branch);
    self->nbehind = 0;
}

void ri_tickets_destroy(ri_tickets_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ri_tickets_t *self = *self_p;
    s_clear(self);
    free(self->behind);
    tailcursor_destroy(&self->cursor);
    free(self->ltree);
    free(self);
    *self_p = NULL;
}

static int s_behind(void *arg, const char *stream, int64_t position, int64_t head)
{
    ri_tickets_t *self = arg;
    s_behind_t *grown = grow_room(self->behind, self->nbehind, &self->cap,
                                  sizeof *grown, 64);
    if (!grown)
        return -1;
    self->behind = grown;
    char *branch = strdup(stream);
    if (!branch)
        return -1;
    self->behind[self->nbehind++] = (s_behind_t) { branch, position, head };
    return 0;
}

int ri_tickets_catch_up(ri_tickets_t *self, ri_store_t *store, ri_ticket_fn *fn, void *ctx)
{
    int64_t began = clock_now_ms();
    s_clear(self);
    if (ri_store_ticket_branches_behind(store, self->cursor, self->ltree, s_behind,
                                        self) != 0)
        goto err;
    if (self->nbehind > 0) {
        char **branches = calloc(self->nbehind, sizeof *branches);
        int64_t *after = calloc(self->nbehind, sizeof *after);
        int64_t *upto = calloc(self->nbehind, sizeof *upto);
        int rc = -1;
        if (branches && after && upto) {
            for (size_t i = 0; i < self->nbehind; i++) {
                branches[i] = self->behind[i].branch;
                after[i] = self->behind[i].after;
                upto[i] = self->behind[i].upto;
            }
            rc = ri_store_finished_tickets(store, self->nbehind, branches, after, upto, fn,
                                           ctx);
        }
        free(branches);
        free(after);
        free(upto);
        if (rc != 0)
            goto err;
        for (size_t i = 0; i < self->nbehind; i++)
            if (tailcursor_set(self->cursor, S_SOURCE, self->behind[i].branch,
                               self->behind[i].upto, false) != 0)
                goto err;
    }
    self->as_of_ms = began;
    s_clear(self);
    return 0;
err:
    s_clear(self);
    return -1;
}

int64_t ri_tickets_as_of(const ri_tickets_t *self)
{
    return self->as_of_ms;
}

bool ri_tickets_branch_known(const ri_tickets_t *self, const char *path)
{
    return tailcursor_get(self->cursor, S_SOURCE, path) > 0;
}
