/*  Unit tests: jsonw, the streaming JSON object writer, checked against jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/jsonw.h"
#include "eqms/utf8.h"

/* Finishes `w` and returns its text, failing the test if it is in error. */
static const char *finished(jsonw_t *w)
{
    int rc = jsonw_finish(w);
    if (rc != 0)
        fail_msg("writer failed with error %d", (int) jsonw_error(w));
    size_t len;
    const char *text = jsonw_text(w, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    return text;
}

/* Decodes as envelope_decode does; fails the test on invalid JSON. */
static json_t *load(const char *text)
{
    json_error_t error;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &error);
    if (!root)
        fail_msg("jansson rejects %s: %s", text, error.text);
    return root;
}

/* Finishing fails with `error` and leaves no text. */
static void expect_error(jsonw_t *w, jsonw_error_t error)
{
    assert_int_equal(jsonw_finish(w), -1);
    assert_int_equal(jsonw_error(w), error);
    size_t len = 12345;
    assert_null(jsonw_text(w, &len));
    assert_int_equal(len, 12345);
}

static void test_members_and_commas(void **state)
{
    (void) state;
    char buf[256];
    jsonw_t w;
    jsonw_init(&w, buf, sizeof buf);
    assert_string_equal(finished(&w), "{}");
    jsonw_reset(&w);
    jsonw_str(&w, "s", "x");
    jsonw_int(&w, "i", -5);
    jsonw_double(&w, "d", 0.5);
    jsonw_bool(&w, "t", true);
    jsonw_bool(&w, "f", false);
    jsonw_null(&w, "n");
    jsonw_str(&w, "", "");
    assert_string_equal(finished(&w),
                        "{\"s\":\"x\",\"i\":-5,\"d\":0.5,\"t\":true,\"f\":false,"
                        "\"n\":null,\"\":\"\"}");
}

static void test_nesting(void **state)
{
    (void) state;
    char buf[256];
    jsonw_t w;
    jsonw_init(&w, buf, sizeof buf);
    jsonw_object_begin(&w, "a");
    jsonw_object_end(&w);
    jsonw_object_begin(&w, "b");
    jsonw_object_begin(&w, "c");
    jsonw_int(&w, "d", 1);
    jsonw_object_end(&w);
    jsonw_int(&w, "e", 2);
    jsonw_object_end(&w);
    jsonw_int(&w, "f", 3);
    assert_string_equal(finished(&w), "{\"a\":{},\"b\":{\"c\":{\"d\":1},\"e\":2},\"f\":3}");

    /* Unbalanced: closing the root, finishing with an object open. */
    jsonw_reset(&w);
    jsonw_object_end(&w);
    expect_error(&w, JSONW_ERR_ARG);
    jsonw_reset(&w);
    jsonw_object_begin(&w, "open");
    expect_error(&w, JSONW_ERR_ARG);

    /* JSONW_MAX_DEPTH levels, the root included, and no more. */
    jsonw_reset(&w);
    for (int i = 1; i < JSONW_MAX_DEPTH; i++)
        jsonw_object_begin(&w, "x");
    for (int i = 1; i < JSONW_MAX_DEPTH; i++)
        jsonw_object_end(&w);
    json_t *deep = load(finished(&w));
    json_decref(deep);
    jsonw_reset(&w);
    for (int i = 0; i < JSONW_MAX_DEPTH; i++)
        jsonw_object_begin(&w, "x");
    expect_error(&w, JSONW_ERR_DEPTH);
}

