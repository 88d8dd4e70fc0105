/*  forwarder: XSUB/XPUB forwarding loop in its own thread (forwarder.h). */
#include "forwarder.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "eqms/clock.h"
#include "eqms/log.h"

#define FORWARDER_BATCH        1024   /* messages moved per pass */
#define FORWARDER_SUB_BATCH    256    /* subscriptions moved per pass */
#define FORWARDER_IDLE_MS      1000   /* poll timeout: heartbeat while idle */
#define FORWARDER_DEAD_MS      5000   /* heartbeat older than this = unhealthy */
#define FORWARDER_MAX_FRAME    (256 * 1024)  /* larger frames cut the peer off */
#define FORWARDER_ENDPOINT_MAX 256

struct forwarder_t {
    void *ctx;                   /* own libzmq context */
    void *xsub;                  /* publishers connect here */
    void *xpub;                  /* subscribers connect here */
    void *ctrl_loop;             /* PAIR, the loop's end */
    void *ctrl_main;             /* PAIR, forwarder_destroy's end */
    pthread_t thread;
    bool running;                /* thread started */
    _Atomic int64_t heartbeat;   /* clock_mono_ms of the last pass; -1 = ended */
    char xsub_endpoint[FORWARDER_ENDPOINT_MAX];
    char xpub_endpoint[FORWARDER_ENDPOINT_MAX];
    metrics_counter_t dummy[4];  /* counters when no metrics_t is given */
    metrics_counter_t *messages;
    metrics_counter_t *bytes;
    metrics_counter_t *subscriptions;
    metrics_counter_t *unsubscriptions;
};

/* What one pass moved, flushed to the shared counters once per batch. */
typedef struct {
    uint64_t messages;
    uint64_t bytes;
    uint64_t subscriptions;
    uint64_t unsubscriptions;
} s_tally_t;

static int s_setopt_int(void *socket, int option, int value)
{
    return zmq_setsockopt(socket, option, &value, sizeof value);
}

/* Creates a socket of `type` with the bus's options and binds it; writes the
 * bound endpoint to `bound`. Returns NULL (logged) on failure. */
static void *s_socket(void *ctx, int type, const char *endpoint, int hwm,
                      char bound[FORWARDER_ENDPOINT_MAX])
{
    void *socket = zmq_socket(ctx, type);
    if (!socket) {
        log_error("zmq_socket", "error=\"%s\"", zmq_strerror(zmq_errno()));
        return NULL;
    }
    int64_t max_frame = FORWARDER_MAX_FRAME;
    if (s_setopt_int(socket, ZMQ_SNDHWM, hwm) != 0
        || s_setopt_int(socket, ZMQ_RCVHWM, hwm) != 0
        || s_setopt_int(socket, ZMQ_LINGER, 0) != 0
        /* dead peers: TCP keepalive for half-open links, ZMTP heartbeats
         * for peers that stopped answering */
        || s_setopt_int(socket, ZMQ_TCP_KEEPALIVE, 1) != 0
        || s_setopt_int(socket, ZMQ_TCP_KEEPALIVE_IDLE, 60) != 0
        || s_setopt_int(socket, ZMQ_TCP_KEEPALIVE_INTVL, 10) != 0
        || s_setopt_int(socket, ZMQ_HEARTBEAT_IVL, 10000) != 0
        || s_setopt_int(socket, ZMQ_HEARTBEAT_TIMEOUT, 30000) != 0
        || zmq_setsockopt(socket, ZMQ_MAXMSGSIZE, &max_frame,
                          sizeof max_frame) != 0
        || (type == ZMQ_XPUB && s_setopt_int(socket, ZMQ_XPUB_VERBOSE, 0) != 0)) {
        log_error("zmq_setsockopt", "error=\"%s\"", zmq_strerror(zmq_errno()));
        goto err;
    }
    if (zmq_bind(socket, endpoint) != 0) {
        log_error("bus_bind", "endpoint=%s error=\"%s\"", endpoint,
                  zmq_strerror(zmq_errno()));
        goto err;
    }
    size_t size = FORWARDER_ENDPOINT_MAX;
    if (zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, bound, &size) != 0)
        snprintf(bound, FORWARDER_ENDPOINT_MAX, "%s", endpoint);
    return socket;
err:
    zmq_close(socket);
    return NULL;
}

/* Moves up to `batch` whole messages from `from` to `to`, frame by frame
 * without copying. Returns the messages moved, or -1 when the context is
 * terminating. `subs` says the messages are subscriptions (first byte 1 =
 * subscribe, 0 = unsubscribe). */
