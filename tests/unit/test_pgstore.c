/*  Unit tests: pgstore against a real PostgreSQL (EQMS_TEST_PG_CONNINFO,
 *  started by tests/run.py). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "eqms/clock.h"
#include "eqms/pgbin.h"
#include "eqms/pgstore.h"

static char s_conninfo[512];

/* Creates a database of its own for this run and points s_conninfo at it. */
static int setup_db(void **state)
{
    (void) state;
    const char *admin = getenv("EQMS_TEST_PG_CONNINFO");
    if (!admin) {
        fprintf(stderr, "EQMS_TEST_PG_CONNINFO is not set: run through tests/run.py\n");
        return -1;
    }
    pgstore_t *pg = pgstore_new(admin);
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE unit_pgstore_%d", (int) getpid());
    int rc = pg && pgstore_exec(pg, sql, 0, NULL) == 0 ? 0 : -1;
    pgstore_destroy(&pg);
    const char *slash = strrchr(admin, '/');
    snprintf(s_conninfo, sizeof s_conninfo, "%.*s/unit_pgstore_%d",
             (int) (slash - admin), admin, (int) getpid());
    return rc;
}

static pgstore_t *connected(void)
{
    pgstore_t *pg = pgstore_new(s_conninfo);
    assert_non_null(pg);
    assert_int_equal(pgstore_connect(pg, 5000), 0);
    return pg;
}

static void test_bad_conninfo(void **state)
{
    (void) state;
    assert_null(pgstore_new("nonsense_key=1"));
    assert_null(pgstore_new("postgresql://[::1"));
    assert_null(pgstore_new(NULL));
    pgstore_destroy(NULL);
}

static void test_unreachable_server_fails_fast(void **state)
{
    (void) state;
    pgstore_t *pg = pgstore_new("postgresql://postgres@127.0.0.1:1/x");
    assert_non_null(pg);
    int64_t t0 = clock_mono_ms();
    assert_int_equal(pgstore_connect(pg, 300), -1);
    assert_true(clock_mono_ms() - t0 < 3000);
    assert_false(pgstore_connected(pg));
    assert_null(pgstore_query(pg, "SELECT 1", 0, NULL));   /* in backoff */
    pgstore_destroy(&pg);
}

static void test_parameters_are_never_sql(void **state)
{
    (void) state;
    pgstore_t *pg = connected();
    assert_int_equal(pgstore_exec(pg, "CREATE TABLE p (t text)", 0, NULL), 0);
    const char *hostile[] = { "x'); DROP TABLE p; --" };
    assert_int_equal(pgstore_exec(pg, "INSERT INTO p VALUES ($1)", 1, hostile), 0);
    const char *chinese[] = { "请A012号到3号窗口" };
    assert_int_equal(pgstore_exec(pg, "INSERT INTO p VALUES ($1)", 1, chinese), 0);
    PGresult *res = pgstore_query(pg, "SELECT t FROM p ORDER BY t", 0, NULL);
    assert_non_null(res);
    assert_int_equal(PQntuples(res), 2);
    assert_string_equal(PQgetvalue(res, 0, 0), hostile[0]);
    assert_string_equal(PQgetvalue(res, 1, 0), chinese[0]);
    PQclear(res);
    pgstore_destroy(&pg);
}

static void test_errors_keep_connection_and_sqlstate(void **state)
{
    (void) state;
    pgstore_t *pg = connected();
    assert_int_equal(pgstore_exec(pg, "CREATE TABLE u (k int PRIMARY KEY)", 0, NULL), 0);
    const char *one[] = { "1" };
    assert_int_equal(pgstore_exec(pg, "INSERT INTO u VALUES ($1)", 1, one), 0);
    assert_int_equal(pgstore_exec(pg, "INSERT INTO u VALUES ($1)", 1, one), -1);
    assert_string_equal(pgstore_last_sqlstate(pg), "23505");
    assert_string_equal(pgstore_last_constraint(pg), "u_pkey");
    assert_non_null(strstr(pgstore_last_message(pg), "duplicate key"));
    const char *bad[] = { "not a number" };
    assert_int_equal(pgstore_exec(pg, "INSERT INTO u VALUES ($1)", 1, bad), -1);
    assert_string_equal(pgstore_last_sqlstate(pg), "22P02");
    assert_null(pgstore_query(pg, "SELEC 1", 0, NULL));
    assert_true(pgstore_connected(pg));
    assert_int_equal(pgstore_exec(pg, "SELECT 1", 0, NULL), 0);
    assert_string_equal(pgstore_last_sqlstate(pg), "");
    assert_string_equal(pgstore_last_message(pg), "");
    assert_string_equal(pgstore_last_constraint(pg), "");
    pgstore_destroy(&pg);
}

