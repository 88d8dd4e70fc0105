/*  devsim: N rating devices, each the real firmware core (devcore) behind an
 *  emulated USB device (usbemu), with the board's LCD, stars and voice kept
 *  in memory for inspection and keys pressed by scripts.
 *
 *  Not thread-safe by itself: call it from the main loop thread. It takes the
 *  emulator lock around every use of a core, since OUT reports reach the
 *  cores from usbemu's worker thread.
 */
#ifndef EQMS_DEVSIM_H
#define EQMS_DEVSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devcore.h"

typedef struct devsim_t devsim_t;

typedef struct {
    size_t count;                 /* devices, 1..DEVSIM_MAX */
    const char *serials;          /* comma-separated serials, or NULL */
    const char *serial_prefix;    /* else serial = prefix "-W" NN, e.g. EQ-B0001-W01 */
    uint8_t key_count;            /* rating keys fitted, 2..6 */
    uint32_t hold_ms;             /* how long a scripted press holds a key down */
    uint32_t gap_ms;              /* pause after releasing it */
    bool plug;                    /* plug every device in at start */
    uint32_t uptime_start_ms;     /* every device's uptime at start (0 = just
                                   * powered up; near 2^32 to test the wrap) */
    uint16_t firmware;            /* an older firmware to emulate, (major << 8 |
                                   * minor), 0 = the core's own: the hello says
                                   * it, and OUT reports of a type that firmware
                                   * did not know are rejected as unknown */
} devsim_config_t;

#define DEVSIM_MAX 512
#define DEVSIM_STEPS 256          /* queued key steps per device */

/* What a test or script can read about one device. */
typedef struct {
    char serial[DEVPROTO_SERIAL_MAX + 1];
    bool plugged;
    unsigned busnum, devnum;
    devproto_state_t state;
    uint16_t ring_used;
    devcore_stats_t stats;
    uint8_t lcd[DEVPROTO_LINES][DEVPROTO_LINE_BYTES];
    uint8_t lcd_len[DEVPROTO_LINES];
    uint8_t stars;
    int last_prompt;              /* 0 = none yet */
    uint32_t prompts;             /* prompts played */
    uint32_t queued_steps;        /* scripted key steps not run yet */
    uint64_t in_reports, out_reports;
    unsigned usb_clients;
    uint32_t raw_sent;            /* raw reports injected by a test */
    uint32_t mutated_sent;        /* reports sent altered (devsim_mutate) */
} devsim_info_t;

/* Creates the devices (and plugs them in if cfg->plug). NULL on failure. */
devsim_t *devsim_new(const devsim_config_t *cfg);
void devsim_destroy(devsim_t **self_p);

/* UMOCKDEV_DIR of the testbed, for the libusb process. */
const char *devsim_dir(devsim_t *self);
size_t devsim_count(devsim_t *self);

/* Advances every core to now and runs due key steps; call every 10 ms. */
void devsim_tick(devsim_t *self);
uint32_t devsim_now_ms(void);

int devsim_plug(devsim_t *self, size_t index);
int devsim_unplug(devsim_t *self, size_t index);

/* A key name ("0".."9", "login", "call", "start", "end", "recall", "pause",
 * "ok", "rate1".."rate6") to its devcore_key_t, or -1. */
int devsim_key_parse(const char *name);
const char *devsim_key_name(int key);

/* Sets a key level now (the core debounces). Returns 0 or -1. */
int devsim_key(devsim_t *self, size_t index, devcore_key_t key, bool pressed);

/* Queues a press: down, hold, up, gap; `delay_ms` before it starts.
 * Returns 0, or -1 if the queue is full. */
int devsim_press(devsim_t *self, size_t index, devcore_key_t key, uint32_t delay_ms);

/* Queues the teller's login: the digits, then OK. -1 on a bad number. */
int devsim_login(devsim_t *self, size_t index, const char *employee_no);

/* Drops every queued step of a device (keys are released). */
void devsim_clear_steps(devsim_t *self, size_t index);

/* Sends `len` raw bytes as one IN report from the device (a test's garbage
 * report). Returns 0, or -1 if the endpoint is busy or it is unplugged. */
int devsim_raw_in(devsim_t *self, size_t index, const uint8_t *report, size_t len);

/* Emulates a newer firmware: the next stored event of type `match` the core
 * sends (and every resend of that seq) goes out with its type byte set to
 * `type` and its version byte to `version` (0 = as the core made it), as a
 * firmware with an event type or a report version the gateway does not
 * know would send it. match 0 ends it. Returns 0 or -1 for a bad index. */
int devsim_mutate(devsim_t *self, size_t index, uint8_t match, uint8_t type,
                  uint8_t version);

/* Fills `info`. Returns 0 or -1 for a bad index. */
int devsim_info(devsim_t *self, size_t index, devsim_info_t *info);
devproto_state_t devsim_state(devsim_t *self, size_t index);
uint32_t devsim_queued(devsim_t *self, size_t index);

#endif
