/*  sv_verify: the figures recomputed from the raw facts (sv_verify.h). */
#include "sv_verify.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/grow.h"
#include "eqms/log.h"
#include "sv_legs.h"

#define S_MS(x) "(extract(epoch FROM " x ") * 1000)::bigint"
#define S_EVENTS_MAX 512         /* events of one ticket */
#define S_BANDS 6                /* the Qmatic distribution: 0-3 ... 12-15, 15+ min */

typedef struct {
    int64_t *v;
    size_t n, cap;
} s_list_t;

/* One branch-day recomputed. */
typedef struct {
    int64_t issued, walk_ins, transferred_in, served, no_show, abandoned, transferred;
    int64_t wait_n, wait_sum, wait_max, sl_served, sl_in, sl_abandoned_in;
    int64_t svc_n, svc_sum, svc_max;
    int64_t rated, satisfied, unsatisfied, score_x10;
    int64_t services, serving_ms, on_duty_ms;
    int64_t wait_bands[S_BANDS], svc_bands[S_BANDS];
    s_list_t waits, svcs;
} s_day_t;

typedef struct {
    int64_t id;
    char path[256];
    char zone[64];
    bool branch;
} s_node_t;

typedef struct {
    pgstore_t *pg;
    const sv_verify_args_t *args;
    FILE *out;
    long differences;
    int ndays;
    char (*day_text)[16];       /* ndays + 1 local dates, from .. to */
    s_day_t *days;              /* ndays, of the branch being verified */
    s_day_t *totals;            /* per node: the range's sums, parallel to nodes */
    s_node_t *nodes;
    size_t nnodes;
    int64_t *targets;           /* service id -> target_wait_s, by pairs */
    size_t ntargets;
    sv_event_t events[S_EVENTS_MAX];   /* one ticket's, and the day of each */
    int event_day[S_EVENTS_MAX];
    bool out_of_memory;         /* a wait or service time could not be kept */
} s_verify_t;

/* --- small helpers ------------------------------------------------------------- */

static int s_push(s_list_t *l, int64_t v)
{
    int64_t *grown = grow_room(l->v, l->n, &l->cap, sizeof *grown, 64);
    if (!grown)
        return -1;
    l->v = grown;
    l->v[l->n++] = v;
    return 0;
}

static int64_t s_i64(const PGresult *res, int r, int c)
{
    return PQgetisnull(res, r, c) ? 0 : strtoll(PQgetvalue(res, r, c), NULL, 10);
}

static int s_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

/* The nearest-rank 90th percentile (the smallest value with at least 90 %
 * at or below it), in ms; -1 for none. */
static int64_t s_p90(s_list_t *l)
{
    if (l->n == 0)
        return -1;
    qsort(l->v, l->n, sizeof *l->v, s_cmp);
    size_t rank = (size_t) ceil(0.9 * (double) l->n);
    return l->v[rank > 0 ? rank - 1 : 0];
}

/* The Qmatic band of a duration: 3 minutes each, 15 minutes and more in
 * the last. */
static int s_band(int64_t ms)
{
    int64_t band = ms < 0 ? 0 : ms / 180000;
    return band < S_BANDS - 1 ? (int) band : S_BANDS - 1;
}

static int32_t s_target(const s_verify_t *v, int64_t service_id)
{
    for (size_t i = 0; i < v->ntargets; i++)
        if (v->targets[2 * i] == service_id)
            return (int32_t) v->targets[2 * i + 1];
    return 600;                 /* queue.target_wait_s's default */
}

/* Adds the counts of `from` to `to`, and its waits and service times (for
 * the percentiles' bound). 0 / -1 (out of memory). */
static int s_add_counts(s_day_t *to, const s_day_t *from)
{
    to->issued += from->issued;
    to->walk_ins += from->walk_ins;
    to->transferred_in += from->transferred_in;
    to->served += from->served;
    to->no_show += from->no_show;
    to->abandoned += from->abandoned;
    to->transferred += from->transferred;
    to->rated += from->rated;
    to->satisfied += from->satisfied;
    to->unsatisfied += from->unsatisfied;
    to->services += from->services;
    for (int b = 0; b < S_BANDS; b++) {
        to->wait_bands[b] += from->wait_bands[b];
        to->svc_bands[b] += from->svc_bands[b];
    }
    for (size_t i = 0; i < from->waits.n; i++)
        if (s_push(&to->waits, from->waits.v[i]) != 0)
            return -1;
    for (size_t i = 0; i < from->svcs.n; i++)
        if (s_push(&to->svcs, from->svcs.v[i]) != 0)
            return -1;
    return 0;
}

