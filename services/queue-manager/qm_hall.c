/*  qm_hall: display list, current tickets and announcement queue (qm_hall.h). */
#include "qm_hall.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/grow.h"
#include "eqms/text.h"

struct qm_hall_t {
    qm_hall_cfg_t cfg;
    qm_hall_line_t *lines;          /* display list, newest first */
    size_t line_count;
    qm_hall_current_t *currents;    /* sorted by window number */
    size_t current_count, current_cap;
    qm_announcement_t *queue;       /* ring buffer of pending announcements */
    size_t head, pending, queue_cap;
    int64_t next_seq;               /* seq of the next queued announcement */
    int64_t playing_seq;            /* 0 = none */
    int64_t busy_until;             /* end of the one playing, 0 = none */
    uint64_t dropped;               /* announcements never played */
    uint64_t version;               /* +1 per change of what the display shows */
};

void qm_hall_cfg_default(qm_hall_cfg_t *cfg)
{
    cfg->display_size = 6;
    cfg->repeat = 2;
    cfg->char_ms = 300;
    cfg->gap_ms = 1000;
    cfg->queue_max = 32;
    cfg->expire_ms = 120000;
}

static bool s_cfg_valid(const qm_hall_cfg_t *cfg)
{
    return cfg && cfg->display_size >= 1 && cfg->display_size <= 1000 && cfg->repeat >= 1
           && cfg->repeat <= 10 && cfg->char_ms >= 1 && cfg->char_ms <= 10000
           && cfg->gap_ms >= 0 && cfg->gap_ms <= 60000 && cfg->queue_max >= 1
           && cfg->queue_max <= 1000 && cfg->expire_ms >= 1000;
}

qm_hall_t *qm_hall_new(const qm_hall_cfg_t *cfg)
{
    if (!s_cfg_valid(cfg))
        return NULL;
    qm_hall_t *self = calloc(1, sizeof *self);
    if (!self)
        goto err;
    self->cfg = *cfg;
    self->lines = calloc(cfg->display_size, sizeof *self->lines);
    if (!self->lines)
        goto err;
    self->next_seq = 1;
    return self;
err:
    qm_hall_destroy(&self);
    return NULL;
}

void qm_hall_destroy(qm_hall_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    qm_hall_t *self = *self_p;
    free(self->lines);
    free(self->currents);
    free(self->queue);
    free(self);
    *self_p = NULL;
}

int qm_hall_text(const char *number, int window_no, char out[QM_ANNOUNCE_SIZE])
{
    if (!number || !*number || strlen(number) >= QM_NUMBER_SIZE || window_no < 0)
        return -1;
    int n = snprintf(out, QM_ANNOUNCE_SIZE, "请%s号到%d号窗口", number, window_no);
    return n > 0 && n < QM_ANNOUNCE_SIZE ? 0 : -1;
}

int64_t qm_hall_duration_ms(const qm_hall_cfg_t *cfg, const char *text)
{
    int64_t chars = 0;
    for (const unsigned char *p = (const unsigned char *) text; p && *p; p++)
        if ((*p & 0xC0) != 0x80)    /* count code points, not continuation bytes */
            chars++;
    return (int64_t) cfg->repeat * (chars * cfg->char_ms + cfg->gap_ms);
}

/* The current-ticket slot of a window, created in window order if `create`. */
static qm_hall_current_t *s_current(qm_hall_t *self, int window_no, bool create)
{
    size_t i = 0;
    while (i < self->current_count && self->currents[i].window_no < window_no)
        i++;
    if (i < self->current_count && self->currents[i].window_no == window_no)
        return &self->currents[i];
    if (!create)
        return NULL;
    qm_hall_current_t *grown = grow_room(self->currents, self->current_count, &self->current_cap,
                                         sizeof *grown, 16);
    if (!grown)
        return NULL;
    self->currents = grown;
    memmove(&self->currents[i + 1], &self->currents[i],
            (self->current_count - i) * sizeof *self->currents);
    self->current_count++;
    memset(&self->currents[i], 0, sizeof self->currents[i]);
    self->currents[i].window_no = window_no;
    return &self->currents[i];
}

