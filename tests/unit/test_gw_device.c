/*  Unit tests: gw_device, the gateway's device table: the order of a power-up's
 *  stored events (never acknowledge past a gap), owed ACKs, sessions.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tmpdir.h"
#include "eqms/log.h"
#include "../../services/device-gateway/gw_device.h"

#define SRC "device-gateway.b0001"

static int setup(void **state)
{
    log_init("test", LOG_LEVEL_ERROR);
    *state = tmpdir_new("test_gw_device");
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    return tmpdir_remove((char **) state);
}

static void store(gw_outbox_t *ob, const char *serial, uint32_t boot, uint32_t dseq)
{
    json_t *data = json_object();
    assert_non_null(gw_outbox_add(ob, "call.request", "hq.r01.b0001", &data, serial, boot,
                                  dseq));
}

static void test_order_of_stored_events(void **state)
{
    gw_outbox_t *ob = gw_outbox_new(*state, SRC);
    gw_devices_t *t = gw_devices_new();
    gw_device_t *d = gw_devices_get(t, "EQ-1", true);
    assert_non_null(d);
    assert_ptr_equal(gw_devices_get(t, "EQ-1", false), d);
    assert_null(gw_devices_get(t, "EQ-2", false));

    /* first sight of a power-up: the oldest event the device holds */
    gw_device_connected(d);
    assert_int_equal(gw_device_order(d, ob, 7, 5), GW_DEVICE_STORE);
    /* not stored (the outbox refused it): only seq 5 may come next */
    assert_int_equal(gw_device_order(d, ob, 7, 6), GW_DEVICE_HOLD);
    assert_int_equal(gw_device_order(d, ob, 7, 5), GW_DEVICE_STORE);
    store(ob, "EQ-1", 7, 5);
    assert_int_equal(gw_device_order(d, ob, 7, 5), GW_DEVICE_REPEAT);
    assert_int_equal(gw_device_order(d, ob, 7, 4), GW_DEVICE_REPEAT);
    assert_int_equal(gw_device_order(d, ob, 7, 7), GW_DEVICE_HOLD);   /* 6 is missing */
    assert_int_equal(gw_device_order(d, ob, 7, 6), GW_DEVICE_STORE);
    store(ob, "EQ-1", 7, 6);
    assert_int_equal(gw_device_order(d, ob, 7, 7), GW_DEVICE_STORE);
    /* a new power-up starts where the device's ring starts */
    assert_int_equal(gw_device_order(d, ob, 8, 1), GW_DEVICE_STORE);
    assert_int_equal(gw_device_order(d, ob, 8, 3), GW_DEVICE_HOLD);
    /* another connection: the device sends its ring again from the oldest */
    gw_device_connected(d);
    assert_int_equal(gw_device_order(d, ob, 8, 2), GW_DEVICE_STORE);

    /* ACKs owed: the highest of the boot, dropped after a failed sync */
    gw_device_owe_ack(d, 7, 5);
    gw_device_owe_ack(d, 7, 3);
    assert_true(d->ack_due);
    assert_int_equal(d->ack_upto, 5);
    gw_device_owe_ack(d, 8, 1);
    assert_int_equal(d->ack_boot, 8);
    assert_int_equal(d->ack_upto, 1);
    gw_devices_drop_acks(t);
    assert_false(d->ack_due);
    gw_devices_destroy(&t);
    gw_outbox_destroy(&ob);
}

static void test_sessions_survive_a_restart_for_the_same_power_up(void **state)
{
    gw_devices_t *t = gw_devices_new();
    gw_device_t *d = gw_devices_get(t, "EQ-1", true);
    d->boot_known = true;
    d->boot = 42;
    snprintf(d->employee, sizeof d->employee, "1001");
    d->service_start_uptime = 12345;
    gw_device_t *e = gw_devices_get(t, "EQ-2", true);   /* never seen: not saved */
    (void) e;
    assert_int_equal(gw_devices_count(t), 2);
    gw_devices_save_sessions(t, *state);
    gw_devices_destroy(&t);

    t = gw_devices_new();
    gw_devices_load_sessions(t, *state);
    assert_int_equal(gw_devices_count(t), 1);
    d = gw_devices_get(t, "EQ-1", false);
    assert_non_null(d);
    assert_true(d->saved);
    assert_int_equal(d->saved_boot, 42);
    assert_string_equal(d->employee, "1001");
    assert_int_equal(d->service_start_uptime, 12345);
    assert_int_equal(gw_devices_online(t), 0);
    gw_devices_destroy(&t);

    /* a bad file is logged and ignored */
    char path[600];
    snprintf(path, sizeof path, "%s/sessions.json", (char *) *state);
    FILE *f = fopen(path, "w");
    fputs("{\"EQ-1\": {\"boot\": -1, \"employee_no\": null, \"service_start_uptime\": null},"
          " \"EQ-3\": 7}", f);
    fclose(f);
    t = gw_devices_new();
    gw_devices_load_sessions(t, *state);
    assert_int_equal(gw_devices_count(t), 0);
    gw_devices_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_of_stored_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions_survive_a_restart_for_the_same_power_up,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
