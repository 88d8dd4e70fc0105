/*  wa_jobs: backups and purges on a thread of their own (wa_jobs.h). */
#include "wa_jobs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "eqms/bkwriter.h"
#include "eqms/clock.h"
#include "eqms/log.h"
#include "eqms/pgstore.h"
#include "eqms/worker.h"

#define S_POLL_MS 300
#define S_PROGRESS_MS 250

struct wa_jobs_t {
    pgstore_t *pg;                /* the job's reads and deletes */
    pgstore_t *progress;          /* the job rows (outside the job's transaction) */
    char *dir;
    worker_t *worker;
    char job_id[24];              /* of the backup running, for its progress */
    int64_t progress_at;
};

/* Makes `dir` and its parents. 0 or -1. */
static int s_mkdirs(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(path, 0750) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0750) != 0 && errno != EEXIST ? -1 : 0;
}

static void s_backup_progress(void *ctx, long long done, long long total)
{
    wa_jobs_t *self = ctx;
    int64_t now = clock_mono_ms();
    if (done != 0 && done != total && now - self->progress_at < S_PROGRESS_MS)
        return;
    self->progress_at = now;
    char d[24], t[24];
    snprintf(d, sizeof d, "%lld", done);
    snprintf(t, sizeof t, "%lld", total);
    const char *params[] = { self->job_id, d, t };
    pgstore_exec(self->progress, "UPDATE backup_job SET rows_done = $2, rows_total = $3"
                 " WHERE id = $1", 3, params);
}

/* Runs the oldest queued backup, if any: true when there was one. */
static bool s_backup(wa_jobs_t *self)
{
    PGresult *res = pgstore_query(
        self->progress,
        "UPDATE backup_job b SET state = 'running', started_at = now()"
        " WHERE id = (SELECT id FROM backup_job WHERE state = 'queued' ORDER BY id LIMIT 1"
        "             FOR UPDATE SKIP LOCKED)"
        " RETURNING b.id, (SELECT path::text FROM org_node WHERE id = b.node_id), b.whole,"
        "           b.created_by", 0, NULL);
    if (!res || PQntuples(res) != 1) {
        if (res)
            PQclear(res);
        return false;
    }
    snprintf(self->job_id, sizeof self->job_id, "%s", PQgetvalue(res, 0, 0));
    char file[64], path[4200], node[256], by[160];
    snprintf(file, sizeof file, "backup-%s.zip", self->job_id);
    snprintf(path, sizeof path, "%s/%s", self->dir, file);
    snprintf(node, sizeof node, "%s", PQgetvalue(res, 0, 1));
    snprintf(by, sizeof by, "%s", PQgetvalue(res, 0, 3));
    bkwriter_config_t cfg = { .node_path = node, .whole = *PQgetvalue(res, 0, 2) == 't',
                              .created_by = by, .progress = s_backup_progress, .ctx = self };
    PQclear(res);
    self->progress_at = 0;
    bkwriter_result_t out;
    PGconn *conn = pgstore_connect(self->pg, 5000) == 0 ? pgstore_conn(self->pg) : NULL;
    int rc = conn ? bkwriter_write(conn, &cfg, path, &out) : -1;
    if (!conn)
        snprintf(out.error, sizeof out.error, "database unreachable");
    char rows[24], size[24];
    snprintf(rows, sizeof rows, "%lld", out.rows);
    snprintf(size, sizeof size, "%lld", out.size);
    if (rc == 0) {
        const char *params[] = { self->job_id, out.snapshot_at, rows, file, size, out.sha256 };
        pgstore_exec(self->progress,
                     "UPDATE backup_job SET state = 'completed', finished_at = now(),"
                     " snapshot_at = $2::timestamptz, rows_done = $3, rows_total = $3,"
                     " file = $4, size = $5, sha256 = $6 WHERE id = $1", 6, params);
        log_info("backup_done", "job=%s node=%s rows=%s size=%s", self->job_id, node, rows,
                 size);
    } else {
        const char *params[] = { self->job_id, out.error };
        pgstore_exec(self->progress, "UPDATE backup_job SET state = 'failed',"
                     " finished_at = now(), error = $2 WHERE id = $1", 2, params);
        log_error("backup_failed", "job=%s node=%s reason=\"%s\"", self->job_id, node,
                  out.error);
    }
    return true;
}

