/*  Unit tests: st_engine, facts placed in the cells of docs/statistics.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../services/stats-aggregator/st_engine.h"

#define MIN 60000LL
enum { HQ = 1, R1 = 2, R2 = 3, BR = 10, WIN = 100, STAFF = 7, SVC = 5, SCALE = 3 };

typedef struct {
    st_tree_t *tree;
    st_config_t *config;
    st_engine_t *engine;
} s_rig_t;

static int64_t s_ms(const char *rfc3339)
{
    int64_t ms = 0;
    assert_int_equal(clock_parse_rfc3339(rfc3339, &ms), 0);
    return ms;
}

static int setup(void **state)
{
    static s_rig_t rig;
    rig.tree = st_tree_new();
    int64_t hq[] = { HQ }, r1[] = { HQ, R1 }, r2[] = { HQ, R2 }, br[] = { HQ, R1, BR };
    assert_int_equal(st_tree_add(rig.tree, HQ, INT64_MIN, INT64_MAX, hq, 1, "Asia/Shanghai"), 0);
    assert_int_equal(st_tree_add(rig.tree, R1, INT64_MIN, INT64_MAX, r1, 2, "Asia/Shanghai"), 0);
    assert_int_equal(st_tree_add(rig.tree, R2, INT64_MIN, INT64_MAX, r2, 2, "Europe/Berlin"), 0);
    assert_int_equal(st_tree_add(rig.tree, BR, INT64_MIN, INT64_MAX, br, 3, "Asia/Shanghai"), 0);
    rig.config = st_config_new();
    st_config_add_service(rig.config, SVC, 600);
    st_config_add_window(rig.config, WIN, BR, SCALE);
    st_config_add_option(rig.config, 31, SCALE, 1, ST_CAT_NONE);
    st_config_add_option(rig.config, 34, SCALE, 4, ST_CAT_ATTITUDE);
    rig.engine = st_engine_new(rig.tree, rig.config, NULL, NULL);
    assert_non_null(rig.engine);
    clock_set_fake(s_ms("2026-12-31T00:00:00.000Z"));
    *state = &rig;
    return 0;
}

static int teardown(void **state)
{
    s_rig_t *rig = *state;
    st_engine_destroy(&rig->engine);
    st_config_destroy(&rig->config);
    st_tree_destroy(&rig->tree);
    clock_set_fake(0);
    return 0;
}

typedef struct {
    st_cell_key_t want;
    const st_measures_t *found;
} s_find_t;

static int s_find_fn(void *arg, const st_cell_key_t *key, const st_measures_t *m)
{
    s_find_t *f = arg;
    if (key->node_id == f->want.node_id && key->member == f->want.member
        && key->start_day == f->want.start_day && key->period == f->want.period
        && key->hour == f->want.hour && key->dim == f->want.dim) {
        f->found = m;
        return 1;
    }
    return 0;
}

static const st_measures_t *s_cell(s_rig_t *rig, int64_t node, st_period_t period,
                                   int32_t day, int hour, st_dim_t dim, int64_t member)
{
    s_find_t f = { { .node_id = node, .member = member, .start_day = day,
                     .period = (int8_t) period, .hour = (int8_t) hour,
                     .dim = (int8_t) dim }, NULL };
    st_cells_each(st_engine_cells(rig->engine), s_find_fn, &f);
    return f.found;
}

static st_event_t s_ev(st_event_kind_t kind, int64_t seq, int64_t at, const char *ticket)
{
    st_event_t ev = { .branch_id = BR, .seq = seq, .kind = kind, .at_ms = at,
                      .service_id = SVC, .klass = ST_CLASS_ORDINARY, .window_id = WIN,
                      .staff_id = STAFF };
    snprintf(ev.ticket_id, sizeof ev.ticket_id, "%s", ticket);
    return ev;
}

#define T1 "019ad5e2-7c1b-7a3d-9e4f-0a1b2c3d4e51"
#define T2 "019ad5e2-7c1b-7a3d-9e4f-0a1b2c3d4e52"

/* A ticket issued at 23:50 local on the last day of November, recalled after
 * midnight: every figure stays in the day and month it was issued, at every
 * level up to head office. */