static int s_forward(void *from, void *to, zmq_msg_t *msg, int batch,
                     bool subs, s_tally_t *tally)
{
    int moved = 0;
    while (moved < batch) {
        /* the first frame may be absent; the others of a message are there,
         * since libzmq delivers multipart messages whole */
        int flags = ZMQ_DONTWAIT;
        bool first = true;
        for (;;) {
            int size = zmq_msg_recv(msg, from, flags);
            if (size < 0) {
                if (zmq_errno() == EAGAIN && first)
                    return moved;
                return zmq_errno() == ETERM ? -1 : moved;
            }
            if (first && subs) {
                const unsigned char *data = zmq_msg_data(msg);
                if (size > 0 && data[0] == 1)
                    tally->subscriptions++;
                else if (size > 0 && data[0] == 0)
                    tally->unsubscriptions++;
            }
            tally->bytes += (uint64_t) size;
            bool more = zmq_msg_more(msg);
            if (zmq_msg_send(msg, to, more ? ZMQ_SNDMORE : 0) < 0) {
                int error = zmq_errno();
                zmq_msg_close(msg);          /* not consumed by a failed send */
                zmq_msg_init(msg);
                if (error == ETERM)
                    return -1;
                log_warn("bus_send", "error=\"%s\"", zmq_strerror(error));
            }
            if (!more)
                break;
            first = false;
            flags = 0;
        }
        moved++;
    }
    return moved;
}

static void s_flush(forwarder_t *self, s_tally_t *tally)
{
    if (tally->messages)
        metrics_add(self->messages, tally->messages);
    if (tally->bytes)
        metrics_add(self->bytes, tally->bytes);
    if (tally->subscriptions)
        metrics_add(self->subscriptions, tally->subscriptions);
    if (tally->unsubscriptions)
        metrics_add(self->unsubscriptions, tally->unsubscriptions);
    memset(tally, 0, sizeof *tally);
}

