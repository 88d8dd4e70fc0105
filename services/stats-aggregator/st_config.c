/*  st_config: configuration lookups of the aggregator (st_config.h). */
#include "st_config.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t a, b;
} s_pair_t;

struct st_config_t {
    zhashx_t *services;         /* service id -> target_s (as s_pair_t.a) */
    zhashx_t *windows;          /* window id -> (branch, scale) */
    zhashx_t *options;          /* scale * 8 + code -> (option id, category) */
};

static size_t s_hash(const void *key)
{
    uint64_t h = (uint64_t) (uintptr_t) key * 0x9E3779B97F4A7C15ULL;
    return (size_t) (h ^ (h >> 31));
}

static int s_cmp(const void *a, const void *b)
{
    return (uintptr_t) a < (uintptr_t) b ? -1 : (uintptr_t) a > (uintptr_t) b;
}

static void s_free(void **item)
{
    free(*item);
    *item = NULL;
}

static zhashx_t *s_map(void)
{
    zhashx_t *map = zhashx_new();
    if (map) {
        zhashx_set_key_hasher(map, s_hash);
        zhashx_set_key_comparator(map, s_cmp);
        zhashx_set_key_duplicator(map, NULL);
        zhashx_set_key_destructor(map, NULL);
        zhashx_set_destructor(map, s_free);
    }
    return map;
}

st_config_t *st_config_new(void)
{
    st_config_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->services = s_map();
    self->windows = s_map();
    self->options = s_map();
    if (!self->services || !self->windows || !self->options)
        st_config_destroy(&self);
    return self;
}

void st_config_destroy(st_config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->services);
    zhashx_destroy(&(*self_p)->windows);
    zhashx_destroy(&(*self_p)->options);
    free(*self_p);
    *self_p = NULL;
}

static int s_put(zhashx_t *map, uint64_t key, int64_t a, int64_t b)
{
    s_pair_t *pair = malloc(sizeof *pair);
    if (!pair)
        return -1;
    pair->a = a;
    pair->b = b;
    zhashx_update(map, (void *) (uintptr_t) key, pair);
    return 0;
}

static const s_pair_t *s_get(zhashx_t *map, uint64_t key)
{
    return zhashx_lookup(map, (void *) (uintptr_t) key);
}

int st_config_add_service(st_config_t *self, int64_t service_id, int32_t target_s)
{
    return s_put(self->services, (uint64_t) service_id, target_s, 0);
}

int st_config_add_window(st_config_t *self, int64_t window_id, int64_t branch_id,
                         int64_t scale_id)
{
    return s_put(self->windows, (uint64_t) window_id, branch_id, scale_id);
}

int st_config_add_option(st_config_t *self, int64_t option_id, int64_t scale_id,
                         int code, st_category_t category)
{
    return s_put(self->options, (uint64_t) scale_id * 8 + (uint64_t) code, option_id,
                 category);
}

int32_t st_config_target_s(const st_config_t *self, int64_t service_id)
{
    const s_pair_t *p = s_get(self->services, (uint64_t) service_id);
    return p ? (int32_t) p->a : -1;
}

int64_t st_config_window_branch(const st_config_t *self, int64_t window_id)
{
    const s_pair_t *p = s_get(self->windows, (uint64_t) window_id);
    return p ? p->a : 0;
}

int64_t st_config_window_scale(const st_config_t *self, int64_t window_id)
{
    const s_pair_t *p = s_get(self->windows, (uint64_t) window_id);
    return p ? p->b : 0;
}

int64_t st_config_option(const st_config_t *self, int64_t window_id, int code,
                         st_category_t *category)
{
    *category = ST_CAT_NONE;
    int64_t scale = st_config_window_scale(self, window_id);
    const s_pair_t *p = scale && code >= 1 && code <= 6
                            ? s_get(self->options, (uint64_t) scale * 8 + (uint64_t) code)
                            : NULL;
    if (!p)
        return 0;
    *category = (st_category_t) p->b;
    return p->a;
}

st_category_t st_category_parse(const char *text)
{
    static const char *const names[ST_CATEGORIES] = {
        "none", "attitude", "efficiency", "skill", "environment", "other" };
    for (int i = 0; text && i < ST_CATEGORIES; i++)
        if (strcmp(text, names[i]) == 0)
            return (st_category_t) i;
    return ST_CAT_NONE;
}
