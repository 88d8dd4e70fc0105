/*  backoff: retry timing after failures, doubling from min to max (backoff.h). */
#include "eqms/backoff.h"

#include <time.h>

#include "eqms/clock.h"

void backoff_init(backoff_t *self, int min_ms, int max_ms)
{
    self->min_ms = min_ms;
    self->max_ms = max_ms;
    backoff_reset(self);
}

bool backoff_due(const backoff_t *self)
{
    return clock_mono_ms() >= self->retry_at;
}

int backoff_failed(backoff_t *self)
{
    int wait = self->next_ms;
    self->retry_at = clock_mono_ms() + wait;
    self->next_ms = wait * 2 > self->max_ms ? self->max_ms : wait * 2;
    return wait;
}

void backoff_reset(backoff_t *self)
{
    self->next_ms = self->min_ms;
    self->retry_at = 0;
}

int backoff_retry(backoff_t *self, int wait_ms, int (*attempt)(void *ctx), void *ctx)
{
    int64_t deadline = clock_mono_ms() + wait_ms;
    for (;;) {
        if (attempt(ctx) == 0)
            return 0;
        int64_t now = clock_mono_ms();
        if (now >= deadline)
            return -1;
        int64_t wake = self->retry_at < deadline ? self->retry_at : deadline;
        clock_sleep_ms(wake - now);
    }
}
