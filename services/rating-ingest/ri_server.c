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
#include "eqms/id.h"
#include "eqms/jsonw.h"
#include "eqms/clock.h"
#include "eqms/log.h"
#include "ri_committer.h"
#include "ri_counters.h"
#include "ri_inbox.h"
#include "ri_prefixes.h"
#include "ri_store.h"
#include "ri_validate.h"

/* Seqs above a gateway's cursor tracked at once (2 KiB per gateway); further
 * ones are dropped unacknowledged until the cursor catches up (the gateway
 * re-publishes). Normally at most two batches (the one committing and the
 * one filling) plus a gap's worth are above the cursor. */
#define S_SEQ_WINDOW     16384
#define S_REACK_MS       30000
#define S_PARTITIONS_MS  (24 * 3600 * 1000)
#define S_WINDOW_TTL_MS  60000
/* A gap in a gateway's seqs open this long is asked to be replayed; the
 * request is repeated at most this often while the gap stays open. */
#define S_GAP_MS         200
/* Events taken from the inbox per turn of the loop, and the inbox's size. */
#define S_TAKE_MAX       256
#define S_INBOX_SIZE     1024
#define S_GAP_REPEAT_MS  1000

static const char *s_types[] = {
    "device.online", "device.offline", "device.unassigned", "device.assigned",
    "device.report_rejected", "staff.login",
    "staff.logout", "call.request", "call.recall", "call.pause", "service.start",
    "service.end", "rating.submitted", "rating.not_rated",
    "ticket.finished",   /* from queue-manager: binds the rating that follows */
};

/* One gateway journal: its seqs are gap-free within (gateway, incarnation)
 * (docs/protocol.md, "Journal incarnation"). */
typedef struct {
    char gateway[ENVELOPE_SRC_MAX + 1];
    char incarnation[ID_SIZE];
    char branch[RI_PATH_MAX + 1];
    int64_t upto;                      /* committed cursor */
    int64_t pending_upto;              /* cursor the batch in flight gives */
    int64_t contig;                    /* highest seq with all below taken */
    int64_t max_seen;                  /* highest seq taken */
    int64_t gap_since;                 /* monotonic ms a gap opened, 0 = none */
    int64_t gap_requested;             /* monotonic ms of the last replay.request */
    bool ack_due;
    uint8_t bits[S_SEQ_WINDOW / 8];    /* seqs > upto already in a batch */
} s_gateway_t;

