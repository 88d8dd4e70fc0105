/*  devcore: the rating device's state machine, keys, display and event ring (devcore.h). */
#include "devcore.h"

#include <string.h>

/* Login phases (devcore_t.login_phase). */
enum {
    S_LOGIN_NONE = 0,     /* nobody logged in */
    S_LOGIN_WAITING,      /* STAFF_LOGIN stored, waiting for LOGIN_REPLY */
    S_LOGIN_LOCAL,        /* no reply in time: accepted locally, a reply may still come */
    S_LOGIN_CONFIRMED     /* accepted by the host */
};

/* Ring levels for BUFFER_WARNING. */
enum { S_LEVEL_OK = 0, S_LEVEL_WARN = 1, S_LEVEL_FULL = 2 };

static void s_draw(devcore_t *self);

/* --- small helpers -------------------------------------------------------- */

static uint32_t s_elapsed(const devcore_t *self, uint32_t since)
{
    return self->now_ms - since;        /* wrap-safe */
}

static void s_voice(devcore_t *self, uint8_t prompt)
{
    if (self->board.voice)
        self->board.voice(self->board.ctx, prompt);
}

/* The first key after `after` (cyclic) among those in use that has a
 * label, or DEVPROTO_KEYS_MAX when none has. */
static uint8_t s_next_label(const devcore_t *self, uint8_t after)
{
    for (uint8_t n = 1; n <= self->key_count; n++) {
        uint8_t key = (uint8_t) ((after + n) % self->key_count);
        if (self->labels[key].len)
            return key;
    }
    return DEVPROTO_KEYS_MAX;
}

static void s_set_state(devcore_t *self, devproto_state_t state)
{
    self->state = state;
    self->state_since_ms = self->now_ms;
    self->temp_mask = 0;
    if (state == DEVPROTO_STATE_AWAIT_RATING) {
        self->label_shown = s_next_label(self, (uint8_t) (self->key_count - 1));
        self->label_since_ms = self->now_ms;
    }
    s_draw(self);
}

/* Shows a two-line message over the screen for DEVCORE_MESSAGE_MS. */
static void s_message(devcore_t *self, const char *l0, const char *l1)
{
    devtext_clear(&self->msg[0]);
    devtext_clear(&self->msg[1]);
    devtext_add(&self->msg[0], l0);
    devtext_add(&self->msg[1], l1);
    self->msg_active = true;
    self->msg_since_ms = self->now_ms;
    s_draw(self);
}

static void s_error(devcore_t *self)
{
    s_voice(self, DEVPROTO_PROMPT_ERROR);
}

/* --- display -------------------------------------------------------------- */

static void s_add_name(const devcore_t *self, devtext_line_t *line)
{
    if (self->name_len)
        devtext_add_bytes(line, self->name, self->name_len);
    else
        devtext_add(line, DEVTEXT_TELLER);
}

static void s_add_staff_no(const devcore_t *self, devtext_line_t *line)
{
    if (self->staff_len <= DEVPROTO_LINE_BYTES - 4)
        devtext_add(line, DEVTEXT_STAFF_NO);
    devtext_add_bytes(line, (const uint8_t *) self->staff_no, self->staff_len);
}

static void s_add_ticket(devtext_line_t *line, const char *ticket, uint8_t len)
{
    devtext_add_bytes(line, (const uint8_t *) ticket, len);
}

