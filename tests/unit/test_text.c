/*  Unit tests: text, the snprintf-free string writers, against snprintf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/text.h"

static void test_copy_cuts_like_snprintf(void **state)
{
    (void) state;
    const char *sources[] = { "", "a", "A012", "请A012号到3号窗口", "exactly7", "1234567" };
    for (size_t i = 0; i < sizeof sources / sizeof sources[0]; i++) {
        for (size_t size = 1; size <= 32; size++) {
            char got[32], want[32];
            memset(got, 'x', sizeof got);
            bool whole = text_copy(got, size, sources[i]);
            int n = snprintf(want, size, "%s", sources[i]);
            assert_string_equal(got, want);
            assert_int_equal(whole, (size_t) n < size);
            /* nothing is written past dst[size - 1] */
            for (size_t k = size; k < sizeof got; k++)
                assert_int_equal(got[k], 'x');
        }
    }
}

static void test_i64_writes_like_snprintf(void **state)
{
    (void) state;
    int64_t values[] = { 0, 1, -1, 9, 10, -10, 99, 100, 1234567890, -987654321,
                         INT64_MAX, INT64_MIN, INT64_MIN + 1 };
    char got[TEXT_I64_SIZE], want[32];
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        size_t n = text_i64(got, values[i]);
        snprintf(want, sizeof want, "%" PRId64, values[i]);
        assert_string_equal(got, want);
        assert_int_equal(n, strlen(want));
    }
    srand(1122);
    for (int round = 0; round < 100000; round++) {
        int64_t v = (int64_t) ((uint64_t) rand() << 42 ^ (uint64_t) rand() << 21 ^
                               (uint64_t) rand());
        v >>= rand() % 63;
        if (rand() & 1)
            v = -v;
        size_t n = text_i64(got, v);
        snprintf(want, sizeof want, "%" PRId64, v);
        if (strcmp(got, want) != 0 || n != strlen(want))
            fail_msg("%s written as %s", want, got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_cuts_like_snprintf),
        cmocka_unit_test(test_i64_writes_like_snprintf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
