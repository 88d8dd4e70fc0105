/*  ri_counters: today's rating counters in Redis (ri_counters.h). */
#include "ri_counters.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"
#include "eqms/redisstore.h"

#define S_EXPIRE_S "172800"
#define S_KEY_MAX  (RI_PATH_MAX + 64)

struct ri_counters_t {
    redisstore_t *redis;     /* NULL = off */
    zhash_t *zones;          /* IANA name -> clock_zone_t */
    int down_logged;
    bool need_rebuild;
    char marker[128];
};

static void s_zone_free(void *item)
{
    clock_zone_t *zone = item;
    clock_zone_destroy(&zone);
}

ri_counters_t *ri_counters_new(const char *url, const char *src)
{
    ri_counters_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->need_rebuild = true;
    snprintf(self->marker, sizeof self->marker, "eqms:counters:ready:%s", src);
    self->zones = zhash_new();
    if (!self->zones)
        goto err;
    if (url && *url && !(self->redis = redisstore_new(url, 1000)))
        goto err;
    return self;
err:
    zhash_destroy(&self->zones);
    free(self);
    return NULL;
}

void ri_counters_destroy(ri_counters_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ri_counters_t *self = *self_p;
    redisstore_destroy(&self->redis);
    zhash_destroy(&self->zones);
    free(self);
    *self_p = NULL;
}

/* "YYYY-MM-DD" of instant ms in the zone (UTC if the zone is unknown). */
static void s_local_date(ri_counters_t *self, const char *zone_name, int64_t ms,
                         char out[16])
{
    clock_zone_t *zone = zhash_lookup(self->zones, zone_name);
    if (!zone && (zone = clock_zone_new(zone_name))) {
        zhash_insert(self->zones, zone_name, zone);
        zhash_freefn(self->zones, zone_name, s_zone_free);
    }
    clock_date_t d;
    if (zone && clock_local_date(zone, ms, &d) == 0) {
        clock_format_date(d, out);
        return;
    }
    char utc[CLOCK_RFC3339_SIZE];
    clock_format_rfc3339(ms, utc);
    snprintf(out, 16, "%.10s", utc);
}

/* One counter hash of a batch: the increments it gets. */
typedef struct {
    char key[S_KEY_MAX];
    long total, satisfied, unsatisfied;
    long option[RI_MAX_OPTIONS + 1];    /* by option code 1..6 */
    long final_total, final_satisfied, final_unsatisfied;   /* after the batch */
} s_sum_t;

/* The batch's sums, indexed by key. */
typedef struct {
    s_sum_t *sums;
    size_t count, cap;
    zhash_t *index;                     /* key -> s_sum_t (in sums) */
} s_sums_t;

/* The sum for `key`, added if new. NULL on allocation failure (or a key
 * longer than S_KEY_MAX, which s_keys cannot make). */
static s_sum_t *s_sum(s_sums_t *all, const char *key)
{
    s_sum_t *sum = zhash_lookup(all->index, key);
    size_t len = strlen(key);
    if (sum || all->count == all->cap || len >= sizeof sum->key)
        return sum;
    sum = &all->sums[all->count];
    memset(sum, 0, sizeof *sum);
    memcpy(sum->key, key, len + 1);
    if (zhash_insert(all->index, sum->key, sum) != 0)
        return NULL;
    all->count++;
    return sum;
}

static void s_count_item(s_sum_t *sum, const ri_item_t *item, long sign)
{
    sum->total += sign;
    sum->satisfied += item->option.satisfied ? sign : 0;
    sum->unsatisfied += item->option.unsatisfied ? sign : 0;
    if (item->event.option_code >= 1 && item->event.option_code <= RI_MAX_OPTIONS)
        sum->option[item->event.option_code] += sign;
}

/* Queues HINCRBY total/satisfied/unsatisfied (3 replies), one per option
 * used, then EXPIRE. Returns the number of commands queued, -1 on failure. */
