/*  Unit tests: gw_clock, event time from a device's 32-bit uptime, over
 *  simulated weeks: the uptime wraps (every 49.7 days) and the device's
 *  crystal runs 200 ppm slow or fast; the device is unplugged for hours
 *  while it keeps events; the gateway restarts and meets re-sent events
 *  before any live report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../services/device-gateway/gw_clock.h"

#define T0 1800000000000LL             /* 2027-01-15, UTC ms */
#define DAY (24LL * 3600 * 1000)
#define HEARTBEAT_MS 5000
#define WRAP 4294967296.0

/* A device powered up before T0, its uptime `uptime_at_t0` at T0, counting
 * `rate` device ms per real ms. */
typedef struct {
    double uptime_at_t0;
    double rate;
} s_device_t;

static uint32_t s_uptime(const s_device_t *d, int64_t t)
{
    double u = d->uptime_at_t0 + (double) (t - T0) * d->rate;
    return (uint32_t) (uint64_t) fmod(floor(u), WRAP);
}

typedef struct {
    int64_t t;                         /* when it happened */
    uint32_t uptime;
} s_event_t;

typedef struct {
    double worst_live_ms, worst_buffered_ms;
    int events, wraps;
} s_result_t;

/* Three weeks: heartbeats every 5 s while plugged in, an event every 7
 * minutes (sent at once, received 3 ms later); from day 5 the device is
 * unplugged for 3 hours and keeps its events, re-sent after the hello at
 * the reconnect. Every event's time is checked against the truth. */
static s_result_t s_simulate(const s_device_t *dev)
{
    s_result_t r = { 0 };
    gw_clock_t clock;
    gw_clock_reset(&clock);
    int64_t unplug = T0 + 5 * DAY, replug = unplug + 3 * 3600 * 1000;
    s_event_t kept[64];
    int nkept = 0;
    int64_t next_event = T0 + 60 * 1000;
    uint32_t last_up = s_uptime(dev, T0);
    gw_clock_live(&clock, last_up, T0);
    for (int64_t t = T0; t < T0 + 21 * DAY; t += HEARTBEAT_MS) {
        bool plugged = t < unplug || t >= replug;
        if (t >= replug && t < replug + HEARTBEAT_MS) {
            gw_clock_live(&clock, s_uptime(dev, t), t);
            for (int i = 0; i < nkept; i++) {
                int64_t ms;
                assert_true(gw_clock_event(&clock, kept[i].uptime, t + 10 + i, &ms));
                double err = fabs((double) (ms - kept[i].t));
                if (err > r.worst_buffered_ms)
                    r.worst_buffered_ms = err;
                r.events++;
            }
            nkept = 0;
        } else if (plugged) {
            gw_clock_live(&clock, s_uptime(dev, t), t);
        }
        uint32_t up = s_uptime(dev, t);
        r.wraps += up < last_up;
        last_up = up;
        while (next_event < t + HEARTBEAT_MS) {
            s_event_t ev = { next_event, s_uptime(dev, next_event) };
            next_event += 7 * 60 * 1000;
            if (ev.t >= unplug && ev.t < replug) {
                assert_true(nkept < 64);
                kept[nkept++] = ev;
                continue;
            }
            if (ev.t < t)
                continue;
            int64_t ms;
            assert_true(gw_clock_event(&clock, ev.uptime, ev.t + 3, &ms));
            double err = fabs((double) (ms - ev.t));
            if (err > r.worst_live_ms)
                r.worst_live_ms = err;
            r.events++;
        }
    }
    return r;
}

static void s_check(const char *name, const s_device_t *dev)
{
    s_result_t r = s_simulate(dev);
    print_message("%s: %d events, %d wrap(s), worst error live %.0f ms, buffered %.0f ms\n",
                  name, r.events, r.wraps, r.worst_live_ms, r.worst_buffered_ms);
    assert_true(r.events > 4000);
    /* live: at most the drift since the last heartbeat and the delivery */
    if (r.worst_live_ms > 20)
        fail_msg("%s: a live event is %.0f ms off", name, r.worst_live_ms);
    /* kept 0..3 h: at most 200 ppm of the distance to the nearest anchor
     * (1.5 h: 1080 ms) */
    if (r.worst_buffered_ms > 1200)
        fail_msg("%s: a buffered event is %.0f ms off", name, r.worst_buffered_ms);
}

static void test_exact_clock_over_a_wrap(void **state)
{
    (void) state;
    s_device_t dev = { WRAP - 2.0 * DAY, 1.0 };
    s_check("exact clock, wrap on day 2", &dev);
    assert_int_equal(s_simulate(&dev).wraps, 1);
}

static void test_slow_clock_over_a_wrap(void **state)
{
    (void) state;
    s_device_t dev = { WRAP - 2.0 * DAY, 1.0 - 200e-6 };
    s_check("200 ppm slow, wrap on day 2", &dev);
}

static void test_fast_clock_over_a_wrap(void **state)
{
    (void) state;
    s_device_t dev = { WRAP - 6.0 * DAY, 1.0 + 200e-6 };
    s_check("200 ppm fast, wrap on day 6", &dev);
}

/* The buffered events straddle the wrap: the device was unplugged just
 * before it and plugged in after. */
static void test_events_kept_across_the_wrap(void **state)
{
    (void) state;
    s_device_t dev = { WRAP - 5.0 * DAY - 3600.0 * 1000, 1.0 - 200e-6 };
    s_check("200 ppm slow, wrap while unplugged", &dev);
}

/* A gateway that restarts meets the device's re-sent events before any
 * live report: their time is not known (the caller stamps the receive time
 * and logs it); the next heartbeat anchors the clock. */
static void test_unanchored_until_a_live_report(void **state)
{
    (void) state;
    gw_clock_t clock;
    gw_clock_reset(&clock);
    int64_t ms = 0;
    assert_false(gw_clock_event(&clock, 123456, T0, &ms));
    gw_clock_live(&clock, 200000, T0 + 1000);
    assert_true(gw_clock_event(&clock, 123456, T0 + 1010, &ms));
    assert_int_equal(ms, T0 + 1000 - (200000 - 123456));
    /* a new power-up forgets it */
    gw_clock_reset(&clock);
    assert_false(gw_clock_event(&clock, 5, T0 + 2000, &ms));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_clock_over_a_wrap),
        cmocka_unit_test(test_slow_clock_over_a_wrap),
        cmocka_unit_test(test_fast_clock_over_a_wrap),
        cmocka_unit_test(test_events_kept_across_the_wrap),
        cmocka_unit_test(test_unanchored_until_a_live_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
