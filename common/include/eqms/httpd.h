/*  httpd: a service's own small HTTP server (libmicrohttpd, its own
 *  threads) on a table of routes.
 *
 *  The plumbing every EQMS HTTP endpoint shares: routes with a method each
 *  (GET also answers HEAD), 404 for an unknown path, 405 with Allow for a
 *  known path and another method, request bodies collected up to a limit
 *  (413 beyond), query arguments read strictly (an argument given twice is
 *  refused), and the same headers on every reply (Cache-Control: no-store,
 *  X-Content-Type-Options: nosniff, a Content-Security-Policy that forbids
 *  everything and framing, X-Frame-Options: DENY, Referrer-Policy:
 *  no-referrer). health (the /health and /metrics port of every service),
 *  sms-notifier's gateway callbacks and web-api's REST API run on it.
 *
 *  A route's path is exact ("/sms/dlr") or has parameters, each a whole
 *  segment: "/api/v1/users/{id}" matches "/api/v1/users/42" (not
 *  "/api/v1/users/" nor "/api/v1/users/4/2") and httpd_req_param(req, "id")
 *  is "42". The first route of the table that matches the path and the
 *  method answers.
 *
 *  With `etag` set, a 200 answer to GET or HEAD carries a strong ETag (a
 *  hash of the body) and Cache-Control: private, no-cache, and a request
 *  whose If-None-Match names it (or is "*") gets 304 without the body.
 *
 *  Bodies of GZIP_MIN_SIZE bytes or more are gzip-compressed when the
 *  request's Accept-Encoding allows it (gzip.h), unless the reply opts out
 *  (their ETag is then weak). A reply may also be a stream
 *  (httpd_reply_stream): a body of unknown length that a producer feeds
 *  from any thread, parked without a thread while it has nothing to send
 *  (Server-Sent Events, sse.h).
 *
 *  Browsers (httpcors.h): with `cors_origins`, the configured origins get
 *  Access-Control-Allow-Origin on every answer and their preflights
 *  (OPTIONS with Access-Control-Request-Method) are answered 204; any other
 *  preflight gets 403. With `csrf`, a state-changing request that a page
 *  of another site could have made is refused 403 before its handler runs.
 *
 *  With a `fallback`, a GET or HEAD of a path no route has goes to it
 *  instead of 404 (static files, httpstatic.h).
 *
 *  Handlers run on the server's threads, concurrently when `threads` > 1:
 *  they may only touch thread-safe state or their own connections.
 */
#ifndef EQMS_HTTPD_H
#define EQMS_HTTPD_H

#include <stdbool.h>
#include <stddef.h>

typedef struct httpd_t httpd_t;

/* One request, valid only during the handler call. */
typedef struct httpd_req_t httpd_req_t;

/* A streamed reply's body (httpd_reply_stream). */
typedef struct httpd_stream_t httpd_stream_t;

/* What a handler answers. Starts as 500 with no body: a handler that
 * forgets to answer is visible. */
#define HTTPD_HEADERS_MAX     8     /* headers a handler may add to its answer */
#define HTTPD_HEADER_VALUE_MAX 256
#define HTTPD_PARAMS_MAX      4     /* {name} segments of a route's path */

typedef struct {
    unsigned status;
    const char *content_type;   /* static string; NULL: text/plain; charset=utf-8 */
    char *body;                 /* heap, taken by httpd; NULL: empty */
    size_t len;
    /* headers added with httpd_reply_header */
    size_t nheaders;
    struct {
        const char *name;       /* static string */
        char value[HTTPD_HEADER_VALUE_MAX];
    } headers[HTTPD_HEADERS_MAX];
    bool identity;              /* true: never compressed (XLSX, zip: already are) */
    httpd_stream_t *stream;     /* set by httpd_reply_stream, else NULL */
} httpd_reply_t;

typedef void (httpd_handler_fn)(void *ctx, const httpd_req_t *req, httpd_reply_t *reply);

typedef struct {
    const char *method;         /* "GET" (answers HEAD too), "POST", ... */
    const char *path;           /* exact, e.g. "/sms/dlr", or with {name} segments,
                                   e.g. "/api/v1/users/{id}" */
    httpd_handler_fn *handler;
} httpd_route_t;

/* Writes one of httpd's own refusals into `reply`: 404 (no such path), 405
 * (another method), 413 (body too large) and 403 (a cross-site request or
 * preflight refused), with `detail` the one line
 * httpd says of it and `path` the request's. */
typedef void (httpd_refusal_fn)(httpd_reply_t *reply, unsigned status, const char *path,
                                const char *detail);

typedef struct {
    const char *name;           /* in the log lines */
    const char *address;        /* an IPv4 or IPv6 address to listen on */
    int port;                   /* 0: no port at all (an inert server) */
    size_t body_max;            /* larger request bodies get 413; 0: 64 KiB */
    unsigned threads;           /* handler threads; 0: 1 */
    unsigned connections;       /* at most at once; 0: 64 */
    unsigned timeout_s;         /* idle connection timeout; 0: 10 s */
    httpd_refusal_fn *refusal;  /* how its own refusals read (problem_httpd_refusal
                                   answers Problem Details); NULL: the detail as
                                   text/plain */
    bool etag;                  /* ETag and If-None-Match on GET answers (above) */
    const char *cors_origins;   /* browser origins allowed (httpcors.h), comma-separated;
                                   NULL or "": none (an invalid list fails httpd_new) */
    bool csrf;                  /* refuse cross-site state-changing requests (httpcors.h) */
    httpd_handler_fn *fallback; /* GET/HEAD of a path no route has; NULL: 404 */
    void *fallback_ctx;         /* its ctx (borrowed) */
} httpd_config_t;

