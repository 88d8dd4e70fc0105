/*  envelope: the bus envelope codec (docs/protocol.md, "Envelope").
 *
 *  {"v":1,"id":"<uuid v7>","type":"rating.submitted","ts":"2026-11-22T13:09:00.123Z",
 *   "src":"device-gateway.b0042","seq":42,"data":{...}}
 *
 *  Decoding is strict: valid UTF-8 JSON, at most ENVELOPE_MAX_BYTES, exactly
 *  these seven members with these types, version 1, a UUIDv7 id (version 7,
 *  variant 10: any other UUID is refused), a well-formed type, timestamp and
 *  source. Anything else is rejected with a reason.
 */
#ifndef EQMS_ENVELOPE_H
#define EQMS_ENVELOPE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/id.h"
#include "eqms/jsonw.h"

#define ENVELOPE_VERSION   1
#define ENVELOPE_MAX_BYTES (64 * 1024)
#define ENVELOPE_TYPE_MAX  64    /* longest type, e.g. "rating.submitted" */
#define ENVELOPE_SRC_MAX   64    /* longest producer id */
#define ENVELOPE_TOPIC_MAX 255   /* longest topic: type "." org-path */
#define ENVELOPE_REASON_SIZE 160 /* room for a rejection reason */

typedef struct {
    char id[ID_SIZE];
    char type[ENVELOPE_TYPE_MAX + 1];
    int64_t ts_ms;                 /* UTC ms */
    char src[ENVELOPE_SRC_MAX + 1];
    int64_t seq;                   /* producer sequence, >= 0 */
    json_t *data;                  /* owned; always a JSON object */
} envelope_t;

/* New envelope with a fresh id and the current time. Takes ownership of
 * *data_p (which must be an object) and sets it to NULL, also on failure.
 * Returns NULL if type or src is malformed or data is not an object. */
envelope_t *envelope_new(const char *type, const char *src, int64_t seq,
                         json_t **data_p);

/* Decodes one envelope. Returns NULL with a reason in `reason` on rejection. */
envelope_t *envelope_decode(const void *buf, size_t len,
                            char reason[ENVELOPE_REASON_SIZE]);

/* Encodes compactly. Returns a malloc'd NUL-terminated string the caller
 * frees, with its length in *len; NULL if it would exceed ENVELOPE_MAX_BYTES. */
char *envelope_encode(const envelope_t *self, size_t *len);

/* Encodes a new envelope straight to text, for hot paths: a fresh id, the
 * current time, and `data`, a writer that jsonw_finish closed without error,
 * as the data member; no jansson objects are built. Validates type, src and
 * seq as envelope_new does and the size as envelope_encode does. Returns a
 * malloc'd NUL-terminated string the caller frees, with its length in *len
 * and the id copied to id_out if that is not NULL; NULL if an argument is
 * malformed, `data` is unfinished or in error, the result would exceed
 * ENVELOPE_MAX_BYTES, or memory or randomness ran out. Members come in
 * envelope_encode's order; envelope_decode accepts whatever this returns. */
char *envelope_encode_jsonw(const char *type, const char *src, int64_t seq,
                            const jsonw_t *data, size_t *len, char id_out[ID_SIZE]);

void envelope_destroy(envelope_t **self_p);

/* Writes a rejection reason (printf-style, cut to fit) and returns -1: the
 * one way decoders of bus data report why they refused something. */
int envelope_reject(char reason[ENVELOPE_REASON_SIZE], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Type grammar: 1..4 dot-separated segments of [a-z][a-z0-9_]*. */
int envelope_type_valid(const char *type);

/* Producer id grammar (src): 1..ENVELOPE_SRC_MAX of [A-Za-z0-9._:-]. */
int envelope_src_valid(const char *src);

/* Org-path grammar: 1..16 dot-separated segments of [a-z0-9_]{1,32}. */
int envelope_org_path_valid(const char *path, size_t len);

/* Checks that `topic` (len bytes, not NUL-terminated) is `type` "." org-path.
 * Returns 0, or -1 with a reason. */
int envelope_topic_check(const char *topic, size_t len, const char *type,
                         char reason[ENVELOPE_REASON_SIZE]);

#endif
