/*  ri_committer: rating-ingest's commit thread (ri_committer.h). */
#include "ri_committer.h"

#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"
#include "eqms/worker.h"

/* How often an idle committer checks Redis for a flush. */
#define S_COUNTERS_CHECK_MS 5000

struct ri_committer_t {
    ri_store_t *store;
    ri_counters_t *counters;
    const char *prefixes;
    worker_t *worker;
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
    if (batch->rc == RI_STORE_IN_DOUBT)
        batch->rc = -1;   /* retried: the next attempt finds out (ri_store.h) */
    else if (batch->rc != 0 && ri_store_connected(self->store)) {
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

static void s_run(void *ctx, void *job)
{
    ri_committer_t *self = ctx;
    s_commit(self, job);
    s_check_counters(self);
}

static void s_idle(void *ctx, void *job)
{
    (void) job;
    s_check_counters(ctx);
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
    /* Counters are checked (and rebuilt if needed) before the first batch. */
    s_check_counters(self);
    self->worker = worker_new(s_run, s_idle, 1000, self);
    if (!self->worker)
        goto err;
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
    worker_destroy(&self->worker);
    ri_store_destroy(&self->store);
    ri_counters_destroy(&self->counters);
    free(self);
    *self_p = NULL;
}

int ri_committer_submit(ri_committer_t *self, ri_batch_t *batch)
{
    return worker_submit(self->worker, batch);
}

ri_batch_t *ri_committer_done(ri_committer_t *self)
{
    return worker_done(self->worker);
}

bool ri_committer_busy(ri_committer_t *self)
{
    return worker_busy(self->worker);
}

void ri_committer_wait(ri_committer_t *self, int timeout_ms)
{
    worker_wait(self->worker, timeout_ms);
}
