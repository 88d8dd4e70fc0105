/*  httpd: a service's own small HTTP server on a table of routes (httpd.h). */
#include "eqms/httpd.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "eqms/gzip.h"
#include "eqms/httpcors.h"
#include "eqms/log.h"

#define S_ARGS_MAX      32          /* query arguments kept per request */
#define S_NAME_MAX      32
#define S_BODY_DEFAULT  (64 * 1024)
#define S_PARAMS_TEXT   512         /* the parameters' values, NUL-terminated */
#define S_ETAG_SIZE     36          /* '"' + 32 hex digits + '"' + NUL */
#define S_CSP           "default-src 'none'; frame-ancestors 'none'"

struct httpd_t {
    char name[S_NAME_MAX + 1];
    const httpd_route_t *routes;    /* borrowed */
    size_t nroutes;
    void *ctx;
    size_t body_max;
    httpd_refusal_fn *refusal;      /* NULL: text/plain */
    bool etag;
    httpcors_t *cors;               /* allowed origins; NULL: none */
    bool csrf;
    httpd_handler_fn *fallback;     /* GET/HEAD without a route; NULL: 404 */
    void *fallback_ctx;
    struct MHD_Daemon *daemon;      /* NULL when inert */
    pthread_mutex_t streams_mu;     /* guards the list of streams and stopping */
    httpd_stream_t *streams;        /* open streamed replies, a list */
    bool stopping;                  /* httpd_destroy began: no stream parks again */
};

/* A streamed reply: the producer, and whether the connection is parked
 * (MHD_suspend_connection), which only `mu` decides. */
struct httpd_stream_t {
    httpd_t *server;
    struct MHD_Connection *conn;
    httpd_stream_ops_t ops;
    void *producer;
    pthread_mutex_t mu;
    bool suspended;                 /* parked: httpd_stream_wake resumes it */
    bool woken;                     /* woken since the last read: do not park */
    atomic_bool closing;            /* the server stops: end the body */
    httpd_stream_t *prev, *next;    /* the server's list */
};

struct httpd_req_t {
    struct MHD_Connection *conn;
    const char *method, *path;
    const char *target;             /* as sent, not decoded */
    const httpd_route_t *route;
    size_t nparams;
    const char *param_names[HTTPD_PARAMS_MAX];     /* into the route's path */
    size_t param_lens[HTTPD_PARAMS_MAX];
    const char *param_values[HTTPD_PARAMS_MAX];    /* into params_text */
    char params_text[S_PARAMS_TEXT];
    const char *names[S_ARGS_MAX], *values[S_ARGS_MAX];
    size_t nargs;
    bool too_many;                  /* more than S_ARGS_MAX arguments */
    const char *body;
    size_t len;
    char peer[INET6_ADDRSTRLEN];
};

/* What a connection collects between libmicrohttpd's calls, from the
 * request line on (s_uri_logger). */
typedef struct {
    char *target;                   /* the request target as sent */
    bool started;                   /* the headers were seen */
    char *body;
    size_t len, cap;
    bool too_big;
} s_upload_t;

/* libmicrohttpd's error messages go to our log, never to stderr directly. */
static void s_mhd_logger(void *cls, const char *fmt, va_list ap)
{
    const httpd_t *self = cls;
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        msg[--len] = '\0';
    for (char *p = msg; *p; p++)
        if (*p == '"')
            *p = '\'';
    log_warn("http_error", "server=%s msg=\"%s\"", self ? self->name : "?", msg);
}

/* --- streamed replies ------------------------------------------------------------ */

httpd_stream_t *httpd_reply_stream(httpd_reply_t *reply, unsigned status,
                                   const char *content_type, const httpd_stream_ops_t *ops,
                                   void *producer)
{
    free(reply->body);
    reply->body = NULL;
    reply->len = 0;
    httpd_stream_t *st = calloc(1, sizeof *st);
    if (!st || pthread_mutex_init(&st->mu, NULL) != 0) {
        free(st);
        ops->close(producer);
        reply->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        reply->content_type = NULL;
        return NULL;
    }
    st->ops = *ops;
    st->producer = producer;
    reply->stream = st;
    reply->status = status;
    reply->content_type = content_type;
    return st;
}

