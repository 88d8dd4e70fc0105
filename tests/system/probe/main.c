/*  eqms-probe: the smallest EQMS service, for system tests of the shared
 *  start sequence: configuration, database and schema check, health port,
 *  orderly stop on SIGTERM. It does nothing else. */
#include <stdio.h>

#include "eqms/health.h"
#include "eqms/log.h"
#include "eqms/metrics.h"
#include "eqms/service.h"

typedef struct {
    char pg_conninfo[512];
    long http_port;
} probe_config_t;

static const config_var_t s_vars[] = {
    SERVICE_VAR_PG_CONNINFO(probe_config_t, pg_conninfo),
    SERVICE_VAR_HTTP_PORT(probe_config_t, http_port, "0"),
};

int main(int argc, char **argv)
{
    probe_config_t cfg;
    service_init("probe", argc, argv, s_vars, sizeof s_vars / sizeof s_vars[0], &cfg);
    service_block_signals();
    pgstore_t *pg = service_open_database(cfg.pg_conninfo, 5000);
    metrics_t *metrics = metrics_new("probe");
    health_t *health = health_new("probe", "127.0.0.1", (int) cfg.http_port, metrics,
                                  NULL, NULL);
    if (!metrics || !health)
        return SERVICE_EXIT_DEPEND;
    log_info("started", "http_port=%ld", cfg.http_port);
    int sig = service_wait_signal();
    log_info("stopping", "signal=%d", sig);
    health_destroy(&health);
    metrics_destroy(&metrics);
    pgstore_destroy(&pg);
    return 0;
}
