/*  wa_snap: live hall snapshots kept between changes (wa_snap.h). */
#include "wa_snap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"

/* One branch: its slot stays once made (forgetting clears the text), so
 * the table is open addressing without deletions. */
typedef struct {
    char *branch;                 /* NULL: free slot */
    uint64_t forgotten;           /* generation of the last forget */
    char *text;                   /* NULL: nothing kept */
    size_t len;
    int64_t read_ms;              /* clock_mono_ms when it was read */
} s_entry_t;

struct wa_snap_t {
    pthread_mutex_t mu;
    int max_age_ms;
    uint64_t gen;                 /* increases with every forget */
    uint64_t all_forgotten;       /* generation of the last forget of all */
    s_entry_t *slots;
    size_t cap, used;             /* cap: a power of two */
};

static size_t s_hash(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char) *s) * 1099511628211u;
    return h;
}

/* The slot of `branch`, or the free slot where it would go. */
static s_entry_t *s_slot(s_entry_t *slots, size_t cap, const char *branch)
{
    for (size_t i = s_hash(branch) & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!slots[i].branch || strcmp(slots[i].branch, branch) == 0)
            return &slots[i];
}

/* `branch`'s slot, made if need be (the table grows at half full); NULL
 * when memory ran out or the table is full. */
static s_entry_t *s_entry(wa_snap_t *self, const char *branch)
{
    s_entry_t *e = s_slot(self->slots, self->cap, branch);
    if (e->branch)
        return e;
    if (self->used >= WA_SNAP_MAX)
        return NULL;
    if (2 * (self->used + 1) > self->cap) {
        size_t cap = self->cap * 2;
        s_entry_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return NULL;
        for (size_t i = 0; i < self->cap; i++)
            if (self->slots[i].branch)
                *s_slot(slots, cap, self->slots[i].branch) = self->slots[i];
        free(self->slots);
        self->slots = slots;
        self->cap = cap;
        e = s_slot(slots, cap, branch);
    }
    if (!(e->branch = strdup(branch)))
        return NULL;
    self->used++;
    return e;
}

static void s_clear(s_entry_t *e)
{
    free(e->text);
    e->text = NULL;
    e->len = 0;
}

wa_snap_t *wa_snap_new(int max_age_ms)
{
    wa_snap_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cap = 64;
    if (!(self->slots = calloc(self->cap, sizeof *self->slots))) {
        free(self);
        return NULL;
    }
    self->max_age_ms = max_age_ms > 0 ? max_age_ms : 0;
    pthread_mutex_init(&self->mu, NULL);
    return self;
}

void wa_snap_destroy(wa_snap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wa_snap_t *self = *self_p;
    for (size_t i = 0; i < self->cap; i++) {
        s_clear(&self->slots[i]);
        free(self->slots[i].branch);
    }
    free(self->slots);
    pthread_mutex_destroy(&self->mu);
    free(self);
    *self_p = NULL;
}

uint64_t wa_snap_begin(wa_snap_t *self)
{
    pthread_mutex_lock(&self->mu);
    uint64_t gen = self->gen;
    pthread_mutex_unlock(&self->mu);
    return gen;
}

int wa_snap_put(wa_snap_t *self, const char *branch, uint64_t gen, const char *text,
                size_t len)
{
    if (!self->max_age_ms)
        return -1;
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, text, len);
    copy[len] = '\0';
    pthread_mutex_lock(&self->mu);
    s_entry_t *e = self->all_forgotten > gen ? NULL : s_entry(self, branch);
    if (e && e->forgotten <= gen) {
        s_clear(e);
        e->text = copy;
        e->len = len;
        e->read_ms = clock_mono_ms();
        copy = NULL;
    }
    pthread_mutex_unlock(&self->mu);
    if (!copy)
        return 0;
    free(copy);
    return -1;
}

char *wa_snap_get(wa_snap_t *self, const char *branch, size_t *len)
{
    char *copy = NULL;
    pthread_mutex_lock(&self->mu);
    s_entry_t *e = s_slot(self->slots, self->cap, branch);
    if (e->text && clock_mono_ms() - e->read_ms > self->max_age_ms)
        s_clear(e);
    if (e->text && (copy = malloc(e->len + 1))) {
        memcpy(copy, e->text, e->len + 1);
        *len = e->len;
    }
    pthread_mutex_unlock(&self->mu);
    return copy;
}

void wa_snap_forget(wa_snap_t *self, const char *branch)
{
    pthread_mutex_lock(&self->mu);
    self->gen++;
    if (!branch) {
        self->all_forgotten = self->gen;
        for (size_t i = 0; i < self->cap; i++)
            s_clear(&self->slots[i]);
    }
    else {
        /* a slot even for a branch never read: a read under way must see it */
        s_entry_t *e = s_entry(self, branch);
        if (e) {
            e->forgotten = self->gen;
            s_clear(e);
        }
        else
            self->all_forgotten = self->gen;
    }
    pthread_mutex_unlock(&self->mu);
}
