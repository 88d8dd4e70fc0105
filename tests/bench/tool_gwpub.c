/*  tool_gwpub: a simulated device gateway for bench_ingest.
 *
 *  Publishes rating.submitted events of one branch on the bus, as the device
 *  gateway does (docs/protocol.md, "Device gateway messages"), as fast as the
 *  acknowledgements allow (--rate 0) or at a steady rate, keeping at most
 *  --window events unacknowledged. Like the gateway's outbox it re-publishes
 *  from the acknowledged seq when no ack advanced for a second, and answers
 *  replay.request at once. With --latency it subscribes to rating.stored of
 *  the branch and measures publish -> rating.stored per event (the envelope
 *  id carries the seq in its random bits, so no table of ids is needed).
 *  Its journal incarnation is the nil one (a gateway journal of the format
 *  before incarnations), so the benchmark's cursor is (gateway, nil).
 *  Prints one JSON line: {"sent","acked","stored","p50_ms","p99_ms"}.
 *
 *  Usage: tool_gwpub --xsub EP --xpub EP --branch PATH --windows ID:NUM:CODE,...
 *         [--first-seq N] [--seconds S] [--rate R] [--window W] [--latency]
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "eqms/clock.h"

#define S_MAX_WINDOWS 64
#define S_MSG_MAX     1024
#define S_RING        65536    /* > any --window: the first-send ms per seq */

typedef struct {
    long id, number;
    char code[33];
    char serial[80];           /* EQ-<BRANCH LEAF>-<CODE>, upper case */
} s_window_t;

typedef struct {
    const char *xsub, *xpub, *branch;
    s_window_t windows[S_MAX_WINDOWS];
    int nwindows;
    int64_t first_seq;
    double seconds;
    long rate;
    long window;
    bool latency;
    char src[96];
} s_args_t;

static int64_t s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int s_parse_windows(s_args_t *a, const char *text)
{
    char *copy = strdup(text), *save = NULL;
    for (char *w = strtok_r(copy, ",", &save); w && a->nwindows < S_MAX_WINDOWS;
         w = strtok_r(NULL, ",", &save)) {
        s_window_t *win = &a->windows[a->nwindows];
        if (sscanf(w, "%ld:%ld:%32s", &win->id, &win->number, win->code) != 3) {
            free(copy);
            return -1;
        }
        a->nwindows++;
    }
    free(copy);
    return a->nwindows > 0 ? 0 : -1;
}

static int s_args(s_args_t *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->first_seq = 1;
    a->seconds = 10;
    a->window = 4000;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--latency") == 0) {
            a->latency = true;
            continue;
        }
        if (!v)
            return -1;
        i++;
        if (strcmp(k, "--xsub") == 0)
            a->xsub = v;
        else if (strcmp(k, "--xpub") == 0)
            a->xpub = v;
        else if (strcmp(k, "--branch") == 0)
            a->branch = v;
        else if (strcmp(k, "--windows") == 0) {
            if (s_parse_windows(a, v) != 0)
                return -1;
        } else if (strcmp(k, "--first-seq") == 0)
            a->first_seq = strtoll(v, NULL, 10);
        else if (strcmp(k, "--seconds") == 0)
            a->seconds = strtod(v, NULL);
        else if (strcmp(k, "--rate") == 0)
            a->rate = strtol(v, NULL, 10);
        else if (strcmp(k, "--window") == 0)
            a->window = strtol(v, NULL, 10);
        else
            return -1;
    }
    if (!a->xsub || !a->xpub || !a->branch || a->nwindows == 0 || a->first_seq < 1
        || a->window < 1)
        return -1;
    const char *leaf = strrchr(a->branch, '.');
    leaf = leaf ? leaf + 1 : a->branch;
    snprintf(a->src, sizeof a->src, "device-gateway.%s", leaf);
    for (int i = 0; i < a->nwindows; i++) {
        s_window_t *w = &a->windows[i];
        char serial[sizeof w->serial];
        snprintf(serial, sizeof serial, "EQ-%s-%s", leaf, w->code);
        memcpy(w->serial, serial, sizeof serial);
        for (char *c = w->serial; *c; c++)
            if (*c >= 'a' && *c <= 'z')
                *c = (char) (*c - 'a' + 'A');
    }
    return 0;
}

/* A UUIDv7-shaped id: the ms, this process in the variant group (ids of
 * simulated gateways never collide), and the seq in the last 12 digits. */
