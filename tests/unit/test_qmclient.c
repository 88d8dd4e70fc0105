/*  Unit tests: qmclient, against a ROUTER socket in the test that plays
 *  queue-manager (its codec and timeout paths; the system tests use the
 *  real queue-manager). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "eqms/qmclient.h"

#define S_TICKET "{\"id\":\"019ac4a1-6b2e-7c3d-9a0b-5c6d7e8f9a0b\",\"number\":\"A012\"," \
    "\"service\":10,\"queue\":1,\"class\":\"ordinary\",\"state\":\"waiting\"," \
    "\"issued\":\"2026-11-28T01:00:02.000Z\",\"appointment\":null,\"transfer\":null," \
    "\"window\":null,\"staff\":null,\"recall\":0,\"called\":null,\"started\":null," \
    "\"finished\":null}"

typedef enum { S_OK, S_LATE_FIRST, S_SILENT, S_ERROR, S_ERROR_EXTRA, S_STOPPED, S_STOPPED_BAD,
               S_NOT_JSON, S_BAD_TICKET } s_mode_t;

typedef struct {
    zsock_t *router;
    char endpoint[128];
    pthread_t thread;
    atomic_int mode;
    atomic_bool stop;
    char last[4096];            /* the last request received */
    pthread_mutex_t lock;
} s_fake_t;

static void s_reply(zsock_t *router, zframe_t *who, const char *fmt, const char *id)
{
    char body[2048];
    snprintf(body, sizeof body, fmt, id);
    zframe_send(&who, router, ZFRAME_MORE | ZFRAME_REUSE);
    zstr_send(router, body);
}

static void *s_fake_run(void *arg)
{
    s_fake_t *f = arg;
    zpoller_t *poller = zpoller_new(f->router, NULL);
    while (!atomic_load(&f->stop)) {
        if (!zpoller_wait(poller, 50))
            continue;
        zmsg_t *msg = zmsg_recv(f->router);
        if (!msg)
            continue;
        zframe_t *who = zmsg_pop(msg);
        char *req = zmsg_popstr(msg);
        pthread_mutex_lock(&f->lock);
        snprintf(f->last, sizeof f->last, "%s", req ? req : "");
        pthread_mutex_unlock(&f->lock);
        json_t *j = json_loads(req ? req : "", 0, NULL);
        const char *id = json_string_value(json_object_get(j, "id"));
        id = id ? id : "";
        switch (atomic_load(&f->mode)) {
        case S_LATE_FIRST:
            s_reply(f->router, who, "{\"v\":1,\"id\":\"%s-old\",\"ok\":true,\"events\":0}", id);
            /* fall through */
        case S_OK:
            s_reply(f->router, who, "{\"v\":1,\"id\":\"%s\",\"ok\":true,\"events\":1,"
                    "\"ticket\":" S_TICKET ",\"position\":3,\"est_wait_s\":600}", id);
            break;
        case S_SILENT:
            break;
        case S_ERROR:
            s_reply(f->router, who, "{\"v\":1,\"id\":\"%s\",\"ok\":false,"
                    "\"error\":\"unknown_service\",\"reason\":\"no service DEP\"}", id);
            break;
        case S_ERROR_EXTRA:
            s_reply(f->router, who, "{\"v\":1,\"id\":\"%s\",\"ok\":false,"
                    "\"error\":\"invalid\",\"reason\":\"x\",\"extra\":1}", id);
            break;
        case S_STOPPED:
            s_reply(f->router, who, "{\"v\":1,\"id\":\"%s\",\"ok\":false,"
                    "\"error\":\"issuing_stopped\",\"reason\":\"x\","
                    "\"resumes\":\"2026-12-05T00:30:00.000Z\"}", id);
            break;
        case S_STOPPED_BAD:
            s_reply(f->router, who, "{\"v\":1,\"id\":\"%s\",\"ok\":false,"
                    "\"error\":\"closed\",\"reason\":\"x\",\"resumes\":\"tomorrow\"}", id);
            break;
        case S_NOT_JSON:
            s_reply(f->router, who, "not json %s", id);
            break;
        case S_BAD_TICKET:
            s_reply(f->router, who, "{\"v\":1,\"id\":\"%s\",\"ok\":true,\"events\":0,"
                    "\"ticket\":{\"id\":\"x\"},\"position\":null,\"est_wait_s\":null}", id);
            break;
        }
        json_decref(j);
        zstr_free(&req);
        zframe_destroy(&who);
        zmsg_destroy(&msg);
    }
    zpoller_destroy(&poller);
    return NULL;
}

