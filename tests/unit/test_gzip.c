/*  Unit tests: gzip, response compression: Accept-Encoding's q-values, the
 *  round trip through zlib, and httpd's replies over loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define ZLIB_CONST
#include <zlib.h>

#include "eqms/gzip.h"
#include "eqms/httpd.h"
#include "httptest.h"

/* `len` bytes of gzip data inflated into `out` (at most `size`); returns
 * the inflated length, -1 when it is not one whole gzip member. */
static long s_gunzip(const void *in, size_t len, char *out, size_t size)
{
    z_stream z = { 0 };
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = in;
    z.avail_in = (uInt) len;
    z.next_out = (Bytef *) out;
    z.avail_out = (uInt) size;
    int rc = inflate(&z, Z_FINISH);
    long n = rc == Z_STREAM_END && z.avail_in == 0 ? (long) (size - z.avail_out) : -1;
    inflateEnd(&z);
    return n;
}

static void test_accept_encoding(void **state)
{
    (void) state;
    assert_false(gzip_accepted(NULL));
    assert_false(gzip_accepted(""));
    assert_true(gzip_accepted("gzip"));
    assert_true(gzip_accepted("GZIP"));
    assert_true(gzip_accepted("x-gzip"));
    assert_true(gzip_accepted("gzip, deflate, br"));
    assert_true(gzip_accepted("br;q=1.0, gzip;q=0.8, *;q=0.1"));
    assert_true(gzip_accepted("deflate , gzip ; q=0.001"));
    assert_false(gzip_accepted("deflate, br"));
    assert_false(gzip_accepted("identity"));
    assert_false(gzip_accepted("gzip;q=0"));
    assert_false(gzip_accepted("gzip;q=0.000"));
    assert_false(gzip_accepted("gzip; q=0, *"));          /* named beats the wildcard */
    assert_true(gzip_accepted("*"));
    assert_false(gzip_accepted("*;q=0"));
    assert_true(gzip_accepted("gzip;level=1"));           /* other parameters ignored */
    assert_false(gzip_accepted("gzip;q=2"));               /* malformed q: not acceptable */
    assert_false(gzip_accepted("gzip;q=0.5x"));
    assert_false(gzip_accepted("gzip;q=1.5"));
    assert_false(gzip_accepted("gzipper, xgzip"));
}

static void test_round_trip(void **state)
{
    (void) state;
    static char in[64 * 1024], back[sizeof in];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = "{\"window\":12,\"waiting\":3}\n"[i % 27];
    size_t len = 0;
    char *packed = gzip_compress(in, sizeof in, &len);
    assert_non_null(packed);
    assert_true(len > 18 && len < sizeof in / 10);
    assert_int_equal(s_gunzip(packed, len, back, sizeof back), (long) sizeof in);
    assert_memory_equal(back, in, sizeof in);
    free(packed);
    packed = gzip_compress("", 0, &len);                   /* empty: still a member */
    assert_non_null(packed);
    assert_int_equal(s_gunzip(packed, len, back, sizeof back), 0);
    free(packed);
}

/* --- through httpd ---------------------------------------------------------------- */

#define S_BIG 5000

static void s_sized(void *ctx, const httpd_req_t *req, httpd_reply_t *reply)
{
    (void) ctx;
    const char *n = httpd_req_arg(req, "n");
    size_t len = n ? strtoul(n, NULL, 10) : 0;
    char *body = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        body[i] = "0123456789abcdef"[(i * 7) % 16];
    body[len] = '\0';
    httpd_reply_take(reply, 200, "application/json", &body);
    reply->identity = httpd_req_arg(req, "identity") != NULL;
}

static const httpd_route_t s_routes[] = { { "GET", "/sized", s_sized } };

static httpd_t *s_start_etag(int *port, bool etag)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        *port = httptest_free_port();
        httpd_config_t config = { .name = "test", .address = "127.0.0.1", .port = *port,
                                  .etag = etag };
        httpd_t *h = httpd_new(&config, s_routes, 1, NULL);
        if (h)
            return h;
    }
    fail_msg("no free port");
    return NULL;
}

static httpd_t *s_start(int *port)
{
    return s_start_etag(port, false);
}

typedef struct {
    char raw[32 * 1024];
    const char *headers;            /* in raw, the blank line cut */
    const char *body;
    size_t len;
} s_reply_t;

