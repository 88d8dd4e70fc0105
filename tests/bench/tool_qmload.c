/*  tool_qmload: load and baseline for bench_queue (tests/bench/bench_queue.py).
 *
 *  Load (default): the windows share --connections DEALERs (round robin;
 *  default one per window) on queue-manager's request ROUTER (docs/protocol.md,
 *  "queue-manager requests"), all served by one poll loop; a reply finds its
 *  window by its request id.
 *  Each window runs a closed loop of cycles: ticket.issue of --service-code,
 *  then window.call_next on its window (which finishes the ticket it called
 *  before), each request sent only when the previous reply came. Every
 *  request is one ticket operation; its latency is send -> reply.
 *
 *  Baseline (--baseline): the bare round trips one such operation needs, from
 *  --clients threads, each with its own PostgreSQL and Redis connection: per
 *  operation one transaction inserting one row into --table (shaped like
 *  ticket_event; committed synchronously, as the service's batches are),
 *  then one Redis HSET of a ticket-sized value, as the service's mirror
 *  writes.
 *
 *  Both modes run --warmup seconds unmeasured, print "start" when the
 *  measured --seconds begin and "stop" when they end (the driver samples CPU
 *  between them), then one JSON line: {"ops","seconds","ops_per_s","p50_ms",
 *  "p99_ms","p999_ms","max_ms","errors","error_codes",...}. An operation
 *  counts when its reply (or commit + HSET) completes in the measured window.
 *
 *  Usage: tool_qmload --endpoint EP --branch PATH --windows ID,ID,...
 *                     [--connections N] [--service-code CODE] [--seconds S]
 *                     [--warmup S]
 *         tool_qmload --baseline --pg CONNINFO --redis redis://HOST:PORT/DB
 *                     --table NAME [--clients N] [--seconds S] [--warmup S]
 */
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "eqms/grow.h"

#define S_MAX_WINDOWS  256
#define S_MAX_CODES    16
#define S_REQ_MAX      512
#define S_REPLY_MAX    16384
#define S_TIMEOUT_NS   10000000000LL   /* no reply within 10 s: the run fails */

typedef struct {
    const char *endpoint, *branch, *service_code;
    long windows[S_MAX_WINDOWS];
    int nwindows;
    int connections;           /* DEALERs the windows share, round robin */
    bool baseline;
    const char *pg, *redis, *table;
    int clients;
    double seconds, warmup;
} s_args_t;

/* Latencies in ms, growable; error replies by code. */
typedef struct {
    float *ms;
    size_t n, cap;
    int64_t errors;
    char codes[S_MAX_CODES][32];
    int64_t code_counts[S_MAX_CODES];
    int ncodes;
} s_stats_t;

static int64_t s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int s_stats_add(s_stats_t *st, int64_t ns)
{
    float *ms = grow_room(st->ms, st->n, &st->cap, sizeof *ms, 65536);
    if (!ms)
        return -1;
    st->ms = ms;
    st->ms[st->n++] = (float) ((double) ns / 1e6);
    return 0;
}

/* Adds `count` replies of error `code` to the breakdown (not to errors). */
static void s_stats_code(s_stats_t *st, const char *code, int64_t count)
{
    for (int i = 0; i < st->ncodes; i++)
        if (strcmp(st->codes[i], code) == 0) {
            st->code_counts[i] += count;
            return;
        }
    if (st->ncodes < S_MAX_CODES) {
        snprintf(st->codes[st->ncodes], sizeof st->codes[0], "%s", code);
        st->code_counts[st->ncodes++] = count;
    }
}

static void s_stats_error(s_stats_t *st, const char *code)
{
    st->errors++;
    s_stats_code(st, code, 1);
}