static long count(pgstore_t *pg, const char *sql)
{
    PGresult *res = pgstore_query(pg, sql, 0, NULL);
    assert_non_null(res);
    long n = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return n;
}

static void test_transactions(void **state)
{
    (void) state;
    pgstore_t *pg = connected();
    assert_int_equal(pgstore_exec(pg, "CREATE TABLE tx (k int)", 0, NULL), 0);
    assert_int_equal(pgstore_begin(pg), 0);
    assert_int_equal(pgstore_exec(pg, "INSERT INTO tx VALUES (1)", 0, NULL), 0);
    assert_int_equal(pgstore_rollback(pg), 0);
    assert_int_equal(count(pg, "SELECT count(*) FROM tx"), 0);
    assert_int_equal(pgstore_begin(pg), 0);
    assert_int_equal(pgstore_exec(pg, "INSERT INTO tx VALUES (1)", 0, NULL), 0);
    assert_int_equal(pgstore_commit(pg), 0);
    assert_int_equal(count(pg, "SELECT count(*) FROM tx"), 1);
    pgstore_destroy(&pg);
}

static void test_copy_escapes_and_nulls(void **state)
{
    (void) state;
    pgstore_t *pg = connected();
    assert_int_equal(pgstore_exec(pg, "CREATE TABLE c (n int, t text)", 0, NULL), 0);
    pgstore_copy_t *copy = pgstore_copy_begin(pg, "c", "n, t");
    assert_non_null(copy);
    const char *tricky = "tab\there\nnew line\\back\rslash 满意";
    char num[16];
    for (int i = 0; i < 20000; i++) {
        snprintf(num, sizeof num, "%d", i);
        const char *row[] = { num, i % 3 == 0 ? NULL : tricky };
        assert_int_equal(pgstore_copy_row(copy, 2, row), 0);
    }
    assert_int_equal(pgstore_copy_end(&copy), 20000);
    assert_null(copy);
    assert_int_equal(count(pg, "SELECT count(*) FROM c WHERE t IS NULL"), 6667);
    const char *p[] = { tricky };
    PGresult *res = pgstore_query(pg, "SELECT count(*) FROM c WHERE t = $1", 1, p);
    assert_string_equal(PQgetvalue(res, 0, 0), "13333");
    PQclear(res);
    pgstore_destroy(&pg);
}

/* INSERT ... unnest($1::rows_[]) with $1 in binary format. */
static PGresult *binary_query(pgstore_t *pg, const char *data, size_t len)
{
    const int lengths[] = { (int) len }, formats[] = { 1 };
    return PQexecParams(pgstore_conn(pg), "INSERT INTO rows_ SELECT * FROM unnest($1::rows_[])",
                        1, NULL, &data, lengths, formats, 0);
}

/* Rows sent as one binary array of a table's row type (pgbin) arrive
 * exactly; a row that does not match the type is refused whole. */
