/*  Unit tests: gw_registry (snapshot decoding, hostile snapshots, the disk
 *  cache, unknown serials). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tmpdir.h"
#include "eqms/log.h"
#include "../../services/device-gateway/gw_registry.h"

#define BRANCH "hq.r01.b0001"

static const char *s_good =
    "{\"branch\":\"hq.r01.b0001\",\"generated\":\"2026-11-22T13:09:00.123Z\","
    "\"devices\":["
    "{\"serial\":\"EQ-B0001-W03\",\"window\":{\"id\":12,\"number\":3,\"code\":\"w03\","
    "\"path\":\"hq.r01.b0001.w03\"},"
    "\"scale\":{\"code\":\"five\",\"options\":["
    "{\"code\":1,\"label\":\"非常满意\",\"score\":5},"
    "{\"code\":2,\"label\":\"满意\",\"score\":4.5},"
    "{\"code\":3,\"label\":\"不满意\",\"score\":1}]},"
    "\"rating_timeout_s\":30,\"repeat_press_s\":10,\"idle_text\":[\"欢迎光临\",\"\"]},"
    "{\"serial\":\"EQ-SPARE\",\"window\":null,"
    "\"scale\":{\"code\":\"five\",\"options\":["
    "{\"code\":1,\"label\":\"好\",\"score\":5},{\"code\":2,\"label\":\"差\",\"score\":0}]},"
    "\"rating_timeout_s\":30,\"repeat_press_s\":0,\"idle_text\":[]}],"
    "\"staff\":[{\"employee_no\":\"1001\",\"name\":\"张三\",\"active\":true},"
    "{\"employee_no\":\"1002\",\"name\":\"李四\",\"active\":false}]}";

static int setup(void **state)
{
    log_init("test", LOG_LEVEL_ERROR);
    *state = tmpdir_new("test_gw_registry");
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    return tmpdir_remove((char **) state);
}

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    assert_non_null(j);
    return j;
}

static void test_good_snapshot(void **state)
{
    gw_registry_t *reg = gw_registry_new(BRANCH, *state);
    assert_non_null(reg);
    assert_false(gw_registry_loaded(reg));
    json_t *j = parse(s_good);
    char reason[ENVELOPE_REASON_SIZE] = "";
    assert_int_equal(gw_registry_apply(reg, j, reason), 0);
    json_decref(j);
    assert_true(gw_registry_loaded(reg));
    assert_int_equal(gw_registry_count(reg), 2);
    const gw_registry_device_t *d = gw_registry_find(reg, "EQ-B0001-W03");
    assert_non_null(d);
    assert_int_equal(d->window_id, 12);
    assert_int_equal(d->window_number, 3);
    assert_string_equal(d->window_code, "w03");
    assert_string_equal(d->window_path, "hq.r01.b0001.w03");
    assert_int_equal(d->option_count, 3);
    assert_int_equal(d->options[1].code, 2);
    assert_string_equal(d->options[1].label, "满意");
    assert_true(d->options[1].score == 4.5);
    assert_int_equal(d->rating_timeout_s, 30);
    assert_int_equal(d->repeat_press_s, 10);
    assert_int_equal(d->idle_lines, 2);
    assert_string_equal(d->idle_text[0], "欢迎光临");
    assert_non_null(gw_registry_option(d, 3));
    assert_null(gw_registry_option(d, 4));
    /* listed without a window, and not listed at all: both unassigned */
    assert_null(gw_registry_find(reg, "EQ-SPARE"));
    assert_null(gw_registry_find(reg, "EQ-UNKNOWN"));
    assert_true(gw_registry_has_staff(reg));
    assert_string_equal(gw_registry_staff(reg, "1001")->name, "张三");
    assert_false(gw_registry_staff(reg, "1002")->active);
    assert_null(gw_registry_staff(reg, "9999"));
    gw_registry_destroy(&reg);
    assert_null(reg);
}

static void test_cache_round_trip(void **state)
{
    gw_registry_t *reg = gw_registry_new(BRANCH, *state);
    json_t *j = parse(s_good);
    char reason[ENVELOPE_REASON_SIZE];
    assert_int_equal(gw_registry_apply(reg, j, reason), 0);
    json_decref(j);
    gw_registry_device_t before = *gw_registry_find(reg, "EQ-B0001-W03");
    gw_registry_destroy(&reg);
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s/registry.json.tmp", (char *) *state);
    assert_int_not_equal(access(tmp, F_OK), 0);   /* renamed, not left behind */

    /* a restart while the centre is unreachable: served from the cache */
    reg = gw_registry_new(BRANCH, *state);
    assert_true(gw_registry_loaded(reg));
    const gw_registry_device_t *after = gw_registry_find(reg, "EQ-B0001-W03");
    assert_non_null(after);
    assert_true(gw_registry_device_same(&before, after));
    gw_registry_destroy(&reg);

    /* a corrupt cache is ignored, not fatal */
    char path[512];
    snprintf(path, sizeof path, "%s/registry.json", (char *) *state);
    FILE *f = fopen(path, "w");
    fputs("{\"branch\":", f);
    fclose(f);
    reg = gw_registry_new(BRANCH, *state);
    assert_non_null(reg);
    assert_false(gw_registry_loaded(reg));
    gw_registry_destroy(&reg);
}

