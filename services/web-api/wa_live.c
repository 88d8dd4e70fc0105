/*  wa_live: the live streams of the halls, from the bus to the hub (wa_live.h). */
#include "wa_live.h"

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"
#include "eqms/redisstore.h"
#include "eqms/session.h"
#include "wa_livefig.h"
#include "wa_ops_common.h"

#define S_REDIS_TIMEOUT_MS 500
#define S_QUEUES_DELAY_MS  50     /* queue-manager writes its mirror after publishing */
#define S_PENDING_MAX      64     /* branches whose counts are due; beyond: at once */
#define S_ALERTS_EVERY_MS  1000   /* alert_event is read this often */
#define S_FIGURES_EVERY_MS 5000   /* today's figures of the followed channels */
#define S_ALERTS_MARGIN_US 60000000LL /* a step committed this late after its `at` is seen */

const char *const wa_live_topics[] = {
    "ticket.", "display.", "announce.", "rating.stored.", "device.online.",
    "device.offline.", "registry.snapshot.", NULL
};

/* The ticket events after which a queue's waiting count may have changed. */
static const char *const s_queue_kinds[] = {
    "ticket.issued", "ticket.walk_in", "ticket.called", "ticket.transferred",
    "ticket.parked", "ticket.returned", "ticket.abandoned", "ticket.no_show",
    "ticket.day_start", "ticket.window_closed", "ticket.staff_logout", NULL
};

typedef struct {
    char branch[WA_PATH_SIZE];
    int64_t due;                 /* clock_mono_ms */
} s_pending_t;

struct wa_live_t {
    sse_hub_t *hub;
    wa_snap_t *snap;             /* borrowed; NULL: no kept states */
    redisstore_t *rs;            /* NULL: no Redis, no `queues` events */
    session_config_t session;
    int check_ms;                /* the streams' credentials are checked this often */
    int64_t check_next;          /* clock_mono_ms */
    pgstore_t *pg;               /* borrowed during a check (s_owner_alive) */
    wa_livefig_t *figures;       /* today's figures on the followed channels */
    s_pending_t pending[S_PENDING_MAX];   /* `queues` events to publish */
    size_t npending;
    int64_t alerts_next;         /* clock_mono_ms of the next look at alert_event */
    int64_t alerts_from;         /* alert steps at or after this (us since the epoch,
                                    minus the margin) are read; 0: not yet started */
    struct { char key[80]; int64_t at; } *seen;  /* steps published since then */
    size_t nseen, seen_cap;
};

wa_live_t *wa_live_new(sse_hub_t *hub, const char *redis_url,
                       const session_config_t *session, int check_ms, wa_snap_t *snap)
{
    wa_live_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->hub = hub;
    self->session = *session;
    self->check_ms = check_ms;
    self->check_next = clock_mono_ms() + check_ms;
    self->snap = snap;
    if (!(self->figures = wa_livefig_new(hub, S_FIGURES_EVERY_MS))) {
        free(self);
        return NULL;
    }
    if (redis_url && *redis_url && !(self->rs = redisstore_new(redis_url, S_REDIS_TIMEOUT_MS))) {
        wa_livefig_destroy(&self->figures);
        free(self);
        return NULL;
    }
    return self;
}

void wa_live_destroy(wa_live_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    redisstore_destroy(&(*self_p)->rs);
    wa_livefig_destroy(&(*self_p)->figures);
    free((*self_p)->seen);
    free(*self_p);
    *self_p = NULL;
}

/* Publishes `event` with `data` (borrowed) on the channel of `branch` and
 * of every node above it. Returns the events published. */
static int s_publish(wa_live_t *self, const char *branch, const char *event, json_t *data)
{
    char *text = json_dumps(data, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        return 0;
    char channel[SSE_CHANNEL_MAX + 1];
    snprintf(channel, sizeof channel, "%s", branch);
    int published = 0;
    for (;;) {
        published += sse_publish(self->hub, channel, event, text) != 0;
        char *dot = strrchr(channel, '.');
        if (!dot)
            break;
        *dot = '\0';
    }
    free(text);
    return published;
}

static bool s_among(const char *word, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(word, *list) == 0)
            return true;
    return false;
}

