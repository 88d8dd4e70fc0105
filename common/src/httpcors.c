/*  httpcors: allowed browser origins (CORS) and the CSRF rule (httpcors.h). */
#include "eqms/httpcors.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct httpcors_t {
    size_t count;
    char origins[HTTPCORS_ORIGINS_MAX][HTTPCORS_ORIGIN_MAX];
};

/* Whether `s` (`len` bytes) is scheme://host[:port] with http(s), a host
 * of letters, digits, dots, hyphens (or a bracketed IPv6 address) and a
 * port of 1..5 digits. */
static bool s_origin_valid(const char *s, size_t len)
{
    size_t skip;
    if (len > 7 && strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else if (len > 8 && strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    else
        return false;
    const char *p = s + skip, *end = s + len;
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t) (end - p));
        if (!close || close == p + 1)
            return false;
        for (const char *q = p + 1; q < close; q++)
            if (!isxdigit((unsigned char) *q) && *q != ':' && *q != '.')
                return false;
        p = close + 1;
    }
    else {
        const char *host = p;
        while (p < end && (isalnum((unsigned char) *p) || *p == '.' || *p == '-'))
            p++;
        if (p == host)
            return false;
    }
    if (p < end && *p == ':') {
        const char *port = ++p;
        while (p < end && isdigit((unsigned char) *p))
            p++;
        if (p == port || p - port > 5)
            return false;
    }
    return p == end;
}

httpcors_t *httpcors_new(const char *origins, char *reason, size_t size)
{
    httpcors_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(reason, size, "out of memory");
        return NULL;
    }
    for (const char *p = origins; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        while (len > 0 && p[len - 1] == ' ')
            len--;
        if (len == 0)
            break;
        if (len >= HTTPCORS_ORIGIN_MAX || !s_origin_valid(p, len)) {
            snprintf(reason, size, "\"%.*s\" is not an origin (scheme://host[:port])",
                     (int) (len > 80 ? 80 : len), p);
            goto err;
        }
        if (self->count == HTTPCORS_ORIGINS_MAX) {
            snprintf(reason, size, "more than %d origins", HTTPCORS_ORIGINS_MAX);
            goto err;
        }
        memcpy(self->origins[self->count], p, len);
        self->origins[self->count++][len] = '\0';
        p += len;
        while (*p == ' ')
            p++;
    }
    return self;
err:
    free(self);
    return NULL;
}

void httpcors_destroy(httpcors_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

size_t httpcors_count(const httpcors_t *self)
{
    return self ? self->count : 0;
}

/* The host[:port] part of an origin ("" when it has no "://"). */
static const char *s_authority(const char *origin)
{
    const char *p = strstr(origin, "://");
    return p ? p + 3 : "";
}

/* Origins compared: scheme and host case-insensitively; the port is
 * digits, so the same comparison serves. */
static bool s_origin_equal(const char *a, const char *b)
{
    return strcasecmp(a, b) == 0;
}

bool httpcors_allowed(const httpcors_t *self, const char *origin)
{
    if (!self || !origin || !s_origin_valid(origin, strlen(origin)))
        return false;
    for (size_t i = 0; i < self->count; i++)
        if (s_origin_equal(self->origins[i], origin))
            return true;
    return false;
}

bool httpcors_same_origin(const char *origin, const char *host)
{
    if (!origin || !host || !*host || !s_origin_valid(origin, strlen(origin)))
        return false;
    return strcasecmp(s_authority(origin), host) == 0;
}

bool httpcors_state_changing(const char *method)
{
    return method && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0
           && strcmp(method, "OPTIONS") != 0;
}

bool httpcors_is_json(const char *content_type)
{
    if (!content_type)
        return false;
    while (*content_type == ' ')
        content_type++;
    size_t len = strcspn(content_type, "; ");
    if (len == 16 && strncasecmp(content_type, "application/json", 16) == 0)
        return true;
    /* application/<subtype>+json, e.g. application/merge-patch+json */
    return len > 17 && strncasecmp(content_type, "application/", 12) == 0
           && strncasecmp(content_type + len - 5, "+json", 5) == 0
           && memchr(content_type + 12, '/', len - 12) == NULL;
}

const char *httpcors_csrf_refusal(const httpcors_t *self, const char *method,
                                  const char *origin, const char *host,
                                  const char *sec_fetch_site, const char *content_type,
                                  bool has_body)
{
    if (!httpcors_state_changing(method))
        return NULL;
    if (origin) {
        if (!httpcors_same_origin(origin, host) && !httpcors_allowed(self, origin))
            return "a state-changing request from a page of another origin "
                   "(Origin is neither this server nor an allowed origin)";
    }
    else if (sec_fetch_site && strcasecmp(sec_fetch_site, "cross-site") == 0)
        return "a state-changing request from a page of another site (Sec-Fetch-Site)";
    if (has_body && !httpcors_is_json(content_type))
        return "a state-changing request's body must be sent as Content-Type: "
               "application/json (an HTML form cannot send that)";
    return NULL;
}

/* Whether `name` (`len` bytes) is in the comma-separated `list`
 * (case-insensitive, spaces around the commas ignored). */
static bool s_listed(const char *list, const char *name, size_t len)
{
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ",");
        size_t m = n;
        while (m > 0 && p[m - 1] == ' ')
            m--;
        if (m == len && m > 0 && strncasecmp(p, name, len) == 0)
            return true;
        p += n;
    }
    return false;
}

const char *httpcors_preflight_refusal(const httpcors_t *self, const char *origin,
                                       const char *method, const char *methods,
                                       const char *request_headers, char *reason,
                                       size_t size)
{
    if (!httpcors_allowed(self, origin)) {
        snprintf(reason, size, "origin \"%.100s\" is not allowed to use this API",
                 origin ? origin : "");
        return reason;
    }
    if (!method || !*method || !methods || !s_listed(methods, method, strlen(method))
        || strcmp(method, "OPTIONS") == 0) {
        snprintf(reason, size, "method \"%.20s\" is not one of this path's (%.100s)",
                 method ? method : "", methods ? methods : "");
        return reason;
    }
    for (const char *p = request_headers; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (n > 0 && !s_listed(HTTPCORS_ALLOW_HEADERS, p, n)) {
            snprintf(reason, size, "request header \"%.*s\" is not allowed (only "
                     HTTPCORS_ALLOW_HEADERS ")", (int) (n > 60 ? 60 : n), p);
            return reason;
        }
        p += n;
    }
    return NULL;
}
