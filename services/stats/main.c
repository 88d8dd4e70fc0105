/*  eqms-stats: statistics tools (docs/statistics.md).
 *
 *  eqms-stats verify --from YYYY-MM-DD --to YYYY-MM-DD [--node ORG.PATH]
 *      recomputes every figure of the node's subtree (default: every root)
 *      over local dates [from, to) from the raw facts and compares them with
 *      the query interface; prints each difference. Exit 0: none; 1: some;
 *      2: usage; 3: the database failed.
 */
#include <stdio.h>
#include <string.h>

#include "eqms/log.h"
#include "eqms/pgstore.h"
#include "eqms/service.h"
#include "sv_verify.h"

typedef struct {
    char pg_conninfo[512];
    long pg_wait_s;
} s_config_t;

static const config_var_t s_vars[] = {
    SERVICE_VAR_PG_CONNINFO(s_config_t, pg_conninfo),
    SERVICE_VAR_PG_WAIT_S(s_config_t, pg_wait_s, "10"),
};

static int s_usage(void)
{
    fprintf(stderr, "usage: eqms-stats verify --from YYYY-MM-DD --to YYYY-MM-DD "
                    "[--node ORG.PATH]\n");
    return SERVICE_EXIT_CONFIG;
}

/* A strict YYYY-MM-DD (the database checks the calendar). */
static int s_date(const char *text)
{
    if (!text || strlen(text) != 10 || text[4] != '-' || text[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9'))
            return -1;
    return 0;
}

int main(int argc, char **argv)
{
    s_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    service_init("stats", argc, argv, s_vars, sizeof s_vars / sizeof s_vars[0], &cfg);
    if (argc < 2 || strcmp(argv[1], "verify") != 0)
        return s_usage();
    sv_verify_args_t args = { 0 };
    for (int i = 2; i < argc; i++) {
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--from") == 0 && value)
            args.from = value;
        else if (strcmp(argv[i], "--to") == 0 && value)
            args.to = value;
        else if (strcmp(argv[i], "--node") == 0 && value)
            args.node = value;
        else
            return s_usage();
        i++;
    }
    if (s_date(args.from) != 0 || s_date(args.to) != 0 || strcmp(args.from, args.to) >= 0) {
        fprintf(stderr, "eqms-stats verify: --from and --to must be dates YYYY-MM-DD, "
                        "from before to\n");
        return s_usage();
    }
    pgstore_t *pg = pgstore_new(cfg.pg_conninfo);
    if (pg)
        pgstore_set_statement_timeout(pg, 0);   /* a long range takes long */
    if (!pg || pgstore_connect(pg, (int) cfg.pg_wait_s * 1000) != 0) {
        log_error("verify_failed", "reason=\"database unreachable\"");
        pgstore_destroy(&pg);
        return 3;
    }
    long differences = sv_verify(pg, &args, stdout);
    pgstore_destroy(&pg);
    return differences < 0 ? 3 : differences > 0 ? 1 : 0;
}