struct ri_server_t {
    ri_server_config_t cfg;
    const ri_prefixes_t *prefixes;     /* borrowed: the share of the tree taken */
    ri_store_t *store;                 /* look-ups, partitions (this thread) */
    ri_committer_t *committer;         /* commits and counters (its thread) */
    ri_batch_t *buffers[2];            /* owned; the rest are aliases */
    ri_batch_t *open;                  /* filling */
    ri_batch_t *spare;                 /* the other buffer, when not in flight */
    ri_batch_t *retry;                 /* came back uncommitted: submit again */
    bus_t *bus;                        /* publishing only */
    jsonw_t writer;                    /* rating.stored data (heap buffer) */
    ri_inbox_t *inbox;                 /* receiving and decoding (its thread) */
    pthread_t thread;
    _Atomic int stop;
    health_liveness_t liveness;    /* read by the health port */
    zhash_t *gateways;                 /* src -> s_gateway_t */
    zhash_t *windows;                  /* window id -> ri_window_state_t */
    bool db_down;
    bool acks_due;                     /* some gateway has ack_due */
    backoff_t backoff;
    int64_t last_reack;
    int64_t last_gap_check;
    int64_t last_partitions;
    metrics_counter_t *received, *stored, *rejected, *duplicates, *dropped, *batches,
        *batch_failures, *replay_requests;
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

/* Marks `seq` (above the cursor) as taken into a batch. */
static void s_take_seq(s_gateway_t *g, int64_t seq)
{
    s_set_bit(g, seq, true);
    if (seq > g->max_seen)
        g->max_seen = seq;
    while (g->contig - g->upto < S_SEQ_WINDOW && s_bit(g, g->contig + 1))
        g->contig++;
}

/* The journal (src, incarnation), created on first sight. */
static s_gateway_t *s_gateway(ri_server_t *self, const char *src, const char *incarnation,
                              const char *branch)
{
    char key[ENVELOPE_SRC_MAX + ID_SIZE + 2];
    snprintf(key, sizeof key, "%s/%s", src, incarnation);
    s_gateway_t *g = zhash_lookup(self->gateways, key);
    if (g)
        return g;
    g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    snprintf(g->gateway, sizeof g->gateway, "%s", src);
    snprintf(g->incarnation, sizeof g->incarnation, "%s", incarnation);
    snprintf(g->branch, sizeof g->branch, "%s", branch);
    if (zhash_insert(self->gateways, key, g) != 0) {
        free(g);
        return NULL;
    }
    zhash_freefn(self->gateways, key, free);
    return g;
}

static void s_load_cursor(void *ctx, const char *gateway, const char *incarnation,
                          const char *branch, int64_t upto)
{
    s_gateway_t *g = s_gateway(ctx, gateway, incarnation, branch);
    if (g)
        g->upto = g->pending_upto = g->contig = g->max_seen = upto;
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

static void s_set_ticket(ri_window_state_t *state, const char *ticket_id,
                         const char *number, int64_t finished_ms)
{
    snprintf(state->last_ticket_id, sizeof state->last_ticket_id, "%s", ticket_id);
    snprintf(state->last_ticket, sizeof state->last_ticket, "%s", number);
    state->last_ticket_ms = finished_ms;
}

static void s_load_ticket(void *ctx, int64_t window_id, const char *ticket_id,
                          const char *number, int64_t finished_ms)
{
    ri_window_state_t *state = s_window_state(ctx, window_id);
    if (state)
        s_set_ticket(state, ticket_id, number, finished_ms);
}

/* ticket.finished from queue-manager: the ticket a rating at that window
 * that follows will rate (docs/protocol.md, "queue-manager requests"). */
static void s_on_ticket_finished(ri_server_t *self, const envelope_t *envelope)
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
    ri_window_state_t *state = s_window_state(self, window_id);
    if (state && at_ms >= state->last_ticket_ms)
        s_set_ticket(state, ticket_id, number, at_ms);
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
        item->action = ri_device_status(e->type) ? RI_ACTION_DEVICE : RI_ACTION_NONE;
        return 0;
    }
    if (ri_validate_clock(e, self->cfg.max_skew_s, self->cfg.max_age_s, item->reason) != 0) {
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
        const char *ticket_id = ri_rating_ticket(e, &window, state);
        snprintf(item->ticket_id, sizeof item->ticket_id, "%s", ticket_id ? ticket_id : "");
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
                item->left_window = strtoll(zhash_cursor(self->windows), NULL, 10);
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

/* True if the topic's org path is taken by this worker (whole labels: the
 * subscription "rating.submitted.hq.r01" also delivers hq.r010). */
static bool s_taken(const ri_server_t *self, const char *topic, const char *type)
{
    return ri_prefixes_take(self->prefixes, topic + strlen(type) + 1);
}

/* Takes one received event into the batch (or drops it). */
static void s_accept(ri_server_t *self, ri_inbox_item_t *received)
{
    const char *topic = received->topic;
    const envelope_t *envelope = &received->envelope;
    if (strcmp(envelope->type, "ticket.finished") == 0) {
        if (s_taken(self, topic, envelope->type))
            s_on_ticket_finished(self, envelope);
        return;
    }
    if (!s_taken(self, topic, envelope->type))
        return;
    metrics_add(self->received, 1);
    /* Decoded in one pass, the event has the branch (checked, never cut)
     * and the envelope no data object. */
    const char *branch = received->event.branch;
    if (envelope->data) {
        json_t *branch_j = json_object_get(envelope->data, "branch");
        branch = json_is_string(branch_j) ? json_string_value(branch_j) : "";
    }
    if (!envelope_org_path_valid(branch, strlen(branch))) {
        /* Without a branch no ack can reach the gateway: record it anyway. */
        branch = "";
    }
    /* An event without a valid incarnation is rejected as malformed; it is
     * counted in the nil incarnation's sequence. */
    const char *incarnation = received->event.incarnation;
    if (envelope->data) {
        json_t *inc_j = json_object_get(envelope->data, "incarnation");
        incarnation = json_is_string(inc_j) && id_v7_or_nil(json_string_value(inc_j))
                      ? json_string_value(inc_j) : ID_NIL;
    }
    s_gateway_t *g = s_gateway(self, envelope->src, incarnation, branch);
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
    ri_batch_t *batch = self->open;
    if (self->db_down || envelope->seq - g->upto > S_SEQ_WINDOW
        || batch->count >= batch->cap) {
        metrics_add(self->dropped, 1);
        return;
    }
    ri_item_t *item = &batch->items[batch->count];
    memset(item, 0, sizeof *item);
    item->event = received->event;
    if (received->decoded != 0) {
        s_reject(item, received->reason);
    } else if (strcmp(envelope->type, "device.report_rejected") == 0) {
        /* a stored event the gateway could not decode: recorded, never a fact */
        const char *why = json_string_value(json_object_get(ri_inbox_data(received),
                                                            "reason"));
        snprintf(item->reason, sizeof item->reason, "undecodable report: %s",
                 why ? why : "(no reason given)");
        s_reject(item, item->reason);
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
        snprintf(item->event.incarnation, sizeof item->event.incarnation, "%s",
                 g->incarnation);
        snprintf(item->event.type, sizeof item->event.type, "%s", envelope->type);
        item->event.seq = envelope->seq;
        snprintf(item->topic, sizeof item->topic, "%s", topic);
        item->raw = json_dumps(ri_inbox_data(received), JSON_COMPACT);
        log_info("event_rejected", "gateway=%s seq=%" PRId64 " type=%s reason=\"%s\"",
                 envelope->src, envelope->seq, envelope->type, item->reason);
    }
    s_take_seq(g, envelope->seq);
    if (batch->count == 0)
        batch->started_ms = clock_mono_ms();
    batch->count++;
    metrics_set(self->pending, (int64_t) batch->count);
}

/* --- committing ---------------------------------------------------------------- */

/* The cursors the open batch gives: for each gateway, the highest
 * contiguous seq. -1 if memory ran out. */
static int s_cursors(ri_server_t *self, ri_batch_t *batch)
{
    size_t n = 0, cap = zhash_size(self->gateways);
    ri_cursor_t *cursors = calloc(cap ? cap : 1, sizeof *cursors);
    if (!cursors)
        return -1;
    for (s_gateway_t *g = zhash_first(self->gateways); g; g = zhash_next(self->gateways)) {
        int64_t upto = g->contig;
        g->pending_upto = upto;
        if (upto > g->upto && n < cap) {
            snprintf(cursors[n].gateway, sizeof cursors[n].gateway, "%s", g->gateway);
            snprintf(cursors[n].incarnation, sizeof cursors[n].incarnation, "%s",
                     g->incarnation);
            snprintf(cursors[n].branch, sizeof cursors[n].branch, "%s", g->branch);
            cursors[n].upto = upto;
            n++;
        }
    }
    free(batch->cursors);
    batch->cursors = cursors;
    batch->ncursors = n;
    return 0;
}

/* rating.stored for one new rating, written without jansson objects (one
 * per rating at full rate: docs/benchmarks.md). */
static void s_publish_stored(ri_server_t *self, const ri_item_t *item,
                             const ri_figures_t *fig)
{
    const ri_event_t *e = &item->event;
    char when[CLOCK_RFC3339_SIZE];
    clock_format_rfc3339(e->event_ms, when);
    jsonw_t *w = &self->writer;
    jsonw_reset(w);
    jsonw_str(w, "id", e->id);
    jsonw_str(w, "gateway", e->gateway);
    jsonw_int(w, "window_id", e->window_id);
    jsonw_int(w, "staff_id", item->staff_id);
    jsonw_str(w, "employee_no", e->employee_no);
    jsonw_str(w, "serial", e->serial);
    jsonw_str(w, "event_time", when);
    jsonw_int(w, "option_code", e->option_code);
    jsonw_double(w, "score", item->option.score);
    jsonw_bool(w, "satisfied", item->option.satisfied);
    jsonw_bool(w, "unsatisfied", item->option.unsatisfied);
    if (e->ticket[0])
        jsonw_str(w, "ticket", e->ticket);
    else
        jsonw_null(w, "ticket");
    if (item->ticket_id[0])
        jsonw_str(w, "ticket_id", item->ticket_id);
    else
        jsonw_null(w, "ticket_id");
    if (fig->known) {
        jsonw_object_begin(w, "teller_today");
        jsonw_int(w, "total", fig->total);
        jsonw_int(w, "satisfied", fig->satisfied);
        jsonw_int(w, "unsatisfied", fig->unsatisfied);
        jsonw_object_end(w);
    } else {
        jsonw_null(w, "teller_today");
    }
    if (jsonw_finish(w) == 0)
        bus_publish_jsonw(self->bus, "rating.stored", item->window_path, w, NULL);
    else
        log_warn("rating_stored_not_published", "id=%s reason=\"%s\"", e->id,
                 "unencodable");
}

static void s_send_acks(ri_server_t *self, bool all)
{
    if (!all && !self->acks_due)
        return;
    self->acks_due = false;
    for (s_gateway_t *g = zhash_first(self->gateways); g; g = zhash_next(self->gateways)) {
        if (!(g->ack_due || all) || g->upto <= 0 || !g->branch[0])
            continue;
        json_t *data = json_pack("{s:s, s:s, s:I}", "gateway", g->gateway, "incarnation",
                                 g->incarnation, "upto", (json_int_t) g->upto);
        if (data)
            bus_publish(self->bus, "ack.ingest", g->branch, &data, NULL);
        g->ack_due = false;
    }
}

/* Asks a gateway to replay the first missing run of its seqs. */
static void s_request_replay(ri_server_t *self, s_gateway_t *g)
{
    int64_t from = g->contig + 1, to = from;
    while (to + 1 < g->max_seen && !s_bit(g, to + 1))
        to++;
    json_t *data = json_pack("{s:s, s:s, s:I, s:I}", "gateway", g->gateway, "incarnation",
                             g->incarnation, "from", (json_int_t) from, "to",
                             (json_int_t) to);
    if (data && bus_publish(self->bus, "replay.request", g->branch, &data, NULL) == 0) {
        metrics_add(self->replay_requests, 1);
        log_info("replay_requested", "gateway=%s incarnation=%s from=%" PRId64 " to=%"
                 PRId64 " highest_seen=%" PRId64, g->gateway, g->incarnation, from, to,
                 g->max_seen);
    }
}

/* A gap (a seq missing below one already taken) that stays open S_GAP_MS
 * is asked to be replayed, again every S_GAP_REPEAT_MS while it stays. A
 * lost tail (nothing after it) shows no gap: the gateway's own periodic
 * replay brings it. */
static void s_check_gaps(ri_server_t *self, int64_t now)
{
    if (now - self->last_gap_check < S_GAP_MS / 2 || self->db_down)
        return;
    self->last_gap_check = now;
    for (s_gateway_t *g = zhash_first(self->gateways); g; g = zhash_next(self->gateways)) {
        if (g->max_seen <= g->contig || !g->branch[0]) {
            g->gap_since = 0;
            continue;
        }
        if (g->gap_since == 0)
            g->gap_since = now;
        if (now - g->gap_since >= S_GAP_MS && now - g->gap_requested >= S_GAP_REPEAT_MS) {
            g->gap_requested = now;
            s_request_replay(self, g);
        }
    }
}

static void s_after_commit(ri_server_t *self, ri_batch_t *batch)
{
    for (s_gateway_t *g = zhash_first(self->gateways); g; g = zhash_next(self->gateways)) {
        while (g->upto < g->pending_upto) {
            g->upto++;
            s_set_bit(g, g->upto, false);
            g->ack_due = true;
        }
    }
    uint64_t stored = 0, rejected = 0, duplicates = 0;
    for (size_t i = 0; i < batch->count; i++) {
        const ri_item_t *item = &batch->items[i];
        if (item->duplicate) {
            duplicates++;
            log_info("event_duplicate", "id=%s gateway=%s seq=%" PRId64 " type=%s "
                     "reason=\"envelope id decided before\"", item->event.id,
                     item->event.gateway, item->event.seq, item->event.type);
        } else if (item->action == RI_ACTION_RATING && item->stored) {
            stored++;
            s_publish_stored(self, item, &batch->figures[i]);
        } else if (item->action == RI_ACTION_REJECT) {
            rejected++;
        }
    }
    metrics_add(self->stored, stored);
    metrics_add(self->rejected, rejected);
    metrics_add(self->duplicates, duplicates);
    metrics_add(self->batches, 1);
    log_debug("batch_committed", "events=%zu ratings=%" PRIu64 " rejected=%" PRIu64
              " commit_ms=%" PRId64, batch->count, stored, rejected, batch->commit_ms);
    self->acks_due = true;
    s_send_acks(self, false);
}

/* Takes back a batch the committer finished, if any. */
static void s_collect(ri_server_t *self)
{
    ri_batch_t *batch = ri_committer_done(self->committer);
    if (!batch)
        return;
    if (batch->rc == 0) {
        if (self->db_down)
            log_info("ingest_resumed", "events=%zu", batch->count);
        self->db_down = false;
        backoff_reset(&self->backoff);
        health_liveness_db(&self->liveness, 1);
        s_after_commit(self, batch);
        ri_batch_clear(batch);
        self->spare = batch;
    } else {
        metrics_add(self->batch_failures, 1);
        if (!self->db_down)
            log_warn("ingest_paused", "reason=\"commit failed\" events=%zu", batch->count);
        self->db_down = true;
        health_liveness_db(&self->liveness, 0);
        backoff_failed(&self->backoff);
        self->retry = batch;
    }
}

/* Hands the next batch to the committer when it is free: a failed one again
 * (after the backoff), else the open one once full or late. */
static void s_submit(ri_server_t *self, int64_t now)
{
    if (ri_committer_busy(self->committer))
        return;
    if (self->retry) {
        if (backoff_due(&self->backoff) && ri_committer_submit(self->committer,
                                                               self->retry) == 0)
            self->retry = NULL;
        return;
    }
    ri_batch_t *batch = self->open;
    if (batch->count == 0 || !self->spare)
        return;
    bool full = batch->count >= batch->cap;
    bool late = now - batch->started_ms >= self->cfg.batch_delay_ms;
    if (self->db_down ? !backoff_due(&self->backoff) : !(full || late))
        return;
    if (s_cursors(self, batch) != 0 || ri_committer_submit(self->committer, batch) != 0)
        return;
    self->open = self->spare;
    self->spare = NULL;
    metrics_set(self->pending, 0);
}

static void *s_loop(void *arg)
{
    ri_server_t *self = arg;
    while (!atomic_load(&self->stop)) {
        int64_t now = clock_mono_ms();
        health_liveness_beat(&self->liveness);
        int timeout = 200;
        bool due = false;
        if (self->open->count > 0 && !self->db_down) {
            int64_t left = self->open->started_ms + self->cfg.batch_delay_ms - now;
            timeout = left < 0 ? 0 : (int) left;
            due = left <= 0 || self->open->count >= self->open->cap;
        }
        if (ri_committer_busy(self->committer)) {
            if (due) {
                /* Nothing can be handed over before the committer is free:
                 * wait for it rather than spin (the inbox, then the bus,
                 * queue meanwhile), then take what came. */
                ri_committer_wait(self->committer,
                                  self->open->count >= self->open->cap ? 100 : 1);
                timeout = 0;
            } else if (timeout > 1) {
                timeout = 1;   /* look for the result soon */
            }
        }
        /* Up to S_TAKE_MAX events per turn. */
        for (int n = 0; n < S_TAKE_MAX && self->open->count < self->open->cap; n++) {
            ri_inbox_item_t *item = ri_inbox_take(self->inbox, n == 0 ? timeout : 0);
            if (!item)
                break;
            s_accept(self, item);
            ri_inbox_release(self->inbox, item);
        }
        now = clock_mono_ms();
        s_collect(self);
        s_submit(self, now);
        s_check_gaps(self, now);
        bool idle = self->open->count == 0 && !self->retry
                    && !ri_committer_busy(self->committer);
        if (self->db_down && idle && backoff_due(&self->backoff)) {
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
        if (now - self->last_reack >= S_REACK_MS) {
            self->last_reack = now;
            s_send_acks(self, true);
        } else if (idle) {
            s_send_acks(self, false);
        }
    }
    return NULL;
}

/* --- lifecycle ------------------------------------------------------------------- */

ri_server_t *ri_server_new(pgstore_t **pg_p, const ri_server_config_t *config,
                           metrics_t *metrics)
{
    ri_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        pgstore_destroy(pg_p);
        return NULL;
    }
    self->cfg = *config;
    jsonw_init(&self->writer, NULL, 0);
    if (self->cfg.batch_max < 1)
        self->cfg.batch_max = 1;
    self->store = ri_store_new(pg_p);
    self->prefixes = config->prefixes;
    self->gateways = zhash_new();
    self->windows = zhash_new();
    for (int i = 0; i < 2; i++)
        self->buffers[i] = ri_batch_new((size_t) self->cfg.batch_max);
    self->open = self->buffers[0];
    self->spare = self->buffers[1];
    ri_counters_t *counters = ri_counters_new(config->redis_url, config->src);
    pgstore_t *commit_pg = pgstore_new(config->pg_conninfo);
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
    self->replay_requests = metrics_counter(metrics, "replay_requests_total",
                                            "replay.request messages sent for seq gaps.");
    if (!self->store || !self->gateways || !self->windows
        || !self->buffers[0] || !self->buffers[1] || !counters || !commit_pg
        || !self->received || !self->stored || !self->rejected || !self->duplicates
        || !self->dropped || !self->batches || !self->batch_failures || !self->pending
        || !self->replay_requests)
        goto err;
    if (ri_store_ensure_partitions(self->store, 3) != 0
        || ri_store_cursors(self->store, s_load_cursor, self) != 0
        || ri_store_open_sessions(self->store, s_load_session, self) != 0
        || ri_store_last_tickets(self->store, s_load_ticket, self) != 0) {
        log_error("ingest_start_failed", "reason=\"cannot load cursors and sessions\"");
        goto err;
    }
    self->bus = bus_new(config->bus_pub, NULL, config->src);
    bus_t *sub = bus_new(NULL, config->bus_sub, config->src);
    if (!self->bus || !sub
        || ri_prefixes_subscribe(self->prefixes, sub, s_types,
                                 sizeof s_types / sizeof s_types[0]) != 0) {
        bus_destroy(&sub);
        goto err;
    }
    self->inbox = ri_inbox_new(&sub, S_INBOX_SIZE);
    if (!self->inbox)
        goto err;
    self->committer = ri_committer_new(&commit_pg, &counters,
                                       ri_prefixes_ltree(self->prefixes));
    if (!self->committer)
        goto err;
    self->last_partitions = self->last_reack = clock_mono_ms();
    health_liveness_init(&self->liveness);
    if (pthread_create(&self->thread, NULL, s_loop, self) != 0)
        goto err;
    log_info("ingest_started", "gateways=%zu windows=%zu prefixes=\"%s\" batch_max=%d "
             "batch_delay_ms=%d", zhash_size(self->gateways), zhash_size(self->windows),
             ri_prefixes_ltree(self->prefixes), self->cfg.batch_max,
             self->cfg.batch_delay_ms);
    return self;
err:
    log_error("ingest_start_failed", "reason=\"bus, database or memory\"");
    ri_committer_destroy(&self->committer);
    ri_inbox_destroy(&self->inbox);
    ri_counters_destroy(&counters);
    pgstore_destroy(&commit_pg);
    bus_destroy(&self->bus);
    ri_store_destroy(&self->store);
    zhash_destroy(&self->gateways);
    zhash_destroy(&self->windows);
    ri_batch_destroy(&self->buffers[0]);
    ri_batch_destroy(&self->buffers[1]);
    jsonw_release(&self->writer);
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
    /* The batch in flight finishes; its acks are not sent, nor those of the
     * open batch: the gateways replay them and the replay finds them
     * committed (or commits them). */
    ri_committer_destroy(&self->committer);
    ri_inbox_destroy(&self->inbox);
    bus_destroy(&self->bus);
    ri_store_destroy(&self->store);
    zhash_destroy(&self->gateways);
    zhash_destroy(&self->windows);
    ri_batch_destroy(&self->buffers[0]);
    ri_batch_destroy(&self->buffers[1]);
    jsonw_release(&self->writer);
    free(self);
    *self_p = NULL;
}

health_liveness_t *ri_server_liveness(ri_server_t *self)
{
    return &self->liveness;
}
