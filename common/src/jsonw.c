/*  jsonw: streaming JSON object writer with sticky errors (jsonw.h). */
#include "eqms/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/text.h"
#include "eqms/utf8.h"

#define JSONW_HEAP_DEFAULT (64 * 1024)
#define JSONW_HEAP_FIRST   512

static void s_fail(jsonw_t *self, jsonw_error_t error)
{
    if (self->error == JSONW_OK)
        self->error = error;
}

/* Makes room for `n` more bytes plus the trailing NUL. 0, or -1 (error set). */
static int s_reserve(jsonw_t *self, size_t n)
{
    if (self->len + n + 1 <= self->cap)
        return 0;
    if (!self->owned || self->len + n + 1 > self->max) {
        s_fail(self, JSONW_ERR_FULL);
        return -1;
    }
    size_t cap = self->cap ? self->cap : JSONW_HEAP_FIRST;
    while (cap < self->len + n + 1)
        cap *= 2;
    if (cap > self->max)
        cap = self->max;
    char *buf = realloc(self->buf, cap);
    if (!buf) {
        s_fail(self, JSONW_ERR_FULL);
        return -1;
    }
    self->buf = buf;
    self->cap = cap;
    return 0;
}

/* Appends bytes the caller has reserved room for. The NUL after them is
 * written by jsonw_finish. */
static void s_put(jsonw_t *self, const char *bytes, size_t n)
{
    memcpy(self->buf + self->len, bytes, n);
    self->len += n;
}

static int s_append(jsonw_t *self, const char *bytes, size_t n)
{
    if (s_reserve(self, n) != 0)
        return -1;
    s_put(self, bytes, n);
    return 0;
}

/* One byte: the separators and brackets. */
static int s_append1(jsonw_t *self, char c)
{
    if (s_reserve(self, 1) != 0)
        return -1;
    self->buf[self->len++] = c;
    return 0;
}

/* Byte classes for strings: 0 copied as is (printable ASCII but '"' and
 * '\\'), 1 the end or an escape (NUL, control characters, '"', '\\'), 2 the
 * lead of a multi-byte UTF-8 sequence (or an invalid byte). */
#define S_ROW(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
static const unsigned char s_class[256] = {
    S_ROW(1), S_ROW(1),                                        /* 0x00 - 0x1f */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,            /* 0x22 '"' */
    S_ROW(0), S_ROW(0),
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,            /* 0x5c '\\' */
    S_ROW(0), S_ROW(0),
    S_ROW(2), S_ROW(2), S_ROW(2), S_ROW(2), S_ROW(2), S_ROW(2), S_ROW(2), S_ROW(2),
};
#undef S_ROW

/* Length of the longest prefix of the NUL-terminated s that is copied as
 * is: printable ASCII but '"' and '\\', and valid multi-byte UTF-8. */
static size_t s_clean_run(const unsigned char *s)
{
    size_t run = 0;
    for (;;) {
        while (s_class[s[run]] == 0)
            run++;
        if (s_class[s[run]] == 1)
            return run;
        size_t k = utf8_seq_len(s + run, SIZE_MAX);   /* stops at the NUL */
        if (k == 0)
            return run;
        run += k;
    }
}

/* Appends `text` quoted and escaped; on success the escaped body (without
 * quotes) is at *off, *len. 0, or -1 (error set). Text that needs no
 * escaping (most of it) is copied at once. */
static int s_string(jsonw_t *self, const char *text, size_t *off, size_t *len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *) text;
    size_t run = s_clean_run(s);
    if (s_reserve(self, run + 2) != 0)
        return -1;
    self->buf[self->len++] = '"';
    *off = self->len;
    s_put(self, text, run);
    s += run;
    while (*s) {
        unsigned char c = *s;
        if (c >= 0x80) {   /* the run stopped at an invalid sequence */
            s_fail(self, JSONW_ERR_UTF8);
            return -1;
        }
        char esc[6] = { '\\', 0, 0, 0, 0, 0 };
        size_t n = 2;
        switch (c) {
        case '"':  esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xf];
            n = 6;
        }
        if (s_append(self, esc, n) != 0)
            return -1;
        s++;
        run = s_clean_run(s);
        if (s_append(self, (const char *) s, run) != 0)
            return -1;
        s += run;
    }
    *len = self->len - *off;
    return s_append1(self, '"');
}

