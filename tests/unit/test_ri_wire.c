/*  Unit tests: ri_wire, the one-pass decoder, against the strict decoders.
 *
 *  Differential: every envelope is decoded both ways, with envelope_decode
 *  and ri_event_decode as the reference. The fast path must accept every
 *  well-formed gateway event of the protocol, must decline whatever the
 *  strict path rejects, and whenever it accepts, must produce the same
 *  header and the same ri_event_t byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"
#include "../../services/rating-ingest/ri_wire.h"

#define S_HEAD(type) \
    "{\"v\":1,\"id\":\"01a2038e-a3b4-740f-a053-e884efc69913\",\"type\":\"" type "\"," \
    "\"ts\":\"2026-11-22T14:00:09.396Z\",\"src\":\"device-gateway.b0001\",\"seq\":8,\"data\":{"
#define S_INC "\"incarnation\":\"01a2038e-0000-7000-8000-000000000001\","
#define S_COMMON \
    S_INC "\"serial\":\"EQ-B0001-W01\",\"boot\":2656808298,\"device_seq\":4,\"uptime_ms\":22640," \
    "\"received\":\"2026-11-22T14:00:09.396Z\",\"event_time\":\"2026-11-22T14:00:10.001Z\"," \
    "\"window\":{\"id\":1,\"number\":1,\"code\":\"w01\"},\"branch\":\"hq.r01.b0001\"," \
    "\"employee_no\":\"1001\",\"ticket\":\"A012\""
#define S_COMMON_NULLS \
    "\"incarnation\":\"00000000-0000-0000-0000-000000000000\"," \
    "\"serial\":\"EQ-B0001-W01\",\"boot\":7,\"device_seq\":0,\"uptime_ms\":0," \
    "\"received\":\"2026-11-22T14:00:09.396Z\",\"event_time\":\"2026-11-22T14:00:09.396Z\"," \
    "\"window\":null,\"branch\":\"hq.r01.b0001\",\"employee_no\":null,\"ticket\":null"
#define S_GATEWAY(type, extra) S_HEAD(type) S_COMMON extra "}}"

/* What tests/bench/tool_gwpub.c publishes: the benchmark's envelope. */
static const char s_bench[] =
    "{\"v\":1,\"id\":\"0193d0a1-6f3a-7000-8123-000000000042\",\"type\":\"rating.submitted\","
    "\"ts\":\"2026-11-22T14:00:09.396Z\",\"src\":\"device-gateway.b0001\",\"seq\":42,"
    "\"data\":{\"serial\":\"EQ-B0001-W03\",\"boot\":7,\"device_seq\":42,\"uptime_ms\":42,"
    "\"received\":\"2026-11-22T14:00:09.396Z\",\"event_time\":\"2026-11-22T14:00:09.396Z\","
    "\"window\":{\"id\":3,\"number\":3,\"code\":\"w03\"},\"branch\":\"hq.r01.b0001\","
    "\"employee_no\":null,\"ticket\":null,\"option_code\":3,\"service_ms\":1000,"
    "\"label\":\"x\",\"score\":1.0,"
    "\"incarnation\":\"00000000-0000-0000-0000-000000000000\"}}";

static int setup(void **state)
{
    (void) state;
    log_init("test", LOG_LEVEL_ERROR);
    return 0;
}

/* Decodes text both ways and fails the test if the fast path accepts what
 * the strict path rejects, or decodes it differently. Returns the fast
 * path's result. The outputs start as different garbage: equal results
 * show that both decoders write every byte. */
static int s_check(const char *text, size_t len)
{
    envelope_t header;
    ri_event_t fast_event, slow_event;
    memset(&header, 0xa5, sizeof header);
    memset(&fast_event, 0xa5, sizeof fast_event);
    memset(&slow_event, 0x5a, sizeof slow_event);
    int fast = ri_wire_decode(text, len, &header, &fast_event);
    char reason[ENVELOPE_REASON_SIZE] = "";
    envelope_t *env = envelope_decode(text, len, reason);
    int slow = env ? ri_event_decode(env, &slow_event, reason) : -1;
    if (fast == 0) {
        if (slow != 0)
            fail_msg("fast path accepts what the strict path rejects (%s): %.*s", reason,
                     (int) len, text);
        assert_memory_equal(header.id, env->id, sizeof header.id);
        assert_memory_equal(header.type, env->type, sizeof header.type);
        assert_memory_equal(header.src, env->src, sizeof header.src);
        assert_int_equal(header.ts_ms, env->ts_ms);
        assert_int_equal(header.seq, env->seq);
        assert_null(header.data);
        assert_memory_equal(&fast_event, &slow_event, sizeof fast_event);
    }
    envelope_destroy(&env);
    return fast;
}

