/*  ri_decide: what a gateway event becomes (ri_decide.h). */
#include "ri_decide.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/id.h"
#include "eqms/log.h"
#include "ri_logins.h"
#include "ri_tickets.h"
#include "ri_validate.h"

/* Window look-ups are cached this long (settings, scales). */
#define S_WINDOW_TTL_MS 60000
/* A rating that finds no ticket catches the tickets up at most this often. */
#define S_TICKET_CATCH_UP_MS 50

struct ri_decider_t {
    ri_store_t *store;       /* borrowed */
    int max_skew_s, max_age_s;
    zhash_t *windows;        /* window id -> ri_window_state_t */
    ri_follow_t *tickets;    /* finished tickets, caught up from ticket_event */
    int64_t forced_ms;       /* the last catch-up a rating asked for (wall clock) */
    ri_follow_t *logins;     /* logins at queue-manager, caught up from ticket_event */
    int64_t logins_forced_ms;
    ri_item_t *pending;      /* their decided items, [taken, count) not yet taken */
    size_t pending_count, pending_taken;
};

ri_decider_t *ri_decider_new(ri_store_t *store, const char *ltree, int max_skew_s,
                             int max_age_s)
{
    ri_decider_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->max_skew_s = max_skew_s;
    self->max_age_s = max_age_s;
    self->windows = zhash_new();
    self->tickets = ri_follow_new(ltree);
    self->logins = ri_follow_new(ltree);
    self->pending = calloc(RI_LOGINS_MAX, sizeof *self->pending);
    if (!self->windows || !self->tickets || !self->logins || !self->pending)
        ri_decider_destroy(&self);
    return self;
}

void ri_decider_destroy(ri_decider_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhash_destroy(&(*self_p)->windows);
    ri_follow_destroy(&(*self_p)->tickets);
    ri_follow_destroy(&(*self_p)->logins);
    free((*self_p)->pending);
    free(*self_p);
    *self_p = NULL;
}

size_t ri_decider_windows(const ri_decider_t *self)
{
    return zhash_size(self->windows);
}

static ri_window_state_t *s_window_state(ri_decider_t *self, int64_t window_id)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, window_id);
    ri_window_state_t *state = zhash_lookup(self->windows, key);
    if (state)
        return state;
    state = calloc(1, sizeof *state);
    if (!state || zhash_insert(self->windows, key, state) != 0) {
        free(state);
        return NULL;
    }
    zhash_freefn(self->windows, key, free);
    return state;
}

static void s_load_session(void *ctx, int64_t window_id, int64_t staff_id,
                           const char *employee_no, int64_t login_ms)
{
    ri_window_state_t *state = s_window_state(ctx, window_id);
    if (state)
        ri_window_state_login(state, staff_id, employee_no, login_ms);
}

static void s_set_ticket(ri_window_state_t *state, const char *ticket_id,
                         const char *number, int64_t finished_ms)
{
    snprintf(state->last_ticket_id, sizeof state->last_ticket_id, "%s", ticket_id);
    snprintf(state->last_ticket, sizeof state->last_ticket, "%s", number);
    state->last_ticket_ms = finished_ms;
}

/* A finish is remembered if it is the window's latest (the bus and the
 * catch-up may both tell it, in either order). */
static void s_finished(void *ctx, int64_t window_id, const char *ticket_id,
                       const char *number, int64_t finished_ms)
{
    ri_window_state_t *state = s_window_state(ctx, window_id);
    if (state && finished_ms >= state->last_ticket_ms)
        s_set_ticket(state, ticket_id, number, finished_ms);
}

int ri_decider_load(ri_decider_t *self)
{
    if (ri_store_open_sessions(self->store, s_load_session, self) != 0
        || ri_logins_load(self->logins, self->store) != 0
        || ri_decider_catch_up_tickets(self) != 0 || ri_decider_catch_up_logins(self) < 0)
        return -1;
    return 0;
}

int ri_decider_catch_up_tickets(ri_decider_t *self)
{
    return ri_tickets_catch_up(self->tickets, self->store, s_finished, self);
}

/* A rating at a branch that uses tickets found none to bind to: if finishes
 * before it may have been committed since the last catch-up (a
 * ticket.finished missed on the bus), catch up now. Returns 1 if it did, 0
 * if there was no need, -1 if the database failed. */