static int s_queue_sum(ri_counters_t *self, const s_sum_t *sum)
{
    char v[3][24];
    snprintf(v[0], sizeof v[0], "%ld", sum->total);
    snprintf(v[1], sizeof v[1], "%ld", sum->satisfied);
    snprintf(v[2], sizeof v[2], "%ld", sum->unsatisfied);
    const char *total[] = { "HINCRBY", sum->key, "total", v[0] };
    const char *sat[] = { "HINCRBY", sum->key, "satisfied", v[1] };
    const char *unsat[] = { "HINCRBY", sum->key, "unsatisfied", v[2] };
    int failed = redisstore_pipeline_add(self->redis, 4, total, NULL)
                 | redisstore_pipeline_add(self->redis, 4, sat, NULL)
                 | redisstore_pipeline_add(self->redis, 4, unsat, NULL);
    int queued = 3;
    for (int code = 1; code <= RI_MAX_OPTIONS; code++) {
        if (!sum->option[code])
            continue;
        char field[16], by[24];
        snprintf(field, sizeof field, "opt:%d", code);
        snprintf(by, sizeof by, "%ld", sum->option[code]);
        const char *option[] = { "HINCRBY", sum->key, field, by };
        failed |= redisstore_pipeline_add(self->redis, 4, option, NULL);
        queued++;
    }
    const char *expire[] = { "EXPIRE", sum->key, S_EXPIRE_S };
    failed |= redisstore_pipeline_add(self->redis, 3, expire, NULL);
    return failed ? -1 : queued + 1;
}

static bool s_counted(const ri_item_t *item)
{
    return item->action == RI_ACTION_RATING && item->stored;
}

/* The staff, window and branch keys of a counted item. */
static void s_keys(ri_counters_t *self, const ri_item_t *item, char keys[3][S_KEY_MAX])
{
    char date[16];
    s_local_date(self, item->time_zone, item->event.event_ms, date);
    snprintf(keys[0], S_KEY_MAX, "eqms:today:%s:staff:%" PRId64, date, item->staff_id);
    snprintf(keys[1], S_KEY_MAX, "eqms:today:%s:window:%" PRId64, date,
             item->event.window_id);
    snprintf(keys[2], S_KEY_MAX, "eqms:today:%s:branch:%s", date, item->event.branch);
}

/* The teller's figures after each item: the staff key's totals after the
 * batch, walked back item by item. staff[i] is item i's staff sum. */
static void s_figures(const ri_item_t *items, size_t count, s_sum_t **staff,
                      ri_figures_t *figures)
{
    for (size_t i = count; i-- > 0;) {
        s_sum_t *sum = staff[i];
        if (!sum)
            continue;
        figures[i].total = sum->final_total;
        figures[i].satisfied = sum->final_satisfied;
        figures[i].unsatisfied = sum->final_unsatisfied;
        figures[i].known = 1;
        sum->final_total -= 1;
        sum->final_satisfied -= items[i].option.satisfied ? 1 : 0;
        sum->final_unsatisfied -= items[i].option.unsatisfied ? 1 : 0;
    }
}

/* Queues one HSET (argc 4..10) or HDEL; returns 1 (commands queued) or -1. */
static int s_add(ri_counters_t *self, int argc, const char **argv)
{
    return redisstore_pipeline_add(self->redis, argc, argv, NULL) == 0 ? 1 : -1;
}

/* Queues the last stored rating of each window of the batch (its fields
 * are not touched by logins, so the order against them does not matter).
 * Returns the commands queued, -1 on failure. */
static int s_queue_last_ratings(ri_counters_t *self, const ri_item_t *items, size_t count)
{
    zhash_t *seen = zhash_new();
    if (!seen)
        return -1;
    int queued = 0, failed = 0;
    for (size_t i = count; i-- > 0;) {
        const ri_item_t *it = &items[i];
        const ri_event_t *e = &it->event;
        char wid[24];
        snprintf(wid, sizeof wid, "%" PRId64, e->window_id);
        if (!s_counted(it) || zhash_lookup(seen, wid))
            continue;
        zhash_insert(seen, wid, (void *) it);
        char key[S_KEY_MAX], sid[24], code[8], t[CLOCK_RFC3339_SIZE];
        snprintf(key, sizeof key, "eqms:live:window:%" PRId64, e->window_id);
        snprintf(sid, sizeof sid, "%" PRId64, it->staff_id);
        snprintf(code, sizeof code, "%d", e->option_code);
        clock_format_rfc3339(e->event_ms, t);
        const char *hset[] = { "HSET", key, "window_id", wid, "last_rating_id", e->id,
                               "last_rating_code", code, "last_rating_at", t,
                               "last_rating_staff", sid, "last_rating_unsatisfied",
                               it->option.unsatisfied ? "1" : "0" };
        int q = s_add(self, 14, hset);
        failed |= q < 0;
        queued += q > 0;
    }
    zhash_destroy(&seen);
    return failed ? -1 : queued;
}

