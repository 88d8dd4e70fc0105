/*  Unit tests: bus client, through the real forwarder run in-process on
 *  loopback TCP ports the system chooses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/bus.h"
#include "eqms/jsonw.h"
#include "../../services/bus/forwarder.h"

static forwarder_t *s_forwarder;
static char s_xsub[128], s_xpub[128];

static int setup(void **state)
{
    (void) state;
    forwarder_config_t cfg = { "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", 0, 1 };
    s_forwarder = forwarder_new(&cfg, NULL);
    if (!s_forwarder)
        return -1;
    snprintf(s_xsub, sizeof s_xsub, "%s", forwarder_xsub_endpoint(s_forwarder));
    snprintf(s_xpub, sizeof s_xpub, "%s", forwarder_xpub_endpoint(s_forwarder));
    return 0;
}

static int teardown(void **state)
{
    (void) state;
    forwarder_destroy(&s_forwarder);
    return 0;
}

/* Publishes `type` on `path` until the subscriber receives something or
 * 5 s pass (PUB/SUB joins are asynchronous). Returns what arrived or NULL. */
static envelope_t *publish_until_received(bus_t *pub, bus_t *sub, const char *type,
                                          const char *path, char **topic)
{
    for (int i = 0; i < 50; i++) {
        json_t *data = json_pack("{s:i}", "n", i);
        assert_int_equal(bus_publish(pub, type, path, &data, NULL), 0);
        envelope_t *e = NULL;
        if (bus_recv(sub, 100, topic, &e) == 1)
            return e;
    }
    return NULL;
}

static void test_prefix_subscriber_receives(void **state)
{
    (void) state;
    bus_t *pub = bus_new(s_xsub, NULL, "unit-pub");
    bus_t *sub = bus_new(NULL, s_xpub, "unit-sub");
    assert_non_null(pub);
    assert_non_null(sub);
    assert_int_equal(bus_subscribe(sub, "rating.submitted.hq.r01"), 0);
    char *topic = NULL;
    envelope_t *e = publish_until_received(pub, sub, "rating.submitted", "hq.r01.b0001",
                                           &topic);
    assert_non_null(e);
    assert_string_equal(topic, "rating.submitted.hq.r01.b0001");
    assert_string_equal(e->type, "rating.submitted");
    assert_string_equal(e->src, "unit-pub");
    assert_true(json_is_integer(json_object_get(e->data, "n")));
    free(topic);
    envelope_destroy(&e);

    /* Sequence numbers increase by one per published envelope. */
    json_t *d1 = json_object(), *d2 = json_object();
    char id1[ID_SIZE], id2[ID_SIZE];
    assert_int_equal(bus_publish(pub, "rating.submitted", "hq.r01.b0002", &d1, id1), 0);
    assert_int_equal(bus_publish(pub, "rating.submitted", "hq.r02.b0003", &d2, id2), 0);
    /* Another branch of the tree is not delivered. */
    json_t *d3 = json_object();
    assert_int_equal(bus_publish(pub, "rating.submitted", "hq.r01.b0004", &d3, NULL), 0);
    envelope_t *a = NULL, *b = NULL;
    assert_int_equal(bus_recv(sub, 2000, &topic, &a), 1);
    free(topic);
    assert_string_equal(a->id, id1);
    assert_int_equal(bus_recv(sub, 2000, &topic, &b), 1);
    free(topic);
    assert_string_not_equal(b->id, id2);
    assert_int_equal(b->seq, a->seq + 2);
    envelope_destroy(&a);
    envelope_destroy(&b);
    assert_int_equal(bus_recv(sub, 100, &topic, &a), 0);
    bus_stats_t st = bus_stats(sub);
    assert_true(st.received >= 3);
    bus_destroy(&pub);
    bus_destroy(&sub);
    assert_null(pub);
}