void httpd_stream_wake(httpd_stream_t *st)
{
    pthread_mutex_lock(&st->mu);
    if (st->suspended) {
        st->suspended = false;
        MHD_resume_connection(st->conn);
    }
    else
        st->woken = true;
    pthread_mutex_unlock(&st->mu);
}

/* libmicrohttpd's content reader: the producer's bytes, or a park. */
static ssize_t s_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void) pos;
    httpd_stream_t *st = cls;
    for (;;) {
        if (atomic_load(&st->closing))
            return MHD_CONTENT_READER_END_OF_STREAM;
        long n = st->ops.read(st->producer, buf, max);
        if (n < 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (n > 0)
            return (ssize_t) n;
        pthread_mutex_lock(&st->mu);
        bool again = st->woken || atomic_load(&st->closing);
        st->woken = false;
        if (!again) {
            /* returning 0 without a park would spin the polling thread */
            MHD_suspend_connection(st->conn);
            st->suspended = true;
        }
        pthread_mutex_unlock(&st->mu);
        if (!again)
            return 0;
    }
}

/* libmicrohttpd is done with the reply: the producer's close, then ours. */
static void s_stream_free(void *cls)
{
    httpd_stream_t *st = cls;
    httpd_t *self = st->server;
    if (self) {
        pthread_mutex_lock(&self->streams_mu);
        if (st->prev)
            st->prev->next = st->next;
        else
            self->streams = st->next;
        if (st->next)
            st->next->prev = st->prev;
        pthread_mutex_unlock(&self->streams_mu);
    }
    st->ops.close(st->producer);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

/* The stream's MHD response, registered with the server; NULL (the
 * stream closed and freed) on failure. */
static struct MHD_Response *s_stream_response(httpd_t *self, struct MHD_Connection *conn,
                                              httpd_stream_t *st)
{
    st->conn = conn;
    struct MHD_Response *response = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 4096, s_stream_read, st, s_stream_free);
    if (!response) {
        s_stream_free(st);
        return NULL;
    }
    st->server = self;
    pthread_mutex_lock(&self->streams_mu);
    st->next = self->streams;
    if (st->next)
        st->next->prev = st;
    self->streams = st;
    if (self->stopping)
        atomic_store(&st->closing, true);
    pthread_mutex_unlock(&self->streams_mu);
    return response;
}

/* --- answering ------------------------------------------------------------------- */

/* The strong ETag of a body: a quoted SHA-256 prefix in hex. */
static void s_etag(const char *body, size_t len, char etag[S_ETAG_SIZE])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *) body, len);
    etag[0] = '"';
    sodium_bin2hex(etag + 1, 33, digest, 16);
    etag[33] = '"';
    etag[34] = '\0';
}

/* Whether an If-None-Match value ("*", or a list of entity tags, weak ones
 * compared weakly as RFC 9110 says) names `etag`. */
static bool s_etag_listed(const char *list, const char *etag)
{
    if (!list)
        return false;
    size_t n = strlen(etag);
    for (const char *p = list; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '
                                         || p[n] == '\t'))
            return true;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

/* With the server's `etag`, a 200 answer to GET or HEAD gets the tag of its
 * body in `etag`, and becomes 304 without a body when If-None-Match names
 * it; otherwise `etag` stays "". */
static void s_etag_check(const httpd_t *self, struct MHD_Connection *conn, const char *method,
                         httpd_reply_t *reply, char etag[S_ETAG_SIZE])
{
    if (!self || !self->etag || reply->status != MHD_HTTP_OK || !method
        || (strcmp(method, MHD_HTTP_METHOD_GET) != 0
            && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0))
        return;
    s_etag(reply->body, reply->len, etag);
    if (s_etag_listed(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_IF_NONE_MATCH), etag)) {
        reply->body[0] = '\0';
        reply->len = 0;
        reply->status = MHD_HTTP_NOT_MODIFIED;
    }
}

/* The reply's body as an MHD response: gzip-compressed when it is large
 * enough, not opted out and the request allows it (*varies: the form
 * depended on Accept-Encoding). NULL when memory ran out. */