/* Queues the live state the batch changed, in stream order: the teller at
 * each window (login, logout, the window a teller left), device status, then
 * the last rating per window. Returns the commands queued, -1 on failure. */
static int s_queue_live(ri_counters_t *self, const ri_item_t *items, size_t count)
{
    int queued = 0, failed = 0;
    for (size_t i = 0; i < count; i++) {
        const ri_item_t *it = &items[i];
        const ri_event_t *e = &it->event;
        bool session = it->action == RI_ACTION_LOGIN || it->action == RI_ACTION_LOGOUT;
        if (it->duplicate || !(session || it->action == RI_ACTION_DEVICE))
            continue;   /* decided before, or not live state: it changed nothing here */
        if (session && !it->live && !it->left_window)
            continue;   /* decided late: who is at the window now did not change */
        char key[S_KEY_MAX], wid[24], sid[24], t[CLOCK_RFC3339_SIZE];
        snprintf(key, sizeof key, "eqms:live:window:%" PRId64, e->window_id);
        snprintf(wid, sizeof wid, "%" PRId64, e->window_id);
        snprintf(sid, sizeof sid, "%" PRId64, it->staff_id);
        clock_format_rfc3339(e->event_ms, t);
        int q = 0;
        if (it->action == RI_ACTION_LOGIN) {
            if (it->left_window) {
                char left[S_KEY_MAX];
                snprintf(left, sizeof left, "eqms:live:window:%" PRId64, it->left_window);
                const char *hdel[] = { "HDEL", left, "staff_id", "employee_no" };
                q = s_add(self, 4, hdel);
                failed |= q < 0;
                queued += q > 0;
            }
            if (!it->live)
                continue;
            const char *hset[] = { "HSET", key, "window_id", wid, "staff_id", sid,
                                   "employee_no", e->employee_no };
            q = s_add(self, 8, hset);
        } else if (it->action == RI_ACTION_LOGOUT) {
            const char *hdel[] = { "HDEL", key, "staff_id", "employee_no" };
            q = s_add(self, 4, hdel);
        } else if (it->action == RI_ACTION_DEVICE) {
            char dkey[S_KEY_MAX];
            snprintf(dkey, sizeof dkey, "eqms:live:device:%s", e->serial);
            const char *hset[] = { "HSET", dkey, "status", ri_device_status(e->type),
                                   "window_id", e->window_id > 0 ? wid : "", "gateway",
                                   e->gateway, "since", t };
            q = s_add(self, 10, hset);
        }
        failed |= q < 0;
        queued += q > 0;
    }
    int q = s_queue_last_ratings(self, items, count);
    return failed || q < 0 ? -1 : queued + q;
}

/* Adds the counted items to `all` (staff[i] = item i's staff sum). -1 if
 * memory ran out. */
static int s_sum_batch(ri_counters_t *self, const ri_item_t *items, size_t count,
                       s_sums_t *all, s_sum_t **staff)
{
    for (size_t i = 0; i < count; i++) {
        staff[i] = NULL;
        if (!s_counted(&items[i]))
            continue;
        char keys[3][S_KEY_MAX];
        s_keys(self, &items[i], keys);
        for (int k = 0; k < 3; k++) {
            s_sum_t *sum = s_sum(all, keys[k]);
            if (!sum)
                return -1;
            s_count_item(sum, &items[i], 1);
            if (k == 0)
                staff[i] = sum;
        }
    }
    return 0;
}

/* Queues every sum; returns the number of replies to expect, -1 on failure. */
static int s_queue_all(ri_counters_t *self, const s_sums_t *all)
{
    int failed = 0, queued = 0;
    for (size_t i = 0; i < all->count; i++) {
        int q = s_queue_sum(self, &all->sums[i]);
        failed |= q < 0;
        queued += q < 0 ? 0 : q;
    }
    return failed ? -1 : queued;
}

/* Reads the totals after the batch from the replies, in s_queue_all order. */
static void s_read_finals(s_sums_t *all, redisReply **replies)
{
    int r = 0;
    for (size_t i = 0; i < all->count; i++) {
        s_sum_t *sum = &all->sums[i];
        redisReply **reply = &replies[r];
        if (reply[0]->type == REDIS_REPLY_INTEGER && reply[1]->type == REDIS_REPLY_INTEGER
            && reply[2]->type == REDIS_REPLY_INTEGER) {
            sum->final_total = (long) reply[0]->integer;
            sum->final_satisfied = (long) reply[1]->integer;
            sum->final_unsatisfied = (long) reply[2]->integer;
        }
        r += 4;   /* total, satisfied, unsatisfied, expire */
        for (int code = 1; code <= RI_MAX_OPTIONS; code++)
            r += sum->option[code] ? 1 : 0;
    }
}

