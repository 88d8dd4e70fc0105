/*  Unit tests: httpcors, the origin policy (CORS) and the CSRF rule, as
 *  functions and through httpd over loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/httpcors.h"
#include "eqms/httpd.h"
#include "eqms/problem.h"
#include "httptest.h"

static void test_origin_list(void **state)
{
    (void) state;
    char reason[160];
    httpcors_t *c = httpcors_new(" https://console.example.com , http://127.0.0.1:8081,"
                                 "http://[::1]:9000", reason, sizeof reason);
    assert_non_null(c);
    assert_int_equal(httpcors_count(c), 3);
    assert_true(httpcors_allowed(c, "https://console.example.com"));
    assert_true(httpcors_allowed(c, "HTTPS://Console.Example.com"));
    assert_true(httpcors_allowed(c, "http://127.0.0.1:8081"));
    assert_true(httpcors_allowed(c, "http://[::1]:9000"));
    assert_false(httpcors_allowed(c, "http://console.example.com"));   /* scheme */
    assert_false(httpcors_allowed(c, "https://console.example.com:444"));
    assert_false(httpcors_allowed(c, "https://console.example.com.evil.net"));
    assert_false(httpcors_allowed(c, "http://127.0.0.1:808"));
    assert_false(httpcors_allowed(c, "null"));
    assert_false(httpcors_allowed(c, NULL));
    httpcors_destroy(&c);
    assert_null(c);
    httpcors_destroy(&c);

    /* none by default */
    c = httpcors_new(NULL, reason, sizeof reason);
    assert_non_null(c);
    assert_int_equal(httpcors_count(c), 0);
    assert_false(httpcors_allowed(c, "https://console.example.com"));
    httpcors_destroy(&c);
    c = httpcors_new("", reason, sizeof reason);
    assert_int_equal(httpcors_count(c), 0);
    httpcors_destroy(&c);

    /* not origins: refused naming the entry */
    const char *bad[] = { "*", "https://a.example/path", "ftp://a.example", "a.example",
                          "https://", "https://a.example:", "https://a.example:123456",
                          "https://a b.example", "https://a.example,null" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reason[0] = '\0';
        assert_null(httpcors_new(bad[i], reason, sizeof reason));
        assert_non_null(strstr(reason, "not an origin"));
    }
}

static void test_same_origin_and_json(void **state)
{
    (void) state;
    assert_true(httpcors_same_origin("http://eqms.example:8080", "eqms.example:8080"));
    assert_true(httpcors_same_origin("https://EQMS.example", "eqms.example"));
    assert_false(httpcors_same_origin("http://eqms.example:8080", "eqms.example"));
    assert_false(httpcors_same_origin("http://evil.example", "eqms.example"));
    assert_false(httpcors_same_origin("null", "eqms.example"));
    assert_false(httpcors_same_origin("http://eqms.example", NULL));

    assert_true(httpcors_is_json("application/json"));
    assert_true(httpcors_is_json("application/json; charset=utf-8"));
    assert_true(httpcors_is_json("Application/JSON"));
    assert_true(httpcors_is_json("application/merge-patch+json"));
    assert_false(httpcors_is_json("text/plain"));
    assert_false(httpcors_is_json("application/x-www-form-urlencoded"));
    assert_false(httpcors_is_json("multipart/form-data; boundary=x"));
    assert_false(httpcors_is_json("application/jsonp"));
    assert_false(httpcors_is_json("text/json+x"));
    assert_false(httpcors_is_json(NULL));

    assert_true(httpcors_state_changing("POST"));
    assert_true(httpcors_state_changing("DELETE"));
    assert_false(httpcors_state_changing("GET"));
    assert_false(httpcors_state_changing("HEAD"));
    assert_false(httpcors_state_changing("OPTIONS"));
}

