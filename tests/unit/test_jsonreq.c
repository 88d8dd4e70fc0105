/*  Unit tests: jsonreq, strict decoding of request bodies, with hostile
 *  input: every refusal names the member and the rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/jsonreq.h"
#include "eqms/utf8.h"

static const char *const s_kinds[] = { "branch", "region", "head_office", NULL };
static const char *const s_perms[] = { "export", "backup", NULL };

static const jsonreq_member_t s_window_members[] = {
    { "id", JSONREQ_INTEGER, JSONREQ_REQUIRED, .min = 1, .max = INT64_MAX },
    { "label", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_LINE, .min = 1, .max = 8 },
};
static const jsonreq_object_t s_window = JSONREQ_OBJECT_OF(s_window_members);
static const jsonreq_member_t s_scope = { "", JSONREQ_STRING, 0, .one_of = s_perms };

static const jsonreq_member_t s_members[] = {
    { "name", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
    { "kind", JSONREQ_STRING, JSONREQ_REQUIRED, .one_of = s_kinds },
    { "limit", JSONREQ_INTEGER, JSONREQ_OPTIONAL, .min = 1, .max = 500 },
    { .name = "enabled", .type = JSONREQ_BOOLEAN },
    { "share", JSONREQ_NUMBER, JSONREQ_OPTIONAL, .min = 0, .max = 100 },
    { "note", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_NULLABLE, .min = 0, .max = 200 },
    { "scopes", JSONREQ_ARRAY, JSONREQ_OPTIONAL, .min = 1, .max = 3, .items = &s_scope },
    { "window", JSONREQ_OBJECT, JSONREQ_OPTIONAL, .object = &s_window },
    { .name = "extra", .type = JSONREQ_OBJECT },
    { "offset", JSONREQ_INTEGER, JSONREQ_OPTIONAL, .min = 0, .max = INT64_MAX },
    { .name = "any", .type = JSONREQ_INTEGER },
};
static const jsonreq_object_t s_spec = JSONREQ_OBJECT_OF(s_members);

static json_t *decode(const char *text, jsonreq_errors_t *errors)
{
    return jsonreq_decode(text, strlen(text), &s_spec, errors);
}

typedef json_t *(s_decode_fn)(const void *text, size_t len, const jsonreq_object_t *spec,
                              jsonreq_errors_t *errors);

/* Refused by `fn` with `spec`, and the one-line text of the errors is
 * exactly `expected`. */
static void refused_by(s_decode_fn *fn, const jsonreq_object_t *spec, const char *text,
                       const char *expected)
{
    jsonreq_errors_t errors;
    json_t *body = fn(text, strlen(text), spec, &errors);
    if (body)
        fail_msg("accepted: %s", text);
    char line[1024];
    jsonreq_errors_text(&errors, line, sizeof line);
    if (strcmp(line, expected) != 0)
        fail_msg("for %s\n  got      %s\n  expected %s", text, line, expected);
}

static void refused(const char *text, const char *expected)
{
    refused_by(jsonreq_decode, &s_spec, text, expected);
}

/* Refused with one body-wide error containing `part`. */
static void refused_whole(const char *text, size_t len, const char *part)
{
    jsonreq_errors_t errors;
    json_t *body = jsonreq_decode(text, len, &s_spec, &errors);
    if (body)
        fail_msg("accepted: %.*s", (int) len, text);
    assert_int_equal(errors.count, 1);
    assert_string_equal(errors.errors[0].member, "");
    if (!strstr(errors.errors[0].reason, part))
        fail_msg("reason '%s' lacks '%s'", errors.errors[0].reason, part);
}

