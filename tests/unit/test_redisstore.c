/*  Unit tests: redisstore against a real Redis (EQMS_TEST_REDIS_URL, started
 *  by tests/run.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eqms/clock.h"
#include "eqms/redisstore.h"

static const char *s_url;
static char s_url_db3[256];

static int setup(void **state)
{
    (void) state;
    s_url = getenv("EQMS_TEST_REDIS_URL");
    if (!s_url) {
        fprintf(stderr, "EQMS_TEST_REDIS_URL is not set: run through tests/run.py\n");
        return -1;
    }
    const char *slash = strrchr(s_url, '/');
    snprintf(s_url_db3, sizeof s_url_db3, "%.*s/3", (int) (slash - s_url), s_url);
    return 0;
}

static redisstore_t *connected(const char *url)
{
    redisstore_t *rs = redisstore_new(url, 2000);
    assert_non_null(rs);
    assert_int_equal(redisstore_connect(rs, 5000), 0);
    return rs;
}

static redisReply *cmd(redisstore_t *rs, const char *a, const char *b, const char *c)
{
    const char *argv[] = { a, b, c };
    return redisstore_command(rs, c ? 3 : b ? 2 : 1, argv, NULL);
}

static void test_bad_urls(void **state)
{
    (void) state;
    const char *bad[] = { "", "http://x:1", "redis://", "redis://host", "redis://:6379",
                          "redis://h:0", "redis://h:70000", "redis://h:1/16",
                          "redis://h:1/x", "redis://h:1x", "unix://", "unix://rel/path",
                          "unix:///tmp/s?db=99", "unix:///tmp/s?x=1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_null(redisstore_new(bad[i], 100));
    assert_null(redisstore_new(NULL, 100));
    redisstore_t *ok = redisstore_new("unix:///tmp/redis.sock?db=2", 100);
    assert_non_null(ok);
    redisstore_destroy(&ok);
    assert_null(ok);
}

static void test_binary_safe_commands(void **state)
{
    (void) state;
    redisstore_t *rs = connected(s_url);
    const char value[] = "a\0b\r\n满意";
    const char *argv[] = { "SET", "unit:bin", value };
    size_t lens[] = { 3, 8, sizeof value - 1 };
    redisReply *r = redisstore_command(rs, 3, argv, lens);
    assert_non_null(r);
    freeReplyObject(r);
    r = cmd(rs, "GET", "unit:bin", NULL);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(r->len, sizeof value - 1);
    assert_memory_equal(r->str, value, sizeof value - 1);
    freeReplyObject(r);
    redisstore_destroy(&rs);
}

static void test_error_reply_is_null(void **state)
{
    (void) state;
    redisstore_t *rs = connected(s_url);
    freeReplyObject(cmd(rs, "SET", "unit:str", "text"));
    assert_null(cmd(rs, "INCR", "unit:str", NULL));
    assert_null(cmd(rs, "NOSUCHCOMMAND", NULL, NULL));
    assert_true(redisstore_connected(rs));
    redisReply *r = cmd(rs, "PING", NULL, NULL);
    assert_non_null(r);
    freeReplyObject(r);
    redisstore_destroy(&rs);
}

static void test_pipeline(void **state)
{
    (void) state;
    redisstore_t *rs = connected(s_url);
    freeReplyObject(cmd(rs, "DEL", "unit:n", NULL));
    for (int i = 0; i < 1000; i++) {
        const char *argv[] = { "INCR", "unit:n" };
        assert_int_equal(redisstore_pipeline_add(rs, 2, argv, NULL), 0);
    }
    const char *bad[] = { "INCR", "unit:str" };
    assert_int_equal(redisstore_pipeline_add(rs, 2, bad, NULL), 0);
    assert_null(cmd(rs, "PING", NULL, NULL));   /* not while a pipeline is queued */
    redisReply **replies;
    int n = redisstore_pipeline_exec(rs, &replies);
    assert_int_equal(n, 1001);
    assert_int_equal(replies[999]->integer, 1000);
    assert_int_equal(replies[1000]->type, REDIS_REPLY_ERROR);
    redisstore_replies_free(&replies, n);
    assert_null(replies);
    n = redisstore_pipeline_exec(rs, &replies);   /* empty pipeline */
    assert_int_equal(n, 0);
    redisstore_replies_free(&replies, n);
    redisstore_destroy(&rs);
}

/* A pipeline sent without waiting: its replies are checked later, by
 * settle or implicitly before the next command, and a failure is told
 * once. */
