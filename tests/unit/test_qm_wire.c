/*  Unit tests: qm_wire, the one-pass request reader, against jansson.
 *
 *  Differential: every text is read both ways, with json_loadb
 *  (JSON_REJECT_DUPLICATES, as qm_request_decode's strict path) as the
 *  reference. The fast path must read every plain request of the protocol,
 *  must decline whatever jansson rejects or would read differently, and
 *  whenever it reads, must give the same members in the same order with the
 *  same types and values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/queue-manager/qm_wire.h"

/* Requests as the clients send them (docs/protocol.md), and odd but valid
 * JSON the fast path reads too. */
static const char *s_plain[] = {
    "{\"v\":1,\"id\":\"w1-1\",\"op\":\"ticket.issue\",\"branch\":\"hq.r01.b0001\","
    "\"actor\":\"kiosk:1\",\"service_code\":\"cash\"}",
    "{\"v\":1,\"id\":\"r2\",\"op\":\"ticket.issue\",\"branch\":\"hq.r01.b0001\",\"actor\":\"web:3\","
    "\"service\":4,\"class\":\"vip\",\"appointment\":\"2026-11-28T09:30:00.000Z\","
    "\"phone\":\"+8613800138000\"}",
    "{\"v\":1,\"id\":\"w3-9\",\"op\":\"window.call_next\",\"branch\":\"hq.r01.b0001\","
    "\"actor\":\"bench:w3\",\"window\":3}",
    "{\"v\":1,\"id\":\"p\",\"op\":\"window.pause\",\"branch\":\"hq\",\"actor\":\"teller:1001\","
    "\"window\":12,\"reason\":\"午休 lunch\"}",
    "{\"v\":1,\"id\":\"t\",\"op\":\"window.transfer\",\"branch\":\"hq.r01\",\"actor\":\"a\","
    "\"window\":1,\"to\":\"window\",\"target\":9223372036854775807}",
    "{\"v\":1,\"id\":\"s\",\"op\":\"window.set_profile\",\"branch\":\"hq\",\"actor\":\"a\","
    "\"window\":1,\"profile\":\"weighted;vip=2;ordinary=1;services=3,1,2\"}",
    " {\n\t\"v\" : 1 , \"id\":\"\", \"x\": null, \"y\": true, \"z\": false, \"r\": 1.5,"
    " \"e\": -2e3, \"n\": -9223372036854775807, \"zero\": -0, \"\": \"\"} \n",
    "{\"v\":\"1\",\"op\":7}",
    "{\"a\":1}",
};

/* Text the fast path must decline (jansson rejects it, or reads it with
 * an escape, a nesting or a duplicate the fast path leaves to jansson). */
static const char *s_declined[] = {
    "", " ", "{", "}", "[]", "[{\"v\":1}]", "\"x\"", "1", "null", "{}x", "{} {}",
    "{\"v\":1,}", "{\"v\":01}", "{\"v\":1.}", "{\"v\":+1}", "{\"v\":NaN}",
    "{\"v\":9223372036854775808}", "{\"v\":-9223372036854775809}", "{\"v\":1e400}",
    "{\"v\":-9223372036854775808}",   /* yajl refuses INT64_MIN, jansson reads it */
    "{\"v\":1,\"v\":2}", "{\"a\":{\"b\":1}}", "{\"a\":[1]}", "{\"a\":\"x\\ny\"}",
    "{\"a\\u0062\":1}", "{\"a\":\"\\u0000\"}", "{\"a\":\"\xff\"}", "{\"a\":\"\xed\xa0\x80\"}",
    "{\"a\":\"tab\there\"}", "{'a':1}", "{a:1}", "{\"a\":1 /* c */}", "{\"a\":tru}",
    "{\"a\":\"\xc0\xaf\"}", "\xef\xbb\xbf{\"a\":1}",
    /* the start of a token after the object, which yajl lets pass */
    "{\"a\":1} \"", "{\"a\":1}\"x}", "{\"a\":1} 1", "{\"a\":1} t",
};