int ri_counters_add(ri_counters_t *self, const ri_item_t *items, size_t count,
                    ri_figures_t *figures)
{
    for (size_t i = 0; i < count; i++)
        memset(&figures[i], 0, sizeof figures[i]);
    if (!self->redis)
        return 0;
    s_sums_t all = { .cap = 0 };
    for (size_t i = 0; i < count; i++)
        all.cap += s_counted(&items[i]) ? 3 : 0;
    int rc = -1;
    all.sums = malloc((all.cap ? all.cap : 1) * sizeof *all.sums);
    all.index = zhash_new();
    s_sum_t **staff = calloc(count, sizeof *staff);
    if (!all.sums || !all.index || !staff
        || s_sum_batch(self, items, count, &all, staff) != 0) {
        log_warn("counters_not_updated", "reason=\"out of memory\"");
        self->need_rebuild = true;
        goto done;
    }
    int queued = s_queue_all(self, &all);
    int live = s_queue_live(self, items, count);
    if (queued + (live > 0 ? live : 0) == 0) {
        rc = 0;
        goto done;
    }
    redisReply **replies = NULL;
    int n = redisstore_pipeline_exec(self->redis, &replies);
    if (queued < 0 || live < 0 || n != queued + live) {
        if (!self->down_logged)
            log_warn("counters_not_updated", "keys=%zu reason=\"redis unavailable\"",
                     all.count);
        self->down_logged = 1;
        self->need_rebuild = true;
        if (n > 0)
            redisstore_replies_free(&replies, n);
        goto done;
    }
    self->down_logged = 0;
    s_read_finals(&all, replies);
    redisstore_replies_free(&replies, n);
    s_figures(items, count, staff, figures);
    rc = 0;
done:
    zhash_destroy(&all.index);
    free(all.sums);
    free(staff);
    return rc;
}

bool ri_counters_need_rebuild(ri_counters_t *self)
{
    if (!self->redis)
        return false;
    const char *argv[] = { "EXISTS", self->marker };
    redisReply *reply = redisstore_command(self->redis, 2, argv, NULL);
    if (!reply)
        return false;
    bool missing = reply->type == REDIS_REPLY_INTEGER && reply->integer == 0;
    freeReplyObject(reply);
    return self->need_rebuild || missing;
}

int ri_counters_rebuild(ri_counters_t *self, ri_store_t *store, const char *prefixes)
{
    if (!self->redis)
        return 0;
    PGresult *res = ri_store_today_counts(store, prefixes);
    if (!res)
        return -1;
    int rows = PQntuples(res), queued = 0, keys = 0, failed = 0;
    const char *last = "";
    for (int i = 0; i < rows; i++) {
        const char *key = PQgetvalue(res, i, 0);
        if (strcmp(key, last) != 0) {
            const char *del[] = { "DEL", key };
            failed |= redisstore_pipeline_add(self->redis, 2, del, NULL);
            queued++;
            keys++;
            last = key;
        }
        const char *hset[] = { "HSET", key, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2) };
        failed |= redisstore_pipeline_add(self->redis, 4, hset, NULL);
        queued++;
        bool today = strncmp(key, "eqms:today:", 11) == 0;
        if (today && (i + 1 == rows || strcmp(PQgetvalue(res, i + 1, 0), key) != 0)) {
            const char *expire[] = { "EXPIRE", key, S_EXPIRE_S };
            failed |= redisstore_pipeline_add(self->redis, 3, expire, NULL);
            queued++;
        }
    }
    const char *mark[] = { "SET", self->marker, "1" };
    failed |= redisstore_pipeline_add(self->redis, 3, mark, NULL);
    queued++;
    redisReply **replies = NULL;
    int n = redisstore_pipeline_exec(self->redis, &replies);
    PQclear(res);
    if (n > 0)
        redisstore_replies_free(&replies, n);
    if (failed || n != queued) {
        log_warn("counters_rebuild_failed", "reason=\"redis unavailable\"");
        return -1;
    }
    self->need_rebuild = false;
    self->down_logged = 0;
    log_info("counters_rebuilt", "keys=%d prefixes=%s", keys, prefixes);
    return 0;
}
