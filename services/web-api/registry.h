/*  registry: the device registry of one branch, as the device gateways need it.
 *
 *  A snapshot (docs/protocol.md, "registry.snapshot") lists the branch's
 *  assigned devices, each with its window and the rating settings and scale
 *  in force there, and the staff of the branch's subtree (for login
 *  replies). It is read from PostgreSQL in one statement, so it is
 *  consistent.
 */
#ifndef EQMS_REGISTRY_H
#define EQMS_REGISTRY_H

#include <jansson.h>

#include "eqms/pgstore.h"

/* The snapshot of the branch at `branch_path` (e.g. "hq.r01.b0001").
 * Returns a new JSON object the caller owns, or NULL when there is no such
 * branch or the database failed (logged). */
json_t *registry_snapshot(pgstore_t *pg, const char *branch_path);

#endif
