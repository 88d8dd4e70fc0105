/*  Unit tests: problem, RFC 9457 Problem Details: the bodies, and the
 *  answers of a live httpd whose handler decodes with jsonreq. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/jsonreq.h"
#include "eqms/log.h"
#include "eqms/problem.h"
#include "httptest.h"

/* The body parsed back, duplicates refused (the caller json_decref's it). */
static json_t *parse(const char *body)
{
    json_error_t error;
    json_t *j = json_loads(body, JSON_REJECT_DUPLICATES, &error);
    if (!j)
        fail_msg("not JSON (%s): %s", error.text, body);
    return j;
}

static const char *str(const json_t *j, const char *key)
{
    return json_string_value(json_object_get(j, key));
}

static void test_encode_minimal_and_full(void **state)
{
    (void) state;
    problem_t p = { .status = 404 };
    size_t len;
    char *body = problem_encode(&p, &len);
    assert_string_equal(body, "{\"type\":\"about:blank\",\"title\":\"Not Found\",\"status\":404}");
    assert_int_equal(len, strlen(body));
    free(body);

    jsonreq_errors_t errors = { 0 };
    jsonreq_errors_add(&errors, NULL, "not valid JSON: end of file at byte 3");
    jsonreq_errors_add(&errors, "window.id", "must be an integer >= 1");
    p = (problem_t) { .status = 409, .type = "urn:eqms:problem:login-taken",
                      .title = "Login taken", .detail = "\"ana\" is \"taken\"\n",
                      .instance = "/api/v1/users", .errors = &errors };
    body = problem_encode(&p, NULL);
    json_t *j = parse(body);
    assert_string_equal(str(j, "type"), "urn:eqms:problem:login-taken");
    assert_string_equal(str(j, "title"), "Login taken");
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 409);
    assert_string_equal(str(j, "detail"), "\"ana\" is \"taken\"\n");
    assert_string_equal(str(j, "instance"), "/api/v1/users");
    json_t *list = json_object_get(j, "errors");
    assert_int_equal(json_array_size(list), 2);
    assert_null(json_object_get(json_array_get(list, 0), "member"));   /* body-wide */
    assert_string_equal(str(json_array_get(list, 0), "reason"),
                        "not valid JSON: end of file at byte 3");
    assert_string_equal(str(json_array_get(list, 1), "member"), "window.id");
    assert_string_equal(str(json_array_get(list, 1), "reason"), "must be an integer >= 1");
    assert_int_equal(json_object_size(j), 6);
    json_decref(j);
    free(body);
}

static void test_extension_members(void **state)
{
    (void) state;
    problem_t p = { .status = 429, .type = "urn:eqms:problem:account-locked",
                    .ext = { { "locked_until", "2026-01-02T03:04:05.000Z" },
                             { "status", "forged" },        /* standard: left out */
                             { "bad", "\xff" },             /* not UTF-8: left out */
                             { NULL, "x" } } };
    char *body = problem_encode(&p, NULL);
    json_t *j = parse(body);
    assert_string_equal(str(j, "locked_until"), "2026-01-02T03:04:05.000Z");
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 429);
    assert_null(json_object_get(j, "bad"));
    assert_int_equal(json_object_size(j), 4);    /* type, title, status, locked_until */
    json_decref(j);
    free(body);
}

static void test_bad_input_still_answers(void **state)
{
    (void) state;
    /* a detail that is not UTF-8 (a path echoed back) is left out */
    problem_t p = { .status = 400, .detail = "bad \xff byte", .instance = "/x\xc3" };
    char *body = problem_encode(&p, NULL);
    assert_string_equal(body, "{\"type\":\"about:blank\",\"title\":\"Bad Request\",\"status\":400}");
    free(body);
    /* a status that is no error is a 500 */
    p = (problem_t) { .status = 200, .detail = "fine" };
    body = problem_encode(&p, NULL);
    json_t *j = parse(body);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 500);
    assert_string_equal(str(j, "title"), "Internal Server Error");
    json_decref(j);
    free(body);
    /* a detail too long for a body: type, title and status remain */
    size_t n = 100 * 1024;
    char *huge = malloc(n + 1);
    memset(huge, 'x', n);
    huge[n] = '\0';
    p = (problem_t) { .status = 503, .title = "Busy", .detail = huge };
    body = problem_encode(&p, NULL);
    assert_string_equal(body, "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\","
                              "\"status\":503}");
    free(body);
    free(huge);
}

/* --- through httpd --------------------------------------------------------------- */

static const jsonreq_member_t s_members[] = {
    { "name", JSONREQ_STRING, JSONREQ_REQUIRED, .min = 1, .max = 8 },
};
static const jsonreq_object_t s_spec = JSONREQ_OBJECT_OF(s_members);

