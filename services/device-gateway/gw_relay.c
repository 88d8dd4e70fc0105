/*  gw_relay: the gateway's outbox on the bus (gw_relay.h). */
#include "gw_relay.h"

#include <jansson.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"

#define S_REPLAY_BATCH 1000

static void s_count(metrics_counter_t *c, uint64_t n)
{
    if (c)
        metrics_add(c, n);
}

void gw_relay_gauge(gw_relay_t *self)
{
    if (self->depth)
        metrics_set(self->depth, (int64_t) gw_outbox_stats(self->outbox).depth);
}

void gw_relay_init(gw_relay_t *self, bus_t *bus, gw_outbox_t *outbox, const char *gateway_id,
                   int replay_min_ms, int replay_max_ms, int64_t first_replay_at)
{
    memset(self, 0, sizeof *self);
    self->bus = bus;
    self->outbox = outbox;
    self->gateway_id = gateway_id;
    self->replay_min_ms = replay_min_ms;
    /* what the journal holds was durable before: replay it soon */
    self->flushed_seq = gw_outbox_stats(outbox).last_seq;
    backoff_init(&self->replay, replay_min_ms, replay_max_ms);
    self->replay.retry_at = first_replay_at;
}

static int s_publish(gw_relay_t *self, size_t i)
{
    const gw_outbox_entry_t *e = gw_outbox_entry(self->outbox, i);
    char reason[ENVELOPE_REASON_SIZE];
    envelope_t *env = envelope_decode(e->envelope, e->len, reason);
    if (!env) {
        log_error("outbox_entry_bad", "seq=%lld reason=\"%s\"", (long long) e->seq,
                  reason);
        return -1;
    }
    int rc = bus_publish_envelope(self->bus, e->org_path, env);
    envelope_destroy(&env);
    if (rc == 0)
        gw_outbox_mark_published(self->outbox, i);
    return rc;
}

/* Index of the first entry with seq > seq (entries are in seq order). */
static size_t s_first_after(gw_relay_t *self, int64_t seq)
{
    size_t lo = 0, hi = gw_outbox_stats(self->outbox).depth;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (gw_outbox_entry(self->outbox, mid)->seq <= seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void gw_relay_replay(gw_relay_t *self)
{
    gw_outbox_stats_t st = gw_outbox_stats(self->outbox);
    if (st.depth == 0 || !backoff_due(&self->replay))
        return;
    int64_t old = clock_mono_ms() - self->replay_min_ms;
    size_t n = 0;
    for (size_t i = 0; i < st.depth && n < S_REPLAY_BATCH; i++) {
        const gw_outbox_entry_t *e = gw_outbox_entry(self->outbox, i);
        if (e->seq > self->flushed_seq || e->published_ms > old)
            continue;
        if (s_publish(self, i) == 0)
            n++;
    }
    if (n) {
        s_count(self->replayed, n);
        log_info("outbox_replayed", "events=%zu depth=%zu first_seq=%lld", n, st.depth,
                 (long long) gw_outbox_entry(self->outbox, 0)->seq);
    }
    backoff_failed(&self->replay);
}

static bool s_for_us(gw_relay_t *self, const envelope_t *env, const char *gateway,
                     const char *incarnation)
{
    if (strcmp(gateway, self->gateway_id) != 0)
        return false;   /* another gateway of this branch */
    if (strcmp(incarnation, gw_outbox_incarnation(self->outbox)) != 0) {
        log_debug("other_incarnation_ignored", "id=%s type=%s incarnation=%s ours=%s",
                  env->id, env->type, incarnation, gw_outbox_incarnation(self->outbox));
        return false;
    }
    return true;
}

int gw_relay_on_ack(gw_relay_t *self, const envelope_t *env)
{
    json_error_t err;
    const char *gateway, *incarnation;
    json_int_t upto;
    if (json_unpack_ex(env->data, &err, JSON_STRICT, "{s:s, s:s, s:I}", "gateway",
                       &gateway, "incarnation", &incarnation, "upto", &upto) < 0) {
        log_warn("ack_rejected", "id=%s reason=\"%s\"", env->id, err.text);
        return 0;
    }
    if (!s_for_us(self, env, gateway, incarnation))
        return 0;
    int rc = 0;
    int n = gw_outbox_ack(self->outbox, upto);
    if (n > 0) {
        s_count(self->acks, 1);
        backoff_reset(&self->replay);
        backoff_failed(&self->replay);   /* next replay after replay_min_ms */
        log_debug("outbox_acked", "upto=%lld removed=%d depth=%zu", (long long) upto,
                  n, gw_outbox_stats(self->outbox).depth);
        if (gw_outbox_maybe_compact(self->outbox) < 0)
            rc = -1;
    }
    gw_relay_gauge(self);
    return rc;
}

/* replay.request from rating-ingest: re-publishes the durable entries with
 * from <= seq <= to at once (at most S_REPLAY_BATCH, oldest first), whatever
 * the periodic replay's backoff, which it leaves as it is. */
void gw_relay_on_replay_request(gw_relay_t *self, const envelope_t *env)
{
    json_error_t err;
    const char *gateway, *incarnation;
    json_int_t from, to;
    if (json_unpack_ex(env->data, &err, JSON_STRICT, "{s:s, s:s, s:I, s:I}", "gateway",
                       &gateway, "incarnation", &incarnation, "from", &from, "to",
                       &to) < 0) {
        log_warn("replay_request_rejected", "id=%s reason=\"%s\"", env->id, err.text);
        return;
    }
    if (from < 1 || to < from) {
        log_warn("replay_request_rejected", "id=%s from=%lld to=%lld reason=\"need "
                 "1 <= from <= to\"", env->id, (long long) from, (long long) to);
        return;
    }
    if (!s_for_us(self, env, gateway, incarnation))
        return;
    s_count(self->replay_requests, 1);
    size_t depth = gw_outbox_stats(self->outbox).depth;
    size_t n = 0;
    for (size_t i = s_first_after(self, from - 1); i < depth && n < S_REPLAY_BATCH; i++) {
        const gw_outbox_entry_t *e = gw_outbox_entry(self->outbox, i);
        if (e->seq > to || e->seq > self->flushed_seq)
            break;
        if (s_publish(self, i) == 0)
            n++;
    }
    s_count(self->replayed, n);
    if (n)
        log_info("outbox_replay_requested", "gateway=%s from=%lld to=%lld events=%zu",
                 gateway, (long long) from, (long long) to, n);
    else   /* already acknowledged (or not yet durable): nothing to send */
        log_debug("outbox_replay_requested", "gateway=%s from=%lld to=%lld events=0 "
                  "acked_upto=%lld", gateway, (long long) from, (long long) to,
                  (long long) gw_outbox_stats(self->outbox).acked_upto);
}

void gw_relay_synced(gw_relay_t *self)
{
    gw_outbox_stats_t st = gw_outbox_stats(self->outbox);
    for (size_t i = s_first_after(self, self->flushed_seq); i < st.depth; i++)
        if (s_publish(self, i) == 0)
            s_count(self->published, 1);
    self->flushed_seq = st.last_seq;
    gw_relay_gauge(self);
}

void gw_relay_reloaded(gw_relay_t *self)
{
    self->flushed_seq = gw_outbox_stats(self->outbox).last_seq;
    backoff_reset(&self->replay);
    gw_relay_gauge(self);
}
