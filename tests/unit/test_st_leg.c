/*  Unit tests: st_leg, ticket legs and the contributions of docs/statistics.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../services/stats-aggregator/st_leg.h"

#define MIN 60000LL

static st_event_t s_ev(st_event_kind_t kind, int64_t at, int64_t window, int64_t staff)
{
    st_event_t ev = { .branch_id = 7, .kind = kind, .at_ms = at, .service_id = 3,
                      .klass = ST_CLASS_VIP, .window_id = window, .staff_id = staff };
    snprintf(ev.ticket_id, sizeof ev.ticket_id, "019ad5e2-7c1b-7a3d-9e4f-0a1b2c3d4e5f");
    return ev;
}

/* Applies ev and adds the change of the leg's contribution to `sum`, as the
 * aggregator does. */
static void s_step(st_leg_t *leg, st_event_t ev, st_measures_t *sum)
{
    st_measures_t before, after;
    st_leg_contribution(leg, &before);
    st_leg_t next;
    bool has_next;
    char reason[128];
    assert_int_equal(st_leg_apply(leg, &ev, 600, &next, &has_next, reason), 0);
    st_leg_contribution(leg, &after);
    st_measures_add_change(sum, &before, &after);
    assert_false(has_next);
}

static void test_served_with_recall_counts_the_last_call(void **state)
{
    (void) state;
    st_leg_t leg;
    st_event_t issued = s_ev(ST_EV_ISSUED, 1000 * MIN, 0, 0);
    assert_int_equal(st_leg_start(&leg, &issued, 600), 0);
    st_measures_t sum;
    st_leg_contribution(&leg, &sum);
    assert_int_equal(sum.issued, 1);
    assert_int_equal(sum.wait_n, 0);
    s_step(&leg, s_ev(ST_EV_CALLED, 1004 * MIN, 21, 5), &sum);
    assert_int_equal(sum.wait_n, 1);
    assert_int_equal(sum.wait_sum_ms, 4 * MIN);
    s_step(&leg, s_ev(ST_EV_RECALLED, 1012 * MIN, 21, 5), &sum);
    assert_int_equal(sum.wait_n, 1);                      /* moved, not added */
    assert_int_equal(sum.wait_sum_ms, 12 * MIN);
    assert_int_equal(sum.wait_max_ms, 12 * MIN);
    assert_int_equal(sum.wait_hist[st_hist_bucket(4 * MIN)], 0);
    assert_int_equal(sum.wait_hist[st_hist_bucket(12 * MIN)], 1);
    s_step(&leg, s_ev(ST_EV_STARTED, 1013 * MIN, 21, 5), &sum);
    s_step(&leg, s_ev(ST_EV_FINISHED, 1020 * MIN, 21, 5), &sum);
    assert_int_equal(sum.served, 1);
    assert_int_equal(sum.sl_served, 1);
    assert_int_equal(sum.sl_served_in, 0);                /* 12 min > 10 min target */
    assert_int_equal(sum.svc_sum_ms, 7 * MIN);
    assert_int_equal(leg.window_id, 21);
    assert_int_equal(leg.staff_id, 5);
    st_leg_t next;
    bool has_next;
    char reason[128];
    st_event_t late = s_ev(ST_EV_RECALLED, 1030 * MIN, 21, 5);
    assert_int_equal(st_leg_apply(&leg, &late, 600, &next, &has_next, reason), -1);
    assert_non_null(strstr(reason, "already ended"));
}

