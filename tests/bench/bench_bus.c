/*  bench_bus: messages/s through the real eqms-bus forwarder vs PUB->SUB direct. */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define BENCH_ENVELOPE_SIZE 200
#define BENCH_TOPIC         "rating.submitted.hq.r01.b0001"
#define BENCH_SYNC_TOPIC    "rating.submitted.hq.sync"
#define BENCH_SUBSCRIBE     "rating.submitted.hq"
#define BENCH_MAX_ROUNDS    20
#define BENCH_HWM_FACTOR    4       /* windowed mode: HWM = 4 * window (see main) */

typedef struct {
    const char *pub_endpoint;   /* connect (forwarder) or bind (direct) */
    bool pub_binds;
    const char *sub_endpoint;
    long messages;
    long window;                /* most messages in flight; 0 = no limit */
    int hwm;
    _Atomic int synced;         /* subscriber saw a sync message */
    _Atomic int abort;          /* subscriber gave up */
    _Atomic long received;      /* subscriber's progress, for the window */
    char pub_bound[256];        /* direct: the endpoint the PUB bound */
    _Atomic int pub_ready;
} s_round_t;

typedef struct {
    long received;
    double seconds;             /* first -> last data message */
    double rate;
    double bench_cpu;           /* CPU seconds of publisher + subscriber */
    double bus_cpu;             /* CPU seconds of eqms-bus */
} s_result_t;

static pid_t s_bus_pid = -1;
static char s_envelope[BENCH_ENVELOPE_SIZE + 1];

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* A valid-looking envelope padded to exactly BENCH_ENVELOPE_SIZE bytes. */
static void s_make_envelope(void)
{
    const char *head =
        "{\"v\":1,\"id\":\"019a5b1e-7c3d-7a10-8f00-3c2b9a1d4e5f\","
        "\"type\":\"rating.submitted\",\"ts\":\"2026-11-22T13:09:00.123Z\","
        "\"src\":\"device-gateway.b0001\",\"seq\":42,\"data\":{\"score\":5,\"pad\":\"";
    const char *tail = "\"}}";
    size_t head_len = strlen(head), tail_len = strlen(tail);
    memcpy(s_envelope, head, head_len);
    memset(s_envelope + head_len, 'x',
           BENCH_ENVELOPE_SIZE - head_len - tail_len);
    memcpy(s_envelope + BENCH_ENVELOPE_SIZE - tail_len, tail, tail_len);
    s_envelope[BENCH_ENVELOPE_SIZE] = '\0';
}

/* A loopback TCP port that was free a moment ago, or -1. */
static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof addr;
    int port = -1;
    if (bind(fd, (struct sockaddr *) &addr, sizeof addr) == 0
        && getsockname(fd, (struct sockaddr *) &addr, &len) == 0)
        port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

/* CPU seconds (user + system) used so far by this process, all threads. */
static double s_self_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6
         + (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
}

/* CPU seconds used so far by the eqms-bus child, or 0. */
static double s_bus_cpu(void)
{
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) s_bus_pid);
    FILE *file = s_bus_pid > 0 ? fopen(path, "r") : NULL;
    if (!file)
        return 0;
    size_t n = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[n] = '\0';
    /* fields after the command's closing parenthesis: 14 utime, 15 stime */
    const char *p = strrchr(text, ')');
    unsigned long utime = 0, stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                     &utime, &stime) != 2)
        return 0;
    return (double) (utime + stime) / (double) sysconf(_SC_CLK_TCK);
}

static void s_stop_bus(void)
{
    if (s_bus_pid <= 0)
        return;
    kill(s_bus_pid, SIGTERM);
    for (int i = 0; i < 50; i++) {
        if (waitpid(s_bus_pid, NULL, WNOHANG) == s_bus_pid) {
            s_bus_pid = -1;
            return;
        }
        usleep(100 * 1000);
    }
    kill(s_bus_pid, SIGKILL);
    waitpid(s_bus_pid, NULL, 0);
    s_bus_pid = -1;
}

