/*  qm_model: branch lifecycle, config, journal and apply (the state changes) (qm_model.h). */
#include "qm_model_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/grow.h"
#include "eqms/text.h"

/* ---- journal ------------------------------------------------------------ */

qm_journal_t *qm_journal_new(void)
{
    return calloc(1, sizeof(qm_journal_t));
}

void qm_journal_destroy(qm_journal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->items);
    free(*self_p);
    *self_p = NULL;
}

size_t qm_journal_count(const qm_journal_t *self)
{
    return self ? self->count : 0;
}

const qm_event_t *qm_journal_at(const qm_journal_t *self, size_t i)
{
    return self && i < self->count ? &self->items[i] : NULL;
}

void qm_journal_clear(qm_journal_t *self)
{
    if (self)
        self->count = 0;
}

int qm_journal_push(qm_journal_t *self, const qm_event_t *event)
{
    if (!self || !event)
        return -1;
    qm_event_t *grown = grow_room(self->items, self->count, &self->cap, sizeof *grown, 64);
    if (!grown)
        return -1;
    self->items = grown;
    self->items[self->count++] = *event;
    return 0;
}

/* ---- heaps ---------------------------------------------------------------- */

bool qm_int_before(const qm_branch_t *b, const qm_int_heap_t *h, size_t x, size_t y)
{
    const qm_int_ticket_t *tx = &b->tickets[x], *ty = &b->tickets[y];
    if (h->by_appointment && tx->appointment_ms != ty->appointment_ms)
        return tx->appointment_ms < ty->appointment_ms;
    if (tx->original_ms != ty->original_ms)
        return tx->original_ms < ty->original_ms;
    return x < y;
}

static void s_heap_set(qm_branch_t *b, qm_int_heap_t *h, size_t pos, size_t t)
{
    h->items[pos] = t;
    b->tickets[t].hpos = pos;
}

static void s_heap_up(qm_branch_t *b, qm_int_heap_t *h, size_t pos)
{
    size_t t = h->items[pos];
    while (pos > 0) {
        size_t parent = (pos - 1) / 2;
        if (!qm_int_before(b, h, t, h->items[parent]))
            break;
        s_heap_set(b, h, pos, h->items[parent]);
        pos = parent;
    }
    s_heap_set(b, h, pos, t);
}

static void s_heap_down(qm_branch_t *b, qm_int_heap_t *h, size_t pos)
{
    size_t t = h->items[pos];
    for (;;) {
        size_t child = 2 * pos + 1;
        if (child >= h->count)
            break;
        if (child + 1 < h->count && qm_int_before(b, h, h->items[child + 1], h->items[child]))
            child++;
        if (!qm_int_before(b, h, h->items[child], t))
            break;
        s_heap_set(b, h, pos, h->items[child]);
        pos = child;
    }
    s_heap_set(b, h, pos, t);
}

static int s_heap_reserve(qm_int_heap_t *h)
{
    size_t *grown = grow_room(h->items, h->count, &h->cap, sizeof *grown, 16);
    if (!grown)
        return -1;
    h->items = grown;
    return 0;
}

/* Pushes ticket t; the caller has reserved room. */
static void s_heap_push(qm_branch_t *b, qm_int_heap_t *h, size_t t)
{
    b->tickets[t].heap = h;
    h->items[h->count++] = t;
    s_heap_up(b, h, h->count - 1);
}

/* Takes ticket t out of whatever heap holds it. */
static void s_heap_remove(qm_branch_t *b, size_t t)
{
    qm_int_heap_t *h = b->tickets[t].heap;
    if (!h)
        return;
    size_t pos = b->tickets[t].hpos;
    size_t last = h->items[--h->count];
    b->tickets[t].heap = NULL;
    if (pos < h->count) {
        s_heap_set(b, h, pos, last);
        s_heap_up(b, h, pos);
        s_heap_down(b, h, b->tickets[last].hpos);
    }
}

/* ---- id index ------------------------------------------------------------- */