/* --- comparing ------------------------------------------------------------------ */

typedef enum {
    S_COUNT,                    /* exact; no cells (null) is 0 */
    S_RATIO,                    /* 4 decimals; null when the denominator is 0 */
    S_SECONDS,                  /* ms as seconds, 3 decimals; null when none */
    S_TIME,                     /* a length of time summed over pieces; null is 0 */
    S_ABOVE                     /* a percentile from a histogram: seconds, at or above the
                                   exact value by less than its bucket's width (s_width) */
} s_kind_t;

typedef struct {
    const char *measure;
    double expected;            /* NAN = null */
    s_kind_t kind;
} s_expect_t;

static const double s_tolerance[] = { 0, 0.0001, 0.001, 0.002, 0 };

/* The width in seconds of the histogram bucket holding `s` seconds
 * (docs/statistics.md, "Percentiles"); 0 from 12 h, reported as 12 h. */
static double s_width(double s)
{
    return s < 600 ? 15 : s < 1800 ? 60 : s < 7200 ? 300 : s < 43200 ? 1800 : 0;
}

/* Whether `got` is what kind `kind` allows for `expected` (not null). */
static bool s_agrees(s_kind_t kind, double expected, double got)
{
    if (kind != S_ABOVE)
        return fabs(got - expected) <= s_tolerance[kind] + 1e-9;
    if (expected >= 43200)
        return fabs(got - 43200) <= 1e-9;
    return got >= expected - 1e-9 && got <= expected + s_width(expected) + 1e-9;
}

static double s_ratio(int64_t n, int64_t d, int decimals)
{
    if (d == 0)
        return NAN;
    double p = pow(10, decimals);
    return round((double) n / (double) d * p) / p;
}

static double s_seconds(int64_t ms, bool present)
{
    return present ? (double) ms / 1000.0 : NAN;
}

/* Compares one row of stats_figures (or no row: counts 0, ratios null)
 * with the expectations; prints each difference. */
static void s_compare(s_verify_t *v, const char *node, const char *when,
                      const PGresult *res, const s_expect_t *ex, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double got = NAN;
        bool null = true;
        if (PQntuples(res) > 0) {
            int col = PQfnumber(res, ex[i].measure);
            if (col >= 0 && !PQgetisnull(res, 0, col)) {
                got = strtod(PQgetvalue(res, 0, col), NULL);
                null = false;
            }
        }
        /* no cells: nothing counted, no time (a row of duty alone has null sums) */
        if (null && (ex[i].kind == S_COUNT || ex[i].kind == S_TIME))
            got = 0, null = false;
        bool same = isnan(ex[i].expected) ? null
                    : !null && s_agrees(ex[i].kind, ex[i].expected, got);
        if (same)
            continue;
        v->differences++;
        char e[32], g[32];
        if (isnan(ex[i].expected))
            snprintf(e, sizeof e, "null");
        else
            snprintf(e, sizeof e, "%.4f", ex[i].expected);
        if (null)
            snprintf(g, sizeof g, "null");
        else
            snprintf(g, sizeof g, "%.4f", got);
        fprintf(v->out, "difference node=%s %s measure=%s expected=%s figures=%s\n", node,
                when, ex[i].measure, e, g);
    }
}

static const char *s_figures_sql =
    "SELECT * FROM stats_figures($1::bigint, $2::date, $3::date)";

#define S_MEASURES 36

/* What stats_figures must say of `d`: every measure, or (counts_only, for
 * a range read from coarser cells) the counts that add up and the 90th
 * percentiles within their bound. Returns how many of ex[S_MEASURES] it
 * filled. */
