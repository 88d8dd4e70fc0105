/*  service: configuration, log and signal handling shared by mains (service.h). */
#include "eqms/service.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"
#include "eqms/migrations.h"

typedef struct {
    int level;
} s_common_t;

static char s_name[64] = "service";   /* set by service_init */

static const config_var_t s_common_vars[] = {
    { "EQMS_LOG_LEVEL", CONFIG_ENUM, "info", offsetof(s_common_t, level), 0, 0, 0,
      "debug|info|warn|error", "lowest level of log lines written to stderr" },
};

void service_init(const char *name, int argc, char **argv, const config_var_t *vars,
                  size_t count, void *config)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            config_print_help(stdout, name, s_common_vars, 1);
            config_print_help(stdout, NULL, vars, count);
            exit(0);
        }
    }
    s_common_t common;
    char err[256];
    snprintf(s_name, sizeof s_name, "%s", name);
    log_init(name, LOG_LEVEL_INFO);
    if (config_load(s_common_vars, 1, &common, err, sizeof err) != 0
        || config_load(vars, count, config, err, sizeof err) != 0)
        service_exit_config(err);
    log_init(name, (log_level_t) common.level);
}

void service_exit_config(const char *reason)
{
    log_error("config_invalid", "reason=\"%s\"", reason);
    fprintf(stderr, "eqms-%s: %s\n", s_name, reason);
    exit(SERVICE_EXIT_CONFIG);
}

pgstore_t *service_open_database(const char *conninfo, int wait_ms)
{
    pgstore_t *pg = pgstore_new(conninfo);
    if (!pg)
        exit(SERVICE_EXIT_CONFIG);
    if (pgstore_connect(pg, wait_ms) != 0) {
        log_error("service_refused", "reason=\"database unreachable after %d ms\"", wait_ms);
        pgstore_destroy(&pg);
        exit(SERVICE_EXIT_DEPEND);
    }
    if (pgstore_check_schema(pg, migrations_schema_version()) != 0) {
        log_error("service_refused", "reason=\"schema version mismatch\"");
        pgstore_destroy(&pg);
        exit(SERVICE_EXIT_SCHEMA);
    }
    return pg;
}

static void s_signal_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

void service_block_signals(void)
{
    sigset_t set;
    s_signal_set(&set);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int service_wait_signal(void)
{
    sigset_t set;
    int sig = 0;
    s_signal_set(&set);
    while (sigwait(&set, &sig) != 0)
        ;
    return sig;
}
