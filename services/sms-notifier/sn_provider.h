/*  sn_provider: the table an SMS gateway implements, as libusb's backend
 *  table (usbi_os_backend): the rules, the outbox and the sender know only
 *  this, so another HTTP SMS gateway is one more table, not a change to
 *  them. sn_kannel.c is the first (Kannel's sendsms interface).
 *
 *  Delivery reports come back to the notifier's own HTTP endpoint
 *  (sn_callbacks): the sender gives the gateway a URL that names the
 *  message (its outbox id and a secret token, checked by sn_callbacks);
 *  the provider adds what its gateway fills in and reads it back.
 */
#ifndef EQMS_SN_PROVIDER_H
#define EQMS_SN_PROVIDER_H

#include <stddef.h>

#include "eqms/httpd.h"

#define SN_PROVIDER_REASON_SIZE 200

/* One SMS to submit (all borrowed). */
typedef struct {
    const char *id;             /* the outbox row's id (uuid text) */
    const char *phone;          /* E.164, "+8613800138000" */
    const char *body;           /* UTF-8, already fitted (sn_sms_fit) */
    const char *dlr_url;        /* the notifier's report URL for it; NULL: no reports */
} sn_message_t;

typedef enum {
    SN_SEND_ACCEPTED,           /* the gateway took it: it answers for it now */
    SN_SEND_RETRY,              /* not taken, may work later (down, busy, refused login) */
    SN_SEND_REFUSED,            /* never will be taken as it is (bad number, bad text) */
} sn_send_result_t;

/* A delivery report, as the notifier keeps it. */
typedef enum {
    SN_DLR_DELIVERED,           /* on the phone: final */
    SN_DLR_FAILED,              /* undeliverable or refused by the operator: final */
    SN_DLR_PROGRESS,            /* accepted by the operator, buffered: not final */
} sn_dlr_state_t;

typedef struct {
    sn_dlr_state_t state;
    int status;                 /* the gateway's own code, kept as dlr_status */
} sn_dlr_t;

/* Settings from the environment, handed to open() (borrowed strings). */
typedef struct {
    const char *url;            /* where to submit, e.g. Kannel's sendsms URL */
    const char *username, *password;
    const char *sender;         /* the sender id or number shown on the phone */
    int timeout_ms;             /* per request */
} sn_provider_config_t;

typedef struct {
    /* Name recorded in sms_outbox.provider, e.g. "kannel". */
    const char *name;

    /* Creates the provider's state for one sending thread. NULL if the
     * configuration is unusable (logged with the reason). */
    void *(*open)(const sn_provider_config_t *config);

    /* Frees what open() made. Accepts NULL. */
    void (*close)(void *state);

    /* Submits `msg`, blocking for at most the configured timeout. On
     * anything but SN_SEND_ACCEPTED, a short reason for the outbox's
     * last_error and the log. Called from the sending thread only. */
    sn_send_result_t (*send)(void *state, const sn_message_t *msg, char *reason,
                             size_t size);

    /* The query text (starting with "&") the gateway appends to dlr_url
     * arguments for the report's own fields, e.g. Kannel's "&type=%d". */
    const char *dlr_suffix;

    /* The query arguments of a report that dlr_suffix brings, NULL-terminated
     * (sn_callbacks refuses any other). */
    const char *const *dlr_args;

    /* Reads the report's fields from `req`. 0, or -1 with the reason when
     * they are missing or not what the gateway sends. Any thread. */
    int (*dlr_parse)(const httpd_req_t *req, sn_dlr_t *dlr, char *reason, size_t size);
} sn_provider_t;

/* The providers built in (sn_kannel.c: Kannel), and by name: NULL if
 * there is none of that name. */
extern const sn_provider_t sn_kannel;
const sn_provider_t *sn_provider_find(const char *name);

#endif
