/*  st_period: where an instant falls in a node's local periods.
 *
 *  Periods are local to a node's IANA zone (docs/statistics.md, "Periods and
 *  the tree"): the hour (the k-th elapsed hour of the local day, so a day has
 *  23 or 25 of them around DST), the day, the ISO week (Monday to Sunday),
 *  the month, the quarter and the year. A period is named by the local date
 *  of its first day (and, for an hour, its index in that day).
 *
 *  st_zone_t wraps a clock zone with a cache of the last local day it
 *  computed, so that placing many instants of one day costs no ICU call.
 *  Not thread-safe: one per thread.
 */
#ifndef EQMS_ST_PERIOD_H
#define EQMS_ST_PERIOD_H

#include <stdint.h>

#include "eqms/clock.h"

typedef enum {
    ST_PERIOD_HOUR = 0,
    ST_PERIOD_DAY,
    ST_PERIOD_WEEK,
    ST_PERIOD_MONTH,
    ST_PERIOD_QUARTER,
    ST_PERIOD_YEAR,
    ST_PERIOD_KINDS
} st_period_t;

/* Where an instant is in a zone. */
typedef struct {
    clock_date_t day;     /* local date */
    int hour;             /* elapsed hour of that local day, 0..24 */
    int64_t day_start;    /* UTC ms of the local day's bounds */
    int64_t day_end;
} st_place_t;

typedef struct st_zone_t st_zone_t;

/* NULL for a zone the tz database does not know (or out of memory). */
st_zone_t *st_zone_new(const char *iana_name);
void st_zone_destroy(st_zone_t **self_p);
const char *st_zone_name(const st_zone_t *self);

/* Places instant `ms`. Returns 0, or -1 if it is outside years 1..9999. */
int st_zone_place(st_zone_t *self, int64_t ms, st_place_t *out);

/* The wall-clock hour (0..23) of `ms`, for the hour-of-day dimension; -1 on
 * error. */
int st_zone_wall_hour(st_zone_t *self, int64_t ms);

/* The first day of the period of `kind` (not HOUR) that contains `day`, and
 * the first day of the period after the one starting at `start`. */
clock_date_t st_period_start(st_period_t kind, clock_date_t day);
clock_date_t st_period_next(st_period_t kind, clock_date_t start);

/* UTC bounds [from, to) of the period `kind` starting at local date `start`
 * (for HOUR: hour `hour` of that day, the last one ending at the day's end).
 * Returns 0 or -1. */
int st_zone_bounds(st_zone_t *self, st_period_t kind, clock_date_t start, int hour,
                   int64_t *from, int64_t *to);

/* Cuts the interval [from, to) at the boundaries of periods of `kind` and
 * calls `piece` for each non-empty piece with its period's start date, hour
 * index (HOUR only, else 0) and length in ms. Returns 0, or -1 if an instant
 * cannot be placed or `piece` returned non-zero. */
typedef int (st_piece_fn)(void *arg, clock_date_t start, int hour, int64_t ms);
int st_zone_split(st_zone_t *self, st_period_t kind, int64_t from, int64_t to,
                  st_piece_fn *piece, void *arg);

#endif
