/*  qm_decide: the decisions of queue-manager: qm_issue, qm_act, qm_window_set, qm_day_end. */
#include "qm_model_int.h"

#include <stdio.h>
#include <string.h>

#include "eqms/text.h"

/* ---- decisions ------------------------------------------------------------ */

/* The events of one decision being appended. */
typedef struct {
    const qm_branch_t *b;
    qm_journal_t *j;
    size_t mark;                   /* journal count before the decision */
    int64_t now;
    const char *actor;
    bool failed;                   /* out of memory on some push */
} s_batch_t;

static void s_ev_init(qm_event_t *ev, qm_event_kind_t kind)
{
    memset(ev, 0, sizeof *ev);
    ev->kind = kind;
}

static void s_ev_ticket(qm_event_t *ev, const qm_branch_t *b, size_t t)
{
    const qm_int_ticket_t *ticket = &b->tickets[t];
    text_copy(ev->ticket_id, sizeof ev->ticket_id, ticket->id);
    text_copy(ev->number, sizeof ev->number, ticket->number);
    ev->number_seq = ticket->number_seq;
    ev->queue_id = b->queues[ticket->queue].cfg.id;
    ev->service_id = b->services[ticket->service].cfg.id;
    ev->klass = ticket->klass;
    ev->original_ms = ticket->original_ms;
}

static void s_ev_window(qm_event_t *ev, const qm_int_window_t *w)
{
    ev->window_id = w->id;
    ev->window_no = w->number;
    ev->staff_id = w->staff_id;
}

/* Numbers the event after the last applied / appended one and appends it. */
static void s_emit(s_batch_t *batch, qm_event_t *ev)
{
    ev->seq = batch->b->last_seq + 1 + (int64_t) (batch->j->count - batch->mark);
    ev->at_ms = batch->now;
    if (!ev->day)
        ev->day = batch->b->day;
    text_copy(ev->actor, sizeof ev->actor, batch->actor);
    if (qm_journal_push(batch->j, ev) != 0)
        batch->failed = true;
}

static qm_err_t s_done(s_batch_t *batch, char reason[QM_REASON_SIZE])
{
    if (!batch->failed)
        return QM_OK;
    batch->j->count = batch->mark;
    return qm_refuse(reason, QM_ERR_NO_MEMORY, "out of memory");
}

static bool s_text_ok(const char *text, size_t size)
{
    return text && text[0] && strlen(text) < size;
}

/* FINISHED of ticket t at window w, with the service's new moving average. */
static void s_emit_finish(s_batch_t *batch, const qm_int_window_t *w, size_t t, const char *detail)
{
    const qm_int_ticket_t *ticket = &batch->b->tickets[t];
    qm_event_t ev;
    s_ev_init(&ev, QM_EV_FINISHED);
    s_ev_ticket(&ev, batch->b, t);
    s_ev_window(&ev, w);
    int64_t from = ticket->started_ms ? ticket->started_ms : ticket->called_ms;
    int64_t sample = batch->now > from ? batch->now - from : 0;
    ev.avg_ms = (3 * batch->b->services[ticket->service].avg_ms + sample) / 4;
    if (ev.avg_ms < 1)
        ev.avg_ms = 1;
    text_copy(ev.detail, sizeof ev.detail, detail);
    s_emit(batch, &ev);
}

/* Frees window w of its current ticket on a forced end of its session: a
 * ticket being served is finished, a called one goes back to waiting. */
static void s_emit_release(s_batch_t *batch, const qm_int_window_t *w, const char *why)
{
    if (w->current == NPOS)
        return;
    if (batch->b->tickets[w->current].state == QM_TICKET_SERVING) {
        s_emit_finish(batch, w, w->current, why);
        return;
    }
    qm_event_t ev;
    s_ev_init(&ev, QM_EV_RETURNED);
    s_ev_ticket(&ev, batch->b, w->current);
    s_ev_window(&ev, w);
    text_copy(ev.detail, sizeof ev.detail, why);
    s_emit(batch, &ev);
}

