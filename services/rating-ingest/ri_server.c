/*  ri_server: rating-ingest's bus loop, batches and acks (ri_server.h). */
#include "ri_server.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/backoff.h"
#include "eqms/bus.h"
#include "eqms/health.h"
#include "eqms/clock.h"
#include "eqms/log.h"
#include "ri_counters.h"
#include "ri_store.h"
#include "ri_validate.h"

/* Seqs above a gateway's cursor tracked at once (2 KiB per gateway); further
 * ones are dropped unacknowledged until the cursor catches up (the gateway
 * re-publishes). Receiving pauses during a commit, so normally at most one
 * batch (plus a gap's worth) is above the cursor. */
#define S_SEQ_WINDOW     16384
#define S_REACK_MS       30000
#define S_PARTITIONS_MS  (24 * 3600 * 1000)
#define S_WINDOW_TTL_MS  60000
#define S_COUNTERS_CHECK_MS 5000

static const char *s_types[] = {
    "device.online", "device.offline", "device.unassigned", "staff.login",
    "staff.logout", "call.request", "call.recall", "call.pause", "service.start",
    "service.end", "rating.submitted", "rating.not_rated",
};

typedef struct {
    char gateway[ENVELOPE_SRC_MAX + 1];
    char branch[RI_PATH_MAX + 1];
    int64_t upto;                      /* committed cursor */
    int64_t pending_upto;              /* cursor the current batch would give */
    bool ack_due;
    uint8_t bits[S_SEQ_WINDOW / 8];    /* seqs > upto already in a batch */
} s_gateway_t;

struct ri_server_t {
    ri_server_config_t cfg;
    char *prefixes;
    char *prefix[64];                  /* into `prefixes`; none = everything */
    size_t nprefix;
    ri_store_t *store;
    ri_counters_t *counters;
    ri_figures_t *figures;             /* per item, after a commit */
    bus_t *bus;
    pthread_t thread;
    _Atomic int stop;
    health_liveness_t liveness;    /* read by the health port */
    zhash_t *gateways;                 /* src -> s_gateway_t */
    zhash_t *windows;                  /* window id -> ri_window_state_t */
    ri_item_t *items;
    size_t count;
    int64_t batch_started;
    bool db_down;
    bool acks_due;                     /* some gateway has ack_due */
    int64_t commit_ms;                 /* duration of the last commit */
    backoff_t backoff;
    int64_t last_reack;
    int64_t last_counters_check;
    char *ltree_prefixes;              /* "{a,b}" for ri_counters_rebuild */
    int64_t last_partitions;
    metrics_counter_t *received, *stored, *rejected, *duplicates, *dropped, *batches,
        *batch_failures;
    metrics_gauge_t *pending;
};

/* --- per-gateway sequence tracking ------------------------------------------ */

static bool s_bit(const s_gateway_t *g, int64_t seq)
{
    return g->bits[(seq % S_SEQ_WINDOW) / 8] & (1u << (seq % 8));
}

static void s_set_bit(s_gateway_t *g, int64_t seq, bool on)
{
    if (on)
        g->bits[(seq % S_SEQ_WINDOW) / 8] |= (uint8_t) (1u << (seq % 8));
    else
        g->bits[(seq % S_SEQ_WINDOW) / 8] &= (uint8_t) ~(1u << (seq % 8));
}

static s_gateway_t *s_gateway(ri_server_t *self, const char *src, const char *branch)
{
    s_gateway_t *g = zhash_lookup(self->gateways, src);
    if (g)
        return g;
    g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    snprintf(g->gateway, sizeof g->gateway, "%s", src);
    snprintf(g->branch, sizeof g->branch, "%s", branch);
    if (zhash_insert(self->gateways, src, g) != 0) {
        free(g);
        return NULL;
    }
    zhash_freefn(self->gateways, src, free);
    return g;
}

static void s_load_cursor(void *ctx, const char *gateway, const char *branch, int64_t upto)
{
    s_gateway_t *g = s_gateway(ctx, gateway, branch);
    if (g)
        g->upto = g->pending_upto = upto;
}

static ri_window_state_t *s_window_state(ri_server_t *self, int64_t window_id)
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
                           const char *employee_no)
{
    ri_window_state_t *state = s_window_state(ctx, window_id);
    if (state) {
        state->staff_id = staff_id;
        snprintf(state->employee_no, sizeof state->employee_no, "%s", employee_no);
    }
}

