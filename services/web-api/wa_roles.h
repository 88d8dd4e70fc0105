/*  wa_roles: roles of an administrator's subtree (manage_users): named sets
 *  of permissions ticked one by one, defined at a node and given to users
 *  at or below it. An administrator defines roles only in their subtree,
 *  ticks only permissions they hold, and cannot change or delete a role
 *  that grants one they lack (403 with the reason). A role still held by
 *  users is not deleted (409). GET /api/v1/permissions lists every
 *  permission.
 */
#ifndef EQMS_WA_ROLES_H
#define EQMS_WA_ROLES_H

#include "wa.h"

void wa_roles_list(wa_call_t *call);
void wa_roles_create(wa_call_t *call);
void wa_roles_get(wa_call_t *call);
void wa_roles_update(wa_call_t *call);
void wa_roles_delete(wa_call_t *call);
void wa_roles_permissions(wa_call_t *call);

#endif
