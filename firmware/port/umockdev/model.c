/*  model: simulated tellers and customers driving devsim (see model.h). */
#include "model.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "eqms/log.h"

#define PLAN_LOGIN (-2)
#define PLAN_NONE  (-1)
#define WAITING_MAX 50

typedef struct {
    char employee[DEVPROTO_EMPLOYEE_MAX + 1];
    int last_state;               /* -1: not seen yet */
    int plan;                     /* devcore_key_t, PLAN_LOGIN or PLAN_NONE */
    uint32_t due;                 /* when the planned press happens */
    uint32_t last_action;
    bool called;                  /* IDLE: the waiting customer was called */
    unsigned waiting;             /* customers queued for this window */
    uint32_t next_arrival;
} window_t;

struct model_t {
    devsim_t *sim;
    model_config_t cfg;
    bool enabled;
    GRand *rand;
    window_t *win;
    size_t count;
    model_stats_t stats;
};

int model_parse_mix(const char *text, unsigned mix[DEVPROTO_KEYS_MAX])
{
    memset(mix, 0, sizeof(unsigned) * DEVPROTO_KEYS_MAX);
    if (!text || !*text)
        return -1;
    gchar **parts = g_strsplit(text, ",", -1);
    int r = 0;
    guint n = g_strv_length(parts);
    if (n == 0 || n > DEVPROTO_KEYS_MAX)
        r = -1;
    for (guint i = 0; r == 0 && i < n; i++) {
        char *end;
        unsigned long v = strtoul(parts[i], &end, 10);
        if (end == parts[i] || *end || v > 1000)
            r = -1;
        else
            mix[i] = (unsigned) v;
    }
    g_strfreev(parts);
    return r;
}

static uint32_t s_exp_ms(model_t *self, double mean_s)
{
    double u = g_rand_double(self->rand);
    double v = -log(1.0 - u) * mean_s * 1000.0;
    return v > 3600000.0 ? 3600000u : (uint32_t) v;
}

static uint32_t s_uniform_ms(model_t *self, uint32_t lo, uint32_t hi)
{
    return (uint32_t) g_rand_int_range(self->rand, (gint32) lo, (gint32) hi + 1);
}

model_t *model_new(devsim_t *sim, const model_config_t *cfg)
{
    model_t *self = g_new0(model_t, 1);
    self->sim = sim;
    self->cfg = *cfg;
    self->cfg.employees = NULL;
    self->enabled = true;
    self->rand = cfg->seed ? g_rand_new_with_seed(cfg->seed) : g_rand_new();
    self->count = devsim_count(sim);
    self->win = g_new0(window_t, self->count);
    gchar **emps = cfg->employees && *cfg->employees ? g_strsplit(cfg->employees, ",", -1) : NULL;
    guint n_emps = emps ? g_strv_length(emps) : 0;
    uint32_t now = devsim_now_ms();
    for (size_t i = 0; i < self->count; i++) {
        window_t *w = &self->win[i];
        if (i < n_emps)
            snprintf(w->employee, sizeof w->employee, "%s", g_strstrip(emps[i]));
        else
            snprintf(w->employee, sizeof w->employee, "%zu", 1001 + i);
        w->last_state = -1;
        w->plan = PLAN_NONE;
        if (!cfg->fast && cfg->arrivals_per_hour > 0)
            w->next_arrival = now + s_exp_ms(self, 3600.0 / cfg->arrivals_per_hour);
    }
    g_strfreev(emps);
    return self;
}

void model_destroy(model_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    model_t *self = *self_p;
    g_rand_free(self->rand);
    g_free(self->win);
    g_free(self);
    *self_p = NULL;
}

void model_enable(model_t *self, bool enabled)
{
    self->enabled = enabled;
}

bool model_enabled(model_t *self)
{
    return self->enabled;
}

model_stats_t model_stats(model_t *self)
{
    return self->stats;
}

/* The rating key a customer presses (index 0 = best), or -1: walks away. */
static int s_pick_rating(model_t *self)
{
    if (g_rand_int_range(self->rand, 0, 100) < (gint32) self->cfg.not_rated_pct)
        return -1;
    unsigned total = 0;
    for (int k = 0; k < DEVPROTO_KEYS_MAX; k++)
        total += self->cfg.mix[k];
    if (total == 0)
        return 0;
    unsigned r = (unsigned) g_rand_int_range(self->rand, 0, (gint32) total);
    for (int k = 0; k < DEVPROTO_KEYS_MAX; k++) {
        if (r < self->cfg.mix[k])
            return k;
        r -= self->cfg.mix[k];
    }
    return 0;
}

