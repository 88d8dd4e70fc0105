/*  wa_auth: permissions and principals of web-api's REST API.
 *
 *  A permission is a bit (its index in eqms_permissions(), which
 *  wa_auth_check_schema compares with this build's list at start). A
 *  principal is resolved from the request's "Authorization: Bearer
 *  <token>": a login session (Redis, common/session) whose user is read
 *  from PostgreSQL, or an API token (cached in Redis, else its row, whose
 *  last_used_at is then written) whose node is read; what is read is kept
 *  (wa_princache) until the principals' generation changes, so that roles,
 *  disabling and a reset take effect at once.
 */
#ifndef EQMS_WA_AUTH_H
#define EQMS_WA_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa.h"

/* Permission bits, in the order of eqms_permissions(). */
typedef enum {
    WA_PERM_VIEW_STATISTICS,
    WA_PERM_VIEW_COMPLAINTS,
    WA_PERM_VIEW_LIVE_HALL,
    WA_PERM_OPERATE_WINDOWS,
    WA_PERM_ISSUE_TICKETS,
    WA_PERM_MANAGE_QUEUES,
    WA_PERM_MANAGE_CONFIGURATION,
    WA_PERM_MANAGE_DEVICES,
    WA_PERM_MANAGE_USERS,
    WA_PERM_MANAGE_ALERTS,
    WA_PERM_EXPORT,
    WA_PERM_PURGE_DATA,
    WA_PERM_BACKUP,
    WA_PERM_MANAGE_API_TOKENS,
    WA_PERM_READ_AUDIT_LOG,
    WA_PERM_COUNT
} wa_perm_t;

#define WA_PERM_BIT(p) (UINT64_C(1) << (p))
#define WA_PERMS_ALL   (WA_PERM_BIT(WA_PERM_COUNT) - 1)

/* What a route asks of its caller. */
typedef enum {
    WA_ACCESS_PUBLIC,             /* nobody: logging in */
    WA_ACCESS_ANY,                /* any principal */
    WA_ACCESS_PERM                /* a principal holding one of the route's permissions */
} wa_access_t;

/* Every permission's name in bit order, NULL-terminated (jsonreq's one_of). */
extern const char *const wa_perm_names[WA_PERM_COUNT + 1];

/* The permission's name ("manage_users"), NULL for an unknown one. */
const char *wa_perm_name(wa_perm_t perm);

/* The permission named `name` (`len` bytes), or -1. */
int wa_perm_of(const char *name, size_t len);

/* The bits of a comma-separated list of permission names ("a,b"); names
 * this build does not know are left out. */
uint64_t wa_perms_parse(const char *list);

/* The names of `bits` as a new JSON array, in the list's order. */
json_t *wa_perms_json(uint64_t bits);

/* The bits of a JSON array of permission names (checked by jsonreq). */
uint64_t wa_perms_of_json(const json_t *names);

/* `bits` as a PostgreSQL text[] literal ("{view_statistics,export}"). */
void wa_perms_array(uint64_t bits, char *out, size_t size);

/* The names of `bits` joined by `sep` ("view_live_hall|manage_devices"),
 * cut to fit `size`. Returns `out`. */
const char *wa_perms_text(uint64_t bits, const char *sep, char *out, size_t size);

/* The first permission of `bits` that `held` lacks, or -1 if none. */
int wa_perms_missing(uint64_t bits, uint64_t held);

/* 0 if every permission of this build is in the database's
 * eqms_permissions() at the same place; -1 (logged) otherwise. */
int wa_auth_check_schema(pgstore_t *pg);

/* Resolves the principal of `call` into call->who and checks `access`
 * (for WA_ACCESS_PERM: that it holds at least one of the permission bits
 * `perms`); `during_change` lets a principal that must change its password
 * through. 0, or -1 answered: 401 (no, malformed, unknown, ended or revoked
 * token; WWW-Authenticate: Bearer), 403 (the permission is missing, naming
 * it, or the password must be changed first), 503 (Redis or the database
 * failed). */
int wa_auth_resolve(wa_call_t *call, wa_access_t access, uint64_t perms, bool during_change);

#endif
