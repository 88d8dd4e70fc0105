/*  eqms-sms-notifier: alerts on unhappy customers, and their SMS
 *  (sn_server.h, docs/alerts.md). */
#include <string.h>

#include "eqms/health.h"
#include "eqms/log.h"
#include "eqms/metrics.h"
#include "eqms/service.h"
#include "sn_server.h"

typedef struct {
    char pg_conninfo[512];
    char bus_sub[256];
    char http_address[64];
    long http_port;
    long poll_ms;
} s_config_t;

static const config_var_t s_vars[] = {
    SERVICE_VAR_PG_CONNINFO(s_config_t, pg_conninfo),
    SERVICE_VAR_BUS_SUB(s_config_t, bus_sub),
    SERVICE_VAR_HTTP_ADDRESS(s_config_t, http_address),
    SERVICE_VAR_HTTP_PORT(s_config_t, http_port, "9557"),
    { "EQMS_SMS_POLL_MS", CONFIG_INT, "1000", offsetof(s_config_t, poll_ms), 0, 10, 60000,
      NULL, "how often (ms) the gateway journals' heads are read when the bus is quiet" },
};

int main(int argc, char **argv)
{
    s_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    service_init("sms-notifier", argc, argv, s_vars, sizeof s_vars / sizeof s_vars[0], &cfg);
    service_block_signals();
    pgstore_t *pg = service_open_database(cfg.pg_conninfo, 30000);
    int rc = 1;
    metrics_t *metrics = metrics_new("sms-notifier");
    sn_server_t *server = NULL;
    health_t *health = NULL;
    if (!metrics)
        goto done;
    sn_server_config_t scfg = { .bus_sub = cfg.bus_sub, .poll_ms = (int) cfg.poll_ms };
    server = sn_server_new(&pg, &scfg, metrics);
    if (!server)
        goto done;
    health = health_new("sms-notifier", cfg.http_address, (int) cfg.http_port, metrics,
                        health_liveness_check, sn_server_liveness(server));
    if (!health)
        goto done;
    log_info("started", "bus_sub=%s http=%s:%ld", cfg.bus_sub, cfg.http_address,
             cfg.http_port);
    int sig = service_wait_signal();
    log_info("stopping", "signal=%d", sig);
    rc = 0;
done:
    health_destroy(&health);
    sn_server_destroy(&server);
    metrics_destroy(&metrics);
    pgstore_destroy(&pg);
    return rc;
}
