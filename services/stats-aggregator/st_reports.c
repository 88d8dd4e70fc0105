/*  st_reports: reports made one at a time on their own thread (st_reports.h). */
#include "st_reports.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"
#include "eqms/pgstore.h"
#include "eqms/text.h"
#include "eqms/worker.h"

#define S_DAYS 3                /* the days before today whose reports are made */
#define S_PAUSE_STEP_MS 50      /* a pause between reports looks for a stop this often */

typedef struct {
    int64_t pass_mono_ms;       /* the caught-up pass started then */
} s_round_t;

struct st_reports_t {
    st_reports_config_t cfg;
    pgstore_t *pg;              /* the thread's */
    worker_t *worker;
    s_round_t round;            /* the job, owned by the thread while submitted */
    int64_t next_ms;            /* the next round may start then (mono) */
    atomic_bool stop;
    pthread_mutex_t lock;
    PGcancel *cancel;           /* guarded by lock: the report being made */
    metrics_counter_t *made, *failures;
};

/* The statement runs with `cancel` set, so that destroy can cancel it. */
static PGresult *s_cancellable(st_reports_t *self, const char *sql, int nparams,
                               const char *const *params)
{
    PGconn *conn = pgstore_connect(self->pg, 0) == 0 ? pgstore_conn(self->pg) : NULL;
    pthread_mutex_lock(&self->lock);
    self->cancel = conn ? PQgetCancel(conn) : NULL;
    pthread_mutex_unlock(&self->lock);
    PGresult *res = conn && !atomic_load(&self->stop)
                        ? pgstore_query(self->pg, sql, nparams, params) : NULL;
    pthread_mutex_lock(&self->lock);
    PQfreeCancel(self->cancel);
    self->cancel = NULL;
    pthread_mutex_unlock(&self->lock);
    return res;
}

/* After a report that took `took_ms`, as long again (at most 10 s): the
 * reports use at most half of a PostgreSQL core while the placing runs
 * beside them (a day's end makes one report per node at once; 764 reports
 * back to back held placing 50 s behind at 200 branches, docs/benchmarks.md).
 * Returns at once on a stop. */
static void s_pause(st_reports_t *self, int64_t took_ms)
{
    int64_t until = clock_mono_ms() + (took_ms < 10000 ? took_ms : 10000);
    while (!atomic_load(&self->stop) && clock_mono_ms() < until)
        clock_sleep_ms(S_PAUSE_STEP_MS);
}

/* The due reports as of the pass's start less the delay, by the database's
 * clock (the one of the periods' ends before). NULL on failure. */
static PGresult *s_due(st_reports_t *self, const s_round_t *round)
{
    char ago[TEXT_I64_SIZE], days[TEXT_I64_SIZE];
    text_i64(ago, (int64_t) self->cfg.delay_s * 1000 + clock_mono_ms() - round->pass_mono_ms);
    text_i64(days, S_DAYS);
    const char *params[] = { ago, days };
    return pgstore_query(self->pg, "SELECT node_id::text, kind, start_day::text FROM "
                         "stats_reports_due(now() - $1::bigint * interval '1 millisecond', "
                         "$2::int)", 2, params);
}

static void s_round(void *ctx, void *job)
{
    st_reports_t *self = ctx;
    s_round_t *round = job;
    PGresult *due = s_due(self, round);
    if (!due) {
        log_warn("stats_reports_not_listed", "reason=\"database error\"");
        return;
    }
    int made = 0, failed = 0, n = PQntuples(due), r;
    for (r = 0; r < n && !atomic_load(&self->stop); r++) {
        const char *params[] = { PQgetvalue(due, r, 0), PQgetvalue(due, r, 1),
                                 PQgetvalue(due, r, 2) };
        int64_t t0 = clock_mono_ms();
        PGresult *res = s_cancellable(self, "SELECT stats_make_report($1::bigint, $2, "
                                      "$3::date)", 3, params);
        if (!res) {
            if (atomic_load(&self->stop))
                break;
            failed++;
            metrics_add(self->failures, 1);
            log_warn("stats_report_failed", "node=%s kind=%s start_day=%s ms=%lld "
                     "sqlstate=%s reason=\"it stays due; tried again in the next round\"",
                     params[0], params[1], params[2], (long long) (clock_mono_ms() - t0),
                     pgstore_last_sqlstate(self->pg));
            if (!pgstore_connected(self->pg))
                break;
            continue;
        }
        if (strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
            made++;
            metrics_add(self->made, 1);
            log_debug("stats_report_made", "node=%s kind=%s start_day=%s ms=%lld",
                      params[0], params[1], params[2], (long long) (clock_mono_ms() - t0));
        }
        PQclear(res);
        s_pause(self, clock_mono_ms() - t0);
    }
    PQclear(due);
    if (made || failed)
        log_info("stats_reports_made", "made=%d failed=%d due=%d left=%d", made, failed, n,
                 n - r);
}

st_reports_t *st_reports_new(const st_reports_config_t *config, metrics_t *metrics)
{
    st_reports_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cfg = *config;
    if (self->cfg.every_s < 1)
        self->cfg.every_s = 1;
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return NULL;
    }
    self->pg = pgstore_new(config->pg_conninfo ? config->pg_conninfo : "");
    self->made = metrics_counter(metrics, "reports_total",
                                 "Report snapshots made (stats_report).");
    self->failures = metrics_counter(metrics, "report_failures_total",
                                     "Reports that failed (statement timeout, database "
                                     "error); each stays due and is tried again.");
    if (!self->pg || !self->made || !self->failures)
        goto err;
    pgstore_set_statement_timeout(self->pg, self->cfg.timeout_s * 1000);
    self->worker = worker_new(s_round, NULL, 1000, self);
    if (!self->worker)
        goto err;
    return self;
err:
    log_error("stats_reports_not_started", "reason=\"out of memory or bad conninfo\"");
    pgstore_destroy(&self->pg);
    pthread_mutex_destroy(&self->lock);
    free(self);
    return NULL;
}

void st_reports_destroy(st_reports_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    st_reports_t *self = *self_p;
    atomic_store(&self->stop, true);
    pthread_mutex_lock(&self->lock);
    char err[256];
    if (self->cancel && !PQcancel(self->cancel, err, sizeof err))
        log_warn("stats_report_not_cancelled", "reason=\"%s\"", err);
    pthread_mutex_unlock(&self->lock);
    worker_destroy(&self->worker);
    pgstore_destroy(&self->pg);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

void st_reports_caught_up(st_reports_t *self, int64_t pass_mono_ms)
{
    worker_done(self->worker);
    int64_t now = clock_mono_ms();
    if (worker_busy(self->worker) || now < self->next_ms)
        return;
    self->round.pass_mono_ms = pass_mono_ms;
    if (worker_submit(self->worker, &self->round) == 0)
        self->next_ms = now + self->cfg.every_s * 1000LL;
}