static void s_get(int port, const char *target, const char *accept, s_reply_t *r)
{
    char request[256];
    snprintf(request, sizeof request, "GET %s HTTP/1.0\r\n%s%s%s\r\n", target,
             accept ? "Accept-Encoding: " : "", accept ? accept : "", accept ? "\r\n" : "");
    size_t got = httptest_raw(port, request, r->raw, sizeof r->raw);
    char *end = strstr(r->raw, "\r\n\r\n");
    assert_non_null(end);
    *end = '\0';
    r->headers = r->raw;
    r->body = end + 4;
    r->len = got - (size_t) (end + 4 - r->raw);
}

/* The body that /sized?n=`n` answers, in `out`. */
static void s_expected(size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = "0123456789abcdef"[(i * 7) % 16];
}

static void test_httpd_compresses_large_replies(void **state)
{
    (void) state;
    int port;
    httpd_t *h = s_start(&port);
    static s_reply_t r;
    static char want[S_BIG], back[S_BIG + 16];
    s_expected(S_BIG, want);

    s_get(port, "/sized?n=5000", "gzip, deflate", &r);
    int status = 0;
    assert_int_equal(sscanf(r.headers, "HTTP/1.%*d %d", &status), 1);
    assert_int_equal(status, 200);
    assert_non_null(strstr(r.headers, "Content-Encoding: gzip"));
    assert_non_null(strstr(r.headers, "Vary: Accept-Encoding"));
    assert_non_null(strstr(r.headers, "Content-Type: application/json"));
    assert_true(r.len < S_BIG / 4);
    assert_int_equal(s_gunzip(r.body, r.len, back, sizeof back), S_BIG);
    assert_memory_equal(back, want, S_BIG);

    /* refused, or not asked for: the body as it is, still Vary */
    const char *refusals[] = { "gzip;q=0", "br", NULL };
    for (int i = 0; i < 3; i++) {
        s_get(port, "/sized?n=5000", refusals[i], &r);
        assert_null(strstr(r.headers, "Content-Encoding"));
        assert_non_null(strstr(r.headers, "Vary: Accept-Encoding"));
        assert_int_equal(r.len, S_BIG);
        assert_memory_equal(r.body, want, S_BIG);
    }

    /* small: never compressed, nothing varies */
    s_get(port, "/sized?n=1023", "gzip", &r);
    assert_null(strstr(r.headers, "Content-Encoding"));
    assert_null(strstr(r.headers, "Vary"));
    assert_int_equal(r.len, 1023);
    s_get(port, "/sized?n=1024", "gzip", &r);
    assert_non_null(strstr(r.headers, "Content-Encoding: gzip"));
    assert_int_equal(s_gunzip(r.body, r.len, back, sizeof back), 1024);

    /* opted out (an XLSX is a zip already) */
    s_get(port, "/sized?n=5000&identity", "gzip", &r);
    assert_null(strstr(r.headers, "Content-Encoding"));
    assert_null(strstr(r.headers, "Vary"));
    assert_int_equal(r.len, S_BIG);
    httpd_destroy(&h);
}

/* A compressed body is another representation of the resource: its ETag
 * is weak, and either tag in If-None-Match gives 304. */
static void test_a_compressed_body_has_a_weak_etag(void **state)
{
    (void) state;
    int port;
    httpd_t *h = s_start_etag(&port, true);
    static s_reply_t r;
    s_get(port, "/sized?n=5000", NULL, &r);
    const char *e = strstr(r.headers, "ETag: ");
    assert_non_null(e);
    char strong[64];
    size_t n = strcspn(e + 6, "\r\n");
    assert_true(n == 34 && e[6] == '"');
    memcpy(strong, e + 6, n);
    strong[n] = '\0';
    s_get(port, "/sized?n=5000", "gzip", &r);
    assert_non_null(strstr(r.headers, "Content-Encoding: gzip"));
    char weak[80];
    snprintf(weak, sizeof weak, "ETag: W/%s", strong);
    assert_non_null(strstr(r.headers, weak));
    char target[160];
    for (int i = 0; i < 2; i++) {
        /* the If-None-Match line rides in the target; "X-A:" takes s_get's
         * " HTTP/1.0" as its value */
        snprintf(target, sizeof target, "/sized?n=5000 HTTP/1.0\r\nIf-None-Match: %s%s\r\nX-A:",
                 i ? "W/" : "", strong);
        s_get(port, target, "gzip", &r);
        int status = 0;
        assert_int_equal(sscanf(r.headers, "HTTP/1.%*d %d", &status), 1);
        assert_int_equal(status, 304);
        assert_int_equal(r.len, 0);
    }
    httpd_destroy(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_encoding),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_httpd_compresses_large_replies),
        cmocka_unit_test(test_a_compressed_body_has_a_weak_etag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
