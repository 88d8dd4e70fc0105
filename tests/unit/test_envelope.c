/*  Unit tests: envelope codec, including hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/envelope.h"
#include "eqms/jsonw.h"

#define GOOD_ID "0193a2b4-1c2d-7e3f-8a4b-5c6d7e8f9a0b"

/* A valid envelope with one member replaced by `member` text (or removed
 * when `value` is NULL). */
static char *with_member(const char *name, const char *value)
{
    const char *names[] = { "v", "id", "type", "ts", "src", "seq", "data" };
    const char *values[] = { "1", "\"" GOOD_ID "\"", "\"rating.submitted\"",
                             "\"2026-11-22T13:09:00.123Z\"", "\"device-gateway.b0001\"",
                             "42", "{\"option\":1}" };
    static char buf[1024];
    size_t n = 0;
    buf[n++] = '{';
    for (int i = 0; i < 7; i++) {
        const char *v = strcmp(names[i], name) == 0 ? value : values[i];
        if (!v)
            continue;
        n += (size_t) snprintf(buf + n, sizeof buf - n, "%s\"%s\":%s", n > 1 ? "," : "",
                               names[i], v);
    }
    buf[n++] = '}';
    buf[n] = '\0';
    return buf;
}

static void expect_reject(const char *text, size_t len, const char *reason_part)
{
    char reason[ENVELOPE_REASON_SIZE] = "";
    envelope_t *e = envelope_decode(text, len, reason);
    if (e)
        fail_msg("accepted: %.*s", (int) len, text);
    if (!strstr(reason, reason_part))
        fail_msg("reason '%s' lacks '%s' for %.*s", reason, reason_part, (int) len, text);
}

static void reject(const char *text, const char *reason_part)
{
    expect_reject(text, strlen(text), reason_part);
}

static void test_decode_valid(void **state)
{
    (void) state;
    char reason[ENVELOPE_REASON_SIZE];
    const char *text = with_member("", NULL);
    envelope_t *e = envelope_decode(text, strlen(text), reason);
    assert_non_null(e);
    assert_string_equal(e->id, GOOD_ID);
    assert_string_equal(e->type, "rating.submitted");
    assert_string_equal(e->src, "device-gateway.b0001");
    assert_int_equal(e->seq, 42);
    assert_int_equal(json_integer_value(json_object_get(e->data, "option")), 1);
    envelope_destroy(&e);
    assert_null(e);
    envelope_destroy(&e);
    envelope_destroy(NULL);
}

static void test_round_trip(void **state)
{
    (void) state;
    json_t *data = json_pack("{s:s, s:i}", "label", "非常满意", "code", 1);
    envelope_t *e = envelope_new("rating.submitted", "test", 7, &data);
    assert_null(data);
    assert_non_null(e);
    size_t len;
    char *text = envelope_encode(e, &len);
    assert_non_null(text);
    char reason[ENVELOPE_REASON_SIZE];
    envelope_t *back = envelope_decode(text, len, reason);
    assert_non_null(back);
    assert_string_equal(back->id, e->id);
    assert_int_equal(back->ts_ms, e->ts_ms);
    assert_int_equal(back->seq, 7);
    assert_true(json_equal(back->data, e->data));
    free(text);
    envelope_destroy(&e);
    envelope_destroy(&back);
}

static void test_new_refuses_bad_arguments(void **state)
{
    (void) state;
    json_t *data = json_array();
    assert_null(envelope_new("a.b", "src", 0, &data));
    assert_null(data);   /* taken and freed even on failure */
    data = json_object();
    assert_null(envelope_new("Bad.Type", "src", 0, &data));
    data = json_object();
    assert_null(envelope_new("a.b", "has space", 0, &data));
    data = json_object();
    assert_null(envelope_new("a.b", "src", -1, &data));
    data = NULL;
    assert_null(envelope_new("a.b", "src", 0, &data));
}

