/*  Unit tests: pgbin, PostgreSQL binary parameter values, byte for byte
 *  (the server's reading of them is tested in test_pgstore). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "eqms/pgbin.h"

static const unsigned char *finished(pgbin_t *b, size_t *len)
{
    const char *data = NULL;
    assert_int_equal(pgbin_finish(b, &data, len), 0);
    return (const unsigned char *) data;
}

static void expect_failed(pgbin_t *b)
{
    const char *data = NULL;
    size_t len = 0;
    assert_int_equal(pgbin_finish(b, &data, &len), -1);
    assert_null(data);
}

static void test_array_of_scalars(void **state)
{
    (void) state;
    pgbin_t b;
    pgbin_init(&b);
    pgbin_array_begin(&b, PGBIN_INT8);
    pgbin_int8(&b, -2);
    pgbin_null(&b, PGBIN_INT8);
    pgbin_array_end(&b);
    size_t len;
    const unsigned char *p = finished(&b, &len);
    static const unsigned char want[] = {
        0, 0, 0, 1,   0, 0, 0, 1,   0, 0, 0, 20,  /* ndim, has nulls, int8 */
        0, 0, 0, 2,   0, 0, 0, 1,                 /* length 2, lower bound 1 */
        0, 0, 0, 8,   0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
        0xff, 0xff, 0xff, 0xff,                   /* NULL */
    };
    assert_int_equal(len, sizeof want);
    assert_memory_equal(p, want, sizeof want);
    pgbin_release(&b);
}

static void test_array_of_records(void **state)
{
    (void) state;
    pgbin_t b;
    pgbin_init(&b);
    pgbin_array_begin(&b, 0x01020304);
    pgbin_record_begin(&b);
    pgbin_int4(&b, 7);
    pgbin_text(&b, "满");
    pgbin_text(&b, NULL);
    pgbin_record_end(&b);
    pgbin_array_end(&b);
    size_t len;
    const unsigned char *p = finished(&b, &len);
    static const unsigned char want[] = {
        0, 0, 0, 1,   0, 0, 0, 0,   1, 2, 3, 4,   0, 0, 0, 1,   0, 0, 0, 1,
        0, 0, 0, 35,                              /* element: 35 bytes */
        0, 0, 0, 3,                               /* 3 columns */
        0, 0, 0, 23,  0, 0, 0, 4,   0, 0, 0, 7,   /* int4 7 */
        0, 0, 0, 25,  0, 0, 0, 3,   0xe6, 0xbb, 0xa1, /* text, UTF-8 */
        0, 0, 0, 25,  0xff, 0xff, 0xff, 0xff,     /* NULL text */
    };
    assert_int_equal(len, sizeof want);
    assert_memory_equal(p, want, sizeof want);

    /* Reset keeps nothing of the last value. */
    pgbin_reset(&b);
    pgbin_array_begin(&b, PGBIN_INT4);
    pgbin_array_end(&b);
    p = finished(&b, &len);
    assert_int_equal(len, 20);
    assert_int_equal(p[15], 0);               /* empty */
    pgbin_release(&b);
}

static void test_time_and_uuid(void **state)
{
    (void) state;
    pgbin_t b;
    pgbin_init(&b);
    pgbin_array_begin(&b, PGBIN_TIMESTAMPTZ);
    pgbin_timestamptz_ms(&b, 946684800001);   /* 2000-01-01T00:00:00.001Z */
    pgbin_timestamptz_ms(&b, 0);              /* 1970: negative on the wire */
    pgbin_array_end(&b);
    size_t len;
    const unsigned char *p = finished(&b, &len);
    static const unsigned char t1[] = { 0, 0, 0, 0, 0, 0, 0x03, 0xe8 };
    assert_memory_equal(p + 24, t1, 8);
    int64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (int64_t) ((uint64_t) v << 8 | p[36 + i]);
    assert_true(v == -INT64_C(946684800000000));

    pgbin_reset(&b);
    pgbin_array_begin(&b, PGBIN_UUID);
    pgbin_uuid(&b, "0190A1B2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    pgbin_array_end(&b);
    p = finished(&b, &len);
    static const unsigned char u[] = { 0x01, 0x90, 0xa1, 0xb2, 0xc3, 0xd4, 0x7e, 0x5f,
                                       0x8a, 0x9b, 0x0c, 0x1d, 0x2e, 0x3f, 0x4a, 0x5b };
    assert_int_equal(len, 20 + 4 + 16);
    assert_memory_equal(p + 24, u, 16);
    pgbin_release(&b);
}

static void test_bad_uuids_fail(void **state)
{
    (void) state;
    static const char *bad[] = {
        "", "0190a1b2c3d47e5f8a9b0c1d2e3f4a5b",       /* no hyphens */
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5",         /* short */
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b0",       /* long */
        "0190a1b2-c3d4-7e5f-8a9b_0c1d2e3f4a5b",        /* wrong separator */
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g",        /* not hex */
        NULL,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pgbin_t b;
        pgbin_init(&b);
        pgbin_array_begin(&b, PGBIN_UUID);
        pgbin_uuid(&b, bad[i]);
        pgbin_array_end(&b);
        expect_failed(&b);
        pgbin_release(&b);
    }
}

static void test_misuse_fails_and_sticks(void **state)
{
    (void) state;
    pgbin_t b;
    pgbin_init(&b);
    pgbin_int4(&b, 1);                 /* outside any container */
    pgbin_array_begin(&b, PGBIN_INT4);
    pgbin_array_end(&b);
    expect_failed(&b);                 /* the error sticks */

    pgbin_reset(&b);
    pgbin_record_begin(&b);            /* a record outside an array */
    expect_failed(&b);

    pgbin_reset(&b);
    pgbin_array_begin(&b, PGBIN_INT4);
    pgbin_array_begin(&b, PGBIN_INT4); /* nested arrays */
    expect_failed(&b);

    pgbin_reset(&b);
    pgbin_array_begin(&b, 1);
    pgbin_record_begin(&b);
    pgbin_array_end(&b);               /* record still open */
    expect_failed(&b);

    pgbin_reset(&b);
    pgbin_array_begin(&b, PGBIN_INT4); /* never closed */
    expect_failed(&b);

    pgbin_reset(&b);
    pgbin_record_end(&b);              /* nothing open */
    expect_failed(&b);
    pgbin_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_array_of_scalars),
        cmocka_unit_test(test_array_of_records),
        cmocka_unit_test(test_time_and_uuid),
        cmocka_unit_test(test_bad_uuids_fail),
        cmocka_unit_test(test_misuse_fails_and_sticks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
