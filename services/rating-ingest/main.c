/*  eqms-rating-ingest: gateway events in, ratings, staff sessions and service
 *  records into PostgreSQL, acks and rating.stored out (ri_server.h). */
#include <string.h>

#include "eqms/health.h"
#include "eqms/log.h"
#include "eqms/metrics.h"
#include "eqms/service.h"
#include "ri_server.h"

typedef struct {
    char pg_conninfo[512];
    char redis_url[256];
    char bus_pub[256];
    char bus_sub[256];
    char http_address[64];
    long http_port;
    char prefixes[1024];
    char src[65];
    long batch_max;
    long batch_delay_ms;
    long max_skew_s;
    long max_age_s;
    long hold_ms;
    long ticket_poll_ms;
} s_config_t;

static const config_var_t s_vars[] = {
    SERVICE_VAR_PG_CONNINFO(s_config_t, pg_conninfo),
    SERVICE_VAR_REDIS_URL(s_config_t, redis_url),
    SERVICE_VAR_BUS_PUB(s_config_t, bus_pub),
    SERVICE_VAR_BUS_SUB(s_config_t, bus_sub),
    SERVICE_VAR_HTTP_ADDRESS(s_config_t, http_address),
    SERVICE_VAR_HTTP_PORT(s_config_t, http_port, "9552"),
    { "EQMS_INGEST_PREFIXES", CONFIG_STRING, "", offsetof(s_config_t, prefixes),
      sizeof ((s_config_t *) 0)->prefixes, 0, 0, NULL,
      "comma-separated org paths this worker takes (\"\" = all), e.g. "
      "hq.r01,hq.r02.b0003: branches or nodes above branches, never a window path" },
    { "EQMS_INGEST_ID", CONFIG_STRING, "rating-ingest.1", offsetof(s_config_t, src),
      sizeof ((s_config_t *) 0)->src, 0, 0, NULL,
      "producer id (src) of this worker's acks and rating.stored events" },
    { "EQMS_INGEST_BATCH_MAX", CONFIG_INT, "4000", offsetof(s_config_t, batch_max), 0, 1,
      100000, NULL, "events committed in one transaction at most" },
    { "EQMS_INGEST_BATCH_DELAY_MS", CONFIG_INT, "20", offsetof(s_config_t, batch_delay_ms),
      0, 0, 10000, NULL, "longest wait (ms) before a partial batch is committed" },
    { "EQMS_INGEST_MAX_SKEW_S", CONFIG_INT, "300", offsetof(s_config_t, max_skew_s), 0, 1,
      86400, NULL, "how far (s) event_time may be later than received (a device clock "
      "ahead)" },
    { "EQMS_INGEST_MAX_AGE_S", CONFIG_INT, "2592000", offsetof(s_config_t, max_age_s), 0, 1,
      31622400, NULL, "how far (s) event_time may be earlier than received (events a "
      "device kept while the gateway was away; default 30 days)" },
    { "EQMS_INGEST_HOLD_MS", CONFIG_INT, "10000", offsetof(s_config_t, hold_ms), 0, 100,
      600000, NULL, "how long (ms) events that follow a gap in a gateway's seqs wait for "
      "the replay before they are decided without it" },
    { "EQMS_INGEST_TICKET_POLL_MS", CONFIG_INT, "1000", offsetof(s_config_t, ticket_poll_ms),
      0, 50, 60000, NULL, "how often (ms) the tickets finished at the windows are caught up "
      "from ticket_event (ticket.finished on the bus tells them earlier)" },
};

int main(int argc, char **argv)
{
    s_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    service_init("rating-ingest", argc, argv, s_vars, sizeof s_vars / sizeof s_vars[0],
                 &cfg);
    service_block_signals();
    char err[512];
    ri_prefixes_t *prefixes = ri_prefixes_new(cfg.prefixes, err, sizeof err);
    if (!prefixes)
        service_exit_config(err);
    pgstore_t *pg = service_open_database(cfg.pg_conninfo, 30000);
    int checked = ri_prefixes_check(prefixes, pg, err, sizeof err);
    if (checked == -1)
        service_exit_config(err);
    int rc = 1;
    metrics_t *metrics = metrics_new("rating-ingest");
    ri_server_t *server = NULL;
    health_t *health = NULL;
    if (checked != 0) {
        log_error("service_refused", "reason=\"%s\"", err);
        rc = SERVICE_EXIT_DEPEND;
        goto done;
    }
    if (!metrics)
        goto done;
    ri_server_config_t scfg = {
        .pg_conninfo = cfg.pg_conninfo, .bus_pub = cfg.bus_pub, .bus_sub = cfg.bus_sub, .src = cfg.src,
        .redis_url = cfg.redis_url,
        .prefixes = prefixes, .batch_max = (int) cfg.batch_max,
        .batch_delay_ms = (int) cfg.batch_delay_ms, .max_skew_s = (int) cfg.max_skew_s,
        .max_age_s = (int) cfg.max_age_s, .hold_ms = (int) cfg.hold_ms,
        .ticket_poll_ms = (int) cfg.ticket_poll_ms,
    };
    server = ri_server_new(&pg, &scfg, metrics);
    if (!server)
        goto done;
    health = health_new("rating-ingest", cfg.http_address, (int) cfg.http_port, metrics,
                        health_liveness_check,
                        ri_server_liveness(server));
    if (!health)
        goto done;
    log_info("started", "bus_pub=%s bus_sub=%s http=%s:%ld", cfg.bus_pub, cfg.bus_sub,
             cfg.http_address, cfg.http_port);
    int sig = service_wait_signal();
    log_info("stopping", "signal=%d", sig);
    rc = 0;
done:
    health_destroy(&health);
    ri_server_destroy(&server);
    metrics_destroy(&metrics);
    pgstore_destroy(&pg);
    ri_prefixes_destroy(&prefixes);
    return rc;
}
