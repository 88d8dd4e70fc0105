/*  qmclient: a client of queue-manager's request endpoint (docs/protocol.md,
 *  "queue-manager requests").
 *
 *  A DEALER socket connected to the ROUTER at EQMS_QM_ENDPOINT. A request is
 *  one JSON frame {"v":1,"id","op","branch","actor", <members>}; its reply
 *  is the frame that carries the same id (replies to earlier requests that
 *  came too late are read and dropped). Replies are decoded strictly: a
 *  reply that breaks the protocol's form is a failure, never guessed at.
 *
 *  Retries: only ticket.get and branch.state are idempotent. After
 *  QMCLIENT_TIMEOUT (or a reply that could not be read, or the error
 *  `unavailable` whose reason says the commit may have happened) the
 *  outcome of any other op is unknown: the caller must read the state
 *  (ticket.get, branch.state) before it sends the op again, never resend
 *  blindly. qmclient itself never resends.
 *
 *  Thread safety: a qmclient_t is used by one thread at a time (its socket
 *  is a ZeroMQ socket); give each thread its own, or hold a lock around
 *  every call.
 */
#ifndef EQMS_QMCLIENT_H
#define EQMS_QMCLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct qmclient_t qmclient_t;

#define QMCLIENT_TIMEOUT (-2)

/* A reply as read: `ok` and `events`, or the error code and reason; `body`
 * is the whole reply object (owned: qmclient_reply_clear frees it). */
typedef struct {
    bool ok;
    int events;                 /* ok: ticket events produced and committed */
    char error[32];             /* !ok: the error code ("unknown_service", ...) */
    char reason[256];           /* !ok: the server's reason */
    char resumes[25];           /* !ok, "closed" / "issuing_stopped": when issuing
                                   starts again (RFC 3339); "" when not said or null */
    json_t *body;
} qmclient_reply_t;

/* A ticket object (docs/protocol.md, "Objects in replies"), the members a
 * client acts on; the others are checked for type and dropped. */
typedef struct {
    char id[37];
    char number[8];
    int64_t service, queue;
    char klass[12];             /* "ordinary", "vip", "green" */
    char state[12];             /* "waiting", "called", ... */
    int64_t window;             /* 0: null */
} qmclient_ticket_t;

/* The reply of ticket.issue and ticket.get. */
typedef struct {
    qmclient_ticket_t ticket;
    bool waiting;               /* position and est_wait_s are known */
    int64_t position, est_wait_s;
} qmclient_ticket_reply_t;

/* Connects to `endpoint` (the connection itself is made in the background,
 * as ZeroMQ does). Request ids are "<id_prefix>-<n>", unique per client;
 * id_prefix is 1..40 of [A-Za-z0-9._:-]. NULL on failure (logged). */
qmclient_t *qmclient_new(const char *endpoint, const char *id_prefix);
void qmclient_destroy(qmclient_t **self_p);

/* Sends `op` for `branch` as `actor` with the members of *members_p (an
 * object, taken and freed; NULL: none) and waits up to timeout_ms for its
 * reply. Returns 0 with *reply filled (ok or an error reply), QMCLIENT_TIMEOUT
 * when no reply came in time, -1 when the request could not be sent or its
 * reply broke the protocol (logged). After anything but 0 the outcome of a
 * non-idempotent op is unknown (see above). */
int qmclient_call(qmclient_t *self, const char *op, const char *branch, const char *actor,
                  json_t **members_p, int timeout_ms, qmclient_reply_t *reply);

/* Frees what a reply holds; the reply may be cleared twice. */
void qmclient_reply_clear(qmclient_reply_t *reply);

/* Decodes a ticket object strictly. 0, or -1 with the reason. */
int qmclient_ticket_decode(json_t *object, qmclient_ticket_t *ticket, char *reason,
                           size_t size);

/* Decodes an ok reply of ticket.issue or ticket.get. 0, or -1 with the reason. */
int qmclient_ticket_reply(const qmclient_reply_t *reply, qmclient_ticket_reply_t *out,
                          char *reason, size_t size);

/* Whether an error reply leaves the outcome unknown: `unavailable` whose
 * reason says the commit may have happened (docs/protocol.md, "Replies"). */
bool qmclient_outcome_unknown(const qmclient_reply_t *reply);

#endif
