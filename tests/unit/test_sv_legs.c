/*  Unit tests: sv_legs, eqms-stats verify's own walk of a ticket's legs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>

#include "../../services/stats/sv_legs.h"

#define S(x) ((int64_t) (x) * 1000)

static int walk(const sv_event_t *e, size_t n, sv_leg_t *legs)
{
    char reason[128];
    return sv_legs_walk(e, n, legs, reason);
}

static void test_the_last_call_counts_and_service_runs_from_the_start(void **state)
{
    (void) state;
    sv_event_t e[] = { { "issued", S(0), 1 }, { "called", S(100), 1 },
                       { "recalled", S(160), 1 }, { "started", S(170), 1 },
                       { "finished", S(470), 1 } };
    sv_leg_t legs[SV_LEGS_MAX];
    assert_int_equal(walk(e, 5, legs), 1);
    assert_int_equal(legs[0].wait_ms, S(160));
    assert_int_equal(legs[0].serve_ms, S(300));
    assert_int_equal(legs[0].outcome, SV_SERVED);
}

static void test_a_transfer_ends_one_leg_and_starts_the_next(void **state)
{
    (void) state;
    sv_event_t e[] = { { "issued", S(0), 1 }, { "called", S(60), 1 },
                       { "started", S(70), 1 }, { "transferred", S(130), 2 },
                       { "called", S(200), 2 }, { "started", S(210), 2 },
                       { "finished", S(300), 2 } };
    sv_leg_t legs[SV_LEGS_MAX];
    assert_int_equal(walk(e, 7, legs), 2);
    assert_int_equal(legs[0].outcome, SV_TRANSFERRED);
    assert_int_equal(legs[0].wait_ms, S(60));
    assert_int_equal(legs[1].origin, SV_ORIGIN_TRANSFER);
    assert_int_equal(legs[1].service_id, 2);
    assert_int_equal(legs[1].wait_ms, S(70));      /* from the transfer */
    assert_int_equal(legs[1].serve_ms, S(90));
}

static void test_parked_time_is_not_service_and_a_call_back_is_no_wait(void **state)
{
    (void) state;
    sv_event_t e[] = { { "issued", S(0), 1 }, { "called", S(10), 1 },
                       { "started", S(20), 1 }, { "parked", S(80), 1 },
                       { "returned", S(200), 1 }, { "called", S(210), 1 },
                       { "started", S(220), 1 }, { "finished", S(250), 1 } };
    sv_leg_t legs[SV_LEGS_MAX];
    assert_int_equal(walk(e, 8, legs), 1);
    assert_int_equal(legs[0].wait_ms, S(10));
    assert_int_equal(legs[0].serve_ms, S(60 + 30));
}

static void test_walk_ins_finishes_from_the_call_and_open_legs(void **state)
{
    (void) state;
    sv_leg_t legs[SV_LEGS_MAX];
    sv_event_t walk_in[] = { { "walk_in", S(0), 1 }, { "finished", S(90), 1 } };
    assert_int_equal(walk(walk_in, 2, legs), 1);
    assert_int_equal(legs[0].wait_ms, -1);
    assert_int_equal(legs[0].serve_ms, S(90));
    sv_event_t from_call[] = { { "issued", S(0), 1 }, { "called", S(30), 1 },
                               { "finished", S(100), 1 } };
    assert_int_equal(walk(from_call, 3, legs), 1);
    assert_int_equal(legs[0].serve_ms, S(70));
    sv_event_t open[] = { { "issued", S(0), 1 }, { "called", S(45), 1 } };
    assert_int_equal(walk(open, 2, legs), 1);
    assert_int_equal(legs[0].outcome, SV_OPEN);
    assert_int_equal(legs[0].wait_ms, S(45));
    sv_event_t gone[] = { { "issued", S(0), 1 }, { "abandoned", S(3600), 1 } };
    assert_int_equal(walk(gone, 2, legs), 1);
    assert_int_equal(legs[0].outcome, SV_ABANDONED);
    assert_int_equal(legs[0].wait_ms, -1);
    assert_int_equal(legs[0].serve_ms, 0);
}

static void test_events_that_make_no_legs_are_refused(void **state)
{
    (void) state;
    sv_leg_t legs[SV_LEGS_MAX];
    sv_event_t no_issue[] = { { "called", S(0), 1 } };
    assert_int_equal(walk(no_issue, 1, legs), -1);
    sv_event_t after[] = { { "issued", S(0), 1 }, { "no_show", S(10), 1 },
                           { "called", S(20), 1 } };
    assert_int_equal(walk(after, 3, legs), -1);
    sv_event_t window[] = { { "issued", S(0), 1 }, { "window_opened", S(10), 1 } };
    assert_int_equal(walk(window, 2, legs), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_last_call_counts_and_service_runs_from_the_start),
        cmocka_unit_test(test_a_transfer_ends_one_leg_and_starts_the_next),
        cmocka_unit_test(test_parked_time_is_not_service_and_a_call_back_is_no_wait),
        cmocka_unit_test(test_walk_ins_finishes_from_the_call_and_open_legs),
        cmocka_unit_test(test_events_that_make_no_legs_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
