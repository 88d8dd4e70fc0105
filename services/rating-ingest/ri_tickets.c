/*  ri_tickets: ticket binding caught up from ticket_event (ri_tickets.h). */
#include "ri_tickets.h"

int ri_tickets_catch_up(ri_follow_t *tickets, ri_store_t *store, ri_ticket_fn *fn, void *ctx)
{
    const ri_ranges_t *moved = ri_follow_moved(tickets, store, ri_store_ticket_branches_behind);
    if (!moved
        || (moved->count > 0
            && ri_store_finished_tickets(store, moved->items, moved->count, fn, ctx) != 0))
        return -1;
    return ri_follow_advance(tickets, NULL, 0);
}

bool ri_tickets_branch_known(const ri_follow_t *tickets, const char *path)
{
    return ri_follow_position(tickets, path) > 0;
}