static void s_plan(model_t *self, window_t *w, int state, uint32_t now)
{
    bool fast = self->cfg.fast;
    w->plan = PLAN_NONE;
    switch (state) {
    case DEVPROTO_STATE_NO_STAFF:
        w->plan = PLAN_LOGIN;
        w->due = now + (fast ? 0 : s_uniform_ms(self, 200, 2000));
        break;
    case DEVPROTO_STATE_IDLE:
        if (fast) {
            w->plan = DEVCORE_KEY_START;
            w->due = now;
        } else if (w->called) {
            w->plan = DEVCORE_KEY_START;
            w->due = now + s_uniform_ms(self, 2000, 5000);   /* the customer walks up */
        } else if (w->waiting > 0) {
            w->plan = DEVCORE_KEY_CALL;
            w->due = now + s_uniform_ms(self, 500, 3000);
        }
        break;
    case DEVPROTO_STATE_SERVING:
        w->plan = DEVCORE_KEY_END;
        w->due = now + (fast ? 0 : s_exp_ms(self, self->cfg.service_s));
        break;
    case DEVPROTO_STATE_AWAIT_RATING: {
        int k = s_pick_rating(self);
        if (k < 0) {
            self->stats.walked_away++;
            break;
        }
        w->plan = DEVCORE_KEY_RATE1 + k;
        w->due = now + (fast ? 0 : s_uniform_ms(self, 800, 4000));
        break;
    }
    case DEVPROTO_STATE_THANKS:
        if (fast) {   /* Start is taken on the thank-you screen too */
            w->plan = DEVCORE_KEY_START;
            w->due = now;
        }
        break;
    default:
        break;   /* PAUSED; THANKS: the firmware moves on by itself */
    }
}

void model_tick(model_t *self)
{
    if (!self->enabled)
        return;
    uint32_t now = devsim_now_ms();
    uint32_t retry_ms = self->cfg.fast ? 300 : 15000;
    /* a login waits up to DEVCORE_LOGIN_REPLY_MS for the host's reply */
    uint32_t login_retry_ms = DEVCORE_LOGIN_REPLY_MS + 1000;
    for (size_t i = 0; i < self->count; i++) {
        window_t *w = &self->win[i];
        if (!self->cfg.fast && self->cfg.arrivals_per_hour > 0 &&
            (int32_t) (now - w->next_arrival) >= 0) {
            if (w->waiting < WAITING_MAX)
                w->waiting++;
            w->next_arrival = now + s_exp_ms(self, 3600.0 / self->cfg.arrivals_per_hour);
        }
        if (devsim_queued(self->sim, i) > 0)
            continue;
        int st = (int) devsim_state(self->sim, i);
        if (st != w->last_state) {
            if (st == DEVPROTO_STATE_SERVING)
                w->called = false;
            w->last_state = st;
            s_plan(self, w, st, now);
        } else if (w->plan == PLAN_NONE &&
                   ((st == DEVPROTO_STATE_IDLE && w->waiting > 0 && !w->called) ||
                    (int32_t) (now - w->last_action) >=
                    (int32_t) (st == DEVPROTO_STATE_NO_STAFF ? login_retry_ms : retry_ms))) {
            /* nothing changed: a press was refused or suppressed, or a
             * customer arrived; think again */
            s_plan(self, w, st, now);
            w->last_action = now;
        }
        if (w->plan == PLAN_NONE || (int32_t) (now - w->due) < 0)
            continue;
        int plan = w->plan;
        w->plan = PLAN_NONE;
        w->last_action = now;
        if (plan == PLAN_LOGIN) {
            if (devsim_login(self->sim, i, w->employee) == 0)
                self->stats.logins++;
            continue;
        }
        if (devsim_press(self->sim, i, (devcore_key_t) plan, 0) < 0)
            continue;
        self->stats.presses++;
        if (plan == DEVCORE_KEY_CALL) {
            w->called = true;
            w->last_state = -1;   /* plan Start once the press is done */
            if (w->waiting > 0)
                w->waiting--;
            self->stats.calls++;
        } else if (plan == DEVCORE_KEY_START) {
            self->stats.services++;
        } else if (plan >= DEVCORE_KEY_RATE1) {
            self->stats.ratings++;
            self->stats.rated_key[plan - DEVCORE_KEY_RATE1]++;
        }
    }
}
