/*  sn_live: queue-manager's live state of the branches a live-hall rule
 *  covers (docs/alerts.md, "The live hall").
 *
 *  Every `every_ms` it asks alert_live_branches() which branches an enabled
 *  queue_waiting, window_idle or service_overrun rule covers, reads each
 *  one's state through queue-manager's request endpoint (common/qmclient,
 *  branch.state, idempotent) and keeps the reply in alert_live with the
 *  time it was read, once sn_livestate found it of the documented form (a
 *  reply of another form is refused like a missing one: logged with the
 *  member named, the old state left to age); the threshold functions (schema 28) judge it with the
 *  other rules. A branch queue-manager does not answer for keeps its last
 *  state, which goes stale: its alerts neither open nor resolve until it
 *  answers again (logged once when it stops answering and once when it
 *  answers again).
 *
 *  A pass in which queue-manager does not answer three times in time ends
 *  there (the other branches keep their last states, which age): waiting
 *  for it branch by branch would hold the pass for minutes.
 *
 *  Its own thread (common/looper), PostgreSQL connection and qmclient.
 */
#ifndef EQMS_SN_LIVE_H
#define EQMS_SN_LIVE_H

#include "eqms/metrics.h"

typedef struct sn_live_t sn_live_t;

typedef struct {
    const char *pg_conninfo;        /* its own connection */
    const char *qm_endpoint;        /* queue-manager's request endpoint (not empty) */
    int qm_timeout_ms;              /* one branch.state at most */
    int every_ms;                   /* between two readings */
} sn_live_config_t;

/* Starts the thread. NULL on failure (logged). */
sn_live_t *sn_live_new(const sn_live_config_t *config, metrics_t *metrics);
void sn_live_destroy(sn_live_t **self_p);

#endif