static void test_ticket_lands_in_its_issue_hour_at_every_level(void **state)
{
    s_rig_t *rig = *state;
    st_engine_t *e = rig->engine;
    int64_t t0 = s_ms("2026-11-30T15:50:00.000Z");     /* 23:50 in Shanghai */
    st_event_t ev = s_ev(ST_EV_ISSUED, 1, t0, T1);
    assert_int_equal(st_engine_ticket_event(e, &ev), 0);
    ev = s_ev(ST_EV_CALLED, 2, t0 + 5 * MIN, T1);
    assert_int_equal(st_engine_ticket_event(e, &ev), 0);
    ev = s_ev(ST_EV_RECALLED, 3, t0 + 15 * MIN, T1);     /* 00:05 the next day */
    assert_int_equal(st_engine_ticket_event(e, &ev), 0);
    ev = s_ev(ST_EV_STARTED, 4, t0 + 16 * MIN, T1);
    assert_int_equal(st_engine_ticket_event(e, &ev), 0);
    ev = s_ev(ST_EV_FINISHED, 5, t0 + 20 * MIN, T1);
    assert_int_equal(st_engine_ticket_event(e, &ev), 0);
    int64_t nodes[] = { HQ, R1, BR };
    for (int i = 0; i < 3; i++) {
        const st_measures_t *day = s_cell(rig, nodes[i], ST_PERIOD_DAY, 20261130, 0,
                                          ST_DIM_ALL, 0);
        assert_non_null(day);
        assert_int_equal(day->issued, 1);
        assert_int_equal(day->served, 1);
        assert_int_equal(day->wait_n, 1);
        assert_int_equal(day->wait_sum_ms, 15 * MIN);
        assert_int_equal(day->sl_served_in, 0);
        assert_int_equal(day->svc_sum_ms, 4 * MIN);
        const st_measures_t *month = s_cell(rig, nodes[i], ST_PERIOD_MONTH, 20261101, 0,
                                            ST_DIM_SERVICE, SVC);
        assert_non_null(month);
        assert_int_equal(month->served, 1);
        const st_measures_t *hour = s_cell(rig, nodes[i], ST_PERIOD_HOUR, 20261130, 23,
                                           ST_DIM_ALL, 0);
        assert_non_null(hour);
        assert_int_equal(hour->issued, 1);
        assert_non_null(s_cell(rig, nodes[i], ST_PERIOD_DAY, 20261130, 0,
                               ST_DIM_HOUR_OF_DAY, 23));
    }
    assert_null(s_cell(rig, BR, ST_PERIOD_DAY, 20261201, 0, ST_DIM_ALL, 0));
    const st_measures_t *teller = s_cell(rig, BR, ST_PERIOD_DAY, 20261130, 0,
                                         ST_DIM_TELLER, STAFF);
    assert_non_null(teller);
    assert_int_equal(teller->served, 1);
    assert_null(s_cell(rig, R1, ST_PERIOD_DAY, 20261130, 0, ST_DIM_TELLER, STAFF));
    st_engine_flushed(e);
    assert_int_equal(st_cells_count(st_engine_cells(e)), 0);
}

/* A branch moved to another region: facts before the move stay with the old
 * region, later ones go to the new one; the new region's days are in its own
 * zone. A late fact keeps its own time. */
static void test_moved_branch_and_region_zone(void **state)
{
    s_rig_t *rig = *state;
    st_engine_t *e = rig->engine;
    int64_t moved = s_ms("2026-12-10T00:00:00.000Z");
    assert_int_equal(st_tree_close(rig->tree, BR, moved), 0);
    int64_t br2[] = { HQ, R2, BR };
    assert_int_equal(st_tree_add(rig->tree, BR, moved, INT64_MAX, br2, 3, "Asia/Shanghai"), 0);
    st_rating_t late = { .id = "r-before", .window_id = WIN, .staff_id = STAFF,
                         .event_ms = s_ms("2026-12-09T23:30:00.000Z"), .option_code = 4,
                         .score_x10 = 10, .unsatisfied = true };
    st_rating_t after = late;
    snprintf(after.id, sizeof after.id, "r-after");
    after.event_ms = s_ms("2026-12-10T23:30:00.000Z");   /* 00:30 Berlin on the 11th */
    assert_int_equal(st_engine_rating(e, &after), 0);
    assert_int_equal(st_engine_rating(e, &late), 0);      /* late: arrives second */
    const st_measures_t *r1 = s_cell(rig, R1, ST_PERIOD_DAY, 20261210, 0, ST_DIM_ALL, 0);
    assert_non_null(r1);                                  /* 07:30 on the 10th in Shanghai */
    assert_int_equal(r1->rated, 1);
    assert_int_equal(r1->unsatisfied, 1);
    assert_int_equal(r1->cat[ST_CAT_ATTITUDE], 1);
    assert_null(s_cell(rig, R2, ST_PERIOD_DAY, 20261210, 0, ST_DIM_ALL, 0));
    const st_measures_t *r2 = s_cell(rig, R2, ST_PERIOD_DAY, 20261211, 0, ST_DIM_ALL, 0);
    assert_non_null(r2);
    assert_int_equal(r2->rated, 1);
    const st_measures_t *hq = s_cell(rig, HQ, ST_PERIOD_MONTH, 20261201, 0, ST_DIM_ALL, 0);
    assert_int_equal(hq->rated, 2);
    assert_non_null(s_cell(rig, HQ, ST_PERIOD_DAY, 20261211, 0, ST_DIM_OPTION, 34));
    assert_non_null(s_cell(rig, BR, ST_PERIOD_YEAR, 20260101, 0, ST_DIM_WINDOW, WIN));
    st_engine_flushed(e);
}

