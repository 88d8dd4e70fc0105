/*  clock: UTC timestamps and branch-local days from IANA time zones.
 *
 *  Every instant in EQMS is milliseconds since the Unix epoch, UTC. "Today" of
 *  an organisation node is the local calendar day in its IANA zone; a local day
 *  is [start, end) in UTC and can be 23 or 25 hours long around DST changes.
 *  Zone rules come from ICU, so they match the tz database.
 */
#ifndef EQMS_CLOCK_H
#define EQMS_CLOCK_H

#include <stdint.h>
#include <time.h>

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" plus NUL */
#define CLOCK_RFC3339_SIZE 25

typedef struct {
    int year;   /* e.g. 2026 */
    int month;  /* 1..12 */
    int day;    /* 1..31 */
} clock_date_t;

typedef struct clock_zone_t clock_zone_t;

/* Wall-clock time now, ms since the epoch (UTC). Honors clock_set_fake. */
int64_t clock_now_ms(void);

/* Monotonic ms for measuring intervals; never jumps. */
int64_t clock_mono_ms(void);

/* Sleeps `ms` milliseconds (<= 0: not at all; a signal cuts it short). */
void clock_sleep_ms(int64_t ms);

/* Writes into *ts the CLOCK_REALTIME instant `ms` from now: the absolute
 * deadline pthread_cond_timedwait takes. */
void clock_deadline(struct timespec *ts, int ms);

/* Makes clock_now_ms return `ms` (0 restores the real clock). For tests. */
void clock_set_fake(int64_t ms);

/* Makes clock_now_ms run `ms` ahead of (or behind) the real clock, still
 * moving: for system tests and demos that must cross a local midnight. */
void clock_set_offset(int64_t ms);

/* Writes `ms` as "YYYY-MM-DDTHH:MM:SS.mmmZ". Returns 0, or -1 if the year is
 * outside 0000..9999. */
int clock_format_rfc3339(int64_t ms, char buf[CLOCK_RFC3339_SIZE]);

/* "YYYY-MM-DD" plus NUL */
#define CLOCK_DATE_SIZE 11

/* Writes a date as "YYYY-MM-DD" (the year taken modulo 10000; the month and
 * day modulo 100). */
void clock_format_date(clock_date_t date, char buf[CLOCK_DATE_SIZE]);

/* Parses exactly the form clock_format_rfc3339 writes (UTC, 'Z', three
 * fraction digits) and checks that the date exists. Returns 0 or -1. */
int clock_parse_rfc3339(const char *text, int64_t *ms);

/* Opens an IANA zone such as "Asia/Shanghai". Returns NULL for a name the tz
 * database does not know. The zone is not thread-safe; use one per thread. */
clock_zone_t *clock_zone_new(const char *iana_name);
void clock_zone_destroy(clock_zone_t **self_p);

/* The zone's canonical name as given to clock_zone_new. */
const char *clock_zone_name(const clock_zone_t *self);

/* Local calendar date of instant `ms` in the zone. Returns 0 or -1. */
int clock_local_date(clock_zone_t *self, int64_t ms, clock_date_t *date);

/* UTC bounds [start, end) of local calendar day `date`. When local midnight
 * does not exist (DST starting at 00:00) the day starts at the first instant
 * that does. Returns 0, or -1 for an invalid date. */
int clock_day_bounds(clock_zone_t *self, clock_date_t date, int64_t *start,
                     int64_t *end);

/* Bounds of the local day that contains instant `ms`. Returns 0 or -1. */
int clock_day_of(clock_zone_t *self, int64_t ms, int64_t *start, int64_t *end);

/* The local wall-clock hour (0..23) of instant `ms` in the zone, or -1. */
int clock_local_hour(clock_zone_t *self, int64_t ms);

/* The local wall-clock minute of the day (0..1439, hour * 60 + minute) of
 * instant `ms` in the zone, or -1. */
int clock_local_minute(clock_zone_t *self, int64_t ms);

/* The UTC instant of local wall-clock time `minute` (0..1440: hour * 60 +
 * minute; 1440 is the next day's start) on local day `date`. A time that
 * DST skips resolves to the first instant after the gap, a time it
 * repeats to its first occurrence. Returns 0, or -1 for an invalid date
 * or minute. */
int clock_local_instant(clock_zone_t *self, clock_date_t date, int minute, int64_t *ms);

/* Calendar arithmetic (proleptic Gregorian, no zone): `date` moved by `days`
 * (may be negative); the ISO weekday of a date, 1 = Monday .. 7 = Sunday;
 * the days from `a` to `b` (b - a). */
clock_date_t clock_date_add_days(clock_date_t date, int64_t days);
int clock_date_weekday(clock_date_t date);
int64_t clock_date_diff(clock_date_t a, clock_date_t b);

#endif
