/*  session: login sessions and API-token lookups, kept in Redis.
 *
 *  A token is 32 random bytes (libsodium) written as base64url after a
 *  prefix that tells its kind: "eqs_" a login session, "eqt_" an API
 *  token, e.g. "eqs_Qm9v...Zg" (47 characters). It is shown to its holder
 *  once; EQMS keeps only the SHA-256 of the whole text (SESSION_HASH_SIZE,
 *  lowercase hex), in Redis as part of the key and in PostgreSQL
 *  (api_token.token_hash) for API tokens, so a copy of either store holds
 *  no usable token, and a lookup by hash compares no secret.
 *
 *  Redis (docs/security.md):
 *    eqms:session:<hash>        hash: kind, user, node, token, scopes,
 *                               created, seen, expires (ms since the epoch)
 *    eqms:session:user:<id>     set: the hashes of the user's login sessions
 *    eqms:principals:generation integer: raised by every change of what a
 *                               principal is made of (a user, its roles, a
 *                               role's permissions, a node's place, a token)
 *
 *  A login session ends idle_s after its last use (each lookup renews it:
 *  sliding expiry) and max_s after its creation whatever its use, when it
 *  is revoked (logout), or when all of its user's are (password change,
 *  disable). An API token's truth is its row in PostgreSQL; Redis caches
 *  what a lookup needs for api_cache_s, so that a busy consumer costs no
 *  database round trip: revoking the row must also session_revoke its
 *  hash. Losing Redis logs every user out and costs one database lookup per
 *  API token, nothing more.
 *
 *  The functions take the caller's redisstore_t (one per thread, as
 *  redisstore wants); each is one round trip (a Lua script, so that a
 *  lookup's check and renewal are atomic).
 */
#ifndef EQMS_SESSION_H
#define EQMS_SESSION_H

#include <stdint.h>

#include "eqms/redisstore.h"

#define SESSION_TOKEN_SIZE 48     /* "eqs_" + 43 base64url characters + NUL */
#define SESSION_HASH_SIZE  65     /* SHA-256, lowercase hex, + NUL */

#define SESSION_IDLE_S_DEFAULT      1800    /* 30 min */
#define SESSION_MAX_S_DEFAULT       43200   /* 12 h */
#define SESSION_API_CACHE_S_DEFAULT 60

typedef enum {
    SESSION_LOGIN = 1,            /* "eqs_": a user logged in */
    SESSION_API = 2               /* "eqt_": an API token of a machine consumer */
} session_kind_t;

typedef struct {
    int idle_s;                   /* a login session ends this long after its last
                                     use; 0: SESSION_IDLE_S_DEFAULT */
    int max_s;                    /* and this long after it began at the latest;
                                     0: SESSION_MAX_S_DEFAULT */
    int api_cache_s;              /* an API token's lookup is cached this long;
                                     0: SESSION_API_CACHE_S_DEFAULT */
} session_config_t;

typedef struct {
    session_kind_t kind;
    char hash[SESSION_HASH_SIZE];
    int64_t user_id;              /* login: the user; API: the user who made the token */
    int64_t node_id;              /* the node whose subtree it may see */
    int64_t token_id;             /* API: api_token.id; login: 0 */
    uint64_t scopes;              /* API: the caller's permission bits; login: 0 */
    int64_t created_ms;
    int64_t seen_ms;              /* the use before this lookup (creation at first) */
    int64_t expires_ms;           /* the absolute end: created + max_s, or the
                                     API token's expires_at */
    int64_t generation;           /* lookups: the principals' generation at the
                                     lookup (session_principals_changed) */
} session_t;

/* A new token of `kind` and its hash. 0, or -1 if no randomness was had. */
int session_token_new(session_kind_t kind, char token[SESSION_TOKEN_SIZE],
                      char hash[SESSION_HASH_SIZE]);

/* The hash of a token as its holder sends it, and its kind (kind may be
 * NULL). -1 if the text is no well-formed token (wrong prefix, length or
 * alphabet): answer it as an unknown token. */
int session_token_hash(const char *token, session_kind_t *kind, char hash[SESSION_HASH_SIZE]);

/* Starts a login session for the user at the node: writes its token (to
 * give to the user, once) and, if `out` is not NULL, the session. 0, or -1
 * if Redis failed or no randomness was had (logged). */
int session_create(redisstore_t *rs, const session_config_t *config, int64_t user_id,
                   int64_t node_id, char token[SESSION_TOKEN_SIZE], session_t *out);

/* Looks a token up. 1 with *out filled: a live login session (renewed: it
 * now ends idle_s from now, or at its absolute end if that comes first),
 * or a cached API token (the caller checks nothing more in PostgreSQL).
 * 0: no such session, or ended (idle, past its end, revoked), or a
 * malformed token, or an API token not cached (look it up in PostgreSQL
 * and session_api_put it). -1: Redis failed (answer 503, not 401). */
int session_lookup(redisstore_t *rs, const session_config_t *config, const char *token,
                   session_t *out);

/* session_lookup by the token's kind and hash (what a holder of the hash,
 * not of the token, may ask: a live stream opened with the token, say);
 * a login session found is renewed the same way. */
int session_lookup_hash(redisstore_t *rs, const session_config_t *config,
                        session_kind_t kind, const char *hash, session_t *out);

/* Caches an API token's lookup, `s` filled from its row: kind SESSION_API,
 * hash, user_id (created_by), node_id, token_id, scopes, created_ms,
 * expires_ms. Kept api_cache_s or until its expiry if that is sooner (an
 * expired token is not cached). 0, or -1 if Redis failed or `s` is not an
 * API token's. */
int session_api_put(redisstore_t *rs, const session_config_t *config, const session_t *s);

/* Tells every reader of principals that one changed: raises the
 * principals' generation, which each session_lookup returns with the
 * session (in the same round trip), so that a process keeping principals
 * it read from the database (web-api's wa_princache) knows them stale
 * from the next lookup on. Call it after the change is committed. The new
 * generation, or -1 if Redis failed (logged by redisstore). */
int64_t session_principals_changed(redisstore_t *rs);

/* Ends one session, or forgets one cached API token, by hash. 1 if it was
 * there, 0 if not, -1 if Redis failed. */
int session_revoke(redisstore_t *rs, const char *hash);

/* Ends every login session of the user. The number ended, or -1 if Redis
 * failed. */
int session_revoke_user(redisstore_t *rs, int64_t user_id);

/* Ends every login session of the user but the one whose hash is `keep`
 * (the caller's own, after a password change). The number ended, or -1 if
 * Redis failed. */
int session_revoke_user_others(redisstore_t *rs, int64_t user_id, const char *keep);

#endif
