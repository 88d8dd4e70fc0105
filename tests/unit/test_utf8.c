/*  Unit tests: utf8, strict UTF-8 checks, against jansson's judgement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "eqms/utf8.h"

/* What jansson says of a JSON string holding these bytes. */
static bool jansson_accepts(const unsigned char *bytes, size_t len)
{
    char text[64];
    text[0] = '"';
    memcpy(text + 1, bytes, len);
    text[len + 1] = '"';
    json_error_t error;
    json_t *v = json_loadb(text, len + 2, JSON_DECODE_ANY, &error);
    json_decref(v);
    return v != NULL;
}

static void test_known_sequences(void **state)
{
    (void) state;
    static const struct {
        const char *bytes;
        bool valid;
    } cases[] = {
        { "plain ascii, long enough for a word", true },
        { "\xe6\xbb\xa1\xe6\x84\x8f", true },               /* 满意 */
        { "\xc2\x80", true }, { "\xdf\xbf", true },
        { "\xf0\x90\x80\x80", true }, { "\xf4\x8f\xbf\xbf", true },   /* U+10000, U+10FFFF */
        { "\xc0\xaf", false }, { "\xc1\xbf", false },         /* overlong */
        { "\xe0\x80\xaf", false }, { "\xf0\x80\x80\xaf", false },
        { "\xed\xa0\x80", false }, { "\xed\xbf\xbf", false }, /* surrogates */
        { "\xf4\x90\x80\x80", false }, { "\xf5\x80\x80\x80", false },  /* > U+10FFFF */
        { "\x80", false }, { "a\xbf", false },                /* stray continuation */
        { "\xe6\xbb", false }, { "\xf0\x90\x80", false },     /* cut short */
        { "\xe6\xbbx", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *b = cases[i].bytes;
        size_t len = strlen(b);
        if (utf8_valid(b, len) != cases[i].valid)
            fail_msg("case %zu: utf8_valid says %d", i, !cases[i].valid);
        assert_int_equal(jansson_accepts((const unsigned char *) b, len), cases[i].valid);
    }
}

/* Every 1..3-byte string over a set of interesting bytes: the same verdict
 * as jansson's. */
static void test_agrees_with_jansson(void **state)
{
    (void) state;
    static const unsigned char pick[] = {
        'a', 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1,
        0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff,
    };
    size_t n = sizeof pick, checked = 0;
    unsigned char b[4];
    for (size_t len = 1; len <= 3; len++) {
        size_t total = 1;
        for (size_t k = 0; k < len; k++)
            total *= n;
        for (size_t x = 0; x < total; x++) {
            size_t y = x;
            for (size_t k = 0; k < len; k++, y /= n)
                b[k] = pick[y % n];
            if (utf8_valid(b, len) != jansson_accepts(b, len))
                fail_msg("bytes %02x %02x %02x (len %zu) disagree", b[0], b[1], b[2], len);
            checked++;
        }
    }
    assert_true(checked > 10000);
}

/* Where cut text should end, and how many characters it holds. */
static void test_prefix_and_count(void **state)
{
    (void) state;
    const char text[] = "ab\xe6\xbb\xa1\xe6\x84\x8f\xf0\x90\x80\x80";   /* ab满意U+10000 */
    size_t len = sizeof text - 1;
    assert_int_equal(utf8_valid_prefix(text, len), len);
    assert_int_equal(utf8_count(text, len), 5);
    assert_int_equal(utf8_valid_prefix(text, 4), 2);      /* 满 cut after its 2nd byte */
    assert_int_equal(utf8_valid_prefix(text, 5), 5);
    assert_int_equal(utf8_valid_prefix(text, len - 1), 8); /* U+10000 cut short */
    assert_int_equal(utf8_valid_prefix("a\x80" "b", 3), 1);
    assert_int_equal(utf8_valid_prefix("", 0), 0);
    assert_int_equal(utf8_count("", 0), 0);
    assert_int_equal(utf8_count("a\0b", 3), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_sequences),
        cmocka_unit_test(test_agrees_with_jansson),
        cmocka_unit_test(test_prefix_and_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
