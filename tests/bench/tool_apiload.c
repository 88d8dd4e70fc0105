/*  tool_apiload: HTTP load at a fixed rate and a fan-out of live streams, for
 *  bench_api (tests/bench/bench_api.py); wrk measures the maximum rates.
 *
 *  rate: GET --path at --rate requests per second, open loop, over
 *  --connections keep-alive connections (one request in flight on each),
 *  all in one epoll loop. Request i is due at t0 + i / rate; when every
 *  connection is busy it waits, and its latency is still counted from the
 *  time it was due (as wrk2 corrects for coordinated omission), so a
 *  server that falls behind shows it. --warmup seconds unmeasured, then
 *  --seconds measured (requests due in that window count); prints "start"
 *  and "stop" around them, then one JSON line {"requests" (answered),
 *  "seconds","rps",
 *  "p50_ms","p90_ms","p99_ms","p999_ms","max_ms","sent_p99_ms","late",
 *  "unanswered","unsent","errors","error_codes"}. sent_p99_ms is from the
 *  actual send; late the requests sent more than 1 ms after they were due. A
 *  server that cannot keep up leaves requests unanswered or unsent 5 s after
 *  the end: they count with the time they had waited by then (a lower bound).
 *
 *  sse: opens --streams live streams on --path (GET, text/event-stream),
 *  prints "ready <open>" once each has answered, then reads them all until
 *  its standard input ends. For every event named --event whose data has
 *  "at" (RFC 3339, the event's time), the delivery latency is the arrival
 *  (CLOCK_REALTIME) minus "at". Prints one JSON line {"streams","open",
 *  "ended","events","per_stream_min","per_stream_max","p50_ms","p90_ms",
 *  "p99_ms","max_ms"}; ended counts streams the server closed.
 *
 *  Responses may be sized (Content-Length) or chunked; no compression is
 *  asked for. The server is on 127.0.0.1 --port; --token goes into
 *  "Authorization: Bearer".
 *
 *  Usage: tool_apiload rate --port P --path PATH --token T --rate R
 *                      [--connections 8] [--seconds 10] [--warmup 2]
 *         tool_apiload sse --port P --path PATH --token T [--streams 1000]
 *                      [--event ticket.called]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "eqms/grow.h"

#define S_HEAD_MAX   65536
#define S_LINE_MAX   16384
#define S_CODES      16
#define S_TIMER_TAG  (-1)
#define S_STDIN_TAG  (-2)
#define S_GRACE_NS   5000000000LL  /* rate: answers awaited this long after the end */

typedef struct {
    const char *mode, *path, *token, *event;
    int port, connections, streams;
    double rate, seconds, warmup;
} s_args_t;

/* One connection and its response being read. */
typedef struct {
    int fd;
    char *in;                    /* received, not consumed */
    size_t inlen, incap;
    bool head_done;
    int status;
    bool chunked;
    int64_t left;                /* sized: body bytes left; chunked: bytes left in
                                    the chunk, or S_CH_SIZE / S_CH_CRLF / S_CH_TRAILER */
    /* rate */
    bool busy;
    int64_t due_ns, sent_ns;
    /* sse */
    char line[S_LINE_MAX];
    size_t linelen;
    bool wanted;                 /* the event being read is --event */
    int64_t at_us;               /* its "at", 0 none */
    bool open, ended;
    long events;
} s_conn_t;

#define S_CH_SIZE    (-1)
#define S_CH_CRLF    (-2)
#define S_CH_TRAILER (-3)

typedef struct {
    double *ms;
    size_t n, cap;
} s_samples_t;

