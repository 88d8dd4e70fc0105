/*  Unit tests: backup archives (bkcatalog, bkwriter, bkreader) against a real
 *  PostgreSQL at the current schema (EQMS_TEST_PG_CONNINFO, tests/run.py): an
 *  archive written and loaded back into a second database, the manifest's
 *  row counts and SHA-256, PostgreSQL's CSV quoting (commas, quotes, line
 *  breaks, Chinese) and NULL against the empty string, and archives refused
 *  with a reason naming the member: missing, extra, truncated, one byte
 *  changed, a manifest of an unknown format or naming an unknown table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "eqms/bkcatalog.h"
#include "eqms/bkreader.h"
#include "eqms/bkwriter.h"
#include "eqms/log.h"
#include "pgtest.h"
#include "tmpdir.h"

/* A value with every character CSV must quote, and Chinese text. */
#define S_AWKWARD "请A012号到3号窗口, \"VIP\"\nsecond line"
#define S_NAME "总行, \"head office\""

static char s_source[512];        /* the database backed up */
static char s_target[512];        /* an empty one to load into */
static char *s_dir;
static char s_archive[300];

typedef struct {
    long long calls, done, total;
} s_progress_t;

static void s_progress(void *ctx, long long done, long long total)
{
    s_progress_t *p = ctx;
    assert_true(done <= total);
    assert_true(done >= p->done);     /* never moves back */
    p->calls++;
    p->done = done;
    p->total = total;
}

static pgstore_t *s_connect(const char *conninfo)
{
    pgstore_t *pg = pgstore_new(conninfo);
    assert_non_null(pg);
    assert_int_equal(pgstore_connect(pg, 5000), 0);
    return pg;
}

static void s_sql(pgstore_t *pg, const char *sql)
{
    PGresult *res = PQexec(pgstore_conn(pg), sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(res));
    PQclear(res);
}

/* The first column of the first row as text (malloc'd; "<null>" for NULL). */
static char *s_value(const char *conninfo, const char *sql)
{
    pgstore_t *pg = s_connect(conninfo);
    PGresult *res = pgstore_query(pg, sql, 0, NULL);
    assert_non_null(res);
    assert_int_equal(PQntuples(res), 1);
    char *v = strdup(PQgetisnull(res, 0, 0) ? "<null>" : PQgetvalue(res, 0, 0));
    PQclear(res);
    pgstore_destroy(&pg);
    return v;
}