static int s_check_text(const char *text)
{
    return s_check(text, strlen(text));
}

static void test_accepts_every_gateway_event(void **state)
{
    (void) state;
    static const char *const valid[] = {
        S_GATEWAY("rating.submitted", ",\"service_ms\":500,\"option_code\":2,"
                  "\"label\":\"满意\",\"score\":4.0"),
        S_GATEWAY("rating.submitted", ",\"option_code\":6,\"service_ms\":null,"
                  "\"label\":null,\"score\":null"),
        S_GATEWAY("rating.submitted", ",\"option_code\":1"),
        S_HEAD("rating.submitted") S_COMMON_NULLS ",\"option_code\":4,\"service_ms\":0,"
        "\"label\":\"不满意\",\"score\":0.5}}",
        S_GATEWAY("rating.not_rated", ",\"service_ms\":1200"),
        S_GATEWAY("rating.not_rated", ",\"service_ms\":null"),
        S_GATEWAY("staff.login", ""),
        S_GATEWAY("staff.logout", ""),
        S_GATEWAY("staff.login", ",\"option_code\":\"x\",\"duration_ms\":-3"),
        S_GATEWAY("call.request", ""),
        S_GATEWAY("call.recall", ""),
        S_GATEWAY("call.pause", ",\"reason\":3"),
        S_GATEWAY("service.start", ""),
        S_GATEWAY("service.end", ",\"duration_ms\":95000"),
        S_GATEWAY("service.end", ",\"duration_ms\":null"),
        S_GATEWAY("device.online", ",\"firmware\":\"1.2.3\",\"key_count\":4,"
                  "\"capabilities\":[\"lcd\",\"voice\",\"stars\"],\"ring_used\":0,"
                  "\"ring_capacity\":64,\"refused\":0"),
        S_HEAD("device.online") S_COMMON_NULLS ",\"firmware\":null,\"key_count\":null,"
        "\"capabilities\":null,\"ring_used\":null,\"ring_capacity\":null,\"refused\":null}}",
        S_GATEWAY("device.offline", ",\"reason\":\"unplugged\""),
        S_HEAD("device.unassigned") S_COMMON_NULLS "}}",
        S_GATEWAY("device.assigned", ""),
        S_GATEWAY("device.report_rejected", ",\"report\":\"0150\",\"reason\":\"unknown type\""),
        /* employee_no and ticket may be left out */
        S_HEAD("service.start") S_INC "\"serial\":\"EQ-1\",\"boot\":0,\"device_seq\":1,"
        "\"received\":\"2026-11-22T14:00:09.396Z\",\"event_time\":\"2026-11-22T14:00:09.396Z\","
        "\"window\":{\"id\":9223372036854775},\"branch\":\"hq\"}}",
        /* whitespace, and the members in another order */
        " {\n  \"data\" : { \"branch\" : \"hq.r01.b0001\", \"window\" : { \"code\" : \"w01\","
        " \"id\" : 1 },\r\n\t\"event_time\":\"2026-11-22T14:00:09.396Z\", \"option_code\" : 5,"
        " \"received\":\"2026-11-22T14:00:09.396Z\", \"device_seq\" : 4, \"boot\" : 7,"
        " \"serial\" : \"EQ-B0001-W01\", \"incarnation\" : \"00000000-0000-0000-0000-000000000000\""
        " },\n  \"seq\" : 0, \"src\" : \"gw:1\", \"ts\" :"
        " \"2026-11-22T14:00:09.396Z\", \"type\" : \"rating.submitted\", \"id\" :"
        " \"01a2038e-a3b4-740f-a053-e884efc69913\", \"v\" : 1 } \n",
        s_bench,
    };
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        if (s_check_text(valid[i]) != 0)
            fail_msg("valid case %zu declined: %s", i, valid[i]);
}

