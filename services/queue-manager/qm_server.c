/*  qm_server: queue-manager's loop, requests and group commits (qm_server.h). */
#include "qm_server.h"

#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/backoff.h"
#include "eqms/bus.h"
#include "eqms/clock.h"
#include "eqms/grow.h"
#include "eqms/hours.h"
#include "eqms/jsonw.h"
#include "eqms/log.h"
#include "eqms/text.h"
#include "qm_branches.h"
#include "qm_publish.h"
#include "qm_request.h"
#include "qm_store.h"

#define S_DRAIN_MAX        256     /* messages per socket per turn */
#define S_FRAME_MAX        (4 * QM_REQUEST_MAX_BYTES)   /* ZMQ_MAXMSGSIZE of requests */
#define S_TICK_MS          250     /* day check, announcements */
#define S_MIRROR_CHECK_MS  5000
#define S_PARTITIONS_MS    (24 * 3600 * 1000)
#define S_DEVICE_MAX_AGE_MS 60000  /* older device key events are not acted on */

/* What it follows on the bus: the device keys, the devices that come to a
 * window (s_on_device_online), and the registry snapshots that tell of a
 * configuration change (s_on_registry). */
static const char *s_bus_types[] = {
    "call.request", "call.recall", "call.pause", "service.start", "service.end",
    "staff.login", "staff.logout", "registry.snapshot", "device.online", "device.assigned",
};
#define S_REGISTRY_TOPIC "registry.snapshot."

/* A reply held until its batch is committed. */
#define S_IDENTITY_MAX 255       /* ZeroMQ routing ids are 1..255 bytes */
#define S_FRAMES_MAX   4         /* identity, [empty], body, and one too many */

typedef struct {
    unsigned char identity[S_IDENTITY_MAX];
    size_t identity_len;
    bool delimiter;              /* the client is a REQ socket */
    char id[QM_REQUEST_ID_SIZE]; /* the request's id, "" if unreadable */
    char *text;                  /* owned */
    size_t len;
} s_reply_t;

/* A device that came to its window (online, or assigned there) is shown
 * the window's teller and called ticket as they were when it came, once
 * what was decided until then is committed (s_on_device_online). */
typedef struct {
    int64_t branch_id, window_id, staff_id;
    char number[QM_NUMBER_SIZE];       /* "" = none called */
    int window_no;
} s_restore_t;

typedef struct {
    qm_stored_event_t *events;
    qm_hall_view_t **views;      /* per event: what the hall showed after it, or NULL */
    size_t count, cap;
    s_reply_t *replies;
    size_t nreplies, rcap;
    s_restore_t *restores;
    size_t nrestores, scap;
    int outcome;                 /* committing: S_ON_ITS_WAY, then 0 committed, -1 not,
                                  * or QM_STORE_IN_DOUBT */
} s_batch_t;

#define S_ON_ITS_WAY 1

/* Batches committing at once, sent by this thread on one connection in
 * libpq pipeline mode (qm_store_send): a batch decided while another
 * commits goes out at once and waits only for PostgreSQL to finish its
 * predecessor. One connection runs them in order, as ticket_branch_head
 * (schema 5) requires, and its results come back in that order. */
#define S_DEPTH 2

struct qm_server_t {
    qm_server_config_t cfg;
    char *prefixes;
    char *ltree_prefixes;
    qm_store_t *store;           /* look-ups and rebuilds (this thread) */
    qm_store_t *commits;         /* the commit connection, in pipeline mode */
    s_batch_t batches[S_DEPTH + 1];
    s_batch_t *open;
    s_batch_t *flight[S_DEPTH];  /* committing, oldest first */
    size_t nflight;
    bool failing;                /* a commit failed: no decision until rebuilt */
    qm_branches_t *branches;
    qm_publish_t *publish;
    qm_journal_t *journal;
    jsonw_t reply;               /* the reply being written ... */
    char *reply_text;            /* ... or this one, made elsewhere (owned) */
    size_t reply_len;
    bus_t *bus;
    zsock_t *router;
    zhashx_t *device_ids;        /* device key event id -> when seen (mono ms, owned) */
    pthread_t thread;
    _Atomic int stop;
    health_liveness_t liveness;
    bool db_down;
    backoff_t backoff;
    int64_t last_tick, last_mirror_check, last_partitions, last_windows;
    metrics_counter_t *requests, *refused, *committed, *commit_failures, *device_actions;
    metrics_gauge_t *batch_events;
};

/* --- batches ------------------------------------------------------------------ */

static void s_batch_clear(s_batch_t *batch)
{
    for (size_t i = 0; i < batch->nreplies; i++) {
        free(batch->replies[i].text);
    }
    for (size_t i = 0; i < batch->count; i++)
        qm_hall_view_destroy(&batch->views[i]);
    batch->nreplies = 0;
    batch->nrestores = 0;
    batch->count = 0;
}

static void s_batch_free(s_batch_t *batch)
{
    s_batch_clear(batch);
    free(batch->events);
    free(batch->views);
    free(batch->replies);
    free(batch->restores);
}

static int s_batch_event(s_batch_t *batch, int64_t branch_id, const qm_event_t *event,
                         const char *cause, qm_hall_view_t **view_p)
{
    size_t cap = batch->cap;
    qm_stored_event_t *events = grow_room(batch->events, batch->count, &cap, sizeof *events,
                                          256);
    if (!events)
        return -1;
    batch->events = events;
    if (cap != batch->cap) {
        qm_hall_view_t **views = realloc(batch->views, cap * sizeof *views);
        if (!views)
            return -1;           /* events grew; cap did not: grown again next time */
        batch->views = views;
        batch->cap = cap;
    }
    batch->views[batch->count] = *view_p;
    *view_p = NULL;
    batch->events[batch->count].branch_id = branch_id;
    batch->events[batch->count].event = *event;
    text_copy(batch->events[batch->count].cause, sizeof batch->events[batch->count].cause,
              cause ? cause : "");
    batch->events[batch->count].est_position = -1;
    batch->events[batch->count].est_wait_s = -1;
    batch->count++;
    return 0;
}

/* Queues a reply (text taken) for the client `identity`. */
static void s_batch_reply(s_batch_t *batch, const zmq_msg_t *identity, bool delimiter,
                          const char *id, char **text_p, size_t len)
{
    s_reply_t *replies = grow_room(batch->replies, batch->nreplies, &batch->rcap, sizeof *replies,
                                   256);
    if (!replies) {
        free(*text_p);
        *text_p = NULL;
        return;
    }
    batch->replies = replies;
    s_reply_t *r = &batch->replies[batch->nreplies++];
    r->identity_len = zmq_msg_size(identity) <= S_IDENTITY_MAX ? zmq_msg_size(identity) : 0;
    memcpy(r->identity, zmq_msg_data((zmq_msg_t *) identity), r->identity_len);
    r->delimiter = delimiter;
    text_copy(r->id, sizeof r->id, id ? id : "");
    r->text = *text_p;
    *text_p = NULL;
    r->len = len;
}