/* A session across local midnight splits its on-duty time between the days;
 * a device service counts once, in the period of its end. */
static void test_intervals_split_over_periods(void **state)
{
    s_rig_t *rig = *state;
    st_engine_t *e = rig->engine;
    st_interval_t session = { .id = "s1", .window_id = WIN, .staff_id = STAFF,
                              .from_ms = s_ms("2026-11-01T15:00:00.000Z"),
                              .to_ms = s_ms("2026-11-01T17:30:00.000Z") };
    assert_int_equal(st_engine_session(e, &session), 0);
    assert_int_equal(s_cell(rig, BR, ST_PERIOD_DAY, 20261101, 0, ST_DIM_ALL, 0)->on_duty_ms,
                     60 * MIN);
    assert_int_equal(s_cell(rig, BR, ST_PERIOD_DAY, 20261102, 0, ST_DIM_ALL, 0)->on_duty_ms,
                     90 * MIN);
    assert_int_equal(s_cell(rig, BR, ST_PERIOD_WEEK, 20261026, 0, ST_DIM_TELLER,
                            STAFF)->on_duty_ms, 60 * MIN);
    assert_int_equal(s_cell(rig, HQ, ST_PERIOD_YEAR, 20260101, 0, ST_DIM_ALL, 0)->on_duty_ms,
                     150 * MIN);
    assert_int_equal(s_cell(rig, BR, ST_PERIOD_HOUR, 20261102, 0, ST_DIM_ALL, 0)->on_duty_ms,
                     60 * MIN);
    st_interval_t service = { .id = "v1", .window_id = WIN, .staff_id = STAFF,
                              .from_ms = s_ms("2026-11-01T15:58:00.000Z"),
                              .to_ms = s_ms("2026-11-01T16:03:00.000Z") };
    assert_int_equal(st_engine_service(e, &service), 0);
    const st_measures_t *d1 = s_cell(rig, BR, ST_PERIOD_DAY, 20261101, 0, ST_DIM_ALL, 0);
    const st_measures_t *d2 = s_cell(rig, BR, ST_PERIOD_DAY, 20261102, 0, ST_DIM_ALL, 0);
    assert_int_equal(d1->serving_ms, 2 * MIN);
    assert_int_equal(d2->serving_ms, 3 * MIN);
    assert_int_equal(d1->services, 0);
    assert_int_equal(d2->services, 1);
    st_engine_flushed(e);
}

typedef struct {
    int n;
    char reasons[8][ST_REASON_SIZE];
} s_reasons_t;

static int s_reason_fn(void *arg, const char *source, const char *fact, const char *reason)
{
    (void) source;
    (void) fact;
    s_reasons_t *r = arg;
    if (r->n < 8)
        snprintf(r->reasons[r->n++], ST_REASON_SIZE, "%s", reason);
    return 0;
}

static void test_unplaced_facts_have_reasons(void **state)
{
    s_rig_t *rig = *state;
    st_engine_t *e = rig->engine;
    st_event_t ev = s_ev(ST_EV_CALLED, 9, s_ms("2026-12-01T02:00:00.000Z"), T2);
    assert_int_equal(st_engine_ticket_event(e, &ev), 0);
    st_rating_t r = { .id = "r9", .window_id = 999, .event_ms = s_ms("2026-12-01T02:00:00.000Z"),
                      .option_code = 1 };
    assert_int_equal(st_engine_rating(e, &r), 0);
    r.window_id = WIN;
    r.event_ms = s_ms("2027-02-01T00:00:00.000Z");
    assert_int_equal(st_engine_rating(e, &r), 0);
    ev = s_ev(ST_EV_ISSUED, 10, s_ms("2026-12-01T02:00:00.000Z"), T2);
    ev.service_id = 77;
    assert_int_equal(st_engine_ticket_event(e, &ev), 0);
    s_reasons_t reasons = { 0 };
    st_engine_each_unplaced(e, s_reason_fn, &reasons);
    assert_int_equal(reasons.n, 4);
    assert_non_null(strstr(reasons.reasons[0], "never seen issued"));
    assert_non_null(strstr(reasons.reasons[1], "window 999"));
    assert_non_null(strstr(reasons.reasons[2], "future"));
    assert_non_null(strstr(reasons.reasons[3], "unknown service 77"));
    assert_int_equal(st_cells_count(st_engine_cells(e)), 0);
    st_engine_flushed(e);
}