static uint64_t s_hash(const char *text)
{
    uint64_t hash = 1469598103934665603ULL;
    for (; *text; text++)
        hash = (hash ^ (unsigned char) *text) * 1099511628211ULL;
    return hash;
}

size_t qm_int_map_find(const qm_branch_t *b, const char *id)
{
    if (!b->map_cap)
        return NPOS;
    for (size_t i = s_hash(id) & (b->map_cap - 1);; i = (i + 1) & (b->map_cap - 1)) {
        if (b->map[i] == 0)
            return NPOS;
        if (strcmp(b->tickets[b->map[i] - 1].id, id) == 0)
            return b->map[i] - 1;
    }
}

static void s_map_insert(qm_branch_t *b, size_t t)
{
    size_t i = s_hash(b->tickets[t].id) & (b->map_cap - 1);
    while (b->map[i])
        i = (i + 1) & (b->map_cap - 1);
    b->map[i] = t + 1;
}

/* Room for one more ticket in the array and the map. 0 or -1. */
static int s_ticket_reserve(qm_branch_t *b)
{
    qm_int_ticket_t *grown = grow_room(b->tickets, b->ticket_count, &b->ticket_cap, sizeof *grown,
                                       256);
    if (!grown)
        return -1;
    b->tickets = grown;
    if ((b->ticket_count + 1) * 2 > b->map_cap) {
        size_t cap = b->map_cap ? b->map_cap * 2 : 512;
        size_t *map = calloc(cap, sizeof *map);
        if (!map)
            return -1;
        free(b->map);
        b->map = map;
        b->map_cap = cap;
        for (size_t t = 0; t < b->ticket_count; t++)
            s_map_insert(b, t);
    }
    return 0;
}

/* The service heap a waiting (untargeted) ticket belongs in. */
static qm_int_heap_t *s_heap_for(qm_branch_t *b, const qm_int_ticket_t *t)
{
    qm_int_service_t *s = &b->services[t->service];
    if (t->klass == QM_CLASS_GREEN)
        return &s->heaps[H_GREEN];
    if (t->appointment_ms > 0)
        return &s->heaps[H_APPT];
    return &s->heaps[t->klass == QM_CLASS_VIP ? H_VIP : H_ORD];
}

/* The heap a waiting ticket goes into by its target; NULL out of memory. */
static qm_int_heap_t *s_heap_target(qm_branch_t *b, const qm_int_ticket_t *t)
{
    if (t->target == QM_TARGET_WINDOW) {
        qm_int_window_t *w = qm_int_window_find(b, t->target_id);
        return w ? &w->targeted : NULL;
    }
    if (t->target == QM_TARGET_STAFF) {
        qm_int_pool_t *pool = qm_int_pool_find(b, t->target_id);
        if (pool)
            return &pool->heap;
        qm_int_pool_t **grown = grow_room(b->pools, b->pool_count, &b->pool_cap, sizeof *grown,
                                          16);
        if (!grown)
            return NULL;
        b->pools = grown;
        pool = calloc(1, sizeof *pool);
        if (!pool)
            return NULL;
        pool->staff_id = t->target_id;
        b->pools[b->pool_count++] = pool;
        return &pool->heap;
    }
    return s_heap_for(b, t);
}

/* ---- lifecycle -------------------------------------------------------------- */

void qm_settings_default(qm_settings_t *settings)
{
    memset(settings, 0, sizeof *settings);
    settings->recall_limit = 3;
    settings->default_service_s = 300;
    qm_hall_cfg_default(&settings->hall);
}

static void s_window_free(qm_int_window_t *w)
{
    if (w) {
        free(w->targeted.items);
        free(w->parked);
        free(w);
    }
}

