/*  st_server: the stats-aggregator service, run in-process by main and tests.
 *
 *  One thread: load the tree (st_tree, kept in step with org_node), the
 *  configuration and the cursors; then loop: wait for a wake-up from the bus
 *  (ticket.* from queue-manager, ack.ingest.* from rating-ingest: something
 *  was committed) or the poll interval; compare every stream's head with
 *  its cursor and place what is behind (st_store, st_engine), at most
 *  `batch` facts at a time; flush them with their cursors in one
 *  transaction, with the star grades they change (st_stars), published
 *  after the commit; after a pass that found something, look again at
 *  once, else wait. The bus only wakes it up: a lost message, a restart or
 *  a database outage only delays the figures (docs/statistics.md). After a
 *  pass that read every stream to its head, the reports that are due are
 *  made on their own thread and connection (st_reports).
 */
#ifndef EQMS_ST_SERVER_H
#define EQMS_ST_SERVER_H

#include "eqms/health.h"
#include "eqms/metrics.h"
#include "eqms/pgstore.h"

typedef struct st_server_t st_server_t;

typedef struct {
    const char *pg_conninfo;    /* for the reports' own connection (st_reports) */
    const char *bus_pub;        /* forwarder XSUB endpoint, "" = star grades not published */
    const char *bus_sub;        /* forwarder XPUB endpoint, "" = no wake-ups */
    int poll_ms;                /* look at the heads this often when idle */
    int flush_ms;               /* while busy, a flush at most this often (0: every pass) */
    int batch;                  /* facts placed per flush, at most */
    int tree_s;                 /* re-read org_node and the configuration */
    int report_delay_s;         /* reports of a period are made this long after it closed */
    int report_every_s;         /* due reports are looked for this often */
    int report_timeout_s;       /* statement timeout of one report */
} st_server_config_t;

/* Takes *pg_p. NULL (logged) if it cannot start. */
st_server_t *st_server_new(pgstore_t **pg_p, const st_server_config_t *config,
                           metrics_t *metrics);
void st_server_destroy(st_server_t **self_p);
health_liveness_t *st_server_liveness(st_server_t *self);

#endif
