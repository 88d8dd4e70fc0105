/*  st_reports: the report snapshots (docs/statistics.md, "Reports"), made on
 *  their own thread and PostgreSQL connection, so that placing facts never
 *  waits for a report.
 *
 *  The aggregator's loop calls st_reports_caught_up after every pass that
 *  read every stream to its head: the figures of what was committed before
 *  that pass started are then complete. At most every `every_s` the thread
 *  (common/worker) lists the reports due as of that start less `delay_s`
 *  (stats_reports_due: no figures computed) and makes them one at a time
 *  (stats_make_report: one statement, one transaction each), looking for
 *  stop between two. A report that fails (its statement timeout, a lost
 *  connection) is logged and counted (report_failures_total) and stays due:
 *  the next round, `every_s` later, tries it again; a lost connection ends
 *  the round. The connection's statement timeout is `timeout_s` (a report
 *  of head office over a month may take minutes; the aggregator's own
 *  connection keeps pgstore's default).
 *
 *  st_reports_caught_up and st_reports_destroy are called by one thread.
 */
#ifndef EQMS_ST_REPORTS_H
#define EQMS_ST_REPORTS_H

#include <stdint.h>

#include "eqms/metrics.h"

typedef struct st_reports_t st_reports_t;

typedef struct {
    const char *pg_conninfo;    /* the thread's own connection */
    int delay_s;                /* a period's report is made this long after it closed */
    int every_s;                /* look for due reports this often, at most */
    int timeout_s;              /* statement timeout of one report, 0 = none */
} st_reports_config_t;

/* Starts the thread (it connects when it first needs to). NULL on failure
 * (logged). */
st_reports_t *st_reports_new(const st_reports_config_t *config, metrics_t *metrics);

/* Stops the thread: a report being made is cancelled (it stays due). */
void st_reports_destroy(st_reports_t **self_p);

/* Every stream was read to its head in a pass that started at pass_mono_ms
 * (clock_mono_ms). Starts a round if none runs and `every_s` passed since
 * the last one began. Never blocks. */
void st_reports_caught_up(st_reports_t *self, int64_t pass_mono_ms);

#endif