/* Moves `from`'s figures into `to`. Returns 0 or -1 (out of memory). */
static int s_stats_merge(s_stats_t *to, s_stats_t *from)
{
    if (to->cap < to->n + from->n) {
        float *ms = realloc(to->ms, (to->n + from->n) * sizeof *ms);
        if (!ms)
            return -1;
        to->ms = ms;
        to->cap = to->n + from->n;
    }
    if (from->n)
        memcpy(to->ms + to->n, from->ms, from->n * sizeof *from->ms);
    to->n += from->n;
    to->errors += from->errors;
    for (int i = 0; i < from->ncodes; i++)
        s_stats_code(to, from->codes[i], from->code_counts[i]);
    free(from->ms);
    memset(from, 0, sizeof *from);
    return 0;
}

static int s_cmp_float(const void *x, const void *y)
{
    float a = *(const float *) x, b = *(const float *) y;
    return a < b ? -1 : a > b;
}

static double s_pct(const s_stats_t *st, double p)
{
    if (st->n == 0)
        return -1;
    size_t k = (size_t) ((double) st->n * p);
    return st->ms[k < st->n ? k : st->n - 1];
}

/* Prints the result line; sorts st's latencies. `extra` is appended inside
 * the object (starts with a comma, or ""). */
static void s_print(s_stats_t *st, double seconds, const char *extra)
{
    qsort(st->ms, st->n, sizeof *st->ms, s_cmp_float);
    printf("{\"ops\":%zu,\"seconds\":%.3f,\"ops_per_s\":%.1f,\"p50_ms\":%.3f,"
           "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%" PRId64
           ",\"error_codes\":{", st->n, seconds, (double) st->n / seconds, s_pct(st, 0.5),
           s_pct(st, 0.99), s_pct(st, 0.999), st->n ? (double) st->ms[st->n - 1] : -1.0,
           st->errors);
    for (int i = 0; i < st->ncodes; i++)
        printf("%s\"%s\":%" PRId64, i ? "," : "", st->codes[i], st->code_counts[i]);
    printf("}%s}\n", extra);
    fflush(stdout);
}

static void s_mark(const char *what)
{
    printf("%s\n", what);
    fflush(stdout);
}

static int s_parse_windows(s_args_t *a, const char *text)
{
    char *copy = strdup(text), *save = NULL;
    if (!copy)
        return -1;
    for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        char *end = NULL;
        long id = strtol(w, &end, 10);
        if (*end || id < 1 || a->nwindows == S_MAX_WINDOWS) {
            free(copy);
            return -1;
        }
        a->windows[a->nwindows++] = id;
    }
    free(copy);
    return a->nwindows > 0 ? 0 : -1;
}

static int s_args(s_args_t *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    a->service_code = "cash";
    a->seconds = 20;
    a->warmup = 3;
    a->clients = 16;
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(k, "--baseline") == 0) {
            a->baseline = true;
            continue;
        }
        if (!v)
            return -1;
        i++;
        if (strcmp(k, "--endpoint") == 0)
            a->endpoint = v;
        else if (strcmp(k, "--branch") == 0)
            a->branch = v;
        else if (strcmp(k, "--windows") == 0) {
            if (s_parse_windows(a, v) != 0)
                return -1;
        } else if (strcmp(k, "--service-code") == 0)
            a->service_code = v;
        else if (strcmp(k, "--seconds") == 0)
            a->seconds = strtod(v, NULL);
        else if (strcmp(k, "--warmup") == 0)
            a->warmup = strtod(v, NULL);
        else if (strcmp(k, "--pg") == 0)
            a->pg = v;
        else if (strcmp(k, "--redis") == 0)
            a->redis = v;
        else if (strcmp(k, "--table") == 0)
            a->table = v;
        else if (strcmp(k, "--connections") == 0)
            a->connections = (int) strtol(v, NULL, 10);
        else if (strcmp(k, "--clients") == 0)
            a->clients = (int) strtol(v, NULL, 10);
        else
            return -1;
    }
    if (a->seconds <= 0 || a->warmup < 0)
        return -1;
    if (a->baseline)
        return a->pg && a->redis && a->table && a->clients >= 1 && a->clients <= 256 ? 0 : -1;
    if (a->connections == 0)
        a->connections = a->nwindows;
    return a->endpoint && a->branch && a->nwindows > 0 && a->connections >= 1
                   && a->connections <= a->nwindows ? 0 : -1;
}

