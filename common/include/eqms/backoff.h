/*  backoff: when to try again after a failure, doubling from min to max.
 *
 *  Used by the connection-holding modules (pgstore, redisstore): while a
 *  server is down, calls fail at once instead of blocking, and the next
 *  attempt is due after a wait that doubles per failure. A backoff_t is a
 *  plain struct embedded in its owner; it is not thread-safe.
 */
#ifndef EQMS_BACKOFF_H
#define EQMS_BACKOFF_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    int min_ms;
    int max_ms;
    int next_ms;          /* wait after the next failure */
    int64_t retry_at;     /* monotonic ms of the next allowed attempt */
} backoff_t;

/* Starts with no wait: the first attempt is due at once. */
void backoff_init(backoff_t *self, int min_ms, int max_ms);

/* True if an attempt is due now. */
bool backoff_due(const backoff_t *self);

/* Records a failed attempt; returns the wait before the next one (ms). */
int backoff_failed(backoff_t *self);

/* Records a success (or a fresh loss): the next attempt is due at once and
 * the wait starts again from min_ms. */
void backoff_reset(backoff_t *self);

/* Calls attempt(ctx) until it returns 0, sleeping until each next attempt is
 * due, for at most wait_ms. `attempt` reports its failures through
 * backoff_failed. Returns 0 on success, -1 when time ran out. */
int backoff_retry(backoff_t *self, int wait_ms, int (*attempt)(void *ctx), void *ctx);

#endif
