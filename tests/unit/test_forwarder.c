/*  Unit tests: the bus forwarder in-process, with raw ZeroMQ PUB and SUB on loopback TCP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "eqms/log.h"
#include "eqms/metrics.h"
#include "../../services/bus/forwarder.h"

#define TOPIC "rating.submitted.hq.r01.b0001"

typedef struct {
    metrics_t *metrics;
    forwarder_t *forwarder;
    void *ctx;
    void *pub;
    void *sub;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->metrics = metrics_new("bus");
    forwarder_config_t cfg = { .xsub_bind = "tcp://127.0.0.1:*",
                               .xpub_bind = "tcp://127.0.0.1:*",
                               .hwm = 1000 };
    f->forwarder = forwarder_new(&cfg, f->metrics);
    assert_non_null(f->forwarder);
    f->ctx = zmq_ctx_new();
    f->pub = zmq_socket(f->ctx, ZMQ_PUB);
    f->sub = zmq_socket(f->ctx, ZMQ_SUB);
    int zero = 0, timeout = 100;
    zmq_setsockopt(f->pub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(f->sub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(f->sub, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    assert_int_equal(zmq_connect(f->pub, forwarder_xsub_endpoint(f->forwarder)), 0);
    assert_int_equal(zmq_connect(f->sub, forwarder_xpub_endpoint(f->forwarder)), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    zmq_close(f->pub);
    zmq_close(f->sub);
    zmq_ctx_term(f->ctx);
    forwarder_destroy(&f->forwarder);
    assert_null(f->forwarder);
    metrics_destroy(&f->metrics);
    free(f);
    return 0;
}

static void send_two(void *pub, const char *topic, const char *body)
{
    assert_int_equal(zmq_send(pub, topic, strlen(topic), ZMQ_SNDMORE),
                     (int) strlen(topic));
    assert_int_equal(zmq_send(pub, body, strlen(body), 0), (int) strlen(body));
}

/* Receives a two-frame message into topic/body; 0, or -1 on timeout. */
static int recv_two(void *sub, char *topic, size_t tsize, char *body, size_t bsize)
{
    int n = zmq_recv(sub, topic, tsize - 1, 0);
    if (n < 0)
        return -1;
    topic[n] = '\0';
    int more = 0;
    size_t size = sizeof more;
    zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &size);
    assert_true(more);
    n = zmq_recv(sub, body, bsize - 1, 0);
    assert_true(n >= 0);
    body[n] = '\0';
    return 0;
}

/* Publishes "join" messages on TOPIC until one arrives (subscriptions travel
 * asynchronously through the forwarder); then drains the stragglers.
 * Returns how many join messages the subscriber received. */
static int join(fixture_t *f)
{
    char topic[256], body[256];
    int received = 0;
    for (int i = 0; i < 100 && received == 0; i++) {
        send_two(f->pub, TOPIC, "join");
        while (recv_two(f->sub, topic, sizeof topic, body, sizeof body) == 0) {
            assert_string_equal(body, "join");
            received++;
        }
    }
    assert_true(received > 0);
    return received;
}

/* The value of eqms_bus_<name> in the metrics render, or -1. */
static int64_t metric(fixture_t *f, const char *name)
{
    char *text = metrics_render(f->metrics);
    assert_non_null(text);
    char key[128];
    snprintf(key, sizeof key, "\neqms_bus_%s ", name);
    const char *p = strstr(text, key);
    int64_t value = p ? strtoll(p + strlen(key), NULL, 10) : -1;
    free(text);
    return value;
}

/* Waits up to 2 s for a metric to reach `want` (counters flush per batch). */
static int64_t metric_wait(fixture_t *f, const char *name, int64_t want)
{
    int64_t value = -1;
    for (int i = 0; i < 200; i++) {
        value = metric(f, name);
        if (value == want)
            break;
        usleep(10 * 1000);
    }
    return value;
}

static void test_prefix_subscriber_receives(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(zmq_setsockopt(f->sub, ZMQ_SUBSCRIBE, "rating.submitted.hq", 19), 0);
    join(f);
    send_two(f->pub, TOPIC, "{\"v\":1}");
    char topic[256], body[256];
    assert_int_equal(recv_two(f->sub, topic, sizeof topic, body, sizeof body), 0);
    assert_string_equal(topic, TOPIC);
    assert_string_equal(body, "{\"v\":1}");
}

static void test_other_prefix_not_delivered(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(zmq_setsockopt(f->sub, ZMQ_SUBSCRIBE, "rating.submitted.hq.r01", 23), 0);
    join(f);
    send_two(f->pub, "rating.submitted.hq.r02.b0001", "other region");
    send_two(f->pub, "queue.called.hq.r01.b0001", "other type");
    send_two(f->pub, "rating.submitted.hq.r01.b0002", "marker");
    /* one publisher's messages keep their order: whatever was to be
     * delivered before the marker has arrived when the marker does */
    char topic[256], body[256];
    assert_int_equal(recv_two(f->sub, topic, sizeof topic, body, sizeof body), 0);
    assert_string_equal(body, "marker");
    assert_string_equal(topic, "rating.submitted.hq.r01.b0002");
    assert_int_equal(recv_two(f->sub, topic, sizeof topic, body, sizeof body), -1);
}

