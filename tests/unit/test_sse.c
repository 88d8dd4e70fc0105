/*  Unit tests: sse, Server-Sent Events on a live httpd, read by raw
 *  HTTP/1.1 clients over loopback (chunked bodies taken apart here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eqms/httpd.h"
#include "eqms/sse.h"
#include "httptest.h"

/* --- the server: GET /live?ch=a[&ch2=b] ---------------------------------------------- */

static void s_live(void *ctx, const httpd_req_t *req, httpd_reply_t *reply)
{
    sse_hub_t *hub = ctx;
    const char *channels[2] = { httpd_req_arg(req, "ch"), httpd_req_arg(req, "ch2") };
    sse_serve(hub, req, reply, channels, channels[1] ? 2 : 1, httpd_req_arg(req, "who"));
}

static const httpd_route_t s_routes[] = { { "GET", "/live", s_live } };

typedef struct {
    sse_hub_t *hub;
    httpd_t *httpd;
    int port;
} s_server_t;

static void s_start(s_server_t *server, const sse_config_t *config, unsigned timeout_s)
{
    server->hub = sse_hub_new(config);
    assert_non_null(server->hub);
    for (int attempt = 0; attempt < 20 && !server->httpd; attempt++) {
        server->port = httptest_free_port();
        httpd_config_t http = { .name = "live", .address = "127.0.0.1", .port = server->port,
                                .threads = 2, .timeout_s = timeout_s };
        server->httpd = httpd_new(&http, s_routes, 1, server->hub);
    }
    assert_non_null(server->httpd);
}

static void s_stop(s_server_t *server)
{
    httpd_destroy(&server->httpd);
    sse_hub_destroy(&server->hub);
    assert_null(server->hub);
}

/* --- a client ------------------------------------------------------------------------- */

typedef struct {
    int fd;
    char raw[256 * 1024];       /* as received */
    size_t rawlen, parsed;      /* parsed: raw bytes taken apart so far */
    char headers[2048];
    int status;
    bool chunked, closed;       /* closed: by the server, or the body's last chunk */
    char body[256 * 1024];      /* the body, de-chunked */
    size_t bodylen, seen;       /* seen: where the next expectation starts */
} s_client_t;

static s_client_t *s_connect(int port, const char *target, const char *last_event_id,
                             int rcvbuf)
{
    s_client_t *c = calloc(1, sizeof *c);
    assert_non_null(c);
    if (rcvbuf) {
        /* a small receive window before connecting: a client that stops reading */
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_int_equal(setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf), 0);
        struct sockaddr_in addr = { .sin_family = AF_INET,
                                    .sin_port = htons((uint16_t) port),
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        assert_int_equal(connect(c->fd, (struct sockaddr *) &addr, sizeof addr), 0);
    }
    else
        c->fd = httptest_connect(port);
    char request[512];
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n%s%s%s\r\n",
                     target, last_event_id ? "Last-Event-ID: " : "",
                     last_event_id ? last_event_id : "", last_event_id ? "\r\n" : "");
    assert_int_equal(write(c->fd, request, (size_t) n), n);
    return c;
}

/* Takes apart what arrived: the head, then chunks into the body. */
static void s_parse(s_client_t *c)
{
    if (!c->status) {
        char *end = strstr(c->raw, "\r\n\r\n");
        if (!end)
            return;
        size_t len = (size_t) (end - c->raw);
        snprintf(c->headers, sizeof c->headers, "%.*s", (int) len, c->raw);
        assert_int_equal(sscanf(c->raw, "HTTP/1.1 %d", &c->status), 1);
        c->chunked = strstr(c->headers, "Transfer-Encoding: chunked") != NULL;
        c->parsed = len + 4;
    }
    while (c->parsed < c->rawlen) {
        if (!c->chunked) {
            memcpy(c->body + c->bodylen, c->raw + c->parsed, c->rawlen - c->parsed);
            c->bodylen += c->rawlen - c->parsed;
            c->parsed = c->rawlen;
            break;
        }
        char *line_end = strstr(c->raw + c->parsed, "\r\n");
        if (!line_end)
            break;
        size_t size = strtoul(c->raw + c->parsed, NULL, 16);
        size_t start = (size_t) (line_end + 2 - c->raw);
        if (c->rawlen < start + size + 2)
            break;
        c->closed = c->closed || size == 0;     /* the stream ended */
        memcpy(c->body + c->bodylen, c->raw + start, size);
        c->bodylen += size;
        c->body[c->bodylen] = '\0';
        c->parsed = start + size + 2;
    }
    c->body[c->bodylen] = '\0';
}

