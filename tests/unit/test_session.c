/*  Unit tests: session, login sessions and API-token lookups against a real
 *  Redis (EQMS_TEST_REDIS_URL, started by tests/run.py; database 5 of it,
 *  emptied first). Time is moved with clock_set_fake: the scripts judge
 *  idleness and ends by the caller's clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"
#include "eqms/session.h"

#define T0 1796000000000LL   /* 2026-11-30, ms */

static char s_url[256];
static redisstore_t *s_rs;
static const session_config_t s_config = { .idle_s = 1800, .max_s = 43200,
                                           .api_cache_s = 60 };

static redisReply *cmd(const char *a, const char *b, const char *c)
{
    const char *argv[] = { a, b, c };
    return redisstore_command(s_rs, c ? 3 : b ? 2 : 1, argv, NULL);
}

static long long num(const char *a, const char *b, const char *c)
{
    redisReply *r = cmd(a, b, c);
    assert_non_null(r);
    long long n = r->type == REDIS_REPLY_INTEGER ? r->integer : -999;
    freeReplyObject(r);
    return n;
}

static int setup(void **state)
{
    (void) state;
    const char *url = getenv("EQMS_TEST_REDIS_URL");
    if (!url || !strrchr(url, '/')) {
        fprintf(stderr, "EQMS_TEST_REDIS_URL is not set: run through tests/run.py\n");
        return -1;
    }
    snprintf(s_url, sizeof s_url, "%.*s/5", (int) (strrchr(url, '/') - url), url);
    s_rs = redisstore_new(s_url, 2000);
    if (!s_rs || redisstore_connect(s_rs, 5000) != 0)
        return -1;
    freeReplyObject(cmd("FLUSHDB", NULL, NULL));
    return 0;
}

static int teardown(void **state)
{
    (void) state;
    clock_set_fake(0);
    redisstore_destroy(&s_rs);
    return 0;
}

static void key_of(char *out, size_t size, const char *hash)
{
    snprintf(out, size, "eqms:session:%s", hash);
}

static void user_key_of(char *out, size_t size, int64_t user)
{
    snprintf(out, size, "eqms:session:user:%" PRId64, user);
}

/* --- tokens ------------------------------------------------------------------------- */

