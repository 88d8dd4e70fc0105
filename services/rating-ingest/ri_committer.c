/*  ri_committer: rating-ingest's commit thread (ri_committer.h). */
#include "ri_committer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eqms/clock.h"
#include "eqms/log.h"

/* How often an idle committer checks Redis for a flush. */
#define S_COUNTERS_CHECK_MS 5000

struct ri_committer_t {
    ri_store_t *store;
    ri_counters_t *counters;
    const char *prefixes;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t done;        /* signalled when a batch is finished */
    bool stop;                  /* guarded by lock */
    ri_batch_t *submitted;      /* guarded by lock: waiting to be committed */
    ri_batch_t *finished;       /* guarded by lock: done, not yet taken */
    bool busy;                  /* guarded by lock: submitted until taken */
    int64_t last_counters_check;
};

ri_batch_t *ri_batch_new(size_t cap)
{
    ri_batch_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cap = cap;
    self->items = calloc(cap, sizeof *self->items);
    self->figures = calloc(cap, sizeof *self->figures);
    if (!self->items || !self->figures)
        ri_batch_destroy(&self);
    return self;
}

void ri_batch_clear(ri_batch_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        free(self->items[i].raw);
        self->items[i].raw = NULL;
    }
    free(self->cursors);
    self->cursors = NULL;
    self->ncursors = 0;
    self->count = 0;
}

void ri_batch_destroy(ri_batch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ri_batch_t *self = *self_p;
    if (self->items)
        ri_batch_clear(self);
    free(self->items);
    free(self->figures);
    free(self);
    *self_p = NULL;
}

/* The batch failed with the database reachable: one event at a time, and an
 * event that still fails is rejected. 0 / -1. */
static int s_commit_one_by_one(ri_committer_t *self, ri_batch_t *batch)
{
    for (size_t i = 0; i < batch->count; i++) {
        ri_item_t *item = &batch->items[i];
        if (ri_store_commit(self->store, item, 1, NULL, 0) == 0)
            continue;
        if (!ri_store_connected(self->store))
            return -1;
        item->action = RI_ACTION_REJECT;
        snprintf(item->reason, sizeof item->reason, "store failed: the database refused "
                 "the event (see the rating-ingest log)");
        if (!item->raw)
            item->raw = strdup("{}");
        if (ri_store_commit(self->store, item, 1, NULL, 0) != 0)
            return -1;
    }
    return ri_store_commit(self->store, NULL, 0, batch->cursors, batch->ncursors);
}

static void s_commit(ri_committer_t *self, ri_batch_t *batch)
{
    int64_t started = clock_mono_ms();
    batch->rc = ri_store_commit(self->store, batch->items, batch->count, batch->cursors,
                                batch->ncursors);
    if (batch->rc != 0 && ri_store_connected(self->store)) {
        log_warn("batch_retry_one_by_one", "events=%zu", batch->count);
        batch->rc = s_commit_one_by_one(self, batch);
    }
    batch->commit_ms = clock_mono_ms() - started;
    if (batch->rc == 0)
        ri_counters_add(self->counters, batch->items, batch->count, batch->figures);
}

static void s_check_counters(ri_committer_t *self)
{
    int64_t now = clock_mono_ms();
    if (now - self->last_counters_check < S_COUNTERS_CHECK_MS)
        return;
    self->last_counters_check = now;
    if (ri_counters_need_rebuild(self->counters))
        ri_counters_rebuild(self->counters, self->store, self->prefixes);
}

static void *s_run(void *arg)
{
    ri_committer_t *self = arg;
    pthread_mutex_lock(&self->lock);
    while (!self->stop) {
        if (!self->submitted) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&self->wake, &self->lock, &until);
            if (!self->submitted && !self->stop) {
                pthread_mutex_unlock(&self->lock);
                s_check_counters(self);
                pthread_mutex_lock(&self->lock);
            }
            continue;
        }
        ri_batch_t *batch = self->submitted;
        self->submitted = NULL;
        pthread_mutex_unlock(&self->lock);
        s_commit(self, batch);
        s_check_counters(self);
        pthread_mutex_lock(&self->lock);
        self->finished = batch;
        pthread_cond_signal(&self->done);
    }
    pthread_mutex_unlock(&self->lock);
    return NULL;
}

ri_committer_t *ri_committer_new(pgstore_t **pg_p, ri_counters_t **counters_p,
                                 const char *prefixes)
{
    ri_committer_t *self = calloc(1, sizeof *self);
    if (!self) {
        pgstore_destroy(pg_p);
        ri_counters_destroy(counters_p);
        return NULL;
    }
    self->store = ri_store_new(pg_p);
    self->counters = *counters_p;
    *counters_p = NULL;
    self->prefixes = prefixes;
    if (!self->store || !self->counters)
        goto err;
    if (pthread_mutex_init(&self->lock, NULL) != 0)
        goto err;
    if (pthread_cond_init(&self->wake, NULL) != 0) {
        pthread_mutex_destroy(&self->lock);
        goto err;
    }
    if (pthread_cond_init(&self->done, NULL) != 0) {
        pthread_cond_destroy(&self->wake);
        pthread_mutex_destroy(&self->lock);
        goto err;
    }
    /* Counters are checked (and rebuilt if needed) before the first batch. */
    s_check_counters(self);
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        pthread_cond_destroy(&self->done);
        pthread_cond_destroy(&self->wake);
        pthread_mutex_destroy(&self->lock);
        goto err;
    }
    return self;
err:
    ri_store_destroy(&self->store);
    ri_counters_destroy(&self->counters);
    free(self);
    return NULL;
}

void ri_committer_destroy(ri_committer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ri_committer_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_signal(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    pthread_cond_destroy(&self->done);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    ri_store_destroy(&self->store);
    ri_counters_destroy(&self->counters);
    free(self);
    *self_p = NULL;
}

int ri_committer_submit(ri_committer_t *self, ri_batch_t *batch)
{
    pthread_mutex_lock(&self->lock);
    int rc = -1;
    if (!self->busy) {
        self->submitted = batch;
        self->busy = true;
        pthread_cond_signal(&self->wake);
        rc = 0;
    }
    pthread_mutex_unlock(&self->lock);
    return rc;
}

ri_batch_t *ri_committer_done(ri_committer_t *self)
{
    pthread_mutex_lock(&self->lock);
    ri_batch_t *batch = self->finished;
    if (batch) {
        self->finished = NULL;
        self->busy = false;
    }
    pthread_mutex_unlock(&self->lock);
    return batch;
}

bool ri_committer_busy(ri_committer_t *self)
{
    pthread_mutex_lock(&self->lock);
    bool busy = self->busy;
    pthread_mutex_unlock(&self->lock);
    return busy;
}

void ri_committer_wait(ri_committer_t *self, int timeout_ms)
{
    pthread_mutex_lock(&self->lock);
    if (!self->finished) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += (long) timeout_ms * 1000000;
        until.tv_sec += until.tv_nsec / 1000000000;
        until.tv_nsec %= 1000000000;
        pthread_cond_timedwait(&self->done, &self->lock, &until);
    }
    pthread_mutex_unlock(&self->lock);
}