static size_t s_expectations(s_day_t *d, bool counts_only, s_expect_t ex[S_MEASURES])
{
    /* stats_row's columns of the bands, in s_band's order */
    static const char *const wait_bands[S_BANDS] = { "wait_0_3", "wait_3_6", "wait_6_9",
        "wait_9_12", "wait_12_15", "wait_15_plus" };
    static const char *const svc_bands[S_BANDS] = { "svc_0_3", "svc_3_6", "svc_6_9",
        "svc_9_12", "svc_12_15", "svc_15_plus" };
    size_t n = 0;
    const struct { const char *measure; int64_t value; } counts[] = {
        { "issued", d->issued }, { "walk_ins", d->walk_ins },
        { "transferred_in", d->transferred_in }, { "served", d->served },
        { "no_show", d->no_show }, { "abandoned", d->abandoned },
        { "transferred", d->transferred }, { "rated", d->rated },
        { "satisfied", d->satisfied }, { "unsatisfied", d->unsatisfied },
        { "services", d->services },
    };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        ex[n++] = (s_expect_t) { counts[i].measure, (double) counts[i].value, S_COUNT };
    for (int b = 0; b < S_BANDS; b++) {
        ex[n++] = (s_expect_t) { wait_bands[b], (double) d->wait_bands[b], S_COUNT };
        ex[n++] = (s_expect_t) { svc_bands[b], (double) d->svc_bands[b], S_COUNT };
    }
    int64_t wp = s_p90(&d->waits), sp = s_p90(&d->svcs);
    if (counts_only) {
        ex[n++] = (s_expect_t) { "wait_p90_s", s_seconds(wp, wp >= 0), S_ABOVE };
        ex[n++] = (s_expect_t) { "svc_p90_s", s_seconds(sp, sp >= 0), S_ABOVE };
        return n;
    }
    const s_expect_t more[] = {
        { "wait_avg_s", s_ratio(d->wait_sum, d->wait_n * 1000, 4), S_RATIO },
        { "wait_max_s", s_seconds(d->wait_max, d->wait_n > 0), S_SECONDS },
        { "wait_p90_s", s_seconds(wp, wp >= 0), S_SECONDS },
        { "svc_avg_s", s_ratio(d->svc_sum, d->svc_n * 1000, 4), S_RATIO },
        { "svc_max_s", s_seconds(d->svc_max, d->svc_n > 0), S_SECONDS },
        { "svc_p90_s", s_seconds(sp, sp >= 0), S_SECONDS },
        { "service_level", s_ratio(d->sl_in, d->sl_served, 4), S_RATIO },
        { "service_level_abandoned", s_ratio(d->sl_in + d->sl_abandoned_in,
                                             d->sl_served + d->abandoned, 4), S_RATIO },
        { "mean_score", s_ratio(d->score_x10, d->rated * 10, 4), S_RATIO },
        { "serving_s", (double) d->serving_ms / 1000.0, S_TIME },
        { "on_duty_s", (double) d->on_duty_ms / 1000.0, S_TIME },
    };
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        ex[n++] = more[i];
    return n;
}

/* Compares stats_figures(node, from, to) with `d`; `when` names the period
 * in the difference lines. 0 / -1 (database). */
static int s_check(s_verify_t *v, const s_node_t *node, const char *from, const char *to,
                   const char *when, s_day_t *d, bool counts_only)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long) node->id);
    const char *params[] = { id, from, to };
    PGresult *res = pgstore_query(v->pg, s_figures_sql, 3, params);
    if (!res)
        return -1;
    s_expect_t ex[S_MEASURES];
    size_t n = s_expectations(d, counts_only, ex);
    s_compare(v, node->path, when, res, ex, n);
    PQclear(res);
    return 0;
}

static int s_check_day(s_verify_t *v, const s_node_t *b, int idx, s_day_t *d)
{
    char when[32];
    snprintf(when, sizeof when, "day=%s", v->day_text[idx]);
    return s_check(v, b, v->day_text[idx], v->day_text[idx + 1], when, d, false);
}

/* --- recomputing one branch ------------------------------------------------------ */

/* The queries' parameters: $1 branch id, $2 its zone, $3 from, $4 to; the
 * range's bounds as SQL: */