static void test_binary_rows(void **state)
{
    (void) state;
    pgstore_t *pg = connected();
    assert_int_equal(pgstore_exec(pg, "CREATE TABLE rows_ (a bigint, b int, t text, "
                                      "at timestamptz, u uuid)", 0, NULL), 0);
    PGresult *res = pgstore_query(pg, "SELECT 'rows_'::regtype::oid", 0, NULL);
    uint32_t oid = (uint32_t) strtoul(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    pgbin_t b;
    pgbin_init(&b);
    pgbin_array_begin(&b, oid);
    for (int i = 0; i < 3; i++) {
        pgbin_record_begin(&b);
        pgbin_int8(&b, INT64_C(-9000000000) + i);
        if (i == 1)
            pgbin_null(&b, PGBIN_INT4);
        else
            pgbin_int4(&b, i);
        pgbin_text(&b, i == 2 ? NULL : "tab\t 满意 \"q\"");
        pgbin_timestamptz_ms(&b, INT64_C(1795000000123) + i);
        pgbin_uuid(&b, "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
        pgbin_record_end(&b);
    }
    pgbin_array_end(&b);
    const char *data;
    size_t len;
    assert_int_equal(pgbin_finish(&b, &data, &len), 0);
    res = binary_query(pg, data, len);
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    assert_string_equal(PQcmdTuples(res), "3");
    PQclear(res);
    res = pgstore_query(pg, "SELECT a, b, t, to_char(at AT TIME ZONE 'UTC', "
                            "'YYYY-MM-DD HH24:MI:SS.MS'), u FROM rows_ ORDER BY a", 0, NULL);
    assert_int_equal(PQntuples(res), 3);
    assert_string_equal(PQgetvalue(res, 0, 0), "-9000000000");
    assert_string_equal(PQgetvalue(res, 0, 1), "0");
    assert_true(PQgetisnull(res, 1, 1));
    assert_string_equal(PQgetvalue(res, 0, 2), "tab\t 满意 \"q\"");
    assert_true(PQgetisnull(res, 2, 2));
    assert_string_equal(PQgetvalue(res, 0, 3), "2026-11-18 11:06:40.123");
    assert_string_equal(PQgetvalue(res, 2, 3), "2026-11-18 11:06:40.125");
    assert_string_equal(PQgetvalue(res, 1, 4), "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    PQclear(res);

    /* One column short: refused with the server's reason, nothing stored. */
    pgbin_reset(&b);
    pgbin_array_begin(&b, oid);
    pgbin_record_begin(&b);
    pgbin_int8(&b, 1);
    pgbin_record_end(&b);
    pgbin_array_end(&b);
    assert_int_equal(pgbin_finish(&b, &data, &len), 0);
    res = binary_query(pg, data, len);
    assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
    assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE), "42804");
    PQclear(res);
    assert_int_equal(count(pg, "SELECT count(*) FROM rows_"), 3);
    pgbin_release(&b);
    pgstore_destroy(&pg);
}

static void test_copy_bad_row_fails_whole_copy(void **state)
{
    (void) state;
    pgstore_t *pg = connected();
    assert_int_equal(pgstore_exec(pg, "CREATE TABLE cb (n int)", 0, NULL), 0);
    pgstore_copy_t *copy = pgstore_copy_begin(pg, "cb", "n");
    const char *good[] = { "1" }, *bad[] = { "x" };
    pgstore_copy_row(copy, 1, good);
    pgstore_copy_row(copy, 1, bad);
    assert_int_equal(pgstore_copy_end(&copy), -1);
    assert_string_equal(pgstore_last_sqlstate(pg), "22P02");
    assert_int_equal(count(pg, "SELECT count(*) FROM cb"), 0);
    assert_null(pgstore_copy_begin(pg, "no_such_table", "n"));
    assert_int_equal(pgstore_exec(pg, "SELECT 1", 0, NULL), 0);   /* still usable */
    pgstore_destroy(&pg);
}

static const pgstore_migration_t s_migrations[] = {
    { 1, "0001_a", "CREATE TABLE m1 (k int);\nINSERT INTO m1 VALUES (1);\n", false },
    { 2, "0002_b", "CREATE TABLE m2 (k int);", false },
};

static void test_migrations_apply_once(void **state)
{
    (void) state;
    pgstore_t *pg = connected();
    assert_int_equal(pgstore_schema_version(pg), 0);
    assert_int_equal(pgstore_check_schema(pg, 2), -1);
    assert_int_equal(pgstore_migrate(pg, s_migrations, 1), 1);
    assert_int_equal(pgstore_schema_version(pg), 1);
    assert_int_equal(pgstore_migrate(pg, s_migrations, 2), 1);
    assert_int_equal(pgstore_migrate(pg, s_migrations, 2), 0);
    assert_int_equal(count(pg, "SELECT count(*) FROM m1"), 1);
    assert_int_equal(pgstore_check_schema(pg, 2), 0);
    assert_int_equal(pgstore_check_schema(pg, 1), -1);   /* newer, contract */
    assert_int_equal(pgstore_check_schema(pg, 3), -1);   /* database older */
    /* A build that knows fewer migrations than the database has refuses. */
    assert_int_equal(pgstore_migrate(pg, s_migrations, 1), -1);
    pgstore_destroy(&pg);
}

/* Expand/contract: a binary built for schema N runs on N + k when every
 * migration after N declared itself an expand migration, and the flag is
 * what the migration runner recorded from the migration itself. */
static void test_newer_schema_of_expand_migrations_is_accepted(void **state)
{
    (void) state;
    pgstore_t *pg = connected();
    const pgstore_migration_t three[] = {
        s_migrations[0], s_migrations[1],
        { 3, "0003_c", "-- compatibility: expand\nCREATE TABLE m3 (k int);", true },
        { 4, "0004_d", "ALTER TABLE m1 DROP COLUMN k;", false },
        { 5, "0005_e", "CREATE TABLE m5 (k int);", true },
    };
    /* test_migrations_apply_once left the database at 2 */
    assert_int_equal(pgstore_migrate(pg, three, 3), 1);
    assert_int_equal(pgstore_check_schema(pg, 3), 0);
    assert_int_equal(pgstore_check_schema(pg, 2), 0);    /* 3 only adds */
    assert_int_equal(pgstore_check_schema(pg, 1), -1);   /* 2 is a contract */
    assert_int_equal(pgstore_migrate(pg, three, 5), 2);
    assert_int_equal(count(pg, "SELECT count(*) FROM schema_migrations WHERE expand"), 2);
    assert_int_equal(pgstore_check_schema(pg, 5), 0);
    assert_int_equal(pgstore_check_schema(pg, 4), 0);
    assert_int_equal(pgstore_check_schema(pg, 3), -1);   /* 4 drops a column */
    assert_int_equal(pgstore_check_schema(pg, 2), -1);
    pgstore_destroy(&pg);
}

static void test_migration_changed_or_broken_is_refused(void **state)
{
    (void) state;
    pgstore_t *pg = connected();
    const pgstore_migration_t changed[] = {
        { 1, "0001_a", "CREATE TABLE m1 (k bigint);", false },
        { 2, "0002_b", "CREATE TABLE m2 (k int);", false },
    };
    assert_int_equal(pgstore_migrate(pg, changed, 2), -1);
    const pgstore_migration_t broken[] = {
        s_migrations[0], s_migrations[1],
        { 3, "0003_c", "CREATE TABLE m3 (k int);\nTHIS IS NOT SQL;", false },
    };
    assert_int_equal(pgstore_migrate(pg, broken, 3), -1);
    assert_int_equal(pgstore_schema_version(pg), 2);
    assert_int_equal(count(pg, "SELECT count(*) FROM pg_tables WHERE tablename = 'm3'"), 0);
    pgstore_destroy(&pg);
}

static int s_sockopt(pgstore_t *pg, int level, int name)
{
    int value = -1;
    socklen_t len = sizeof value;
    assert_int_equal(getsockopt(PQsocket(pgstore_conn(pg)), level, name, &value, &len), 0);
    return value;
}

static void s_assert_setting(pgstore_t *pg, const char *name, const char *expected)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SHOW %s", name);
    PGresult *res = pgstore_query(pg, sql, 0, NULL);
    assert_non_null(res);
    assert_string_equal(PQgetvalue(res, 0, 0), expected);
    PQclear(res);
}

