/*  sn_watch: the alerts that come from watching, not from a fact: the
 *  threshold rules (docs/alerts.md, "Threshold rules", "The live hall",
 *  "Praise") every second, and reminders and escalations of open alerts
 *  ("Alert lifecycle") every 5 s.
 *
 *  Its own thread (common/looper), PostgreSQL connection and sn_alerts, so
 *  that a slow evaluation never delays an unsatisfied rating's alert
 *  (sn_server). Each evaluation is one transaction with what it writes; a
 *  failed one is dropped and made again on the next turn. After a commit
 *  that wrote SMS rows it wakes the sender.
 */
#ifndef EQMS_SN_WATCH_H
#define EQMS_SN_WATCH_H

#include "eqms/metrics.h"
#include "sn_sender.h"

typedef struct sn_watch_t sn_watch_t;

typedef struct {
    const char *pg_conninfo;        /* its own connection */
    int max_parts;                  /* an alert's text is cut to this many SMS */
    int stale_s;                    /* as sn_server's (sn_alerts_new) */
    sn_sender_t *sender;            /* borrowed, woken after commits; NULL: none */
} sn_watch_config_t;

/* Starts the thread. NULL on failure (logged). */
sn_watch_t *sn_watch_new(const sn_watch_config_t *config, metrics_t *metrics);
void sn_watch_destroy(sn_watch_t **self_p);

#endif