static void test_transfer_splits_the_wait(void **state)
{
    (void) state;
    st_leg_t leg, next;
    bool has_next;
    char reason[128];
    st_event_t ev = s_ev(ST_EV_ISSUED, 0, 0, 0);
    st_leg_start(&leg, &ev, 600);
    ev = s_ev(ST_EV_CALLED, 5 * MIN, 1, 1);
    st_leg_apply(&leg, &ev, 600, &next, &has_next, reason);
    ev = s_ev(ST_EV_STARTED, 6 * MIN, 1, 1);
    st_leg_apply(&leg, &ev, 600, &next, &has_next, reason);
    ev = s_ev(ST_EV_TRANSFERRED, 9 * MIN, 1, 1);
    ev.service_id = 4;
    assert_int_equal(st_leg_apply(&leg, &ev, 300, &next, &has_next, reason), 0);
    assert_true(has_next);
    st_measures_t first, second;
    st_leg_contribution(&leg, &first);
    assert_int_equal(first.transferred, 1);
    assert_int_equal(first.served, 0);
    assert_int_equal(first.wait_sum_ms, 5 * MIN);
    assert_int_equal(next.leg, 1);
    assert_int_equal(next.service_id, 4);
    assert_int_equal(next.target_s, 300);
    assert_int_equal(next.klass, ST_CLASS_VIP);
    assert_int_equal(next.start_ms, 9 * MIN);
    ev = s_ev(ST_EV_CALLED, 11 * MIN, 2, 2);
    st_leg_apply(&next, &ev, 300, &leg, &has_next, reason);
    ev = s_ev(ST_EV_FINISHED, 15 * MIN, 2, 2);     /* finished without a start */
    st_leg_apply(&next, &ev, 300, &leg, &has_next, reason);
    st_leg_contribution(&next, &second);
    assert_int_equal(second.transferred_in, 1);
    assert_int_equal(second.issued, 0);
    assert_int_equal(second.wait_sum_ms, 2 * MIN);    /* from the transfer */
    assert_int_equal(second.served, 1);
    assert_int_equal(second.sl_served_in, 1);
    assert_int_equal(second.svc_sum_ms, 4 * MIN);     /* served from the call */
}

static void test_walk_in_park_returned_abandoned(void **state)
{
    (void) state;
    st_leg_t leg;
    st_measures_t m;
    st_event_t ev = s_ev(ST_EV_WALK_IN, 0, 3, 9);
    st_leg_start(&leg, &ev, 600);
    s_step(&leg, s_ev(ST_EV_PARKED, 2 * MIN, 3, 9), &m);
    s_step(&leg, s_ev(ST_EV_CALLED, 10 * MIN, 3, 9), &m);   /* called back */
    s_step(&leg, s_ev(ST_EV_STARTED, 11 * MIN, 3, 9), &m);
    s_step(&leg, s_ev(ST_EV_FINISHED, 14 * MIN, 3, 9), &m);
    st_leg_contribution(&leg, &m);
    assert_int_equal(m.walk_ins, 1);
    assert_int_equal(m.wait_n, 0);
    assert_int_equal(m.served, 1);
    assert_int_equal(m.sl_served, 0);
    assert_int_equal(m.svc_sum_ms, 5 * MIN);            /* 2 + 3, not the park */

    ev = s_ev(ST_EV_ISSUED, 0, 0, 0);
    st_leg_start(&leg, &ev, 600);
    s_step(&leg, s_ev(ST_EV_CALLED, 3 * MIN, 3, 9), &m);
    s_step(&leg, s_ev(ST_EV_RETURNED, 4 * MIN, 3, 9), &m);
    s_step(&leg, s_ev(ST_EV_CALLED, 20 * MIN, 4, 8), &m);
    s_step(&leg, s_ev(ST_EV_NO_SHOW, 22 * MIN, 4, 8), &m);
    st_leg_contribution(&leg, &m);
    assert_int_equal(m.wait_sum_ms, 20 * MIN);
    assert_int_equal(m.no_show, 1);
    assert_int_equal(leg.window_id, 4);

    ev = s_ev(ST_EV_ISSUED, 0, 0, 0);
    st_leg_start(&leg, &ev, 600);
    s_step(&leg, s_ev(ST_EV_ABANDONED, 10 * MIN, 0, 0), &m);
    st_leg_contribution(&leg, &m);
    assert_int_equal(m.abandoned, 1);
    assert_int_equal(m.sl_abandoned_in, 1);              /* 10 min <= target */
    assert_int_equal(m.wait_n, 0);
}

static void test_parse(void **state)
{
    (void) state;
    st_event_kind_t k;
    assert_int_equal(st_event_kind_parse("recalled", &k), 0);
    assert_int_equal(k, ST_EV_RECALLED);
    assert_int_equal(st_event_kind_parse("day_start", &k), 0);
    assert_int_equal(k, ST_EV_OTHER);
    assert_int_equal(st_event_kind_parse("teleported", &k), -1);
    st_class_t c;
    assert_int_equal(st_class_parse("green", &c), 0);
    assert_int_equal(c, ST_CLASS_GREEN);
    assert_int_equal(st_class_parse("gold", &c), -1);
    st_leg_t leg;
    st_event_t ev = s_ev(ST_EV_CALLED, 0, 1, 1);
    assert_int_equal(st_leg_start(&leg, &ev, 600), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_served_with_recall_counts_the_last_call),
        cmocka_unit_test(test_transfer_splits_the_wait),
        cmocka_unit_test(test_walk_in_park_returned_abandoned),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
