/*  problem: RFC 9457 Problem Details, the body of every error answer of an
 *  EQMS HTTP API (Content-Type: application/problem+json).
 *
 *      {"type":"about:blank","title":"Bad Request","status":400,
 *       "detail":"\"name\": must be a string of 1..64 characters",
 *       "instance":"/api/v1/users",
 *       "errors":[{"member":"name","reason":"must be a string of 1..64 characters"}]}
 *
 *  type defaults to "about:blank", whose title is the status's reason
 *  phrase (RFC 9457 section 4.2.1); detail is for a person and says what
 *  went wrong this time; errors (an extension member) lists the request
 *  members that were refused, as jsonreq found them, a body-wide error
 *  (not JSON, not an object) without "member".
 */
#ifndef EQMS_PROBLEM_H
#define EQMS_PROBLEM_H

#include <stddef.h>

#include "eqms/httpd.h"
#include "eqms/jsonreq.h"

#define PROBLEM_CONTENT_TYPE "application/problem+json"

/* An extension member with a text value, e.g. {"locked_until", "2026-...Z"}. */
typedef struct {
    const char *name;                 /* not one of the standard members */
    const char *value;
} problem_ext_t;

#define PROBLEM_EXT_MAX 4

typedef struct {
    unsigned status;                  /* 400..599; anything else answers 500 */
    const char *type;                 /* a URI reference; NULL: "about:blank" */
    const char *title;                /* NULL: the status's reason phrase */
    const char *detail;               /* this occurrence, for a person; NULL: none */
    const char *instance;             /* this occurrence, e.g. the request path; NULL: none */
    const jsonreq_errors_t *errors;   /* members refused; NULL or none: no "errors" */
    problem_ext_t ext[PROBLEM_EXT_MAX];   /* extension members; those with a NULL
                                             name or value, or a standard member's
                                             name, are left out */
} problem_t;

/* The body, a malloc'd NUL-terminated string the caller frees, with its
 * length in *len (len may be NULL). Text members that are not valid UTF-8
 * are left out rather than failing the answer. NULL only when memory ran
 * out. */
char *problem_encode(const problem_t *problem, size_t *len);

/* Answers the problem through httpd (status, problem+json body). */
void problem_reply(httpd_reply_t *reply, const problem_t *problem);

/* Answers `status` (type about:blank) with a detail formatted like printf
 * and `instance` (NULL: none). */
void problem_replyf(httpd_reply_t *reply, unsigned status, const char *instance,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Answers 400 for a request that jsonreq (or the checks after it) refused:
 * the errors one by one, and all of them in one line as the detail. */
void problem_reply_invalid(httpd_reply_t *reply, const char *instance,
                           const jsonreq_errors_t *errors);

/* The same with another status: 409 for a name taken, 422 for a value
 * that is well formed but cannot be used, each naming the member. */
void problem_reply_errors(httpd_reply_t *reply, unsigned status, const char *instance,
                          const jsonreq_errors_t *errors);

/* httpd's refusals (404, 405, 413) as Problem Details: give it as
 * httpd_config_t.refusal. */
void problem_httpd_refusal(httpd_reply_t *reply, unsigned status, const char *path,
                           const char *detail);

#endif