static int s_setup(void **state)
{
    zsys_handler_set(NULL);
    s_fake_t *f = calloc(1, sizeof *f);
    f->router = zsock_new_router("tcp://127.0.0.1:*");
    assert_non_null(f->router);
    snprintf(f->endpoint, sizeof f->endpoint, "%s", zsock_endpoint(f->router));
    pthread_mutex_init(&f->lock, NULL);
    assert_int_equal(pthread_create(&f->thread, NULL, s_fake_run, f), 0);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    s_fake_t *f = *state;
    atomic_store(&f->stop, true);
    pthread_join(f->thread, NULL);
    zsock_destroy(&f->router);
    pthread_mutex_destroy(&f->lock);
    free(f);
    return 0;
}

static json_t *s_last(s_fake_t *f)
{
    pthread_mutex_lock(&f->lock);
    json_t *j = json_loads(f->last, 0, NULL);
    pthread_mutex_unlock(&f->lock);
    return j;
}

static void test_issue_is_sent_and_its_reply_decoded(void **state)
{
    s_fake_t *f = *state;
    atomic_store(&f->mode, S_OK);
    qmclient_t *qm = qmclient_new(f->endpoint, "sms.1");
    assert_non_null(qm);
    qmclient_reply_t reply;
    json_t *members = json_pack("{s:s, s:s}", "service_code", "cash", "phone",
                                "+8613800138000");
    assert_int_equal(qmclient_call(qm, "ticket.issue", "hq.r01.b0001", "sms", &members, 5000,
                                   &reply), 0);
    assert_null(members);
    assert_true(reply.ok);
    assert_int_equal(reply.events, 1);
    qmclient_ticket_reply_t t;
    char reason[256];
    assert_int_equal(qmclient_ticket_reply(&reply, &t, reason, sizeof reason), 0);
    assert_string_equal(t.ticket.number, "A012");
    assert_string_equal(t.ticket.state, "waiting");
    assert_int_equal(t.ticket.service, 10);
    assert_true(t.waiting);
    assert_int_equal(t.position, 3);
    assert_int_equal(t.est_wait_s, 600);
    qmclient_reply_clear(&reply);
    qmclient_reply_clear(&reply);

    json_t *req = s_last(f);
    assert_non_null(req);
    assert_int_equal(json_integer_value(json_object_get(req, "v")), 1);
    assert_string_equal(json_string_value(json_object_get(req, "op")), "ticket.issue");
    assert_string_equal(json_string_value(json_object_get(req, "branch")), "hq.r01.b0001");
    assert_string_equal(json_string_value(json_object_get(req, "actor")), "sms");
    assert_string_equal(json_string_value(json_object_get(req, "service_code")), "cash");
    assert_string_equal(json_string_value(json_object_get(req, "id")), "sms.1-1");
    json_decref(req);
    qmclient_destroy(&qm);
    assert_null(qm);
    qmclient_destroy(&qm);
}

static void test_a_late_reply_to_another_request_is_skipped(void **state)
{
    s_fake_t *f = *state;
    atomic_store(&f->mode, S_LATE_FIRST);
    qmclient_t *qm = qmclient_new(f->endpoint, "t");
    qmclient_reply_t reply;
    assert_int_equal(qmclient_call(qm, "ticket.get", "hq.r01.b0001", "sms", NULL, 5000,
                                   &reply), 0);
    assert_true(reply.ok);
    assert_string_equal(json_string_value(json_object_get(reply.body, "id")), "t-1");
    qmclient_reply_clear(&reply);
    qmclient_destroy(&qm);
}