/* Composes the four lines of the current state. */
static void s_compose(const devcore_t *self, devtext_line_t l[DEVPROTO_LINES])
{
    for (int i = 0; i < DEVPROTO_LINES; i++)
        devtext_clear(&l[i]);

    switch (self->state) {
    case DEVPROTO_STATE_NO_STAFF:
        if (self->login_phase == S_LOGIN_WAITING) {
            devtext_add(&l[0], DEVTEXT_LOGGING_IN);
            devtext_add_bytes(&l[1], (const uint8_t *) self->staff_no, self->staff_len);
            devtext_add(&l[2], DEVTEXT_PLEASE_WAIT);
        } else if (self->input_len) {
            devtext_add(&l[0], DEVTEXT_ENTER_ID);
            devtext_add_bytes(&l[1], (const uint8_t *) self->input, self->input_len);
            devtext_add(&l[2], DEVTEXT_PRESS_LOGIN);
        } else {
            devtext_add(&l[0], DEVTEXT_WELCOME);
            devtext_add(&l[1], DEVTEXT_NO_STAFF);
            devtext_add(&l[2], DEVTEXT_ENTER_ID);
        }
        break;
    case DEVPROTO_STATE_IDLE:
        if (self->shown.ticket_length) {
            /* 请A012号 / 到3号窗口 */
            devtext_add(&l[0], DEVTEXT_PLEASE);
            s_add_ticket(&l[0], self->shown.ticket, self->shown.ticket_length);
            devtext_add(&l[0], DEVTEXT_NUMBER);
            if (self->shown.window_number) {
                devtext_add(&l[1], DEVTEXT_TO);
                devtext_add_uint(&l[1], self->shown.window_number);
                devtext_add(&l[1], DEVTEXT_WINDOW_NO);
            }
            s_add_name(self, &l[2]);
            s_add_staff_no(self, &l[3]);
        } else {
            devtext_add(&l[0], DEVTEXT_WELCOME);
            s_add_name(self, &l[1]);
            s_add_staff_no(self, &l[2]);
            devtext_add(&l[3], DEVTEXT_SERVED);
            devtext_add_uint(&l[3], self->served);
            devtext_add(&l[3], DEVTEXT_PERSONS);
            /* the centre's idle text replaces the default of its line */
            for (int i = 0; i < DEVPROTO_LINES; i++)
                if (self->idle_text[i].len)
                    l[i] = self->idle_text[i];
        }
        if (self->pause_digit) {
            devtext_clear(&l[3]);
            devtext_add(&l[3], DEVTEXT_REASON);
            devtext_add(&l[3], " ");
            devtext_add_uint(&l[3], self->pause_digit);
        }
        break;
    case DEVPROTO_STATE_SERVING:
        devtext_add(&l[0], DEVTEXT_SERVING);
        s_add_ticket(&l[1], self->svc_ticket, self->svc_ticket_len);
        s_add_name(self, &l[2]);
        s_add_staff_no(self, &l[3]);
        break;
    case DEVPROTO_STATE_AWAIT_RATING:
        devtext_add(&l[0], DEVTEXT_RATE_1);
        devtext_add(&l[1], DEVTEXT_RATE_2);
        /* the keys' labels one after the other: "4 不满意" */
        if (self->label_shown < self->key_count && self->labels[self->label_shown].len) {
            devtext_add_uint(&l[2], (uint32_t) self->label_shown + 1);
            devtext_add(&l[2], " ");
            devtext_add_bytes(&l[2], self->labels[self->label_shown].b,
                              self->labels[self->label_shown].len);
        }
        s_add_ticket(&l[3], self->svc_ticket, self->svc_ticket_len);
        break;
    case DEVPROTO_STATE_THANKS:
        devtext_add(&l[0], DEVTEXT_THANKS);
        devtext_add(&l[1], DEVTEXT_WELCOME_AGAIN);
        break;
    case DEVPROTO_STATE_PAUSED:
        devtext_add(&l[0], DEVTEXT_PAUSED);
        devtext_add(&l[1], DEVTEXT_OTHER_WINDOW);
        s_add_name(self, &l[2]);
        if (self->pause_reason) {
            devtext_add(&l[3], DEVTEXT_REASON);
            devtext_add(&l[3], " ");
            devtext_add_uint(&l[3], self->pause_reason);
        }
        break;
    }

    for (int i = 0; i < DEVPROTO_LINES; i++)
        if (self->temp_mask & (1u << i))
            l[i] = self->temp_text[i];

    if (self->msg_active) {
        l[0] = self->msg[0];
        l[1] = self->msg[1];
        devtext_clear(&l[2]);
        devtext_clear(&l[3]);
    }
}

/* Redraws the lines that changed. */
static void s_draw(devcore_t *self)
{
    devtext_line_t l[DEVPROTO_LINES];
    s_compose(self, l);
    for (uint8_t i = 0; i < DEVPROTO_LINES; i++) {
        if (self->lcd_valid && l[i].len == self->lcd[i].len
            && memcmp(l[i].b, self->lcd[i].b, l[i].len) == 0)
            continue;
        self->lcd[i] = l[i];
        if (self->board.lcd_line)
            self->board.lcd_line(self->board.ctx, i, l[i].b, l[i].len);
    }
    self->lcd_valid = true;
}

/* --- ring and USB --------------------------------------------------------- */

static uint8_t s_ring_level(const devcore_t *self)
{
    uint16_t used = devring_used(&self->ring);
    if (used >= DEVCORE_RING_CAPACITY - DEVCORE_RING_RESERVED)
        return S_LEVEL_FULL;
    if (used >= DEVCORE_RING_WARN)
        return S_LEVEL_WARN;
    return S_LEVEL_OK;
}

/* Re-arms the warnings once the ring has drained below their mark. */
static void s_ring_changed(devcore_t *self)
{
    uint8_t level = s_ring_level(self);
    if (level < self->warn_sent)
        self->warn_sent = level;
}