/* Finishes the window's current ticket before it takes another (Qmatic). */
static void s_emit_finish_current(s_batch_t *batch, const qm_int_window_t *w)
{
    if (w->current != NPOS)
        s_emit_finish(batch, w, w->current, "next call");
}

static void s_emit_called(s_batch_t *batch, const qm_int_window_t *w, size_t t, qm_via_t via)
{
    qm_event_t ev;
    s_ev_init(&ev, QM_EV_CALLED);
    s_ev_ticket(&ev, batch->b, t);
    s_ev_window(&ev, w);
    ev.via = via;
    s_emit(batch, &ev);
}

/* The next number of queue q, or -1 when all are live. */
int qm_int_next_number(const qm_branch_t *b, size_t q)
{
    const qm_int_queue_t *queue = &b->queues[q];
    int n = queue->last_number;
    for (int i = 0; i < queue->cfg.number_max; i++) {
        n = n % queue->cfg.number_max + 1;
        if (queue->live[n] == NPOS)
            return n;
    }
    return -1;
}

size_t qm_int_heap_top(void *ctx, const qm_int_heap_t *h)
{
    (void) ctx;
    return h->count ? h->items[0] : NPOS;
}

/* The first of `best` and the top of heap h (NPOS-aware). */
static size_t s_older(const qm_branch_t *b, const qm_int_heap_t *h, size_t best,
                      qm_int_top_fn *top_of, void *ctx)
{
    size_t top = top_of(ctx, h);
    if (top == NPOS)
        return best;
    return best == NPOS || qm_int_before(b, h, top, best) ? top : best;
}

size_t qm_int_pick(const qm_branch_t *b, const qm_int_window_t *w,
                   const int rotation[QM_ROTATION_KEYS], int64_t now, qm_int_top_fn *top_of,
                   void *ctx, qm_via_t *via)
{
    size_t n = w->profile.service_count, best = NPOS;
    for (size_t i = 0; i < n; i++)
        best = s_older(b, &b->services[w->services[i]].heaps[H_GREEN], best, top_of, ctx);
    if (best != NPOS) {
        *via = QM_VIA_GREEN;
        return best;
    }
    best = s_older(b, &w->targeted, NPOS, top_of, ctx);
    const qm_int_pool_t *pool = qm_int_pool_find(b, w->staff_id);
    if (pool)
        best = s_older(b, &pool->heap, best, top_of, ctx);
    if (best != NPOS) {
        *via = QM_VIA_TRANSFER;
        return best;
    }
    for (size_t i = 0; i < n; i++) {
        const qm_int_heap_t *h = &b->services[w->services[i]].heaps[H_APPT];
        size_t top = top_of(ctx, h);
        if (top != NPOS && b->tickets[top].appointment_ms <= now)
            best = s_older(b, h, best, top_of, ctx);
    }
    if (best != NPOS) {
        *via = QM_VIA_APPOINTMENT;
        return best;
    }
    size_t top[QM_ROTATION_KEYS] = { NPOS, NPOS };
    for (int k = 0; k < QM_ROTATION_KEYS; k++)
        for (size_t i = 0; i < n; i++) {
            const qm_int_heap_t *h = &b->services[w->services[i]].heaps[k == QM_CLASS_VIP ? H_VIP
                                                                                       : H_ORD];
            if (w->profile.strategy == QM_STRATEGY_STRICT) {
                if (top[k] == NPOS)
                    top[k] = top_of(ctx, h);
            } else {
                top[k] = s_older(b, h, top[k], top_of, ctx);
            }
        }
    *via = QM_VIA_STRATEGY;
    if (w->profile.strategy == QM_STRATEGY_WEIGHTED) {
        bool available[QM_ROTATION_KEYS];
        for (int k = 0; k < QM_ROTATION_KEYS; k++)
            available[k] = top[k] != NPOS;
        int k = qm_rotation_pick(w->profile.weights, rotation, available);
        return k < 0 ? NPOS : top[k];
    }
    return top[QM_CLASS_VIP] != NPOS ? top[QM_CLASS_VIP] : top[QM_CLASS_ORDINARY];
}