static void test_rejects_not_json(void **state)
{
    (void) state;
    reject("", "not valid JSON");
    reject("{", "not valid JSON");
    reject("nonsense", "not valid JSON");
    const char *full = with_member("", NULL);
    expect_reject(full, strlen(full) - 5, "not valid JSON");   /* truncated */
    reject("[1,2]", "not a JSON object");
    reject("\"text\"", "not valid JSON");
    reject("{\"v\":1}{\"v\":1}", "not valid JSON");
}

static void test_rejects_invalid_utf8_and_nul(void **state)
{
    (void) state;
    reject(with_member("src", "\"dev\xff\xfe\""), "not valid JSON");
    reject(with_member("data", "{\"t\":\"\xc3\x28\"}"), "not valid JSON");
    reject(with_member("data", "{\"t\":\"\xed\xa0\x80\"}"), "not valid JSON"); /* surrogate */
    reject(with_member("data", "{\"t\":\"a\\u0000b\"}"), "not valid JSON");
    const char *full = with_member("", NULL);
    char with_nul[1024];
    size_t len = strlen(full);
    memcpy(with_nul, full, len);
    with_nul[10] = '\0';
    expect_reject(with_nul, len, "not valid JSON");
}

static void test_rejects_oversized(void **state)
{
    (void) state;
    size_t len = ENVELOPE_MAX_BYTES + 1;
    char *big = malloc(len);
    memset(big, ' ', len);
    expect_reject(big, len, "limit 65536");
    free(big);
}

static void test_rejects_version(void **state)
{
    (void) state;
    reject(with_member("v", "2"), "unsupported envelope version 2");
    reject(with_member("v", "0"), "unsupported envelope version 0");
    reject(with_member("v", "\"1\""), "'v' is missing or not an integer");
    reject(with_member("v", "1.0"), "'v' is missing or not an integer");
    reject(with_member("v", "true"), "'v' is missing or not an integer");
    reject(with_member("v", NULL), "'v' is missing or not an integer");
}

static void test_rejects_missing_members(void **state)
{
    (void) state;
    const char *names[] = { "id", "type", "ts", "src", "seq", "data" };
    for (int i = 0; i < 6; i++)
        reject(with_member(names[i], NULL), "bad envelope");
}

static void test_rejects_wrong_types(void **state)
{
    (void) state;
    reject(with_member("id", "17"), "bad envelope");
    reject(with_member("type", "[]"), "bad envelope");
    reject(with_member("ts", "1732280940123"), "bad envelope");
    reject(with_member("src", "null"), "bad envelope");
    reject(with_member("seq", "\"42\""), "bad envelope");
    reject(with_member("seq", "4.2"), "bad envelope");
    reject(with_member("seq", "-1"), "'seq' is negative");
    reject(with_member("seq", "99999999999999999999999"), "not valid JSON");
    reject(with_member("data", "[1]"), "'data' is not an object");
    reject(with_member("data", "null"), "'data' is not an object");
    reject(with_member("data", "\"x\""), "'data' is not an object");
}

