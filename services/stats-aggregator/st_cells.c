/*  st_cells: the cell changes since the last flush (st_cells.h). */
#include "st_cells.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define S_MIN_SLOTS 1024

typedef struct {
    st_cell_key_t key;
    st_measures_t m;
} s_entry_t;

struct st_cells_t {
    uint32_t *slots;          /* entry index + 1, 0 = empty */
    size_t nslots;            /* a power of two */
    s_entry_t *entries;
    size_t count, cap;
};

static uint64_t s_hash(const st_cell_key_t *k)
{
    uint64_t h = (uint64_t) k->node_id * 0x9E3779B97F4A7C15ULL;
    h ^= (uint64_t) k->member * 0xC2B2AE3D27D4EB4FULL + (h << 6) + (h >> 2);
    h ^= ((uint64_t) (uint32_t) k->start_day << 24 | (uint64_t) (uint8_t) k->period << 16
          | (uint64_t) (uint8_t) k->hour << 8 | (uint8_t) k->dim) * 0x165667B19E3779F9ULL;
    return h ^ (h >> 29);
}

static bool s_same(const st_cell_key_t *a, const st_cell_key_t *b)
{
    return a->node_id == b->node_id && a->member == b->member
           && a->start_day == b->start_day && a->period == b->period
           && a->hour == b->hour && a->dim == b->dim;
}

st_cells_t *st_cells_new(void)
{
    st_cells_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->nslots = S_MIN_SLOTS;
    self->slots = calloc(self->nslots, sizeof *self->slots);
    if (!self->slots) {
        free(self);
        return NULL;
    }
    return self;
}

void st_cells_destroy(st_cells_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    free((*self_p)->entries);
    free(*self_p);
    *self_p = NULL;
}

/* Rebuilds the slots at twice the size. */
static int s_grow(st_cells_t *self)
{
    size_t n = self->nslots * 2;
    uint32_t *slots = calloc(n, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < self->count; i++) {
        size_t at = s_hash(&self->entries[i].key) & (n - 1);
        while (slots[at])
            at = (at + 1) & (n - 1);
        slots[at] = (uint32_t) i + 1;
    }
    free(self->slots);
    self->slots = slots;
    self->nslots = n;
    return 0;
}

st_measures_t *st_cells_at(st_cells_t *self, const st_cell_key_t *key)
{
    size_t at = s_hash(key) & (self->nslots - 1);
    while (self->slots[at]) {
        s_entry_t *e = &self->entries[self->slots[at] - 1];
        if (s_same(&e->key, key))
            return &e->m;
        at = (at + 1) & (self->nslots - 1);
    }
    if (self->count == UINT32_MAX - 1)
        return NULL;
    if (self->count == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 256;
        s_entry_t *entries = realloc(self->entries, cap * sizeof *entries);
        if (!entries)
            return NULL;
        self->entries = entries;
        self->cap = cap;
    }
    if ((self->count + 1) * 2 > self->nslots) {     /* load factor <= 1/2 */
        if (s_grow(self) != 0)
            return NULL;
        return st_cells_at(self, key);
    }
    s_entry_t *e = &self->entries[self->count];
    memset(e, 0, sizeof *e);
    e->key = *key;
    self->slots[at] = (uint32_t) ++self->count;
    return &e->m;
}

size_t st_cells_count(const st_cells_t *self)
{
    return self->count;
}

int st_cells_each(const st_cells_t *self, st_cells_fn *fn, void *arg)
{
    for (size_t i = 0; i < self->count; i++) {
        int rc = fn(arg, &self->entries[i].key, &self->entries[i].m);
        if (rc)
            return rc;
    }
    return 0;
}

void st_cells_clear(st_cells_t *self)
{
    memset(self->slots, 0, self->nslots * sizeof *self->slots);
    self->count = 0;
}

int32_t st_cells_day(clock_date_t date)
{
    return date.year * 10000 + date.month * 100 + date.day;
}
