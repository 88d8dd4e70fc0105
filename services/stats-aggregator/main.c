/*  eqms-stats-aggregator: the facts of queue-manager and rating-ingest turned
 *  into figures for every node and period (st_server.h, docs/statistics.md). */
#include <string.h>

#include "eqms/health.h"
#include "eqms/log.h"
#include "eqms/metrics.h"
#include "eqms/service.h"
#include "st_server.h"

typedef struct {
    char pg_conninfo[512];
    char bus_pub[256];
    char bus_sub[256];
    char http_address[64];
    long http_port;
    long poll_ms;
    long flush_ms;
    long batch;
    long tree_s;
    long report_delay_s;
    long report_every_s;
    long report_timeout_s;
} s_config_t;

static const config_var_t s_vars[] = {
    SERVICE_VAR_PG_CONNINFO(s_config_t, pg_conninfo),
    SERVICE_VAR_BUS_PUB(s_config_t, bus_pub),
    SERVICE_VAR_BUS_SUB(s_config_t, bus_sub),
    SERVICE_VAR_HTTP_ADDRESS(s_config_t, http_address),
    SERVICE_VAR_HTTP_PORT(s_config_t, http_port, "9556"),
    { "EQMS_STATS_POLL_MS", CONFIG_INT, "1000", offsetof(s_config_t, poll_ms), 0, 10,
      60000, NULL, "how often (ms) the streams' heads are read when the bus is quiet" },
    { "EQMS_STATS_FLUSH_MS", CONFIG_INT, "500", offsetof(s_config_t, flush_ms), 0, 0, 5000,
      NULL, "while facts keep coming, a transaction of figures at most this often (ms): "
      "the facts of the meantime go into one (0 = one after every pass)" },
    { "EQMS_STATS_BATCH", CONFIG_INT, "20000", offsetof(s_config_t, batch), 0, 1, 1000000,
      NULL, "facts turned into figures per transaction, at most" },
    { "EQMS_STATS_TREE_S", CONFIG_INT, "30", offsetof(s_config_t, tree_s), 0, 1, 3600,
      NULL, "how often (s) the organisation tree and the configuration are re-read" },
    { "EQMS_STATS_REPORT_DELAY_S", CONFIG_INT, "600", offsetof(s_config_t, report_delay_s), 0,
      0, 86400, NULL, "how long (s) after a day or month closed in a node's zone its report "
      "is made (late facts that come before are in it)" },
    { "EQMS_STATS_REPORT_EVERY_S", CONFIG_INT, "60", offsetof(s_config_t, report_every_s), 0,
      1, 86400, NULL, "how often (s) due reports are looked for; one that failed is tried "
      "again then" },
    { "EQMS_STATS_REPORT_TIMEOUT_S", CONFIG_INT, "900", offsetof(s_config_t, report_timeout_s),
      0, 0, 86400, NULL, "statement timeout (s) of one report on the reports' own connection "
      "(0 = none; a month of head office may take minutes)" },
};

int main(int argc, char **argv)
{
    s_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    service_init("stats-aggregator", argc, argv, s_vars, sizeof s_vars / sizeof s_vars[0],
                 &cfg);
    service_block_signals();
    pgstore_t *pg = service_open_database(cfg.pg_conninfo, 30000);
    int rc = 1;
    metrics_t *metrics = metrics_new("stats-aggregator");
    st_server_t *server = NULL;
    health_t *health = NULL;
    if (!metrics)
        goto done;
    st_server_config_t scfg = { .pg_conninfo = cfg.pg_conninfo,
                                .bus_pub = cfg.bus_pub, .bus_sub = cfg.bus_sub,
                                .poll_ms = (int) cfg.poll_ms,
                                .flush_ms = (int) cfg.flush_ms,
                                .batch = (int) cfg.batch, .tree_s = (int) cfg.tree_s,
                                .report_delay_s = (int) cfg.report_delay_s,
                                .report_every_s = (int) cfg.report_every_s,
                                .report_timeout_s = (int) cfg.report_timeout_s };
    server = st_server_new(&pg, &scfg, metrics);
    if (!server)
        goto done;
    health = health_new("stats-aggregator", cfg.http_address, (int) cfg.http_port, metrics,
                        health_liveness_check, st_server_liveness(server));
    if (!health)
        goto done;
    log_info("started", "bus_pub=%s bus_sub=%s http=%s:%ld", cfg.bus_pub, cfg.bus_sub,
             cfg.http_address, cfg.http_port);
    int sig = service_wait_signal();
    log_info("stopping", "signal=%d", sig);
    rc = 0;
done:
    health_destroy(&health);
    st_server_destroy(&server);
    metrics_destroy(&metrics);
    pgstore_destroy(&pg);
    return rc;
}