static void s_forget(s_client_t *c, size_t keep);

/* Reads for at most `ms`; false when nothing came (or the end). */
static bool s_read(s_client_t *c, int ms)
{
    if (c->rawlen > sizeof c->raw / 2)
        s_forget(c, 1024);      /* a long run: only the end matters */
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    if (c->closed || poll(&p, 1, ms) != 1)
        return false;
    ssize_t n = read(c->fd, c->raw + c->rawlen, sizeof c->raw - 1 - c->rawlen);
    if (n <= 0) {
        c->closed = true;
        return false;
    }
    c->rawlen += (size_t) n;
    c->raw[c->rawlen] = '\0';
    s_parse(c);
    return true;
}

/* Waits (5 s at most) for `text` after what earlier expectations found. */
static void s_expect(s_client_t *c, const char *text)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        char *at = c->status ? strstr(c->body + c->seen, text) : NULL;
        if (at) {
            c->seen = (size_t) (at - c->body) + strlen(text);
            return;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 5 || c->closed)
            fail_msg("expected \"%s\"; have \"%s\"", text, c->body + c->seen);
        s_read(c, 100);
    }
}

/* Reads until the server closes (5 s at most). */
static void s_expect_end(s_client_t *c)
{
    for (int i = 0; i < 50 && !c->closed; i++)
        s_read(c, 100);
    assert_true(c->closed);
}

/* Drops what was received and parsed so far but the body's last `keep`
 * bytes (long runs). */
static void s_forget(s_client_t *c, size_t keep)
{
    memmove(c->raw, c->raw + c->parsed, c->rawlen - c->parsed);
    c->rawlen -= c->parsed;
    c->raw[c->rawlen] = '\0';
    c->parsed = 0;
    size_t drop = c->bodylen > keep ? c->bodylen - keep : 0;
    memmove(c->body, c->body + drop, c->bodylen - drop);
    c->bodylen -= drop;
    c->seen = c->seen > drop ? c->seen - drop : 0;
    c->body[c->bodylen] = '\0';
}

static void s_close(s_client_t **c_p)
{
    close((*c_p)->fd);
    free(*c_p);
    *c_p = NULL;
}

/* Waits (5 s at most) for the hub to count `n` streams. */
static void s_wait_streams(sse_hub_t *hub, size_t n)
{
    for (int i = 0; i < 100 && sse_streams(hub) != n; i++) {
        struct timespec ms50 = { 0, 50 * 1000000L };
        nanosleep(&ms50, NULL);
    }
    assert_int_equal(sse_streams(hub), n);
}

static void s_event_text(char *out, size_t size, uint64_t id, const char *event,
                         const char *data)
{
    snprintf(out, size, "id: %llu\nevent: %s\ndata: %s\n\n", (unsigned long long) id, event,
             data);
}

/* --- tests ------------------------------------------------------------------------------ */

static void test_events_in_order(void **state)
{
    (void) state;
    s_server_t server = { 0 };
    s_start(&server, &(sse_config_t) { .retry_ms = 2500 }, 0);
    s_client_t *c = s_connect(server.port, "/live?ch=hq.b1", NULL, 0);
    s_expect(c, "retry: 2500\n\n");
    assert_int_equal(c->status, 200);
    assert_non_null(strstr(c->headers, "Content-Type: text/event-stream"));
    assert_non_null(strstr(c->headers, "Cache-Control: no-cache"));
    assert_non_null(strstr(c->headers, "X-Accel-Buffering: no"));
    assert_null(strstr(c->headers, "Content-Encoding"));
    assert_int_equal(sse_streams(server.hub), 1);

    uint64_t first = sse_last_id(server.hub) + 1;
    uint64_t ids[100];
    for (int i = 0; i < 100; i++) {
        char data[64];
        snprintf(data, sizeof data, "{\"n\":%d,\"text\":\"请A%03d号\"}", i, i);
        ids[i] = sse_publish(server.hub, "hq.b1", "call", data);
        assert_int_equal(ids[i], first + 2 * (uint64_t) i);
        /* another channel's events go elsewhere */
        assert_int_not_equal(sse_publish(server.hub, "hq.b2", "other", "{}"), 0);
    }
    for (int i = 0; i < 100; i++) {
        char data[64], want[160];
        snprintf(data, sizeof data, "{\"n\":%d,\"text\":\"请A%03d号\"}", i, i);
        s_event_text(want, sizeof want, ids[i], "call", data);
        s_expect(c, want);
    }
    assert_null(strstr(c->body, "other"));
    assert_int_equal(sse_last_id(server.hub), ids[99] + 1);

    /* line breaks in the data become data lines; bad names are refused */
    uint64_t id = sse_publish(server.hub, "hq.b1", "multi", "{\n\"a\":1\r\n}");
    char want[160];
    snprintf(want, sizeof want, "id: %llu\nevent: multi\ndata: {\ndata: \"a\":1\ndata: \ndata: }\n\n",
             (unsigned long long) id);
    s_expect(c, want);
    assert_int_equal(sse_publish(server.hub, "hq.b1", "bad name", "{}"), 0);
    assert_int_equal(sse_publish(server.hub, "hq.b1", "", "{}"), 0);
    assert_int_equal(sse_publish(server.hub, "", "call", "{}"), 0);
    assert_int_equal(sse_publish(server.hub, "hq.b1", "call", NULL), 0);
    s_close(&c);
    s_stop(&server);
}