/* The reply of the request just handled, as owned text. */
static char *s_reply_take(qm_server_t *self, size_t *len)
{
    if (self->reply_text) {
        char *text = self->reply_text;
        *len = self->reply_len;
        self->reply_text = NULL;
        return text;
    }
    const char *text = jsonw_text(&self->reply, len);
    char *copy = text ? malloc(*len) : NULL;
    if (copy)
        memcpy(copy, text, *len);
    return copy;
}

static void s_send_reply(qm_server_t *self, s_reply_t *r)
{
    /* A vanished client is dropped by the ROUTER (not mandatory). */
    void *router = zsock_resolve(self->router);
    zmq_send(router, r->identity, r->identity_len, ZMQ_SNDMORE);
    if (r->delimiter)
        zmq_send(router, NULL, 0, ZMQ_SNDMORE);
    zmq_send(router, r->text, r->len, 0);
}

/* True while decisions must wait: the database is down or a commit failed
 * and the batches after it are still coming back. */
static bool s_frozen(const qm_server_t *self)
{
    return self->db_down || self->failing;
}

/* --- deciding -------------------------------------------------------------------- */

/* Moves the journal's events [mark, count) into the open batch, applied to
 * the branch. Returns how many, or -1 if the model refused its own events
 * (a defect: the branch is rebuilt). */
static long s_take_events(qm_server_t *self, qm_slot_t *slot, size_t mark, const char *cause)
{
    size_t n = qm_journal_count(self->journal) - mark;
    for (size_t i = mark; i < qm_journal_count(self->journal); i++) {
        const qm_event_t *e = qm_journal_at(self->journal, i);
        qm_hall_t *hall = qm_branch_hall(slot->model);
        uint64_t shown = qm_hall_version(hall);
        if (qm_apply(slot->model, e) != 0) {
            log_error("model_refused_own_event", "branch=%s", slot->ref.path);
            qm_journal_clear(self->journal);
            qm_branches_rebuild(self->branches, slot);
            return -1;
        }
        /* What the display shows after this event, published if and when
         * its batch commits (docs/protocol.md, "display."). */
        qm_hall_view_t *view = qm_hall_version(hall) != shown ? qm_hall_view_new(hall) : NULL;
        /* The model's hall never speaks: the announcements are the
         * committed calls' (slot->announcer). */
        qm_hall_flush_announcements(hall);
        if (s_batch_event(self->open, slot->ref.id, e, cause, &view) != 0) {
            qm_hall_view_destroy(&view);
            qm_journal_clear(self->journal);
            return -1;
        }
    }
    qm_journal_clear(self->journal);
    return (long) n;
}

/* Day end for a branch whose local date moved on. */
static void s_check_day(qm_server_t *self, qm_slot_t *slot, int64_t now)
{
    if (!slot->model)
        return;
    int today = qm_branches_day(slot, now);
    if (today <= qm_branch_day(slot->model))
        return;
    char reason[QM_REASON_SIZE];
    size_t mark = qm_journal_count(self->journal);
    if (qm_day_end(slot->model, today, "system:day_end", now, self->journal, reason) != QM_OK) {
        log_error("day_end_refused", "branch=%s day=%d reason=\"%s\"", slot->ref.path, today,
                  reason);
        return;
    }
    long n = s_take_events(self, slot, mark, NULL);
    log_info("day_ended", "branch=%s day=%d events=%ld", slot->ref.path, today, n);
}

static int64_t s_service_by_code(const qm_slot_t *slot, const char *code)
{
    for (size_t i = 0; i < slot->config.service_count; i++)
        if (strcmp(slot->config.services[i].code, code) == 0)
            return slot->config.services[i].id;
    return 0;
}

/* Writes the error reply; returns -1 for the caller's convenience. */
static int s_refuse(qm_server_t *self, const char *id, const char *code, const char *reason)
{
    metrics_add(self->refused, 1);
    qm_reply_error(&self->reply, id, code, reason);
    return -1;
}

/* Resolves service_code and employee_no of a request. 0, or -1 with the
 * error reply written. */
static int s_resolve(qm_server_t *self, const qm_slot_t *slot, qm_request_t *req)
{
    if (req->service_code[0] && !req->service_id) {
        req->service_id = s_service_by_code(slot, req->service_code);
        if (!req->service_id)
            return s_refuse(self, req->id, qm_err_name(QM_ERR_UNKNOWN_SERVICE),
                            "no active service with that code at this branch");
    }
    if (req->employee_no[0] && !req->staff_id) {
        req->staff_id = qm_store_staff_id(self->store, req->employee_no, slot->ref.id);
        if (req->staff_id < 0)
            return s_refuse(self, req->id, QM_REPLY_UNAVAILABLE, "database unavailable");
        if (req->staff_id == 0)
            return s_refuse(self, req->id, QM_REPLY_UNKNOWN_STAFF,
                            "no active teller of this branch has that employee number");
        return 0;
    }
    /* A staff id given by the client: it must name an active teller who may
     * work at this branch (a login, or a transfer to a teller). */
    if (req->kind != QM_OP_WINDOW_ACTION)
        return 0;
    int64_t staff_id = req->action == QM_ACT_LOGIN ? req->staff_id
                       : req->action == QM_ACT_TRANSFER && req->target == QM_TARGET_STAFF
                       ? req->target_id : 0;
    if (staff_id <= 0)
        return 0;
    int known = qm_store_staff_of_branch(self->store, staff_id, slot->ref.id);
    if (known < 0)
        return s_refuse(self, req->id, QM_REPLY_UNAVAILABLE, "database unavailable");
    if (known == 0) {
        char why[96];
        snprintf(why, sizeof why, "staff %lld is not an active teller of this branch",
                 (long long) staff_id);
        return s_refuse(self, req->id, QM_REPLY_UNKNOWN_STAFF, why);
    }
    return 0;
}

/* Writes local time `ms` of the branch as "13:30 on 2026-11-30 (Asia/Shanghai)". */
static void s_local_text(qm_slot_t *slot, int64_t ms, char *out, size_t size)
{
    clock_date_t date;
    int minute = clock_local_minute(slot->zone, ms);
    if (minute < 0 || clock_local_date(slot->zone, ms, &date) != 0) {
        snprintf(out, size, "?");
        return;
    }
    char day[CLOCK_DATE_SIZE], hhmm[6];
    clock_format_date(date, day);
    hours_minute_format(minute, hhmm);
    snprintf(out, size, "%s on %s (%s)", hhmm, day, slot->ref.time_zone);
}

/* Whether the branch's opening hours let a ticket be issued at `now`: 0,
 * or -1 with the refusal written (closed / issuing_stopped, with the time
 * issuing resumes). */