qm_err_t qm_issue(const qm_branch_t *self, const qm_issue_req_t *req, int day,
                  int64_t now_ms, qm_journal_t *journal, char reason[QM_REASON_SIZE])
{
    if (!self || !req || !journal)
        return qm_refuse(reason, QM_ERR_INVALID, "missing branch, request or journal");
    if (!s_text_ok(req->actor, QM_ACTOR_SIZE))
        return qm_refuse(reason, QM_ERR_INVALID, "actor must be 1..%d bytes", QM_ACTOR_SIZE - 1);
    if (day != self->day)
        return qm_refuse(reason, QM_ERR_WRONG_DAY, "branch is on day %d, request is for %d%s",
                         self->day, day, day > self->day ? ": end the day first" : "");
    size_t service = qm_int_service_find(self, req->service_id);
    if (service == NPOS)
        return qm_refuse(reason, QM_ERR_UNKNOWN_SERVICE, "no service %lld",
                         (long long) req->service_id);
    if ((unsigned) req->klass >= QM_CLASS_COUNT)
        return qm_refuse(reason, QM_ERR_INVALID, "unknown customer class %d", (int) req->klass);
    if (req->appointment_ms < 0)
        return qm_refuse(reason, QM_ERR_INVALID, "appointment time is negative");
    const char *phone = req->phone ? req->phone : "";
    size_t plen = strlen(phone), digits = 0;
    for (size_t i = 0; i < plen; i++)
        if (phone[i] >= '0' && phone[i] <= '9')
            digits++;
        else if (!(i == 0 && phone[i] == '+'))
            return qm_refuse(reason, QM_ERR_INVALID, "phone may hold only digits and a leading '+'");
    if (plen && (digits < 3 || digits > 20))
        return qm_refuse(reason, QM_ERR_INVALID, "phone must have 3..20 digits");
    size_t q = self->services[service].queue;
    int n = qm_int_next_number(self, q);
    if (n < 0)
        return qm_refuse(reason, QM_ERR_QUEUE_FULL, "all %d numbers of queue %s are in use",
                         self->queues[q].cfg.number_max, self->queues[q].cfg.prefix);
    qm_event_t ev;
    s_ev_init(&ev, QM_EV_ISSUED);
    if (id_new(ev.ticket_id) != 0)
        return qm_refuse(reason, QM_ERR_NO_MEMORY, "no randomness for a ticket id");
    qm_number_format(self->queues[q].cfg.prefix, self->queues[q].cfg.number_max, n, ev.number);
    ev.number_seq = n;
    ev.queue_id = self->queues[q].cfg.id;
    ev.service_id = req->service_id;
    ev.klass = req->klass;
    ev.original_ms = now_ms;
    ev.appointment_ms = req->appointment_ms;
    text_copy(ev.phone, sizeof ev.phone, phone);
    s_batch_t batch = { self, journal, journal->count, now_ms, req->actor, false };
    s_emit(&batch, &ev);
    return s_done(&batch, reason);
}

/* Checks that window w may call: open, not paused, teller present. */
static qm_err_t s_can_call(const qm_int_window_t *w, char reason[QM_REASON_SIZE])
{
    if (w->state == QM_WINDOW_CLOSED)
        return qm_refuse(reason, QM_ERR_WINDOW_CLOSED, "window %d is closed", w->number);
    if (w->state == QM_WINDOW_PAUSED)
        return qm_refuse(reason, QM_ERR_WINDOW_PAUSED, "window %d is paused (%s)", w->number,
                         w->pause_reason);
    if (w->staff_id == 0)
        return qm_refuse(reason, QM_ERR_NO_STAFF, "nobody is logged in at window %d", w->number);
    return QM_OK;
}

