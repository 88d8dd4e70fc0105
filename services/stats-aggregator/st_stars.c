/*  st_stars: star grades, regraded with the cells, published after the
 *  commit (st_stars.h). */
#include "st_stars.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/grow.h"
#include "eqms/jsonw.h"
#include "eqms/log.h"

typedef struct {
    int64_t window_id;
    int grade;
    int64_t rated, satisfied;
    char period[8];              /* day, week, month, quarter, year */
    char start_day[11];          /* yyyy-mm-dd */
    char path[256];              /* the window's org path */
    char serial[33];             /* its device, "" = none */
} s_change_t;

struct st_stars_t {
    bus_t *pub;                  /* borrowed, may be NULL */
    s_change_t *changes;
    size_t count, cap;
    zhashx_t *sent;              /* serial -> online since (ms, as text) sent for */
    char watermark[32];          /* device_status.since looked at from, "" = all */
    jsonw_t w;
};

static void s_free_text(void **item)
{
    free(*item);
    *item = NULL;
}

st_stars_t *st_stars_new(bus_t *pub)
{
    st_stars_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->pub = pub;
    self->sent = zhashx_new();
    if (!self->sent) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->sent, s_free_text);
    jsonw_init(&self->w, NULL, 4096);
    return self;
}

void st_stars_destroy(st_stars_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    st_stars_t *self = *self_p;
    zhashx_destroy(&self->sent);
    jsonw_release(&self->w);
    free(self->changes);
    free(self);
    *self_p = NULL;
}

/* Regrades what the flush's cells (st_cell_in) touched and returns the
 * windows whose grade of their rule's current period changed. Dimensions 4
 * and 5 are window and teller (st_cells.h), period kinds as stats_cell. */
static const char *s_regrade_sql =
    "WITH changed AS ("
    "  SELECT DISTINCT i.node_id, i.dim, i.member, i.period, i.start_day FROM st_cell_in i "
    "  WHERE i.dim IN (4, 5) AND i.hour = 0 AND i.rated <> 0"
    "), rule AS ("
    "  SELECT b.node_id, r.* FROM (SELECT DISTINCT node_id FROM changed) b "
    "  CROSS JOIN LATERAL stats_star_rule_for(b.node_id) r"
    "), fresh AS ("
    "  SELECT CASE ch.dim WHEN 4 THEN 'window' ELSE 'teller' END AS subject, ch.member, "
    "    ch.node_id AS branch_id, ch.period, ch.start_day, c.rated, c.satisfied, "
    "    stats_star_grade_of(c.rated, c.satisfied, r.min_rated, r.five, r.four, r.three) "
    "      AS grade "
    "  FROM changed ch JOIN rule r ON r.node_id = ch.node_id AND r.period = ch.period "
    "  JOIN stats_cell c ON c.node_id = ch.node_id AND c.period = ch.period "
    "    AND c.start_day = ch.start_day AND c.hour = 0 AND c.dim = ch.dim "
    "    AND c.member = ch.member"
    "), old AS ("
    "  SELECT f.*, g.grade AS old_grade FROM fresh f LEFT JOIN stats_star_grade g "
    "    ON g.subject = f.subject AND g.member = f.member AND g.branch_id = f.branch_id "
    "    AND g.period = f.period AND g.start_day = f.start_day"
    "), up AS ("
    "  INSERT INTO stats_star_grade (subject, member, branch_id, period, start_day, grade, "
    "    rated, satisfied) "
    "  SELECT subject, member, branch_id, period, start_day, grade, rated, satisfied FROM old "
    "  ON CONFLICT (subject, member, branch_id, period, start_day) DO UPDATE SET "
    "    grade = excluded.grade, rated = excluded.rated, satisfied = excluded.satisfied, "
    "    changed_at = CASE WHEN stats_star_grade.grade = excluded.grade "
    "                      THEN stats_star_grade.changed_at ELSE now() END"
    ") "
    "SELECT o.member, o.grade, o.rated, o.satisfied, "
    "  (ARRAY['day', 'week', 'month', 'quarter', 'year'])[o.period], o.start_day::text, "
    "  n.path::text || '.' || w.code, coalesce(d.serial, '') "
    "FROM old o JOIN org_node n ON n.id = o.branch_id "
    "JOIN service_window w ON w.id = o.member LEFT JOIN device d ON d.window_id = o.member "
    "WHERE o.subject = 'window' AND o.grade IS DISTINCT FROM o.old_grade "
    "  AND o.start_day = stats_period_start(o.period, (now() AT TIME ZONE n.time_zone)::date)";

/* Whether the flush's cells hold a rating of a window or a teller: the
 * regrade's statement costs milliseconds to plan, and a flush of ticket
 * events alone (most of a busy hall's) changes no grade. */
static const char *s_rated_sql =
    "SELECT 1 FROM st_cell_in WHERE dim IN (4, 5) AND hour = 0 AND rated <> 0 LIMIT 1";

