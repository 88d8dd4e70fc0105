/*  Unit tests: tailcursor, a consumer's positions in the streams of facts
 *  and which streams are behind their heads (a real PostgreSQL answers the
 *  heads query: EQMS_TEST_PG_CONNINFO, started by tests/run.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/tailcursor.h"

static void test_positions_start_at_zero_and_move(void **state)
{
    (void) state;
    tailcursor_t *c = tailcursor_new();
    assert_non_null(c);
    assert_int_equal(tailcursor_get(c, "ticket_event", "7"), 0);
    assert_int_equal(tailcursor_set(c, "ticket_event", "7", 12, false), 0);
    assert_int_equal(tailcursor_set(c, "gateway", "7", 3, false), 0);
    assert_int_equal(tailcursor_get(c, "ticket_event", "7"), 12);
    assert_int_equal(tailcursor_get(c, "gateway", "7"), 3);   /* sources apart */
    assert_int_equal(tailcursor_count(c), 2);
    tailcursor_destroy(&c);
    assert_null(c);
}

typedef struct {
    int n;
    char seen[4][64];
} changed_t;

static int collect(void *arg, const char *source, const char *stream, int64_t position)
{
    changed_t *ch = arg;
    snprintf(ch->seen[ch->n++], 64, "%s %s %lld", source, stream, (long long) position);
    return 0;
}

static void test_only_changed_positions_are_written_and_rollback_restores(void **state)
{
    (void) state;
    tailcursor_t *c = tailcursor_new();
    assert_non_null(c);
    assert_int_equal(tailcursor_set(c, "ticket_event", "1", 10, false), 0);
    assert_int_equal(tailcursor_set(c, "ticket_event", "2", 20, false), 0);
    assert_int_equal(tailcursor_set(c, "ticket_event", "2", 25, true), 0);
    changed_t ch = { 0 };
    assert_int_equal(tailcursor_each_changed(c, collect, &ch), 0);
    assert_int_equal(ch.n, 1);
    assert_string_equal(ch.seen[0], "ticket_event 2 25");
    /* the commit failed: read again from 20 */
    tailcursor_rollback(c);
    assert_int_equal(tailcursor_get(c, "ticket_event", "2"), 20);
    ch.n = 0;
    assert_int_equal(tailcursor_each_changed(c, collect, &ch), 0);
    assert_int_equal(ch.n, 0);
    /* moved and committed: nothing left to write */
    assert_int_equal(tailcursor_set(c, "ticket_event", "1", 11, true), 0);
    tailcursor_committed(c);
    assert_int_equal(tailcursor_each_changed(c, collect, &ch), 0);
    assert_int_equal(ch.n, 0);
    assert_int_equal(tailcursor_get(c, "ticket_event", "1"), 11);
    tailcursor_destroy(&c);
}

static void test_too_long_keys_are_refused(void **state)
{
    (void) state;
    tailcursor_t *c = tailcursor_new();
    assert_non_null(c);
    char stream[300];
    memset(stream, 'x', sizeof stream - 1);
    stream[sizeof stream - 1] = '\0';
    assert_int_equal(tailcursor_set(c, "ticket_event", stream, 1, true), -1);
    assert_int_equal(tailcursor_set(c, "a_source_name_longer_than_31_bytes", "1", 1, true), -1);
    assert_int_equal(tailcursor_get(c, "ticket_event", stream), 0);
    assert_int_equal(tailcursor_count(c), 0);
    tailcursor_destroy(&c);
}

typedef struct {
    int n, stop_after;
    char seen[8][64];
} behind_t;

static int behind(void *arg, const char *stream, int64_t position, int64_t head)
{
    behind_t *b = arg;
    snprintf(b->seen[b->n++], 64, "%s %lld..%lld", stream, (long long) position,
             (long long) head);
    return b->n == b->stop_after ? 1 : 0;
}

static pgstore_t *pg_admin(void)
{
    const char *conninfo = getenv("EQMS_TEST_PG_CONNINFO");
    if (!conninfo)
        fail_msg("EQMS_TEST_PG_CONNINFO is not set: run through tests/run.py");
    pgstore_t *pg = pgstore_new(conninfo);
    assert_non_null(pg);
    return pg;
}

