/*  st_leg: ticket legs and their contributions (st_leg.h). */
#include "st_leg.h"

#include <stdio.h>
#include <string.h>

int st_event_kind_parse(const char *text, st_event_kind_t *kind)
{
    static const struct {
        const char *name;
        st_event_kind_t kind;
    } kinds[] = {
        { "issued", ST_EV_ISSUED }, { "walk_in", ST_EV_WALK_IN },
        { "called", ST_EV_CALLED }, { "recalled", ST_EV_RECALLED },
        { "started", ST_EV_STARTED }, { "finished", ST_EV_FINISHED },
        { "no_show", ST_EV_NO_SHOW }, { "transferred", ST_EV_TRANSFERRED },
        { "parked", ST_EV_PARKED }, { "returned", ST_EV_RETURNED },
        { "abandoned", ST_EV_ABANDONED },
        { "window_opened", ST_EV_OTHER }, { "window_closed", ST_EV_OTHER },
        { "window_paused", ST_EV_OTHER }, { "window_resumed", ST_EV_OTHER },
        { "staff_login", ST_EV_OTHER }, { "staff_logout", ST_EV_OTHER },
        { "window_set", ST_EV_OTHER }, { "profile_set", ST_EV_OTHER },
        { "day_start", ST_EV_OTHER },
    };
    for (size_t i = 0; text && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(text, kinds[i].name) == 0) {
            *kind = kinds[i].kind;
            return 0;
        }
    return -1;
}

int st_class_parse(const char *text, st_class_t *klass)
{
    static const char *const names[ST_CLASSES] = { "ordinary", "vip", "green" };
    for (int i = 0; text && i < ST_CLASSES; i++)
        if (strcmp(text, names[i]) == 0) {
            *klass = (st_class_t) i;
            return 0;
        }
    return -1;
}

static void s_init(st_leg_t *leg, const st_event_t *ev, st_origin_t origin,
                   int32_t target_s)
{
    memset(leg, 0, sizeof *leg);
    snprintf(leg->ticket_id, sizeof leg->ticket_id, "%s", ev->ticket_id);
    leg->branch_id = ev->branch_id;
    leg->service_id = ev->service_id;
    leg->klass = ev->klass;
    leg->origin = origin;
    leg->start_ms = ev->at_ms;
    leg->target_s = target_s;
}

int st_leg_start(st_leg_t *leg, const st_event_t *ev, int32_t target_s)
{
    if (ev->kind == ST_EV_ISSUED) {
        s_init(leg, ev, ST_ORIGIN_ISSUED, target_s);
        return 0;
    }
    if (ev->kind == ST_EV_WALK_IN) {
        s_init(leg, ev, ST_ORIGIN_WALK_IN, target_s);
        leg->started = true;
        leg->serving = true;
        leg->serving_since = ev->at_ms;
        leg->window_id = ev->window_id;
        leg->staff_id = ev->staff_id;
        return 0;
    }
    return -1;
}

/* Ends the open serving interval at `at`. */
static void s_stop_serving(st_leg_t *leg, int64_t at)
{
    if (leg->serving) {
        if (at > leg->serving_since)
            leg->serve_ms += at - leg->serving_since;
        leg->serving = false;
    }
}

static void s_end(st_leg_t *leg, st_outcome_t outcome, int64_t at)
{
    s_stop_serving(leg, at);
    leg->outcome = outcome;
    leg->outcome_ms = at;
}