int st_stars_regrade(void *arg, pgstore_t *pg)
{
    st_stars_t *self = arg;
    PGresult *res = pgstore_query(pg, s_rated_sql, 0, NULL);
    if (!res)
        return -1;
    int rated = PQntuples(res);
    PQclear(res);
    if (!rated)
        return 0;
    res = pgstore_query(pg, s_regrade_sql, 0, NULL);
    if (!res)
        return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        s_change_t *grown = grow_room(self->changes, self->count, &self->cap,
                                      sizeof *grown, 16);
        if (!grown) {
            rc = -1;
            break;
        }
        self->changes = grown;
        s_change_t *c = &self->changes[self->count++];
        c->window_id = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        c->grade = atoi(PQgetvalue(res, r, 1));
        c->rated = strtoll(PQgetvalue(res, r, 2), NULL, 10);
        c->satisfied = strtoll(PQgetvalue(res, r, 3), NULL, 10);
        snprintf(c->period, sizeof c->period, "%s", PQgetvalue(res, r, 4));
        snprintf(c->start_day, sizeof c->start_day, "%s", PQgetvalue(res, r, 5));
        snprintf(c->path, sizeof c->path, "%s", PQgetvalue(res, r, 6));
        snprintf(c->serial, sizeof c->serial, "%s", PQgetvalue(res, r, 7));
    }
    PQclear(res);
    /* The flush commits asynchronously; what a device shows must follow a
     * durable commit. */
    if (rc == 0 && self->count > 0
        && pgstore_exec(pg, "SET LOCAL synchronous_commit = on", 0, NULL) != 0)
        rc = -1;
    return rc;
}

void st_stars_rollback(st_stars_t *self)
{
    self->count = 0;
}

/* The `stars` command of docs/protocol.md ("Device commands"). */
static void s_send_stars(st_stars_t *self, const char *serial, const char *path, int grade)
{
    if (!self->pub || !*serial)
        return;
    jsonw_reset(&self->w);
    jsonw_str(&self->w, "serial", serial);
    jsonw_str(&self->w, "command", "stars");
    jsonw_int(&self->w, "stars", grade);
    if (jsonw_finish(&self->w) != 0
        || bus_publish_jsonw(self->pub, "cmd.device", path, &self->w, NULL) != 0)
        log_warn("stars_not_sent", "serial=%s path=%s", serial, path);
}

size_t st_stars_publish(st_stars_t *self)
{
    size_t n = self->count;
    for (size_t i = 0; i < n && self->pub; i++) {
        const s_change_t *c = &self->changes[i];
        jsonw_reset(&self->w);
        jsonw_int(&self->w, "window", c->window_id);
        jsonw_int(&self->w, "grade", c->grade);
        jsonw_int(&self->w, "rated", c->rated);
        jsonw_int(&self->w, "satisfied", c->satisfied);
        jsonw_str(&self->w, "period", c->period);
        jsonw_str(&self->w, "start_day", c->start_day);
        if (jsonw_finish(&self->w) != 0
            || bus_publish_jsonw(self->pub, "star.grade", c->path, &self->w, NULL) != 0)
            log_warn("star_grade_not_published", "window=%lld path=%s",
                     (long long) c->window_id, c->path);
        s_send_stars(self, c->serial, c->path, c->grade);
        log_info("star_grade_changed", "window=%lld path=%s grade=%d rated=%lld period=%s "
                 "start_day=%s", (long long) c->window_id, c->path, c->grade,
                 (long long) c->rated, c->period, c->start_day);
    }
    self->count = 0;
    return n;
}

/* Online devices at windows, with the grade of their window's current
 * period (0 = none yet). $1: only those online since then ("" = all). */
static const char *s_online_sql =
    "SELECT d.serial, d.since::text, n.path::text || '.' || w.code, coalesce(g.grade, 0), "
    "  (SELECT max(since)::text FROM device_status) "
    "FROM device_status d JOIN service_window w ON w.id = d.window_id "
    "JOIN org_node n ON n.id = w.node_id "
    "CROSS JOIN LATERAL stats_star_rule_for(n.id) r "
    "LEFT JOIN stats_star_grade g ON g.subject = 'window' AND g.member = w.id "
    "  AND g.branch_id = n.id AND g.period = r.period "
    "  AND g.start_day = stats_period_start(r.period, (now() AT TIME ZONE n.time_zone)::date) "
    "WHERE d.status = 'online' AND ($1 = '' OR d.since >= $1::timestamptz - interval '1 minute')";

int st_stars_resend(st_stars_t *self, pgstore_t *pg)
{
    const char *params[] = { self->watermark };
    PGresult *res = pgstore_query(pg, s_online_sql, 1, params);
    if (!res)
        return -1;
    int sent = 0;
    for (int r = 0; r < PQntuples(res); r++) {
        const char *serial = PQgetvalue(res, r, 0), *since = PQgetvalue(res, r, 1);
        const char *before = zhashx_lookup(self->sent, serial);
        if (before && strcmp(before, since) == 0)
            continue;           /* this coming online was served already */
        char *copy = strdup(since);
        if (!copy)
            break;
        zhashx_update(self->sent, serial, copy);
        s_send_stars(self, serial, PQgetvalue(res, r, 2), atoi(PQgetvalue(res, r, 3)));
        sent++;
    }
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 4))
        snprintf(self->watermark, sizeof self->watermark, "%s", PQgetvalue(res, 0, 4));
    PQclear(res);
    return sent;
}