/* Runs the oldest queued purge, if any: true when there was one. */
static bool s_purge(wa_jobs_t *self)
{
    PGresult *res = pgstore_query(
        self->progress,
        "UPDATE purge_job p SET state = 'running', started_at = now(),"
        " tables_total = cardinality(eqms_purge_tables())"
        " WHERE id = (SELECT id FROM purge_job WHERE state = 'queued' ORDER BY id LIMIT 1"
        "             FOR UPDATE SKIP LOCKED)"
        " RETURNING p.id, p.node_id, p.cut, array_to_string(eqms_purge_tables(), ',')",
        0, NULL);
    if (!res || PQntuples(res) != 1) {
        if (res)
            PQclear(res);
        return false;
    }
    char id[24], node[24], cut[64], tables[512];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    snprintf(node, sizeof node, "%s", PQgetvalue(res, 0, 1));
    snprintf(cut, sizeof cut, "%s", PQgetvalue(res, 0, 2));
    snprintf(tables, sizeof tables, "%s", PQgetvalue(res, 0, 3));
    PQclear(res);
    /* the mark first: statistics say so before any row goes */
    const char *mark[] = { node, cut };
    int rc = pgstore_exec(self->pg, "SELECT eqms_purge_mark($1, $2)", 2, mark);
    long long deleted = 0;
    for (char *save = NULL, *t = strtok_r(tables, ",", &save); t && rc == 0;
         t = strtok_r(NULL, ",", &save)) {
        const char *params[] = { node, cut, t };
        res = pgstore_query(self->pg, "SELECT eqms_purge_raw($1, $2, $3)", 3, params);
        if (!res) {
            rc = -1;
            break;
        }
        const char *n = PQgetvalue(res, 0, 0);
        deleted += atoll(n);
        const char *progress[] = { id, t, n };
        pgstore_exec(self->progress,
                     "UPDATE purge_job SET tables_done = tables_done + 1,"
                     " rows_deleted = rows_deleted + $3::bigint,"
                     " deleted = deleted || jsonb_build_object($2::text, $3::bigint)"
                     " WHERE id = $1", 3, progress);
        PQclear(res);
    }
    if (rc == 0) {
        const char *params[] = { id };
        pgstore_exec(self->progress, "UPDATE purge_job SET state = 'completed',"
                     " finished_at = now() WHERE id = $1", 1, params);
        log_info("purge_done", "job=%s node=%s cut=\"%s\" rows=%lld", id, node, cut, deleted);
    } else {
        const char *params[] = { id, pgstore_last_message(self->pg) };
        pgstore_exec(self->progress, "UPDATE purge_job SET state = 'failed',"
                     " finished_at = now(), error = coalesce($2, 'database failed')"
                     " WHERE id = $1", 2, params);
        log_error("purge_failed", "job=%s node=%s", id, node);
    }
    return true;
}

static void s_idle(void *ctx, void *job)
{
    (void) job;
    wa_jobs_t *self = ctx;
    if (pgstore_connect(self->progress, 0) != 0)
        return;
    while (s_backup(self) || s_purge(self))
        ;
}

static void s_run(void *ctx, void *job)
{
    (void) ctx;
    (void) job;
}

wa_jobs_t *wa_jobs_new(const char *pg_conninfo, const char *backup_dir)
{
    wa_jobs_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->dir = strdup(backup_dir);
    self->pg = pgstore_new(pg_conninfo);
    self->progress = pgstore_new(pg_conninfo);
    if (!self->dir || !self->pg || !self->progress)
        goto err;
    pgstore_set_statement_timeout(self->pg, 0);    /* a backup or purge may take long */
    if (s_mkdirs(self->dir) != 0) {
        log_error("webapi_backup_dir", "dir=%s reason=\"%s\"", self->dir, strerror(errno));
        goto err;
    }
    /* what was running when web-api stopped will not finish */
    if (pgstore_connect(self->progress, 5000) == 0) {
        pgstore_exec(self->progress, "UPDATE backup_job SET state = 'failed', finished_at ="
                     " now(), error = 'web-api stopped while it ran' WHERE state = 'running'",
                     0, NULL);
        pgstore_exec(self->progress, "UPDATE purge_job SET state = 'failed', finished_at ="
                     " now(), error = 'web-api stopped while it ran' WHERE state = 'running'",
                     0, NULL);
    }
    self->worker = worker_new(s_run, s_idle, S_POLL_MS, self);
    if (!self->worker)
        goto err;
    return self;
err:
    wa_jobs_destroy(&self);
    return NULL;
}

void wa_jobs_destroy(wa_jobs_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wa_jobs_t *self = *self_p;
    worker_destroy(&self->worker);
    pgstore_destroy(&self->pg);
    pgstore_destroy(&self->progress);
    free(self->dir);
    free(self);
    *self_p = NULL;
}
