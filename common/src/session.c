/*  session: login sessions and API-token lookups in Redis (session.h). */
#include "eqms/session.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"

#define S_PREFIX_LEN   4                  /* "eqs_", "eqt_" */
#define S_SECRET_BYTES 32
#define S_SECRET_CHARS 43                 /* base64url of 32 bytes, no padding */
#define S_KEY          "eqms:session:"
#define S_USER_KEY     "eqms:session:user:"
#define S_GEN_KEY      "eqms:principals:generation"
#define S_KEY_SIZE     (sizeof S_KEY + SESSION_HASH_SIZE)
#define S_NUM_SIZE     24

_Static_assert(SESSION_TOKEN_SIZE == S_PREFIX_LEN + S_SECRET_CHARS + 1, "token size");
_Static_assert(SESSION_HASH_SIZE == crypto_hash_sha256_BYTES * 2 + 1, "hash size");

static const char *const s_prefix[] = { [SESSION_LOGIN] = "eqs_", [SESSION_API] = "eqt_" };

/* The fields of a session's hash, in the order the scripts return them. */
enum { F_KIND, F_USER, F_NODE, F_TOKEN, F_SCOPES, F_CREATED, F_SEEN, F_EXPIRES, F_GENERATION,
       F_COUNT };

/* Writes a session: its hash with an expiry and, for a login session, its
 * hash in the user's set (whose members that ended are pruned, and which
 * lives as long as a session may).
 * KEYS: session, user set. ARGV: hash, kind, user, node, token, scopes,
 * created, seen, expires, ttl ms, max ms, session key prefix. */
static const char s_put_lua[] =
    "redis.call('HSET', KEYS[1], 'kind', ARGV[2], 'user', ARGV[3], 'node', ARGV[4],"
    "  'token', ARGV[5], 'scopes', ARGV[6], 'created', ARGV[7], 'seen', ARGV[8],"
    "  'expires', ARGV[9])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[10])\n"
    "if ARGV[2] ~= '1' then return 1 end\n"
    "for _, h in ipairs(redis.call('SMEMBERS', KEYS[2])) do\n"
    "  if redis.call('EXISTS', ARGV[12] .. h) == 0 then redis.call('SREM', KEYS[2], h) end\n"
    "end\n"
    "redis.call('SADD', KEYS[2], ARGV[1])\n"
    "if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[11]) then\n"
    "  redis.call('PEXPIRE', KEYS[2], ARGV[11])\n"
    "end\n"
    "return 1\n";

/* Finds a session; ends it if it is idle or past its end (by the caller's
 * clock), else notes the use and, for a login session, slides its expiry.
 * Returns the fields as they were followed by the principals' generation
 * (set to `now` when missing: see s_generation_lua), or nil.
 * KEYS: session, generation. ARGV: now, idle ms, user key prefix, hash. */
static const char s_lookup_lua[] =
    "local v = redis.call('HMGET', KEYS[1], 'kind', 'user', 'node', 'token', 'scopes',"
    "  'created', 'seen', 'expires')\n"
    "if not v[1] or not v[8] then return false end\n"
    "local now, idle, ends = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(v[8])\n"
    "local login = v[1] == '1'\n"
    "if now >= ends or (login and now - tonumber(v[7]) >= idle) then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "  if login then redis.call('SREM', ARGV[3] .. v[2], ARGV[4]) end\n"
    "  return false\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'seen', ARGV[1])\n"
    "if login then redis.call('PEXPIRE', KEYS[1], math.min(idle, ends - now)) end\n"
    "local g = redis.call('GET', KEYS[2])\n"
    "if not g then g = ARGV[1]; redis.call('SET', KEYS[2], g) end\n"
    "v[9] = g\n"
    "return v\n";

/* Increments the principals' generation. A generation lost with Redis's
 * data starts again from the time in milliseconds, above any value it had
 * (it would need more changes than milliseconds passed to reach it), so
 * that a number cached before the loss is never taken for a later one.
 * KEYS: generation. ARGV: now. */
