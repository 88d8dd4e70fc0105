/*  Unit tests: gw_server in-process with a real forwarder and no USB: replay
 *  of the outbox after a restart, ingest acks, registry request/snapshot and
 *  its cache, rejected commands. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tmpdir.h"
#include "eqms/bus.h"
#include "eqms/clock.h"
#include "eqms/log.h"
#include "eqms/metrics.h"
#include "../../services/bus/forwarder.h"
#include "../../services/device-gateway/gw_outbox.h"
#include "../../services/device-gateway/gw_server.h"

#define GW "device-gateway.b0001"
#define BRANCH "hq.r01.b0001"

typedef struct {
    char *dir;
    forwarder_t *fwd;
} fixture_t;

static int setup(void **state)
{
    log_init("test", LOG_LEVEL_ERROR);
    fixture_t *f = calloc(1, sizeof *f);
    if (!f || !(f->dir = tmpdir_new("test_gw_server")))
        return -1;
    forwarder_config_t fc = { "tcp://127.0.0.1:*", "tcp://127.0.0.1:*", 0, 1 };
    f->fwd = forwarder_new(&fc, NULL);
    *state = f;
    return f->fwd ? 0 : -1;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    forwarder_destroy(&f->fwd);
    int rc = tmpdir_remove(&f->dir);
    free(f);
    return rc;
}

static gw_server_t *start(fixture_t *f, metrics_t *m)
{
    gw_server_config_t cfg = {
        .bus_pub = forwarder_xsub_endpoint(f->fwd),
        .bus_sub = forwarder_xpub_endpoint(f->fwd),
        .gateway_id = GW,
        .branch = BRANCH,
        .state_dir = f->dir,
        .replay_min_ms = 300,
        .replay_max_ms = 1000,
        .registry_retry_ms = 500,
        .usb = false,
    };
    return gw_server_new(&cfg, m);
}

/* Waits for a message of `type` on `sub`; returns it or NULL. */
static envelope_t *wait_for(bus_t *sub, const char *type, int ms, char **topic_p)
{
    int64_t end = clock_mono_ms() + ms;
    while (clock_mono_ms() < end) {
        char *topic = NULL;
        envelope_t *env = NULL;
        if (bus_recv(sub, 100, &topic, &env) == 1) {
            if (strcmp(env->type, type) == 0) {
                if (topic_p)
                    *topic_p = topic;
                else
                    free(topic);
                return env;
            }
            free(topic);
            envelope_destroy(&env);
        }
    }
    return NULL;
}

static void test_replay_after_restart_until_acked(void **state)
{
    fixture_t *f = *state;
    /* a previous run stored three events and died before any ack */
    char ids[3][ID_SIZE], incarnation[ID_SIZE];
    gw_outbox_t *ob = gw_outbox_new(f->dir, GW);
    snprintf(incarnation, sizeof incarnation, "%s", gw_outbox_incarnation(ob));
    for (int i = 0; i < 3; i++) {
        json_t *data = json_pack("{s:i}", "n", i);
        const gw_outbox_entry_t *e = gw_outbox_add(ob, "rating.submitted",
                                                   BRANCH ".w03", &data, "EQ-1", 7,
                                                   (uint32_t) i + 1);
        assert_non_null(e);
        char reason[ENVELOPE_REASON_SIZE];
        envelope_t *env = envelope_decode(e->envelope, e->len, reason);
        snprintf(ids[i], ID_SIZE, "%s", env->id);
        envelope_destroy(&env);
    }
    gw_outbox_sync(ob);
    gw_outbox_destroy(&ob);

    bus_t *sub = bus_new(NULL, forwarder_xpub_endpoint(f->fwd), "unit-sub");
    bus_subscribe(sub, "rating.submitted." BRANCH);
    bus_subscribe(sub, "registry.request." BRANCH);
    bus_t *pub = bus_new(forwarder_xsub_endpoint(f->fwd), NULL, "rating-ingest.1");
    zclock_sleep(200);
    metrics_t *m = metrics_new("device-gateway");
    gw_server_t *gw = start(f, m);
    assert_non_null(gw);

    /* the registry is asked for */
    envelope_t *req = wait_for(sub, "registry.request", 3000, NULL);
    assert_non_null(req);
    assert_string_equal(json_string_value(json_object_get(req->data, "gateway")), GW);
    envelope_destroy(&req);

    /* replayed with the original ids and seqs, then again while unacked */
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 3; i++) {
            char *topic = NULL;
            envelope_t *env = wait_for(sub, "rating.submitted", 5000, &topic);
            assert_non_null(env);
            assert_string_equal(topic, "rating.submitted." BRANCH ".w03");
            assert_string_equal(env->id, ids[i]);
            assert_int_equal(env->seq, i + 1);
            assert_string_equal(env->src, GW);
            /* every event names the journal incarnation that numbers it */
            assert_string_equal(json_string_value(json_object_get(env->data,
                                                                  "incarnation")),
                                incarnation);
            free(topic);
            envelope_destroy(&env);
        }
    }
    /* another gateway's ack, or one for another incarnation of this gateway's
     * journal, changes nothing; ours empties the outbox */
    json_t *other = json_pack("{s:s, s:s, s:i}", "gateway", "device-gateway.b0002",
                              "incarnation", incarnation, "upto", 3);
    assert_int_equal(bus_publish(pub, "ack.ingest", BRANCH, &other, NULL), 0);
    other = json_pack("{s:s, s:s, s:i}", "gateway", GW, "incarnation",
                      "01a2038e-0000-7000-8000-000000000001", "upto", 3);
    assert_int_equal(bus_publish(pub, "ack.ingest", BRANCH, &other, NULL), 0);
    zclock_sleep(500);
    char *text = metrics_render(m);
    assert_null(strstr(text, "eqms_device_gateway_outbox_depth 0"));
    free(text);
    json_t *ack = json_pack("{s:s, s:s, s:i}", "gateway", GW, "incarnation", incarnation,
                            "upto", 3);
    assert_int_equal(bus_publish(pub, "ack.ingest", BRANCH, &ack, NULL), 0);
    zclock_sleep(500);
    text = metrics_render(m);
    assert_non_null(strstr(text, "eqms_device_gateway_outbox_depth 0"));
    assert_non_null(strstr(text, "eqms_device_gateway_acks_total 1"));
    free(text);
    char reason[256];
    assert_int_equal(gw_server_health_check(gw, reason, sizeof reason), 0);
    gw_server_destroy(&gw);
    assert_null(gw);

    ob = gw_outbox_new(f->dir, GW);
    assert_int_equal(gw_outbox_stats(ob).depth, 0);
    assert_int_equal(gw_outbox_stats(ob).last_seq, 3);
    gw_outbox_destroy(&ob);
    bus_destroy(&sub);
    bus_destroy(&pub);
    metrics_destroy(&m);
}

