/*  qm_request: the request/reply codec of queue-manager's ZeroMQ ROUTER endpoint.
 *
 *  docs/protocol.md, chapter "queue-manager requests", is the contract; this
 *  header is its machine form. One request is one frame of JSON:
 *
 *      {"v":1,"id":"k3-000123","op":"window.call_next","branch":"hq.r01.b0001",
 *       "actor":"device:EQ-B0001-W03","window":12}
 *
 *  and one reply is one frame of JSON, carrying the request id:
 *
 *      {"v":1,"id":"k3-000123","ok":true,"events":2,"window":{...},"ticket":{...}}
 *      {"v":1,"id":"k3-000123","ok":false,"error":"no_ticket","reason":"..."}
 *
 *  Use by the server loop (qm_server.c), for one frame:
 *
 *      qm_request_t req;
 *      char reason[QM_REASON_SIZE];
 *      if (qm_request_decode(data, size, &req, reason) != 0)
 *          qm_reply_error(&w, req.id[0] ? req.id : NULL, req.refusal, reason);
 *      else  find the branch (QM_REPLY_UNKNOWN_BRANCH if none), resolve
 *            service_code -> service_id and employee_no -> staff_id (when
 *            given), then by req.kind:
 *            ISSUE   qm_request_issue(&req, &ir);  qm_issue(...)
 *            ACTION  qm_request_action(&req, &a);  qm_act(...)
 *            ...     reply after the group commit with qm_reply_issued,
 *                    qm_reply_action, qm_reply_ticket_get or
 *                    qm_reply_branch_state; a refusal with
 *                    qm_reply_error(&w, req.id, qm_err_name(err), reason).
 *
 *  Decoding is strict and gives a one-line reason naming the problem; the
 *  encoders write only valid JSON (jsonw.h). No I/O, no clock, no logging;
 *  every function is reentrant (no static state).
 */
#ifndef EQMS_QM_REQUEST_H
#define EQMS_QM_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/id.h"
#include "eqms/jsonw.h"
#include "qm_model.h"

/* Protocol version: the "v" of every request and reply. */
#define QM_REQUEST_VERSION     1
/* Largest request frame; a larger one is refused as QM_REPLY_TOO_LARGE. */
#define QM_REQUEST_MAX_BYTES   (16 * 1024)
/* Client request id: 1..64 of [A-Za-z0-9._:-], plus NUL. */
#define QM_REQUEST_ID_SIZE     65
/* "window.set_profile" and the like, plus NUL. */
#define QM_OP_SIZE             32
/* Branch org path (envelope grammar), at most 255 bytes so that every bus
 * topic built from it fits, plus NUL. */
#define QM_BRANCH_SIZE         256
/* Employee number: 1..16 ASCII digits, plus NUL. */
#define QM_EMPLOYEE_NO_SIZE    17
/* Ticket reference: a ticket id (UUIDv7, ID_SIZE) or a number ("A012"). */
#define QM_TICKET_REF_SIZE     ID_SIZE
/* Recommended limit of a reply writer (jsonw_init(&w, NULL, QM_REPLY_MAX_BYTES)):
 * every reply but branch.state's fits in far less. */
#define QM_REPLY_MAX_BYTES     (16 * 1024)

/* Request-level error codes of replies. The model's refusals use
 * qm_err_name() ("window_closed", "no_ticket", ...) as their code. */
#define QM_REPLY_MALFORMED       "malformed"       /* not JSON, bad member / type / value */
#define QM_REPLY_UNKNOWN_OP      "unknown_op"      /* "op" names no operation */
#define QM_REPLY_TOO_LARGE       "too_large"       /* frame > QM_REQUEST_MAX_BYTES */
#define QM_REPLY_UNKNOWN_BRANCH  "unknown_branch"  /* server: no such branch here */
#define QM_REPLY_UNKNOWN_STAFF   "unknown_staff"   /* server: employee_no not an active teller */
#define QM_REPLY_UNAVAILABLE     "unavailable"     /* server: database down, nothing done */

