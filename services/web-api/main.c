/*  eqms-web-api: the management service. So far it answers the device
 *  gateways' registry requests on the bus; the REST API and the console come
 *  with their issue. */
#include <string.h>

#include "eqms/bus.h"
#include "eqms/health.h"
#include "eqms/log.h"
#include "eqms/metrics.h"
#include "eqms/service.h"
#include "webapi_server.h"

typedef struct {
    char pg_conninfo[512];
    char bus_pub[256];
    char bus_sub[256];
    char http_address[64];
    long http_port;
} s_config_t;

static const config_var_t s_vars[] = {
    SERVICE_VAR_PG_CONNINFO(s_config_t, pg_conninfo),
    SERVICE_VAR_BUS_PUB(s_config_t, bus_pub),
    SERVICE_VAR_BUS_SUB(s_config_t, bus_sub),
    SERVICE_VAR_HTTP_ADDRESS(s_config_t, http_address),
    SERVICE_VAR_HTTP_PORT(s_config_t, http_port, "9560"),
};

int main(int argc, char **argv)
{
    s_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    service_init("web-api", argc, argv, s_vars, sizeof s_vars / sizeof s_vars[0], &cfg);
    service_block_signals();
    pgstore_t *pg = service_open_database(cfg.pg_conninfo, 30000);
    int rc = 1;
    metrics_t *metrics = metrics_new("web-api");
    webapi_server_t *server = NULL;
    health_t *health = NULL;
    if (!metrics)
        goto done;
    server = webapi_server_new(&pg, cfg.bus_pub, cfg.bus_sub, metrics);
    if (!server)
        goto done;
    health = health_new("web-api", cfg.http_address, (int) cfg.http_port, metrics,
                        health_liveness_check,
                        webapi_server_liveness(server));
    if (!health)
        goto done;
    log_info("started", "bus_pub=%s bus_sub=%s http=%s:%ld", cfg.bus_pub, cfg.bus_sub,
             cfg.http_address, cfg.http_port);
    int sig = service_wait_signal();
    log_info("stopping", "signal=%d", sig);
    rc = 0;
done:
    health_destroy(&health);
    webapi_server_destroy(&server);
    metrics_destroy(&metrics);
    pgstore_destroy(&pg);
    return rc;
}
