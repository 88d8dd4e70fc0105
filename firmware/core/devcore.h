/*  devcore: the rating device's portable logic (TinyUSB-style split).
 *
 *  This header is the whole contract between the core and a board port, in
 *  both directions: the port calls devcore_* (events up: time, raw key
 *  changes, USB state and OUT reports); the core calls the port through the
 *  devcore_board_t table (calls down: LCD lines, stars, voice, IN reports).
 *  No heap, no globals: a devcore_t holds one device's whole state, so a
 *  host can run many (the emulator does). Not thread-safe: one caller.
 *  Compile-time limits are in devcore_config.h.
 */
#ifndef EQMS_DEVCORE_H
#define EQMS_DEVCORE_H

#include <stdbool.h>
#include <stdint.h>

#include "devcore_config.h"
#include "eqms/devcodec.h"

/* Keys of the device: teller keypad, then the customer's rating keys. */
typedef enum {
    DEVCORE_KEY_0 = 0,            /* digits 0..9 are DEVCORE_KEY_0 + n */
    DEVCORE_KEY_9 = 9,
    DEVCORE_KEY_LOGIN,            /* Login / Logout */
    DEVCORE_KEY_CALL,             /* call next customer */
    DEVCORE_KEY_START,
    DEVCORE_KEY_END,
    DEVCORE_KEY_RECALL,
    DEVCORE_KEY_PAUSE,
    DEVCORE_KEY_OK,
    DEVCORE_KEY_RATE1,            /* rating keys 1..6 (left to right) */
    DEVCORE_KEY_RATE6 = DEVCORE_KEY_RATE1 + 5,
    DEVCORE_KEY_COUNT
} devcore_key_t;

/* Calls down: what the core needs from the board. Every function gets ctx. */
typedef struct {
    void *ctx;
    /* Draws LCD line 0..3: `len` bytes of GB2312/ASCII, padded with spaces. */
    void (*lcd_line)(void *ctx, uint8_t line, const uint8_t *text, uint8_t len);
    /* Lights `count` (0..5) star LEDs. */
    void (*stars)(void *ctx, uint8_t count);
    /* Plays a devproto_prompt_t; a new prompt may cut the one playing. */
    void (*voice)(void *ctx, uint8_t prompt);
    /* Queues one IN report; returns 0, or -1 if the endpoint is busy (the
     * core retries on a later tick). Copies the report. */
    int (*usb_send)(void *ctx, const uint8_t report[DEVPROTO_REPORT_SIZE]);
} devcore_board_t;

/* Counters a port or test may read. */
typedef struct {
    uint32_t reports_sent;
    uint32_t commands_applied;
    uint32_t commands_rejected;    /* malformed OUT reports, and commands refused
                                    * where they have no meaning (SET_CONFIG with
                                    * more keys than fitted, REQUEST_RATING with no
                                    * teller or paused): never acted on */
    uint32_t presses_suppressed;   /* repeat presses inside the interval */
    uint32_t presses_refused;      /* refused because the ring was full */
} devcore_stats_t;

typedef struct devcore_t devcore_t;   /* defined in devcore_state.h */

/* Starts a device: `boot` is this power-up's random id, `key_count` the
 * rating keys fitted (2..6), `caps` DEVPROTO_CAP_*. The board table is
 * copied. */
void devcore_init(devcore_t *self, const devcore_board_t *board, uint32_t boot,
                  uint8_t key_count, uint16_t caps, uint32_t now_ms);

/* Advances time: timeouts, debounce, resends, heartbeats. Call at least
 * every 10 ms with a monotonic millisecond clock (it may wrap). */
void devcore_tick(devcore_t *self, uint32_t now_ms);

/* A raw key level change as scanned (bouncing included): the core debounces. */
void devcore_key(devcore_t *self, devcore_key_t key, bool pressed, uint32_t now_ms);

/* USB configured by the host (true) or gone (false). On true the core sends
 * hello and then every unacknowledged event again, oldest first. */
void devcore_usb_connected(devcore_t *self, bool connected, uint32_t now_ms);

/* An OUT report arrived. Malformed ones are counted and ignored. */
void devcore_usb_out(devcore_t *self, const uint8_t *report, uint32_t len,
                     uint32_t now_ms);

devproto_state_t devcore_state(const devcore_t *self);
devcore_stats_t devcore_stats(const devcore_t *self);
/* Unacknowledged stored events in the ring. */
uint16_t devcore_ring_used(const devcore_t *self);

#include "devcore_state.h"

#endif