/* A loader that counts its calls and knows one ticket: T1, one open leg. */
static int s_loads;

static int s_loader(void *arg, const char *ticket_id, st_leg_t *legs, int max)
{
    (void) arg;
    (void) max;
    s_loads++;
    if (strcmp(ticket_id, T1) != 0)
        return 0;
    st_event_t ev = s_ev(ST_EV_ISSUED, 1, s_ms("2026-12-01T01:00:00.000Z"), T1);
    assert_int_equal(st_leg_start(&legs[0], &ev, 600), 0);
    return 1;
}

/* The legs of a chunk's tickets read in bulk (st_engine_known_legs): no
 * look-up per ticket, and a ticket issued twice is still refused, also
 * when its first issue was flushed before (a replay or a duplicate never
 * counts twice). After a flush the engine asks again. */
static void test_legs_known_in_bulk_spare_the_loader(void **state)
{
    s_rig_t *rig = *state;
    st_engine_t *plain = rig->engine;
    st_engine_t *e = rig->engine = st_engine_new(rig->tree, rig->config, s_loader, NULL);
    assert_non_null(e);
    s_loads = 0;
    int64_t t0 = s_ms("2026-12-01T02:00:00.000Z");
    /* T2 is new: stats_leg has nothing of it */
    assert_true(st_engine_needs_legs(e, T2));
    assert_int_equal(st_engine_known_legs(e, T2, NULL, 0), 0);
    assert_false(st_engine_needs_legs(e, T2));
    st_event_t ev = s_ev(ST_EV_ISSUED, 20, t0, T2);
    assert_int_equal(st_engine_ticket_event(e, &ev), 0);
    ev = s_ev(ST_EV_CALLED, 21, t0 + MIN, T2);
    assert_int_equal(st_engine_ticket_event(e, &ev), 0);
    /* T1 has an open leg in stats_leg (flushed before): told in bulk */
    st_leg_t legs[1];
    assert_int_equal(s_loader(NULL, T1, legs, 1), 1);
    s_loads = 0;
    assert_int_equal(st_engine_known_legs(e, T1, legs, 1), 0);
    ev = s_ev(ST_EV_ISSUED, 22, t0 + 2 * MIN, T1);          /* issued again */
    assert_int_equal(st_engine_ticket_event(e, &ev), 0);
    ev = s_ev(ST_EV_CALLED, 23, t0 + 3 * MIN, T1);
    assert_int_equal(st_engine_ticket_event(e, &ev), 0);
    assert_int_equal(s_loads, 0);
    assert_int_equal(st_engine_loads(e), 0);
    s_reasons_t reasons = { 0 };
    st_engine_each_unplaced(e, s_reason_fn, &reasons);
    assert_int_equal(reasons.n, 1);
    assert_non_null(strstr(reasons.reasons[0], "issued twice"));
    const st_measures_t *day = s_cell(rig, BR, ST_PERIOD_DAY, 20261201, 0, ST_DIM_ALL, 0);
    assert_non_null(day);
    assert_int_equal(day->issued, 1);                       /* T2 only */
    /* a ticket it was told nothing of: the loader, as before */
    ev = s_ev(ST_EV_CALLED, 24, t0 + 4 * MIN, "019ad5e2-7c1b-7a3d-9e4f-0a1b2c3d4e59");
    assert_int_equal(st_engine_ticket_event(e, &ev), 0);
    assert_int_equal(s_loads, 1);
    /* flushed: what it was told is forgotten, the open tickets it holds stay */
    st_engine_flushed(e);
    assert_true(st_engine_needs_legs(e, "019ad5e2-7c1b-7a3d-9e4f-0a1b2c3d4e59"));
    assert_false(st_engine_needs_legs(e, T2));
    ev = s_ev(ST_EV_ISSUED, 25, t0 + 5 * MIN, "019ad5e2-7c1b-7a3d-9e4f-0a1b2c3d4e59");
    assert_int_equal(st_engine_ticket_event(e, &ev), 0);
    assert_int_equal(s_loads, 2);
    st_engine_reset(e);
    assert_true(st_engine_needs_legs(e, T2));
    st_engine_destroy(&e);
    rig->engine = plain;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticket_lands_in_its_issue_hour_at_every_level),
        cmocka_unit_test(test_intervals_split_over_periods),
        cmocka_unit_test(test_unplaced_facts_have_reasons),
        cmocka_unit_test(test_moved_branch_and_region_zone),
        cmocka_unit_test(test_legs_known_in_bulk_spare_the_loader),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
