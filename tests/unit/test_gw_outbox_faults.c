/*  Unit tests: gw_outbox under failing syscalls (tests/shim/failshim.c, a
 *  test-only LD_PRELOAD library this binary re-executes itself under):
 *  a failed fdatasync, an allocation failure while loading, a failed open
 *  during compaction. The shim keeps the image a disk would hold after a
 *  power loss (bytes whose sync failed are lost); "pulling the power" is
 *  copying that image over the journal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tmpdir.h"
#include "eqms/envelope.h"
#include "eqms/log.h"
#include "../../services/device-gateway/gw_outbox.h"

#define SRC "device-gateway.b0001"
#define PATH "hq.r01.b0001.w03"

static void (*s_arm)(const char *call, unsigned skip, unsigned count);
static unsigned (*s_calls)(const char *call);

static int setup(void **state)
{
    log_init("test", LOG_LEVEL_ERROR);
    *state = tmpdir_new("test_gw_outbox_faults");
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    s_arm("fdatasync", 0, 0);
    s_arm("fsync", 0, 0);
    s_arm("open", 0, 0);
    s_arm("realloc", 0, 0);
    return tmpdir_remove((char **) state);
}

static const gw_outbox_entry_t *add(gw_outbox_t *ob, uint32_t dseq)
{
    json_t *data = json_pack("{s:s, s:i}", "serial", "EQ-1", "device_seq", (int) dseq);
    return gw_outbox_add(ob, "rating.submitted", PATH, &data, "EQ-1", 7, dseq);
}

/* The journal as the disk holds it after a power loss. */
static void pull_the_power(const char *journal)
{
    char image[PATH_MAX + 16];
    snprintf(image, sizeof image, "%s.durable", journal);
    assert_int_equal(tmpdir_copy(image, journal), 0);
}

/* True if the device event dseq of EQ-1 boot 7 is in the journal. */
static bool holds(gw_outbox_t *ob, uint32_t dseq)
{
    for (size_t i = 0; i < gw_outbox_stats(ob).depth; i++) {
        const gw_outbox_entry_t *e = gw_outbox_entry(ob, i);
        char reason[ENVELOPE_REASON_SIZE];
        envelope_t *env = envelope_decode(e->envelope, e->len, reason);
        assert_non_null(env);
        json_int_t d = json_integer_value(json_object_get(env->data, "device_seq"));
        envelope_destroy(&env);
        if (d == dseq)
            return true;
    }
    return false;
}

/* The gateway acknowledges a device event once a sync after its append
 * succeeded. A sync fails (the kernel drops those pages): the events it
 * covered must never count as durable, whatever later syncs say; the outbox
 * refuses everything until it has restarted from the journal, and the device
 * sends what was not acknowledged again. After a power loss every
 * acknowledged event is in the journal, once. */
static void test_failed_sync_is_never_acknowledged(void **state)
{
    setenv("EQMS_FAILSHIM_IMAGE", "1", 1);
    gw_outbox_t *ob = gw_outbox_new(*state, SRC);
    assert_non_null(ob);
    char journal[PATH_MAX];
    snprintf(journal, sizeof journal, "%s", gw_outbox_path(ob));
    bool acked[32] = { false }, pending[32] = { false };
    uint32_t next = 1;
    int failures = 0;
    /* the gateway's loop: store what the device sends, sync, ack */
    for (int pass = 0; pass < 8; pass++) {
        if (pass == 2 || pass == 5)
            s_arm("fdatasync", 0, 1);
        if (gw_outbox_failed(ob)) {
            failures++;
            assert_null(add(ob, 99));
            assert_int_equal(gw_outbox_sync(ob), -1);
            assert_int_equal(gw_outbox_ack(ob, 1), -1);
            assert_int_equal(gw_outbox_recover(ob), 0);
            assert_false(gw_outbox_failed(ob));
        }
        /* the device sends what it holds (not acknowledged) and two new ones */
        pending[next++] = true;
        pending[next++] = true;
        for (uint32_t i = 1; i < next; i++)
            if (pending[i] && !gw_outbox_seen(ob, "EQ-1", 7, i))
                assert_non_null(add(ob, i));
        if (gw_outbox_sync(ob) == 0) {
            for (uint32_t i = 1; i < next; i++)
                if (pending[i])
                    acked[i] = true, pending[i] = false;
        }
    }
    assert_int_equal(failures, 2);
    gw_outbox_destroy(&ob);
    pull_the_power(journal);
    ob = gw_outbox_new(*state, SRC);
    assert_non_null(ob);
    for (uint32_t i = 1; i < next; i++)
        if (!holds(ob, i))
            print_message("missing %u\n", i);
    assert_int_equal(gw_outbox_stats(ob).depth, next - 1);   /* each once */
    for (uint32_t i = 1; i < next; i++) {
        assert_true(acked[i]);
        if (!holds(ob, i))
            fail_msg("device event %u was acknowledged but is lost", i);
    }
    gw_outbox_destroy(&ob);
    unsetenv("EQMS_FAILSHIM_IMAGE");
}

