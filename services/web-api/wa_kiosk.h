/*  wa_kiosk: what a branch's ticket kiosk (and its tellers' consoles) read:
 *  the services offered there, each with the documents a customer brings
 *  and whether a ticket can be taken for it now.
 *
 *  GET /branches/{branch}/services   issue_tickets, operate_windows or
 *                                    view_live_hall
 *
 *  A service is available when the branch issues tickets now (its opening
 *  hours and cut-off, common/hours.h) and an open window's work profile
 *  lists it (queue-manager's live state, as GET /branches/{branch}/state
 *  reads it); otherwise `reason` says which ("closed", "issuing_stopped",
 *  "no_window") and `resumes_at` when the hours let tickets be issued again.
 *  `issuing.until` tells a kiosk when to read it again.
 */
#ifndef EQMS_WA_KIOSK_H
#define EQMS_WA_KIOSK_H

#include "wa.h"

void wa_kiosk_services(wa_call_t *call);

#endif
