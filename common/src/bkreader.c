/*  bkreader: checks and loads a backup archive (bkreader.h). */
#include "eqms/bkreader.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "eqms/bkcatalog.h"
#include "eqms/migrations.h"

#define S_MANIFEST_MAX (4 * 1024 * 1024)

static int s_fail(char *error, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_fail(char *error, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error, size, fmt, ap);
    va_end(ap);
    return -1;
}

/* Reads a member whole through `sink` (may be NULL) while hashing it; 0 with
 * its SHA-256 in hex, or -1 (error set). */
typedef int (s_sink_fn)(void *ctx, const char *buf, size_t len);

static int s_read(zip_t *zip, const char *name, s_sink_fn *sink, void *ctx, char hex[65],
                  char *error, size_t size)
{
    zip_file_t *f = zip_fopen(zip, name, 0);
    if (!f)
        return s_fail(error, size, "%s: missing from the archive", name);
    crypto_hash_sha256_state sha;
    crypto_hash_sha256_init(&sha);
    char buf[65536];
    zip_int64_t len;
    int rc = 0;
    while ((len = zip_fread(f, buf, sizeof buf)) > 0) {
        crypto_hash_sha256_update(&sha, (const unsigned char *) buf, (unsigned long long) len);
        if (sink && sink(ctx, buf, (size_t) len) != 0) {
            rc = -1;
            break;
        }
    }
    if (len < 0)
        rc = s_fail(error, size, "%s: damaged (%s)", name, zip_file_strerror(f));
    zip_fclose(f);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final(&sha, digest);
    sodium_bin2hex(hex, 65, digest, sizeof digest);
    return rc;
}

typedef struct {
    char *text;
    size_t len;
} s_buf_t;

static int s_collect(void *ctx, const char *buf, size_t len)
{
    s_buf_t *b = ctx;
    if (b->len + len > S_MANIFEST_MAX)
        return -1;
    char *grown = realloc(b->text, b->len + len + 1);
    if (!grown)
        return -1;
    memcpy(grown + b->len, buf, len);
    b->len += len;
    grown[b->len] = 0;
    b->text = grown;
    return 0;
}

/* Opens the archive and checks it: the zip (NULL on failure) and its
 * manifest in *manifest. */
static zip_t *s_open(const char *path, json_t **manifest, char *error, size_t size)
{
    int err = 0;
    *manifest = NULL;
    zip_t *zip = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!zip) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, err);
        s_fail(error, size, "%s: not a readable archive (%s)", path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return NULL;
    }
    s_buf_t b = { NULL, 0 };
    char hex[65];
    json_error_t jerr;
    if (s_read(zip, "manifest.json", s_collect, &b, hex, error, size) != 0)
        goto err;
    *manifest = b.text ? json_loads(b.text, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    free(b.text);
    b.text = NULL;
    json_t *files = json_object_get(*manifest, "files");
    if (!json_is_object(files)) {
        s_fail(error, size, "manifest.json: not a manifest (%s)",
               *manifest ? "no files" : jerr.text);
        goto err;
    }
    if (json_integer_value(json_object_get(*manifest, "format")) != BKCATALOG_FORMAT) {
        s_fail(error, size, "manifest.json: format is not %d", BKCATALOG_FORMAT);
        goto err;
    }
    json_t *schema = json_object_get(*manifest, "schema");
    if (schema && (!json_is_integer(schema) || json_integer_value(schema) < 1)) {
        s_fail(error, size, "manifest.json: schema is not a schema version");
        goto err;
    }
    if (schema && json_integer_value(schema) > migrations_schema_version()) {
        s_fail(error, size, "manifest.json: made at schema %lld, newer than this build's %d",
               (long long) json_integer_value(schema), migrations_schema_version());
        goto err;
    }
    const char *name;
    json_t *entry;
    json_object_foreach(files, name, entry) {
        const char *table = json_string_value(json_object_get(entry, "table"));
        char expect[96];
        snprintf(expect, sizeof expect, "%s.csv", table ? table : "");
        if (!table || !bkcatalog_find(table) || strcmp(expect, name) != 0) {
            s_fail(error, size, "%s: not a table an archive holds", name);
            goto err;
        }
    }
    zip_int64_t n = zip_get_num_entries(zip, 0);
    for (zip_int64_t i = 0; i < n; i++) {
        const char *member = zip_get_name(zip, (zip_uint64_t) i, 0);
        if (member && strcmp(member, "manifest.json") != 0 && !json_object_get(files, member)) {
            s_fail(error, size, "%s: in the archive but not in manifest.json", member);
            goto err;
        }
    }
    return zip;
err:
    free(b.text);
    json_decref(*manifest);
    *manifest = NULL;
    zip_discard(zip);
    return NULL;
}