static void test_csrf_rule(void **state)
{
    (void) state;
    char reason[160];
    httpcors_t *c = httpcors_new("https://console.example.com", reason, sizeof reason);
    const char *json = "application/json";
    /* machine clients: no Origin */
    assert_null(httpcors_csrf_refusal(c, "POST", NULL, "h:1", NULL, json, true));
    assert_null(httpcors_csrf_refusal(c, "DELETE", NULL, "h:1", NULL, NULL, false));
    /* the same origin, or an allowed one */
    assert_null(httpcors_csrf_refusal(c, "POST", "http://h:1", "h:1", "same-origin", json,
                                      true));
    assert_null(httpcors_csrf_refusal(c, "PATCH", "https://console.example.com", "h:1",
                                      "cross-site", json, true));
    /* another site */
    assert_non_null(httpcors_csrf_refusal(c, "POST", "https://evil.example", "h:1", NULL,
                                          json, true));
    assert_non_null(httpcors_csrf_refusal(c, "POST", "null", "h:1", NULL, json, true));
    assert_non_null(httpcors_csrf_refusal(c, "DELETE", NULL, "h:1", "cross-site", NULL,
                                          false));
    /* a form's body */
    assert_non_null(httpcors_csrf_refusal(c, "POST", NULL, "h:1", NULL, "text/plain", true));
    assert_non_null(httpcors_csrf_refusal(c, "POST", NULL, "h:1", NULL, NULL, true));
    assert_non_null(httpcors_csrf_refusal(
        c, "PUT", "http://h:1", "h:1", NULL, "application/x-www-form-urlencoded", true));
    /* reads are never refused */
    assert_null(httpcors_csrf_refusal(c, "GET", "https://evil.example", "h:1", "cross-site",
                                      "text/plain", true));
    httpcors_destroy(&c);
}

static void test_preflight_rule(void **state)
{
    (void) state;
    char reason[256];
    httpcors_t *c = httpcors_new("https://console.example.com", reason, sizeof reason);
    const char *ok = "https://console.example.com";
    assert_null(httpcors_preflight_refusal(c, ok, "POST", "GET, HEAD, POST", NULL, reason,
                                           sizeof reason));
    assert_null(httpcors_preflight_refusal(c, ok, "PATCH", "GET, HEAD, PATCH",
                                           "content-type,authorization", reason,
                                           sizeof reason));
    assert_non_null(httpcors_preflight_refusal(c, "https://evil.example", "POST", "POST",
                                               NULL, reason, sizeof reason));
    assert_non_null(strstr(reason, "not allowed"));
    assert_non_null(httpcors_preflight_refusal(c, ok, "DELETE", "GET, HEAD, POST", NULL,
                                               reason, sizeof reason));
    assert_non_null(strstr(reason, "DELETE"));
    assert_non_null(httpcors_preflight_refusal(c, ok, "POST", "", NULL, reason,
                                               sizeof reason));
    assert_non_null(httpcors_preflight_refusal(c, ok, "POST", "POST", "x-secret, content-type",
                                               reason, sizeof reason));
    assert_non_null(strstr(reason, "x-secret"));
    httpcors_destroy(&c);
}

/* --- through httpd ---------------------------------------------------------------- */

static void s_ok(void *ctx, const httpd_req_t *req, httpd_reply_t *reply)
{
    int *calls = ctx;
    (*calls)++;
    httpd_reply_text(reply, 200, "%s done", httpd_req_method(req));
}

static const httpd_route_t s_routes[] = {
    { "GET", "/things", s_ok },
    { "POST", "/things", s_ok },
};

static httpd_t *s_start(int *calls, int *port, const char *origins)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        *port = httptest_free_port();
        httpd_config_t config = { .name = "test", .address = "127.0.0.1", .port = *port,
                                  .refusal = problem_httpd_refusal, .cors_origins = origins,
                                  .csrf = true };
        httpd_t *h = httpd_new(&config, s_routes, 2, calls);
        if (h)
            return h;
    }
    fail_msg("no free port");
    return NULL;
}

static const char *const s_none[] = { NULL };

/* Sends `request`, expects `status`, each of `headers` (NULL-ended) among
 * the answer's headers and `body` (NULL: anything) in its body; the
 * answer in *r. */