static void test_valid_body(void **state)
{
    (void) state;
    jsonreq_errors_t errors;
    json_t *body = decode("{\"name\":\"营业部 一\",\"kind\":\"branch\",\"limit\":500,"
                          "\"enabled\":false,\"share\":99.5,\"note\":null,"
                          "\"scopes\":[\"export\",\"backup\"],\"window\":{\"id\":7},"
                          "\"extra\":{\"free\":[1,{}]},\"offset\":0,\"any\":-9}",
                          &errors);
    assert_non_null(body);
    assert_int_equal(errors.count, 0);
    assert_string_equal(json_string_value(json_object_get(body, "name")), "营业部 一");
    assert_int_equal(json_integer_value(json_object_get(body, "limit")), 500);
    json_decref(body);
    /* only the required ones; share may be an integer, name exactly 64 characters */
    char text[512];
    char name[64 * 3 + 1] = "";
    for (int i = 0; i < 64; i++)
        strcat(name, "满");
    snprintf(text, sizeof text, "{\"kind\":\"region\",\"name\":\"%s\",\"share\":0}", name);
    body = decode(text, &errors);
    assert_non_null(body);
    json_decref(body);
}

static void test_not_json(void **state)
{
    (void) state;
    refused_whole("", 0, "not valid JSON");
    refused_whole("{", 1, "not valid JSON");
    refused_whole("{\"name\":\"a\"} x", 15, "not valid JSON");
    refused_whole("{\"name\":\"a\xff\"}", 13, "not valid JSON");            /* invalid UTF-8 */
    refused_whole("{\"name\":\"\xed\xa0\x80\"}", 15, "not valid JSON");     /* a surrogate */
    refused_whole("{\"name\":\"\xc0\xaf\"}", 14, "not valid JSON");         /* overlong */
    refused_whole("{\"name\":\"a\\u0000b\"}", 19, "not valid JSON");
    refused_whole("{\"name\":\"a\0b\"}", 14, "not valid JSON");             /* a NUL byte */
    refused_whole("{\"any\":9223372036854775808}", 27, "not valid JSON");   /* beyond int64 */
    refused_whole("{\"kind\":\"branch\",\"kind\":\"region\"}", 33, "duplicate");
    refused_whole("{\"window\":{\"id\":1,\"id\":2}}", 26, "duplicate");
    refused_whole("[]", 2, "the body is not a JSON object");
    refused_whole("\"name\"", 6, "not valid JSON");
    refused_whole("42", 2, "not valid JSON");
    refused_whole("null", 4, "not valid JSON");
    char reason[160];
    assert_null(jsonreq_load_object("{}", 2, 1, "request", reason, sizeof reason));
    assert_string_equal(reason, "request is 2 bytes, limit 1");
    json_t *o = jsonreq_load_object("{}", 2, 2, "request", reason, sizeof reason);
    assert_non_null(o);
    json_decref(o);
}

static void test_wrong_types(void **state)
{
    (void) state;
    refused("{\"name\":7,\"kind\":\"branch\"}",
            "\"name\": must be a string of 1..64 characters");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"limit\":1.0}",
            "\"limit\": must be an integer in 1..500");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"limit\":1e2}",
            "\"limit\": must be an integer in 1..500");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"limit\":\"5\"}",
            "\"limit\": must be an integer in 1..500");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"enabled\":1}",
            "\"enabled\": must be true or false");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"share\":\"1\"}",
            "\"share\": must be a number in 0..100");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"scopes\":{}}",
            "\"scopes\": must be an array of 1..3 elements");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"window\":[]}",
            "\"window\": must be an object");
    /* null only where allowed */
    refused("{\"name\":null,\"kind\":\"branch\"}",
            "\"name\": must be a string of 1..64 characters");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"note\":7}",
            "\"note\": must be null or a string of at most 200 characters");
}

