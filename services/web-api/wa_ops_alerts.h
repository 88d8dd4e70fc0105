/*  wa_ops_alerts: sms-notifier's alerts in the caller's subtree (schema 17,
 *  21, 22, 28; docs/alerts.md, "Alert lifecycle").
 *
 *  GET  /alerts                     view_live_hall  filters: state, kind,
 *                                   from, to (raised_at, RFC 3339 or a
 *                                   date), node (a subtree of the caller's);
 *                                   newest first, cursor pages
 *  GET  /alerts/{id}                view_live_hall  one alert with its events
 *  POST /alerts/{id}/acknowledge    manage_alerts   alert_acknowledge (note)
 *  POST /alerts/{id}/resolve        manage_alerts   alert_resolve (root cause)
 *
 *  Reading needs view_live_hall: alerts are what happens in the halls now
 *  (unhappy customers, long queues, idle windows, devices offline), read
 *  beside the live state by supervisors who need not see statistics. The
 *  option a customer chose (`facts.option`, the complaint's detail) is
 *  shown only to a caller holding view_complaints; others read 不满意, as
 *  the SMS of recipients without complaint_details do. The functions'
 *  refusals: no such alert (P0002) 404, resolved (55000) 409, a blank root
 *  cause (22023) 400. Each step goes into the audit log with the alert
 *  before and after.
 */
#ifndef EQMS_WA_OPS_ALERTS_H
#define EQMS_WA_OPS_ALERTS_H

#include "wa.h"

void wa_ops_alerts_list(wa_call_t *call);
void wa_ops_alerts_get(wa_call_t *call);
void wa_ops_alerts_acknowledge(wa_call_t *call);
void wa_ops_alerts_resolve(wa_call_t *call);

#endif
