/*  Unit tests: metrics registry and its Prometheus text rendering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/metrics.h"

static void test_render_counters_and_gauges(void **state)
{
    (void) state;
    metrics_t *m = metrics_new("bus");
    assert_non_null(m);
    metrics_counter_t *c = metrics_counter(m, "forwarded_messages_total",
                                           "Messages forwarded.");
    metrics_gauge_t *g = metrics_gauge(m, "queue_depth", "Messages waiting.");
    assert_non_null(c);
    assert_non_null(g);
    metrics_add(c, 3);
    metrics_add(c, 39);
    metrics_set(g, -7);

    char *text = metrics_render(m);
    assert_non_null(text);
    assert_string_equal(text,
        "# HELP eqms_bus_up 1 while the service is running.\n"
        "# TYPE eqms_bus_up gauge\n"
        "eqms_bus_up 1\n"
        "# HELP eqms_bus_forwarded_messages_total Messages forwarded.\n"
        "# TYPE eqms_bus_forwarded_messages_total counter\n"
        "eqms_bus_forwarded_messages_total 42\n"
        "# HELP eqms_bus_queue_depth Messages waiting.\n"
        "# TYPE eqms_bus_queue_depth gauge\n"
        "eqms_bus_queue_depth -7\n");
    free(text);
    metrics_destroy(&m);
    assert_null(m);
}

static void test_service_dash_becomes_underscore(void **state)
{
    (void) state;
    metrics_t *m = metrics_new("device-gateway");
    assert_non_null(m);
    assert_non_null(metrics_counter(m, "reports_total", "Reports read."));
    char *text = metrics_render(m);
    assert_non_null(text);
    assert_non_null(strstr(text, "\neqms_device_gateway_reports_total 0\n"));
    assert_null(strchr(text, '-'));
    free(text);
    metrics_destroy(&m);
}

static void test_help_backslash_escaped(void **state)
{
    (void) state;
    metrics_t *m = metrics_new("bus");
    assert_non_null(metrics_counter(m, "paths_total", "Seen C:\\bus paths."));
    char *text = metrics_render(m);
    assert_non_null(strstr(text, "# HELP eqms_bus_paths_total Seen C:\\\\bus paths.\n"));
    free(text);
    metrics_destroy(&m);
}

static void test_bad_names_rejected(void **state)
{
    (void) state;
    metrics_t *m = metrics_new("bus");
    const char *bad[] = { "", "Upper", "has-dash", "1digit_first", "sp ace",
                          "dot.ted", "colon:x", "up",
                          "a_name_that_is_far_too_long_for_a_metric_name_in_eqms_padding_xyz" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_null(metrics_counter(m, bad[i], "help"));
        assert_null(metrics_gauge(m, bad[i], "help"));
    }
    assert_null(metrics_counter(m, NULL, "help"));
    assert_null(metrics_counter(m, "ok_name", NULL));
    assert_null(metrics_counter(m, "ok_name", "two\nlines"));
    /* nothing half-registered: the render holds only the up gauge */
    char *text = metrics_render(m);
    assert_null(strstr(text, "ok_name"));
    assert_null(strstr(text, "counter"));
    free(text);
    /* digits after the first character are fine */
    assert_non_null(metrics_counter(m, "http_2xx_total", "Answers 2xx."));
    metrics_destroy(&m);
}

static void test_duplicate_names_rejected(void **state)
{
    (void) state;
    metrics_t *m = metrics_new("bus");
    metrics_counter_t *c = metrics_counter(m, "drops_total", "Drops.");
    assert_non_null(c);
    assert_null(metrics_counter(m, "drops_total", "Again."));
    assert_null(metrics_gauge(m, "drops_total", "As a gauge."));
    metrics_add(c, 1);
    char *text = metrics_render(m);
    const char *first = strstr(text, "# TYPE eqms_bus_drops_total counter");
    assert_non_null(first);
    assert_null(strstr(first + 1, "# TYPE eqms_bus_drops_total"));
    free(text);
    metrics_destroy(&m);
}

/* Two instances of one module share a counter: they count together, and a
 * gauge of the name is still refused. */
static void test_shared_counter(void **state)
{
    (void) state;
    metrics_t *m = metrics_new("rating-ingest");
    metrics_counter_t *a = metrics_counter_shared(m, "bus_rejected_total", "Rejected.");
    metrics_counter_t *b = metrics_counter_shared(m, "bus_rejected_total", "Rejected.");
    assert_non_null(a);
    assert_ptr_equal(a, b);
    assert_null(metrics_counter(m, "bus_rejected_total", "Plain register refuses."));
    assert_non_null(metrics_gauge(m, "depth", "A gauge."));
    assert_null(metrics_counter_shared(m, "depth", "Not a counter."));
    assert_null(metrics_counter_shared(m, "Bad-Name", "Refused."));
    metrics_add(a, 2);
    metrics_add(b, 3);
    char *text = metrics_render(m);
    assert_non_null(strstr(text, "eqms_rating_ingest_bus_rejected_total 5\n"));
    free(text);
    metrics_destroy(&m);
}

static void test_bad_service_and_null_handling(void **state)
{
    (void) state;
    assert_null(metrics_new(NULL));
    assert_null(metrics_new(""));
    assert_null(metrics_new("Bus"));
    assert_null(metrics_new("bus service"));
    assert_null(metrics_new("1bus"));
    assert_null(metrics_counter(NULL, "x_total", "help"));
    assert_null(metrics_gauge(NULL, "x", "help"));
    assert_null(metrics_render(NULL));
    metrics_destroy(NULL);
    metrics_t *m = NULL;
    metrics_destroy(&m);
    assert_null(m);
}

static void *s_adder(void *arg)
{
    metrics_counter_t *c = arg;
    for (int i = 0; i < 100000; i++)
        metrics_add(c, 1);
    return NULL;
}

static void test_concurrent_updates_not_lost(void **state)
{
    (void) state;
    metrics_t *m = metrics_new("bus");
    metrics_counter_t *c = metrics_counter(m, "hits_total", "Hits.");
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, s_adder, c), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    char *text = metrics_render(m);
    assert_non_null(strstr(text, "\neqms_bus_hits_total 400000\n"));
    free(text);
    metrics_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_counters_and_gauges),
        cmocka_unit_test(test_service_dash_becomes_underscore),
        cmocka_unit_test(test_help_backslash_escaped),
        cmocka_unit_test(test_bad_names_rejected),
        cmocka_unit_test(test_duplicate_names_rejected),
        cmocka_unit_test(test_shared_counter),
        cmocka_unit_test(test_bad_service_and_null_handling),
        cmocka_unit_test(test_concurrent_updates_not_lost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
