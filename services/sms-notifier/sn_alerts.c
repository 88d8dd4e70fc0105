/*  sn_alerts: an unsatisfied rating made into its alert (sn_alerts.h). */
#include "sn_alerts.h"

#include <czmq.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"
#include "sn_sms.h"
#include "eqms/alerttpl.h"

const char *const SN_ALERTS_PLAIN_OPTION = "不满意";

struct sn_alerts_t {
    sn_store_t *store;
    int max_parts;
    int64_t stale_ms;
    zhash_t *checked;            /* template text -> "ok" or "bad" */
    sn_alerts_counts_t counts;      /* committed */
    sn_alerts_counts_t pending;     /* in the open transaction */
};

sn_alerts_t *sn_alerts_new(sn_store_t *store, int max_parts, int stale_s)
{
    sn_alerts_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->max_parts = max_parts > 0 ? max_parts : 1;
    self->stale_ms = (int64_t) stale_s * 1000;
    self->checked = zhash_new();
    if (!self->checked)
        sn_alerts_destroy(&self);
    return self;
}

void sn_alerts_destroy(sn_alerts_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhash_destroy(&(*self_p)->checked);
    free(*self_p);
    *self_p = NULL;
}

sn_alerts_counts_t sn_alerts_counts(const sn_alerts_t *self)
{
    return self->counts;
}

void sn_alerts_settle(sn_alerts_t *self, bool committed)
{
    if (committed) {
        self->counts.raised += self->pending.raised;
        self->counts.repeated += self->pending.repeated;
        self->counts.no_rule += self->pending.no_rule;
        self->counts.bad_rule += self->pending.bad_rule;
        self->counts.resolved += self->pending.resolved;
    }
    self->pending = (sn_alerts_counts_t) { 0 };
}

/* The rule's template for `kind` if it is valid, else the built-in one
 * (the refusal logged once per kind and template text). */
static const char *s_template(sn_alerts_t *self, const char *kind, const char *text,
                              const char *builtin)
{
    char key[600];
    snprintf(key, sizeof key, "%s\n%s", kind, text);
    const char *seen = zhash_lookup(self->checked, key);
    if (!seen) {
        char reason[ALERTTPL_REASON_SIZE];
        seen = alerttpl_check(kind, text, reason) == 0 ? "ok" : "bad";
        if (*seen == 'b')
            log_warn("alert_rule_refused", "kind=%s reason=\"%s\" "
                     "fallback=\"built-in template\"", kind, reason);
        zhash_insert(self->checked, key, (void *) seen);
    }
    if (*seen == 'b') {
        self->pending.bad_rule++;
        return builtin;
    }
    return text;
}

/* `text` (taken) cut to the SMS allowed; NULL stays NULL. */
static char *s_fit(sn_alerts_t *self, char *text, const char *rating_id)
{
    bool cut = false;
    char *fitted = text ? sn_sms_fit(text, self->max_parts, &cut) : NULL;
    if (!fitted)
        return text;            /* empty: sent as it is, the gateway refuses it */
    if (cut)
        log_warn("sms_text_cut", "rating=%s max_parts=%d reason=\"the alert's text is "
                 "longer than the SMS allowed\"", rating_id, self->max_parts);
    free(text);
    return fitted;
}

