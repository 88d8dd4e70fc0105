/*  wa: what web-api's REST modules share: one request in progress
 *  (wa_call_t, with the connections it may use and the principal who
 *  makes it) and the helpers every handler answers with.
 *
 *  A handler runs on one of httpd's threads with a database and a Redis
 *  connection of its own for the call (wa_http's pool). Before it runs,
 *  wa_http has resolved the principal and checked the route's permission
 *  (wa_auth); the handler scopes every query to the principal's subtree
 *  (`who.node_path`), so that an object outside it answers 404.
 *
 *  Answers are JSON (application/json) or Problem Details (problem.h);
 *  every helper that answers an error returns -1 (or NULL) so that a
 *  handler just returns.
 */
#ifndef EQMS_WA_H
#define EQMS_WA_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "eqms/httpd.h"
#include "eqms/jsonreq.h"
#include "eqms/pgstore.h"
#include "eqms/qmclient.h"
#include "eqms/redisstore.h"
#include "eqms/session.h"
#include "eqms/sse.h"
#include "wa_snap.h"
#include "wa_voice.h"

#define WA_PATH_SIZE 256          /* an org path as text (ltree, 32 levels at most) */
#define WA_NAME_SIZE 132          /* a login or a token's name, for the audit log */
#define WA_LIST_LIMIT_DEFAULT 50
#define WA_LIST_LIMIT_MAX 200

/* A timestamptz column as RFC 3339 UTC with milliseconds, in SQL (NULL stays
 * NULL). */
#define WA_TS(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

struct wa_princache;              /* wa_princache.h */

/* What web-api's REST side is configured with (main reads it). */
typedef struct {
    session_config_t session;
    int lockout_failures;         /* failed logins in a row that lock an account */
    int lockout_s;                /* how long it stays locked */
    /* told after a configuration change is committed: what changed is at or
     * below the org path (webapi_server publishes registry snapshots);
     * NULL: nobody listens. Called from handler threads. */
    void (*changed)(void *ctx, const char *path);
    void *changed_ctx;
    int qm_timeout_ms;            /* a queue-manager request's reply, at most */
    const char *pg_conninfo;      /* for connections of their own (streamed exports) */
    sse_hub_t *live;              /* the live streams' hub (wa_live.h); NULL: 503 */
    const char *backup_dir;       /* backup archives (wa_backup.h, wa_jobs.h) */
    wa_snap_t *snap;              /* the live hall snapshots kept (wa_snap.h); NULL:
                                     every read asks queue-manager */
    struct wa_princache *principals; /* the principals kept (wa_princache.h); NULL:
                                     every request reads its user or token */
    wa_voice_t *voice;            /* the announcements' voice (wa_voice.h); NULL: 503 */
} wa_config_t;

/* Who makes a request: a user's login session or an API token. */
typedef struct {
    session_kind_t kind;          /* SESSION_LOGIN or SESSION_API */
    int64_t user_id;              /* login: the user; API: who made the token */
    int64_t token_id;             /* API: api_token.id; login: 0 */
    int64_t node_id;              /* the root of what it may see and change */
    char node_path[WA_PATH_SIZE];
    char name[WA_NAME_SIZE];      /* the user's login, or the token's name */
    uint64_t perms;               /* wa_auth's permission bits */
    bool must_change_password;    /* login: only the password may be changed */
    char hash[SESSION_HASH_SIZE]; /* the session's (or token's) hash */
} wa_principal_t;

typedef struct {
    pgstore_t *pg;                /* this call's own */
    redisstore_t *rs;             /* this call's own */
    qmclient_t *qm;               /* this call's own; NULL: no queue-manager configured */
    const wa_config_t *config;
    const httpd_req_t *req;
    httpd_reply_t *reply;
    wa_principal_t who;           /* filled for routes that need a principal */
    bool principals_changed;      /* the call changed a user, role, node or token
                                     (wa_store's audit tells): wa_http raises the
                                     principals' generation after the handler */
} wa_call_t;