/* True if an ordinary (not rating) event still fits. */
static bool s_ordinary_fits(const devcore_t *self)
{
    return devring_used(&self->ring) < DEVCORE_RING_CAPACITY - DEVCORE_RING_RESERVED;
}

/* The policy's visible refusal of a key press. */
static void s_refuse(devcore_t *self)
{
    self->stats.presses_refused++;
    s_error(self);
    s_message(self, DEVTEXT_RING_FULL, DEVTEXT_CHECK_LINK);
}

/* Stores an event; returns its seq, or 0 if the ring is full. */
static uint32_t s_store(devcore_t *self, devring_entry_t *entry)
{
    entry->uptime_ms = self->now_ms - self->origin_ms;
    uint32_t seq = devring_push(&self->ring, entry);
    s_ring_changed(self);
    return seq;
}

/* Stores an ordinary event carrying a ticket; false (refused visibly) if no
 * ordinary slot is free. */
static bool s_store_ticket(devcore_t *self, uint8_t type, const char *ticket,
                           uint8_t len, uint8_t reason)
{
    if (!s_ordinary_fits(self)) {
        s_refuse(self);
        return false;
    }
    devring_entry_t e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.u.ticket.ticket_length = len;
    memcpy(e.u.ticket.ticket, ticket, len);
    e.u.ticket.reason = reason;
    return s_store(self, &e) != 0;
}

static bool s_store_staff(devcore_t *self, uint8_t type, const char *no, uint8_t len)
{
    if (!s_ordinary_fits(self)) {
        s_refuse(self);
        return false;
    }
    devring_entry_t e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.u.staff.length = len;
    memcpy(e.u.staff.employee_no, no, len);
    return s_store(self, &e) != 0;
}

/* Stores the outcome of the service waiting for its rating (code 0 = not
 * rated). It may use the reserved slot. */
static bool s_store_outcome(devcore_t *self, uint8_t code)
{
    devring_entry_t e;
    memset(&e, 0, sizeof e);
    e.type = code ? DEVPROTO_EV_RATING : DEVPROTO_EV_NOT_RATED;
    e.u.rating.option_code = code;
    e.u.rating.ticket_length = self->svc_ticket_len;
    memcpy(e.u.rating.ticket, self->svc_ticket, self->svc_ticket_len);
    e.u.rating.service_ms = self->svc_ms;
    return s_store(self, &e) != 0;
}

/* Encodes and queues one report; 0 or -1 if the endpoint is busy. A report
 * the codec refuses (a bug) is dropped rather than retried forever. */
static int s_send(devcore_t *self, devcodec_event_t *ev)
{
    uint8_t report[DEVPROTO_REPORT_SIZE];
    ev->boot = self->boot;
    if (devcodec_encode_event(ev, report) != DEVCODEC_OK)
        return 0;
    if (self->board.usb_send(self->board.ctx, report) != 0)
        return -1;
    self->stats.reports_sent++;
    return 0;
}

static void s_status(const devcore_t *self, devproto_status_t *st)
{
    st->ring_used = devring_used(&self->ring);
    st->ring_capacity = DEVCORE_RING_CAPACITY;
    st->state = (uint8_t) self->state;
    st->staff_logged_in = self->state != DEVPROTO_STATE_NO_STAFF;
}

static int s_send_transient(devcore_t *self, uint8_t type)
{
    devcodec_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.uptime_ms = self->now_ms - self->origin_ms;
    if (type == DEVPROTO_EV_HELLO) {
        devproto_hello_t *h = &ev.u.hello;
        h->fw_major = DEVCORE_FW_MAJOR;
        h->fw_minor = DEVCORE_FW_MINOR;
        h->fw_patch = DEVCORE_FW_PATCH;
        h->key_count = self->keys_fitted;
        h->capabilities = self->caps;
        h->ring_capacity = DEVCORE_RING_CAPACITY;
        h->ring_used = devring_used(&self->ring);
        h->refused = self->stats.presses_refused > 0xFFFF
                         ? 0xFFFF : (uint16_t) self->stats.presses_refused;
    } else {
        s_status(self, &ev.u.status);
    }
    return s_send(self, &ev);
}

static int s_send_stored(devcore_t *self, uint32_t seq, const devring_entry_t *e)
{
    devcodec_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.type = e->type;
    ev.seq = seq;
    ev.uptime_ms = e->uptime_ms;
    switch (e->type) {
    case DEVPROTO_EV_STAFF_LOGIN:
    case DEVPROTO_EV_STAFF_LOGOUT:
        ev.u.staff = e->u.staff;
        break;
    case DEVPROTO_EV_RATING:
    case DEVPROTO_EV_NOT_RATED:
        ev.u.rating = e->u.rating;
        break;
    default:
        ev.u.ticket = e->u.ticket;
        break;
    }
    return s_send(self, &ev);
}

