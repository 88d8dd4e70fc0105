/*  Unit tests: backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "eqms/backoff.h"
#include "eqms/clock.h"

static void test_doubles_up_to_max_and_resets(void **state)
{
    (void) state;
    backoff_t b;
    backoff_init(&b, 100, 1000);
    assert_true(backoff_due(&b));
    assert_int_equal(backoff_failed(&b), 100);
    assert_false(backoff_due(&b));
    assert_int_equal(backoff_failed(&b), 200);
    assert_int_equal(backoff_failed(&b), 400);
    assert_int_equal(backoff_failed(&b), 800);
    assert_int_equal(backoff_failed(&b), 1000);
    assert_int_equal(backoff_failed(&b), 1000);
    backoff_reset(&b);
    assert_true(backoff_due(&b));
    assert_int_equal(backoff_failed(&b), 100);
}

typedef struct {
    backoff_t *backoff;
    int failures_left;
    int calls;
} attempt_t;

static int attempt(void *arg)
{
    attempt_t *a = arg;
    a->calls++;
    if (a->failures_left-- > 0) {
        backoff_failed(a->backoff);
        return -1;
    }
    return 0;
}

static void test_retry_succeeds_after_failures(void **state)
{
    (void) state;
    backoff_t b;
    backoff_init(&b, 10, 40);
    attempt_t a = { &b, 3, 0 };
    int64_t t0 = clock_mono_ms();
    assert_int_equal(backoff_retry(&b, 5000, attempt, &a), 0);
    assert_int_equal(a.calls, 4);
    assert_true(clock_mono_ms() - t0 >= 10 + 20 + 40);   /* it waited each time */
}

static void test_retry_gives_up_at_the_deadline(void **state)
{
    (void) state;
    backoff_t b;
    backoff_init(&b, 50, 50);
    attempt_t a = { &b, 1000, 0 };
    int64_t t0 = clock_mono_ms();
    assert_int_equal(backoff_retry(&b, 200, attempt, &a), -1);
    int64_t took = clock_mono_ms() - t0;
    assert_true(took >= 200 && took < 2000);
    assert_true(a.calls >= 2 && a.calls <= 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doubles_up_to_max_and_resets),
        cmocka_unit_test(test_retry_succeeds_after_failures),
        cmocka_unit_test(test_retry_gives_up_at_the_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