static void s_expect(int port, const char *request, int status, const char *const *headers,
                     const char *body, httptest_reply_t *r)
{
    httptest(port, request, r);
    assert_int_equal(r->status, status);
    for (const char *const *h = headers; *h; h++)
        if (!strstr(r->headers, *h))
            fail_msg("no \"%s\" in:\n%s", *h, r->headers);
    if (body && !strstr(r->body, body))
        fail_msg("no \"%s\" in: %s", body, r->body);
}

static void test_through_httpd(void **state)
{
    (void) state;
    int calls = 0, port;
    httpd_t *h = s_start(&calls, &port, "https://console.example.com");
    httptest_reply_t r;

    /* an allowed origin's preflight and request */
    s_expect(port, "OPTIONS /things HTTP/1.1\r\nHost: x\r\nOrigin: https://console.example.com"
                   "\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers:"
                   " authorization, content-type\r\nConnection: close\r\n\r\n", 204,
             (const char *const[]) { "Access-Control-Allow-Origin: https://console.example.com",
                                     "Access-Control-Allow-Methods: GET, HEAD, POST",
                                     "Access-Control-Allow-Headers: Authorization",
                                     "Access-Control-Max-Age: 600", "Vary: Origin", NULL },
             NULL, &r);
    assert_int_equal(calls, 0);
    s_expect(port, "POST /things HTTP/1.1\r\nHost: x\r\nOrigin: https://console.example.com"
                   "\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
                   "Connection: close\r\n\r\n{}", 200,
             (const char *const[]) { "Access-Control-Allow-Origin: https://console.example.com",
                                     "Access-Control-Expose-Headers: ETag", NULL },
             NULL, &r);
    assert_int_equal(calls, 1);

    /* another origin: no CORS headers on a read, 403 for its preflight
     * and its state-changing request, the handler never called */
    s_expect(port, "GET /things HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n"
                   "Connection: close\r\n\r\n", 200, s_none, NULL, &r);
    assert_null(strstr(r.headers, "Access-Control-Allow-Origin"));
    assert_int_equal(calls, 2);
    s_expect(port, "OPTIONS /things HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n"
                   "Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n", 403, s_none,
             "not allowed", &r);
    assert_null(strstr(r.headers, "Access-Control-Allow-Origin"));
    s_expect(port, "POST /things HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n"
                   "Content-Type: application/json\r\nContent-Length: 2\r\n"
                   "Connection: close\r\n\r\n{}", 403, s_none, "another origin", &r);
    /* a form's body, even from no origin at all */
    s_expect(port, "POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                   "Content-Length: 2\r\nConnection: close\r\n\r\n{}", 403, s_none,
             "application/json", &r);
    assert_int_equal(calls, 2);
    /* the same origin (by Host) */
    s_expect(port, "POST /things HTTP/1.1\r\nHost: eqms.example:8080\r\n"
                   "Origin: http://eqms.example:8080\r\nContent-Type: application/json\r\n"
                   "Content-Length: 2\r\nConnection: close\r\n\r\n{}", 200, s_none, NULL, &r);
    assert_int_equal(calls, 3);
    httpd_destroy(&h);

    /* no origins configured: no Vary: Origin, every preflight refused */
    h = s_start(&calls, &port, NULL);
    s_expect(port, "OPTIONS /things HTTP/1.1\r\nHost: x\r\nOrigin: https://console.example.com"
                   "\r\nAccess-Control-Request-Method: GET\r\nConnection: close\r\n\r\n", 403,
             s_none, NULL, &r);
    s_expect(port, "GET /things HTTP/1.1\r\nHost: x\r\nOrigin: https://console.example.com"
                   "\r\nConnection: close\r\n\r\n", 200, s_none, NULL, &r);
    assert_null(strstr(r.headers, "Access-Control"));
    assert_null(strstr(r.headers, "Vary: Origin"));
    httpd_destroy(&h);

    /* an invalid list fails the server */
    httpd_config_t config = { .name = "test", .address = "127.0.0.1", .port = 0,
                              .cors_origins = "*" };
    assert_null(httpd_new(&config, s_routes, 2, &calls));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_origin_list),
        cmocka_unit_test(test_same_origin_and_json),
        cmocka_unit_test(test_csrf_rule),
        cmocka_unit_test(test_preflight_rule),
        cmocka_unit_test(test_through_httpd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
