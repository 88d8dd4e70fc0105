/*  wa_ops_qm: tickets, window actions and the live hall through
 *  queue-manager's request endpoint (docs/protocol.md, "queue-manager
 *  requests"), each scoped to the caller's subtree.
 *
 *  POST /branches/{branch}/tickets            issue_tickets   ticket.issue
 *  GET  /branches/{branch}/tickets/{ticket}   view_live_hall  ticket.get
 *  GET  /branches/{branch}/state              view_live_hall  branch.state
 *  POST /windows/{id}/<action>                operate_windows window.<action>
 *
 *  A branch or window outside the subtree answers 404 before anything is
 *  sent. queue-manager's refusals become Problem Details with its code in
 *  `error` (the table in docs/openapi.yaml, "QueueManagerRefused"): unknown
 *  ticket, window or branch 404; a value refused 422; a state that does
 *  not allow the action 409; unavailable 503. Retries (the protocol's
 *  rule): nothing is ever resent. A non-idempotent op without a reply in
 *  EQMS_WEBAPI_QM_TIMEOUT_MS answers 504 with type
 *  urn:eqms:problem:outcome-unknown and `check` (where to read whether it
 *  happened), as does queue-manager's `unavailable` when it says the
 *  commit may have happened (503). Every action that was done, or may
 *  have been, goes into the audit log.
 */
#ifndef EQMS_WA_OPS_QM_H
#define EQMS_WA_OPS_QM_H

#include "wa.h"

void wa_ops_ticket_issue(wa_call_t *call);
void wa_ops_ticket_get(wa_call_t *call);
void wa_ops_branch_state(wa_call_t *call);

/* The live state of `branch` (its id `branch_id`, in the caller's subtree)
 * as GET /branches/{branch}/state answers it, kept (wa_snap) or read from
 * queue-manager: JSON text the caller frees; NULL answered (queue-manager's
 * refusal, 503, 504). */
char *wa_ops_state_text(wa_call_t *call, const char *branch, int64_t branch_id);
void wa_ops_window_action(wa_call_t *call);

#endif
