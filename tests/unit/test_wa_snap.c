/*  Unit tests: wa_snap, the live hall snapshots web-api keeps between the
 *  changes of their branch (forgetting, reads under way, age, growth). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../services/web-api/wa_snap.h"

/* The kept text of `branch` compared with `want` (NULL: none kept). */
static void s_kept(wa_snap_t *snap, const char *branch, const char *want)
{
    size_t len = 0;
    char *got = wa_snap_get(snap, branch, &len);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(len, strlen(want));
    free(got);
}

static int s_put(wa_snap_t *snap, const char *branch, uint64_t gen, const char *text)
{
    return wa_snap_put(snap, branch, gen, text, strlen(text));
}

static void test_a_state_is_kept_until_its_branch_is_forgotten(void **state)
{
    (void) state;
    wa_snap_t *snap = wa_snap_new(60000);
    s_kept(snap, "hq.r01.b0001", NULL);
    assert_int_equal(s_put(snap, "hq.r01.b0001", wa_snap_begin(snap), "{\"a\":1}"), 0);
    assert_int_equal(s_put(snap, "hq.r01.b0002", wa_snap_begin(snap), "{\"b\":2}"), 0);
    s_kept(snap, "hq.r01.b0001", "{\"a\":1}");
    s_kept(snap, "hq.r01.b0001", "{\"a\":1}");            /* reading keeps it */
    wa_snap_forget(snap, "hq.r01.b0001");
    s_kept(snap, "hq.r01.b0001", NULL);
    s_kept(snap, "hq.r01.b0002", "{\"b\":2}");            /* another branch stays */
    /* read again after the change: kept again */
    assert_int_equal(s_put(snap, "hq.r01.b0001", wa_snap_begin(snap), "{\"a\":3}"), 0);
    s_kept(snap, "hq.r01.b0001", "{\"a\":3}");
    wa_snap_forget(snap, NULL);                           /* a configuration change */
    s_kept(snap, "hq.r01.b0001", NULL);
    s_kept(snap, "hq.r01.b0002", NULL);
    wa_snap_destroy(&snap);
    assert_null(snap);
    wa_snap_destroy(&snap);
    wa_snap_destroy(NULL);
}

static void test_a_state_read_across_a_change_is_not_kept(void **state)
{
    (void) state;
    wa_snap_t *snap = wa_snap_new(60000);
    /* read began, then the branch changed, then the (older) state came */
    uint64_t gen = wa_snap_begin(snap);
    wa_snap_forget(snap, "hq.r01.b0001");
    assert_int_equal(s_put(snap, "hq.r01.b0001", gen, "{\"old\":1}"), -1);
    s_kept(snap, "hq.r01.b0001", NULL);
    /* a change of another branch does not spoil this one's read */
    gen = wa_snap_begin(snap);
    wa_snap_forget(snap, "hq.r02.b0003");
    assert_int_equal(s_put(snap, "hq.r01.b0001", gen, "{\"new\":1}"), 0);
    s_kept(snap, "hq.r01.b0001", "{\"new\":1}");
    /* a branch never read before, changed during its first read */
    gen = wa_snap_begin(snap);
    wa_snap_forget(snap, "hq.r01.b0009");
    assert_int_equal(s_put(snap, "hq.r01.b0009", gen, "{\"old\":9}"), -1);
    /* every branch forgotten during a read */
    gen = wa_snap_begin(snap);
    wa_snap_forget(snap, NULL);
    assert_int_equal(s_put(snap, "hq.r01.b0004", gen, "{\"old\":4}"), -1);
    s_kept(snap, "hq.r01.b0004", NULL);
    wa_snap_destroy(&snap);
}

static void test_a_state_expires_and_zero_keeps_nothing(void **state)
{
    (void) state;
    wa_snap_t *snap = wa_snap_new(30);
    assert_int_equal(s_put(snap, "hq.r01.b0001", wa_snap_begin(snap), "{}"), 0);
    s_kept(snap, "hq.r01.b0001", "{}");
    usleep(60 * 1000);
    s_kept(snap, "hq.r01.b0001", NULL);
    wa_snap_destroy(&snap);
    snap = wa_snap_new(0);
    assert_int_equal(s_put(snap, "hq.r01.b0001", wa_snap_begin(snap), "{}"), -1);
    s_kept(snap, "hq.r01.b0001", NULL);
    wa_snap_destroy(&snap);
}

static void test_many_branches_are_told_apart(void **state)
{
    (void) state;
    wa_snap_t *snap = wa_snap_new(60000);
    char branch[64], text[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(branch, sizeof branch, "hq.r%02d.b%04d", i % 7, i);
        snprintf(text, sizeof text, "{\"n\":%d}", i);
        assert_int_equal(s_put(snap, branch, wa_snap_begin(snap), text), 0);
        if (i % 3 == 0)
            wa_snap_forget(snap, branch);
    }
    for (int i = 0; i < 3000; i++) {
        snprintf(branch, sizeof branch, "hq.r%02d.b%04d", i % 7, i);
        snprintf(text, sizeof text, "{\"n\":%d}", i);
        s_kept(snap, branch, i % 3 == 0 ? NULL : text);
    }
    wa_snap_destroy(&snap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_state_is_kept_until_its_branch_is_forgotten),
        cmocka_unit_test(test_a_state_read_across_a_change_is_not_kept),
        cmocka_unit_test(test_a_state_expires_and_zero_keeps_nothing),
        cmocka_unit_test(test_many_branches_are_told_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