/* A key's bit in its level's filter: from its length and end bytes, which
 * tell most keys of an object apart (a shared bit only costs a compare). */
static unsigned s_key_bit(const char *key, size_t len)
{
    unsigned first = (unsigned char) key[0], last = (unsigned char) key[len ? len - 1 : 0];
    return (unsigned) (len * 7 + first * 3 + last) & 63;
}

/* True if the innermost open level is an array. */
static bool s_in_array(const jsonw_t *self)
{
    return self->depth >= 1 && (self->arrays >> (self->depth - 1) & 1u);
}

/* Writes the separator and `"key":` of a new member of the current object,
 * or the separator of a new element of the current array (key NULL).
 * 0, or -1 if the writer is (now) in error. */
static int s_key(jsonw_t *self, const char *key)
{
    if (self->error != JSONW_OK)
        return -1;
    if (self->finished || self->depth < 1 || !key != s_in_array(self)) {
        s_fail(self, JSONW_ERR_ARG);
        return -1;
    }
    if (!key) {
        if (!self->first && s_append1(self, ',') != 0)
            return -1;
        self->first = false;
        return 0;
    }
    if (self->keys >= JSONW_MAX_KEYS) {
        s_fail(self, JSONW_ERR_KEYS);
        return -1;
    }
    size_t off, len = s_clean_run((const unsigned char *) key);
    if (!key[len]) {
        /* Nothing to escape (nearly every key): one reserve, one copy. */
        if (s_reserve(self, len + 4) != 0)
            return -1;
        if (!self->first)
            self->buf[self->len++] = ',';
        self->buf[self->len++] = '"';
        off = self->len;
        s_put(self, key, len);
        self->buf[self->len++] = '"';
        self->buf[self->len++] = ':';
    } else if ((!self->first && s_append1(self, ',') != 0)
               || s_string(self, key, &off, &len) != 0 || s_append1(self, ':') != 0) {
        return -1;
    }
    /* Escaping is one-to-one, so equal escaped text means an equal key.
     * The level's filter of key hashes spares the comparisons for a key
     * whose hash bit is not set yet (most). */
    uint64_t bit = UINT64_C(1) << s_key_bit(self->buf + off, len);
    uint64_t *seen = &self->level_seen[self->depth - 1];
    bool maybe = *seen & bit;
    *seen |= bit;
    for (uint16_t i = self->level_keys[self->depth - 1]; maybe && i < self->keys; i++) {
        if (self->key[i].len == len
            && memcmp(self->buf + self->key[i].off, self->buf + off, len) == 0) {
            s_fail(self, JSONW_ERR_DUPLICATE);
            return -1;
        }
    }
    if (off > UINT32_MAX || len > UINT32_MAX) {
        s_fail(self, JSONW_ERR_FULL);
        return -1;
    }
    self->key[self->keys].off = (uint32_t) off;
    self->key[self->keys].len = (uint32_t) len;
    self->keys++;
    self->first = false;
    return 0;
}

static void s_open_root(jsonw_t *self)
{
    self->len = 0;
    self->error = JSONW_OK;
    self->finished = false;
    self->depth = 1;
    self->arrays = 0;
    self->keys = 0;
    self->level_keys[0] = 0;
    self->level_seen[0] = 0;
    self->first = true;
    s_append1(self, '{');
}

void jsonw_init(jsonw_t *self, char *buf, size_t size)
{
    self->buf = buf;
    self->owned = buf == NULL;
    self->cap = buf ? size : 0;
    self->max = buf ? size : size ? size : JSONW_HEAP_DEFAULT;
    s_open_root(self);
    if (buf && size < 3)   /* room for "{}" and the NUL, or nothing works */
        s_fail(self, JSONW_ERR_FULL);
}

void jsonw_reset(jsonw_t *self)
{
    s_open_root(self);
    if (!self->owned && self->cap < 3)
        s_fail(self, JSONW_ERR_FULL);
}

void jsonw_release(jsonw_t *self)
{
    if (!self)
        return;
    if (self->owned)
        free(self->buf);
    self->buf = NULL;
    self->cap = 0;
    self->len = 0;
    self->error = JSONW_ERR_ARG;
}

void jsonw_str(jsonw_t *self, const char *key, const char *value)
{
    if (!value) {
        s_fail(self, JSONW_ERR_ARG);
        return;
    }
    size_t off, len;
    if (s_key(self, key) == 0)
        s_string(self, value, &off, &len);
}

