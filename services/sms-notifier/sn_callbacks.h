/*  sn_callbacks: the notifier's HTTP endpoint for the gateway's calls
 *  (docs/alerts.md, "Delivery reports"), on common/httpd.
 *
 *  GET /sms/dlr?id=<outbox id>&token=<its dlr_token>&<provider's fields>
 *      a delivery report: delivered and failed are final (a later report
 *      never undoes them); progress reports (accepted by the operator,
 *      buffered) only note the report. 200 when applied or already final;
 *      400 with the reason for a request that is not a report (missing,
 *      unknown or repeated fields); 404 for an id and token that name no
 *      SMS: nothing changes, the refusal is logged.
 *
 *  GET /sms/inbound?from&to&text&...&id
 *      an SMS a customer sent (the gateway's sms-service): sn_inbound.h.
 *
 *  Handlers run on the server's threads and share one PostgreSQL
 *  connection under a lock (reports are small and few: two per SMS).
 */
#ifndef EQMS_SN_CALLBACKS_H
#define EQMS_SN_CALLBACKS_H

#include "eqms/metrics.h"
#include "sn_inbound.h"
#include "sn_provider.h"

typedef struct sn_callbacks_t sn_callbacks_t;

typedef struct {
    const char *pg_conninfo;
    const sn_provider_t *provider;      /* borrowed, static */
    const char *address;
    int port;                           /* 0: no endpoint */
    sn_inbound_t *inbound;              /* borrowed; outlives the callbacks */
} sn_callbacks_config_t;

/* Listens. NULL if the port cannot be bound (logged). */
sn_callbacks_t *sn_callbacks_new(const sn_callbacks_config_t *config, metrics_t *metrics);
void sn_callbacks_destroy(sn_callbacks_t **self_p);

#endif
