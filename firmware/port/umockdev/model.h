/*  model: the customers and tellers of eqms-devsim's --simulate and --fast.
 *
 *  Per device, driven by the core's state: a teller logs in (NO_STAFF),
 *  customers arrive (Poisson) and are called and served (IDLE -> Call, then
 *  Start), a service lasts an exponential time (SERVING -> End), and the
 *  customer rates with the configured mix or walks away (AWAIT_RATING ->
 *  rating key, or nothing: the firmware's timeout sends "not rated").
 *  --fast skips every wait: each device presses as fast as its firmware
 *  takes keys (the benchmark load).
 */
#ifndef EQMS_MODEL_H
#define EQMS_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "devsim.h"

typedef struct model_t model_t;

typedef struct {
    bool fast;
    const char *employees;        /* comma-separated, one per device in order */
    double arrivals_per_hour;     /* per window */
    double service_s;             /* mean service time */
    unsigned mix[DEVPROTO_KEYS_MAX]; /* weight of rating key 1..n (key 1 = best) */
    unsigned not_rated_pct;       /* customers who leave without rating */
    uint32_t seed;                /* 0 = random */
} model_config_t;

/* Parses "70,20,7,3" into mix (the rest 0). Returns 0 or -1. */
int model_parse_mix(const char *text, unsigned mix[DEVPROTO_KEYS_MAX]);

model_t *model_new(devsim_t *sim, const model_config_t *cfg);
void model_destroy(model_t **self_p);

/* Pauses (false) or resumes the model; a test may drive devices itself. */
void model_enable(model_t *self, bool enabled);
bool model_enabled(model_t *self);

/* Decides and queues the next presses; call after devsim_tick. */
void model_tick(model_t *self);

typedef struct {
    uint64_t presses, logins, calls, services, ratings, walked_away;
    uint64_t rated_key[DEVPROTO_KEYS_MAX];
} model_stats_t;

model_stats_t model_stats(model_t *self);

#endif
