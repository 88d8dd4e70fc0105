/*  wa_princache: principals kept in memory (wa_princache.h). */
#include "wa_princache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"

typedef struct {
    session_kind_t kind;          /* 0: empty */
    int64_t id;
    int64_t generation;
    int64_t read_ms;              /* clock_mono_ms of the keeping */
    int64_t node_id;
    uint64_t perms;
    bool must_change_password;
    char node_path[WA_PATH_SIZE];
    char name[WA_NAME_SIZE];
} s_entry_t;

struct wa_princache {
    pthread_mutex_t lock;
    size_t nslots;
    int max_age_ms;
    uint64_t hits, misses;
    s_entry_t slots[];
};

wa_princache_t *wa_princache_new(size_t slots, int max_age_ms)
{
    if (slots == 0)
        slots = WA_PRINCACHE_SLOTS_DEFAULT;
    wa_princache_t *self = calloc(1, sizeof *self + slots * sizeof(s_entry_t));
    if (!self)
        return NULL;
    pthread_mutex_init(&self->lock, NULL);
    self->nslots = slots;
    self->max_age_ms = max_age_ms;
    return self;
}

void wa_princache_destroy(wa_princache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pthread_mutex_destroy(&(*self_p)->lock);
    free(*self_p);
    *self_p = NULL;
}

/* The slot of a key (a 64-bit mix, so that ids in sequence spread). */
static s_entry_t *s_slot(wa_princache_t *self, session_kind_t kind, int64_t id)
{
    uint64_t h = ((uint64_t) id << 1 | (kind == SESSION_API)) * UINT64_C(0x9e3779b97f4a7c15);
    h ^= h >> 32;
    return &self->slots[h % self->nslots];
}

bool wa_princache_get(wa_princache_t *self, session_kind_t kind, int64_t id,
                      int64_t generation, wa_principal_t *who)
{
    int64_t now = clock_mono_ms();
    pthread_mutex_lock(&self->lock);
    const s_entry_t *e = s_slot(self, kind, id);
    bool hit = e->kind == kind && e->id == id && e->generation == generation
               && now - e->read_ms < self->max_age_ms;
    if (hit) {
        who->node_id = e->node_id;
        who->perms = e->perms;
        who->must_change_password = e->must_change_password;
        memcpy(who->node_path, e->node_path, sizeof who->node_path);
        memcpy(who->name, e->name, sizeof who->name);
        self->hits++;
    }
    else
        self->misses++;
    pthread_mutex_unlock(&self->lock);
    return hit;
}

void wa_princache_put(wa_princache_t *self, session_kind_t kind, int64_t id,
                      int64_t generation, const wa_principal_t *who)
{
    if (self->max_age_ms <= 0)
        return;
    int64_t now = clock_mono_ms();
    pthread_mutex_lock(&self->lock);
    s_entry_t *e = s_slot(self, kind, id);
    *e = (s_entry_t) { .kind = kind, .id = id, .generation = generation, .read_ms = now,
                       .node_id = who->node_id, .perms = who->perms,
                       .must_change_password = who->must_change_password };
    memcpy(e->node_path, who->node_path, sizeof e->node_path);
    memcpy(e->name, who->name, sizeof e->name);
    pthread_mutex_unlock(&self->lock);
}

void wa_princache_counts(wa_princache_t *self, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&self->lock);
    *hits = self->hits;
    *misses = self->misses;
    pthread_mutex_unlock(&self->lock);
}
