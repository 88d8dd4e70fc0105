/*  wa_session: logging in and out, the caller's own account and password.
 *
 *  POST /api/v1/sessions       login + password -> a session token (once)
 *  DELETE /api/v1/sessions/current   logout
 *  GET /api/v1/me              who the caller is: user or token, node,
 *                              permissions
 *  POST /api/v1/me/password    change one's password (ends one's other
 *                              sessions)
 *
 *  Lockout: config->lockout_failures failed logins in a row lock the
 *  account for config->lockout_s; the answer (429) says until when
 *  ("locked_until") and Retry-After. An unknown login costs the time of a
 *  real verification and answers like a wrong password.
 */
#ifndef EQMS_WA_SESSION_H
#define EQMS_WA_SESSION_H

#include "wa.h"

void wa_session_login(wa_call_t *call);
void wa_session_logout(wa_call_t *call);
void wa_session_me(wa_call_t *call);
void wa_session_change_password(wa_call_t *call);

#endif
