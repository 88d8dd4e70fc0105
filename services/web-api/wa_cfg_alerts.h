/*  wa_cfg_alerts: who sms-notifier tells of alerts (manage_alerts): the
 *  alert recipients of the nodes in the caller's subtree, each with its
 *  node, name, phone (stored E.164: the database's sms_phone_normal turns a
 *  mainland mobile number into +86..., and refuses what is neither, which
 *  answers 422 naming `phone`), whether it hears of the whole subtree, the
 *  alert kinds it wants (each a kind of common/alerttpl), complaint details,
 *  quiet hours and its hourly limit (docs/alerts.md).
 *
 *  And the alert rules of those nodes (alert_rule, keyed by node and kind;
 *  a node's rule holds for its subtree below it unless a deeper node has its
 *  own): POST sets one, made (201) or replaced (200); its template is checked
 *  as sms-notifier checks it (common/alerttpl: 422 naming `template` with the
 *  reason), its params by the database (alert_rule_params_valid, SQLSTATE
 *  22023: 422 naming `params` with its message). One rule is read, changed
 *  (PATCH: enabled, template, params, the reminder times; its node and kind
 *  are its key and stay) or removed by its id (schema 31); a rule under
 *  which alerts were raised (an alert of its kind at or below its node) is
 *  not removed but switched off (200 with the rule, enabled false), so that
 *  the alerts keep the rule that governed them and their open ones their
 *  reminders and escalations (docs/alerts.md); one without answers 204.
 *
 *  Routes: GET/POST /api/v1/alert-recipients,
 *          GET/PATCH/DELETE /api/v1/alert-recipients/{id},
 *          GET/POST /api/v1/alert-rules,
 *          GET/PATCH/DELETE /api/v1/alert-rules/{id}.
 */
#ifndef EQMS_WA_CFG_ALERTS_H
#define EQMS_WA_CFG_ALERTS_H

#include "wa.h"

void wa_cfg_recipients_list(wa_call_t *call);
void wa_cfg_recipients_get(wa_call_t *call);
void wa_cfg_recipients_create(wa_call_t *call);
void wa_cfg_recipients_update(wa_call_t *call);
void wa_cfg_recipients_delete(wa_call_t *call);
void wa_cfg_rules_list(wa_call_t *call);
void wa_cfg_rules_set(wa_call_t *call);
void wa_cfg_rules_get(wa_call_t *call);
void wa_cfg_rules_update(wa_call_t *call);
void wa_cfg_rules_delete(wa_call_t *call);

#endif
