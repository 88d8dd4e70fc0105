/*  pgstore: PostgreSQL through libpq with reconnect, COPY and migrations (pgstore.h). */
#include "eqms/pgstore.h"

#include <stdlib.h>
#include <string.h>

#include "eqms/backoff.h"
#include "eqms/log.h"

#define S_BACKOFF_MIN_MS 100
#define S_BACKOFF_MAX_MS 5000
/* Connection defaults (pgstore.h): a silent network partition fails a call
 * within about 25 s instead of TCP's 15 minutes of retransmissions. */
#define S_CONNECT_TIMEOUT_S   "5"
#define S_KEEPALIVES_IDLE_S   "10"
#define S_KEEPALIVES_INTVL_S  "5"
#define S_KEEPALIVES_COUNT    "3"
#define S_TCP_USER_TIMEOUT_MS "20000"
#define S_COPY_CHUNK     (64 * 1024)
/* pg_advisory_lock key taken by migration runners ("EQMS" in ASCII). */
#define S_MIGRATE_LOCK   "1162956115"

struct pgstore_t {
    char *conninfo;
    int statement_timeout_ms;    /* 0 = none */
    PGconn *conn;
    backoff_t backoff;       /* when to try connecting again */
    int down_logged;         /* one log line per outage, not one per call */
    char sqlstate[6];
    char message[512];       /* the last failed statement's primary message */
    char constraint[64];     /* and the constraint it names, if any */
    char prepared[PGSTORE_PREPARED_MAX][64];   /* on this connection */
    size_t nprepared;
};

struct pgstore_copy_t {
    pgstore_t *store;
    char *buf;
    size_t len;
    int failed;
};

static void s_trim(char *text)
{
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
}

/* Drops a broken connection and schedules the next attempt. */
static void s_disconnect(pgstore_t *self, const char *why)
{
    if (self->conn) {
        if (!self->down_logged)
            log_warn("pg_connection_lost", "reason=\"%s\"", why);
        PQfinish(self->conn);
        self->conn = NULL;
        self->nprepared = 0;
        /* First retry at once: most drops are a server restart. */
        backoff_reset(&self->backoff);
    }
}

