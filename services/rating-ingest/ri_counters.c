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
        snprintf(out, 16, "%04d-%02d-%02d", d.year, d.month, d.day);
        return;
    }
    char utc[CLOCK_RFC3339_SIZE];
    clock_format_rfc3339(ms, utc);
    snprintf(out, 16, "%.10s", utc);
}

/* Queues the commands for one key; 4 replies (total, satisfied, unsatisfied,
 * option) then one for EXPIRE. */
static int s_queue(ri_counters_t *self, const char *key, const ri_item_t *item)
{
    char opt[16];
    snprintf(opt, sizeof opt, "opt:%d", item->event.option_code);
    const char *total[] = { "HINCRBY", key, "total", "1" };
    const char *sat[] = { "HINCRBY", key, "satisfied", item->option.satisfied ? "1" : "0" };
    const char *unsat[] = { "HINCRBY", key, "unsatisfied",
                            item->option.unsatisfied ? "1" : "0" };
    const char *option[] = { "HINCRBY", key, opt, "1" };
    const char *expire[] = { "EXPIRE", key, S_EXPIRE_S };
    return redisstore_pipeline_add(self->redis, 4, total, NULL)
           | redisstore_pipeline_add(self->redis, 4, sat, NULL)
           | redisstore_pipeline_add(self->redis, 4, unsat, NULL)
           | redisstore_pipeline_add(self->redis, 4, option, NULL)
           | redisstore_pipeline_add(self->redis, 3, expire, NULL);
}

#define S_PER_KEY 5

int ri_counters_add(ri_counters_t *self, const ri_item_t *items, size_t count,
                    ri_figures_t *figures)
{
    size_t queued = 0;
    for (size_t i = 0; i < count; i++)
        memset(&figures[i], 0, sizeof figures[i]);
    if (!self->redis)
        return 0;
    int failed = 0;
    for (size_t i = 0; i < count; i++) {
        const ri_item_t *item = &items[i];
        if (item->action != RI_ACTION_RATING || !item->stored)
            continue;
        char date[16], key[S_KEY_MAX];
        s_local_date(self, item->time_zone, item->event.event_ms, date);
        snprintf(key, sizeof key, "eqms:today:%s:staff:%" PRId64, date, item->staff_id);
        failed |= s_queue(self, key, item);
        snprintf(key, sizeof key, "eqms:today:%s:window:%" PRId64, date,
                 item->event.window_id);
        failed |= s_queue(self, key, item);
        snprintf(key, sizeof key, "eqms:today:%s:branch:%s", date, item->event.branch);
        failed |= s_queue(self, key, item);
        queued++;
    }
    if (queued == 0)
        return 0;
    redisReply **replies = NULL;
    int n = redisstore_pipeline_exec(self->redis, &replies);
    if (failed || n != (int) (queued * 3 * S_PER_KEY)) {
        if (!self->down_logged)
            log_warn("counters_not_updated", "ratings=%zu reason=\"redis unavailable\"",
                     queued);
        self->down_logged = 1;
        self->need_rebuild = true;
        if (n > 0)
            redisstore_replies_free(&replies, n);
        return -1;
    }
    self->down_logged = 0;
    size_t r = 0;
    for (size_t i = 0; i < count; i++) {
        if (items[i].action != RI_ACTION_RATING || !items[i].stored)
            continue;
        redisReply **staff = &replies[r];   /* the staff key comes first */
        if (staff[0]->type == REDIS_REPLY_INTEGER && staff[1]->type == REDIS_REPLY_INTEGER
            && staff[2]->type == REDIS_REPLY_INTEGER) {
            figures[i].total = (long) staff[0]->integer;
            figures[i].satisfied = (long) staff[1]->integer;
            figures[i].unsatisfied = (long) staff[2]->integer;
            figures[i].known = 1;
        }
        r += 3 * S_PER_KEY;
    }
    redisstore_replies_free(&replies, n);
    return 0;
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
            const char *expire[] = { "EXPIRE", key, S_EXPIRE_S };
            failed |= redisstore_pipeline_add(self->redis, 2, del, NULL);
            failed |= redisstore_pipeline_add(self->redis, 3, expire, NULL);
            queued += 2;
            keys++;
            last = key;
        }
        const char *hset[] = { "HSET", key, PQgetvalue(res, i, 1), PQgetvalue(res, i, 2) };
        failed |= redisstore_pipeline_add(self->redis, 4, hset, NULL);
        queued++;
        if (i + 1 == rows || strcmp(PQgetvalue(res, i + 1, 0), key) != 0) {
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