static void s_create(void *ctx, const httpd_req_t *req, httpd_reply_t *reply)
{
    (void) ctx;
    size_t len;
    const char *text = httpd_req_body(req, &len);
    jsonreq_errors_t errors;
    json_t *body = jsonreq_decode(text, len, &s_spec, &errors);
    if (!body) {
        problem_reply_invalid(reply, httpd_req_path(req), &errors);
        return;
    }
    const char *name = json_string_value(json_object_get(body, "name"));
    if (strcmp(name, "taken") == 0)
        problem_replyf(reply, 409, httpd_req_path(req), "the name \"%s\" is taken", name);
    else if (strcmp(name, "unusable") == 0) {
        jsonreq_errors_add(&errors, "name", "is well formed but cannot be used");
        problem_reply_errors(reply, 422, httpd_req_path(req), &errors);
    }
    else
        httpd_reply_text(reply, 201, "created %s", name);
    json_decref(body);
}

static const httpd_route_t s_routes[] = {
    { "POST", "/api/v1/things", s_create },
};

static httpd_t *start(int *port)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        *port = httptest_free_port();
        httpd_config_t config = { .name = "test", .address = "127.0.0.1", .port = *port,
                                  .body_max = 64, .refusal = problem_httpd_refusal };
        httpd_t *h = httpd_new(&config, s_routes, 1, NULL);
        if (h)
            return h;
    }
    fail_msg("no free port");
    return NULL;
}

static void post(int port, const char *body, httptest_reply_t *r)
{
    char req[1024];
    int n = snprintf(req, sizeof req, "POST /api/v1/things HTTP/1.0\r\nContent-Length: %zu\r\n"
                     "\r\n%s", strlen(body), body);
    httptest_send(port, req, (size_t) n, r);
}

/* The reply is a problem of `status` with `title`: its body parsed (the
 * caller json_decref's it). */
static json_t *problem_of(const httptest_reply_t *r, int status, const char *title)
{
    assert_int_equal(r->status, status);
    assert_non_null(strstr(r->headers, "Content-Type: application/problem+json"));
    json_t *j = parse(r->body);
    assert_string_equal(str(j, "title"), title);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), status);
    return j;
}

static void test_answers_through_httpd(void **state)
{
    (void) state;
    int port;
    httpd_t *h = start(&port);
    httptest_reply_t r;

    post(port, "{\"name\":\"ok\"}", &r);
    assert_int_equal(r.status, 201);

    post(port, "{\"name\":\"\",\"admin\":true}", &r);
    json_t *j = problem_of(&r, 400, "Bad Request");
    assert_non_null(strstr(r.headers, "X-Content-Type-Options: nosniff"));
    assert_string_equal(str(j, "instance"), "/api/v1/things");
    assert_string_equal(str(j, "detail"), "\"admin\": unknown member (known: name); "
                                          "\"name\": must be a string of 1..8 characters");
    json_t *list = json_object_get(j, "errors");
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(str(json_array_get(list, 0), "member"), "admin");
    assert_string_equal(str(json_array_get(list, 1), "member"), "name");
    json_decref(j);

    post(port, "{\"name\":\"taken\"}", &r);
    j = problem_of(&r, 409, "Conflict");
    assert_string_equal(str(j, "detail"), "the name \"taken\" is taken");
    assert_null(json_object_get(j, "errors"));
    json_decref(j);

    post(port, "{\"name\":\"unusable\"}", &r);
    j = problem_of(&r, 422, "Unprocessable Content");
    assert_string_equal(str(j, "detail"), "\"name\": is well formed but cannot be used");
    json_t *e = json_array_get(json_object_get(j, "errors"), 0);
    assert_string_equal(str(e, "member"), "name");
    json_decref(j);

    post(port, "{\"name\":\"a\" ", &r);
    j = problem_of(&r, 400, "Bad Request");
    assert_non_null(strstr(str(j, "detail"), "not valid JSON"));
    json_decref(j);

    /* httpd's own refusals in the same form */
    httptest(port, "GET /api/v1/nothing HTTP/1.0\r\n\r\n", &r);
    j = problem_of(&r, 404, "Not Found");
    assert_string_equal(str(j, "instance"), "/api/v1/nothing");
    json_decref(j);
    httptest(port, "GET /api/v1/things HTTP/1.0\r\n\r\n", &r);
    j = problem_of(&r, 405, "Method Not Allowed");
    assert_non_null(strstr(r.headers, "Allow: POST"));
    json_decref(j);
    char big[128];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    post(port, big, &r);
    j = problem_of(&r, 413, "Content Too Large");
    assert_string_equal(str(j, "detail"), "request body larger than 64 bytes");
    json_decref(j);
    httpd_destroy(&h);
}

int main(void)
{
    log_init("test_problem", LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_minimal_and_full),
        cmocka_unit_test(test_extension_members),
        cmocka_unit_test(test_bad_input_still_answers),
        cmocka_unit_test(test_answers_through_httpd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