/* Checks a window's number and name, and maps its profile's services. */
qm_err_t qm_int_window_check(const qm_branch_t *b, const qm_window_cfg_t *cfg,
                               size_t services[QM_PROFILE_MAX], char reason[QM_REASON_SIZE])
{
    if (!cfg || cfg->id <= 0)
        return qm_refuse(reason, QM_ERR_INVALID, "window id must be positive");
    if (cfg->number < 1 || cfg->number > 9999)
        return qm_refuse(reason, QM_ERR_INVALID, "window %lld: number %d is not 1..9999",
                         (long long) cfg->id, cfg->number);
    if (!memchr(cfg->name, '\0', sizeof cfg->name))
        return qm_refuse(reason, QM_ERR_INVALID, "window %lld: name not terminated",
                         (long long) cfg->id);
    for (size_t i = 0; i < b->window_count; i++)
        if (b->windows[i]->number == cfg->number && b->windows[i]->id != cfg->id)
            return qm_refuse(reason, QM_ERR_INVALID, "window number %d is taken by window %lld",
                             cfg->number, (long long) b->windows[i]->id);
    if (qm_profile_check(&cfg->profile, reason) != 0)
        return QM_ERR_INVALID;
    for (size_t i = 0; i < cfg->profile.service_count; i++) {
        services[i] = qm_int_service_find(b, cfg->profile.services[i]);
        if (services[i] == NPOS)
            return qm_refuse(reason, QM_ERR_UNKNOWN_SERVICE,
                             "window %lld: profile lists unknown service %lld",
                             (long long) cfg->id, (long long) cfg->profile.services[i]);
    }
    return QM_OK;
}

/* Adds a closed window (cfg checked). 0 or -1. */
static int s_window_add(qm_branch_t *b, const qm_window_cfg_t *cfg,
                        const size_t services[QM_PROFILE_MAX])
{
    qm_int_window_t **grown = grow_room(b->windows, b->window_count, &b->window_cap, sizeof *grown,
                                        16);
    if (!grown)
        return -1;
    b->windows = grown;
    qm_int_window_t *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->id = cfg->id;
    w->number = cfg->number;
    text_copy(w->name, sizeof w->name, cfg->name);
    w->current = NPOS;
    w->profile = cfg->profile;
    memcpy(w->services, services, sizeof w->services);
    b->windows[b->window_count++] = w;
    return 0;
}