/* --- load: windows issuing and calling through the ROUTER -------------------- */

typedef struct {
    void *sock;                /* shared with the windows of the same connection */
    long id;
    int index;
    bool calling;              /* the request in flight is call_next */
    int64_t sent_ns;
    int64_t seq;
    char req_id[32];
} s_window_t;

static void s_window_send(const s_args_t *a, s_window_t *w)
{
    char req[S_REQ_MAX];
    int n;
    snprintf(w->req_id, sizeof w->req_id, "w%d-%" PRId64, w->index, ++w->seq);
    if (w->calling)
        n = snprintf(req, sizeof req,
                     "{\"v\":1,\"id\":\"%s\",\"op\":\"window.call_next\",\"branch\":\"%s\","
                     "\"actor\":\"bench:w%d\",\"window\":%ld}",
                     w->req_id, a->branch, w->index, w->id);
    else
        n = snprintf(req, sizeof req,
                     "{\"v\":1,\"id\":\"%s\",\"op\":\"ticket.issue\",\"branch\":\"%s\","
                     "\"actor\":\"kiosk:%d\",\"service_code\":\"%s\"}",
                     w->req_id, a->branch, w->index, a->service_code);
    w->sent_ns = s_now_ns();
    zmq_send(w->sock, req, (size_t) n, 0);
}

/* Reads the reply of `w`'s request. Returns 1 = ok true, 0 = ok false (code
 * in `code`), -1 = not a reply to that request. */
static int s_reply_check(const s_window_t *w, const char *reply, char code[32])
{
    char want[48];
    snprintf(want, sizeof want, "\"id\":\"%s\"", w->req_id);
    if (!strstr(reply, want))
        return -1;
    if (strstr(reply, "\"ok\":true"))
        return 1;
    const char *e = strstr(reply, "\"error\":\"");
    snprintf(code, 32, "unreadable");
    if (e) {
        e += 9;
        size_t n = strcspn(e, "\"");
        snprintf(code, 32, "%.*s", (int) (n < 31 ? n : 31), e);
    }
    return 0;
}

/* The window a reply is for, from its request id "w<index>-<seq>"; NULL if
 * it names none. */
static s_window_t *s_reply_window(s_window_t *ws, int nwindows, const char *reply)
{
    const char *id = strstr(reply, "\"id\":\"w");
    if (!id)
        return NULL;
    long index = strtol(id + 7, NULL, 10);
    return index >= 1 && index <= nwindows ? &ws[index - 1] : NULL;
}

