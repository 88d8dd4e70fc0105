/*  sv_legs: a ticket's legs recomputed in one walk (sv_legs.h). */
#include "sv_legs.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool s_is(const sv_event_t *e, const char *kind)
{
    return strcmp(e->kind, kind) == 0;
}

/* The walk's state besides the leg itself. */
typedef struct {
    bool started;               /* a service start was seen in the leg */
    bool serving;
    int64_t serving_since;
    bool called;
    int64_t last_call_ms;
} s_walk_t;

static void s_close(sv_leg_t *leg, s_walk_t *w, int64_t at)
{
    if (w->serving && at > w->serving_since)
        leg->serve_ms += at - w->serving_since;
    w->serving = false;
}

static void s_finish_leg(sv_leg_t *leg, s_walk_t *w, sv_outcome_t outcome, int64_t at)
{
    s_close(leg, w, at);
    leg->outcome = outcome;
    leg->outcome_ms = at;
    if (leg->origin != SV_ORIGIN_WALK_IN && w->called)
        leg->wait_ms = w->last_call_ms > leg->start_ms ? w->last_call_ms - leg->start_ms : 0;
    if (outcome != SV_SERVED)
        leg->serve_ms = 0;
}

static void s_begin(sv_leg_t *leg, s_walk_t *w, sv_origin_t origin, const sv_event_t *e)
{
    memset(leg, 0, sizeof *leg);
    memset(w, 0, sizeof *w);
    leg->origin = origin;
    leg->start_ms = e->at_ms;
    leg->service_id = e->service_id;
    leg->wait_ms = -1;
    if (origin == SV_ORIGIN_WALK_IN) {
        w->started = w->serving = true;
        w->serving_since = e->at_ms;
    }
}

int sv_legs_walk(const sv_event_t *events, size_t n, sv_leg_t *legs, char reason[128])
{
    if (n == 0 || !(s_is(&events[0], "issued") || s_is(&events[0], "walk_in"))) {
        snprintf(reason, 128, "the first event is not issued or walk_in");
        return -1;
    }
    int count = 1;
    s_walk_t w;
    s_begin(&legs[0], &w, s_is(&events[0], "issued") ? SV_ORIGIN_ISSUED : SV_ORIGIN_WALK_IN,
            &events[0]);
    for (size_t i = 1; i < n; i++) {
        const sv_event_t *e = &events[i];
        sv_leg_t *leg = &legs[count - 1];
        if (leg->outcome != SV_OPEN) {
            snprintf(reason, 128, "%s after the ticket's outcome", e->kind);
            return -1;
        }
        if (s_is(e, "called") || s_is(e, "recalled")) {
            if (!w.started) {
                w.called = true;
                w.last_call_ms = e->at_ms;
            }
        } else if (s_is(e, "started")) {
            if (!w.serving) {
                w.serving = true;
                w.serving_since = e->at_ms;
            }
            w.started = true;
        } else if (s_is(e, "parked") || s_is(e, "returned")) {
            s_close(leg, &w, e->at_ms);
        } else if (s_is(e, "finished")) {
            if (!w.started && w.called && e->at_ms > w.last_call_ms) {
                w.serving = true;            /* served from the call */
                w.serving_since = w.last_call_ms;
            }
            s_finish_leg(leg, &w, SV_SERVED, e->at_ms);
        } else if (s_is(e, "no_show")) {
            s_finish_leg(leg, &w, SV_NO_SHOW, e->at_ms);
        } else if (s_is(e, "abandoned")) {
            s_finish_leg(leg, &w, SV_ABANDONED, e->at_ms);
        } else if (s_is(e, "transferred")) {
            s_finish_leg(leg, &w, SV_TRANSFERRED, e->at_ms);
            if (count == SV_LEGS_MAX) {
                snprintf(reason, 128, "more than %d legs", SV_LEGS_MAX);
                return -1;
            }
            s_begin(&legs[count++], &w, SV_ORIGIN_TRANSFER, e);
        } else {
            snprintf(reason, 128, "%s does not apply to a ticket", e->kind);
            return -1;
        }
    }
    sv_leg_t *last = &legs[count - 1];
    if (last->outcome == SV_OPEN && last->origin != SV_ORIGIN_WALK_IN && w.called)
        last->wait_ms = w.last_call_ms > last->start_ms ? w.last_call_ms - last->start_ms : 0;
    return count;
}