static void test_ranges_and_lists(void **state)
{
    (void) state;
    refused("{\"name\":\"\",\"kind\":\"branch\"}",
            "\"name\": must be a string of 1..64 characters");
    char text[512], name[66] = "";
    memset(name, 'x', 65);
    snprintf(text, sizeof text, "{\"name\":\"%s\",\"kind\":\"branch\"}", name);
    refused(text, "\"name\": must be a string of 1..64 characters");
    refused("{\"name\":\"a\",\"kind\":\"Branch\"}",
            "\"kind\": must be one of \"branch\", \"region\", \"head_office\"");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"limit\":0}",
            "\"limit\": must be an integer in 1..500");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"limit\":501}",
            "\"limit\": must be an integer in 1..500");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"offset\":-1}",
            "\"offset\": must be an integer >= 0");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"share\":100.01}",
            "\"share\": must be a number in 0..100");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"scopes\":[]}",
            "\"scopes\": must be an array of 1..3 elements");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"scopes\":[\"export\",\"export\",\"export\","
            "\"export\"]}",
            "\"scopes\": must be an array of 1..3 elements");
    /* the edges of int64 pass where the range is open */
    jsonreq_errors_t errors;
    json_t *body = decode("{\"name\":\"a\",\"kind\":\"branch\",\"any\":-9223372036854775808,"
                          "\"offset\":9223372036854775807}", &errors);
    assert_non_null(body);
    json_decref(body);
}

static void test_unknown_and_missing(void **state)
{
    (void) state;
    refused("{}", "\"name\": is required: a string of 1..64 characters; "
                  "\"kind\": is required: one of \"branch\", \"region\", \"head_office\"");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"admin\":true}",
            "\"admin\": unknown member (known: name, kind, limit, enabled, share, note, "
            "scopes, window, extra, offset, any)");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"window\":{\"id\":1,\"x\":1}}",
            "\"window.x\": unknown member (known: id, label)");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"window\":{}}",
            "\"window.id\": is required: an integer >= 1");
    /* an unknown member's name is kept as valid UTF-8 however it is cut */
    char text[600] = "{\"name\":\"a\",\"kind\":\"branch\",\"";
    for (int i = 0; i < 60; i++)
        strcat(text, "满");
    strcat(text, "\":1}");
    jsonreq_errors_t errors;
    assert_null(decode(text, &errors));
    assert_int_equal(errors.count, 1);
    const char *member = errors.errors[0].member;
    assert_true(strlen(member) > 80);
    assert_true(utf8_valid(member, strlen(member)));
}

static void test_nested_and_items(void **state)
{
    (void) state;
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"scopes\":[\"export\",\"root\"]}",
            "\"scopes[1]\": must be one of \"export\", \"backup\"");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"window\":{\"id\":0,\"label\":\"123456789\"}}",
            "\"window.id\": must be an integer >= 1; "
            "\"window.label\": must be a string of 1..8 characters");
    refused("{\"name\":\"a\",\"kind\":\"branch\",\"window\":{\"id\":1,\"label\":\"a\\tb\"}}",
            "\"window.label\": must not contain control characters (tabs and line breaks "
            "included)");
}

static void test_control_characters(void **state)
{
    (void) state;
    const char *bad[] = { "a\\nb", "a\\rb", "\\u001f", "\\u007f", "a\\u0085b", "\\u009f" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128];
        snprintf(text, sizeof text, "{\"name\":\"%s\",\"kind\":\"branch\"}", bad[i]);
        refused(text, "\"name\": must not contain control characters (tabs and line breaks "
                      "included)");
    }
    /* U+00A0 and beyond are text; without JSONREQ_LINE a line break is fine */
    jsonreq_errors_t errors;
    json_t *body = decode("{\"name\":\"a\\u00a0b\",\"kind\":\"branch\",\"note\":\"1\\n2\"}",
                          &errors);
    assert_non_null(body);
    json_decref(body);
}

static void test_many_errors(void **state)
{
    (void) state;
    jsonreq_errors_t errors;
    assert_null(decode("{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,"
                       "\"i\":9,\"j\":10}", &errors));
    assert_int_equal(errors.count, 12);    /* 10 unknown, 2 missing */
    assert_string_equal(errors.errors[0].member, "a");
    assert_string_equal(errors.errors[7].member, "h");
    char line[4096];
    jsonreq_errors_text(&errors, line, sizeof line);
    assert_non_null(strstr(line, "\"h\": unknown member"));
    assert_null(strstr(line, "\"i\""));
    assert_non_null(strstr(line, " (and 4 more)"));
    /* a short buffer: cut, still valid UTF-8 and terminated */
    char small[20];
    jsonreq_errors_text(&errors, small, sizeof small);
    assert_true(strlen(small) == sizeof small - 1);
}