static void test_fast_path_decodes_the_fields(void **state)
{
    (void) state;
    envelope_t h;
    ri_event_t e;
    assert_int_equal(ri_wire_decode(s_bench, strlen(s_bench), &h, &e), 0);
    assert_string_equal(h.type, "rating.submitted");
    assert_int_equal(h.seq, 42);
    assert_null(h.data);
    assert_int_equal(e.kind, RI_KIND_RATING);
    assert_string_equal(e.gateway, "device-gateway.b0001");
    assert_string_equal(e.serial, "EQ-B0001-W03");
    assert_int_equal(e.window_id, 3);
    assert_string_equal(e.branch, "hq.r01.b0001");
    assert_string_equal(e.employee_no, "");
    assert_int_equal(e.option_code, 3);
    assert_int_equal(e.service_ms, 1000);
    assert_int_equal(e.duration_ms, -1);
}

/* Malformed or unusual envelopes: the fast path declines (the strict
 * path's verdict and reason then stand). */
static void test_declines_odd_input(void **state)
{
    (void) state;
    static const char *const odd[] = {
        "", "{", "{}", "[]", "\"x\"", "null",
        S_GATEWAY("staff.login", "") "x",
        S_GATEWAY("staff.login", "") "{}",
        S_GATEWAY("staff.login", "") "}",
        /* duplicates at every level */
        S_HEAD("staff.login") S_COMMON "},\"seq\":8}",
        S_GATEWAY("staff.login", ",\"boot\":7"),
        S_GATEWAY("staff.login", ",\"uptime_ms\":7"),
        S_GATEWAY("staff.login", ",\"window\":null"),
        S_HEAD("staff.login") S_COMMON_NULLS ",\"window\":{\"id\":1,\"id\":1}}}",
        /* members the protocol does not list */
        S_HEAD("staff.login") S_COMMON "},\"extra\":1}",
        S_GATEWAY("staff.login", ",\"foo\":1"),
        S_HEAD("staff.login") S_COMMON_NULLS ",\"window\":{\"id\":1,\"foo\":1}}}",
        /* an envelope id that is not a UUIDv7 (version 4, wrong variant) */
        "{\"v\":1,\"id\":\"01a2038e-a3b4-440f-a053-e884efc69913\",\"type\":\"call.recall\","
        "\"ts\":\"2026-11-22T14:00:09.396Z\",\"src\":\"gw\",\"seq\":8,\"data\":{" S_COMMON "}}",
        "{\"v\":1,\"id\":\"01a2038e-a3b4-740f-c053-e884efc69913\",\"type\":\"call.recall\","
        "\"ts\":\"2026-11-22T14:00:09.396Z\",\"src\":\"gw\",\"seq\":8,\"data\":{" S_COMMON "}}",
        /* wrong types */
        "{\"v\":\"1\",\"id\":\"01a2038e-a3b4-740f-a053-e884efc69913\",\"type\":\"call.recall\","
        "\"ts\":\"2026-11-22T14:00:09.396Z\",\"src\":\"gw\",\"seq\":8,\"data\":{" S_COMMON "}}",
        "{\"v\":1,\"id\":\"01a2038e-a3b4-740f-a053-e884efc69913\",\"type\":\"call.recall\","
        "\"ts\":\"2026-11-22T14:00:09.396Z\",\"src\":\"gw\",\"seq\":\"8\",\"data\":{" S_COMMON
        "}}",
        "{\"v\":1,\"id\":1,\"type\":\"call.recall\",\"ts\":\"2026-11-22T14:00:09.396Z\","
        "\"src\":\"gw\",\"seq\":8,\"data\":{" S_COMMON "}}",
        S_HEAD("staff.login") S_COMMON_NULLS ",\"window\":3}}",
        S_HEAD("staff.login") S_COMMON_NULLS ",\"window\":[1]}}",
        S_HEAD("staff.login") "\"serial\":5}}",
        S_GATEWAY("rating.submitted", ",\"option_code\":2.0"),
        S_GATEWAY("rating.submitted", ",\"option_code\":\"2\""),
        S_GATEWAY("rating.submitted", ",\"option_code\":2,\"service_ms\":\"x\""),
        S_GATEWAY("rating.submitted", ",\"option_code\":2,\"service_ms\":true"),
        S_GATEWAY("service.end", ",\"duration_ms\":1.5"),
        /* numbers out of range, negative */
        S_GATEWAY("rating.submitted", ",\"option_code\":7"),
        S_GATEWAY("rating.submitted", ",\"option_code\":0"),
        S_GATEWAY("rating.submitted", ",\"option_code\":2,\"service_ms\":-1"),
        S_GATEWAY("service.end", ",\"duration_ms\":-5"),
        S_GATEWAY("call.pause", ",\"reason\":99999999999999999999"),
        S_GATEWAY("call.pause", ",\"reason\":-99999999999999999999"),
        S_GATEWAY("rating.submitted", ",\"option_code\":2,\"score\":1e400"),
        S_GATEWAY("rating.submitted", ",\"option_code\":2,\"score\":1e2"),
        S_HEAD("staff.login") S_COMMON_NULLS ",\"window\":{\"id\":0}}}",
        "{\"v\":1,\"id\":\"01a2038e-a3b4-740f-a053-e884efc69913\",\"type\":\"call.recall\","
        "\"ts\":\"2026-11-22T14:00:09.396Z\",\"src\":\"gw\",\"seq\":-1,\"data\":{" S_COMMON "}}",
        "{\"v\":1,\"id\":\"01a2038e-a3b4-740f-a053-e884efc69913\",\"type\":\"call.recall\","
        "\"ts\":\"2026-11-22T14:00:09.396Z\",\"src\":\"gw\",\"seq\":9223372036854775808,"
        "\"data\":{" S_COMMON "}}",
        /* bad UTF-8: invalid byte, overlong, surrogate, beyond U+10FFFF, cut */
        S_GATEWAY("call.pause", ",\"reason\":\"\xff\""),
        S_GATEWAY("call.pause", ",\"reason\":\"\xc0\x80\""),
        S_GATEWAY("call.pause", ",\"reason\":\"\xe0\x80\xaf\""),
        S_GATEWAY("call.pause", ",\"reason\":\"\xed\xa0\x80\""),
        S_GATEWAY("call.pause", ",\"reason\":\"\xf4\x90\x80\x80\""),
        S_GATEWAY("call.pause", ",\"reason\":\"\xe6\xbb\""),
        "\xef\xbb\xbf" S_GATEWAY("call.recall", ""),
        /* escapes, control characters, whitespace only yajl knows */
        S_GATEWAY("call.pause", ",\"reason\":\"\\u0041\""),
        S_GATEWAY("call.pause", ",\"reason\":\"\\u0000\""),
        S_GATEWAY("call.pause", ",\"reason\":\"\\ud800\""),
        S_HEAD("call.recall") S_COMMON ",\"l\\u0061bel\":1}}",
        S_GATEWAY("call.pause", ",\"reason\":\"a\tb\""),
        S_GATEWAY("call.pause", ",\"reason\":\"a\nb\""),
        S_GATEWAY("call.pause", ",\v\"reason\":1"),
        S_GATEWAY("call.pause", ",\f\"reason\":1"),
        S_GATEWAY("call.pause", ",/* c */\"reason\":1"),
        /* nested values where none belong */
        S_GATEWAY("call.pause", ",\"reason\":{\"a\":1}"),
        S_GATEWAY("device.online", ",\"capabilities\":[[\"lcd\"]]"),
        S_GATEWAY("device.online", ",\"capabilities\":[{\"a\":1}]"),
        S_HEAD("staff.login") S_COMMON_NULLS ",\"window\":{\"id\":1,\"code\":{}}}}",
        /* data not an object */
        "{\"v\":1,\"id\":\"01a2038e-a3b4-740f-a053-e884efc69913\",\"type\":\"call.recall\","
        "\"ts\":\"2026-11-22T14:00:09.396Z\",\"src\":\"gw\",\"seq\":8,\"data\":[]}",
        "{\"v\":1,\"id\":\"01a2038e-a3b4-740f-a053-e884efc69913\",\"type\":\"call.recall\","
        "\"ts\":\"2026-11-22T14:00:09.396Z\",\"src\":\"gw\",\"seq\":8,\"data\":null}",
        /* version, id, type, ts, src */
        "{\"v\":2,\"id\":\"01a2038e-a3b4-740f-a053-e884efc69913\",\"type\":\"call.recall\","
        "\"ts\":\"2026-11-22T14:00:09.396Z\",\"src\":\"gw\",\"seq\":8,\"data\":{" S_COMMON "}}",
        "{\"v\":1.0,\"id\":\"01a2038e-a3b4-740f-a053-e884efc69913\",\"type\":\"call.recall\","
        "\"ts\":\"2026-11-22T14:00:09.396Z\",\"src\":\"gw\",\"seq\":8,\"data\":{" S_COMMON "}}",
        "{\"v\":1,\"id\":\"01A2038E-a3b4-740f-a053-e884efc69913\",\"type\":\"call.recall\","
        "\"ts\":\"2026-11-22T14:00:09.396Z\",\"src\":\"gw\",\"seq\":8,\"data\":{" S_COMMON "}}",
        "{\"v\":1,\"id\":\"01a2038e-a3b4-740f-a053-e884efc69913\",\"type\":\"Call.recall\","
        "\"ts\":\"2026-11-22T14:00:09.396Z\",\"src\":\"gw\",\"seq\":8,\"data\":{" S_COMMON "}}",
        "{\"v\":1,\"id\":\"01a2038e-a3b4-740f-a053-e884efc69913\",\"type\":\"call.recall\","
        "\"ts\":\"2026-11-22 14:00:09.396\",\"src\":\"gw\",\"seq\":8,\"data\":{" S_COMMON "}}",
        "{\"v\":1,\"id\":\"01a2038e-a3b4-740f-a053-e884efc69913\",\"type\":\"call.recall\","
        "\"ts\":\"2026-02-30T14:00:09.396Z\",\"src\":\"gw\",\"seq\":8,\"data\":{" S_COMMON "}}",
        "{\"v\":1,\"id\":\"01a2038e-a3b4-740f-a053-e884efc69913\",\"type\":\"call.recall\","
        "\"ts\":\"2026-11-22T14:00:09.396Z\",\"src\":\"g w\",\"seq\":8,\"data\":{" S_COMMON "}}",
        "{\"v\":1,\"id\":\"01a2038e-a3b4-740f-a053-e884efc69913\",\"type\":\"call.recall\","
        "\"ts\":\"2026-11-22T14:00:09.396Z\",\"src\":\"\",\"seq\":8,\"data\":{" S_COMMON "}}",
        /* types that are not the gateway's */
        S_HEAD("ticket.finished") "\"ticket_id\":\"01a2038e-a3b4-740f-a053-e884efc69913\","
        "\"number\":\"A012\",\"window\":1,\"at\":\"2026-11-22T14:00:09.396Z\"}}",
        S_GATEWAY("ticket.finished", ""),
        S_GATEWAY("rating.stored", ""),
        /* the incarnation: missing, not a string, not a UUIDv7 nor nil */
        S_HEAD("call.recall") "\"serial\":\"EQ-1\",\"boot\":0,\"device_seq\":1,"
        "\"received\":\"2026-11-22T14:00:09.396Z\",\"event_time\":\"2026-11-22T14:00:09.396Z\","
        "\"window\":null,\"branch\":\"hq\"}}",
        S_HEAD("call.recall") "\"incarnation\":7,\"serial\":\"EQ-1\",\"boot\":0,"
        "\"device_seq\":1,\"received\":\"2026-11-22T14:00:09.396Z\",\"event_time\":"
        "\"2026-11-22T14:00:09.396Z\",\"window\":null,\"branch\":\"hq\"}}",
        S_HEAD("call.recall") "\"incarnation\":\"01a2038e-0000-4000-8000-000000000001\","
        "\"serial\":\"EQ-1\",\"boot\":0,\"device_seq\":1,\"received\":"
        "\"2026-11-22T14:00:09.396Z\",\"event_time\":\"2026-11-22T14:00:09.396Z\","
        "\"window\":null,\"branch\":\"hq\"}}",
        S_HEAD("call.recall") "\"incarnation\":\"01A2038E-0000-7000-8000-000000000001\","
        "\"serial\":\"EQ-1\",\"boot\":0,\"device_seq\":1,\"received\":"
        "\"2026-11-22T14:00:09.396Z\",\"event_time\":\"2026-11-22T14:00:09.396Z\","
        "\"window\":null,\"branch\":\"hq\"}}",
        /* event rules */
        S_HEAD("staff.login") S_COMMON_NULLS "}}",
        S_GATEWAY("staff.logout", ",\"employee_no\":\"\""),
        S_HEAD("staff.login") "\"serial\":\"\",\"boot\":7,\"device_seq\":0,"
        "\"received\":\"2026-11-22T14:00:09.396Z\",\"event_time\":\"2026-11-22T14:00:09.396Z\","
        "\"window\":null,\"branch\":\"hq\",\"employee_no\":\"1\"}}",
        S_HEAD("call.recall") S_COMMON_NULLS ",\"ticket\":\"A12345678\"}}",
        S_HEAD("call.recall") S_COMMON_NULLS ",\"employee_no\":\"12345678901234567\"}}",
        S_HEAD("call.recall") S_COMMON_NULLS ",\"serial\":\"123456789012345678901234567890123\"}}",
        S_HEAD("call.recall") S_COMMON_NULLS ",\"branch\":\"Hq\"}}",
        S_HEAD("call.recall") S_COMMON_NULLS ",\"received\":\"now\"}}",
        S_HEAD("call.recall") S_COMMON_NULLS ",\"window\":{\"number\":1}}}",
        S_HEAD("call.recall") "\"serial\":\"EQ-1\"}}",
    };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        if (s_check_text(odd[i]) != -1)
            fail_msg("odd case %zu accepted: %s", i, odd[i]);
}