static int s_load(const s_args_t *a)
{
    void *ctx = zmq_ctx_new();
    s_window_t *ws = calloc((size_t) a->nwindows, sizeof *ws);
    zmq_pollitem_t *items = calloc((size_t) a->connections, sizeof *items);
    s_stats_t all = { 0 }, issue = { 0 }, call = { 0 };
    char *reply = malloc(S_REPLY_MAX + 1);
    int rc = 1;
    if (!ctx || !ws || !items || !reply)
        goto done;
    for (int c = 0; c < a->connections; c++) {
        int zero = 0;
        items[c].socket = zmq_socket(ctx, ZMQ_DEALER);
        if (!items[c].socket)
            goto done;
        items[c].events = ZMQ_POLLIN;
        zmq_setsockopt(items[c].socket, ZMQ_LINGER, &zero, sizeof zero);
        if (zmq_connect(items[c].socket, a->endpoint) != 0) {
            fprintf(stderr, "tool_qmload: connect %s: %s\n", a->endpoint,
                    zmq_strerror(zmq_errno()));
            goto done;
        }
    }
    for (int i = 0; i < a->nwindows; i++) {
        ws[i].sock = items[i % a->connections].socket;
        ws[i].id = a->windows[i];
        ws[i].index = i + 1;
    }
    int64_t start = s_now_ns();
    int64_t t0 = start + (int64_t) (a->warmup * 1e9);
    int64_t t1 = t0 + (int64_t) (a->seconds * 1e9);
    bool started = false, stopped = false;
    int in_flight = 0;
    for (int i = 0; i < a->nwindows; i++) {
        s_window_send(a, &ws[i]);
        in_flight++;
    }
    while (in_flight > 0) {
        int64_t now = s_now_ns();
        if (!started && now >= t0) {
            started = true;
            s_mark("start");
        }
        if (!stopped && now >= t1) {
            stopped = true;
            s_mark("stop");
        }
        if (zmq_poll(items, a->connections, 100) < 0) {
            fprintf(stderr, "tool_qmload: poll: %s\n", zmq_strerror(zmq_errno()));
            goto done;
        }
        now = s_now_ns();
        for (int i = 0; i < a->nwindows; i++)
            if (ws[i].sent_ns && now - ws[i].sent_ns > S_TIMEOUT_NS) {
                fprintf(stderr, "tool_qmload: no reply to %s within 10 s\n", ws[i].req_id);
                goto done;
            }
        for (int c = 0; c < a->connections; c++) {
            if (!(items[c].revents & ZMQ_POLLIN))
                continue;
            int n;
            while ((n = zmq_recv(items[c].socket, reply, S_REPLY_MAX, ZMQ_DONTWAIT)) >= 0) {
                reply[n < S_REPLY_MAX ? n : S_REPLY_MAX] = 0;
                s_window_t *w = s_reply_window(ws, a->nwindows, reply);
                char code[32];
                int ok = w && w->sent_ns ? s_reply_check(w, reply, code) : -1;
                if (ok < 0) {
                    fprintf(stderr, "tool_qmload: unexpected reply: %.200s\n", reply);
                    goto done;
                }
                bool measured = now >= t0 && now < t1;
                if (measured) {
                    int64_t ns = now - w->sent_ns;
                    if (s_stats_add(&all, ns) != 0
                        || s_stats_add(w->calling ? &call : &issue, ns) != 0)
                        goto done;
                    if (ok == 0) {
                        s_stats_error(&all, code);
                        s_stats_error(w->calling ? &call : &issue, code);
                    }
                }
                w->sent_ns = 0;
                in_flight--;
                if (now < t1) {
                    w->calling = !w->calling;
                    s_window_send(a, w);
                    in_flight++;
                }
            }
        }
    }
    if (!started)
        s_mark("start");
    if (!stopped)
        s_mark("stop");
    qsort(issue.ms, issue.n, sizeof *issue.ms, s_cmp_float);
    qsort(call.ms, call.n, sizeof *call.ms, s_cmp_float);
    char extra[512];
    snprintf(extra, sizeof extra,
             ",\"windows\":%d,\"issue\":{\"n\":%zu,\"p50_ms\":%.3f,\"p99_ms\":%.3f,"
             "\"errors\":%" PRId64 "},\"call_next\":{\"n\":%zu,\"p50_ms\":%.3f,"
             "\"p99_ms\":%.3f,\"errors\":%" PRId64 "},\"connections\":%d",
             a->nwindows, issue.n, s_pct(&issue, 0.5), s_pct(&issue, 0.99), issue.errors,
             call.n, s_pct(&call, 0.5), s_pct(&call, 0.99), call.errors, a->connections);
    s_print(&all, a->seconds, extra);
    rc = 0;
done:
    for (int c = 0; items && c < a->connections; c++)
        if (items[c].socket)
            zmq_close(items[c].socket);
    if (ctx)
        zmq_ctx_term(ctx);
    free(ws);
    free(items);
    free(reply);
    free(all.ms);
    free(issue.ms);
    free(call.ms);
    return rc;
}