/* --- deciding events ---------------------------------------------------------- */

static void s_reject(ri_item_t *item, const char *reason)
{
    item->action = RI_ACTION_REJECT;
    if (reason != item->reason)
        snprintf(item->reason, sizeof item->reason, "%s", reason);
}

/* Decides one decoded event. Returns 0, or -1 if the database was needed and
 * unavailable (the event is then dropped unacknowledged). */
static int s_decide(ri_server_t *self, ri_item_t *item)
{
    ri_event_t *e = &item->event;
    bool stateful = e->kind == RI_KIND_RATING || e->kind == RI_KIND_LOGIN
                    || e->kind == RI_KIND_LOGOUT || e->kind == RI_KIND_SERVICE_END;
    if (!stateful) {
        item->action = RI_ACTION_NONE;
        return 0;
    }
    if (ri_validate_clock(e, self->cfg.max_skew_s, item->reason) != 0) {
        s_reject(item, item->reason);
        return 0;
    }
    if (e->window_id == 0) {
        snprintf(item->reason, sizeof item->reason, "unassigned device: %s has no window",
                 e->serial);
        s_reject(item, item->reason);
        return 0;
    }
    ri_window_t window;
    const char *why = NULL;
    int found = ri_store_window(self->store, e->serial, e->window_id, S_WINDOW_TTL_MS,
                                &window, &why);
    if (found < 0)
        return -1;
    if (found == 0) {
        snprintf(item->reason, sizeof item->reason, "%s: %s at window %" PRId64, why,
                 e->serial, e->window_id);
        s_reject(item, item->reason);
        return 0;
    }
    ri_window_state_t *state = s_window_state(self, e->window_id);
    if (!state)
        return -1;
    int64_t staff_id = 0;
    if (e->kind == RI_KIND_LOGIN || e->kind == RI_KIND_LOGOUT) {
        staff_id = ri_store_staff_id(self->store, e->employee_no);
        if (staff_id < 0)
            return -1;
        if (staff_id == 0) {
            snprintf(item->reason, sizeof item->reason, "unknown or inactive staff %s",
                     e->employee_no);
            s_reject(item, item->reason);
            return 0;
        }
    }
    switch (e->kind) {
    case RI_KIND_RATING: {
        const ri_option_t *option = NULL;
        if (ri_validate_rating(e, &window, state, &option, item->reason) != 0) {
            s_reject(item, item->reason);
            return 0;
        }
        item->action = RI_ACTION_RATING;
        item->option = *option;
        item->staff_id = state->staff_id;
        snprintf(e->employee_no, sizeof e->employee_no, "%s", state->employee_no);
        snprintf(item->window_path, sizeof item->window_path, "%s", window.path);
        snprintf(item->time_zone, sizeof item->time_zone, "%s", window.time_zone);
        break;
    }
    case RI_KIND_LOGIN:
        /* A teller logging in here is no longer at any other window. */
        for (ri_window_state_t *s = zhash_first(self->windows); s;
             s = zhash_next(self->windows))
            if (s->staff_id == staff_id) {
                s->staff_id = 0;
                s->employee_no[0] = '\0';
            }
        item->action = RI_ACTION_LOGIN;
        item->staff_id = staff_id;
        break;
    case RI_KIND_LOGOUT:
        item->action = RI_ACTION_LOGOUT;
        item->staff_id = staff_id;
        break;
    default:   /* service.end */
        item->action = RI_ACTION_SERVICE_END;
        item->staff_id = state->staff_id;
        break;
    }
    ri_window_state_apply(state, e, staff_id);
    return 0;
}

/* True if the topic's org path is one of the prefixes or below one (whole
 * labels: the subscription "rating.submitted.hq.r01" also delivers hq.r010). */
static bool s_taken(const ri_server_t *self, const char *topic, const char *type)
{
    if (self->nprefix == 0)
        return true;
    const char *path = topic + strlen(type) + 1;
    for (size_t i = 0; i < self->nprefix; i++) {
        size_t n = strlen(self->prefix[i]);
        if (strncmp(path, self->prefix[i], n) == 0 && (path[n] == '\0' || path[n] == '.'))
            return true;
    }
    return false;
}

