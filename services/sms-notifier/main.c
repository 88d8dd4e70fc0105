/*  eqms-sms-notifier: alerts on unhappy customers and on the hall, customer
 *  messages, and their SMS (docs/alerts.md). Its threads: sn_server (alerts
 *  of unsatisfied ratings), sn_watch (threshold rules, reminders), sn_live
 *  (queue-manager's live state), sn_notices (customers' notices), sn_sender
 *  (the outbox to the gateway); sn_callbacks and sn_inbound answer the
 *  gateway's calls. */
#include <curl/curl.h>
#include <string.h>

#include "eqms/health.h"
#include "eqms/log.h"
#include "eqms/metrics.h"
#include "eqms/service.h"
#include "sn_callbacks.h"
#include "sn_inbound.h"
#include "sn_live.h"
#include "sn_notices.h"
#include "sn_watch.h"
#include "sn_provider.h"
#include "sn_sender.h"
#include "sn_server.h"

typedef struct {
    char pg_conninfo[512];
    char bus_sub[256];
    char http_address[64];
    long http_port;
    long poll_ms;
    char provider[32];
    char gateway_url[512];
    char gateway_user[128];
    char gateway_password[128];
    char sender[32];
    long gateway_timeout_ms;
    char callback_url[256];
    long callback_port;
    long max_parts;
    long retry_ms, retry_max_ms, give_up_s, lease_s, digest_gap_s, stale_s, senders;
    char qm_endpoint[256];
    long qm_timeout_ms;
    long call_max_age_s;
    long live_ms;
} s_config_t;

#define S_STRING(name, fallback, field, help) \
    { name, CONFIG_STRING, fallback, offsetof(s_config_t, field), \
      sizeof ((s_config_t *) 0)->field, 0, 0, NULL, help }
#define S_INT(name, fallback, field, min, max, help) \
    { name, CONFIG_INT, fallback, offsetof(s_config_t, field), 0, min, max, NULL, help }

static const config_var_t s_vars[] = {
    SERVICE_VAR_PG_CONNINFO(s_config_t, pg_conninfo),
    SERVICE_VAR_BUS_SUB(s_config_t, bus_sub),
    SERVICE_VAR_HTTP_ADDRESS(s_config_t, http_address),
    SERVICE_VAR_HTTP_PORT(s_config_t, http_port, "9557"),
    S_INT("EQMS_SMS_POLL_MS", "1000", poll_ms, 10, 60000,
          "how often (ms) the journals and the outbox are read when nothing wakes them"),
    S_STRING("EQMS_SMS_PROVIDER", "kannel", provider, "the SMS gateway's kind: kannel"),
    S_STRING("EQMS_SMS_GATEWAY_URL", "", gateway_url,
             "where SMS are submitted (Kannel: http://host:13113/cgi-bin/sendsms); "
             "empty: none are sent, they wait in sms_outbox"),
    S_STRING("EQMS_SMS_GATEWAY_USER", "", gateway_user, "the gateway account"),
    S_STRING("EQMS_SMS_GATEWAY_PASSWORD", "", gateway_password, "its password"),
    S_STRING("EQMS_SMS_SENDER", "95588", sender, "sender number or id shown on phones"),
    S_INT("EQMS_SMS_GATEWAY_TIMEOUT_MS", "5000", gateway_timeout_ms, 100, 60000,
          "how long one submission may take"),
    S_STRING("EQMS_SMS_CALLBACK_URL", "http://127.0.0.1:9558", callback_url,
             "base URL at which the gateway reaches the callback port (delivery "
             "reports, inbound SMS); empty: ask for no delivery reports"),
    S_INT("EQMS_SMS_CALLBACK_PORT", "9558", callback_port, 0, 65535,
          "port of the gateway's callbacks (on EQMS_HTTP_ADDRESS); 0: none"),
    S_INT("EQMS_SMS_MAX_PARTS", "4", max_parts, 1, 10,
          "an alert's text is cut to this many SMS (keep it <= Kannel's max-messages)"),
    S_INT("EQMS_SMS_RETRY_MS", "500", retry_ms, 10, 600000,
          "first wait before a submission is tried again (doubles per attempt)"),
    S_INT("EQMS_SMS_RETRY_MAX_MS", "30000", retry_max_ms, 10, 3600000,
          "longest wait between attempts"),
    S_INT("EQMS_SMS_GIVE_UP_S", "86400", give_up_s, 1, 30 * 86400,
          "an SMS not accepted this long after it was made is failed"),
    S_INT("EQMS_SMS_LEASE_S", "60", lease_s, 2, 3600,
          "how long the sender holds the SMS it took (a sender that died leaves them "
          "this long); more than EQMS_SMS_GATEWAY_TIMEOUT_MS"),
    S_INT("EQMS_SMS_DIGEST_GAP_S", "60", digest_gap_s, 0, 3600,
          "one alert SMS per recipient this often at most; what comes between goes as "
          "one digest"),
    S_INT("EQMS_SMS_SENDERS", "4", senders, 1, 32,
          "sending threads, each with its connection to the gateway; a crash may send "
          "the SMS each was submitting twice"),
    S_INT("EQMS_SMS_STALE_S", "1800", stale_s, 60, 30 * 86400,
          "an unsatisfied rating older than this when the notifier meets it (a device "
          "that was offline, a notifier that was down) is told in a digest"),
    S_STRING("EQMS_QM_ENDPOINT", "tcp://127.0.0.1:9553", qm_endpoint,
             "queue-manager's request endpoint (tickets for inbound SMS, positions for "
             "\"your turn is near\"); empty: neither"),
    S_INT("EQMS_SMS_QM_TIMEOUT_MS", "3000", qm_timeout_ms, 100, 60000,
          "how long a request to queue-manager may take"),
    S_INT("EQMS_SMS_CALL_MAX_AGE_S", "600", call_max_age_s, 10, 86400,
          "a call older than this when read is not told by SMS any more"),
    S_INT("EQMS_SMS_LIVE_MS", "5000", live_ms, 500, 20000,
          "how often queue-manager's live state is read for the live-hall rules (queues, "
          "idle windows, long services); a state older than 30 s is not judged"),
};

