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
 *  Each of these is also a file (wa_export): GET /stats/<view>.xlsx and
 *  /stats/<view>.csv (/staff/{id}/sessions.xlsx, .csv) with the same arguments
 *  (services: without limit and cursor, the whole list; its CSV is
 *  streamed), needing export and view_statistics.
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

#define WA_STATS_FORMATS(name)                    \
    void wa_stats_##name(wa_call_t *call);        \
    void wa_stats_##name##_csv(wa_call_t *call);  \
    void wa_stats_##name##_xlsx(wa_call_t *call);

WA_STATS_FORMATS(figures)
WA_STATS_FORMATS(compare)
WA_STATS_FORMATS(rank)
WA_STATS_FORMATS(stars)
WA_STATS_FORMATS(services)
WA_STATS_FORMATS(on_duty)
WA_STATS_FORMATS(staff_sessions)

#endif