static int s_issuing(qm_server_t *self, qm_slot_t *slot, const qm_request_t *req, int64_t now)
{
    hours_status_t st;
    if (hours_status(&slot->hours, slot->zone, now, &st) != 0) {
        log_error("opening_hours_unplaced", "branch=%s zone=%s", slot->ref.path,
                  slot->ref.time_zone);
        return s_refuse(self, req->id, QM_REPLY_UNAVAILABLE, "the branch's time zone failed");
    }
    if (st.state == HOURS_OPEN)
        return 0;
    char resumes[96] = "not within the next days", closes[96], reason[QM_REASON_SIZE];
    if (st.resumes_ms)
        s_local_text(slot, st.resumes_ms, resumes, sizeof resumes);
    if (st.state == HOURS_STOPPED) {
        s_local_text(slot, st.closes_ms, closes, sizeof closes);
        snprintf(reason, sizeof reason, "issuing stops %d min before closing at %.40s; it "
                 "resumes at %.60s", slot->hours.cutoff_min, closes, resumes);
    } else {
        snprintf(reason, sizeof reason, "the branch is closed; issuing resumes at %.60s",
                 resumes);
    }
    metrics_add(self->refused, 1);
    qm_reply_not_issuing(&self->reply, req->id,
                         qm_err_name(st.state == HOURS_STOPPED ? QM_ERR_ISSUING_STOPPED
                                                               : QM_ERR_CLOSED),
                         reason, st.resumes_ms);
    return -1;
}

/* Decides one decoded request on its branch; the reply is left in
 * self->reply. */
static void s_decide(qm_server_t *self, qm_slot_t *slot, qm_request_t *req, int64_t now)
{
    char reason[QM_REASON_SIZE] = "";
    size_t mark = qm_journal_count(self->journal);
    qm_err_t err = QM_OK;
    if (s_resolve(self, slot, req) != 0)
        return;
    switch (req->kind) {
    case QM_OP_TICKET_ISSUE: {
        s_check_day(self, slot, now);
        if (s_issuing(self, slot, req, now) != 0)
            return;
        qm_issue_req_t issue;
        qm_request_issue(req, &issue);
        err = qm_issue(slot->model, &issue, qm_branch_day(slot->model), now, self->journal,
                       reason);
        if (err != QM_OK)
            break;
        char ticket[ID_SIZE];
        text_copy(ticket, sizeof ticket, qm_journal_at(self->journal, mark)->ticket_id);
        long n = s_take_events(self, slot, mark, NULL);
        qm_told_t told;
        if (n < 0 || qm_reply_ticket_get(&self->reply, req->id, (size_t) n, slot->model,
                                         ticket, now, &told) != 0) {
            s_refuse(self, req->id, qm_err_name(QM_ERR_NO_MEMORY), "reply not encodable");
            return;
        }
        /* What the customer is told is committed with the ticket. */
        qm_stored_event_t *issued = &self->open->events[self->open->count - (size_t) n];
        if (issued->event.kind == QM_EV_ISSUED) {
            issued->est_position = told.position;
            issued->est_wait_s = told.est_wait_s;
        }
        return;
    }
    case QM_OP_TICKET_GET:
        if (qm_reply_ticket_get(&self->reply, req->id, 0, slot->model, req->ticket, now,
                                NULL) != 0)
            s_refuse(self, req->id, qm_err_name(QM_ERR_UNKNOWN_TICKET),
                     "no ticket of today with that id or number");
        return;
    case QM_OP_BRANCH_STATE: {
        size_t len = 0;
        char *text = qm_reply_branch_state(req->id, slot->model, slot->ref.path,
                                           slot->config.queues, slot->config.queue_count,
                                           &len);
        if (!text) {
            s_refuse(self, req->id, qm_err_name(QM_ERR_NO_MEMORY), "reply not encodable");
            return;
        }
        self->reply_text = text;
        self->reply_len = len;
        return;
    }
    case QM_OP_WINDOW_SET_PROFILE: {
        qm_window_info_t info;
        if (qm_window_find(slot->model, req->window_id, &info) != 0) {
            err = qm_refuse(reason, QM_ERR_UNKNOWN_WINDOW, "no window %" PRId64 " here",
                            req->window_id);
            break;
        }
        qm_window_cfg_t window = { .id = info.id, .number = info.number,
                                   .profile = req->profile };
        text_copy(window.name, sizeof window.name, info.name);
        err = qm_window_set(slot->model, &window, req->actor, now, self->journal, reason);
        break;
    }
    case QM_OP_WINDOW_ACTION: {
        qm_action_t action;
        qm_request_action(req, &action);
        err = qm_act(slot->model, &action, now, self->journal, reason);
        break;
    }
    }
    if (err != QM_OK) {
        s_refuse(self, req->id, qm_err_name(err), reason);
        return;
    }
    long n = s_take_events(self, slot, mark, NULL);
    if (n < 0 || qm_reply_action(&self->reply, req->id, (size_t) n, slot->model,
                                 req->window_id) != 0)
        s_refuse(self, req->id, qm_err_name(QM_ERR_NO_MEMORY), "reply not encodable");
}

/* Reads one whole message into frames[0..S_FRAMES_MAX) (the rest dropped).
 * Returns the number of frames, 0 if none waits, -1 on error. */
static int s_recv_frames(void *socket, zmq_msg_t frames[S_FRAMES_MAX])
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t scratch;
        zmq_msg_t *frame = n < S_FRAMES_MAX ? &frames[n] : &scratch;
        zmq_msg_init(frame);
        if (zmq_msg_recv(frame, socket, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(frame);
            return n == 0 && zmq_errno() == EAGAIN ? 0 : (n ? n : -1);
        }
        more = zmq_msg_more(frame);
        if (frame == &scratch)
            zmq_msg_close(frame);
        n++;
    }
    return n;
}

/* One request from the ROUTER: [identity] [empty, from REQ] [body].
 * Returns 1 if one was handled, 0 if none waits. */
static int s_on_request(qm_server_t *self, void *router, int64_t now)
{
    zmq_msg_t frames[S_FRAMES_MAX];
    int n = s_recv_frames(router, frames);
    if (n <= 0)
        return 0;
    metrics_add(self->requests, 1);
    bool delimiter = n == 3 && zmq_msg_size(&frames[1]) == 0;
    zmq_msg_t *body = n == 2 ? &frames[1] : delimiter ? &frames[2] : NULL;
    qm_request_t req;
    req.id[0] = '\0';
    char reason[QM_REASON_SIZE];
    if (!body) {
        s_refuse(self, NULL, QM_REPLY_MALFORMED, "a request is one frame of JSON");
    } else if (qm_request_decode(zmq_msg_data(body), zmq_msg_size(body), &req, reason) != 0) {
        s_refuse(self, req.id[0] ? req.id : NULL, req.refusal, reason);
    } else {
        qm_slot_t *slot = qm_branches_by_path(self->branches, req.branch);
        if (!slot)
            s_refuse(self, req.id, QM_REPLY_UNKNOWN_BRANCH,
                     "this queue-manager does not serve that branch");
        else if (!slot->model || s_frozen(self))
            s_refuse(self, req.id, QM_REPLY_UNAVAILABLE,
                     "database unavailable: nothing was done, try again");
        else
            s_decide(self, slot, &req, now);
    }
    size_t len = 0;
    char *text = s_reply_take(self, &len);
    if (text)
        s_batch_reply(self->open, &frames[0], delimiter, req.id, &text, len);
    free(text);
    for (int i = 0; i < n && i < S_FRAMES_MAX; i++)
        zmq_msg_close(&frames[i]);
    return 1;
}

