/*  hours: a hall's opening hours and whether tickets may be issued at an
 *  instant (pure: no I/O; zone arithmetic through clock.h).
 *
 *  A branch's hours (schema 33, opening_hours_in_force) are
 *    - a week of sessions: per ISO weekday up to HOURS_SESSIONS_MAX ranges
 *      of local wall-clock minutes [opens, closes) in the branch's IANA
 *      zone, 0 <= opens < closes <= 1440 (24:00), none overlapping; a day
 *      without one is closed (several a day: a lunch break between them);
 *    - special dates: closed all day, or open with the sessions of another
 *      weekday (a make-up working day);
 *    - the issue cut-off: no ticket is issued from `cutoff_min` minutes
 *      before each session closes.
 *  A branch without a week (none set anywhere above it) is always open.
 *
 *  Wall-clock times become instants on their own date (clock_local_instant),
 *  so days of 23 or 25 hours are counted as they are lived: a session from
 *  08:00 to 17:00 on a DST day lasts 9 hours of wall clock; a time the
 *  change skips is read as the first instant after the gap. The cut-off is
 *  counted in real minutes before the session's close.
 *
 *  The JSON forms are the REST API's (docs/openapi.yaml, "OpeningWeek"):
 *  a week {"mon": [{"opens": "08:30", "closes": "12:00"}, ...], ..., "sun":
 *  []} and times "HH:MM" (closes may be "24:00").
 */
#ifndef EQMS_HOURS_H
#define EQMS_HOURS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/clock.h"

#define HOURS_SESSIONS_MAX 4        /* sessions a day */
#define HOURS_DATES_MAX    64       /* special dates held: the days ahead */
#define HOURS_AHEAD_DAYS   40       /* how far ahead issuing's restart is looked for */
#define HOURS_CUTOFF_DEFAULT 30     /* minutes, when no node sets one */
#define HOURS_CUTOFF_MAX   240
#define HOURS_REASON_SIZE  160

typedef struct {
    int opens, closes;              /* local minutes of the day, opens < closes <= 1440 */
} hours_session_t;

typedef struct {
    int count;
    hours_session_t sessions[HOURS_SESSIONS_MAX];   /* in time order */
} hours_day_t;

typedef struct {
    clock_date_t date;
    int hours_of;                   /* 0: closed all day; 1..7: that weekday's sessions */
} hours_date_t;

typedef struct {
    bool set;                       /* false: no week anywhere: always open */
    hours_day_t week[7];            /* [0] Monday .. [6] Sunday */
    hours_date_t dates[HOURS_DATES_MAX];   /* in date order, each date once */
    size_t date_count;
    int cutoff_min;                 /* 0..HOURS_CUTOFF_MAX */
} hours_t;

typedef enum {
    HOURS_OPEN = 0,                 /* tickets are issued */
    HOURS_CLOSED,                   /* outside every session (before, between, after,
                                       a closed day) */
    HOURS_STOPPED                   /* in a session, past its cut-off */
} hours_state_t;

typedef struct {
    hours_state_t state;
    int64_t until_ms;               /* OPEN: when issuing stops next (the session's
                                       cut-off); 0: never (no week) */
    int64_t closes_ms;              /* OPEN, STOPPED: the current session's close; else 0 */
    int64_t resumes_ms;             /* CLOSED, STOPPED: when issuing starts again (the
                                       next session that issues at all opens); 0: not
                                       within HOURS_AHEAD_DAYS */
} hours_status_t;

/* No week (always open), no dates, the default cut-off. */
void hours_init(hours_t *self);

/* "08:30" -> 510: two-digit hours and minutes, 00:00..23:59, or 24:00 when
 * `closing`. -1 for anything else. */
int hours_minute_parse(const char *text, bool closing);

/* Writes minute (0..1440) as "HH:MM". */
void hours_minute_format(int minute, char out[6]);

/* "2026-10-01" of a real date into *date. 0 or -1. */
int hours_date_parse(const char *text, clock_date_t *date);

/* The weekday's name ("mon".."sun") of 1..7, NULL otherwise; and back
 * (0 for an unknown name). */
const char *hours_weekday_name(int weekday);
int hours_weekday_parse(const char *name);

/* Adds a session to weekday 1..7 (kept in time order). 0, or -1 with the
 * reason: a range that is empty or overlaps another, or a day full. */
int hours_add_session(hours_t *self, int weekday, int opens, int closes,
                      char reason[HOURS_REASON_SIZE]);

/* Reads a week in the API's form into self->week (emptied first) and sets
 * self->set. Strict: exactly the seven day members, each an array of at
 * most HOURS_SESSIONS_MAX objects of exactly "opens" and "closes". 0, or -1
 * with the member at fault ("mon[1].closes", "" for the week itself) and
 * the reason. */
int hours_decode_week(const json_t *week, hours_t *self, char member[64],
                      char reason[HOURS_REASON_SIZE]);

/* Reads the hours in force as opening_hours_in_force (schema 33) writes
 * them: {"week": week or null, "week_from", "issue_cutoff_min", "cutoff_from",
 * "dates": [{"date", "hours_of", "note", "from"}]} (at most HOURS_DATES_MAX
 * dates, in date order). 0, or -1 with the reason. */
int hours_decode(const json_t *doc, hours_t *self, char reason[HOURS_REASON_SIZE]);

/* Whether tickets may be issued at `now_ms` in `zone`, and until or from
 * when. 0, or -1 when the zone cannot place the instant. */
int hours_status(const hours_t *self, clock_zone_t *zone, int64_t now_ms,
                 hours_status_t *out);

/* "open", "closed", "issuing_stopped": the names of the states in the API
 * and queue-manager's refusals. */
const char *hours_state_name(hours_state_t state);

#endif