static void *s_loop(void *arg)
{
    forwarder_t *self = arg;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    zmq_pollitem_t items[] = {
        { self->ctrl_loop, 0, ZMQ_POLLIN, 0 },
        { self->xsub, 0, ZMQ_POLLIN, 0 },
        { self->xpub, 0, ZMQ_POLLIN, 0 },
    };
    s_tally_t tally = { 0 };
    bool busy = false;
    for (;;) {
        atomic_store_explicit(&self->heartbeat, clock_mono_ms(),
                              memory_order_relaxed);
        /* while the previous pass filled a batch, there is more to move:
         * only look at the control socket, without waiting */
        int rc = zmq_poll(items, busy ? 1 : 3, busy ? 0 : FORWARDER_IDLE_MS);
        if (rc < 0) {
            if (zmq_errno() == EINTR)
                continue;
            if (zmq_errno() != ETERM)
                log_error("bus_poll", "error=\"%s\"",
                          zmq_strerror(zmq_errno()));
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            break;                           /* forwarder_destroy */
        bool was_busy = busy;
        busy = false;
        if (was_busy || (items[1].revents & ZMQ_POLLIN)) {
            int moved = s_forward(self->xsub, self->xpub, &msg,
                                  FORWARDER_BATCH, false, &tally);
            if (moved < 0)
                break;
            tally.messages += (uint64_t) moved;
            busy = moved == FORWARDER_BATCH;
        }
        if (was_busy || (items[2].revents & ZMQ_POLLIN)) {
            int moved = s_forward(self->xpub, self->xsub, &msg,
                                  FORWARDER_SUB_BATCH, true, &tally);
            if (moved < 0)
                break;
            busy = busy || moved == FORWARDER_SUB_BATCH;
        }
        s_flush(self, &tally);
        items[0].revents = items[1].revents = items[2].revents = 0;
    }
    s_flush(self, &tally);
    zmq_msg_close(&msg);
    atomic_store_explicit(&self->heartbeat, -1, memory_order_relaxed);
    return NULL;
}

forwarder_t *forwarder_new(const forwarder_config_t *cfg, metrics_t *metrics)
{
    forwarder_t *self = NULL;
    if (!cfg || !cfg->xsub_bind || !cfg->xpub_bind || cfg->hwm < 0
        || cfg->io_threads < 0) {
        log_error("bus_config", "reason=\"missing endpoint or negative value\"");
        goto err;
    }
    self = calloc(1, sizeof *self);
    if (!self)
        goto err;
    atomic_init(&self->heartbeat, clock_mono_ms());
    self->ctx = zmq_ctx_new();
    if (!self->ctx)
        goto err;
    zmq_ctx_set(self->ctx, ZMQ_IO_THREADS, cfg->io_threads ? cfg->io_threads : 1);
    zmq_ctx_set(self->ctx, ZMQ_BLOCKY, 0);   /* linger 0: term never waits */
    self->xsub = s_socket(self->ctx, ZMQ_XSUB, cfg->xsub_bind, cfg->hwm,
                          self->xsub_endpoint);
    if (!self->xsub)
        goto err;
    self->xpub = s_socket(self->ctx, ZMQ_XPUB, cfg->xpub_bind, cfg->hwm,
                          self->xpub_endpoint);
    if (!self->xpub)
        goto err;
    char ctrl[64];
    snprintf(ctrl, sizeof ctrl, "inproc://forwarder-ctrl-%p", (void *) self);
    self->ctrl_loop = zmq_socket(self->ctx, ZMQ_PAIR);
    self->ctrl_main = zmq_socket(self->ctx, ZMQ_PAIR);
    if (!self->ctrl_loop || !self->ctrl_main
        || zmq_bind(self->ctrl_loop, ctrl) != 0
        || zmq_connect(self->ctrl_main, ctrl) != 0) {
        log_error("bus_control", "error=\"%s\"", zmq_strerror(zmq_errno()));
        goto err;
    }

    /* the names are registered last, so that a forwarder which could not
     * bind leaves them free for the next attempt */
    self->messages = &self->dummy[0];
    self->bytes = &self->dummy[1];
    self->subscriptions = &self->dummy[2];
    self->unsubscriptions = &self->dummy[3];
    if (metrics) {
        self->messages = metrics_counter(metrics, "forwarded_messages_total",
            "Messages moved from the publishers' side to the subscribers' side.");
        self->bytes = metrics_counter(metrics, "forwarded_bytes_total",
            "Bytes of all frames moved through the forwarder, both ways.");
        self->subscriptions = metrics_counter(metrics, "subscriptions_total",
            "Subscriptions passed from subscribers to publishers.");
        self->unsubscriptions = metrics_counter(metrics, "unsubscriptions_total",
            "Unsubscriptions passed from subscribers to publishers.");
        if (!self->messages || !self->bytes || !self->subscriptions
            || !self->unsubscriptions) {
            log_error("bus_metrics",
                      "reason=\"forwarder metrics already registered\"");
            goto err;
        }
    }
    /* the sockets move to the loop thread; pthread_create is the barrier */
    if (pthread_create(&self->thread, NULL, s_loop, self) != 0) {
        log_error("bus_thread", "reason=\"cannot start the forwarding thread\"");
        goto err;
    }
    self->running = true;
    return self;
err:
    forwarder_destroy(&self);
    return NULL;
}

void forwarder_destroy(forwarder_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    forwarder_t *self = *self_p;
    if (self->running) {
        if (zmq_send(self->ctrl_main, "TERM", 4, 0) != 4)
            zmq_ctx_shutdown(self->ctx);     /* unblocks the loop with ETERM */
        pthread_join(self->thread, NULL);
    }
    if (self->ctrl_main)
        zmq_close(self->ctrl_main);
    if (self->ctrl_loop)
        zmq_close(self->ctrl_loop);
    if (self->xpub)
        zmq_close(self->xpub);
    if (self->xsub)
        zmq_close(self->xsub);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    free(self);
    *self_p = NULL;
}

const char *forwarder_xsub_endpoint(const forwarder_t *self)
{
    return self ? self->xsub_endpoint : NULL;
}

const char *forwarder_xpub_endpoint(const forwarder_t *self)
{
    return self ? self->xpub_endpoint : NULL;
}

int64_t forwarder_heartbeat_age_ms(const forwarder_t *self)
{
    int64_t beat = atomic_load_explicit(&self->heartbeat,
                                        memory_order_relaxed);
    if (beat < 0)
        return -1;
    int64_t age = clock_mono_ms() - beat;
    return age < 0 ? 0 : age;
}

int forwarder_health_check(void *ctx, char *reason, size_t size)
{
    const forwarder_t *self = ctx;
    int64_t age = forwarder_heartbeat_age_ms(self);
    if (age < 0) {
        snprintf(reason, size, "forwarding loop has stopped");
        return -1;
    }
    if (age > FORWARDER_DEAD_MS) {
        snprintf(reason, size, "forwarding loop stalled for %" PRId64 " ms", age);
        return -1;
    }
    return 0;
}