static void s_assert_value(const char *conninfo, const char *sql, const char *want)
{
    char *got = s_value(conninfo, sql);
    if (strcmp(got, want) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", sql, got, want);
    free(got);
}

/* A head office and a branch with two ticket events (one with awkward
 * text, a NULL and an empty string), backed up whole into s_archive. */
static int setup(void **state)
{
    (void) state;
    log_init("test", LOG_LEVEL_ERROR);
    if (sodium_init() < 0 || pgtest_db_new("bkarchive", s_source, sizeof s_source) != 0
        || pgtest_db_new("bkarchive_to", s_target, sizeof s_target) != 0
        || !(s_dir = tmpdir_new("test_bkarchive")))
        return -1;
    pgstore_t *pg = pgstore_new(s_source);
    if (!pg || pgstore_connect(pg, 5000) != 0)
        return -1;
    const char *name[] = { S_NAME }, *detail[] = { S_AWKWARD };
    int rc = 0;
    rc |= pgstore_exec(pg, "INSERT INTO org_node (code, path, name, kind)"
                       " VALUES ('hq', 'hq', $1, 'head_office')", 1, name);
    rc |= pgstore_exec(pg, "INSERT INTO org_node (parent_id, code, path, name, kind)"
                       " SELECT id, 'b1', 'hq.b1', 'Branch 1', 'branch' FROM org_node"
                       " WHERE path = 'hq'", 0, NULL);
    /* phone NULL, via '' (both unquoted-empty-able: CSV tells them apart) */
    rc |= pgstore_exec(pg, "INSERT INTO ticket_event (branch_id, seq, at, day, kind, actor,"
                       " number, phone, via, detail)"
                       " SELECT id, 1, '2026-11-30 09:00:00+08', 20261130, 'issued', 'test',"
                       " 'A001', NULL, '', $1 FROM org_node WHERE path = 'hq.b1'", 1, detail);
    rc |= pgstore_exec(pg, "INSERT INTO ticket_event (branch_id, seq, at, day, kind, actor,"
                       " number, phone, via)"
                       " SELECT id, 2, '2026-11-30 09:05:00+08', 20261130, 'called', 'test',"
                       " 'A001', '+8613800000000', NULL FROM org_node WHERE path = 'hq.b1'",
                       0, NULL);
    snprintf(s_archive, sizeof s_archive, "%s/backup-1.zip", s_dir);
    s_progress_t progress = { 0, 0, 0 };
    bkwriter_config_t cfg = { .node_path = "hq", .whole = true, .created_by = "tester",
                              .progress = s_progress, .ctx = &progress };
    bkwriter_result_t out;
    if (rc != 0 || bkwriter_write(pgstore_conn(pg), &cfg, s_archive, &out) != 0) {
        fprintf(stderr, "setup: %s\n", rc ? pgstore_last_message(pg) : out.error);
        pgstore_destroy(&pg);
        return -1;
    }
    pgstore_destroy(&pg);
    /* told the end: every row of every file */
    return progress.calls >= 2 && progress.done == out.rows && progress.total == out.rows
           ? 0 : -1;
}

static int teardown(void **state)
{
    (void) state;
    return tmpdir_remove(&s_dir);
}

/* A member of an archive, whole (malloc'd, NUL-terminated), or NULL. */
static char *s_member(const char *path, const char *name, size_t *len)
{
    zip_t *zip = zip_open(path, ZIP_RDONLY, NULL);
    assert_non_null(zip);
    zip_stat_t st;
    char *body = NULL;
    if (zip_stat(zip, name, 0, &st) == 0) {
        zip_file_t *f = zip_fopen(zip, name, 0);
        assert_non_null(f);
        body = calloc(1, st.size + 1);
        assert_int_equal(zip_fread(f, body, st.size), (zip_int64_t) st.size);
        zip_fclose(f);
        *len = st.size;
    }
    zip_discard(zip);
    return body;
}

static json_t *s_manifest(const char *path)
{
    size_t len;
    char *text = s_member(path, "manifest.json", &len);
    assert_non_null(text);
    json_t *m = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(m);
    return m;
}

/* A copy of s_archive named `name`, changed by `edit` (through libzip). */
typedef void (s_edit_fn)(zip_t *zip, const void *arg);

static const char *s_copy(const char *name, s_edit_fn *edit, const void *arg)
{
    static char path[320];
    snprintf(path, sizeof path, "%s/%s", s_dir, name);
    assert_int_equal(tmpdir_copy(s_archive, path), 0);
    if (edit) {
        zip_t *zip = zip_open(path, 0, NULL);
        assert_non_null(zip);
        edit(zip, arg);
        assert_int_equal(zip_close(zip), 0);
    }
    return path;
}

/* Replaces (or adds) member `name` with `len` bytes of `body`. */
static void s_put(zip_t *zip, const char *name, const char *body, size_t len)
{
    void *copy = malloc(len ? len : 1);
    memcpy(copy, body, len);
    zip_source_t *src = zip_source_buffer(zip, copy, len, 1);
    assert_non_null(src);
    assert_true(zip_file_add(zip, name, src, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8) >= 0);
}

static void s_refused(const char *path, const char *want1, const char *want2)
{
    char error[512] = "";
    assert_int_equal(bkreader_verify(path, error, sizeof error), -1);
    if (!strstr(error, want1) || (want2 && !strstr(error, want2)))
        fail_msg("refusal \"%s\" does not say \"%s\" / \"%s\"", error, want1,
                 want2 ? want2 : "");
    /* a load refuses it too, loading nothing */
    pgstore_t *pg = s_connect(s_target);
    long long rows = -1;
    char again[512];
    assert_int_equal(bkreader_load(pgstore_conn(pg), path, &rows, again, sizeof again), -1);
    assert_string_equal(again, error);
    assert_int_equal(pgtest_count(pg, "SELECT count(*) FROM org_node"), 0);
    pgstore_destroy(&pg);
}

static void test_catalogue(void **state)
{
    (void) state;
    size_t n;
    const bkcatalog_table_t *tables = bkcatalog_tables(&n);
    assert_true(n > 20);
    assert_string_equal(tables[0].table, "org_node");    /* parents load first */
    for (size_t i = 0; i < n; i++) {
        assert_ptr_equal(bkcatalog_find(tables[i].table), &tables[i]);   /* unique */
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(tables[i].table, tables[j].table);
    }
    assert_null(bkcatalog_find("app_user"));     /* identities stay out */
    assert_null(bkcatalog_find("audit_log"));
    assert_null(bkcatalog_find("backup_job"));
    assert_null(bkcatalog_find(""));
    assert_string_equal(bkcatalog_find("ticket_event")->time_column, "at");
    assert_null(bkcatalog_find("rejected_event")->scope);   /* whole backups only */
}

static void test_manifest_states_rows_and_checksums(void **state)
{
    (void) state;
    json_t *m = s_manifest(s_archive);
    assert_int_equal(json_integer_value(json_object_get(m, "format")), BKCATALOG_FORMAT);
    assert_string_equal(json_string_value(json_object_get(m, "node")), "hq");
    assert_true(json_is_true(json_object_get(m, "whole")));
    assert_string_equal(json_string_value(json_object_get(m, "created_by")), "tester");
    json_t *range = json_object_get(m, "time_range");
    assert_string_equal(json_string_value(json_object_get(range, "from")),
                        "2026-11-30T01:00:00.000000Z");    /* the earliest raw fact */
    assert_string_equal(json_string_value(json_object_get(range, "to")),
                        json_string_value(json_object_get(m, "created_at")));
    const char *name;
    json_t *entry;
    long long sum = 0;
    size_t files = 0, n;
    bkcatalog_tables(&n);
    json_object_foreach(json_object_get(m, "files"), name, entry) {
        size_t len;
        char *body = s_member(s_archive, name, &len);
        assert_non_null(body);
        unsigned char digest[crypto_hash_sha256_BYTES];
        char hex[65];
        crypto_hash_sha256(digest, (const unsigned char *) body, len);
        sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
        assert_string_equal(json_string_value(json_object_get(entry, "sha256")), hex);
        /* rows: the records after the header (a quoted line break is no record) */
        long long rows = json_integer_value(json_object_get(entry, "rows"));
        if (strcmp(name, "ticket_event.csv") == 0)
            assert_int_equal(rows, 2);
        else if (strcmp(name, "org_node.csv") == 0)
            assert_int_equal(rows, 2);
        else if (strcmp(name, "rating_scale.csv") == 0)
            assert_true(rows >= 2);          /* the seeded scales */
        sum += rows;
        files++;
        free(body);
    }
    assert_int_equal(files, n);              /* a whole backup: every table */
    assert_int_equal(json_integer_value(json_object_get(m, "rows")), sum);
    json_decref(m);
}

static void test_csv_quotes_and_tells_null_from_empty(void **state)
{
    (void) state;
    size_t len;
    char *csv = s_member(s_archive, "ticket_event.csv", &len);
    assert_non_null(csv);
    /* header, then the value quoted with its quotes doubled and its line
     * break kept inside the quotes */
    assert_true(strncmp(csv, "branch_id,seq,at,day,kind,actor,", 32) == 0);
    assert_non_null(strstr(csv, "\"请A012号到3号窗口, \"\"VIP\"\"\nsecond line\""));
    /* row 1: phone NULL (nothing), via '' (two quotes); row 2 the reverse */
    assert_non_null(strstr(csv, ",,,,\"\",0,0,\"请A012"));
    assert_non_null(strstr(csv, ",+8613800000000,,,,0,0,\"\"\n"));
    free(csv);
    char *org = s_member(s_archive, "org_node.csv", &len);
    assert_non_null(strstr(org, ",\"总行, \"\"head office\"\"\","));
    free(org);
}

static void test_an_archive_loads_back_the_same_rows(void **state)
{
    (void) state;
    char error[512] = "";
    assert_int_equal(bkreader_verify(s_archive, error, sizeof error), 0);
    pgstore_t *pg = s_connect(s_target);
    long long rows = 0;
    assert_int_equal(bkreader_load(pgstore_conn(pg), s_archive, &rows, error, sizeof error), 0);
    json_t *m = s_manifest(s_archive);
    assert_int_equal(rows, json_integer_value(json_object_get(m, "rows")));
    json_decref(m);
    pgstore_destroy(&pg);
    /* the same text, NULL still NULL and '' still '' */
    s_assert_value(s_target, "SELECT name FROM org_node WHERE path = 'hq'", S_NAME);
    s_assert_value(s_target, "SELECT detail FROM ticket_event WHERE seq = 1", S_AWKWARD);
    s_assert_value(s_target, "SELECT phone IS NULL AND via = '' FROM ticket_event"
                             " WHERE seq = 1", "t");
    s_assert_value(s_target, "SELECT phone = '+8613800000000' AND via IS NULL"
                             " FROM ticket_event WHERE seq = 2", "t");
    s_assert_value(s_target, "SELECT at = '2026-11-30 09:05:00+08' FROM ticket_event"
                             " WHERE seq = 2", "t");
    /* the seeded rows were replaced, not doubled */
    char *scales = s_value(s_source, "SELECT count(*) FROM rating_scale");
    s_assert_value(s_target, "SELECT count(*) FROM rating_scale", scales);
    free(scales);
    /* identities continue after the loaded ids */
    pg = s_connect(s_target);
    s_sql(pg, "INSERT INTO org_node (parent_id, code, path, name, kind) SELECT id, 'b2',"
              " 'hq.b2', 'Branch 2', 'branch' FROM org_node WHERE path = 'hq'");
    pgstore_destroy(&pg);
    /* and a second load is refused: not empty */
    pg = s_connect(s_target);
    assert_int_equal(bkreader_load(pgstore_conn(pg), s_archive, &rows, error, sizeof error),
                     -1);
    assert_non_null(strstr(error, "not empty"));
    assert_int_equal(pgtest_count(pg, "SELECT count(*) FROM ticket_event"), 2);
    /* leave it empty for the refusals, which must load nothing */
    s_sql(pg, "SET session_replication_role = replica");
    s_sql(pg, "DELETE FROM ticket_event; DELETE FROM org_node");
    pgstore_destroy(&pg);
}

static void s_delete(zip_t *zip, const void *arg)
{
    zip_int64_t i = zip_name_locate(zip, arg, 0);
    assert_true(i >= 0);
    assert_int_equal(zip_delete(zip, (zip_uint64_t) i), 0);
}

static void s_add_extra(zip_t *zip, const void *arg)
{
    (void) arg;
    s_put(zip, "app_user.csv", "id\n1\n", 5);
}

static void s_truncate(zip_t *zip, const void *arg)
{
    (void) arg;
    size_t len;
    char *csv = s_member(s_archive, "ticket_event.csv", &len);
    s_put(zip, "ticket_event.csv", csv, len / 2);
    free(csv);
}

static void s_change_byte(zip_t *zip, const void *arg)
{
    (void) arg;
    size_t len;
    char *csv = s_member(s_archive, "ticket_event.csv", &len);
    csv[len - 2] = csv[len - 2] == '9' ? '8' : '9';
    s_put(zip, "ticket_event.csv", csv, len);
    free(csv);
}

/* manifest.json with `member` set to the JSON text `value`. */
typedef struct {
    const char *member, *value;
} s_set_t;

static void s_manifest_set(zip_t *zip, const void *arg)
{
    const s_set_t *set = arg;
    json_t *m = s_manifest(s_archive);
    if (strcmp(set->member, "files") == 0) {
        json_t *files = json_object_get(m, "files");
        json_object_set_new(files, "app_user.csv",
                            json_deep_copy(json_object_get(files, "org_node.csv")));
        json_object_set_new(json_object_get(files, "app_user.csv"), "table",
                            json_string("app_user"));
    } else {
        json_object_set_new(m, set->member, json_loads(set->value, JSON_DECODE_ANY, NULL));
    }
    char *text = json_dumps(m, 0);
    s_put(zip, "manifest.json", text, strlen(text));
    free(text);
    json_decref(m);
}

static void s_manifest_garbage(zip_t *zip, const void *arg)
{
    (void) arg;
    s_put(zip, "manifest.json", "{\"format\": 1, ", 14);
}

static void test_a_damaged_archive_is_refused_naming_the_member(void **state)
{
    (void) state;
    s_refused(s_copy("missing.zip", s_delete, "ticket_event.csv"), "ticket_event.csv",
              "missing");
    s_refused(s_copy("no-manifest.zip", s_delete, "manifest.json"), "manifest.json",
              "missing");
    s_refused(s_copy("extra.zip", s_add_extra, NULL), "app_user.csv", "not in manifest.json");
    s_refused(s_copy("truncated.zip", s_truncate, NULL), "ticket_event.csv: its SHA-256 is",
              NULL);
    s_refused(s_copy("byte.zip", s_change_byte, NULL), "ticket_event.csv: its SHA-256 is",
              "the manifest says");
    s_set_t v2 = { "format", "2" }, vs = { "format", "\"1\"" }, tb = { "files", NULL };
    s_refused(s_copy("format2.zip", s_manifest_set, &v2), "manifest.json", "format is not 1");
    s_refused(s_copy("format-text.zip", s_manifest_set, &vs), "manifest.json",
              "format is not 1");
    s_refused(s_copy("table.zip", s_manifest_set, &tb), "app_user.csv",
              "not a table an archive holds");
    s_refused(s_copy("garbage.zip", s_manifest_garbage, NULL), "manifest.json",
              "not a manifest");
    /* the zip file itself cut short */
    const char *cut = s_copy("cut.zip", NULL, NULL);
    FILE *f = fopen(cut, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long size = ftell(f);
    fclose(f);
    assert_int_equal(truncate(cut, size / 2), 0);
    s_refused(cut, "cut.zip", "not a readable archive");
    s_refused("/nonexistent/backup.zip", "/nonexistent/backup.zip", "not a readable archive");
}

static void test_a_write_that_cannot_finish_says_why_and_leaves_nothing(void **state)
{
    (void) state;
    pgstore_t *pg = s_connect(s_source);
    bkwriter_config_t cfg = { .node_path = "hq.b1", .whole = false, .created_by = "tester" };
    bkwriter_result_t out;
    assert_int_equal(bkwriter_write(pgstore_conn(pg), &cfg, "/nonexistent/dir/b.zip", &out),
                     -1);
    assert_non_null(strstr(out.error, "/nonexistent/dir/b.zip"));
    assert_int_equal(PQtransactionStatus(pgstore_conn(pg)), PQTRANS_IDLE);
    /* the connection is usable again: a branch's backup holds its subtree's
     * raw data and its ancestors' configuration, no whole-only table */
    char path[320];
    snprintf(path, sizeof path, "%s/branch.zip", s_dir);
    assert_int_equal(bkwriter_write(pgstore_conn(pg), &cfg, path, &out), 0);
    pgstore_destroy(&pg);
    json_t *m = s_manifest(path);
    json_t *files = json_object_get(m, "files");
    assert_false(json_is_true(json_object_get(m, "whole")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(files,
                     "ticket_event.csv"), "rows")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(files,
                     "org_node.csv"), "rows")), 2);
    assert_null(json_object_get(files, "rejected_event.csv"));
    assert_null(json_object_get(files, "stats_cursor.csv"));
    json_decref(m);
    char error[256];
    assert_int_equal(bkreader_verify(path, error, sizeof error), 0);
    /* nothing left beside it but the archive */
    char part[340];
    snprintf(part, sizeof part, "%s.part", path);
    assert_int_not_equal(access(part, F_OK), 0);
    snprintf(part, sizeof part, "%s.d", path);
    assert_int_not_equal(access(part, F_OK), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogue),
        cmocka_unit_test(test_manifest_states_rows_and_checksums),
        cmocka_unit_test(test_csv_quotes_and_tells_null_from_empty),
        cmocka_unit_test(test_an_archive_loads_back_the_same_rows),
        cmocka_unit_test(test_a_damaged_archive_is_refused_naming_the_member),
        cmocka_unit_test(test_a_write_that_cannot_finish_says_why_and_leaves_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
