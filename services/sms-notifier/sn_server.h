/*  sn_server: sms-notifier's loop thread (docs/alerts.md).
 *
 *  Catches up from the tables, never from the bus alone: every poll_ms (or
 *  at once when rating.stored says something was committed) it reads the
 *  gateway journals' heads (gateway_cursor) and, for each journal beyond
 *  its position in sms_cursor, the unsatisfied ratings between, turns them
 *  into alerts and SMS rows (sn_alerts) and commits those with the moved
 *  positions in one transaction: a restart or a lost message neither loses
 *  nor doubles an alert. A failed transaction is dropped and read again
 *  after a backoff. After a commit that wrote SMS rows it wakes the sender
 *  (sn_sender), which hands them to the gateway.
 *
 *  Nothing else runs on this thread, so that an unsatisfied rating's alert
 *  never waits for other work: threshold rules and the lifecycle are
 *  sn_watch's, customer messages sn_notices' and sn_inbound's, the live
 *  state sn_live's.
 */
#ifndef EQMS_SN_SERVER_H
#define EQMS_SN_SERVER_H

#include "eqms/health.h"
#include "eqms/metrics.h"
#include "eqms/pgstore.h"
#include "sn_sender.h"

typedef struct sn_server_t sn_server_t;

typedef struct {
    const char *bus_sub;        /* forwarder XPUB endpoint, "" = no wake-ups */
    int poll_ms;                /* look at the heads this often when idle */
    int max_parts;              /* an alert's text is cut to this many SMS (sn_sms_fit) */
    int stale_s;                /* a rating older than this when met: a stale alert */
    sn_sender_t *sender;        /* borrowed, woken after commits; NULL: none */
} sn_server_config_t;

/* Takes *pg_p; starts the thread. NULL on failure (logged). */
sn_server_t *sn_server_new(pgstore_t **pg_p, const sn_server_config_t *config,
                           metrics_t *metrics);
void sn_server_destroy(sn_server_t **self_p);
health_liveness_t *sn_server_liveness(sn_server_t *self);

#endif