static const char s_generation_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[1]) end\n"
    "return redis.call('INCR', KEYS[1])\n";

/* KEYS: session. ARGV: user key prefix, hash. */
static const char s_revoke_lua[] =
    "local v = redis.call('HMGET', KEYS[1], 'kind', 'user')\n"
    "if redis.call('DEL', KEYS[1]) == 0 then return 0 end\n"
    "if v[1] == '1' and v[2] then redis.call('SREM', ARGV[1] .. v[2], ARGV[2]) end\n"
    "return 1\n";

/* KEYS: user set. ARGV: session key prefix, the hash to keep ("": none). */
static const char s_revoke_user_lua[] =
    "local n = 0\n"
    "for _, h in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  if h ~= ARGV[2] then\n"
    "    n = n + redis.call('DEL', ARGV[1] .. h)\n"
    "    redis.call('SREM', KEYS[1], h)\n"
    "  end\n"
    "end\n"
    "return n\n";

/* --- tokens ---------------------------------------------------------------------- */

static void s_hash_text(const char *text, size_t len, char hash[SESSION_HASH_SIZE])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *) text, len);
    sodium_bin2hex(hash, SESSION_HASH_SIZE, digest, sizeof digest);
}

int session_token_new(session_kind_t kind, char token[SESSION_TOKEN_SIZE],
                      char hash[SESSION_HASH_SIZE])
{
    if ((kind != SESSION_LOGIN && kind != SESSION_API) || sodium_init() < 0)
        return -1;
    unsigned char secret[S_SECRET_BYTES];
    randombytes_buf(secret, sizeof secret);
    memcpy(token, s_prefix[kind], S_PREFIX_LEN);
    sodium_bin2base64(token + S_PREFIX_LEN, SESSION_TOKEN_SIZE - S_PREFIX_LEN, secret,
                      sizeof secret, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(secret, sizeof secret);
    s_hash_text(token, SESSION_TOKEN_SIZE - 1, hash);
    return 0;
}

int session_token_hash(const char *token, session_kind_t *kind, char hash[SESSION_HASH_SIZE])
{
    if (!token || strnlen(token, SESSION_TOKEN_SIZE) != SESSION_TOKEN_SIZE - 1)
        return -1;
    session_kind_t k = strncmp(token, s_prefix[SESSION_LOGIN], S_PREFIX_LEN) == 0 ? SESSION_LOGIN
                       : strncmp(token, s_prefix[SESSION_API], S_PREFIX_LEN) == 0 ? SESSION_API
                                                                                 : 0;
    if (!k || strspn(token + S_PREFIX_LEN, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                           "0123456789-_") != S_SECRET_CHARS)
        return -1;
    if (kind)
        *kind = k;
    s_hash_text(token, SESSION_TOKEN_SIZE - 1, hash);
    return 0;
}

/* A hash as session_token_hash writes it: 64 lowercase hex digits. */
static bool s_hash_valid(const char *hash)
{
    return hash && strnlen(hash, SESSION_HASH_SIZE) == SESSION_HASH_SIZE - 1
           && strspn(hash, "0123456789abcdef") == SESSION_HASH_SIZE - 1;
}

/* --- Redis ---------------------------------------------------------------------------- */

static int s_seconds(int value, int fallback)
{
    return value > 0 ? value : fallback;
}

/* Runs a script; the reply (the caller frees it) or NULL (logged by redisstore). */
static redisReply *s_eval(redisstore_t *rs, const char *script, int nkeys, int nargs,
                          const char *const *args)
{
    char numkeys[4];
    snprintf(numkeys, sizeof numkeys, "%d", nkeys);
    const char *argv[20] = { "EVAL", script, numkeys };
    int argc = 3;
    for (int i = 0; i < nargs && argc < 20; i++)
        argv[argc++] = args[i];
    return redisstore_command(rs, argc, argv, NULL);
}

/* Writes the session's hash with a time to live and, for a login, its user's set. */
static int s_put(redisstore_t *rs, const session_config_t *config, const session_t *s,
                 int64_t ttl_ms)
{
    char key[S_KEY_SIZE], user_key[sizeof S_USER_KEY + S_NUM_SIZE];
    char kind[S_NUM_SIZE], user[S_NUM_SIZE], node[S_NUM_SIZE], token[S_NUM_SIZE];
    char scopes[S_NUM_SIZE], created[S_NUM_SIZE], seen[S_NUM_SIZE], expires[S_NUM_SIZE];
    char ttl[S_NUM_SIZE], max[S_NUM_SIZE];
    snprintf(key, sizeof key, S_KEY "%s", s->hash);
    snprintf(user_key, sizeof user_key, S_USER_KEY "%" PRId64, s->user_id);
    snprintf(kind, sizeof kind, "%d", (int) s->kind);
    snprintf(user, sizeof user, "%" PRId64, s->user_id);
    snprintf(node, sizeof node, "%" PRId64, s->node_id);
    snprintf(token, sizeof token, "%" PRId64, s->token_id);
    snprintf(scopes, sizeof scopes, "%" PRIu64, s->scopes);
    snprintf(created, sizeof created, "%" PRId64, s->created_ms);
    snprintf(seen, sizeof seen, "%" PRId64, s->seen_ms);
    snprintf(expires, sizeof expires, "%" PRId64, s->expires_ms);
    snprintf(ttl, sizeof ttl, "%" PRId64, ttl_ms);
    snprintf(max, sizeof max, "%" PRId64,
             (int64_t) s_seconds(config->max_s, SESSION_MAX_S_DEFAULT) * 1000);
    const char *args[] = { key, user_key, s->hash, kind, user, node, token, scopes,
                           created, seen, expires, ttl, max, S_KEY };
    redisReply *reply = s_eval(rs, s_put_lua, 2, (int) (sizeof args / sizeof args[0]), args);
    freeReplyObject(reply);
    return reply ? 0 : -1;
}

int session_create(redisstore_t *rs, const session_config_t *config, int64_t user_id,
                   int64_t node_id, char token[SESSION_TOKEN_SIZE], session_t *out)
{
    session_t s = { .kind = SESSION_LOGIN, .user_id = user_id, .node_id = node_id };
    if (session_token_new(SESSION_LOGIN, token, s.hash) != 0) {
        log_error("session_create_failed", "user=%" PRId64 " reason=\"no randomness\"",
                  user_id);
        return -1;
    }
    s.created_ms = s.seen_ms = clock_now_ms();
    s.expires_ms = s.created_ms + (int64_t) s_seconds(config->max_s, SESSION_MAX_S_DEFAULT) * 1000;
    int64_t idle_ms = (int64_t) s_seconds(config->idle_s, SESSION_IDLE_S_DEFAULT) * 1000;
    int64_t ttl = idle_ms < s.expires_ms - s.created_ms ? idle_ms : s.expires_ms - s.created_ms;
    if (s_put(rs, config, &s, ttl) != 0) {
        sodium_memzero(token, SESSION_TOKEN_SIZE);
        log_warn("session_create_failed", "user=%" PRId64 " reason=\"redis\"", user_id);
        return -1;
    }
    if (out)
        *out = s;
    return 0;
}

int session_api_put(redisstore_t *rs, const session_config_t *config, const session_t *s)
{
    if (s->kind != SESSION_API || !s_hash_valid(s->hash))
        return -1;
    session_t cached = *s;
    cached.seen_ms = clock_now_ms();
    int64_t ttl = (int64_t) s_seconds(config->api_cache_s, SESSION_API_CACHE_S_DEFAULT) * 1000;
    if (cached.expires_ms - cached.seen_ms < ttl)
        ttl = cached.expires_ms - cached.seen_ms;
    if (ttl <= 0)
        return 0;   /* expired: nothing to cache, lookups go to the table and fail there */
    return s_put(rs, config, &cached, ttl);
}

/* An integer field of a script's reply (0 when missing or not a number). */
static int64_t s_field(const redisReply *reply, int i)
{
    const redisReply *e = reply->element[i];
    return e->type == REDIS_REPLY_STRING ? strtoll(e->str, NULL, 10) : 0;
}

int session_lookup_hash(redisstore_t *rs, const session_config_t *config,
                        session_kind_t kind, const char *hash, session_t *out)
{
    if (!s_hash_valid(hash))
        return 0;
    char key[S_KEY_SIZE], now[S_NUM_SIZE], idle[S_NUM_SIZE];
    snprintf(key, sizeof key, S_KEY "%s", hash);
    snprintf(now, sizeof now, "%" PRId64, clock_now_ms());
    snprintf(idle, sizeof idle, "%" PRId64,
             (int64_t) s_seconds(config->idle_s, SESSION_IDLE_S_DEFAULT) * 1000);
    const char *args[] = { key, S_GEN_KEY, now, idle, S_USER_KEY, hash };
    redisReply *reply = s_eval(rs, s_lookup_lua, 2, 6, args);
    if (!reply)
        return -1;
    int found = 0;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == F_COUNT
        && s_field(reply, F_KIND) == kind) {
        /* a token of one kind never finds the other's: the prefix is hashed */
        *out = (session_t) {
            .kind = kind,
            .user_id = s_field(reply, F_USER),
            .node_id = s_field(reply, F_NODE),
            .token_id = s_field(reply, F_TOKEN),
            .scopes = reply->element[F_SCOPES]->type == REDIS_REPLY_STRING
                          ? strtoull(reply->element[F_SCOPES]->str, NULL, 10) : 0,
            .created_ms = s_field(reply, F_CREATED),
            .seen_ms = s_field(reply, F_SEEN),
            .expires_ms = s_field(reply, F_EXPIRES),
            .generation = s_field(reply, F_GENERATION),
        };
        memcpy(out->hash, hash, SESSION_HASH_SIZE);
        found = 1;
    }
    freeReplyObject(reply);
    return found;
}