/* --- device keys ---------------------------------------------------------------- */

/* Device key events acted on are remembered by envelope id this long (a key
 * event older than S_DEVICE_MAX_AGE_MS is never acted on, whatever its id). */
#define S_DEVICE_IDS_MS (2 * S_DEVICE_MAX_AGE_MS)

static void s_free_seen(void **item)
{
    free(*item);
    *item = NULL;
}

static void s_device_remember(qm_server_t *self, const char *id, int64_t now)
{
    int64_t *seen = zhashx_lookup(self->device_ids, id);
    if (seen) {
        *seen = now;
        return;
    }
    seen = malloc(sizeof *seen);
    if (!seen)
        return;
    *seen = now;
    if (zhashx_insert(self->device_ids, id, seen) != 0)
        free(seen);
}

/* True the first time a device key event's envelope id is seen: a replay of
 * the gateway, or a re-publication after a restart (the ids acted on are
 * read back from ticket_event_cause), is not acted on again. */
static bool s_device_new(qm_server_t *self, const envelope_t *env, int64_t now)
{
    if (zhashx_lookup(self->device_ids, env->id))
        return false;
    s_device_remember(self, env->id, now);
    return true;
}

static void s_cause_loaded(void *arg, const char *id)
{
    qm_server_t *self = arg;
    s_device_remember(self, id, clock_now_ms());
}

/* Remembers the key events acted on lately (stored with the events they
 * caused), so that their replays are not acted on again. 0 / -1. */
static int s_load_causes(qm_server_t *self)
{
    zhashx_purge(self->device_ids);
    return qm_store_recent_causes(self->store, S_DEVICE_IDS_MS / 1000, s_cause_loaded,
                                  self) >= 0 ? 0 : -1;
}

/* Forgets the ids older than S_DEVICE_IDS_MS. */
static void s_device_prune(qm_server_t *self, int64_t now)
{
    zlistx_t *old = zlistx_new();
    if (!old)
        return;
    for (int64_t *seen = zhashx_first(self->device_ids); seen;
         seen = zhashx_next(self->device_ids))
        if (now - *seen > S_DEVICE_IDS_MS)
            zlistx_add_end(old, (void *) zhashx_cursor(self->device_ids));
    for (const char *id = zlistx_first(old); id; id = zlistx_next(old))
        zhashx_delete(self->device_ids, id);
    zlistx_destroy(&old);
}

/* A device came online at its window or was assigned to one: it is shown
 * the window's teller and called ticket (a device that lost power has
 * forgotten a teller logged in at the console), after the commit of what
 * was decided until now (s_restore_devices). */
static void s_on_device_online(qm_server_t *self, const envelope_t *env)
{
    json_t *window = json_object_get(env->data, "window");
    const char *branch = json_string_value(json_object_get(env->data, "branch"));
    json_int_t window_id = json_integer_value(json_object_get(window, "id"));
    if (!branch || !(json_is_null(window) || window_id > 0)) {
        log_warn("device_event_ignored", "id=%s type=%s reason=\"missing or malformed "
                 "branch or window\"", env->id, env->type);
        return;
    }
    if (!window_id)
        return;   /* an unassigned device: no window to show */
    qm_slot_t *slot = qm_branches_by_path(self->branches, branch);
    qm_window_info_t info;
    if (!slot || !slot->model || s_frozen(self)
        || qm_window_find(slot->model, window_id, &info) != 0)
        return;
    s_restore_t r = { .branch_id = slot->ref.id, .window_id = window_id,
                      .staff_id = info.staff_id, .window_no = info.number };
    qm_ticket_info_t t;
    if (info.current_id[0] && qm_ticket_find(slot->model, info.current_id, &t) == 0)
        text_copy(r.number, sizeof r.number, t.number);
    if (!r.staff_id && !r.number[0])
        return;   /* nothing to show: the device starts with nobody and no ticket */
    s_batch_t *batch = self->open;
    s_restore_t *grown = grow_room(batch->restores, batch->nrestores, &batch->scap,
                                   sizeof *grown, 8);
    if (!grown)
        return;
    batch->restores = grown;
    batch->restores[batch->nrestores++] = r;
}

/* Acts on a device key event (docs/protocol.md, "Device gateway messages"). */
static void s_on_device(qm_server_t *self, const envelope_t *env, int64_t now)
{
    json_t *window = json_object_get(env->data, "window");
    const char *branch = json_string_value(json_object_get(env->data, "branch"));
    const char *serial = json_string_value(json_object_get(env->data, "serial"));
    const char *when = json_string_value(json_object_get(env->data, "event_time"));
    json_int_t window_id = json_integer_value(json_object_get(window, "id"));
    int64_t at = 0;
    if (!branch || !serial || !when || clock_parse_rfc3339(when, &at) != 0) {
        log_warn("device_event_ignored", "id=%s type=%s reason=\"missing or malformed "
                 "branch, serial or event_time\"", env->id, env->type);
        return;
    }
    if (window_id <= 0)
        return;   /* an unassigned device: no window to act on */
    qm_slot_t *slot = qm_branches_by_path(self->branches, branch);
    if (!slot || !slot->model || s_frozen(self) || !s_device_new(self, env, now))
        return;   /* not ours, unavailable, or a replay already acted on */
    if (now - at > S_DEVICE_MAX_AGE_MS) {
        log_info("device_event_too_old", "id=%s type=%s serial=%s age_ms=%" PRId64, env->id,
                 env->type, serial, now - at);
        return;
    }
    char actor[QM_ACTOR_SIZE];
    snprintf(actor, sizeof actor, "device:%s", serial);
    qm_action_t action = { .window_id = window_id, .actor = actor };
    qm_window_info_t info;
    if (qm_window_find(slot->model, window_id, &info) != 0)
        return;
    if (strcmp(env->type, "call.request") == 0)
        action.kind = QM_ACT_CALL_NEXT;
    else if (strcmp(env->type, "call.recall") == 0)
        action.kind = QM_ACT_RECALL;
    else if (strcmp(env->type, "call.pause") == 0) {
        action.kind = info.state == QM_WINDOW_PAUSED ? QM_ACT_RESUME : QM_ACT_PAUSE;
        action.reason = "paused at the device";
    } else if (strcmp(env->type, "service.start") == 0)
        action.kind = QM_ACT_START;
    else if (strcmp(env->type, "service.end") == 0)
        action.kind = QM_ACT_FINISH;
    else if (strcmp(env->type, "staff.logout") == 0)
        action.kind = QM_ACT_LOGOUT;
    else {
        const char *employee_no = json_string_value(json_object_get(env->data, "employee_no"));
        action.kind = QM_ACT_LOGIN;
        action.staff_id = employee_no ? qm_store_staff_id(self->store, employee_no,
                                                          slot->ref.id) : 0;
        if (action.staff_id <= 0)
            return;
    }
    char reason[QM_REASON_SIZE];
    size_t mark = qm_journal_count(self->journal);
    qm_err_t err = qm_act(slot->model, &action, now, self->journal, reason);
    if (err == QM_OK && s_take_events(self, slot, mark, env->id) >= 0
        && action.kind == QM_ACT_LOGIN && info.state == QM_WINDOW_CLOSED) {
        /* Logging in at the device opens its window. */
        action.kind = QM_ACT_OPEN;
        mark = qm_journal_count(self->journal);
        if (qm_act(slot->model, &action, now, self->journal, reason) == QM_OK)
            s_take_events(self, slot, mark, env->id);
    }
    metrics_add(self->device_actions, 1);
    if (err != QM_OK)
        log_info("device_key_refused", "serial=%s type=%s code=%s reason=\"%s\"", serial,
                 env->type, qm_err_name(err), reason);
}