static qm_err_t s_act_login(s_batch_t *batch, const qm_int_window_t *w, int64_t staff_id,
                            char reason[QM_REASON_SIZE])
{
    if (staff_id <= 0)
        return qm_refuse(reason, QM_ERR_INVALID, "staff id must be positive");
    if (w->staff_id == staff_id)
        return qm_refuse(reason, QM_ERR_STAFF_STATE, "staff %lld is already logged in at window %d",
                         (long long) staff_id, w->number);
    qm_event_t ev;
    char why[QM_DETAIL_SIZE];
    const qm_int_window_t *old = qm_int_window_of_staff(batch->b, staff_id);
    /* A customer being served is never finished behind anybody's back: the
     * teller (or the one replaced here) finishes or transfers first, as for
     * a logout. A called ticket goes back to waiting. */
    const qm_int_window_t *serving[] = { old, w->staff_id ? w : NULL };
    for (size_t i = 0; i < 2; i++)
        if (serving[i] && serving[i]->current != NPOS
            && batch->b->tickets[serving[i]->current].state == QM_TICKET_SERVING)
            return qm_refuse(reason, QM_ERR_BUSY, "window %d is serving %s: finish or "
                             "transfer it before logging in %s", serving[i]->number,
                             batch->b->tickets[serving[i]->current].number,
                             serving[i] == old ? "elsewhere" : "another teller here");
    if (old) {
        snprintf(why, sizeof why, "logged in at window %d", w->number);
        s_emit_release(batch, old, why);
        s_ev_init(&ev, QM_EV_STAFF_LOGOUT);
        s_ev_window(&ev, old);
        text_copy(ev.detail, sizeof ev.detail, why);
        s_emit(batch, &ev);
    }
    if (w->staff_id) {
        snprintf(why, sizeof why, "replaced by staff %lld", (long long) staff_id);
        s_emit_release(batch, w, why);
        s_ev_init(&ev, QM_EV_STAFF_LOGOUT);
        s_ev_window(&ev, w);
        text_copy(ev.detail, sizeof ev.detail, why);
        s_emit(batch, &ev);
    }
    s_ev_init(&ev, QM_EV_STAFF_LOGIN);
    s_ev_window(&ev, w);
    ev.staff_id = staff_id;
    s_emit(batch, &ev);
    return QM_OK;
}

static qm_err_t s_act_transfer(s_batch_t *batch, const qm_int_window_t *w, const qm_action_t *a,
                               char reason[QM_REASON_SIZE])
{
    const qm_branch_t *b = batch->b;
    qm_event_t ev;
    s_ev_init(&ev, QM_EV_TRANSFERRED);
    s_ev_ticket(&ev, b, w->current);
    s_ev_window(&ev, w);
    switch (a->target) {
    case QM_TARGET_SERVICE:
        if (qm_int_service_find(b, a->target_id) == NPOS)
            return qm_refuse(reason, QM_ERR_UNKNOWN_SERVICE, "no service %lld to transfer to",
                             (long long) a->target_id);
        ev.service_id = a->target_id;
        break;
    case QM_TARGET_WINDOW:
        if (!qm_int_window_find(b, a->target_id))
            return qm_refuse(reason, QM_ERR_UNKNOWN_WINDOW, "no window %lld to transfer to",
                             (long long) a->target_id);
        break;
    case QM_TARGET_STAFF:
        if (a->target_id <= 0)
            return qm_refuse(reason, QM_ERR_INVALID, "staff id must be positive");
        break;
    default:
        return qm_refuse(reason, QM_ERR_INVALID, "transfer target must be service, window or staff");
    }
    ev.target = a->target;
    ev.target_id = a->target_id;
    s_emit(batch, &ev);
    return QM_OK;
}

