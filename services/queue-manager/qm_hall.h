/*  qm_hall: what a service hall shows and says: the last N called tickets,
 *  each window's current ticket, and the voice announcement queue.
 *
 *  The display list holds the last N called tickets, newest first; calling or
 *  recalling a ticket that is already listed moves it to the top with the new
 *  window and time (never a duplicate line). Every call and recall also
 *  queues an announcement "请A012号到3号窗口" (UTF-8). Announcements leave the
 *  queue one at a time, in order: qm_hall_next_announcement releases the next
 *  one only after the previous one has finished playing, so two never
 *  overlap and none is cut off.
 *
 *  Playing time of one announcement, an upper bound for a TTS voice reading
 *  Chinese at about 3.3 characters per second:
 *      duration_ms = repeat * (characters * char_ms + gap_ms)
 *  where characters counts Unicode code points of the text (请A012号到3号窗口
 *  is 11) and the defaults are char_ms 300, gap_ms 1000, repeat 2, i.e.
 *  2 * (3300 + 1000) = 8600 ms. A player that finishes earlier calls
 *  qm_hall_ack so the next one starts at once.
 *
 *  No I/O and no clock: times are passed in (ms UTC). Not thread-safe. The
 *  branch (qm_model) owns one hall and feeds it from applied events; the
 *  server reads it to publish display.<org-path> and announce.<org-path>.
 */
#ifndef EQMS_QM_HALL_H
#define EQMS_QM_HALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/id.h"
#include "qm_rules.h"

/* Announcement text: "请" + number + "号到" + window + "号窗口" + NUL. */
#define QM_ANNOUNCE_SIZE 64

typedef struct {
    size_t display_size;   /* N, last called tickets shown; default 6, >= 1 */
    int repeat;            /* times each announcement is spoken; default 2, 1..10 */
    int char_ms;           /* speaking time per character; default 300, >= 1 */
    int gap_ms;            /* pause after each repetition; default 1000, >= 0 */
    size_t queue_max;      /* announcements waiting at most; default 32, 1..1000: a
                            * call past it drops the oldest waiting one */
    int64_t expire_ms;     /* a waiting announcement older than this (from its call)
                            * is dropped, never played late; default 120000 */
} qm_hall_cfg_t;

/* One line of the display list. */
typedef struct {
    char ticket_id[ID_SIZE];
    char number[QM_NUMBER_SIZE];
    int window_no;
    int64_t at_ms;          /* time of the last call or recall */
} qm_hall_line_t;

/* A window's current ticket ("" when none). */
typedef struct {
    int window_no;
    char number[QM_NUMBER_SIZE];
} qm_hall_current_t;

/* One announcement released for playing. */
typedef struct {
    char ticket_id[ID_SIZE];
    char text[QM_ANNOUNCE_SIZE];   /* UTF-8 */
    char number[QM_NUMBER_SIZE];
    int window_no;
    int repeat;
    int64_t queued_ms;             /* time of the call / recall */
    int64_t duration_ms;           /* estimated playing time, all repeats */
    int64_t seq;                   /* 1, 2, 3 ... in queueing order */
} qm_announcement_t;

typedef struct qm_hall_t qm_hall_t;

/* Fills cfg with the defaults above. */
void qm_hall_cfg_default(qm_hall_cfg_t *cfg);

/* New empty hall. Returns NULL on a bad cfg or out of memory. */
qm_hall_t *qm_hall_new(const qm_hall_cfg_t *cfg);
void qm_hall_destroy(qm_hall_t **self_p);

/* A ticket was called (or recalled) to window `window_no` at `at_ms`:
 * moves it to the top of the display list (dropping the oldest line past N),
 * makes it the window's current ticket and queues its announcement, which
 * supersedes one of the same ticket still waiting (a recall before the call
 * was played is announced once, with the latest window); with queue_max
 * waiting, the oldest waiting one is dropped.
 * Returns 0, or -1 on bad arguments or out of memory (nothing changed). */