static struct MHD_Response *s_body_response(struct MHD_Connection *conn,
                                            httpd_reply_t *reply, bool *varies,
                                            bool *gzipped)
{
    *varies = !reply->identity && reply->len >= GZIP_MIN_SIZE;
    *gzipped = false;
    if (*varies && gzip_accepted(MHD_lookup_connection_value(
                       conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING))) {
        size_t len;
        char *packed = gzip_compress(reply->body, reply->len, &len);
        if (packed) {
            free(reply->body);
            reply->body = packed;
            reply->len = len;
            *gzipped = true;
        }
    }
    struct MHD_Response *response = MHD_create_response_from_buffer(
        reply->len, reply->body, MHD_RESPMEM_MUST_FREE);
    if (!response)
        free(reply->body);
    reply->body = NULL;
    return response;
}

/* Answers the reply: a stream, or its body with its ETag (`method` GET or
 * HEAD and the server's `etag`; NULL: none, as for refusals) and
 * compressed when it may be. */
static enum MHD_Result s_queue(httpd_t *self, struct MHD_Connection *conn, const char *method,
                               httpd_reply_t *reply, const char *allow)
{
    bool varies = false, gzipped = false;
    char etag[S_ETAG_SIZE] = "";
    struct MHD_Response *response;
    if (reply->stream) {
        free(reply->body);
        reply->body = NULL;
        response = s_stream_response(self, conn, reply->stream);
        reply->stream = NULL;
    }
    else {
        if (!reply->body) {
            reply->body = strdup("");
            reply->len = 0;
            if (!reply->body)
                return MHD_NO;
        }
        s_etag_check(self, conn, method, reply, etag);
        response = s_body_response(conn, reply, &varies, &gzipped);
    }
    if (!response)
        return MHD_NO;
    if (reply->status != MHD_HTTP_NOT_MODIFIED)
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                                reply->content_type ? reply->content_type
                                                    : "text/plain; charset=utf-8");
    bool cache_control = false, csp = false;
    for (size_t i = 0; i < reply->nheaders && i < HTTPD_HEADERS_MAX; i++) {
        MHD_add_response_header(response, reply->headers[i].name, reply->headers[i].value);
        cache_control = cache_control
                        || strcasecmp(reply->headers[i].name, MHD_HTTP_HEADER_CACHE_CONTROL) == 0;
        csp = csp || strcasecmp(reply->headers[i].name, "Content-Security-Policy") == 0;
    }
    if (!cache_control)
        MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL,
                                *etag ? "private, no-cache" : "no-store");
    if (*etag) {
        /* the compressed form is another representation: its tag is weak */
        char weak[S_ETAG_SIZE + 2];
        snprintf(weak, sizeof weak, "%s%s", gzipped ? "W/" : "", etag);
        MHD_add_response_header(response, MHD_HTTP_HEADER_ETAG, weak);
    }
    MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
    if (!csp)
        MHD_add_response_header(response, "Content-Security-Policy", S_CSP);
    if (self && httpcors_count(self->cors) > 0) {
        /* the answer depends on Origin: caches must keep them apart */
        MHD_add_response_header(response, MHD_HTTP_HEADER_VARY, "Origin");
        const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
        if (httpcors_allowed(self->cors, origin)) {
            MHD_add_response_header(response, "Access-Control-Allow-Origin", origin);
            MHD_add_response_header(response, "Access-Control-Expose-Headers",
                                    HTTPCORS_EXPOSE_HEADERS);
        }
    }
    MHD_add_response_header(response, "X-Frame-Options", "DENY");
    MHD_add_response_header(response, "Referrer-Policy", "no-referrer");
    if (varies)
        MHD_add_response_header(response, MHD_HTTP_HEADER_VARY,
                                MHD_HTTP_HEADER_ACCEPT_ENCODING);
    if (gzipped)
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    if (allow)
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(conn, reply->status, response);
    MHD_destroy_response(response);
    return ret;
}

int httpd_reply_header(httpd_reply_t *reply, const char *name, const char *value)
{
    size_t len = strlen(value);
    if (reply->nheaders >= HTTPD_HEADERS_MAX || len >= HTTPD_HEADER_VALUE_MAX
        || strpbrk(value, "\r\n"))
        return -1;
    reply->headers[reply->nheaders].name = name;
    memcpy(reply->headers[reply->nheaders].value, value, len + 1);
    reply->nheaders++;
    return 0;
}