int sn_alerts_rating(void *arg, const sn_rating_t *r)
{
    sn_alerts_t *self = arg;
    if (!r->rule_template) {
        self->pending.no_rule++;
        return 0;
    }
    const char *tpl = s_template(self, "unsatisfied_rating", r->rule_template,
                                 alerttpl_kind("unsatisfied_rating")->builtin);
    char unsat[24], rated[24], ratio[24];
    snprintf(unsat, sizeof unsat, "%" PRId64, r->unsatisfied_today);
    snprintf(rated, sizeof rated, "%" PRId64, r->rated_today);
    snprintf(ratio, sizeof ratio, "%.1f%%",
             r->rated_today > 0 ? 100.0 * (double) r->unsatisfied_today
                                  / (double) r->rated_today : 0.0);
    const alerttpl_field_t fields[] = {
        { "branch", r->branch_name }, { "window", r->window_no }, { "teller", r->teller },
        { "employee_no", r->employee_no }, { "ticket", r->ticket }, { "service", r->service },
        { "option", r->option }, { "time", r->local_time },
        { "unsatisfied_today", unsat }, { "rated_today", rated }, { "ratio_today", ratio },
    };
    size_t nfields = sizeof fields / sizeof fields[0];
    char *text = s_fit(self, alerttpl_render(tpl, fields, nfields), r->rating_id);
    /* the option chosen is the complaint's detail: only for recipients
     * allowed it; the others read the generic word */
    alerttpl_field_t plain_fields[sizeof fields / sizeof fields[0]];
    memcpy(plain_fields, fields, sizeof fields);
    for (size_t i = 0; i < nfields; i++)
        if (strcmp(plain_fields[i].name, "option") == 0)
            plain_fields[i].value = SN_ALERTS_PLAIN_OPTION;
    char *plain = s_fit(self, alerttpl_render(tpl, plain_fields, nfields), r->rating_id);
    json_t *facts = json_object();
    for (size_t i = 0; facts && i < sizeof fields / sizeof fields[0]; i++)
        json_object_set_new(facts, fields[i].name, json_string(fields[i].value));
    if (facts)
        json_object_set_new(facts, "rating", json_string(r->rating_id));
    char *facts_json = facts ? json_dumps(facts, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(facts);
    int rc = -1;
    if (text && plain && facts_json) {
        bool stale = clock_now_ms() - r->event_ms > self->stale_ms;
        sn_alert_row_t row = { "unsatisfied_rating", r->rating_id, r->branch_id, r->window_id,
                               r->staff_id, r->event_ms, stale, r->recipient_ids };
        int written = sn_store_alert(self->store, &row, facts_json, text, plain);
        if (written >= 0) {
            rc = 0;
            if (written) {
                self->pending.raised++;
                log_info("alert_raised", "kind=unsatisfied_rating rating=%s branch=%" PRId64
                         " window=%" PRId64 " staff=%" PRId64 " recipients=%s stale=%d",
                         r->rating_id, r->branch_id, r->window_id, r->staff_id,
                         r->recipient_ids, stale);
            } else {
                self->pending.repeated++;
            }
        }
    } else {
        log_error("alert_not_written", "rating=%s reason=\"out of memory\"", r->rating_id);
    }
    free(text);
    free(plain);
    free(facts_json);
    return rc;
}

int sn_alerts_threshold(void *arg, const sn_threshold_t *m)
{
    sn_alerts_t *self = arg;
    if (!m->firing && !*m->open_alert)
        return 0;
    if (!m->firing) {
        /* cleared (or the rule is gone): resolved by itself */
        if (sn_store_resolve(self->store, m->open_alert, m->note) != 0)
            return -1;
        self->pending.resolved++;
        log_info("alert_resolved", "kind=%s alert=%s member=%s", m->kind, m->open_alert,
                 m->member);
        return 0;
    }
    const alerttpl_kind_t *kind = alerttpl_kind(m->kind);
    if (*m->open_alert || !m->template || !kind)
        return 0;               /* open already: one alert per episode */
    const char *tpl = s_template(self, m->kind, m->template, kind->builtin);
    json_error_t error;
    json_t *facts = json_loads(m->fields_json, 0, &error);
    alerttpl_field_t fields[16];
    size_t n = 0;
    const char *key;
    json_t *value;
    json_object_foreach(facts, key, value)
        if (n < sizeof fields / sizeof fields[0] && json_is_string(value))
            fields[n++] = (alerttpl_field_t) { key, json_string_value(value) };
    int64_t now = clock_now_ms();
    char fact[160];
    snprintf(fact, sizeof fact, "%s:%" PRId64, m->member, now);
    char *text = facts ? s_fit(self, alerttpl_render(tpl, fields, n), fact) : NULL;
    if (facts)
        json_object_set_new(facts, "member", json_string(m->member));
    char *facts_json = facts ? json_dumps(facts, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(facts);
    int rc = -1;
    if (text && facts_json) {
        sn_alert_row_t row = { m->kind, fact, m->branch_id, m->window_id, m->staff_id, now,
                               false, m->recipient_ids };
        int written = sn_store_alert(self->store, &row, facts_json, text, NULL);
        if (written > 0 && kind->praise
            && sn_store_resolve_fact(self->store, m->kind, fact, m->note) != 0)
            written = -1;
        if (written >= 0) {
            rc = 0;
            self->pending.raised += (uint64_t) written;
            log_info("alert_raised", "kind=%s member=%s recipients=%s", m->kind, m->member,
                     m->recipient_ids);
        }
    }
    else
        log_error("alert_not_written", "kind=%s member=%s reason=\"%s\"", m->kind, m->member,
                  facts ? "out of memory" : error.text);
    free(text);
    free(facts_json);
    return rc;
}