static void test_rejects_malformed_values(void **state)
{
    (void) state;
    reject(with_member("id", "\"not-a-uuid\""), "'id' is not a lowercase UUID");
    reject(with_member("id", "\"0193A2B4-1C2D-7E3F-8A4B-5C6D7E8F9A0B\""), "'id'");
    /* the protocol's ids are UUIDv7: another version, the variant, nil */
    reject(with_member("id", "\"0193a2b4-1c2d-4e3f-8a4b-5c6d7e8f9a0b\""), "not a UUIDv7");
    reject(with_member("id", "\"0193a2b4-1c2d-1e3f-8a4b-5c6d7e8f9a0b\""), "not a UUIDv7");
    reject(with_member("id", "\"0193a2b4-1c2d-7e3f-ca4b-5c6d7e8f9a0b\""), "not a UUIDv7");
    reject(with_member("id", "\"0193a2b4-1c2d-7e3f-4a4b-5c6d7e8f9a0b\""), "not a UUIDv7");
    reject(with_member("id", "\"" ID_NIL "\""), "not a UUIDv7");
    reject(with_member("type", "\"Rating.Submitted\""), "'type' is malformed");
    reject(with_member("type", "\"rating..submitted\""), "'type' is malformed");
    reject(with_member("type", "\"\""), "'type' is malformed");
    reject(with_member("type", "\"a.b.c.d.e\""), "'type' is malformed");
    reject(with_member("type", "\"1rating\""), "'type' is malformed");
    reject(with_member("ts", "\"2026-11-22T13:09:00Z\""), "'ts' is not an RFC 3339");
    reject(with_member("ts", "\"2026-02-30T13:09:00.000Z\""), "'ts' is not an RFC 3339");
    reject(with_member("src", "\"\""), "'src' is malformed");
    reject(with_member("src", "\"a b\""), "'src' is malformed");
    char longsrc[80];
    memset(longsrc, 'a', sizeof longsrc);
    longsrc[0] = '"';
    longsrc[70] = '"';
    longsrc[71] = '\0';
    reject(with_member("src", longsrc), "'src' is malformed");
}

static void test_rejects_extra_and_duplicate_members(void **state)
{
    (void) state;
    char text[1200];
    const char *full = with_member("", NULL);
    snprintf(text, sizeof text, "%.*s,\"extra\":1}", (int) strlen(full) - 1, full);
    reject(text, "bad envelope");
    snprintf(text, sizeof text, "%.*s,\"seq\":43}", (int) strlen(full) - 1, full);
    reject(text, "not valid JSON");
}

static void test_topic_check(void **state)
{
    (void) state;
    char reason[ENVELOPE_REASON_SIZE];
    const char *ok = "rating.submitted.hq.r01.b0042";
    assert_int_equal(envelope_topic_check(ok, strlen(ok), "rating.submitted", reason), 0);
    const char *bad[] = { "rating.submitted", "rating.submitted.", "rating.stored.hq",
                          "rating.submittedx.hq", "rating.submitted.HQ",
                          "rating.submitted.hq..b1", "rating.submitted.hq.b-1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(envelope_topic_check(bad[i], strlen(bad[i]), "rating.submitted",
                                              reason), -1);
    char longtopic[300];
    memset(longtopic, 'a', sizeof longtopic);
    memcpy(longtopic, "x.", 2);
    assert_int_equal(envelope_topic_check(longtopic, sizeof longtopic, "x", reason), -1);
    assert_non_null(strstr(reason, "limit 255"));
    assert_true(envelope_org_path_valid("hq", 2));
    assert_false(envelope_org_path_valid("", 0));
    assert_false(envelope_org_path_valid(".hq", 3));
}

/* Writes the same members into a jsonw writer and a jansson object. */
static void put_str(jsonw_t *w, json_t *j, const char *key, const char *value)
{
    jsonw_str(w, key, value);
    json_object_set_new(j, key, json_string(value));
}

static void put_int(jsonw_t *w, json_t *j, const char *key, int64_t value)
{
    jsonw_int(w, key, value);
    json_object_set_new(j, key, json_integer(value));
}

static void put_real(jsonw_t *w, json_t *j, const char *key, double value)
{
    jsonw_double(w, key, value);
    json_object_set_new(j, key, json_real(value));
}

