/*  qm_publish: bus outputs and the Redis mirror of queue-manager (qm_publish.h). */
#include "qm_publish.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/jsonw.h"
#include "eqms/log.h"
#include "eqms/redisstore.h"
#include "eqms/text.h"

#define S_KEY_MAX (ENVELOPE_TOPIC_MAX + 64)

struct qm_publish_t {
    bus_t *bus;
    redisstore_t *redis;       /* NULL = no mirror */
    char marker[128];
    bool lost;                 /* a write failed: rewrite in full */
    char *display;             /* the last display published, for the mirror */
    char display_path[ENVELOPE_TOPIC_MAX + 1];   /* ... and its branch */
    jsonw_t w;
};

qm_publish_t *qm_publish_new(bus_t *bus, const char *redis_url, const char *src)
{
    qm_publish_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->bus = bus;
    self->lost = true;
    snprintf(self->marker, sizeof self->marker, "eqms:qm:ready:%s", src);
    jsonw_init(&self->w, NULL, 0);
    if (redis_url && *redis_url && !(self->redis = redisstore_new(redis_url, 1000))) {
        jsonw_release(&self->w);
        free(self);
        return NULL;
    }
    return self;
}

void qm_publish_destroy(qm_publish_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    qm_publish_t *self = *self_p;
    redisstore_destroy(&self->redis);
    jsonw_release(&self->w);
    free(self->display);
    free(self);
    *self_p = NULL;
}

static void s_time(jsonw_t *w, const char *key, int64_t ms)
{
    char text[CLOCK_RFC3339_SIZE];
    if (ms <= 0) {
        jsonw_null(w, key);
        return;
    }
    clock_format_rfc3339(ms, text);
    jsonw_str(w, key, text);
}

static void s_id(jsonw_t *w, const char *key, int64_t id)
{
    if (id > 0)
        jsonw_int(w, key, id);
    else
        jsonw_null(w, key);
}

/* Names of qm_via_t in ticket.called (docs/protocol.md). */
static const char *s_via(qm_via_t via)
{
    static const char *names[] = { NULL, "green", "transfer", "appointment", "strategy",
                                   "explicit", "call_back" };
    return (unsigned) via < sizeof names / sizeof names[0] ? names[via] : NULL;
}

void qm_publish_event(qm_publish_t *self, const char *branch_path, const qm_event_t *e)
{
    jsonw_t *w = &self->w;
    jsonw_reset(w);
    char day[CLOCK_DATE_SIZE];
    clock_format_date((clock_date_t) { e->day / 10000, e->day / 100 % 100, e->day % 100 }, day);
    jsonw_str(w, "branch", branch_path);
    jsonw_int(w, "seq", e->seq);
    s_time(w, "at", e->at_ms);
    jsonw_str(w, "day", day);
    jsonw_str(w, "actor", e->actor);
    bool ticket = e->ticket_id[0] != '\0';
    if (ticket) {
        jsonw_str(w, "ticket_id", e->ticket_id);
        jsonw_str(w, "number", e->number);
        jsonw_str(w, "class", qm_class_name(e->klass));
    } else {
        jsonw_null(w, "ticket_id");
        jsonw_null(w, "number");
        jsonw_null(w, "class");
    }
    s_id(w, "queue", e->queue_id);
    s_id(w, "service", e->service_id);
    s_id(w, "window", e->window_id);
    if (e->window_no > 0)
        jsonw_int(w, "window_no", e->window_no);
    else
        jsonw_null(w, "window_no");
    s_id(w, "staff", e->staff_id);
    s_time(w, "original", e->original_ms);
    s_time(w, "appointment", e->appointment_ms);
    if (e->kind == QM_EV_TRANSFERRED) {
        jsonw_object_begin(w, "target");
        jsonw_str(w, "to", qm_target_name(e->target));
        jsonw_int(w, "id", e->target_id);
        jsonw_object_end(w);
    } else {
        jsonw_null(w, "target");
    }
    if (s_via(e->via))
        jsonw_str(w, "via", s_via(e->via));
    else
        jsonw_null(w, "via");
    jsonw_int(w, "recall", e->recall);
    jsonw_int(w, "avg_ms", e->avg_ms);
    if (e->detail[0])
        jsonw_str(w, "detail", e->detail);
    else
        jsonw_null(w, "detail");
    char type[ENVELOPE_TYPE_MAX + 1] = "ticket.";
    text_copy(type + 7, sizeof type - 7, qm_event_kind_name(e->kind));
    if (jsonw_finish(w) != 0 || bus_publish_jsonw(self->bus, type, branch_path, w, NULL) != 0)
        log_warn("event_not_published", "branch=%s seq=%" PRId64, branch_path, e->seq);
}

