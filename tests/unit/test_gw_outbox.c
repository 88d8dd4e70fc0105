/*  Unit tests: gw_outbox, the device gateway's journal (append, ack, replay,
 *  compaction, torn tail, SIGKILL at any moment). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tmpdir.h"
#include "eqms/envelope.h"
#include "eqms/id.h"
#include "eqms/log.h"
#include "../../services/device-gateway/gw_outbox.h"

#define SRC "device-gateway.b0001"
#define PATH "hq.r01.b0001.w03"

static int setup(void **state)
{
    log_init("test", LOG_LEVEL_ERROR);
    *state = tmpdir_new("test_gw_outbox");
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    return tmpdir_remove((char **) state);
}

static const gw_outbox_entry_t *add(gw_outbox_t *ob, const char *serial,
                                    uint32_t boot, uint32_t dseq)
{
    json_t *data = json_pack("{s:s, s:i}", "serial", serial ? serial : "-", "device_seq",
                             (int) dseq);
    return gw_outbox_add(ob, "rating.submitted", PATH, &data, serial, boot, dseq);
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void test_append_survives_reopen_with_same_envelope(void **state)
{
    gw_outbox_t *ob = gw_outbox_new(*state, SRC);
    assert_non_null(ob);
    char first[4096];
    for (uint32_t i = 1; i <= 3; i++) {
        const gw_outbox_entry_t *e = add(ob, "EQ-1", 7, i);
        assert_non_null(e);
        assert_int_equal(e->seq, i);
        assert_string_equal(e->org_path, PATH);
        if (i == 1)
            snprintf(first, sizeof first, "%s", e->envelope);
    }
    assert_int_equal(gw_outbox_sync(ob), 0);
    gw_outbox_destroy(&ob);
    assert_null(ob);

    ob = gw_outbox_new(*state, SRC);
    assert_non_null(ob);
    gw_outbox_stats_t st = gw_outbox_stats(ob);
    assert_int_equal(st.depth, 3);
    assert_int_equal(st.last_seq, 3);
    const gw_outbox_entry_t *e = gw_outbox_entry(ob, 0);
    /* the replay is byte for byte what was first published: same id and seq */
    assert_string_equal(e->envelope, first);
    char reason[ENVELOPE_REASON_SIZE];
    envelope_t *env = envelope_decode(e->envelope, e->len, reason);
    assert_non_null(env);
    assert_int_equal(env->seq, 1);
    assert_string_equal(env->src, SRC);
    assert_string_equal(env->type, "rating.submitted");
    envelope_destroy(&env);
    assert_null(gw_outbox_entry(ob, 3));
    /* the next seq continues after a restart: never reused */
    assert_int_equal(add(ob, "EQ-1", 7, 4)->seq, 4);
    gw_outbox_destroy(&ob);
}

static void test_ack_removes_and_is_durable(void **state)
{
    gw_outbox_t *ob = gw_outbox_new(*state, SRC);
    for (uint32_t i = 1; i <= 5; i++)
        assert_non_null(add(ob, "EQ-1", 7, i));
    assert_int_equal(gw_outbox_ack(ob, 3), 3);
    assert_int_equal(gw_outbox_stats(ob).depth, 2);
    assert_int_equal(gw_outbox_entry(ob, 0)->seq, 4);
    assert_int_equal(gw_outbox_ack(ob, 2), 0);      /* stale */
    assert_int_equal(gw_outbox_ack(ob, 3), 0);      /* repeated */
    assert_int_equal(gw_outbox_ack(ob, 99), -1);    /* beyond what was sent */
    assert_int_equal(gw_outbox_stats(ob).depth, 2);
    gw_outbox_sync(ob);
    gw_outbox_destroy(&ob);
    ob = gw_outbox_new(*state, SRC);
    gw_outbox_stats_t st = gw_outbox_stats(ob);
    assert_int_equal(st.depth, 2);
    assert_int_equal(st.acked_upto, 3);
    assert_int_equal(gw_outbox_entry(ob, 0)->seq, 4);
    assert_int_equal(gw_outbox_ack(ob, 5), 2);
    assert_int_equal(gw_outbox_stats(ob).depth, 0);
    assert_null(gw_outbox_entry(ob, 0));
    gw_outbox_destroy(&ob);
}