/* --- after a commit --------------------------------------------------------------- */

/* The window's device is told who is logged in there (staff_id 0: nobody). */
static void s_device_staff(qm_server_t *self, qm_slot_t *slot, const qm_window_device_t *d,
                           int64_t staff_id)
{
    char employee_no[QM_EMPLOYEE_NO_SIZE] = "", name[257] = "";
    if (staff_id && qm_store_staff_card(self->store, staff_id, employee_no,
                                        sizeof employee_no, name, sizeof name) != 1) {
        log_warn("device_staff_not_sent", "serial=%s staff=%" PRId64 " reason=\"staff not "
                 "read\"", d->serial, staff_id);
        return;
    }
    qm_publish_device_staff(self->publish, slot->ref.path, d->code, d->serial, employee_no,
                            name);
}

/* The window's device follows what was committed at its window: the called
 * ticket shown (or cleared), and, when they were done elsewhere than on
 * the device itself (the teller console, another window's device, the day
 * end), the teller's login and logout and the finish, after which it asks
 * the customer to rate (docs/protocol.md, "Device integration"). */
static void s_device_screen(qm_server_t *self, qm_slot_t *slot, const qm_event_t *e)
{
    const qm_window_device_t *d = e->window_id ? qm_branches_device(slot, e->window_id) : NULL;
    if (!d || !d->serial[0])
        return;
    char own[QM_ACTOR_SIZE];
    snprintf(own, sizeof own, "device:%s", d->serial);
    bool elsewhere = strcmp(e->actor, own) != 0;
    switch (e->kind) {
    case QM_EV_CALLED:
    case QM_EV_RECALLED:
    case QM_EV_WALK_IN:
        qm_publish_device_ticket(self->publish, slot->ref.path, d->code, d->serial, e->number,
                                 e->window_no);
        break;
    case QM_EV_NO_SHOW:
    case QM_EV_PARKED:
    case QM_EV_TRANSFERRED:
    case QM_EV_RETURNED:
        qm_publish_device_ticket(self->publish, slot->ref.path, d->code, d->serial, "",
                                 e->window_no);
        break;
    case QM_EV_FINISHED:
        if (elsewhere)
            qm_publish_device_rate(self->publish, slot->ref.path, d->code, d->serial,
                                   e->number);
        break;
    case QM_EV_STAFF_LOGIN:
    case QM_EV_STAFF_LOGOUT:
        if (elsewhere)
            s_device_staff(self, slot, d, e->kind == QM_EV_STAFF_LOGIN ? e->staff_id : 0);
        break;
    default:
        break;
    }
}

/* The devices that came to their windows while the batch was decided. */
static void s_restore_devices(qm_server_t *self, const s_batch_t *batch)
{
    for (size_t i = 0; i < batch->nrestores; i++) {
        const s_restore_t *r = &batch->restores[i];
        qm_slot_t *slot = qm_branches_by_id(self->branches, r->branch_id);
        const qm_window_device_t *d = slot ? qm_branches_device(slot, r->window_id) : NULL;
        if (!d || !d->serial[0])
            continue;
        if (r->staff_id)
            s_device_staff(self, slot, d, r->staff_id);
        if (r->number[0])
            qm_publish_device_ticket(self->publish, slot->ref.path, d->code, d->serial,
                                     r->number, r->window_no);
    }
}

/* What the hall says follows the committed events: a call or recall is
 * queued for announcement, and a ticket that left its window before its
 * call was played is not announced (qm_hall_drop_ticket). */
static void s_announcer(qm_slot_t *slot, const qm_event_t *e)
{
    if (!slot->announcer)
        return;
    switch (e->kind) {
    case QM_EV_CALLED:
    case QM_EV_RECALLED:
        (void) qm_hall_called(slot->announcer, e->ticket_id, e->number, e->window_no,
                              e->at_ms);
        break;
    case QM_EV_FINISHED: case QM_EV_NO_SHOW: case QM_EV_TRANSFERRED: case QM_EV_PARKED:
    case QM_EV_RETURNED: case QM_EV_ABANDONED:
        qm_hall_drop_ticket(slot->announcer, e->ticket_id);
        break;
    case QM_EV_DAY_START:
        qm_hall_reset(slot->announcer);
        break;
    default:
        break;
    }
}

/* Publishes a branch the batch changed: announcements, mirror. */
static void s_publish_branch(qm_server_t *self, qm_slot_t *slot, const s_batch_t *batch,
                             int64_t now)
{
    qm_publish_announcements(self->publish, slot->ref.path, slot->announcer, now);
    qm_publish_mirror(self->publish, slot->ref.path, slot->model, slot->config.queues,
                      slot->config.queue_count, batch->events, batch->count, false);
}

/* Publishes what a committed batch did (its replies are sent already). */
static void s_committed(qm_server_t *self, s_batch_t *batch, int64_t now)
{
    metrics_add(self->committed, batch->count);
    qm_slot_t *slot = NULL;
    for (size_t i = 0; i < batch->count; i++) {
        const qm_stored_event_t *se = &batch->events[i];
        if (!slot || slot->ref.id != se->branch_id)
            slot = qm_branches_by_id(self->branches, se->branch_id);
        if (!slot)
            continue;
        qm_publish_event(self->publish, slot->ref.path, &se->event);
        s_device_screen(self, slot, &se->event);
        if (batch->views[i])         /* every change of the display, in order */
            qm_publish_display(self->publish, slot->ref.path, batch->views[i]);
        s_announcer(slot, &se->event);
    }
    /* Each branch the batch changed, once (at its first event). */
    for (size_t i = 0; i < batch->count; i++) {
        int64_t id = batch->events[i].branch_id;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = batch->events[j].branch_id == id;
        qm_slot_t *s = seen ? NULL : qm_branches_by_id(self->branches, id);
        if (s && s->model)
            s_publish_branch(self, s, batch, now);
    }
}