/* Writes the display data of `view` into self->w: {"called":[{number,
 * window_no, at}], "windows":[{window_no, current}]}, and keeps its text
 * for the mirror's next write (one encoding per change). 0 / -1. */
static int s_display(qm_publish_t *self, const char *branch_path, const qm_hall_view_t *view)
{
    jsonw_t *w = &self->w;
    jsonw_reset(w);
    jsonw_array_begin(w, "called");
    for (size_t i = 0; i < view->line_count; i++) {
        const qm_hall_line_t *line = &view->lines[i];
        jsonw_object_begin(w, NULL);
        jsonw_str(w, "number", line->number);
        jsonw_int(w, "window_no", line->window_no);
        s_time(w, "at", line->at_ms);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
    jsonw_array_begin(w, "windows");
    for (size_t i = 0; i < view->current_count; i++) {
        const qm_hall_current_t *c = &view->currents[i];
        jsonw_object_begin(w, NULL);
        jsonw_int(w, "window_no", c->window_no);
        if (c->number[0])
            jsonw_str(w, "current", c->number);
        else
            jsonw_null(w, "current");
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
    free(self->display);
    self->display = NULL;
    size_t len;
    const char *text = jsonw_finish(w) == 0 ? jsonw_text(w, &len) : NULL;
    if (!text || !(self->display = strdup(text)))
        return -1;
    text_copy(self->display_path, sizeof self->display_path, branch_path);
    return 0;
}

void qm_publish_display(qm_publish_t *self, const char *branch_path,
                        const qm_hall_view_t *view)
{
    if (s_display(self, branch_path, view) != 0
        || bus_publish_jsonw(self->bus, "display", branch_path, &self->w, NULL) != 0)
        log_warn("display_not_published", "branch=%s", branch_path);
}

void qm_publish_announcements(qm_publish_t *self, const char *branch_path, qm_hall_t *hall,
                              int64_t now_ms)
{
    qm_announcement_t a;
    while (hall && qm_hall_next_announcement(hall, now_ms, &a) == 1) {
        jsonw_t *w = &self->w;
        jsonw_reset(w);
        jsonw_str(w, "text", a.text);
        jsonw_str(w, "number", a.number);
        jsonw_int(w, "window_no", a.window_no);
        jsonw_int(w, "repeat", a.repeat);
        jsonw_int(w, "seq", a.seq);
        jsonw_int(w, "duration_ms", a.duration_ms);
        s_time(w, "called", a.queued_ms);
        if (jsonw_finish(w) != 0
            || bus_publish_jsonw(self->bus, "announce", branch_path, w, NULL) != 0)
            log_warn("announcement_not_published", "branch=%s seq=%" PRId64, branch_path,
                     a.seq);
    }
}

/* Starts a device command for `serial` in the writer. */
static jsonw_t *s_device_command(qm_publish_t *self, const char *serial, const char *command)
{
    jsonw_t *w = &self->w;
    jsonw_reset(w);
    jsonw_str(w, "serial", serial);
    jsonw_str(w, "command", command);
    return w;
}

/* Sends the command in the writer on cmd.device.<branch path>.<window code>. */
static void s_device_send(qm_publish_t *self, const char *branch_path, const char *window_code)
{
    char path[ENVELOPE_TOPIC_MAX + 1];
    snprintf(path, sizeof path, "%s.%s", branch_path, window_code);
    if (jsonw_finish(&self->w) != 0
        || bus_publish_jsonw(self->bus, "cmd.device", path, &self->w, NULL) != 0)
        log_warn("device_command_not_sent", "window=%s", path);
}

void qm_publish_device_ticket(qm_publish_t *self, const char *branch_path,
                              const char *window_code, const char *serial,
                              const char *number, int window_no)
{
    jsonw_t *w = s_device_command(self, serial, "ticket");
    jsonw_str(w, "ticket", number);
    jsonw_int(w, "window_number", window_no > 255 ? 0 : window_no);
    s_device_send(self, branch_path, window_code);
}

void qm_publish_device_staff(qm_publish_t *self, const char *branch_path,
                             const char *window_code, const char *serial,
                             const char *employee_no, const char *name)
{
    jsonw_t *w = s_device_command(self, serial, "staff");
    jsonw_str(w, "employee_no", employee_no);
    jsonw_str(w, "name", name);
    s_device_send(self, branch_path, window_code);
}

void qm_publish_device_rate(qm_publish_t *self, const char *branch_path,
                            const char *window_code, const char *serial, const char *number)
{
    jsonw_t *w = s_device_command(self, serial, "rate");
    jsonw_str(w, "ticket", number);
    s_device_send(self, branch_path, window_code);
}

/* --- Redis mirror ------------------------------------------------------------- */

static int s_hset(qm_publish_t *self, const char *key, const char *field)
{
    size_t len = 0;
    const char *value = jsonw_text(&self->w, &len);
    if (!value)
        return -1;
    const char *argv[] = { "HSET", key, field, value };
    size_t argvlen[] = { 4, strlen(key), strlen(field), len };
    return redisstore_pipeline_add(self->redis, 4, argv, argvlen);
}

static int s_mirror_ticket(qm_publish_t *self, const char *key, const qm_ticket_info_t *t)
{
    jsonw_t *w = &self->w;
    jsonw_reset(w);
    jsonw_str(w, "number", t->number);
    jsonw_str(w, "state", qm_ticket_state_name(t->state));
    jsonw_int(w, "service", t->service_id);
    jsonw_str(w, "class", qm_class_name(t->klass));
    s_id(w, "window", t->window_id);
    s_id(w, "staff", t->staff_id);
    jsonw_int(w, "recall", t->recall);
    jsonw_finish(w);
    return s_hset(self, key, t->id);
}

/* True if one of the events names queue `id`, or starts a day. */
static bool s_names_queue(const qm_stored_event_t *events, size_t count, int64_t id)
{
    for (size_t i = 0; i < count; i++)
        if (events[i].event.queue_id == id || events[i].event.kind == QM_EV_DAY_START)
            return true;
    return false;
}

/* The windows event `e` names: where it happened and where it was sent. */
static size_t s_windows_named(const qm_event_t *e, int64_t ids[2])
{
    size_t n = 0;
    if (e->window_id > 0)
        ids[n++] = e->window_id;
    if (e->target == QM_TARGET_WINDOW && e->target_id > 0 && e->target_id != e->window_id)
        ids[n++] = e->target_id;
    return n;
}

/* True if an event before events[i] names window `id`. */
static bool s_named_before(const qm_stored_event_t *events, size_t i, int64_t id)
{
    for (size_t j = 0; j < i; j++) {
        int64_t ids[2];
        size_t n = s_windows_named(&events[j].event, ids);
        for (size_t k = 0; k < n; k++)
            if (ids[k] == id)
                return true;
    }
    return false;
}

/* Writes one window's entry. 0 / -1. */
static int s_mirror_window(qm_publish_t *self, const char *key, qm_branch_t *branch,
                           const qm_window_info_t *info)
{
    qm_ticket_info_t current;
    bool has = info->current_id[0] && qm_ticket_find(branch, info->current_id, &current) == 0;
    jsonw_t *w = &self->w;
    jsonw_reset(w);
    jsonw_int(w, "number", info->number);
    jsonw_str(w, "name", info->name);
    jsonw_str(w, "state", qm_window_state_name(info->state));
    jsonw_str(w, "pause_reason", info->pause_reason);
    s_id(w, "staff", info->staff_id);
    if (has)
        jsonw_str(w, "current", current.number);
    else
        jsonw_null(w, "current");
    jsonw_finish(w);
    char field[TEXT_I64_SIZE];
    text_i64(field, info->id);
    return s_hset(self, key, field);
}

/* Writes the windows the events name, each once (all when events is NULL
 * or one starts a day). 0 / -1. */
static int s_mirror_windows(qm_publish_t *self, const char *key, qm_branch_t *branch,
                            const qm_stored_event_t *events, size_t count)
{
    int failed = 0;
    bool all = !events;
    for (size_t i = 0; i < count && !all; i++)
        all = events[i].event.kind == QM_EV_DAY_START;
    qm_window_info_t info;
    if (all) {
        for (size_t i = 0; i < qm_window_count(branch); i++)
            if (qm_window_at(branch, i, &info) == 0)
                failed |= s_mirror_window(self, key, branch, &info);
        return failed ? -1 : 0;
    }
    for (size_t i = 0; i < count; i++) {
        int64_t ids[2];
        size_t n = s_windows_named(&events[i].event, ids);
        for (size_t k = 0; k < n; k++)
            if (!s_named_before(events, i, ids[k]) && qm_window_find(branch, ids[k], &info) == 0)
                failed |= s_mirror_window(self, key, branch, &info);
    }
    return failed ? -1 : 0;
}

/* Writes the queues the events name (all when events is NULL). 0 / -1. */
static int s_mirror_queues(qm_publish_t *self, const char *key, qm_branch_t *branch,
                           const qm_queue_cfg_t *queues, size_t queue_count,
                           const qm_stored_event_t *events, size_t count)
{
    int failed = 0;
    for (size_t i = 0; i < queue_count; i++) {
        if (events && !s_names_queue(events, count, queues[i].id))
            continue;
        jsonw_t *w = &self->w;
        jsonw_reset(w);
        jsonw_str(w, "prefix", queues[i].prefix);
        jsonw_int(w, "waiting", qm_queue_waiting(branch, queues[i].id));
        jsonw_int(w, "next", qm_queue_next_number(branch, queues[i].id));
        jsonw_finish(w);
        char field[TEXT_I64_SIZE];
        text_i64(field, queues[i].id);
        failed |= s_hset(self, key, field);
    }
    return failed ? -1 : 0;
}

/* A write failed: the mirror is rewritten in full once Redis is back. */
static void s_lost(qm_publish_t *self, const char *branch_path)
{
    if (!self->lost)
        log_warn("mirror_not_updated", "branch=%s reason=\"redis unavailable\"", branch_path);
    self->lost = true;
}

int qm_publish_mirror(qm_publish_t *self, const char *branch_path, qm_branch_t *branch,
                      const qm_queue_cfg_t *queues, size_t queue_count,
                      const qm_stored_event_t *events, size_t count, bool full)
{
    if (!self->redis)
        return 0;
    char windows[S_KEY_MAX], queue_key[S_KEY_MAX], tickets[S_KEY_MAX], display[S_KEY_MAX];
    snprintf(windows, sizeof windows, "eqms:qm:%s:windows", branch_path);
    snprintf(queue_key, sizeof queue_key, "eqms:qm:%s:queues", branch_path);
    snprintf(tickets, sizeof tickets, "eqms:qm:%s:tickets", branch_path);
    snprintf(display, sizeof display, "eqms:qm:%s:display", branch_path);
    /* What the last write sent must have succeeded, or the mirror is behind. */
    int failed = redisstore_pipeline_settle(self->redis);
    if (full) {
        const char *del[] = { "DEL", windows, queue_key, tickets, display };
        failed |= redisstore_pipeline_add(self->redis, 5, del, NULL);
        for (size_t i = 0; i < qm_ticket_count(branch); i++) {
            qm_ticket_info_t t;
            if (qm_ticket_at(branch, i, &t) == 0)
                failed |= s_mirror_ticket(self, tickets, &t);
        }
    }
    for (size_t i = 0; !full && i < count; i++) {
        qm_ticket_info_t t;
        if (events[i].event.ticket_id[0]
            && qm_ticket_find(branch, events[i].event.ticket_id, &t) == 0)
            failed |= s_mirror_ticket(self, tickets, &t);
        if (events[i].event.kind == QM_EV_DAY_START) {
            const char *del[] = { "DEL", tickets };
            failed |= redisstore_pipeline_add(self->redis, 2, del, NULL);
        }
    }
    const qm_stored_event_t *named = full ? NULL : events;
    failed |= s_mirror_windows(self, windows, branch, named, count);
    failed |= s_mirror_queues(self, queue_key, branch, queues, queue_count, named, count);
    /* The display: as just published, or (full) written afresh. */
    if (full) {
        qm_hall_view_t *view = qm_hall_view_new(qm_branch_hall(branch));
        failed |= !view || s_display(self, branch_path, view) != 0;
        qm_hall_view_destroy(&view);
    }
    char *text = NULL;
    if (self->display && strcmp(self->display_path, branch_path) == 0) {
        text = self->display;
        self->display = NULL;
    }
    if (text) {
        const char *set[] = { "SET", display, text };
        failed |= redisstore_pipeline_add(self->redis, 3, set, NULL);
        free(text);
    }
    /* Sent without waiting for Redis: the replies are checked at the next
     * write (or the next check for a lost mirror). A full rewrite is checked
     * now, since the mirror is declared ready after it. */
    failed |= redisstore_pipeline_send(self->redis);
    if (full)
        failed |= redisstore_pipeline_settle(self->redis);
    if (failed) {
        s_lost(self, branch_path);
        return -1;
    }
    return 0;
}

bool qm_publish_mirror_lost(qm_publish_t *self)
{
    if (!self->redis)
        return false;
    if (redisstore_pipeline_settle(self->redis) != 0)
        s_lost(self, "*");
    if (self->lost)
        return redisstore_connected(self->redis) || redisstore_connect(self->redis, 0) == 0;
    const char *argv[] = { "EXISTS", self->marker };
    redisReply *reply = redisstore_command(self->redis, 2, argv, NULL);
    if (!reply)
        return false;
    bool missing = reply->type == REDIS_REPLY_INTEGER && reply->integer == 0;
    freeReplyObject(reply);
    return missing;
}

void qm_publish_mirror_ready(qm_publish_t *self)
{
    if (!self->redis)
        return;
    const char *argv[] = { "SET", self->marker, "1" };
    redisReply *reply = redisstore_command(self->redis, 3, argv, NULL);
    self->lost = reply == NULL;
    if (reply) {
        freeReplyObject(reply);
        log_info("mirror_rebuilt", "marker=%s", self->marker);
    }
}
