/*  gw_clock: when a device event happened, from the device's uptime.
 *
 *  The rating device has no calendar clock: it stamps every event with its
 *  uptime, 32 bits of milliseconds that wrap after 49.7 days, counted by a
 *  crystal that may run a few hundred ppm fast or slow (docs/protocol.md,
 *  "Event time"). One gw_clock_t per device power-up keeps:
 *    - the uptime extended past its wraps: each live report's uptime is
 *      taken as the value congruent to it (mod 2^32) nearest to what the
 *      last one and the wall time elapsed since predict, so a wrap, or an
 *      absence of any length, is counted right;
 *    - anchors: the UTC time at which an extended uptime was seen on a live
 *      report (hello, heartbeat, or a stored event newer than the last one
 *      seen: it was just made). The latest anchor is renewed on every live
 *      report; the one before a break in the reports (unplugged, gateway
 *      away) is kept, up to GW_CLOCK_ANCHORS of them.
 *  event time = nearest anchor's time + (event's extended uptime - anchor's),
 *  so a drifting crystal moves an event by the drift since its nearest
 *  anchor (5 s while plugged in), not since power-up; an event kept while
 *  unplugged gets its time from the anchor before or after the break,
 *  whichever is nearer.
 *
 *  Pure: no I/O, times are passed in. A value type, one per device.
 */
#ifndef EQMS_GW_CLOCK_H
#define EQMS_GW_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define GW_CLOCK_ANCHORS 8
/* Live reports further apart than this are a break: the anchor before it
 * is kept. */
#define GW_CLOCK_BREAK_MS 30000
/* A stored event at most this far ahead of the latest live uptime was made
 * after it (a live event); anything else was made before it (kept). */
#define GW_CLOCK_AHEAD_MAX_MS 600000

typedef struct {
    int64_t ext;                    /* extended uptime */
    int64_t utc;                    /* UTC ms it was seen */
} gw_clock_anchor_t;

typedef struct {
    bool anchored;                  /* a live report of this power-up was seen */
    uint32_t up;                    /* the latest live uptime as reported */
    gw_clock_anchor_t now;          /* its anchor */
    gw_clock_anchor_t kept[GW_CLOCK_ANCHORS];   /* before breaks, oldest first */
    int nkept;
} gw_clock_t;

/* A new power-up: nothing is known of its clock. */
void gw_clock_reset(gw_clock_t *self);

/* A live report (hello, heartbeat, buffer warning: transient reports,
 * never re-sent) with `uptime`, received at now_ms (UTC). */
void gw_clock_live(gw_clock_t *self, uint32_t uptime, int64_t now_ms);

/* When a stored event with `uptime`, received at now_ms, happened (UTC ms):
 * true with *event_ms, or false if no live report of this power-up was seen
 * yet (the caller stamps the receive time and logs it). An event newer than
 * the latest live uptime renews the anchor. */
bool gw_clock_event(gw_clock_t *self, uint32_t uptime, int64_t now_ms, int64_t *event_ms);

#endif