static void test_malformed_messages_are_rejected_and_skipped(void **state)
{
    (void) state;
    bus_t *sub = bus_new(NULL, s_xpub, "unit-sub");
    bus_subscribe(sub, "");
    zsock_t *raw = zsock_new(ZMQ_PUB);
    assert_int_equal(zsock_connect(raw, "%s", s_xsub), 0);
    bus_t *pub = bus_new(s_xsub, NULL, "unit-pub");
    char *topic = NULL;
    envelope_t *e = publish_until_received(pub, sub, "probe.ready", "hq", &topic);
    assert_non_null(e);
    free(topic);
    envelope_destroy(&e);
    while (bus_recv(sub, 50, &topic, &e) == 1) {   /* drain the other probes */
        free(topic);
        envelope_destroy(&e);
    }
    /* Wait until the raw publisher is connected too. */
    for (int i = 0; i < 50; i++) {
        zstr_sendx(raw, "probe.raw.hq", "x", NULL);
        if (zsock_events(bus_sub_socket(sub)) & ZMQ_POLLIN)
            break;
        zclock_sleep(50);
    }
    while (bus_recv(sub, 50, &topic, &e) == 1) {
        free(topic);
        envelope_destroy(&e);
    }
    uint64_t before = bus_stats(sub).rejected;
    zstr_sendx(raw, "rating.submitted.hq", "{not json", NULL);
    zstr_sendx(raw, "rating.submitted.hq", NULL);   /* one frame only */
    zstr_sendx(raw, "a.hq", "b", "c", NULL);        /* three frames */
    zstr_sendx(raw, "other.type.hq", "{\"v\":1,\"id\":\"0193a2b4-1c2d-7e3f-8a4b-5c6d7e8f9a0b\","
               "\"type\":\"rating.submitted\",\"ts\":\"2026-11-22T13:09:00.123Z\","
               "\"src\":\"x\",\"seq\":1,\"data\":{}}", NULL);   /* topic/type mismatch */
    /* A good one on the same connection, so it arrives after the bad ones. */
    json_t *data = json_object();
    envelope_t *good = envelope_new("rating.submitted", "raw", 1, &data);
    size_t len;
    char *text = envelope_encode(good, &len);
    zstr_sendx(raw, "rating.submitted.hq.r01", text, NULL);
    free(text);
    envelope_destroy(&good);
    /* The good one still arrives after the bad ones. */
    assert_int_equal(bus_recv(sub, 2000, &topic, &e), 1);
    assert_string_equal(topic, "rating.submitted.hq.r01");
    assert_int_equal(bus_stats(sub).rejected - before, 4);
    free(topic);
    envelope_destroy(&e);
    zsock_destroy(&raw);
    bus_destroy(&pub);
    bus_destroy(&sub);
}

/* Writes a valid org path of exactly `len` (>= 2) bytes: "hq.aaa...". */
static void s_long_path(char *out, size_t len)
{
    memcpy(out, "hq", 2);
    size_t i = 2;
    while (i < len) {
        if (len - i >= 2)
            out[i++] = '.';
        for (int k = 0; k < 31 && i < len; k++)
            out[i++] = 'a';
    }
    out[len] = '\0';
}

static void test_refuses_bad_arguments(void **state)
{
    (void) state;
    assert_null(bus_new("nonsense", NULL, "x"));
    assert_null(bus_new(NULL, NULL, NULL));
    bus_t *pub = bus_new(s_xsub, NULL, "unit-pub");
    json_t *data = json_object();
    assert_int_equal(bus_publish(pub, "Bad Type", "hq", &data, NULL), -1);
    assert_null(data);
    data = json_object();
    assert_int_equal(bus_publish(pub, "rating.submitted", "HQ..x", &data, NULL), -1);
    data = json_array();
    assert_int_equal(bus_publish(pub, "rating.submitted", "hq", &data, NULL), -1);
    /* Topics up to the limit, and not one byte more ("rating.submitted."
     * is 17 bytes), nor far more. */
    char path[2 * ENVELOPE_TOPIC_MAX];
    size_t lens[] = { ENVELOPE_TOPIC_MAX - 17, ENVELOPE_TOPIC_MAX - 16, sizeof path - 1 };
    for (size_t i = 0; i < 3; i++) {
        s_long_path(path, lens[i]);
        data = json_object();
        assert_int_equal(bus_publish(pub, "rating.submitted", path, &data, NULL),
                         i == 0 ? 0 : -1);
    }
    char *topic;
    envelope_t *e;
    assert_int_equal(bus_recv(pub, 0, &topic, &e), -1);   /* no SUB side */
    assert_int_equal(bus_subscribe(pub, "x"), -1);
    bus_destroy(&pub);
    bus_t *sub = bus_new(NULL, s_xpub, "unit-sub");
    assert_int_equal(bus_recv(sub, 0, &topic, &e), -1);   /* nothing subscribed */
    assert_int_equal(bus_unsubscribe(sub, "x"), -1);
    bus_destroy(&sub);
}

/* The rating.stored payload, written with jsonw. */
static void write_rating(jsonw_t *w, const char *employee_no)
{
    jsonw_reset(w);
    jsonw_str(w, "id", "0193a2b4-1c2d-7e3f-8a4b-5c6d7e8f9a0b");
    jsonw_str(w, "gateway", "device-gateway.b0001");
    jsonw_int(w, "window_id", 3);
    jsonw_str(w, "employee_no", employee_no);
    jsonw_double(w, "score", 4.0);
    jsonw_bool(w, "satisfied", true);
    jsonw_null(w, "ticket");
    jsonw_object_begin(w, "teller_today");
    jsonw_int(w, "total", 10);
    jsonw_object_end(w);
    assert_int_equal(jsonw_finish(w), 0);
}

