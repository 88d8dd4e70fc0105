/*  wa_livefig: today's figures on the live streams (wa_livefig.h). */
#include "wa_livefig.h"

#include <czmq.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"

struct wa_livefig_t {
    sse_hub_t *hub;
    int every_ms;
    int64_t next;                /* clock_mono_ms of the next reading */
    pgstore_t *pg;               /* borrowed during a reading */
    zhashx_t *sent;              /* channel -> the data last published there */
    zhashx_t *seen;              /* the channels followed at this reading */
};

static void s_free(void **item)
{
    free(*item);
    *item = NULL;
}

wa_livefig_t *wa_livefig_new(sse_hub_t *hub, int every_ms)
{
    wa_livefig_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->hub = hub;
    self->every_ms = every_ms;
    self->next = clock_mono_ms() + every_ms;
    self->sent = zhashx_new();
    if (!self->sent) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->sent, s_free);
    return self;
}

void wa_livefig_destroy(wa_livefig_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->sent);
    free(*self_p);
    *self_p = NULL;
}

/* Reads and, when changed, publishes the figures of one followed channel. */
static void s_channel(void *ctx, const char *channel)
{
    wa_livefig_t *self = ctx;
    if (self->seen)
        zhashx_insert(self->seen, channel, (void *) channel);
    const char *params[] = { channel };
    PGresult *res = pgstore_query(
        self->pg,
        "SELECT json_build_object('node', n.path::text, 'day', d.today, 'figures',"
        " (SELECT row_to_json(f) FROM stats_figures(n.id, d.today, d.today + 1, 'none',"
        "  false) f LIMIT 1))::text"
        " FROM org_node n, LATERAL (SELECT (now() AT TIME ZONE n.time_zone)::date AS today) d"
        " WHERE n.path = $1::ltree",
        1, params);
    if (!res) {
        log_warn("live_figures_unreadable", "channel=%s reason=\"database unavailable\"",
                 channel);
        return;
    }
    if (PQntuples(res) == 1) {
        const char *data = PQgetvalue(res, 0, 0);
        const char *last = zhashx_lookup(self->sent, channel);
        if (!last || strcmp(last, data) != 0) {
            char *copy = strdup(data);
            if (copy && sse_publish(self->hub, channel, "figures", data) != 0)
                zhashx_update(self->sent, channel, copy);
            else
                free(copy);
        }
    }
    PQclear(res);
}

int wa_livefig_tick(wa_livefig_t *self, pgstore_t *pg)
{
    int64_t now = clock_mono_ms();
    if (now >= self->next) {
        self->next = now + self->every_ms;
        self->pg = pg;
        self->seen = zhashx_new();
        sse_followed(self->hub, s_channel, self);
        /* a channel nobody follows any more is sent afresh when followed again */
        if (self->seen) {
            zlistx_t *keys = zhashx_keys(self->sent);
            for (const char *k = keys ? zlistx_first(keys) : NULL; k; k = zlistx_next(keys))
                if (!zhashx_lookup(self->seen, k))
                    zhashx_delete(self->sent, k);
            zlistx_destroy(&keys);
            zhashx_destroy(&self->seen);
        }
        self->pg = NULL;
    }
    return (int) (self->next - now);
}
