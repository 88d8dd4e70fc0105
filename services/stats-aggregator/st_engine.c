/*  st_engine: placing facts in cells (st_engine.h). */
#include "st_engine.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/grow.h"
#include "eqms/log.h"

#define S_AHEAD_MS (24LL * 3600 * 1000)     /* a fact later than this is refused */
#define S_MAX_LEGS 64                      /* transfers of one ticket, at most */

typedef struct {
    st_leg_t *legs;             /* oldest first; the last is the current one */
    size_t count, cap;
    bool changed;
} s_ticket_t;

typedef struct {
    char source[16];
    char fact[64];
    char reason[ST_REASON_SIZE];
} s_unplaced_t;

struct st_engine_t {
    st_tree_t *tree;
    const st_config_t *config;
    st_leg_loader_fn *loader;
    void *loader_arg;
    st_cells_t *cells;
    zhashx_t *tickets;          /* ticket id -> s_ticket_t */
    zhashx_t *legless;          /* ticket ids known to have no legs in stats_leg */
    size_t loads;               /* loader calls */
    s_ticket_t **changed;       /* tickets with changed legs */
    size_t nchanged, changed_cap;
    s_unplaced_t *unplaced;
    size_t nunplaced, unplaced_cap;
    size_t pending;
};

static void s_ticket_free(void **item)
{
    if (item && *item) {
        s_ticket_t *t = *item;
        free(t->legs);
        free(t);
        *item = NULL;
    }
}

st_engine_t *st_engine_new(st_tree_t *tree, const st_config_t *config,
                           st_leg_loader_fn *loader, void *loader_arg)
{
    st_engine_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->tree = tree;
    self->config = config;
    self->loader = loader;
    self->loader_arg = loader_arg;
    self->cells = st_cells_new();
    self->tickets = zhashx_new();
    self->legless = zhashx_new();
    if (!self->cells || !self->tickets || !self->legless) {
        st_engine_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->tickets, s_ticket_free);
    return self;
}

void st_engine_destroy(st_engine_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    st_engine_t *self = *self_p;
    st_cells_destroy(&self->cells);
    zhashx_destroy(&self->tickets);
    zhashx_destroy(&self->legless);
    free(self->changed);
    free(self->unplaced);
    free(self);
    *self_p = NULL;
}

void st_engine_set_config(st_engine_t *self, const st_config_t *config)
{
    self->config = config;
}

/* --- unplaced facts ------------------------------------------------------ */

static int s_unplaced(st_engine_t *self, const char *source, const char *fact,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int s_unplaced(st_engine_t *self, const char *source, const char *fact,
                      const char *fmt, ...)
{
    s_unplaced_t *grown = grow_room(self->unplaced, self->nunplaced, &self->unplaced_cap,
                                    sizeof *grown, 16);
    if (!grown)
        return -1;
    self->unplaced = grown;
    s_unplaced_t *u = &self->unplaced[self->nunplaced++];
    snprintf(u->source, sizeof u->source, "%s", source);
    snprintf(u->fact, sizeof u->fact, "%s", fact);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->reason, sizeof u->reason, fmt, ap);
    va_end(ap);
    log_warn("stats_fact_unplaced", "source=%s fact=%s reason=\"%s\"", source, fact,
             u->reason);
    return 0;
}

int st_engine_unplaced(st_engine_t *self, const char *source, const char *fact,
                       const char *reason)
{
    self->pending++;
    return s_unplaced(self, source, fact, "%s", reason);
}

const st_config_t *st_engine_config(const st_engine_t *self)
{
    return self->config;
}

/* --- cells ----------------------------------------------------------------- */

static int s_cell(st_engine_t *self, int64_t node, st_period_t period, clock_date_t start,
                  int hour, st_dim_t dim, int64_t member, const st_measures_t *before,
                  const st_measures_t *after)
{
    st_cell_key_t key = { .node_id = node, .member = member,
                          .start_day = st_cells_day(start), .period = (int8_t) period,
                          .hour = (int8_t) hour, .dim = (int8_t) dim };
    st_measures_t *m = st_cells_at(self->cells, &key);
    if (!m)
        return -1;
    st_measures_add_change(m, before, after);
    return 0;
}