static void test_resume_by_last_event_id(void **state)
{
    (void) state;
    s_server_t server = { 0 };
    s_start(&server, &(sse_config_t) { .replay = 8 }, 0);
    uint64_t a[6], b[6];
    for (int i = 0; i < 6; i++) {
        a[i] = sse_publish(server.hub, "a", "ev", i % 2 ? "{\"ch\":\"a\",\"odd\":true}"
                                                       : "{\"ch\":\"a\"}");
        b[i] = sse_publish(server.hub, "b", "ev", "{\"ch\":\"b\"}");
    }
    /* one channel: what came after the id, then live */
    char last[32], want[128];
    snprintf(last, sizeof last, "%llu", (unsigned long long) a[2]);
    s_client_t *c = s_connect(server.port, "/live?ch=a", last, 0);
    for (int i = 3; i < 6; i++) {
        s_event_text(want, sizeof want, a[i], "ev",
                     i % 2 ? "{\"ch\":\"a\",\"odd\":true}" : "{\"ch\":\"a\"}");
        s_expect(c, want);
    }
    uint64_t live = sse_publish(server.hub, "a", "ev", "{\"live\":1}");
    s_event_text(want, sizeof want, live, "ev", "{\"live\":1}");
    s_expect(c, want);
    assert_null(strstr(c->body, "\"ch\":\"b\""));
    snprintf(want, sizeof want, "id: %llu\n", (unsigned long long) a[2]);
    assert_null(strstr(c->body, want));
    s_close(&c);

    /* two channels: merged in id order */
    snprintf(last, sizeof last, "%llu", (unsigned long long) b[3]);
    c = s_connect(server.port, "/live?ch=a&ch2=b", last, 0);
    snprintf(want, sizeof want, "id: %llu\n", (unsigned long long) a[4]);
    s_expect(c, want);
    snprintf(want, sizeof want, "id: %llu\n", (unsigned long long) b[4]);
    s_expect(c, want);
    snprintf(want, sizeof want, "id: %llu\n", (unsigned long long) a[5]);
    s_expect(c, want);
    snprintf(want, sizeof want, "id: %llu\n", (unsigned long long) b[5]);
    s_expect(c, want);
    snprintf(want, sizeof want, "id: %llu\n", (unsigned long long) live);
    s_expect(c, want);
    s_close(&c);

    /* up to date: only what comes next */
    snprintf(last, sizeof last, "%llu", (unsigned long long) sse_last_id(server.hub));
    c = s_connect(server.port, "/live?ch=a", last, 0);
    s_expect(c, "retry: ");
    live = sse_publish(server.hub, "a", "ev", "{\"next\":1}");
    s_event_text(want, sizeof want, live, "ev", "{\"next\":1}");
    s_expect(c, want);
    assert_null(strstr(c->body, "\"ch\""));
    s_close(&c);
    s_stop(&server);
}

static void test_reload_when_too_old_or_unknown(void **state)
{
    (void) state;
    s_server_t server = { 0 };
    s_start(&server, &(sse_config_t) { .replay = 4, .heartbeat_ms = 100 }, 0);
    uint64_t ids[10];
    for (int i = 0; i < 10; i++)
        ids[i] = sse_publish(server.hub, "a", "ev", "{}");
    /* the ring holds ids[6..9]: after ids[5] is still complete */
    char last[32], want[64];
    snprintf(last, sizeof last, "%llu", (unsigned long long) ids[5]);
    s_client_t *c = s_connect(server.port, "/live?ch=a", last, 0);
    snprintf(want, sizeof want, "id: %llu\n", (unsigned long long) ids[6]);
    s_expect(c, want);
    s_close(&c);

    char future[32], before[32];
    snprintf(future, sizeof future, "%llu", (unsigned long long) ids[9] + 1);
    snprintf(before, sizeof before, "%llu", (unsigned long long) ids[0] - 1000);
    snprintf(last, sizeof last, "%llu", (unsigned long long) ids[4]);
    const char *stale[] = { last, future, before, "abc", "12x", "-1" };
    for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
        c = s_connect(server.port, "/live?ch=a", stale[i], 0);
        s_expect(c, "event: reload\ndata: {\"reason\":\"too_old\"}\n\n");
        s_expect_end(c);
        assert_null(strstr(c->body, "id:"));
        s_close(&c);
    }
    s_wait_streams(server.hub, 0);      /* the first noticed at a heartbeat */
    s_stop(&server);
}