static void s_on_signal(int signo)
{
    (void) signo;
    if (s_bus_pid > 0)
        kill(s_bus_pid, SIGKILL);
    _exit(1);
}

static int s_start_bus(const char *bin_dir, int xsub_port, int xpub_port, int hwm)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/eqms-bus", bin_dir);
    if (access(path, X_OK) != 0) {
        fprintf(stderr, "bench_bus: %s is not executable\n", path);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);      /* never outlive the bench */
        if (getppid() != parent)
            _exit(127);
        char xsub[64], xpub[64], hwm_text[32];
        snprintf(xsub, sizeof xsub, "tcp://127.0.0.1:%d", xsub_port);
        snprintf(xpub, sizeof xpub, "tcp://127.0.0.1:%d", xpub_port);
        snprintf(hwm_text, sizeof hwm_text, "%d", hwm);
        setenv("EQMS_BUS_XSUB_BIND", xsub, 1);
        setenv("EQMS_BUS_XPUB_BIND", xpub, 1);
        setenv("EQMS_BUS_HWM", hwm_text, 1);
        setenv("EQMS_HTTP_PORT", "0", 1);
        setenv("EQMS_LOG_LEVEL", "warn", 1);
        execl(path, path, (char *) NULL);
        _exit(127);
    }
    s_bus_pid = pid;
    usleep(200 * 1000);
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
        s_bus_pid = -1;
        fprintf(stderr, "bench_bus: eqms-bus exited at start (status %d)\n",
                WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        return -1;
    }
    return 0;
}