static const char *s_heads =
    "SELECT stream, head FROM (VALUES ('1', 10::bigint), ('2', 30::bigint), "
    "('3', 5::bigint), ('4', NULL)) AS h(stream, head) "
    "WHERE head >= $1::bigint OR head IS NULL ORDER BY stream";

static void test_behind_names_the_streams_above_their_positions(void **state)
{
    (void) state;
    pgstore_t *pg = pg_admin();
    tailcursor_t *c = tailcursor_new();
    assert_non_null(c);
    assert_int_equal(tailcursor_set(c, "t", "1", 10, false), 0);   /* at its head */
    assert_int_equal(tailcursor_set(c, "t", "2", 25, false), 0);
    const char *params[] = { "0" };
    behind_t b = { 0 };
    assert_int_equal(tailcursor_behind(c, pg, "t", s_heads, 1, params, behind, &b), 0);
    assert_int_equal(b.n, 2);
    assert_string_equal(b.seen[0], "2 25..30");
    assert_string_equal(b.seen[1], "3 0..5");     /* never read: from 0 */
    /* fn stops the walk */
    behind_t first = { .stop_after = 1 };
    assert_int_equal(tailcursor_behind(c, pg, "t", s_heads, 1, params, behind, &first), 1);
    assert_int_equal(first.n, 1);
    tailcursor_destroy(&c);
    pgstore_destroy(&pg);
}

static void test_a_heads_query_of_the_wrong_shape_fails(void **state)
{
    (void) state;
    pgstore_t *pg = pg_admin();
    tailcursor_t *c = tailcursor_new();
    assert_non_null(c);
    behind_t b = { 0 };
    assert_int_equal(tailcursor_behind(c, pg, "t", "SELECT '1', 2, 3", 0, NULL, behind, &b),
                     -1);
    assert_int_equal(tailcursor_behind(c, pg, "t", "SELECT nonsense FROM nowhere", 0, NULL,
                                       behind, &b), -1);
    assert_int_equal(b.n, 0);
    tailcursor_destroy(&c);
    pgstore_destroy(&pg);
}

static void test_gateway_streams_split_into_gateway_and_incarnation(void **state)
{
    (void) state;
    char gw[32], inc[40];
    assert_int_equal(tailcursor_gateway_split("device-gateway.b0001/0191c7a2-0000-7000-8000-"
                                              "000000000001", gw, sizeof gw, inc, sizeof inc), 0);
    assert_string_equal(gw, "device-gateway.b0001");
    assert_string_equal(inc, "0191c7a2-0000-7000-8000-000000000001");
    /* the last slash splits */
    assert_int_equal(tailcursor_gateway_split("a/b/c", gw, sizeof gw, inc, sizeof inc), 0);
    assert_string_equal(gw, "a/b");
    assert_string_equal(inc, "c");
    const char *bad[] = { "no-slash", "/inc", "gw/", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(tailcursor_gateway_split(bad[i], gw, sizeof gw, inc, sizeof inc), -1);
    assert_int_equal(tailcursor_gateway_split(NULL, gw, sizeof gw, inc, sizeof inc), -1);
    /* a part that does not fit */
    assert_int_equal(tailcursor_gateway_split("abcdefgh/x", gw, 8, inc, sizeof inc), -1);
    assert_int_equal(tailcursor_gateway_split("abcdefg/x", gw, 8, inc, sizeof inc), 0);
    assert_int_equal(tailcursor_gateway_split("g/xy", gw, sizeof gw, inc, 2), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions_start_at_zero_and_move),
        cmocka_unit_test(test_only_changed_positions_are_written_and_rollback_restores),
        cmocka_unit_test(test_too_long_keys_are_refused),
        cmocka_unit_test(test_behind_names_the_streams_above_their_positions),
        cmocka_unit_test(test_a_heads_query_of_the_wrong_shape_fails),
        cmocka_unit_test(test_gateway_streams_split_into_gateway_and_incarnation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