typedef void (wa_handler_fn)(wa_call_t *call);

/* --- answering (wa_http.c) ------------------------------------------------------ */

/* Answers `status` with `*body_p` (heap JSON text, taken) as application/json. */
void wa_reply_json(wa_call_t *call, unsigned status, char **body_p);

/* Answers `status` with `*json_p` encoded (taken; compact, keys in the order
 * they were set). */
void wa_reply_jansson(wa_call_t *call, unsigned status, json_t **json_p);

/* Answers 204 No Content. */
void wa_reply_empty(wa_call_t *call);

/* Answers a Problem Details `status` with a detail formatted like printf
 * and the request path as instance. Returns -1. */
int wa_problem(wa_call_t *call, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers 400 with the errors (jsonreq's form). Returns -1. */
int wa_invalid(wa_call_t *call, const jsonreq_errors_t *errors);

/* Answers 400 naming one member. Returns -1. */
int wa_invalid_member(wa_call_t *call, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers `status` (400 malformed, 422 unusable) naming one member, its
 * reason formatted like vprintf. Returns -1. */
int wa_member_vproblem(wa_call_t *call, unsigned status, const char *member, const char *fmt,
                       va_list ap) __attribute__((format(printf, 4, 0)));

/* Answers 503: the database (or Redis) failed; logged with `what`. Returns -1. */
int wa_unavailable(wa_call_t *call, const char *what);

/* --- reading the request (wa_http.c) ---------------------------------------------- */

/* The body decoded against `spec`, or NULL answered (400). The caller
 * json_decref's it. Refuses query arguments (400). */
json_t *wa_decode(wa_call_t *call, const jsonreq_object_t *spec);

/* The same for the body of a change of an object made with `spec`
 * (jsonreq_decode_update: required members may be absent, fixed ones are
 * refused, at least one member is named). */
json_t *wa_decode_update(wa_call_t *call, const jsonreq_object_t *spec);

/* 0 when the request has no query arguments; -1 answered (400). */
int wa_no_args(wa_call_t *call);

/* 0 when every query argument is one of `allowed` (NULL-terminated), none
 * given twice; -1 answered (400). */
int wa_only_args(wa_call_t *call, const char *const *allowed);

/* The path parameter {id} as a positive integer; -1 answered (404) when it
 * is not one. Refuses query arguments (400). */
int wa_param_id(wa_call_t *call, int64_t *id);

/* A list's arguments: limit (1..WA_LIST_LIMIT_MAX, default
 * WA_LIST_LIMIT_DEFAULT) and cursor (from an earlier page of the list
 * `kind`; *after is 0 without one), plus the names in `more`
 * (NULL-terminated, may be NULL). -1 answered (400) when one is wrong or
 * unknown. */
int wa_list_args(wa_call_t *call, const char *kind, const char *const *more, int *limit,
                 int64_t *after);

/* The same for a list whose rows are keyed by text (a UUID, a time and an
 * id): *key is "" without a cursor. */
int wa_list_args_key(wa_call_t *call, const char *kind, const char *const *more, int *limit,
                     char *key, size_t size);

/* The cursor of a list `kind` positioned after the row whose key is `key`
 * (its id in decimal, or its text key) (base64url, no padding; opaque to
 * clients). 0, or -1 if it does not fit. */
int wa_cursor_encode(const char *kind, const char *key, char *out, size_t size);

/* The key of a cursor of the list `kind`; -1 if it is none. */
int wa_cursor_decode_key(const char *kind, const char *cursor, char *key, size_t size);

/* The row id of a cursor of the list `kind`; -1 if it is none. */
int wa_cursor_decode(const char *kind, const char *cursor, int64_t *id);

/* Whether `path` is `root` or below it (org paths as text, "hq.r01"). */
bool wa_path_within(const char *path, const char *root);

#endif
