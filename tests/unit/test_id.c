/*  Unit tests: id (UUID v7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/id.h"

#define N 20000

static void test_ids_are_unique_and_ordered(void **state)
{
    (void) state;
    char (*ids)[ID_SIZE] = malloc(N * sizeof *ids);
    for (int i = 0; i < N; i++) {
        assert_int_equal(id_new(ids[i]), 0);
        assert_true(id_valid(ids[i]));
        assert_int_equal(ids[i][14], '7');
        assert_true(strchr("89ab", ids[i][19]) != NULL);
        if (i)
            assert_true(strcmp(ids[i - 1], ids[i]) < 0);
    }
    free(ids);
}

static void test_ordered_when_clock_stands_still_or_steps_back(void **state)
{
    (void) state;
    char a[ID_SIZE], b[ID_SIZE];
    clock_set_fake(1800000000000LL);
    assert_int_equal(id_new(a), 0);
    for (int i = 0; i < 10000; i++) {   /* more than 4096 in one ms */
        assert_int_equal(id_new(b), 0);
        assert_true(strcmp(a, b) < 0);
        memcpy(a, b, ID_SIZE);
    }
    clock_set_fake(1700000000000LL);    /* the clock stepped back */
    assert_int_equal(id_new(b), 0);
    assert_true(strcmp(a, b) < 0);
    clock_set_fake(0);
}

static void test_time_is_recoverable(void **state)
{
    (void) state;
    char id[ID_SIZE];
    clock_set_fake(1900000000123LL);
    id_new(id);
    clock_set_fake(0);
    assert_int_equal(id_time_ms(id), 1900000000123LL);
}

static void test_validation_rejects_malformed(void **state)
{
    (void) state;
    assert_true(id_valid("0193a2b4-0000-7000-8000-000000000000"));
    const char *bad[] = { "", "0193a2b4-0000-7000-8000-00000000000", /* short */
                          "0193a2b4-0000-7000-8000-0000000000000", /* long */
                          "0193A2B4-0000-7000-8000-000000000000",  /* upper case */
                          "0193a2b4_0000-7000-8000-000000000000",
                          "0193a2b40000-7000-8000-0000000000000",
                          "0193a2b4-0000-7000-8000-00000000000g" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(id_valid(bad[i]));
    assert_false(id_valid(NULL));
    assert_int_equal(id_time_ms("0193a2b4-0000-4000-8000-000000000000"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_are_unique_and_ordered),
        cmocka_unit_test(test_ordered_when_clock_stands_still_or_steps_back),
        cmocka_unit_test(test_time_is_recoverable),
        cmocka_unit_test(test_validation_rejects_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