/* --- baseline: one PostgreSQL transaction + one Redis HSET per operation ---- */

typedef struct {
    const s_args_t *a;
    int index;
    _Atomic int *phase;        /* 0 warm-up, 1 measured, 2 stop */
    s_stats_t stats;
    int failed;                /* could not connect or prepare */
} s_client_t;

/* Splits redis://HOST:PORT/DB. Returns 0 or -1. */
static int s_redis_url(const char *url, char host[256], int *port, int *db)
{
    *port = 6379;
    *db = 0;
    if (strncmp(url, "redis://", 8) == 0)
        url += 8;
    size_t n = strcspn(url, ":/");
    if (n == 0 || n > 255)
        return -1;
    memcpy(host, url, n);
    host[n] = 0;
    url += n;
    if (*url == ':')
        *port = (int) strtol(url + 1, (char **) &url, 10);
    if (*url == '/')
        *db = (int) strtol(url + 1, NULL, 10);
    return *port > 0 ? 0 : -1;
}

static void *s_client_run(void *arg)
{
    s_client_t *c = arg;
    const s_args_t *a = c->a;
    PGconn *pg = PQconnectdb(a->pg);
    redisContext *redis = NULL;
    char host[256];
    int port, db;
    c->failed = 1;
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "tool_qmload: client %d: %s", c->index, PQerrorMessage(pg));
        goto done;
    }
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO %s (branch_id, seq, at, day, kind, actor, ticket_id, number, "
             "number_seq, queue_id, service_id, class, window_id, window_no, staff_id, via) "
             "VALUES ($1, $2, now(), $3, $4, $5, $6::uuid, $7, $8, $9, $10, $11, $12, $13, "
             "$14, $15)", a->table);
    /* Committed as the service commits its batches (schema 7): synchronously. */
    PGresult *res = PQexec(pg, "SET synchronous_commit = on");
    bool set = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    res = PQprepare(pg, "ins", sql, 0, NULL);
    bool prepared = set && PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!prepared)
        fprintf(stderr, "tool_qmload: prepare: %s", PQerrorMessage(pg));
    PQclear(res);
    if (!prepared || s_redis_url(a->redis, host, &port, &db) != 0)
        goto done;
    redis = redisConnect(host, port);
    if (!redis || redis->err) {
        fprintf(stderr, "tool_qmload: redis %s: %s\n", a->redis,
                redis ? redis->errstr : "out of memory");
        goto done;
    }
    redisReply *r = redisCommand(redis, "SELECT %d", db);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "tool_qmload: redis SELECT %d failed\n", db);
        if (r)
            freeReplyObject(r);
        goto done;
    }
    freeReplyObject(r);
    c->failed = 0;
    for (int64_t i = 1; atomic_load(c->phase) < 2; i++) {
        /* An event shaped like the service's CALLED: ids of a demo branch,
         * a fresh UUIDv7-looking ticket id, a queue number. */
        char seq[24], ticket[40], number[16], nseq[16], window[16], wno[16], key[96],
             value[160];
        int64_t unique = (int64_t) c->index * 1000000000000LL + i;
        snprintf(seq, sizeof seq, "%" PRId64, unique);
        snprintf(ticket, sizeof ticket, "019ac4a1-%04x-7%03x-8%03x-%012" PRIx64,
                 (unsigned) (i >> 32) & 0xffff, (unsigned) c->index & 0xfff,
                 (unsigned) (i >> 48) & 0xfff, (uint64_t) i & UINT64_C(0xffffffffffff));
        snprintf(number, sizeof number, "A%03d", (int) (i % 999) + 1);
        snprintf(nseq, sizeof nseq, "%d", (int) (i % 999) + 1);
        snprintf(window, sizeof window, "%d", 100 + c->index);
        snprintf(wno, sizeof wno, "%d", c->index);
        const char *params[15] = { "1", seq, "20261128", "called", "bench:baseline", ticket,
                                   number, nseq, "1", "1", "ordinary", window, wno, "1",
                                   "strategy" };
        snprintf(key, sizeof key, "eqms:qmbench:tickets");
        int vn = snprintf(value, sizeof value,
                          "{\"number\":\"%s\",\"state\":\"called\",\"service\":1,"
                          "\"class\":\"ordinary\",\"window\":%s,\"staff\":1,\"recall\":0}",
                          number, window);
        int64_t begin = s_now_ns();
        res = PQexecPrepared(pg, "ins", 15, params, NULL, NULL, 0);
        bool pg_ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!pg_ok && c->stats.errors == 0)
            fprintf(stderr, "tool_qmload: insert: %s", PQerrorMessage(pg));
        PQclear(res);
        const char *argv[] = { "HSET", key, ticket, value };
        size_t argvlen[] = { 4, strlen(key), strlen(ticket), (size_t) vn };
        r = redisCommandArgv(redis, 4, argv, argvlen);
        bool redis_ok = r && r->type != REDIS_REPLY_ERROR;
        if (r)
            freeReplyObject(r);
        if (!r)
            break;  /* the connection is gone */
        int64_t end = s_now_ns();
        if (atomic_load(c->phase) == 1) {
            if (s_stats_add(&c->stats, end - begin) != 0)
                break;
            if (!pg_ok)
                s_stats_error(&c->stats, "pg");
            if (!redis_ok)
                s_stats_error(&c->stats, "redis");
        }
    }
