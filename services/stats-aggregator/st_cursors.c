/*  st_cursors: stream positions, committed and pending (st_cursors.h). */
#include "st_cursors.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char source[16];
    char *stream;
    int64_t committed;
    int64_t position;
} s_cursor_t;

struct st_cursors_t {
    zhashx_t *map;             /* "source\x1fstream" -> s_cursor_t */
};

static void s_free(void **item)
{
    if (item && *item) {
        s_cursor_t *c = *item;
        free(c->stream);
        free(c);
        *item = NULL;
    }
}

st_cursors_t *st_cursors_new(void)
{
    st_cursors_t *self = calloc(1, sizeof *self);
    if (!self || !(self->map = zhashx_new())) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->map, s_free);
    return self;
}

void st_cursors_destroy(st_cursors_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->map);
    free(*self_p);
    *self_p = NULL;
}

static void s_key(char *key, size_t size, const char *source, const char *stream)
{
    snprintf(key, size, "%s\x1f%s", source, stream);
}

int64_t st_cursors_get(const st_cursors_t *self, const char *source, const char *stream)
{
    char key[256];
    s_key(key, sizeof key, source, stream);
    const s_cursor_t *c = zhashx_lookup(self->map, key);
    return c ? c->position : 0;
}

int st_cursors_set(st_cursors_t *self, const char *source, const char *stream,
                   int64_t position, bool changed)
{
    char key[256];
    s_key(key, sizeof key, source, stream);
    s_cursor_t *c = zhashx_lookup(self->map, key);
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c || !(c->stream = strdup(stream))) {
            free(c);
            return -1;
        }
        snprintf(c->source, sizeof c->source, "%s", source);
        if (zhashx_insert(self->map, key, c) != 0) {
            s_free((void **) &c);
            return -1;
        }
    }
    c->position = position;
    if (!changed)
        c->committed = position;
    return 0;
}

int st_cursors_each_changed(const st_cursors_t *self, st_cursor_fn *fn, void *arg)
{
    for (s_cursor_t *c = zhashx_first(self->map); c; c = zhashx_next(self->map))
        if (c->position != c->committed) {
            int rc = fn(arg, c->source, c->stream, c->position);
            if (rc)
                return rc;
        }
    return 0;
}

void st_cursors_committed(st_cursors_t *self)
{
    for (s_cursor_t *c = zhashx_first(self->map); c; c = zhashx_next(self->map))
        c->committed = c->position;
}

void st_cursors_rollback(st_cursors_t *self)
{
    for (s_cursor_t *c = zhashx_first(self->map); c; c = zhashx_next(self->map))
        c->position = c->committed;
}