static int s_check(zip_t *zip, json_t *files, char *error, size_t size)
{
    const char *name;
    json_t *entry;
    json_object_foreach(files, name, entry) {
        char hex[65];
        if (s_read(zip, name, NULL, NULL, hex, error, size) != 0)
            return -1;
        const char *want = json_string_value(json_object_get(entry, "sha256"));
        if (!want || strcmp(want, hex) != 0)
            return s_fail(error, size, "%s: its SHA-256 is %s, the manifest says %s", name,
                          hex, want ? want : "nothing");
    }
    return 0;
}

int bkreader_verify(const char *path, char *error, size_t size)
{
    json_t *manifest;
    zip_t *zip = s_open(path, &manifest, error, size);
    if (!zip)
        return -1;
    int rc = s_check(zip, json_object_get(manifest, "files"), error, size);
    zip_discard(zip);
    json_decref(manifest);
    return rc;
}

/* --- loading ------------------------------------------------------------------------ */

typedef struct {
    PGconn *conn;
    const char *table;
    bool started;
    char line[4096];              /* the header, until the COPY starts */
    size_t len;
    char *error;
    size_t size;
} s_load_t;

static int s_exec(PGconn *conn, const char *sql, char *error, size_t size)
{
    PGresult *res = PQexec(conn, sql);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok)
        s_fail(error, size, "database: %s", PQerrorMessage(conn));
    PQclear(res);
    return ok ? 0 : -1;
}

/* COPY <table> (<the header's columns>) FROM STDIN, once the header is read. */
static int s_start(s_load_t *l)
{
    char cols[4096] = "";
    size_t at = 0;
    for (size_t i = 0; i < l->len; i++) {
        char c = l->line[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == ','))
            return s_fail(l->error, l->size, "%s.csv: header is not a list of columns",
                          l->table);
        if (at + 2 >= sizeof cols)
            return s_fail(l->error, l->size, "%s.csv: header too long", l->table);
        cols[at++] = c;
    }
    cols[at] = 0;
    char sql[4400];
    snprintf(sql, sizeof sql, "COPY %s (%s) FROM STDIN (FORMAT csv, HEADER true,"
             " ENCODING 'UTF8')", l->table, cols);
    PGresult *res = PQexec(l->conn, sql);
    int ok = PQresultStatus(res) == PGRES_COPY_IN;
    PQclear(res);
    if (!ok)
        return s_fail(l->error, l->size, "%s.csv: %s", l->table, PQerrorMessage(l->conn));
    l->started = true;
    if (PQputCopyData(l->conn, l->line, (int) l->len) != 1
        || PQputCopyData(l->conn, "\n", 1) != 1)
        return s_fail(l->error, l->size, "%s.csv: %s", l->table, PQerrorMessage(l->conn));
    return 0;
}

static int s_feed(void *ctx, const char *buf, size_t len)
{
    s_load_t *l = ctx;
    if (!l->started) {
        const char *nl = memchr(buf, '\n', len);
        size_t take = nl ? (size_t) (nl - buf) : len;
        if (l->len + take >= sizeof l->line)
            return s_fail(l->error, l->size, "%s.csv: header too long", l->table);
        memcpy(l->line + l->len, buf, take);
        l->len += take;
        if (!nl)
            return 0;
        if (s_start(l) != 0)
            return -1;
        buf = nl + 1;
        len -= take + 1;
    }
    if (len && PQputCopyData(l->conn, buf, (int) len) != 1)
        return s_fail(l->error, l->size, "%s.csv: %s", l->table, PQerrorMessage(l->conn));
    return 0;
}