qm_branch_t *qm_branch_new(const qm_config_t *config, int day, char reason[QM_REASON_SIZE])
{
    qm_branch_t *self = NULL;
    if (!config || day < 19000101 || day > 99991231) {
        qm_refuse(reason, QM_ERR_INVALID, "no config or day %d is not yyyymmdd", day);
        goto err;
    }
    const qm_settings_t *set = &config->settings;
    if (set->recall_limit < 0 || set->recall_limit > 100 || set->default_service_s < 1
        || set->default_service_s > 86400) {
        qm_refuse(reason, QM_ERR_INVALID, "settings: recall limit 0..100, service time 1..86400 s");
        goto err;
    }
    if (config->queue_count == 0 || config->service_count == 0 || !config->queues
        || !config->services || (config->window_count && !config->windows)) {
        qm_refuse(reason, QM_ERR_INVALID, "config needs at least one queue and one service");
        goto err;
    }
    self = calloc(1, sizeof *self);
    if (!self)
        goto oom;
    self->settings = *set;
    self->day = day;
    self->hall = qm_hall_new(&set->hall);
    if (!self->hall) {
        qm_refuse(reason, QM_ERR_INVALID, "settings: bad hall display or announcement values");
        goto err;
    }
    self->queues = calloc(config->queue_count, sizeof *self->queues);
    self->services = calloc(config->service_count, sizeof *self->services);
    if (!self->queues || !self->services)
        goto oom;
    for (size_t i = 0; i < config->queue_count; i++) {
        qm_int_queue_t *q = &self->queues[self->queue_count];
        q->cfg = config->queues[i];
        if (q->cfg.number_max == 0)
            q->cfg.number_max = 999;
        if (q->cfg.id <= 0 || !memchr(q->cfg.prefix, '\0', sizeof q->cfg.prefix)
            || !qm_prefix_valid(q->cfg.prefix) || q->cfg.number_max < 1
            || q->cfg.number_max > 9999) {
            qm_refuse(reason, QM_ERR_INVALID, "queue %lld: id > 0, prefix A-Z (1..3), "
                      "number_max 1..9999", (long long) q->cfg.id);
            goto err;
        }
        for (size_t j = 0; j < self->queue_count; j++)
            if (self->queues[j].cfg.id == q->cfg.id
                || strcmp(self->queues[j].cfg.prefix, q->cfg.prefix) == 0) {
                qm_refuse(reason, QM_ERR_INVALID, "queue %lld: id or prefix repeated",
                          (long long) q->cfg.id);
                goto err;
            }
        size_t n = (size_t) q->cfg.number_max + 1;
        q->live = malloc(n * sizeof *q->live);
        q->latest = malloc(n * sizeof *q->latest);
        self->queue_count++;
        if (!q->live || !q->latest)
            goto oom;
        for (size_t k = 0; k < n; k++)
            q->live[k] = q->latest[k] = NPOS;
    }
    for (size_t i = 0; i < config->service_count; i++) {
        qm_int_service_t *s = &self->services[i];
        s->cfg = config->services[i];
        s->queue = qm_int_queue_find(self, s->cfg.queue_id);
        if (s->cfg.id <= 0 || qm_int_service_find(self, s->cfg.id) != NPOS || s->queue == NPOS
            || !memchr(s->cfg.code, '\0', sizeof s->cfg.code)
            || !memchr(s->cfg.name, '\0', sizeof s->cfg.name)) {
            qm_refuse(reason, QM_ERR_INVALID, "service %lld: id > 0 and unique, known queue, "
                      "terminated code and name", (long long) s->cfg.id);
            goto err;
        }
        s->heaps[H_APPT].by_appointment = true;
        s->avg_ms = (int64_t) set->default_service_s * 1000;
        self->service_count++;
    }
    for (size_t i = 0; i < config->window_count; i++) {
        size_t services[QM_PROFILE_MAX];
        if (qm_int_window_find(self, config->windows[i].id)) {
            qm_refuse(reason, QM_ERR_INVALID, "window %lld repeated",
                      (long long) config->windows[i].id);
            goto err;
        }
        if (qm_int_window_check(self, &config->windows[i], services, reason) != QM_OK)
            goto err;
        if (s_window_add(self, &config->windows[i], services) != 0)
            goto oom;
    }
    return self;
oom:
    qm_refuse(reason, QM_ERR_NO_MEMORY, "out of memory");
err:
    qm_branch_destroy(&self);
    return NULL;
}

void qm_branch_destroy(qm_branch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    qm_branch_t *self = *self_p;
    for (size_t i = 0; i < self->queue_count; i++) {
        free(self->queues[i].live);
        free(self->queues[i].latest);
    }
    for (size_t i = 0; i < self->service_count; i++)
        for (int h = 0; h < H_COUNT; h++)
            free(self->services[i].heaps[h].items);
    for (size_t i = 0; i < self->window_count; i++)
        s_window_free(self->windows[i]);
    for (size_t i = 0; i < self->pool_count; i++) {
        free(self->pools[i]->heap.items);
        free(self->pools[i]);
    }
    free(self->queues);
    free(self->services);
    free(self->windows);
    free(self->pools);
    free(self->tickets);
    free(self->map);
    qm_hall_destroy(&self->hall);
    free(self);
    *self_p = NULL;
}

/* ---- apply -------------------------------------------------------------- */

bool qm_int_live(qm_ticket_state_t state)
{
    return state == QM_TICKET_WAITING || state == QM_TICKET_CALLED
           || state == QM_TICKET_SERVING || state == QM_TICKET_PARKED;
}

