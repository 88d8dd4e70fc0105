/*  qm_wire: a request's members read in one pass with yajl, the fast path
 *  of qm_request_decode.
 *
 *      qm_wire_t wire;
 *      if (qm_wire_read(&wire, buf, len) == 1)      // read: members in order
 *          ... wire.members[0 .. wire.count) ...
 *      else                                          // declined: use jansson
 *
 *  jansson's json_loadb cost about 20,000 instructions per request (a hash
 *  table, an allocation per key and string, a byte at a time). Requests are
 *  flat objects of integers and strings, which yajl's event parser reads
 *  without building a tree.
 *
 *  It reads only what jansson (json_loadb with JSON_REJECT_DUPLICATES) would
 *  read the same way: a JSON object of at most QM_WIRE_MEMBERS_MAX members
 *  whose values are scalars, in valid UTF-8 without a single backslash
 *  anywhere (so no escape needs decoding), without duplicate keys. It
 *  declines everything else, and the caller decodes that with jansson,
 *  whose reasons the client then gets. Each member keeps its key and value
 *  as jansson would give them: integers as int64, strings as NUL-terminated
 *  copies; null, booleans and reals only as "other".
 */
#ifndef QM_WIRE_H
#define QM_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "qm_request.h"

#define QM_WIRE_MEMBERS_MAX 24

typedef enum { QM_WIRE_INT, QM_WIRE_STR, QM_WIRE_OTHER } qm_wire_type_t;

typedef struct {
    const char *key;          /* NUL-terminated, in qm_wire_t.text */
    qm_wire_type_t type;
    const char *str;          /* QM_WIRE_STR: NUL-terminated, in qm_wire_t.text */
    size_t len;               /* its length */
    int64_t num;              /* QM_WIRE_INT */
} qm_wire_member_t;

typedef struct {
    qm_wire_member_t members[QM_WIRE_MEMBERS_MAX];
    size_t count;
    char text[QM_REQUEST_MAX_BYTES + 2 * QM_WIRE_MEMBERS_MAX];   /* keys and strings */
    size_t used;
} qm_wire_t;

/* Reads the request text buf[0..len) (len <= QM_REQUEST_MAX_BYTES) into
 * `self`. Returns 1 if read, 0 if declined (self is then undefined). */
int qm_wire_read(qm_wire_t *self, const void *buf, size_t len);

/* Appends a copy of text[0..len) and a NUL to self->text; returns the copy,
 * or NULL if there is no room. For the callers' own member lists. */
const char *qm_wire_keep(qm_wire_t *self, const char *text, size_t len);

#endif