static void test_dedupe_on_serial_boot_seq(void **state)
{
    gw_outbox_t *ob = gw_outbox_new(*state, SRC);
    assert_false(gw_outbox_seen(ob, "EQ-1", 7, 1));
    for (uint32_t i = 1; i <= 3; i++)
        add(ob, "EQ-1", 7, i);
    add(ob, "EQ-2", 9, 1);
    add(ob, NULL, 0, 0);            /* device.online and the like: no watermark */
    assert_true(gw_outbox_seen(ob, "EQ-1", 7, 1));
    assert_true(gw_outbox_seen(ob, "EQ-1", 7, 3));
    assert_false(gw_outbox_seen(ob, "EQ-1", 7, 4));
    assert_false(gw_outbox_seen(ob, "EQ-1", 8, 1));   /* another power-up */
    assert_true(gw_outbox_seen(ob, "EQ-2", 9, 1));
    assert_false(gw_outbox_seen(ob, "EQ-3", 9, 1));
    gw_outbox_sync(ob);
    gw_outbox_destroy(&ob);
    ob = gw_outbox_new(*state, SRC);
    assert_true(gw_outbox_seen(ob, "EQ-1", 7, 3));
    assert_false(gw_outbox_seen(ob, "EQ-1", 7, 4));
    gw_outbox_destroy(&ob);
}

static void test_compaction_keeps_live_state(void **state)
{
    gw_outbox_t *ob = gw_outbox_new(*state, SRC);
    for (uint32_t i = 1; i <= 200; i++)
        assert_non_null(add(ob, i % 2 ? "EQ-1" : "EQ-2", 7, i));
    assert_int_equal(gw_outbox_ack(ob, 198), 198);
    char path[512];
    snprintf(path, sizeof path, "%s", gw_outbox_path(ob));
    off_t before = file_size(path);
    assert_int_equal(gw_outbox_compact(ob), 0);
    off_t after = file_size(path);
    assert_true(after < before / 10);
    assert_int_equal(gw_outbox_stats(ob).depth, 2);
    /* appends after the compaction go to the new file */
    assert_int_equal(add(ob, "EQ-1", 7, 201)->seq, 201);
    gw_outbox_sync(ob);
    gw_outbox_destroy(&ob);

    ob = gw_outbox_new(*state, SRC);
    gw_outbox_stats_t st = gw_outbox_stats(ob);
    assert_int_equal(st.depth, 3);
    assert_int_equal(st.last_seq, 201);
    assert_int_equal(gw_outbox_entry(ob, 0)->seq, 199);
    assert_int_equal(gw_outbox_entry(ob, 2)->seq, 201);
    /* the watermarks of acknowledged events survive the compaction */
    assert_true(gw_outbox_seen(ob, "EQ-1", 7, 1));
    assert_true(gw_outbox_seen(ob, "EQ-2", 7, 200));
    /* everything acked and compacted: the seq still continues */
    assert_int_equal(gw_outbox_ack(ob, 201), 3);
    assert_int_equal(gw_outbox_compact(ob), 0);
    gw_outbox_destroy(&ob);
    ob = gw_outbox_new(*state, SRC);
    assert_int_equal(gw_outbox_stats(ob).depth, 0);
    assert_int_equal(add(ob, "EQ-1", 7, 202)->seq, 202);
    gw_outbox_destroy(&ob);
}

static void test_torn_last_record_is_dropped(void **state)
{
    gw_outbox_t *ob = gw_outbox_new(*state, SRC);
    for (uint32_t i = 1; i <= 3; i++)
        add(ob, "EQ-1", 7, i);
    gw_outbox_sync(ob);
    char path[512];
    snprintf(path, sizeof path, "%s", gw_outbox_path(ob));
    gw_outbox_destroy(&ob);
    off_t full = file_size(path);
    /* cut the last record in the middle, as a crash during write(2) would */
    assert_int_equal(truncate(path, full - 20), 0);
    ob = gw_outbox_new(*state, SRC);
    assert_non_null(ob);
    gw_outbox_stats_t st = gw_outbox_stats(ob);
    assert_int_equal(st.depth, 2);
    assert_int_equal(st.last_seq, 2);
    assert_true(st.torn_bytes > 0);
    /* the device never got an ACK for seq 3, so it is not "seen" */
    assert_false(gw_outbox_seen(ob, "EQ-1", 7, 3));
    /* the torn bytes are gone from the file, appends stay readable */
    assert_non_null(add(ob, "EQ-1", 7, 3));
    gw_outbox_sync(ob);
    gw_outbox_destroy(&ob);
    ob = gw_outbox_new(*state, SRC);
    assert_int_equal(gw_outbox_stats(ob).depth, 3);
    assert_int_equal(gw_outbox_stats(ob).torn_bytes, 0);
    gw_outbox_destroy(&ob);
}

