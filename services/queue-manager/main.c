/*  eqms-queue-manager: tickets, windows, calling rules, hall display and
 *  announcements; requests on a ROUTER, device keys from the bus
 *  (qm_server.h). */
#include <string.h>

#include "eqms/clock.h"
#include "eqms/health.h"
#include "eqms/log.h"
#include "eqms/metrics.h"
#include "eqms/service.h"
#include "qm_server.h"

typedef struct {
    char pg_conninfo[512];
    char redis_url[256];
    char bus_pub[256];
    char bus_sub[256];
    char http_address[64];
    long http_port;
    char endpoint[256];
    char prefixes[1024];
    char src[65];
    long clock_offset_ms;
    long refresh_s;
} s_config_t;

static const config_var_t s_vars[] = {
    SERVICE_VAR_PG_CONNINFO(s_config_t, pg_conninfo),
    SERVICE_VAR_REDIS_URL(s_config_t, redis_url),
    SERVICE_VAR_BUS_PUB(s_config_t, bus_pub),
    SERVICE_VAR_BUS_SUB(s_config_t, bus_sub),
    SERVICE_VAR_HTTP_ADDRESS(s_config_t, http_address),
    SERVICE_VAR_HTTP_PORT(s_config_t, http_port, "9554"),
    { "EQMS_QM_ENDPOINT", CONFIG_STRING, "tcp://0.0.0.0:9553", offsetof(s_config_t, endpoint),
      sizeof ((s_config_t *) 0)->endpoint, 0, 0, NULL,
      "ZeroMQ endpoint the request ROUTER binds (docs/protocol.md, queue-manager requests)" },
    { "EQMS_QM_PREFIXES", CONFIG_STRING, "", offsetof(s_config_t, prefixes),
      sizeof ((s_config_t *) 0)->prefixes, 0, 0, NULL,
      "comma-separated org-path prefixes of the branches this instance serves (\"\" = all)" },
    { "EQMS_QM_ID", CONFIG_STRING, "queue-manager.1", offsetof(s_config_t, src),
      sizeof ((s_config_t *) 0)->src, 0, 0, NULL,
      "producer id (src) of this instance's bus messages and Redis marker" },
    { "EQMS_QM_REFRESH_S", CONFIG_INT, "60", offsetof(s_config_t, refresh_s), 0, 1, 3600,
      NULL, "how often (s) windows added in the database are looked for and joined" },
    { "EQMS_CLOCK_OFFSET_MS", CONFIG_INT, "0", offsetof(s_config_t, clock_offset_ms), 0,
      -31622400000L, 31622400000L, NULL,
      "for tests and demos only: run the clock this many ms ahead (crossing a midnight)" },
};

int main(int argc, char **argv)
{
    s_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    service_init("queue-manager", argc, argv, s_vars, sizeof s_vars / sizeof s_vars[0],
                 &cfg);
    service_block_signals();
    clock_set_offset(cfg.clock_offset_ms);
    pgstore_t *pg = service_open_database(cfg.pg_conninfo, 30000);
    int rc = 1;
    metrics_t *metrics = metrics_new("queue-manager");
    qm_server_t *server = NULL;
    health_t *health = NULL;
    if (!metrics)
        goto done;
    qm_server_config_t scfg = {
        .pg_conninfo = cfg.pg_conninfo, .endpoint = cfg.endpoint, .bus_pub = cfg.bus_pub,
        .bus_sub = cfg.bus_sub, .src = cfg.src, .redis_url = cfg.redis_url,
        .prefixes = cfg.prefixes, .refresh_ms = (int) cfg.refresh_s * 1000,
    };
    server = qm_server_new(&pg, &scfg, metrics);
    if (!server)
        goto done;
    health = health_new("queue-manager", cfg.http_address, (int) cfg.http_port, metrics,
                        health_liveness_check, qm_server_liveness(server));
    if (!health)
        goto done;
    log_info("started", "endpoint=%s bus_pub=%s bus_sub=%s http=%s:%ld", cfg.endpoint,
             cfg.bus_pub, cfg.bus_sub, cfg.http_address, cfg.http_port);
    int sig = service_wait_signal();
    log_info("stopping", "signal=%d", sig);
    rc = 0;
done:
    health_destroy(&health);
    qm_server_destroy(&server);
    metrics_destroy(&metrics);
    pgstore_destroy(&pg);
    return rc;
}