/* Returns 0 when connected; otherwise tries to connect unless in backoff. */
static int s_ensure(pgstore_t *self)
{
    if (self->conn && PQstatus(self->conn) == CONNECTION_OK)
        return 0;
    if (self->conn)
        s_disconnect(self, PQerrorMessage(self->conn));
    if (!backoff_due(&self->backoff))
        return -1;
    /* The defaults come first and the conninfo last: libpq keeps the last
     * value of a key, so the operator's conninfo overrides any of them.
     * No JIT: our statements are short, and PostgreSQL compiles a plan
     * whose estimated cost is high (scans of partitioned tables) for
     * longer than it runs (sms-notifier's threshold query: 1.6 s of JIT
     * for 14 ms of work, docs/benchmarks.md "sms"). */
    char options[96];
    snprintf(options, sizeof options, "-c statement_timeout=%d -c jit=off",
             self->statement_timeout_ms);
    const char *keys[] = {
        "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "tcp_user_timeout", "options", "dbname", NULL };
    const char *values[] = {
        S_CONNECT_TIMEOUT_S, "1", S_KEEPALIVES_IDLE_S, S_KEEPALIVES_INTVL_S,
        S_KEEPALIVES_COUNT, S_TCP_USER_TIMEOUT_MS, options, self->conninfo, NULL };
    PGconn *conn = PQconnectdbParams(keys, values, 1);
    if (conn && PQstatus(conn) == CONNECTION_OK) {
        self->conn = conn;
        self->nprepared = 0;
        backoff_reset(&self->backoff);
        if (self->down_logged)
            log_info("pg_connection_restored", NULL);
        self->down_logged = 0;
        return 0;
    }
    char reason[256];
    snprintf(reason, sizeof reason, "%s", conn ? PQerrorMessage(conn) : "out of memory");
    s_trim(reason);
    PQfinish(conn);
    int wait = backoff_failed(&self->backoff);
    if (!self->down_logged)
        log_warn("pg_unavailable", "retry_ms=%d reason=\"%s\"", wait, reason);
    self->down_logged = 1;
    return -1;
}

pgstore_t *pgstore_new(const char *conninfo)
{
    char *error = NULL;
    PQconninfoOption *options = conninfo ? PQconninfoParse(conninfo, &error) : NULL;
    if (!options) {
        if (error)
            s_trim(error);
        log_error("pg_conninfo_invalid", "reason=\"%s\"", error ? error : "missing");
        PQfreemem(error);
        return NULL;
    }
    PQconninfoFree(options);
    pgstore_t *self = calloc(1, sizeof *self);
    if (!self || !(self->conninfo = strdup(conninfo))) {
        free(self);
        return NULL;
    }
    self->statement_timeout_ms = PGSTORE_STATEMENT_TIMEOUT_MS;
    backoff_init(&self->backoff, S_BACKOFF_MIN_MS, S_BACKOFF_MAX_MS);
    return self;
}

void pgstore_set_statement_timeout(pgstore_t *self, int timeout_ms)
{
    self->statement_timeout_ms = timeout_ms > 0 ? timeout_ms : 0;
    if (self->conn) {
        char sql[64];
        snprintf(sql, sizeof sql, "SET statement_timeout = %d", self->statement_timeout_ms);
        pgstore_exec(self, sql, 0, NULL);
    }
}

void pgstore_destroy(pgstore_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pgstore_t *self = *self_p;
    PQfinish(self->conn);
    free(self->conninfo);
    free(self);
    *self_p = NULL;
}

static int s_attempt(void *self)
{
    return s_ensure(self);
}

int pgstore_connect(pgstore_t *self, int wait_ms)
{
    return backoff_retry(&self->backoff, wait_ms, s_attempt, self);
}

bool pgstore_connected(const pgstore_t *self)
{
    return self->conn && PQstatus(self->conn) == CONNECTION_OK;
}

PGconn *pgstore_conn(pgstore_t *self)
{
    return pgstore_connected(self) ? self->conn : NULL;
}

const char *pgstore_last_sqlstate(const pgstore_t *self)
{
    return self->sqlstate;
}

const char *pgstore_last_message(const pgstore_t *self)
{
    return self->sqlstate[0] ? self->message : "";
}

const char *pgstore_last_constraint(const pgstore_t *self)
{
    return self->sqlstate[0] ? self->constraint : "";
}

/* Checks a result; on failure logs it, records the SQLSTATE, clears it and
 * notices a lost connection. Returns the result or NULL. */
static PGresult *s_check(pgstore_t *self, PGresult *res, const char *sql)
{
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK
        || status == PGRES_COPY_IN) {
        self->sqlstate[0] = '\0';
        return res;
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    snprintf(self->sqlstate, sizeof self->sqlstate, "%s", state ? state : "");
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    snprintf(self->message, sizeof self->message, "%s", primary ? primary : "");
    snprintf(self->constraint, sizeof self->constraint, "%s", constraint ? constraint : "");
    char message[512];
    snprintf(message, sizeof message, "%s",
             res ? PQresultErrorMessage(res) : PQerrorMessage(self->conn));
    s_trim(message);
    PQclear(res);
    if (PQstatus(self->conn) == CONNECTION_BAD)
        s_disconnect(self, message);
    else
        log_warn("pg_statement_failed", "sqlstate=%s sql=\"%.60s\" reason=\"%s\"",
                 self->sqlstate[0] ? self->sqlstate : "-", sql, message);
    return NULL;
}

PGresult *pgstore_query(pgstore_t *self, const char *sql, int nparams,
                        const char *const *params)
{
    self->sqlstate[0] = '\0';
    if (s_ensure(self) != 0)
        return NULL;
    PGresult *res = PQexecParams(self->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    return s_check(self, res, sql);
}

PGresult *pgstore_query_prepared(pgstore_t *self, const char *name, const char *sql,
                                 int nparams, const char *const *params)
{
    self->sqlstate[0] = '\0';
    if (s_ensure(self) != 0)
        return NULL;
    bool known = false;
    for (size_t i = 0; i < self->nprepared && !known; i++)
        known = strcmp(self->prepared[i], name) == 0;
    if (!known) {
        if (self->nprepared == PGSTORE_PREPARED_MAX || strlen(name) >= sizeof self->prepared[0])
            return pgstore_query(self, sql, nparams, params);
        PGresult *res = s_check(self, PQprepare(self->conn, name, sql, nparams, NULL), sql);
        if (!res)
            return NULL;
        PQclear(res);
        snprintf(self->prepared[self->nprepared++], sizeof self->prepared[0], "%s", name);
    }
    return s_check(self, PQexecPrepared(self->conn, name, nparams, params, NULL, NULL, 0),
                   sql);
}

int pgstore_exec(pgstore_t *self, const char *sql, int nparams,
                 const char *const *params)
{
    PGresult *res = pgstore_query(self, sql, nparams, params);
    PQclear(res);
    return res ? 0 : -1;
}

int pgstore_begin(pgstore_t *self)
{
    return pgstore_exec(self, "BEGIN", 0, NULL);
}

int pgstore_commit(pgstore_t *self)
{
    return pgstore_exec(self, "COMMIT", 0, NULL);
}

int pgstore_rollback(pgstore_t *self)
{
    if (!pgstore_connected(self))
        return -1;   /* a lost connection rolled it back already */
    return pgstore_exec(self, "ROLLBACK", 0, NULL);
}

/* --- COPY ------------------------------------------------------------------ */

pgstore_copy_t *pgstore_copy_begin(pgstore_t *self, const char *table,
                                   const char *columns)
{
    char sql[512];
    snprintf(sql, sizeof sql, "COPY %s (%s) FROM STDIN", table, columns);
    PGresult *res = pgstore_query(self, sql, 0, NULL);
    if (!res)
        return NULL;
    int copy_in = PQresultStatus(res) == PGRES_COPY_IN;
    PQclear(res);
    pgstore_copy_t *copy = copy_in ? calloc(1, sizeof *copy) : NULL;
    if (!copy || !(copy->buf = malloc(S_COPY_CHUNK * 2))) {
        free(copy);
        if (copy_in && self->conn)
            PQputCopyEnd(self->conn, "out of memory");
        return NULL;
    }
    copy->store = self;
    return copy;
}

static int s_copy_flush(pgstore_copy_t *copy)
{
    if (copy->len && !copy->failed
        && PQputCopyData(copy->store->conn, copy->buf, (int) copy->len) != 1)
        copy->failed = 1;
    copy->len = 0;
    return copy->failed ? -1 : 0;
}

/* Appends one value in COPY text format: \N for NULL, escapes otherwise. */
static int s_copy_value(pgstore_copy_t *copy, const char *value)
{
    if (!value) {
        memcpy(copy->buf + copy->len, "\\N", 2);
        copy->len += 2;
        return 0;
    }
    for (const char *p = value; *p; p++) {
        if (copy->len + 2 > S_COPY_CHUNK * 2 - 2 && s_copy_flush(copy) != 0)
            return -1;
        char c = *p, esc = 0;
        if (c == '\\') esc = '\\';
        else if (c == '\n') esc = 'n';
        else if (c == '\r') esc = 'r';
        else if (c == '\t') esc = 't';
        if (esc) {
            copy->buf[copy->len++] = '\\';
            copy->buf[copy->len++] = esc;
        } else
            copy->buf[copy->len++] = c;
    }
    return 0;
}

int pgstore_copy_row(pgstore_copy_t *copy, int nvalues, const char *const *values)
{
    if (copy->failed)
        return -1;
    for (int i = 0; i < nvalues; i++) {
        if (copy->len + 4 > S_COPY_CHUNK * 2 - 4 && s_copy_flush(copy) != 0)
            return -1;
        if (s_copy_value(copy, values[i]) != 0)
            return -1;
        copy->buf[copy->len++] = i + 1 < nvalues ? '\t' : '\n';
    }
    if (copy->len >= S_COPY_CHUNK)
        return s_copy_flush(copy);
    return 0;
}

long pgstore_copy_end(pgstore_copy_t **copy_p)
{
    if (!copy_p || !*copy_p)
        return -1;
    pgstore_copy_t *copy = *copy_p;
    pgstore_t *self = copy->store;
    long rows = -1;
    s_copy_flush(copy);
    if (PQputCopyEnd(self->conn, copy->failed ? "a row could not be sent" : NULL) == 1) {
        PGresult *res = s_check(self, PQgetResult(self->conn), "COPY");
        if (res) {
            rows = atol(PQcmdTuples(res));
            PQclear(res);
        }
        /* Drain to the end of the command so the connection is usable. */
        while (self->conn && (res = PQgetResult(self->conn)))
            PQclear(res);
    } else
        s_disconnect(self, PQerrorMessage(self->conn));
    if (copy->failed)
        rows = -1;
    free(copy->buf);
    free(copy);
    *copy_p = NULL;
    return rows;
}

/* --- schema ---------------------------------------------------------------- */

int pgstore_schema_version(pgstore_t *self)
{
    /* Two statements: a query naming a missing table fails as it is parsed. */
    PGresult *res = pgstore_query(self,
        "SELECT to_regclass('schema_migrations') IS NOT NULL", 0, NULL);
    if (!res)
        return -1;
    int exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (!exists)
        return 0;
    res = pgstore_query(self, "SELECT coalesce(max(version), 0) FROM schema_migrations",
                        0, NULL);
    if (!res)
        return -1;
    int version = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return version;
}

/* The first migration after `built` that is not an expand migration:
 * 1 with its version and name, 0 if there is none, -1 if unreadable. */
static int s_first_contract(pgstore_t *self, int built, int *version,
                            char name[64])
{
    char after[16];
    snprintf(after, sizeof after, "%d", built);
    const char *params[] = { after };
    PGresult *res = pgstore_query(self,
        "SELECT version, name FROM schema_migrations WHERE version > $1::int "
        "AND NOT expand ORDER BY version LIMIT 1", 1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        *version = atoi(PQgetvalue(res, 0, 0));
        snprintf(name, 64, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return found;
}

int pgstore_check_schema(pgstore_t *self, int built)
{
    int version = pgstore_schema_version(self);
    if (version < 0) {
        log_error("schema_unknown", "built=%d reason=\"cannot read the schema "
                  "version (is the database reachable?)\"", built);
        return -1;
    }
    if (version == built)
        return 0;
    if (version < built) {
        log_error("schema_mismatch", "database=%d built=%d reason=\"the database "
                  "schema is older than this service: run eqms-migrate\"",
                  version, built);
        return -1;
    }
    int contract = 0;
    char name[64];
    int found = s_first_contract(self, built, &contract, name);
    if (found == 0) {
        log_info("schema_newer_compatible", "database=%d built=%d", version, built);
        return 0;
    }
    if (found < 0)
        log_error("schema_mismatch", "database=%d built=%d reason=\"the database "
                  "schema is newer than this service and does not say whether it is "
                  "compatible: upgrade the service\"", version, built);
    else
        log_error("schema_mismatch", "database=%d built=%d migration=%d name=%s "
                  "reason=\"the database schema is newer than this service and that "
                  "migration is not an expand migration: upgrade the service\"",
                  version, built, contract, name);
    return -1;
}

/* Checks that every migration the database has is one of ours, unchanged. */
static int s_verify_applied(pgstore_t *self, const pgstore_migration_t *migrations,
                            size_t count)
{
    PGresult *res = pgstore_query(self,
        "SELECT version, name, checksum FROM schema_migrations ORDER BY version", 0, NULL);
    if (!res)
        return -1;
    int rc = 0;
    for (int row = 0; row < PQntuples(res) && rc == 0; row++) {
        int version = atoi(PQgetvalue(res, row, 0));
        if (version < 1 || (size_t) version > count) {
            log_error("migration_unknown", "version=%d name=%s reason=\"the database "
                      "has a migration this build does not know: upgrade eqms-migrate\"",
                      version, PQgetvalue(res, row, 1));
            rc = -1;
            break;
        }
        const char *params[] = { migrations[version - 1].sql, PQgetvalue(res, row, 2) };
        PGresult *same = pgstore_query(self, "SELECT md5($1) = $2", 2, params);
        if (!same || strcmp(PQgetvalue(same, 0, 0), "t") != 0) {
            log_error("migration_changed", "version=%d name=%s reason=\"the migration "
                      "was applied with different text; applied migrations must never "
                      "change, add a new one\"", version, migrations[version - 1].name);
            rc = -1;
        }
        PQclear(same);
    }
    PQclear(res);
    return rc;
}

static int s_apply(pgstore_t *self, const pgstore_migration_t *m)
{
    char version[16];
    snprintf(version, sizeof version, "%d", m->version);
    const char *params[] = { version, m->name, m->sql, m->expand ? "t" : "f" };
    if (pgstore_begin(self) != 0)
        return -1;
    /* The file is program text holding several statements: the simple
     * protocol is the only way to send it (no user data goes in). */
    PGresult *res = s_check(self, PQexec(self->conn, m->sql), m->name);
    PQclear(res);
    if (!res
        || pgstore_exec(self, "INSERT INTO schema_migrations "
                        "(version, name, checksum, expand) "
                        "VALUES ($1, $2, md5($3), $4)", 4, params) != 0
        || pgstore_commit(self) != 0) {
        log_error("migration_failed", "version=%d name=%s", m->version, m->name);
        pgstore_rollback(self);
        return -1;
    }
    log_info("migration_applied", "version=%d name=%s", m->version, m->name);
    return 0;
}

int pgstore_migrate(pgstore_t *self, const pgstore_migration_t *migrations,
                    size_t count)
{
    int applied = 0;
    if (pgstore_exec(self, "SELECT pg_advisory_lock(" S_MIGRATE_LOCK ")", 0, NULL) != 0)
        return -1;
    if (pgstore_exec(self, "SET client_min_messages = warning", 0, NULL) != 0
        || pgstore_exec(self,
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version int PRIMARY KEY, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL) != 0
        /* Databases migrated before expand/contract had no such column:
         * their migrations count as contract ones. */
        || pgstore_exec(self, "ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS "
                        "expand boolean NOT NULL DEFAULT false", 0, NULL) != 0
        || s_verify_applied(self, migrations, count) != 0) {
        applied = -1;
        goto done;
    }
    int version = pgstore_schema_version(self);
    for (size_t i = 0; version >= 0 && i < count; i++) {
        if (migrations[i].version <= version)
            continue;
        if (s_apply(self, &migrations[i]) != 0) {
            applied = -1;
            goto done;
        }
        applied++;
    }
    if (version < 0)
        applied = -1;
done:
    if (pgstore_connected(self))
        pgstore_exec(self, "SELECT pg_advisory_unlock(" S_MIGRATE_LOCK ")", 0, NULL);
    return applied;
}
