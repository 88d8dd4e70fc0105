/*  ri_logins: logins at queue-manager caught up from ticket_event (ri_logins.h). */
#include "ri_logins.h"

#include <stdio.h>
#include <string.h>

int ri_logins_load(ri_follow_t *logins, ri_store_t *store)
{
    return ri_store_login_positions(store, ri_follow_cursor(logins));
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

int ri_logins_catch_up(ri_follow_t *logins, ri_store_t *store, ri_login_fn *fn, void *ctx)
{
    const ri_ranges_t *moved = ri_follow_moved(logins, store, ri_store_login_branches_behind);
    if (!moved)
        return -1;
    s_read_t r = { fn, ctx, "", 0 };
    int got = moved->count > 0
                  ? ri_store_logins(store, moved->items, moved->count, RI_LOGINS_MAX, s_read, &r)
                  : 0;
    if (got < 0)
        return -1;
    /* A full read may have cut the last journal it reached, which goes on
     * from its last event next time; the ones after it were not reached. */
    if (ri_follow_advance(logins, got == RI_LOGINS_MAX ? r.journal : NULL, r.seq) != 0)
        return -1;
    return got;
}

bool ri_logins_journal(const char *gateway)
{
    return strncmp(gateway, RI_LOGINS_JOURNAL, strlen(RI_LOGINS_JOURNAL)) == 0;
}