typedef enum {
    QM_OP_TICKET_ISSUE = 1,     /* "ticket.issue" */
    QM_OP_TICKET_GET,           /* "ticket.get" */
    QM_OP_WINDOW_ACTION,        /* "window.*" but set_profile: see req.action */
    QM_OP_WINDOW_SET_PROFILE,   /* "window.set_profile" */
    QM_OP_BRANCH_STATE          /* "branch.state" */
} qm_op_kind_t;

/* A decoded request. Members a request did not carry are 0 / "" (klass
 * QM_CLASS_ORDINARY). All text is NUL-terminated and checked. */
typedef struct {
    char id[QM_REQUEST_ID_SIZE];        /* filled as soon as it is readable,
                                           even when decoding fails later */
    const char *refusal;                /* decode failed: the reply's error code
                                           (QM_REPLY_MALFORMED, _UNKNOWN_OP,
                                           _TOO_LARGE); NULL on success */
    qm_op_kind_t kind;
    char op[QM_OP_SIZE];                /* as received, e.g. "window.call_next" */
    char branch[QM_BRANCH_SIZE];
    char actor[QM_ACTOR_SIZE];          /* 1..63 printable ASCII */
    /* ticket.issue, window.walk_in */
    int64_t service_id;                 /* > 0, or 0 when service_code was given:
                                           the server resolves it and sets this */
    char service_code[QM_CODE_SIZE];    /* 1..15 printable ASCII, no space; "" = none */
    qm_class_t klass;                   /* default QM_CLASS_ORDINARY */
    int64_t appointment_ms;             /* ticket.issue: 0 = none */
    char phone[QM_PHONE_SIZE];          /* ticket.issue: "" = none */
    /* window.* */
    qm_action_kind_t action;            /* QM_OP_WINDOW_ACTION only, else 0 */
    int64_t window_id;                  /* > 0 for every window.* op */
    int64_t staff_id;                   /* window.login: > 0, or 0 when employee_no
                                           was given: the server resolves it */
    char employee_no[QM_EMPLOYEE_NO_SIZE];  /* window.login: "" = none */
    char ticket[QM_TICKET_REF_SIZE];    /* ticket.get, window.call_ticket,
                                           window.call_back (optional): "" = none */
    char reason[QM_DETAIL_SIZE];        /* window.pause: 1..511 bytes */
    qm_target_t target;                 /* window.transfer */
    int64_t target_id;                  /* window.transfer: > 0 */
    char profile_text[QM_DETAIL_SIZE];  /* window.set_profile, as received */
    qm_profile_t profile;               /* window.set_profile, parsed and shape-
                                           checked (services not checked: the
                                           model refuses unknown ones) */
} qm_request_t;

/* Decodes one request frame (`len` bytes, need not be NUL-terminated).
 * Returns 0 with *req filled, or -1 with a one-line reason naming the
 * problem, req->refusal set to the reply's error code and req->id filled
 * if the request's id could be read ("" otherwise: reply with id null).
 * Strict: at most QM_REQUEST_MAX_BYTES, valid UTF-8 JSON object, no
 * duplicate keys, no unknown member, no member the op does not use, no
 * null, every member of its type and range (docs/protocol.md). */
int qm_request_decode(const void *buf, size_t len, qm_request_t *req,
                      char reason[QM_REASON_SIZE]);

/* The op's name ("ticket.issue", "window.pause", ...) for kind and action
 * (action used with QM_OP_WINDOW_ACTION only). Never NULL ("?"). */
const char *qm_request_op_name(qm_op_kind_t kind, qm_action_kind_t action);

/* Fills a model request from a decoded ticket.issue. The pointers in *out
 * point into *req, which must outlive it. service_id must be resolved
 * (non-zero) before qm_issue. */
void qm_request_issue(const qm_request_t *req, qm_issue_req_t *out);