done:
    if (redis)
        redisFree(redis);
    PQfinish(pg);
    return NULL;
}

static int s_baseline(const s_args_t *a)
{
    _Atomic int phase = 0;
    s_client_t *cs = calloc((size_t) a->clients, sizeof *cs);
    pthread_t *threads = calloc((size_t) a->clients, sizeof *threads);
    s_stats_t all = { 0 };
    int started = 0, rc = 1;
    if (!cs || !threads)
        goto done;
    for (int i = 0; i < a->clients; i++) {
        cs[i] = (s_client_t) { .a = a, .index = i + 1, .phase = &phase };
        if (pthread_create(&threads[i], NULL, s_client_run, &cs[i]) != 0)
            break;
        started++;
    }
    usleep((useconds_t) (a->warmup * 1e6));
    atomic_store(&phase, 1);
    s_mark("start");
    int64_t t0 = s_now_ns();
    usleep((useconds_t) (a->seconds * 1e6));
    atomic_store(&phase, 2);
    double seconds = (double) (s_now_ns() - t0) / 1e9;
    s_mark("stop");
    int failed = started < a->clients;
    for (int i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
        failed |= cs[i].failed;
        if (s_stats_merge(&all, &cs[i].stats) != 0)
            goto done;
    }
    if (failed) {
        fprintf(stderr, "tool_qmload: a baseline client could not start\n");
        goto done;
    }
    char extra[64];
    snprintf(extra, sizeof extra, ",\"clients\":%d", a->clients);
    s_print(&all, seconds, extra);
    rc = 0;
done:
    for (int i = 0; cs && i < a->clients; i++)
        free(cs[i].stats.ms);
    free(cs);
    free(threads);
    free(all.ms);
    return rc;
}

int main(int argc, char **argv)
{
    s_args_t a;
    if (s_args(&a, argc, argv) != 0) {
        fprintf(stderr,
                "usage: tool_qmload --endpoint EP --branch PATH --windows ID,ID,... "
                "[--connections N] [--service-code CODE] [--seconds S] [--warmup S]\n"
                "       tool_qmload --baseline --pg CONNINFO --redis redis://HOST:PORT/DB "
                "--table NAME [--clients N] [--seconds S] [--warmup S]\n");
        return 2;
    }
    return a.baseline ? s_baseline(&a) : s_load(&a);
}
