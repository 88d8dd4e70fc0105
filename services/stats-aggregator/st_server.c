/*  st_server: stats-aggregator's loop (st_server.h). */
#include "st_server.h"

#include <stdlib.h>
#include <string.h>

#include "eqms/bus.h"
#include "eqms/clock.h"
#include "eqms/grow.h"
#include "eqms/log.h"
#include "eqms/looper.h"
#include "eqms/text.h"
#include "st_reports.h"
#include "st_stars.h"
#include "st_store.h"

#define S_TICKET_CHUNK  20000    /* ticket events of one branch read per query */
#define S_GATEWAY_CHUNK 20000    /* seqs of one gateway journal read per query */
#define S_RANGES        512      /* streams read per query */
#define S_SESSIONS_MS   5000     /* how often open sessions are looked at */
#define S_DEVICES_MS    2000     /* how often devices that came online are looked at */

/* A stream behind its cursor, as the heads said. */
typedef struct {
    char stream[TAILCURSOR_KEY_MAX + 1];
    int64_t pos, head;
    bool done;                  /* read to its head, or short: not again this pass */
} s_behind_t;

struct st_server_t {
    st_server_config_t cfg;
    st_store_t *store;
    st_tree_t *tree;
    st_config_t *config;
    st_engine_t *engine;
    tailcursor_t *cursors;
    st_sessions_t *sessions;
    bus_t *bus;                 /* wake-ups in, star grades out */
    st_stars_t *stars;
    st_reports_t *reports;      /* their own thread and connection */
    s_behind_t *behind;         /* the streams of one source behind, this pass */
    size_t nbehind, behind_cap;
    st_range_t ranges[S_RANGES];
    size_t range_of[S_RANGES];  /* ranges[k] reads behind[range_of[k]] */
    looper_t *loop;
    health_liveness_t liveness;
    int64_t next_tree_ms, next_sessions_ms, next_devices_ms;
    int64_t pass_ms;            /* when the last pass began (monotonic) */
    bool busy;                  /* the last pass found work */
    bool moved;                 /* a cursor or a session changed since the flush */
    metrics_counter_t *facts, *unplaced, *flushes, *flush_failures;
    metrics_gauge_t *cells;
};

/* --- reading what is behind ------------------------------------------------ */

static bool s_full(const st_server_t *self)
{
    return st_engine_pending(self->engine) >= (size_t) self->cfg.batch;
}

/* tailcursor_behind_fn: remembers a stream that is behind. */
static int s_behind(void *arg, const char *stream, int64_t pos, int64_t head)
{
    st_server_t *self = arg;
    s_behind_t *grown = grow_room(self->behind, self->nbehind, &self->behind_cap,
                                  sizeof *grown, 64);
    if (!grown)
        return -1;
    self->behind = grown;
    s_behind_t *b = &self->behind[self->nbehind++];
    text_copy(b->stream, sizeof b->stream, stream);
    b->pos = pos;
    b->head = head;
    b->done = false;
    return 0;
}

typedef int (s_read_fn)(st_server_t *self, st_range_t *ranges, int n);

static int s_read_tickets(st_server_t *self, st_range_t *ranges, int n)
{
    return st_store_ticket_events(self->store, ranges, n, self->engine);
}

static int s_read_journals(st_server_t *self, st_range_t *ranges, int n)
{
    return st_store_gateway_facts(self->store, ranges, n, self->engine, self->sessions);
}

/* Reads the streams of `source` that are behind (self->behind), up to the
 * batch: the ranges of up to S_RANGES streams per query, each at most
 * `chunk` seqs. Moves their cursors. 0 / -1. */
static int s_read(st_server_t *self, const char *source, int64_t chunk, s_read_fn *read)
{
    while (!s_full(self)) {
        int64_t room = self->cfg.batch - (int64_t) st_engine_pending(self->engine);
        int n = 0;
        for (size_t i = 0; i < self->nbehind && room > 0 && n < S_RANGES; i++) {
            s_behind_t *b = &self->behind[i];
            if (b->done)
                continue;
            int64_t take = b->head - b->pos;
            take = take < room ? take : room;
            take = take < chunk ? take : chunk;
            self->ranges[n] = (st_range_t) { b->stream, b->pos, b->pos + take, b->pos };
            self->range_of[n++] = i;
            room -= take;
        }
        if (n == 0)
            return 0;
        if (read(self, self->ranges, n) != 0)
            return -1;
        for (int k = 0; k < n; k++) {
            s_behind_t *b = &self->behind[self->range_of[k]];
            const st_range_t *r = &self->ranges[k];
            if (r->last < r->upto) {
                log_warn("stats_stream_short", "source=%s stream=%s position=%lld "
                         "head=%lld reason=\"the head is ahead of the events stored\"",
                         source, b->stream, (long long) r->last, (long long) b->head);
                b->done = true;
            }
            if (r->last > b->pos) {
                if (tailcursor_set(self->cursors, source, b->stream, r->last, true) != 0)
                    return -1;
                b->pos = r->last;
                self->moved = true;
            }
            b->done |= b->pos >= b->head;
        }
    }
    return 0;
}