void httpd_reply_text(httpd_reply_t *reply, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    free(reply->body);
    reply->body = n < 0 ? NULL : text;
    reply->len = n < 0 ? 0 : (size_t) n;
    reply->status = n < 0 ? MHD_HTTP_INTERNAL_SERVER_ERROR : status;
    reply->content_type = NULL;
}

void httpd_reply_bytes(httpd_reply_t *reply, unsigned status, const char *content_type,
                       char **body_p, size_t len)
{
    free(reply->body);
    reply->body = body_p ? *body_p : NULL;
    if (body_p)
        *body_p = NULL;
    reply->len = reply->body ? len : 0;
    reply->status = reply->body ? status : MHD_HTTP_INTERNAL_SERVER_ERROR;
    reply->content_type = reply->body ? content_type : NULL;
}

void httpd_reply_take(httpd_reply_t *reply, unsigned status, const char *content_type,
                      char **body_p)
{
    free(reply->body);
    reply->body = body_p ? *body_p : NULL;
    if (body_p)
        *body_p = NULL;
    reply->len = reply->body ? strlen(reply->body) : 0;
    reply->status = reply->body ? status : MHD_HTTP_INTERNAL_SERVER_ERROR;
    reply->content_type = reply->body ? content_type : NULL;
}

/* One of httpd's own refusals, in the server's form. */
static void s_refuse(const httpd_t *self, httpd_reply_t *reply, unsigned status,
                     const char *path, const char *detail)
{
    if (self->refusal)
        self->refusal(reply, status, path, detail);
    else
        httpd_reply_text(reply, status, "%s\n", detail);
}

/* --- the request ----------------------------------------------------------------- */

static enum MHD_Result s_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                             const char *value)
{
    (void) kind;
    httpd_req_t *req = cls;
    if (req->nargs == S_ARGS_MAX) {
        req->too_many = true;
        return MHD_NO;
    }
    req->names[req->nargs] = key;
    req->values[req->nargs++] = value ? value : "";
    return MHD_YES;
}

const char *httpd_req_method(const httpd_req_t *req)
{
    return req->method;
}

const char *httpd_req_path(const httpd_req_t *req)
{
    return req->path;
}

const char *httpd_req_target(const httpd_req_t *req)
{
    return req->target ? req->target : req->path;
}

const httpd_route_t *httpd_req_route(const httpd_req_t *req)
{
    return req->route;
}

const char *httpd_req_param(const httpd_req_t *req, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < req->nparams; i++)
        if (req->param_lens[i] == n && strncmp(req->param_names[i], name, n) == 0)
            return req->param_values[i];
    return NULL;
}

const char *httpd_req_arg(const httpd_req_t *req, const char *name)
{
    for (size_t i = 0; i < req->nargs; i++)
        if (strcmp(req->names[i], name) == 0)
            return req->values[i];
    return NULL;
}

int httpd_req_args_check(const httpd_req_t *req, const char *const *allowed, char *reason,
                         size_t size)
{
    if (req->too_many) {
        snprintf(reason, size, "more than %d query arguments", S_ARGS_MAX);
        return -1;
    }
    for (size_t i = 0; i < req->nargs; i++) {
        bool known = false;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, req->names[i]) == 0;
        if (!known) {
            snprintf(reason, size, "unknown query argument \"%.40s\"", req->names[i]);
            return -1;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(req->names[j], req->names[i]) == 0) {
                snprintf(reason, size, "query argument \"%.40s\" given twice", req->names[i]);
                return -1;
            }
    }
    return 0;
}

const char *httpd_req_header(const httpd_req_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *httpd_req_body(const httpd_req_t *req, size_t *len)
{
    if (len)
        *len = req->len;
    return req->body ? req->body : "";
}

const char *httpd_req_peer(const httpd_req_t *req)
{
    return req->peer;
}

static void s_peer(struct MHD_Connection *conn, char *out, size_t size)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, size, "?");
    if (!info || !info->client_addr)
        return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *) (const void *) sa)->sin_addr, out,
                  (socklen_t) size);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) (const void *) sa)->sin6_addr,
                  out, (socklen_t) size);
}