/* A branch longer than ri_event_t holds: ri_event_decode cuts it, s_accept
 * would use it whole; the fast path leaves it to the strict one. */
static void test_declines_what_the_event_cannot_hold(void **state)
{
    (void) state;
    char branch[16 * 33], text[2048];
    size_t n = 0;
    for (int i = 0; i < 16; i++)
        n += (size_t) snprintf(branch + n, sizeof branch - n, "%s%s", i ? "." : "",
                               "abcdefghijklmnopqrstuvwxyz01234");
    snprintf(text, sizeof text, S_HEAD("service.start") S_INC "\"serial\":\"EQ-1\",\"boot\":0,"
             "\"device_seq\":1,\"received\":\"2026-11-22T14:00:09.396Z\",\"event_time\":"
             "\"2026-11-22T14:00:09.396Z\",\"window\":null,\"branch\":\"%s\"}}", branch);
    /* The strict path accepts it: the case is real. */
    char reason[ENVELOPE_REASON_SIZE];
    envelope_t *env = envelope_decode(text, strlen(text), reason);
    ri_event_t e;
    assert_non_null(env);
    assert_int_equal(ri_event_decode(env, &e, reason), 0);
    envelope_destroy(&env);
    assert_int_equal(s_check_text(text), -1);

    /* Over ENVELOPE_MAX_BYTES */
    size_t size = ENVELOPE_MAX_BYTES + 200;
    char *big = malloc(size + 1);
    assert_non_null(big);
    int head = snprintf(big, size + 1, S_HEAD("call.pause") S_COMMON ",\"reason\":\"");
    memset(big + head, 'a', size - (size_t) head - 3);
    memcpy(big + size - 3, "\"}}", 4);
    assert_int_equal(s_check(big, size), -1);
    free(big);
}