static int64_t s_now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void s_sample(s_samples_t *s, double ms)
{
    double *grown = grow_room(s->ms, s->n, &s->cap, sizeof *s->ms, 4096);
    if (!grown) {
        fprintf(stderr, "tool_apiload: out of memory\n");
        exit(1);
    }
    s->ms = grown;
    s->ms[s->n++] = ms;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* The p-quantile (nearest rank) of the sorted samples; -1 when none. */
static double s_pct(const s_samples_t *s, double p)
{
    if (!s->n)
        return -1;
    size_t i = (size_t) (p * (double) s->n + 0.5);
    return s->ms[i == 0 ? 0 : i >= s->n ? s->n - 1 : i - 1];
}

static int s_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *) &a, sizeof a) != 0) {
        perror("tool_apiload: connect");
        exit(1);
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static void s_send(s_conn_t *c, const char *text, size_t len)
{
    ssize_t n = send(c->fd, text, len, MSG_NOSIGNAL);
    if (n != (ssize_t) len) {
        fprintf(stderr, "tool_apiload: send: %s\n", n < 0 ? strerror(errno) : "short");
        exit(1);
    }
}

/* Reads what the socket has; 0, or -1 at the end of the connection. */
static int s_read(s_conn_t *c)
{
    for (;;) {
        if (c->incap - c->inlen < 16384) {
            c->incap = c->incap ? c->incap * 2 : 65536;
            if (!(c->in = realloc(c->in, c->incap))) {
                fprintf(stderr, "tool_apiload: out of memory\n");
                exit(1);
            }
        }
        ssize_t n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
        if (n > 0) {
            c->inlen += (size_t) n;
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

static void s_consume(s_conn_t *c, size_t n)
{
    memmove(c->in, c->in + n, c->inlen - n);
    c->inlen -= n;
}

/* The response head at the start of c->in, if complete: status and body
 * framing. 1 read, 0 incomplete, -1 unusable. */
static int s_head(s_conn_t *c)
{
    char *end = memmem(c->in, c->inlen, "\r\n\r\n", 4);
    if (!end)
        return c->inlen > S_HEAD_MAX ? -1 : 0;
    *end = '\0';
    if (sscanf(c->in, "HTTP/1.%*d %d", &c->status) != 1)
        return -1;
    c->chunked = false;
    c->left = c->status == 204 || c->status == 304 ? 0 : -100;
    for (char *line = strstr(c->in, "\r\n"); line && line < end; line = strstr(line, "\r\n")) {
        line += 2;
        if (strncasecmp(line, "Content-Length:", 15) == 0)
            c->left = strtoll(line + 15, NULL, 10);
        else if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 && strstr(line, "chunked"))
            c->chunked = true;
    }
    if (c->chunked)
        c->left = S_CH_SIZE;
    else if (c->left < 0)
        return -1;
    c->head_done = true;
    s_consume(c, (size_t) (end + 4 - c->in));
    return 1;
}

typedef void (s_body_fn)(s_conn_t *c, const char *data, size_t len, void *ctx);

/* Decodes what c->in holds: body bytes go to `body`; returns 1 when a whole
 * response was read (the connection is ready for the next), 0 when more is
 * needed, -1 when the response is malformed. */
static int s_feed(s_conn_t *c, s_body_fn *body, void *ctx)
{
    for (;;) {
        if (!c->head_done) {
            int h = s_head(c);
            if (h <= 0)
                return h;
            if (!c->chunked && c->left == 0)
                break;
            continue;
        }
        if (c->left > 0) {
            size_t n = c->inlen < (uint64_t) c->left ? c->inlen : (size_t) c->left;
            if (!n)
                return 0;
            if (body)
                body(c, c->in, n, ctx);
            s_consume(c, n);
            c->left -= (int64_t) n;
            if (c->left == 0) {
                if (!c->chunked)
                    break;
                c->left = S_CH_CRLF;
            }
            continue;
        }
        char *eol = memmem(c->in, c->inlen, "\r\n", 2);
        if (c->left == S_CH_CRLF) {
            if (c->inlen < 2)
                return 0;
            if (c->in[0] != '\r' || c->in[1] != '\n')
                return -1;
            s_consume(c, 2);
            c->left = S_CH_SIZE;
            continue;
        }
        if (!eol)
            return c->inlen > S_HEAD_MAX ? -1 : 0;
        size_t len = (size_t) (eol - c->in);
        if (c->left == S_CH_TRAILER) {
            s_consume(c, len + 2);
            if (len == 0)
                break;
            continue;
        }
        char *end;
        long long size = strtoll(c->in, &end, 16);
        if (end == c->in || size < 0)
            return -1;
        s_consume(c, len + 2);
        c->left = size ? size : S_CH_TRAILER;
    }
    c->head_done = false;
    return 1;
}

static void s_epoll_add(int ep, int fd, int64_t tag)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t) tag };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        perror("tool_apiload: epoll_ctl");
        exit(1);
    }
}