/* Takes one envelope off the bus into the batch (or drops it). */
static void s_accept(ri_server_t *self, const char *topic, const envelope_t *envelope)
{
    if (!s_taken(self, topic, envelope->type))
        return;
    metrics_add(self->received, 1);
    json_t *branch_j = json_object_get(envelope->data, "branch");
    const char *branch = json_is_string(branch_j) ? json_string_value(branch_j) : "";
    if (!envelope_org_path_valid(branch, strlen(branch))) {
        /* Without a branch no ack can reach the gateway: record it anyway. */
        branch = "";
    }
    s_gateway_t *g = s_gateway(self, envelope->src, branch);
    if (!g) {
        metrics_add(self->dropped, 1);
        return;
    }
    if (branch[0] && strcmp(g->branch, branch) != 0)
        snprintf(g->branch, sizeof g->branch, "%s", branch);
    if (envelope->seq <= g->upto || (envelope->seq - g->upto <= S_SEQ_WINDOW
                                     && s_bit(g, envelope->seq))) {
        metrics_add(self->duplicates, 1);
        g->ack_due = true;
        self->acks_due = true;
        return;
    }
    if (self->db_down || envelope->seq - g->upto > S_SEQ_WINDOW
        || self->count >= (size_t) self->cfg.batch_max) {
        metrics_add(self->dropped, 1);
        return;
    }
    ri_item_t *item = &self->items[self->count];
    memset(item, 0, sizeof *item);
    char reason[ENVELOPE_REASON_SIZE];
    if (ri_event_decode(envelope, &item->event, reason) != 0) {
        s_reject(item, reason);
    } else if (s_decide(self, item) != 0) {
        self->db_down = true;
        backoff_failed(&self->backoff);
        health_liveness_db(&self->liveness, 0);
        metrics_add(self->dropped, 1);
        log_warn("ingest_paused", "reason=\"database unavailable\" gateway=%s seq=%" PRId64,
                 envelope->src, envelope->seq);
        return;
    }
    if (item->action == RI_ACTION_REJECT) {
        /* The identity comes from the envelope even if the data was bad. */
        snprintf(item->event.id, sizeof item->event.id, "%s", envelope->id);
        snprintf(item->event.gateway, sizeof item->event.gateway, "%s", envelope->src);
        snprintf(item->event.type, sizeof item->event.type, "%s", envelope->type);
        item->event.seq = envelope->seq;
        snprintf(item->topic, sizeof item->topic, "%s", topic);
        item->raw = json_dumps(envelope->data, JSON_COMPACT);
        log_info("event_rejected", "gateway=%s seq=%" PRId64 " type=%s reason=\"%s\"",
                 envelope->src, envelope->seq, envelope->type, item->reason);
    }
    s_set_bit(g, envelope->seq, true);
    if (self->count == 0)
        self->batch_started = clock_mono_ms();
    self->count++;
    metrics_set(self->pending, (int64_t) self->count);
}

/* --- committing ---------------------------------------------------------------- */

/* The cursors the batch gives: for each gateway, the highest contiguous seq. */
static size_t s_cursors(ri_server_t *self, ri_cursor_t **out)
{
    size_t n = 0, cap = zhash_size(self->gateways);
    ri_cursor_t *cursors = calloc(cap ? cap : 1, sizeof *cursors);
    *out = cursors;
    if (!cursors)
        return 0;
    for (s_gateway_t *g = zhash_first(self->gateways); g; g = zhash_next(self->gateways)) {
        int64_t upto = g->upto;
        while (upto - g->upto < S_SEQ_WINDOW && s_bit(g, upto + 1))
            upto++;
        g->pending_upto = upto;
        if (upto > g->upto && n < cap) {
            snprintf(cursors[n].gateway, sizeof cursors[n].gateway, "%s", g->gateway);
            snprintf(cursors[n].branch, sizeof cursors[n].branch, "%s", g->branch);
            cursors[n].upto = upto;
            n++;
        }
    }
    return n;
}

