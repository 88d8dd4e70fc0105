/*  devcore_config: compile-time limits and timings of the rating device core.
 *
 *  Every value may be overridden with -D at build time (the host tests use
 *  the defaults). Times are in milliseconds unless the name says otherwise.
 *
 *  Ring-full policy (docs/protocol.md, "Rating device"):
 *  - The ring holds DEVCORE_RING_CAPACITY stored events until the host acks
 *    them. DEVCORE_RING_RESERVED of its slots are kept for the outcome
 *    (RATING or NOT_RATED) of a service that has ended: every other event
 *    ("ordinary": login, logout, call, recall, pause, start, end) may use
 *    only CAPACITY - RESERVED slots. Only one service can wait for its
 *    rating at a time and End itself needs an ordinary slot, so the outcome
 *    of every ended service always fits: no rating is ever dropped.
 *  - When no ordinary slot is free, a key press that would create an event
 *    is refused visibly: error tone, "缓存已满" on the LCD for
 *    DEVCORE_MESSAGE_MS, the state does not change, and
 *    devcore_stats().presses_refused counts it (also sent in HELLO).
 *  - A BUFFER_WARNING transient report is sent once when the ring reaches
 *    DEVCORE_RING_WARN events and once more when the ordinary slots are
 *    exhausted; both re-arm once the ring drains below the mark. While USB is
 *    down the warning is sent after the next HELLO.
 */
#ifndef EQMS_DEVCORE_CONFIG_H
#define EQMS_DEVCORE_CONFIG_H

/* Firmware version reported in HELLO. */
#ifndef DEVCORE_FW_MAJOR
#define DEVCORE_FW_MAJOR 1
#endif
#ifndef DEVCORE_FW_MINOR
#define DEVCORE_FW_MINOR 2           /* 1.1: SET_LABEL; 1.2: SET_STAFF, REQUEST_RATING */
#endif
#ifndef DEVCORE_FW_PATCH
#define DEVCORE_FW_PATCH 0
#endif

/* Stored events kept until acknowledged (28 bytes each). */
#ifndef DEVCORE_RING_CAPACITY
#define DEVCORE_RING_CAPACITY 128
#endif
/* Slots only a rating / not-rated may use (see the policy above). */
#define DEVCORE_RING_RESERVED 1
/* BUFFER_WARNING mark: 80 % of the ring. */
#define DEVCORE_RING_WARN ((DEVCORE_RING_CAPACITY * 4) / 5)

/* A key level must be stable this long to count. */
#ifndef DEVCORE_DEBOUNCE_MS
#define DEVCORE_DEBOUNCE_MS 20
#endif
/* HEARTBEAT period while USB is configured. */
#ifndef DEVCORE_HEARTBEAT_MS
#define DEVCORE_HEARTBEAT_MS 5000
#endif
/* If the oldest unacknowledged event sent is not acked within this time,
 * every unacked event is sent again; the wait doubles on each resend up to
 * the maximum and resets when an ack makes progress or USB reconnects. */
#ifndef DEVCORE_ACK_TIMEOUT_MS
#define DEVCORE_ACK_TIMEOUT_MS 2000
#endif
#ifndef DEVCORE_ACK_TIMEOUT_MAX_MS
#define DEVCORE_ACK_TIMEOUT_MAX_MS 16000
#endif
/* Wait for LOGIN_REPLY; then the login is accepted locally (standalone).
 * Without USB the login is accepted at once. */
#ifndef DEVCORE_LOGIN_REPLY_MS
#define DEVCORE_LOGIN_REPLY_MS 5000
#endif
/* Thank-you screen after a rating. */
#ifndef DEVCORE_THANKS_MS
#define DEVCORE_THANKS_MS 3000
#endif
/* While a rating is awaited, each labelled key's label shows this long. */
#ifndef DEVCORE_LABEL_MS
#define DEVCORE_LABEL_MS 1500
#endif
/* Messages (login refused, ring full) stay this long. */
#ifndef DEVCORE_MESSAGE_MS
#define DEVCORE_MESSAGE_MS 3000
#endif

/* Defaults until SET_CONFIG arrives. */
#define DEVCORE_DEFAULT_RATING_TIMEOUT_S 30
#define DEVCORE_DEFAULT_REPEAT_PRESS_S   10

#endif
