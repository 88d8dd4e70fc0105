/*  qmclient: a client of queue-manager's request endpoint (qmclient.h). */
#include "eqms/qmclient.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"
#include "eqms/text.h"

/* The largest reply read (queue-manager's replies are far smaller). */
#define S_REPLY_MAX (256 * 1024)

struct qmclient_t {
    zsock_t *sock;
    char endpoint[256];
    char prefix[41];
    uint64_t next;
};

static bool s_prefix_valid(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > 40)
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

qmclient_t *qmclient_new(const char *endpoint, const char *id_prefix)
{
    if (!s_prefix_valid(id_prefix) || !endpoint || !*endpoint) {
        log_error("qmclient_failed", "endpoint=%s reason=\"invalid endpoint or id prefix\"",
                  endpoint ? endpoint : "");
        return NULL;
    }
    /* czmq must not install its own SIGINT/SIGTERM handler: mains sigwait. */
    zsys_handler_set(NULL);
    qmclient_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    text_copy(self->endpoint, sizeof self->endpoint, endpoint);
    text_copy(self->prefix, sizeof self->prefix, id_prefix);
    self->sock = zsock_new(ZMQ_DEALER);
    if (!self->sock)
        goto err;
    zsock_set_linger(self->sock, 0);
    zsock_set_reconnect_ivl(self->sock, 100);
    zsock_set_reconnect_ivl_max(self->sock, 2000);
    zsock_set_maxmsgsize(self->sock, S_REPLY_MAX);
    if (zsock_connect(self->sock, "%s", endpoint) != 0) {
        log_error("qmclient_failed", "endpoint=%s error=\"%s\"", endpoint,
                  zmq_strerror(zmq_errno()));
        goto err;
    }
    return self;
err:
    qmclient_destroy(&self);
    return NULL;
}

void qmclient_destroy(qmclient_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zsock_destroy(&(*self_p)->sock);
    free(*self_p);
    *self_p = NULL;
}

void qmclient_reply_clear(qmclient_reply_t *reply)
{
    if (!reply)
        return;
    json_decref(reply->body);
    memset(reply, 0, sizeof *reply);
}

/* Checks the members every reply has and fills *reply; takes *body_p.
 * 0, or -1 with the reason. */
static int s_decode(json_t **body_p, qmclient_reply_t *reply, char *reason, size_t size)
{
    json_t *body = *body_p;
    *body_p = NULL;
    json_error_t err;
    int v = 0, ok = 0;
    json_t *id = NULL;
    memset(reply, 0, sizeof *reply);
    if (json_unpack_ex(body, &err, 0, "{s:i, s:o, s:b}", "v", &v, "id", &id, "ok", &ok) != 0
        || v != 1) {
        snprintf(reason, size, "not a reply: %s", v == 1 || !v ? err.text : "v is not 1");
        goto err;
    }
    if (ok) {
        json_t *events = json_object_get(body, "events");
        if (!json_is_integer(events) || json_integer_value(events) < 0
            || json_integer_value(events) > 1000) {
            snprintf(reason, size, "an ok reply without a valid events count");
            goto err;
        }
        reply->events = (int) json_integer_value(events);
    }
    else {
        const char *error = NULL, *why = NULL;
        json_t *resumes = NULL;
        int64_t resumes_ms;
        if (json_unpack_ex(body, &err, JSON_STRICT, "{s:i, s:o, s:b, s:s, s:s, s?o}", "v", &v,
                           "id", &id, "ok", &ok, "error", &error, "reason", &why,
                           "resumes", &resumes) != 0) {
            snprintf(reason, size, "an error reply of another form: %s", err.text);
            goto err;
        }
        if (resumes && !json_is_null(resumes)
            && clock_parse_rfc3339(json_string_value(resumes), &resumes_ms) != 0) {
            snprintf(reason, size, "an error reply whose resumes is no time");
            goto err;
        }
        if (json_is_string(resumes))
            text_copy(reply->resumes, sizeof reply->resumes, json_string_value(resumes));
        if (!text_copy(reply->error, sizeof reply->error, error)) {
            snprintf(reason, size, "an error code too long");
            goto err;
        }
        text_copy(reply->reason, sizeof reply->reason, why);   /* cut if long: for logs */
    }
    reply->ok = ok;
    reply->body = body;
    return 0;
err:
    json_decref(body);
    return -1;
}