/* --- routing ---------------------------------------------------------------------- */

static bool s_method_matches(const char *route, const char *method)
{
    return strcmp(route, method) == 0
           || (strcmp(route, MHD_HTTP_METHOD_GET) == 0
               && strcmp(method, MHD_HTTP_METHOD_HEAD) == 0);
}

/* Matches `path` against `pattern`; with `req`, keeps the parameters'
 * values there. A {name} segment matches one non-empty segment. */
static bool s_match(const char *pattern, const char *path, httpd_req_t *req)
{
    size_t nparams = 0, used = 0;
    const char *p = pattern, *q = path;
    while (*p && *q) {
        if (p[0] == '{' && (p == pattern || p[-1] == '/')) {
            const char *close = strchr(p, '}');
            if (!close)
                return false;
            size_t len = strcspn(q, "/");
            if (len == 0 || nparams == HTTPD_PARAMS_MAX)
                return false;
            if (req) {
                if (used + len + 1 > sizeof req->params_text)
                    return false;
                req->param_names[nparams] = p + 1;
                req->param_lens[nparams] = (size_t) (close - p - 1);
                memcpy(req->params_text + used, q, len);
                req->params_text[used + len] = '\0';
                req->param_values[nparams] = req->params_text + used;
                used += len + 1;
            }
            nparams++;
            p = close + 1;
            q += len;
            continue;
        }
        if (*p != *q)
            return false;
        p++;
        q++;
    }
    if (*p || *q)
        return false;
    if (req)
        req->nparams = nparams;
    return true;
}

bool httpd_path_matches(const char *pattern, const char *path)
{
    return pattern && path && s_match(pattern, path, NULL);
}

static const char *s_header(struct MHD_Connection *conn, const char *name)
{
    return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

/* Answers a CORS preflight for `path`, whose routes have the methods in
 * `allow` (may be ""): 204 with what the origin may do, or 403. */
static enum MHD_Result s_preflight(httpd_t *self, struct MHD_Connection *conn,
                                   const char *path, const char *allow, httpd_reply_t *reply)
{
    char reason[256];
    if (httpcors_preflight_refusal(self->cors, s_header(conn, "Origin"),
                                   s_header(conn, "Access-Control-Request-Method"), allow,
                                   s_header(conn, "Access-Control-Request-Headers"), reason,
                                   sizeof reason)) {
        s_refuse(self, reply, MHD_HTTP_FORBIDDEN, path, reason);
        return s_queue(self, conn, NULL, reply, NULL);
    }
    reply->status = MHD_HTTP_NO_CONTENT;
    httpd_reply_header(reply, "Access-Control-Allow-Methods", allow);
    httpd_reply_header(reply, "Access-Control-Allow-Headers", HTTPCORS_ALLOW_HEADERS);
    httpd_reply_header(reply, "Access-Control-Max-Age", HTTPCORS_MAX_AGE);
    return s_queue(self, conn, NULL, reply, NULL);
}

/* Answers a complete request: the route's handler, 404 or 405. */
static enum MHD_Result s_dispatch(httpd_t *self, struct MHD_Connection *conn,
                                  const char *path, const char *method, s_upload_t *up)
{
    httpd_reply_t reply = { .status = MHD_HTTP_INTERNAL_SERVER_ERROR };
    httpd_req_t req = { .conn = conn, .method = method, .path = path,
                        .target = up->target, .body = up->body, .len = up->len };
    const httpd_route_t *route = NULL;
    char allow[128] = "";
    for (size_t i = 0; i < self->nroutes && !route; i++) {
        if (!s_match(self->routes[i].path, path, NULL))
            continue;
        if (s_method_matches(self->routes[i].method, method)) {
            route = &self->routes[i];
            s_match(route->path, path, &req);
        }
        else if (strlen(allow) + strlen(self->routes[i].method) + 8 < sizeof allow)
            snprintf(allow + strlen(allow), sizeof allow - strlen(allow), "%s%s%s",
                     *allow ? ", " : "", self->routes[i].method,
                     strcmp(self->routes[i].method, MHD_HTTP_METHOD_GET) == 0 ? ", HEAD"
                                                                              : "");
    }
    if (!route && strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0
        && s_header(conn, "Access-Control-Request-Method") && s_header(conn, "Origin"))
        return s_preflight(self, conn, path, allow, &reply);
    if (!route && *allow) {
        s_refuse(self, &reply, MHD_HTTP_METHOD_NOT_ALLOWED, path, "method not allowed");
        return s_queue(self, conn, NULL, &reply, allow);
    }
    if (!route && self->fallback && !up->too_big
        && (strcmp(method, MHD_HTTP_METHOD_GET) == 0
            || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)) {
        s_peer(conn, req.peer, sizeof req.peer);
        self->fallback(self->fallback_ctx, &req, &reply);
        return s_queue(self, conn, method, &reply, NULL);
    }
    if (!route) {
        s_refuse(self, &reply, MHD_HTTP_NOT_FOUND, path, "not found");
        return s_queue(self, conn, NULL, &reply, NULL);
    }
    if (up->too_big) {
        char detail[64];
        snprintf(detail, sizeof detail, "request body larger than %zu bytes", self->body_max);
        s_refuse(self, &reply, MHD_HTTP_CONTENT_TOO_LARGE, path, detail);
        return s_queue(self, conn, NULL, &reply, NULL);
    }
    const char *csrf = self->csrf ? httpcors_csrf_refusal(
                           self->cors, method, s_header(conn, "Origin"),
                           s_header(conn, MHD_HTTP_HEADER_HOST), s_header(conn, "Sec-Fetch-Site"),
                           s_header(conn, MHD_HTTP_HEADER_CONTENT_TYPE), up->len > 0)
                                  : NULL;
    if (csrf) {
        s_refuse(self, &reply, MHD_HTTP_FORBIDDEN, path, csrf);
        return s_queue(self, conn, NULL, &reply, NULL);
    }
    req.route = route;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, s_arg, &req);
    s_peer(conn, req.peer, sizeof req.peer);
    route->handler(self->ctx, &req, &reply);
    return s_queue(self, conn, method, &reply, NULL);
}