static void test_multipart_frames_intact(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(zmq_setsockopt(f->sub, ZMQ_SUBSCRIBE, "", 0), 0);
    join(f);
    unsigned char blob[3000];
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (unsigned char) (i * 7);
    assert_int_equal(zmq_send(f->pub, TOPIC, strlen(TOPIC), ZMQ_SNDMORE), (int) strlen(TOPIC));
    assert_int_equal(zmq_send(f->pub, "", 0, ZMQ_SNDMORE), 0);
    assert_int_equal(zmq_send(f->pub, "second", 6, ZMQ_SNDMORE), 6);
    assert_int_equal(zmq_send(f->pub, blob, sizeof blob, 0), (int) sizeof blob);

    size_t want_sizes[] = { strlen(TOPIC), 0, 6, sizeof blob };
    for (int frame = 0; frame < 4; frame++) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        assert_true(zmq_msg_recv(&msg, f->sub, 0) >= 0);
        assert_int_equal(zmq_msg_size(&msg), want_sizes[frame]);
        if (frame == 0)
            assert_memory_equal(zmq_msg_data(&msg), TOPIC, strlen(TOPIC));
        if (frame == 2)
            assert_memory_equal(zmq_msg_data(&msg), "second", 6);
        if (frame == 3)
            assert_memory_equal(zmq_msg_data(&msg), blob, sizeof blob);
        assert_int_equal(zmq_msg_more(&msg), frame < 3);
        zmq_msg_close(&msg);
    }
}

static void test_counters_move(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(metric(f, "forwarded_messages_total"), 0);
    assert_int_equal(metric(f, "subscriptions_total"), 0);
    assert_int_equal(zmq_setsockopt(f->sub, ZMQ_SUBSCRIBE, "rating", 6), 0);
    int joined = join(f);
    assert_int_equal(metric_wait(f, "subscriptions_total", 1), 1);

    /* the publisher filters at the source, so every message that reached
     * the forwarder was forwarded and received */
    char topic[256], body[256];
    for (int i = 0; i < 10; i++)
        send_two(f->pub, TOPIC, "0123456789");
    for (int i = 0; i < 10; i++)
        assert_int_equal(recv_two(f->sub, topic, sizeof topic, body, sizeof body), 0);
    assert_int_equal(metric_wait(f, "forwarded_messages_total", joined + 10),
                     joined + 10);
    /* frames: topic + body per message, plus the 7-byte subscription */
    int64_t bytes = (int64_t) joined * (int64_t) (strlen(TOPIC) + 4)
                  + 10 * (int64_t) (strlen(TOPIC) + 10) + 7;
    assert_int_equal(metric_wait(f, "forwarded_bytes_total", bytes), bytes);

    assert_int_equal(zmq_setsockopt(f->sub, ZMQ_UNSUBSCRIBE, "rating", 6), 0);
    assert_int_equal(metric_wait(f, "unsubscriptions_total", 1), 1);
}

static void test_health_follows_loop(void **state)
{
    fixture_t *f = *state;
    char reason[128] = "";
    assert_int_equal(forwarder_health_check(f->forwarder, reason, sizeof reason), 0);
    int64_t age = forwarder_heartbeat_age_ms(f->forwarder);
    assert_true(age >= 0 && age < 5000);
}

static void test_bind_failure_returns_null(void **state)
{
    (void) state;
    void *ctx = zmq_ctx_new();
    void *holder = zmq_socket(ctx, ZMQ_PUB);
    int zero = 0;
    zmq_setsockopt(holder, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(holder, "tcp://127.0.0.1:*"), 0);
    char taken[256];
    size_t size = sizeof taken;
    zmq_getsockopt(holder, ZMQ_LAST_ENDPOINT, taken, &size);

    metrics_t *m = metrics_new("bus");
    forwarder_config_t xsub_taken = { .xsub_bind = taken,
                                      .xpub_bind = "tcp://127.0.0.1:*" };
    assert_null(forwarder_new(&xsub_taken, m));
    forwarder_config_t xpub_taken = { .xsub_bind = "tcp://127.0.0.1:*",
                                      .xpub_bind = taken };
    assert_null(forwarder_new(&xpub_taken, NULL));
    forwarder_config_t malformed = { .xsub_bind = "tcp://nowhere",
                                     .xpub_bind = "tcp://127.0.0.1:*" };
    assert_null(forwarder_new(&malformed, NULL));
    assert_null(forwarder_new(NULL, NULL));
    forwarder_destroy(NULL);

    /* a forwarder that failed released its names: a good one can use them */
    forwarder_config_t good = { .xsub_bind = "tcp://127.0.0.1:*",
                                .xpub_bind = "tcp://127.0.0.1:*" };
    forwarder_t *fw = forwarder_new(&good, m);
    assert_non_null(fw);
    forwarder_destroy(&fw);
    metrics_destroy(&m);
    zmq_close(holder);
    zmq_ctx_term(ctx);
}

int main(void)
{
    log_init("test_forwarder", LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_prefix_subscriber_receives, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_prefix_not_delivered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_frames_intact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_health_follows_loop, setup, teardown),
        cmocka_unit_test(test_bind_failure_returns_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
