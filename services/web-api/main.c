/*  eqms-web-api: the management service: the REST API under /api/v1 on
 *  EQMS_WEBAPI_PORT (docs/openapi.yaml) and the device gateways' registry
 *  requests on the bus; health and metrics on EQMS_HTTP_PORT.
 *
 *    eqms-web-api                   runs the service
 *    eqms-web-api --routes          prints the REST routes and exits
 *    eqms-web-api --create-admin LOGIN NODE-PATH
 *                                   makes the first administrator, the
 *                                   password taken from EQMS_ADMIN_PASSWORD
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/bus.h"
#include "eqms/health.h"
#include "eqms/httpcors.h"
#include "eqms/log.h"
#include "eqms/metrics.h"
#include "eqms/service.h"
#include "eqms/sse.h"
#include "wa_admin.h"
#include "wa_auth.h"
#include "wa_http.h"
#include "wa_jobs.h"
#include "wa_live.h"
#include "wa_princache.h"
#include "webapi_server.h"

typedef struct {
    char pg_conninfo[512];
    char redis_url[512];
    char bus_pub[256];
    char bus_sub[256];
    char http_address[64];
    long http_port;
    char api_address[64];
    long api_port;
    long api_threads;
    long body_max;
    long session_idle_s;
    long session_max_s;
    long lockout_failures;
    long lockout_s;
    char qm_endpoint[256];
    long qm_timeout_ms;
    long streams_max;
    long live_check_s;
    char backup_dir[1024];
    long api_timeout_s;
    char cors_origins[1024];
    char static_dir[512];
    long state_cache_ms;
    long principal_cache_ms;
    long voice_cache_mb;
    long voice_queue;
    long voice_wait_ms;
} s_config_t;

#define S_INT(name, field, fallback, min, max, help) \
    { name, CONFIG_INT, fallback, offsetof(s_config_t, field), 0, min, max, NULL, help }
#define S_STR(name, field, fallback, help)                                             \
    { name, CONFIG_STRING, fallback, offsetof(s_config_t, field),                      \
      sizeof ((s_config_t *) 0)->field, 0, 0, NULL, help }

static const config_var_t s_vars[] = {
    SERVICE_VAR_PG_CONNINFO(s_config_t, pg_conninfo),
    SERVICE_VAR_REDIS_URL(s_config_t, redis_url),
    SERVICE_VAR_BUS_PUB(s_config_t, bus_pub),
    SERVICE_VAR_BUS_SUB(s_config_t, bus_sub),
    SERVICE_VAR_HTTP_ADDRESS(s_config_t, http_address),
    SERVICE_VAR_HTTP_PORT(s_config_t, http_port, "9560"),
    { "EQMS_WEBAPI_ADDRESS", CONFIG_STRING, "0.0.0.0", offsetof(s_config_t, api_address),
      sizeof ((s_config_t *) 0)->api_address, 0, 0, NULL,
      "address of the REST API (/api/v1)" },
    S_INT("EQMS_WEBAPI_PORT", api_port, "8080", 0, 65535, "REST API port (0 = none)"),
    S_INT("EQMS_WEBAPI_THREADS", api_threads, "4", 1, 256,
          "REST handler threads (each with a database and a Redis connection)"),
    S_INT("EQMS_WEBAPI_BODY_MAX", body_max, "65536", 1024, 16777216,
          "largest request body in bytes (larger: 413)"),
    S_INT("EQMS_WEBAPI_SESSION_IDLE_S", session_idle_s, "1800", 60, 86400,
          "a login session ends this long after its last use"),
    S_INT("EQMS_WEBAPI_SESSION_MAX_S", session_max_s, "43200", 60, 604800,
          "and this long after the login at the latest"),
    S_INT("EQMS_WEBAPI_LOCKOUT_FAILURES", lockout_failures, "5", 1, 100,
          "failed logins in a row that lock an account"),
    S_INT("EQMS_WEBAPI_LOCKOUT_S", lockout_s, "900", 1, 86400,
          "how long a locked account stays locked"),
    { "EQMS_QM_ENDPOINT", CONFIG_STRING, "tcp://127.0.0.1:9553",
      offsetof(s_config_t, qm_endpoint), sizeof ((s_config_t *) 0)->qm_endpoint, 0, 0, NULL,
      "queue-manager's request endpoint for tickets and window actions (\"\" = none: 503)" },
    S_INT("EQMS_WEBAPI_TIMEOUT_S", api_timeout_s, "30", 1, 3600,
          "a REST connection idle this long is dropped (slow or stuck clients)"),
    S_STR("EQMS_WEBAPI_CORS_ORIGINS", cors_origins, "",
          "browser origins allowed to call the API from their pages (CORS), comma-separated "
          "scheme://host[:port]; \"\" = none (docs/security.md)"),
    S_STR("EQMS_WEBAPI_STATIC_DIR", static_dir, "",
          "directory of the web console's built files, served at / (\"\" = none)"),
    S_INT("EQMS_WEBAPI_QM_TIMEOUT_MS", qm_timeout_ms, "3000", 100, 60000,
          "a queue-manager request without a reply this long: 504, outcome unknown"),
    S_INT("EQMS_WEBAPI_STREAMS_MAX", streams_max, "1000", 1, 100000,
          "live streams (/api/v1/live...) open at once, beyond: 503; connections are "
          "this plus 512 (mind the open-files limit)"),
    S_INT("EQMS_WEBAPI_LIVE_CHECK_S", live_check_s, "10", 1, 3600,
          "how often the credentials of open live streams are checked: a stream whose "
          "session or token was revoked or has expired ends"),
    S_STR("EQMS_WEBAPI_BACKUP_DIR", backup_dir, "var/backups",
          "where backup archives are kept (docs/backup.md); made if missing"),
    S_INT("EQMS_WEBAPI_STATE_CACHE_MS", state_cache_ms, "1000", 0, 60000,
          "a branch's live state (GET /branches/{branch}/state) is kept between its bus "
          "events, this long at most (0 = every read asks queue-manager)"),
    S_INT("EQMS_WEBAPI_PRINCIPAL_CACHE_MS", principal_cache_ms, "1000", 0, 60000,
          "a session's user or an API token's node, once read, is kept this long at most "
          "while no user, role, node or token changes through web-api (a change made "
          "around web-api, in SQL, is seen after this; 0 = read on every request)"),
    S_INT("EQMS_WEBAPI_VOICE_CACHE_MB", voice_cache_mb, "16", 0, 1024,
          "announcement audio kept in memory, least recently used out (about 175 KB a "
          "call; docs/voice.md)"),
    S_INT("EQMS_WEBAPI_VOICE_QUEUE", voice_queue, "8", 1, 1000,
          "announcement syntheses waiting at most; beyond: 503 with Retry-After"),
    S_INT("EQMS_WEBAPI_VOICE_WAIT_MS", voice_wait_ms, "5000", 100, 60000,
          "a request waits this long for its synthesis, then 503 (the synthesis goes on "
          "into the cache)"),
};

/* A configuration change: every kept hall state is forgotten, and the
 * gateways' registry snapshots are pushed. */