/* Reads what every stream has beyond its cursor, up to a batch. 0 / -1. */
static int s_catch_up(st_server_t *self)
{
    self->nbehind = 0;
    if (st_store_ticket_heads(self->store, self->cursors, s_behind, self) < 0
        || s_read(self, TAILCURSOR_TICKET, S_TICKET_CHUNK, s_read_tickets) != 0)
        return -1;
    self->nbehind = 0;
    if (!s_full(self)
        && (st_store_gateway_heads(self->store, self->cursors, s_behind, self) < 0
            || s_read(self, TAILCURSOR_GATEWAY, S_GATEWAY_CHUNK, s_read_journals) != 0))
        return -1;
    int64_t now = clock_mono_ms();
    if (!s_full(self) && now >= self->next_sessions_ms) {
        int closed = st_store_closed_sessions(self->store, self->engine, self->sessions);
        if (closed < 0)
            return -1;
        self->moved |= closed > 0;
        self->next_sessions_ms = now + S_SESSIONS_MS;
    }
    return 0;
}

/* Drops what was placed since the last flush: it is read again. */
static void s_drop_batch(st_server_t *self)
{
    st_engine_reset(self->engine);
    tailcursor_rollback(self->cursors);
    st_sessions_rollback(self->sessions);
    st_stars_rollback(self->stars);
    self->moved = false;
}

static int s_flush(st_server_t *self)
{
    size_t facts = st_engine_pending(self->engine);
    size_t cells = st_cells_count(st_engine_cells(self->engine));
    if (facts == 0 && !self->moved)
        return 0;
    if (st_store_flush(self->store, self->engine, self->cursors, self->sessions,
                       st_stars_regrade, self->stars) != 0) {
        metrics_add(self->flush_failures, 1);
        s_drop_batch(self);
        return -1;
    }
    metrics_add(self->facts, facts);
    metrics_add(self->unplaced, st_engine_unplaced_count(self->engine));
    metrics_add(self->flushes, 1);
    metrics_set(self->cells, (int64_t) cells);
    st_engine_flushed(self->engine);
    tailcursor_committed(self->cursors);
    st_sessions_committed(self->sessions);
    st_stars_publish(self->stars);
    self->moved = false;
    log_debug("stats_flushed", "facts=%zu cells=%zu", facts, cells);
    return 0;
}

/* --- tree and configuration ------------------------------------------------- */

static int s_refresh(st_server_t *self)
{
    if (st_store_sync_tree(self->store, self->tree) < 0)
        return -1;
    st_config_t *config = st_store_load_config(self->store);
    if (!config)
        return -1;
    st_engine_set_config(self->engine, config);
    st_config_destroy(&self->config);
    self->config = config;
    return 0;
}

/* --- the loop ------------------------------------------------------------------ */

/* One turn of the loop (a looper_pass_fn): the tree when it is due, what is
 * behind, the devices that came online; found work: the next turn at once. */
static int s_pass(void *arg)
{
    st_server_t *self = arg;
    /* While facts keep coming (the last pass found some), the next pass
     * waits until flush_ms after the last began, so that what comes
     * meanwhile is placed in one transaction: the cells a burst touches
     * are written once per flush, not once per fact (a hall issuing 1,000
     * tickets a second cost PostgreSQL twice the tickets' own commits). A
     * pass after an idle one runs at once. */
    int64_t wait = self->busy ? self->pass_ms + self->cfg.flush_ms - clock_mono_ms() : 0;
    if (wait > 0)
        clock_sleep_ms(wait);
    int64_t now = clock_mono_ms();
    self->pass_ms = now;
    if (now >= self->next_tree_ms) {
        if (s_refresh(self) != 0)
            return LOOPER_FAILED;
        self->next_tree_ms = now + self->cfg.tree_s * 1000LL;
    }
    bool filled = false, found = false;
    if (s_catch_up(self) != 0
        || ((filled = s_full(self)),
            (found = st_engine_pending(self->engine) > 0 || self->moved),
            s_flush(self) != 0)) {
        s_drop_batch(self);
        return LOOPER_FAILED;
    }
    if (now >= self->next_devices_ms) {
        if (st_stars_resend(self->stars, st_store_pg(self->store)) < 0)
            log_warn("stars_not_resent", "reason=\"database error\"");
        self->next_devices_ms = now + S_DEVICES_MS;
    }
    if (!filled)            /* caught up: the figures of what came before `now` are complete */
        st_reports_caught_up(self->reports, now);
    self->busy = found && !filled;   /* a full batch: the next one at once */
    return found ? LOOPER_MORE : LOOPER_IDLE;
}