static void test_duplicate_keys(void **state)
{
    (void) state;
    char buf[256];
    jsonw_t w;
    jsonw_init(&w, buf, sizeof buf);
    /* The same key in different objects is fine, also after a close. */
    jsonw_int(&w, "x", 0);
    jsonw_object_begin(&w, "a");
    jsonw_int(&w, "x", 1);
    jsonw_object_end(&w);
    jsonw_object_begin(&w, "b");
    jsonw_int(&w, "x", 2);
    jsonw_object_end(&w);
    assert_string_equal(finished(&w), "{\"x\":0,\"a\":{\"x\":1},\"b\":{\"x\":2}}");

    jsonw_reset(&w);
    jsonw_int(&w, "a", 1);
    jsonw_str(&w, "a", "again");
    expect_error(&w, JSONW_ERR_DUPLICATE);
    jsonw_reset(&w);
    jsonw_object_begin(&w, "a");
    jsonw_object_end(&w);
    jsonw_null(&w, "a");
    expect_error(&w, JSONW_ERR_DUPLICATE);
    jsonw_reset(&w);   /* escaped spellings of one key are one key */
    jsonw_int(&w, "k\n", 1);
    jsonw_int(&w, "k", 1);
    jsonw_int(&w, "k\n", 1);
    expect_error(&w, JSONW_ERR_DUPLICATE);

    /* Past the hash filter's 64 bits: 100 distinct keys pass, and a repeat
     * of each of them is still caught. */
    char many[4096], key[16];
    for (int repeat = 0; repeat < 100; repeat++) {
        jsonw_init(&w, many, sizeof many);
        for (int i = 0; i < 100; i++) {
            snprintf(key, sizeof key, "k%d", i);
            jsonw_int(&w, key, i);
        }
        assert_int_equal(jsonw_error(&w), JSONW_OK);
        snprintf(key, sizeof key, "k%d", repeat);
        jsonw_int(&w, key, 0);
        expect_error(&w, JSONW_ERR_DUPLICATE);
    }

    /* JSONW_MAX_KEYS keys open at once, and no more. */
    char big[8192];
    jsonw_init(&w, big, sizeof big);
    for (int i = 0; i < JSONW_MAX_KEYS; i++) {
        snprintf(key, sizeof key, "k%d", i);
        jsonw_int(&w, key, i);
    }
    json_t *root = load(finished(&w));
    assert_int_equal(json_object_size(root), JSONW_MAX_KEYS);
    json_decref(root);
    jsonw_reset(&w);
    for (int i = 0; i <= JSONW_MAX_KEYS; i++) {
        snprintf(key, sizeof key, "k%d", i);
        jsonw_int(&w, key, i);
    }
    expect_error(&w, JSONW_ERR_KEYS);
}

static void test_escaping(void **state)
{
    (void) state;
    char buf[512];
    jsonw_t w;
    jsonw_init(&w, buf, sizeof buf);
    jsonw_str(&w, "q\"k", "a\"b\\c/d\n\t\r\b\f\x01\x1f\x7f" "e");
    jsonw_str(&w, "zh", "非常满意");
    jsonw_str(&w, "emoji", "\xf0\x9f\x98\x80");
    const char *text = finished(&w);
    assert_string_equal(text, "{\"q\\\"k\":\"a\\\"b\\\\c/d\\n\\t\\r\\b\\f\\u0001\\u001f\x7f"
                              "e\",\"zh\":\"非常满意\",\"emoji\":\"\xf0\x9f\x98\x80\"}");
    json_t *root = load(text);
    assert_string_equal(json_string_value(json_object_get(root, "q\"k")),
                        "a\"b\\c/d\n\t\r\b\f\x01\x1f\x7f" "e");
    assert_string_equal(json_string_value(json_object_get(root, "emoji")),
                        "\xf0\x9f\x98\x80");
    json_decref(root);
}

static void test_utf8_validation(void **state)
{
    (void) state;
    const char *bad[] = {
        "\xff", "\xfe", "\x80", "a\xbf", "\xc3\x28", "\xc0\xaf", "\xc1\xbf",
        "\xe0\x80\xaf", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
        "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80",
        "\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xe4\xb8", "\xf0\x9f\x98",
        "\xc3", "ok\xe4\xb8" "x",
        /* after an escape, and after valid sequences */
        "\n\xff", "a\"\xc3", "\x01\xe4\xb8", "中\xe4\xb8", "中文\xed\xa0\x80x",
    };
    const char *good[] = {
        "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
        "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
    };
    char buf[256];
    jsonw_t w;
    jsonw_init(&w, buf, sizeof buf);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jsonw_reset(&w);
        jsonw_str(&w, "v", bad[i]);
        if (jsonw_error(&w) != JSONW_ERR_UTF8)
            fail_msg("bad UTF-8 #%zu accepted", i);
        expect_error(&w, JSONW_ERR_UTF8);
        jsonw_reset(&w);
        jsonw_null(&w, bad[i]);
        expect_error(&w, JSONW_ERR_UTF8);
    }
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        jsonw_reset(&w);
        jsonw_str(&w, good[i], good[i]);
        json_t *root = load(finished(&w));
        assert_string_equal(json_string_value(json_object_get(root, good[i])), good[i]);
        json_decref(root);
    }
}