static int s_catch_up_for(ri_decider_t *self, const ri_event_t *rating,
                          const ri_window_t *window)
{
    int64_t now = clock_now_ms();
    if (!ri_tickets_branch_known(self->tickets, window->branch)
        || ri_follow_as_of(self->tickets) > rating->event_ms
        || now - self->forced_ms < S_TICKET_CATCH_UP_MS)
        return 0;
    self->forced_ms = now;
    return ri_decider_catch_up_tickets(self) == 0 ? 1 : -1;
}

void ri_decider_ticket_finished(ri_decider_t *self, const envelope_t *envelope)
{
    const char *ticket_id = NULL, *number = NULL, *at = NULL;
    json_int_t window_id = 0;
    int64_t at_ms = 0;
    json_t *window = json_object_get(envelope->data, "window");
    ticket_id = json_string_value(json_object_get(envelope->data, "ticket_id"));
    number = json_string_value(json_object_get(envelope->data, "number"));
    at = json_string_value(json_object_get(envelope->data, "at"));
    window_id = json_integer_value(window);
    if (!ticket_id || !id_valid(ticket_id) || !number || strlen(number) > RI_TICKET_MAX
        || window_id <= 0 || !at || clock_parse_rfc3339(at, &at_ms) != 0) {
        log_warn("ticket_finished_ignored", "id=%s reason=\"missing or malformed ticket_id, "
                 "number, window or at\"", envelope->id);
        return;
    }
    s_finished(self, window_id, ticket_id, number, at_ms);
}

/* A teller logging in at `here` at time t leaves any other window. */
static void s_leave_others(ri_decider_t *self, ri_item_t *item, int64_t staff_id,
                           int64_t here, int64_t t)
{
    for (ri_window_state_t *s = zhash_first(self->windows); s;
         s = zhash_next(self->windows)) {
        int64_t id = strtoll(zhash_cursor(self->windows), NULL, 10);
        if (id != here && ri_window_state_leave(s, staff_id, t))
            item->left_window = id;
    }
}

/* A login or logout decided (item->event, action, staff_id set): the
 * window's state follows it, by the same rules whoever made it. */
static void s_apply_session(ri_decider_t *self, ri_item_t *item, ri_window_state_t *state)
{
    const ri_event_t *e = &item->event;
    if (e->kind == RI_KIND_LOGIN)
        s_leave_others(self, item, item->staff_id, e->window_id, e->event_ms);
    item->live = ri_window_state_apply(state, e, item->staff_id);
}

/* A login or logout at queue-manager becomes a pending item of its
 * journal, as a device's would be. */
static void s_login(void *ctx, const ri_login_t *login)
{
    ri_decider_t *self = ctx;
    ri_window_state_t *state = s_window_state(self, login->window_id);
    if (!state || self->pending_count >= RI_LOGINS_MAX) {
        /* out of memory (a read gives at most RI_LOGINS_MAX): not taken */
        log_error("login_not_taken", "journal=%s seq=%" PRId64 " reason=\"out of memory\"",
                  login->journal, login->seq);
        return;
    }
    ri_item_t *item = &self->pending[self->pending_count++];
    memset(item, 0, sizeof *item);
    ri_event_t *e = &item->event;
    snprintf(e->id, sizeof e->id, "%s", login->id);
    snprintf(e->gateway, sizeof e->gateway, "%s", login->journal);
    snprintf(e->incarnation, sizeof e->incarnation, "%s", ID_NIL);
    e->seq = login->seq;
    e->kind = login->login ? RI_KIND_LOGIN : RI_KIND_LOGOUT;
    snprintf(e->type, sizeof e->type, "%s", login->login ? "staff.login" : "staff.logout");
    e->event_ms = e->received_ms = login->at_ms;
    e->window_id = login->window_id;
    snprintf(e->branch, sizeof e->branch, "%s", login->branch);
    snprintf(e->employee_no, sizeof e->employee_no, "%s", login->employee_no);
    item->action = login->login ? RI_ACTION_LOGIN : RI_ACTION_LOGOUT;
    item->staff_id = login->staff_id;
    s_apply_session(self, item, state);
}

int ri_decider_catch_up_logins(ri_decider_t *self)
{
    if (self->pending_taken < self->pending_count)
        return 0;   /* the last ones are not taken yet */
    self->pending_count = self->pending_taken = 0;
    return ri_logins_catch_up(self->logins, self->store, s_login, self);
}

bool ri_decider_take_login(ri_decider_t *self, ri_item_t *item)
{
    if (self->pending_taken >= self->pending_count)
        return false;
    *item = self->pending[self->pending_taken++];
    return true;
}

