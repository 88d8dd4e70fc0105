/*  Unit tests: httpd, the shared HTTP server, spoken to over loopback with a
 *  plain socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/httpd.h"
#include "eqms/log.h"
#include "httptest.h"

/* Echoes what it was given: method, path, the argument "id", the header
 * X-Test, the body's length and first bytes, the peer. */
static void s_echo(void *ctx, const httpd_req_t *req, httpd_reply_t *reply)
{
    int *calls = ctx;
    (*calls)++;
    size_t len;
    const char *body = httpd_req_body(req, &len);
    const char *id = httpd_req_arg(req, "id");
    const char *header = httpd_req_header(req, "x-test");
    httpd_reply_text(reply, 200, "%s %s id=%s x=%s body=%zu:%.*s peer=%s",
                     httpd_req_method(req), httpd_req_path(req), id ? id : "(none)",
                     header ? header : "(none)", len, (int) (len < 16 ? len : 16), body,
                     httpd_req_peer(req));
}

/* Refuses arguments other than id and type, or given twice. */
static void s_strict(void *ctx, const httpd_req_t *req, httpd_reply_t *reply)
{
    (void) ctx;
    static const char *const allowed[] = { "id", "type", NULL };
    char reason[128];
    if (httpd_req_args_check(req, allowed, reason, sizeof reason) != 0) {
        httpd_reply_text(reply, 400, "%s\n", reason);
        return;
    }
    char *body = strdup("{\"ok\":true}");
    httpd_reply_take(reply, 200, "application/json", &body);
    assert_null(body);
}

static void s_silent(void *ctx, const httpd_req_t *req, httpd_reply_t *reply)
{
    (void) ctx;
    (void) req;
    (void) reply;               /* forgets to answer */
}

/* Answers the route's path and its parameters, with a header of its own. */
static void s_param(void *ctx, const httpd_req_t *req, httpd_reply_t *reply)
{
    (void) ctx;
    const char *id = httpd_req_param(req, "id");
    const char *sub = httpd_req_param(req, "sub");
    assert_null(httpd_req_param(req, "other"));
    assert_int_equal(httpd_reply_header(reply, "X-Route", httpd_req_route(req)->path), 0);
    httpd_reply_text(reply, 200, "%s id=%s sub=%s", httpd_req_method(req), id ? id : "-",
                     sub ? sub : "-");
}

static const httpd_route_t s_routes[] = {
    { "GET", "/echo", s_echo },
    { "POST", "/echo", s_echo },
    { "GET", "/strict", s_strict },
    { "PUT", "/silent", s_silent },
    { "GET", "/items/{id}", s_param },
    { "DELETE", "/items/{id}", s_param },
    { "POST", "/items/{id}/parts/{sub}", s_param },
};

static httpd_t *start_with(int *calls, int *port, httpd_refusal_fn *refusal)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        *port = httptest_free_port();
        httpd_config_t config = { .name = "test", .address = "127.0.0.1", .port = *port,
                                  .body_max = 100, .threads = 2, .refusal = refusal };
        httpd_t *h = httpd_new(&config, s_routes, sizeof s_routes / sizeof s_routes[0], calls);
        if (h)
            return h;
    }
    fail_msg("no free port");
    return NULL;
}

static httpd_t *start(int *calls, int *port)
{
    return start_with(calls, port, NULL);
}