static void s_id(int64_t ms, int64_t seq, char out[37])
{
    unsigned long long hi = ((unsigned long long) ms >> 16) & 0xffffffffULL;
    unsigned long long mid = (unsigned long long) ms & 0xffffULL;
    unsigned long long low = (unsigned long long) seq & 0xffffffffffffULL;
    unsigned process = (unsigned) getpid() & 0xfff;
    snprintf(out, 37, "%08llx-%04llx-7000-8%03x-%012llx", hi, mid, process, low);
}

/* Formats the topic and envelope of event `seq` at time ms into t and m. */
static void s_format(const s_args_t *a, int64_t seq, int64_t ms, char *t, size_t tn, char *m,
                     size_t mn)
{
    const s_window_t *w = &a->windows[seq % a->nwindows];
    char when[CLOCK_RFC3339_SIZE], id[37];
    clock_format_rfc3339(ms, when);
    s_id(ms, seq, id);
    snprintf(t, tn, "rating.submitted.%s.%s", a->branch, w->code);
    snprintf(m, mn,
             "{\"v\":1,\"id\":\"%s\",\"type\":\"rating.submitted\",\"ts\":\"%s\","
             "\"src\":\"%s\",\"seq\":%" PRId64 ",\"data\":{\"serial\":\"%s\","
             "\"boot\":7,\"device_seq\":%" PRId64 ",\"uptime_ms\":%" PRId64 ","
             "\"received\":\"%s\",\"event_time\":\"%s\",\"window\":{\"id\":%ld,"
             "\"number\":%ld,\"code\":\"%s\"},\"branch\":\"%s\",\"employee_no\":null,"
             "\"ticket\":null,\"option_code\":%d,\"service_ms\":1000,\"label\":\"x\","
             "\"score\":1.0,\"incarnation\":\"00000000-0000-0000-0000-000000000000\"}}",
             id, when, a->src, seq, w->serial, seq, seq, when, when, w->id, w->number,
             w->code, a->branch, (int) (1 + seq % 4));
}

/* Publishes event `seq`; a re-publication (replay) is byte for byte the
 * first one, as from the gateway's outbox. */
static void s_send(void *pub, const s_args_t *a, int64_t seq)
{
    static int64_t first_ms[S_RING];
    static int64_t first_seq[S_RING];
    size_t slot = (size_t) seq % S_RING;
    if (first_seq[slot] != seq) {
        first_seq[slot] = seq;
        first_ms[slot] = clock_now_ms();
    }
    char topic[256], msg[S_MSG_MAX];
    s_format(a, seq, first_ms[slot], topic, sizeof topic, msg, sizeof msg);
    zmq_send(pub, topic, strlen(topic), ZMQ_SNDMORE);
    zmq_send(pub, msg, strlen(msg), 0);
}

/* The publisher's state between messages. */
typedef struct {
    const s_args_t *a;
    void *pub, *sub;
    int64_t seq, acked, last_progress;
    int64_t *sent_ns;          /* latency: publish time by seq - first_seq, 0 = seen */
    double *lat;
    size_t cap, nlat;
} s_state_t;

/* Handles one message from the bus if one comes within timeout_ms.
 * Returns 1 if one was handled, 0 if none came. */