#define S_FROM_TS "($3::date::timestamp AT TIME ZONE $2)"
#define S_TO_TS "($4::date::timestamp AT TIME ZONE $2)"

static void s_leg_into(s_verify_t *v, const sv_leg_t *leg, s_day_t *d)
{
    if (leg->origin == SV_ORIGIN_ISSUED)
        d->issued++;
    else if (leg->origin == SV_ORIGIN_WALK_IN)
        d->walk_ins++;
    else
        d->transferred_in++;
    int64_t target_ms = (int64_t) s_target(v, leg->service_id) * 1000;
    if (leg->wait_ms >= 0) {
        d->wait_n++;
        d->wait_sum += leg->wait_ms;
        if (leg->wait_ms > d->wait_max)
            d->wait_max = leg->wait_ms;
        if (s_push(&d->waits, leg->wait_ms) != 0)
            v->out_of_memory = true;
        d->wait_bands[s_band(leg->wait_ms)]++;
    }
    switch (leg->outcome) {
    case SV_SERVED:
        d->served++;
        if (leg->wait_ms >= 0) {
            d->sl_served++;
            d->sl_in += leg->wait_ms <= target_ms;
        }
        d->svc_n++;
        d->svc_sum += leg->serve_ms;
        if (leg->serve_ms > d->svc_max)
            d->svc_max = leg->serve_ms;
        if (s_push(&d->svcs, leg->serve_ms) != 0)
            v->out_of_memory = true;
        d->svc_bands[s_band(leg->serve_ms)]++;
        break;
    case SV_NO_SHOW:
        d->no_show++;
        break;
    case SV_ABANDONED:
        d->abandoned++;
        d->sl_abandoned_in += leg->outcome_ms - leg->start_ms <= target_ms;
        break;
    case SV_TRANSFERRED:
        d->transferred++;
        break;
    default:
        break;
    }
}

/* Walks one ticket's rows [first, last) of `res`. */
static void s_ticket(s_verify_t *v, const PGresult *res, int first, int last)
{
    sv_event_t *events = v->events;
    int *idx = v->event_day;
    int n = 0;
    for (int r = first; r < last && n < S_EVENTS_MAX; r++, n++) {
        events[n] = (sv_event_t) { PQgetvalue(res, r, 1), s_i64(res, r, 2), s_i64(res, r, 3) };
        idx[n] = (int) s_i64(res, r, 4);
    }
    sv_leg_t legs[SV_LEGS_MAX];
    char reason[128];
    int nlegs = sv_legs_walk(events, (size_t) n, legs, reason);
    if (nlegs < 0)
        return;                 /* unplaced by the aggregator too (stats_unplaced) */
    /* a leg belongs to the day of the event that started it */
    int leg = 0;
    for (int e = 0; e < n && leg < nlegs; e++) {
        bool starts = e == 0 || strcmp(events[e].kind, "transferred") == 0;
        if (!starts)
            continue;
        if (idx[e] >= 0 && idx[e] < v->ndays)
            s_leg_into(v, &legs[leg], &v->days[idx[e]]);
        leg++;
    }
}

static int s_tickets(s_verify_t *v, const char *const *params)
{
    PGresult *res = pgstore_query(v->pg,
        "SELECT e.ticket_id::text, e.kind, " S_MS("e.at") ", coalesce(e.service_id, 0), "
        "  (e.at AT TIME ZONE $2)::date - $3::date "
        "FROM ticket_event e WHERE e.branch_id = $1::bigint AND e.ticket_id IS NOT NULL "
        "  AND e.at >= " S_FROM_TS " - interval '2 days' "
        "  AND e.at < " S_TO_TS " + interval '2 days' "
        "ORDER BY e.ticket_id, e.seq", 4, params);
    if (!res)
        return -1;
    int first = 0, n = PQntuples(res);
    for (int r = 1; r <= n; r++)
        if (r == n || strcmp(PQgetvalue(res, r, 0), PQgetvalue(res, first, 0)) != 0) {
            s_ticket(v, res, first, r);
            first = r;
        }
    PQclear(res);
    if (v->out_of_memory) {
        log_error("verify_failed", "reason=\"out of memory keeping the waits and service "
                  "times of branch %s\"", params[0]);
        return -1;
    }
    return 0;
}

