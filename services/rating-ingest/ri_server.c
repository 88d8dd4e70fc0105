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
#include "ri_decide.h"
#include "ri_inbox.h"
#include "ri_journal.h"
#include "ri_logins.h"
#include "ri_prefixes.h"
#include "ri_store.h"
#include "ri_validate.h"

#define S_REACK_MS       30000
#define S_PARTITIONS_MS  (24 * 3600 * 1000)
/* A gap in a gateway's seqs open this long is asked to be replayed; the
 * request is repeated at most this often while the gap stays open. */
#define S_GAP_MS         200
#define S_GAP_REPEAT_MS  1000
/* Events taken from the inbox per turn of the loop, and the inbox's size. */
#define S_TAKE_MAX       256
#define S_INBOX_SIZE     1024
/* Events held after gaps, all journals together (about 2 KiB each); more are
 * dropped unacknowledged (the gateways send them again). */
#define S_HELD_MAX       4096

static const char *s_types[] = {
    "device.online", "device.offline", "device.unassigned", "device.assigned",
    "device.report_rejected", "staff.login",
    "staff.logout", "call.request", "call.recall", "call.pause", "service.start",
    "service.end", "rating.submitted", "rating.not_rated",
    "ticket.finished",   /* from queue-manager: binds the rating that follows */
};

struct ri_server_t {
    ri_server_config_t cfg;
    const ri_prefixes_t *prefixes;     /* borrowed: the share of the tree taken */
    ri_store_t *store;                 /* look-ups, partitions (this thread) */
    ri_decider_t *decider;             /* what each event becomes */
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
    zhash_t *journals;                 /* "src/incarnation" -> ri_journal_t */
    size_t held;                       /* events held in all journals */
    bool db_down;
    bool acks_due;                     /* some journal has ack_due */
    backoff_t backoff;
    int64_t last_reack;
    int64_t last_gap_check;
    int64_t last_partitions;
    int64_t last_tickets;
    metrics_counter_t *received, *stored, *rejected, *duplicates, *dropped, *batches,
        *batch_failures, *replay_requests, *past_gap, *late;
    metrics_gauge_t *pending, *held_gauge;
};

/* --- gateway journals ---------------------------------------------------------- */

static void s_journal_free(void *journal)
{
    ri_journal_t *j = journal;
    ri_journal_destroy(&j, ri_inbox_item_free);
}

/* The journal (src, incarnation), created on first sight with its cursor
 * at `upto`. NULL if memory ran out. */
static ri_journal_t *s_journal(ri_server_t *self, const char *src, const char *incarnation,
                               const char *branch, int64_t upto)
{
    char key[ENVELOPE_SRC_MAX + ID_SIZE + 2];
    snprintf(key, sizeof key, "%s/%s", src, incarnation);
    ri_journal_t *j = zhash_lookup(self->journals, key);
    if (j)
        return j;
    j = ri_journal_new(src, incarnation, branch, upto);
    if (!j || zhash_insert(self->journals, key, j) != 0) {
        ri_journal_destroy(&j, NULL);
        return NULL;
    }
    zhash_freefn(self->journals, key, s_journal_free);
    return j;
}

static void s_load_cursor(void *ctx, const char *gateway, const char *incarnation,
                          const char *branch, int64_t upto)
{
    s_journal(ctx, gateway, incarnation, branch, upto);
}

/* --- deciding events ---------------------------------------------------------- */

/* True if the topic's org path is taken by this worker (whole labels: the
 * subscription "rating.submitted.hq.r01" also delivers hq.r010). */
static bool s_taken(const ri_server_t *self, const char *topic, const char *type)
{
    return ri_prefixes_take(self->prefixes, topic + strlen(type) + 1);
}

/* Decides a received event into the open batch. Returns true if it went
 * in; false if it was dropped unacknowledged (database down, batch full):
 * the gateway sends it again. */