/* sse_followed's callback: the names, comma-separated. */
static void s_name(void *ctx, const char *channel)
{
    char *names = ctx;
    strcat(strcat(names, channel), ",");
}

/* sse_check_owners' callback: "bob" is revoked, "carol" unknown (a store
 * failed), the rest alive; counts the questions. */
static int s_asked;

static int s_alive(void *ctx, const char *owner)
{
    (void) ctx;
    s_asked++;
    return strcmp(owner, "bob") == 0 ? 0 : strcmp(owner, "carol") == 0 ? -1 : 1;
}

static void test_streams_of_a_revoked_owner_end(void **state)
{
    (void) state;
    s_server_t server = { 0 };
    s_start(&server, &(sse_config_t) { .heartbeat_ms = 100 }, 0);
    s_client_t *bob1 = s_connect(server.port, "/live?ch=a&who=bob", NULL, 0);
    s_client_t *bob2 = s_connect(server.port, "/live?ch=b&who=bob", NULL, 0);
    s_client_t *alice = s_connect(server.port, "/live?ch=a&who=alice", NULL, 0);
    s_client_t *carol = s_connect(server.port, "/live?ch=a&who=carol", NULL, 0);
    s_client_t *anon = s_connect(server.port, "/live?ch=a", NULL, 0);
    s_client_t *all[] = { bob1, bob2, alice, carol, anon };
    for (size_t i = 0; i < 5; i++)
        s_expect(all[i], "retry:");
    s_wait_streams(server.hub, 5);
    char names[64] = "";
    assert_int_equal(sse_followed(server.hub, s_name, names), 2);
    assert_true(strcmp(names, "a,b,") == 0 || strcmp(names, "b,a,") == 0);
    s_asked = 0;
    assert_int_equal(sse_check_owners(server.hub, s_alive, NULL), 2);
    assert_int_equal(s_asked, 3);                 /* once per owner; none for anon */
    for (size_t i = 0; i < 2; i++) {
        s_expect(all[i], "event: reload\ndata: {\"reason\":\"unauthorized\"}\n\n");
        s_expect_end(all[i]);
    }
    /* the others still get events */
    sse_publish(server.hub, "a", "ev", "{\"n\":1}");
    for (size_t i = 2; i < 5; i++)
        s_expect(all[i], "event: ev\ndata: {\"n\":1}\n\n");
    s_wait_streams(server.hub, 3);
    names[0] = '\0';
    assert_int_equal(sse_followed(server.hub, s_name, names), 1);   /* b: bob2's only */
    assert_string_equal(names, "a,");
    s_asked = 0;
    assert_int_equal(sse_check_owners(server.hub, s_alive, NULL), 0);
    assert_int_equal(s_asked, 2);                 /* alice, carol: bob's are gone */
    /* an owner that does not fit is refused */
    char target[256];
    snprintf(target, sizeof target, "/live?ch=a&who=%0*d", SSE_OWNER_MAX, 7);
    s_client_t *big = s_connect(server.port, target, NULL, 0);
    s_read(big, 2000);
    assert_int_equal(big->status, 400);
    s_close(&big);
    for (size_t i = 0; i < 5; i++)
        s_close(&all[i]);
    s_stop(&server);
}

static void test_heartbeat(void **state)
{
    (void) state;
    s_server_t server = { 0 };
    s_start(&server, &(sse_config_t) { .heartbeat_ms = 200 }, 0);
    s_client_t *c = s_connect(server.port, "/live?ch=a", NULL, 0);
    s_expect(c, "retry: ");
    s_expect(c, ": heartbeat\n\n");
    s_expect(c, ": heartbeat\n\n");
    uint64_t id = sse_publish(server.hub, "a", "ev", "{}");
    char want[64];
    s_event_text(want, sizeof want, id, "ev", "{}");
    s_expect(c, want);
    s_close(&c);
    s_stop(&server);
}