/* The day a row's first column (days from `from`) names, NULL outside the
 * range. */
static s_day_t *s_day_of(s_verify_t *v, const PGresult *res, int r)
{
    int64_t i = s_i64(res, r, 0);
    return i >= 0 && i < v->ndays ? &v->days[i] : NULL;
}

static int s_ratings(s_verify_t *v, const char *const *params)
{
    PGresult *res = pgstore_query(v->pg,
        "SELECT (r.event_time AT TIME ZONE $2)::date - $3::date, count(*), "
        "  count(*) FILTER (WHERE r.satisfied), count(*) FILTER (WHERE r.unsatisfied), "
        "  coalesce(sum(round(r.score * 10)), 0)::bigint "
        "FROM rating r JOIN service_window w ON w.id = r.window_id "
        "WHERE w.node_id = $1::bigint"
        "  AND r.event_time >= " S_FROM_TS " AND r.event_time < " S_TO_TS " GROUP BY 1",
        4, params);
    if (!res)
        return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        s_day_t *d = s_day_of(v, res, r);
        if (!d)
            continue;
        d->rated = s_i64(res, r, 1);
        d->satisfied = s_i64(res, r, 2);
        d->unsatisfied = s_i64(res, r, 3);
        d->score_x10 = s_i64(res, r, 4);
    }
    PQclear(res);
    return 0;
}

/* Device services (counted on the day they ended, their time split over
 * the days they overlap) and time on duty (split; an open session up to
 * now), in whole ms as the facts are read. */
static int s_intervals(s_verify_t *v, const char *const *params)
{
    static const char *sql =
        "WITH d AS (SELECT i, " S_MS("(($3::date + i)::timestamp AT TIME ZONE $2)") " AS lo, "
        "    " S_MS("(($3::date + i + 1)::timestamp AT TIME ZONE $2)") " AS hi "
        "  FROM generate_series(0, $4::date - $3::date - 1) AS i), "
        "s AS (SELECT " S_MS("coalesce(s.started_at, s.ended_at)") " AS a, "
        "    " S_MS("s.ended_at") " AS b "
        "  FROM service_record s JOIN service_window w ON w.id = s.window_id "
        "  WHERE w.node_id = $1::bigint AND s.ended_at >= " S_FROM_TS " - interval '2 days' "
        "    AND coalesce(s.started_at, s.ended_at) < " S_TO_TS "), "
        "t AS (SELECT " S_MS("t.login_at") " AS a, " S_MS("coalesce(t.logout_at, now())") " AS b "
        "  FROM staff_session t JOIN service_window w ON w.id = t.window_id "
        "  WHERE w.node_id = $1::bigint"
        "    AND coalesce(t.logout_at, now()) >= " S_FROM_TS " AND t.login_at < " S_TO_TS ") "
        "SELECT d.i, "
        "  (SELECT count(*) FROM s WHERE s.b >= d.lo AND s.b < d.hi), "
        "  (SELECT coalesce(sum(greatest(0, least(s.b, d.hi) - greatest(s.a, d.lo))), 0) "
        "     FROM s)::bigint, "
        "  (SELECT coalesce(sum(greatest(0, least(t.b, d.hi) - greatest(t.a, d.lo))), 0) "
        "     FROM t)::bigint "
        "FROM d";
    PGresult *res = pgstore_query(v->pg, sql, 4, params);
    if (!res)
        return -1;
    for (int r = 0; r < PQntuples(res); r++) {
        s_day_t *d = s_day_of(v, res, r);
        if (!d)
            continue;
        d->services = s_i64(res, r, 1);
        d->serving_ms = s_i64(res, r, 2);
        d->on_duty_ms = s_i64(res, r, 3);
    }
    PQclear(res);
    return 0;
}

static void s_days_clear(s_verify_t *v)
{
    for (int i = 0; i < v->ndays; i++) {
        s_list_t w = v->days[i].waits, s = v->days[i].svcs;
        memset(&v->days[i], 0, sizeof v->days[i]);
        w.n = s.n = 0;
        v->days[i].waits = w;
        v->days[i].svcs = s;
    }
}

