/*  wa_cfg_scales: rating scales (manage_configuration): the sets of keys a
 *  rating device offers (rating_scale and its rating_option rows, schema 1
 *  and 10), each with 4 or 6 options whose codes are exactly 1..key_count
 *  (what the device sends), an LCD label of at most 8 GB2312 characters,
 *  whether the key means satisfied, unsatisfied or neither, a score 0..5
 *  (one decimal), a reason category and its position on the device.
 *
 *  A caller sees the scales usable in their subtree: those for every node
 *  (node null), those of a node in it, and those of a node above it; only
 *  the ones of a node in the subtree (and, for a caller at the root of the
 *  tree, those for every node) may be changed: the others are read-only
 *  there (`read_only`, PATCH and DELETE answer 403). A scale of another
 *  subtree answers 404. Every answer carries `preview`, the device's keys in
 *  position order as the console draws them.
 *
 *  PATCH renames a scale or replaces its options as a whole (the code stays:
 *  the built-in default std4 is found by it); a scale in use keeps its
 *  number of keys (409 naming `options`: the devices have that many). After
 *  a change of a scale in use the branches whose settings use it get a new
 *  registry snapshot (wa_cfg_changed: docs/protocol.md). DELETE of a scale
 *  in use (a node's settings name it, or std4, the default) answers 409
 *  naming the nodes.
 *
 *  Routes: GET/POST /api/v1/rating-scales,
 *          GET/PATCH/DELETE /api/v1/rating-scales/{id}.
 */
#ifndef EQMS_WA_CFG_SCALES_H
#define EQMS_WA_CFG_SCALES_H

#include "wa.h"

void wa_cfg_scales_list(wa_call_t *call);
void wa_cfg_scales_get(wa_call_t *call);
void wa_cfg_scales_create(wa_call_t *call);
void wa_cfg_scales_update(wa_call_t *call);
void wa_cfg_scales_delete(wa_call_t *call);

#endif