static qm_err_t s_act_walk_in(s_batch_t *batch, const qm_int_window_t *w, const qm_action_t *a,
                              char reason[QM_REASON_SIZE])
{
    const qm_branch_t *b = batch->b;
    size_t service = qm_int_service_find(b, a->service_id);
    if (service == NPOS)
        return qm_refuse(reason, QM_ERR_UNKNOWN_SERVICE, "no service %lld",
                         (long long) a->service_id);
    if ((unsigned) a->klass >= QM_CLASS_COUNT)
        return qm_refuse(reason, QM_ERR_INVALID, "unknown customer class %d", (int) a->klass);
    size_t q = b->services[service].queue;
    int n = qm_int_next_number(b, q);
    if (n < 0)
        return qm_refuse(reason, QM_ERR_QUEUE_FULL, "all numbers of queue %s are in use",
                         b->queues[q].cfg.prefix);
    qm_event_t ev;
    s_ev_init(&ev, QM_EV_WALK_IN);
    if (id_new(ev.ticket_id) != 0)
        return qm_refuse(reason, QM_ERR_NO_MEMORY, "no randomness for a ticket id");
    s_emit_finish_current(batch, w);
    qm_number_format(b->queues[q].cfg.prefix, b->queues[q].cfg.number_max, n, ev.number);
    ev.number_seq = n;
    ev.queue_id = b->queues[q].cfg.id;
    ev.service_id = a->service_id;
    ev.klass = a->klass;
    ev.original_ms = batch->now;
    s_ev_window(&ev, w);
    s_emit(batch, &ev);
    return QM_OK;
}

/* A waiting ticket that window w may call out of order, or an error. */
static qm_err_t s_act_call_ticket(s_batch_t *batch, const qm_int_window_t *w, const char *ref,
                                  char reason[QM_REASON_SIZE])
{
    const qm_branch_t *b = batch->b;
    if (!ref || !*ref)
        return qm_refuse(reason, QM_ERR_INVALID, "which ticket? give its id or number");
    size_t t = qm_int_ticket_ref(b, ref);
    if (t == NPOS)
        return qm_refuse(reason, QM_ERR_UNKNOWN_TICKET, "no ticket %.40s today", ref);
    const qm_int_ticket_t *ticket = &b->tickets[t];
    if (ticket->state != QM_TICKET_WAITING)
        return qm_refuse(reason, QM_ERR_TICKET_STATE, "%s is %s, not waiting", ticket->number,
                         qm_ticket_state_name(ticket->state));
    if ((ticket->target == QM_TARGET_WINDOW && ticket->target_id != w->id)
        || (ticket->target == QM_TARGET_STAFF && ticket->target_id != w->staff_id))
        return qm_refuse(reason, QM_ERR_WRONG_WINDOW, "%s waits for %s %lld", ticket->number,
                         qm_target_name(ticket->target), (long long) ticket->target_id);
    if (!qm_target_routes(ticket->target) && !qm_int_window_serves(w, ticket->service))
        return qm_refuse(reason, QM_ERR_NOT_SERVED, "window %d does not serve %s (service %s)",
                         w->number, ticket->number, b->services[ticket->service].cfg.code);
    s_emit_finish_current(batch, w);
    s_emit_called(batch, w, t, QM_VIA_EXPLICIT);
    return QM_OK;
}

static qm_err_t s_act_call_back(s_batch_t *batch, const qm_int_window_t *w, const char *ref,
                                char reason[QM_REASON_SIZE])
{
    const qm_branch_t *b = batch->b;
    size_t t;
    if (ref && *ref) {
        t = qm_int_ticket_ref(b, ref);
        if (t == NPOS)
            return qm_refuse(reason, QM_ERR_UNKNOWN_TICKET, "no ticket %.40s today", ref);
        if (b->tickets[t].state != QM_TICKET_PARKED)
            return qm_refuse(reason, QM_ERR_TICKET_STATE, "%s is %s, not parked",
                             b->tickets[t].number, qm_ticket_state_name(b->tickets[t].state));
        if (b->tickets[t].window_id != w->id)
            return qm_refuse(reason, QM_ERR_WRONG_WINDOW, "%s is parked at another window",
                             b->tickets[t].number);
    } else {
        if (w->parked_count == 0)
            return qm_refuse(reason, QM_ERR_NO_TICKET, "no ticket is parked at window %d",
                             w->number);
        t = w->parked[0];
    }
    s_emit_finish_current(batch, w);
    s_emit_called(batch, w, t, QM_VIA_CALL_BACK);
    return QM_OK;
}

