/*  clock: UTC timestamps and branch-local days (clock.h), zones from ICU. */
#include "eqms/clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicode/ucal.h>
#include <unicode/ustring.h>

#define S_DAY_MS (24LL * 3600 * 1000)

struct clock_zone_t {
    UCalendar *cal;
    char name[64];
};

static _Atomic int64_t s_fake_ms;
static _Atomic int64_t s_offset_ms;

int64_t clock_now_ms(void)
{
    int64_t fake = atomic_load_explicit(&s_fake_ms, memory_order_relaxed);
    if (fake)
        return fake;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000
           + atomic_load_explicit(&s_offset_ms, memory_order_relaxed);
}

void clock_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };
    nanosleep(&ts, NULL);
}

void clock_deadline(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long) (ms % 1000) * 1000000;
    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}

void clock_set_offset(int64_t ms)
{
    atomic_store_explicit(&s_offset_ms, ms, memory_order_relaxed);
}

int64_t clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void clock_set_fake(int64_t ms)
{
    atomic_store_explicit(&s_fake_ms, ms, memory_order_relaxed);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's method). */
static int64_t s_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void s_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int s_days_in_month(int64_t y, int m)
{
    static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : days[m - 1];
}

/* Writes `value` (0 <= value < 10^n) as exactly n decimal digits. */
static void s_put_digits(char *at, int value, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        at[i] = (char) ('0' + value % 10);
        value /= 10;
    }
}

int clock_format_rfc3339(int64_t ms, char buf[CLOCK_RFC3339_SIZE])
{
    int64_t days = ms >= 0 ? ms / S_DAY_MS : -((-ms + S_DAY_MS - 1) / S_DAY_MS);
    int64_t rem = ms - days * S_DAY_MS;
    int64_t y;
    int m, d;
    s_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999)
        return -1;
    /* Digit by digit: this runs for every envelope, and snprintf costs
     * several times more. */
    memcpy(buf, "0000-00-00T00:00:00.000Z", CLOCK_RFC3339_SIZE);
    s_put_digits(buf, (int) y, 4);
    s_put_digits(buf + 5, m, 2);
    s_put_digits(buf + 8, d, 2);
    s_put_digits(buf + 11, (int) (rem / 3600000), 2);
    s_put_digits(buf + 14, (int) (rem / 60000 % 60), 2);
    s_put_digits(buf + 17, (int) (rem / 1000 % 60), 2);
    s_put_digits(buf + 20, (int) (rem % 1000), 3);
    return 0;
}

void clock_format_date(clock_date_t date, char buf[CLOCK_DATE_SIZE])
{
    memcpy(buf, "0000-00-00", CLOCK_DATE_SIZE);
    s_put_digits(buf, date.year % 10000, 4);
    s_put_digits(buf + 5, date.month % 100, 2);
    s_put_digits(buf + 8, date.day % 100, 2);
}

/* Reads exactly `n` digits. */
static int s_digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

int clock_parse_rfc3339(const char *text, int64_t *ms)
{
    /* YYYY-MM-DDTHH:MM:SS.mmmZ */
    int y, mo, d, h, mi, s, f;
    if (!text || strlen(text) != CLOCK_RFC3339_SIZE - 1)
        return -1;
    if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':'
        || text[16] != ':' || text[19] != '.' || text[23] != 'Z')
        return -1;
    if (s_digits(text, 4, &y) || s_digits(text + 5, 2, &mo)
        || s_digits(text + 8, 2, &d) || s_digits(text + 11, 2, &h)
        || s_digits(text + 14, 2, &mi) || s_digits(text + 17, 2, &s)
        || s_digits(text + 20, 3, &f))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > s_days_in_month(y, mo) || h > 23
        || mi > 59 || s > 59)
        return -1;
    *ms = s_days_from_civil(y, mo, d) * S_DAY_MS + h * 3600000LL + mi * 60000LL
          + s * 1000LL + f;
    return 0;
}

clock_zone_t *clock_zone_new(const char *iana_name)
{
    UChar id[64], canonical[64];
    UErrorCode status = U_ZERO_ERROR;
    UBool is_system = 0;
    if (!iana_name || !*iana_name || strlen(iana_name) >= 64)
        return NULL;
    u_uastrncpy(id, iana_name, 64);
    int32_t len = u_strlen(id);
    /* ICU silently falls back to GMT for unknown ids: ask whether it knows it. */
    ucal_getCanonicalTimeZoneID(id, len, canonical, 64, &is_system, &status);
    if (U_FAILURE(status) || !is_system)
        return NULL;
    clock_zone_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cal = ucal_open(id, len, "en_US_POSIX", UCAL_GREGORIAN, &status);
    if (U_FAILURE(status))
        goto err;
    /* Proleptic Gregorian, so dates before 1582 compute like ISO 8601. */
    ucal_setGregorianChange(self->cal, -1e300, &status);
    /* A local midnight skipped by DST resolves to the first instant after
     * the gap, which is when that day begins. */
    ucal_setAttribute(self->cal, UCAL_SKIPPED_WALL_TIME, UCAL_WALLTIME_NEXT_VALID);
    ucal_setAttribute(self->cal, UCAL_REPEATED_WALL_TIME, UCAL_WALLTIME_FIRST);
    /* Lenient stays on: strict mode refuses a skipped midnight outright.
     * Dates are validated before they reach ICU instead. */
    snprintf(self->name, sizeof self->name, "%s", iana_name);
    return self;
err:
    clock_zone_destroy(&self);
    return NULL;
}