static bool s_decide_into(ri_server_t *self, ri_journal_t *j, ri_inbox_item_t *received)
{
    const envelope_t *envelope = &received->envelope;
    ri_batch_t *batch = self->open;
    if (self->db_down || batch->count >= batch->cap) {
        metrics_add(self->dropped, 1);
        return false;
    }
    ri_item_t *item = &batch->items[batch->count];
    memset(item, 0, sizeof *item);
    item->event = received->event;
    if (received->decoded != 0) {
        item->action = RI_ACTION_REJECT;
        snprintf(item->reason, sizeof item->reason, "%s", received->reason);
    } else if (strcmp(envelope->type, "device.report_rejected") == 0) {
        /* a stored event the gateway could not decode: recorded, never a fact */
        const char *why = json_string_value(json_object_get(ri_inbox_data(received),
                                                            "reason"));
        item->action = RI_ACTION_REJECT;
        snprintf(item->reason, sizeof item->reason, "undecodable report: %s",
                 why ? why : "(no reason given)");
    } else if (ri_decider_decide(self->decider, item) != 0) {
        self->db_down = true;
        backoff_failed(&self->backoff);
        health_liveness_db(&self->liveness, 0);
        metrics_add(self->dropped, 1);
        log_warn("ingest_paused", "reason=\"database unavailable\" gateway=%s seq=%" PRId64,
                 envelope->src, envelope->seq);
        return false;
    }
    if (item->action == RI_ACTION_REJECT) {
        /* The identity comes from the envelope even if the data was bad. */
        snprintf(item->event.id, sizeof item->event.id, "%s", envelope->id);
        snprintf(item->event.gateway, sizeof item->event.gateway, "%s", envelope->src);
        snprintf(item->event.incarnation, sizeof item->event.incarnation, "%s",
                 j->incarnation);
        snprintf(item->event.type, sizeof item->event.type, "%s", envelope->type);
        item->event.seq = envelope->seq;
        snprintf(item->topic, sizeof item->topic, "%s", received->topic);
        item->raw = json_dumps(ri_inbox_data(received), JSON_COMPACT);
        log_info("event_rejected", "gateway=%s seq=%" PRId64 " type=%s reason=\"%s\"",
                 envelope->src, envelope->seq, envelope->type, item->reason);
    }
    ri_journal_decided(j, envelope->seq);
    if (batch->count == 0)
        batch->started_ms = clock_mono_ms();
    batch->count++;
    metrics_set(self->pending, (int64_t) batch->count);
    return true;
}

/* Decides the journal's held events whose turn came: the next in sequence
 * order, or the oldest once it has waited hold_ms (the seqs missing before
 * it are then decided when they come). */
static void s_release(ri_server_t *self, ri_journal_t *j, int64_t now)
{
    bool timed_out;
    const ri_held_t *h;
    while (!self->db_down && self->open->count < self->open->cap
           && (h = ri_journal_due(j, now, self->cfg.hold_ms, &timed_out))) {
        int64_t seq = h->seq, missing_from = j->next, held_ms = now - h->held_ms;
        ri_inbox_item_t *event = ri_journal_take(j);
        self->held--;
        if (timed_out) {
            metrics_add(self->past_gap, 1);
            log_warn("events_decided_past_gap", "gateway=%s incarnation=%s missing_from=%"
                     PRId64 " missing_to=%" PRId64 " held_ms=%" PRId64,
                     j->gateway, j->incarnation, missing_from, seq - 1, held_ms);
        }
        s_decide_into(self, j, event);
        ri_inbox_item_free(event);
    }
    metrics_set(self->held_gauge, (int64_t) self->held);
}

static void s_release_all(ri_server_t *self, int64_t now)
{
    if (self->held == 0)
        return;
    for (ri_journal_t *j = zhash_first(self->journals); j; j = zhash_next(self->journals))
        if (j->count > 0)
            s_release(self, j, now);
}