qm_err_t qm_act(const qm_branch_t *self, const qm_action_t *a, int64_t now_ms,
                qm_journal_t *journal, char reason[QM_REASON_SIZE])
{
    if (!self || !a || !journal)
        return qm_refuse(reason, QM_ERR_INVALID, "missing branch, action or journal");
    if (!s_text_ok(a->actor, QM_ACTOR_SIZE))
        return qm_refuse(reason, QM_ERR_INVALID, "actor must be 1..%d bytes", QM_ACTOR_SIZE - 1);
    if (a->kind < QM_ACT_OPEN || a->kind > QM_ACT_WALK_IN)
        return qm_refuse(reason, QM_ERR_INVALID, "unknown window action %d", (int) a->kind);
    const qm_int_window_t *w = qm_int_window_find(self, a->window_id);
    if (!w)
        return qm_refuse(reason, QM_ERR_UNKNOWN_WINDOW, "no window %lld", (long long) a->window_id);
    s_batch_t batch = { self, journal, journal->count, now_ms, a->actor, false };
    const qm_int_ticket_t *ct = w->current != NPOS ? &self->tickets[w->current] : NULL;
    qm_err_t err;
    qm_event_t ev;
    s_ev_init(&ev, QM_EV_WINDOW_OPENED);
    s_ev_window(&ev, w);

    switch (a->kind) {
    case QM_ACT_CALL_NEXT: case QM_ACT_CALL_TICKET: case QM_ACT_RECALL:
    case QM_ACT_CALL_BACK: case QM_ACT_WALK_IN:
        if ((err = s_can_call(w, reason)) != QM_OK)
            return err;
        break;
    default:
        break;
    }
    switch (a->kind) {
    case QM_ACT_RECALL: case QM_ACT_START: case QM_ACT_FINISH:
    case QM_ACT_NO_SHOW: case QM_ACT_TRANSFER: case QM_ACT_PARK:
        if (!ct)
            return qm_refuse(reason, QM_ERR_NO_CURRENT, "window %d has no current ticket",
                             w->number);
        s_ev_ticket(&ev, self, w->current);
        break;
    default:
        break;
    }

    switch (a->kind) {
    case QM_ACT_OPEN:
        if (w->state != QM_WINDOW_CLOSED)
            return qm_refuse(reason, QM_ERR_WINDOW_STATE, "window %d is already %s", w->number,
                             qm_window_state_name(w->state));
        s_emit(&batch, &ev);
        break;
    case QM_ACT_CLOSE:
    case QM_ACT_LOGOUT:
        if (a->kind == QM_ACT_CLOSE && w->state == QM_WINDOW_CLOSED)
            return qm_refuse(reason, QM_ERR_WINDOW_STATE, "window %d is already closed", w->number);
        if (a->kind == QM_ACT_LOGOUT && w->staff_id == 0)
            return qm_refuse(reason, QM_ERR_NO_STAFF, "nobody is logged in at window %d", w->number);
        if (ct && ct->state == QM_TICKET_SERVING)
            return qm_refuse(reason, QM_ERR_BUSY, "window %d is serving %s: finish, transfer or "
                             "park it first", w->number, ct->number);
        s_emit_release(&batch, w, a->kind == QM_ACT_CLOSE ? "window closed" : "logout");
        ev.kind = a->kind == QM_ACT_CLOSE ? QM_EV_WINDOW_CLOSED : QM_EV_STAFF_LOGOUT;
        text_copy(ev.detail, sizeof ev.detail, a->kind == QM_ACT_CLOSE ? "" : "logout");
        s_emit(&batch, &ev);
        break;
    case QM_ACT_PAUSE:
        if (!s_text_ok(a->reason, QM_DETAIL_SIZE))
            return qm_refuse(reason, QM_ERR_INVALID, "a pause needs a reason of 1..%d bytes",
                             QM_DETAIL_SIZE - 1);
        if (w->state != QM_WINDOW_OPEN)
            return qm_refuse(reason, w->state == QM_WINDOW_CLOSED ? QM_ERR_WINDOW_CLOSED
                                                                  : QM_ERR_WINDOW_STATE,
                             "window %d is %s", w->number, qm_window_state_name(w->state));
        ev.kind = QM_EV_WINDOW_PAUSED;
        text_copy(ev.detail, sizeof ev.detail, a->reason);
        s_emit(&batch, &ev);
        break;
    case QM_ACT_RESUME:
        if (w->state != QM_WINDOW_PAUSED)
            return qm_refuse(reason, QM_ERR_WINDOW_STATE, "window %d is %s, not paused",
                             w->number, qm_window_state_name(w->state));
        ev.kind = QM_EV_WINDOW_RESUMED;
        s_emit(&batch, &ev);
        break;
    case QM_ACT_LOGIN:
        if ((err = s_act_login(&batch, w, a->staff_id, reason)) != QM_OK)
            return err;
        break;
    case QM_ACT_CALL_NEXT: {
        qm_via_t via = QM_VIA_NONE;
        size_t t = qm_int_pick(self, w, w->rotation, now_ms, qm_int_heap_top, NULL, &via);
        if (t == NPOS)
            return qm_refuse(reason, QM_ERR_NO_TICKET, "no ticket is waiting for window %d",
                             w->number);
        s_emit_finish_current(&batch, w);
        s_emit_called(&batch, w, t, via);
        break;
    }
    case QM_ACT_CALL_TICKET:
        if ((err = s_act_call_ticket(&batch, w, a->ticket, reason)) != QM_OK)
            return err;
        break;
    case QM_ACT_RECALL:
        if (ct->state != QM_TICKET_CALLED)
            return qm_refuse(reason, QM_ERR_TICKET_STATE, "%s is already being served",
                             ct->number);
        if (ct->recall >= self->settings.recall_limit)
            return qm_refuse(reason, QM_ERR_RECALL_LIMIT, "%s was recalled %d times (limit %d): "
                             "mark it no-show", ct->number, ct->recall,
                             self->settings.recall_limit);
        ev.kind = QM_EV_RECALLED;
        ev.recall = ct->recall + 1;
        s_emit(&batch, &ev);
        break;
    case QM_ACT_START:
        if (ct->state != QM_TICKET_CALLED)
            return qm_refuse(reason, QM_ERR_TICKET_STATE, "%s is already being served",
                             ct->number);
        ev.kind = QM_EV_STARTED;
        s_emit(&batch, &ev);
        break;
    case QM_ACT_FINISH:
        s_emit_finish(&batch, w, w->current, "");
        break;
    case QM_ACT_NO_SHOW:
        if (ct->state != QM_TICKET_CALLED)
            return qm_refuse(reason, QM_ERR_TICKET_STATE, "%s is being served: finish it instead",
                             ct->number);
        ev.kind = QM_EV_NO_SHOW;
        s_emit(&batch, &ev);
        break;
    case QM_ACT_TRANSFER:
        if ((err = s_act_transfer(&batch, w, a, reason)) != QM_OK)
            return err;
        break;
    case QM_ACT_PARK:
        ev.kind = QM_EV_PARKED;
        s_emit(&batch, &ev);
        break;
    case QM_ACT_CALL_BACK:
        if ((err = s_act_call_back(&batch, w, a->ticket, reason)) != QM_OK)
            return err;
        break;
    case QM_ACT_WALK_IN:
        if ((err = s_act_walk_in(&batch, w, a, reason)) != QM_OK)
            return err;
        break;
    }
    return s_done(&batch, reason);
}

