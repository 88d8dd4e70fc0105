/*  qm_estimate: a waiting ticket's real place and wait (qm_ticket_estimate,
 *  qm_model.h; docs/protocol.md, "Objects in replies").
 *
 *  The windows are played forward from now, each by its own rules
 *  (qm_int_pick: green, transfers, due appointments, its strategy and
 *  weighted rotation, every service it serves): the window that becomes
 *  free first calls the ticket its rules give, stays busy for that service's
 *  average time, and so on, until a window calls this ticket. Its position
 *  is the number of tickets called before it by windows that could have
 *  called it; its wait, when that call comes. A window serving a customer
 *  is free once the average service time since the start has passed; an
 *  appointment not yet due is taken when it is due. Nothing new arrives in
 *  the play: the estimate is for the tickets waiting now.
 *
 *  The heaps are read through sorted copies made on first use, with the
 *  tickets already called in the play skipped. The play stops after
 *  S_PICKS_MAX calls; a ticket no window calling now can take gets its
 *  place in its own queue and the service's average per place.
 */
#include "qm_model_int.h"

#include <stdlib.h>
#include <string.h>

#define S_PICKS_MAX 5000
#define S_NEVER INT64_MAX

typedef struct {
    const qm_int_heap_t *heap;
    size_t *items;               /* the heap's tickets in calling order */
    size_t count, next;
} s_list_t;

typedef struct {
    const qm_branch_t *b;
    unsigned char *called;       /* per ticket: called in the play */
    s_list_t *lists;
    size_t nlists, cap;
} s_play_t;

typedef struct {
    const qm_branch_t *b;
    const qm_int_heap_t *h;
} s_order_t;

static int s_cmp(const void *x, const void *y, void *arg)
{
    const s_order_t *o = arg;
    size_t a = *(const size_t *) x, b = *(const size_t *) y;
    return qm_int_before(o->b, o->h, a, b) ? -1 : qm_int_before(o->b, o->h, b, a) ? 1 : 0;
}

/* The play's view of heap h: its first ticket not called yet. */
static size_t s_top(void *ctx, const qm_int_heap_t *h)
{
    s_play_t *p = ctx;
    s_list_t *l = NULL;
    for (size_t i = 0; i < p->nlists && !l; i++)
        if (p->lists[i].heap == h)
            l = &p->lists[i];
    if (!l) {
        if (h->count == 0)
            return NPOS;
        if (p->nlists == p->cap) {
            size_t cap = p->cap ? 2 * p->cap : 16;
            s_list_t *grown = realloc(p->lists, cap * sizeof *grown);
            if (!grown)
                return NPOS;
            p->lists = grown;
            p->cap = cap;
        }
        size_t *items = malloc(h->count * sizeof *items);
        if (!items)
            return NPOS;
        memcpy(items, h->items, h->count * sizeof *items);
        s_order_t order = { p->b, h };
        qsort_r(items, h->count, sizeof *items, s_cmp, &order);
        l = &p->lists[p->nlists++];
        *l = (s_list_t) { h, items, h->count, 0 };
    }
    while (l->next < l->count && p->called[l->items[l->next]])
        l->next++;
    return l->next < l->count ? l->items[l->next] : NPOS;
}

/* Whether window w could call ticket t at all. */
static bool s_could_call(const qm_branch_t *b, const qm_int_window_t *w, size_t t)
{
    const qm_int_ticket_t *ticket = &b->tickets[t];
    if (ticket->target == QM_TARGET_WINDOW)
        return ticket->target_id == w->id;
    if (ticket->target == QM_TARGET_STAFF)
        return ticket->target_id == w->staff_id;
    return qm_int_window_serves(w, ticket->service);
}

/* When window w is free to call: now, or once its customer's average
 * service time since the call (or start) has passed. */
static int64_t s_free_at(const qm_branch_t *b, const qm_int_window_t *w, int64_t now)
{
    if (w->current == NPOS)
        return now;
    const qm_int_ticket_t *c = &b->tickets[w->current];
    int64_t since = c->started_ms ? c->started_ms : c->called_ms;
    int64_t end = since + b->services[c->service].avg_ms;
    return end > now ? end : now;
}

/* The earliest appointment after `after` that window w serves, S_NEVER if
 * none: an idle window waits for it. */
static int64_t s_next_due(s_play_t *p, const qm_int_window_t *w, int64_t after)
{
    int64_t due = S_NEVER;
    for (size_t i = 0; i < w->profile.service_count; i++) {
        size_t top = s_top(p, &p->b->services[w->services[i]].heaps[H_APPT]);
        if (top != NPOS && p->b->tickets[top].appointment_ms > after
            && p->b->tickets[top].appointment_ms < due)
            due = p->b->tickets[top].appointment_ms;
    }
    return due;
}

/* Plays the windows forward until one calls ticket t. 0 with the place and
 * the time of that call, or -1 if no window calling now ever takes it (or
 * memory ran out). */
