/*  jsonreq: strict decoding of a JSON request body against a table of
 *  member specs.
 *
 *      static const char *const s_kinds[] = { "branch", "region", NULL };
 *      static const jsonreq_member_t s_members[] = {
 *          { "name", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
 *          { "kind", JSONREQ_STRING, JSONREQ_REQUIRED, .one_of = s_kinds },
 *          { "limit", JSONREQ_INTEGER, JSONREQ_OPTIONAL, .min = 1, .max = 500 },
 *          { .name = "enabled", .type = JSONREQ_BOOLEAN },   // optional, no range
 *      };
 *      static const jsonreq_object_t s_spec = JSONREQ_OBJECT_OF(s_members);
 *      jsonreq_errors_t errors;
 *      json_t *body = jsonreq_decode(text, len, &s_spec, &errors);
 *      if (!body) ... problem_reply_invalid(reply, path, &errors) ...
 *
 *  Refused, each with the member named and the rule it broke
 *  ("name": must be a string of 1..64 characters): text that is not JSON
 *  (jansson's parser: invalid UTF-8, \u0000, trailing text, integers beyond
 *  int64), a duplicate key at any depth, a body that is not an object, a
 *  member the spec does not name, a wrong type (1.0 is not an integer; null
 *  only where the spec says JSONREQ_NULLABLE), a value out of its range or
 *  not one of its allowed strings, a required member missing. Nested
 *  objects and array elements are checked by their own specs and named as
 *  "window.id" and "scopes[2]".
 *
 *  (A row written with only positional fields trips -Wmissing-field-
 *  initializers: name the fields, as "enabled" does, where nothing follows
 *  the flags.)
 *
 *  Ranges: `min` and `max` both 0 means no bound; INT64_MIN or INT64_MAX
 *  leaves one side open. Strings count characters (code points), integers
 *  and numbers their value, arrays their elements, objects are not counted.
 *
 *  Every member's errors are collected (up to JSONREQ_ERRORS_MAX kept, all
 *  counted), so a form can show them all at once. Errors found after the
 *  decode (a name already taken, a node outside the caller's subtree) are
 *  added with jsonreq_errors_add, so that one Problem Details answer
 *  (problem.h) lists them alike.
 */
#ifndef EQMS_JSONREQ_H
#define EQMS_JSONREQ_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSONREQ_ERRORS_MAX  8     /* errors kept per decode; more are only counted */
#define JSONREQ_MEMBER_SIZE 96    /* "window.id", "scopes[2]"; longer names are cut */
#define JSONREQ_REASON_SIZE 192   /* "must be a string of 1..64 characters" */

typedef enum {
    JSONREQ_STRING = 1,
    JSONREQ_INTEGER,              /* JSON integers only: 1.0 and 1e3 are not */
    JSONREQ_BOOLEAN,
    JSONREQ_NUMBER,               /* an integer or a real */
    JSONREQ_ARRAY,
    JSONREQ_OBJECT
} jsonreq_type_t;

/* Flags of a member. */
#define JSONREQ_OPTIONAL 0u
#define JSONREQ_REQUIRED 1u       /* absent: refused */
#define JSONREQ_NULLABLE 2u       /* null is accepted in place of the type */
#define JSONREQ_LINE     4u       /* strings: no control characters (U+0000..U+001F,
                                     U+007F..U+009F: no tabs, no line breaks) */
#define JSONREQ_FIXED    8u       /* given when the object is made, never changed by
                                     jsonreq_decode_update's request */

typedef struct jsonreq_member_t jsonreq_member_t;

/* The members an object may have. */
typedef struct {
    const jsonreq_member_t *members;
    size_t count;
} jsonreq_object_t;

#define JSONREQ_OBJECT_OF(array) { (array), sizeof (array) / sizeof (array)[0] }

struct jsonreq_member_t {
    const char *name;             /* the key; ignored for an array's items */
    jsonreq_type_t type;
    unsigned flags;               /* JSONREQ_REQUIRED | JSONREQ_NULLABLE | JSONREQ_LINE |
                                     JSONREQ_FIXED */
    int64_t min, max;             /* the range (see above) */
    const char *const *one_of;    /* strings: the allowed values, NULL-terminated */
    const jsonreq_member_t *items;    /* arrays: what each element must be; NULL: any */
    const jsonreq_object_t *object;   /* objects: their members; NULL: any object */
};

typedef struct {
    char member[JSONREQ_MEMBER_SIZE];   /* "" for the body as a whole */
    char reason[JSONREQ_REASON_SIZE];   /* the rule: "must be an integer in 1..500" */
} jsonreq_error_t;

typedef struct {
    size_t count;                       /* errors found; the first ones are kept */
    jsonreq_error_t errors[JSONREQ_ERRORS_MAX];
} jsonreq_errors_t;

/* Decodes `len` bytes of `text` (not NUL-terminated) as an object of
 * `spec`. Returns the object (the caller json_decref's it), or NULL with
 * `errors` filled (count >= 1). `errors` is cleared first. */
json_t *jsonreq_decode(const void *text, size_t len, const jsonreq_object_t *spec,
                       jsonreq_errors_t *errors);

/* Decodes the body of a change of an object that `spec` makes (one spec
 * serves both requests): as jsonreq_decode, but a required member may be
 * absent, a JSONREQ_FIXED member is refused ("cannot be changed by this
 * request"), and a body naming no member is refused ("name at least one
 * of ..." the members that may change). Members inside arrays and objects are checked whole,
 * as a change replaces them whole. */
json_t *jsonreq_decode_update(const void *text, size_t len, const jsonreq_object_t *spec,
                              jsonreq_errors_t *errors);

/* Parses `len` bytes as one JSON object, duplicate keys refused (the first
 * step of jsonreq_decode, and of envelope_decode). `max` > 0 refuses longer
 * text. Returns the object (the caller json_decref's it), or NULL with the
 * reason in `reason` ("<what> is N bytes, limit M", "not valid JSON: ...
 * at byte N", "<what> is not a JSON object"). */
json_t *jsonreq_load_object(const void *text, size_t len, size_t max, const char *what,
                            char *reason, size_t size);

/* Adds an error for `member` (NULL or "": the body as a whole) with the
 * reason formatted like printf. Beyond JSONREQ_ERRORS_MAX it is only
 * counted. */
void jsonreq_errors_add(jsonreq_errors_t *errors, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void jsonreq_errors_vadd(jsonreq_errors_t *errors, const char *member, const char *fmt,
                         va_list ap) __attribute__((format(printf, 3, 0)));

/* Writes the errors as one line, `"name": must be ...; "kind": must be
 * one of ...` (a body-wide error without the name), with "(and N more)"
 * when not all were kept; cut to fit `size`. Returns `out`. */
const char *jsonreq_errors_text(const jsonreq_errors_t *errors, char *out, size_t size);

/* The rule a member spec states, as its errors word it: "a string of 1..64
 * characters", "an integer >= 0", "one of \"a\", \"b\"", "null or true or
 * false". Cut to fit `size`; returns `out`. For documentation and tests. */
const char *jsonreq_rule(const jsonreq_member_t *member, char *out, size_t size);

#endif
