/*  qm_wire: a request's members read in one pass with yajl (qm_wire.h). */
#include "qm_wire.h"

#include <stdbool.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#include "eqms/utf8.h"

typedef struct {
    qm_wire_t *wire;
    yajl_handle parser;
    int depth;                 /* 1 inside the request object */
    bool keyed;                /* a key waits for its value */
    size_t end;                /* bytes up to the object's '}' */
} s_ctx_t;

const char *qm_wire_keep(qm_wire_t *self, const char *text, size_t len)
{
    if (len >= sizeof self->text - self->used)
        return NULL;
    char *copy = self->text + self->used;
    memcpy(copy, text, len);
    copy[len] = '\0';
    self->used += len + 1;
    return copy;
}

/* The member the last key opened, for its value; NULL (decline) if none. */
static qm_wire_member_t *s_value(s_ctx_t *ctx)
{
    if (ctx->depth != 1 || !ctx->keyed)
        return NULL;
    ctx->keyed = false;
    return &ctx->wire->members[ctx->wire->count - 1];
}

static int s_other(void *arg)
{
    qm_wire_member_t *m = s_value(arg);
    if (!m)
        return 0;
    m->type = QM_WIRE_OTHER;
    return 1;
}

static int s_bool(void *arg, int value)
{
    (void) value;
    return s_other(arg);
}

static int s_double(void *arg, double value)
{
    (void) value;
    return s_other(arg);
}

static int s_integer(void *arg, long long value)
{
    qm_wire_member_t *m = s_value(arg);
    if (!m)
        return 0;
    m->type = QM_WIRE_INT;
    m->num = value;
    return 1;
}

static int s_string(void *arg, const unsigned char *text, size_t len)
{
    s_ctx_t *ctx = arg;
    qm_wire_member_t *m = s_value(ctx);
    if (!m || !(m->str = qm_wire_keep(ctx->wire, (const char *) text, len)))
        return 0;
    m->type = QM_WIRE_STR;
    m->len = len;
    return 1;
}

static int s_start_map(void *arg)
{
    s_ctx_t *ctx = arg;
    return ctx->depth++ == 0;   /* the request itself; a nested object declines */
}

static int s_map_key(void *arg, const unsigned char *key, size_t len)
{
    s_ctx_t *ctx = arg;
    qm_wire_t *w = ctx->wire;
    if (ctx->depth != 1 || w->count == QM_WIRE_MEMBERS_MAX)
        return 0;
    for (size_t i = 0; i < w->count; i++)   /* a duplicate declines */
        if (strlen(w->members[i].key) == len && memcmp(w->members[i].key, key, len) == 0)
            return 0;
    qm_wire_member_t *m = &w->members[w->count];
    if (!(m->key = qm_wire_keep(w, (const char *) key, len)))
        return 0;
    w->count++;
    ctx->keyed = true;
    return 1;
}

static int s_end_map(void *arg)
{
    s_ctx_t *ctx = arg;
    if (--ctx->depth == 0)   /* yajl has lexed up to the '}' */
        ctx->end = yajl_get_bytes_consumed(ctx->parser);
    return 1;
}

static int s_start_array(void *arg)
{
    (void) arg;
    return 0;
}

static const yajl_callbacks s_callbacks = {
    .yajl_null = s_other,
    .yajl_boolean = s_bool,
    .yajl_integer = s_integer,
    .yajl_double = s_double,
    .yajl_string = s_string,
    .yajl_start_map = s_start_map,
    .yajl_map_key = s_map_key,
    .yajl_end_map = s_end_map,
    .yajl_start_array = s_start_array,
};

/* True if text[0..len) is only JSON whitespace. */
static bool s_blank(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r')
            return false;
    return true;
}

int qm_wire_read(qm_wire_t *self, const void *buf, size_t len)
{
    if (!self || !buf || len > QM_REQUEST_MAX_BYTES || memchr(buf, '\\', len)
        || !utf8_valid(buf, len))
        return 0;
    self->count = 0;
    self->used = 0;
    s_ctx_t ctx = { .wire = self };
    if (!(ctx.parser = yajl_alloc(&s_callbacks, NULL, &ctx)))
        return 0;
    bool read = yajl_parse(ctx.parser, buf, len) == yajl_status_ok
                && yajl_complete_parse(ctx.parser) == yajl_status_ok;
    yajl_free(ctx.parser);
    /* Only an object counts (a top-level scalar calls no map callback), and
     * nothing may follow it: yajl lets the start of a token pass there. */
    return read && ctx.depth == 0 && ctx.end > 0 && !ctx.keyed
                   && s_blank((const char *) buf + ctx.end, len - ctx.end) ? 1 : 0;
}