void clock_zone_destroy(clock_zone_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    clock_zone_t *self = *self_p;
    if (self->cal)
        ucal_close(self->cal);
    free(self);
    *self_p = NULL;
}

const char *clock_zone_name(const clock_zone_t *self)
{
    return self->name;
}

int clock_local_date(clock_zone_t *self, int64_t ms, clock_date_t *date)
{
    UErrorCode status = U_ZERO_ERROR;
    ucal_setMillis(self->cal, (UDate) ms, &status);
    date->year = ucal_get(self->cal, UCAL_EXTENDED_YEAR, &status);
    date->month = ucal_get(self->cal, UCAL_MONTH, &status) + 1;
    date->day = ucal_get(self->cal, UCAL_DATE, &status);
    return U_FAILURE(status) ? -1 : 0;
}

/* The UTC instant of local `date` at `minute` (0..1439) past midnight. */
static int s_local_at(clock_zone_t *self, clock_date_t date, int minute, int64_t *at_ms)
{
    UErrorCode status = U_ZERO_ERROR;
    if (date.month < 1 || date.month > 12 || date.day < 1
        || date.day > s_days_in_month(date.year, date.month)
        || date.year < 1 || date.year > 9999 || minute < 0 || minute > 1439)
        return -1;
    ucal_clear(self->cal);
    ucal_setDateTime(self->cal, date.year, date.month - 1, date.day, minute / 60,
                     minute % 60, 0, &status);
    UDate at = ucal_getMillis(self->cal, &status);
    if (U_FAILURE(status))
        return -1;
    *at_ms = (int64_t) at;
    return 0;
}

/* First UTC instant of local day `date`. */
static int s_day_start(clock_zone_t *self, clock_date_t date, int64_t *start)
{
    return s_local_at(self, date, 0, start);
}

int clock_day_bounds(clock_zone_t *self, clock_date_t date, int64_t *start,
                     int64_t *end)
{
    int64_t y;
    int m, d;
    if (s_day_start(self, date, start) != 0)
        return -1;
    s_civil_from_days(s_days_from_civil(date.year, date.month, date.day) + 1,
                      &y, &m, &d);
    clock_date_t next = { (int) y, m, d };
    return s_day_start(self, next, end);
}

int clock_local_hour(clock_zone_t *self, int64_t ms)
{
    UErrorCode status = U_ZERO_ERROR;
    ucal_setMillis(self->cal, (UDate) ms, &status);
    int hour = ucal_get(self->cal, UCAL_HOUR_OF_DAY, &status);
    return U_FAILURE(status) ? -1 : hour;
}

int clock_local_minute(clock_zone_t *self, int64_t ms)
{
    UErrorCode status = U_ZERO_ERROR;
    ucal_setMillis(self->cal, (UDate) ms, &status);
    int hour = ucal_get(self->cal, UCAL_HOUR_OF_DAY, &status);
    int minute = ucal_get(self->cal, UCAL_MINUTE, &status);
    return U_FAILURE(status) ? -1 : hour * 60 + minute;
}

int clock_local_instant(clock_zone_t *self, clock_date_t date, int minute, int64_t *ms)
{
    if (minute == 1440)
        return s_day_start(self, clock_date_add_days(date, 1), ms);
    return s_local_at(self, date, minute, ms);
}

clock_date_t clock_date_add_days(clock_date_t date, int64_t days)
{
    int64_t y;
    int m, d;
    s_civil_from_days(s_days_from_civil(date.year, date.month, date.day) + days,
                      &y, &m, &d);
    return (clock_date_t) { (int) y, m, d };
}

int clock_date_weekday(clock_date_t date)
{
    /* 1970-01-01 was a Thursday (ISO 4) */
    int64_t z = s_days_from_civil(date.year, date.month, date.day);
    int64_t w = (z + 3) % 7;
    return (int) (w < 0 ? w + 7 : w) + 1;
}

int64_t clock_date_diff(clock_date_t a, clock_date_t b)
{
    return s_days_from_civil(b.year, b.month, b.day)
           - s_days_from_civil(a.year, a.month, a.day);
}

int clock_day_of(clock_zone_t *self, int64_t ms, int64_t *start, int64_t *end)
{
    clock_date_t date;
    if (clock_local_date(self, ms, &date) != 0)
        return -1;
    return clock_day_bounds(self, date, start, end);
}