/* Encodes `w` as an envelope, decodes it strictly and checks every member. */
static void expect_jsonw_round_trip(const jsonw_t *w, const json_t *want, int64_t seq)
{
    size_t len;
    char id[ID_SIZE] = "";
    int64_t before = clock_now_ms();
    char *text = envelope_encode_jsonw("rating.stored", "rating-ingest.hq", seq, w, &len,
                                       id);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    char reason[ENVELOPE_REASON_SIZE] = "";
    envelope_t *back = envelope_decode(text, len, reason);
    if (!back)
        fail_msg("envelope_decode refused (%s): %s", reason, text);
    assert_string_equal(back->id, id);
    assert_string_equal(back->type, "rating.stored");
    assert_string_equal(back->src, "rating-ingest.hq");
    assert_int_equal(back->seq, seq);
    assert_true(back->ts_ms >= before && back->ts_ms <= clock_now_ms());
    if (!json_equal(back->data, want)) {
        char *dump = json_dumps(want, JSON_COMPACT);
        fail_msg("data differs:\n jsonw   %s\n jansson %s", text, dump);
    }
    envelope_destroy(&back);
    free(text);
}

static void test_encode_jsonw_round_trip(void **state)
{
    (void) state;
    static const char *strings[] = {
        "", "plain", "非常满意", "\xf0\x9f\x98\x80 emoji", "quote \" and \\ back",
        "ctl \x01\x02\x1f\x7f", "lines\r\n\ttab\b\f", "/slash/", "\xc2\x80\xef\xbf\xbf",
        "\xf4\x8f\xbf\xbf", "{\"not\":\"json\"}",
    };
    static const double reals[] = { 0.1, 1e300, -0.0, 4.0, -1e-300, 2.5e-310,
                                    1.7976931348623157e308, 123456.789, 1.0 / 3.0 };
    static const int64_t ints[] = { 0, -1, 1, INT64_MIN, INT64_MAX, 1732280940123 };
    jsonw_t w;
    jsonw_init(&w, NULL, 0);
    int64_t seq = 0;
    size_t ns = sizeof strings / sizeof strings[0];
    for (size_t i = 0; i < ns; i++) {
        jsonw_reset(&w);
        json_t *want = json_object();
        put_str(&w, want, strings[i], strings[(i + 1) % ns]);
        put_str(&w, want, "k", strings[i]);
        put_int(&w, want, "i", ints[i % (sizeof ints / sizeof ints[0])]);
        put_real(&w, want, "d", reals[i % (sizeof reals / sizeof reals[0])]);
        jsonw_bool(&w, "b", i & 1);
        json_object_set_new(want, "b", json_boolean(i & 1));
        jsonw_null(&w, "n");
        json_object_set_new(want, "n", json_null());
        jsonw_object_begin(&w, "nested");
        json_t *nested = json_object();
        json_object_set_new(want, "nested", nested);
        put_str(&w, nested, strings[(i + 2) % ns], strings[i]);
        jsonw_object_begin(&w, "deeper");
        json_object_set_new(nested, "deeper", json_object());
        jsonw_object_end(&w);
        jsonw_object_end(&w);
        assert_int_equal(jsonw_finish(&w), 0);
        expect_jsonw_round_trip(&w, want, seq++);
        json_decref(want);
    }
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        jsonw_reset(&w);
        json_t *want = json_object();
        put_real(&w, want, "d", reals[i]);
        put_int(&w, want, "i", ints[i % (sizeof ints / sizeof ints[0])]);
        assert_int_equal(jsonw_finish(&w), 0);
        expect_jsonw_round_trip(&w, want, INT64_MAX - (int64_t) i);
        json_decref(want);
    }
    jsonw_reset(&w);   /* empty data */
    assert_int_equal(jsonw_finish(&w), 0);
    json_t *empty = json_object();
    expect_jsonw_round_trip(&w, empty, 0);
    json_decref(empty);
    jsonw_release(&w);
}

