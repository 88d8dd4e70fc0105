/*  wa_cfg_alerts: alert recipients (wa_cfg_alerts.h). */
#include "wa_cfg_alerts.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/alerttpl.h"
#include "wa_cfg.h"
#include "wa_store.h"

static const jsonreq_member_t s_kind_item = { .type = JSONREQ_STRING, .flags = JSONREQ_LINE,
                                              .min = 1, .max = 64 };

#define S_TIME(name) \
    { name, JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_NULLABLE | JSONREQ_LINE, .min = 5, \
      .max = 8 }

static const jsonreq_member_t s_create_members[] = {
    { "node", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 255 },
    { "name", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
    { "phone", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 32 },
    { .name = "subtree", .type = JSONREQ_BOOLEAN },
    { "kinds", JSONREQ_ARRAY, JSONREQ_OPTIONAL, .min = 1, .max = 16, .items = &s_kind_item },
    { .name = "complaint_details", .type = JSONREQ_BOOLEAN },
    { .name = "active", .type = JSONREQ_BOOLEAN },
    S_TIME("quiet_from"),
    S_TIME("quiet_to"),
    { "max_per_hour", JSONREQ_INTEGER, JSONREQ_OPTIONAL, .min = 1, .max = 3600 },
};
static const jsonreq_object_t s_create_spec = JSONREQ_OBJECT_OF(s_create_members);

static const wa_cfg_rule_t s_rules[] = {
    { "alert_recipient_unique", "phone", 0 },
    { "alert_recipient_phone_e164", "phone", 0 },
    { "22023", "phone", 0 },      /* sms_phone_normal, in the trigger alert_recipient_phone */
    { "alert_recipient_name_present", "name", 0 },
    { "alert_recipient_quiet_pair", "quiet_to", 0 },
    { "22007", "quiet_from", 0 }, /* a time that is not one ("25:00") */
    { "22008", "quiet_from", 0 },
    { "alert_recipient_max_per_hour_valid", "max_per_hour", 0 },
    { NULL, NULL, 0 },
};

#define S_RECIPIENT_JSON \
    "json_build_object('id', p.id, 'node', n.path::text, 'name', p.name, 'phone', p.phone," \
    " 'subtree', p.subtree, 'kinds', to_json(p.kinds)," \
    " 'complaint_details', p.complaint_details, 'active', p.active," \
    " 'quiet_from', to_char(p.quiet_from, 'HH24:MI'), 'quiet_to', to_char(p.quiet_to, 'HH24:MI')," \
    " 'max_per_hour', p.max_per_hour)"

static const char s_by_id_sql[] =
    "SELECT " S_RECIPIENT_JSON "::text FROM alert_recipient p JOIN org_node n ON n.id = p.node_id"
    " WHERE p.id = $1 AND n.path <@ $2::ltree";

/* The kinds, when the body names them: each a kind of alerttpl. */
static int s_check(wa_call_t *call, const json_t *body)
{
    const json_t *kinds = json_object_get(body, "kinds");
    size_t i;
    const json_t *kind;
    json_array_foreach(kinds, i, kind) {
        if (!alerttpl_kind(json_string_value(kind))) {
            char member[32];
            snprintf(member, sizeof member, "kinds[%zu]", i);
            return wa_cfg_unprocessable(call, member, "no alert kind \"%s\" (docs/alerts.md "
                                        "lists them)", json_string_value(kind));
        }
    }
    return 0;
}

void wa_cfg_recipients_list(wa_call_t *call)
{
    static const char *const more[] = { "node", NULL };
    wa_store_list(call, "alert-recipients", more,
                  "SELECT p.id, " S_RECIPIENT_JSON "::text"
                  " FROM alert_recipient p JOIN org_node n ON n.id = p.node_id"
                  " WHERE n.path <@ $1::ltree AND ($2::bigint IS NULL OR p.id > $2)"
                  "   AND ($4::text IS NULL OR n.path::text = $4)"
                  " ORDER BY p.id LIMIT $3");
}

void wa_cfg_recipients_get(wa_call_t *call)
{
    wa_store_get(call, s_by_id_sql);
}

void wa_cfg_recipients_create(wa_call_t *call)
{
    static const char *const fields[] = { "name", "phone", "subtree", "kinds",
                                          "complaint_details", "active", "quiet_from",
                                          "quiet_to", "max_per_hour", NULL };
    static const wa_cfg_create_t how = {
        .node_member = "node", .fields = fields, .rules = s_rules,
        .insert_sql = "INSERT INTO alert_recipient (node_id, name, phone, subtree, kinds,"
                      " complaint_details, active, quiet_from, quiet_to, max_per_hour)"
                      " VALUES ($1, $2, $3, coalesce($4::boolean, false),"
                      " coalesce(ARRAY(SELECT jsonb_array_elements_text($5::jsonb)),"
                      "          '{unsatisfied_rating}'),"
                      " coalesce($6::boolean, false), coalesce($7::boolean, true),"
                      " $8::time, $9::time, coalesce($10::int, 6)) RETURNING id",
        .collection = "alert-recipients", .action = "alert_recipient.create",
        .object_type = "alert_recipient", .by_id_sql = s_by_id_sql, .check = s_check };
    wa_cfg_create(call, &s_create_spec, &how);
}

void wa_cfg_recipients_update(wa_call_t *call)
{
    wa_cfg_update_t u;
    if (wa_cfg_update_begin(call, s_by_id_sql, &s_create_spec, &u) != 0
        || s_check(call, u.body) != 0) {
        wa_cfg_update_end(&u);
        return;
    }
    const char *node = wa_cfg_str(u.body, "node");
    const char *old_node = wa_cfg_str(u.before, "node");
    int64_t node_id = 0, old_id = 0;
    if (wa_cfg_node(call, "node", node ? node : old_node, &node_id, NULL) == 0
        && wa_cfg_node(call, "node", old_node, &old_id, NULL) == 0) {
        char node_text[24], b[4][24];
        snprintf(node_text, sizeof node_text, "%" PRId64, node_id);
        char *kinds = wa_cfg_json_text(u.body, "kinds");
        /* quiet hours: absent keeps them, null clears them */
        bool quiet = json_object_get(u.body, "quiet_from") || json_object_get(u.body, "quiet_to");
        const char *params[] = { u.id_text, node_text, wa_cfg_str(u.body, "name"),
                                 wa_cfg_str(u.body, "phone"),
                                 wa_cfg_text(u.body, "subtree", b[0]), kinds,
                                 wa_cfg_text(u.body, "complaint_details", b[1]),
                                 wa_cfg_text(u.body, "active", b[2]),
                                 quiet ? "t" : "f",
                                 wa_cfg_str(u.body, "quiet_from"),
                                 wa_cfg_str(u.body, "quiet_to"),
                                 wa_cfg_text(u.body, "max_per_hour", b[3]) };
        if (wa_cfg_update_finish(
                call, &u, s_rules,
                "UPDATE alert_recipient SET node_id = $2, name = coalesce($3, name),"
                " phone = coalesce($4, phone), subtree = coalesce($5::boolean, subtree),"
                " kinds = CASE WHEN $6::jsonb IS NULL THEN kinds"
                "         ELSE ARRAY(SELECT jsonb_array_elements_text($6::jsonb)) END,"
                " complaint_details = coalesce($7::boolean, complaint_details),"
                " active = coalesce($8::boolean, active),"
                " quiet_from = CASE WHEN $9::boolean THEN $10::time ELSE quiet_from END,"
                " quiet_to = CASE WHEN $9::boolean THEN $11::time ELSE quiet_to END,"
                " max_per_hour = coalesce($12::int, max_per_hour) WHERE id = $1",
                12, params, "alert_recipient.update", "alert_recipient", node_id,
                s_by_id_sql) == 0
            && node_id != old_id)
            wa_cfg_changed_node(call, old_id);
        free(kinds);
    }
    wa_cfg_update_end(&u);
}

void wa_cfg_recipients_delete(wa_call_t *call)
{
    wa_cfg_update_t u;
    int64_t node_id;
    const char *params[] = { u.id_text };
    if (wa_cfg_delete_begin(call, s_by_id_sql, &u) == 0
        && wa_cfg_node_of(call, "alert_recipient", u.id_text, &node_id) == 0
        && wa_store_begin(call) == 0
        && wa_cfg_exec(call, s_rules, "DELETE FROM alert_recipient WHERE id = $1", 1,
                       params) == 0
        && wa_store_finish(call, "alert_recipient.delete", "alert_recipient", u.id, node_id,
                           u.before, s_by_id_sql, MHD_HTTP_NO_CONTENT) == 0)
        wa_cfg_changed_node(call, node_id);
    wa_cfg_update_end(&u);
}

/* --- alert rules ------------------------------------------------------------------- */

static const jsonreq_member_t s_rule_members[] = {
    { "node", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_FIXED | JSONREQ_LINE,
      .min = 1, .max = 255 },
    { "kind", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_FIXED | JSONREQ_LINE,
      .min = 1, .max = 64 },
    { .name = "enabled", .type = JSONREQ_BOOLEAN },
    { "template", JSONREQ_STRING, JSONREQ_REQUIRED, .min = 1, .max = 500 },
    { .name = "params", .type = JSONREQ_OBJECT },
    { "remind_after_s", JSONREQ_INTEGER, JSONREQ_OPTIONAL, .min = 1, .max = INT32_MAX },
    { "escalate_after_s", JSONREQ_INTEGER, JSONREQ_OPTIONAL, .min = 1, .max = INT32_MAX },
};
static const jsonreq_object_t s_rule_spec = JSONREQ_OBJECT_OF(s_rule_members);

static const wa_cfg_rule_t s_rule_rules[] = {
    { "22023", "params", 0 },     /* alert_rule_params_valid names the member */
    { "alert_rule_params_valid", "params", 0 },
    { "alert_rule_params_object", "params", 0 },
    { "alert_rule_kind_valid", "kind", 0 },
    { "alert_rule_template_fits", "template", 0 },
    { "alert_rule_times_valid", "remind_after_s", 0 },
    { NULL, NULL, 0 },
};

#define S_RULE_JSON \
    "json_build_object('id', r.id, 'node', n.path::text, 'kind', r.kind, 'enabled', r.enabled," \
    " 'template', r.template, 'params', r.params, 'remind_after_s', r.remind_after_s," \
    " 'escalate_after_s', r.escalate_after_s, 'updated_at', " WA_TS("r.updated_at") ")"

static const char s_rule_sql[] =
    "SELECT " S_RULE_JSON "::text FROM alert_rule r JOIN org_node n ON n.id = r.node_id"
    " WHERE r.node_id = $1 AND r.kind = $2";

static const char s_rule_by_id_sql[] =
    "SELECT " S_RULE_JSON "::text FROM alert_rule r JOIN org_node n ON n.id = r.node_id"
    " WHERE r.id = $1 AND n.path <@ $2::ltree";

void wa_cfg_rules_list(wa_call_t *call)
{
    static const char *const more[] = { "node", NULL };
    wa_store_list_key(call, "alert-rules", more,
                      "SELECT n.path::text || '/' || r.kind, " S_RULE_JSON "::text"
                      " FROM alert_rule r JOIN org_node n ON n.id = r.node_id"
                      " WHERE n.path <@ $1::ltree"
                      "   AND ($2::text IS NULL OR n.path::text || '/' || r.kind > $2)"
                      "   AND ($4::text IS NULL OR n.path::text = $4)"
                      " ORDER BY n.path::text || '/' || r.kind LIMIT $3");
}

/* The rule of `node_id` (decimal) and `kind` as JSON; NULL when there is none. */
static json_t *s_rule_json(wa_call_t *call, const char *node_id, const char *kind)
{
    const char *params[] = { node_id, kind };
    PGresult *res = pgstore_query(call->pg, s_rule_sql, 2, params);
    json_t *j = NULL;
    if (res && PQntuples(res) == 1)
        j = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    if (res)
        PQclear(res);
    return j;
}

/* The kind, and the template when given: 0, or -1 answered (422 naming it). */
static int s_rule_check(wa_call_t *call, const char *kind, const char *template)
{
    char reason[ALERTTPL_REASON_SIZE];
    if (!alerttpl_kind(kind))
        return wa_cfg_unprocessable(call, "kind", "no alert kind \"%s\" (docs/alerts.md "
                                    "lists them)", kind);
    /* checked as sms-notifier checks it, so that a typo is refused here */
    if (template && alerttpl_check(kind, template, reason) != 0)
        return wa_cfg_unprocessable(call, "template", "%s", reason);
    return 0;
}

void wa_cfg_rules_set(wa_call_t *call)
{
    json_t *body = wa_decode(call, &s_rule_spec);
    if (!body)
        return;
    const char *kind = wa_cfg_str(body, "kind");
    const char *path = wa_cfg_str(body, "node");
    int64_t node_id;
    json_t *before = NULL;
    if (s_rule_check(call, kind, wa_cfg_str(body, "template")) != 0
        || wa_cfg_node(call, "node", path, &node_id, NULL) != 0)
        goto done;
    char node_text[24], b[3][24];
    snprintf(node_text, sizeof node_text, "%" PRId64, node_id);
    char *params_text = wa_cfg_json_text(body, "params");
    const char *params[] = { node_text, kind, wa_cfg_text(body, "enabled", b[0]),
                             wa_cfg_str(body, "template"), params_text,
                             wa_cfg_text(body, "remind_after_s", b[1]),
                             wa_cfg_text(body, "escalate_after_s", b[2]) };
    if (wa_store_begin(call) != 0) {
        free(params_text);
        goto done;
    }
    before = s_rule_json(call, node_text, kind);
    int rc = wa_cfg_exec(
        call, s_rule_rules,
        "INSERT INTO alert_rule (node_id, kind, enabled, template, params, remind_after_s,"
        " escalate_after_s)"
        " VALUES ($1, $2, coalesce($3::boolean, true), $4, coalesce($5::jsonb, '{}'),"
        " coalesce($6::int, 900), coalesce($7::int, 1800))"
        " ON CONFLICT (node_id, kind) DO UPDATE SET enabled = EXCLUDED.enabled,"
        " template = EXCLUDED.template, params = EXCLUDED.params,"
        " remind_after_s = EXCLUDED.remind_after_s,"
        " escalate_after_s = EXCLUDED.escalate_after_s, updated_at = now()",
        7, params);
    free(params_text);
    if (rc != 0)
        goto done;
    json_t *after = s_rule_json(call, node_text, kind);
    json_t *detail = json_object();
    if (before)
        json_object_set(detail, "before", before);
    if (after)
        json_object_set(detail, "after", after);
    rc = after ? wa_store_audit(call, "alert_rule.set", "alert_rule",
                                json_integer_value(json_object_get(after, "id")), node_id,
                                detail)
               : wa_unavailable(call, "database");
    json_decref(detail);
    if (rc != 0 || wa_store_commit(call) != 0) {
        wa_store_rollback(call);
        json_decref(after);
        goto done;
    }
    wa_reply_jansson(call, before ? MHD_HTTP_OK : MHD_HTTP_CREATED, &after);
    wa_cfg_changed_node(call, node_id);
done:
    json_decref(before);
    json_decref(body);
}

void wa_cfg_rules_get(wa_call_t *call)
{
    wa_store_get(call, s_rule_by_id_sql);
}

void wa_cfg_rules_update(wa_call_t *call)
{
    wa_cfg_update_t u;
    int64_t node_id;
    if (wa_cfg_update_begin(call, s_rule_by_id_sql, &s_rule_spec, &u) == 0
        && s_rule_check(call, wa_cfg_str(u.before, "kind"), wa_cfg_str(u.body, "template"))
               == 0
        && wa_cfg_node_of(call, "alert_rule", u.id_text, &node_id) == 0) {
        char b[3][24];
        char *params_text = wa_cfg_json_text(u.body, "params");
        const char *params[] = { u.id_text, wa_cfg_text(u.body, "enabled", b[0]),
                                 wa_cfg_str(u.body, "template"), params_text,
                                 wa_cfg_text(u.body, "remind_after_s", b[1]),
                                 wa_cfg_text(u.body, "escalate_after_s", b[2]) };
        wa_cfg_update_finish(call, &u, s_rule_rules,
                             "UPDATE alert_rule SET enabled = coalesce($2::boolean, enabled),"
                             " template = coalesce($3, template),"
                             " params = coalesce($4::jsonb, params),"
                             " remind_after_s = coalesce($5::int, remind_after_s),"
                             " escalate_after_s = coalesce($6::int, escalate_after_s),"
                             " updated_at = now() WHERE id = $1",
                             6, params, "alert_rule.update", "alert_rule", node_id,
                             s_rule_by_id_sql);
        free(params_text);
    }
    wa_cfg_update_end(&u);
}

/* Whether an alert of the rule's kind was ever raised at or below its node:
 * 1 or 0, or -1 answered (503). */
static int s_rule_has_alerts(wa_call_t *call, const char *id_text)
{
    const char *params[] = { id_text };
    PGresult *res = wa_store_query(call, NULL,
                                   "SELECT EXISTS (SELECT 1 FROM alert_rule r"
                                   "   JOIN org_node rn ON rn.id = r.node_id"
                                   "   JOIN alert a ON a.kind = r.kind"
                                   "   JOIN org_node b ON b.id = a.branch_id"
                                   "   WHERE r.id = $1 AND b.path <@ rn.path)",
                                   1, params);
    if (!res)
        return -1;
    int has = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return has;
}

void wa_cfg_rules_delete(wa_call_t *call)
{
    wa_cfg_update_t u;
    int64_t node_id;
    const char *params[] = { u.id_text };
    if (wa_cfg_delete_begin(call, s_rule_by_id_sql, &u) != 0
        || wa_cfg_node_of(call, "alert_rule", u.id_text, &node_id) != 0) {
        wa_cfg_update_end(&u);
        return;
    }
    /* a rule that raised alerts stays, switched off: docs/alerts.md */
    int has = s_rule_has_alerts(call, u.id_text);
    if (has >= 0 && wa_store_begin(call) == 0
        && wa_cfg_exec(call, s_rule_rules,
                       has ? "UPDATE alert_rule SET enabled = false, updated_at = now()"
                             " WHERE id = $1"
                           : "DELETE FROM alert_rule WHERE id = $1",
                       1, params) == 0
        && wa_store_finish(call, "alert_rule.delete", "alert_rule", u.id, node_id, u.before,
                           s_rule_by_id_sql, has ? MHD_HTTP_OK : MHD_HTTP_NO_CONTENT) == 0)
        wa_cfg_changed_node(call, node_id);
    wa_cfg_update_end(&u);
}