/* The branch's queues as queue-manager's mirror has them:
 * [{"id","prefix","waiting","next"}] in id order; NULL when Redis is off or
 * did not answer. */
static json_t *s_queues(wa_live_t *self, const char *branch)
{
    if (!self->rs)
        return NULL;
    char key[300];
    snprintf(key, sizeof key, "eqms:qm:%s:queues", branch);
    const char *argv[] = { "HGETALL", key };
    redisReply *reply = redisstore_command(self->rs, 2, argv, NULL);
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject(reply);
        return NULL;
    }
    json_t *queues = json_array();
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        json_error_t error;
        json_t *q = json_loads(reply->element[i + 1]->str, 0, &error);
        long long id = strtoll(reply->element[i]->str, NULL, 10);
        if (!json_is_object(q) || id <= 0) {
            log_warn("live_queue_unreadable", "branch=%s queue=%s", branch,
                     reply->element[i]->str);
            json_decref(q);
            continue;
        }
        json_t *item = json_pack("{s:I}", "id", (json_int_t) id);
        json_object_update(item, q);
        json_decref(q);
        size_t at = json_array_size(queues);
        while (at > 0 && json_integer_value(json_object_get(json_array_get(queues, at - 1), "id"))
                             > id)
            at--;
        json_array_insert_new(queues, at, item);
    }
    freeReplyObject(reply);
    return queues;
}

static int s_queues_publish(wa_live_t *self, const char *branch);

/* Notes that `branch`'s counts are to be published S_QUEUES_DELAY_MS from
 * now (once, however many events come meanwhile): queue-manager writes the
 * mirror they are read from just after it publishes the events. Returns
 * the events published at once (when too many branches wait). */
static int s_queues_due(wa_live_t *self, const char *branch)
{
    for (size_t i = 0; i < self->npending; i++)
        if (strcmp(self->pending[i].branch, branch) == 0)
            return 0;
    if (self->npending == S_PENDING_MAX)
        return s_queues_publish(self, branch);
    s_pending_t *p = &self->pending[self->npending++];
    snprintf(p->branch, sizeof p->branch, "%s", branch);
    p->due = clock_mono_ms() + S_QUEUES_DELAY_MS;
    return 0;
}

int wa_live_bus(wa_live_t *self, const char *topic, const envelope_t *envelope)
{
    size_t tlen = strlen(envelope->type);
    if (strncmp(topic, envelope->type, tlen) != 0 || topic[tlen] != '.')
        return 0;
    const char *path = topic + tlen + 1;
    char branch[WA_PATH_SIZE];
    snprintf(branch, sizeof branch, "%s", path);
    bool ticket = strncmp(envelope->type, "ticket.", 7) == 0;
    if (strcmp(envelope->type, "registry.snapshot") == 0) {
        /* the branch's configuration changed (hours, services, windows):
         * only that, never the snapshot (it lists the staff) */
        if (self->snap)
            wa_snap_forget(self->snap, branch);
        json_t *changed = json_pack("{s:s}", "branch", branch);
        int published = changed ? s_publish(self, branch, "config", changed) : 0;
        json_decref(changed);
        return published;
    }
    if (strcmp(envelope->type, "rating.stored") == 0) {
        /* a window's path: the branch is the path above it */
        char *dot = strrchr(branch, '.');
        if (!dot)
            return 0;
        *dot = '\0';
    }
    else if (strncmp(envelope->type, "device.", 7) == 0) {
        /* a window's path, or the branch's for an unassigned device */
        const char *b = json_string_value(json_object_get(envelope->data, "branch"));
        size_t blen = b ? strlen(b) : 0;
        if (!b || blen >= sizeof branch || strncmp(path, b, blen) != 0
            || (path[blen] != '\0' && path[blen] != '.')) {
            log_warn("live_event_ignored", "topic=%s reason=\"branch missing or not the "
                     "topic's\"", topic);
            return 0;
        }
        snprintf(branch, sizeof branch, "%s", b);
    }
    else if (!ticket && strcmp(envelope->type, "display") != 0
             && strcmp(envelope->type, "announce") != 0)
        return 0;
    if (self->snap)
        wa_snap_forget(self->snap, branch);
    json_t *data = json_deep_copy(envelope->data);
    if (!data)
        return 0;
    json_object_set_new(data, "branch", json_string(branch));
    if (strcmp(path, branch) != 0)
        json_object_set_new(data, "window_path", json_string(path));
    json_object_set_new(data, "bus_id", json_string(envelope->id));
    int published = s_publish(self, branch, envelope->type, data);
    json_decref(data);
    if (ticket && self->rs && s_among(envelope->type, s_queue_kinds))
        published += s_queues_due(self, branch);
    return published;
}

