/*  ri_prefixes: the share of the organisation tree a rating-ingest worker takes.
 *
 *  EQMS_INGEST_PREFIXES is a comma-separated list of org paths (at most 64;
 *  none = everything). A worker takes an event whose topic's org path is a
 *  prefix or lies below one in whole labels (ZeroMQ delivers by byte prefix,
 *  so `hq.r01` also delivers `hq.r010...`, which is not taken). One gateway
 *  (one branch) must belong to exactly one worker, because its sequence and
 *  its cursor are one: ri_prefixes_check refuses, from the organisation tree
 *  (org_node), a prefix that lies below a branch (a window path) or that
 *  names no node (docs/protocol.md, "rating-ingest messages", "Consumed").
 */
#ifndef EQMS_RI_PREFIXES_H
#define EQMS_RI_PREFIXES_H

#include <stdbool.h>
#include <stddef.h>

#include "eqms/bus.h"
#include "eqms/pgstore.h"

#define RI_PREFIXES_MAX 64

typedef struct ri_prefixes_t ri_prefixes_t;

/* Parses `list` (NULL or "" = everything; blanks around items are
 * ignored). Returns NULL with a message naming EQMS_INGEST_PREFIXES in
 * `err` if an item is not an org path, there are more than RI_PREFIXES_MAX,
 * or memory ran out. The caller destroys the result. */
ri_prefixes_t *ri_prefixes_new(const char *list, char *err, size_t errsize);
void ri_prefixes_destroy(ri_prefixes_t **self_p);

/* Checks every prefix against org_node through `pg` (borrowed): it must
 * name a node, and no branch may lie strictly above it. Returns 0, -1 with
 * a message in `err` (a configuration error: the worker must not start),
 * or -2 if the database could not be asked. */
int ri_prefixes_check(const ri_prefixes_t *self, pgstore_t *pg, char *err,
                      size_t errsize);

/* The number of prefixes (0 = everything) and the i-th one. */
size_t ri_prefixes_count(const ri_prefixes_t *self);
const char *ri_prefixes_get(const ri_prefixes_t *self, size_t i);

/* True if org path `path` is taken: no prefixes, or it equals a prefix or
 * lies below one in whole labels. */
bool ri_prefixes_take(const ri_prefixes_t *self, const char *path);

/* The prefixes as a PostgreSQL ltree[] literal: "{hq.r01,hq.r02.b0003}",
 * "{}" for everything. Owned by `self`. */
const char *ri_prefixes_ltree(const ri_prefixes_t *self);

/* Subscribes `sub` to "<type>.<prefix>" for every type and prefix, or to
 * "<type>." for every type when there are no prefixes. 0 / -1. */
int ri_prefixes_subscribe(const ri_prefixes_t *self, bus_t *sub, const char *const *types,
                          size_t ntypes);

#endif
