/*  wa_admin: the first administrator of an installation, made from the
 *  command line (`eqms-web-api --create-admin LOGIN NODE-PATH`, the
 *  password read from EQMS_ADMIN_PASSWORD): a role "administrator" at the
 *  node holding every permission, and the user at that node holding it.
 *  Nothing is changed when the login exists already.
 */
#ifndef EQMS_WA_ADMIN_H
#define EQMS_WA_ADMIN_H

#include "eqms/pgstore.h"

/* Makes the administrator. 1 made, 0 the login existed (nothing changed),
 * -1 refused with the reason in `reason` (password rules, no such node,
 * bad login, the database failed). */
int wa_admin_create(pgstore_t *pg, const char *login, const char *node_path,
                    const char *password, char *reason, size_t size);

#endif
