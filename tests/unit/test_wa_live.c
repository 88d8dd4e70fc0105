/*  Unit tests: wa_live, the bus messages web-api turns into live events (the
 *  channels of a branch and of every node above it; what it ignores). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/web-api/wa_live.h"

typedef struct {
    sse_hub_t *hub;
    wa_live_t *live;
} s_fixture_t;

static int s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    f->hub = sse_hub_new(&(sse_config_t) { 0 });
    session_config_t session = { 0 };
    f->live = wa_live_new(f->hub, "", &session, 60000, NULL);
    assert_non_null(f->live);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *f = *state;
    wa_live_destroy(&f->live);
    sse_hub_destroy(&f->hub);
    free(f);
    return 0;
}

/* What one message published: the number of events, checked against the
 * hub's ids (one per channel). */
static int s_feed(s_fixture_t *f, const char *type, const char *path, const char *data)
{
    json_error_t error;
    json_t *json = json_loads(data, 0, &error);
    assert_non_null(json);
    envelope_t *env = envelope_new(type, "test.1", 1, &json);
    assert_non_null(env);
    char topic[300];
    snprintf(topic, sizeof topic, "%s.%s", type, path);
    uint64_t before = sse_last_id(f->hub);
    int n = wa_live_bus(f->live, topic, env);
    assert_int_equal(sse_last_id(f->hub) - before, (uint64_t) n);
    envelope_destroy(&env);
    return n;
}

static void test_a_branch_event_goes_to_the_branch_and_every_node_above(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(s_feed(f, "ticket.called", "hq.r01.b0001", "{\"number\":\"A012\"}"), 3);
    assert_int_equal(s_feed(f, "display", "hq.r01.b0001", "{\"called\":[]}"), 3);
    assert_int_equal(s_feed(f, "announce", "hq.b0009", "{\"text\":\"x\"}"), 2);
    /* a window's rating: its branch is the path above the window */
    assert_int_equal(s_feed(f, "rating.stored", "hq.r01.b0001.w03", "{\"score\":4}"), 3);
    /* without Redis no queues event follows: only the streams' check, a
     * minute away, waits */
    int next = wa_live_tick(f->live, NULL);
    assert_true(next > 59000 && next <= 60000);
}

static void test_a_device_event_names_its_branch(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(s_feed(f, "device.online", "hq.r01.b0001.w03",
                            "{\"branch\":\"hq.r01.b0001\",\"serial\":\"EQ-1\"}"), 3);
    assert_int_equal(s_feed(f, "device.offline", "hq.r01.b0001",
                            "{\"branch\":\"hq.r01.b0001\",\"serial\":\"EQ-1\"}"), 3);
    /* a branch that is not the topic's, or none: ignored */
    assert_int_equal(s_feed(f, "device.online", "hq.r01.b0001.w03",
                            "{\"branch\":\"hq.r02.b0003\"}"), 0);
    assert_int_equal(s_feed(f, "device.online", "hq.r01.b00011",
                            "{\"branch\":\"hq.r01.b0001\"}"), 0);
    assert_int_equal(s_feed(f, "device.offline", "hq.r01.b0001", "{}"), 0);
}

static void test_other_messages_are_ignored(void **state)
{
    s_fixture_t *f = *state;
    assert_int_equal(s_feed(f, "registry.request", "hq.r01.b0001", "{}"), 0);
    assert_int_equal(s_feed(f, "star.grade", "hq.r01.b0001.w03", "{}"), 0);
    assert_int_equal(s_feed(f, "rating.stored", "hq", "{}"), 0);
    /* a topic that is not the envelope's type */
    json_t *data = json_object();
    envelope_t *env = envelope_new("ticket.called", "test.1", 1, &data);
    assert_int_equal(wa_live_bus(f->live, "ticket.calledx.hq.r01", env), 0);
    assert_int_equal(wa_live_bus(f->live, "display.hq.r01", env), 0);
    envelope_destroy(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_a_branch_event_goes_to_the_branch_and_every_node_above,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_a_device_event_names_its_branch, s_setup,
                                        s_teardown),
        cmocka_unit_test_setup_teardown(test_other_messages_are_ignored, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