int qm_hall_called(qm_hall_t *self, const char *ticket_id, const char *number,
                   int window_no, int64_t at_ms);

/* Shows `number` as the window's current ticket without display line or
 * announcement (a walk-in customer is already at the window). 0 or -1. */
int qm_hall_set_current(qm_hall_t *self, int window_no, const char *number);

/* The window has no current ticket any more (finished, parked, ...). The
 * display list keeps the line: it is history. */
void qm_hall_clear_current(qm_hall_t *self, int window_no);

/* Forgets everything: display list, current tickets, queued announcements,
 * playing state (day end). The announcement seq keeps counting. */
void qm_hall_reset(qm_hall_t *self);

/* Drops queued announcements without playing them (after rebuilding a branch
 * from stored events, whose calls were announced before the restart). */
void qm_hall_flush_announcements(qm_hall_t *self);

/* Drops the waiting announcements of ticket `ticket_id`: it was finished,
 * no-showed, transferred, parked, put back or abandoned before its call was
 * played, so the call is no longer true. */
void qm_hall_drop_ticket(qm_hall_t *self, const char *ticket_id);

/* Grows by one at each change of what the display shows (lines, current
 * tickets): a caller compares it before and after to know. */
uint64_t qm_hall_version(const qm_hall_t *self);

/* Announcements dropped so far without being played (superseded, dropped
 * for the ticket, past queue_max, expired). */
uint64_t qm_hall_dropped(const qm_hall_t *self);

/* The hall's configuration. */
const qm_hall_cfg_t *qm_hall_get_cfg(const qm_hall_t *self);

/* What the display shows at one moment: the display list and the current
 * tickets, copied (qm_hall_view_new), so that it can be published later. */
typedef struct {
    qm_hall_line_t *lines;
    size_t line_count;
    qm_hall_current_t *currents;
    size_t current_count;
} qm_hall_view_t;

/* A copy of what the hall shows now (one allocation). NULL out of memory. */
qm_hall_view_t *qm_hall_view_new(const qm_hall_t *self);
void qm_hall_view_destroy(qm_hall_view_t **view_p);

/* Releases the next announcement if one is queued and the previous one has
 * finished (its estimated end <= now, or it was acked); waiting ones called
 * more than expire_ms before now are dropped first. Returns 1 with *out
 * filled, 0 if there is nothing to release now, -1 on bad arguments. */
int qm_hall_next_announcement(qm_hall_t *self, int64_t now_ms, qm_announcement_t *out);

/* The player finished announcement `seq` early: the next can start now.
 * Ignored unless `seq` is the one playing. */
void qm_hall_ack(qm_hall_t *self, int64_t seq);

/* When the announcement playing now ends (0 if none is playing). */
int64_t qm_hall_busy_until(const qm_hall_t *self);

/* Announcements waiting to be released. */
size_t qm_hall_pending(const qm_hall_t *self);

/* Display list: number of lines (<= N) and line i, 0 = newest. NULL if i is
 * out of range. The pointer is valid until the hall next changes. */
size_t qm_hall_line_count(const qm_hall_t *self);
const qm_hall_line_t *qm_hall_line(const qm_hall_t *self, size_t i);

/* Current tickets: one entry per window that ever had one today, in window
 * number order; the pointer is valid until the hall next changes. */
size_t qm_hall_current_count(const qm_hall_t *self);
const qm_hall_current_t *qm_hall_current(const qm_hall_t *self, size_t i);

/* The announcement text for a number and window: "请A012号到3号窗口".
 * Returns 0, or -1 if it does not fit. */
int qm_hall_text(const char *number, int window_no, char out[QM_ANNOUNCE_SIZE]);

/* Estimated playing time of `text` under cfg (formula above). */
int64_t qm_hall_duration_ms(const qm_hall_cfg_t *cfg, const char *text);

#endif