/* The reasons of "unavailable". */
#define S_NOT_DONE "database unavailable: nothing was done, try again"
#define S_IN_DOUBT "database connection lost during the commit: it may or may not be " \
                   "done, read the state back before trying again"

/* Answers every request of a batch "unavailable" with `reason` and empties it. */
static void s_answer_unavailable(qm_server_t *self, s_batch_t *batch, const char *reason)
{
    for (size_t i = 0; i < batch->nreplies; i++) {
        s_reply_t *r = &batch->replies[i];
        qm_reply_error(&self->reply, r->id[0] ? r->id : NULL, QM_REPLY_UNAVAILABLE, reason);
        free(r->text);
        r->text = s_reply_take(self, &r->len);
        if (r->text)
            s_send_reply(self, r);
    }
    s_batch_clear(batch);
}

/* A commit failed: nothing of this batch is stored, or (in doubt: the
 * connection broke with it on its way) nobody knows yet. Batches committing
 * after it either fail as well (their events follow it) or concern other
 * branches and stand; they are awaited (s_commit_turn). */
static void s_commit_failed(qm_server_t *self, s_batch_t *batch, bool in_doubt)
{
    metrics_add(self->commit_failures, 1);
    log_warn("batch_not_committed", "events=%zu replies=%zu in_doubt=%s", batch->count,
             batch->nreplies, in_doubt ? "yes" : "no");
    s_answer_unavailable(self, batch, in_doubt ? S_IN_DOUBT : S_NOT_DONE);
    self->failing = true;
}

/* Once nothing is committing after a failure: the open batch was decided on
 * top of what failed, so it is answered "unavailable", and the branches are
 * rebuilt from what is stored. */
static void s_after_failure(qm_server_t *self)
{
    s_answer_unavailable(self, self->open, S_NOT_DONE);
    self->failing = false;
    self->db_down = true;
    health_liveness_db(&self->liveness, 0);
    backoff_failed(&self->backoff);
    for (size_t i = 0; i < qm_branches_count(self->branches); i++) {
        qm_slot_t *slot = qm_branches_at(self->branches, i);
        qm_branch_destroy(&slot->model);     /* rebuilt when the database is back */
        qm_hall_destroy(&slot->announcer);
    }
}

/* --- the loop ----------------------------------------------------------------------- */

static void s_submit(qm_server_t *self);

/* Gives the batches on their way the outcomes PostgreSQL sent back, in the
 * order they were sent. */
static void s_receive(qm_server_t *self)
{
    int rc[QM_STORE_PIPELINE_MAX];
    int n = qm_store_receive(self->commits, rc);
    for (size_t i = 0, k = 0; i < self->nflight && k < (size_t) n; i++)
        if (self->flight[i]->outcome == S_ON_ITS_WAY)
            self->flight[i]->outcome = rc[k++];
}

/* Takes back committed batches in the order they were handed over (after
 * reading PostgreSQL's results if `results`): answers, hands the open batch
 * over, then publishes. */
static void s_commit_turn(qm_server_t *self, int64_t now, bool results)
{
    if (results)
        s_receive(self);
    while (self->nflight > 0 && self->flight[0]->outcome != S_ON_ITS_WAY) {
        s_batch_t *done = self->flight[0];
        self->nflight--;
        memmove(self->flight, self->flight + 1, self->nflight * sizeof self->flight[0]);
        if (done->outcome != 0) {
            s_commit_failed(self, done, done->outcome == QM_STORE_IN_DOUBT);
            continue;
        }
        for (size_t i = 0; i < done->nreplies; i++)   /* the clients wait for these */
            s_send_reply(self, &done->replies[i]);
        s_restore_devices(self, done);
        s_submit(self);
        s_committed(self, done, now);   /* the rest while the next batch commits */
        s_batch_clear(done);
    }
    if (self->failing && self->nflight == 0)
        s_after_failure(self);
    s_submit(self);
}

/* A batch buffer neither open nor committing. */
static s_batch_t *s_free_batch(qm_server_t *self)
{
    for (size_t b = 0; b < S_DEPTH + 1; b++) {
        s_batch_t *batch = &self->batches[b];
        bool used = batch == self->open;
        for (size_t i = 0; i < self->nflight; i++)
            used |= batch == self->flight[i];
        if (!used)
            return batch;
    }
    return NULL;
}

/* Sends the open batch to PostgreSQL (one that cannot be sent fails, in
 * its turn). */
static void s_submit(qm_server_t *self)
{
    s_batch_t *batch = self->open;
    if (self->failing || (batch->count == 0 && batch->nreplies == 0 && batch->nrestores == 0))
        return;
    if (batch->count == 0 && self->nflight == 0) {
        /* Only answers (reads, refusals) and nothing committing: nothing to
         * wait for. */
        for (size_t i = 0; i < batch->nreplies; i++)
            s_send_reply(self, &batch->replies[i]);
        s_restore_devices(self, batch);
        s_batch_clear(batch);
        return;
    }
    s_batch_t *next = s_free_batch(self);
    if (self->nflight == S_DEPTH || !next)
        return;
    /* Only answers (decided on what is committing): nothing to send, but
     * they wait for the batches before them. */
    if (batch->count == 0)
        batch->outcome = 0;
    else
        batch->outcome = qm_store_send(self->commits, batch->events, batch->count) == 0
                             ? S_ON_ITS_WAY : -1;
    self->flight[self->nflight++] = batch;
    metrics_set(self->batch_events, (int64_t) batch->count);
    self->open = next;
}

/* Rebuilds every branch without a model (after a failed commit). While the
 * database is down no decision is made, so no batch in flight holds events
 * the rebuild could miss. */
static void s_rebuild_missing(qm_server_t *self)
{
    if (!self->db_down || !backoff_due(&self->backoff))
        return;
    bool all = true;
    for (size_t i = 0; i < qm_branches_count(self->branches); i++) {
        qm_slot_t *slot = qm_branches_at(self->branches, i);
        if (!slot->model && qm_branches_rebuild(self->branches, slot) != 0)
            all = false;
    }
    /* A failed commit may have remembered key events that were not stored. */
    if (all)
        all = s_load_causes(self) == 0;
    if (!all) {
        backoff_failed(&self->backoff);
        return;
    }
    self->db_down = false;
    backoff_reset(&self->backoff);
    health_liveness_db(&self->liveness, 1);
    /* What was mirrored may have run ahead of what is stored: rewrite it. */
    for (size_t i = 0; i < qm_branches_count(self->branches); i++) {
        qm_slot_t *slot = qm_branches_at(self->branches, i);
        qm_publish_mirror(self->publish, slot->ref.path, slot->model, slot->config.queues,
                          slot->config.queue_count, NULL, 0, true);
    }
    log_info("branches_rebuilt", "branches=%zu", qm_branches_count(self->branches));
}