/* Publishes the `queues` event of `branch`; 1, or 0 when Redis failed. */
static int s_queues_publish(wa_live_t *self, const char *branch)
{
    json_t *queues = s_queues(self, branch);
    if (!queues)
        return 0;
    json_t *counts = json_pack("{s:s, s:o}", "branch", branch, "queues", queues);
    int published = s_publish(self, branch, "queues", counts);
    json_decref(counts);
    return published;
}

/* --- alerts: sms-notifier writes them to the tables only ------------------------- */

static bool s_seen(wa_live_t *self, const char *key)
{
    for (size_t i = 0; i < self->nseen; i++)
        if (strcmp(self->seen[i].key, key) == 0)
            return true;
    return false;
}

static void s_remember(wa_live_t *self, const char *key, int64_t at)
{
    if (self->nseen == self->seen_cap) {
        size_t cap = self->seen_cap ? self->seen_cap * 2 : 64;
        void *grown = realloc(self->seen, cap * sizeof *self->seen);
        if (!grown)
            return;         /* published again at the next look: harmless */
        self->seen = grown;
        self->seen_cap = cap;
    }
    snprintf(self->seen[self->nseen].key, sizeof self->seen[0].key, "%s", key);
    self->seen[self->nseen++].at = at;
}

/* Publishes the alert steps (alert_event) not published yet. A step's `at`
 * is its transaction's start, so steps are read back a margin before the
 * last seen and told apart by (alert, kind, at). */
static void s_alerts(wa_live_t *self, pgstore_t *pg)
{
    if (!self->alerts_from) {
        PGresult *res = pgstore_query(pg, "SELECT (extract(epoch FROM now()) * 1e6)::bigint",
                                      0, NULL);
        if (res)
            self->alerts_from = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        return;
    }
    char from[24];
    snprintf(from, sizeof from, "%lld", (long long) (self->alerts_from - S_ALERTS_MARGIN_US));
    const char *params[] = { from };
    PGresult *res = pgstore_query(
        pg,
        "SELECT e.alert_id::text, e.kind, (extract(epoch FROM e.at) * 1e6)::bigint,"
        " json_build_object('alert', e.alert_id, 'step', e.kind, 'kind', a.kind,"
        "  'at', " WA_TS("e.at") ", 'actor', e.actor, 'window', a.window_id,"
        "  'staff', a.staff_id, 'branch', n.path::text)::text, n.path::text"
        " FROM alert_event e JOIN alert a ON a.id = e.alert_id"
        " JOIN org_node n ON n.id = a.branch_id"
        " WHERE e.at >= to_timestamp($1::bigint / 1e6) ORDER BY e.at",
        1, params);
    if (!res) {
        log_warn("live_alerts_unreadable", "reason=\"database unavailable\"");
        return;
    }
    int64_t latest = self->alerts_from;
    for (int i = 0; i < PQntuples(res); i++) {
        char key[80], event[32];
        int64_t at = strtoll(PQgetvalue(res, i, 2), NULL, 10);
        snprintf(key, sizeof key, "%s/%s/%lld", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                 (long long) at);
        if (s_seen(self, key))
            continue;
        json_error_t error;
        json_t *data = json_loads(PQgetvalue(res, i, 3), 0, &error);
        snprintf(event, sizeof event, "alert.%s", PQgetvalue(res, i, 1));
        if (data)
            s_publish(self, PQgetvalue(res, i, 4), event, data);
        json_decref(data);
        s_remember(self, key, at);
        if (at > latest)
            latest = at;
    }
    PQclear(res);
    self->alerts_from = latest;
    for (size_t i = 0; i < self->nseen;)
        if (self->seen[i].at < latest - S_ALERTS_MARGIN_US)
            self->seen[i] = self->seen[--self->nseen];
        else
            i++;
}

