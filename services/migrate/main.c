/*  eqms-migrate: brings a database to the schema of this build.
 *
 *  eqms-migrate           applies the missing migrations (idempotent)
 *  eqms-migrate --check   exits 0 if the database is current, 1 if not
 *  eqms-migrate --list    prints the migrations this build carries
 */
#include <stdio.h>
#include <string.h>

#include "eqms/log.h"
#include "eqms/migrations.h"
#include "eqms/pgstore.h"
#include "eqms/service.h"

typedef struct {
    char pg_conninfo[512];
    long pg_wait_s;
} migrate_config_t;

static const config_var_t s_vars[] = {
    SERVICE_VAR_PG_CONNINFO(migrate_config_t, pg_conninfo),
    SERVICE_VAR_PG_WAIT_S(migrate_config_t, pg_wait_s, "30"),
};

int main(int argc, char **argv)
{
    migrate_config_t cfg;
    service_init("migrate", argc, argv, s_vars, sizeof s_vars / sizeof s_vars[0], &cfg);
    int check = argc > 1 && strcmp(argv[1], "--check") == 0;
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < migrations_count; i++)
            printf("%04d %s\n", migrations[i].version, migrations[i].name);
        return 0;
    }
    if (argc > 1 && !check) {
        fprintf(stderr, "usage: eqms-migrate [--check | --list | --help]\n");
        return SERVICE_EXIT_CONFIG;
    }
    pgstore_t *pg = pgstore_new(cfg.pg_conninfo);
    if (pg)
        pgstore_set_statement_timeout(pg, 0);   /* a migration may take long */
    if (!pg || pgstore_connect(pg, (int) cfg.pg_wait_s * 1000) != 0) {
        log_error("migrate_failed", "reason=\"database unreachable\"");
        pgstore_destroy(&pg);
        return 1;
    }
    int rc;
    int expected = migrations_schema_version();
    if (check) {
        int version = pgstore_schema_version(pg);
        rc = version == expected ? 0 : 1;
        if (version >= 0 && version < expected)
            log_warn("migrate_check", "database=%d built=%d reason=\"the database "
                     "schema is older than this service: run eqms-migrate\"",
                     version, expected);
        else if (version > expected)
            log_warn("migrate_check", "database=%d built=%d reason=\"the database "
                     "schema is newer than this eqms-migrate: upgrade it\"",
                     version, expected);
    } else {
        int applied = pgstore_migrate(pg, migrations, migrations_count);
        rc = applied < 0 ? 1 : 0;
        if (applied >= 0)
            log_info("migrate_done", "applied=%d version=%d", applied, expected);
    }
    pgstore_destroy(&pg);
    return rc;
}
