/*  pgtest: a database of its own, at the current schema, for unit tests that
 *  need a real PostgreSQL (EQMS_TEST_PG_CONNINFO, started by tests/run.py). */
#ifndef EQMS_TEST_PGTEST_H
#define EQMS_TEST_PGTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eqms/migrations.h"
#include "eqms/pgstore.h"

/* Creates the database unit_<name>_<pid> with every migration applied and
 * writes its conninfo into `conninfo`. Returns 0, or -1 (reason printed). */
static inline int pgtest_db_new(const char *name, char *conninfo, size_t size)
{
    const char *admin = getenv("EQMS_TEST_PG_CONNINFO");
    if (!admin || !strrchr(admin, '/')) {
        fprintf(stderr, "EQMS_TEST_PG_CONNINFO is not set: run through tests/run.py\n");
        return -1;
    }
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE unit_%s_%d", name, (int) getpid());
    pgstore_t *pg = pgstore_new(admin);
    int rc = pg && pgstore_exec(pg, sql, 0, NULL) == 0 ? 0 : -1;
    pgstore_destroy(&pg);
    const char *slash = strrchr(admin, '/');
    snprintf(conninfo, size, "%.*s/unit_%s_%d", (int) (slash - admin), admin, name,
             (int) getpid());
    if (rc != 0)
        return -1;
    pg = pgstore_new(conninfo);
    rc = pg && pgstore_migrate(pg, migrations, migrations_count) >= 0 ? 0 : -1;
    pgstore_destroy(&pg);
    if (rc != 0)
        fprintf(stderr, "pgtest: the migrations failed on %s\n", conninfo);
    return rc;
}

/* One number from a query (the first column of the first row), -1 if none. */
static inline long pgtest_count(pgstore_t *pg, const char *sql)
{
    PGresult *res = pgstore_query(pg, sql, 0, NULL);
    long n = res && PQntuples(res) > 0 ? atol(PQgetvalue(res, 0, 0)) : -1;
    PQclear(res);
    return n;
}

#endif
