/*  wa_stats: stats-aggregator's figures through its SQL interface
 *  (docs/statistics.md, "Reading the figures"), for a node of the caller's
 *  subtree (`node`, default the caller's own; outside it: 404). All need
 *  view_statistics.
 *
 *  GET /stats/figures   stats_figures(node, from, to, group, percentiles)
 *  GET /stats/compare   stats_compare: current, previous, year_before
 *  GET /stats/rank      stats_rank(node, from, to, group, measure, n,
 *                       min_sample, top)
 *  GET /stats/stars     the latest star grade of each window and teller
 *                       (stats_star_grade) at the node's branches
 *  GET /stats/services  the detail list: every ticket leg (stats_leg) with
 *                       its ticket, queue, service, window, teller, times,
 *                       outcome and rating; filtered, cursor pages
 *  GET /stats/on-duty   who is logged in at a window now (staff_session)
 *  GET /staff/{id}/sessions  a teller's logins at the node's windows
 *
 *  The figures are the SQL's own: each stats_row as row_to_json writes it,
 *  numbers as JSON numbers (numeric keeps its digits), a NULL (a ratio
 *  whose denominator is 0, a percentile without a histogram) as null.
 *  `from` and `to` are the node's local dates, [from, to). A range or
 *  grouping the SQL refuses (22023, 22008) answers 400.
 */
#ifndef EQMS_WA_STATS_H
#define EQMS_WA_STATS_H

#include "wa.h"

void wa_stats_figures(wa_call_t *call);
void wa_stats_compare(wa_call_t *call);
void wa_stats_rank(wa_call_t *call);
void wa_stats_stars(wa_call_t *call);
void wa_stats_services(wa_call_t *call);
void wa_stats_on_duty(wa_call_t *call);
void wa_stats_staff_sessions(wa_call_t *call);

#endif