/* Creates the ticket of an ISSUED / WALK_IN event; NPOS if it does not fit. */
static size_t s_apply_create(qm_branch_t *b, const qm_event_t *ev)
{
    size_t service = qm_int_service_find(b, ev->service_id);
    if (service == NPOS || !id_valid(ev->ticket_id) || qm_int_map_find(b, ev->ticket_id) != NPOS
        || (unsigned) ev->klass >= QM_CLASS_COUNT)
        return NPOS;
    qm_int_queue_t *q = &b->queues[b->services[service].queue];
    char number[QM_NUMBER_SIZE];
    if (ev->queue_id != q->cfg.id
        || qm_number_format(q->cfg.prefix, q->cfg.number_max, ev->number_seq, number) != 0
        || strcmp(number, ev->number) != 0 || q->live[ev->number_seq] != NPOS
        || s_ticket_reserve(b) != 0)
        return NPOS;
    size_t t = b->ticket_count++;
    qm_int_ticket_t *ticket = &b->tickets[t];
    memset(ticket, 0, sizeof *ticket);
    text_copy(ticket->id, sizeof ticket->id, ev->ticket_id);
    text_copy(ticket->number, sizeof ticket->number, ev->number);
    text_copy(ticket->phone, sizeof ticket->phone, ev->phone);
    ticket->number_seq = ev->number_seq;
    ticket->queue = b->services[service].queue;
    ticket->service = service;
    ticket->klass = ev->klass;
    ticket->appointment_ms = ev->appointment_ms;
    ticket->issued_ms = ev->at_ms;
    ticket->original_ms = ev->original_ms ? ev->original_ms : ev->at_ms;
    s_map_insert(b, t);
    q->live[ev->number_seq] = q->latest[ev->number_seq] = t;
    q->last_number = ev->number_seq;
    return t;
}

/* Puts ticket t back into waiting (its heap by target). -1 out of memory. */
static int s_enqueue(qm_branch_t *b, size_t t)
{
    qm_int_heap_t *h = s_heap_target(b, &b->tickets[t]);
    if (!h || s_heap_reserve(h) != 0)
        return -1;
    b->tickets[t].state = QM_TICKET_WAITING;
    s_heap_push(b, h, t);
    return 0;
}

/* Takes ticket t off its window (current or parked). */
static void s_detach(qm_branch_t *b, size_t t)
{
    qm_int_ticket_t *ticket = &b->tickets[t];
    qm_int_window_t *w = qm_int_window_find(b, ticket->window_id);
    if (!w)
        return;
    if (w->current == t) {
        w->current = NPOS;
        qm_hall_clear_current(b->hall, w->number);
    }
    for (size_t i = 0; i < w->parked_count; i++)
        if (w->parked[i] == t) {
            memmove(&w->parked[i], &w->parked[i + 1],
                    (w->parked_count - i - 1) * sizeof *w->parked);
            w->parked_count--;
            break;
        }
}

/* Ends ticket t in a terminal state. */
static void s_close_ticket(qm_branch_t *b, size_t t, qm_ticket_state_t state, int64_t at)
{
    qm_int_ticket_t *ticket = &b->tickets[t];
    if (ticket->state == QM_TICKET_WAITING)
        s_heap_remove(b, t);
    else
        s_detach(b, t);
    ticket->state = state;
    ticket->finished_ms = at;
    qm_int_queue_t *q = &b->queues[ticket->queue];
    if (q->live[ticket->number_seq] == t)
        q->live[ticket->number_seq] = NPOS;
}

static int s_apply_window_set(qm_branch_t *b, const qm_event_t *ev)
{
    qm_window_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.id = ev->window_id;
    cfg.number = ev->window_no;
    size_t len = strnlen(ev->detail, sizeof ev->detail);
    if (len >= sizeof cfg.name)
        return -1;
    memcpy(cfg.name, ev->detail, len);
    qm_int_window_t *w = qm_int_window_find(b, ev->window_id);
    if (w)
        cfg.profile = w->profile;
    else
        qm_profile_init(&cfg.profile);
    size_t services[QM_PROFILE_MAX];
    if (qm_int_window_check(b, &cfg, services, NULL) != QM_OK)
        return -1;
    if (!w)
        return s_window_add(b, &cfg, services);
    if (w->number != cfg.number && w->current != NPOS) {   /* the display follows */
        qm_hall_clear_current(b->hall, w->number);
        (void) qm_hall_set_current(b->hall, cfg.number, b->tickets[w->current].number);
    }
    w->number = cfg.number;
    text_copy(w->name, sizeof w->name, cfg.name);
    return 0;
}