static void test_encode_jsonw_refuses(void **state)
{
    (void) state;
    char buf[256];
    jsonw_t w;
    jsonw_init(&w, buf, sizeof buf);
    jsonw_int(&w, "n", 1);
    size_t len = 0;
    char id[ID_SIZE] = "untouched";
    /* Not finished yet. */
    assert_null(envelope_encode_jsonw("a.b", "src", 0, &w, &len, id));
    assert_int_equal(jsonw_finish(&w), 0);
    char *ok = envelope_encode_jsonw("a.b", "src", 0, &w, &len, NULL);
    assert_non_null(ok);
    free(ok);
    assert_null(envelope_encode_jsonw("Bad.Type", "src", 0, &w, &len, id));
    assert_null(envelope_encode_jsonw("a..b", "src", 0, &w, &len, id));
    assert_null(envelope_encode_jsonw(NULL, "src", 0, &w, &len, id));
    assert_null(envelope_encode_jsonw("a.b", "has space", 0, &w, &len, id));
    assert_null(envelope_encode_jsonw("a.b", "", 0, &w, &len, id));
    assert_null(envelope_encode_jsonw("a.b", NULL, 0, &w, &len, id));
    assert_null(envelope_encode_jsonw("a.b", "src", -1, &w, &len, id));
    assert_null(envelope_encode_jsonw("a.b", "src", 0, NULL, &len, id));
    /* A writer in error. */
    jsonw_reset(&w);
    jsonw_str(&w, "bad", "\xff");
    jsonw_finish(&w);
    assert_null(envelope_encode_jsonw("a.b", "src", 0, &w, &len, id));
    assert_string_equal(id, "untouched");
}

static void test_encode_jsonw_size_limit(void **state)
{
    (void) state;
    /* Find the padding that makes the envelope exactly ENVELOPE_MAX_BYTES:
     * ids, timestamps and the seq have a fixed length. */
    char *pad = malloc(ENVELOPE_MAX_BYTES + 1);
    memset(pad, 'p', ENVELOPE_MAX_BYTES);
    jsonw_t w;
    jsonw_init(&w, NULL, 2 * ENVELOPE_MAX_BYTES);
    pad[0] = '\0';
    jsonw_str(&w, "pad", pad);
    assert_int_equal(jsonw_finish(&w), 0);
    size_t len;
    char *text = envelope_encode_jsonw("a.b", "src", 1, &w, &len, NULL);
    assert_non_null(text);
    free(text);
    size_t fill = ENVELOPE_MAX_BYTES - len;
    for (int extra = 0; extra <= 1; extra++) {
        memset(pad, 'p', ENVELOPE_MAX_BYTES);
        pad[fill + (size_t) extra] = '\0';
        jsonw_reset(&w);
        jsonw_str(&w, "pad", pad);
        assert_int_equal(jsonw_finish(&w), 0);
        text = envelope_encode_jsonw("a.b", "src", 1, &w, &len, NULL);
        if (extra) {
            assert_null(text);
            continue;
        }
        assert_non_null(text);
        assert_int_equal(len, ENVELOPE_MAX_BYTES);
        char reason[ENVELOPE_REASON_SIZE];
        envelope_t *back = envelope_decode(text, len, reason);
        assert_non_null(back);
        assert_int_equal(strlen(json_string_value(json_object_get(back->data, "pad"))),
                         fill);
        envelope_destroy(&back);
        free(text);
    }
    jsonw_release(&w);
    free(pad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_valid),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_new_refuses_bad_arguments),
        cmocka_unit_test(test_rejects_not_json),
        cmocka_unit_test(test_rejects_invalid_utf8_and_nul),
        cmocka_unit_test(test_rejects_oversized),
        cmocka_unit_test(test_rejects_version),
        cmocka_unit_test(test_rejects_missing_members),
        cmocka_unit_test(test_rejects_wrong_types),
        cmocka_unit_test(test_rejects_malformed_values),
        cmocka_unit_test(test_rejects_extra_and_duplicate_members),
        cmocka_unit_test(test_topic_check),
        cmocka_unit_test(test_encode_jsonw_round_trip),
        cmocka_unit_test(test_encode_jsonw_refuses),
        cmocka_unit_test(test_encode_jsonw_size_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
