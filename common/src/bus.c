/*  bus: a service's PUB/SUB connection to the site forwarder (bus.h). */
#include "eqms/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/log.h"

struct bus_t {
    zsock_t *pub;            /* to the forwarder's XSUB side, or NULL */
    zsock_t *sub;            /* from the forwarder's XPUB side, or NULL */
    char src[ENVELOPE_SRC_MAX + 1];
    int64_t next_seq;
    int subscriptions;
    bus_stats_t stats;
    /* The service's counters (bus_attach_metrics), or NULL. */
    metrics_counter_t *m_published, *m_received, *m_rejected;
};

static void s_count(metrics_counter_t *counter)
{
    if (counter)
        metrics_add(counter, 1);
}

/* Socket options every bus socket gets: fast reconnect with backoff,
 * heartbeats to notice a dead forwarder, bounded linger on close. */
static void s_tune(zsock_t *sock)
{
    zsock_set_linger(sock, 500);
    zsock_set_reconnect_ivl(sock, 100);
    zsock_set_reconnect_ivl_max(sock, 5000);
    zsock_set_heartbeat_ivl(sock, 5000);
    zsock_set_heartbeat_timeout(sock, 15000);
    zsock_set_sndhwm(sock, 100000);
    zsock_set_rcvhwm(sock, 100000);
}

static zsock_t *s_connect(int type, const char *endpoint)
{
    zsock_t *sock = zsock_new(type);
    if (!sock)
        return NULL;
    s_tune(sock);
    if (zsock_connect(sock, "%s", endpoint) != 0) {
        log_error("bus_connect_failed", "endpoint=%s error=\"%s\"", endpoint,
                  zmq_strerror(zmq_errno()));
        zsock_destroy(&sock);
    }
    return sock;
}

bus_t *bus_new(const char *pub_endpoint, const char *sub_endpoint,
               const char *src)
{
    /* czmq must not install its own SIGINT/SIGTERM handler: mains sigwait. */
    zsys_handler_set(NULL);
    bus_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (!src || strlen(src) > ENVELOPE_SRC_MAX)
        goto err;
    strcpy(self->src, src);
    if (pub_endpoint && !(self->pub = s_connect(ZMQ_PUB, pub_endpoint)))
        goto err;
    if (sub_endpoint && !(self->sub = s_connect(ZMQ_SUB, sub_endpoint)))
        goto err;
    /* Sequence numbers start from the clock, so a restarted producer never
     * reuses numbers of its previous run. */
    self->next_seq = clock_now_ms() * 1000;
    return self;
err:
    bus_destroy(&self);
    return NULL;
}

void bus_destroy(bus_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bus_t *self = *self_p;
    zsock_destroy(&self->pub);
    zsock_destroy(&self->sub);
    free(self);
    *self_p = NULL;
}

int bus_subscribe(bus_t *self, const char *prefix)
{
    if (!self->sub || !prefix)
        return -1;
    zsock_set_subscribe(self->sub, prefix);
    self->subscriptions++;
    return 0;
}

int bus_unsubscribe(bus_t *self, const char *prefix)
{
    if (!self->sub || !prefix || self->subscriptions == 0)
        return -1;
    zsock_set_unsubscribe(self->sub, prefix);
    self->subscriptions--;
    return 0;
}

static int s_send(bus_t *self, const char *topic, size_t topic_len,
                  const char *text, size_t len)
{
    void *sock = zsock_resolve(self->pub);
    if (zmq_send(sock, topic, topic_len, ZMQ_SNDMORE) < 0
        || zmq_send(sock, text, len, 0) < 0) {
        log_warn("bus_send_failed", "topic=%.*s error=\"%s\"", (int) topic_len,
                 topic, zmq_strerror(zmq_errno()));
        return -1;
    }
    self->stats.published++;
    s_count(self->m_published);
    return 0;
}

/* Writes the topic "<type>.<org_path>" (type already valid) into `topic`.
 * Returns its length, or -1 (logged) if the path is malformed. */
static int s_topic(char topic[ENVELOPE_TOPIC_MAX + 2], const char *type,
                   const char *org_path)
{
    char reason[ENVELOPE_REASON_SIZE];
    size_t t = strlen(type), p = strlen(org_path);
    if (t + 1 + p > ENVELOPE_TOPIC_MAX) {
        log_error("bus_publish_refused", "type=%s reason=\"topic over %d bytes\"", type,
                  ENVELOPE_TOPIC_MAX);
        return -1;
    }
    memcpy(topic, type, t);
    topic[t] = '.';
    memcpy(topic + t + 1, org_path, p + 1);
    if (envelope_topic_check(topic, t + 1 + p, type, reason) != 0) {
        log_error("bus_publish_refused", "type=%s reason=\"%s\"", type, reason);
        return -1;
    }
    return (int) (t + 1 + p);
}