/* Makes room for one more pending announcement. 0 or -1. */
static int s_queue_reserve(qm_hall_t *self)
{
    if (self->pending < self->queue_cap)
        return 0;
    size_t cap = self->queue_cap ? self->queue_cap * 2 : 16;
    qm_announcement_t *grown = malloc(cap * sizeof *grown);
    if (!grown)
        return -1;
    for (size_t i = 0; i < self->pending; i++)
        grown[i] = self->queue[(self->head + i) % self->queue_cap];
    free(self->queue);
    self->queue = grown;
    self->queue_cap = cap;
    self->head = 0;
    return 0;
}

/* Keeps the waiting announcements for which keep(arg, a) is true, in order;
 * counts the others as dropped. */
static void s_queue_filter(qm_hall_t *self, bool (*keep)(const void *arg,
                                                         const qm_announcement_t *a),
                           const void *arg)
{
    size_t kept = 0;
    for (size_t i = 0; i < self->pending; i++) {
        qm_announcement_t a = self->queue[(self->head + i) % self->queue_cap];
        if (keep(arg, &a))
            self->queue[(self->head + kept++) % self->queue_cap] = a;
        else
            self->dropped++;
    }
    self->pending = kept;
}

static bool s_not_ticket(const void *ticket_id, const qm_announcement_t *a)
{
    return strcmp(a->ticket_id, ticket_id) != 0;
}

static bool s_fresh(const void *oldest_ms, const qm_announcement_t *a)
{
    return a->queued_ms >= *(const int64_t *) oldest_ms;
}

void qm_hall_drop_ticket(qm_hall_t *self, const char *ticket_id)
{
    if (self && ticket_id && *ticket_id)
        s_queue_filter(self, s_not_ticket, ticket_id);
}

uint64_t qm_hall_version(const qm_hall_t *self)
{
    return self ? self->version : 0;
}

uint64_t qm_hall_dropped(const qm_hall_t *self)
{
    return self ? self->dropped : 0;
}

const qm_hall_cfg_t *qm_hall_get_cfg(const qm_hall_t *self)
{
    return &self->cfg;
}

qm_hall_view_t *qm_hall_view_new(const qm_hall_t *self)
{
    size_t lines = self->line_count * sizeof *self->lines;
    size_t currents = self->current_count * sizeof *self->currents;
    qm_hall_view_t *view = malloc(sizeof *view + lines + currents);
    if (!view)
        return NULL;
    view->lines = (qm_hall_line_t *) (view + 1);
    view->line_count = self->line_count;
    view->currents = (qm_hall_current_t *) ((char *) view->lines + lines);
    view->current_count = self->current_count;
    if (lines)
        memcpy(view->lines, self->lines, lines);
    if (currents)
        memcpy(view->currents, self->currents, currents);
    return view;
}

void qm_hall_view_destroy(qm_hall_view_t **view_p)
{
    if (view_p) {
        free(*view_p);
        *view_p = NULL;
    }
}