static void s_publish_stored(ri_server_t *self, const ri_item_t *item,
                             const ri_figures_t *fig)
{
    const ri_event_t *e = &item->event;
    char when[CLOCK_RFC3339_SIZE];
    clock_format_rfc3339(e->event_ms, when);
    json_t *data = json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:i, s:f, s:b, s:b, s:o}",
                             "id", e->id, "gateway", e->gateway,
                             "window_id", (json_int_t) e->window_id,
                             "staff_id", (json_int_t) item->staff_id,
                             "employee_no", e->employee_no, "serial", e->serial,
                             "event_time", when, "option_code", e->option_code,
                             "score", item->option.score, "satisfied", item->option.satisfied,
                             "unsatisfied", item->option.unsatisfied,
                             "ticket", e->ticket[0] ? json_string(e->ticket) : json_null());
    if (data)
        json_object_set_new(data, "teller_today",
                            fig->known ? json_pack("{s:I, s:I, s:I}", "total",
                                                   (json_int_t) fig->total, "satisfied",
                                                   (json_int_t) fig->satisfied,
                                                   "unsatisfied",
                                                   (json_int_t) fig->unsatisfied)
                                       : json_null());
    if (data)
        bus_publish(self->bus, "rating.stored", item->window_path, &data, NULL);
}

static void s_send_acks(ri_server_t *self, bool all)
{
    if (!all && !self->acks_due)
        return;
    self->acks_due = false;
    for (s_gateway_t *g = zhash_first(self->gateways); g; g = zhash_next(self->gateways)) {
        if (!(g->ack_due || all) || g->upto <= 0 || !g->branch[0])
            continue;
        json_t *data = json_pack("{s:s, s:I}", "gateway", g->gateway, "upto",
                                 (json_int_t) g->upto);
        if (data)
            bus_publish(self->bus, "ack.ingest", g->branch, &data, NULL);
        g->ack_due = false;
    }
}

static void s_after_commit(ri_server_t *self)
{
    for (s_gateway_t *g = zhash_first(self->gateways); g; g = zhash_next(self->gateways)) {
        while (g->upto < g->pending_upto) {
            g->upto++;
            s_set_bit(g, g->upto, false);
            g->ack_due = true;
        }
    }
    uint64_t stored = 0, rejected = 0;
    ri_counters_add(self->counters, self->items, self->count, self->figures);
    for (size_t i = 0; i < self->count; i++) {
        ri_item_t *item = &self->items[i];
        if (item->action == RI_ACTION_RATING && item->stored) {
            stored++;
            s_publish_stored(self, item, &self->figures[i]);
        } else if (item->action == RI_ACTION_REJECT) {
            rejected++;
        }
        free(item->raw);
        item->raw = NULL;
    }
    metrics_add(self->stored, stored);
    metrics_add(self->rejected, rejected);
    metrics_add(self->batches, 1);
    log_debug("batch_committed", "events=%zu ratings=%" PRIu64 " rejected=%" PRIu64
              " commit_ms=%" PRId64, self->count, stored, rejected, self->commit_ms);
    self->count = 0;
    metrics_set(self->pending, 0);
    self->acks_due = true;
    s_send_acks(self, false);
}

/* A batch failed with the database reachable: one event at a time, and an
 * event that still fails is rejected with its SQL state. */
static int s_commit_one_by_one(ri_server_t *self, const ri_cursor_t *cursors, size_t n)
{
    for (size_t i = 0; i < self->count; i++) {
        ri_item_t *item = &self->items[i];
        if (ri_store_commit(self->store, item, 1, NULL, 0) == 0)
            continue;
        if (!ri_store_connected(self->store))
            return -1;
        s_reject(item, "store failed: the database refused the event (see the "
                       "rating-ingest log)");
        if (!item->raw)
            item->raw = strdup("{}");
        if (ri_store_commit(self->store, item, 1, NULL, 0) != 0)
            return -1;
    }
    return ri_store_commit(self->store, NULL, 0, cursors, n);
}

static void s_flush(ri_server_t *self)
{
    ri_cursor_t *cursors = NULL;
    size_t n = s_cursors(self, &cursors);
    int64_t started = clock_mono_ms();
    int rc = ri_store_commit(self->store, self->items, self->count, cursors, n);
    self->commit_ms = clock_mono_ms() - started;
    if (rc != 0 && ri_store_connected(self->store)) {
        log_warn("batch_retry_one_by_one", "events=%zu", self->count);
        rc = s_commit_one_by_one(self, cursors, n);
    }
    free(cursors);
    if (rc == 0) {
        if (self->db_down)
            log_info("ingest_resumed", "events=%zu", self->count);
        self->db_down = false;
        backoff_reset(&self->backoff);
        health_liveness_db(&self->liveness, 1);
        s_after_commit(self);
    } else {
        metrics_add(self->batch_failures, 1);
        if (!self->db_down)
            log_warn("ingest_paused", "reason=\"commit failed\" events=%zu", self->count);
        self->db_down = true;
        health_liveness_db(&self->liveness, 0);
        backoff_failed(&self->backoff);
    }
}