/* Collects `data` into the upload; beyond the limit only notes it. */
static void s_collect(httpd_t *self, s_upload_t *up, const char *data, size_t size)
{
    if (up->too_big || up->len + size > self->body_max) {
        up->too_big = true;
        return;
    }
    if (up->len + size + 1 > up->cap) {
        size_t cap = up->cap ? up->cap : 1024;
        while (cap < up->len + size + 1)
            cap *= 2;
        char *grown = realloc(up->body, cap);
        if (!grown) {
            up->too_big = true;
            return;
        }
        up->body = grown;
        up->cap = cap;
    }
    memcpy(up->body + up->len, data, size);
    up->len += size;
    up->body[up->len] = '\0';
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    (void) version;
    httpd_t *self = cls;
    s_upload_t *up = *con_cls;
    if (!up)
        return MHD_NO;          /* s_uri_logger ran out of memory */
    if (!up->started) {
        /* the first call: only the headers */
        up->started = true;
        const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                         MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (length && strtoull(length, NULL, 10) > self->body_max) {
            up->too_big = true;     /* answered now: the body is never read */
            return s_dispatch(self, conn, url, method, up);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        s_collect(self, up, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return s_dispatch(self, conn, url, method, up);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode code)
{
    (void) cls;
    (void) conn;
    (void) code;
    s_upload_t *up = *con_cls;
    if (up) {
        free(up->target);
        free(up->body);
        free(up);
        *con_cls = NULL;
    }
}

/* The first thing libmicrohttpd knows of a request: its target as sent,
 * kept (what it returns becomes the connection's *con_cls). */
static void *s_uri_logger(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void) cls;
    (void) conn;
    s_upload_t *up = calloc(1, sizeof *up);
    if (up && !(up->target = strdup(uri ? uri : ""))) {
        free(up);
        up = NULL;
    }
    return up;
}

/* --- life cycle ------------------------------------------------------------------- */

httpd_t *httpd_new(const httpd_config_t *config, const httpd_route_t *routes, size_t n,
                   void *ctx)
{
    const char *name = config->name ? config->name : "";
    if (!*name || strlen(name) > S_NAME_MAX || !config->address || config->port < 0
        || config->port > 65535 || (n > 0 && !routes)) {
        log_error("http_config", "server=%s address=%s port=%d reason=\"invalid\"", name,
                  config->address ? config->address : "(null)", config->port);
        return NULL;
    }
    httpd_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (pthread_mutex_init(&self->streams_mu, NULL) != 0) {
        free(self);
        return NULL;
    }
    snprintf(self->name, sizeof self->name, "%s", name);
    self->routes = routes;
    self->nroutes = n;
    self->ctx = ctx;
    self->body_max = config->body_max ? config->body_max : S_BODY_DEFAULT;
    self->refusal = config->refusal;
    self->etag = config->etag;
    self->csrf = config->csrf;
    self->fallback = config->fallback;
    self->fallback_ctx = config->fallback_ctx;
    char reason[160];
    if (!(self->cors = httpcors_new(config->cors_origins, reason, sizeof reason))) {
        log_error("http_config", "server=%s reason=\"cors origins: %s\"", name, reason);
        pthread_mutex_destroy(&self->streams_mu);
        free(self);
        return NULL;
    }
    if (self->etag && sodium_init() < 0) {
        httpcors_destroy(&self->cors);
        pthread_mutex_destroy(&self->streams_mu);
        free(self);
        return NULL;
    }
    if (config->port == 0)
        return self;            /* inert: no port */

    struct sockaddr_in in4 = { .sin_family = AF_INET };
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6 };
    const struct sockaddr *addr;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG
                         | MHD_ALLOW_SUSPEND_RESUME;   /* parked streams */
    if (inet_pton(AF_INET, config->address, &in4.sin_addr) == 1) {
        in4.sin_port = htons((uint16_t) config->port);
        addr = (const struct sockaddr *) &in4;
    }
    else if (inet_pton(AF_INET6, config->address, &in6.sin6_addr) == 1) {
        in6.sin6_port = htons((uint16_t) config->port);
        addr = (const struct sockaddr *) &in6;
        flags |= MHD_USE_IPv6;
    }
    else {
        log_error("http_config", "server=%s address=%s reason=\"not an IP address\"", name,
                  config->address);
        httpcors_destroy(&self->cors);
        pthread_mutex_destroy(&self->streams_mu);
        free(self);
        return NULL;
    }
    /* a pool of one is no pool: libmicrohttpd warns about it */
    struct MHD_OptionItem pool[] = {
        { config->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
          (intptr_t) config->threads, NULL },
        { MHD_OPTION_END, 0, NULL },
    };
    self->daemon = MHD_start_daemon(
        flags, (uint16_t) config->port, NULL, NULL, s_handler, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_logger, self,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_URI_LOG_CALLBACK, s_uri_logger, self,
        MHD_OPTION_SOCK_ADDR, addr,
        MHD_OPTION_CONNECTION_LIMIT, config->connections ? config->connections : 64u,
        MHD_OPTION_CONNECTION_TIMEOUT, config->timeout_s ? config->timeout_s : 10u,
        MHD_OPTION_ARRAY, pool,
        MHD_OPTION_END);
    if (!self->daemon) {
        log_error("http_listen", "server=%s address=%s port=%d", name, config->address,
                  config->port);
        httpcors_destroy(&self->cors);
        pthread_mutex_destroy(&self->streams_mu);
        free(self);
        return NULL;
    }
    return self;
}

void httpd_destroy(httpd_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    httpd_t *self = *self_p;
    if (self->daemon) {
        /* libmicrohttpd must not be stopped with a parked connection */
        pthread_mutex_lock(&self->streams_mu);
        self->stopping = true;
        for (httpd_stream_t *st = self->streams; st; st = st->next) {
            pthread_mutex_lock(&st->mu);
            atomic_store(&st->closing, true);
            if (st->suspended) {
                st->suspended = false;
                MHD_resume_connection(st->conn);
            }
            pthread_mutex_unlock(&st->mu);
        }
        pthread_mutex_unlock(&self->streams_mu);
        MHD_stop_daemon(self->daemon);
    }
    httpcors_destroy(&self->cors);
    pthread_mutex_destroy(&self->streams_mu);
    free(self);
    *self_p = NULL;
}
