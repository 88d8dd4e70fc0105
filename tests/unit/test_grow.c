/*  Unit tests: grow_room, room for one more item in a growable array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>

#include "eqms/grow.h"

static void test_doubles_from_first_and_keeps_items(void **state)
{
    (void) state;
    int *items = NULL;
    size_t count = 0, cap = 0, grown = 0;
    for (int i = 0; i < 1000; i++) {
        size_t before = cap;
        int *more = grow_room(items, count, &cap, sizeof *more, 4);
        assert_non_null(more);
        items = more;
        if (cap != before) {
            assert_int_equal(cap, before ? before * 2 : 4);
            grown++;
        }
        items[count++] = i;
    }
    assert_int_equal(cap, 1024);
    assert_int_equal(grown, 9);              /* 4, 8, ..., 1024 */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(items[i], i);
    /* Room left: the same array back, nothing moved. */
    assert_ptr_equal(grow_room(items, count, &cap, sizeof *items, 4), items);
    assert_int_equal(cap, 1024);
    free(items);
}

static void test_overflow_is_refused_and_leaves_the_array(void **state)
{
    (void) state;
    size_t cap = SIZE_MAX / 2 + 1;          /* doubling would wrap */
    char one[1];
    assert_null(grow_room(one, cap, &cap, 1, 4));
    assert_int_equal(cap, SIZE_MAX / 2 + 1);
    cap = SIZE_MAX / 16;                    /* * 2 items of 16 bytes overflows */
    assert_null(grow_room(one, cap, &cap, 16, 4));
    assert_int_equal(cap, SIZE_MAX / 16);
    cap = 0;
    assert_null(grow_room(NULL, 0, &cap, 8, 0));   /* no first size */
    assert_null(grow_room(NULL, 0, &cap, 0, 4));   /* no item size */
    assert_int_equal(cap, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doubles_from_first_and_keeps_items),
        cmocka_unit_test(test_overflow_is_refused_and_leaves_the_array),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
