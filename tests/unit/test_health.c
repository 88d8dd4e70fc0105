/*  Unit tests: health/metrics HTTP port, spoken to over loopback with a plain socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "eqms/clock.h"
#include "eqms/health.h"
#include "eqms/log.h"
#include "httptest.h"

typedef struct {
    int healthy;
    const char *reason;
} check_state_t;

static int check(void *ctx, char *reason, size_t size)
{
    check_state_t *st = ctx;
    if (st->healthy)
        return 0;
    snprintf(reason, size, "%s", st->reason);
    return -1;
}

/* Starts a server on a free loopback port (retrying if another process
 * took the port in between) and returns it with the port in *port. */
static health_t *start(metrics_t *metrics, check_state_t *st, int *port)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        *port = httptest_free_port();
        health_t *h = health_new("bus", "127.0.0.1", *port, metrics, check, st);
        if (h)
            return h;
    }
    fail_msg("no free port for the health server");
    return NULL;
}

static void test_health_ok(void **state)
{
    (void) state;
    check_state_t st = { .healthy = 1 };
    int port;
    health_t *h = start(NULL, &st, &port);
    httptest_reply_t r;
    httptest(port, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers, "Content-Type: application/json"));
    assert_string_equal(r.body, "{\"status\":\"ok\",\"service\":\"bus\"}\n");
    health_destroy(&h);
    assert_null(h);
}

static void test_health_unhealthy_with_reason(void **state)
{
    (void) state;
    check_state_t st = { .healthy = 0,
                         .reason = "loop stalled \"5 s\"\nsee log" };
    int port;
    health_t *h = start(NULL, &st, &port);
    httptest_reply_t r;
    httptest(port, "GET /health HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 503);
    assert_string_equal(r.body,
        "{\"status\":\"unhealthy\",\"service\":\"bus\","
        "\"reason\":\"loop stalled \\\"5 s\\\"\\u000asee log\"}\n");
    /* the answer follows the check from request to request */
    st.healthy = 1;
    httptest(port, "GET /health HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    health_destroy(&h);
}

static void test_metrics_body(void **state)
{
    (void) state;
    metrics_t *m = metrics_new("bus");
    metrics_counter_t *c = metrics_counter(m, "forwarded_messages_total",
                                           "Messages forwarded.");
    metrics_add(c, 1234);
    check_state_t st = { .healthy = 1 };
    int port;
    health_t *h = start(m, &st, &port);
    httptest_reply_t r;
    httptest(port, "GET /metrics HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers, "Content-Type: text/plain; version=0.0.4"));
    assert_non_null(strstr(r.body, "# TYPE eqms_bus_forwarded_messages_total counter\n"
                                    "eqms_bus_forwarded_messages_total 1234\n"));
    assert_non_null(strstr(r.body, "\neqms_bus_up 1\n"));
    metrics_add(c, 1);
    httptest(port, "GET /metrics HTTP/1.0\r\n\r\n", &r);
    assert_non_null(strstr(r.body, "\neqms_bus_forwarded_messages_total 1235\n"));
    health_destroy(&h);
    metrics_destroy(&m);
}

static void test_not_found_and_method_not_allowed(void **state)
{
    (void) state;
    check_state_t st = { .healthy = 1 };
    int port;
    health_t *h = start(NULL, &st, &port);
    httptest_reply_t r;
    httptest(port, "GET /healthz HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
    httptest(port, "GET /metrics HTTP/1.0\r\n\r\n", &r);   /* no metrics_t given */
    assert_int_equal(r.status, 404);
    httptest(port, "POST /health HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}", &r);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.headers, "Allow: GET, HEAD"));
    httptest(port, "DELETE /metrics HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 405);
    httptest(port, "HEAD /health HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "");
    health_destroy(&h);
}

static void test_port_zero_is_inert_and_bad_input(void **state)
{
    (void) state;
    check_state_t st = { .healthy = 1 };
    health_t *h = health_new("bus", "0.0.0.0", 0, NULL, check, &st);
    assert_non_null(h);
    health_destroy(&h);
    assert_null(h);
    health_destroy(NULL);
    assert_null(health_new("bus", "not-an-address", 9, NULL, check, &st));
    assert_null(health_new("bus", "127.0.0.1", 70000, NULL, check, &st));
    assert_null(health_new(NULL, "127.0.0.1", 0, NULL, check, &st));
    assert_null(health_new("bus", NULL, 0, NULL, check, &st));
}

static void test_liveness_check(void **state)
{
    (void) state;
    health_liveness_t live;
    char reason[64] = "";
    health_liveness_init(&live);
    assert_int_equal(health_liveness_check(&live, reason, sizeof reason), 0);
    health_liveness_db(&live, false);
    assert_int_equal(health_liveness_check(&live, reason, sizeof reason), -1);
    assert_string_equal(reason, "database unavailable");
    health_liveness_db(&live, true);
    atomic_store(&live.beat_ms, clock_mono_ms() - HEALTH_STALL_MS - 1);
    assert_int_equal(health_liveness_check(&live, reason, sizeof reason), -1);
    assert_string_equal(reason, "loop stalled");
    health_liveness_beat(&live);
    assert_int_equal(health_liveness_check(&live, reason, sizeof reason), 0);
}

static void test_port_in_use_fails(void **state)
{
    (void) state;
    check_state_t st = { .healthy = 1 };
    int port;
    health_t *h = start(NULL, &st, &port);
    assert_null(health_new("bus", "127.0.0.1", port, NULL, check, &st));
    health_destroy(&h);
}

int main(void)
{
    log_init("test_health", LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_ok),
        cmocka_unit_test(test_health_unhealthy_with_reason),
        cmocka_unit_test(test_metrics_body),
        cmocka_unit_test(test_not_found_and_method_not_allowed),
        cmocka_unit_test(test_port_zero_is_inert_and_bad_input),
        cmocka_unit_test(test_port_in_use_fails),
        cmocka_unit_test(test_liveness_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
