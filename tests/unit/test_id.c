/*  Unit tests: id (UUID v7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "eqms/clock.h"
#include "eqms/id.h"

#define N 20000

static void test_ids_are_unique_and_ordered(void **state)
{
    (void) state;
    char (*ids)[ID_SIZE] = malloc(N * sizeof *ids);
    for (int i = 0; i < N; i++) {
        assert_int_equal(id_new(ids[i]), 0);
        assert_true(id_valid(ids[i]));
        assert_int_equal(ids[i][14], '7');
        assert_true(strchr("89ab", ids[i][19]) != NULL);
        if (i)
            assert_true(strcmp(ids[i - 1], ids[i]) < 0);
    }
    free(ids);
}

static void test_ordered_when_clock_stands_still_or_steps_back(void **state)
{
    (void) state;
    char a[ID_SIZE], b[ID_SIZE];
    clock_set_fake(1800000000000LL);
    assert_int_equal(id_new(a), 0);
    for (int i = 0; i < 10000; i++) {   /* more than 4096 in one ms */
        assert_int_equal(id_new(b), 0);
        assert_true(strcmp(a, b) < 0);
        memcpy(a, b, ID_SIZE);
    }
    clock_set_fake(1700000000000LL);    /* the clock stepped back */
    assert_int_equal(id_new(b), 0);
    assert_true(strcmp(a, b) < 0);
    clock_set_fake(0);
}

static void test_time_is_recoverable(void **state)
{
    (void) state;
    char id[ID_SIZE];
    clock_set_fake(1900000000123LL);
    id_new(id);
    clock_set_fake(0);
    assert_int_equal(id_time_ms(id), 1900000000123LL);
}

static void test_v7_or_nil(void **state)
{
    (void) state;
    char id[ID_SIZE];
    assert_int_equal(id_new(id), 0);
    assert_true(id_v7_or_nil(id));
    assert_true(id_v7_or_nil(ID_NIL));
    assert_true(id_v7_or_nil("01a2038e-a3b4-740f-a053-e884efc69913"));
    /* version 4, a wrong variant, upper case, short, NULL */
    assert_false(id_v7_or_nil("01a2038e-a3b4-440f-a053-e884efc69913"));
    assert_false(id_v7_or_nil("01a2038e-a3b4-740f-c053-e884efc69913"));
    assert_false(id_v7_or_nil("01A2038E-a3b4-740f-a053-e884efc69913"));
    assert_false(id_v7_or_nil("00000000-0000-0000-0000-00000000000"));
    assert_false(id_v7_or_nil("00000000-0000-0000-0000-000000000001"));
    assert_false(id_v7_or_nil(NULL));
    /* id_v7: the same without nil */
    assert_true(id_v7(id));
    assert_true(id_v7("01a2038e-a3b4-740f-a053-e884efc69913"));
    assert_true(id_v7("01a2038e-a3b4-740f-b053-e884efc69913"));
    assert_false(id_v7(ID_NIL));
    assert_false(id_v7("01a2038e-a3b4-440f-a053-e884efc69913"));
    assert_false(id_v7("01a2038e-a3b4-740f-7053-e884efc69913"));
    assert_false(id_v7("01a2038e-a3b4-740f-c053-e884efc69913"));
    assert_false(id_v7("01A2038E-a3b4-740f-a053-e884efc69913"));
    assert_false(id_v7(NULL));
}

/* The random bytes come from a pool: a forked child must not reuse the
 * parent's (its ids would collide with the parent's next ones). */
static void test_forked_child_draws_its_own_random_bytes(void **state)
{
    (void) state;
    char first[ID_SIZE], parent[ID_SIZE], child[ID_SIZE] = "";
    assert_int_equal(id_new(first), 0);          /* the pool is filled now */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char id[ID_SIZE];
        int ok = id_new(id) == 0 && write(fds[1], id, ID_SIZE) == ID_SIZE;
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(id_new(parent), 0);
    assert_int_equal(read(fds[0], child, ID_SIZE), ID_SIZE);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    close(fds[0]);
    close(fds[1]);
    /* the last 12 hex digits are random bits only */
    assert_string_not_equal(parent + 24, child + 24);
}

static void test_validation_rejects_malformed(void **state)
{
    (void) state;
    assert_true(id_valid("0193a2b4-0000-7000-8000-000000000000"));
    const char *bad[] = { "", "0193a2b4-0000-7000-8000-00000000000", /* short */
                          "0193a2b4-0000-7000-8000-0000000000000", /* long */
                          "0193A2B4-0000-7000-8000-000000000000",  /* upper case */
                          "0193a2b4_0000-7000-8000-000000000000",
                          "0193a2b40000-7000-8000-0000000000000",
                          "0193a2b4-0000-7000-8000-00000000000g" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(id_valid(bad[i]));
    assert_false(id_valid(NULL));
    assert_int_equal(id_time_ms("0193a2b4-0000-4000-8000-000000000000"), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_are_unique_and_ordered),
        cmocka_unit_test(test_ordered_when_clock_stands_still_or_steps_back),
        cmocka_unit_test(test_time_is_recoverable),
        cmocka_unit_test(test_v7_or_nil),
        cmocka_unit_test(test_validation_rejects_malformed),
        cmocka_unit_test(test_forked_child_draws_its_own_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