/* Reads `text` both ways. Returns 1 if the fast path read it (and agreed
 * with jansson), 0 if it declined. */
static int s_check(const char *text, size_t len)
{
    static qm_wire_t wire;
    int fast = qm_wire_read(&wire, text, len);
    if (!fast)
        return 0;
    json_error_t error;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
    if (!root)
        fail_msg("fast path read what jansson rejects (%s): %.*s", error.text, (int) len, text);
    if (!json_is_object(root) || json_object_size(root) != wire.count)
        fail_msg("member count differs: %.*s", (int) len, text);
    const char *key;
    json_t *value;
    size_t i = 0;
    json_object_foreach(root, key, value) {
        const qm_wire_member_t *m = &wire.members[i++];
        if (strcmp(m->key, key) != 0)
            fail_msg("key %zu: '%s' vs '%s' in %.*s", i, m->key, key, (int) len, text);
        if (json_is_integer(value)) {
            assert_int_equal(m->type, QM_WIRE_INT);
            assert_int_equal(m->num, json_integer_value(value));
        } else if (json_is_string(value)) {
            assert_int_equal(m->type, QM_WIRE_STR);
            assert_int_equal(m->len, json_string_length(value));
            assert_memory_equal(m->str, json_string_value(value), m->len);
            assert_int_equal(m->str[m->len], '\0');
        } else {
            assert_int_equal(m->type, QM_WIRE_OTHER);
        }
    }
    json_decref(root);
    return 1;
}

static void test_reads_plain_requests(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof s_plain / sizeof s_plain[0]; i++)
        if (s_check(s_plain[i], strlen(s_plain[i])) != 1)
            fail_msg("declined plain request #%zu: %s", i, s_plain[i]);
}

static void test_declines_odd_input(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof s_declined / sizeof s_declined[0]; i++)
        if (s_check(s_declined[i], strlen(s_declined[i])) != 0)
            fail_msg("read odd input #%zu: %s", i, s_declined[i]);
    /* More members than it holds, all distinct. */
    char many[1024] = "{";
    for (int i = 0; i <= QM_WIRE_MEMBERS_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"k%d\":%d",
                 i ? "," : "", i, i);
    strcat(many, "}");
    assert_int_equal(s_check(many, strlen(many)), 0);
    char *last = strrchr(many, ',');   /* drop the last member */
    last[0] = '}';
    last[1] = '\0';
    assert_int_equal(s_check(many, strlen(many)), 1);   /* exactly the limit */
}

/* Every request with one byte deleted, one byte replaced by a byte that
 * matters to JSON, or a byte inserted: the fast path never reads a text
 * differently from jansson. */
static void test_mutants_agree(void **state)
{
    (void) state;
    static const char pool[] = "{}[]\",:\\ 0-1.eEtnu\x01\x7f\xc3\xa9\xe4\xb8\xad\xff";
    size_t read = 0, tried = 0;
    for (size_t p = 0; p < sizeof s_plain / sizeof s_plain[0]; p++) {
        const char *base = s_plain[p];
        size_t len = strlen(base);
        char *mutant = malloc(len + 2);
        assert_non_null(mutant);
        for (size_t i = 0; i < len; i++) {
            memcpy(mutant, base, i);
            memcpy(mutant + i, base + i + 1, len - i - 1);
            read += (size_t) s_check(mutant, len - 1);
            tried++;
            for (size_t k = 0; k + 1 < sizeof pool; k++) {
                memcpy(mutant, base, len);
                mutant[i] = pool[k];
                read += (size_t) s_check(mutant, len);
                memcpy(mutant, base, i);
                mutant[i] = pool[k];
                memcpy(mutant + i + 1, base + i, len - i);
                read += (size_t) s_check(mutant, len + 1);
                tried += 2;
            }
        }
        free(mutant);
    }
    /* Both outcomes were tried many times. */
    assert_true(read > 1000 && read < tried - 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_plain_requests),
        cmocka_unit_test(test_declines_odd_input),
        cmocka_unit_test(test_mutants_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