/* A rating finds nobody logged in at its window: if logins at
 * queue-manager before it may have been committed since the last look,
 * catch them up now (at most every S_TICKET_CATCH_UP_MS). 0, or -1 if the
 * database failed. */
static int s_logins_for(ri_decider_t *self, const ri_event_t *rating)
{
    int64_t now = clock_now_ms();
    if (ri_follow_as_of(self->logins) > rating->event_ms
        || now - self->logins_forced_ms < S_TICKET_CATCH_UP_MS)
        return 0;
    self->logins_forced_ms = now;
    return ri_decider_catch_up_logins(self) < 0 ? -1 : 0;
}

static int s_reject(ri_item_t *item, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Rejects the item with a printf-style reason; returns 0 (decided). */
static int s_reject(ri_item_t *item, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(item->reason, sizeof item->reason, fmt, args);
    va_end(args);
    item->action = RI_ACTION_REJECT;
    return 0;
}

int ri_decider_decide(ri_decider_t *self, ri_item_t *item)
{
    ri_event_t *e = &item->event;
    bool stateful = e->kind == RI_KIND_RATING || e->kind == RI_KIND_LOGIN
                    || e->kind == RI_KIND_LOGOUT || e->kind == RI_KIND_SERVICE_END;
    if (!stateful) {
        item->action = ri_device_status(e->type) ? RI_ACTION_DEVICE : RI_ACTION_NONE;
        return 0;
    }
    if (ri_validate_clock(e, self->max_skew_s, self->max_age_s, item->reason) != 0) {
        item->action = RI_ACTION_REJECT;
        return 0;
    }
    if (e->window_id == 0)
        return s_reject(item, "unassigned device: %s has no window", e->serial);
    ri_window_t window;
    const char *why = NULL;
    int found = ri_store_window(self->store, e->serial, e->window_id, S_WINDOW_TTL_MS,
                                &window, &why);
    if (found < 0)
        return -1;
    if (found == 0)
        return s_reject(item, "%s: %s at window %" PRId64, why, e->serial, e->window_id);
    ri_window_state_t *state = s_window_state(self, e->window_id);
    if (!state)
        return -1;
    int64_t staff_id = 0;
    if (e->kind == RI_KIND_LOGIN || e->kind == RI_KIND_LOGOUT) {
        staff_id = ri_store_staff_id(self->store, e->employee_no);
        if (staff_id < 0)
            return -1;
        if (staff_id == 0)
            return s_reject(item, "unknown or inactive staff %s", e->employee_no);
    }
    switch (e->kind) {
    case RI_KIND_RATING: {
        const ri_option_t *option = NULL;
        const ri_session_t *session = NULL;
        if (!ri_window_session(state, e->event_ms) && s_logins_for(self, e) != 0)
            return -1;
        if (ri_validate_rating(e, &window, state, &option, &session, item->reason) != 0) {
            item->action = RI_ACTION_REJECT;
            return 0;
        }
        item->action = RI_ACTION_RATING;
        item->option = *option;
        const char *ticket_id = ri_rating_ticket(e, &window, state);
        if (!ticket_id) {
            int caught = s_catch_up_for(self, e, &window);
            if (caught < 0)
                return -1;
            if (caught)
                ticket_id = ri_rating_ticket(e, &window, state);
        }
        snprintf(item->ticket_id, sizeof item->ticket_id, "%s", ticket_id ? ticket_id : "");
        item->staff_id = session->staff_id;
        snprintf(e->employee_no, sizeof e->employee_no, "%s", session->employee_no);
        snprintf(item->window_path, sizeof item->window_path, "%s", window.path);
        snprintf(item->time_zone, sizeof item->time_zone, "%s", window.time_zone);
        break;
    }
    case RI_KIND_LOGIN:
    case RI_KIND_LOGOUT:
        item->action = e->kind == RI_KIND_LOGIN ? RI_ACTION_LOGIN : RI_ACTION_LOGOUT;
        item->staff_id = staff_id;
        s_apply_session(self, item, state);
        return 0;
    default: {   /* service.end */
        const ri_session_t *session = ri_window_session(state, e->event_ms);
        item->action = RI_ACTION_SERVICE_END;
        item->staff_id = session ? session->staff_id : 0;
        break;
    }
    }
    item->live = ri_window_state_apply(state, e, staff_id);
    return 0;
}