static int s_apply_profile_set(qm_branch_t *b, const qm_event_t *ev, qm_int_window_t *w)
{
    qm_window_cfg_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.id = w->id;
    cfg.number = w->number;
    text_copy(cfg.name, sizeof cfg.name, w->name);
    size_t services[QM_PROFILE_MAX];
    if (qm_profile_parse(ev->detail, &cfg.profile, NULL) != 0
        || qm_int_window_check(b, &cfg, services, NULL) != QM_OK)
        return -1;
    w->profile = cfg.profile;
    memcpy(w->services, services, sizeof w->services);
    memset(w->rotation, 0, sizeof w->rotation);
    return 0;
}

static int s_apply_day_start(qm_branch_t *b, const qm_event_t *ev)
{
    if (ev->day < b->day || ev->day > 99991231)
        return -1;
    for (size_t t = 0; t < b->ticket_count; t++)
        if (qm_int_live(b->tickets[t].state))
            return -1;
    b->day = ev->day;
    b->ticket_count = 0;
    if (b->map)
        memset(b->map, 0, b->map_cap * sizeof *b->map);
    for (size_t i = 0; i < b->queue_count; i++) {
        qm_int_queue_t *q = &b->queues[i];
        q->last_number = 0;
        for (int n = 0; n <= q->cfg.number_max; n++)
            q->live[n] = q->latest[n] = NPOS;
    }
    for (size_t i = 0; i < b->window_count; i++) {
        memset(b->windows[i]->rotation, 0, sizeof b->windows[i]->rotation);
        b->windows[i]->since_ms = 0;
    }
    qm_hall_reset(b->hall);
    return 0;
}

/* What a window's `since` follows: its state, teller and current ticket,
 * as they were before an event. */
typedef struct {
    qm_int_window_t *w;            /* NULL: none */
    qm_window_state_t state;
    int64_t staff_id;
    size_t current;
} s_look_t;

static s_look_t s_look(qm_int_window_t *w)
{
    s_look_t look = { w, QM_WINDOW_CLOSED, 0, NPOS };
    if (w) {
        look.state = w->state;
        look.staff_id = w->staff_id;
        look.current = w->current;
    }
    return look;
}

/* Moves the window's since to `at` if the event changed what it follows. */
static void s_look_since(const s_look_t *look, int64_t at)
{
    qm_int_window_t *w = look->w;
    if (w && (w->state != look->state || w->staff_id != look->staff_id
              || w->current != look->current))
        w->since_ms = at;
}