static int s_receive(s_state_t *st, int timeout_ms)
{
    zmq_pollitem_t item = { st->sub, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return 0;
    char topic[256], buf[S_MSG_MAX * 4];
    int tn = zmq_recv(st->sub, topic, sizeof topic - 1, 0);
    int n = zmq_recv(st->sub, buf, sizeof buf, 0);
    if (tn < 0 || n < 0 || n > (int) sizeof buf)
        return 1;
    topic[tn < (int) sizeof topic ? tn : (int) sizeof topic - 1] = 0;
    json_t *env = json_loadb(buf, (size_t) n, 0, NULL);
    json_t *data = json_object_get(env, "data");
    const char *gw = json_string_value(json_object_get(data, "gateway"));
    bool mine = gw && strcmp(gw, st->a->src) == 0;
    if (mine && strncmp(topic, "ack.ingest.", 11) == 0) {
        int64_t upto = json_integer_value(json_object_get(data, "upto"));
        if (upto > st->acked) {
            st->acked = upto;
            st->last_progress = s_now_ns();
        }
    } else if (mine && strncmp(topic, "replay.request.", 15) == 0) {
        int64_t from = json_integer_value(json_object_get(data, "from"));
        int64_t to = json_integer_value(json_object_get(data, "to"));
        for (int64_t s = from > st->acked ? from : st->acked + 1; s <= to && s < st->seq;
             s++)
            s_send(st->pub, st->a, s);
    } else if (strncmp(topic, "rating.stored.", 14) == 0 && st->sent_ns) {
        const char *id = json_string_value(json_object_get(data, "id"));
        int64_t s = id && strlen(id) == 36 ? strtoll(id + 24, NULL, 16) : 0;
        size_t k = (size_t) (s - st->a->first_seq);
        if (s >= st->a->first_seq && k < st->cap && st->sent_ns[k]) {
            st->lat[st->nlat++] = (double) (s_now_ns() - st->sent_ns[k]) / 1e6;
            st->sent_ns[k] = 0;
        }
    }
    json_decref(env);
    return 1;
}

static int s_cmp(const void *x, const void *y)
{
    double a = *(const double *) x, b = *(const double *) y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
    s_args_t a;
    if (s_args(&a, argc, argv) != 0 || a.window >= S_RING) {
        fprintf(stderr, "usage: tool_gwpub --xsub EP --xpub EP --branch PATH "
                "--windows ID:NUM:CODE,... [--first-seq N] [--seconds S] [--rate R] "
                "[--window W] [--latency]\n");
        return 2;
    }
    void *ctx = zmq_ctx_new();
    void *pub = zmq_socket(ctx, ZMQ_PUB), *sub = zmq_socket(ctx, ZMQ_SUB);
    int zero = 0;
    zmq_setsockopt(pub, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(sub, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_connect(pub, a.xsub);
    zmq_connect(sub, a.xpub);
    char filter[256];
    snprintf(filter, sizeof filter, "ack.ingest.%s", a.branch);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, filter, strlen(filter));
    snprintf(filter, sizeof filter, "replay.request.%s", a.branch);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, filter, strlen(filter));
    if (a.latency) {
        snprintf(filter, sizeof filter, "rating.stored.%s", a.branch);
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, filter, strlen(filter));
    }
    usleep(500000);

    s_state_t st = { .a = &a, .pub = pub, .sub = sub, .seq = a.first_seq,
                     .acked = a.first_seq - 1 };
    st.cap = a.latency ? (size_t) ((double) a.rate * (a.seconds + 1) + 1000) : 0;
    st.sent_ns = st.cap ? calloc(st.cap, sizeof *st.sent_ns) : NULL;
    st.lat = st.cap ? calloc(st.cap, sizeof *st.lat) : NULL;
    int64_t start = s_now_ns();
    int64_t end = start + (int64_t) (a.seconds * 1e9);
    st.last_progress = start;
    while (s_now_ns() < end) {
        int wait = st.seq - st.acked > a.window ? 5 : 0;
        while (s_receive(&st, wait))
            wait = 0;
        if (st.seq - st.acked > a.window) {
            if (s_now_ns() - st.last_progress > 1000000000) {
                for (int64_t s = st.acked + 1; s < st.seq && s <= st.acked + 1000; s++)
                    s_send(pub, &a, s);
                st.last_progress = s_now_ns();
            }
            continue;
        }
        long burst = a.rate == 0 ? 50 : (a.rate / 1000 > 0 ? a.rate / 1000 : 1);
        for (long i = 0; i < burst; i++) {
            size_t k = (size_t) (st.seq - a.first_seq);
            if (st.sent_ns && k < st.cap)
                st.sent_ns[k] = s_now_ns();
            s_send(pub, &a, st.seq++);
        }
        if (a.rate) {
            int64_t target = start + (int64_t) ((double) (st.seq - a.first_seq) * 1e9
                                                / (double) a.rate);
            int64_t delay = target - s_now_ns();
            if (delay > 0)
                usleep((useconds_t) (delay / 1000));
        }
    }
    /* Latency mode: the last rating.stored come within a few seconds. */
    int64_t drain_end = s_now_ns() + (a.latency ? 3000000000LL : 0);
    while (s_now_ns() < drain_end)
        s_receive(&st, 100);
    double p50 = -1, p99 = -1;
    if (st.nlat) {
        qsort(st.lat, st.nlat, sizeof *st.lat, s_cmp);
        p50 = st.lat[st.nlat / 2];
        p99 = st.lat[(size_t) ((double) st.nlat * 0.99)];
    }
    printf("{\"sent\":%" PRId64 ",\"acked\":%" PRId64 ",\"stored\":%zu,\"p50_ms\":%.1f,"
           "\"p99_ms\":%.1f}\n", st.seq - a.first_seq, st.acked - a.first_seq + 1, st.nlat,
           p50, p99);
    free(st.sent_ns);
    free(st.lat);
    zmq_close(pub);
    zmq_close(sub);
    zmq_ctx_term(ctx);
    return 0;
}
