/*  st_tree: the organisation tree through time (st_tree.h). */
#include "st_tree.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/grow.h"
#include "eqms/log.h"

typedef struct {
    int64_t from, to;
    int n;
    int64_t ancestors[ST_TREE_DEPTH];
    st_zone_t *zone;
} s_version_t;

typedef struct {
    s_version_t *v;                /* in valid_from order */
    size_t count, cap;
} s_node_t;

struct st_tree_t {
    zhashx_t *nodes;               /* node id -> s_node_t */
    zhashx_t *zones;               /* zone name -> st_zone_t */
};

static void s_node_free(void **item)
{
    if (item && *item) {
        s_node_t *node = *item;
        free(node->v);
        free(node);
        *item = NULL;
    }
}

static void s_zone_free(void **item)
{
    st_zone_destroy((st_zone_t **) item);
}

/* zhashx keys: the node id itself, as a pointer-sized integer. */
static size_t s_id_hash(const void *key)
{
    uint64_t h = (uint64_t) (uintptr_t) key * 0x9E3779B97F4A7C15ULL;
    return (size_t) (h ^ (h >> 31));
}

static int s_id_cmp(const void *a, const void *b)
{
    return (uintptr_t) a < (uintptr_t) b ? -1 : (uintptr_t) a > (uintptr_t) b;
}

st_tree_t *st_tree_new(void)
{
    st_tree_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->nodes = zhashx_new();
    self->zones = zhashx_new();
    if (!self->nodes || !self->zones) {
        st_tree_destroy(&self);
        return NULL;
    }
    zhashx_set_key_hasher(self->nodes, s_id_hash);
    zhashx_set_key_comparator(self->nodes, s_id_cmp);
    zhashx_set_key_duplicator(self->nodes, NULL);
    zhashx_set_key_destructor(self->nodes, NULL);
    zhashx_set_destructor(self->nodes, s_node_free);
    zhashx_set_destructor(self->zones, s_zone_free);
    return self;
}

void st_tree_destroy(st_tree_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->nodes);
    zhashx_destroy(&(*self_p)->zones);
    free(*self_p);
    *self_p = NULL;
}

static st_zone_t *s_zone(st_tree_t *self, const char *name)
{
    st_zone_t *zone = zhashx_lookup(self->zones, name);
    if (zone)
        return zone;
    zone = st_zone_new(name);
    if (!zone || zhashx_insert(self->zones, name, zone) != 0) {
        st_zone_destroy(&zone);
        return NULL;
    }
    return zone;
}

static s_node_t *s_node(const st_tree_t *self, int64_t node_id)
{
    return zhashx_lookup(self->nodes, (void *) (uintptr_t) node_id);
}

int st_tree_add(st_tree_t *self, int64_t node_id, int64_t valid_from, int64_t valid_to,
                const int64_t *ancestors, int n, const char *time_zone)
{
    st_zone_t *zone = s_zone(self, time_zone);
    if (!zone || n < 1 || n > ST_TREE_DEPTH || ancestors[n - 1] != node_id
        || valid_to <= valid_from) {
        log_error("stats_node_version_bad", "node=%lld zone=\"%s\" depth=%d",
                  (long long) node_id, time_zone, n);
        return -1;
    }
    s_node_t *node = s_node(self, node_id);
    if (!node) {
        node = calloc(1, sizeof *node);
        if (!node || zhashx_insert(self->nodes, (void *) (uintptr_t) node_id, node) != 0) {
            free(node);
            return -1;
        }
    }
    s_version_t *grown = grow_room(node->v, node->count, &node->cap, sizeof *grown, 2);
    if (!grown)
        return -1;
    node->v = grown;
    size_t at = node->count;
    while (at > 0 && node->v[at - 1].from > valid_from) {
        node->v[at] = node->v[at - 1];
        at--;
    }
    s_version_t *v = &node->v[at];
    v->from = valid_from;
    v->to = valid_to;
    v->n = n;
    memcpy(v->ancestors, ancestors, (size_t) n * sizeof *ancestors);
    v->zone = zone;
    node->count++;
    return 0;
}

int st_tree_close(st_tree_t *self, int64_t node_id, int64_t at)
{
    s_node_t *node = s_node(self, node_id);
    if (!node || node->count == 0 || node->v[node->count - 1].to != INT64_MAX)
        return -1;
    node->v[node->count - 1].to = at;
    return 0;
}

static const s_version_t *s_version_at(const s_node_t *node, int64_t at)
{
    /* few versions per node: the last one is nearly always the answer */
    for (size_t i = node->count; i-- > 0;)
        if (node->v[i].from <= at && at < node->v[i].to)
            return &node->v[i];
    return NULL;
}

int st_tree_ancestors(st_tree_t *self, int64_t node_id, int64_t at,
                      st_anc_t out[ST_TREE_DEPTH])
{
    s_node_t *node = s_node(self, node_id);
    const s_version_t *v = node ? s_version_at(node, at) : NULL;
    if (!v)
        return -1;
    for (int i = 0; i < v->n; i++) {
        out[i].node_id = v->ancestors[i];
        const s_node_t *anc = i == v->n - 1 ? node : s_node(self, v->ancestors[i]);
        const s_version_t *av = anc ? s_version_at(anc, at) : NULL;
        out[i].zone = av ? av->zone : v->zone;    /* an ancestor always has one */
    }
    return v->n;
}

int st_tree_current(const st_tree_t *self, int64_t node_id,
                    int64_t ancestors[ST_TREE_DEPTH], const char **time_zone)
{
    const s_node_t *node = s_node(self, node_id);
    if (!node || node->count == 0 || node->v[node->count - 1].to != INT64_MAX)
        return -1;
    const s_version_t *v = &node->v[node->count - 1];
    memcpy(ancestors, v->ancestors, (size_t) v->n * sizeof *ancestors);
    *time_zone = st_zone_name(v->zone);
    return v->n;
}
