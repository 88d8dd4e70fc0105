/*  looper: the loop thread of a consumer that catches up from the tables
 *  (looper.h). */
#include "eqms/looper.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "eqms/backoff.h"
#include "eqms/log.h"

struct looper_t {
    looper_config_t cfg;
    backoff_t backoff;
    pthread_t thread;
    atomic_bool stop;
};

static void *s_run(void *arg)
{
    looper_t *self = arg;
    bool more = true;               /* the first pass at once: catch up at start */
    while (!atomic_load(&self->stop)) {
        if (self->cfg.liveness)
            health_liveness_beat(self->cfg.liveness);
        if (!more)
            bus_wait_wakeup(self->cfg.bus, self->cfg.poll_ms, &self->stop);
        more = false;
        if (atomic_load(&self->stop))
            break;
        if (!backoff_due(&self->backoff))
            continue;
        int rc = self->cfg.pass(self->cfg.ctx);
        if (self->cfg.liveness)
            health_liveness_db(self->cfg.liveness, rc != LOOPER_FAILED);
        if (rc == LOOPER_FAILED) {
            int wait = backoff_failed(&self->backoff);
            log_warn("loop_pass_failed", "loop=%s retry_ms=%d", self->cfg.name, wait);
            continue;
        }
        backoff_reset(&self->backoff);
        more = rc == LOOPER_MORE;
    }
    return NULL;
}

looper_t *looper_start(const looper_config_t *config)
{
    looper_t *self = config && config->pass ? calloc(1, sizeof *self) : NULL;
    if (!self)
        return NULL;
    self->cfg = *config;
    if (!self->cfg.name)
        self->cfg.name = "loop";
    backoff_init(&self->backoff, config->retry_min_ms > 0 ? config->retry_min_ms : 200,
                 config->retry_max_ms > 0 ? config->retry_max_ms : 5000);
    if (pthread_create(&self->thread, NULL, s_run, self) != 0) {
        log_error("loop_not_started", "loop=%s reason=\"cannot create its thread\"",
                  self->cfg.name);
        free(self);
        return NULL;
    }
    return self;
}

void looper_stop(looper_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    looper_t *self = *self_p;
    atomic_store(&self->stop, true);
    pthread_join(self->thread, NULL);
    free(self);
    *self_p = NULL;
}
