/*  sn_notices: SMS to customers on their tickets (docs/alerts.md,
 *  "Customer messages"): "your turn is near" when a waiting ticket with a
 *  phone has N tickets or fewer ahead (sms_branch.near_ahead, default 3),
 *  and "please go to window N" when it is called.
 *
 *  Its own thread and PostgreSQL connection. It follows the committed
 *  ticket events from the tables, never from the bus alone: each branch's
 *  ticket_event stream (common/tailcursor, TAILCURSOR_TICKET) from its
 *  position in sms_cursor up to ticket_branch_head. A CALLED event of a
 *  ticket with a phone (less than call_max_age_s old: a call told late is
 *  no use) becomes the `called` notice; a branch whose events moved has its
 *  waiting tickets with a phone looked at through queue-manager
 *  (qmclient, ticket.get: the position under the window rules), and one
 *  with position <= N gets the `near` notice, unless it was told a position
 *  <= N when it was issued. Notices, their SMS rows and the moved positions
 *  are committed in one transaction; sms_notice's key (ticket, kind) makes
 *  a replay write nothing twice. `ticket.` on the bus only wakes it early.
 */
#ifndef EQMS_SN_NOTICES_H
#define EQMS_SN_NOTICES_H

#include "eqms/metrics.h"
#include "sn_sender.h"

typedef struct sn_notices_t sn_notices_t;

typedef struct {
    const char *pg_conninfo;        /* its own connection */
    const char *bus_sub;            /* forwarder XPUB endpoint, "" = no wake-ups */
    const char *qm_endpoint;        /* "" : no "turn near" notices */
    int qm_timeout_ms;
    int poll_ms;
    int max_parts;
    int call_max_age_s;
    sn_sender_t *sender;            /* borrowed, woken after commits; NULL: none */
} sn_notices_config_t;

/* Starts the thread. NULL on failure (logged). */
sn_notices_t *sn_notices_new(const sn_notices_config_t *config, metrics_t *metrics);
void sn_notices_destroy(sn_notices_t **self_p);

#endif
