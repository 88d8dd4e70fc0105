/*  wa_princache: the principals web-api read from PostgreSQL, kept in
 *  memory so that a request with a known session costs no database round
 *  trip.
 *
 *  An entry is a login session's user (login, node, roles' permissions,
 *  must-change flag) or an API token's node and name, keyed by the user's
 *  or the token's id and stamped with the principals' generation of the
 *  session lookup that preceded its reading (session.h): every change of
 *  users, roles, nodes or tokens made through web-api raises that
 *  generation after its commit (wa_store marks the call, wa_http raises
 *  it), and an entry of another generation is never answered. A change
 *  made around web-api (SQL by hand, a restore) is seen after `max_age_ms`
 *  at the latest. Disabled or deleted users are not kept (their sessions
 *  are revoked anyway).
 *
 *  A fixed table of slots (a key's slot is its hash; a newer key takes the
 *  slot), one lock; safe from any thread. The table is about 400 bytes a
 *  slot.
 */
#ifndef EQMS_WA_PRINCACHE_H
#define EQMS_WA_PRINCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wa.h"

#define WA_PRINCACHE_MAX_AGE_MS_DEFAULT 1000
#define WA_PRINCACHE_SLOTS_DEFAULT      4096

typedef struct wa_princache wa_princache_t;

/* A cache of `slots` entries (0: WA_PRINCACHE_SLOTS_DEFAULT) kept at most
 * `max_age_ms` each; NULL when out of memory. */
wa_princache_t *wa_princache_new(size_t slots, int max_age_ms);

void wa_princache_destroy(wa_princache_t **self_p);

/* The entry of the login user or API token `id` (by `kind`) read at
 * `generation`, no older than max_age_ms: true with the name, node_id,
 * node_path, perms and must_change_password of `*who` filled (the other
 * members are left as they are). */
bool wa_princache_get(wa_princache_t *self, session_kind_t kind, int64_t id,
                      int64_t generation, wa_principal_t *who);

/* Keeps what `who` holds of the user or token `id` (see wa_princache_get),
 * read after a lookup that returned `generation`. */
void wa_princache_put(wa_princache_t *self, session_kind_t kind, int64_t id,
                      int64_t generation, const wa_principal_t *who);

/* Hits and misses so far (for the log and the benchmark). */
void wa_princache_counts(wa_princache_t *self, uint64_t *hits, uint64_t *misses);

#endif
