/*  Unit tests: qm_rules, work profiles, counted rotation, numbers and names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../services/queue-manager/qm_rules.h"

static void test_profile_text(void **state)
{
    (void) state;
    qm_profile_t p, q;
    qm_profile_init(&p);
    p.strategy = QM_STRATEGY_WEIGHTED;
    p.weights[QM_CLASS_VIP] = 2;
    p.weights[QM_CLASS_ORDINARY] = 1;
    p.service_count = 3;
    p.services[0] = 3;
    p.services[1] = 1;
    p.services[2] = 9000000000LL;
    char text[QM_DETAIL_SIZE], reason[QM_REASON_SIZE];
    assert_int_equal(qm_profile_format(&p, text, sizeof text), 0);
    assert_string_equal(text, "weighted;vip=2;ordinary=1;services=3,1,9000000000");
    assert_int_equal(qm_profile_parse(text, &q, reason), 0);
    assert_memory_equal(&p, &q, sizeof p);
    assert_int_equal(qm_profile_parse("strict;vip=2;ordinary=1;services=", &q, reason), 0);
    assert_int_equal(q.service_count, 0);
    assert_int_equal(qm_profile_format(&p, text, 10), -1);
    /* Every size: fits exactly with room for the NUL, or is refused. */
    size_t whole = strlen("weighted;vip=2;ordinary=1;services=3,1,9000000000");
    for (size_t size = 1; size <= whole + 1; size++) {
        char cut[QM_DETAIL_SIZE];
        assert_int_equal(qm_profile_format(&p, cut, size), size == whole + 1 ? 0 : -1);
        assert_true(strlen(cut) < size);
    }

    static const char *bad[] = {
        "", "fast;vip=2;ordinary=1;services=1", "strict;vip=0;ordinary=1;services=1",
        "strict;vip=2;ordinary=101;services=1", "strict;vip=2;ordinary=1;services=1,1",
        "strict;vip=2;ordinary=1;services=1,", "strict;vip=2;ordinary=1;services=-1",
        "strict;vip=2;ordinary=1", "strict;vip=2;ordinary=1;services=1;x", "strict",
        "strict;vip=x;ordinary=1;services=1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reason[0] = '\0';
        if (qm_profile_parse(bad[i], &q, reason) == 0)
            fail_msg("accepted '%s'", bad[i]);
        assert_true(strlen(reason) > 0);
    }
    assert_int_equal(qm_profile_parse(NULL, &q, reason), -1);
    /* a service listed twice is well formed, and not valid */
    assert_int_equal(qm_profile_read("strict;vip=2;ordinary=1;services=1,1", &q, reason), 0);
    assert_int_equal(q.service_count, 2);
    assert_int_equal(qm_profile_check(&q, reason), -1);
    assert_non_null(strstr(reason, "twice"));
}

static void test_profile_check(void **state)
{
    (void) state;
    qm_profile_t p;
    char reason[QM_REASON_SIZE];
    qm_profile_init(&p);
    assert_int_equal(qm_profile_check(&p, reason), 0);
    p.service_count = QM_PROFILE_MAX + 1;
    assert_int_equal(qm_profile_check(&p, reason), -1);
    qm_profile_init(&p);
    p.strategy = (qm_strategy_t) 9;
    assert_int_equal(qm_profile_check(&p, reason), -1);
    assert_non_null(strstr(reason, "strategy"));
    qm_profile_init(&p);
    p.service_count = 1;
    p.services[0] = 0;
    assert_int_equal(qm_profile_check(&p, reason), -1);
    assert_int_equal(qm_profile_check(NULL, reason), -1);
}

/* Runs the rotation for `calls` picks with both keys always available
 * unless `vip_left` / `ordinary_left` run out; writes V / O. */
static void s_rotate(const int weights[2], int vip_left, int ordinary_left, int calls,
                     char *out)
{
    int counts[2] = { 0, 0 };
    int left[2];
    left[QM_CLASS_VIP] = vip_left;
    left[QM_CLASS_ORDINARY] = ordinary_left;
    for (int i = 0; i < calls; i++) {
        bool available[2] = { left[0] > 0, left[1] > 0 };
        int k = qm_rotation_pick(weights, counts, available);
        if (k < 0) {
            out[i] = '-';
            continue;
        }
        left[k]--;
        qm_rotation_note(weights, counts, k);
        out[i] = k == QM_CLASS_VIP ? 'V' : 'O';
    }
    out[calls] = '\0';
}

