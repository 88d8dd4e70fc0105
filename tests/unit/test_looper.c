/*  Unit tests: looper (the loop thread of a table-following consumer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>
#include <cmocka.h>

#include "eqms/clock.h"
#include "eqms/looper.h"

static void s_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

typedef struct {
    atomic_int calls;
    int answer;                 /* what every pass returns */
    int64_t first_ms, last_ms;
} pass_t;

static int s_pass(void *arg)
{
    pass_t *p = arg;
    int64_t now = clock_mono_ms();
    if (atomic_fetch_add(&p->calls, 1) == 0)
        p->first_ms = now;
    p->last_ms = now;
    return p->answer;
}

/* Runs a looper with poll_ms for about run_ms; returns the passes made. */
static int s_run_for(pass_t *p, int poll_ms, int run_ms, health_liveness_t *liveness)
{
    looper_config_t cfg = { .name = "test", .poll_ms = poll_ms, .retry_min_ms = 100,
                            .retry_max_ms = 400, .liveness = liveness, .pass = s_pass,
                            .ctx = p };
    looper_t *loop = looper_start(&cfg);
    assert_non_null(loop);
    s_sleep_ms(run_ms);
    looper_stop(&loop);
    assert_null(loop);
    return atomic_load(&p->calls);
}

static void test_an_idle_pass_waits_poll_ms(void **state)
{
    (void) state;
    pass_t p = { .answer = LOOPER_IDLE };
    int calls = s_run_for(&p, 100, 550, NULL);
    /* passes at once, then at about 100, 200, ... 500 ms */
    assert_in_range(calls, 4, 7);
}

static void test_a_pass_that_found_work_runs_again_at_once(void **state)
{
    (void) state;
    pass_t p = { .answer = LOOPER_MORE };
    int calls = s_run_for(&p, 1000, 300, NULL);
    assert_true(calls > 50);
}

static void test_a_failed_pass_is_retried_after_a_doubling_backoff(void **state)
{
    (void) state;
    pass_t p = { .answer = LOOPER_FAILED };
    health_liveness_t liveness;
    health_liveness_init(&liveness);
    /* with poll 10 ms and no backoff there would be about 100; with 100,
     * 200, 400, 400 ms waits there are 4 or 5 */
    int calls = s_run_for(&p, 10, 1000, &liveness);
    assert_in_range(calls, 3, 6);
    char reason[128];
    assert_int_not_equal(health_liveness_check(&liveness, reason, sizeof reason), 0);
}

static void test_stop_ends_a_long_wait_soon(void **state)
{
    (void) state;
    pass_t p = { .answer = LOOPER_IDLE };
    looper_config_t cfg = { .poll_ms = 60000, .pass = s_pass, .ctx = &p };
    looper_t *loop = looper_start(&cfg);
    assert_non_null(loop);
    s_sleep_ms(50);
    int64_t t0 = clock_mono_ms();
    looper_stop(&loop);
    assert_true(clock_mono_ms() - t0 < 1000);
    assert_int_equal(atomic_load(&p.calls), 1);     /* the first, at once */
    looper_stop(&loop);             /* NULL is fine */
    assert_null(looper_start(&(looper_config_t) { .poll_ms = 10 }));   /* no pass */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_an_idle_pass_waits_poll_ms),
        cmocka_unit_test(test_a_pass_that_found_work_runs_again_at_once),
        cmocka_unit_test(test_a_failed_pass_is_retried_after_a_doubling_backoff),
        cmocka_unit_test(test_stop_ends_a_long_wait_soon),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
