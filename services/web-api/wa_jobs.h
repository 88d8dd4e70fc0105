/*  wa_jobs: web-api's long runs, on a thread of their own: backups
 *  (common/bkwriter, into the backup directory) and purges (the database's
 *  eqms_purge_raw, table by table), taken one at a time from backup_job and
 *  purge_job in the order they were asked for (FOR UPDATE SKIP LOCKED: with
 *  several web-api processes on one database each job runs once). Progress
 *  is written to the job's row as it goes (rows done / total for a backup,
 *  tables done / total and rows deleted for a purge). A job that was running
 *  when web-api stopped is marked failed at the next start.
 */
#ifndef EQMS_WA_JOBS_H
#define EQMS_WA_JOBS_H

typedef struct wa_jobs_t wa_jobs_t;

/* Starts the thread with connections of its own to `pg_conninfo`;
 * `backup_dir` (made if missing) is copied. NULL (logged) on failure. */
wa_jobs_t *wa_jobs_new(const char *pg_conninfo, const char *backup_dir);

/* Stops after the job being run (a backup in progress is finished first).
 * Accepts NULL. */
void wa_jobs_destroy(wa_jobs_t **self_p);

#endif