static void test_pipeline_send_then_settle(void **state)
{
    (void) state;
    redisstore_t *rs = connected(s_url);
    freeReplyObject(cmd(rs, "DEL", "unit:sent", NULL));
    freeReplyObject(cmd(rs, "SET", "unit:str", "x"));
    for (int i = 0; i < 500; i++) {
        const char *argv[] = { "INCR", "unit:sent" };
        assert_int_equal(redisstore_pipeline_add(rs, 2, argv, NULL), 0);
    }
    assert_int_equal(redisstore_pipeline_send(rs), 0);
    assert_int_equal(redisstore_pipeline_settle(rs), 0);
    redisReply *r = cmd(rs, "GET", "unit:sent", NULL);
    assert_string_equal(r->str, "500");
    freeReplyObject(r);

    /* An error reply among the sent ones fails the settle, once. */
    const char *bad[] = { "INCR", "unit:str" };
    assert_int_equal(redisstore_pipeline_add(rs, 2, bad, NULL), 0);
    assert_int_equal(redisstore_pipeline_send(rs), 0);
    assert_int_equal(redisstore_pipeline_settle(rs), -1);
    assert_int_equal(redisstore_pipeline_settle(rs), 0);

    /* A command first reads the sent replies, so its own reply is its own;
     * the failure among them is still told by the next settle. */
    assert_int_equal(redisstore_pipeline_add(rs, 2, bad, NULL), 0);
    const char *incr[] = { "INCR", "unit:sent" };
    assert_int_equal(redisstore_pipeline_add(rs, 2, incr, NULL), 0);
    assert_int_equal(redisstore_pipeline_send(rs), 0);
    r = cmd(rs, "GET", "unit:sent", NULL);
    assert_string_equal(r->str, "501");
    freeReplyObject(r);
    assert_int_equal(redisstore_pipeline_settle(rs), -1);
    redisstore_destroy(&rs);
}

static void test_database_selection(void **state)
{
    (void) state;
    redisstore_t *db0 = connected(s_url), *db3 = connected(s_url_db3);
    freeReplyObject(cmd(db3, "SET", "unit:db", "three"));
    freeReplyObject(cmd(db0, "DEL", "unit:db", NULL));
    redisReply *r = cmd(db3, "GET", "unit:db", NULL);
    assert_string_equal(r->str, "three");
    freeReplyObject(r);
    r = cmd(db0, "GET", "unit:db", NULL);
    assert_int_equal(r->type, REDIS_REPLY_NIL);
    freeReplyObject(r);
    redisstore_destroy(&db0);
    redisstore_destroy(&db3);
}

static void test_unreachable_fails_fast(void **state)
{
    (void) state;
    redisstore_t *rs = redisstore_new("redis://127.0.0.1:1", 200);
    int64_t t0 = clock_mono_ms();
    assert_int_equal(redisstore_connect(rs, 300), -1);
    assert_true(clock_mono_ms() - t0 < 3000);
    assert_null(cmd(rs, "PING", NULL, NULL));
    const char *argv[] = { "PING" };
    assert_int_equal(redisstore_pipeline_add(rs, 1, argv, NULL), -1);
    redisstore_destroy(&rs);
}

static void test_reconnects_and_fails_broken_pipeline(void **state)
{
    (void) state;
    redisstore_t *rs = connected(s_url), *killer = connected(s_url);
    const char *setname[] = { "CLIENT", "SETNAME", "victim" };
    freeReplyObject(redisstore_command(rs, 3, setname, NULL));
    const char *queued[] = { "INCR", "unit:lost" };
    assert_int_equal(redisstore_pipeline_add(rs, 2, queued, NULL), 0);
    /* Kill the connection while a pipeline is queued on it. */
    redisReply *list = cmd(killer, "CLIENT", "LIST", NULL);
    char *at = strstr(list->str, "name=victim");
    assert_non_null(at);
    while (at > list->str && strncmp(at, "id=", 3) != 0)
        at--;
    char id[32];
    sscanf(at, "id=%31s", id);
    freeReplyObject(list);
    const char *kill[] = { "CLIENT", "KILL", "ID", id };
    redisReply *r = redisstore_command(killer, 4, kill, NULL);
    assert_non_null(r);
    freeReplyObject(r);
    redisReply **replies;
    assert_int_equal(redisstore_pipeline_exec(rs, &replies), -1);
    assert_null(replies);
    /* The next call reconnects. */
    r = cmd(rs, "PING", NULL, NULL);
    if (!r)
        r = cmd(rs, "PING", NULL, NULL);
    assert_non_null(r);
    freeReplyObject(r);
    redisstore_destroy(&rs);
    redisstore_destroy(&killer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_binary_safe_commands),
        cmocka_unit_test(test_error_reply_is_null),
        cmocka_unit_test(test_pipeline),
        cmocka_unit_test(test_pipeline_send_then_settle),
        cmocka_unit_test(test_database_selection),
        cmocka_unit_test(test_unreachable_fails_fast),
        cmocka_unit_test(test_reconnects_and_fails_broken_pipeline),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