/* Sends what is due, in order: hello, buffer warning, heartbeat, then the
 * stored events not yet sent, oldest first. Stops at the first busy. */
static void s_pump(devcore_t *self)
{
    if (!self->connected)
        return;
    if (self->hello_pending) {
        if (s_send_transient(self, DEVPROTO_EV_HELLO) != 0)
            return;
        self->hello_pending = false;
    }
    uint8_t level = s_ring_level(self);
    if (level > self->warn_sent) {
        if (s_send_transient(self, DEVPROTO_EV_BUFFER_WARNING) != 0)
            return;
        self->warn_sent = level;
    }
    if (self->heartbeat_pending) {
        if (s_send_transient(self, DEVPROTO_EV_HEARTBEAT) != 0)
            return;
        self->heartbeat_pending = false;
        self->heartbeat_ms = self->now_ms;
    }
    uint32_t first = devring_first_seq(&self->ring);
    uint32_t next = devring_next_seq(&self->ring);
    if ((int32_t) (self->tx_seq - first) < 0)
        self->tx_seq = first;
    while (self->tx_seq != next) {
        const devring_entry_t *e = devring_get(&self->ring, self->tx_seq);
        if (!e || s_send_stored(self, self->tx_seq, e) != 0)
            return;
        if (self->tx_seq == first && !self->ack_waiting) {
            self->ack_waiting = true;
            self->ack_since_ms = self->now_ms;
        }
        self->tx_seq++;
    }
}

static void s_apply_ack(devcore_t *self, const devproto_ack_t *ack)
{
    if (ack->boot != self->boot)
        return;                     /* for an earlier power-up: ignored */
    int removed = devring_ack(&self->ring, ack->upto);
    if (removed < 0) {
        self->stats.commands_rejected++;  /* acks events never made */
        return;
    }
    self->stats.commands_applied++;
    if (removed == 0)
        return;
    s_ring_changed(self);
    uint32_t first = devring_first_seq(&self->ring);
    if ((int32_t) (self->tx_seq - first) < 0)
        self->tx_seq = first;
    /* progress: the new oldest gets a fresh wait if it was sent already */
    self->ack_timeout_ms = DEVCORE_ACK_TIMEOUT_MS;
    self->ack_waiting = self->tx_seq != first;
    self->ack_since_ms = self->now_ms;
}

/* --- staff ---------------------------------------------------------------- */

static void s_logout_local(devcore_t *self)
{
    self->login_phase = S_LOGIN_NONE;
    self->logout_pending = false;
    self->staff_len = 0;
    self->name_len = 0;
    self->input_len = 0;
    self->pause_digit = 0;
    self->served = 0;
    s_set_state(self, DEVPROTO_STATE_NO_STAFF);
}

static void s_login(devcore_t *self)
{
    if (!s_store_staff(self, DEVPROTO_EV_STAFF_LOGIN, self->input, self->input_len))
        return;
    memcpy(self->staff_no, self->input, self->input_len);
    self->staff_len = self->input_len;
    self->input_len = 0;
    self->name_len = 0;
    self->served = 0;
    self->login_sent_ms = self->now_ms;
    if (!self->connected) {
        /* nobody can answer: work standalone at once */
        self->login_phase = S_LOGIN_LOCAL;
        s_set_state(self, DEVPROTO_STATE_IDLE);
    } else {
        self->login_phase = S_LOGIN_WAITING;
        s_draw(self);
    }
}

static void s_show_refusal(devcore_t *self, uint8_t reason)
{
    const char *why = reason == DEVPROTO_REFUSED_INACTIVE ? DEVTEXT_INACTIVE
                      : reason == DEVPROTO_REFUSED_LOGGED_IN_ELSEWHERE ? DEVTEXT_ELSEWHERE
                                                                       : DEVTEXT_UNKNOWN_STAFF;
    s_error(self);
    s_message(self, DEVTEXT_LOGIN_FAILED, why);
}

static void s_apply_login_reply(devcore_t *self, const devproto_login_reply_t *r)
{
    if (self->login_phase != S_LOGIN_WAITING && self->login_phase != S_LOGIN_LOCAL)
        return;                     /* nothing asked: ignored */
    if (r->accepted) {
        memcpy(self->name, r->name, r->name_length);
        self->name_len = r->name_length;
        self->login_phase = S_LOGIN_CONFIRMED;
        if (self->state == DEVPROTO_STATE_NO_STAFF)
            s_set_state(self, DEVPROTO_STATE_IDLE);
        else
            s_draw(self);
        return;
    }
    /* refused: the host knows nobody is logged in, so no logout event.
     * A late refusal in the middle of a service waits for its end. */
    if (self->state == DEVPROTO_STATE_SERVING || self->state == DEVPROTO_STATE_AWAIT_RATING
        || self->state == DEVPROTO_STATE_THANKS) {
        self->logout_pending = true;
        self->refusal_reason = r->reason;
        return;
    }
    s_logout_local(self);
    s_show_refusal(self, r->reason);
}

