/*  qm_query: the read-only lookups and queries of a queue-manager branch (qm_model.h). */
#include "qm_model_int.h"

#include <stdio.h>
#include <string.h>

#include "eqms/text.h"

/* ---- lookups ------------------------------------------------------------- */

size_t qm_int_service_find(const qm_branch_t *b, int64_t id)
{
    for (size_t i = 0; i < b->service_count; i++)
        if (b->services[i].cfg.id == id)
            return i;
    return NPOS;
}

size_t qm_int_queue_find(const qm_branch_t *b, int64_t id)
{
    for (size_t i = 0; i < b->queue_count; i++)
        if (b->queues[i].cfg.id == id)
            return i;
    return NPOS;
}

qm_int_window_t *qm_int_window_find(const qm_branch_t *b, int64_t id)
{
    for (size_t i = 0; i < b->window_count; i++)
        if (b->windows[i]->id == id)
            return b->windows[i];
    return NULL;
}

qm_int_window_t *qm_int_window_of_staff(const qm_branch_t *b, int64_t staff_id)
{
    for (size_t i = 0; staff_id > 0 && i < b->window_count; i++)
        if (b->windows[i]->staff_id == staff_id)
            return b->windows[i];
    return NULL;
}

qm_int_pool_t *qm_int_pool_find(const qm_branch_t *b, int64_t staff_id)
{
    for (size_t i = 0; i < b->pool_count; i++)
        if (b->pools[i]->staff_id == staff_id)
            return b->pools[i];
    return NULL;
}

bool qm_int_window_serves(const qm_int_window_t *w, size_t service)
{
    for (size_t i = 0; i < w->profile.service_count; i++)
        if (w->services[i] == service)
            return true;
    return false;
}

/* A ticket of today by id or number text, NPOS if none. */
size_t qm_int_ticket_ref(const qm_branch_t *b, const char *ref)
{
    if (!ref)
        return NPOS;
    if (id_valid(ref))
        return qm_int_map_find(b, ref);
    size_t plen = 0;
    while (ref[plen] >= 'A' && ref[plen] <= 'Z')
        plen++;
    size_t dlen = strlen(ref + plen);
    if (plen < 1 || plen >= QM_PREFIX_SIZE || dlen < 3 || dlen > 4)
        return NPOS;
    int n = 0;
    for (size_t i = 0; i < dlen; i++) {
        if (ref[plen + i] < '0' || ref[plen + i] > '9')
            return NPOS;
        n = n * 10 + (ref[plen + i] - '0');
    }
    for (size_t q = 0; q < b->queue_count; q++) {
        const qm_int_queue_t *queue = &b->queues[q];
        if (strlen(queue->cfg.prefix) != plen || memcmp(queue->cfg.prefix, ref, plen) != 0
            || n < 1 || n > queue->cfg.number_max)
            continue;
        return queue->live[n] != NPOS ? queue->live[n] : queue->latest[n];
    }
    return NPOS;
}

/* ---- queries ------------------------------------------------------------ */

int qm_branch_day(const qm_branch_t *self)
{
    return self ? self->day : -1;
}

int64_t qm_branch_last_seq(const qm_branch_t *self)
{
    return self ? self->last_seq : -1;
}

qm_hall_t *qm_branch_hall(qm_branch_t *self)
{
    return self ? self->hall : NULL;
}

static void s_ticket_info(const qm_branch_t *b, size_t t, qm_ticket_info_t *info)
{
    const qm_int_ticket_t *ticket = &b->tickets[t];
    memset(info, 0, sizeof *info);
    text_copy(info->id, sizeof info->id, ticket->id);
    text_copy(info->number, sizeof info->number, ticket->number);
    text_copy(info->phone, sizeof info->phone, ticket->phone);
    info->number_seq = ticket->number_seq;
    info->queue_id = b->queues[ticket->queue].cfg.id;
    info->service_id = b->services[ticket->service].cfg.id;
    info->klass = ticket->klass;
    info->state = ticket->state;
    info->appointment_ms = ticket->appointment_ms;
    info->issued_ms = ticket->issued_ms;
    info->original_ms = ticket->original_ms;
    info->target = ticket->target;
    info->target_id = ticket->target_id;
    info->window_id = ticket->window_id;
    info->staff_id = ticket->staff_id;
    info->recall = ticket->recall;
    info->called_ms = ticket->called_ms;
    info->started_ms = ticket->started_ms;
    info->finished_ms = ticket->finished_ms;
}