typedef struct {
    webapi_server_t *server;
    wa_snap_t *snap;
} s_changed_t;

static void s_changed(void *ctx, const char *path)
{
    s_changed_t *changed = ctx;
    wa_snap_forget(changed->snap, NULL);
    webapi_server_changed(changed->server, path);
}

/* --create-admin LOGIN NODE-PATH: exit 0 made or already there, 1 refused. */
static int s_create_admin(const s_config_t *cfg, const char *login, const char *node)
{
    const char *password = getenv("EQMS_ADMIN_PASSWORD");
    if (!password || !*password) {
        fprintf(stderr, "eqms-web-api: set EQMS_ADMIN_PASSWORD to the administrator's "
                        "password\n");
        return 1;
    }
    pgstore_t *pg = service_open_database(cfg->pg_conninfo, 30000);
    char reason[512];
    int made = wa_admin_create(pg, login, node, password, reason, sizeof reason);
    pgstore_destroy(&pg);
    if (made < 0) {
        fprintf(stderr, "eqms-web-api: administrator %s not made: %s\n", login, reason);
        return 1;
    }
    printf("administrator %s at %s: %s\n", login, node,
           made ? "made" : "exists already (unchanged)");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--routes") == 0) {
        wa_http_routes_print(stdout);
        return 0;
    }
    s_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    service_init("web-api", argc, argv, s_vars, sizeof s_vars / sizeof s_vars[0], &cfg);
    if (argc == 4 && strcmp(argv[1], "--create-admin") == 0)
        return s_create_admin(&cfg, argv[2], argv[3]);
    if (argc != 1) {
        fprintf(stderr, "usage: eqms-web-api [--help | --routes | --create-admin LOGIN "
                        "NODE-PATH]\n");
        return SERVICE_EXIT_CONFIG;
    }
    char reason[160];
    httpcors_t *cors = httpcors_new(cfg.cors_origins, reason, sizeof reason);
    if (!cors) {
        log_error("config_invalid", "var=EQMS_WEBAPI_CORS_ORIGINS reason=\"%s\"", reason);
        return SERVICE_EXIT_CONFIG;
    }
    httpcors_destroy(&cors);    /* checked here, before the database; httpd keeps its own */
    service_block_signals();
    pgstore_t *pg = service_open_database(cfg.pg_conninfo, 30000);
    if (wa_auth_check_schema(pg) != 0) {
        pgstore_destroy(&pg);
        return SERVICE_EXIT_SCHEMA;
    }
    int rc = 1;
    metrics_t *metrics = metrics_new("web-api");
    sse_config_t sse_cfg = { .streams_max = (unsigned) cfg.streams_max };
    sse_hub_t *hub = sse_hub_new(&sse_cfg);
    session_config_t session = { .idle_s = (int) cfg.session_idle_s,
                                 .max_s = (int) cfg.session_max_s };
    wa_snap_t *snap = wa_snap_new((int) cfg.state_cache_ms);
    wa_princache_t *principals = wa_princache_new(0, (int) cfg.principal_cache_ms);
    wa_live_t *live = hub && snap ? wa_live_new(hub, cfg.redis_url, &session,
                                                (int) cfg.live_check_s * 1000, snap)
                                  : NULL;
    webapi_server_t *server = NULL;
    wa_http_t *api = NULL;
    wa_jobs_t *jobs = NULL;
    wa_voice_t *voice = NULL;
    health_t *health = NULL;
    if (!metrics || !live || !principals
        || !(jobs = wa_jobs_new(cfg.pg_conninfo, cfg.backup_dir)))
        goto done;
    server = webapi_server_new(&pg, cfg.bus_pub, cfg.bus_sub, metrics, live, hub);
    if (!server)
        goto done;
    s_changed_t changed = { server, snap };
    /* the display's voice (docs/voice.md): without it web-api still runs,
     * its audio route answers 503 and the displays speak with their own */
    wa_voice_config_t voice_cfg = { .cache_bytes = (size_t) cfg.voice_cache_mb << 20,
                                    .queue_max = (unsigned) cfg.voice_queue,
                                    .wait_ms = (int) cfg.voice_wait_ms };
    if (cfg.api_port != 0 && !(voice = wa_voice_new(&voice_cfg, NULL, metrics)))
        log_error("voice_unavailable", "reason=\"espeak-ng could not start: announcement "
                  "audio answers 503\"");
    wa_http_config_t api_cfg = {
        .address = cfg.api_address, .port = (int) cfg.api_port,
        .threads = (unsigned) cfg.api_threads,
        .connections = (unsigned) cfg.streams_max + 512, .body_max = (size_t) cfg.body_max,
        .pg_conninfo = cfg.pg_conninfo, .redis_url = cfg.redis_url,
        .qm_endpoint = cfg.qm_endpoint, .timeout_s = (unsigned) cfg.api_timeout_s,
        .cors_origins = cfg.cors_origins, .static_dir = cfg.static_dir,
        .api = { .session = session,
                 .lockout_failures = (int) cfg.lockout_failures,
                 .lockout_s = (int) cfg.lockout_s,
                 .changed = s_changed, .changed_ctx = &changed,
                 .qm_timeout_ms = (int) cfg.qm_timeout_ms, .live = hub,
                 .backup_dir = cfg.backup_dir, .snap = snap,
                 .principals = principals, .voice = voice } };
    if (cfg.api_port != 0 && !(api = wa_http_new(&api_cfg)))
        goto done;
    health = health_new("web-api", cfg.http_address, (int) cfg.http_port, metrics,
                        health_liveness_check,
                        webapi_server_liveness(server));
    if (!health)
        goto done;
    log_info("started", "bus_pub=%s bus_sub=%s http=%s:%ld api=%s:%ld threads=%ld",
             cfg.bus_pub, cfg.bus_sub, cfg.http_address, cfg.http_port, cfg.api_address,
             cfg.api_port, cfg.api_threads);
    int sig = service_wait_signal();
    uint64_t hits, misses;
    wa_princache_counts(principals, &hits, &misses);
    log_info("stopping", "signal=%d principals_kept_hits=%" PRIu64 " misses=%" PRIu64, sig,
             hits, misses);
    rc = 0;
done:
    health_destroy(&health);
    wa_http_destroy(&api);
    wa_voice_destroy(&voice);
    wa_jobs_destroy(&jobs);
    webapi_server_destroy(&server);
    wa_live_destroy(&live);
    wa_snap_destroy(&snap);
    wa_princache_destroy(&principals);
    sse_hub_destroy(&hub);
    metrics_destroy(&metrics);
    pgstore_destroy(&pg);
    return rc;
}