/* Back to idle after a service; applies a deferred refusal. */
static void s_to_idle(devcore_t *self)
{
    if (self->logout_pending) {
        uint8_t reason = self->refusal_reason;
        s_logout_local(self);
        s_show_refusal(self, reason);
        return;
    }
    s_set_state(self, DEVPROTO_STATE_IDLE);
}

/* --- the host's teller and rating request (firmware 1.2) ------------------ */

/* SET_STAFF: the host says who is logged in at this window. No event is
 * stored either way: the host made the change and knows it. A teller put
 * in by the host is shown as after an accepted login; one replacing
 * another ends what the device was doing for the other (a service, a
 * rating awaited, the thank-you) without an event. Nobody: the teller is
 * logged out as by the device's own Login key; with nobody logged in
 * already it changes nothing (a login typed at the device goes on). */
static void s_apply_set_staff(devcore_t *self, const devproto_set_staff_t *st)
{
    bool logged_in = self->state != DEVPROTO_STATE_NO_STAFF;
    if (st->employee_length == 0) {
        if (logged_in)
            s_logout_local(self);
        return;
    }
    bool same = logged_in && self->staff_len == st->employee_length
                && memcmp(self->staff_no, st->employee_no, st->employee_length) == 0;
    memcpy(self->name, st->name, st->name_length);
    self->name_len = st->name_length;
    self->login_phase = S_LOGIN_CONFIRMED;   /* a late LOGIN_REPLY is ignored */
    self->logout_pending = false;            /* the host's word is the latest */
    if (same) {
        s_draw(self);                        /* a service or rating goes on */
        return;
    }
    memcpy(self->staff_no, st->employee_no, st->employee_length);
    self->staff_len = st->employee_length;
    self->input_len = 0;                     /* a login being typed is abandoned */
    self->served = 0;
    self->pause_digit = 0;
    self->pause_reason = 0;
    s_set_state(self, DEVPROTO_STATE_IDLE);
}

/* REQUEST_RATING: the teller finished the service at the PC. Opens the
 * rating window as End does, for the host's ticket, without SERVICE_END
 * (the host has the service; a service the device was timing is dropped).
 * A rating window still open is closed first with NOT_RATED: its customer
 * did not rate. Returns false, changing nothing, with no teller, while
 * paused, or when the ring could not keep the outcome(s). */
static bool s_apply_request_rating(devcore_t *self, const devproto_request_rating_t *r)
{
    devproto_state_t st = self->state;
    if (st == DEVPROTO_STATE_NO_STAFF || st == DEVPROTO_STATE_PAUSED)
        return false;
    int outcomes = st == DEVPROTO_STATE_AWAIT_RATING ? 2 : 1;
    if (devring_used(&self->ring) + outcomes > DEVCORE_RING_CAPACITY)
        return false;
    if (st == DEVPROTO_STATE_AWAIT_RATING && !s_store_outcome(self, 0))
        return false;                        /* cannot happen: checked above */
    memset(self->svc_ticket, 0, sizeof self->svc_ticket);
    memcpy(self->svc_ticket, r->ticket, r->ticket_length);
    self->svc_ticket_len = r->ticket_length;
    self->svc_ms = 0;                        /* timed by the host, not here */
    self->served++;
    self->pause_digit = 0;
    memset(&self->shown, 0, sizeof self->shown);
    s_voice(self, DEVPROTO_PROMPT_PLEASE_RATE);
    s_set_state(self, DEVPROTO_STATE_AWAIT_RATING);
    return true;
}

/* --- key presses ---------------------------------------------------------- */

static void s_press_rating(devcore_t *self, uint8_t index)
{
    if (index >= self->key_count)
        return;                     /* key not in use */
    if (self->rated_recently) {
        self->stats.presses_suppressed++;
        return;
    }
    if (self->state != DEVPROTO_STATE_AWAIT_RATING)
        return;                     /* outside the rating window */
    if (!s_store_outcome(self, self->key_codes[index])) {
        s_refuse(self);             /* cannot happen: the reserved slot */
        return;
    }
    self->rated_recently = true;
    self->rated_ms = self->now_ms;
    s_voice(self, DEVPROTO_PROMPT_THANKS);
    s_set_state(self, DEVPROTO_STATE_THANKS);
}