/* Rewrites the Redis mirror of every branch when it was lost. */
static void s_check_mirror(qm_server_t *self, int64_t now)
{
    if (now - self->last_mirror_check < S_MIRROR_CHECK_MS && self->last_mirror_check)
        return;
    self->last_mirror_check = now;
    if (s_frozen(self) || !qm_publish_mirror_lost(self->publish))
        return;
    int failed = 0;
    for (size_t i = 0; i < qm_branches_count(self->branches); i++) {
        qm_slot_t *slot = qm_branches_at(self->branches, i);
        if (slot->model)
            failed |= qm_publish_mirror(self->publish, slot->ref.path, slot->model,
                                        slot->config.queues, slot->config.queue_count, NULL,
                                        0, true);
    }
    if (!failed)
        qm_publish_mirror_ready(self->publish);
}

/* Whether the configuration changed a window between two readings. */
static bool s_window_changed(const qm_window_cfg_t *before, const qm_window_cfg_t *after)
{
    char a[512], b[512];
    return before->number != after->number || strcmp(before->name, after->name) != 0
           || qm_profile_format(&before->profile, a, sizeof a) != 0
           || qm_profile_format(&after->profile, b, sizeof b) != 0 || strcmp(a, b) != 0;
}

static const qm_window_cfg_t *s_window_cfg(const qm_config_t *config, int64_t id)
{
    for (size_t i = 0; i < config->window_count; i++)
        if (config->windows[i].id == id)
            return &config->windows[i];
    return NULL;
}

/* The database's windows of a branch join its model (as window_set /
 * profile_set events): a window added since the model was built, and a
 * window whose number, name or work profile the configuration changed since
 * it was last read. A profile set at run time through a request stays until
 * the configuration itself changes. The windows read become the slot's, and
 * so do the opening hours read with them. */
static void s_sync_windows(qm_server_t *self, qm_slot_t *slot, int64_t now)
{
    qm_config_t fresh;
    hours_t hours;
    if (qm_store_config(self->store, slot->ref.id, &fresh) != 0)
        return;
    if (qm_store_hours(self->store, slot->ref.id, &hours) == 0)
        slot->hours = hours;
    qm_branches_reload_devices(self->branches, slot);
    for (size_t i = 0; i < fresh.window_count; i++) {
        const qm_window_cfg_t *window = &fresh.windows[i];
        const qm_window_cfg_t *known = s_window_cfg(&slot->config, window->id);
        qm_window_info_t info;
        bool present = qm_window_find(slot->model, window->id, &info) == 0;
        if (present && (!known || !s_window_changed(known, window)))
            continue;
        char reason[QM_REASON_SIZE];
        size_t mark = qm_journal_count(self->journal);
        if (qm_window_set(slot->model, window, "system:config", now, self->journal,
                          reason) == QM_OK && s_take_events(self, slot, mark, NULL) >= 0)
            log_info(present ? "window_changed" : "window_added",
                     "branch=%s window=%" PRId64 " number=%d", slot->ref.path, window->id,
                     window->number);
        else
            log_warn("window_not_set", "branch=%s window=%" PRId64 " reason=\"%s\"",
                     slot->ref.path, window->id, reason);
    }
    free((void *) slot->config.windows);
    slot->config.windows = fresh.windows;
    slot->config.window_count = fresh.window_count;
    fresh.windows = NULL;
    qm_store_config_free(&fresh);
}

/* web-api publishes a branch's registry snapshot within 100 ms of a
 * configuration change there (docs/protocol.md): the branch's windows and
 * devices are read again at the next tick, once however many snapshots came
 * (gateways ask for theirs too), so a flood of them costs one reading per
 * tick. The periodic reading (refresh_ms) catches what the bus lost. */
static void s_on_registry(qm_server_t *self, const char *topic)
{
    qm_slot_t *slot = qm_branches_by_path(self->branches, topic + strlen(S_REGISTRY_TOPIC));
    if (slot)
        slot->config_due = true;
}

static void s_tick(qm_server_t *self, int64_t now)
{
    if (now - self->last_tick < S_TICK_MS)
        return;
    self->last_tick = now;
    s_rebuild_missing(self);
    for (size_t i = 0; i < qm_branches_count(self->branches); i++) {
        qm_slot_t *slot = qm_branches_at(self->branches, i);
        if (!slot->model || s_frozen(self))
            continue;
        s_check_day(self, slot, now);
        qm_publish_announcements(self->publish, slot->ref.path, slot->announcer, now);
        if (slot->config_due) {
            slot->config_due = false;
            s_sync_windows(self, slot, now);
        }
    }
    s_check_mirror(self, now);
    if (!s_frozen(self) && now - self->last_windows >= self->cfg.refresh_ms) {
        self->last_windows = now;
        for (size_t i = 0; i < qm_branches_count(self->branches); i++) {
            qm_slot_t *slot = qm_branches_at(self->branches, i);
            if (slot->model)
                s_sync_windows(self, slot, now);
        }
    }
    s_device_prune(self, now);
    if (!self->db_down && now - self->last_partitions >= S_PARTITIONS_MS) {
        self->last_partitions = now;
        if (qm_store_ensure_partitions(self->store, 3) != 0)
            log_warn("partitions_not_ensured", "reason=\"database error\"");
        if (qm_store_prune_causes(self->store) != 0)
            log_warn("causes_not_pruned", "reason=\"database error\"");
    }
}

static void *s_loop(void *arg)
{
    qm_server_t *self = arg;
    void *router = zsock_resolve(self->router);
    void *sub = zsock_resolve(bus_sub_socket(self->bus));
    while (!atomic_load(&self->stop)) {
        health_liveness_beat(&self->liveness);
        /* Requests, device keys, and the commits' results. */
        int socket = qm_store_socket(self->commits);
        short out = qm_store_flush(self->commits) == 1 ? ZMQ_POLLOUT : 0;
        zmq_pollitem_t items[3] = { { router, 0, ZMQ_POLLIN, 0 },
                                    { sub, 0, ZMQ_POLLIN, 0 },
                                    { NULL, socket, (short) (ZMQ_POLLIN | out), 0 } };
        bool pending = self->open->nreplies > 0 && self->nflight < S_DEPTH;
        int rc = zmq_poll(items, socket >= 0 ? 3 : 2, pending ? 0 : S_TICK_MS);
        int64_t now = clock_now_ms();
        for (int n = 0; rc > 0 && (items[0].revents & ZMQ_POLLIN) && n < S_DRAIN_MAX; n++)
            if (!s_on_request(self, router, now))
                break;
        for (int n = 0; rc > 0 && (items[1].revents & ZMQ_POLLIN) && n < S_DRAIN_MAX; n++) {
            char *topic = NULL;
            envelope_t *env = NULL;
            if (bus_recv(self->bus, 0, &topic, &env) != 1)
                break;
            if (strncmp(topic, S_REGISTRY_TOPIC, strlen(S_REGISTRY_TOPIC)) == 0)
                s_on_registry(self, topic);
            else if (strcmp(env->type, "device.online") == 0
                     || strcmp(env->type, "device.assigned") == 0)
                s_on_device_online(self, env);
            else
                s_on_device(self, env, now);
            free(topic);
            envelope_destroy(&env);
        }
        /* Results are read when the commit socket has something, or when
         * there is no socket (a broken connection fails what was on its way). */
        s_commit_turn(self, now,
                      socket < 0 || (items[2].revents & (ZMQ_POLLIN | ZMQ_POLLERR)));
        s_tick(self, now);
    }
    return NULL;
}

