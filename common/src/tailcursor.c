/*  tailcursor: stream positions, committed and pending (tailcursor.h). */
#include "eqms/tailcursor.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"
#include "eqms/text.h"

typedef struct {
    char source[TAILCURSOR_SOURCE_MAX + 1];
    char *stream;
    int64_t committed;
    int64_t position;
} s_cursor_t;

struct tailcursor_t {
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

tailcursor_t *tailcursor_new(void)
{
    tailcursor_t *self = calloc(1, sizeof *self);
    if (!self || !(self->map = zhashx_new())) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->map, s_free);
    return self;
}

void tailcursor_destroy(tailcursor_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->map);
    free(*self_p);
    *self_p = NULL;
}

/* The map key of (source, stream); -1 if it does not fit. */
static int s_key(char key[TAILCURSOR_KEY_MAX + 1], const char *source, const char *stream)
{
    if (strlen(source) > TAILCURSOR_SOURCE_MAX)
        return -1;
    int n = snprintf(key, TAILCURSOR_KEY_MAX + 1, "%s\x1f%s", source, stream);
    return n < 0 || n > TAILCURSOR_KEY_MAX ? -1 : 0;
}

static const s_cursor_t *s_lookup(const tailcursor_t *self, const char *source,
                                  const char *stream)
{
    char key[TAILCURSOR_KEY_MAX + 1];
    if (s_key(key, source, stream) != 0)
        return NULL;
    return zhashx_lookup(self->map, key);
}

int64_t tailcursor_get(const tailcursor_t *self, const char *source, const char *stream)
{
    const s_cursor_t *c = s_lookup(self, source, stream);
    return c ? c->position : 0;
}

int tailcursor_set(tailcursor_t *self, const char *source, const char *stream,
                   int64_t position, bool changed)
{
    char key[TAILCURSOR_KEY_MAX + 1];
    if (s_key(key, source, stream) != 0)
        return -1;
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

size_t tailcursor_count(const tailcursor_t *self)
{
    return zhashx_size(self->map);
}

int tailcursor_each_changed(const tailcursor_t *self, tailcursor_fn *fn, void *arg)
{
    for (s_cursor_t *c = zhashx_first(self->map); c; c = zhashx_next(self->map))
        if (c->position != c->committed) {
            int rc = fn(arg, c->source, c->stream, c->position);
            if (rc)
                return rc;
        }
    return 0;
}

void tailcursor_committed(tailcursor_t *self)
{
    for (s_cursor_t *c = zhashx_first(self->map); c; c = zhashx_next(self->map))
        c->committed = c->position;
}

void tailcursor_rollback(tailcursor_t *self)
{
    for (s_cursor_t *c = zhashx_first(self->map); c; c = zhashx_next(self->map))
        c->position = c->committed;
}

int tailcursor_behind(const tailcursor_t *self, pgstore_t *pg, const char *source,
                      const char *heads_sql, int nparams, const char *const *params,
                      tailcursor_behind_fn *fn, void *arg)
{
    PGresult *res = pgstore_query(pg, heads_sql, nparams, params);
    if (!res)
        return -1;
    int rc = 0;
    if (PQnfields(res) != 2) {
        log_error("tailcursor_heads_invalid", "source=%s reason=\"the heads query must give "
                  "(stream, head), it gave %d columns\"", source, PQnfields(res));
        rc = -1;
    }
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        if (PQgetisnull(res, r, 0) || PQgetisnull(res, r, 1))
            continue;
        const char *stream = PQgetvalue(res, r, 0);
        int64_t head = strtoll(PQgetvalue(res, r, 1), NULL, 10);
        int64_t position = tailcursor_get(self, source, stream);
        if (head > position)
            rc = fn(arg, stream, position, head);
    }
    PQclear(res);
    return rc;
}

int tailcursor_gateway_split(const char *stream, char *gateway, size_t gateway_size,
                             char *incarnation, size_t incarnation_size)
{
    const char *slash = stream ? strrchr(stream, '/') : NULL;
    if (!slash || slash == stream || !slash[1] || (size_t) (slash - stream) >= gateway_size
        || strlen(slash + 1) >= incarnation_size)
        return -1;
    memcpy(gateway, stream, (size_t) (slash - stream));
    gateway[slash - stream] = '\0';
    strcpy(incarnation, slash + 1);
    return 0;
}

int tailcursor_load(tailcursor_t *self, pgstore_t *pg, const char *table)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT source, stream, position FROM %s", table);
    PGresult *res = pgstore_query(pg, sql, 0, NULL);
    if (!res)
        return -1;
    int rc = PQnfields(res) == 3 ? 0 : -1;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++)
        rc = tailcursor_set(self, PQgetvalue(res, r, 0), PQgetvalue(res, r, 1),
                            strtoll(PQgetvalue(res, r, 2), NULL, 10), false);
    PQclear(res);
    return rc;
}

typedef struct {
    pgstore_t *pg;
    char sql[256];
} s_save_t;

static int s_save_one(void *arg, const char *source, const char *stream, int64_t position)
{
    s_save_t *save = arg;
    char pos[TEXT_I64_SIZE];
    text_i64(pos, position);
    const char *params[] = { source, stream, pos };
    return pgstore_exec(save->pg, save->sql, 3, params);
}

int tailcursor_save(const tailcursor_t *self, pgstore_t *pg, const char *table)
{
    s_save_t save = { .pg = pg };
    snprintf(save.sql, sizeof save.sql, "INSERT INTO %s (source, stream, position) "
             "VALUES ($1, $2, $3) ON CONFLICT (source, stream) DO UPDATE SET "
             "position = excluded.position, updated_at = now()", table);
    return tailcursor_each_changed(self, s_save_one, &save);
}