qm_err_t qm_window_set(const qm_branch_t *self, const qm_window_cfg_t *window,
                       const char *actor, int64_t now_ms, qm_journal_t *journal,
                       char reason[QM_REASON_SIZE])
{
    if (!self || !window || !journal)
        return qm_refuse(reason, QM_ERR_INVALID, "missing branch, window or journal");
    if (!s_text_ok(actor, QM_ACTOR_SIZE))
        return qm_refuse(reason, QM_ERR_INVALID, "actor must be 1..%d bytes", QM_ACTOR_SIZE - 1);
    size_t services[QM_PROFILE_MAX];
    qm_err_t err = qm_int_window_check(self, window, services, reason);
    if (err != QM_OK)
        return err;
    qm_event_t set, prof;
    s_ev_init(&prof, QM_EV_PROFILE_SET);
    prof.window_id = window->id;
    prof.window_no = window->number;
    if (qm_profile_format(&window->profile, prof.detail, sizeof prof.detail) != 0)
        return qm_refuse(reason, QM_ERR_INVALID, "profile text longer than %d bytes",
                         QM_DETAIL_SIZE - 1);
    s_ev_init(&set, QM_EV_WINDOW_SET);
    set.window_id = window->id;
    set.window_no = window->number;
    text_copy(set.detail, sizeof set.detail, window->name);
    const qm_int_window_t *w = qm_int_window_find(self, window->id);
    s_batch_t batch = { self, journal, journal->count, now_ms, actor, false };
    char old[QM_DETAIL_SIZE] = "";
    if (w) {
        set.staff_id = prof.staff_id = w->staff_id;
        qm_profile_format(&w->profile, old, sizeof old);
    }
    if (!w || w->number != window->number || strcmp(w->name, window->name) != 0)
        s_emit(&batch, &set);
    if (!w || strcmp(old, prof.detail) != 0)
        s_emit(&batch, &prof);
    return s_done(&batch, reason);
}