int bus_publish_envelope(bus_t *self, const char *org_path,
                         const envelope_t *envelope)
{
    char topic[ENVELOPE_TOPIC_MAX + 2];
    if (!self->pub || !org_path)
        return -1;
    int n = s_topic(topic, envelope->type, org_path);
    if (n < 0)
        return -1;
    size_t len;
    char *text = envelope_encode(envelope, &len);
    if (!text) {
        log_error("bus_publish_refused", "type=%s reason=\"envelope over %d bytes\"",
                  envelope->type, ENVELOPE_MAX_BYTES);
        return -1;
    }
    int rc = s_send(self, topic, (size_t) n, text, len);
    free(text);
    return rc;
}

int bus_publish(bus_t *self, const char *type, const char *org_path,
                json_t **data_p, char id_out[ID_SIZE])
{
    envelope_t *envelope = envelope_new(type, self->src, self->next_seq, data_p);
    if (!envelope) {
        log_error("bus_publish_refused", "type=\"%s\" reason=\"malformed type or data\"",
                  type ? type : "-");
        return -1;
    }
    int rc = bus_publish_envelope(self, org_path, envelope);
    if (rc == 0) {
        self->next_seq++;
        if (id_out)
            memcpy(id_out, envelope->id, ID_SIZE);
    }
    envelope_destroy(&envelope);
    return rc;
}

int bus_publish_jsonw(bus_t *self, const char *type, const char *org_path,
                      const jsonw_t *data, char id_out[ID_SIZE])
{
    size_t data_len;
    if (!envelope_type_valid(type) || !data || !jsonw_text(data, &data_len)) {
        log_error("bus_publish_refused", "type=\"%s\" reason=\"malformed type or data\"",
                  type ? type : "-");
        return -1;
    }
    char topic[ENVELOPE_TOPIC_MAX + 2];
    if (!self->pub || !org_path)
        return -1;
    int n = s_topic(topic, type, org_path);
    if (n < 0)
        return -1;
    size_t len;
    char id[ID_SIZE];
    char *text = envelope_encode_jsonw(type, self->src, self->next_seq, data, &len, id);
    if (!text) {
        log_error("bus_publish_refused", "type=%s reason=\"malformed src, envelope over "
                  "%d bytes or out of memory\"", type, ENVELOPE_MAX_BYTES);
        return -1;
    }
    int rc = s_send(self, topic, (size_t) n, text, len);
    free(text);
    if (rc == 0) {
        self->next_seq++;
        if (id_out)
            memcpy(id_out, id, ID_SIZE);
    }
    return rc;
}

/* Reads one whole message (all frames) from the SUB socket. Returns the
 * number of frames, with the first two in topic/body, or -1. */