static void test_tokens(void **state)
{
    (void) state;
    char token[SESSION_TOKEN_SIZE], hash[SESSION_HASH_SIZE], again[SESSION_HASH_SIZE];
    char other[SESSION_TOKEN_SIZE], other_hash[SESSION_HASH_SIZE];
    assert_int_equal(session_token_new(SESSION_LOGIN, token, hash), 0);
    assert_int_equal(strlen(token), 47);
    assert_memory_equal(token, "eqs_", 4);
    assert_int_equal(strspn(token + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                       "0123456789-_"), 43);
    assert_int_equal(strlen(hash), 64);
    session_kind_t kind = 0;
    assert_int_equal(session_token_hash(token, &kind, again), 0);
    assert_int_equal(kind, SESSION_LOGIN);
    assert_string_equal(hash, again);
    assert_int_equal(session_token_new(SESSION_API, other, other_hash), 0);
    assert_memory_equal(other, "eqt_", 4);
    assert_string_not_equal(token + 4, other + 4);
    assert_int_equal(session_token_hash(other, &kind, again), 0);
    assert_int_equal(kind, SESSION_API);
    /* SHA-256 of the text: what PostgreSQL's sha256() gives for the same token */
    assert_int_equal(session_token_hash("eqs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL,
                                        again), 0);
    assert_string_equal(again,
                        "6e6d82fa2792bf5c24efb7eacbe23ff9bc6f794b3d2af44fbc0244a404c5f7a9");
    /* malformed: never looked up */
    const char *bad[] = { "", "eqs_", "eqx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                          "eqs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                          "eqs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                          "eqs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+",
                          "eqs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                          "Bearer eqs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (session_token_hash(bad[i], NULL, again) != -1)
            fail_msg("accepted '%s'", bad[i]);
    assert_int_equal(session_token_hash(NULL, NULL, again), -1);
    assert_int_equal(session_token_new(0, token, hash), -1);
}

/* --- login sessions ------------------------------------------------------------------ */

/* A login of `user` at node 7 at the fake time T0. */
static void login(const session_config_t *config, int64_t user, char token[SESSION_TOKEN_SIZE],
                  session_t *made)
{
    clock_set_fake(T0);
    assert_int_equal(session_create(s_rs, config, user, 7, token, made), 0);
}

static void test_create_and_lookup(void **state)
{
    (void) state;
    char token[SESSION_TOKEN_SIZE];
    session_t made, found;
    login(&s_config, 42, token, &made);
    assert_int_equal(made.kind, SESSION_LOGIN);
    assert_int_equal(made.created_ms, T0);
    assert_int_equal(made.expires_ms, T0 + 43200 * 1000LL);
    clock_set_fake(T0 + 5000);
    assert_int_equal(session_lookup(s_rs, &s_config, token, &found), 1);
    assert_int_equal(found.kind, SESSION_LOGIN);
    assert_int_equal(found.user_id, 42);
    assert_int_equal(found.node_id, 7);
    assert_int_equal(found.token_id, 0);
    assert_int_equal(found.created_ms, T0);
    assert_int_equal(found.seen_ms, T0);            /* the use before this one */
    assert_int_equal(found.expires_ms, T0 + 43200 * 1000LL);
    assert_string_equal(found.hash, made.hash);
    assert_int_equal(session_lookup(s_rs, &s_config, token, &found), 1);
    assert_int_equal(found.seen_ms, T0 + 5000);

    /* Redis holds the hash, never the token */
    char key[128];
    key_of(key, sizeof key, made.hash);
    long long ttl = num("PTTL", key, NULL);
    assert_true(ttl > 1790 * 1000LL && ttl <= 1800 * 1000LL);
    redisReply *r = cmd("HGETALL", key, NULL);
    assert_int_equal(r->elements, 16);
    for (size_t i = 0; i < r->elements; i++)
        assert_null(strstr(r->element[i]->str, token + 4));
    freeReplyObject(r);
    r = cmd("KEYS", "*", NULL);
    for (size_t i = 0; i < r->elements; i++)
        assert_null(strstr(r->element[i]->str, token + 4));
    freeReplyObject(r);
    char user_key[64];
    user_key_of(user_key, sizeof user_key, 42);
    assert_int_equal(num("SISMEMBER", user_key, made.hash), 1);
    assert_true(num("PTTL", user_key, NULL) > 43000 * 1000LL);

    /* unknown and malformed tokens find nothing */
    char other[SESSION_TOKEN_SIZE], hash[SESSION_HASH_SIZE];
    session_token_new(SESSION_LOGIN, other, hash);
    assert_int_equal(session_lookup(s_rs, &s_config, other, &found), 0);
    assert_int_equal(session_lookup(s_rs, &s_config, "eqs_nonsense", &found), 0);
    assert_int_equal(session_lookup(s_rs, &s_config, NULL, &found), 0);
    /* by hash: the same session, renewed; the other kind or a bad hash finds nothing */
    clock_set_fake(T0 + 9000);
    assert_int_equal(session_lookup_hash(s_rs, &s_config, SESSION_LOGIN, made.hash, &found), 1);
    assert_int_equal(found.user_id, 42);
    assert_int_equal(found.seen_ms, T0 + 5000);
    assert_int_equal(session_lookup(s_rs, &s_config, token, &found), 1);
    assert_int_equal(found.seen_ms, T0 + 9000);
    assert_int_equal(session_lookup_hash(s_rs, &s_config, SESSION_API, made.hash, &found), 0);
    assert_int_equal(session_lookup_hash(s_rs, &s_config, SESSION_LOGIN, "abc", &found), 0);
    assert_int_equal(session_lookup_hash(s_rs, &s_config, SESSION_LOGIN, hash, &found), 0);
    /* the same secret as another kind is another token */
    token[2] = 't';
    assert_int_equal(session_lookup(s_rs, &s_config, token, &found), 0);
}

static void test_sliding_idle_expiry(void **state)
{
    (void) state;
    char token[SESSION_TOKEN_SIZE];
    session_t made, found;
    login(&s_config, 43, token, &made);
    /* used every 29 minutes: it lives on past the first 30 */
    int64_t t = T0;
    for (int i = 0; i < 4; i++) {
        t += 29 * 60 * 1000LL;
        clock_set_fake(t);
        assert_int_equal(session_lookup(s_rs, &s_config, token, &found), 1);
    }
    /* then left alone for 30 minutes: ended, and gone from its user's set */
    clock_set_fake(t + 30 * 60 * 1000LL);
    assert_int_equal(session_lookup(s_rs, &s_config, token, &found), 0);
    char key[128], user_key[64];
    key_of(key, sizeof key, made.hash);
    user_key_of(user_key, sizeof user_key, 43);
    assert_int_equal(num("EXISTS", key, NULL), 0);
    assert_int_equal(num("SISMEMBER", user_key, made.hash), 0);
    clock_set_fake(t + 1000);   /* even if the clock went back: it stays ended */
    assert_int_equal(session_lookup(s_rs, &s_config, token, &found), 0);
}

static void test_absolute_end(void **state)
{
    (void) state;
    session_config_t config = { .idle_s = 1800, .max_s = 3600 };
    char token[SESSION_TOKEN_SIZE];
    session_t made, found;
    login(&config, 44, token, &made);
    assert_int_equal(made.expires_ms, T0 + 3600 * 1000LL);
    clock_set_fake(T0 + 1700 * 1000LL);
    assert_int_equal(session_lookup(s_rs, &config, token, &found), 1);
    /* near the end the expiry is the end, not idle_s away */
    clock_set_fake(T0 + 3000 * 1000LL);
    assert_int_equal(session_lookup(s_rs, &config, token, &found), 1);
    char key[128];
    key_of(key, sizeof key, made.hash);
    long long ttl = num("PTTL", key, NULL);
    assert_true(ttl > 590 * 1000LL && ttl <= 600 * 1000LL);
    /* used a second before the end: still ends at the end */
    clock_set_fake(T0 + 3599 * 1000LL);
    assert_int_equal(session_lookup(s_rs, &config, token, &found), 1);
    clock_set_fake(T0 + 3600 * 1000LL);
    assert_int_equal(session_lookup(s_rs, &config, token, &found), 0);
    assert_int_equal(num("EXISTS", key, NULL), 0);
}

static void test_defaults(void **state)
{
    (void) state;
    session_config_t config = { 0 };
    char token[SESSION_TOKEN_SIZE];
    session_t made, found;
    login(&config, 45, token, &made);
    assert_int_equal(made.expires_ms, T0 + SESSION_MAX_S_DEFAULT * 1000LL);
    clock_set_fake(T0 + (SESSION_IDLE_S_DEFAULT - 1) * 1000LL);
    assert_int_equal(session_lookup(s_rs, &config, token, &found), 1);
    clock_set_fake(T0 + (2 * SESSION_IDLE_S_DEFAULT - 2) * 1000LL);
    assert_int_equal(session_lookup(s_rs, &config, token, &found), 1);
    clock_set_fake(T0 + (3 * SESSION_IDLE_S_DEFAULT - 2) * 1000LL);   /* idle_s unused */
    assert_int_equal(session_lookup(s_rs, &config, token, &found), 0);
}

static void test_revoke(void **state)
{
    (void) state;
    char token[SESSION_TOKEN_SIZE], kept[SESSION_TOKEN_SIZE];
    session_t made, found;
    login(&s_config, 46, token, &made);
    assert_int_equal(session_create(s_rs, &s_config, 46, 7, kept, NULL), 0);
    assert_int_equal(session_revoke(s_rs, made.hash), 1);
    assert_int_equal(session_lookup(s_rs, &s_config, token, &found), 0);
    assert_int_equal(session_revoke(s_rs, made.hash), 0);
    assert_int_equal(session_revoke(s_rs, "not a hash"), 0);
    assert_int_equal(session_revoke(s_rs, NULL), 0);
    char user_key[64];
    user_key_of(user_key, sizeof user_key, 46);
    assert_int_equal(num("SISMEMBER", user_key, made.hash), 0);
    assert_int_equal(num("SCARD", user_key, NULL), 1);
    assert_int_equal(session_lookup(s_rs, &s_config, kept, &found), 1);
}

static void test_revoke_user(void **state)
{
    (void) state;
    clock_set_fake(T0);
    char tokens[3][SESSION_TOKEN_SIZE], other[SESSION_TOKEN_SIZE];
    session_t found;
    for (int i = 0; i < 3; i++)
        assert_int_equal(session_create(s_rs, &s_config, 47, 7, tokens[i], NULL), 0);
    assert_int_equal(session_create(s_rs, &s_config, 48, 7, other, NULL), 0);
    assert_int_equal(session_revoke_user(s_rs, 47), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(session_lookup(s_rs, &s_config, tokens[i], &found), 0);
    assert_int_equal(session_lookup(s_rs, &s_config, other, &found), 1);
    assert_int_equal(found.user_id, 48);
    assert_int_equal(session_revoke_user(s_rs, 47), 0);
    assert_int_equal(session_revoke_user(s_rs, 999), 0);
    char user_key[64];
    user_key_of(user_key, sizeof user_key, 47);
    assert_int_equal(num("EXISTS", user_key, NULL), 0);
    /* a session made after the revocation lives */
    assert_int_equal(session_create(s_rs, &s_config, 47, 7, tokens[0], NULL), 0);
    assert_int_equal(session_lookup(s_rs, &s_config, tokens[0], &found), 1);
}

/* A user's set keeps only sessions that still exist: ended ones go at the
 * next login. */
static void test_revoke_user_others(void **state)
{
    (void) state;
    clock_set_fake(T0);
    char tokens[3][SESSION_TOKEN_SIZE];
    session_t made[3], found;
    for (int i = 0; i < 3; i++)
        assert_int_equal(session_create(s_rs, &s_config, 49, 7, tokens[i], &made[i]), 0);
    assert_int_equal(session_revoke_user_others(s_rs, 49, made[1].hash), 2);
    assert_int_equal(session_lookup(s_rs, &s_config, tokens[0], &found), 0);
    assert_int_equal(session_lookup(s_rs, &s_config, tokens[2], &found), 0);
    assert_int_equal(session_lookup(s_rs, &s_config, tokens[1], &found), 1);
    char user_key[64];
    user_key_of(user_key, sizeof user_key, 49);
    assert_int_equal(num("SCARD", user_key, NULL), 1);
    assert_int_equal(num("SISMEMBER", user_key, made[1].hash), 1);
    /* the kept one is still ended with all of them later */
    assert_int_equal(session_revoke_user(s_rs, 49), 1);
    assert_int_equal(session_lookup(s_rs, &s_config, tokens[1], &found), 0);
    assert_int_equal(num("SCARD", user_key, NULL), 0);
}

static void test_user_set_pruned(void **state)
{
    (void) state;
    clock_set_fake(T0);
    char token[SESSION_TOKEN_SIZE];
    session_t made[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(session_create(s_rs, &s_config, 49, 7, token, &made[i]), 0);
    char key[128], user_key[64];
    user_key_of(user_key, sizeof user_key, 49);
    assert_int_equal(num("SCARD", user_key, NULL), 3);
    for (int i = 0; i < 2; i++) {   /* as Redis's own expiry would */
        key_of(key, sizeof key, made[i].hash);
        assert_int_equal(num("DEL", key, NULL), 1);
    }
    assert_int_equal(session_create(s_rs, &s_config, 49, 7, token, NULL), 0);
    assert_int_equal(num("SCARD", user_key, NULL), 2);
    assert_int_equal(num("SISMEMBER", user_key, made[2].hash), 1);
}

/* --- API tokens --------------------------------------------------------------------- */

static void test_api_token_cache(void **state)
{
    (void) state;
    clock_set_fake(T0);
    char token[SESSION_TOKEN_SIZE];
    session_t row = { .kind = SESSION_API, .user_id = 60, .node_id = 3, .token_id = 900,
                      .scopes = (UINT64_C(1) << 63) | 5, .created_ms = T0 - 86400000LL,
                      .expires_ms = T0 + 30 * 86400000LL };
    assert_int_equal(session_token_new(SESSION_API, token, row.hash), 0);
    session_t found;
    assert_int_equal(session_lookup(s_rs, &s_config, token, &found), 0);   /* not cached */
    assert_int_equal(session_api_put(s_rs, &s_config, &row), 0);
    clock_set_fake(T0 + 10000);
    assert_int_equal(session_lookup(s_rs, &s_config, token, &found), 1);
    assert_int_equal(found.kind, SESSION_API);
    assert_int_equal(found.user_id, 60);
    assert_int_equal(found.node_id, 3);
    assert_int_equal(found.token_id, 900);
    assert_true(found.scopes == ((UINT64_C(1) << 63) | 5));
    assert_int_equal(found.created_ms, T0 - 86400000LL);
    assert_int_equal(found.expires_ms, T0 + 30 * 86400000LL);
    assert_int_equal(found.seen_ms, T0);     /* when it was cached */
    assert_int_equal(session_lookup(s_rs, &s_config, token, &found), 1);
    assert_int_equal(found.seen_ms, T0 + 10000);
    /* a use does not keep the cache: its row is read again after api_cache_s */
    char key[128];
    key_of(key, sizeof key, row.hash);
    assert_true(num("PTTL", key, NULL) <= 60 * 1000LL);
    /* revoked: forgotten at once */
    assert_int_equal(session_revoke(s_rs, row.hash), 1);
    assert_int_equal(session_lookup(s_rs, &s_config, token, &found), 0);
    /* revoking a user's login sessions leaves their tokens' cache alone */
    assert_int_equal(session_api_put(s_rs, &s_config, &row), 0);
    assert_int_equal(session_revoke_user(s_rs, 60), 0);
    assert_int_equal(session_lookup(s_rs, &s_config, token, &found), 1);
}

static void test_api_token_expiry(void **state)
{
    (void) state;
    clock_set_fake(T0);
    char token[SESSION_TOKEN_SIZE];
    session_t row = { .kind = SESSION_API, .user_id = 1, .node_id = 1, .token_id = 901,
                      .created_ms = T0 - 1000, .expires_ms = T0 + 20000 };
    assert_int_equal(session_token_new(SESSION_API, token, row.hash), 0);
    assert_int_equal(session_api_put(s_rs, &s_config, &row), 0);
    char key[128];
    key_of(key, sizeof key, row.hash);
    assert_true(num("PTTL", key, NULL) <= 20000);   /* no longer than the token lives */
    session_t found;
    clock_set_fake(T0 + 19999);
    assert_int_equal(session_lookup(s_rs, &s_config, token, &found), 1);
    clock_set_fake(T0 + 20000);
    assert_int_equal(session_lookup(s_rs, &s_config, token, &found), 0);
    assert_int_equal(num("EXISTS", key, NULL), 0);
    /* an expired token is not cached at all */
    assert_int_equal(session_api_put(s_rs, &s_config, &row), 0);
    assert_int_equal(num("EXISTS", key, NULL), 0);
    /* only API tokens' rows go through api_put */
    row.kind = SESSION_LOGIN;
    row.expires_ms = T0 + 1000000;
    assert_int_equal(session_api_put(s_rs, &s_config, &row), -1);
    row.kind = SESSION_API;
    strcpy(row.hash, "short");
    assert_int_equal(session_api_put(s_rs, &s_config, &row), -1);
}

/* --- the principals' generation ------------------------------------------------------ */

static void test_principals_generation(void **state)
{
    (void) state;
    clock_set_fake(1700000000000);
    freeReplyObject(cmd("DEL", "eqms:principals:generation", NULL));
    char token[SESSION_TOKEN_SIZE];
    session_t s;
    assert_int_equal(session_create(s_rs, &s_config, 7, 1, token, NULL), 0);
    /* missing: a lookup starts it at the time in milliseconds */
    assert_int_equal(session_lookup(s_rs, &s_config, token, &s), 1);
    assert_int_equal(s.generation, 1700000000000);
    int64_t g = session_principals_changed(s_rs);
    assert_int_equal(g, 1700000000001);
    assert_int_equal(session_lookup(s_rs, &s_config, token, &s), 1);
    assert_int_equal(s.generation, g);
    /* lost with Redis's data a second later: it starts again above what it was */
    freeReplyObject(cmd("DEL", "eqms:principals:generation", NULL));
    clock_set_fake(1700000001000);
    int64_t after = session_principals_changed(s_rs);
    assert_true(after > g);
    assert_int_equal(after, 1700000001001);
    assert_int_equal(session_lookup(s_rs, &s_config, token, &s), 1);
    assert_int_equal(s.generation, after);
    clock_set_fake(0);
    redisstore_t *down = redisstore_new("redis://127.0.0.1:1", 200);
    assert_int_equal(session_principals_changed(down), -1);
    redisstore_destroy(&down);
}

/* --- Redis down ----------------------------------------------------------------------- */

static void test_redis_down(void **state)
{
    (void) state;
    redisstore_t *down = redisstore_new("redis://127.0.0.1:1", 200);
    char token[SESSION_TOKEN_SIZE], hash[SESSION_HASH_SIZE];
    session_t s;
    assert_int_equal(session_create(down, &s_config, 1, 1, token, &s), -1);
    assert_int_equal(token[0], '\0');                 /* no token for a session not made */
    session_token_new(SESSION_LOGIN, token, hash);
    assert_int_equal(session_lookup(down, &s_config, token, &s), -1);
    assert_int_equal(session_revoke(down, hash), -1);
    assert_int_equal(session_revoke_user(down, 1), -1);
    redisstore_destroy(&down);
}

int main(void)
{
    log_init("test_session", LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_create_and_lookup),
        cmocka_unit_test(test_sliding_idle_expiry),
        cmocka_unit_test(test_absolute_end),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_revoke),
        cmocka_unit_test(test_revoke_user),
        cmocka_unit_test(test_revoke_user_others),
        cmocka_unit_test(test_user_set_pruned),
        cmocka_unit_test(test_api_token_cache),
        cmocka_unit_test(test_api_token_expiry),
        cmocka_unit_test(test_principals_generation),
        cmocka_unit_test(test_redis_down),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
