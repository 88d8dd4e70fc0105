/*  jsonw: a small streaming writer for one JSON object, for hot encode paths.
 *
 *      char buf[1024];
 *      jsonw_t w;
 *      jsonw_init(&w, buf, sizeof buf);        // writes "{"
 *      jsonw_str(&w, "serial", "EQ-B0001-W01");
 *      jsonw_object_begin(&w, "teller_today");
 *      jsonw_int(&w, "total", 10);
 *      jsonw_object_end(&w);
 *      if (jsonw_finish(&w) != 0) ...          // writes "}", checks everything
 *      text = jsonw_text(&w, &len);
 *
 *  The writer holds exactly one JSON object: jsonw_init and jsonw_reset open
 *  it, jsonw_finish closes it. Commas are written automatically. Values are
 *  strings, int64, doubles, booleans, null, nested objects and arrays (whose
 *  elements are written with a NULL key); there is no way
 *  to insert raw text, so whatever a finished writer holds is valid JSON that
 *  jansson decodes with JSON_REJECT_DUPLICATES:
 *    - strings and keys must be valid UTF-8 (no overlongs, no surrogates,
 *      nothing above U+10FFFF); '"', '\' and control characters are escaped
 *      (\b \f \n \r \t, the rest as \u00XX); everything else is copied as is;
 *    - doubles are written in the shortest of %.15g, %.16g, %.17g that reads
 *      back to the same value, with ".0" added when that looks like an integer
 *      (so they decode as reals); NaN and infinities are refused;
 *    - a key already used in the same object is refused;
 *    - objects and arrays nest at most JSONW_MAX_DEPTH deep (the root is
 *      depth 1), and
 *      the objects open at one time hold at most JSONW_MAX_KEYS keys together.
 *
 *  Errors stick: after the first failure (bad argument, invalid UTF-8, NaN,
 *  duplicate key, too deep, too many keys, buffer full) every call does
 *  nothing, and jsonw_finish returns -1. Callers check once, at the end.
 *
 *  Memory: with a caller buffer the writer never allocates and a full buffer
 *  is an error. With buf NULL it owns a heap buffer that grows by realloc up
 *  to `size` bytes; jsonw_reset keeps it, so a reused writer stops
 *  allocating once warm. jsonw_release frees it.
 *
 *  The struct is public so that writers can live on the stack or inside
 *  another struct; its fields are private to jsonw.c. A writer is used by
 *  one thread.
 */
#ifndef EQMS_JSONW_H
#define EQMS_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONW_MAX_DEPTH 16    /* nesting levels, the root included */
#define JSONW_MAX_KEYS  128   /* keys of all open objects together */

/* What went wrong first (jsonw_error). */
typedef enum {
    JSONW_OK = 0,
    JSONW_ERR_ARG,        /* NULL key or value, writer finished, unbalanced */
    JSONW_ERR_UTF8,       /* a key or string is not valid UTF-8 */
    JSONW_ERR_NUMBER,     /* NaN or infinity */
    JSONW_ERR_DUPLICATE,  /* key already used in this object */
    JSONW_ERR_DEPTH,      /* deeper than JSONW_MAX_DEPTH */
    JSONW_ERR_KEYS,       /* more than JSONW_MAX_KEYS open keys */
    JSONW_ERR_FULL        /* buffer full, or growth failed or hit the limit */
} jsonw_error_t;

typedef struct {
    char *buf;
    size_t len;           /* bytes written (room for a NUL is kept after them) */
    size_t cap;           /* bytes allocated or given */
    size_t max;           /* growable: limit of cap; fixed: cap */
    bool owned;           /* buf is ours and grows */
    bool first;           /* next member is the first of its object */
    bool finished;
    jsonw_error_t error;
    int depth;            /* open objects and arrays, the root included */
    uint16_t arrays;      /* bit d set: level d is an array */
    uint16_t keys;        /* entries used in key[] */
    uint16_t level_keys[JSONW_MAX_DEPTH];   /* key[] index where a level starts */
    uint64_t level_seen[JSONW_MAX_DEPTH];   /* a level's key hashes, a bit each */
    struct {
        uint32_t off;     /* escaped key text in buf */
        uint32_t len;
    } key[JSONW_MAX_KEYS];
} jsonw_t;

/* Starts a writer and opens the root object. With `buf`, writes into its
 * `size` bytes and never allocates (size must be at least 3 for "{}" and the
 * NUL, or the writer starts in error). With buf NULL, allocates and grows its
 * own buffer up to `size` bytes (0 = 64 KiB); call jsonw_release when done. */
void jsonw_init(jsonw_t *self, char *buf, size_t size);

/* Empties the writer, clears the error and opens a new root object, keeping
 * the buffer (and the heap buffer's capacity). */
void jsonw_reset(jsonw_t *self);

/* Frees an owned buffer; the writer must be initialised again before use.
 * Does nothing for a caller buffer. Accepts NULL. */
void jsonw_release(jsonw_t *self);

/* Members of the current object, or (key NULL) elements of the current
 * array. `key` and `value` are NUL-terminated UTF-8. A key inside an array,
 * or none inside an object, is an error. They do nothing once the writer
 * is in error. */
void jsonw_str(jsonw_t *self, const char *key, const char *value);
void jsonw_int(jsonw_t *self, const char *key, int64_t value);
void jsonw_double(jsonw_t *self, const char *key, double value);
void jsonw_bool(jsonw_t *self, const char *key, bool value);
void jsonw_null(jsonw_t *self, const char *key);

/* Opens a nested object as member `key`; jsonw_object_end closes it.
 * Closing the root is jsonw_finish's job: object_end there is an error. */
void jsonw_object_begin(jsonw_t *self, const char *key);
void jsonw_object_end(jsonw_t *self);

/* Opens an array as member `key` (NULL: as an element of an array);
 * jsonw_array_end closes it. Arrays and objects nest in any order. */
void jsonw_array_begin(jsonw_t *self, const char *key);
void jsonw_array_end(jsonw_t *self);

/* Closes the root object. Returns 0, or -1 if any call failed or nested
 * objects are still open (the writer is then in error). */
int jsonw_finish(jsonw_t *self);

/* The finished text (NUL-terminated, owned by the writer, valid until the
 * next reset/release) with its length in *len, or NULL unless the writer
 * was finished without error. */
const char *jsonw_text(const jsonw_t *self, size_t *len);

/* The first error, JSONW_OK if none. */
jsonw_error_t jsonw_error(const jsonw_t *self);

#endif