/* --- rate ------------------------------------------------------------------------ */

static void s_arm(int tfd, int64_t at_ns)
{
    struct itimerspec its = { .it_value = { .tv_sec = at_ns / 1000000000,
                                            .tv_nsec = at_ns % 1000000000 } };
    timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int s_rate(const s_args_t *a)
{
    char request[4096];
    int len = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Authorization: Bearer %s\r\n\r\n", a->path, a->token);
    s_conn_t *conns = calloc((size_t) a->connections, sizeof *conns);
    int ep = epoll_create1(0), tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    for (int i = 0; i < a->connections; i++) {
        conns[i].fd = s_connect(a->port);
        s_epoll_add(ep, conns[i].fd, i);
    }
    s_epoll_add(ep, tfd, S_TIMER_TAG);
    const int64_t interval = (int64_t) (1e9 / a->rate);
    const int64_t t0 = s_now_ns(CLOCK_MONOTONIC) + 10000000;
    const int64_t from = t0 + (int64_t) (a->warmup * 1e9);
    const int64_t until = from + (int64_t) (a->seconds * 1e9);
    s_samples_t due = { 0 }, sent = { 0 };
    long errors = 0, late = 0, unanswered = 0, unsent = 0, codes[S_CODES][2] = { { 0 } };
    int64_t next = 0, inflight = 0;
    bool started = false, stopped = false;
    s_arm(tfd, t0);
    while (t0 + next * interval < until || inflight > 0) {
        int64_t now = s_now_ns(CLOCK_MONOTONIC);
        if (!started && now >= from) {
            printf("start\n");
            fflush(stdout);
            started = true;
        }
        if (!stopped && now >= until) {
            printf("stop\n");
            fflush(stdout);
            stopped = true;
        }
        if (now > until + S_GRACE_NS) {
            /* overloaded: what is still unanswered or unsent counts with the
               time it has waited so far (a lower bound) */
            for (int i = 0; i < a->connections; i++)
                if (conns[i].busy && conns[i].due_ns >= from) {
                    s_sample(&due, (double) (now - conns[i].due_ns) / 1e6);
                    unanswered++;
                }
            for (; t0 + next * interval < until; next++, unsent++)
                if (t0 + next * interval >= from)
                    s_sample(&due, (double) (now - t0 - next * interval) / 1e6);
            break;
        }
        /* send what is due on the free connections */
        for (int i = 0; i < a->connections && t0 + next * interval <= now
                        && t0 + next * interval < until; i++) {
            s_conn_t *c = &conns[i];
            if (c->busy)
                continue;
            c->busy = true;
            c->due_ns = t0 + next * interval;
            c->sent_ns = now;
            late += now - c->due_ns > 1000000 && c->due_ns >= from;
            s_send(c, request, (size_t) len);
            next++;
            inflight++;
        }
        s_arm(tfd, t0 + next * interval);
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 100);
        for (int k = 0; k < n; k++) {
            int64_t tag = (int64_t) evs[k].data.u64;
            if (tag == S_TIMER_TAG) {
                uint64_t ticks;
                if (read(tfd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
                    perror("tool_apiload: timerfd");
                continue;
            }
            s_conn_t *c = &conns[tag];
            if (s_read(c) != 0 && !c->inlen) {
                fprintf(stderr, "tool_apiload: the server closed connection %d\n", (int) tag);
                return 1;
            }
            int done = s_feed(c, NULL, NULL);
            if (done < 0) {
                fprintf(stderr, "tool_apiload: malformed response\n");
                return 1;
            }
            if (done == 0 || !c->busy)
                continue;
            int64_t at = s_now_ns(CLOCK_MONOTONIC);
            c->busy = false;
            inflight--;
            if (c->due_ns < from || c->due_ns >= until)
                continue;
            if (c->status / 100 != 2) {
                errors++;
                for (int j = 0; j < S_CODES; j++)
                    if (codes[j][0] == c->status || codes[j][0] == 0) {
                        codes[j][0] = c->status;
                        codes[j][1]++;
                        break;
                    }
            }
            s_sample(&due, (double) (at - c->due_ns) / 1e6);
            s_sample(&sent, (double) (at - c->sent_ns) / 1e6);
        }
    }
    if (!stopped)
        printf("stop\n");
    qsort(due.ms, due.n, sizeof *due.ms, s_cmp);
    qsort(sent.ms, sent.n, sizeof *sent.ms, s_cmp);
    printf("{\"requests\":%zu,\"seconds\":%.3f,\"rps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
           "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"sent_p99_ms\":%.3f,"
           "\"late\":%ld,\"unanswered\":%ld,\"unsent\":%ld,\"errors\":%ld,"
           "\"error_codes\":{",
           sent.n, a->seconds, (double) sent.n / a->seconds, s_pct(&due, 0.5), s_pct(&due, 0.9),
           s_pct(&due, 0.99), s_pct(&due, 0.999), due.n ? due.ms[due.n - 1] : -1.0,
           s_pct(&sent, 0.99), late, unanswered, unsent, errors);
    for (int j = 0; j < S_CODES && codes[j][0]; j++)
        printf("%s\"%d\":%ld", j ? "," : "", (int) codes[j][0], codes[j][1]);
    printf("}}\n");
    return 0;
}

/* --- sse ------------------------------------------------------------------------- */

/* An RFC 3339 time ("2026-11-28T01:20:00.123Z", or an offset) as us since
 * the epoch; 0 when it is not one. */
static int64_t s_rfc3339_us(const char *text)
{
    struct tm tm = { 0 };
    int n = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    int64_t us = (int64_t) timegm(&tm) * 1000000;
    const char *p = text + n;
    if (*p == '.') {
        int64_t scale = 100000;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            us += (*p - '0') * scale;
    }
    if (*p == '+' || *p == '-') {
        int hh = 0, mm = 0;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return 0;
        us -= (*p == '+' ? 1 : -1) * ((int64_t) hh * 3600 + mm * 60) * 1000000;
    }
    return us;
}

typedef struct {
    const s_args_t *args;
    s_samples_t lat;
} s_sse_t;

static void s_sse_line(s_conn_t *c, s_sse_t *sse)
{
    c->line[c->linelen] = '\0';
    if (c->linelen && c->line[c->linelen - 1] == '\r')
        c->line[--c->linelen] = '\0';
    if (c->linelen == 0) {
        if (c->wanted && c->at_us) {
            double ms = (double) (s_now_ns(CLOCK_REALTIME) / 1000 - c->at_us) / 1000.0;
            s_sample(&sse->lat, ms);
            c->events++;
        }
        c->wanted = false;
        c->at_us = 0;
    }
    else if (strncmp(c->line, "event:", 6) == 0) {
        const char *name = c->line + 6 + (c->line[6] == ' ');
        c->wanted = strcmp(name, sse->args->event) == 0;
    }
    else if (c->wanted && strncmp(c->line, "data:", 5) == 0) {
        const char *at = strstr(c->line, "\"at\":\"");
        c->at_us = at ? s_rfc3339_us(at + 6) : 0;
    }
    c->linelen = 0;
}

static void s_sse_body(s_conn_t *c, const char *data, size_t len, void *ctx)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\n')
            s_sse_line(c, ctx);
        else if (c->linelen < S_LINE_MAX - 1)
            c->line[c->linelen++] = data[i];
    }
}

