/*  eqms-probe: the smallest EQMS service, for system tests of the shared
 *  start sequence: configuration, database and schema check, health port,
 *  orderly stop on SIGTERM. With EQMS_PROBE_QUERY_MS it also runs
 *  `SELECT 1` that often on its database connection (pgstore, as every
 *  service does) and logs each outcome and how long it took:
 *  `event=probe_query ok=1 ms=3`. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

#include "eqms/clock.h"
#include "eqms/health.h"
#include "eqms/log.h"
#include "eqms/metrics.h"
#include "eqms/service.h"

typedef struct {
    char pg_conninfo[512];
    long http_port;
    long query_ms;
} probe_config_t;

static const config_var_t s_vars[] = {
    SERVICE_VAR_PG_CONNINFO(probe_config_t, pg_conninfo),
    SERVICE_VAR_HTTP_PORT(probe_config_t, http_port, "0"),
    { "EQMS_PROBE_QUERY_MS", CONFIG_INT, "0", offsetof(probe_config_t, query_ms), 0, 0,
      60000, NULL, "run SELECT 1 this often and log it (0 = never)" },
};

typedef struct {
    pgstore_t *pg;
    long every_ms;
    atomic_bool stop;
} s_query_loop_t;

static void *s_query_loop(void *arg)
{
    s_query_loop_t *loop = arg;
    while (!atomic_load(&loop->stop)) {
        int64_t started = clock_mono_ms();
        int ok = pgstore_exec(loop->pg, "SELECT 1", 0, NULL) == 0;
        log_info("probe_query", "ok=%d ms=%lld", ok,
                 (long long) (clock_mono_ms() - started));
        usleep((useconds_t) loop->every_ms * 1000);
    }
    return NULL;
}

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
    s_query_loop_t loop = { .pg = pg, .every_ms = cfg.query_ms };
    pthread_t thread;
    int looping = cfg.query_ms > 0 && pthread_create(&thread, NULL, s_query_loop, &loop) == 0;
    log_info("started", "http_port=%ld", cfg.http_port);
    int sig = service_wait_signal();
    log_info("stopping", "signal=%d", sig);
    if (looping) {
        atomic_store(&loop.stop, true);
        pthread_join(thread, NULL);
    }
    health_destroy(&health);
    metrics_destroy(&metrics);
    pgstore_destroy(&pg);
    return 0;
}