/* The cells of one instant at one node: the hour (dimension all) and, for
 * day .. year, every (dim, member) of `dims` (ndims of them). */
static int s_at_instant(st_engine_t *self, const st_anc_t *anc, int64_t at,
                        const st_dim_t *dims, const int64_t *members, int ndims,
                        bool hour_of_day, const st_measures_t *before,
                        const st_measures_t *after)
{
    st_place_t p;
    if (st_zone_place(anc->zone, at, &p) != 0)
        return -1;
    if (s_cell(self, anc->node_id, ST_PERIOD_HOUR, p.day, p.hour, ST_DIM_ALL, 0, before,
               after) != 0)
        return -1;
    int wall = hour_of_day ? st_zone_wall_hour(anc->zone, at) : -1;
    for (int k = ST_PERIOD_DAY; k < ST_PERIOD_KINDS; k++) {
        clock_date_t start = st_period_start((st_period_t) k, p.day);
        for (int d = 0; d < ndims; d++)
            if (s_cell(self, anc->node_id, (st_period_t) k, start, 0, dims[d], members[d],
                       before, after) != 0)
                return -1;
        if (wall >= 0 && (k == ST_PERIOD_DAY || k == ST_PERIOD_MONTH || k == ST_PERIOD_YEAR)
            && s_cell(self, anc->node_id, (st_period_t) k, start, 0, ST_DIM_HOUR_OF_DAY,
                      wall, before, after) != 0)
            return -1;
    }
    return 0;
}

/* The branch's window and teller cells of one instant, day .. year. */
static int s_people(st_engine_t *self, const st_anc_t *branch, int64_t at,
                    int64_t window_id, int64_t staff_id, const st_measures_t *before,
                    const st_measures_t *after)
{
    st_place_t p;
    if (st_zone_place(branch->zone, at, &p) != 0)
        return -1;
    for (int k = ST_PERIOD_DAY; k < ST_PERIOD_KINDS; k++) {
        clock_date_t start = st_period_start((st_period_t) k, p.day);
        if ((window_id > 0 && s_cell(self, branch->node_id, (st_period_t) k, start, 0,
                                     ST_DIM_WINDOW, window_id, before, after) != 0)
            || (staff_id > 0 && s_cell(self, branch->node_id, (st_period_t) k, start, 0,
                                       ST_DIM_TELLER, staff_id, before, after) != 0))
            return -1;
    }
    return 0;
}

/* --- ticket legs ----------------------------------------------------------- */

static bool s_closed(const st_leg_t *leg)
{
    return leg->outcome != ST_OUTCOME_OPEN;
}

/* Adds the change of one leg (before: NULL for a new leg) to the cells. */
static int s_place_leg(st_engine_t *self, const st_leg_t *before, const st_leg_t *after)
{
    st_anc_t anc[ST_TREE_DEPTH];
    int n = st_tree_ancestors(self->tree, after->branch_id, after->start_ms, anc);
    if (n < 0)
        return 1;
    st_measures_t was = { 0 }, now;
    if (before)
        st_leg_contribution(before, &was);
    st_leg_contribution(after, &now);
    st_dim_t dims[] = { ST_DIM_ALL, ST_DIM_SERVICE, ST_DIM_CLASS };
    int64_t members[] = { 0, after->service_id, after->klass };
    for (int i = 0; i < n; i++)
        if (s_at_instant(self, &anc[i], after->start_ms, dims, members, 3, true, &was,
                         &now) != 0)
            return -1;
    if (s_closed(after) && !(before && s_closed(before))) {
        static const st_measures_t zero;
        if (s_people(self, &anc[n - 1], after->start_ms, after->window_id, after->staff_id,
                     &zero, &now) != 0)
            return -1;
    }
    return 0;
}

/* A ticket holding a copy of legs[0..n), put in the map. NULL out of memory. */
static s_ticket_t *s_ticket_of(st_engine_t *self, const char *ticket_id, const st_leg_t *legs,
                               int n)
{
    s_ticket_t *t = calloc(1, sizeof *t);
    if (!t || !(t->legs = malloc((size_t) n * sizeof *t->legs))) {
        free(t);
        return NULL;
    }
    memcpy(t->legs, legs, (size_t) n * sizeof *legs);
    t->count = t->cap = (size_t) n;
    zhashx_update(self->tickets, ticket_id, t);
    return t;
}

