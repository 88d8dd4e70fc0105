/*  worker: one background thread, one job at a time (worker.h). */
#include "eqms/worker.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "eqms/clock.h"

struct worker_t {
    worker_fn *run, *idle;
    int idle_ms;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* a job was submitted, or stop */
    pthread_cond_t done;        /* a job was run */
    bool stop;                  /* guarded by lock */
    void *submitted;            /* guarded by lock: waiting to run */
    void *finished;             /* guarded by lock: run, not collected */
    bool busy;                  /* guarded by lock */
    int fd;                     /* eventfd: readable while `finished` is set */
};

static void *s_main(void *arg)
{
    worker_t *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!self->stop) {
        if (!self->submitted) {
            struct timespec until;
            clock_deadline(&until, self->idle_ms);
            int rc = pthread_cond_timedwait(&self->wake, &self->lock, &until);
            if (rc != 0 && !self->submitted && !self->stop && self->idle) {
                pthread_mutex_unlock(&self->lock);
                self->idle(self->ctx, NULL);
                pthread_mutex_lock(&self->lock);
            }
            continue;
        }
        void *job = self->submitted;
        self->submitted = NULL;
        pthread_mutex_unlock(&self->lock);
        self->run(self->ctx, job);
        pthread_mutex_lock(&self->lock);
        self->finished = job;
        pthread_cond_signal(&self->done);
        uint64_t one = 1;
        if (write(self->fd, &one, sizeof one) < 0) {
            /* the counter cannot overflow here: it is read back at every done */
        }
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

worker_t *worker_new(worker_fn *run, worker_fn *idle, int idle_ms, void *ctx)
{
    worker_t *self = calloc(1, sizeof *self);
    if (!self || !run)
        goto err;
    self->run = run;
    self->idle = idle;
    self->idle_ms = idle_ms > 0 ? idle_ms : 1000;
    self->ctx = ctx;
    self->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->fd < 0)
        goto err;
    if (pthread_mutex_init(&self->lock, NULL) != 0)
        goto err_fd;
    if (pthread_cond_init(&self->wake, NULL) != 0)
        goto err_lock;
    if (pthread_cond_init(&self->done, NULL) != 0)
        goto err_wake;
    if (pthread_create(&self->thread, NULL, s_main, self) != 0)
        goto err_done;
    return self;
err_done:
    pthread_cond_destroy(&self->done);
err_wake:
    pthread_cond_destroy(&self->wake);
err_lock:
    pthread_mutex_destroy(&self->lock);
err_fd:
    close(self->fd);
err:
    free(self);
    return NULL;
}

void worker_destroy(worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    worker_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    pthread_cond_destroy(&self->done);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    close(self->fd);
    free(self);
    *self_p = NULL;
}

int worker_submit(worker_t *self, void *job)
{
    pthread_mutex_lock(&self->lock);
    int rc = -1;
    if (!self->busy) {
        self->submitted = job;
        self->busy = true;
        pthread_cond_signal(&self->wake);
        rc = 0;
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

void *worker_done(worker_t *self)
{
    pthread_mutex_lock(&self->lock);
    void *job = self->finished;
    if (job) {
        self->finished = NULL;
        self->busy = false;
        uint64_t count;
        if (read(self->fd, &count, sizeof count) < 0) {
            /* nothing to clear */
        }
    }
    pthread_mutex_unlock(&self->lock);
    return job;
}

int worker_fd(worker_t *self)
{
    return self->fd;
}

bool worker_busy(worker_t *self)
{
    pthread_mutex_lock(&self->lock);
    bool busy = self->busy;
    pthread_mutex_unlock(&self->lock);
    return busy;
}

void worker_wait(worker_t *self, int timeout_ms)
{
    pthread_mutex_lock(&self->lock);
    if (!self->finished) {
        struct timespec until;
        clock_deadline(&until, timeout_ms);
        pthread_cond_timedwait(&self->done, &self->lock, &until);
    }
    pthread_mutex_unlock(&self->lock);
}