static int s_sse(const s_args_t *a)
{
    char request[4096];
    int len = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Accept: text/event-stream\r\nAuthorization: Bearer %s\r\n\r\n",
                       a->path, a->token);
    s_conn_t *conns = calloc((size_t) a->streams, sizeof *conns);
    int ep = epoll_create1(0);
    for (int i = 0; i < a->streams; i++) {
        conns[i].fd = s_connect(a->port);
        s_send(&conns[i], request, (size_t) len);
        s_epoll_add(ep, conns[i].fd, i);
    }
    s_epoll_add(ep, 0, S_STDIN_TAG);
    s_sse_t sse = { .args = a };
    int answered = 0, open = 0, ended = 0;
    bool ready = false, more = true;
    while (more) {
        if (!ready && answered == a->streams) {
            printf("ready %d\n", open);
            fflush(stdout);
            ready = true;
        }
        struct epoll_event evs[256];
        int n = epoll_wait(ep, evs, 256, 1000);
        for (int k = 0; k < n; k++) {
            int64_t tag = (int64_t) evs[k].data.u64;
            if (tag == S_STDIN_TAG) {
                char buf[256];
                if (read(0, buf, sizeof buf) <= 0)
                    more = false;
                continue;
            }
            s_conn_t *c = &conns[tag];
            bool gone = s_read(c) != 0;
            bool was_open = c->head_done;
            int done = s_feed(c, s_sse_body, &sse);
            if (!was_open && (c->head_done || done != 0) && !c->open) {
                answered += c->status != 0 || done < 0;
                c->open = c->status == 200 && done == 0;
                open += c->open;
                if (!c->open)
                    fprintf(stderr, "tool_apiload: stream %d answered %d\n", (int) tag,
                            c->status);
            }
            if (gone || done != 0) {
                ended += c->open;
                c->open = false;
                c->ended = true;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
            }
        }
    }
    long lo = -1, hi = 0;
    for (int i = 0; i < a->streams; i++) {
        if (lo < 0 || conns[i].events < lo)
            lo = conns[i].events;
        if (conns[i].events > hi)
            hi = conns[i].events;
    }
    qsort(sse.lat.ms, sse.lat.n, sizeof *sse.lat.ms, s_cmp);
    printf("{\"streams\":%d,\"open\":%d,\"ended\":%d,\"events\":%zu,\"per_stream_min\":%ld,"
           "\"per_stream_max\":%ld,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
           "\"max_ms\":%.3f}\n",
           a->streams, open, ended, sse.lat.n, lo, hi, s_pct(&sse.lat, 0.5),
           s_pct(&sse.lat, 0.9), s_pct(&sse.lat, 0.99),
           sse.lat.n ? sse.lat.ms[sse.lat.n - 1] : -1.0);
    return 0;
}

