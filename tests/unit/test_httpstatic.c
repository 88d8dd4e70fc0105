/*  Unit tests: httpstatic, the console's files behind httpd: decoding the
 *  target strictly, content types, cache headers, the single-page app's
 *  fallback, and never a file outside the directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eqms/httpd.h"
#include "eqms/httpstatic.h"
#include "eqms/problem.h"
#include "httptest.h"
#include "tmpdir.h"

static void test_resolve(void **state)
{
    (void) state;
    char rel[256];
    const char *reason;
    assert_int_equal(httpstatic_resolve("/", rel, sizeof rel, &reason), 0);
    assert_string_equal(rel, "");
    assert_int_equal(httpstatic_resolve("/assets/app.1a2b.js?v=1", rel, sizeof rel, &reason), 0);
    assert_string_equal(rel, "assets/app.1a2b.js");
    assert_int_equal(httpstatic_resolve("/halls/3/", rel, sizeof rel, &reason), 0);
    assert_string_equal(rel, "halls/3/");
    assert_int_equal(httpstatic_resolve("//a//b", rel, sizeof rel, &reason), 0);
    assert_string_equal(rel, "a/b");
    assert_int_equal(httpstatic_resolve("/%E5%A4%A7%E5%8E%85", rel, sizeof rel, &reason), 0);
    assert_string_equal(rel, "大厅");

    const char *bad[] = { "/../etc/passwd", "/a/../../etc/passwd", "/%2e%2e/etc/passwd",
                          "/%2E%2E%2fetc%2fpasswd", "/a/%2e%2e/b", "/a%2fb", "/a%5cb",
                          "/a\\..\\b", "/index.html%00.png", "/a%0a", "/a%zz", "/a%4",
                          "/.", "/a/..", "relative" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reason = NULL;
        assert_int_equal(httpstatic_resolve(bad[i], rel, sizeof rel, &reason), 400);
        assert_non_null(reason);
    }
    assert_int_equal(httpstatic_resolve("/.git/config", rel, sizeof rel, &reason), 404);
    assert_int_equal(httpstatic_resolve("/a/.env", rel, sizeof rel, &reason), 404);
    char tiny[8];
    assert_int_equal(httpstatic_resolve("/a-long-name.js", tiny, sizeof tiny, &reason), 404);
}

static void test_content_types(void **state)
{
    (void) state;
    assert_string_equal(httpstatic_content_type("index.html"), "text/html; charset=utf-8");
    assert_string_equal(httpstatic_content_type("assets/app.JS"),
                        "text/javascript; charset=utf-8");
    assert_string_equal(httpstatic_content_type("a.css"), "text/css; charset=utf-8");
    assert_string_equal(httpstatic_content_type("a/b.svg"), "image/svg+xml");
    assert_string_equal(httpstatic_content_type("f.woff2"), "font/woff2");
    assert_string_equal(httpstatic_content_type("x.png"), "image/png");
    assert_string_equal(httpstatic_content_type("x.unknown"), "application/octet-stream");
    assert_string_equal(httpstatic_content_type("a.b/noext"), "application/octet-stream");
}

/* --- over loopback ----------------------------------------------------------------- */

static void s_api(void *ctx, const httpd_req_t *req, httpd_reply_t *reply)
{
    (void) ctx;
    (void) req;
    httpd_reply_text(reply, 200, "api");
}

static const httpd_route_t s_routes[] = { { "GET", "/api/v1/me", s_api } };

static void s_write(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

typedef struct {
    char *root;                 /* holds www/ (served) and secret.txt (outside it) */
    char www[300];
    httpstatic_t *files;
    httpd_t *http;
    int port;
} s_fixture_t;

static int s_setup(void **state)
{
    s_fixture_t *f = calloc(1, sizeof *f);
    f->root = tmpdir_new("httpstatic");
    assert_non_null(f->root);
    snprintf(f->www, sizeof f->www, "%s/www", f->root);
    assert_int_equal(mkdir(f->www, 0755), 0);
    char assets[320];
    snprintf(assets, sizeof assets, "%s/assets", f->www);
    assert_int_equal(mkdir(assets, 0755), 0);
    s_write(f->root, "secret.txt", "SECRET");
    s_write(f->www, "index.html", "<!doctype html><title>EQMS</title>");
    s_write(f->www, ".env", "HIDDEN");
    s_write(assets, "app.1a2b.js", "console.log(1)");
    char big[4096];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    s_write(assets, "big.css", big);
    char link[400], target[400];
    snprintf(link, sizeof link, "%s/leak.txt", f->www);
    snprintf(target, sizeof target, "%s/secret.txt", f->root);
    assert_int_equal(symlink(target, link), 0);
    snprintf(link, sizeof link, "%s/up", f->www);
    assert_int_equal(symlink("..", link), 0);
    snprintf(link, sizeof link, "%s/same.js", f->www);
    assert_int_equal(symlink("assets/app.1a2b.js", link), 0);
    f->files = httpstatic_new(f->www, "/api/");
    assert_non_null(f->files);
    for (int attempt = 0; attempt < 20 && !f->http; attempt++) {
        f->port = httptest_free_port();
        httpd_config_t config = { .name = "test", .address = "127.0.0.1", .port = f->port,
                                  .refusal = problem_httpd_refusal, .etag = true,
                                  .fallback = httpstatic_handle, .fallback_ctx = f->files };
        f->http = httpd_new(&config, s_routes, 1, NULL);
    }
    assert_non_null(f->http);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    s_fixture_t *f = *state;
    httpd_destroy(&f->http);
    httpstatic_destroy(&f->files);
    assert_int_equal(tmpdir_remove(&f->root), 0);
    free(f);
    return 0;
}

static void s_get(const s_fixture_t *f, const char *target, const char *extra,
                  httptest_reply_t *r)
{
    char request[1024];
    snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n",
             target, extra ? extra : "");
    httptest(f->port, request, r);
}