int main(int argc, char **argv)
{
    s_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    service_init("sms-notifier", argc, argv, s_vars, sizeof s_vars / sizeof s_vars[0], &cfg);
    service_block_signals();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        log_error("start_failed", "reason=\"libcurl cannot be initialised\"");
        return 1;
    }
    pgstore_t *pg = service_open_database(cfg.pg_conninfo, 30000);
    int rc = 1;
    metrics_t *metrics = metrics_new("sms-notifier");
    const sn_provider_t *provider = sn_provider_find(cfg.provider);
    sn_sender_t *sender = NULL;
    sn_callbacks_t *callbacks = NULL;
    sn_inbound_t *inbound = NULL;
    sn_notices_t *notices = NULL;
    sn_live_t *live = NULL;
    sn_watch_t *watch = NULL;
    sn_server_t *server = NULL;
    health_t *health = NULL;
    if (!provider)
        log_error("start_failed", "reason=\"EQMS_SMS_PROVIDER: no provider '%s'\"",
                  cfg.provider);
    if (cfg.lease_s * 1000 <= cfg.gateway_timeout_ms * 2) {
        log_error("start_failed", "reason=\"EQMS_SMS_LEASE_S must be more than twice "
                  "EQMS_SMS_GATEWAY_TIMEOUT_MS\"");
        provider = NULL;
    }
    if (*cfg.callback_url && strncmp(cfg.callback_url, "http://", 7) != 0
        && strncmp(cfg.callback_url, "https://", 8) != 0) {
        log_error("start_failed", "reason=\"EQMS_SMS_CALLBACK_URL '%s' is not an http(s) "
                  "URL: the gateway could not report deliveries\"", cfg.callback_url);
        provider = NULL;
    }
    if (!metrics || !provider)
        goto done;
    if (*cfg.gateway_url) {
        sn_sender_config_t sender_cfg = {
            .pg_conninfo = cfg.pg_conninfo, .provider = provider,
            .gateway = { .url = cfg.gateway_url, .username = cfg.gateway_user,
                         .password = cfg.gateway_password, .sender = cfg.sender,
                         .timeout_ms = (int) cfg.gateway_timeout_ms },
            .callback_url = cfg.callback_url, .poll_ms = (int) cfg.poll_ms,
            .retry_initial_ms = (int) cfg.retry_ms, .retry_max_ms = (int) cfg.retry_max_ms,
            .give_up_s = (int) cfg.give_up_s,
            .lease_s = (int) cfg.lease_s, .digest_gap_s = (int) cfg.digest_gap_s,
            .max_parts = (int) cfg.max_parts, .workers = (int) cfg.senders,
        };
        sender = sn_sender_new(&sender_cfg, metrics);
        if (!sender)
            goto done;
    }
    else
        log_warn("sms_not_sent", "reason=\"EQMS_SMS_GATEWAY_URL is empty: SMS wait in "
                 "sms_outbox\"");
    sn_inbound_config_t inbound_cfg = { .pg_conninfo = cfg.pg_conninfo,
                                        .provider = provider->name,
                                        .qm_endpoint = cfg.qm_endpoint,
                                        .qm_timeout_ms = (int) cfg.qm_timeout_ms,
                                        .max_parts = (int) cfg.max_parts, .sender = sender };
    inbound = sn_inbound_new(&inbound_cfg, metrics);
    if (!inbound)
        goto done;
    sn_callbacks_config_t callbacks_cfg = { .pg_conninfo = cfg.pg_conninfo,
                                            .provider = provider,
                                            .address = cfg.http_address,
                                            .port = (int) cfg.callback_port,
                                            .inbound = inbound };
    callbacks = sn_callbacks_new(&callbacks_cfg, metrics);
    if (!callbacks)
        goto done;
    sn_server_config_t scfg = { .bus_sub = cfg.bus_sub, .poll_ms = (int) cfg.poll_ms,
                                .max_parts = (int) cfg.max_parts,
                                .stale_s = (int) cfg.stale_s, .sender = sender };
    server = sn_server_new(&pg, &scfg, metrics);
    if (!server)
        goto done;
    sn_watch_config_t wcfg = { .pg_conninfo = cfg.pg_conninfo, .max_parts = (int) cfg.max_parts,
                               .stale_s = (int) cfg.stale_s, .sender = sender };
    watch = sn_watch_new(&wcfg, metrics);
    if (!watch)
        goto done;
    sn_notices_config_t ncfg = { .pg_conninfo = cfg.pg_conninfo, .bus_sub = cfg.bus_sub,
                                 .qm_endpoint = cfg.qm_endpoint,
                                 .qm_timeout_ms = (int) cfg.qm_timeout_ms,
                                 .poll_ms = (int) cfg.poll_ms, .max_parts = (int) cfg.max_parts,
                                 .call_max_age_s = (int) cfg.call_max_age_s,
                                 .sender = sender };
    notices = sn_notices_new(&ncfg, metrics);
    if (!notices)
        goto done;
    if (*cfg.qm_endpoint) {
        sn_live_config_t lcfg = { .pg_conninfo = cfg.pg_conninfo,
                                  .qm_endpoint = cfg.qm_endpoint,
                                  .qm_timeout_ms = (int) cfg.qm_timeout_ms,
                                  .every_ms = (int) cfg.live_ms };
        live = sn_live_new(&lcfg, metrics);
        if (!live)
            goto done;
    }
    else
        log_warn("live_hall_off", "reason=\"EQMS_QM_ENDPOINT is empty: queue, idle window "
                 "and service-time alerts are never raised\"");
    health = health_new("sms-notifier", cfg.http_address, (int) cfg.http_port, metrics,
                        health_liveness_check, sn_server_liveness(server));
    if (!health)
        goto done;
    log_info("started", "bus_sub=%s http=%s:%ld callbacks=%ld gateway=%s provider=%s qm=%s",
             cfg.bus_sub, cfg.http_address, cfg.http_port, cfg.callback_port,
             *cfg.gateway_url ? cfg.gateway_url : "(none)", provider->name,
             *cfg.qm_endpoint ? cfg.qm_endpoint : "(none)");
    int sig = service_wait_signal();
    log_info("stopping", "signal=%d", sig);
    rc = 0;
done:
    health_destroy(&health);
    sn_live_destroy(&live);
    sn_watch_destroy(&watch);
    sn_notices_destroy(&notices);
    sn_server_destroy(&server);
    sn_callbacks_destroy(&callbacks);
    sn_inbound_destroy(&inbound);
    sn_sender_destroy(&sender);
    metrics_destroy(&metrics);
    pgstore_destroy(&pg);
    curl_global_cleanup();
    return rc;
}
