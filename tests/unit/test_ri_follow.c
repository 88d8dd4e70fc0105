/*  Unit tests: ri_follow, where rating-ingest's catch-ups stand in the
 *  ticket_event streams. The heads are listed by a function of the test's
 *  (ri_follow_heads_fn) instead of ri_store's query; the reads themselves
 *  are in tests/system/test_rating_ingest.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "../../services/rating-ingest/ri_follow.h"

/* The heads a test lists: each stream from its cursor position to `head`. */
typedef struct {
    const char *stream;
    int64_t head;
} s_head_t;

static const s_head_t *s_heads;     /* NULL: the database failed */
static size_t s_nheads;

static int s_list(ri_store_t *store, const tailcursor_t *cursor, const char *ltree,
                  tailcursor_behind_fn *fn, void *arg)
{
    (void) store;
    assert_string_equal(ltree, "{hq.r01}");
    if (!s_heads)
        return -1;
    for (size_t i = 0; i < s_nheads; i++) {
        int64_t at = tailcursor_get(cursor, "ticket_event", s_heads[i].stream);
        if (at < s_heads[i].head && fn(arg, s_heads[i].stream, at, s_heads[i].head) != 0)
            return -1;
    }
    return 0;
}

static const ri_ranges_t *s_moved(ri_follow_t *f, const s_head_t *heads, size_t n)
{
    s_heads = heads;
    s_nheads = n;
    return ri_follow_moved(f, NULL, s_list);
}

static void test_a_complete_catch_up_moves_every_stream_and_as_of(void **state)
{
    (void) state;
    ri_follow_t *f = ri_follow_new("{hq.r01}");
    assert_non_null(f);
    assert_int_equal(ri_follow_as_of(f), 0);
    const s_head_t heads[] = { { "hq.r01.b0001", 5 }, { "hq.r01.b0002", 9 } };
    const ri_ranges_t *moved = s_moved(f, heads, 2);
    assert_non_null(moved);
    assert_int_equal(moved->count, 2);
    assert_string_equal(moved->items[1].stream, "hq.r01.b0002");
    assert_int_equal(moved->items[1].after, 0);
    assert_int_equal(moved->items[1].upto, 9);
    assert_int_equal(ri_follow_advance(f, NULL, 0), 0);
    assert_int_equal(ri_follow_position(f, "hq.r01.b0001"), 5);
    assert_int_equal(ri_follow_position(f, "hq.r01.b0002"), 9);
    int64_t as_of = ri_follow_as_of(f);
    assert_true(as_of > 0);
    /* nothing moved: an empty list, and the catch-up is complete again */
    moved = s_moved(f, heads, 2);
    assert_non_null(moved);
    assert_int_equal(moved->count, 0);
    assert_int_equal(ri_follow_advance(f, NULL, 0), 0);
    assert_true(ri_follow_as_of(f) >= as_of);
    ri_follow_destroy(&f);
    assert_null(f);
    ri_follow_destroy(NULL);
}

static void test_a_cut_read_stops_at_its_last_event(void **state)
{
    (void) state;
    ri_follow_t *f = ri_follow_new("{hq.r01}");
    const s_head_t first[] = { { "hq.r01.b0001", 5 } };
    assert_non_null(s_moved(f, first, 1));
    assert_int_equal(ri_follow_advance(f, NULL, 0), 0);
    int64_t as_of = ri_follow_as_of(f);
    /* three move; the read reached its limit in the second, at 11 */
    const s_head_t heads[] = { { "hq.r01.b0001", 10 }, { "hq.r01.b0002", 12 },
                               { "hq.r01.b0003", 4 } };
    const ri_ranges_t *moved = s_moved(f, heads, 3);
    assert_int_equal(moved->count, 3);
    assert_int_equal(moved->items[0].after, 5);
    assert_int_equal(ri_follow_advance(f, "hq.r01.b0002", 11), 0);
    assert_int_equal(ri_follow_position(f, "hq.r01.b0001"), 10);
    assert_int_equal(ri_follow_position(f, "hq.r01.b0002"), 11);
    assert_int_equal(ri_follow_position(f, "hq.r01.b0003"), 0);   /* not reached */
    assert_int_equal(ri_follow_as_of(f), as_of);                  /* not complete */
    /* the next one goes on from there */
    moved = s_moved(f, heads, 3);
    assert_int_equal(moved->count, 2);
    assert_string_equal(moved->items[0].stream, "hq.r01.b0002");
    assert_int_equal(moved->items[0].after, 11);
    assert_int_equal(moved->items[1].after, 0);
    ri_follow_destroy(&f);
}

static void test_a_failed_catch_up_moves_nothing(void **state)
{
    (void) state;
    ri_follow_t *f = ri_follow_new("{hq.r01}");
    assert_null(s_moved(f, NULL, 0));
    /* the heads listed, the read failed: no advance, the same ranges again */
    const s_head_t heads[] = { { "hq.r01.b0001", 7 } };
    assert_int_equal(s_moved(f, heads, 1)->count, 1);
    const ri_ranges_t *moved = s_moved(f, heads, 1);
    assert_int_equal(moved->count, 1);
    assert_int_equal(moved->items[0].after, 0);
    assert_int_equal(ri_follow_position(f, "hq.r01.b0001"), 0);
    assert_int_equal(ri_follow_as_of(f), 0);
    ri_follow_destroy(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_complete_catch_up_moves_every_stream_and_as_of),
        cmocka_unit_test(test_a_cut_read_stops_at_its_last_event),
        cmocka_unit_test(test_a_failed_catch_up_moves_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