int qm_ticket_find(const qm_branch_t *self, const char *ref, qm_ticket_info_t *info)
{
    size_t t = self && info ? qm_int_ticket_ref(self, ref) : NPOS;
    if (t == NPOS)
        return -1;
    s_ticket_info(self, t, info);
    return 0;
}

size_t qm_ticket_count(const qm_branch_t *self)
{
    return self ? self->ticket_count : 0;
}

int qm_ticket_at(const qm_branch_t *self, size_t i, qm_ticket_info_t *info)
{
    if (!self || !info || i >= self->ticket_count)
        return -1;
    s_ticket_info(self, i, info);
    return 0;
}

bool qm_int_window_calls(const qm_int_window_t *w)
{
    return w->state == QM_WINDOW_OPEN && w->staff_id;
}

size_t qm_int_windows_serving(const qm_branch_t *b, size_t service)
{
    size_t n = 0;
    for (size_t i = 0; i < b->window_count; i++)
        if (qm_int_window_calls(b->windows[i]) && qm_int_window_serves(b->windows[i], service))
            n++;
    return n;
}

int qm_service_stats(const qm_branch_t *self, int64_t service_id, qm_service_stats_t *stats)
{
    size_t i = self && stats ? qm_int_service_find(self, service_id) : NPOS;
    if (i == NPOS)
        return -1;
    const qm_int_service_t *s = &self->services[i];
    memset(stats, 0, sizeof *stats);
    stats->by_class[QM_CLASS_GREEN] = s->heaps[H_GREEN].count;
    stats->by_class[QM_CLASS_VIP] = s->heaps[H_VIP].count;
    stats->by_class[QM_CLASS_ORDINARY] = s->heaps[H_ORD].count;
    stats->appointments = s->heaps[H_APPT].count;
    stats->waiting = stats->by_class[0] + stats->by_class[1] + stats->by_class[2]
                     + stats->appointments;
    stats->windows_serving = qm_int_windows_serving(self, i);
    stats->avg_ms = s->avg_ms;
    return 0;
}

/* Waiting tickets of a service: all its heaps (not the window / teller ones). */
static int64_t s_service_waiting(const qm_int_service_t *s)
{
    int64_t n = 0;
    for (int h = 0; h < H_COUNT; h++)
        n += (int64_t) s->heaps[h].count;
    return n;
}

/* The waiting tickets of queue q: those in the heaps of its services
 * (transfers to windows and tellers are not). Returns their count; with
 * `oldest`, also their earliest issued_ms there (0 if none): the heaps are
 * ordered by original time, not issued_ms, so that looks at every ticket. */
static int64_t s_queue_scan(const qm_branch_t *b, size_t q, int64_t *oldest)
{
    int64_t n = 0;
    for (size_t i = 0; i < b->service_count; i++) {
        if (b->services[i].queue != q)
            continue;
        n += s_service_waiting(&b->services[i]);
        for (int h = 0; oldest && h < H_COUNT; h++) {
            const qm_int_heap_t *heap = &b->services[i].heaps[h];
            for (size_t k = 0; k < heap->count; k++) {
                int64_t at = b->tickets[heap->items[k]].issued_ms;
                if (*oldest == 0 || at < *oldest)
                    *oldest = at;
            }
        }
    }
    return n;
}