static void s_press_digit(devcore_t *self, uint8_t digit)
{
    if (self->state == DEVPROTO_STATE_NO_STAFF && self->login_phase == S_LOGIN_NONE) {
        if (self->input_len >= DEVPROTO_EMPLOYEE_MAX) {
            s_error(self);
            return;
        }
        self->input[self->input_len++] = (char) ('0' + digit);
        s_draw(self);
    } else if (self->state == DEVPROTO_STATE_IDLE) {
        self->pause_digit = digit;  /* 0 clears it */
        s_draw(self);
    }
}

static void s_press(devcore_t *self, devcore_key_t key)
{
    /* a message goes away at the next key */
    if (self->msg_active) {
        self->msg_active = false;
        s_draw(self);
    }
    if (key >= DEVCORE_KEY_RATE1) {
        s_press_rating(self, (uint8_t) (key - DEVCORE_KEY_RATE1));
        return;
    }
    if (key <= DEVCORE_KEY_9) {
        s_press_digit(self, (uint8_t) key);
        return;
    }

    devproto_state_t st = self->state;
    switch (key) {
    case DEVCORE_KEY_LOGIN:
    case DEVCORE_KEY_OK:
        if (st == DEVPROTO_STATE_NO_STAFF) {
            if (self->login_phase != S_LOGIN_NONE)
                break;              /* waiting for the reply */
            if (self->input_len == 0)
                s_error(self);
            else
                s_login(self);
        } else if (key == DEVCORE_KEY_OK) {
            if (self->pause_digit) {
                self->pause_digit = 0;
                s_draw(self);
            }
        } else if (st == DEVPROTO_STATE_IDLE || st == DEVPROTO_STATE_PAUSED) {
            if (s_store_staff(self, DEVPROTO_EV_STAFF_LOGOUT, self->staff_no, self->staff_len))
                s_logout_local(self);
        } else {
            s_error(self);          /* finish the service first */
        }
        break;
    case DEVCORE_KEY_CALL:
        if (st == DEVPROTO_STATE_IDLE || st == DEVPROTO_STATE_PAUSED
            || st == DEVPROTO_STATE_AWAIT_RATING || st == DEVPROTO_STATE_THANKS) {
            if (!s_store_ticket(self, DEVPROTO_EV_CALL_REQUEST, self->shown.ticket,
                                self->shown.ticket_length, 0))
                break;
            self->pause_digit = 0;
            if (st == DEVPROTO_STATE_PAUSED) {
                self->pause_reason = 0;
                s_set_state(self, DEVPROTO_STATE_IDLE);
            } else {
                s_draw(self);
            }
        } else {
            s_error(self);
        }
        break;
    case DEVCORE_KEY_RECALL:
        if (st == DEVPROTO_STATE_IDLE || st == DEVPROTO_STATE_AWAIT_RATING
            || st == DEVPROTO_STATE_THANKS)
            s_store_ticket(self, DEVPROTO_EV_RECALL_REQUEST, self->shown.ticket,
                           self->shown.ticket_length, 0);
        else
            s_error(self);
        break;
    case DEVCORE_KEY_PAUSE:
        if (st == DEVPROTO_STATE_IDLE) {
            if (!s_store_ticket(self, DEVPROTO_EV_PAUSE_REQUEST, self->shown.ticket,
                                self->shown.ticket_length, self->pause_digit))
                break;
            self->pause_reason = self->pause_digit;
            self->pause_digit = 0;
            s_set_state(self, DEVPROTO_STATE_PAUSED);
        } else {
            s_error(self);
        }
        break;
    case DEVCORE_KEY_START:
        if (st == DEVPROTO_STATE_IDLE || st == DEVPROTO_STATE_THANKS) {
            if (!s_store_ticket(self, DEVPROTO_EV_SERVICE_START, self->shown.ticket,
                                self->shown.ticket_length, 0))
                break;
            memcpy(self->svc_ticket, self->shown.ticket, DEVPROTO_TICKET_MAX);
            self->svc_ticket_len = self->shown.ticket_length;
            self->svc_start_ms = self->now_ms;
            self->pause_digit = 0;
            s_voice(self, DEVPROTO_PROMPT_WELCOME);
            s_set_state(self, DEVPROTO_STATE_SERVING);
        } else {
            s_error(self);          /* a rating window is never cut short */
        }
        break;
    case DEVCORE_KEY_END:
        if (st == DEVPROTO_STATE_SERVING) {
            if (!s_store_ticket(self, DEVPROTO_EV_SERVICE_END, self->svc_ticket,
                                self->svc_ticket_len, 0))
                break;
            self->svc_ms = self->now_ms - self->svc_start_ms;
            self->served++;
            memset(&self->shown, 0, sizeof self->shown);
            s_voice(self, DEVPROTO_PROMPT_PLEASE_RATE);
            s_set_state(self, DEVPROTO_STATE_AWAIT_RATING);
        } else {
            s_error(self);
        }
        break;
    default:
        break;
    }
}