void jsonw_int(jsonw_t *self, const char *key, int64_t value)
{
    if (s_key(self, key) != 0)
        return;
    char digits[TEXT_I64_SIZE];
    s_append(self, digits, text_i64(digits, value));
}

void jsonw_double(jsonw_t *self, const char *key, double value)
{
    if (self->error == JSONW_OK && !isfinite(value)) {
        s_fail(self, JSONW_ERR_NUMBER);
        return;
    }
    if (s_key(self, key) != 0)
        return;
    char text[40];
    int n = 0;
    /* Integral values (scores, counts) the cheap way: digits and ".0". */
    if (value >= -9007199254740992.0 && value <= 9007199254740992.0
        && value == (double) (int64_t) value) {
        int64_t i = (int64_t) value;
        size_t len = 0;
        if (i == 0 && signbit(value))   /* -0.0 */
            text[len++] = '-';
        len += text_i64(text + len, i);
        memcpy(text + len, ".0", 2);
        s_append(self, text, len + 2);
        return;
    }
    for (int precision = 15; precision <= 17; precision++) {
        n = snprintf(text, sizeof text, "%.*g", precision, value);
        if (precision == 17 || strtod(text, NULL) == value)
            break;
    }
    if (n <= 0 || (size_t) n >= sizeof text - 2) {
        s_fail(self, JSONW_ERR_NUMBER);
        return;
    }
    /* %g follows the locale's decimal point; JSON wants '.'. */
    char *comma = strchr(text, ',');
    if (comma)
        *comma = '.';
    /* "4" or "-0" would decode as integers: keep them reals. */
    if (!strpbrk(text, ".eE")) {
        memcpy(text + n, ".0", 3);
        n += 2;
    }
    s_append(self, text, (size_t) n);
}

void jsonw_bool(jsonw_t *self, const char *key, bool value)
{
    if (s_key(self, key) == 0)
        s_append(self, value ? "true" : "false", value ? 4 : 5);
}

void jsonw_null(jsonw_t *self, const char *key)
{
    if (s_key(self, key) == 0)
        s_append(self, "null", 4);
}

/* Opens a nested object ("{") or array ("[") as member `key`. */
static void s_open(jsonw_t *self, const char *key, bool array)
{
    if (self->error == JSONW_OK && self->depth >= JSONW_MAX_DEPTH) {
        s_fail(self, JSONW_ERR_DEPTH);
        return;
    }
    if (s_key(self, key) != 0 || s_append1(self, array ? '[' : '{') != 0)
        return;
    self->level_keys[self->depth] = self->keys;
    self->level_seen[self->depth] = 0;
    self->arrays = (uint16_t) ((self->arrays & ~(1u << self->depth))
                               | (unsigned) array << self->depth);
    self->depth++;
    self->first = true;
}

/* Closes the innermost level, which must be an object (or an array). */
static void s_close(jsonw_t *self, bool array)
{
    if (self->error != JSONW_OK)
        return;
    if (self->finished || self->depth < 2 || s_in_array(self) != array) {
        s_fail(self, JSONW_ERR_ARG);
        return;
    }
    if (s_append1(self, array ? ']' : '}') != 0)
        return;
    self->depth--;
    self->keys = self->level_keys[self->depth];   /* forget the inner keys */
    self->first = false;   /* the closed level was a member of its parent */
}

void jsonw_object_begin(jsonw_t *self, const char *key)
{
    s_open(self, key, false);
}

void jsonw_object_end(jsonw_t *self)
{
    s_close(self, false);
}

void jsonw_array_begin(jsonw_t *self, const char *key)
{
    s_open(self, key, true);
}

void jsonw_array_end(jsonw_t *self)
{
    s_close(self, true);
}

int jsonw_finish(jsonw_t *self)
{
    if (self->error != JSONW_OK)
        return -1;
    if (self->finished || self->depth != 1) {
        s_fail(self, JSONW_ERR_ARG);
        return -1;
    }
    if (s_append1(self, '}') != 0)
        return -1;
    self->buf[self->len] = '\0';   /* s_reserve keeps room for it */
    self->depth = 0;
    self->finished = true;
    return 0;
}

const char *jsonw_text(const jsonw_t *self, size_t *len)
{
    if (self->error != JSONW_OK || !self->finished)
        return NULL;
    *len = self->len;
    return self->buf;
}

jsonw_error_t jsonw_error(const jsonw_t *self)
{
    return self->error;
}