int qm_hall_called(qm_hall_t *self, const char *ticket_id, const char *number,
                   int window_no, int64_t at_ms)
{
    if (!self || !ticket_id || strlen(ticket_id) >= ID_SIZE)
        return -1;
    qm_announcement_t ann;
    memset(&ann, 0, sizeof ann);
    if (qm_hall_text(number, window_no, ann.text) != 0)
        return -1;
    if (s_queue_reserve(self) != 0)
        return -1;
    qm_hall_current_t *current = s_current(self, window_no, true);
    if (!current)
        return -1;
    text_copy(current->number, sizeof current->number, number);

    /* display: drop the ticket's old line (or the oldest), insert on top */
    size_t drop = self->line_count;
    for (size_t i = 0; i < self->line_count; i++)
        if (strcmp(self->lines[i].ticket_id, ticket_id) == 0)
            drop = i;
    if (drop == self->line_count) {
        if (self->line_count < self->cfg.display_size)
            self->line_count++;
        drop = self->line_count - 1;
    }
    memmove(&self->lines[1], &self->lines[0], drop * sizeof *self->lines);
    qm_hall_line_t *line = &self->lines[0];
    text_copy(line->ticket_id, sizeof line->ticket_id, ticket_id);
    text_copy(line->number, sizeof line->number, number);
    line->window_no = window_no;
    line->at_ms = at_ms;
    self->version++;

    s_queue_filter(self, s_not_ticket, ticket_id);      /* superseded */
    if (self->pending >= self->cfg.queue_max) {          /* the oldest waiting one goes */
        self->head = (self->head + 1) % self->queue_cap;
        self->pending--;
        self->dropped++;
    }
    text_copy(ann.ticket_id, sizeof ann.ticket_id, ticket_id);
    text_copy(ann.number, sizeof ann.number, number);
    ann.window_no = window_no;
    ann.repeat = self->cfg.repeat;
    ann.queued_ms = at_ms;
    ann.duration_ms = qm_hall_duration_ms(&self->cfg, ann.text);
    ann.seq = self->next_seq++;
    self->queue[(self->head + self->pending) % self->queue_cap] = ann;
    self->pending++;
    return 0;
}

int qm_hall_set_current(qm_hall_t *self, int window_no, const char *number)
{
    if (!self || !number || strlen(number) >= QM_NUMBER_SIZE)
        return -1;
    qm_hall_current_t *current = s_current(self, window_no, true);
    if (!current)
        return -1;
    text_copy(current->number, sizeof current->number, number);
    self->version++;
    return 0;
}

void qm_hall_clear_current(qm_hall_t *self, int window_no)
{
    qm_hall_current_t *current = self ? s_current(self, window_no, false) : NULL;
    if (current && current->number[0]) {
        current->number[0] = '\0';
        self->version++;
    }
}

void qm_hall_flush_announcements(qm_hall_t *self)
{
    if (!self)
        return;
    self->head = 0;
    self->pending = 0;
}

void qm_hall_reset(qm_hall_t *self)
{
    if (!self)
        return;
    self->line_count = 0;
    self->current_count = 0;
    self->version++;
    qm_hall_flush_announcements(self);
    self->playing_seq = 0;
    self->busy_until = 0;
}

int qm_hall_next_announcement(qm_hall_t *self, int64_t now_ms, qm_announcement_t *out)
{
    if (!self || !out)
        return -1;
    int64_t oldest = now_ms - self->cfg.expire_ms;
    s_queue_filter(self, s_fresh, &oldest);
    if (self->pending == 0)
        return 0;
    if (self->playing_seq && now_ms < self->busy_until)
        return 0;
    *out = self->queue[self->head];
    self->head = (self->head + 1) % self->queue_cap;
    self->pending--;
    self->playing_seq = out->seq;
    self->busy_until = now_ms + out->duration_ms;
    return 1;
}

void qm_hall_ack(qm_hall_t *self, int64_t seq)
{
    if (self && self->playing_seq && seq == self->playing_seq) {
        self->playing_seq = 0;
        self->busy_until = 0;
    }
}

int64_t qm_hall_busy_until(const qm_hall_t *self)
{
    return self && self->playing_seq ? self->busy_until : 0;
}

size_t qm_hall_pending(const qm_hall_t *self)
{
    return self ? self->pending : 0;
}

size_t qm_hall_line_count(const qm_hall_t *self)
{
    return self ? self->line_count : 0;
}

const qm_hall_line_t *qm_hall_line(const qm_hall_t *self, size_t i)
{
    return self && i < self->line_count ? &self->lines[i] : NULL;
}

size_t qm_hall_current_count(const qm_hall_t *self)
{
    return self ? self->current_count : 0;
}

const qm_hall_current_t *qm_hall_current(const qm_hall_t *self, size_t i)
{
    return self && i < self->current_count ? &self->currents[i] : NULL;
}
