/*  st_tree: the organisation tree as it was at any time, with each node's zone.
 *
 *  Versions come from stats_node_version (docs/statistics.md, "Periods and
 *  the tree"): a node's ancestors (root first, the node itself last) and time
 *  zone from valid_from to valid_to. st_tree_ancestors answers, for a branch
 *  and an instant, the nodes the fact belongs to, each with its zone as it
 *  was then. Zones are opened once per name and shared. Not thread-safe.
 */
#ifndef EQMS_ST_TREE_H
#define EQMS_ST_TREE_H

#include <stdint.h>

#include "st_period.h"

#define ST_TREE_DEPTH 16        /* org paths have at most 16 labels */

typedef struct st_tree_t st_tree_t;

typedef struct {
    int64_t node_id;
    st_zone_t *zone;            /* borrowed from the tree */
} st_anc_t;

st_tree_t *st_tree_new(void);
void st_tree_destroy(st_tree_t **self_p);

/* Adds one version (from stats_node_version). `ancestors` holds `n` ids,
 * root first, ending with node_id. Versions of a node must not overlap.
 * Returns 0, or -1 (logged) for a bad zone, depth or memory. */
int st_tree_add(st_tree_t *self, int64_t node_id, int64_t valid_from, int64_t valid_to,
                const int64_t *ancestors, int n, const char *time_zone);

/* Ends the open version of node_id at `at` (a new one follows with
 * st_tree_add). Returns 0, or -1 if it has no open version. */
int st_tree_close(st_tree_t *self, int64_t node_id, int64_t at);

/* The nodes a fact of `node_id` at instant `at` belongs to, root first,
 * node_id last, each with its zone at `at`. Returns their number (>= 1), or
 * -1 if node_id had no version then (an unknown node). */
int st_tree_ancestors(st_tree_t *self, int64_t node_id, int64_t at,
                      st_anc_t out[ST_TREE_DEPTH]);

/* The open version of a node: its ancestors and zone name now. Returns the
 * number of ancestors, or -1 if it has none. */
int st_tree_current(const st_tree_t *self, int64_t node_id,
                    int64_t ancestors[ST_TREE_DEPTH], const char **time_zone);

#endif
