/*  metrics: a service's counters and gauges, rendered for Prometheus.
 *
 *  Counters and gauges are registered once at start and updated lock-free
 *  from any thread; metrics_render writes the text exposition format.
 */
#ifndef EQMS_METRICS_H
#define EQMS_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct metrics_t metrics_t;

typedef struct {
    _Atomic uint64_t value;
} metrics_counter_t;

typedef struct {
    _Atomic int64_t value;
} metrics_gauge_t;

/* `service` prefixes every name: eqms_<service>_<name>, with '-' in the
 * service name written as '_'. NULL on failure. */
metrics_t *metrics_new(const char *service);
void metrics_destroy(metrics_t **self_p);

/* Registers a metric; the returned pointer lives as long as `self`. `name`
 * is [a-z_][a-z0-9_]* ("up" is taken), `help` one line. Returns NULL on a
 * bad or duplicate name. */
metrics_counter_t *metrics_counter(metrics_t *self, const char *name,
                                   const char *help);
metrics_gauge_t *metrics_gauge(metrics_t *self, const char *name,
                               const char *help);

/* The counter `name`, registered by the first call and returned again by
 * the next ones: for a module with several instances in one service that
 * count together (the two bus_t of rating-ingest). NULL on a bad name, or
 * if `name` is registered as a gauge. */
metrics_counter_t *metrics_counter_shared(metrics_t *self, const char *name,
                                          const char *help);

static inline void metrics_add(metrics_counter_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

static inline void metrics_set(metrics_gauge_t *g, int64_t v)
{
    atomic_store_explicit(&g->value, v, memory_order_relaxed);
}

/* Renders all metrics (plus eqms_<service>_up 1). Returns a malloc'd string
 * the caller frees, or NULL. */
char *metrics_render(metrics_t *self);

#endif