static int s_play(s_play_t *p, size_t t, int64_t now, size_t *position, int64_t *call_at)
{
    const qm_branch_t *b = p->b;
    size_t n = b->window_count;
    int64_t *free_at = calloc(n + 1, sizeof *free_at);
    int (*rotation)[QM_ROTATION_KEYS] = calloc(n + 1, sizeof *rotation);
    int rc = -1;
    if (!free_at || !rotation)
        goto done;
    for (size_t i = 0; i < n; i++) {
        const qm_int_window_t *w = b->windows[i];
        free_at[i] = qm_int_window_calls(w) ? s_free_at(b, w, now) : S_NEVER;
        memcpy(rotation[i], w->rotation, sizeof rotation[i]);
    }
    size_t ahead = 0;
    for (int picks = 0; picks < S_PICKS_MAX; picks++) {
        size_t wi = NPOS;
        for (size_t i = 0; i < n; i++)
            if (free_at[i] != S_NEVER && (wi == NPOS || free_at[i] < free_at[wi]))
                wi = i;
        if (wi == NPOS)
            break;                /* no window will call any more */
        const qm_int_window_t *w = b->windows[wi];
        qm_via_t via;
        size_t x = qm_int_pick(b, w, rotation[wi], free_at[wi], s_top, p, &via);
        if (x == NPOS) {
            free_at[wi] = s_next_due(p, w, free_at[wi]);
            continue;
        }
        if (x == t) {
            *position = ahead;
            *call_at = free_at[wi];
            rc = 0;
            break;
        }
        p->called[x] = 1;
        if (s_could_call(b, w, t))
            ahead++;
        const qm_int_ticket_t *called = &b->tickets[x];
        if (via == QM_VIA_STRATEGY && called->klass != QM_CLASS_GREEN)
            qm_rotation_note(w->profile.weights, rotation[wi], (int) called->klass);
        free_at[wi] += b->services[called->service].avg_ms;
    }
done:
    free(free_at);
    free(rotation);
    return rc;
}

/* Tickets in h before t (all of them if t is NPOS); only due appointments
 * when `due_only`. */
static size_t s_count_before(const qm_branch_t *b, const qm_int_heap_t *h, size_t t,
                             bool due_only, int64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < h->count; i++) {
        size_t x = h->items[i];
        if (due_only && b->tickets[x].appointment_ms > now)
            continue;
        if (t == NPOS || qm_int_before(b, h, x, t))
            n++;
    }
    return n;
}

/* No window calling now takes the ticket: its place in its own queue (the
 * tickets of its service, or of its target, that come first), and the
 * service's average per place, as if one window served it. */
static void s_own_queue(const qm_branch_t *b, size_t t, int64_t now, size_t *position,
                        int64_t *wait_ms)
{
    const qm_int_ticket_t *ticket = &b->tickets[t];
    const qm_int_service_t *s = &b->services[ticket->service];
    size_t pos = 0;
    if (qm_target_routes(ticket->target)) {
        pos = s_count_before(b, ticket->heap, t, false, now);
    } else {
        int rank = ticket->klass == QM_CLASS_GREEN ? 0 : ticket->appointment_ms > 0 ? 1
                   : ticket->klass == QM_CLASS_VIP ? 2 : 3;
        static const int heap_rank[H_COUNT] = { [H_GREEN] = 0, [H_APPT] = 1, [H_VIP] = 2,
                                                [H_ORD] = 3 };
        for (int h = 0; h < H_COUNT; h++) {
            if (heap_rank[h] < rank)
                pos += s_count_before(b, &s->heaps[h], NPOS, h == H_APPT, now);
            else if (heap_rank[h] == rank)
                pos += s_count_before(b, &s->heaps[h], t, false, now);
        }
    }
    *position = pos;
    *wait_ms = (int64_t) pos * s->avg_ms;
    if (ticket->appointment_ms > now + *wait_ms)
        *wait_ms = ticket->appointment_ms - now;
}

int qm_ticket_estimate(const qm_branch_t *self, const char *ref, int64_t now_ms,
                       size_t *position, int64_t *est_wait_s)
{
    size_t t = self && position && est_wait_s ? qm_int_ticket_ref(self, ref) : NPOS;
    if (t == NPOS || self->tickets[t].state != QM_TICKET_WAITING)
        return -1;
    s_play_t play = { .b = self, .called = calloc(self->ticket_count + 1, 1) };
    int64_t call_at = 0, wait_ms = 0;
    if (play.called && s_play(&play, t, now_ms, position, &call_at) == 0)
        wait_ms = call_at - now_ms;
    else
        s_own_queue(self, t, now_ms, position, &wait_ms);
    for (size_t i = 0; i < play.nlists; i++)
        free(play.lists[i].items);
    free(play.lists);
    free(play.called);
    *est_wait_s = (wait_ms + 999) / 1000;
    return 0;
}