/* Starts listening. `routes` (n of them) and `ctx` are borrowed and must
 * outlive the server. NULL if the configuration is invalid or the port
 * cannot be bound (logged). */
httpd_t *httpd_new(const httpd_config_t *config, const httpd_route_t *routes, size_t n,
                   void *ctx);

/* Stops the threads (waiting for running handlers) and frees. Accepts NULL. */
void httpd_destroy(httpd_t **self_p);

/* --- reading the request ------------------------------------------------------ */

const char *httpd_req_method(const httpd_req_t *req);
const char *httpd_req_path(const httpd_req_t *req);

/* The request target as the client sent it, not decoded, with its query
 * ("/a%2Fb?x=1"); for code that must decode the path itself (httpstatic). */
const char *httpd_req_target(const httpd_req_t *req);

/* The route that matched (an element of the table given to httpd_new). */
const httpd_route_t *httpd_req_route(const httpd_req_t *req);

/* The path segment that matched `{name}` in the route's path, or NULL when
 * the route has no such parameter. */
const char *httpd_req_param(const httpd_req_t *req, const char *name);

/* The value of query argument `name` ("" for "?name" without a value), or
 * NULL when it is absent. */
const char *httpd_req_arg(const httpd_req_t *req, const char *name);

/* 0 when every query argument is one of `allowed` (NULL-terminated) and
 * none is given twice; otherwise -1 with the reason written to `reason`. */
int httpd_req_args_check(const httpd_req_t *req, const char *const *allowed, char *reason,
                         size_t size);

/* A request header (case-insensitive name), NULL when absent. */
const char *httpd_req_header(const httpd_req_t *req, const char *name);

/* The body (not NUL-terminated; "" and 0 without one). */
const char *httpd_req_body(const httpd_req_t *req, size_t *len);

/* The peer's address as text ("127.0.0.1"), for the logs. */
const char *httpd_req_peer(const httpd_req_t *req);

/* --- answering ------------------------------------------------------------------- */

/* Answers `status` with a text/plain body formatted like printf. */
void httpd_reply_text(httpd_reply_t *reply, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers `status` with `*body_p` (heap, NUL-terminated; taken, *body_p set
 * to NULL) of `content_type` (a static string). A NULL body answers 500. */
void httpd_reply_take(httpd_reply_t *reply, unsigned status, const char *content_type,
                      char **body_p);

/* Answers `status` with `len` bytes of `*body_p` (heap, may hold NULs;
 * taken, *body_p set to NULL) of `content_type` (static). NULL: 500. */
void httpd_reply_bytes(httpd_reply_t *reply, unsigned status, const char *content_type,
                       char **body_p, size_t len);

/* Adds a header to the answer (`name` a static string, `value` copied); a
 * Cache-Control or Content-Security-Policy among them replaces the
 * default.
 * -1 if HTTPD_HEADERS_MAX are already there or the value is longer than
 * HTTPD_HEADER_VALUE_MAX - 1 or holds a line break. */
int httpd_reply_header(httpd_reply_t *reply, const char *name, const char *value);

/* Whether `pattern` (a route's path) matches `path`, for route tables
 * that callers check (a parameter matches any one non-empty segment). */
bool httpd_path_matches(const char *pattern, const char *path);

/* --- streamed replies ------------------------------------------------------------ */

/* What feeds a streamed reply. httpd calls `read` on its own threads, one
 * call at a time per stream, and `close` exactly once, last. */
typedef struct {
    /* Copies at most `max` bytes of the body into `buf` and returns how
     * many; 0 when nothing is ready (httpd parks the connection, without
     * holding a thread, until httpd_stream_wake); -1 to end the body. */
    long (*read)(void *producer, char *buf, size_t max);
    /* The stream is over: ended by `read`, client gone, send failed or the
     * server stopping. After it returns, the httpd_stream_t is freed: the
     * producer must have forgotten it (and must not be inside
     * httpd_stream_wake for it on another thread). Also called when the
     * reply could not even be started. */
    void (*close)(void *producer);
} httpd_stream_ops_t;

/* Answers `status` with a body of unknown length (chunked over HTTP/1.1)
 * that `ops` read from `producer`, never compressed. `content_type` is
 * static; headers may be added before or after (httpd_reply_header). Returns the
 * stream, for httpd_stream_wake, valid until ops->close returns; NULL when
 * memory ran out (ops->close has then been called, the reply is 500). */
httpd_stream_t *httpd_reply_stream(httpd_reply_t *reply, unsigned status,
                                   const char *content_type, const httpd_stream_ops_t *ops,
                                   void *producer);

/* Tells httpd that `stream` has data (or its end) ready: a parked
 * connection is resumed and `read` called again. Thread-safe, never
 * blocks on the network; a wake before the next park is not lost. */
void httpd_stream_wake(httpd_stream_t *stream);

#endif