static void test_errors_added_later(void **state)
{
    (void) state;
    jsonreq_errors_t errors = { 0 };
    jsonreq_errors_add(&errors, "login", "is taken by another user");
    jsonreq_errors_add(&errors, NULL, "the node %d is not yours", 7);
    char line[256];
    assert_string_equal(jsonreq_errors_text(&errors, line, sizeof line),
                        "\"login\": is taken by another user; the node 7 is not yours");
    for (int i = 0; i < 20; i++)
        jsonreq_errors_add(&errors, "x", "again");
    assert_int_equal(errors.count, 22);
}

/* One spec for the object made and for its change. */
static const jsonreq_member_t s_made_members[] = {
    { "code", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_FIXED, .min = 1, .max = 8 },
    { "name", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
    { "window", JSONREQ_OBJECT, JSONREQ_OPTIONAL, .object = &s_window },
    { .name = "enabled", .type = JSONREQ_BOOLEAN },
};
static const jsonreq_object_t s_made = JSONREQ_OBJECT_OF(s_made_members);

static void change_refused(const char *text, const char *expected)
{
    refused_by(jsonreq_decode_update, &s_made, text, expected);
}

static void test_a_change_by_the_same_spec(void **state)
{
    (void) state;
    jsonreq_errors_t errors;
    /* a change names what changes: required members may be absent */
    const char *text = "{\"enabled\":false}";
    json_t *body = jsonreq_decode_update(text, strlen(text), &s_made, &errors);
    assert_non_null(body);
    assert_int_equal(json_object_size(body), 1);
    json_decref(body);
    /* but making the object needs them */
    assert_null(jsonreq_decode(text, strlen(text), &s_made, &errors));
    assert_int_equal(errors.count, 2);
    /* what it names is checked as ever, nested objects whole */
    change_refused("{\"name\":\"\"}", "\"name\": must be a string of 1..64 characters");
    change_refused("{\"window\":{}}", "\"window.id\": is required: an integer >= 1");
    change_refused("{\"colour\":1}",
                   "\"colour\": unknown member (known: code, name, window, enabled)");
    /* a fixed member cannot change, and nothing to change is refused */
    change_refused("{\"code\":\"a\",\"name\":\"b\"}",
                   "\"code\": cannot be changed by this request");
    change_refused("{}", "name at least one of name, window, enabled");
}

static void test_rules_in_words(void **state)
{
    (void) state;
    static const struct {
        jsonreq_member_t m;
        const char *words;
    } cases[] = {
        { { .type = JSONREQ_STRING }, "a string" },
        { { "s", JSONREQ_STRING, 0, .min = 4, .max = 4 }, "a string of 4 characters" },
        { { "s", JSONREQ_STRING, 0, .min = 2, .max = INT64_MAX },
          "a string of at least 2 characters" },
        { { "s", JSONREQ_STRING, JSONREQ_NULLABLE, .one_of = s_perms },
          "null or one of \"export\", \"backup\"" },
        { { .type = JSONREQ_INTEGER }, "an integer" },
        { { "i", JSONREQ_INTEGER, 0, .min = INT64_MIN, .max = -1 }, "an integer <= -1" },
        { { "i", JSONREQ_INTEGER, 0, .min = -5, .max = 5 }, "an integer in -5..5" },
        { { .type = JSONREQ_BOOLEAN, .flags = JSONREQ_NULLABLE }, "null or true or false" },
        { { "a", JSONREQ_ARRAY, 0, .min = 0, .max = 10 }, "an array of at most 10 elements" },
        { { .type = JSONREQ_OBJECT }, "an object" },
    };
    char words[160];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(jsonreq_rule(&cases[i].m, words, sizeof words), cases[i].words);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_body),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_ranges_and_lists),
        cmocka_unit_test(test_unknown_and_missing),
        cmocka_unit_test(test_nested_and_items),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_many_errors),
        cmocka_unit_test(test_errors_added_later),
        cmocka_unit_test(test_a_change_by_the_same_spec),
        cmocka_unit_test(test_rules_in_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