int64_t qm_queue_waiting(const qm_branch_t *self, int64_t queue_id)
{
    size_t q = self ? qm_int_queue_find(self, queue_id) : NPOS;
    return q == NPOS ? -1 : s_queue_scan(self, q, NULL);
}

int64_t qm_queue_oldest(const qm_branch_t *self, int64_t queue_id)
{
    size_t q = self ? qm_int_queue_find(self, queue_id) : NPOS;
    if (q == NPOS)
        return -1;
    int64_t oldest = 0;
    (void) s_queue_scan(self, q, &oldest);
    return oldest;
}

int qm_queue_next_number(const qm_branch_t *self, int64_t queue_id)
{
    size_t q = self ? qm_int_queue_find(self, queue_id) : NPOS;
    return q == NPOS ? -1 : qm_int_next_number(self, q);
}

size_t qm_window_count(const qm_branch_t *self)
{
    return self ? self->window_count : 0;
}

static void s_window_info(const qm_branch_t *b, const qm_int_window_t *w, qm_window_info_t *info)
{
    memset(info, 0, sizeof *info);
    info->id = w->id;
    info->number = w->number;
    text_copy(info->name, sizeof info->name, w->name);
    info->state = w->state;
    text_copy(info->pause_reason, sizeof info->pause_reason, w->pause_reason);
    info->staff_id = w->staff_id;
    if (w->current != NPOS)
        text_copy(info->current_id, sizeof info->current_id, b->tickets[w->current].id);
    info->parked = w->parked_count;
    info->transferred = w->targeted.count;
    info->profile = w->profile;
    memcpy(info->rotation, w->rotation, sizeof info->rotation);
    info->since_ms = w->since_ms;
}

int qm_window_at(const qm_branch_t *self, size_t i, qm_window_info_t *info)
{
    if (!self || !info || i >= self->window_count)
        return -1;
    s_window_info(self, self->windows[i], info);
    return 0;
}

int qm_window_find(const qm_branch_t *self, int64_t window_id, qm_window_info_t *info)
{
    const qm_int_window_t *w = self && info ? qm_int_window_find(self, window_id) : NULL;
    if (!w)
        return -1;
    s_window_info(self, w, info);
    return 0;
}

int64_t qm_window_waiting(const qm_branch_t *self, int64_t window_id)
{
    const qm_int_window_t *w = self ? qm_int_window_find(self, window_id) : NULL;
    if (!w)
        return -1;
    int64_t n = (int64_t) w->targeted.count;
    for (size_t i = 0; i < w->profile.service_count; i++)
        n += s_service_waiting(&self->services[w->services[i]]);
    const qm_int_pool_t *pool = w->staff_id ? qm_int_pool_find(self, w->staff_id) : NULL;
    if (pool)
        n += (int64_t) pool->heap.count;
    return n;
}

static const char *s_state_names[] = { "waiting", "called", "serving", "parked",
                                       "finished", "no_show", "abandoned" };

const char *qm_ticket_state_name(qm_ticket_state_t state)
{
    return (unsigned) state < 7 ? s_state_names[state] : "?";
}

const char *qm_window_state_name(qm_window_state_t state)
{
    static const char *names[] = { "closed", "open", "paused" };
    return (unsigned) state < 3 ? names[state] : "?";
}

const char *qm_event_kind_name(qm_event_kind_t kind)
{
    static const char *names[] = {
        "?", "issued", "walk_in", "called", "recalled", "started", "finished", "no_show",
        "transferred", "parked", "returned", "abandoned", "window_opened", "window_closed",
        "window_paused", "window_resumed", "staff_login", "staff_logout", "window_set",
        "profile_set", "day_start"
    };
    return (unsigned) kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

bool qm_target_routes(qm_target_t target)
{
    return target == QM_TARGET_WINDOW || target == QM_TARGET_STAFF;
}

const char *qm_target_name(qm_target_t target)
{
    static const char *names[] = { "none", "service", "window", "staff" };
    return (unsigned) target < 4 ? names[target] : "?";
}
