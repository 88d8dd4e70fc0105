/*  pgstore: PostgreSQL through libpq, parameterised queries only.
 *
 *  The connection is made lazily and remade after a loss, with exponential
 *  backoff (100 ms doubling to 5 s): while the server is down a call fails
 *  at once instead of blocking, so a caller can keep buffering. A statement
 *  that fails because the connection dropped is not retried here: the caller
 *  decides (EQMS writes are idempotent on their event ids, so a retry is safe).
 *  A pgstore_t is used by one thread.
 *
 *  Every connection is made with timeouts, so that a silent network
 *  partition (packets dropped, no reset) fails a call within about 25 s
 *  instead of hanging the caller's loop for TCP's 15 minutes: connect_timeout
 *  5 s; TCP keepalives after 10 s idle, every 5 s, 3 probes; tcp_user_timeout
 *  20 s (data sent and not acknowledged); statement_timeout
 *  PGSTORE_STATEMENT_TIMEOUT_MS. The conninfo may override any of them
 *  (its values win, e.g. `?tcp_user_timeout=5000` or
 *  `options=-c%20statement_timeout=0`).
 */
#ifndef EQMS_PGSTORE_H
#define EQMS_PGSTORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct pgstore_t pgstore_t;
typedef struct pgstore_copy_t pgstore_copy_t;

/* A migration compiled into the binaries from common/sql (see migrations.h). */
typedef struct {
    int version;            /* the file's number: 0001_org.sql -> 1 */
    const char *name;       /* "0001_org" */
    const char *sql;        /* the file's text */
    bool expand;            /* the file has the line "-- compatibility: expand":
                               it only adds, so binaries built for the schema
                               before it keep working on it */
} pgstore_migration_t;

/* Server-side limit of one statement, unless set otherwise (below). */
#define PGSTORE_STATEMENT_TIMEOUT_MS 30000

/* Returns NULL only if conninfo cannot be parsed. Does not connect yet. */
pgstore_t *pgstore_new(const char *conninfo);
void pgstore_destroy(pgstore_t **self_p);

/* Sets the statement timeout of this and every later connection (0 = none,
 * e.g. for migrations that build indexes on large tables). */
void pgstore_set_statement_timeout(pgstore_t *self, int timeout_ms);

/* Connects (or checks the connection), retrying with backoff for up to
 * wait_ms. Returns 0 when connected, -1 otherwise (reason logged). */
int pgstore_connect(pgstore_t *self, int wait_ms);

/* True if the last call found the server reachable. */
bool pgstore_connected(const pgstore_t *self);

/* The underlying connection, or NULL while disconnected. */
PGconn *pgstore_conn(pgstore_t *self);

/* Runs one statement with text parameters ($1..$n; NULL = SQL NULL).
 * Returns the result (caller PQclear's it) when it is TUPLES_OK or
 * COMMAND_OK, NULL otherwise with the server's message logged. */
PGresult *pgstore_query(pgstore_t *self, const char *sql, int nparams,
                        const char *const *params);

/* pgstore_query for a statement run on every request: prepared under
 * `name` (one name per statement text; at most PGSTORE_PREPARED_MAX names,
 * beyond: run unprepared) on first use on each connection, then executed
 * by name, so PostgreSQL parses and plans it once per connection. */
PGresult *pgstore_query_prepared(pgstore_t *self, const char *name, const char *sql,
                                 int nparams, const char *const *params);

#define PGSTORE_PREPARED_MAX 16

/* pgstore_query for statements with no rows wanted. Returns 0 or -1. */
int pgstore_exec(pgstore_t *self, const char *sql, int nparams,
                 const char *const *params);

/* The SQLSTATE of the last failed statement ("" if none or a lost
 * connection), e.g. "23505" for a unique violation. */
const char *pgstore_last_sqlstate(const pgstore_t *self);

/* The primary message and the constraint name (each "" if none) of the
 * last failed statement, e.g. "org_node_time_zone_valid": what a caller
 * shows a person when the database refused a value. Valid until the next
 * statement. */
const char *pgstore_last_message(const pgstore_t *self);
const char *pgstore_last_constraint(const pgstore_t *self);

int pgstore_begin(pgstore_t *self);
int pgstore_commit(pgstore_t *self);
int pgstore_rollback(pgstore_t *self);

/* COPY <table> (<columns>) FROM STDIN in text format; `table` and `columns`
 * are identifiers written by the program, never input. Values are escaped
 * here; NULL is SQL NULL. Rows are streamed in 64 KiB chunks. Returns NULL
 * on failure. pgstore_copy_end commits the COPY (returns rows copied, or -1
 * and aborts the COPY if any row failed). */
pgstore_copy_t *pgstore_copy_begin(pgstore_t *self, const char *table,
                                   const char *columns);
int pgstore_copy_row(pgstore_copy_t *copy, int nvalues,
                     const char *const *values);
long pgstore_copy_end(pgstore_copy_t **copy_p);

/* Applies the migrations newer than the database's version, each in its own
 * transaction, under an advisory lock so that concurrent runners are safe.
 * An applied migration whose text changed is an error (checksums are kept in
 * schema_migrations, with each migration's `expand` flag for the services'
 * check below). Returns the number applied, or -1. */
int pgstore_migrate(pgstore_t *self, const pgstore_migration_t *migrations,
                    size_t count);

/* The database's schema version (0 for an empty database), or -1. */
int pgstore_schema_version(pgstore_t *self);

/* Whether a binary built for schema `built` may run on this database
 * (expand/contract migrations, docs/development.md): 0 if the database is
 * at `built`, or newer and every migration after `built` is an expand
 * migration (logged as schema_newer_compatible); otherwise -1 with a clear
 * message: older (run eqms-migrate), or newer with a contract migration
 * (upgrade the service; the log names the migration). */
int pgstore_check_schema(pgstore_t *self, int built);

#endif
