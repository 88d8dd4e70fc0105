/*  wa_cfg: what the configuration routes (wa_cfg_*.c) share: values the
 *  database refused turned into Problem Details naming the member, the
 *  organisation node a member names, and telling the running services that
 *  a part of the tree changed.
 *
 *  A request whose JSON is malformed is refused by jsonreq with 400 (wa.h);
 *  a well-formed value that configuration cannot use (a time zone that is
 *  not IANA, a parent outside the caller's subtree, a profile naming a
 *  service twice) answers 422 with the member in `errors`; a code or number
 *  already taken answers 409, also naming the member.
 */
#ifndef EQMS_WA_CFG_H
#define EQMS_WA_CFG_H

#include <stdbool.h>
#include <stdint.h>

#include "wa.h"

/* Which request member a database constraint checks. */
typedef struct {
    const char *constraint;       /* e.g. "org_node_code_unique_among_siblings"; or a
                                     SQLSTATE ("22023") for a refusal that names no
                                     constraint (a trigger's or check function's RAISE) */
    const char *member;           /* e.g. "code" */
    unsigned status;              /* 0: 409 for a unique violation, else 422; or this */
} wa_cfg_rule_t;

/* A change of one object {id} in progress (wa_cfg_update_begin). */
typedef struct {
    int64_t id;
    char id_text[24];
    json_t *before;               /* the object's JSON before the change */
    json_t *body;                 /* the request, decoded */
} wa_cfg_update_t;

/* Answers 422 naming `member` with a reason formatted like printf.
 * Returns -1. */
int wa_cfg_unprocessable(wa_call_t *call, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Answers 409 naming `member` with a reason formatted like printf (the
 * value is taken by another object). Returns -1. */
int wa_cfg_conflict(wa_call_t *call, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Runs a statement of a change inside the caller's transaction. Returns
 * its rows (PQclear them), or NULL rolled back and answered: 409 for a
 * unique violation, 422 for a value the database refused (check, foreign
 * key, SQLSTATE 22023 and the like), each naming the member `rules` give
 * for the constraint (NULL-terminated; none matching: the body as a
 * whole) with the database's message; 503 otherwise. */
PGresult *wa_cfg_query(wa_call_t *call, const wa_cfg_rule_t *rules, const char *sql,
                       int nparams, const char *const *params);

/* wa_cfg_query for a statement whose rows nobody reads. 0 or -1. */
int wa_cfg_exec(wa_call_t *call, const wa_cfg_rule_t *rules, const char *sql, int nparams,
                const char *const *params);

/* Begins a change with an INSERT ... RETURNING id (wa_cfg_query's
 * answers): 0 with the new id. */
int wa_cfg_insert(wa_call_t *call, const wa_cfg_rule_t *rules, const char *sql,
                  int nparams, const char *const *params, int64_t *id);

/* How a POST makes an object at a node of the caller's subtree. */
typedef struct {
    const char *node_member;      /* the member naming the node: "node", "branch", ... */
    bool branch;                  /* that node must be a branch */
    const char *const *fields;    /* the body's members that follow as $2.., NULL-ended
                                     (absent or null: SQL NULL; an array or object: its
                                     JSON text) */
    const char *insert_sql;       /* INSERT ... RETURNING id; $1 the node's id */
    const wa_cfg_rule_t *rules;   /* the members its constraints check */
    const char *collection;       /* "windows": Location /api/v1/windows/<id> */
    const char *action;           /* "window.create" */
    const char *object_type;      /* "window" */
    const char *by_id_sql;        /* the object's JSON (wa_store_get's form) */
    int (*check)(wa_call_t *call, const json_t *body);
                                  /* NULL, or checks the decoded body before the node:
                                     0, or -1 answered (422 naming the member) */
} wa_cfg_create_t;

/* Decodes the body against `spec`, finds the node, inserts, audits the
 * object after, commits, answers 201 with it and Location, and tells the
 * services that the node's part of the tree changed. */
void wa_cfg_create(wa_call_t *call, const jsonreq_object_t *spec, const wa_cfg_create_t *how);

/* Begins a PATCH of the object {id} read with `by_id_sql` (wa_store_get's
 * form: $1 the id, $2 the caller's node path): 0 with its JSON before and
 * the body decoded against `spec`, which names at least one member; or -1
 * answered (404 outside the subtree or missing, 400). Free it with
 * wa_cfg_update_end either way. */
int wa_cfg_update_begin(wa_call_t *call, const char *by_id_sql, const jsonreq_object_t *spec,
                        wa_cfg_update_t *u);
void wa_cfg_update_end(wa_cfg_update_t *u);

/* Runs `sql` (the UPDATE) in a transaction, audits `action` on the object
 * (its type, the node it belongs to) with the JSON before and after, commits,
 * answers 200 with the object after (wa_cfg_query's refusals) and tells the
 * services that `node_id`'s part of the tree changed. 0 or -1. */
int wa_cfg_update_finish(wa_call_t *call, wa_cfg_update_t *u, const wa_cfg_rule_t *rules,
                         const char *sql, int nparams, const char *const *params,
                         const char *action, const char *object_type, int64_t node_id,
                         const char *by_id_sql);

/* The node id (node_id column) of the object `id_text` of `table` (one of
 * web-api's configuration tables). 0, or -1 answered (503). */
int wa_cfg_node_of(wa_call_t *call, const char *table, const char *id_text,
                   int64_t *node_id);

/* The body's string member `name`, or NULL when it is absent or null. */
const char *wa_cfg_str(const json_t *body, const char *name);

/* The body's member as the text of a parameter: a string as it is, an
 * integer or boolean written in `buf` ("12", "t", "f"); NULL when absent
 * or null. */
const char *wa_cfg_text(const json_t *body, const char *name, char buf[24]);

/* The body's array or object member `name` as JSON text (the caller frees
 * it); NULL when absent, null or on allocation failure. */
char *wa_cfg_json_text(const json_t *body, const char *name);

/* The node at `path` (the value of `member`) inside the caller's subtree,
 * with its kind when `kind` is not NULL (at least 16 bytes). 0, or -1
 * answered 422: not an org path, or no such node in the caller's subtree
 * (one answer for both, so that it tells nothing about other subtrees). */
int wa_cfg_node(wa_call_t *call, const char *member, const char *path, int64_t *node_id,
                char *kind);

/* A branch at `path` inside the caller's subtree: wa_cfg_node, and 422
 * when the node is not a branch. */
int wa_cfg_branch(wa_call_t *call, const char *member, const char *path, int64_t *node_id);

/* Tells the running services, after a commit, that the configuration at or
 * below `path` changed (web-api then publishes the registry snapshot of
 * each branch there: docs/protocol.md). Does nothing without a listener. */
void wa_cfg_changed(wa_call_t *call, const char *path);

/* The same for the node `node_id`. */
void wa_cfg_changed_node(wa_call_t *call, int64_t node_id);

#endif