static void expect_double(double value, const char *text)
{
    char buf[128];
    jsonw_t w;
    jsonw_init(&w, buf, sizeof buf);
    jsonw_double(&w, "d", value);
    const char *out = finished(&w);
    char want[96];
    snprintf(want, sizeof want, "{\"d\":%s}", text);
    assert_string_equal(out, want);
    json_t *root = load(out);
    json_t *d = json_object_get(root, "d");
    assert_true(json_is_real(d));
    assert_true(json_real_value(d) == value);
    assert_int_equal(!!signbit(json_real_value(d)), !!signbit(value));
    json_decref(root);
}

static void test_numbers(void **state)
{
    (void) state;
    char buf[256];
    jsonw_t w;
    jsonw_init(&w, buf, sizeof buf);
    jsonw_int(&w, "min", INT64_MIN);
    jsonw_int(&w, "max", INT64_MAX);
    jsonw_int(&w, "zero", 0);
    jsonw_int(&w, "neg", -1);
    const char *text = finished(&w);
    assert_string_equal(text, "{\"min\":-9223372036854775808,\"max\":9223372036854775807,"
                              "\"zero\":0,\"neg\":-1}");
    json_t *root = load(text);
    assert_true(json_integer_value(json_object_get(root, "min")) == INT64_MIN);
    assert_true(json_integer_value(json_object_get(root, "max")) == INT64_MAX);
    json_decref(root);

    expect_double(0.1, "0.1");
    expect_double(1e300, "1e+300");
    expect_double(-0.0, "-0.0");
    expect_double(0.0, "0.0");
    expect_double(4.0, "4.0");
    expect_double(-2.5, "-2.5");
    expect_double(0.1 + 0.2, "0.30000000000000004");
    expect_double(1.0 / 3.0, "0.3333333333333333");
    expect_double(4.9406564584124654e-324, "4.94065645841247e-324");
    expect_double(1.7976931348623157e308, "1.7976931348623157e+308");
    expect_double(123456789012345678.0, "1.2345678901234568e+17");
    expect_double(1e15, "1000000000000000.0");
    expect_double(-9007199254740992.0, "-9007199254740992.0");
    expect_double(9007199254740994.0, "9007199254740994.0");
    expect_double(1e16 + 2.0, "10000000000000002.0");
}

static void test_errors_stick(void **state)
{
    (void) state;
    const double bad[] = { NAN, -NAN, INFINITY, -INFINITY };
    char buf[256];
    jsonw_t w;
    jsonw_init(&w, buf, sizeof buf);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        jsonw_reset(&w);
        jsonw_int(&w, "before", 1);
        jsonw_double(&w, "d", bad[i]);
        assert_int_equal(jsonw_error(&w), JSONW_ERR_NUMBER);
        /* Later calls neither write nor replace the first error. */
        size_t len = w.len;
        jsonw_str(&w, "s", "\xff");
        jsonw_int(&w, "i", 1);
        jsonw_object_begin(&w, "o");
        jsonw_object_end(&w);
        assert_int_equal(w.len, len);
        assert_memory_equal(buf, "{\"before\":1", len);
        expect_error(&w, JSONW_ERR_NUMBER);
    }
    /* A reset clears the error. */
    jsonw_reset(&w);
    jsonw_int(&w, "ok", 1);
    assert_string_equal(finished(&w), "{\"ok\":1}");

    /* Misuse: NULL key or value, members after finish, finish twice. */
    jsonw_reset(&w);
    jsonw_int(&w, NULL, 1);
    expect_error(&w, JSONW_ERR_ARG);
    jsonw_reset(&w);
    jsonw_str(&w, "s", NULL);
    expect_error(&w, JSONW_ERR_ARG);
    jsonw_reset(&w);
    assert_int_equal(jsonw_finish(&w), 0);
    jsonw_int(&w, "late", 1);
    assert_int_equal(jsonw_error(&w), JSONW_ERR_ARG);
    size_t len;
    assert_null(jsonw_text(&w, &len));
}

