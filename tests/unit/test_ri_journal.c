/*  Unit tests: ri_journal, the order in which a gateway journal's events are
 *  decided, and its cursor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>

#include "../../services/rating-ingest/ri_journal.h"

#define HOLD_MS 10000

static ri_journal_t *journal(int64_t upto)
{
    ri_journal_t *j = ri_journal_new("device-gateway.b0001", ID_NIL, "hq.r01.b0001", upto);
    assert_non_null(j);
    return j;
}

/* Arrives `seq` at now_ms: decided at once, held, or refused; returns the
 * verdict. */
static ri_journal_verdict_t arrive(ri_journal_t *j, int64_t seq, int64_t now_ms)
{
    ri_journal_verdict_t v = ri_journal_arrival(j, seq);
    if (v == RI_JOURNAL_NOW || v == RI_JOURNAL_LATE) {
        ri_journal_decided(j, seq);
    } else if (v == RI_JOURNAL_HOLD) {
        int64_t *event = malloc(sizeof *event);
        assert_non_null(event);
        *event = seq;
        assert_int_equal(ri_journal_hold(j, seq, event, now_ms), 0);
    }
    return v;
}

/* Decides what is due at now_ms; returns how many, their seqs in order in
 * `seqs`. */
static int release(ri_journal_t *j, int64_t now_ms, int64_t *seqs)
{
    int n = 0;
    bool timed_out;
    const ri_held_t *h;
    while ((h = ri_journal_due(j, now_ms, HOLD_MS, &timed_out))) {
        int64_t seq = h->seq;
        int64_t *event = ri_journal_take(j);
        assert_int_equal(*event, seq);
        free(event);
        ri_journal_decided(j, seq);
        seqs[n++] = seq;
    }
    return n;
}

static void test_in_order_is_decided_at_once(void **state)
{
    (void) state;
    ri_journal_t *j = journal(0);
    for (int64_t s = 1; s <= 5; s++)
        assert_int_equal(arrive(j, s, 0), RI_JOURNAL_NOW);
    assert_int_equal(j->contig, 5);
    assert_int_equal(arrive(j, 3, 0), RI_JOURNAL_DUPLICATE);     /* in a batch */
    assert_int_equal(ri_journal_submit(j), 5);
    assert_true(ri_journal_committed(j));
    assert_int_equal(j->upto, 5);
    assert_false(ri_journal_committed(j));
    assert_int_equal(arrive(j, 5, 0), RI_JOURNAL_DUPLICATE);     /* committed */
    assert_int_equal(arrive(j, 6, 0), RI_JOURNAL_NOW);
    int64_t from, to;
    assert_false(ri_journal_missing(j, &from, &to));
    ri_journal_destroy(&j, free);
    assert_null(j);
}

static void test_a_gap_holds_what_follows_until_it_is_filled(void **state)
{
    (void) state;
    ri_journal_t *j = journal(10);
    int64_t seqs[16];
    assert_int_equal(arrive(j, 11, 0), RI_JOURNAL_NOW);
    assert_int_equal(arrive(j, 14, 0), RI_JOURNAL_HOLD);
    assert_int_equal(arrive(j, 13, 5), RI_JOURNAL_HOLD);          /* out of order */
    assert_int_equal(arrive(j, 16, 6), RI_JOURNAL_HOLD);
    assert_int_equal(arrive(j, 14, 7), RI_JOURNAL_DUPLICATE);     /* held already */
    assert_true(ri_journal_holds(j, 13) && ri_journal_holds(j, 14) && ri_journal_holds(j, 16));
    assert_int_equal(release(j, 100, seqs), 0);                  /* 12 is missing */
    int64_t from, to;
    assert_true(ri_journal_missing(j, &from, &to));
    assert_int_equal(from, 12);
    assert_int_equal(to, 12);
    assert_int_equal(j->contig, 11);
    /* the replay brings 12: 12, 13, 14 are decided in order, 16 waits for 15 */
    assert_int_equal(arrive(j, 12, 200), RI_JOURNAL_NOW);
    assert_int_equal(release(j, 200, seqs), 2);
    assert_int_equal(seqs[0], 13);
    assert_int_equal(seqs[1], 14);
    assert_int_equal(j->contig, 14);
    assert_true(ri_journal_missing(j, &from, &to));
    assert_int_equal(from, 15);
    assert_int_equal(to, 15);
    assert_int_equal(arrive(j, 15, 300), RI_JOURNAL_NOW);
    assert_int_equal(release(j, 300, seqs), 1);
    assert_int_equal(seqs[0], 16);
    assert_int_equal(j->contig, 16);
    assert_false(ri_journal_missing(j, &from, &to));
    ri_journal_destroy(&j, free);
}

static void test_a_gap_not_filled_in_time_is_decided_past(void **state)
{
    (void) state;
    ri_journal_t *j = journal(0);
    int64_t seqs[16];
    assert_int_equal(arrive(j, 1, 0), RI_JOURNAL_NOW);
    assert_int_equal(arrive(j, 3, 1000), RI_JOURNAL_HOLD);
    assert_int_equal(arrive(j, 4, 2000), RI_JOURNAL_HOLD);
    assert_int_equal(arrive(j, 6, 2500), RI_JOURNAL_HOLD);
    assert_int_equal(release(j, 1000 + HOLD_MS - 1, seqs), 0);
    /* 3 waited HOLD_MS: it and 4 go; 6 has not waited as long */
    assert_int_equal(release(j, 1000 + HOLD_MS, seqs), 2);
    assert_int_equal(seqs[0], 3);
    assert_int_equal(seqs[1], 4);
    assert_int_equal(j->next, 5);
    assert_int_equal(j->contig, 1);                 /* the cursor never passes a gap */
    assert_int_equal(release(j, 2500 + HOLD_MS, seqs), 1);
    assert_int_equal(seqs[0], 6);
    /* 2 and 5 come late: decided when they come; the cursor follows */
    assert_int_equal(arrive(j, 5, 20000), RI_JOURNAL_LATE);
    assert_int_equal(arrive(j, 2, 20000), RI_JOURNAL_LATE);
    assert_int_equal(j->contig, 6);
    assert_int_equal(arrive(j, 7, 20000), RI_JOURNAL_NOW);
    ri_journal_destroy(&j, free);
}

static void test_far_beyond_the_cursor_is_refused(void **state)
{
    (void) state;
    ri_journal_t *j = journal(100);
    assert_int_equal(arrive(j, 100 + RI_JOURNAL_WINDOW + 1, 0), RI_JOURNAL_BEYOND);
    assert_int_equal(arrive(j, 100 + RI_JOURNAL_WINDOW, 0), RI_JOURNAL_HOLD);
    assert_int_equal(arrive(j, 50, 0), RI_JOURNAL_DUPLICATE);
    ri_journal_destroy(&j, free);   /* frees what it holds */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_is_decided_at_once),
        cmocka_unit_test(test_a_gap_holds_what_follows_until_it_is_filled),
        cmocka_unit_test(test_a_gap_not_filled_in_time_is_decided_past),
        cmocka_unit_test(test_far_beyond_the_cursor_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