/* GET `target` answers index.html, revalidated, as a page. */
static void s_expect_index(const s_fixture_t *f, const char *target, httptest_reply_t *r)
{
    s_get(f, target, NULL, r);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, "<!doctype html><title>EQMS</title>");
    assert_non_null(strstr(r->headers, "Content-Type: text/html; charset=utf-8"));
    assert_non_null(strstr(r->headers, "Cache-Control: no-cache"));
    assert_non_null(strstr(r->headers, "Content-Security-Policy: default-src 'self'"));
}

static void test_serves_files(void **state)
{
    s_fixture_t *f = *state;
    httptest_reply_t r;
    s_expect_index(f, "/", &r);
    assert_non_null(strstr(r.headers, "ETag: \""));

    s_get(f, "/assets/app.1a2b.js", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "console.log(1)");
    assert_non_null(strstr(r.headers, "text/javascript"));
    assert_non_null(strstr(r.headers, "Cache-Control: public, max-age=31536000, immutable"));
    assert_non_null(strstr(r.headers, "Content-Security-Policy: default-src 'none'"));
    /* revalidation */
    char etag[64], extra[128];
    const char *e = strstr(r.headers, "ETag: ");
    assert_non_null(e);
    snprintf(etag, sizeof etag, "%.*s", (int) strcspn(e + 6, "\r\n"), e + 6);
    snprintf(extra, sizeof extra, "If-None-Match: %s\r\n", etag);
    s_get(f, "/assets/app.1a2b.js", extra, &r);
    assert_int_equal(r.status, 304);
    /* gzip for a large text file */
    s_get(f, "/assets/big.css", "Accept-Encoding: gzip\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.headers, "Content-Encoding: gzip"));
    /* a link inside the directory is followed */
    s_get(f, "/same.js", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "console.log(1)");
    /* the API's own routes still answer */
    s_get(f, "/api/v1/me", NULL, &r);
    assert_string_equal(r.body, "api");
}

static void test_single_page_fallback(void **state)
{
    s_fixture_t *f = *state;
    httptest_reply_t r;
    s_expect_index(f, "/halls/3", &r);
    s_expect_index(f, "/stats/branches/", &r);
    /* files that are not there, and the API, are not pages */
    s_get(f, "/assets/gone.js", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.headers, "application/problem+json"));
    s_get(f, "/favicon.ico", NULL, &r);
    assert_int_equal(r.status, 404);
    s_get(f, "/api/v1/nothing", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_null(strstr(r.body, "EQMS</title>"));
    /* only reads */
    httptest(f->port, "POST /halls/3 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                      "Connection: close\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
}

static void test_never_outside(void **state)
{
    s_fixture_t *f = *state;
    httptest_reply_t r;
    const char *targets[] = { "/../secret.txt", "/assets/../../secret.txt",
                              "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt",
                              "/assets/%2e%2e%2f%2e%2e%2fsecret.txt", "/..%5csecret.txt",
                              "/assets\\..\\..\\secret.txt", "/index.html%00.js",
                              "/leak.txt", "/up/secret.txt", "/.env" };
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        s_get(f, targets[i], NULL, &r);
        if (r.status != 400 && r.status != 404)
            fail_msg("%s answered %d", targets[i], r.status);
        assert_null(strstr(r.body, "SECRET"));
        assert_null(strstr(r.body, "HIDDEN"));
        assert_null(strstr(r.body, "EQMS</title>"));
    }
    /* and still serves */
    s_get(f, "/", NULL, &r);
    assert_int_equal(r.status, 200);
}

static void test_bad_directory(void **state)
{
    (void) state;
    assert_null(httpstatic_new("/nonexistent/eqms-www", "/api/"));
    assert_null(httpstatic_new("/etc/hostname", "/api/"));
    assert_null(httpstatic_new(NULL, "/api/"));
    httpstatic_t *none = NULL;
    httpstatic_destroy(&none);
    httpstatic_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_content_types),
        cmocka_unit_test_setup_teardown(test_serves_files, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_single_page_fallback, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_never_outside, s_setup, s_teardown),
        cmocka_unit_test(test_bad_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
