/*  eqms-bus: the site's XSUB/XPUB forwarder with its health and metrics port. */
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "eqms/config.h"
#include "eqms/health.h"
#include "eqms/log.h"
#include "eqms/metrics.h"
#include "eqms/service.h"
#include "forwarder.h"

typedef struct {
    char xsub_bind[256];
    char xpub_bind[256];
    long hwm;
    long io_threads;
    char http_address[64];
    long http_port;
} s_config_t;

static const config_var_t s_vars[] = {
    { "EQMS_BUS_XSUB_BIND", CONFIG_ENDPOINT, "tcp://*:5550",
      offsetof(s_config_t, xsub_bind), sizeof ((s_config_t *) 0)->xsub_bind,
      0, 0, NULL, "endpoint publishers connect to (XSUB side)" },
    { "EQMS_BUS_XPUB_BIND", CONFIG_ENDPOINT, "tcp://*:5551",
      offsetof(s_config_t, xpub_bind), sizeof ((s_config_t *) 0)->xpub_bind,
      0, 0, NULL, "endpoint subscribers connect to (XPUB side)" },
    { "EQMS_BUS_HWM", CONFIG_INT, "100000", offsetof(s_config_t, hwm), 0,
      0, 100000000, NULL,
      "messages queued per peer and direction before the bus drops (0 = no limit)" },
    { "EQMS_BUS_IO_THREADS", CONFIG_INT, "1", offsetof(s_config_t, io_threads),
      0, 1, 16, NULL, "libzmq I/O threads" },
    SERVICE_VAR_HTTP_ADDRESS(s_config_t, http_address),
    SERVICE_VAR_HTTP_PORT(s_config_t, http_port, "9550"),
};

int main(int argc, char **argv)
{
    s_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    service_init("bus", argc, argv, s_vars, sizeof s_vars / sizeof s_vars[0],
                 &cfg);
    /* before any thread starts: only service_wait_signal sees the signals */
    service_block_signals();

    int rc = 1;
    health_t *health = NULL;
    forwarder_t *forwarder = NULL;
    metrics_t *metrics = metrics_new("bus");
    if (!metrics) {
        log_error("start_failed", "reason=\"cannot create metrics\"");
        goto done;
    }
    forwarder_config_t fcfg = {
        .xsub_bind = cfg.xsub_bind,
        .xpub_bind = cfg.xpub_bind,
        .hwm = (int) cfg.hwm,
        .io_threads = (int) cfg.io_threads,
    };
    forwarder = forwarder_new(&fcfg, metrics);
    if (!forwarder) {
        log_error("start_failed", "reason=\"cannot start the forwarder\"");
        goto done;
    }
    health = health_new("bus", cfg.http_address, (int) cfg.http_port, metrics,
                        forwarder_health_check, forwarder);
    if (!health) {
        log_error("start_failed", "reason=\"cannot open the HTTP port\"");
        goto done;
    }
    log_info("started", "xsub=%s xpub=%s hwm=%ld io_threads=%ld http=%s:%ld",
             forwarder_xsub_endpoint(forwarder),
             forwarder_xpub_endpoint(forwarder), cfg.hwm, cfg.io_threads,
             cfg.http_address, cfg.http_port);

    int signo = service_wait_signal();
    log_info("stopping", "signal=%s", signo == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
done:
    health_destroy(&health);
    forwarder_destroy(&forwarder);
    metrics_destroy(&metrics);
    if (rc == 0)
        log_info("stopped", NULL);
    return rc;
}
