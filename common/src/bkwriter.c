/*  bkwriter: writes a backup archive (bkwriter.h). */
#include "eqms/bkwriter.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "eqms/bkcatalog.h"

#define S_PROGRESS_EVERY 5000

typedef struct {
    PGconn *conn;
    const bkwriter_config_t *config;
    bkwriter_result_t *out;
    long long done, total;
} s_run_t;

static int s_fail(s_run_t *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_fail(s_run_t *run, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(run->out->error, sizeof run->out->error, fmt, ap);
    va_end(ap);
    return -1;
}

static int s_exec(s_run_t *run, const char *sql)
{
    PGresult *res = PQexec(run->conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        s_fail(run, "database: %s", PQerrorMessage(run->conn));
    PQclear(res);
    return ok ? 0 : -1;
}

/* `sql` with the table's rows: SELECT <what> FROM <table> t [WHERE scope]. */
static void s_select(s_run_t *run, const bkcatalog_table_t *t, const char *what, char *sql,
                     size_t size)
{
    if (run->config->whole)
        snprintf(sql, size, "SELECT %s FROM %s t", what, t->table);
    else
        snprintf(sql, size, "SELECT %s FROM %s t WHERE %s", what, t->table, t->scope);
}

static bool s_included(const s_run_t *run, const bkcatalog_table_t *t)
{
    return run->config->whole || t->scope;
}

/* The snapshot's time and the subtree's nodes as temporary tables. */
static int s_prepare(s_run_t *run)
{
    char *path = PQescapeLiteral(run->conn, run->config->node_path,
                                 strlen(run->config->node_path));
    if (!path)
        return s_fail(run, "database: %s", PQerrorMessage(run->conn));
    char sql[1024];
    snprintf(sql, sizeof sql,
             "CREATE TEMP TABLE bk_root ON COMMIT DROP AS SELECT %s::ltree AS path;"
             "CREATE TEMP TABLE bk_nodes ON COMMIT DROP AS"
             " SELECT id FROM org_node WHERE path <@ %s::ltree;"
             "CREATE TEMP TABLE bk_cfg ON COMMIT DROP AS"
             " SELECT id FROM org_node WHERE path <@ %s::ltree OR path @> %s::ltree",
             path, path, path, path);
    PQfreemem(path);
    if (s_exec(run, "BEGIN ISOLATION LEVEL REPEATABLE READ") != 0)
        return -1;
    PGresult *res = PQexec(run->conn, "SELECT to_char(now() AT TIME ZONE 'UTC',"
                                      " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
                                      " (SELECT max(version) FROM schema_migrations)");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        PQclear(res);
        return s_fail(run, "database: %s", PQerrorMessage(run->conn));
    }
    snprintf(run->out->snapshot_at, sizeof run->out->snapshot_at, "%s", PQgetvalue(res, 0, 0));
    run->out->schema = atoi(PQgetvalue(res, 0, 1));
    PQclear(res);
    return s_exec(run, sql);
}

/* The rows of every table (for the progress) and the time range. */
static int s_count(s_run_t *run, json_t *range)
{
    size_t n;
    const bkcatalog_table_t *tables = bkcatalog_tables(&n);
    char sql[1024], what[160];
    char first[40] = "";
    for (size_t i = 0; i < n; i++) {
        const bkcatalog_table_t *t = &tables[i];
        if (!s_included(run, t))
            continue;
        if (t->time_column)
            snprintf(what, sizeof what, "count(*), to_char(min(t.%s) AT TIME ZONE 'UTC',"
                     " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", t->time_column);
        else
            snprintf(what, sizeof what, "count(*), NULL");
        s_select(run, t, what, sql, sizeof sql);
        PGresult *res = PQexec(run->conn, sql);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
            PQclear(res);
            return s_fail(run, "database (%s): %s", t->table, PQerrorMessage(run->conn));
        }
        run->total += atoll(PQgetvalue(res, 0, 0));
        const char *min = PQgetvalue(res, 0, 1);
        if (!PQgetisnull(res, 0, 1) && (!*first || strcmp(min, first) < 0))
            snprintf(first, sizeof first, "%s", min);
        PQclear(res);
    }
    json_object_set_new(range, "from", *first ? json_string(first) : json_null());
    json_object_set_new(range, "to", json_string(run->out->snapshot_at));
    if (run->config->progress)
        run->config->progress(run->config->ctx, 0, run->total);
    return 0;
}

