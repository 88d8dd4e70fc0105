/*  st_period: local periods of a zone (st_period.h). */
#include "st_period.h"

#include <stdlib.h>

#define S_HOUR_MS 3600000LL

struct st_zone_t {
    clock_zone_t *zone;
    st_place_t last;         /* the last day placed; day_end == 0: none */
};

st_zone_t *st_zone_new(const char *iana_name)
{
    st_zone_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->zone = clock_zone_new(iana_name);
    if (!self->zone) {
        free(self);
        return NULL;
    }
    return self;
}

void st_zone_destroy(st_zone_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    clock_zone_destroy(&(*self_p)->zone);
    free(*self_p);
    *self_p = NULL;
}

const char *st_zone_name(const st_zone_t *self)
{
    return clock_zone_name(self->zone);
}

int st_zone_place(st_zone_t *self, int64_t ms, st_place_t *out)
{
    if (self->last.day_end == 0 || ms < self->last.day_start || ms >= self->last.day_end) {
        st_place_t p;
        if (clock_local_date(self->zone, ms, &p.day) != 0
            || clock_day_bounds(self->zone, p.day, &p.day_start, &p.day_end) != 0)
            return -1;
        self->last = p;
    }
    *out = self->last;
    out->hour = (int) ((ms - out->day_start) / S_HOUR_MS);
    return 0;
}

int st_zone_wall_hour(st_zone_t *self, int64_t ms)
{
    return clock_local_hour(self->zone, ms);
}

clock_date_t st_period_start(st_period_t kind, clock_date_t day)
{
    switch (kind) {
    case ST_PERIOD_WEEK:
        return clock_date_add_days(day, 1 - clock_date_weekday(day));
    case ST_PERIOD_MONTH:
        return (clock_date_t) { day.year, day.month, 1 };
    case ST_PERIOD_QUARTER:
        return (clock_date_t) { day.year, (day.month - 1) / 3 * 3 + 1, 1 };
    case ST_PERIOD_YEAR:
        return (clock_date_t) { day.year, 1, 1 };
    default:
        return day;
    }
}

clock_date_t st_period_next(st_period_t kind, clock_date_t start)
{
    switch (kind) {
    case ST_PERIOD_WEEK:
        return clock_date_add_days(start, 7);
    case ST_PERIOD_MONTH:
        return start.month == 12 ? (clock_date_t) { start.year + 1, 1, 1 }
                                 : (clock_date_t) { start.year, start.month + 1, 1 };
    case ST_PERIOD_QUARTER:
        return start.month >= 10 ? (clock_date_t) { start.year + 1, 1, 1 }
                                 : (clock_date_t) { start.year, start.month + 3, 1 };
    case ST_PERIOD_YEAR:
        return (clock_date_t) { start.year + 1, 1, 1 };
    default:
        return clock_date_add_days(start, 1);
    }
}

int st_zone_bounds(st_zone_t *self, st_period_t kind, clock_date_t start, int hour,
                   int64_t *from, int64_t *to)
{
    int64_t day_start, day_end, end_start, end_end;
    if (clock_day_bounds(self->zone, start, &day_start, &day_end) != 0)
        return -1;
    if (kind == ST_PERIOD_HOUR) {
        *from = day_start + hour * S_HOUR_MS;
        *to = *from + S_HOUR_MS < day_end ? *from + S_HOUR_MS : day_end;
        return *from < day_end ? 0 : -1;
    }
    if (kind == ST_PERIOD_DAY) {
        *from = day_start;
        *to = day_end;
        return 0;
    }
    if (clock_day_bounds(self->zone, st_period_next(kind, start), &end_start,
                         &end_end) != 0)
        return -1;
    *from = day_start;
    *to = end_start;
    return 0;
}

int st_zone_split(st_zone_t *self, st_period_t kind, int64_t from, int64_t to,
                  st_piece_fn *piece, void *arg)
{
    while (from < to) {
        st_place_t p;
        if (st_zone_place(self, from, &p) != 0)
            return -1;
        clock_date_t start = st_period_start(kind, p.day);
        int hour = kind == ST_PERIOD_HOUR ? p.hour : 0;
        int64_t lo, hi;
        if (st_zone_bounds(self, kind, start, hour, &lo, &hi) != 0 || hi <= from)
            return -1;
        int64_t end = hi < to ? hi : to;
        if (piece(arg, start, hour, end - from) != 0)
            return -1;
        from = end;
    }
    return 0;
}