static void test_routes_and_request(void **state)
{
    (void) state;
    int calls = 0, port;
    httpd_t *h = start(&calls, &port);
    httptest_reply_t r;
    httptest(port, "GET /echo?id=a%20b&x HTTP/1.1\r\nHost: x\r\nX-Test: yes\r\n"
             "Connection: close\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "GET /echo id=a b x=yes body=0: peer=127.0.0.1");
    assert_non_null(strstr(r.headers, "Cache-Control: no-store"));
    assert_non_null(strstr(r.headers, "X-Content-Type-Options: nosniff"));
    assert_non_null(strstr(r.headers, "Content-Type: text/plain; charset=utf-8"));
    httptest(port, "POST /echo HTTP/1.0\r\nContent-Length: 11\r\n\r\nhello world", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "POST /echo id=(none) x=(none) body=11:hello world "
                                "peer=127.0.0.1");
    httptest(port, "HEAD /echo HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "");
    assert_int_equal(calls, 3);
    httpd_destroy(&h);
    assert_null(h);
    httpd_destroy(&h);
}

static void test_unknown_path_and_method(void **state)
{
    (void) state;
    int calls = 0, port;
    httpd_t *h = start(&calls, &port);
    httptest_reply_t r;
    httptest(port, "GET /nothing HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "not found\n");
    assert_non_null(strstr(r.headers, "Content-Type: text/plain; charset=utf-8"));
    httptest(port, "DELETE /echo HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.body, "method not allowed\n");
    assert_non_null(strstr(r.headers, "Allow: GET, HEAD, POST"));
    httptest(port, "POST /strict HTTP/1.0\r\nContent-Length: 0\r\n\r\n", &r);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.headers, "Allow: GET, HEAD"));
    httptest(port, "PUT /silent HTTP/1.0\r\nContent-Length: 0\r\n\r\n", &r);
    assert_int_equal(r.status, 500);    /* a handler that did not answer */
    assert_int_equal(calls, 0);
    httpd_destroy(&h);
}

static void test_body_limit(void **state)
{
    (void) state;
    int calls = 0, port;
    httpd_t *h = start(&calls, &port);
    httptest_reply_t r;
    /* announced too large: refused before the body is read */
    httptest(port, "POST /echo HTTP/1.0\r\nContent-Length: 101\r\n\r\n", &r);
    assert_int_equal(r.status, 413);
    /* chunked, growing past the limit while it arrives */
    char req[1024];
    char chunk[61];
    memset(chunk, 'x', 60);
    chunk[60] = '\0';
    int n = snprintf(req, sizeof req, "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n3c\r\n%s\r\n3c\r\n%s\r\n0\r\n\r\n",
                     chunk, chunk);
    httptest_send(port, req, (size_t) n, &r);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "larger than 100 bytes"));
    /* exactly at the limit: taken */
    char body[101];
    memset(body, 'y', 100);
    body[100] = '\0';
    n = snprintf(req, sizeof req, "POST /echo HTTP/1.0\r\nContent-Length: 100\r\n\r\n%s", body);
    httptest_send(port, req, (size_t) n, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "body=100:yyyy"));
    assert_int_equal(calls, 1);
    httpd_destroy(&h);
}

/* A server's own form for its refusals. */
static void s_refusal(httpd_reply_t *reply, unsigned status, const char *path,
                      const char *detail)
{
    char *body = NULL;
    if (asprintf(&body, "refused %u %s: %s", status, path, detail) < 0)
        body = NULL;     /* answers 500 */
    httpd_reply_take(reply, status, "text/x-refusal", &body);
}

