/*  wa_audit: GET /api/v1/audit (read_audit_log): the audit log of the
 *  caller's subtree, newest first, filtered by action, object type and
 *  object id. Rows without a node (logins with an unknown name) are shown
 *  to callers at a root of the tree only.
 */
#ifndef EQMS_WA_AUDIT_H
#define EQMS_WA_AUDIT_H

#include "wa.h"

void wa_audit_list(wa_call_t *call);

#endif