/* Every single-byte deletion and a few substitutions of a valid envelope:
 * whatever the fast path accepts, the strict path accepts the same way. */
static void test_mutants_agree(void **state)
{
    (void) state;
    static const char subs[] = { '"', '}', '{', ',', ':', '1', '0', '-', '.', 'e', 'x',
                                 ' ', '\\', '\v', '\0', (char) 0x80, (char) 0xc3 };
    const char *base = S_GATEWAY("rating.submitted", ",\"service_ms\":500,\"option_code\":2,"
                                 "\"label\":\"满意\",\"score\":4.0");
    size_t len = strlen(base);
    char *mutant = malloc(len);
    assert_non_null(mutant);
    int accepted = 0, total = 0;
    for (size_t i = 0; i < len; i++) {
        memcpy(mutant, base, i);
        memcpy(mutant + i, base + i + 1, len - i - 1);
        accepted += s_check(mutant, len - 1) == 0;
        total++;
        for (size_t k = 0; k < sizeof subs; k++) {
            if (base[i] == subs[k])
                continue;
            memcpy(mutant, base, len);
            mutant[i] = subs[k];
            accepted += s_check(mutant, len) == 0;
            total++;
        }
    }
    free(mutant);
    /* Some mutants are still valid (a digit for a digit, a space after a
     * comma): the property was tested on both sides. */
    print_message("mutants: %d of %d accepted by the fast path\n", accepted, total);
    assert_true(accepted > 50);
    assert_true(accepted < total / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_every_gateway_event),
        cmocka_unit_test(test_fast_path_decodes_the_fields),
        cmocka_unit_test(test_declines_odd_input),
        cmocka_unit_test(test_declines_what_the_event_cannot_hold),
        cmocka_unit_test(test_mutants_agree),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