int session_lookup(redisstore_t *rs, const session_config_t *config, const char *token,
                   session_t *out)
{
    session_kind_t kind;
    char hash[SESSION_HASH_SIZE];
    if (session_token_hash(token, &kind, hash) != 0)
        return 0;
    return session_lookup_hash(rs, config, kind, hash, out);
}

int session_revoke(redisstore_t *rs, const char *hash)
{
    if (!s_hash_valid(hash))
        return 0;
    char key[S_KEY_SIZE];
    snprintf(key, sizeof key, S_KEY "%s", hash);
    const char *args[] = { key, S_USER_KEY, hash };
    redisReply *reply = s_eval(rs, s_revoke_lua, 1, 3, args);
    if (!reply)
        return -1;
    int was = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
    freeReplyObject(reply);
    return was;
}

int session_revoke_user(redisstore_t *rs, int64_t user_id)
{
    return session_revoke_user_others(rs, user_id, NULL);
}

int session_revoke_user_others(redisstore_t *rs, int64_t user_id, const char *keep)
{
    char key[sizeof S_USER_KEY + S_NUM_SIZE];
    snprintf(key, sizeof key, S_USER_KEY "%" PRId64, user_id);
    const char *args[] = { key, S_KEY, keep ? keep : "" };
    redisReply *reply = s_eval(rs, s_revoke_user_lua, 1, 3, args);
    if (!reply)
        return -1;
    int n = reply->type == REDIS_REPLY_INTEGER ? (int) reply->integer : -1;
    freeReplyObject(reply);
    return n;
}

int64_t session_principals_changed(redisstore_t *rs)
{
    char now[S_NUM_SIZE];
    snprintf(now, sizeof now, "%" PRId64, clock_now_ms());
    const char *args[] = { S_GEN_KEY, now };
    redisReply *reply = s_eval(rs, s_generation_lua, 1, 2, args);
    if (!reply)
        return -1;
    int64_t generation = reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    freeReplyObject(reply);
    return generation;
}