int qmclient_call(qmclient_t *self, const char *op, const char *branch, const char *actor,
                  json_t **members_p, int timeout_ms, qmclient_reply_t *reply)
{
    json_t *members = members_p ? *members_p : NULL;
    if (members_p)
        *members_p = NULL;
    memset(reply, 0, sizeof *reply);
    char id[64];
    snprintf(id, sizeof id, "%s-%llu", self->prefix, (unsigned long long) ++self->next);
    json_t *req = json_pack("{s:i, s:s, s:s, s:s, s:s}", "v", 1, "id", id, "op", op,
                            "branch", branch, "actor", actor);
    if (!req || (members && (!json_is_object(members) || json_object_update(req, members) != 0))) {
        json_decref(req);
        json_decref(members);
        log_error("qm_request_failed", "op=%s reason=\"cannot build the request\"", op);
        return -1;
    }
    json_decref(members);
    char *frame = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!frame)
        return -1;
    void *sock = zsock_resolve(self->sock);
    int sent = zmq_send(sock, frame, strlen(frame), ZMQ_DONTWAIT);
    free(frame);
    if (sent < 0) {
        log_warn("qm_request_failed", "op=%s endpoint=%s error=\"%s\"", op, self->endpoint,
                 zmq_strerror(zmq_errno()));
        return -1;
    }
    int64_t deadline = clock_mono_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - clock_mono_ms();
        zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
        int n = left > 0 ? zmq_poll(&item, 1, (long) left) : 0;
        if (n < 0 && zmq_errno() == EINTR)
            continue;
        if (n <= 0) {
            log_warn("qm_request_timeout", "op=%s id=%s endpoint=%s timeout_ms=%d", op, id,
                     self->endpoint, timeout_ms);
            return QMCLIENT_TIMEOUT;
        }
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, 0) < 0) {
            zmq_msg_close(&msg);
            continue;
        }
        bool more = zmq_msg_more(&msg);
        json_error_t err;
        json_t *body = more ? NULL : json_loadb(zmq_msg_data(&msg), zmq_msg_size(&msg),
                                                JSON_REJECT_DUPLICATES, &err);
        zmq_msg_close(&msg);
        if (more) {             /* not queue-manager's one frame: drain and drop it */
            while (zsock_rcvmore(self->sock)) {
                zmq_msg_init(&msg);
                zmq_msg_recv(&msg, sock, 0);
                zmq_msg_close(&msg);
            }
            log_warn("qm_reply_refused", "op=%s reason=\"more than one frame\"", op);
            continue;
        }
        json_t *rid = body ? json_object_get(body, "id") : NULL;
        if (body && json_is_string(rid) && strcmp(json_string_value(rid), id) != 0) {
            log_debug("qm_reply_late", "id=%s", json_string_value(rid));
            json_decref(body);
            continue;
        }
        /* Ours, or one no id can be read from (null: the server could not
         * read our request, which it would only say of ours). */
        char reason[256];
        if (!body)
            snprintf(reason, sizeof reason, "not JSON: %s", err.text);
        if (!body || s_decode(&body, reply, reason, sizeof reason) != 0) {
            log_warn("qm_reply_refused", "op=%s id=%s reason=\"%s\"", op, id, reason);
            return -1;
        }
        return 0;
    }
}

static bool s_null_or(json_t *v, json_type type)
{
    return json_is_null(v) || json_typeof(v) == type;
}

int qmclient_ticket_decode(json_t *object, qmclient_ticket_t *t, char *reason, size_t size)
{
    json_error_t err;
    const char *id, *number, *klass, *state, *issued;
    json_int_t service, queue, recall;
    json_t *appointment, *transfer, *window, *staff, *called, *started, *finished;
    memset(t, 0, sizeof *t);
    if (json_unpack_ex(object, &err, JSON_STRICT,
                       "{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:I, "
                       "s:o, s:o, s:o}",
                       "id", &id, "number", &number, "service", &service, "queue", &queue,
                       "class", &klass, "state", &state, "issued", &issued,
                       "appointment", &appointment, "transfer", &transfer, "window", &window,
                       "staff", &staff, "recall", &recall, "called", &called,
                       "started", &started, "finished", &finished) != 0) {
        snprintf(reason, size, "ticket: %s", err.text);
        return -1;
    }
    if (!s_null_or(appointment, JSON_STRING) || !s_null_or(transfer, JSON_OBJECT)
        || !s_null_or(window, JSON_INTEGER) || !s_null_or(staff, JSON_INTEGER)
        || !s_null_or(called, JSON_STRING) || !s_null_or(started, JSON_STRING)
        || !s_null_or(finished, JSON_STRING)) {
        snprintf(reason, size, "ticket: a member of the wrong type");
        return -1;
    }
    if (strlen(id) != 36 || !text_copy(t->id, sizeof t->id, id)
        || !*number || !text_copy(t->number, sizeof t->number, number)
        || !text_copy(t->klass, sizeof t->klass, klass)
        || !text_copy(t->state, sizeof t->state, state)) {
        snprintf(reason, size, "ticket: id, number, class or state out of its rule");
        return -1;
    }
    t->service = service;
    t->queue = queue;
    t->window = json_is_integer(window) ? json_integer_value(window) : 0;
    return 0;
}

int qmclient_ticket_reply(const qmclient_reply_t *reply, qmclient_ticket_reply_t *out,
                          char *reason, size_t size)
{
    json_error_t err;
    int v, ok, events;
    json_t *id, *ticket, *position, *wait;
    memset(out, 0, sizeof *out);
    if (!reply->ok || !reply->body) {
        snprintf(reason, size, "not an ok reply");
        return -1;
    }
    if (json_unpack_ex(reply->body, &err, JSON_STRICT, "{s:i, s:o, s:b, s:i, s:o, s:o, s:o}",
                       "v", &v, "id", &id, "ok", &ok, "events", &events, "ticket", &ticket,
                       "position", &position, "est_wait_s", &wait) != 0) {
        snprintf(reason, size, "ticket reply: %s", err.text);
        return -1;
    }
    if (qmclient_ticket_decode(ticket, &out->ticket, reason, size) != 0)
        return -1;
    if (json_is_integer(position) && json_is_integer(wait)) {
        out->waiting = true;
        out->position = json_integer_value(position);
        out->est_wait_s = json_integer_value(wait);
    }
    else if (!json_is_null(position) || !json_is_null(wait)) {
        snprintf(reason, size, "ticket reply: position and est_wait_s must be integers or null");
        return -1;
    }
    return 0;
}

bool qmclient_outcome_unknown(const qmclient_reply_t *reply)
{
    return !reply->ok && strcmp(reply->error, "unavailable") == 0
           && strstr(reply->reason, "may or may not") != NULL;
}