static void test_snapshot_cached_and_bad_command_counted(void **state)
{
    fixture_t *f = *state;
    bus_t *pub = bus_new(forwarder_xsub_endpoint(f->fwd), NULL, "web-api.1");
    metrics_t *m = metrics_new("device-gateway");
    gw_server_t *gw = start(f, m);
    assert_non_null(gw);
    zclock_sleep(400);
    json_error_t err;
    json_t *snap = json_loads(
        "{\"branch\":\"hq.r01.b0001\",\"generated\":\"2026-11-22T13:09:00.123Z\","
        "\"devices\":[{\"serial\":\"EQ-1\",\"window\":{\"id\":1,\"number\":1,"
        "\"code\":\"w01\",\"path\":\"hq.r01.b0001.w01\"},\"scale\":{\"code\":\"s\","
        "\"options\":[{\"code\":1,\"label\":\"好\",\"score\":5},"
        "{\"code\":2,\"label\":\"差\",\"score\":1}]},\"rating_timeout_s\":30,"
        "\"repeat_press_s\":10,\"idle_text\":[]}]}", 0, &err);
    assert_non_null(snap);
    assert_int_equal(bus_publish(pub, "registry.snapshot", BRANCH, &snap, NULL), 0);
    json_t *cmd = json_pack("{s:s, s:s, s:i}", "serial", "EQ-1", "command", "stars",
                            "stars", 9);
    assert_int_equal(bus_publish(pub, "cmd.device", BRANCH ".w01", &cmd, NULL), 0);
    cmd = json_pack("{s:s, s:s, s:i}", "serial", "EQ-1", "command", "stars", "stars", 3);
    assert_int_equal(bus_publish(pub, "cmd.device", BRANCH ".w01", &cmd, NULL), 0);
    zclock_sleep(600);
    char path[128];
    snprintf(path, sizeof path, "%s/registry.json", f->dir);
    assert_int_equal(access(path, F_OK), 0);
    char *text = metrics_render(m);
    /* one malformed, one for a device that is not plugged in */
    assert_non_null(strstr(text, "eqms_device_gateway_commands_rejected_total 2"));
    free(text);
    gw_server_destroy(&gw);
    bus_destroy(&pub);
    metrics_destroy(&m);
}

static void test_unwritable_state_dir_fails_health(void **state)
{
    fixture_t *f = *state;
    gw_server_t *gw = start(f, NULL);
    assert_non_null(gw);
    char reason[256];
    assert_int_equal(gw_server_health_check(gw, reason, sizeof reason), 0);
    if (geteuid() != 0) {   /* root writes anywhere */
        assert_int_equal(chmod(f->dir, 0500), 0);
        assert_int_equal(gw_server_health_check(gw, reason, sizeof reason), -1);
        assert_non_null(strstr(reason, "not writable"));
        chmod(f->dir, 0700);
    }
    gw_server_destroy(&gw);
    gw_server_config_t bad = { .gateway_id = GW, .branch = "Bad Branch",
                               .state_dir = f->dir };
    assert_null(gw_server_new(&bad, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_replay_after_restart_until_acked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_snapshot_cached_and_bad_command_counted,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_state_dir_fails_health, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
