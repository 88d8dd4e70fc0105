/*  hours: opening hours and the issuing state at an instant (hours.h). */
#include "eqms/hours.h"

#include <stdio.h>
#include <string.h>

static const char *const s_days[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
static const hours_day_t s_closed_day = { 0 };

void hours_init(hours_t *self)
{
    memset(self, 0, sizeof *self);
    self->cutoff_min = HOURS_CUTOFF_DEFAULT;
}

int hours_minute_parse(const char *text, bool closing)
{
    if (!text || strlen(text) != 5 || text[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (text[i] < '0' || text[i] > '9'))
            return -1;
    int h = (text[0] - '0') * 10 + (text[1] - '0'), m = (text[3] - '0') * 10 + (text[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && (m != 0 || !closing)))
        return -1;
    return h * 60 + m;
}

void hours_minute_format(int minute, char out[6])
{
    if (minute < 0 || minute > 1440)
        minute = 0;
    snprintf(out, 6, "%02d:%02d", minute / 60, minute % 60);
}

const char *hours_weekday_name(int weekday)
{
    return weekday >= 1 && weekday <= 7 ? s_days[weekday - 1] : NULL;
}

int hours_weekday_parse(const char *name)
{
    for (int i = 0; name && i < 7; i++)
        if (strcmp(name, s_days[i]) == 0)
            return i + 1;
    return 0;
}

const char *hours_state_name(hours_state_t state)
{
    switch (state) {
    case HOURS_OPEN:
        return "open";
    case HOURS_CLOSED:
        return "closed";
    case HOURS_STOPPED:
        return "issuing_stopped";
    }
    return "?";
}

int hours_add_session(hours_t *self, int weekday, int opens, int closes,
                      char reason[HOURS_REASON_SIZE])
{
    char a[6], b[6];
    hours_minute_format(opens, a);
    hours_minute_format(closes, b);
    if (weekday < 1 || weekday > 7 || opens < 0 || closes > 1440 || opens >= closes) {
        snprintf(reason, HOURS_REASON_SIZE, "a session must open before it closes, "
                 "within 00:00..24:00 (got %s-%s)", a, b);
        return -1;
    }
    hours_day_t *day = &self->week[weekday - 1];
    int at = 0;
    for (int i = 0; i < day->count; i++) {
        const hours_session_t *s = &day->sessions[i];
        if (opens < s->closes && s->opens < closes) {
            char c[6], d[6];
            hours_minute_format(s->opens, c);
            hours_minute_format(s->closes, d);
            snprintf(reason, HOURS_REASON_SIZE, "%s-%s overlaps %s-%s", a, b, c, d);
            return -1;
        }
        if (s->opens < opens)
            at = i + 1;
    }
    if (day->count == HOURS_SESSIONS_MAX) {
        snprintf(reason, HOURS_REASON_SIZE, "at most %d sessions a day", HOURS_SESSIONS_MAX);
        return -1;
    }
    memmove(&day->sessions[at + 1], &day->sessions[at],
            (size_t) (day->count - at) * sizeof day->sessions[0]);
    day->sessions[at] = (hours_session_t) { opens, closes };
    day->count++;
    return 0;
}

/* One session object {"opens": "HH:MM", "closes": "HH:MM"} of weekday
 * `d` (1..7), item `i`. 0, or -1 with the member and reason. */
static int s_session(const json_t *item, hours_t *self, int d, size_t i, char member[64],
                     char reason[HOURS_REASON_SIZE])
{
    const char *name = s_days[d - 1];
    json_t *opens = json_object_get(item, "opens"), *closes = json_object_get(item, "closes");
    if (!json_is_object(item) || json_object_size(item) != 2 || !opens || !closes) {
        snprintf(member, 64, "%s[%zu]", name, i);
        snprintf(reason, HOURS_REASON_SIZE, "must be an object of exactly opens and closes");
        return -1;
    }
    int o = hours_minute_parse(json_string_value(opens), false);
    int c = hours_minute_parse(json_string_value(closes), true);
    if (o < 0 || c < 0) {
        snprintf(member, 64, "%s[%zu].%s", name, i, o < 0 ? "opens" : "closes");
        snprintf(reason, HOURS_REASON_SIZE, "must be a time HH:MM, 00:00..23:59%s",
                 o < 0 ? "" : " or 24:00");
        return -1;
    }
    if (hours_add_session(self, d, o, c, reason) != 0) {
        snprintf(member, 64, "%s[%zu].%s", name, i, o >= c ? "closes" : "opens");
        return -1;
    }
    return 0;
}

int hours_decode_week(const json_t *week, hours_t *self, char member[64],
                      char reason[HOURS_REASON_SIZE])
{
    memset(self->week, 0, sizeof self->week);
    self->set = false;
    *member = '\0';
    if (!json_is_object(week) || json_object_size(week) != 7) {
        snprintf(reason, HOURS_REASON_SIZE, "must be an object of exactly the seven days "
                 "mon, tue, wed, thu, fri, sat and sun");
        return -1;
    }
    for (int d = 1; d <= 7; d++) {
        const json_t *day = json_object_get(week, s_days[d - 1]);
        if (!json_is_array(day) || json_array_size(day) > HOURS_SESSIONS_MAX) {
            snprintf(member, 64, "%s", day ? s_days[d - 1] : "");
            snprintf(reason, HOURS_REASON_SIZE, day ? "must be an array of at most %d "
                     "sessions" : "must have each of mon, tue, wed, thu, fri, sat and sun "
                     "(a closed day: [])", HOURS_SESSIONS_MAX);
            return -1;
        }
        for (size_t i = 0; i < json_array_size(day); i++)
            if (s_session(json_array_get(day, i), self, d, i, member, reason) != 0)
                return -1;
    }
    self->set = true;
    return 0;
}

int hours_date_parse(const char *text, clock_date_t *date)
{
    int64_t ms;
    char stamp[CLOCK_RFC3339_SIZE];
    if (!text || strlen(text) != 10)
        return -1;
    snprintf(stamp, sizeof stamp, "%sT00:00:00.000Z", text);
    if (clock_parse_rfc3339(stamp, &ms) != 0)
        return -1;
    *date = (clock_date_t) { (text[0] - '0') * 1000 + (text[1] - '0') * 100
                             + (text[2] - '0') * 10 + (text[3] - '0'),
                             (text[5] - '0') * 10 + (text[6] - '0'),
                             (text[8] - '0') * 10 + (text[9] - '0') };
    return 0;
}

static int s_decode_dates(const json_t *dates, hours_t *self, char reason[HOURS_REASON_SIZE])
{
    if (!json_is_array(dates) || json_array_size(dates) > HOURS_DATES_MAX) {
        snprintf(reason, HOURS_REASON_SIZE, "dates: an array of at most %d", HOURS_DATES_MAX);
        return -1;
    }
    for (size_t i = 0; i < json_array_size(dates); i++) {
        json_error_t err;
        const char *day = NULL, *note = NULL, *from = NULL;
        json_t *of = NULL;
        clock_date_t date;
        if (json_unpack_ex(json_array_get(dates, i), &err, JSON_STRICT, "{s:s, s:o, s:s, s:s}",
                           "date", &day, "hours_of", &of, "note", &note, "from", &from) != 0) {
            snprintf(reason, HOURS_REASON_SIZE, "dates[%zu]: %.120s", i, err.text);
            return -1;
        }
        int weekday = json_is_null(of) ? 0 : hours_weekday_parse(json_string_value(of));
        if (hours_date_parse(day, &date) != 0 || (!json_is_null(of) && weekday == 0)
            || (i > 0 && clock_date_diff(self->dates[i - 1].date, date) <= 0)) {
            snprintf(reason, HOURS_REASON_SIZE, "dates[%zu]: not a date in order with null "
                     "or a weekday's name", i);
            return -1;
        }
        self->dates[i] = (hours_date_t) { date, weekday };
        self->date_count = i + 1;
    }
    return 0;
}

int hours_decode(const json_t *doc, hours_t *self, char reason[HOURS_REASON_SIZE])
{
    hours_init(self);
    json_error_t err;
    json_t *week = NULL, *week_from = NULL, *cutoff_from = NULL, *dates = NULL;
    json_int_t cutoff = 0;
    if (json_unpack_ex((json_t *) doc, &err, JSON_STRICT, "{s:o, s:o, s:I, s:o, s:o}",
                       "week", &week, "week_from", &week_from, "issue_cutoff_min", &cutoff,
                       "cutoff_from", &cutoff_from, "dates", &dates) != 0) {
        snprintf(reason, HOURS_REASON_SIZE, "hours: %.120s", err.text);
        return -1;
    }
    if (cutoff < 0 || cutoff > HOURS_CUTOFF_MAX) {
        snprintf(reason, HOURS_REASON_SIZE, "issue_cutoff_min %lld is not in 0..%d",
                 (long long) cutoff, HOURS_CUTOFF_MAX);
        return -1;
    }
    self->cutoff_min = (int) cutoff;
    char member[64];
    if (!json_is_null(week) && hours_decode_week(week, self, member, reason) != 0) {
        char why[HOURS_REASON_SIZE];
        snprintf(why, sizeof why, "%s", reason);
        snprintf(reason, HOURS_REASON_SIZE, "week.%.20s: %.120s", member, why);
        return -1;
    }
    return s_decode_dates(dates, self, reason);
}

/* The sessions of local date `date`: a special date's, else its weekday's. */
static const hours_day_t *s_day_of(const hours_t *self, clock_date_t date)
{
    for (size_t i = 0; i < self->date_count; i++)
        if (clock_date_diff(self->dates[i].date, date) == 0)
            return self->dates[i].hours_of ? &self->week[self->dates[i].hours_of - 1]
                                           : &s_closed_day;
    return &self->week[clock_date_weekday(date) - 1];
}

int hours_status(const hours_t *self, clock_zone_t *zone, int64_t now_ms,
                 hours_status_t *out)
{
    memset(out, 0, sizeof *out);
    out->state = HOURS_OPEN;
    if (!self->set)
        return 0;
    clock_date_t today;
    if (clock_local_date(zone, now_ms, &today) != 0)
        return -1;
    /* The first session not over yet decides the state; the first one
     * after now that issues at all is when issuing resumes. */
    bool decided = false;
    out->state = HOURS_CLOSED;
    for (int d = 0; d <= HOURS_AHEAD_DAYS; d++) {
        clock_date_t date = clock_date_add_days(today, d);
        const hours_day_t *day = s_day_of(self, date);
        for (int i = 0; i < day->count; i++) {
            int64_t opens, closes;
            if (clock_local_instant(zone, date, day->sessions[i].opens, &opens) != 0
                || clock_local_instant(zone, date, day->sessions[i].closes, &closes) != 0)
                return -1;
            if (closes <= now_ms || closes <= opens)   /* over, or lost in a DST gap */
                continue;
            int64_t stops = closes - (int64_t) self->cutoff_min * 60000;
            if (!decided && now_ms >= opens) {
                decided = true;
                out->closes_ms = closes;
                if (now_ms < stops) {
                    out->state = HOURS_OPEN;
                    out->until_ms = stops;
                    return 0;
                }
                out->state = HOURS_STOPPED;
                continue;
            }
            decided = true;
            if (opens < stops) {
                out->resumes_ms = opens;
                return 0;
            }
        }
    }
    return 0;
}