/* --- lifecycle ------------------------------------------------------------------------ */

/* Subscribes to the device keys under the prefixes and writes the ltree[]
 * literal of the prefixes. 0 / -1 (logged). */
static int s_prefixes(qm_server_t *self)
{
    self->ltree_prefixes = malloc(strlen(self->prefixes) + 3);
    if (!self->ltree_prefixes)
        return -1;
    strcpy(self->ltree_prefixes, "{");
    char *save = NULL;
    const size_t ntypes = sizeof s_bus_types / sizeof s_bus_types[0];
    bool any = false;
    for (char *p = strtok_r(self->prefixes, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        while (*p == ' ')
            p++;
        if (!*p)
            continue;
        if (!envelope_org_path_valid(p, strlen(p))) {
            log_error("bad_prefix", "prefix=\"%s\" reason=\"not an org path\"", p);
            return -1;
        }
        if (self->ltree_prefixes[1])
            strcat(self->ltree_prefixes, ",");
        strcat(self->ltree_prefixes, p);
        for (size_t i = 0; i < ntypes; i++) {
            char topic[ENVELOPE_TOPIC_MAX + 2];
            snprintf(topic, sizeof topic, "%s.%s", s_bus_types[i], p);
            if (bus_subscribe(self->bus, topic) != 0)
                return -1;
        }
        any = true;
    }
    strcat(self->ltree_prefixes, "}");
    for (size_t i = 0; !any && i < ntypes; i++) {
        char topic[ENVELOPE_TYPE_MAX + 2];
        snprintf(topic, sizeof topic, "%s.", s_bus_types[i]);
        if (bus_subscribe(self->bus, topic) != 0)
            return -1;
    }
    return 0;
}

static int s_metrics(qm_server_t *self, metrics_t *metrics)
{
    self->requests = metrics_counter(metrics, "requests_total", "Requests received.");
    self->refused = metrics_counter(metrics, "requests_refused_total",
                                    "Requests answered with an error.");
    self->committed = metrics_counter(metrics, "events_committed_total",
                                      "Ticket events committed.");
    self->commit_failures = metrics_counter(metrics, "commit_failures_total",
                                            "Group commits that failed (branches rebuilt).");
    self->device_actions = metrics_counter(metrics, "device_actions_total",
                                           "Device key events acted on.");
    self->batch_events = metrics_gauge(metrics, "batch_events", "Events of the last commit.");
    return self->requests && self->refused && self->committed && self->commit_failures
                   && self->device_actions && self->batch_events
                   && bus_attach_metrics(self->bus, metrics) == 0
               ? 0 : -1;
}

/* Frees what the server holds (the loop thread is not running). */
static void s_free(qm_server_t *self)
{
    qm_store_destroy(&self->commits);
    for (size_t b = 0; b < S_DEPTH + 1; b++)
        s_batch_free(&self->batches[b]);
    qm_branches_destroy(&self->branches);
    zsock_destroy(&self->router);
    qm_publish_destroy(&self->publish);
    bus_destroy(&self->bus);
    zhashx_destroy(&self->device_ids);
    qm_journal_destroy(&self->journal);
    qm_store_destroy(&self->store);
    jsonw_release(&self->reply);
    free(self->reply_text);
    free(self->prefixes);
    free(self->ltree_prefixes);
    free(self);
}

qm_server_t *qm_server_new(pgstore_t **pg_p, const qm_server_config_t *config,
                           metrics_t *metrics)
{
    qm_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        pgstore_destroy(pg_p);
        return NULL;
    }
    self->cfg = *config;
    self->open = &self->batches[0];
    jsonw_init(&self->reply, NULL, QM_REPLY_MAX_BYTES);
    backoff_init(&self->backoff, 200, 5000);
    self->store = qm_store_new(pg_p);
    pgstore_t *commit_pg = pgstore_new(config->pg_conninfo);
    self->commits = qm_store_new(&commit_pg);
    self->prefixes = strdup(config->prefixes ? config->prefixes : "");
    self->journal = qm_journal_new();
    self->device_ids = zhashx_new();
    if (self->device_ids)
        zhashx_set_destructor(self->device_ids, s_free_seen);
    self->bus = bus_new(config->bus_pub, config->bus_sub, config->src);
    if (!self->store || !self->commits || !self->prefixes || !self->journal
        || !self->device_ids || !self->bus || s_metrics(self, metrics) != 0
        || s_prefixes(self) != 0)
        goto err;
    self->publish = qm_publish_new(self->bus, config->redis_url, config->src);
    self->router = zsock_new(ZMQ_ROUTER);
    if (!self->publish || !self->router)
        goto err;
    zsock_set_linger(self->router, 500);
    zsock_set_router_mandatory(self->router, 0);
    /* A hostile client cannot make the server allocate a huge frame: past
     * S_FRAME_MAX libzmq drops the connection before reading it (a frame
     * above QM_REQUEST_MAX_BYTES and below this is answered too_large). */
    zsock_set_maxmsgsize(self->router, S_FRAME_MAX);
    if (zsock_bind(self->router, "%s", config->endpoint) < 0) {
        log_error("bind_failed", "endpoint=%s error=\"%s\"", config->endpoint,
                  zmq_strerror(zmq_errno()));
        goto err;
    }
    if (qm_store_ensure_partitions(self->store, 3) != 0
        || !(self->branches = qm_branches_new(self->store, self->ltree_prefixes)))
        goto err;
    for (size_t i = 0; i < qm_branches_count(self->branches); i++)
        if (qm_branches_rebuild(self->branches, qm_branches_at(self->branches, i)) != 0)
            goto err;
    if (s_load_causes(self) != 0)
        goto err;
    health_liveness_init(&self->liveness);
    self->last_partitions = self->last_windows = clock_now_ms();
    if (pthread_create(&self->thread, NULL, s_loop, self) != 0)
        goto err;
    log_info("queue_manager_started", "branches=%zu prefixes=\"%s\" endpoint=%s",
             qm_branches_count(self->branches), config->prefixes ? config->prefixes : "",
             config->endpoint);
    return self;
err:
    log_error("queue_manager_start_failed", "reason=\"endpoint, bus, database or memory\"");
    s_free(self);
    return NULL;
}

void qm_server_destroy(qm_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    qm_server_t *self = *self_p;
    atomic_store(&self->stop, 1);
    pthread_join(self->thread, NULL);
    /* Batches on their way are left to PostgreSQL (stored or not as it got
     * them); their requests get no reply (the clients time out and read the
     * state back). */
    s_free(self);
    *self_p = NULL;
}

health_liveness_t *qm_server_liveness(qm_server_t *self)
{
    return &self->liveness;
}
