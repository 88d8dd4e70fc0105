/*  wa_reply: answering and reading REST requests (wa.h). */
#include "wa.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"
#include "eqms/problem.h"

#define S_JSON "application/json"
#define S_CURSOR_MAX 128

void wa_reply_json(wa_call_t *call, unsigned status, char **body_p)
{
    httpd_reply_take(call->reply, status, S_JSON, body_p);
}

void wa_reply_jansson(wa_call_t *call, unsigned status, json_t **json_p)
{
    char *body = *json_p ? json_dumps(*json_p, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(*json_p);
    *json_p = NULL;
    wa_reply_json(call, status, &body);
}

void wa_reply_empty(wa_call_t *call)
{
    char *body = strdup("");
    httpd_reply_take(call->reply, MHD_HTTP_NO_CONTENT, S_JSON, &body);
}

int wa_problem(wa_call_t *call, unsigned status, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    problem_replyf(call->reply, status, httpd_req_path(call->req), "%s", detail);
    return -1;
}

int wa_invalid(wa_call_t *call, const jsonreq_errors_t *errors)
{
    problem_reply_invalid(call->reply, httpd_req_path(call->req), errors);
    return -1;
}

int wa_member_vproblem(wa_call_t *call, unsigned status, const char *member, const char *fmt,
                       va_list ap)
{
    jsonreq_errors_t errors = { 0 };
    jsonreq_errors_vadd(&errors, member, fmt, ap);
    problem_reply_errors(call->reply, status, httpd_req_path(call->req), &errors);
    return -1;
}

int wa_invalid_member(wa_call_t *call, const char *member, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wa_member_vproblem(call, MHD_HTTP_BAD_REQUEST, member, fmt, ap);
    va_end(ap);
    return -1;
}

int wa_unavailable(wa_call_t *call, const char *what)
{
    log_warn("request_unavailable", "path=%s what=\"%s\"", httpd_req_path(call->req), what);
    httpd_reply_header(call->reply, "Retry-After", "5");
    return wa_problem(call, MHD_HTTP_SERVICE_UNAVAILABLE,
                      "%s unavailable: try again in a few seconds", what);
}

/* --- reading ----------------------------------------------------------------------- */

static int s_args(wa_call_t *call, const char *const *allowed)
{
    static const char *const none[] = { NULL };
    char reason[128];
    if (httpd_req_args_check(call->req, allowed ? allowed : none, reason, sizeof reason) == 0)
        return 0;
    return wa_problem(call, MHD_HTTP_BAD_REQUEST, "%s", reason);
}

int wa_no_args(wa_call_t *call)
{
    return s_args(call, NULL);
}

int wa_only_args(wa_call_t *call, const char *const *allowed)
{
    return s_args(call, allowed);
}

static json_t *s_decode(wa_call_t *call, const jsonreq_object_t *spec, bool change)
{
    if (s_args(call, NULL) != 0)
        return NULL;
    size_t len;
    const char *text = httpd_req_body(call->req, &len);
    jsonreq_errors_t errors;
    json_t *body = change ? jsonreq_decode_update(text, len, spec, &errors)
                          : jsonreq_decode(text, len, spec, &errors);
    if (!body)
        wa_invalid(call, &errors);
    return body;
}

json_t *wa_decode(wa_call_t *call, const jsonreq_object_t *spec)
{
    return s_decode(call, spec, false);
}

json_t *wa_decode_update(wa_call_t *call, const jsonreq_object_t *spec)
{
    return s_decode(call, spec, true);
}

/* A positive int64 written in decimal digits only. */
static int s_id(const char *text, int64_t *id)
{
    size_t len = text ? strlen(text) : 0;
    if (len == 0 || len > 18 || strspn(text, "0123456789") != len || text[0] == '0')
        return -1;
    *id = strtoll(text, NULL, 10);
    return 0;
}

int wa_param_id(wa_call_t *call, int64_t *id)
{
    if (s_args(call, NULL) != 0)
        return -1;
    if (s_id(httpd_req_param(call->req, "id"), id) != 0)
        return wa_problem(call, MHD_HTTP_NOT_FOUND, "no such object");
    return 0;
}

int wa_list_args_key(wa_call_t *call, const char *kind, const char *const *more, int *limit,
                     char *key, size_t size)
{
    const char *allowed[12] = { "limit", "cursor" };
    size_t n = 2;
    for (; more && *more && n < sizeof allowed / sizeof allowed[0] - 1; more++)
        allowed[n++] = *more;
    allowed[n] = NULL;
    if (s_args(call, allowed) != 0)
        return -1;
    const char *text = httpd_req_arg(call->req, "limit");
    int64_t value = WA_LIST_LIMIT_DEFAULT;
    if (text && (s_id(text, &value) != 0 || value > WA_LIST_LIMIT_MAX))
        return wa_problem(call, MHD_HTTP_BAD_REQUEST,
                          "query argument \"limit\": must be an integer in 1..%d",
                          WA_LIST_LIMIT_MAX);
    *limit = (int) value;
    *key = '\0';
    text = httpd_req_arg(call->req, "cursor");
    if (text && wa_cursor_decode_key(kind, text, key, size) != 0)
        return wa_problem(call, MHD_HTTP_BAD_REQUEST,
                          "query argument \"cursor\": not a cursor of this list (take it "
                          "from next_cursor of the page before)");
    return 0;
}

int wa_list_args(wa_call_t *call, const char *kind, const char *const *more, int *limit,
                 int64_t *after)
{
    char key[S_CURSOR_MAX];
    if (wa_list_args_key(call, kind, more, limit, key, sizeof key) != 0)
        return -1;
    *after = 0;
    if (*key && s_id(key, after) != 0)
        return wa_problem(call, MHD_HTTP_BAD_REQUEST,
                          "query argument \"cursor\": not a cursor of this list (take it "
                          "from next_cursor of the page before)");
    return 0;
}

int wa_cursor_encode(const char *kind, const char *key, char *out, size_t size)
{
    char plain[S_CURSOR_MAX];
    int n = snprintf(plain, sizeof plain, "%s:%s", kind, key);
    if (n < 0 || (size_t) n >= sizeof plain
        || size < sodium_base64_ENCODED_LEN((size_t) n, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
        return -1;
    sodium_bin2base64(out, size, (const unsigned char *) plain, (size_t) n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

int wa_cursor_decode_key(const char *kind, const char *cursor, char *key, size_t size)
{
    unsigned char plain[S_CURSOR_MAX];
    size_t len = 0;
    if (strlen(cursor) > 2 * S_CURSOR_MAX
        || sodium_base642bin(plain, sizeof plain - 1, cursor, strlen(cursor), NULL, &len, NULL,
                             sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    plain[len] = '\0';
    size_t klen = strlen(kind);
    if (len <= klen + 1 || memcmp(plain, kind, klen) != 0 || plain[klen] != ':'
        || len - klen - 1 >= size)
        return -1;
    memcpy(key, plain + klen + 1, len - klen);
    return 0;
}

int wa_cursor_decode(const char *kind, const char *cursor, int64_t *id)
{
    char key[S_CURSOR_MAX];
    if (wa_cursor_decode_key(kind, cursor, key, sizeof key) != 0)
        return -1;
    return s_id(key, id);
}

bool wa_path_within(const char *path, const char *root)
{
    size_t n = strlen(root);
    return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '.');
}
