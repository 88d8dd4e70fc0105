/*  eqms-device-gateway: rating devices over USB in, bus events out, commands back. */
#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "eqms/config.h"
#include "eqms/health.h"
#include "eqms/log.h"
#include "eqms/metrics.h"
#include "eqms/service.h"
#include "gw_server.h"

typedef struct {
    char bus_pub[256];
    char bus_sub[256];
    char gateway_id[60];
    char branch[224];
    char state_dir[1024];
    long rescan_ms;
    int usb;
    char http_address[64];
    long http_port;
} s_config_t;

static const config_var_t s_vars[] = {
    SERVICE_VAR_BUS_PUB(s_config_t, bus_pub),
    SERVICE_VAR_BUS_SUB(s_config_t, bus_sub),
    { "EQMS_GATEWAY_ID", CONFIG_STRING, NULL, offsetof(s_config_t, gateway_id),
      sizeof ((s_config_t *) 0)->gateway_id, 0, 0, NULL,
      "this gateway's producer id (envelope src), unique and stable, e.g. "
      "device-gateway.b0001" },
    { "EQMS_GATEWAY_BRANCH", CONFIG_STRING, NULL, offsetof(s_config_t, branch),
      sizeof ((s_config_t *) 0)->branch, 0, 0, NULL,
      "org path of the branch this gateway serves, e.g. hq.r01.b0001" },
    { "EQMS_GATEWAY_STATE_DIR", CONFIG_STRING, "/var/lib/eqms/device-gateway",
      offsetof(s_config_t, state_dir), sizeof ((s_config_t *) 0)->state_dir, 0, 0,
      NULL, "directory of the outbox journal and the registry cache (must exist)" },
    { "EQMS_GATEWAY_RESCAN_MS", CONFIG_INT, "2000", offsetof(s_config_t, rescan_ms),
      0, 100, 600000, NULL, "period of the USB rescan besides hotplug (ms)" },
    { "EQMS_GATEWAY_USB", CONFIG_BOOL, "true", offsetof(s_config_t, usb), 0, 0, 0,
      NULL, "use libusb (false: bus and outbox only, for tests)" },
    SERVICE_VAR_HTTP_ADDRESS(s_config_t, http_address),
    SERVICE_VAR_HTTP_PORT(s_config_t, http_port, "9551"),
};

int main(int argc, char **argv)
{
    s_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    service_init("device-gateway", argc, argv, s_vars,
                 sizeof s_vars / sizeof s_vars[0], &cfg);
    /* before any thread starts: only service_wait_signal sees the signals */
    service_block_signals();

    int rc = 1;
    health_t *health = NULL;
    gw_server_t *server = NULL;
    metrics_t *metrics = metrics_new("device-gateway");
    if (!metrics) {
        log_error("start_failed", "reason=\"cannot create metrics\"");
        goto done;
    }
    gw_server_config_t scfg = {
        .bus_pub = cfg.bus_pub,
        .bus_sub = cfg.bus_sub,
        .gateway_id = cfg.gateway_id,
        .branch = cfg.branch,
        .state_dir = cfg.state_dir,
        .rescan_ms = (int) cfg.rescan_ms,
        .usb = cfg.usb != 0,
    };
    server = gw_server_new(&scfg, metrics);
    if (!server) {
        log_error("start_failed", "reason=\"cannot start the gateway\"");
        goto done;
    }
    health = health_new("device-gateway", cfg.http_address, (int) cfg.http_port,
                        metrics, gw_server_health_check, server);
    if (!health) {
        log_error("start_failed", "reason=\"cannot open the HTTP port\"");
        goto done;
    }
    log_info("started", "gateway=%s branch=%s pub=%s sub=%s http=%s:%ld",
             cfg.gateway_id, cfg.branch, cfg.bus_pub, cfg.bus_sub, cfg.http_address,
             cfg.http_port);

    int signo = service_wait_signal();
    log_info("stopping", "signal=%s", signo == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;
done:
    health_destroy(&health);
    gw_server_destroy(&server);
    metrics_destroy(&metrics);
    if (rc == 0)
        log_info("stopped", NULL);
    return rc;
}