static void *s_loop(void *arg)
{
    ri_server_t *self = arg;
    while (!atomic_load(&self->stop)) {
        int64_t now = clock_mono_ms();
        health_liveness_beat(&self->liveness);
        int timeout = 200;
        if (self->count > 0 && !self->db_down) {
            int64_t left = self->batch_started + self->cfg.batch_delay_ms - now;
            timeout = left < 0 ? 0 : (int) left;
        }
        char *topic = NULL;
        envelope_t *envelope = NULL;
        if (bus_recv(self->bus, timeout, &topic, &envelope) == 1) {
            s_accept(self, topic, envelope);
            free(topic);
            envelope_destroy(&envelope);
        }
        now = clock_mono_ms();
        bool full = self->count >= (size_t) self->cfg.batch_max;
        bool late = self->count > 0 && now - self->batch_started >= self->cfg.batch_delay_ms;
        if ((full || late || (self->db_down && self->count > 0))
            && (!self->db_down || backoff_due(&self->backoff)))
            s_flush(self);
        if (self->db_down && self->count == 0 && backoff_due(&self->backoff)) {
            if (ri_store_ensure_partitions(self->store, 3) == 0) {
                log_info("ingest_resumed", "events=0");
                self->db_down = false;
                backoff_reset(&self->backoff);
                health_liveness_db(&self->liveness, 1);
            } else {
                backoff_failed(&self->backoff);
            }
        }
        if (!self->db_down && now - self->last_partitions >= S_PARTITIONS_MS) {
            self->last_partitions = now;
            if (ri_store_ensure_partitions(self->store, 3) != 0)
                log_warn("partitions_not_ensured", "reason=\"database error\"");
        }
        if (!self->db_down && self->count == 0
            && now - self->last_counters_check >= S_COUNTERS_CHECK_MS) {
            self->last_counters_check = now;
            if (ri_counters_need_rebuild(self->counters))
                ri_counters_rebuild(self->counters, self->store, self->ltree_prefixes);
        }
        if (now - self->last_reack >= S_REACK_MS) {
            self->last_reack = now;
            s_send_acks(self, true);
        } else if (self->count == 0) {
            s_send_acks(self, false);
        }
    }
    return NULL;
}

/* --- lifecycle ------------------------------------------------------------------- */

static int s_subscribe(ri_server_t *self)
{
    char *save = NULL;
    char *list = self->prefixes;
    bool any = false;
    /* Room for "{", every prefix with a separator, "}" and NUL. */
    self->ltree_prefixes = malloc(strlen(self->prefixes) + 3);
    if (!self->ltree_prefixes)
        return -1;
    strcpy(self->ltree_prefixes, "{");
    for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        while (*p == ' ')
            p++;
        if (!*p)
            continue;
        if (!envelope_org_path_valid(p, strlen(p))
            || self->nprefix == sizeof self->prefix / sizeof self->prefix[0]) {
            log_error("bad_prefix", "prefix=\"%s\" reason=\"not an org path, or more "
                      "than 64 prefixes\"", p);
            return -1;
        }
        self->prefix[self->nprefix++] = p;
        if (self->ltree_prefixes[1])
            strcat(self->ltree_prefixes, ",");
        strcat(self->ltree_prefixes, p);
        for (size_t i = 0; i < sizeof s_types / sizeof s_types[0]; i++) {
            char topic[ENVELOPE_TOPIC_MAX + 2];
            snprintf(topic, sizeof topic, "%s.%s", s_types[i], p);
            if (bus_subscribe(self->bus, topic) != 0)
                return -1;
        }
        any = true;
    }
    strcat(self->ltree_prefixes, "}");
    for (size_t i = 0; !any && i < sizeof s_types / sizeof s_types[0]; i++) {
        char topic[ENVELOPE_TYPE_MAX + 2];
        snprintf(topic, sizeof topic, "%s.", s_types[i]);
        if (bus_subscribe(self->bus, topic) != 0)
            return -1;
    }
    return 0;
}