static void test_slow_client_dropped_publisher_never_waits(void **state)
{
    (void) state;
    s_server_t server = { 0 };
    s_start(&server, &(sse_config_t) { .queue_max = 16, .replay = 4 }, 5);
    s_client_t *slow = s_connect(server.port, "/live?ch=a", NULL, 4096);
    s_client_t *fast = s_connect(server.port, "/live?ch=a", NULL, 0);
    s_expect(slow, "retry: ");
    s_expect(fast, "retry: ");
    /* 16 KiB events: the slow one's socket and the server's send buffer
     * fill after some, its queue after 16 more; the fast one reads every
     * one meanwhile */
    static char data[16 * 1024];
    memset(data, 'x', sizeof data - 16);
    uint64_t first = 0, last = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(data + sizeof data - 16, 16, "%05d", i);
        last = sse_publish(server.hub, "a", "big", data);
        assert_int_not_equal(last, 0);
        first = first ? first : last;
        char want[32];
        snprintf(want, sizeof want, "%05d\n\n", i);
        s_expect(fast, want);
        s_forget(fast, 0);
    }
    /* the slow one: the first events, told to reload, then the end */
    char want[32];
    snprintf(want, sizeof want, "id: %llu\n", (unsigned long long) first);
    s_expect(slow, want);
    s_expect(slow, "event: reload\ndata: {\"reason\":\"behind\"}\n\n");
    s_expect_end(slow);
    assert_int_equal(slow->seen, slow->bodylen);    /* nothing after the reload */
    s_close(&slow);
    s_wait_streams(server.hub, 1);
    /* the fast one goes on */
    uint64_t id = sse_publish(server.hub, "a", "ev", "{}");
    s_event_text(want, sizeof want, id, "ev", "{}");
    s_expect(fast, want);
    s_close(&fast);
    s_stop(&server);
}

static void test_stream_limit(void **state)
{
    (void) state;
    s_server_t server = { 0 };
    s_start(&server, &(sse_config_t) { .streams_max = 2 }, 0);
    s_client_t *one = s_connect(server.port, "/live?ch=a", NULL, 0);
    s_client_t *two = s_connect(server.port, "/live?ch=b", NULL, 0);
    s_expect(one, "retry: ");
    s_expect(two, "retry: ");
    httptest_reply_t r;
    httptest(server.port, "GET /live?ch=a HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.headers, "Content-Type: application/problem+json"));
    assert_non_null(strstr(r.headers, "Retry-After: 5"));
    assert_non_null(strstr(r.body, "too many live streams open (2)"));
    s_close(&one);
    /* noticed when the parked stream is next written to */
    for (int i = 0; i < 100 && sse_streams(server.hub) != 1; i++) {
        sse_publish(server.hub, "a", "ev", "{}");
        struct timespec ms50 = { 0, 50 * 1000000L };
        nanosleep(&ms50, NULL);
    }
    assert_int_equal(sse_streams(server.hub), 1);
    one = s_connect(server.port, "/live?ch=a", NULL, 0);
    s_expect(one, "retry: ");
    assert_int_equal(one->status, 200);
    /* channel names are checked */
    httptest(server.port, "GET /live?ch= HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 400);
    s_close(&one);
    s_close(&two);
    s_stop(&server);
}

static void test_disconnects_and_stop_clean_up(void **state)
{
    (void) state;
    s_server_t server = { 0 };
    s_start(&server, &(sse_config_t) { .heartbeat_ms = 100 }, 0);
    s_client_t *c[6];
    for (int i = 0; i < 6; i++) {
        c[i] = s_connect(server.port, i % 2 ? "/live?ch=a" : "/live?ch=a&ch2=b", NULL, 0);
        s_expect(c[i], "retry: ");
    }
    sse_publish(server.hub, "a", "ev", "{}");
    for (int i = 0; i < 3; i++)
        s_close(&c[i]);
    /* the heartbeats find the closed ones */
    s_wait_streams(server.hub, 3);
    /* the server stops with parked streams: they end, nothing leaks */
    httpd_destroy(&server.httpd);
    assert_int_equal(sse_streams(server.hub), 0);
    for (int i = 3; i < 6; i++) {
        s_expect_end(c[i]);
        s_close(&c[i]);
    }
    sse_hub_destroy(&server.hub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_in_order),
        cmocka_unit_test(test_resume_by_last_event_id),
        cmocka_unit_test(test_reload_when_too_old_or_unknown),
        cmocka_unit_test(test_streams_of_a_revoked_owner_end),
        cmocka_unit_test(test_heartbeat),
        cmocka_unit_test(test_slow_client_dropped_publisher_never_waits),
        cmocka_unit_test(test_stream_limit),
        cmocka_unit_test(test_disconnects_and_stop_clean_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