int main(int argc, char **argv)
{
    s_args_t a = { .connections = 8, .streams = 1000, .seconds = 10, .warmup = 2,
                   .event = "ticket.called" };
    if (argc < 2 || (strcmp(argv[1], "rate") != 0 && strcmp(argv[1], "sse") != 0))
        goto usage;
    a.mode = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--port") == 0)
            a.port = atoi(v);
        else if (strcmp(k, "--path") == 0)
            a.path = v;
        else if (strcmp(k, "--token") == 0)
            a.token = v;
        else if (strcmp(k, "--rate") == 0)
            a.rate = atof(v);
        else if (strcmp(k, "--connections") == 0)
            a.connections = atoi(v);
        else if (strcmp(k, "--seconds") == 0)
            a.seconds = atof(v);
        else if (strcmp(k, "--warmup") == 0)
            a.warmup = atof(v);
        else if (strcmp(k, "--streams") == 0)
            a.streams = atoi(v);
        else if (strcmp(k, "--event") == 0)
            a.event = v;
        else
            goto usage;
    }
    if (a.port <= 0 || !a.path || !a.token || a.connections < 1 || a.streams < 1
        || (strcmp(a.mode, "rate") == 0 && (a.rate <= 0 || a.seconds <= 0)))
        goto usage;
    return strcmp(a.mode, "rate") == 0 ? s_rate(&a) : s_sse(&a);
usage:
    fprintf(stderr, "usage: tool_apiload rate --port P --path PATH --token T --rate R "
                    "[--connections N] [--seconds S] [--warmup S]\n"
                    "       tool_apiload sse --port P --path PATH --token T [--streams N] "
                    "[--event NAME]\n");
    return 2;
}
