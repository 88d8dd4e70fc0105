/*  httpcors: which browser origins may use an HTTP API (CORS), and which
 *  state-changing requests a page of another site could have made (CSRF).
 *  httpd applies it when its configuration asks (httpd_config_t
 *  cors_origins, csrf); pure functions on request header values, so they
 *  are tested without a network. Safe from any thread once made.
 *
 *  CORS: only the configured origins ("https://console.example.com",
 *  exact, comma-separated; none by default) get
 *  Access-Control-Allow-Origin. A preflight (OPTIONS with Origin and
 *  Access-Control-Request-Method) from one of them for a method the path
 *  has, asking only for HTTPCORS_ALLOW_HEADERS, is answered 204 with the
 *  methods, headers and max-age; any other preflight is refused (403).
 *  Credentials (cookies) are never allowed: EQMS authenticates with
 *  "Authorization: Bearer", which a browser only sends when a script sets
 *  it.
 *
 *  CSRF: a state-changing request (any method but GET, HEAD, OPTIONS) is
 *  refused when a browser says it comes from another site (an Origin that
 *  is neither the server's own, by its Host, nor configured; or, without
 *  Origin, Sec-Fetch-Site "cross-site"), or when it has a body that is not
 *  declared JSON (Content-Type application/json or any "+json" type):
 *  an HTML form can only send application/x-www-form-urlencoded,
 *  multipart/form-data or text/plain, and a script of another site cannot
 *  send JSON or an Authorization header without a preflight this policy
 *  refuses.
 */
#ifndef EQMS_HTTPCORS_H
#define EQMS_HTTPCORS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct httpcors_t httpcors_t;

/* Request headers a script of an allowed origin may send (a preflight
 * asking for others is refused); answered in Access-Control-Allow-Headers. */
#define HTTPCORS_ALLOW_HEADERS "Authorization, Content-Type, If-None-Match, Last-Event-ID"
/* Reply headers such a script may read. */
#define HTTPCORS_EXPOSE_HEADERS \
    "ETag, Location, Retry-After, WWW-Authenticate, Content-Disposition"
/* How long a browser may keep a preflight's answer, in seconds. */
#define HTTPCORS_MAX_AGE "600"

#define HTTPCORS_ORIGINS_MAX 16
#define HTTPCORS_ORIGIN_MAX  256      /* bytes of one origin */

/* The policy for `origins`: comma-separated origins, each
 * scheme "://" host [":" port] (http or https, no path, no "*"), spaces
 * around the commas ignored; NULL or "" allows none. NULL (with the
 * offending entry in `reason`) when an entry is not such an origin, or
 * there are more than HTTPCORS_ORIGINS_MAX. Destroy with httpcors_destroy. */
httpcors_t *httpcors_new(const char *origins, char *reason, size_t size);

/* Frees. Accepts NULL; sets *self_p to NULL. */
void httpcors_destroy(httpcors_t **self_p);

/* How many origins are allowed. */
size_t httpcors_count(const httpcors_t *self);

/* Whether the Origin header value `origin` is one of the configured ones
 * (scheme and host compared case-insensitively, the port exactly). NULL
 * and "null" never are. */
bool httpcors_allowed(const httpcors_t *self, const char *origin);

/* Whether `origin` names the server the request was sent to: its host
 * and port are the Host header's (any scheme: behind a TLS proxy the
 * server cannot tell). */
bool httpcors_same_origin(const char *origin, const char *host);

/* Whether `method` changes state (anything but GET, HEAD and OPTIONS). */
bool httpcors_state_changing(const char *method);

/* Whether `content_type` declares JSON: application/json or
 * application/<anything>+json, parameters (charset) allowed. */
bool httpcors_is_json(const char *content_type);

/* The CSRF rule (above) for one request: NULL when it may go on, else the
 * reason it is refused (a static sentence, for a 403). Header values may
 * be NULL when absent. */
const char *httpcors_csrf_refusal(const httpcors_t *self, const char *method,
                                  const char *origin, const char *host,
                                  const char *sec_fetch_site, const char *content_type,
                                  bool has_body);

/* The preflight rule: NULL when `origin` may send `method` (which must be
 * listed in `methods`, the path's comma-separated methods) with
 * `request_headers` (Access-Control-Request-Headers, NULL: none), else
 * the reason it is refused (written into `reason`, returned). */
const char *httpcors_preflight_refusal(const httpcors_t *self, const char *origin,
                                       const char *method, const char *methods,
                                       const char *request_headers, char *reason,
                                       size_t size);

#endif
