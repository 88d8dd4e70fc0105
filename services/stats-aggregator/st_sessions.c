/*  st_sessions: open staff sessions (st_sessions.h). */
#include "st_sessions.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t branch_id;
    bool committed_open;        /* as the table has it */
    bool open;                  /* as it is now */
} s_session_t;

struct st_sessions_t {
    zhashx_t *map;              /* id -> s_session_t */
};

static void s_free(void **item)
{
    free(*item);
    *item = NULL;
}

st_sessions_t *st_sessions_new(void)
{
    st_sessions_t *self = calloc(1, sizeof *self);
    if (!self || !(self->map = zhashx_new())) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->map, s_free);
    return self;
}

void st_sessions_destroy(st_sessions_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->map);
    free(*self_p);
    *self_p = NULL;
}

int st_sessions_open(st_sessions_t *self, const char *id, int64_t branch_id, bool loaded)
{
    s_session_t *s = zhashx_lookup(self->map, id);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s || zhashx_insert(self->map, id, s) != 0) {
            free(s);
            return -1;
        }
    }
    s->branch_id = branch_id;
    s->open = true;
    if (loaded)
        s->committed_open = true;
    return 0;
}

void st_sessions_close(st_sessions_t *self, const char *id)
{
    s_session_t *s = zhashx_lookup(self->map, id);
    if (s)
        s->open = false;
}

bool st_sessions_has(const st_sessions_t *self, const char *id)
{
    const s_session_t *s = zhashx_lookup(self->map, id);
    return s && s->open;
}

size_t st_sessions_count(const st_sessions_t *self)
{
    size_t n = 0;
    for (s_session_t *s = zhashx_first(self->map); s; s = zhashx_next(self->map))
        n += s->open;
    return n;
}

char *st_sessions_ids(const st_sessions_t *self)
{
    size_t n = zhashx_size(self->map);
    char *out = malloc(n * 37 + 3);
    if (!out)
        return NULL;
    size_t len = 0;
    out[len++] = '{';
    for (s_session_t *s = zhashx_first(self->map); s; s = zhashx_next(self->map)) {
        if (!s->open)
            continue;
        const char *id = zhashx_cursor(self->map);
        if (len > 1)
            out[len++] = ',';
        size_t l = strlen(id);
        memcpy(out + len, id, l);
        len += l;
    }
    out[len++] = '}';
    out[len] = '\0';
    return out;
}

int st_sessions_each_change(const st_sessions_t *self, st_session_fn *fn, void *arg)
{
    for (s_session_t *s = zhashx_first(self->map); s; s = zhashx_next(self->map))
        if (s->open != s->committed_open) {
            int rc = fn(arg, zhashx_cursor(self->map), s->branch_id, s->open);
            if (rc)
                return rc;
        }
    return 0;
}

/* Makes the table's view and the present one agree (committed: the
 * present one wins; else the table's) and forgets the closed sessions. */
static void s_settle(st_sessions_t *self, bool committed)
{
    zlistx_t *gone = zlistx_new();
    for (s_session_t *s = zhashx_first(self->map); s; s = zhashx_next(self->map)) {
        if (committed)
            s->committed_open = s->open;
        else
            s->open = s->committed_open;
        if (!s->open && gone)
            zlistx_add_end(gone, (void *) zhashx_cursor(self->map));
    }
    for (const char *id = gone ? zlistx_first(gone) : NULL; id; id = zlistx_next(gone))
        zhashx_delete(self->map, id);
    zlistx_destroy(&gone);
}

void st_sessions_committed(st_sessions_t *self)
{
    s_settle(self, true);
}

void st_sessions_rollback(st_sessions_t *self)
{
    s_settle(self, false);
}
