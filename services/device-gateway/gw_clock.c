/*  gw_clock: event time from the device's uptime, robust to its wrap and
 *  drift (gw_clock.h). */
#include "gw_clock.h"

#include <string.h>

#define S_WRAP (INT64_C(1) << 32)

void gw_clock_reset(gw_clock_t *self)
{
    memset(self, 0, sizeof *self);
}

/* The value congruent to `uptime` modulo 2^32 nearest to `predicted`. */
static int64_t s_nearest(uint32_t uptime, int64_t predicted)
{
    int64_t d = (int64_t) (uint32_t) (uptime - (uint32_t) predicted);
    if (d >= S_WRAP / 2)
        d -= S_WRAP;
    return predicted + d;
}

void gw_clock_live(gw_clock_t *self, uint32_t uptime, int64_t now_ms)
{
    if (!self->anchored) {
        self->anchored = true;
        self->up = uptime;
        self->now = (gw_clock_anchor_t) { uptime, now_ms };
        return;
    }
    /* the device's ms follow the wall's within a few hundred ppm */
    int64_t ext = s_nearest(uptime, self->now.ext + (now_ms - self->now.utc));
    if (ext < self->now.ext)
        return;   /* older than the latest live report: not live */
    if (now_ms - self->now.utc > GW_CLOCK_BREAK_MS) {
        if (self->nkept == GW_CLOCK_ANCHORS) {
            memmove(self->kept, self->kept + 1, (GW_CLOCK_ANCHORS - 1) * sizeof *self->kept);
            self->nkept--;
        }
        self->kept[self->nkept++] = self->now;
    }
    self->up = uptime;
    self->now = (gw_clock_anchor_t) { ext, now_ms };
}

static int64_t s_abs(int64_t v)
{
    return v < 0 ? -v : v;
}

bool gw_clock_event(gw_clock_t *self, uint32_t uptime, int64_t now_ms, int64_t *event_ms)
{
    if (!self->anchored)
        return false;
    uint32_t ahead = uptime - self->up;
    if (ahead <= GW_CLOCK_AHEAD_MAX_MS) {
        /* made after the latest live report: it is one */
        gw_clock_live(self, uptime, now_ms);
        if (self->up == uptime) {
            *event_ms = self->now.utc;
            return true;
        }
    }
    int64_t ext = self->now.ext - (int64_t) (uint32_t) (self->up - uptime);
    if (ahead <= GW_CLOCK_AHEAD_MAX_MS)
        ext = self->now.ext + ahead;
    const gw_clock_anchor_t *best = &self->now;
    for (int i = 0; i < self->nkept; i++)
        if (s_abs(ext - self->kept[i].ext) < s_abs(ext - best->ext))
            best = &self->kept[i];
    *event_ms = best->utc + (ext - best->ext);
    return true;
}