/* Each hostile variant of the good snapshot is refused and changes nothing. */
static void test_hostile_snapshots(void **state)
{
    static const struct { const char *from, *to; } cases[] = {
        { "\"branch\":\"hq.r01.b0001\"", "\"branch\":\"hq.r01.b0002\"" },
        { "\"generated\":\"2026-11-22T13:09:00.123Z\"", "\"generated\":\"yesterday\"" },
        { "\"generated\":\"2026-11-22T13:09:00.123Z\",",
          "\"generated\":\"2026-11-22T13:09:00.123Z\",\"extra\":1," },
        { "\"serial\":\"EQ-B0001-W03\"", "\"serial\":\"EQ B0001\"" },
        { "\"serial\":\"EQ-SPARE\"", "\"serial\":\"EQ-B0001-W03\"" },
        { "\"id\":12", "\"id\":\"12\"" },
        { "\"id\":12", "\"id\":0" },
        { "\"number\":3", "\"number\":1000" },
        { "\"path\":\"hq.r01.b0001.w03\"", "\"path\":\"hq.r02.b0001.w03\"" },
        { "\"code\":\"w03\"", "\"code\":\"W03\"" },
        { "{\"code\":3,", "{\"code\":2," },
        { "{\"code\":3,", "{\"code\":7," },
        { "\"score\":4.5", "\"score\":5.5" },
        { "\"score\":4.5", "\"score\":\"4.5\"" },
        { "\"label\":\"满意\"", "\"label\":\"\"" },
        { "\"rating_timeout_s\":30,\"repeat_press_s\":10",
          "\"rating_timeout_s\":3,\"repeat_press_s\":10" },
        { "\"repeat_press_s\":10", "\"repeat_press_s\":-1" },
        { "\"idle_text\":[\"欢迎光临\",\"\"]", "\"idle_text\":[\"a\",\"b\",\"c\",\"d\",\"e\"]" },
        { "\"idle_text\":[\"欢迎光临\",\"\"]", "\"idle_text\":[\"a\\nb\"]" },
        { "\"idle_text\":[\"欢迎光临\",\"\"]", "\"idle_text\":[1]" },
        { "\"employee_no\":\"1001\"", "\"employee_no\":\"10a1\"" },
        { "\"active\":true", "\"active\":1" },
        { "\"active\":true}", "\"active\":true,\"phone\":\"+8613800000000\"}" },
        { "\"devices\":[", "\"devices\":{\"x\":[" },
    };
    gw_registry_t *reg = gw_registry_new(BRANCH, *state);
    json_t *j = parse(s_good);
    char reason[ENVELOPE_REASON_SIZE];
    assert_int_equal(gw_registry_apply(reg, j, reason), 0);
    json_decref(j);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *at = strstr(s_good, cases[i].from);
        assert_non_null(at);
        char text[8192];
        snprintf(text, sizeof text, "%.*s%s%s", (int) (at - s_good), s_good,
                 cases[i].to, at + strlen(cases[i].from));
        json_error_t err;
        json_t *bad = json_loads(text, 0, &err);
        reason[0] = 0;
        if (bad) {
            int rc = gw_registry_apply(reg, bad, reason);
            if (rc == 0)
                fail_msg("case %zu accepted: %s", i, cases[i].to);
            assert_true(strlen(reason) > 0);
        }
        json_decref(bad);
        /* the registry in force is unchanged */
        assert_non_null(gw_registry_find(reg, "EQ-B0001-W03"));
        assert_int_equal(gw_registry_find(reg, "EQ-B0001-W03")->window_number, 3);
    }
    json_t *notobj = json_array();
    assert_int_equal(gw_registry_apply(reg, notobj, reason), -1);
    json_decref(notobj);
    gw_registry_destroy(&reg);
}

static void test_staff_optional_and_bad_branch(void **state)
{
    assert_null(gw_registry_new("Not A Path", *state));
    gw_registry_t *reg = gw_registry_new(BRANCH, NULL);   /* no cache */
    json_t *j = parse("{\"branch\":\"hq.r01.b0001\",\"generated\":"
                      "\"2026-11-22T13:09:00.123Z\",\"devices\":[]}");
    char reason[ENVELOPE_REASON_SIZE];
    assert_int_equal(gw_registry_apply(reg, j, reason), 0);
    json_decref(j);
    assert_true(gw_registry_loaded(reg));
    assert_false(gw_registry_has_staff(reg));
    assert_int_equal(gw_registry_count(reg), 0);
    gw_registry_destroy(&reg);
}

static void test_device_same(void **state)
{
    (void) state;
    gw_registry_device_t a, b;
    memset(&a, 0, sizeof a);
    a.assigned = true;
    a.window_id = 1;
    a.option_count = 2;
    a.options[0].code = 1;
    a.options[1].code = 2;
    b = a;
    assert_true(gw_registry_device_same(&a, &b));
    assert_true(gw_registry_device_same(NULL, NULL));
    assert_false(gw_registry_device_same(&a, NULL));
    b.idle_lines = 1;
    snprintf(b.idle_text[0], sizeof b.idle_text[0], "x");
    assert_false(gw_registry_device_same(&a, &b));
    b = a;
    b.window_id = 2;
    assert_false(gw_registry_device_same(&a, &b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_good_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_snapshots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_staff_optional_and_bad_branch, setup,
                                        teardown),
        cmocka_unit_test(test_device_same),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
