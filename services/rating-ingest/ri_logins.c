/*  ri_logins: logins at queue-manager caught up from ticket_event (ri_logins.h). */
#include "ri_logins.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/tailcursor.h"

#define S_SOURCE "ticket_event"

struct ri_logins_t {
    char *ltree;
    tailcursor_t *cursor;      /* source "ticket_event", stream = journal name */
    int64_t as_of_ms;
    ri_ranges_t behind;        /* this catch-up's journals that moved */
};

ri_logins_t *ri_logins_new(const char *ltree)
{
    ri_logins_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ltree = strdup(ltree);
    self->cursor = tailcursor_new();
    if (!self->ltree || !self->cursor)
        ri_logins_destroy(&self);
    return self;
}

void ri_logins_destroy(ri_logins_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ri_logins_t *self = *self_p;
    ri_ranges_release(&self->behind);
    tailcursor_destroy(&self->cursor);
    free(self->ltree);
    free(self);
    *self_p = NULL;
}

int ri_logins_load(ri_logins_t *self, ri_store_t *store)
{
    return ri_store_login_positions(store, self->cursor);
}

typedef struct {
    ri_login_fn *fn;
    void *ctx;
    char journal[ENVELOPE_SRC_MAX + 1];   /* of the last event read */
    int64_t seq;
} s_read_t;

static void s_read(void *arg, const ri_login_t *login)
{
    s_read_t *r = arg;
    snprintf(r->journal, sizeof r->journal, "%s", login->journal);
    r->seq = login->seq;
    r->fn(r->ctx, login);
}

int ri_logins_catch_up(ri_logins_t *self, ri_store_t *store, ri_login_fn *fn, void *ctx)
{
    int64_t began = clock_now_ms();
    ri_ranges_t *behind = &self->behind;
    ri_ranges_clear(behind);
    s_read_t r = { fn, ctx, "", 0 };
    int got = 0;
    if (ri_store_login_branches_behind(store, self->cursor, self->ltree, ri_ranges_add,
                                       behind) != 0)
        goto err;
    if (behind->count > 0) {
        got = ri_store_logins(store, behind->items, behind->count, RI_LOGINS_MAX, s_read, &r);
        if (got < 0)
            goto err;
    }
    /* Read in the ranges' order: a full read may have cut the last journal
     * it reached, which goes on from its last event next time; the ones
     * after it were not reached. */
    bool full = got == RI_LOGINS_MAX;
    for (size_t i = 0; i < behind->count; i++) {
        const ri_range_t *range = &behind->items[i];
        bool cut = full && strcmp(range->stream, r.journal) == 0;
        if (tailcursor_set(self->cursor, S_SOURCE, range->stream, cut ? r.seq : range->upto,
                           false) != 0)
            goto err;
        if (cut)
            break;
    }
    if (!full)
        self->as_of_ms = began;
    ri_ranges_clear(behind);
    return got;
err:
    ri_ranges_clear(behind);
    return -1;
}

int64_t ri_logins_as_of(const ri_logins_t *self)
{
    return self->as_of_ms;
}

bool ri_logins_journal(const char *gateway)
{
    return strncmp(gateway, RI_LOGINS_JOURNAL, strlen(RI_LOGINS_JOURNAL)) == 0;
}