static void test_rotation(void **state)
{
    (void) state;
    char seq[64];
    int w21[2];
    w21[QM_CLASS_VIP] = 2;
    w21[QM_CLASS_ORDINARY] = 1;
    s_rotate(w21, 100, 100, 9, seq);
    assert_string_equal(seq, "VVOVVOVVO");
    s_rotate(w21, 3, 100, 8, seq);           /* VIP runs out: no stall */
    assert_string_equal(seq, "VVOVOOOO");
    s_rotate(w21, 100, 0, 5, seq);           /* no ordinary at all */
    assert_string_equal(seq, "VVVVV");
    s_rotate(w21, 1, 1, 3, seq);
    assert_string_equal(seq, "VO-");
    int w13[2];
    w13[QM_CLASS_VIP] = 1;
    w13[QM_CLASS_ORDINARY] = 3;
    s_rotate(w13, 100, 100, 8, seq);
    assert_string_equal(seq, "VOOOVOOO");
    /* note ignores keys out of range */
    int counts[2] = { 1, 1 };
    qm_rotation_note(w21, counts, 5);
    assert_int_equal(counts[0] + counts[1], 2);
}

static void test_numbers_and_names(void **state)
{
    (void) state;
    char out[QM_NUMBER_SIZE];
    assert_int_equal(qm_number_format("A", 999, 12, out), 0);
    assert_string_equal(out, "A012");
    assert_int_equal(qm_number_format("VIP", 9999, 7, out), 0);
    assert_string_equal(out, "VIP0007");
    assert_int_equal(qm_number_format("A", 1000, 1000, out), 0);
    assert_string_equal(out, "A1000");
    assert_int_equal(qm_number_format("A", 999, 1000, out), -1);
    assert_int_equal(qm_number_format("A", 999, 0, out), -1);
    assert_int_equal(qm_number_format("a", 999, 1, out), -1);
    assert_int_equal(qm_number_format("ABCD", 999, 1, out), -1);
    assert_false(qm_prefix_valid(""));
    assert_false(qm_prefix_valid(NULL));
    assert_true(qm_prefix_valid("AB"));

    assert_string_equal(qm_class_name(QM_CLASS_GREEN), "green");
    assert_string_equal(qm_class_name((qm_class_t) 9), "?");
    assert_string_equal(qm_strategy_name(QM_STRATEGY_LONGEST_WAIT), "longest_wait");
    assert_string_equal(qm_err_name(QM_ERR_RECALL_LIMIT), "recall_limit");
    assert_string_equal(qm_err_name(QM_ERR_NO_MEMORY), "no_memory");
    assert_string_equal(qm_err_name(QM_ERR_CLOSED), "closed");
    assert_string_equal(qm_err_name(QM_ERR_ISSUING_STOPPED), "issuing_stopped");
    assert_string_equal(qm_err_name((qm_err_t) 99), "?");
    qm_class_t k;
    assert_int_equal(qm_class_parse("vip", &k), 0);
    assert_int_equal(k, QM_CLASS_VIP);
    assert_int_equal(qm_class_parse("VIP", &k), -1);
    qm_strategy_t s;
    assert_int_equal(qm_strategy_parse("weighted", &s), 0);
    assert_int_equal(s, QM_STRATEGY_WEIGHTED);
    assert_int_equal(qm_strategy_parse(NULL, &s), -1);
    char reason[QM_REASON_SIZE];
    assert_int_equal(qm_refuse(reason, QM_ERR_BUSY, "window %d", 3), QM_ERR_BUSY);
    assert_string_equal(reason, "window 3");
    assert_int_equal(qm_refuse(NULL, QM_ERR_BUSY, "x"), QM_ERR_BUSY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_profile_text),
        cmocka_unit_test(test_profile_check),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_numbers_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
