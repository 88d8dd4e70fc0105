/*  wa_ops_common: what the operations, alerts and statistics routes share:
 *  an organisation node named in a request's path or query, looked up in
 *  the caller's subtree (outside it, or no such node: 404, as for every
 *  object the caller may not see).
 */
#ifndef EQMS_WA_OPS_COMMON_H
#define EQMS_WA_OPS_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include "wa.h"

/* The node at `path` inside the caller's subtree (a branch when
 * `branch_only`): 0 with its id, or -1 answered (404 "no such node" /
 * "no such branch"; 503). */
int wa_ops_node(wa_call_t *call, const char *path, bool branch_only, int64_t *node_id);

/* The path parameter {branch} of a request without query arguments: the
 * branch's path, with its id in *branch_id; or NULL answered (400 for a
 * query argument, else as wa_ops_node). */
const char *wa_ops_branch_param(wa_call_t *call, int64_t *branch_id);
/* Answers 200 with the JSON text `sql` makes of the {branch} path parameter
 * (its one parameter, $1), after wa_ops_branch_param's checks (their answer
 * otherwise). */
void wa_ops_branch_object(wa_call_t *call, const char *sql);

/* Whether `path` is a well-formed org path inside the caller's subtree
 * (its form only: whether such a node exists is wa_ops_node's). */
bool wa_ops_path_within(const wa_call_t *call, const char *path);

/* The node of the query argument `name` (absent: the caller's own node):
 * as wa_ops_node, with its path written into `path` (WA_PATH_SIZE). */
int wa_ops_node_arg(wa_call_t *call, const char *name, int64_t *node_id, char *path);

/* Whether `text` matches the extended regular expression `pattern`. */
bool wa_ops_match(const char *text, const char *pattern);

/* Checks the query argument `name` when present: a date (2026-11-28), or
 * unless `date_only` an RFC 3339 time, that PostgreSQL reads. 0, or -1
 * answered (400, 503). */
int wa_ops_time_arg(wa_call_t *call, const char *name, bool date_only);

/* The query argument `name` as an integer in min..max (absent: `fallback`).
 * 0, or -1 answered (400). */
int wa_ops_int_arg(wa_call_t *call, const char *name, int64_t min, int64_t max,
                   int64_t fallback, int64_t *value);

#endif
