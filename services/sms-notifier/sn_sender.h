/*  sn_sender: hands the SMS outbox to the gateway (docs/alerts.md, "Sending";
 *  the outbox's SQL is sn_outbox).
 *
 *  `workers` threads, each with its own PostgreSQL connection and gateway
 *  connection and its share of the outbox (all of a recipient's rows fall
 *  to one; customers' SMS spread by id): each takes its due rows of
 *  sms_outbox (state queued, next_at passed), holding each for a lease by
 *  moving its next_at ahead, and submits them one by one through the
 *  provider's table; each answer is written at once:
 *    accepted  -> state accepted (the gateway answers for it now);
 *    retry     -> next_at put off by a backoff that doubles per attempt up
 *                 to retry_max_ms, and the rest of the batch released: a
 *                 gateway that is down is probed once per backoff, not
 *                 hammered; after give_up_s since the row was made it is
 *                 failed (a message that late has lost its point);
 *    refused   -> state failed with the reason.
 *  A sender that dies holding rows leaves them to its lease: they are sent
 *  again once it expires. The one duplicate it cannot rule out is a crash
 *  between the gateway's acceptance and the row's update: at most one SMS
 *  per worker.
 *
 *  Alert SMS (kind alert) wait for their recipient (sms_recipient_free_at:
 *  quiet hours, max_per_hour, one per digest_gap_s); when a recipient has
 *  more due than it may get now (one, with a gap; else what is left of the
 *  hour's max), they become one digest (sn_digest), written in their place
 *  before it is sent. One notifier per database: the lease keeps two
 *  from sending one row, but only the share keeps two from deciding one
 *  recipient's policy at once.
 */
#ifndef EQMS_SN_SENDER_H
#define EQMS_SN_SENDER_H

#include "eqms/metrics.h"
#include "sn_provider.h"

typedef struct sn_sender_t sn_sender_t;

typedef struct {
    const char *pg_conninfo;             /* its own connection */
    const sn_provider_t *provider;       /* borrowed, static */
    sn_provider_config_t gateway;        /* strings borrowed during new() only */
    const char *callback_url;            /* base URL the gateway reaches sn_callbacks
                                            at ("http://127.0.0.1:9558"); "" : no reports */
    int poll_ms;                         /* looks for due rows at least this often */
    int retry_initial_ms, retry_max_ms;
    int give_up_s;
    int lease_s;                         /* > the provider's timeout */
    int digest_gap_s;                    /* one alert SMS per recipient per gap at most */
    int max_parts;                       /* a digest is cut to this many SMS */
    int workers;                         /* sending threads (1..32) */
} sn_sender_config_t;

/* Starts the thread. NULL if the provider cannot be opened or the thread
 * not started (logged). */
sn_sender_t *sn_sender_new(const sn_sender_config_t *config, metrics_t *metrics);

/* Stops the thread (after the SMS it is submitting) and frees. Accepts NULL. */
void sn_sender_destroy(sn_sender_t **self_p);

/* Notes that rows for these recipients (an array literal of
 * alert_recipient ids, "{3,7}") are being written: the next wake goes to
 * the threads whose share they are, not to all. Any thread; noting rows
 * that are then not committed only wakes a thread for nothing. */
void sn_sender_note(sn_sender_t *self, const char *recipient_ids);

/* New rows were committed: look now rather than at the next poll: the
 * threads noted since the last wake, or all if none was. Any thread. */
void sn_sender_wake(sn_sender_t *self);

#endif
