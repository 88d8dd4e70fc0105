/*  worker: one background thread that runs one job at a time, handed over
 *  and taken back by one owner thread.
 *
 *  The owner submits a job (any pointer), goes on with its own work, and
 *  collects the job once the thread has run it (worker_done) — a pipeline of
 *  depth one, as a service uses for "commit this batch while I fill the
 *  next". Jobs run in submission order. While no job comes, the thread calls
 *  `idle` every idle_ms (housekeeping that must not interleave with jobs).
 *  Between submit and done, only the thread touches the job.
 */
#ifndef EQMS_WORKER_H
#define EQMS_WORKER_H

#include <stdbool.h>

typedef struct worker_t worker_t;

/* Runs one job (or, for `idle`, job is NULL). */
typedef void (worker_fn)(void *ctx, void *job);

/* Starts the thread. `idle` may be NULL; `ctx` is borrowed until destroy.
 * NULL on failure. */
worker_t *worker_new(worker_fn *run, worker_fn *idle, int idle_ms, void *ctx);

/* Stops the thread after the job it is running (a job submitted and not
 * yet started is not run; either way it stays the owner's). */
void worker_destroy(worker_t **self_p);

/* Hands a job over. 0, or -1 if one is still submitted and not collected. */
int worker_submit(worker_t *self, void *job);

/* The job handed over, once run, else NULL. The owner has it back. */
void *worker_done(worker_t *self);

/* A file descriptor that is readable while a run job waits to be collected
 * (for poll / zmq_poll next to sockets); worker_done clears it. */
int worker_fd(worker_t *self);

/* True from submit until the job is collected with worker_done. */
bool worker_busy(worker_t *self);

/* Waits up to timeout_ms for the job to be run; returns at once if a run
 * job waits to be collected (with nothing submitted it just waits). */
void worker_wait(worker_t *self, int timeout_ms);

#endif