/* --- the streams' credentials ------------------------------------------------------ */

#define S_OWNER_LOGIN "eqs:"
#define S_OWNER_API   "eqt:"

/* Whether the credential a stream was opened with holds (sse_alive_fn):
 * the session (or cached token) in Redis, else an API token's row. */
static int s_owner_alive(void *ctx, const char *owner)
{
    wa_live_t *self = ctx;
    bool api = strncmp(owner, S_OWNER_API, 4) == 0;
    const char *hash = owner + 4;
    session_t s;
    int found = self->rs ? session_lookup_hash(self->rs, &self->session,
                                               api ? SESSION_API : SESSION_LOGIN, hash, &s)
                         : -1;
    if (found != 0 || !api)
        return found;
    if (!self->pg)
        return -1;
    const char *params[] = { hash };
    PGresult *res = pgstore_query(self->pg,
                                  "SELECT 1 FROM api_token WHERE token_hash = decode($1, 'hex')"
                                  " AND revoked_at IS NULL AND expires_at > now()",
                                  1, params);
    if (!res)
        return -1;
    found = PQntuples(res) == 1;
    PQclear(res);
    return found;
}

static void s_check_owners(wa_live_t *self, pgstore_t *pg)
{
    self->pg = pg;
    size_t ended = sse_check_owners(self->hub, s_owner_alive, self);
    self->pg = NULL;
    if (ended)
        log_info("live_streams_ended", "streams=%zu reason=\"credential revoked or expired\"",
                 ended);
}

int wa_live_tick(wa_live_t *self, pgstore_t *pg)
{
    int64_t now = clock_mono_ms();
    int64_t next = -1;
    if (pg && now >= self->alerts_next) {
        s_alerts(self, pg);
        self->alerts_next = now + S_ALERTS_EVERY_MS;
    }
    if (now >= self->check_next) {
        s_check_owners(self, pg);
        self->check_next = now + self->check_ms;
    }
    for (size_t i = 0; i < self->npending;) {
        if (self->pending[i].due <= now) {
            s_queues_publish(self, self->pending[i].branch);
            self->pending[i] = self->pending[--self->npending];
            continue;
        }
        if (next < 0 || self->pending[i].due - now < next)
            next = self->pending[i].due - now;
        i++;
    }
    if (pg && (next < 0 || self->alerts_next - now < next))
        next = self->alerts_next - now;
    if (next < 0 || self->check_next - now < next)
        next = self->check_next - now;
    if (pg) {
        int figures = wa_livefig_tick(self->figures, pg);
        if (figures < next)
            next = figures;
    }
    return (int) next;
}

/* --- the routes -------------------------------------------------------------------- */

/* Serves the stream of `path`, owned by the caller's credential. */
static void s_serve(wa_call_t *call, const char *path)
{
    const char *channels[] = { path };
    char owner[SSE_OWNER_MAX];
    snprintf(owner, sizeof owner, "%s%s",
             call->who.kind == SESSION_API ? S_OWNER_API : S_OWNER_LOGIN, call->who.hash);
    sse_serve(call->config->live, call->req, call->reply, channels, 1, owner);
}

void wa_live_branch(wa_call_t *call)
{
    const char *branch = httpd_req_param(call->req, "branch");
    int64_t branch_id;
    if (!call->config->live) {
        wa_unavailable(call, "live streams");
        return;
    }
    if (wa_no_args(call) != 0 || wa_ops_node(call, branch, true, &branch_id) != 0)
        return;
    s_serve(call, branch);
}

void wa_live_node(wa_call_t *call)
{
    static const char *const allowed[] = { "node", NULL };
    char reason[128], path[WA_PATH_SIZE];
    int64_t node_id;
    if (!call->config->live) {
        wa_unavailable(call, "live streams");
        return;
    }
    if (httpd_req_args_check(call->req, allowed, reason, sizeof reason) != 0) {
        wa_problem(call, MHD_HTTP_BAD_REQUEST, "%s", reason);
        return;
    }
    if (wa_ops_node_arg(call, "node", &node_id, path) != 0)
        return;
    s_serve(call, path);
}