static void s_hex(const unsigned char *digest, char out[65])
{
    sodium_bin2hex(out, 65, digest, crypto_hash_sha256_BYTES);
}

/* One table as CSV into `file`: its rows and SHA-256 into `entry`. */
static int s_copy(s_run_t *run, const bkcatalog_table_t *t, const char *file, json_t *entry)
{
    char sql[1200], select[1024];
    s_select(run, t, "t.*", select, sizeof select);
    snprintf(sql, sizeof sql, "COPY (%s) TO STDOUT (FORMAT csv, HEADER true, ENCODING 'UTF8')",
             select);
    FILE *out = fopen(file, "wb");
    if (!out)
        return s_fail(run, "%s: %s", file, strerror(errno));
    PGresult *res = PQexec(run->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_OUT) {
        PQclear(res);
        fclose(out);
        return s_fail(run, "database (%s): %s", t->table, PQerrorMessage(run->conn));
    }
    PQclear(res);
    crypto_hash_sha256_state sha;
    crypto_hash_sha256_init(&sha);
    long long rows = -1;          /* the first line is the header */
    char *buf;
    int len, rc = 0;
    while ((len = PQgetCopyData(run->conn, &buf, 0)) > 0) {
        if (rc == 0 && fwrite(buf, 1, (size_t) len, out) != (size_t) len)
            rc = s_fail(run, "%s: %s", file, strerror(errno));
        crypto_hash_sha256_update(&sha, (const unsigned char *) buf, (unsigned long long) len);
        PQfreemem(buf);
        if (++rows > 0 && ++run->done % S_PROGRESS_EVERY == 0 && run->config->progress)
            run->config->progress(run->config->ctx, run->done, run->total);
    }
    res = PQgetResult(run->conn);
    if (len == -2 || PQresultStatus(res) != PGRES_COMMAND_OK)
        rc = s_fail(run, "database (%s): %s", t->table, PQerrorMessage(run->conn));
    PQclear(res);
    while ((res = PQgetResult(run->conn)))
        PQclear(res);
    if (fclose(out) != 0 && rc == 0)
        rc = s_fail(run, "%s: %s", file, strerror(errno));
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&sha, digest);
    char hex[65];
    s_hex(digest, hex);
    json_object_set_new(entry, "rows", json_integer(rows < 0 ? 0 : rows));
    json_object_set_new(entry, "sha256", json_string(hex));
    run->out->rows += rows < 0 ? 0 : rows;
    return rc;
}

/* The archive file's size and SHA-256. */
static int s_digest_file(s_run_t *run, const char *path)
{
    FILE *in = fopen(path, "rb");
    if (!in)
        return s_fail(run, "%s: %s", path, strerror(errno));
    crypto_hash_sha256_state sha;
    crypto_hash_sha256_init(&sha);
    unsigned char buf[65536], digest[crypto_hash_sha256_BYTES];
    size_t len;
    long long size = 0;
    while ((len = fread(buf, 1, sizeof buf, in)) > 0) {
        crypto_hash_sha256_update(&sha, buf, len);
        size += (long long) len;
    }
    fclose(in);
    crypto_hash_sha256_final(&sha, digest);
    s_hex(digest, run->out->sha256);
    run->out->size = size;
    return 0;
}