/* A silent partition must fail a call in seconds: the TCP connection has
 * keepalives and a user timeout, the session a statement timeout; the
 * operator's conninfo may override each. */
static void test_connections_have_timeouts(void **state)
{
    (void) state;
    pgstore_t *pg = connected();
    assert_int_equal(s_sockopt(pg, SOL_SOCKET, SO_KEEPALIVE), 1);
    assert_int_equal(s_sockopt(pg, IPPROTO_TCP, TCP_KEEPIDLE), 10);
    assert_int_equal(s_sockopt(pg, IPPROTO_TCP, TCP_KEEPINTVL), 5);
    assert_int_equal(s_sockopt(pg, IPPROTO_TCP, TCP_KEEPCNT), 3);
    assert_int_equal(s_sockopt(pg, IPPROTO_TCP, TCP_USER_TIMEOUT), 20000);
    s_assert_setting(pg, "statement_timeout", "30s");
    pgstore_set_statement_timeout(pg, 200);
    s_assert_setting(pg, "statement_timeout", "200ms");
    assert_int_equal(pgstore_exec(pg, "SELECT pg_sleep(2)", 0, NULL), -1);
    assert_string_equal(pgstore_last_sqlstate(pg), "57014");   /* query_canceled */
    pgstore_destroy(&pg);

    char conninfo[600];
    snprintf(conninfo, sizeof conninfo, "%s?tcp_user_timeout=7000&keepalives_idle=60",
             s_conninfo);
    pg = pgstore_new(conninfo);
    assert_int_equal(pgstore_connect(pg, 5000), 0);
    assert_int_equal(s_sockopt(pg, IPPROTO_TCP, TCP_USER_TIMEOUT), 7000);
    assert_int_equal(s_sockopt(pg, IPPROTO_TCP, TCP_KEEPIDLE), 60);
    assert_int_equal(s_sockopt(pg, IPPROTO_TCP, TCP_KEEPCNT), 3);
    pgstore_destroy(&pg);
}