qm_err_t qm_day_end(const qm_branch_t *self, int new_day, const char *actor, int64_t now_ms,
                    qm_journal_t *journal, char reason[QM_REASON_SIZE])
{
    if (!self || !journal)
        return qm_refuse(reason, QM_ERR_INVALID, "missing branch or journal");
    if (!s_text_ok(actor, QM_ACTOR_SIZE))
        return qm_refuse(reason, QM_ERR_INVALID, "actor must be 1..%d bytes", QM_ACTOR_SIZE - 1);
    if (new_day <= self->day || new_day > 99991231)
        return qm_refuse(reason, QM_ERR_WRONG_DAY, "new day %d is not after the branch's day %d",
                         new_day, self->day);
    s_batch_t batch = { self, journal, journal->count, now_ms, actor, false };
    qm_event_t ev;
    for (size_t t = 0; t < self->ticket_count; t++) {
        const qm_int_ticket_t *ticket = &self->tickets[t];
        if (!qm_int_live(ticket->state))
            continue;
        s_ev_init(&ev, QM_EV_ABANDONED);
        s_ev_ticket(&ev, self, t);
        const qm_int_window_t *w = qm_int_window_find(self, ticket->window_id);
        if (w && ticket->state != QM_TICKET_WAITING)
            s_ev_window(&ev, w);
        snprintf(ev.detail, sizeof ev.detail, "day end: was %s",
                 qm_ticket_state_name(ticket->state));
        s_emit(&batch, &ev);
    }
    for (size_t i = 0; i < self->window_count; i++) {
        const qm_int_window_t *w = self->windows[i];
        s_ev_init(&ev, QM_EV_STAFF_LOGOUT);
        s_ev_window(&ev, w);
        snprintf(ev.detail, sizeof ev.detail, "day end");
        if (w->staff_id)
            s_emit(&batch, &ev);
        ev.kind = QM_EV_WINDOW_CLOSED;
        ev.seq = 0;
        if (w->state != QM_WINDOW_CLOSED)
            s_emit(&batch, &ev);
    }
    s_ev_init(&ev, QM_EV_DAY_START);
    ev.day = new_day;
    s_emit(&batch, &ev);
    return s_done(&batch, reason);
}