/* --- life cycle ----------------------------------------------------------------- */

static void s_free(st_server_t *self)
{
    looper_stop(&self->loop);
    st_reports_destroy(&self->reports);
    free(self->behind);
    st_stars_destroy(&self->stars);
    bus_destroy(&self->bus);
    st_engine_destroy(&self->engine);
    st_config_destroy(&self->config);
    st_tree_destroy(&self->tree);
    tailcursor_destroy(&self->cursors);
    st_sessions_destroy(&self->sessions);
    st_store_destroy(&self->store);
    free(self);
}

static int s_metrics(st_server_t *self, metrics_t *metrics)
{
    self->facts = metrics_counter(metrics, "facts_total",
                                  "Facts (ticket events, ratings, services, sessions) "
                                  "turned into figures.");
    self->unplaced = metrics_counter(metrics, "facts_unplaced_total",
                                     "Facts that could not be placed (stats_unplaced).");
    self->flushes = metrics_counter(metrics, "flushes_total", "Transactions of figures.");
    self->flush_failures = metrics_counter(metrics, "flush_failures_total",
                                           "Transactions that failed (read again).");
    self->cells = metrics_gauge(metrics, "cells_flushed", "Cells of the last flush.");
    return self->facts && self->unplaced && self->flushes && self->flush_failures
                   && self->cells
               ? 0 : -1;
}

st_server_t *st_server_new(pgstore_t **pg_p, const st_server_config_t *config,
                           metrics_t *metrics)
{
    st_server_t *self = calloc(1, sizeof *self);
    if (!self) {
        pgstore_destroy(pg_p);
        return NULL;
    }
    self->cfg = *config;
    if (self->cfg.batch < 1)
        self->cfg.batch = 1;
    self->store = st_store_new(pg_p);
    self->tree = st_tree_new();
    self->config = st_config_new();
    self->cursors = tailcursor_new();
    self->sessions = st_sessions_new();
    health_liveness_init(&self->liveness);
    if (!self->store || !self->tree || !self->config || !self->cursors || !self->sessions
        || s_metrics(self, metrics) != 0)
        goto err;
    self->engine = st_engine_new(self->tree, self->config, st_store_load_legs, self->store);
    if (!self->engine)
        goto err;
    if (st_store_load_tree(self->store, self->tree) != 0 || s_refresh(self) != 0
        || st_store_load_cursors(self->store, self->cursors) != 0
        || st_store_load_sessions(self->store, self->sessions) != 0) {
        log_error("stats_start_failed", "reason=\"cannot load the tree, configuration, "
                  "cursors or sessions\"");
        goto err;
    }
    self->next_tree_ms = clock_mono_ms() + self->cfg.tree_s * 1000LL;
    const char *pub = self->cfg.bus_pub && *self->cfg.bus_pub ? self->cfg.bus_pub : NULL;
    const char *sub = self->cfg.bus_sub && *self->cfg.bus_sub ? self->cfg.bus_sub : NULL;
    if (pub || sub) {
        self->bus = bus_new(pub, sub, "stats-aggregator");
        if (!self->bus || bus_attach_metrics(self->bus, metrics) != 0)
            goto err;
    }
    if (sub && (bus_subscribe(self->bus, "ticket.") != 0
                || bus_subscribe(self->bus, "ack.ingest.") != 0
                || bus_subscribe(self->bus, "device.online.") != 0))
        goto err;
    self->stars = st_stars_new(pub ? self->bus : NULL);
    if (!self->stars)
        goto err;
    st_reports_config_t rcfg = { .pg_conninfo = self->cfg.pg_conninfo,
                                 .delay_s = self->cfg.report_delay_s,
                                 .every_s = self->cfg.report_every_s,
                                 .timeout_s = self->cfg.report_timeout_s };
    self->reports = st_reports_new(&rcfg, metrics);
    if (!self->reports)
        goto err;
    looper_config_t loop = { .name = "stats", .bus = sub ? self->bus : NULL,
                             .poll_ms = self->cfg.poll_ms, .liveness = &self->liveness,
                             .pass = s_pass, .ctx = self };
    self->loop = looper_start(&loop);
    if (!self->loop)
        goto err;
    return self;
err:
    s_free(self);
    return NULL;
}

void st_server_destroy(st_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_free(*self_p);
    *self_p = NULL;
}

health_liveness_t *st_server_liveness(st_server_t *self)
{
    return &self->liveness;
}