/* Settles a key whose raw level has been stable for the debounce time. */
static void s_debounce(devcore_t *self, uint8_t key)
{
    if (self->key_raw[key] == self->key_stable[key]
        || s_elapsed(self, self->key_changed_ms[key]) < DEVCORE_DEBOUNCE_MS)
        return;
    self->key_stable[key] = self->key_raw[key];
    if (self->key_stable[key])
        s_press(self, (devcore_key_t) key);
}

/* --- commands ------------------------------------------------------------- */

static void s_apply(devcore_t *self, const devcodec_cmd_t *cmd)
{
    switch (cmd->type) {
    case DEVPROTO_CMD_ACK:
        s_apply_ack(self, &cmd->u.ack);
        return;                     /* counts itself */
    case DEVPROTO_CMD_SET_TEXT: {
        const devproto_text_t *t = &cmd->u.text;
        devtext_line_t *line = t->target ? &self->idle_text[t->line] : &self->temp_text[t->line];
        devtext_clear(line);
        devtext_add_bytes(line, t->text, t->length);
        if (t->target == 0)
            self->temp_mask = (uint8_t) (self->temp_mask | (1u << t->line));
        s_draw(self);
        break;
    }
    case DEVPROTO_CMD_SET_LABEL: {
        const devproto_label_t *t = &cmd->u.label;
        devtext_clear(&self->labels[t->key]);
        devtext_add_bytes(&self->labels[t->key], t->text, t->length);
        if (self->state == DEVPROTO_STATE_AWAIT_RATING
            && (self->label_shown >= self->key_count
                || !self->labels[self->label_shown].len)) {
            self->label_shown = s_next_label(self, (uint8_t) (self->key_count - 1));
            self->label_since_ms = self->now_ms;
        }
        s_draw(self);
        break;
    }
    case DEVPROTO_CMD_SET_STARS:
        self->stars = cmd->u.stars;
        if (self->board.stars)
            self->board.stars(self->board.ctx, self->stars);
        break;
    case DEVPROTO_CMD_PLAY_PROMPT:
        s_voice(self, cmd->u.prompt);
        break;
    case DEVPROTO_CMD_SET_CONFIG: {
        const devproto_config_t *c = &cmd->u.config;
        if (c->key_count > self->keys_fitted) {
            self->stats.commands_rejected++;  /* more keys than fitted */
            return;
        }
        self->rating_timeout_ms = (uint32_t) c->rating_timeout_s * 1000u;
        self->repeat_press_ms = (uint32_t) c->repeat_press_s * 1000u;
        self->key_count = c->key_count;
        memcpy(self->key_codes, c->key_codes, DEVPROTO_KEYS_MAX);
        break;
    }
    case DEVPROTO_CMD_SHOW_TICKET:
        self->shown = cmd->u.show_ticket;
        s_draw(self);
        break;
    case DEVPROTO_CMD_LOGIN_REPLY:
        s_apply_login_reply(self, &cmd->u.login_reply);
        break;
    case DEVPROTO_CMD_SET_TIME:
        self->time_valid = true;
        self->time_ms = cmd->u.time_ms;
        self->time_at_ms = self->now_ms;
        break;
    case DEVPROTO_CMD_SET_STAFF:
        s_apply_set_staff(self, &cmd->u.set_staff);
        break;
    case DEVPROTO_CMD_REQUEST_RATING:
        if (!s_apply_request_rating(self, &cmd->u.request_rating)) {
            self->stats.commands_rejected++;  /* no teller, paused or ring full */
            return;
        }
        break;
    default:
        return;
    }
    self->stats.commands_applied++;
}

/* --- public --------------------------------------------------------------- */

void devcore_init(devcore_t *self, const devcore_board_t *board, uint32_t boot,
                  uint8_t key_count, uint16_t caps, uint32_t now_ms)
{
    memset(self, 0, sizeof *self);
    self->board = *board;
    self->boot = boot;
    self->origin_ms = now_ms;
    self->now_ms = now_ms;
    if (key_count < 2)
        key_count = 2;
    if (key_count > DEVPROTO_KEYS_MAX)
        key_count = DEVPROTO_KEYS_MAX;
    self->keys_fitted = key_count;
    self->caps = caps;
    self->rating_timeout_ms = DEVCORE_DEFAULT_RATING_TIMEOUT_S * 1000u;
    self->repeat_press_ms = DEVCORE_DEFAULT_REPEAT_PRESS_S * 1000u;
    self->key_count = key_count;
    for (uint8_t i = 0; i < key_count; i++)
        self->key_codes[i] = (uint8_t) (i + 1);
    self->ack_timeout_ms = DEVCORE_ACK_TIMEOUT_MS;
    devring_init(&self->ring);
    self->tx_seq = devring_first_seq(&self->ring);
    if (self->board.stars)
        self->board.stars(self->board.ctx, 0);
    s_set_state(self, DEVPROTO_STATE_NO_STAFF);
}