static s_ticket_t *s_ticket(st_engine_t *self, const char *ticket_id, bool *failed)
{
    *failed = false;
    s_ticket_t *t = zhashx_lookup(self->tickets, ticket_id);
    if (t || !self->loader || zhashx_lookup(self->legless, ticket_id))
        return t;
    st_leg_t legs[S_MAX_LEGS];
    self->loads++;
    int n = self->loader(self->loader_arg, ticket_id, legs, S_MAX_LEGS);
    if (n <= 0) {
        *failed = n < 0;
        return NULL;
    }
    t = s_ticket_of(self, ticket_id, legs, n);
    *failed = !t;
    return t;
}

bool st_engine_needs_legs(const st_engine_t *self, const char *ticket_id)
{
    return !zhashx_lookup(self->tickets, ticket_id) && !zhashx_lookup(self->legless, ticket_id);
}

int st_engine_known_legs(st_engine_t *self, const char *ticket_id, const st_leg_t *legs,
                         int n)
{
    if (zhashx_lookup(self->tickets, ticket_id))
        return 0;                /* what it holds is newer */
    if (n <= 0) {
        zhashx_update(self->legless, ticket_id, (void *) 1);
        return 0;
    }
    zhashx_delete(self->legless, ticket_id);
    return s_ticket_of(self, ticket_id, legs, n < S_MAX_LEGS ? n : S_MAX_LEGS) ? 0 : -1;
}

size_t st_engine_loads(const st_engine_t *self)
{
    return self->loads;
}

static int s_mark_changed(st_engine_t *self, s_ticket_t *t)
{
    if (t->changed)
        return 0;
    s_ticket_t **grown = grow_room(self->changed, self->nchanged, &self->changed_cap,
                                   sizeof *grown, 256);
    if (!grown)
        return -1;
    self->changed = grown;
    self->changed[self->nchanged++] = t;
    t->changed = true;
    return 0;
}

static int s_append_leg(s_ticket_t *t, const st_leg_t *leg)
{
    st_leg_t *grown = grow_room(t->legs, t->count, &t->cap, sizeof *grown, 2);
    if (!grown)
        return -1;
    t->legs = grown;
    t->legs[t->count++] = *leg;
    return 0;
}

static int s_new_ticket(st_engine_t *self, const st_event_t *ev, const char *fact)
{
    bool failed;
    if (s_ticket(self, ev->ticket_id, &failed))
        return s_unplaced(self, "ticket_event", fact, "ticket %s issued twice",
                          ev->ticket_id);
    if (failed)
        return -1;
    int32_t target = st_config_target_s(self->config, ev->service_id);
    if (target < 0)
        return s_unplaced(self, "ticket_event", fact, "unknown service %lld",
                          (long long) ev->service_id);
    st_leg_t leg;
    if (st_leg_start(&leg, ev, target) != 0)
        return -1;
    s_ticket_t *t = calloc(1, sizeof *t);
    if (!t || s_append_leg(t, &leg) != 0) {
        s_ticket_free((void **) &t);
        return -1;
    }
    zhashx_insert(self->tickets, ev->ticket_id, t);
    int rc = s_place_leg(self, NULL, &leg);
    if (rc > 0) {
        zhashx_delete(self->tickets, ev->ticket_id);
        return s_unplaced(self, "ticket_event", fact, "branch %lld is not in the tree",
                          (long long) ev->branch_id);
    }
    return rc < 0 ? -1 : s_mark_changed(self, t);
}