/* Holds an event that follows a gap until its turn. */
static void s_hold(ri_server_t *self, ri_journal_t *j, const ri_inbox_item_t *received,
                   int64_t now)
{
    ri_inbox_item_t *copy = NULL;
    if (self->db_down || self->held >= S_HELD_MAX
        || !(copy = ri_inbox_item_copy(received))
        || ri_journal_hold(j, received->envelope.seq, copy, now) != 0) {
        ri_inbox_item_free(copy);
        metrics_add(self->dropped, 1);
        return;
    }
    self->held++;
    metrics_set(self->held_gauge, (int64_t) self->held);
    log_debug("event_held", "gateway=%s incarnation=%s seq=%" PRId64 " next=%" PRId64,
              j->gateway, j->incarnation, received->envelope.seq, j->next);
}

/* Takes one received event: decided now (in its gateway's sequence order),
 * held until its turn, re-acknowledged as a duplicate, or dropped. */
static void s_accept(ri_server_t *self, ri_inbox_item_t *received)
{
    const char *topic = received->topic;
    const envelope_t *envelope = &received->envelope;
    if (strcmp(envelope->type, "ticket.finished") == 0) {
        if (s_taken(self, topic, envelope->type))
            ri_decider_ticket_finished(self->decider, envelope);
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
    ri_journal_t *j = s_journal(self, envelope->src, incarnation, branch, 0);
    if (!j) {
        metrics_add(self->dropped, 1);
        return;
    }
    if (branch[0] && strcmp(j->branch, branch) != 0)
        snprintf(j->branch, sizeof j->branch, "%s", branch);
    int64_t now = clock_mono_ms();
    switch (ri_journal_arrival(j, envelope->seq)) {
    case RI_JOURNAL_DUPLICATE:
        metrics_add(self->duplicates, 1);
        j->ack_due = true;
        self->acks_due = true;
        return;
    case RI_JOURNAL_BEYOND:
        metrics_add(self->dropped, 1);
        return;
    case RI_JOURNAL_HOLD:
        s_hold(self, j, received, now);
        return;
    case RI_JOURNAL_LATE:
        metrics_add(self->late, 1);
        log_info("event_late", "gateway=%s incarnation=%s seq=%" PRId64 " type=%s "
                 "reason=\"its successors were decided when the gap was not filled in "
                 "time\"", envelope->src, incarnation, envelope->seq, envelope->type);
        s_decide_into(self, j, received);
        return;
    case RI_JOURNAL_NOW:
        if (s_decide_into(self, j, received))
            s_release(self, j, now);
        return;
    }
}

/* Takes the logins and logouts decided from queue-manager's events into
 * the open batch, as far as it has room (the rest wait for the next). */
static void s_take_logins(ri_server_t *self)
{
    ri_batch_t *batch = self->open;
    while (!self->db_down && batch->count < batch->cap
           && ri_decider_take_login(self->decider, &batch->items[batch->count])) {
        if (batch->count == 0)
            batch->started_ms = clock_mono_ms();
        batch->count++;
    }
    metrics_set(self->pending, (int64_t) batch->count);
}

/* --- committing ---------------------------------------------------------------- */

/* The cursors the open batch gives: for each journal, the highest seq
 * below which every seq is decided. -1 if memory ran out. */
static int s_cursors(ri_server_t *self, ri_batch_t *batch)
{
    size_t n = 0, cap = zhash_size(self->journals);
    ri_cursor_t *cursors = calloc(cap ? cap : 1, sizeof *cursors);
    if (!cursors)
        return -1;
    for (ri_journal_t *j = zhash_first(self->journals); j; j = zhash_next(self->journals)) {
        int64_t upto = ri_journal_submit(j);
        if (upto > j->upto && n < cap) {
            snprintf(cursors[n].gateway, sizeof cursors[n].gateway, "%s", j->gateway);
            snprintf(cursors[n].incarnation, sizeof cursors[n].incarnation, "%s",
                     j->incarnation);
            snprintf(cursors[n].branch, sizeof cursors[n].branch, "%s", j->branch);
            cursors[n].upto = upto;
            n++;
        }
    }
    /* queue-manager's logins journals: each as far as its last login in
     * the batch (they come in their journal's order). */
    for (size_t i = 0; i < batch->count; i++) {
        const ri_event_t *e = &batch->items[i].event;
        if (!ri_logins_journal(e->gateway))
            continue;
        size_t k = 0;
        while (k < n && strcmp(cursors[k].gateway, e->gateway) != 0)
            k++;
        if (k == n) {
            ri_cursor_t *grown = realloc(cursors, (n + 1) * sizeof *cursors);
            if (!grown) {
                free(cursors);
                return -1;
            }
            cursors = grown;
            snprintf(cursors[n].gateway, sizeof cursors[n].gateway, "%s", e->gateway);
            snprintf(cursors[n].incarnation, sizeof cursors[n].incarnation, "%s", ID_NIL);
            snprintf(cursors[n].branch, sizeof cursors[n].branch, "%s", e->branch);
            n++;
        }
        cursors[k].upto = e->seq;
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
    for (ri_journal_t *j = zhash_first(self->journals); j; j = zhash_next(self->journals)) {
        if (!(j->ack_due || all) || j->upto <= 0 || !j->branch[0])
            continue;
        json_t *data = json_pack("{s:s, s:s, s:I}", "gateway", j->gateway, "incarnation",
                                 j->incarnation, "upto", (json_int_t) j->upto);
        if (data)
            bus_publish(self->bus, "ack.ingest", j->branch, &data, NULL);
        j->ack_due = false;
    }
}

/* Asks a gateway to replay a run of missing seqs. */
static void s_request_replay(ri_server_t *self, ri_journal_t *j, int64_t from, int64_t to)
{
    json_t *data = json_pack("{s:s, s:s, s:I, s:I}", "gateway", j->gateway, "incarnation",
                             j->incarnation, "from", (json_int_t) from, "to",
                             (json_int_t) to);
    if (data && bus_publish(self->bus, "replay.request", j->branch, &data, NULL) == 0) {
        metrics_add(self->replay_requests, 1);
        log_info("replay_requested", "gateway=%s incarnation=%s from=%" PRId64 " to=%"
                 PRId64 " highest_seen=%" PRId64, j->gateway, j->incarnation, from, to,
                 j->max_seen);
    }
}

/* A gap (a seq missing below one already decided or held) that stays open
 * S_GAP_MS is asked to be replayed, again every S_GAP_REPEAT_MS while it
 * stays. A lost tail (nothing after it) shows no gap: the gateway's own
 * periodic replay brings it. */
static void s_check_gaps(ri_server_t *self, int64_t now)
{
    if (now - self->last_gap_check < S_GAP_MS / 2 || self->db_down)
        return;
    self->last_gap_check = now;
    for (ri_journal_t *j = zhash_first(self->journals); j; j = zhash_next(self->journals)) {
        int64_t from, to;
        if (j->max_seen <= j->contig || !j->branch[0] || !ri_journal_missing(j, &from, &to)) {
            j->gap_since = 0;
            continue;
        }
        if (j->gap_since == 0)
            j->gap_since = now;
        if (now - j->gap_since >= S_GAP_MS && now - j->gap_requested >= S_GAP_REPEAT_MS) {
            j->gap_requested = now;
            s_request_replay(self, j, from, to);
        }
    }
}

/* The cursors of the batch just committed are the journals' now; their
 * gateways are acknowledged once its results are published. */
static void s_journals_committed(ri_server_t *self)
{
    for (ri_journal_t *j = zhash_first(self->journals); j; j = zhash_next(self->journals))
        if (ri_journal_committed(j))
            j->ack_due = true;
}

/* Publishes what a committed batch stored and acknowledges the gateways. */
static void s_after_commit(ri_server_t *self, ri_batch_t *batch)
{
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

static void s_submit(ri_server_t *self, int64_t now);

/* Takes back a batch the committer finished, if any. A committed one is
 * the spare batch at once, so the open batch can go to the committer
 * before this one's results are published (the committer is not left idle
 * meanwhile); it takes events only after it is cleared. */
static void s_collect(ri_server_t *self, int64_t now)
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
        s_journals_committed(self);
        self->spare = batch;
        s_submit(self, now);
        s_after_commit(self, batch);
        ri_batch_clear(batch);
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
            s_take_logins(self);
        }
        now = clock_mono_ms();
        s_release_all(self, now);
        s_collect(self, now);
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
        if (!self->db_down && now - self->last_tickets >= self->cfg.ticket_poll_ms) {
            self->last_tickets = now;
            if (ri_decider_catch_up_tickets(self->decider) != 0)
                log_warn("tickets_not_caught_up", "reason=\"database error\"");
            if (ri_decider_catch_up_logins(self->decider) < 0)
                log_warn("logins_not_caught_up", "reason=\"database error\"");
        }
        s_take_logins(self);
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
    self->decider = self->store ? ri_decider_new(self->store,
                                                 ri_prefixes_ltree(self->prefixes),
                                                 config->max_skew_s, config->max_age_s) : NULL;
    self->journals = zhash_new();
    if (self->cfg.hold_ms < 1)
        self->cfg.hold_ms = 1;
    if (self->cfg.ticket_poll_ms < 1)
        self->cfg.ticket_poll_ms = 1000;
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
    self->held_gauge = metrics_gauge(metrics, "events_held",
                                     "Events held after a gap in their gateway's seqs.");
    self->past_gap = metrics_counter(metrics, "events_decided_past_gap_total",
                                     "Held events decided without the missing seqs "
                                     "before them (the hold timed out).");
    self->late = metrics_counter(metrics, "events_late_total",
                                 "Events decided after their successors (they came "
                                 "after the hold timed out).");
    if (!self->store || !self->decider || !self->journals
        || !self->buffers[0] || !self->buffers[1] || !counters || !commit_pg
        || !self->received || !self->stored || !self->rejected || !self->duplicates
        || !self->dropped || !self->batches || !self->batch_failures || !self->pending
        || !self->replay_requests || !self->held_gauge || !self->past_gap || !self->late)
        goto err;
    if (ri_store_ensure_partitions(self->store, 3) != 0
        || ri_store_cursors(self->store, s_load_cursor, self) != 0
        || ri_decider_load(self->decider) != 0) {
        log_error("ingest_start_failed", "reason=\"cannot load cursors and sessions\"");
        goto err;
    }
    self->bus = bus_new(config->bus_pub, NULL, config->src);
    bus_t *sub = bus_new(NULL, config->bus_sub, config->src);
    if (!self->bus || !sub || bus_attach_metrics(self->bus, metrics) != 0
        || bus_attach_metrics(sub, metrics) != 0
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
    self->last_partitions = self->last_reack = self->last_tickets = clock_mono_ms();
    health_liveness_init(&self->liveness);
    if (pthread_create(&self->thread, NULL, s_loop, self) != 0)
        goto err;
    log_info("ingest_started", "journals=%zu windows=%zu prefixes=\"%s\" batch_max=%d "
             "batch_delay_ms=%d hold_ms=%d", zhash_size(self->journals),
             ri_decider_windows(self->decider), ri_prefixes_ltree(self->prefixes),
             self->cfg.batch_max, self->cfg.batch_delay_ms, self->cfg.hold_ms);
    return self;
err:
    log_error("ingest_start_failed", "reason=\"bus, database or memory\"");
    ri_committer_destroy(&self->committer);
    ri_inbox_destroy(&self->inbox);
    ri_counters_destroy(&counters);
    pgstore_destroy(&commit_pg);
    bus_destroy(&self->bus);
    ri_decider_destroy(&self->decider);
    ri_store_destroy(&self->store);
    zhash_destroy(&self->journals);
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
    ri_decider_destroy(&self->decider);
    ri_store_destroy(&self->store);
    zhash_destroy(&self->journals);
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
