/*  ri_journal: one gateway journal as rating-ingest follows it (ri_journal.h). */
#include "ri_journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool s_decided(const ri_journal_t *self, int64_t seq)
{
    return self->decided[(seq % RI_JOURNAL_WINDOW) / 8] & (1u << (seq % 8));
}

static void s_set_decided(ri_journal_t *self, int64_t seq, bool on)
{
    uint8_t *byte = &self->decided[(seq % RI_JOURNAL_WINDOW) / 8];
    if (on)
        *byte |= (uint8_t) (1u << (seq % 8));
    else
        *byte &= (uint8_t) ~(1u << (seq % 8));
}

ri_journal_t *ri_journal_new(const char *gateway, const char *incarnation,
                             const char *branch, int64_t upto)
{
    ri_journal_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    snprintf(self->gateway, sizeof self->gateway, "%s", gateway);
    snprintf(self->incarnation, sizeof self->incarnation, "%s", incarnation);
    snprintf(self->branch, sizeof self->branch, "%s", branch);
    self->upto = self->pending_upto = self->contig = self->max_seen = upto;
    self->next = upto + 1;
    return self;
}

void ri_journal_destroy(ri_journal_t **self_p, void (*free_event)(void *event))
{
    if (!self_p || !*self_p)
        return;
    ri_journal_t *self = *self_p;
    for (size_t i = 0; free_event && i < self->count; i++)
        free_event(self->held[self->first + i].event);
    free(self->held);
    free(self);
    *self_p = NULL;
}

bool ri_journal_holds(const ri_journal_t *self, int64_t seq)
{
    size_t lo = 0, hi = self->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int64_t at = self->held[self->first + mid].seq;
        if (at == seq)
            return true;
        if (at < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

ri_journal_verdict_t ri_journal_arrival(const ri_journal_t *self, int64_t seq)
{
    if (seq <= self->upto)
        return RI_JOURNAL_DUPLICATE;
    if (seq - self->upto > RI_JOURNAL_WINDOW)
        return RI_JOURNAL_BEYOND;
    if (s_decided(self, seq) || ri_journal_holds(self, seq))
        return RI_JOURNAL_DUPLICATE;
    if (seq < self->next)
        return RI_JOURNAL_LATE;
    return seq == self->next ? RI_JOURNAL_NOW : RI_JOURNAL_HOLD;
}

int ri_journal_hold(ri_journal_t *self, int64_t seq, void *event, int64_t now_ms)
{
    if (self->first + self->count == self->cap) {
        if (self->first > 0) {
            memmove(self->held, self->held + self->first, self->count * sizeof *self->held);
            self->first = 0;
        } else {
            size_t cap = self->cap ? self->cap * 2 : 64;
            ri_held_t *held = realloc(self->held, cap * sizeof *held);
            if (!held)
                return -1;
            self->held = held;
            self->cap = cap;
        }
    }
    /* Events come mostly in order: look for the place from the end. */
    ri_held_t *base = self->held + self->first;
    size_t at = self->count;
    while (at > 0 && base[at - 1].seq > seq)
        at--;
    memmove(base + at + 1, base + at, (self->count - at) * sizeof *base);
    base[at] = (ri_held_t) { seq, now_ms, event };
    self->count++;
    if (seq > self->max_seen)
        self->max_seen = seq;
    return 0;
}

const ri_held_t *ri_journal_due(const ri_journal_t *self, int64_t now_ms, int64_t hold_ms,
                                bool *timed_out)
{
    *timed_out = false;
    if (self->count == 0)
        return NULL;
    const ri_held_t *lowest = &self->held[self->first];
    if (lowest->seq <= self->next)
        return lowest;
    if (now_ms - lowest->held_ms >= hold_ms) {
        *timed_out = true;
        return lowest;
    }
    return NULL;
}

void *ri_journal_take(ri_journal_t *self)
{
    if (self->count == 0)
        return NULL;
    void *event = self->held[self->first].event;
    self->first++;
    if (--self->count == 0)
        self->first = 0;
    return event;
}

void ri_journal_decided(ri_journal_t *self, int64_t seq)
{
    s_set_decided(self, seq, true);
    if (seq > self->max_seen)
        self->max_seen = seq;
    if (seq >= self->next)
        self->next = seq + 1;
    while (self->contig - self->upto < RI_JOURNAL_WINDOW && self->contig < self->max_seen
           && s_decided(self, self->contig + 1))
        self->contig++;
}

int64_t ri_journal_submit(ri_journal_t *self)
{
    self->pending_upto = self->contig;
    return self->pending_upto;
}

bool ri_journal_committed(ri_journal_t *self)
{
    bool moved = self->upto < self->pending_upto;
    while (self->upto < self->pending_upto) {
        self->upto++;
        s_set_decided(self, self->upto, false);
    }
    return moved;
}

bool ri_journal_missing(const ri_journal_t *self, int64_t *from, int64_t *to)
{
    int64_t seq = self->contig + 1;
    while (seq < self->max_seen && (s_decided(self, seq) || ri_journal_holds(self, seq)))
        seq++;
    if (seq >= self->max_seen)
        return false;
    *from = seq;
    while (seq + 1 < self->max_seen && !s_decided(self, seq + 1)
           && !ri_journal_holds(self, seq + 1))
        seq++;
    *to = seq;
    return true;
}
