/*  Unit tests: devring (the device's event ring) and devtext (its LCD line builder). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <string.h>

#include "devring.h"
#include "devtext.h"

static devring_t s_ring;

static devring_entry_t s_entry(uint32_t tag)
{
    devring_entry_t e;
    memset(&e, 0, sizeof e);
    e.type = DEVPROTO_EV_CALL_REQUEST;
    e.uptime_ms = tag;
    return e;
}

static void test_ring_push_get_ack(void **state)
{
    (void) state;
    devring_init(&s_ring);
    assert_int_equal(devring_used(&s_ring), 0);
    assert_int_equal(devring_first_seq(&s_ring), 1);
    assert_null(devring_get(&s_ring, 1));
    for (uint32_t i = 1; i <= 10; i++) {
        devring_entry_t e = s_entry(i * 100);
        assert_int_equal(devring_push(&s_ring, &e), i);
    }
    assert_int_equal(devring_get(&s_ring, 7)->uptime_ms, 700);
    assert_null(devring_get(&s_ring, 11));
    assert_null(devring_get(&s_ring, 0));
    assert_int_equal(devring_ack(&s_ring, 4), 4);
    assert_null(devring_get(&s_ring, 4));
    assert_int_equal(devring_get(&s_ring, 5)->uptime_ms, 500);
    assert_int_equal(devring_ack(&s_ring, 3), 0);       /* old */
    assert_int_equal(devring_ack(&s_ring, 0), 0);
    assert_int_equal(devring_ack(&s_ring, 11), -1);     /* never made */
    assert_int_equal(devring_used(&s_ring), 6);
    assert_int_equal(devring_ack(&s_ring, 10), 6);
    assert_int_equal(devring_used(&s_ring), 0);
    assert_int_equal(devring_first_seq(&s_ring), 11);
    assert_int_equal(devring_next_seq(&s_ring), 11);
    assert_int_equal(devring_ack(&s_ring, 11), -1);
}

static void test_ring_full_and_index_wrap(void **state)
{
    (void) state;
    devring_init(&s_ring);
    for (uint32_t i = 0; i < DEVCORE_RING_CAPACITY; i++) {
        devring_entry_t e = s_entry(i);
        assert_int_not_equal(devring_push(&s_ring, &e), 0);
    }
    devring_entry_t extra = s_entry(999);
    assert_int_equal(devring_push(&s_ring, &extra), 0); /* full: nothing overwritten */
    assert_int_equal(devring_get(&s_ring, 1)->uptime_ms, 0);
    /* go round the array many times, contents follow the seqs */
    for (uint32_t round = 0; round < 5 * DEVCORE_RING_CAPACITY; round++) {
        uint32_t first = devring_first_seq(&s_ring);
        assert_int_equal(devring_ack(&s_ring, first), 1);
        devring_entry_t e = s_entry(first + DEVCORE_RING_CAPACITY - 1);
        assert_int_equal(devring_push(&s_ring, &e), first + DEVCORE_RING_CAPACITY);
        for (uint32_t s = first + 1; s <= first + DEVCORE_RING_CAPACITY; s++)
            assert_int_equal(devring_get(&s_ring, s)->uptime_ms, s - 1);
    }
}

static void test_ring_seq_arithmetic_wraps(void **state)
{
    (void) state;
    devring_init(&s_ring);
    s_ring.first_seq = 0xFFFFFFF0u;
    for (int i = 0; i < 8; i++) {
        devring_entry_t e = s_entry((uint32_t) i);
        devring_push(&s_ring, &e);
    }
    assert_int_equal(devring_get(&s_ring, 0xFFFFFFF7u)->uptime_ms, 7);
    assert_null(devring_get(&s_ring, 0xFFFFFFEFu));
    assert_int_equal(devring_ack(&s_ring, 0xFFFFFFE0u), 0);  /* old, across the sign */
    assert_int_equal(devring_ack(&s_ring, 0xFFFFFFF3u), 4);
    assert_int_equal(devring_used(&s_ring), 4);
}

static void test_text_line_builder(void **state)
{
    (void) state;
    devtext_line_t l;
    devtext_clear(&l);
    devtext_add(&l, DEVTEXT_STAFF_NO);
    devtext_add_uint(&l, 0);
    assert_int_equal(l.len, 5);
    assert_memory_equal(l.b, DEVTEXT_STAFF_NO "0", 5);
    devtext_clear(&l);
    devtext_add_uint(&l, 4294967295u);
    assert_memory_equal(l.b, "4294967295", 10);
    /* a pair that does not fit is left out whole */
    devtext_clear(&l);
    devtext_add(&l, "A");
    devtext_add(&l, DEVTEXT_RATE_1);                    /* 14 bytes: 7 characters */
    devtext_add(&l, DEVTEXT_RATE_1);
    assert_int_equal(l.len, 15);
    assert_memory_equal(l.b + 1, DEVTEXT_RATE_1, 14);
    devtext_add(&l, "xyz");                             /* one ASCII byte still fits */
    assert_int_equal(l.len, 16);
    assert_int_equal(l.b[15], 'x');
    /* every display text is whole GB2312 characters within one line */
    static const char *const texts[] = {
        DEVTEXT_WELCOME, DEVTEXT_NO_STAFF, DEVTEXT_ENTER_ID, DEVTEXT_PRESS_LOGIN,
        DEVTEXT_LOGGING_IN, DEVTEXT_PLEASE_WAIT, DEVTEXT_LOGIN_FAILED, DEVTEXT_UNKNOWN_STAFF,
        DEVTEXT_INACTIVE, DEVTEXT_ELSEWHERE, DEVTEXT_TELLER, DEVTEXT_STAFF_NO,
        DEVTEXT_SERVED, DEVTEXT_PERSONS, DEVTEXT_PLEASE, DEVTEXT_NUMBER, DEVTEXT_TO,
        DEVTEXT_WINDOW_NO, DEVTEXT_SERVING, DEVTEXT_RATE_1, DEVTEXT_RATE_2, DEVTEXT_THANKS,
        DEVTEXT_WELCOME_AGAIN, DEVTEXT_PAUSED, DEVTEXT_OTHER_WINDOW, DEVTEXT_REASON,
        DEVTEXT_RING_FULL, DEVTEXT_CHECK_LINK, DEVTEXT_LOGGED_OUT
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        size_t n = strlen(texts[i]);
        assert_true(n > 0 && n <= DEVPROTO_LINE_BYTES && n % 2 == 0);
        for (size_t k = 0; k < n; k++) {
            uint8_t b = (uint8_t) texts[i][k];
            assert_true(b >= 0xA1 && b <= 0xFE);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_push_get_ack),
        cmocka_unit_test(test_ring_full_and_index_wrap),
        cmocka_unit_test(test_ring_seq_arithmetic_wraps),
        cmocka_unit_test(test_text_line_builder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