static int s_zip(s_run_t *run, const char *part, const char *dir, json_t *manifest)
{
    int err = 0;
    zip_t *zip = zip_open(part, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!zip)
        return s_fail(run, "%s: zip error %d", part, err);
    char *text = json_dumps(manifest, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    zip_source_t *src = text ? zip_source_buffer(zip, text, strlen(text), 0) : NULL;
    if (!src || zip_file_add(zip, "manifest.json", src, ZIP_FL_ENC_UTF_8) < 0) {
        zip_source_free(src);
        zip_discard(zip);
        free(text);
        return s_fail(run, "%s: cannot add manifest.json", part);
    }
    const char *name;
    json_t *entry;
    json_object_foreach(json_object_get(manifest, "files"), name, entry) {
        char file[4200];
        snprintf(file, sizeof file, "%s/%s", dir, name);
        src = zip_source_file(zip, file, 0, -1);
        if (!src || zip_file_add(zip, name, src, ZIP_FL_ENC_UTF_8) < 0) {
            zip_source_free(src);
            zip_discard(zip);
            free(text);
            return s_fail(run, "%s: cannot add %s", part, name);
        }
    }
    int rc = zip_close(zip);
    if (rc != 0) {
        s_fail(run, "%s: %s", part, zip_strerror(zip));
        zip_discard(zip);
    }
    free(text);
    return rc == 0 ? 0 : -1;
}

static void s_cleanup(const char *dir, json_t *files)
{
    const char *name;
    json_t *entry;
    json_object_foreach(files, name, entry) {
        char file[4200];
        snprintf(file, sizeof file, "%s/%s", dir, name);
        unlink(file);
    }
    rmdir(dir);
}

int bkwriter_write(PGconn *conn, const bkwriter_config_t *config, const char *path,
                   bkwriter_result_t *out)
{
    memset(out, 0, sizeof *out);
    s_run_t run = { conn, config, out, 0, 0 };
    char dir[4096], part[4096];
    snprintf(dir, sizeof dir, "%s.d", path);
    snprintf(part, sizeof part, "%s.part", path);
    json_t *manifest = json_object(), *range = json_object(), *files = json_object();
    json_object_set_new(manifest, "format", json_integer(BKCATALOG_FORMAT));
    json_object_set_new(manifest, "node", json_string(config->node_path));
    json_object_set_new(manifest, "whole", json_boolean(config->whole));
    json_object_set_new(manifest, "created_by", json_string(config->created_by));
    int rc = -1;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        s_fail(&run, "%s: %s", dir, strerror(errno));
        goto done;
    }
    if (s_prepare(&run) != 0 || s_count(&run, range) != 0)
        goto done;
    json_object_set_new(manifest, "created_at", json_string(out->snapshot_at));
    json_object_set_new(manifest, "schema", json_integer(out->schema));
    json_object_set(manifest, "time_range", range);
    size_t n;
    const bkcatalog_table_t *tables = bkcatalog_tables(&n);
    for (size_t i = 0; i < n; i++) {
        if (!s_included(&run, &tables[i]))
            continue;
        char name[96], file[4200];
        snprintf(name, sizeof name, "%s.csv", tables[i].table);
        snprintf(file, sizeof file, "%s/%s", dir, name);
        json_t *entry = json_object();
        json_object_set_new(entry, "table", json_string(tables[i].table));
        json_object_set_new(files, name, entry);
        if (s_copy(&run, &tables[i], file, entry) != 0)
            goto done;
    }
    if (s_exec(&run, "COMMIT") != 0)
        goto done;
    json_object_set_new(manifest, "rows", json_integer(out->rows));
    json_object_set(manifest, "files", files);
    if (s_zip(&run, part, dir, manifest) != 0 || s_digest_file(&run, part) != 0)
        goto done;
    if (rename(part, path) != 0) {
        s_fail(&run, "%s: %s", path, strerror(errno));
        goto done;
    }
    if (config->progress)
        config->progress(config->ctx, run.done, run.total);
    rc = 0;
done:
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(conn, "ROLLBACK");
        PQclear(res);
    }
    s_cleanup(dir, files);
    if (rc != 0)
        unlink(part);
    json_decref(range);
    json_decref(files);
    json_decref(manifest);
    return rc;
}
