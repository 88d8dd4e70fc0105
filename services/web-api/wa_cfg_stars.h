/*  wa_cfg_stars: star rules (manage_configuration): how stats-aggregator
 *  grades windows and tellers with stars (star_rule, schema 11;
 *  docs/statistics.md, "Star grades"). A node's rule holds for its subtree
 *  unless a deeper node has its own; with none on the way to the root the
 *  schema's defaults hold (stats_star_rule_for: a month, 30 ratings, 98 %,
 *  95 %, 90 %).
 *
 *  GET /nodes/{id}/star-rule answers the rule in force at a node of the
 *  caller's subtree with where it comes from (`source`: own, inherited
 *  with `inherited_from` naming the node, or default); PUT sets the node's
 *  own rule (every member given; the thresholds from five down to three
 *  may not rise: 422 naming the first that does); DELETE removes it (204
 *  also when it had none, which changes nothing and audits nothing). Each
 *  change is audited (`star_rule.set`, `star_rule.delete`, the node as the
 *  object) with the rule in force before and after. A node outside the
 *  subtree answers 404.
 *
 *  Routes: GET /api/v1/star-rules (the nodes' own rules in the subtree),
 *          GET/PUT/DELETE /api/v1/nodes/{id}/star-rule.
 */
#ifndef EQMS_WA_CFG_STARS_H
#define EQMS_WA_CFG_STARS_H

#include "wa.h"

void wa_cfg_stars_list(wa_call_t *call);
void wa_cfg_stars_get(wa_call_t *call);
void wa_cfg_stars_set(wa_call_t *call);
void wa_cfg_stars_delete(wa_call_t *call);

#endif