static void test_no_reply_is_a_timeout(void **state)
{
    s_fake_t *f = *state;
    atomic_store(&f->mode, S_SILENT);
    qmclient_t *qm = qmclient_new(f->endpoint, "t");
    qmclient_reply_t reply;
    assert_int_equal(qmclient_call(qm, "ticket.issue", "hq.r01.b0001", "sms", NULL, 200,
                                   &reply), QMCLIENT_TIMEOUT);
    assert_null(reply.body);
    /* nothing listens at all: a timeout too */
    qmclient_t *nobody = qmclient_new("tcp://127.0.0.1:1", "t");
    assert_non_null(nobody);
    assert_int_equal(qmclient_call(nobody, "branch.state", "hq.r01.b0001", "sms", NULL, 100,
                                   &reply), QMCLIENT_TIMEOUT);
    qmclient_destroy(&nobody);
    qmclient_destroy(&qm);
}

static void test_error_replies_are_decoded_strictly(void **state)
{
    s_fake_t *f = *state;
    qmclient_t *qm = qmclient_new(f->endpoint, "t");
    qmclient_reply_t reply;
    atomic_store(&f->mode, S_ERROR);
    assert_int_equal(qmclient_call(qm, "ticket.issue", "hq.r01.b0001", "sms", NULL, 5000,
                                   &reply), 0);
    assert_false(reply.ok);
    assert_string_equal(reply.error, "unknown_service");
    assert_string_equal(reply.reason, "no service DEP");
    assert_string_equal(reply.resumes, "");
    assert_false(qmclient_outcome_unknown(&reply));
    qmclient_ticket_reply_t t;
    char reason[256];
    assert_int_equal(qmclient_ticket_reply(&reply, &t, reason, sizeof reason), -1);
    qmclient_reply_clear(&reply);

    atomic_store(&f->mode, S_ERROR_EXTRA);
    assert_int_equal(qmclient_call(qm, "ticket.issue", "hq.r01.b0001", "sms", NULL, 5000,
                                   &reply), -1);
    /* the opening hours' refusals say when issuing resumes: a time or null */
    atomic_store(&f->mode, S_STOPPED);
    assert_int_equal(qmclient_call(qm, "ticket.issue", "hq.r01.b0001", "sms", NULL, 5000,
                                   &reply), 0);
    assert_string_equal(reply.error, "issuing_stopped");
    assert_string_equal(reply.resumes, "2026-12-05T00:30:00.000Z");
    qmclient_reply_clear(&reply);
    atomic_store(&f->mode, S_STOPPED_BAD);
    assert_int_equal(qmclient_call(qm, "ticket.issue", "hq.r01.b0001", "sms", NULL, 5000,
                                   &reply), -1);
    atomic_store(&f->mode, S_NOT_JSON);
    assert_int_equal(qmclient_call(qm, "ticket.issue", "hq.r01.b0001", "sms", NULL, 5000,
                                   &reply), -1);
    atomic_store(&f->mode, S_BAD_TICKET);
    assert_int_equal(qmclient_call(qm, "ticket.get", "hq.r01.b0001", "sms", NULL, 5000,
                                   &reply), 0);
    assert_int_equal(qmclient_ticket_reply(&reply, &t, reason, sizeof reason), -1);
    assert_non_null(strstr(reason, "ticket"));
    qmclient_reply_clear(&reply);
    qmclient_destroy(&qm);
}

static void test_the_in_doubt_error_is_told_apart(void **state)
{
    (void) state;
    qmclient_reply_t reply = { .ok = false, .error = "unavailable",
        .reason = "database connection lost during the commit: it may or may not be done" };
    assert_true(qmclient_outcome_unknown(&reply));
    snprintf(reply.reason, sizeof reply.reason, "database unavailable");
    assert_false(qmclient_outcome_unknown(&reply));
}

static void test_bad_arguments_are_refused(void **state)
{
    (void) state;
    assert_null(qmclient_new("tcp://127.0.0.1:9", ""));
    assert_null(qmclient_new("tcp://127.0.0.1:9", "a b"));
    assert_null(qmclient_new("", "x"));
    assert_null(qmclient_new("nonsense://", "x"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_is_sent_and_its_reply_decoded),
        cmocka_unit_test(test_a_late_reply_to_another_request_is_skipped),
        cmocka_unit_test(test_no_reply_is_a_timeout),
        cmocka_unit_test(test_error_replies_are_decoded_strictly),
        cmocka_unit_test(test_the_in_doubt_error_is_told_apart),
        cmocka_unit_test(test_bad_arguments_are_refused),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