static int s_read_message(void *sock, zmq_msg_t *topic, zmq_msg_t *body)
{
    int frames = 0;
    int more = 1;
    while (more) {
        zmq_msg_t scratch;
        zmq_msg_t *msg = frames == 0 ? topic : frames == 1 ? body : &scratch;
        zmq_msg_init(msg);
        if (zmq_msg_recv(msg, sock, frames == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(msg);
            return frames ? frames : -1;
        }
        more = zmq_msg_more(msg);
        if (msg == &scratch)
            zmq_msg_close(msg);
        frames++;
    }
    return frames;
}

/* Waits until `deadline` (clock_mono_ms; -1 = forever) for the next message.
 * Returns its number of frames, with the first two in topic/body (the caller
 * closes them with s_close), 0 on timeout, -1 if interrupted. */
static int s_next_message(void *sock, int64_t deadline, zmq_msg_t *topic, zmq_msg_t *body)
{
    for (;;) {
        zmq_pollitem_t item = { sock, 0, ZMQ_POLLIN, 0 };
        long wait = deadline < 0 ? -1 : deadline - clock_mono_ms();
        if (deadline >= 0 && wait < 0)
            wait = 0;
        int rc = zmq_poll(&item, 1, wait);
        if (rc < 0)
            return -1;   /* interrupted (EINTR) or the context ended */
        if (rc == 0)
            return 0;
        int frames = s_read_message(sock, topic, body);
        if (frames > 0)
            return frames;
    }
}

static void s_close(zmq_msg_t *topic, zmq_msg_t *body, int frames)
{
    zmq_msg_close(topic);
    if (frames >= 2)
        zmq_msg_close(body);
}

/* Logs and counts a message dropped as malformed. */
static void s_rejected(bus_t *self, zmq_msg_t *topic, const char *reason)
{
    self->stats.rejected++;
    s_count(self->m_rejected);
    log_warn("bus_message_rejected", "topic=\"%.*s\" reason=\"%s\"",
             (int) (zmq_msg_size(topic) > 120 ? 120 : zmq_msg_size(topic)),
             (const char *) zmq_msg_data(topic), reason);
}

static int64_t s_deadline(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : clock_mono_ms() + timeout_ms;
}

int bus_recv_raw(bus_t *self, int timeout_ms, bus_decode_fn *decode, void *arg)
{
    if (!self->sub || self->subscriptions == 0)
        return -1;
    void *sock = zsock_resolve(self->sub);
    int64_t deadline = s_deadline(timeout_ms);
    for (;;) {
        zmq_msg_t topic, body;
        int frames = s_next_message(sock, deadline, &topic, &body);
        if (frames <= 0)
            return frames;
        char reason[ENVELOPE_REASON_SIZE];
        int rc = frames != 2 ? envelope_reject(reason, "message has %d frames, expected "
                                                       "topic and envelope", frames)
                             : decode(arg, zmq_msg_data(&topic), zmq_msg_size(&topic),
                                      zmq_msg_data(&body), zmq_msg_size(&body), reason);
        if (rc != 0)
            s_rejected(self, &topic, reason);
        s_close(&topic, &body, frames);
        if (rc == 0) {
            self->stats.received++;
            s_count(self->m_received);
            return 1;
        }
    }
}

/* Where bus_recv's decoder puts what it took. */
typedef struct {
    char **topic_p;
    envelope_t **envelope_p;
} s_taken_t;

/* bus_decode_fn of bus_recv: the strict envelope decode and topic check. */
static int s_decode(void *arg, const char *topic, size_t topic_len, const void *body,
                    size_t len, char reason[ENVELOPE_REASON_SIZE])
{
    s_taken_t *taken = arg;
    envelope_t *envelope = envelope_decode(body, len, reason);
    if (!envelope)
        return -1;
    if (envelope_topic_check(topic, topic_len, envelope->type, reason) != 0) {
        envelope_destroy(&envelope);
        return -1;
    }
    char *copy = strndup(topic, topic_len);
    if (!copy) {
        envelope_destroy(&envelope);
        return envelope_reject(reason, "out of memory");
    }
    *taken->topic_p = copy;
    *taken->envelope_p = envelope;
    return 0;
}

int bus_recv(bus_t *self, int timeout_ms, char **topic_p, envelope_t **envelope_p)
{
    s_taken_t taken = { topic_p, envelope_p };
    return bus_recv_raw(self, timeout_ms, s_decode, &taken);
}

zsock_t *bus_sub_socket(bus_t *self)
{
    return self->sub;
}

bus_stats_t bus_stats(const bus_t *self)
{
    return self->stats;
}

int bus_attach_metrics(bus_t *self, metrics_t *metrics)
{
    if (!metrics)
        return 0;
    self->m_published = metrics_counter_shared(metrics, "bus_published_total",
                                               "Envelopes published on the bus.");
    self->m_received = metrics_counter_shared(metrics, "bus_received_total",
                                              "Bus envelopes decoded and taken.");
    self->m_rejected = metrics_counter_shared(metrics, "bus_rejected_total",
                                              "Bus messages dropped as malformed "
                                              "(each logged with its reason).");
    return self->m_published && self->m_received && self->m_rejected ? 0 : -1;
}

int bus_wait_wakeup(bus_t *self, int ms, const atomic_bool *stop)
{
    int64_t until = clock_mono_ms() + ms;
    for (;;) {
        int left = (int) (until - clock_mono_ms());
        if (atomic_load(stop) || left <= 0)
            return 0;
        int slice = left > 100 ? 100 : left;
        if (!self) {
            zclock_sleep(slice);
            continue;
        }
        char *topic = NULL;
        envelope_t *env = NULL;
        int got = bus_recv(self, slice, &topic, &env);
        free(topic);
        envelope_destroy(&env);
        if (got == 1) {         /* something was committed: drain and go */
            while (bus_recv(self, 0, &topic, &env) == 1) {
                free(topic);
                envelope_destroy(&env);
            }
            return 1;
        }
        if (got < 0)
            zclock_sleep(slice);   /* interrupted: do not spin */
    }
}
