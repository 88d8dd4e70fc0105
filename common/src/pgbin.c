/*  pgbin: parameter values in PostgreSQL's binary wire format (pgbin.h). */
#include "eqms/pgbin.h"

#include <stdlib.h>
#include <string.h>

/* Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01 UTC. */
#define S_PG_EPOCH_US INT64_C(946684800000000)

void pgbin_init(pgbin_t *b)
{
    memset(b, 0, sizeof *b);
    b->array_at = SIZE_MAX;
    b->record_at = SIZE_MAX;
}

void pgbin_reset(pgbin_t *b)
{
    b->len = 0;
    b->failed = false;
    b->array_at = SIZE_MAX;
    b->array_count = 0;
    b->array_nulls = false;
    b->record_at = SIZE_MAX;
    b->record_columns = 0;
}

void pgbin_release(pgbin_t *b)
{
    free(b->data);
    pgbin_init(b);
}

/* Room for n more bytes; false (and failed) if it cannot be had. */
static bool s_room(pgbin_t *b, size_t n)
{
    if (b->failed)
        return false;
    if (b->len + n <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n)
        cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) {
        b->failed = true;
        return false;
    }
    b->data = data;
    b->cap = cap;
    return true;
}

static void s_put32(char *at, uint32_t v)
{
    at[0] = (char) (v >> 24);
    at[1] = (char) (v >> 16);
    at[2] = (char) (v >> 8);
    at[3] = (char) v;
}

static void s_u32(pgbin_t *b, uint32_t v)
{
    if (s_room(b, 4)) {
        s_put32(b->data + b->len, v);
        b->len += 4;
    }
}

static void s_u64(pgbin_t *b, uint64_t v)
{
    s_u32(b, (uint32_t) (v >> 32));
    s_u32(b, (uint32_t) v);
}

/* Starts a value of type `oid` and byte length `len` (-1: NULL) in the
 * innermost open container. False if there is none (then failed). */
static bool s_value(pgbin_t *b, uint32_t oid, int32_t len)
{
    if (b->failed)
        return false;
    if (b->record_at != SIZE_MAX) {
        s_u32(b, oid);
        b->record_columns++;
    } else if (b->array_at != SIZE_MAX) {
        b->array_count++;
        b->array_nulls |= len < 0;
    } else {
        b->failed = true;
        return false;
    }
    s_u32(b, (uint32_t) len);
    return !b->failed;
}

void pgbin_array_begin(pgbin_t *b, uint32_t element_oid)
{
    if (b->failed || b->array_at != SIZE_MAX || b->record_at != SIZE_MAX) {
        b->failed = true;
        return;
    }
    b->array_at = b->len;
    b->array_count = 0;
    b->array_nulls = false;
    s_u32(b, 1);            /* dimensions */
    s_u32(b, 0);            /* has nulls: set at the end */
    s_u32(b, element_oid);
    s_u32(b, 0);            /* length: set at the end */
    s_u32(b, 1);            /* lower bound */
}

void pgbin_array_end(pgbin_t *b)
{
    if (b->failed || b->array_at == SIZE_MAX || b->record_at != SIZE_MAX) {
        b->failed = true;
        return;
    }
    s_put32(b->data + b->array_at + 4, b->array_nulls ? 1 : 0);
    s_put32(b->data + b->array_at + 12, (uint32_t) b->array_count);
    b->array_at = SIZE_MAX;
}

void pgbin_record_begin(pgbin_t *b)
{
    /* Records are sent only as array elements. */
    if (b->failed || b->record_at != SIZE_MAX || b->array_at == SIZE_MAX) {
        b->failed = true;
        return;
    }
    b->array_count++;
    b->record_at = b->len;
    s_u32(b, 0);    /* element length: set at the end */
    s_u32(b, 0);    /* columns: set at the end */
    b->record_columns = 0;
}

void pgbin_record_end(pgbin_t *b)
{
    if (b->failed || b->record_at == SIZE_MAX) {
        b->failed = true;
        return;
    }
    size_t body = b->len - b->record_at - 4;
    if (body > INT32_MAX) {
        b->failed = true;
        return;
    }
    s_put32(b->data + b->record_at, (uint32_t) body);
    s_put32(b->data + b->record_at + 4, (uint32_t) b->record_columns);
    b->record_at = SIZE_MAX;
}

void pgbin_null(pgbin_t *b, uint32_t oid)
{
    s_value(b, oid, -1);
}

void pgbin_int4(pgbin_t *b, int32_t value)
{
    if (s_value(b, PGBIN_INT4, 4))
        s_u32(b, (uint32_t) value);
}

void pgbin_int8(pgbin_t *b, int64_t value)
{
    if (s_value(b, PGBIN_INT8, 8))
        s_u64(b, (uint64_t) value);
}

void pgbin_text(pgbin_t *b, const char *text)
{
    if (!text) {
        pgbin_null(b, PGBIN_TEXT);
        return;
    }
    size_t n = strlen(text);
    if (n > INT32_MAX) {
        b->failed = true;
        return;
    }
    if (s_value(b, PGBIN_TEXT, (int32_t) n) && s_room(b, n)) {
        memcpy(b->data + b->len, text, n);
        b->len += n;
    }
}

void pgbin_timestamptz_ms(pgbin_t *b, int64_t unix_ms)
{
    if (s_value(b, PGBIN_TIMESTAMPTZ, 8))
        s_u64(b, (uint64_t) (unix_ms * 1000 - S_PG_EPOCH_US));
}

static int s_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void pgbin_uuid(pgbin_t *b, const char *text)
{
    unsigned char bytes[16];
    size_t i = 0, n = 0;
    for (; text && text[i] && n < 16; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-')
                break;
            continue;
        }
        int hi = s_hex(text[i]), lo = text[i + 1] ? s_hex(text[i + 1]) : -1;
        if (hi < 0 || lo < 0)
            break;
        bytes[n++] = (unsigned char) (hi << 4 | lo);
        i++;
    }
    if (!text || n != 16 || i != 36 || text[i] != '\0') {
        b->failed = true;
        return;
    }
    if (s_value(b, PGBIN_UUID, 16) && s_room(b, 16)) {
        memcpy(b->data + b->len, bytes, 16);
        b->len += 16;
    }
}

int pgbin_finish(pgbin_t *b, const char **data, size_t *len)
{
    if (b->failed || b->array_at != SIZE_MAX || b->record_at != SIZE_MAX || b->len == 0)
        return -1;
    *data = b->data;
    *len = b->len;
    return 0;
}
