/*  sn_inbound: inbound SMS become tickets (docs/alerts.md, "Customer
 *  messages"), the handler of sn_callbacks' route
 *
 *  GET /sms/inbound?from&to&text&coding&charset&smsc&time&id   (Kannel's
 *      sms-service: %p %P %b %c %C %i %T %I)
 *
 *  The receiver `to` names the branch (sms_branch.service_number), the
 *  text's first word the service (sms_keyword, the services' codes, the
 *  queues' letters). The ticket is asked of queue-manager (qmclient,
 *  ticket.issue, actor "sms:<inbound id>", the sender's phone) and the
 *  reply SMS queued in sms_outbox with the inbound row's outcome, in one
 *  transaction. Each gateway message id is one sms_inbound row, claimed
 *  before the ticket is asked for: a gateway retry of the same id never
 *  issues a second ticket (a retry of a claim left unfinished looks for
 *  the claim's ticket by its actor first).
 *
 *  Answers: 200 (done, a duplicate, or a service number no branch has:
 *  nothing to do); 400 with the reason for a request that is not an
 *  inbound SMS (missing or repeated field, a sender that is no phone
 *  number, text that is not UTF-8); 503 when the database or
 *  queue-manager is unavailable or the same message is being handled
 *  (the gateway asks again). Every refusal is logged.
 *
 *  Handlers run on the callback server's threads; one PostgreSQL
 *  connection and one queue-manager client, under a lock.
 */
#ifndef EQMS_SN_INBOUND_H
#define EQMS_SN_INBOUND_H

#include "eqms/httpd.h"
#include "eqms/metrics.h"
#include "sn_sender.h"

typedef struct sn_inbound_t sn_inbound_t;

typedef struct {
    const char *pg_conninfo;
    const char *provider;           /* the gateway's name, with the message id the key */
    const char *qm_endpoint;        /* "" : inbound SMS are answered 503 */
    int qm_timeout_ms;              /* one ticket.issue at most */
    int max_parts;                  /* replies are cut to this many SMS */
    sn_sender_t *sender;            /* borrowed, woken after a reply is queued; may be NULL */
} sn_inbound_config_t;

/* NULL on failure (logged). */
sn_inbound_t *sn_inbound_new(const sn_inbound_config_t *config, metrics_t *metrics);
void sn_inbound_destroy(sn_inbound_t **self_p);

/* The handler of GET /sms/inbound. */
void sn_inbound_handle(sn_inbound_t *self, const httpd_req_t *req, httpd_reply_t *reply);

#endif
