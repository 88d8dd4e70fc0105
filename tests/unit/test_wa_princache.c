/*  Unit tests: wa_princache, the principals web-api keeps between the
 *  changes of users, roles, nodes and tokens (generation, age, kinds,
 *  slots taken by another key). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../../services/web-api/wa_princache.h"

static wa_principal_t s_user(const char *name, const char *path, uint64_t perms)
{
    wa_principal_t who = { .node_id = 3, .perms = perms, .must_change_password = true };
    snprintf(who.name, sizeof who.name, "%s", name);
    snprintf(who.node_path, sizeof who.node_path, "%s", path);
    return who;
}

static void test_kept_at_its_generation_only(void **state)
{
    (void) state;
    wa_princache_t *cache = wa_princache_new(64, 60000);
    wa_principal_t who = s_user("ann", "hq.r01", 0x5), got;
    memset(&got, 0, sizeof got);
    assert_false(wa_princache_get(cache, SESSION_LOGIN, 7, 100, &got));
    wa_princache_put(cache, SESSION_LOGIN, 7, 100, &who);
    assert_true(wa_princache_get(cache, SESSION_LOGIN, 7, 100, &got));
    assert_string_equal(got.name, "ann");
    assert_string_equal(got.node_path, "hq.r01");
    assert_int_equal(got.node_id, 3);
    assert_int_equal(got.perms, 0x5);
    assert_true(got.must_change_password);
    /* a change raised the generation: the entry is never answered again */
    assert_false(wa_princache_get(cache, SESSION_LOGIN, 7, 101, &got));
    /* nor for an older lookup */
    assert_false(wa_princache_get(cache, SESSION_LOGIN, 7, 99, &got));
    uint64_t hits, misses;
    wa_princache_counts(cache, &hits, &misses);
    assert_int_equal(hits, 1);
    assert_int_equal(misses, 3);
    wa_princache_destroy(&cache);
    assert_null(cache);
}

static void test_a_user_and_a_token_of_one_id_are_apart(void **state)
{
    (void) state;
    wa_princache_t *cache = wa_princache_new(1, 60000);     /* one slot: both in it */
    wa_principal_t user = s_user("ann", "hq", 1), token = s_user("kiosk", "hq.r01.b0001", 0);
    wa_principal_t got;
    wa_princache_put(cache, SESSION_LOGIN, 9, 5, &user);
    wa_princache_put(cache, SESSION_API, 9, 5, &token);
    assert_false(wa_princache_get(cache, SESSION_LOGIN, 9, 5, &got));   /* taken by the token */
    assert_true(wa_princache_get(cache, SESSION_API, 9, 5, &got));
    assert_string_equal(got.name, "kiosk");
    /* another id of the same kind in the one slot */
    wa_princache_put(cache, SESSION_API, 10, 5, &user);
    assert_false(wa_princache_get(cache, SESSION_API, 9, 5, &got));
    assert_true(wa_princache_get(cache, SESSION_API, 10, 5, &got));
    wa_princache_destroy(&cache);
}

static void test_kept_no_longer_than_its_age(void **state)
{
    (void) state;
    wa_princache_t *cache = wa_princache_new(0, 50);
    wa_principal_t who = s_user("bob", "hq", 2), got;
    wa_princache_put(cache, SESSION_LOGIN, 1, 8, &who);
    assert_true(wa_princache_get(cache, SESSION_LOGIN, 1, 8, &got));
    usleep(80 * 1000);
    assert_false(wa_princache_get(cache, SESSION_LOGIN, 1, 8, &got));
    wa_princache_destroy(&cache);
    /* an age of 0 keeps nothing */
    cache = wa_princache_new(0, 0);
    wa_princache_put(cache, SESSION_LOGIN, 1, 8, &who);
    assert_false(wa_princache_get(cache, SESSION_LOGIN, 1, 8, &got));
    wa_princache_destroy(&cache);
    wa_princache_destroy(&cache);   /* twice: nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept_at_its_generation_only),
        cmocka_unit_test(test_a_user_and_a_token_of_one_id_are_apart),
        cmocka_unit_test(test_kept_no_longer_than_its_age),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