static void test_publish_jsonw_round_trip(void **state)
{
    (void) state;
    bus_t *pub = bus_new(s_xsub, NULL, "rating-ingest.hq");
    bus_t *sub = bus_new(NULL, s_xpub, "unit-sub");
    assert_non_null(pub);
    assert_non_null(sub);
    assert_int_equal(bus_subscribe(sub, "rating.stored.hq"), 0);
    char *topic = NULL;
    envelope_t *e = publish_until_received(pub, sub, "rating.stored", "hq.r01", &topic);
    assert_non_null(e);
    int64_t last_seq = e->seq;
    free(topic);
    envelope_destroy(&e);
    while (bus_recv(sub, 50, &topic, &e) == 1) {   /* drain the other probes */
        last_seq = e->seq;
        free(topic);
        envelope_destroy(&e);
    }

    char buf[1024];
    jsonw_t w;
    jsonw_init(&w, buf, sizeof buf);
    /* Refusals do not use up sequence numbers or set id_out. */
    char id[ID_SIZE] = "untouched";
    write_rating(&w, "100101");
    assert_int_equal(bus_publish_jsonw(pub, "Bad Type", "hq.r01", &w, id), -1);
    assert_int_equal(bus_publish_jsonw(pub, NULL, "hq.r01", &w, id), -1);
    assert_int_equal(bus_publish_jsonw(pub, "rating.stored", "HQ..x", &w, id), -1);
    assert_int_equal(bus_publish_jsonw(pub, "rating.stored", NULL, &w, id), -1);
    assert_int_equal(bus_publish_jsonw(pub, "rating.stored", "hq.r01", NULL, id), -1);
    jsonw_reset(&w);
    jsonw_int(&w, "unfinished", 1);
    assert_int_equal(bus_publish_jsonw(pub, "rating.stored", "hq.r01", &w, id), -1);
    jsonw_reset(&w);
    jsonw_str(&w, "bad", "\xc3\x28");
    jsonw_finish(&w);
    assert_int_equal(bus_publish_jsonw(pub, "rating.stored", "hq.r01", &w, id), -1);
    assert_string_equal(id, "untouched");

    /* Two good ones, reusing the writer; then one for another branch. */
    char id1[ID_SIZE], id2[ID_SIZE];
    write_rating(&w, "100101 \"张三\"\n");
    assert_int_equal(bus_publish_jsonw(pub, "rating.stored", "hq.r01.b0001", &w, id1), 0);
    write_rating(&w, "100102");
    assert_int_equal(bus_publish_jsonw(pub, "rating.stored", "hq.r02", &w, id2), 0);
    write_rating(&w, "100103");
    assert_int_equal(bus_publish_jsonw(pub, "rating.stored", "branch.x", &w, NULL), 0);

    json_t *want = json_pack("{s:s, s:s, s:i, s:s, s:f, s:b, s:n, s:{s:i}}",
                             "id", "0193a2b4-1c2d-7e3f-8a4b-5c6d7e8f9a0b",
                             "gateway", "device-gateway.b0001", "window_id", 3,
                             "employee_no", "100101 \"张三\"\n", "score", 4.0,
                             "satisfied", 1, "ticket", "teller_today", "total", 10);
    assert_int_equal(bus_recv(sub, 2000, &topic, &e), 1);
    assert_string_equal(topic, "rating.stored.hq.r01.b0001");
    assert_string_equal(e->id, id1);
    assert_string_equal(e->type, "rating.stored");
    assert_string_equal(e->src, "rating-ingest.hq");
    assert_int_equal(e->seq, last_seq + 1);
    assert_true(json_equal(e->data, want));
    free(topic);
    envelope_destroy(&e);
    assert_int_equal(bus_recv(sub, 2000, &topic, &e), 1);
    assert_string_equal(topic, "rating.stored.hq.r02");
    assert_string_equal(e->id, id2);
    assert_int_equal(e->seq, last_seq + 2);
    json_object_set_new(want, "employee_no", json_string("100102"));
    assert_true(json_equal(e->data, want));
    free(topic);
    envelope_destroy(&e);
    assert_int_equal(bus_recv(sub, 100, &topic, &e), 0);   /* not hq: not delivered */
    json_decref(want);

    /* Envelopes and jsonw messages share one sequence. */
    json_t *data = json_object();
    assert_int_equal(bus_publish(pub, "rating.stored", "hq", &data, NULL), 0);
    assert_int_equal(bus_recv(sub, 2000, &topic, &e), 1);
    assert_int_equal(e->seq, last_seq + 4);
    free(topic);
    envelope_destroy(&e);
    bus_destroy(&pub);
    bus_destroy(&sub);

    /* A publish-only client is needed. */
    sub = bus_new(NULL, s_xpub, "unit-sub");
    write_rating(&w, "100101");
    assert_int_equal(bus_publish_jsonw(sub, "rating.stored", "hq", &w, NULL), -1);
    bus_destroy(&sub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prefix_subscriber_receives),
        cmocka_unit_test(test_malformed_messages_are_rejected_and_skipped),
        cmocka_unit_test(test_refuses_bad_arguments),
        cmocka_unit_test(test_publish_jsonw_round_trip),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