static void *s_setup(void *ctx, int type, int hwm)
{
    void *socket = zmq_socket(ctx, type);
    int zero = 0;
    zmq_setsockopt(socket, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(socket, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(socket, ZMQ_LINGER, &zero, sizeof zero);
    return socket;
}

/* Publisher thread: sync messages until the subscriber hears one, then the
 * round's data messages as fast as it can. */
static void *s_publisher(void *arg)
{
    s_round_t *round = arg;
    void *ctx = zmq_ctx_new();
    void *pub = s_setup(ctx, ZMQ_PUB, round->hwm);
    int rc;
    if (round->pub_binds) {
        rc = zmq_bind(pub, round->pub_endpoint);
        size_t size = sizeof round->pub_bound;
        zmq_getsockopt(pub, ZMQ_LAST_ENDPOINT, round->pub_bound, &size);
    }
    else
        rc = zmq_connect(pub, round->pub_endpoint);
    atomic_store(&round->pub_ready, rc == 0 ? 1 : -1);
    if (rc != 0)
        goto done;
    while (!atomic_load(&round->synced) && !atomic_load(&round->abort)) {
        zmq_send(pub, BENCH_SYNC_TOPIC, strlen(BENCH_SYNC_TOPIC), ZMQ_SNDMORE);
        zmq_send(pub, s_envelope, BENCH_ENVELOPE_SIZE, 0);
        usleep(1000);
    }
    size_t topic_len = strlen(BENCH_TOPIC);
    for (long i = 0; i < round->messages && !atomic_load(&round->abort); i++) {
        /* keep at most `window` messages in flight */
        if (round->window && i % 256 == 0) {
            while (i - atomic_load_explicit(&round->received,
                                            memory_order_relaxed) > round->window
                   && !atomic_load(&round->abort))
                usleep(50);
        }
        zmq_send(pub, BENCH_TOPIC, topic_len, ZMQ_SNDMORE);
        zmq_send(pub, s_envelope, BENCH_ENVELOPE_SIZE, 0);
    }
    /* linger until the subscriber has it all (or gave up) */
    while (!atomic_load(&round->abort))
        usleep(10 * 1000);
done:
    zmq_close(pub);
    zmq_ctx_term(ctx);
    return NULL;
}

/* Runs one round; the subscriber is this thread. Returns 0 or -1. */
static int s_round(const char *pub_endpoint, bool pub_binds,
                   const char *sub_endpoint, long messages, long window, int hwm,
                   s_result_t *result)
{
    s_round_t round = { .pub_endpoint = pub_endpoint, .pub_binds = pub_binds,
                        .sub_endpoint = sub_endpoint, .messages = messages,
                        .window = window, .hwm = hwm };
    memset(result, 0, sizeof *result);
    double bench_cpu = s_self_cpu(), bus_cpu = s_bus_cpu();
    pthread_t thread;
    if (pthread_create(&thread, NULL, s_publisher, &round) != 0)
        return -1;
    while (atomic_load(&round.pub_ready) == 0)
        usleep(1000);
    if (atomic_load(&round.pub_ready) < 0) {
        atomic_store(&round.abort, 1);
        pthread_join(thread, NULL);
        fprintf(stderr, "bench_bus: publisher cannot use %s\n", pub_endpoint);
        return -1;
    }
    void *ctx = zmq_ctx_new();
    void *sub = s_setup(ctx, ZMQ_SUB, hwm);
    zmq_setsockopt(sub, ZMQ_SUBSCRIBE, BENCH_SUBSCRIBE, strlen(BENCH_SUBSCRIBE));
    int timeout = 3000;
    zmq_setsockopt(sub, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_connect(sub, pub_binds ? round.pub_bound : sub_endpoint);

    char topic[256], body[BENCH_ENVELOPE_SIZE + 16];
    size_t data_topic_len = strlen(BENCH_TOPIC);
    double first = 0, last = 0;
    long received = 0;
    int rc = 0;
    bool synced = false;
    double sync_deadline = s_now() + 10;
    while (received < messages) {
        int n = zmq_recv(sub, topic, sizeof topic, 0);
        if (n < 0) {
            if (zmq_errno() == EINTR)
                continue;
            if (!synced && s_now() < sync_deadline)
                continue;
            if (!synced) {
                fprintf(stderr, "bench_bus: no message reached the subscriber\n");
                rc = -1;
            }
            break;                              /* drained: the rest dropped */
        }
        int more = 0;
        size_t size = sizeof more;
        zmq_getsockopt(sub, ZMQ_RCVMORE, &more, &size);
        int body_len = more ? zmq_recv(sub, body, sizeof body, 0) : -1;
        if ((size_t) n == data_topic_len && memcmp(topic, BENCH_TOPIC, n) == 0) {
            if (body_len != BENCH_ENVELOPE_SIZE) {
                fprintf(stderr, "bench_bus: damaged message (%d bytes)\n", body_len);
                rc = -1;
                break;
            }
            last = s_now();
            if (received++ == 0)
                first = last;
            if (received % 256 == 0)
                atomic_store_explicit(&round.received, received,
                                      memory_order_relaxed);
        }
        else if (!synced) {
            synced = true;
            atomic_store(&round.synced, 1);
        }
    }
    atomic_store(&round.abort, 1);
    pthread_join(thread, NULL);
    zmq_close(sub);
    zmq_ctx_term(ctx);
    result->bench_cpu = s_self_cpu() - bench_cpu;
    result->bus_cpu = s_bus_cpu() - bus_cpu;
    result->received = received;
    result->seconds = last - first;
    result->rate = received > 1 && last > first
                 ? (double) (received - 1) / (last - first) : 0;
    return rc;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

static double s_median(double *values, int count)
{
    qsort(values, (size_t) count, sizeof *values, s_cmp_double);
    return count % 2 ? values[count / 2]
                     : (values[count / 2 - 1] + values[count / 2]) / 2;
}

static void s_usage(void)
{
    fprintf(stderr, "usage: bench_bus --bin DIR [--rounds N] [--messages N] [--window N]\n"
                    "  --window N  keep at most N messages in flight (default 0: the\n"
                    "              publisher sends as fast as it can, as libzmq's\n"
                    "              remote_thr/local_thr do)\n");
}

int main(int argc, char **argv)
{
    const char *bin_dir = NULL;
    int rounds = 5;
    long messages = 1000000;
    long window = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bin") == 0 && i + 1 < argc)
            bin_dir = argv[++i];
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--messages") == 0 && i + 1 < argc)
            messages = atol(argv[++i]);
        else if (strcmp(argv[i], "--window") == 0 && i + 1 < argc)
            window = atol(argv[++i]);
        else {
            s_usage();
            return 2;
        }
    }
    if (!bin_dir || rounds < 1 || rounds > BENCH_MAX_ROUNDS || messages < 1000
        || messages > 50000000 || window < 0 || window > 10000000) {
        s_usage();
        return 2;
    }
    s_make_envelope();
    /* Default: the publisher sends as fast as it can and every queue is
     * unbounded (HWM 0), so nothing is dropped and the subscriber's rate is
     * the path's throughput, as libzmq's perf tools measure it.
     * With --window the publisher keeps at most that many messages in flight
     * (it waits for the subscriber's progress) and every queue holds more:
     * queues do not grow without bound. A libzmq pipe's writer learns of its
     * reader's progress only every HWM/2 messages, so a pipe may count as
     * full with HWM/2 really queued: the HWM is a multiple of the window. */
    int hwm = window ? (int) (window * BENCH_HWM_FACTOR) : 0;

    int xsub_port = s_free_port(), xpub_port = s_free_port();
    while (xpub_port == xsub_port && xpub_port > 0)
        xpub_port = s_free_port();
    if (xsub_port < 0 || xpub_port < 0) {
        fprintf(stderr, "bench_bus: no free loopback port\n");
        return 1;
    }
    signal(SIGINT, s_on_signal);
    signal(SIGTERM, s_on_signal);
    if (s_start_bus(bin_dir, xsub_port, xpub_port, hwm) != 0)
        return 1;

    char xsub[64], xpub[64];
    snprintf(xsub, sizeof xsub, "tcp://127.0.0.1:%d", xsub_port);
    snprintf(xpub, sizeof xpub, "tcp://127.0.0.1:%d", xpub_port);
    printf("bench_bus: %d rounds of %ld messages (topic %zu B + envelope %d B), "
           "window %ld (0 = none), hwm %d, bus pid %d xsub %s xpub %s\n", rounds,
           messages, strlen(BENCH_TOPIC), BENCH_ENVELOPE_SIZE, window, hwm,
           (int) s_bus_pid, xsub, xpub);

    double fwd[BENCH_MAX_ROUNDS], direct[BENCH_MAX_ROUNDS];
    long dropped = 0;
    int rc = 0;
    for (int r = 0; r < rounds && rc == 0; r++) {
        s_result_t res;
        if (s_round(xsub, false, xpub, messages, window, hwm, &res) != 0) {
            rc = 1;
            break;
        }
        fwd[r] = res.rate;
        dropped += messages - res.received;
        printf("round %d fwd    received=%ld dropped=%ld seconds=%.3f msgs_per_s=%.0f"
               " cpu_us_per_msg: clients=%.2f bus=%.2f\n",
               r + 1, res.received, messages - res.received, res.seconds, res.rate,
               res.bench_cpu * 1e6 / (double) messages,
               res.bus_cpu * 1e6 / (double) messages);
        if (s_round("tcp://127.0.0.1:*", true, NULL, messages, window, hwm, &res) != 0) {
            rc = 1;
            break;
        }
        direct[r] = res.rate;
        dropped += messages - res.received;
        printf("round %d direct received=%ld dropped=%ld seconds=%.3f msgs_per_s=%.0f"
               " cpu_us_per_msg: clients=%.2f\n",
               r + 1, res.received, messages - res.received, res.seconds, res.rate,
               res.bench_cpu * 1e6 / (double) messages);
        fflush(stdout);
    }
    s_stop_bus();
    if (rc != 0)
        return rc;
    double fwd_median = s_median(fwd, rounds);
    double direct_median = s_median(direct, rounds);
    printf("median fwd=%.0f direct=%.0f dropped_total=%ld\n", fwd_median,
           direct_median, dropped);
    printf("BENCH bus fwd_msgs_per_s=%.0f direct_msgs_per_s=%.0f ratio=%.2f\n",
           fwd_median, direct_median,
           direct_median > 0 ? fwd_median / direct_median : 0.0);
    return 0;
}
