/*  Unit tests: ri_prefixes, a rating-ingest worker's share of the tree (the
 *  check against org_node is in tests/system/test_rating_ingest.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "../../services/rating-ingest/ri_prefixes.h"

static void test_parses_the_list(void **state)
{
    (void) state;
    char err[256] = "";
    ri_prefixes_t *p = ri_prefixes_new(" hq.r01 ,hq.r02.b0003,, ", err, sizeof err);
    assert_non_null(p);
    assert_int_equal(ri_prefixes_count(p), 2);
    assert_string_equal(ri_prefixes_get(p, 0), "hq.r01");
    assert_string_equal(ri_prefixes_get(p, 1), "hq.r02.b0003");
    assert_null(ri_prefixes_get(p, 2));
    assert_string_equal(ri_prefixes_ltree(p), "{hq.r01,hq.r02.b0003}");
    ri_prefixes_destroy(&p);
    assert_null(p);
    ri_prefixes_destroy(NULL);

    p = ri_prefixes_new("", err, sizeof err);
    assert_non_null(p);
    assert_int_equal(ri_prefixes_count(p), 0);
    assert_string_equal(ri_prefixes_ltree(p), "{}");
    assert_true(ri_prefixes_take(p, "hq.r09.b1234.w01"));
    ri_prefixes_destroy(&p);
    p = ri_prefixes_new(NULL, err, sizeof err);
    assert_non_null(p);
    ri_prefixes_destroy(&p);
}

static void test_refuses_what_is_not_an_org_path(void **state)
{
    (void) state;
    const char *bad[] = { "HQ", "hq..r01", "hq.r01.", "hq r01", "hq.r-1", "hq/r01" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[256] = "";
        assert_null(ri_prefixes_new(bad[i], err, sizeof err));
        assert_non_null(strstr(err, "EQMS_INGEST_PREFIXES"));
        assert_non_null(strstr(err, "not an org path"));
    }
    char many[65 * 8] = "";
    for (int i = 0; i < 65; i++)
        strcat(many, i ? ",hq.r01" : "hq.r01");
    char err[256] = "";
    assert_null(ri_prefixes_new(many, err, sizeof err));
    assert_non_null(strstr(err, "more than 64"));
}

static void test_takes_whole_labels(void **state)
{
    (void) state;
    char err[256];
    ri_prefixes_t *p = ri_prefixes_new("hq.r01,hq.r02.b0003", err, sizeof err);
    assert_non_null(p);
    assert_true(ri_prefixes_take(p, "hq.r01"));
    assert_true(ri_prefixes_take(p, "hq.r01.b0001"));
    assert_true(ri_prefixes_take(p, "hq.r01.b0001.w03"));
    assert_true(ri_prefixes_take(p, "hq.r02.b0003.w01"));
    assert_false(ri_prefixes_take(p, "hq.r010.b0001"));
    assert_false(ri_prefixes_take(p, "hq.r02.b00031"));
    assert_false(ri_prefixes_take(p, "hq.r02.b0004"));
    assert_false(ri_prefixes_take(p, "hq"));
    ri_prefixes_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_the_list),
        cmocka_unit_test(test_refuses_what_is_not_an_org_path),
        cmocka_unit_test(test_takes_whole_labels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