static void test_reconnects_after_connection_loss(void **state)
{
    (void) state;
    pgstore_t *pg = connected();
    pgstore_t *killer = connected();
    PGresult *res = pgstore_query(pg, "SELECT pg_backend_pid()::text", 0, NULL);
    const char *pid[] = { PQgetvalue(res, 0, 0) };
    assert_int_equal(pgstore_exec(killer, "SELECT pg_terminate_backend($1::int)", 1, pid), 0);
    PQclear(res);
    usleep(100 * 1000);
    assert_int_equal(pgstore_exec(pg, "SELECT 1", 0, NULL), -1);   /* the lost one */
    assert_false(pgstore_connected(pg));
    assert_int_equal(pgstore_exec(pg, "SELECT 1", 0, NULL), 0);    /* reconnected */
    assert_true(pgstore_connected(pg));
    pgstore_destroy(&pg);
    pgstore_destroy(&killer);
}

static void test_prepared_statements_survive_a_reconnect(void **state)
{
    (void) state;
    pgstore_t *pg = connected();
    pgstore_t *killer = connected();
    const char *sql = "SELECT $1::int + 1, pg_backend_pid()::text";
    const char *two[] = { "2" };
    for (int i = 0; i < 3; i++) {           /* prepared once, executed thrice */
        PGresult *res = pgstore_query_prepared(pg, "unit_add", sql, 1, two);
        assert_non_null(res);
        assert_string_equal(PQgetvalue(res, 0, 0), "3");
        PQclear(res);
    }
    PGresult *res = pgstore_query(pg, "SELECT count(*)::text FROM pg_prepared_statements"
                                      " WHERE name = 'unit_add'", 0, NULL);
    assert_string_equal(PQgetvalue(res, 0, 0), "1");
    PQclear(res);
    /* a parameter is a value, never SQL, and an error is reported as usual */
    const char *bad[] = { "1; DROP TABLE x" };
    assert_null(pgstore_query_prepared(pg, "unit_add", sql, 1, bad));
    assert_string_equal(pgstore_last_sqlstate(pg), "22P02");
    /* the connection is lost: the statement is prepared again on the next */
    res = pgstore_query_prepared(pg, "unit_add", sql, 1, two);
    char before[16];
    snprintf(before, sizeof before, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    const char *pid[] = { before };
    assert_int_equal(pgstore_exec(killer, "SELECT pg_terminate_backend($1::int)", 1, pid), 0);
    usleep(100 * 1000);
    assert_null(pgstore_query_prepared(pg, "unit_add", sql, 1, two));
    res = pgstore_query_prepared(pg, "unit_add", sql, 1, two);
    assert_non_null(res);
    assert_string_equal(PQgetvalue(res, 0, 0), "3");
    assert_string_not_equal(PQgetvalue(res, 0, 1), before);
    PQclear(res);
    pgstore_destroy(&pg);
    pgstore_destroy(&killer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_conninfo),
        cmocka_unit_test(test_unreachable_server_fails_fast),
        cmocka_unit_test(test_parameters_are_never_sql),
        cmocka_unit_test(test_errors_keep_connection_and_sqlstate),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_copy_escapes_and_nulls),
        cmocka_unit_test(test_copy_bad_row_fails_whole_copy),
        cmocka_unit_test(test_binary_rows),
        cmocka_unit_test(test_migrations_apply_once),
        cmocka_unit_test(test_migration_changed_or_broken_is_refused),
        cmocka_unit_test(test_newer_schema_of_expand_migrations_is_accepted),
        cmocka_unit_test(test_reconnects_after_connection_loss),
        cmocka_unit_test(test_prepared_statements_survive_a_reconnect),
        cmocka_unit_test(test_connections_have_timeouts),
    };
    return cmocka_run_group_tests(tests, setup_db, NULL);
}