static void test_corrupt_record_ends_journal(void **state)
{
    gw_outbox_t *ob = gw_outbox_new(*state, SRC);
    for (uint32_t i = 1; i <= 3; i++)
        add(ob, "EQ-1", 7, i);
    gw_outbox_sync(ob);
    char path[512];
    snprintf(path, sizeof path, "%s", gw_outbox_path(ob));
    gw_outbox_destroy(&ob);
    /* garbage appended after good records (a torn header) */
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fwrite("EQOBxx", 1, 6, f);
    fclose(f);
    ob = gw_outbox_new(*state, SRC);
    assert_int_equal(gw_outbox_stats(ob).depth, 3);
    assert_int_equal(gw_outbox_stats(ob).torn_bytes, 6);
    gw_outbox_destroy(&ob);
    /* a flipped bit in the last record: crc mismatch */
    off_t size = file_size(path);
    f = fopen(path, "r+b");
    fseek(f, size - 5, SEEK_SET);
    int c = fgetc(f);
    fseek(f, size - 5, SEEK_SET);
    fputc(c ^ 0x01, f);
    fclose(f);
    ob = gw_outbox_new(*state, SRC);
    assert_int_equal(gw_outbox_stats(ob).depth, 2);
    gw_outbox_destroy(&ob);
}

/* The incarnation of an entry's envelope (its data member). */
static char *entry_incarnation(const gw_outbox_entry_t *e)
{
    char reason[ENVELOPE_REASON_SIZE];
    envelope_t *env = envelope_decode(e->envelope, e->len, reason);
    assert_non_null(env);
    const char *inc = json_string_value(json_object_get(env->data, "incarnation"));
    assert_non_null(inc);
    char *copy = strdup(inc);
    envelope_destroy(&env);
    return copy;
}

static void test_incarnation_made_kept_and_stamped(void **state)
{
    gw_outbox_t *ob = gw_outbox_new(*state, SRC);
    char first[ID_SIZE];
    snprintf(first, sizeof first, "%s", gw_outbox_incarnation(ob));
    assert_true(id_time_ms(first) > 0);           /* a UUIDv7 */
    char *stamped = entry_incarnation(add(ob, "EQ-1", 7, 1));
    assert_string_equal(stamped, first);
    free(stamped);
    for (uint32_t i = 2; i <= 100; i++)
        add(ob, "EQ-1", 7, i);
    assert_int_equal(gw_outbox_ack(ob, 99), 99);
    assert_int_equal(gw_outbox_compact(ob), 0);
    gw_outbox_destroy(&ob);
    /* reopened and compacted: the same journal, the same incarnation */
    ob = gw_outbox_new(*state, SRC);
    assert_string_equal(gw_outbox_incarnation(ob), first);
    assert_int_equal(add(ob, "EQ-1", 7, 101)->seq, 101);
    char path[512];
    snprintf(path, sizeof path, "%s", gw_outbox_path(ob));
    gw_outbox_destroy(&ob);

    /* the state dir is lost: a new journal, a new incarnation, seq 1 again */
    assert_int_equal(unlink(path), 0);
    ob = gw_outbox_new(*state, SRC);
    assert_true(id_time_ms(gw_outbox_incarnation(ob)) > 0);
    assert_string_not_equal(gw_outbox_incarnation(ob), first);
    const gw_outbox_entry_t *e = add(ob, "EQ-1", 8, 1);
    assert_int_equal(e->seq, 1);
    stamped = entry_incarnation(e);
    assert_string_equal(stamped, gw_outbox_incarnation(ob));
    free(stamped);
    gw_outbox_destroy(&ob);
}

/* A journal written before incarnations existed (no 'I' record): the nil
 * incarnation, and its numbering goes on; compaction keeps it so. */
static void test_old_journal_gets_the_nil_incarnation(void **state)
{
    gw_outbox_t *ob = gw_outbox_new(*state, SRC);
    for (uint32_t i = 1; i <= 3; i++)
        add(ob, "EQ-1", 7, i);
    gw_outbox_sync(ob);
    char path[512];
    snprintf(path, sizeof path, "%s", gw_outbox_path(ob));
    gw_outbox_destroy(&ob);
    /* take the 'I' record (24-byte header, 36-byte id) off the front */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    assert_true(n > 60);
    assert_memory_equal(buf, "EQOBI", 5);
    f = fopen(path, "wb");
    assert_int_equal(fwrite(buf + 60, 1, n - 60, f), n - 60);
    fclose(f);

    ob = gw_outbox_new(*state, SRC);
    assert_non_null(ob);
    assert_string_equal(gw_outbox_incarnation(ob), ID_NIL);
    assert_int_equal(gw_outbox_stats(ob).depth, 3);
    const gw_outbox_entry_t *e = add(ob, "EQ-1", 7, 4);
    assert_int_equal(e->seq, 4);
    char *stamped = entry_incarnation(e);
    assert_string_equal(stamped, ID_NIL);
    free(stamped);
    assert_int_equal(gw_outbox_compact(ob), 0);
    gw_outbox_destroy(&ob);
    ob = gw_outbox_new(*state, SRC);
    assert_string_equal(gw_outbox_incarnation(ob), ID_NIL);
    assert_int_equal(add(ob, "EQ-1", 7, 5)->seq, 5);
    gw_outbox_destroy(&ob);
}

