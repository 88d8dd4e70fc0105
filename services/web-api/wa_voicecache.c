/*  wa_voicecache: the voice's audio by text, least recently used out
 *  (wa_voicecache.h). */
#include "wa_voicecache.h"

#include <stdlib.h>
#include <string.h>

/* One entry, in a list from the most recently used (head) to the least
 * (tail). */
typedef struct s_entry_t {
    struct s_entry_t *prev, *next;
    char *key;
    char *audio;
    size_t len;
    size_t cost;                  /* audio + key, counted against the bound */
} s_entry_t;

struct wa_voicecache_t {
    size_t max_bytes;
    s_entry_t *head, *tail;
    wa_voicecache_stats_t stats;
};

wa_voicecache_t *wa_voicecache_new(size_t max_bytes)
{
    wa_voicecache_t *self = calloc(1, sizeof *self);
    if (self)
        self->max_bytes = max_bytes;
    return self;
}

static void s_unlink(wa_voicecache_t *self, s_entry_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        self->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        self->tail = e->prev;
    e->prev = e->next = NULL;
}

static void s_push_front(wa_voicecache_t *self, s_entry_t *e)
{
    e->prev = NULL;
    e->next = self->head;
    if (self->head)
        self->head->prev = e;
    self->head = e;
    if (!self->tail)
        self->tail = e;
}

static void s_drop(wa_voicecache_t *self, s_entry_t *e)
{
    s_unlink(self, e);
    self->stats.entries--;
    self->stats.bytes -= e->cost;
    free(e->key);
    free(e->audio);
    free(e);
}

void wa_voicecache_destroy(wa_voicecache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wa_voicecache_t *self = *self_p;
    while (self->head)
        s_drop(self, self->head);
    free(self);
    *self_p = NULL;
}

static s_entry_t *s_find(const wa_voicecache_t *self, const char *key)
{
    for (s_entry_t *e = self->head; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

char *wa_voicecache_get(wa_voicecache_t *self, const char *key, size_t *len)
{
    s_entry_t *e = s_find(self, key);
    char *copy = e ? malloc(e->len ? e->len : 1) : NULL;
    if (!copy) {
        self->stats.misses++;
        return NULL;
    }
    memcpy(copy, e->audio, e->len);
    *len = e->len;
    s_unlink(self, e);
    s_push_front(self, e);
    self->stats.hits++;
    return copy;
}

int wa_voicecache_put(wa_voicecache_t *self, const char *key, const char *audio, size_t len)
{
    size_t cost = len + strlen(key) + 1;
    s_entry_t *old = s_find(self, key);
    if (old)
        s_drop(self, old);
    if (cost > self->max_bytes)
        return -1;
    s_entry_t *e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(key)) || !(e->audio = malloc(len ? len : 1))) {
        if (e)
            free(e->key);
        free(e);
        return -1;
    }
    memcpy(e->audio, audio, len);
    e->len = len;
    e->cost = cost;
    while (self->stats.bytes + cost > self->max_bytes && self->tail) {
        s_drop(self, self->tail);
        self->stats.evictions++;
    }
    s_push_front(self, e);
    self->stats.entries++;
    self->stats.bytes += cost;
    return 0;
}

void wa_voicecache_stats(const wa_voicecache_t *self, wa_voicecache_stats_t *stats)
{
    *stats = self->stats;
}