/* An allocation failure while loading fails the start (or is survived);
 * the journal is never truncated. Every realloc of the load is made to
 * fail in turn. */
static void test_allocation_failure_while_loading_never_truncates(void **state)
{
    gw_outbox_t *ob = gw_outbox_new(*state, SRC);
    for (uint32_t i = 1; i <= 300; i++)
        assert_non_null(add(ob, i));
    assert_int_equal(gw_outbox_sync(ob), 0);
    char journal[PATH_MAX];
    snprintf(journal, sizeof journal, "%s", gw_outbox_path(ob));
    gw_outbox_destroy(&ob);
    struct stat st;
    assert_int_equal(stat(journal, &st), 0);
    off_t size = st.st_size;

    unsigned before = s_calls("realloc");
    ob = gw_outbox_new(*state, SRC);
    unsigned reallocs = s_calls("realloc") - before;
    assert_non_null(ob);
    assert_int_equal(gw_outbox_stats(ob).depth, 300);
    gw_outbox_destroy(&ob);
    assert_true(reallocs >= 2);
    int refused = 0;
    for (unsigned k = 0; k < reallocs; k++) {
        s_arm("realloc", k, 1);
        ob = gw_outbox_new(*state, SRC);
        s_arm("realloc", 0, 0);
        assert_int_equal(stat(journal, &st), 0);
        if (st.st_size != size)
            fail_msg("realloc %u of the load failed: journal cut from %lld to %lld bytes",
                     k, (long long) size, (long long) st.st_size);
        if (ob) {
            assert_int_equal(gw_outbox_stats(ob).depth, 300);
            gw_outbox_destroy(&ob);
        } else {
            refused++;
        }
    }
    assert_true(refused > 0);
    ob = gw_outbox_new(*state, SRC);
    assert_int_equal(gw_outbox_stats(ob).depth, 300);
    gw_outbox_destroy(&ob);
}

/* Compaction replaces the journal; an open failing at that moment must
 * not leave later appends going to the replaced file. */
static void test_failed_open_in_compaction_loses_nothing(void **state)
{
    gw_outbox_t *ob = gw_outbox_new(*state, SRC);
    for (uint32_t i = 1; i <= 200; i++)
        assert_non_null(add(ob, i));
    assert_int_equal(gw_outbox_ack(ob, 198), 198);
    /* the first open is the temporary file's; fail any after it */
    s_arm("open", 1, 1000);
    gw_outbox_compact(ob);
    s_arm("open", 0, 0);
    bool durable = true;
    for (uint32_t i = 201; i <= 203; i++)
        durable = add(ob, i) != NULL && durable;
    durable = gw_outbox_sync(ob) == 0 && durable;
    gw_outbox_destroy(&ob);
    ob = gw_outbox_new(*state, SRC);
    assert_non_null(ob);
    if (durable)
        for (uint32_t i = 201; i <= 203; i++)
            if (!holds(ob, i))
                fail_msg("event %u was synced after the compaction but is lost", i);
    assert_true(holds(ob, 199) && holds(ob, 200));
    gw_outbox_destroy(&ob);
}

/* Runs this binary again with the shim preloaded (once). */
static void s_reexec_under_shim(char **argv)
{
    if (getenv("EQMS_FAILSHIM_REEXEC"))
        return;
    char self[PATH_MAX], shim[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return;
    self[n] = 0;
    /* <build>/unit/test_x -> <build>/testlib/eqms-failshim.so */
    snprintf(shim, sizeof shim, "%s/../testlib/eqms-failshim.so", dirname(self));
    const char *pre = getenv("LD_PRELOAD");
    char preload[2 * PATH_MAX];
    snprintf(preload, sizeof preload, "%s%s%s", pre && *pre ? pre : "", pre && *pre ? ":" : "",
             shim);
    const char *asan = getenv("ASAN_OPTIONS");
    char asan_opts[1024];
    snprintf(asan_opts, sizeof asan_opts, "%s%sverify_asan_link_order=0", asan ? asan : "",
             asan && *asan ? ":" : "");
    setenv("EQMS_FAILSHIM_REEXEC", "1", 1);
    setenv("LD_PRELOAD", preload, 1);
    setenv("ASAN_OPTIONS", asan_opts, 1);
    execv("/proc/self/exe", argv);
}

int main(int argc, char **argv)
{
    (void) argc;
    s_reexec_under_shim(argv);
    s_arm = (void (*)(const char *, unsigned, unsigned)) dlsym(RTLD_DEFAULT,
                                                                  "eqms_failshim_arm");
    s_calls = (unsigned (*)(const char *)) dlsym(RTLD_DEFAULT, "eqms_failshim_calls");
    if (!s_arm || !s_calls) {
        fprintf(stderr, "test_gw_outbox_faults: tests/shim/failshim.c is not preloaded "
                "(build <build>/testlib/eqms-failshim.so)\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_failed_sync_is_never_acknowledged, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failure_while_loading_never_truncates,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_open_in_compaction_loses_nothing, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