static bool s_under(const char *path, const char *ancestor)
{
    size_t len = strlen(ancestor);
    return strncmp(path, ancestor, len) == 0 && (path[len] == '\0' || path[len] == '.');
}

/* Recomputes branch `b`'s facts by the local days of `zone`: compares each
 * day when `zone` is the branch's own, and adds the days to the totals of
 * every node at or above `b` whose days are those of `zone`. */
static int s_branch_in(s_verify_t *v, const s_node_t *b, const char *zone)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long) b->id);
    const char *params[] = { id, zone, v->args->from, v->args->to };
    s_days_clear(v);
    if (s_tickets(v, params) != 0 || s_ratings(v, params) != 0
        || s_intervals(v, params) != 0)
        return -1;
    bool own = strcmp(zone, b->zone) == 0;
    for (int i = 0; i < v->ndays; i++) {
        if (own && s_check_day(v, b, i, &v->days[i]) != 0)
            return -1;
        for (size_t k = 0; k < v->nnodes; k++)
            if (strcmp(v->nodes[k].zone, zone) == 0 && s_under(b->path, v->nodes[k].path)
                && s_add_counts(&v->totals[k], &v->days[i]) != 0) {
                log_error("verify_failed", "reason=\"out of memory keeping the range's waits "
                          "and service times of %s\"", v->nodes[k].path);
                return -1;
            }
    }
    return 0;
}

/* Recomputes branch `b` once in each zone among it and its ancestors (an
 * ancestor's days are its own zone's: a region in Shanghai sums the facts
 * of an Urumqi branch by Shanghai days). */
static int s_branch(s_verify_t *v, const s_node_t *b)
{
    if (s_branch_in(v, b, b->zone) != 0)
        return -1;
    for (size_t k = 0; k < v->nnodes; k++) {
        const s_node_t *a = &v->nodes[k];
        if (!s_under(b->path, a->path) || strcmp(a->zone, b->zone) == 0)
            continue;
        bool seen = false;      /* a zone already done for a lower ancestor */
        for (size_t j = 0; j < k && !seen; j++)
            seen = s_under(b->path, v->nodes[j].path) && strcmp(v->nodes[j].zone, a->zone) == 0;
        if (!seen && s_branch_in(v, b, a->zone) != 0)
            return -1;
    }
    return 0;
}

/* --- the range at every node --------------------------------------------------- */

static int s_check_range(s_verify_t *v, const s_node_t *node, s_day_t *t)
{
    char when[48];
    snprintf(when, sizeof when, "range=%s..%s", v->args->from, v->args->to);
    return s_check(v, node, v->args->from, v->args->to, when, t, true);
}

/* --- setting up ------------------------------------------------------------------- */