ri_server_t *ri_server_new(pgstore_t **pg_p, const ri_server_config_t *config,
                           metrics_t *metrics)
{
    ri_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        pgstore_destroy(pg_p);
        return NULL;
    }
    self->cfg = *config;
    if (self->cfg.batch_max < 1)
        self->cfg.batch_max = 1;
    self->store = ri_store_new(pg_p);
    self->prefixes = strdup(config->prefixes ? config->prefixes : "");
    self->gateways = zhash_new();
    self->windows = zhash_new();
    self->items = calloc((size_t) self->cfg.batch_max, sizeof *self->items);
    self->figures = calloc((size_t) self->cfg.batch_max, sizeof *self->figures);
    self->counters = ri_counters_new(config->redis_url, config->src);
    backoff_init(&self->backoff, 100, 5000);
    self->received = metrics_counter(metrics, "events_received_total",
                                     "Gateway events received from the bus.");
    self->stored = metrics_counter(metrics, "ratings_stored_total", "Ratings committed.");
    self->rejected = metrics_counter(metrics, "events_rejected_total",
                                     "Events recorded in rejected_event.");
    self->duplicates = metrics_counter(metrics, "events_duplicate_total",
                                       "Events already committed or batched (re-acked).");
    self->dropped = metrics_counter(metrics, "events_dropped_total",
                                    "Events dropped unacknowledged (database down, buffer "
                                    "full); the gateways re-publish them.");
    self->batches = metrics_counter(metrics, "batches_total", "Batches committed.");
    self->batch_failures = metrics_counter(metrics, "batch_failures_total",
                                           "Batch commits that failed (retried).");
    self->pending = metrics_gauge(metrics, "batch_pending", "Events in the open batch.");
    if (!self->store || !self->prefixes || !self->gateways || !self->windows || !self->items
        || !self->figures || !self->counters
        || !self->received || !self->stored || !self->rejected || !self->duplicates
        || !self->dropped || !self->batches || !self->batch_failures || !self->pending)
        goto err;
    if (ri_store_ensure_partitions(self->store, 3) != 0
        || ri_store_cursors(self->store, s_load_cursor, self) != 0
        || ri_store_open_sessions(self->store, s_load_session, self) != 0) {
        log_error("ingest_start_failed", "reason=\"cannot load cursors and sessions\"");
        goto err;
    }
    self->bus = bus_new(config->bus_pub, config->bus_sub, config->src);
    if (!self->bus || s_subscribe(self) != 0)
        goto err;
    self->last_partitions = self->last_reack = clock_mono_ms();
    if (ri_counters_need_rebuild(self->counters))
        ri_counters_rebuild(self->counters, self->store, self->ltree_prefixes);
    self->last_counters_check = clock_mono_ms();
    health_liveness_init(&self->liveness);
    if (pthread_create(&self->thread, NULL, s_loop, self) != 0)
        goto err;
    log_info("ingest_started", "gateways=%zu windows=%zu prefixes=\"%s\" batch_max=%d "
             "batch_delay_ms=%d", zhash_size(self->gateways), zhash_size(self->windows),
             config->prefixes ? config->prefixes : "", self->cfg.batch_max,
             self->cfg.batch_delay_ms);
    return self;
err:
    log_error("ingest_start_failed", "reason=\"bus, database or memory\"");
    bus_destroy(&self->bus);
    ri_store_destroy(&self->store);
    ri_counters_destroy(&self->counters);
    zhash_destroy(&self->gateways);
    zhash_destroy(&self->windows);
    free(self->items);
    free(self->figures);
    free(self->prefixes);
    free(self->ltree_prefixes);
    free(self);
    return NULL;
}

void ri_server_destroy(ri_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ri_server_t *self = *self_p;
    atomic_store(&self->stop, 1);
    pthread_join(self->thread, NULL);
    /* A batch not committed is not acknowledged: the gateways replay it. */
    for (size_t i = 0; i < self->count; i++)
        free(self->items[i].raw);
    bus_destroy(&self->bus);
    ri_store_destroy(&self->store);
    ri_counters_destroy(&self->counters);
    zhash_destroy(&self->gateways);
    zhash_destroy(&self->windows);
    free(self->items);
    free(self->figures);
    free(self->prefixes);
    free(self->ltree_prefixes);
    free(self);
    *self_p = NULL;
}

health_liveness_t *ri_server_liveness(ri_server_t *self)
{
    return &self->liveness;
}
