/*  wa_store: the SQL every REST module shares: pages of a list, one object,
 *  the audit log, transactions, and the organisation nodes a request names.
 *
 *  Objects are built as JSON by PostgreSQL (json_build_object), so a
 *  module's query is the one description of what it answers. Every helper
 *  that fails answers the call (503 when the database failed) and returns
 *  -1.
 */
#ifndef EQMS_WA_STORE_H
#define EQMS_WA_STORE_H

#include <stdint.h>

#include "wa.h"

/* Answers one page of the list `kind`: `sql` yields (id bigint, object
 * json text) rows in the list's order, at most limit + 1 of them (the
 * extra one only tells that there is more). 200 with {"items": [...],
 * "next_cursor": "..." or null}. */
int wa_store_page(wa_call_t *call, const char *kind, int limit, const char *sql, int nparams,
                  const char *const *params);

/* Answers a page of the list `kind` in the principal's subtree: checks
 * the list's arguments (limit, cursor, and those in `more`, NULL-terminated),
 * then runs `sql` with $1 the principal's node path, $2 the row id after
 * which the page begins (NULL on the first page), $3 limit + 1, and $4..
 * the values of the arguments in `more` (NULL when absent). */
int wa_store_list(wa_call_t *call, const char *kind, const char *const *more,
                  const char *sql);

/* wa_store_list for a list keyed by text: $2 is the key of the row after
 * which the page begins (NULL on the first page), the text of the rows'
 * first column. */
int wa_store_list_key(wa_call_t *call, const char *kind, const char *const *more,
                      const char *sql);

/* wa_store_list_key with `members` (JSON object members as text, e.g.
 * "\"purged_before\":null"; NULL: none) in the page after next_cursor. */
int wa_store_list_key_with(wa_call_t *call, const char *kind, const char *const *more,
                           const char *sql, const char *members);

/* Answers the object {id} of the request in the principal's subtree:
 * `sql` yields its JSON text with $1 the id and $2 the principal's node
 * path; 404 when there is none. */
int wa_store_get(wa_call_t *call, const char *sql);

/* The object `id` (decimal text) read with such an `sql` ($1 the id, $2
 * the principal's node path), parsed; NULL if there is none. */
json_t *wa_store_json(wa_call_t *call, const char *sql, const char *id);

/* Ends a change begun with wa_store_begin: audits `action` on the object
 * (`object_type`, `id`, `node_id`) with `before` (borrowed, may be NULL) and
 * its JSON after (read with `sql` as for wa_store_json, unless `status` is
 * 204), commits, and answers `status` with the JSON after (204: nothing).
 * On a failure rolls back and answers 503. */
int wa_store_finish(wa_call_t *call, const char *action, const char *object_type,
                    int64_t id, int64_t node_id, const json_t *before, const char *sql,
                    unsigned status);

/* Begins a change with an INSERT ... RETURNING id: 0 with the new row's id,
 * or -1 rolled back and answered (409 with `conflict`, 503). */
int wa_store_insert(wa_call_t *call, const char *conflict, const char *sql, int nparams,
                    const char *const *params, int64_t *id);

/* wa_store_finish for an object just made: 201 with Location
 * /api/v1/<collection>/<id>. */
int wa_store_created(wa_call_t *call, const char *collection, const char *action,
                     const char *object_type, int64_t id, int64_t node_id, const char *sql);

/* Answers `status` with the one JSON object `sql` yields (one text column);
 * no row answers 404. */
int wa_store_object(wa_call_t *call, unsigned status, const char *sql, int nparams,
                    const char *const *params);

/* Runs a statement of a change; 0, or -1 answered: 409 for a unique
 * violation (with `conflict` as the detail), 503 otherwise. */
int wa_store_exec(wa_call_t *call, const char *conflict, const char *sql, int nparams,
                  const char *const *params);

/* The same for a statement whose rows the caller reads (PQclear them). */
PGresult *wa_store_query(wa_call_t *call, const char *conflict, const char *sql, int nparams,
                         const char *const *params);

/* Appends to the audit log, in the caller's transaction: the principal as
 * actor, `action` ("user.create"), the object (its type and id; 0: none),
 * the node it belongs to (0: none) and `detail` (a JSON object, borrowed;
 * NULL: {}). 0, or -1 answered (503). */
int wa_store_audit(wa_call_t *call, const char *action, const char *object_type,
                   int64_t object_id, int64_t node_id, const json_t *detail);

/* The same for a request without a principal (a failed login): `actor` as
 * given (e.g. "anonymous"), or the user `user_id` when it is not 0. */
int wa_store_audit_as(wa_call_t *call, int64_t user_id, const char *actor, const char *action,
                      const char *object_type, int64_t object_id, int64_t node_id,
                      const json_t *detail);

/* wa_store_audit for an object whose id is text (a UUID; NULL: none). */
int wa_store_audit_key(wa_call_t *call, const char *action, const char *object_type,
                       const char *object, int64_t node_id, const json_t *detail);

int wa_store_begin(wa_call_t *call);
int wa_store_commit(wa_call_t *call);
void wa_store_rollback(wa_call_t *call);

/* The node at `path` (a member's value) inside the principal's subtree:
 * 0 with its id, or -1 answered: 400 (not an org path, or no such node),
 * 403 (outside the principal's subtree, said before looking it up). */
int wa_store_node(wa_call_t *call, const char *member, const char *path, int64_t *node_id);

/* The node at `path` if it is in the caller's subtree: 1 with its id and,
 * when `kind` is not NULL (at least 16 bytes), its kind; 0 when `path` is
 * NULL, not an org path, outside the subtree or no node (each caller
 * answers those alike, so that nothing tells of other subtrees); -1
 * answered 503. The one look-up of a node the routes name. */
int wa_store_node_find(wa_call_t *call, const char *path, int64_t *node_id, char *kind);

#endif
