/*  problem: RFC 9457 Problem Details answers (problem.h). */
#include "eqms/problem.h"

#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/jsonw.h"
#include "eqms/utf8.h"

#define S_BODY_MAX   (64 * 1024)
#define S_DETAIL_MAX 1024

/* A text member when it is there and valid UTF-8. */
static void s_text(jsonw_t *w, const char *key, const char *value)
{
    if (value && utf8_valid(value, strlen(value)))
        jsonw_str(w, key, value);
}

static unsigned s_status(unsigned status)
{
    return status >= 400 && status <= 599 ? status : MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* Writes the body; with `full` false only type, title and status. */
static char *s_encode(const problem_t *p, bool full, size_t *len)
{
    unsigned status = s_status(p->status);
    jsonw_t w;
    jsonw_init(&w, NULL, S_BODY_MAX);
    s_text(&w, "type", p->type ? p->type : "about:blank");
    s_text(&w, "title", p->title && full ? p->title : MHD_get_reason_phrase_for(status));
    jsonw_int(&w, "status", status);
    if (full) {
        s_text(&w, "detail", p->detail);
        s_text(&w, "instance", p->instance);
    }
    static const char *const standard[] = { "type", "title", "status", "detail",
                                            "instance", "errors" };
    for (size_t i = 0; full && i < PROBLEM_EXT_MAX; i++) {
        bool ok = p->ext[i].name && p->ext[i].value;
        for (size_t j = 0; ok && j < sizeof standard / sizeof standard[0]; j++)
            ok = strcmp(p->ext[i].name, standard[j]) != 0;
        if (ok && utf8_valid(p->ext[i].name, strlen(p->ext[i].name)))
            s_text(&w, p->ext[i].name, p->ext[i].value);
    }
    size_t kept = p->errors ? p->errors->count : 0;
    if (kept > JSONREQ_ERRORS_MAX)
        kept = JSONREQ_ERRORS_MAX;
    if (full && kept > 0) {
        jsonw_array_begin(&w, "errors");
        for (size_t i = 0; i < kept; i++) {
            const jsonreq_error_t *e = &p->errors->errors[i];
            jsonw_object_begin(&w, NULL);
            if (*e->member)
                jsonw_str(&w, "member", e->member);
            jsonw_str(&w, "reason", e->reason);
            jsonw_object_end(&w);
        }
        jsonw_array_end(&w);
    }
    size_t n;
    const char *text = jsonw_finish(&w) == 0 ? jsonw_text(&w, &n) : NULL;
    char *body = text ? strdup(text) : NULL;
    if (body && len)
        *len = n;
    jsonw_release(&w);
    return body;
}

char *problem_encode(const problem_t *problem, size_t *len)
{
    char *body = s_encode(problem, true, len);
    /* what is left when a caller's text broke the writer (too long) */
    return body ? body : s_encode(problem, false, len);
}

void problem_reply(httpd_reply_t *reply, const problem_t *problem)
{
    char *body = problem_encode(problem, NULL);
    httpd_reply_take(reply, s_status(problem->status), PROBLEM_CONTENT_TYPE, &body);
}

void problem_replyf(httpd_reply_t *reply, unsigned status, const char *instance,
                    const char *fmt, ...)
{
    char detail[S_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    detail[utf8_valid_prefix(detail, strlen(detail))] = '\0';
    problem_t p = { .status = status, .detail = detail, .instance = instance };
    problem_reply(reply, &p);
}

void problem_reply_errors(httpd_reply_t *reply, unsigned status, const char *instance,
                          const jsonreq_errors_t *errors)
{
    char detail[S_DETAIL_MAX];
    problem_t p = { .status = status, .instance = instance, .errors = errors,
                    .detail = jsonreq_errors_text(errors, detail, sizeof detail) };
    problem_reply(reply, &p);
}

void problem_reply_invalid(httpd_reply_t *reply, const char *instance,
                           const jsonreq_errors_t *errors)
{
    problem_reply_errors(reply, MHD_HTTP_BAD_REQUEST, instance, errors);
}

void problem_httpd_refusal(httpd_reply_t *reply, unsigned status, const char *path,
                           const char *detail)
{
    problem_t p = { .status = status, .detail = detail, .instance = path };
    problem_reply(reply, &p);
}