static void test_own_refusals_in_the_servers_form(void **state)
{
    (void) state;
    int calls = 0, port;
    httpd_t *h = start_with(&calls, &port, s_refusal);
    httptest_reply_t r;
    httptest(port, "GET /nothing HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "refused 404 /nothing: not found");
    assert_non_null(strstr(r.headers, "Content-Type: text/x-refusal"));
    assert_non_null(strstr(r.headers, "X-Content-Type-Options: nosniff"));
    httptest(port, "DELETE /echo HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.body, "refused 405 /echo: method not allowed");
    assert_non_null(strstr(r.headers, "Allow: GET, HEAD, POST"));
    httptest(port, "POST /echo HTTP/1.0\r\nContent-Length: 101\r\n\r\n", &r);
    assert_int_equal(r.status, 413);
    assert_string_equal(r.body, "refused 413 /echo: request body larger than 100 bytes");
    httptest(port, "GET /echo HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);   /* answers are the handlers' own */
    assert_int_equal(calls, 1);
    httpd_destroy(&h);
}

static void test_strict_arguments(void **state)
{
    (void) state;
    int calls = 0, port;
    httpd_t *h = start(&calls, &port);
    httptest_reply_t r;
    httptest(port, "GET /strict?id=1&type=8 HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"ok\":true}");
    assert_non_null(strstr(r.headers, "Content-Type: application/json"));
    httptest(port, "GET /strict?id=1&id=2 HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "query argument \"id\" given twice\n");
    httptest(port, "GET /strict?id=1&forged=2 HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "unknown query argument \"forged\"\n");
    char req[1024] = "GET /strict?id=0";
    for (int i = 0; i < 40; i++)
        snprintf(req + strlen(req), sizeof req - strlen(req), "&type=%d", i);
    strcat(req, " HTTP/1.0\r\n\r\n");
    httptest(port, req, &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "more than 32 query arguments"));
    httpd_destroy(&h);
}

static void test_path_parameters(void **state)
{
    (void) state;
    int calls = 0, port;
    httpd_t *h = start(&calls, &port);
    httptest_reply_t r;
    httptest(port, "GET /items/42 HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "GET id=42 sub=-");
    assert_non_null(strstr(r.headers, "X-Route: /items/{id}"));
    httptest(port, "POST /items/7/parts/b-2 HTTP/1.0\r\nContent-Length: 0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "POST id=7 sub=b-2");
    assert_non_null(strstr(r.headers, "X-Route: /items/{id}/parts/{sub}"));
    /* a parameter is one whole, non-empty segment */
    httptest(port, "GET /items/ HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
    httptest(port, "GET /items/4/2 HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
    httptest(port, "GET /items HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
    httptest(port, "PUT /items/42 HTTP/1.0\r\nContent-Length: 0\r\n\r\n", &r);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.headers, "Allow: GET, HEAD, DELETE"));
    httpd_destroy(&h);

    assert_true(httpd_path_matches("/a/{x}/b", "/a/1/b"));
    assert_false(httpd_path_matches("/a/{x}/b", "/a//b"));
    assert_false(httpd_path_matches("/a/{x}/b", "/a/1/b/"));
    assert_false(httpd_path_matches("/a/{x}", "/a/1/2"));
    assert_true(httpd_path_matches("/a", "/a"));
    assert_false(httpd_path_matches("/a", "/ab"));
}

static void test_security_headers_and_added_ones(void **state)
{
    (void) state;
    int calls = 0, port;
    httpd_t *h = start(&calls, &port);
    httptest_reply_t r;
    httptest(port, "GET /nothing HTTP/1.0\r\n\r\n", &r);
    assert_non_null(strstr(r.headers, "Content-Security-Policy: default-src 'none'; "
                                      "frame-ancestors 'none'"));
    assert_non_null(strstr(r.headers, "X-Frame-Options: DENY"));
    assert_non_null(strstr(r.headers, "Referrer-Policy: no-referrer"));
    assert_null(strstr(r.headers, "ETag"));
    httpd_destroy(&h);

    httpd_reply_t reply = { .status = 200 };
    char long_value[HTTPD_HEADER_VALUE_MAX + 1];
    memset(long_value, 'v', sizeof long_value - 1);
    long_value[sizeof long_value - 1] = '\0';
    assert_int_equal(httpd_reply_header(&reply, "X-Long", long_value), -1);
    assert_int_equal(httpd_reply_header(&reply, "X-Split", "a\r\nSet-Cookie: x"), -1);
    for (int i = 0; i < HTTPD_HEADERS_MAX; i++)
        assert_int_equal(httpd_reply_header(&reply, "X-Ok", "v"), 0);
    assert_int_equal(httpd_reply_header(&reply, "X-One-Too-Many", "v"), -1);
}

/* The ETag of a body, from a first answer's headers. */
static void s_etag_of(const httptest_reply_t *r, char *out, size_t size)
{
    const char *e = strstr(r->headers, "ETag: ");
    assert_non_null(e);
    e += 6;
    size_t n = strcspn(e, "\r\n");
    assert_true(n < size);
    memcpy(out, e, n);
    out[n] = '\0';
}

static void test_etag_and_if_none_match(void **state)
{
    (void) state;
    int calls = 0, port = 0;
    httpd_t *h = NULL;
    for (int attempt = 0; attempt < 20 && !h; attempt++) {
        port = httptest_free_port();
        httpd_config_t config = { .name = "test", .address = "127.0.0.1", .port = port,
                                  .etag = true };
        h = httpd_new(&config, s_routes, sizeof s_routes / sizeof s_routes[0], &calls);
    }
    assert_non_null(h);
    httptest_reply_t r;
    httptest(port, "GET /echo?id=1 HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers, "Cache-Control: private, no-cache"));
    char etag[64], req[256];
    s_etag_of(&r, etag, sizeof etag);
    assert_int_equal((int) strlen(etag), 34);
    assert_true(etag[0] == '"' && etag[33] == '"');
    /* the same body: 304 without it, the same ETag */
    snprintf(req, sizeof req, "GET /echo?id=1 HTTP/1.0\r\nIf-None-Match: \"x\", %s\r\n\r\n",
             etag);
    httptest(port, req, &r);
    assert_int_equal(r.status, 304);
    assert_string_equal(r.body, "");
    assert_non_null(strstr(r.headers, etag));
    snprintf(req, sizeof req, "GET /echo?id=1 HTTP/1.0\r\nIf-None-Match: W/%s\r\n\r\n", etag);
    httptest(port, req, &r);
    assert_int_equal(r.status, 304);
    httptest(port, "GET /echo?id=1 HTTP/1.0\r\nIf-None-Match: *\r\n\r\n", &r);
    assert_int_equal(r.status, 304);
    /* another body: 200 with it */
    snprintf(req, sizeof req, "GET /echo?id=2 HTTP/1.0\r\nIf-None-Match: %s\r\n\r\n", etag);
    httptest(port, req, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "id=2"));
    /* no ETag on other methods or on refusals */
    httptest(port, "POST /echo HTTP/1.0\r\nContent-Length: 0\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_null(strstr(r.headers, "ETag"));
    assert_non_null(strstr(r.headers, "Cache-Control: no-store"));
    httptest(port, "GET /strict?bad=1 HTTP/1.0\r\n\r\n", &r);
    assert_int_equal(r.status, 400);
    assert_null(strstr(r.headers, "ETag"));
    httpd_destroy(&h);
}

static void test_bad_configuration(void **state)
{
    (void) state;
    httpd_config_t config = { .name = "test", .address = "localhost", .port = 1 };
    assert_null(httpd_new(&config, s_routes, 1, NULL));   /* not an IP address */
    config.address = "127.0.0.1";
    config.port = 70000;
    assert_null(httpd_new(&config, s_routes, 1, NULL));
    config.port = 0;
    config.name = "";
    assert_null(httpd_new(&config, s_routes, 1, NULL));
    config.name = "inert";
    httpd_t *h = httpd_new(&config, s_routes, 1, NULL);   /* port 0: no port, valid */
    assert_non_null(h);
    httpd_destroy(&h);
}

int main(void)
{
    log_init("test_httpd", LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes_and_request),
        cmocka_unit_test(test_unknown_path_and_method),
        cmocka_unit_test(test_body_limit),
        cmocka_unit_test(test_own_refusals_in_the_servers_form),
        cmocka_unit_test(test_strict_arguments),
        cmocka_unit_test(test_path_parameters),
        cmocka_unit_test(test_security_headers_and_added_ones),
        cmocka_unit_test(test_etag_and_if_none_match),
        cmocka_unit_test(test_bad_configuration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