static int s_load(s_verify_t *v)
{
    const char *params[] = { v->args->node ? v->args->node : "", v->args->from,
                             v->args->to };
    PGresult *res = pgstore_query(v->pg,
        "SELECT n.id, n.path::text, n.time_zone, n.kind = 'branch' FROM org_node n "
        "WHERE ($1 = '' OR n.path <@ $1::ltree) ORDER BY n.path", 1, params);
    if (!res)
        return -1;
    v->nnodes = (size_t) PQntuples(res);
    v->nodes = calloc(v->nnodes + 1, sizeof *v->nodes);
    v->totals = calloc(v->nnodes + 1, sizeof *v->totals);
    for (size_t i = 0; v->nodes && v->totals && i < v->nnodes; i++) {
        v->nodes[i].id = s_i64(res, (int) i, 0);
        snprintf(v->nodes[i].path, sizeof v->nodes[i].path, "%s", PQgetvalue(res, (int) i, 1));
        snprintf(v->nodes[i].zone, sizeof v->nodes[i].zone, "%s", PQgetvalue(res, (int) i, 2));
        v->nodes[i].branch = PQgetvalue(res, (int) i, 3)[0] == 't';
    }
    PQclear(res);
    if (!v->nodes || !v->totals)
        return -1;
    if (v->nnodes == 0) {
        log_error("verify_failed", "reason=\"no organisation node %s\"", params[0]);
        return -1;
    }
    res = pgstore_query(v->pg, "SELECT d::date::text FROM generate_series($1::date, "
                        "$2::date, interval '1 day') AS d", 2, params + 1);
    if (!res)
        return -1;
    v->ndays = PQntuples(res) - 1;
    if (v->ndays < 1 || v->ndays > 3660) {
        PQclear(res);
        log_error("verify_failed", "reason=\"the range %s..%s must hold 1 to 3660 days\"",
                  v->args->from, v->args->to);
        return -1;
    }
    v->day_text = calloc((size_t) v->ndays + 1, sizeof *v->day_text);
    v->days = calloc((size_t) v->ndays, sizeof *v->days);
    for (int i = 0; v->day_text && i <= v->ndays; i++)
        snprintf(v->day_text[i], sizeof v->day_text[i], "%s", PQgetvalue(res, i, 0));
    PQclear(res);
    if (!v->day_text || !v->days)
        return -1;
    res = pgstore_query(v->pg, "SELECT s.id, q.target_wait_s FROM service s "
                        "JOIN queue q ON q.id = s.queue_id", 0, NULL);
    if (!res)
        return -1;
    v->ntargets = (size_t) PQntuples(res);
    v->targets = calloc(2 * v->ntargets + 1, sizeof *v->targets);
    for (size_t i = 0; v->targets && i < v->ntargets; i++) {
        v->targets[2 * i] = s_i64(res, (int) i, 0);
        v->targets[2 * i + 1] = s_i64(res, (int) i, 1);
    }
    PQclear(res);
    return v->targets ? 0 : -1;
}

/* Streams the aggregator has not read to their heads: differences there
 * may be lag, not error. */
static void s_lag(s_verify_t *v)
{
    PGresult *res = pgstore_query(v->pg,
        "SELECT (SELECT count(*) FROM ticket_branch_head h LEFT JOIN stats_cursor c "
        "          ON c.source = 'ticket_event' AND c.stream = h.branch_id::text "
        "        WHERE coalesce(c.position, 0) < h.seq) "
        "     + (SELECT count(*) FROM gateway_cursor g LEFT JOIN stats_cursor c "
        "          ON c.source = 'gateway' AND c.stream = g.gateway || '/' || g.incarnation "
        "        WHERE coalesce(c.position, 0) < g.upto)", 0, NULL);
    if (res && s_i64(res, 0, 0) > 0)
        fprintf(v->out, "note: the aggregator has not read %lld stream(s) to their heads: "
                "differences may be lag\n", (long long) s_i64(res, 0, 0));
    PQclear(res);
}

static void s_free(s_verify_t *v)
{
    for (int i = 0; v->days && i < v->ndays; i++) {
        free(v->days[i].waits.v);
        free(v->days[i].svcs.v);
    }
    for (size_t i = 0; v->totals && i < v->nnodes; i++) {
        free(v->totals[i].waits.v);
        free(v->totals[i].svcs.v);
    }
    free(v->days);
    free(v->day_text);
    free(v->nodes);
    free(v->totals);
    free(v->targets);
}

long sv_verify(pgstore_t *pg, const sv_verify_args_t *args, FILE *out)
{
    s_verify_t *v = calloc(1, sizeof *v);      /* one ticket's events: on the heap */
    if (!v)
        return -1;
    v->pg = pg;
    v->args = args;
    v->out = out;
    long rc = -1;
    if (pgstore_exec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL) != 0)
        goto done;
    if (s_load(v) != 0)
        goto done;
    s_lag(v);
    size_t branches = 0;
    for (size_t i = 0; i < v->nnodes; i++)
        if (v->nodes[i].branch) {
            if (s_branch(v, &v->nodes[i]) != 0)
                goto done;
            branches++;
        }
    for (size_t i = 0; i < v->nnodes; i++)
        if (s_check_range(v, &v->nodes[i], &v->totals[i]) != 0)
            goto done;
    fprintf(out, "verify: %zu nodes, %zu branches x %d days, %ld differences\n", v->nnodes,
            branches, v->ndays, v->differences);
    rc = v->differences;
done:
    pgstore_exec(pg, "ROLLBACK", 0, NULL);
    s_free(v);
    free(v);
    return rc;
}