static int s_load_table(PGconn *conn, zip_t *zip, const char *name, const char *table,
                        long long *rows, char *error, size_t size)
{
    s_load_t l = { .conn = conn, .table = table, .error = error, .size = size };
    char hex[65];
    int rc = s_read(zip, name, s_feed, &l, hex, error, size);
    if (!l.started)
        return rc == 0 ? 0 : -1;  /* an empty member: no header, no rows */
    if (PQputCopyEnd(conn, rc == 0 ? NULL : "refused") != 1)
        rc = s_fail(error, size, "%s: %s", name, PQerrorMessage(conn));
    PGresult *res;
    while ((res = PQgetResult(conn))) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0)
            rc = s_fail(error, size, "%s: %s", name, PQerrorMessage(conn));
        else if (rc == 0)
            *rows += atoll(PQcmdTuples(res));
        PQclear(res);
    }
    return rc;
}

/* Identity columns continue after the ids loaded. */
static const char s_sequences_sql[] =
    "DO $$ DECLARE c record; BEGIN"
    " FOR c IN SELECT table_name, column_name FROM information_schema.columns"
    "   WHERE table_schema = current_schema() AND is_identity = 'YES' LOOP"
    "   EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L),"
    "     coalesce((SELECT max(%I) FROM %I), 0) + 1, false)',"
    "     c.table_name, c.column_name, c.column_name, c.table_name);"
    " END LOOP; END $$";

/* What an archive of an older schema holds otherwise, made as this schema
 * holds it once the table is loaded: for archives made before `schema` (an
 * archive without "schema" was made before 35). */
static const struct {
    int schema;
    const char *table;
    const char *sql;
} s_upgrades[] = {
    /* schema 35: a stats cell's histograms are running counts */
    { 35, "stats_cell",
      "UPDATE stats_cell SET wait_hist = stats_hist_cumulative(wait_hist),"
      " svc_hist = stats_hist_cumulative(svc_hist)"
      " WHERE cardinality(wait_hist) > 0 OR cardinality(svc_hist) > 0" },
};

static int s_upgrade(PGconn *conn, json_t *manifest, char *error, size_t size)
{
    json_t *schema = json_object_get(manifest, "schema");
    json_int_t made_at = schema ? json_integer_value(schema) : 34;
    json_t *files = json_object_get(manifest, "files");
    for (size_t i = 0; i < sizeof s_upgrades / sizeof s_upgrades[0]; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s.csv", s_upgrades[i].table);
        if (made_at < s_upgrades[i].schema && json_object_get(files, name)
            && s_exec(conn, s_upgrades[i].sql, error, size) != 0)
            return -1;
    }
    return 0;
}

int bkreader_load(PGconn *conn, const char *path, long long *rows, char *error, size_t size)
{
    *rows = 0;
    json_t *manifest;
    zip_t *zip = s_open(path, &manifest, error, size);
    if (!zip)
        return -1;
    json_t *files = json_object_get(manifest, "files");
    int rc = s_check(zip, files, error, size);
    if (rc != 0)
        goto done;
    PGresult *res = PQexec(conn, "SELECT count(*) FROM org_node");
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        rc = s_fail(error, size, "database (is it migrated?): %s", PQerrorMessage(conn));
    else if (atoll(PQgetvalue(res, 0, 0)) != 0)
        rc = s_fail(error, size, "database: not empty (it has an organisation already)");
    PQclear(res);
    if (rc != 0 || s_exec(conn, "BEGIN", error, size) != 0
        || s_exec(conn, "SET LOCAL session_replication_role = replica", error, size) != 0) {
        rc = -1;
        goto done;
    }
    /* in load order: the catalogue's, whatever the manifest's */
    size_t n;
    const bkcatalog_table_t *tables = bkcatalog_tables(&n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char name[96], sql[160];
        snprintf(name, sizeof name, "%s.csv", tables[i].table);
        if (!json_object_get(files, name))
            continue;
        snprintf(sql, sizeof sql, "DELETE FROM %s", tables[i].table);
        rc = s_exec(conn, sql, error, size);
        if (rc == 0)
            rc = s_load_table(conn, zip, name, tables[i].table, rows, error, size);
    }
    if (rc == 0)
        rc = s_upgrade(conn, manifest, error, size);
    if (rc == 0)
        rc = s_exec(conn, s_sequences_sql, error, size);
    if (rc == 0)
        rc = s_exec(conn, "COMMIT", error, size);
    if (rc != 0) {
        res = PQexec(conn, "ROLLBACK");
        PQclear(res);
    }
done:
    zip_discard(zip);
    json_decref(manifest);
    return rc;
}
