/*  wa_tokens: API tokens of other systems (manage_api_tokens): create (the
 *  token is shown once, in the answer; only its SHA-256 is stored), list
 *  and read (never the secret), revoke (kept, with revoked_at; its cached
 *  lookup is forgotten at once). A token is scoped to permissions its
 *  maker holds and bound to a node of their subtree; it expires.
 */
#ifndef EQMS_WA_TOKENS_H
#define EQMS_WA_TOKENS_H

#include "wa.h"

void wa_tokens_list(wa_call_t *call);
void wa_tokens_create(wa_call_t *call);
void wa_tokens_get(wa_call_t *call);
void wa_tokens_revoke(wa_call_t *call);

#endif
