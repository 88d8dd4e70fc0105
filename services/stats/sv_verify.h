/*  sv_verify: `eqms-stats verify`, every figure recomputed from the raw
 *  facts and compared with what the query interface returns
 *  (docs/statistics.md, "Verifying the figures").
 *
 *  For each branch under the node and each local day of the range it
 *  recomputes, independently of the aggregator's code (sv_legs for ticket
 *  legs, plain SQL over rating, service_record and staff_session for the
 *  rest), the day's counts, waits, service times, service levels, ratings
 *  and duty times, and compares them with stats_figures(branch, day, day +
 *  1). Then, for the node, every node below it and every branch, the range's
 *  counts (with the waits and service times in each Qmatic band) and its
 *  90th percentiles within their documented bound (from the histograms)
 *  with stats_figures(node, from, to), which reads the coarser cells
 *  (weeks, months, years). Everything is read in one REPEATABLE READ
 *  transaction. Each difference is printed on `out` as one line
 *  (`difference node=... day=... measure=... expected=... figures=...`).
 */
#ifndef EQMS_SV_VERIFY_H
#define EQMS_SV_VERIFY_H

#include <stdio.h>

#include "eqms/pgstore.h"

typedef struct {
    const char *from;           /* first local date, YYYY-MM-DD */
    const char *to;             /* the day after the last */
    const char *node;           /* org path, NULL = every root */
} sv_verify_args_t;

/* Returns the number of differences (0 = every figure agrees), or -1 if
 * the database failed or the arguments name nothing (reason logged). */
long sv_verify(pgstore_t *pg, const sv_verify_args_t *args, FILE *out);

#endif
