/*  wa_http: web-api's REST server under /api/v1, on common/httpd (a pool
 *  of threads on epoll) with Problem Details for its own refusals and
 *  ETag/If-None-Match on reads.
 *
 *  The route table is the one list of what the API answers: method, path,
 *  what it asks of the caller (public, any principal, or a permission),
 *  whether a principal that must change its password may use it, and the
 *  handler. `eqms-web-api --routes` prints it (tests compare it with
 *  docs/openapi.yaml). Each handler call gets a database and a Redis
 *  connection of its own from a pool of one per thread, and a
 *  queue-manager client (common/qmclient) likewise: a qmclient_t is one
 *  ZeroMQ socket, usable by one thread at a time, so each slot holds its
 *  own and a handler has it to itself for the call (no lock, no waiting
 *  behind another thread's 3-second timeout; a few DEALER connections in
 *  all, each multiplexing every window its requests name).
 *
 *  Browsers: cross-site state-changing requests are refused (httpd's csrf,
 *  httpcors.h), only the configured origins get CORS answers, and with a
 *  static directory the console's files are served at / (httpstatic.h),
 *  never anything under /api/.
 */
#ifndef EQMS_WA_HTTP_H
#define EQMS_WA_HTTP_H

#include <stdio.h>

#include "wa.h"

typedef struct wa_http_t wa_http_t;

typedef struct {
    const char *address;          /* to listen on */
    int port;
    unsigned threads;             /* handler threads, and connections of each kind */
    unsigned connections;         /* open at once (live streams included); 0: 512 */
    size_t body_max;              /* request bodies; larger get 413 */
    const char *pg_conninfo;
    const char *redis_url;
    const char *qm_endpoint;      /* queue-manager's requests; "": none (503) */
    unsigned timeout_s;           /* an idle connection is dropped; 0: 30 */
    const char *cors_origins;     /* browser origins allowed (httpcors.h); "": none */
    const char *static_dir;       /* the console's built files at /; NULL or "": none */
    wa_config_t api;
} wa_http_config_t;

/* Starts listening. NULL (logged) if the port cannot be bound or a
 * connection cannot be set up (they connect lazily: an unreachable server
 * answers 503 per request, not here). */
wa_http_t *wa_http_new(const wa_http_config_t *config);

/* Stops (waiting for running handlers) and frees. Accepts NULL. */
void wa_http_destroy(wa_http_t **self_p);

/* Prints the routes, one a line: "METHOD PATH ACCESS" where ACCESS is
 * "public", "any" or the permission's name. */
void wa_http_routes_print(FILE *out);

#endif