int st_engine_ticket_event(st_engine_t *self, const st_event_t *ev)
{
    self->pending++;
    if (ev->kind == ST_EV_OTHER)
        return 0;
    char fact[64];
    snprintf(fact, sizeof fact, "%lld/%lld", (long long) ev->branch_id, (long long) ev->seq);
    if (ev->at_ms > clock_now_ms() + S_AHEAD_MS)
        return s_unplaced(self, "ticket_event", fact, "time far in the future");
    if (!ev->ticket_id[0])
        return s_unplaced(self, "ticket_event", fact, "a ticket event without a ticket");
    if (ev->kind == ST_EV_ISSUED || ev->kind == ST_EV_WALK_IN)
        return s_new_ticket(self, ev, fact);
    bool failed;
    s_ticket_t *t = s_ticket(self, ev->ticket_id, &failed);
    if (failed)
        return -1;
    if (!t)
        return s_unplaced(self, "ticket_event", fact, "ticket %s was never seen issued",
                          ev->ticket_id);
    st_leg_t *leg = &t->legs[t->count - 1];
    st_leg_t before = *leg, next;
    bool has_next;
    char reason[128];
    int32_t next_target = st_config_target_s(self->config, ev->service_id);
    if (ev->kind == ST_EV_TRANSFERRED && next_target < 0)
        return s_unplaced(self, "ticket_event", fact, "transfer to unknown service %lld",
                          (long long) ev->service_id);
    if (ev->kind == ST_EV_TRANSFERRED && t->count >= S_MAX_LEGS)
        return s_unplaced(self, "ticket_event", fact, "more than %d transfers",
                          S_MAX_LEGS - 1);
    if (st_leg_apply(leg, ev, next_target, &next, &has_next, reason) != 0)
        return s_unplaced(self, "ticket_event", fact, "%s", reason);
    if (s_place_leg(self, &before, leg) != 0)
        return -1;   /* the branch was placed when the leg started */
    if (has_next) {
        if (s_append_leg(t, &next) != 0 || s_place_leg(self, NULL, &next) != 0)
            return -1;
    }
    return s_mark_changed(self, t);
}

/* --- ratings, services, sessions ---------------------------------------- */

int st_engine_rating(st_engine_t *self, const st_rating_t *r)
{
    self->pending++;
    if (r->event_ms > clock_now_ms() + S_AHEAD_MS)
        return s_unplaced(self, "rating", r->id, "time far in the future");
    int64_t branch = st_config_window_branch(self->config, r->window_id);
    st_anc_t anc[ST_TREE_DEPTH];
    int n = branch ? st_tree_ancestors(self->tree, branch, r->event_ms, anc) : -1;
    if (n < 0)
        return s_unplaced(self, "rating", r->id, "window %lld is not in a known branch",
                          (long long) r->window_id);
    st_category_t category;
    int64_t option = st_config_option(self->config, r->window_id, r->option_code, &category);
    static const st_measures_t zero;
    st_measures_t m = { 0 };
    m.rated = 1;
    m.satisfied = r->satisfied;
    m.unsatisfied = r->unsatisfied;
    m.score_x10 = r->score_x10;
    m.cat[category] = 1;
    st_dim_t dims[] = { ST_DIM_ALL, ST_DIM_OPTION };
    int64_t members[] = { 0, option };
    for (int i = 0; i < n; i++)
        if (s_at_instant(self, &anc[i], r->event_ms, dims, members, option ? 2 : 1, false,
                         &zero, &m) != 0)
            return -1;
    return s_people(self, &anc[n - 1], r->event_ms, r->window_id, r->staff_id, &zero, &m);
}

/* Splits an interval's length into one field of the cells it overlaps. */
typedef struct {
    st_engine_t *self;
    int64_t node;
    st_period_t kind;
    st_dim_t dim;
    int64_t member;
    bool on_duty;               /* on_duty_ms, else serving_ms */
} s_split_t;

static int s_piece(void *arg, clock_date_t start, int hour, int64_t ms)
{
    s_split_t *s = arg;
    static const st_measures_t zero;
    st_measures_t m = { 0 };
    if (s->on_duty)
        m.on_duty_ms = ms;
    else
        m.serving_ms = ms;
    return s_cell(s->self, s->node, s->kind, start, hour, s->dim, s->member, &zero, &m);
}