/* Offsets of the records of a journal file (at most max). */
static size_t record_offsets(const char *path, long *offs, size_t max)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = 0;
    long off = 0;
    unsigned char h[24];
    while (n < max && fseek(f, off, SEEK_SET) == 0 && fread(h, 1, 24, f) == 24) {
        offs[n++] = off;
        off += 24 + (long) (h[16] | h[17] << 8 | h[18] << 16 | (unsigned) h[19] << 24);
    }
    fclose(f);
    return n;
}

static char *entry_id(const gw_outbox_entry_t *e)
{
    char reason[ENVELOPE_REASON_SIZE];
    envelope_t *env = envelope_decode(e->envelope, e->len, reason);
    assert_non_null(env);
    char *id = strdup(env->id);
    envelope_destroy(&env);
    return id;
}

/* A damaged record in the middle (bit rot, a bad sector): everything
 * readable after it is kept, the damaged file is set aside, and the journal
 * starts a new incarnation (a seq may be lost: never reuse one), numbering
 * the surviving events from 1 with their envelope ids unchanged. */
static void test_corrupt_record_in_the_middle_keeps_what_follows(void **state)
{
    gw_outbox_t *ob = gw_outbox_new(*state, SRC);
    char *ids[7];
    for (uint32_t i = 1; i <= 6; i++)
        ids[i] = entry_id(add(ob, "EQ-1", 7, i));
    assert_int_equal(gw_outbox_sync(ob), 0);
    char path[512], old_inc[ID_SIZE];
    snprintf(path, sizeof path, "%s", gw_outbox_path(ob));
    snprintf(old_inc, sizeof old_inc, "%s", gw_outbox_incarnation(ob));
    gw_outbox_destroy(&ob);
    long offs[16];
    assert_int_equal(record_offsets(path, offs, 16), 7);   /* I, then E 1..6 */
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    fseek(f, offs[3] + 40, SEEK_SET);                      /* inside event 3 */
    int c = fgetc(f);
    fseek(f, offs[3] + 40, SEEK_SET);
    fputc(c ^ 0x20, f);
    fclose(f);
    off_t damaged_size = file_size(path);

    ob = gw_outbox_new(*state, SRC);
    assert_non_null(ob);
    gw_outbox_stats_t st = gw_outbox_stats(ob);
    assert_int_equal(st.depth, 5);
    assert_int_equal(st.last_seq, 5);
    assert_string_not_equal(gw_outbox_incarnation(ob), old_inc);
    const uint32_t kept[] = { 1, 2, 4, 5, 6 };
    for (size_t i = 0; i < 5; i++) {
        const gw_outbox_entry_t *e = gw_outbox_entry(ob, i);
        assert_int_equal(e->seq, (int64_t) i + 1);
        char *id = entry_id(e);
        assert_string_equal(id, ids[kept[i]]);
        free(id);
        char *inc = entry_incarnation(e);
        assert_string_equal(inc, gw_outbox_incarnation(ob));
        free(inc);
        char reason[ENVELOPE_REASON_SIZE];
        envelope_t *env = envelope_decode(e->envelope, e->len, reason);
        assert_non_null(env);
        assert_int_equal(env->seq, (int64_t) i + 1);
        envelope_destroy(&env);
    }
    assert_true(gw_outbox_seen(ob, "EQ-1", 7, 6));
    char inc[ID_SIZE];
    snprintf(inc, sizeof inc, "%s", gw_outbox_incarnation(ob));
    gw_outbox_destroy(&ob);
    /* the damaged file is kept beside, as it was */
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c '^outbox.journal.damaged-'", (char *) *state);
    FILE *ls = popen(cmd, "r");
    int count = 0;
    assert_int_equal(fscanf(ls, "%d", &count), 1);
    pclose(ls);
    assert_int_equal(count, 1);
    snprintf(cmd, sizeof cmd, "ls %s/outbox.journal.damaged-*", (char *) *state);
    ls = popen(cmd, "r");
    char aside[700] = "";
    assert_non_null(fgets(aside, sizeof aside, ls));
    pclose(ls);
    aside[strcspn(aside, "\n")] = 0;
    assert_int_equal(file_size(aside), damaged_size);
    /* the new journal is whole: reopened, the same */
    ob = gw_outbox_new(*state, SRC);
    assert_int_equal(gw_outbox_stats(ob).depth, 5);
    assert_int_equal(gw_outbox_stats(ob).torn_bytes, 0);
    assert_string_equal(gw_outbox_incarnation(ob), inc);
    assert_int_equal(add(ob, "EQ-1", 7, 7)->seq, 6);
    gw_outbox_destroy(&ob);
    for (int i = 1; i <= 6; i++)
        free(ids[i]);
}