static void test_fixed_buffer_overflow(void **state)
{
    (void) state;
    /* {"a":1} and the NUL fit exactly in 8 bytes, not in 7. */
    char buf[32];
    memset(buf, '#', sizeof buf);
    jsonw_t w;
    jsonw_init(&w, buf, 8);
    jsonw_int(&w, "a", 1);
    assert_string_equal(finished(&w), "{\"a\":1}");
    memset(buf, '#', sizeof buf);
    jsonw_init(&w, buf, 7);
    jsonw_int(&w, "a", 1);
    expect_error(&w, JSONW_ERR_FULL);
    assert_int_equal(buf[7], '#');

    /* A long string into a small buffer stops at its end. */
    memset(buf, '#', sizeof buf);
    jsonw_init(&w, buf, 16);
    jsonw_str(&w, "k", "a long string that does not fit \n\n\n\n");
    jsonw_int(&w, "more", 1);
    expect_error(&w, JSONW_ERR_FULL);
    for (size_t i = 16; i < sizeof buf; i++)
        assert_int_equal(buf[i], '#');

    jsonw_init(&w, buf, 2);   /* not even "{}" */
    expect_error(&w, JSONW_ERR_FULL);
}

static void test_arrays(void **state)
{
    (void) state;
    char buf[512];
    jsonw_t w;
    jsonw_init(&w, buf, sizeof buf);
    jsonw_array_begin(&w, "a");
    jsonw_int(&w, NULL, 1);
    jsonw_str(&w, NULL, "x");
    jsonw_null(&w, NULL);
    jsonw_bool(&w, NULL, true);
    jsonw_object_begin(&w, NULL);
    jsonw_int(&w, "k", 1);
    jsonw_object_end(&w);
    jsonw_object_begin(&w, NULL);      /* a sibling element may reuse the key */
    jsonw_int(&w, "k", 2);
    jsonw_object_end(&w);
    jsonw_array_begin(&w, NULL);
    jsonw_double(&w, NULL, 0.5);
    jsonw_array_end(&w);
    jsonw_array_end(&w);
    jsonw_array_begin(&w, "b");
    jsonw_array_end(&w);
    jsonw_int(&w, "c", 3);
    const char *text = finished(&w);
    assert_string_equal(text,
                        "{\"a\":[1,\"x\",null,true,{\"k\":1},{\"k\":2},[0.5]],\"b\":[],\"c\":3}");
    json_t *root = load(text);
    assert_int_equal(json_array_size(json_object_get(root, "a")), 7);
    json_decref(root);

    /* A key inside an array, none inside an object, or the wrong end. */
    jsonw_reset(&w);
    jsonw_array_begin(&w, "a");
    jsonw_int(&w, "k", 1);
    expect_error(&w, JSONW_ERR_ARG);
    jsonw_reset(&w);
    jsonw_int(&w, NULL, 1);
    expect_error(&w, JSONW_ERR_ARG);
    jsonw_reset(&w);
    jsonw_array_begin(&w, "a");
    jsonw_object_end(&w);
    expect_error(&w, JSONW_ERR_ARG);
    jsonw_reset(&w);
    jsonw_object_begin(&w, "o");
    jsonw_array_end(&w);
    expect_error(&w, JSONW_ERR_ARG);
    jsonw_reset(&w);
    jsonw_array_begin(&w, "a");        /* still open at the end */
    expect_error(&w, JSONW_ERR_ARG);

    /* Duplicates are still refused within one element, and the depth
     * limit counts arrays. */
    jsonw_reset(&w);
    jsonw_array_begin(&w, "a");
    jsonw_object_begin(&w, NULL);
    jsonw_int(&w, "k", 1);
    jsonw_int(&w, "k", 2);
    expect_error(&w, JSONW_ERR_DUPLICATE);
    jsonw_reset(&w);
    jsonw_array_begin(&w, "a");
    for (int i = 2; i < JSONW_MAX_DEPTH; i++)
        jsonw_array_begin(&w, NULL);
    assert_int_equal(jsonw_error(&w), JSONW_OK);
    jsonw_array_begin(&w, NULL);
    expect_error(&w, JSONW_ERR_DEPTH);
}

static void test_growable_buffer(void **state)
{
    (void) state;
    char chunk[1001];
    memset(chunk, 'z', 1000);
    chunk[1000] = '\0';
    char key[16];
    jsonw_t w;
    jsonw_init(&w, NULL, 0);   /* up to 64 KiB */
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "k%d", i);
        jsonw_str(&w, key, chunk);
    }
    expect_error(&w, JSONW_ERR_FULL);
    jsonw_release(&w);

    jsonw_init(&w, NULL, 1 << 20);
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof key, "k%d", i);
        jsonw_str(&w, key, chunk);
    }
    json_t *root = load(finished(&w));
    assert_int_equal(json_object_size(root), 100);
    assert_string_equal(json_string_value(json_object_get(root, "k99")), chunk);
    json_decref(root);
    /* A reset keeps the buffer: no more allocation once warm. */
    const char *before = w.buf;
    jsonw_reset(&w);
    jsonw_str(&w, "k", chunk);
    assert_string_equal(finished(&w) + 6 + 1000, "\"}");
    assert_ptr_equal(w.buf, before);
    jsonw_release(&w);
    assert_null(w.buf);
    jsonw_release(NULL);
}