/* Fills a model action from a decoded window action (QM_OP_WINDOW_ACTION).
 * Pointers point into *req ("" members become NULL). service_id (walk_in)
 * and staff_id (login) must be resolved before qm_act. */
void qm_request_action(const qm_request_t *req, qm_action_t *out);

/* ---- replies ------------------------------------------------------------
 * Each encoder resets the writer `w` (jsonw_reset: initialise it once, e.g.
 * jsonw_init(&w, NULL, QM_REPLY_MAX_BYTES), and reuse it), writes one reply
 * and finishes it. Returns 0 with the text in jsonw_text(w, &len), or -1
 * (bad arguments, a member not valid UTF-8, the writer full): then send
 * qm_reply_error(w, id, "no_memory", ...) or log and drop. `id` is the
 * request id, NULL only for an error reply to a request whose id could not
 * be read (written as null). */

/* {"v":1,"id":..,"ok":false,"error":code,"reason":reason} */
int qm_reply_error(jsonw_t *w, const char *id, const char *code, const char *reason);

/* A refusal of ticket.issue by the opening hours (code "closed" or
 * "issuing_stopped"): qm_reply_error's members and "resumes", the time
 * issuing starts again (null when resumes_ms is 0: not within the days
 * looked ahead). */
int qm_reply_not_issuing(jsonw_t *w, const char *id, const char *code, const char *reason,
                         int64_t resumes_ms);

/* {"v":1,"id":..,"ok":true,"events":n}: an action that has nothing more to
 * report. */
int qm_reply_ok(jsonw_t *w, const char *id, size_t events);

/* The ticket reply from a snapshot: {"v":1,"id":..,"ok":true,"events":n,
 * "ticket":{ticket object},"position":p,"est_wait_s":s}; position and
 * est_wait_s are null when position < 0 (not waiting). */
int qm_reply_ticket(jsonw_t *w, const char *id, size_t events,
                    const qm_ticket_info_t *ticket, int64_t position, int64_t est_wait_s);

/* What a reply told of a ticket's place: position -1 (and est_wait_s -1)
 * when it is not waiting. */
typedef struct {
    int64_t position;
    int64_t est_wait_s;
} qm_told_t;

/* ticket.issue and ticket.get from the branch (after applying): looks up
 * `ref` (id or number) and, when it is waiting, its position and estimated
 * wait at `now_ms` (qm_ticket_estimate), also left in *told unless it is
 * NULL. Returns -1 also if the ticket is not found (reply
 * QM_ERR_UNKNOWN_TICKET). */
int qm_reply_ticket_get(jsonw_t *w, const char *id, size_t events,
                        const qm_branch_t *branch, const char *ref, int64_t now_ms,
                        qm_told_t *told);

/* Every window.* op (set_profile included) from the branch after applying:
 * {"v":1,"id":..,"ok":true,"events":n,"window":{window object},
 *  "ticket":{ticket object} or null}, the ticket being the window's current
 * one (the one called by call_next / call_ticket / call_back / recall, the
 * walk-in's, null after finish / no_show / park / transfer / close).
 * Returns -1 also if the window is unknown. */
int qm_reply_action(jsonw_t *w, const char *id, size_t events,
                    const qm_branch_t *branch, int64_t window_id);

/* branch.state: {"v":1,"id":..,"ok":true,"events":0,"branch":path,
 * "day":"YYYY-MM-DD","queues":[..],"windows":[..],"display":[..]}, its
 * window objects with the live members since, waiting, service, called
 * and started after those of an action reply's (docs/protocol.md). Needs
 * arrays, which jsonw has not, so it is built with jansson and returned as
 * malloc'd compact text (the caller frees it), length in *len; NULL on bad
 * arguments or out of memory. `queues` are the branch's configured queues
 * (the model has no list of them), in the order to show. The branch is
 * only read (qm_branch_hall is not const). */
char *qm_reply_branch_state(const char *id, qm_branch_t *branch, const char *branch_path,
                            const qm_queue_cfg_t *queues, size_t queue_count,
                            size_t *len);

#endif