void devcore_tick(devcore_t *self, uint32_t now_ms)
{
    self->now_ms = now_ms;

    for (uint8_t k = 0; k < DEVCORE_KEY_COUNT; k++)
        s_debounce(self, k);

    if (self->rated_recently && s_elapsed(self, self->rated_ms) >= self->repeat_press_ms)
        self->rated_recently = false;

    if (self->login_phase == S_LOGIN_WAITING
        && s_elapsed(self, self->login_sent_ms) >= DEVCORE_LOGIN_REPLY_MS) {
        self->login_phase = S_LOGIN_LOCAL;  /* PC or gateway down: standalone */
        s_set_state(self, DEVPROTO_STATE_IDLE);
    }

    switch (self->state) {
    case DEVPROTO_STATE_AWAIT_RATING:
        if (s_elapsed(self, self->state_since_ms) >= self->rating_timeout_ms
            && s_store_outcome(self, 0)) {
            s_to_idle(self);
        } else if (s_elapsed(self, self->label_since_ms) >= DEVCORE_LABEL_MS) {
            self->label_shown = s_next_label(self, self->label_shown < self->key_count
                                                       ? self->label_shown
                                                       : (uint8_t) (self->key_count - 1));
            self->label_since_ms = self->now_ms;
            s_draw(self);
        }
        break;
    case DEVPROTO_STATE_THANKS:
        if (s_elapsed(self, self->state_since_ms) >= DEVCORE_THANKS_MS)
            s_to_idle(self);
        break;
    default:
        break;
    }

    if (self->msg_active && s_elapsed(self, self->msg_since_ms) >= DEVCORE_MESSAGE_MS) {
        self->msg_active = false;
        s_draw(self);
    }

    if (self->connected) {
        if (s_elapsed(self, self->heartbeat_ms) >= DEVCORE_HEARTBEAT_MS)
            self->heartbeat_pending = true;
        if (self->ack_waiting && s_elapsed(self, self->ack_since_ms) >= self->ack_timeout_ms) {
            /* the host has not taken the oldest: send every unacked one again */
            self->tx_seq = devring_first_seq(&self->ring);
            self->ack_waiting = false;
            self->ack_timeout_ms = self->ack_timeout_ms * 2 > DEVCORE_ACK_TIMEOUT_MAX_MS
                                       ? DEVCORE_ACK_TIMEOUT_MAX_MS
                                       : self->ack_timeout_ms * 2;
        }
    }
    s_pump(self);
}

void devcore_key(devcore_t *self, devcore_key_t key, bool pressed, uint32_t now_ms)
{
    if ((unsigned) key >= DEVCORE_KEY_COUNT)
        return;
    self->now_ms = now_ms;
    s_debounce(self, (uint8_t) key);       /* a level that had settled counts first */
    if ((self->key_raw[key] != 0) != pressed) {
        self->key_raw[key] = pressed;
        self->key_changed_ms[key] = now_ms;
    }
    s_pump(self);
}

void devcore_usb_connected(devcore_t *self, bool connected, uint32_t now_ms)
{
    self->now_ms = now_ms;
    self->connected = connected;
    self->ack_waiting = false;
    self->heartbeat_pending = false;
    if (connected) {
        self->hello_pending = true;
        self->heartbeat_ms = now_ms;
        self->tx_seq = devring_first_seq(&self->ring);
        self->ack_timeout_ms = DEVCORE_ACK_TIMEOUT_MS;
        s_pump(self);
    }
}

void devcore_usb_out(devcore_t *self, const uint8_t *report, uint32_t len, uint32_t now_ms)
{
    devcodec_cmd_t cmd;
    self->now_ms = now_ms;
    if (devcodec_decode_cmd(report, len, &cmd) != DEVCODEC_OK) {
        self->stats.commands_rejected++;
        return;
    }
    if (cmd.boot != 0 && cmd.boot != self->boot)
        return;                     /* meant for an earlier power-up */
    s_apply(self, &cmd);
    s_pump(self);
}

devproto_state_t devcore_state(const devcore_t *self)
{
    return self->state;
}

devcore_stats_t devcore_stats(const devcore_t *self)
{
    return self->stats;
}

uint16_t devcore_ring_used(const devcore_t *self)
{
    return devring_used(&self->ring);
}
