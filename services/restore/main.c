/*  eqms-restore: checks a backup archive of web-api (docs/backup.md) and
 *  loads it into an empty database brought to this build's schema by
 *  eqms-migrate.
 *
 *  eqms-restore ARCHIVE           verifies every file's SHA-256, then loads
 *  eqms-restore --check ARCHIVE   only verifies (no database needed)
 *
 *  Connection settings as every service's (EQMS_PG_CONNINFO). Exit status 0
 *  when done; 1 when the archive is refused (the reason names the file) or
 *  the database refuses it; the services' codes for configuration and
 *  schema.
 */
#include <stdio.h>
#include <string.h>

#include "eqms/bkreader.h"
#include "eqms/log.h"
#include "eqms/migrations.h"
#include "eqms/pgstore.h"
#include "eqms/service.h"

typedef struct {
    char pg_conninfo[512];
    long pg_wait_s;
} restore_config_t;

static const config_var_t s_vars[] = {
    SERVICE_VAR_PG_CONNINFO(restore_config_t, pg_conninfo),
    SERVICE_VAR_PG_WAIT_S(restore_config_t, pg_wait_s, "30"),
};

int main(int argc, char **argv)
{
    restore_config_t cfg;
    service_init("restore", argc, argv, s_vars, sizeof s_vars / sizeof s_vars[0], &cfg);
    bool check = argc == 3 && strcmp(argv[1], "--check") == 0;
    if (!(argc == 2 && argv[1][0] != '-') && !check) {
        fprintf(stderr, "usage: eqms-restore [--help] [--check] ARCHIVE\n");
        return SERVICE_EXIT_CONFIG;
    }
    const char *archive = argv[argc - 1];
    char error[512];
    if (check) {
        if (bkreader_verify(archive, error, sizeof error) != 0) {
            log_error("restore_refused", "archive=%s reason=\"%s\"", archive, error);
            fprintf(stderr, "eqms-restore: refused: %s\n", error);
            return 1;
        }
        printf("%s: every file matches its SHA-256\n", archive);
        return 0;
    }
    pgstore_t *pg = pgstore_new(cfg.pg_conninfo);
    if (pg)
        pgstore_set_statement_timeout(pg, 0);   /* a large archive loads for long */
    if (!pg || pgstore_connect(pg, (int) cfg.pg_wait_s * 1000) != 0) {
        log_error("restore_failed", "reason=\"database unreachable\"");
        pgstore_destroy(&pg);
        return SERVICE_EXIT_DEPEND;
    }
    if (pgstore_check_schema(pg, migrations_schema_version()) != 0) {
        pgstore_destroy(&pg);
        return SERVICE_EXIT_SCHEMA;
    }
    long long rows = 0;
    int rc = bkreader_load(pgstore_conn(pg), archive, &rows, error, sizeof error);
    if (rc != 0) {
        log_error("restore_refused", "archive=%s reason=\"%s\"", archive, error);
        fprintf(stderr, "eqms-restore: refused: %s\n", error);
    } else {
        log_info("restore_done", "archive=%s rows=%lld", archive, rows);
        printf("%s: %lld rows restored\n", archive, rows);
    }
    pgstore_destroy(&pg);
    return rc == 0 ? 0 : 1;
}