/* Random text: ASCII including quotes, backslashes and control characters,
 * and 2-, 3- and 4-byte characters (no NUL, no surrogates). */
static void random_utf8(char *out, size_t room)
{
    size_t n = 0;
    size_t want = (size_t) rand() % 24;
    while (want-- && n + 5 < room) {
        unsigned cp;
        switch (rand() % 4) {
        case 0:  cp = 1 + (unsigned) rand() % 0x7f; break;
        case 1:  cp = 0x80 + (unsigned) rand() % (0x800 - 0x80); break;
        case 2:  cp = 0x800 + (unsigned) rand() % (0x10000 - 0x800); break;
        default: cp = 0x10000 + (unsigned) rand() % (0x110000 - 0x10000);
        }
        if (cp >= 0xd800 && cp <= 0xdfff)
            cp = '"';
        if (cp < 0x80) {
            out[n++] = (char) cp;
        } else if (cp < 0x800) {
            out[n++] = (char) (0xc0 | cp >> 6);
            out[n++] = (char) (0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[n++] = (char) (0xe0 | cp >> 12);
            out[n++] = (char) (0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (char) (0x80 | (cp & 0x3f));
        } else {
            out[n++] = (char) (0xf0 | cp >> 18);
            out[n++] = (char) (0x80 | ((cp >> 12) & 0x3f));
            out[n++] = (char) (0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (char) (0x80 | (cp & 0x3f));
        }
    }
    out[n] = '\0';
}

static double random_double(void)
{
    for (;;) {
        uint64_t bits = 0;
        for (int i = 0; i < 4; i++)
            bits = bits << 16 | (uint64_t) (rand() & 0xffff);
        double d;
        memcpy(&d, &bits, sizeof d);
        if (isfinite(d))
            return d;
    }
}

/* Random byte strings, long enough for the word-at-a-time scan, made of
 * the bytes each rule turns on: written iff valid UTF-8, and read back by
 * jansson as the same bytes. */
static void test_random_bytes_written_iff_valid(void **state)
{
    (void) state;
    static const unsigned char pool[] = {
        'a', 'Z', ' ', '~', '"', '\\', '/', 0x01, 0x1f, 0x7f, 0x80, 0xbf, 0xc2, 0xc3,
        0xdf, 0xe0, 0xe4, 0xb8, 0xad, 0xed, 0x9f, 0xa0, 0xf0, 0x9f, 0x98, 0xf4, 0x8f,
        0x90, 0xf5, 0xff,
    };
    srand(1122);
    char buf[1024];
    jsonw_t w;
    size_t written = 0;
    for (int round = 0; round < 20000; round++) {
        unsigned char text[48];
        size_t len = (size_t) (rand() % 40);
        for (size_t i = 0; i < len; i++)
            text[i] = rand() % 4 ? 'a' + rand() % 26 : pool[rand() % sizeof pool];
        text[len] = '\0';
        jsonw_init(&w, buf, sizeof buf);
        jsonw_str(&w, "v", (const char *) text);
        bool valid = utf8_valid(text, len);
        if ((jsonw_finish(&w) == 0) != valid)
            fail_msg("round %d: written %d, valid %d", round, !valid, valid);
        if (!valid) {
            assert_int_equal(jsonw_error(&w), JSONW_ERR_UTF8);
            continue;
        }
        size_t n;
        json_t *root = load(jsonw_text(&w, &n));
        json_t *v = json_object_get(root, "v");
        assert_int_equal(json_string_length(v), len);
        assert_memory_equal(json_string_value(v), text, len);
        json_decref(root);
        written++;
    }
    assert_true(written > 1000 && written < 19000);   /* both sides were tried */
}

static void test_random_values_decode_like_jansson(void **state)
{
    (void) state;
    srand(20261122);
    jsonw_t w;
    jsonw_init(&w, NULL, 1 << 20);
    for (int round = 0; round < 300; round++) {
        jsonw_reset(&w);
        json_t *want = json_object();
        json_t *inner = NULL;
        for (int i = 0; i < 40; i++) {
            char key[128], value[128];
            random_utf8(value, sizeof value);
            random_utf8(key + 4, sizeof key - 4);
            memcpy(key, "k", 1);
            key[1] = (char) ('A' + i / 26);
            key[2] = (char) ('A' + i % 26);
            key[3] = '-';
            json_t *target = inner ? inner : want;
            switch (rand() % 7) {
            case 0: {
                jsonw_str(&w, key, value);
                json_object_set_new(target, key, json_string(value));
                break;
            }
            case 1: {
                int64_t v = (int64_t) ((uint64_t) rand() << 33 ^ (uint64_t) rand() << 2);
                jsonw_int(&w, key, v);
                json_object_set_new(target, key, json_integer(v));
                break;
            }
            case 2: {
                double v = random_double();
                jsonw_double(&w, key, v);
                json_object_set_new(target, key, json_real(v));
                break;
            }
            case 3:
                jsonw_bool(&w, key, i & 1);
                json_object_set_new(target, key, json_boolean(i & 1));
                break;
            case 4:
                jsonw_null(&w, key);
                json_object_set_new(target, key, json_null());
                break;
            case 5:
                if (!inner) {
                    jsonw_object_begin(&w, key);
                    inner = json_object();
                    json_object_set_new(want, key, inner);
                }
                break;
            default:
                if (inner) {
                    jsonw_object_end(&w);
                    inner = NULL;
                }
            }
        }
        if (inner)
            jsonw_object_end(&w);
        json_t *got = load(finished(&w));
        if (!json_equal(got, want)) {
            char *dump = json_dumps(want, JSON_COMPACT);
            fail_msg("round %d differs:\n jsonw   %s\n jansson %s", round, w.buf, dump);
        }
        json_decref(got);
        json_decref(want);
    }
    jsonw_release(&w);
}

static void test_rating_payload_equals_json_pack(void **state)
{
    (void) state;
    char buf[1024];
    jsonw_t w;
    jsonw_init(&w, buf, sizeof buf);
    jsonw_str(&w, "id", "0193a2b4-1c2d-7e3f-8a4b-5c6d7e8f9a0b");
    jsonw_str(&w, "gateway", "device-gateway.b0001");
    jsonw_int(&w, "window_id", 3);
    jsonw_int(&w, "staff_id", 12);
    jsonw_str(&w, "employee_no", "100101");
    jsonw_str(&w, "serial", "EQ-B0001-W01");
    jsonw_str(&w, "event_time", "2026-11-22T15:45:37.887Z");
    jsonw_int(&w, "option_code", 2);
    jsonw_double(&w, "score", 4.0);
    jsonw_bool(&w, "satisfied", true);
    jsonw_bool(&w, "unsatisfied", false);
    jsonw_null(&w, "ticket");
    jsonw_object_begin(&w, "teller_today");
    jsonw_int(&w, "total", 10);
    jsonw_int(&w, "satisfied", 9);
    jsonw_int(&w, "unsatisfied", 1);
    jsonw_object_end(&w);
    json_t *got = load(finished(&w));
    json_t *want = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:i, s:f, s:b, s:b, s:n,"
                             " s:{s:i, s:i, s:i}}",
                             "id", "0193a2b4-1c2d-7e3f-8a4b-5c6d7e8f9a0b",
                             "gateway", "device-gateway.b0001", "window_id", 3,
                             "staff_id", 12, "employee_no", "100101",
                             "serial", "EQ-B0001-W01",
                             "event_time", "2026-11-22T15:45:37.887Z", "option_code", 2,
                             "score", 4.0, "satisfied", 1, "unsatisfied", 0, "ticket",
                             "teller_today", "total", 10, "satisfied", 9,
                             "unsatisfied", 1);
    assert_non_null(want);
    assert_true(json_equal(got, want));
    /* And json_equal does notice a difference (score as an integer). */
    json_object_set_new(want, "score", json_integer(4));
    assert_false(json_equal(got, want));
    json_decref(got);
    json_decref(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members_and_commas),
        cmocka_unit_test(test_nesting),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_utf8_validation),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_errors_stick),
        cmocka_unit_test(test_fixed_buffer_overflow),
        cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_growable_buffer),
        cmocka_unit_test(test_random_bytes_written_iff_valid),
        cmocka_unit_test(test_random_values_decode_like_jansson),
        cmocka_unit_test(test_rating_payload_equals_json_pack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