static int s_interval(st_engine_t *self, const char *source, const st_interval_t *iv,
                      bool on_duty)
{
    self->pending++;
    if (iv->to_ms > clock_now_ms() + S_AHEAD_MS)
        return s_unplaced(self, source, iv->id, "time far in the future");
    if (iv->to_ms < iv->from_ms)
        return s_unplaced(self, source, iv->id, "it ends before it starts");
    int64_t branch = st_config_window_branch(self->config, iv->window_id);
    st_anc_t anc[ST_TREE_DEPTH];
    int n = branch ? st_tree_ancestors(self->tree, branch, iv->to_ms, anc) : -1;
    if (n < 0)
        return s_unplaced(self, source, iv->id, "window %lld is not in a known branch",
                          (long long) iv->window_id);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < ST_PERIOD_KINDS; k++) {
            struct { st_dim_t dim; int64_t member; } on[3] = {
                { ST_DIM_ALL, 0 }, { ST_DIM_WINDOW, iv->window_id },
                { ST_DIM_TELLER, iv->staff_id } };
            int ndims = i == n - 1 && k != ST_PERIOD_HOUR ? 3 : 1;
            for (int d = 0; d < ndims; d++) {
                if (on[d].member == 0 && on[d].dim != ST_DIM_ALL)
                    continue;
                s_split_t split = { self, anc[i].node_id, (st_period_t) k, on[d].dim,
                                    on[d].member, on_duty };
                if (st_zone_split(anc[i].zone, (st_period_t) k, iv->from_ms, iv->to_ms,
                                  s_piece, &split) != 0)
                    return -1;
            }
        }
    }
    if (on_duty)
        return 0;
    static const st_measures_t zero;
    st_measures_t count = { 0 };
    count.services = 1;
    st_dim_t dims[] = { ST_DIM_ALL };
    int64_t members[] = { 0 };
    for (int i = 0; i < n; i++)
        if (s_at_instant(self, &anc[i], iv->to_ms, dims, members, 1, false, &zero,
                         &count) != 0)
            return -1;
    return s_people(self, &anc[n - 1], iv->to_ms, iv->window_id, iv->staff_id, &zero,
                    &count);
}

int st_engine_service(st_engine_t *self, const st_interval_t *service)
{
    return s_interval(self, "service_record", service, false);
}

int st_engine_session(st_engine_t *self, const st_interval_t *session)
{
    return s_interval(self, "staff_session", session, true);
}

/* --- flushing ------------------------------------------------------------- */

st_cells_t *st_engine_cells(st_engine_t *self)
{
    return self->cells;
}

int st_engine_each_changed_leg(st_engine_t *self, st_leg_fn *fn, void *arg)
{
    for (size_t i = 0; i < self->nchanged; i++)
        for (size_t l = 0; l < self->changed[i]->count; l++) {
            int rc = fn(arg, &self->changed[i]->legs[l]);
            if (rc)
                return rc;
        }
    return 0;
}

int st_engine_each_unplaced(st_engine_t *self, st_unplaced_fn *fn, void *arg)
{
    for (size_t i = 0; i < self->nunplaced; i++) {
        s_unplaced_t *u = &self->unplaced[i];
        int rc = fn(arg, u->source, u->fact, u->reason);
        if (rc)
            return rc;
    }
    return 0;
}

size_t st_engine_pending(const st_engine_t *self)
{
    return self->pending;
}

size_t st_engine_unplaced_count(const st_engine_t *self)
{
    return self->nunplaced;
}

void st_engine_flushed(st_engine_t *self)
{
    for (size_t i = 0; i < self->nchanged; i++) {
        s_ticket_t *t = self->changed[i];
        t->changed = false;
        if (s_closed(&t->legs[t->count - 1]))
            zhashx_delete(self->tickets, t->legs[0].ticket_id);
    }
    self->nchanged = 0;
    self->nunplaced = 0;
    self->pending = 0;
    st_cells_clear(self->cells);
    zhashx_purge(self->legless);     /* the flush wrote legs: ask stats_leg again */
}

void st_engine_reset(st_engine_t *self)
{
    zhashx_purge(self->tickets);
    zhashx_purge(self->legless);
    self->nchanged = 0;
    self->nunplaced = 0;
    self->pending = 0;
    st_cells_clear(self->cells);
}