int qm_apply(qm_branch_t *self, const qm_event_t *ev)
{
    if (!self || !ev || ev->seq <= self->last_seq)
        return -1;
    qm_branch_t *b = self;
    qm_int_window_t *w = qm_int_window_find(b, ev->window_id);
    size_t t = NPOS;
    qm_int_ticket_t *ticket = NULL;
    if (ev->kind != QM_EV_ISSUED && ev->kind != QM_EV_WALK_IN && ev->ticket_id[0]) {
        t = qm_int_map_find(b, ev->ticket_id);
        if (t == NPOS)
            return -1;
        ticket = &b->tickets[t];
    }
    /* the window's current ticket, for events that act on it */
    bool on_current = ticket && w && w->current == t;
    /* the windows an event can change: its own and the ticket's */
    s_look_t looks[2] = { s_look(w),
                          s_look(ticket ? qm_int_window_find(b, ticket->window_id) : NULL) };

    switch (ev->kind) {
    case QM_EV_ISSUED: {
        size_t service = qm_int_service_find(b, ev->service_id);
        if (ev->day != b->day || service == NPOS)
            return -1;
        for (int h = 0; h < H_COUNT; h++)     /* so that s_enqueue cannot fail */
            if (s_heap_reserve(&b->services[service].heaps[h]) != 0)
                return -1;
        t = s_apply_create(b, ev);
        if (t == NPOS || s_enqueue(b, t) != 0)
            return -1;
        break;
    }
    case QM_EV_WALK_IN:
        if (!w || w->current != NPOS || ev->day != b->day)
            return -1;
        t = s_apply_create(b, ev);
        if (t == NPOS)
            return -1;
        ticket = &b->tickets[t];
        ticket->state = QM_TICKET_SERVING;
        ticket->window_id = w->id;
        ticket->staff_id = w->staff_id;
        ticket->called_ms = ticket->started_ms = ev->at_ms;
        w->current = t;
        (void) qm_hall_set_current(b->hall, w->number, ticket->number);
        break;
    case QM_EV_CALLED:
        if (!ticket || !w || w->current != NPOS)
            return -1;
        if (ev->via == QM_VIA_CALL_BACK) {
            if (ticket->state != QM_TICKET_PARKED || ticket->window_id != w->id)
                return -1;
            s_detach(b, t);
        } else {
            if (ticket->state != QM_TICKET_WAITING)
                return -1;
            s_heap_remove(b, t);
        }
        ticket->state = QM_TICKET_CALLED;
        ticket->window_id = w->id;
        ticket->staff_id = w->staff_id;
        ticket->called_ms = ev->at_ms;
        ticket->started_ms = 0;
        ticket->recall = 0;
        ticket->target = QM_TARGET_NONE;
        ticket->target_id = 0;
        w->current = t;
        if (ev->via == QM_VIA_STRATEGY && ticket->klass != QM_CLASS_GREEN)
            qm_rotation_note(w->profile.weights, w->rotation, (int) ticket->klass);
        /* the display is advisory: out of memory there leaves the state whole */
        (void) qm_hall_called(b->hall, ticket->id, ticket->number, w->number, ev->at_ms);
        break;
    case QM_EV_RECALLED:
        if (!on_current || ticket->state != QM_TICKET_CALLED || ev->recall != ticket->recall + 1)
            return -1;
        ticket->recall = ev->recall;
        (void) qm_hall_called(b->hall, ticket->id, ticket->number, w->number, ev->at_ms);
        break;
    case QM_EV_STARTED:
        if (!on_current || ticket->state != QM_TICKET_CALLED)
            return -1;
        ticket->state = QM_TICKET_SERVING;
        ticket->started_ms = ev->at_ms;
        break;
    case QM_EV_FINISHED:
    case QM_EV_NO_SHOW:
        if (!on_current || (ev->kind == QM_EV_NO_SHOW && ticket->state != QM_TICKET_CALLED))
            return -1;
        if (ev->kind == QM_EV_FINISHED) {
            if (ev->avg_ms <= 0)
                return -1;
            b->services[ticket->service].avg_ms = ev->avg_ms;
        }
        s_close_ticket(b, t, ev->kind == QM_EV_FINISHED ? QM_TICKET_FINISHED
                                                          : QM_TICKET_NO_SHOW, ev->at_ms);
        break;
    case QM_EV_TRANSFERRED: {
        if (!on_current)
            return -1;
        size_t service = qm_int_service_find(b, ev->service_id);
        if (service == NPOS
            || (ev->target == QM_TARGET_WINDOW && !qm_int_window_find(b, ev->target_id))
            || (ev->target == QM_TARGET_STAFF && ev->target_id <= 0)
            || (ev->target != QM_TARGET_SERVICE && ev->target != QM_TARGET_WINDOW
                && ev->target != QM_TARGET_STAFF))
            return -1;
        qm_int_ticket_t saved = *ticket;
        ticket->service = service;
        /* The transfer record stays on the ticket while it waits (a service
         * transfer waits in its new service's queue like any ticket). */
        ticket->target = ev->target;
        ticket->target_id = ev->target_id;
        if (s_enqueue(b, t) != 0) {
            *ticket = saved;
            return -1;
        }
        w->current = NPOS;
        qm_hall_clear_current(b->hall, w->number);
        ticket->issued_ms = ev->at_ms;
        ticket->recall = 0;
        ticket->started_ms = 0;
        break;
    }
    case QM_EV_PARKED:
        if (!on_current)
            return -1;
        size_t *grown = grow_room(w->parked, w->parked_count, &w->parked_cap, sizeof *grown, 8);
        if (!grown)
            return -1;
        w->parked = grown;
        w->parked[w->parked_count++] = t;
        w->current = NPOS;
        qm_hall_clear_current(b->hall, w->number);
        ticket->state = QM_TICKET_PARKED;
        break;
    case QM_EV_RETURNED:
        if (!on_current || ticket->state != QM_TICKET_CALLED || s_enqueue(b, t) != 0)
            return -1;
        w->current = NPOS;
        qm_hall_clear_current(b->hall, w->number);
        ticket->issued_ms = ev->at_ms;
        ticket->recall = 0;
        break;
    case QM_EV_ABANDONED:
        if (!ticket || !qm_int_live(ticket->state))
            return -1;
        s_close_ticket(b, t, QM_TICKET_ABANDONED, ev->at_ms);
        break;
    case QM_EV_WINDOW_OPENED:
        if (!w || w->state != QM_WINDOW_CLOSED)
            return -1;
        w->state = QM_WINDOW_OPEN;
        break;
    case QM_EV_WINDOW_CLOSED:
        if (!w || w->state == QM_WINDOW_CLOSED || w->current != NPOS)
            return -1;
        w->state = QM_WINDOW_CLOSED;
        w->pause_reason[0] = '\0';
        break;
    case QM_EV_WINDOW_PAUSED:
        if (!w || w->state != QM_WINDOW_OPEN)
            return -1;
        w->state = QM_WINDOW_PAUSED;
        text_copy(w->pause_reason, sizeof w->pause_reason, ev->detail);
        break;
    case QM_EV_WINDOW_RESUMED:
        if (!w || w->state != QM_WINDOW_PAUSED)
            return -1;
        w->state = QM_WINDOW_OPEN;
        w->pause_reason[0] = '\0';
        break;
    case QM_EV_STAFF_LOGIN:
        if (!w || w->staff_id != 0 || ev->staff_id <= 0 || qm_int_window_of_staff(b, ev->staff_id))
            return -1;
        w->staff_id = ev->staff_id;
        break;
    case QM_EV_STAFF_LOGOUT:
        if (!w || w->staff_id == 0 || w->staff_id != ev->staff_id || w->current != NPOS)
            return -1;
        w->staff_id = 0;
        break;
    case QM_EV_WINDOW_SET:
        if (s_apply_window_set(b, ev) != 0)
            return -1;
        break;
    case QM_EV_PROFILE_SET:
        if (!w || s_apply_profile_set(b, ev, w) != 0)
            return -1;
        break;
    case QM_EV_DAY_START:
        if (s_apply_day_start(b, ev) != 0)
            return -1;
        break;
    default:
        return -1;
    }
    for (size_t i = 0; i < sizeof looks / sizeof looks[0]; i++)
        s_look_since(&looks[i], ev->at_ms);
    self->last_seq = ev->seq;
    return 0;
}

int qm_journal_apply(qm_branch_t *self, const qm_journal_t *journal, size_t from)
{
    if (!self || !journal)
        return -1;
    for (size_t i = from; i < journal->count; i++)
        if (qm_apply(self, &journal->items[i]) != 0)
            return -1;
    return 0;
}

int qm_branch_seed_average(qm_branch_t *self, int64_t service_id, int64_t avg_ms)
{
    size_t i = self ? qm_int_service_find(self, service_id) : NPOS;
    if (i == NPOS || avg_ms <= 0)
        return -1;
    self->services[i].avg_ms = avg_ms;
    return 0;
}