int st_leg_apply(st_leg_t *leg, const st_event_t *ev, int32_t next_target_s,
                 st_leg_t *next, bool *has_next, char reason[128])
{
    *has_next = false;
    if (leg->outcome != ST_OUTCOME_OPEN) {
        snprintf(reason, 128, "ticket %s leg %d already ended", leg->ticket_id, leg->leg);
        return -1;
    }
    switch (ev->kind) {
    case ST_EV_CALLED:
    case ST_EV_RECALLED:
        if (!leg->started) {      /* a call back after a service start is no wait */
            leg->called = true;
            leg->call_ms = ev->at_ms;
            leg->window_id = ev->window_id;
            leg->staff_id = ev->staff_id;
        }
        return 0;
    case ST_EV_STARTED:
        if (!leg->serving) {
            leg->serving = true;
            leg->serving_since = ev->at_ms;
        }
        leg->started = true;
        if (!leg->window_id) {
            leg->window_id = ev->window_id;
            leg->staff_id = ev->staff_id;
        }
        return 0;
    case ST_EV_PARKED:
    case ST_EV_RETURNED:
        s_stop_serving(leg, ev->at_ms);
        return 0;
    case ST_EV_FINISHED:
        if (!leg->started && leg->called && ev->at_ms > leg->call_ms)
            leg->serve_ms += ev->at_ms - leg->call_ms;   /* served from the call */
        s_end(leg, ST_OUTCOME_SERVED, ev->at_ms);
        return 0;
    case ST_EV_NO_SHOW:
        s_end(leg, ST_OUTCOME_NO_SHOW, ev->at_ms);
        return 0;
    case ST_EV_ABANDONED:
        s_end(leg, ST_OUTCOME_ABANDONED, ev->at_ms);
        return 0;
    case ST_EV_TRANSFERRED: {
        st_leg_t was = *leg;
        s_end(leg, ST_OUTCOME_TRANSFERRED, ev->at_ms);
        s_init(next, ev, ST_ORIGIN_TRANSFER, next_target_s);
        next->klass = was.klass;
        next->leg = was.leg + 1;
        *has_next = true;
        return 0;
    }
    default:
        snprintf(reason, 128, "event kind %d does not apply to a ticket", (int) ev->kind);
        return -1;
    }
}

int64_t st_leg_wait_ms(const st_leg_t *leg)
{
    if (leg->origin == ST_ORIGIN_WALK_IN || !leg->called)
        return -1;
    return leg->call_ms > leg->start_ms ? leg->call_ms - leg->start_ms : 0;
}

int64_t st_leg_service_ms(const st_leg_t *leg)
{
    return leg->outcome == ST_OUTCOME_SERVED ? leg->serve_ms : -1;
}

void st_leg_contribution(const st_leg_t *leg, st_measures_t *m)
{
    memset(m, 0, sizeof *m);
    if (leg->origin == ST_ORIGIN_ISSUED)
        m->issued = 1;
    else if (leg->origin == ST_ORIGIN_WALK_IN)
        m->walk_ins = 1;
    else
        m->transferred_in = 1;
    int64_t wait = st_leg_wait_ms(leg);
    if (wait >= 0) {
        m->wait_n = 1;
        m->wait_sum_ms = wait;
        m->wait_max_ms = wait;
        m->wait_hist[st_hist_bucket(wait)] = 1;
    }
    int64_t target_ms = (int64_t) leg->target_s * 1000;
    switch (leg->outcome) {
    case ST_OUTCOME_SERVED:
        m->served = 1;
        if (wait >= 0) {                  /* a walk-in has no wait: not in the level */
            m->sl_served = 1;
            m->sl_served_in = wait <= target_ms;
        }
        m->svc_n = 1;
        m->svc_sum_ms = leg->serve_ms;
        m->svc_max_ms = leg->serve_ms;
        m->svc_hist[st_hist_bucket(leg->serve_ms)] = 1;
        break;
    case ST_OUTCOME_NO_SHOW:
        m->no_show = 1;
        break;
    case ST_OUTCOME_ABANDONED:
        m->abandoned = 1;
        if (leg->outcome_ms - leg->start_ms <= target_ms)
            m->sl_abandoned_in = 1;
        break;
    case ST_OUTCOME_TRANSFERRED:
        m->transferred = 1;
        break;
    default:
        break;
    }
}