static void test_bad_envelope_is_refused(void **state)
{
    gw_outbox_t *ob = gw_outbox_new(*state, SRC);
    json_t *data = json_pack("{s:i}", "x", 1);
    assert_null(gw_outbox_add(ob, "Bad Type", PATH, &data, NULL, 0, 0));
    assert_null(data);
    data = json_pack("{s:i}", "x", 1);
    assert_null(gw_outbox_add(ob, "rating.submitted", "Bad..path", &data, NULL, 0, 0));
    assert_int_equal(gw_outbox_stats(ob).depth, 0);
    assert_int_equal(gw_outbox_stats(ob).last_seq, 0);
    gw_outbox_destroy(&ob);
    assert_null(gw_outbox_new("/nonexistent/dir", SRC));
}

/* A child appends and acks as fast as it can; it is SIGKILLed at a random
 * moment. Every reopen must give a consistent journal: contiguous seqs, each
 * envelope intact, nothing the child had synced lost. */
static void test_sigkill_at_any_moment(void **state)
{
    char marker[512];
    snprintf(marker, sizeof marker, "%s/synced", (char *) *state);
    srand((unsigned) getpid());
    for (int round = 0; round < 8; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            gw_outbox_t *ob = gw_outbox_new(*state, SRC);
            if (!ob)
                _exit(1);
            uint32_t dseq = (uint32_t) gw_outbox_stats(ob).last_seq;
            for (;;) {
                for (int k = 0; k < 5; k++)
                    if (!add(ob, "EQ-1", 7, ++dseq))
                        _exit(2);
                if (gw_outbox_sync(ob) < 0)
                    _exit(3);
                /* tell the parent what is durable now (atomically) */
                char tmp[600];
                snprintf(tmp, sizeof tmp, "%s.tmp", marker);
                FILE *f = fopen(tmp, "w");
                fprintf(f, "%lld\n", (long long) gw_outbox_stats(ob).last_seq);
                fclose(f);
                rename(tmp, marker);
                if (dseq % 50 == 0) {
                    gw_outbox_ack(ob, gw_outbox_stats(ob).last_seq - 10);
                    gw_outbox_maybe_compact(ob);
                }
                if (dseq % 400 == 0)
                    gw_outbox_compact(ob);
            }
        }
        usleep((useconds_t) (20000 + rand() % 80000));
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status));
        long long synced = 0;
        FILE *f = fopen(marker, "r");
        if (f) {
            assert_int_equal(fscanf(f, "%lld", &synced), 1);
            fclose(f);
        }
        gw_outbox_t *ob = gw_outbox_new(*state, SRC);
        assert_non_null(ob);
        gw_outbox_stats_t st = gw_outbox_stats(ob);
        assert_true(st.last_seq >= synced);
        int64_t prev = st.acked_upto;
        for (size_t i = 0; i < st.depth; i++) {
            const gw_outbox_entry_t *e = gw_outbox_entry(ob, i);
            assert_int_equal(e->seq, prev + 1);
            prev = e->seq;
            char reason[ENVELOPE_REASON_SIZE];
            envelope_t *env = envelope_decode(e->envelope, e->len, reason);
            assert_non_null(env);
            assert_int_equal(env->seq, e->seq);
            envelope_destroy(&env);
        }
        assert_int_equal(prev, st.last_seq);
        gw_outbox_destroy(&ob);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_append_survives_reopen_with_same_envelope,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_removes_and_is_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dedupe_on_serial_boot_seq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction_keeps_live_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_last_record_is_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_record_ends_journal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_record_in_the_middle_keeps_what_follows,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_incarnation_made_kept_and_stamped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_old_journal_gets_the_nil_incarnation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_envelope_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_at_any_moment, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
