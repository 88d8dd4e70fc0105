/*  Unit tests: qm_request, queue-manager's request decoder and reply encoders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/queue-manager/qm_request.h"

/* 2026-11-28T01:00:00.000Z, 09:00 in Asia/Shanghai */
#define T0 1795827600000LL
#define DAY 20261128
#define HEAD "\"v\":1,\"id\":\"k3-0001\",\"branch\":\"hq.r01.b0001\",\"actor\":\"kiosk:3\""

enum { Q_A = 1, Q_B = 2, S_DEP = 10, S_LOAN = 20, W1 = 101, W2 = 102, STAFF = 7 };

/* ---- decoding ------------------------------------------------------------ */

static void s_decode_ok(const char *json, qm_request_t *req)
{
    char reason[QM_REASON_SIZE] = "";
    if (qm_request_decode(json, strlen(json), req, reason) != 0)
        fail_msg("refused %s: %s", json, reason);
    assert_null(req->refusal);
    assert_string_equal(req->id, "k3-0001");
    assert_string_equal(req->branch, "hq.r01.b0001");
    assert_string_equal(req->actor, "kiosk:3");
}

static void test_every_op_decodes(void **state)
{
    (void) state;
    static const struct {
        const char *json;
        qm_op_kind_t kind;
        qm_action_kind_t action;
    } cases[] = {
        {"{" HEAD ",\"op\":\"ticket.issue\",\"service\":10}", QM_OP_TICKET_ISSUE, 0},
        {"{" HEAD ",\"op\":\"ticket.get\",\"ticket\":\"A012\"}", QM_OP_TICKET_GET, 0},
        {"{" HEAD ",\"op\":\"window.open\",\"window\":3}", QM_OP_WINDOW_ACTION, QM_ACT_OPEN},
        {"{" HEAD ",\"op\":\"window.close\",\"window\":3}", QM_OP_WINDOW_ACTION, QM_ACT_CLOSE},
        {"{" HEAD ",\"op\":\"window.pause\",\"window\":3,\"reason\":\"lunch\"}",
         QM_OP_WINDOW_ACTION, QM_ACT_PAUSE},
        {"{" HEAD ",\"op\":\"window.resume\",\"window\":3}", QM_OP_WINDOW_ACTION,
         QM_ACT_RESUME},
        {"{" HEAD ",\"op\":\"window.login\",\"window\":3,\"staff\":7}", QM_OP_WINDOW_ACTION,
         QM_ACT_LOGIN},
        {"{" HEAD ",\"op\":\"window.logout\",\"window\":3}", QM_OP_WINDOW_ACTION,
         QM_ACT_LOGOUT},
        {"{" HEAD ",\"op\":\"window.call_next\",\"window\":3}", QM_OP_WINDOW_ACTION,
         QM_ACT_CALL_NEXT},
        {"{" HEAD ",\"op\":\"window.call_ticket\",\"window\":3,\"ticket\":\"B0104\"}",
         QM_OP_WINDOW_ACTION, QM_ACT_CALL_TICKET},
        {"{" HEAD ",\"op\":\"window.recall\",\"window\":3}", QM_OP_WINDOW_ACTION,
         QM_ACT_RECALL},
        {"{" HEAD ",\"op\":\"window.start\",\"window\":3}", QM_OP_WINDOW_ACTION, QM_ACT_START},
        {"{" HEAD ",\"op\":\"window.finish\",\"window\":3}", QM_OP_WINDOW_ACTION,
         QM_ACT_FINISH},
        {"{" HEAD ",\"op\":\"window.no_show\",\"window\":3}", QM_OP_WINDOW_ACTION,
         QM_ACT_NO_SHOW},
        {"{" HEAD ",\"op\":\"window.transfer\",\"window\":3,\"to\":\"staff\",\"target\":9}",
         QM_OP_WINDOW_ACTION, QM_ACT_TRANSFER},
        {"{" HEAD ",\"op\":\"window.park\",\"window\":3}", QM_OP_WINDOW_ACTION, QM_ACT_PARK},
        {"{" HEAD ",\"op\":\"window.call_back\",\"window\":3}", QM_OP_WINDOW_ACTION,
         QM_ACT_CALL_BACK},
        {"{" HEAD ",\"op\":\"window.walk_in\",\"window\":3,\"service_code\":\"LOAN\"}",
         QM_OP_WINDOW_ACTION, QM_ACT_WALK_IN},
        {"{" HEAD ",\"op\":\"window.set_profile\",\"window\":3,"
         "\"profile\":\"weighted;vip=2;ordinary=1;services=3,1,2\"}",
         QM_OP_WINDOW_SET_PROFILE, 0},
        {"{" HEAD ",\"op\":\"branch.state\"}", QM_OP_BRANCH_STATE, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        qm_request_t req;
        s_decode_ok(cases[i].json, &req);
        assert_int_equal(req.kind, cases[i].kind);
        assert_int_equal(req.action, cases[i].action);
        assert_string_equal(qm_request_op_name(req.kind, req.action), req.op);
        if (req.kind == QM_OP_WINDOW_ACTION || req.kind == QM_OP_WINDOW_SET_PROFILE)
            assert_int_equal(req.window_id, 3);
    }
}

static void test_members_decoded(void **state)
{
    (void) state;
    qm_request_t req;
    s_decode_ok("{" HEAD ",\"op\":\"ticket.issue\",\"service_code\":\"DEP\",\"class\":\"vip\","
                "\"appointment\":\"2026-11-28T01:30:00.000Z\",\"phone\":\"+8613800138000\"}",
                &req);
    assert_int_equal(req.service_id, 0);
    assert_string_equal(req.service_code, "DEP");
    assert_int_equal(req.klass, QM_CLASS_VIP);
    assert_int_equal(req.appointment_ms, T0 + 30 * 60000LL);
    assert_string_equal(req.phone, "+8613800138000");
    qm_issue_req_t ir;
    qm_request_issue(&req, &ir);
    assert_int_equal(ir.klass, QM_CLASS_VIP);
    assert_string_equal(ir.phone, "+8613800138000");
    assert_string_equal(ir.actor, "kiosk:3");

    s_decode_ok("{" HEAD ",\"op\":\"ticket.issue\",\"service\":20}", &req);
    assert_int_equal(req.service_id, 20);
    assert_int_equal(req.klass, QM_CLASS_ORDINARY);
    assert_int_equal(req.appointment_ms, 0);
    qm_request_issue(&req, &ir);
    assert_null(ir.phone);

    s_decode_ok("{" HEAD ",\"op\":\"window.pause\",\"window\":4,\"reason\":\"午休 lunch\"}",
                &req);
    assert_string_equal(req.reason, "午休 lunch");
    qm_action_t a;
    qm_request_action(&req, &a);
    assert_int_equal(a.kind, QM_ACT_PAUSE);
    assert_int_equal(a.window_id, 4);
    assert_string_equal(a.reason, "午休 lunch");
    assert_null(a.ticket);

    s_decode_ok("{" HEAD ",\"op\":\"window.login\",\"window\":4,\"employee_no\":\"100103\"}",
                &req);
    assert_string_equal(req.employee_no, "100103");
    assert_int_equal(req.staff_id, 0);

    s_decode_ok("{" HEAD ",\"op\":\"window.transfer\",\"window\":4,\"to\":\"service\","
                "\"target\":20}", &req);
    assert_int_equal(req.target, QM_TARGET_SERVICE);
    assert_int_equal(req.target_id, 20);
    s_decode_ok("{" HEAD ",\"op\":\"window.transfer\",\"window\":4,\"to\":\"window\","
                "\"target\":102}", &req);
    assert_int_equal(req.target, QM_TARGET_WINDOW);

    s_decode_ok("{" HEAD ",\"op\":\"window.call_back\",\"window\":4,"
                "\"ticket\":\"0193a2b4-1c2d-7e3f-8a4b-5c6d7e8f9a0b\"}", &req);
    assert_string_equal(req.ticket, "0193a2b4-1c2d-7e3f-8a4b-5c6d7e8f9a0b");
    qm_request_action(&req, &a);
    assert_string_equal(a.ticket, req.ticket);

    s_decode_ok("{" HEAD ",\"op\":\"window.walk_in\",\"window\":4,\"service\":10,"
                "\"class\":\"green\"}", &req);
    assert_int_equal(req.service_id, 10);
    assert_int_equal(req.klass, QM_CLASS_GREEN);

    s_decode_ok("{" HEAD ",\"op\":\"window.set_profile\",\"window\":4,"
                "\"profile\":\"longest_wait;vip=1;ordinary=3;services=20,10\"}", &req);
    assert_int_equal(req.profile.strategy, QM_STRATEGY_LONGEST_WAIT);
    assert_int_equal(req.profile.service_count, 2);
    assert_int_equal(req.profile.services[0], 20);
    assert_int_equal(req.profile.weights[QM_CLASS_ORDINARY], 3);
    /* a service listed twice is well formed: the branch refuses it (invalid) */
    s_decode_ok("{" HEAD ",\"op\":\"window.set_profile\",\"window\":4,"
                "\"profile\":\"strict;vip=2;ordinary=1;services=1,1\"}", &req);
    assert_int_equal(req.profile.service_count, 2);

    /* members in any order, branch of one label, actor with spaces */
    s_decode_ok("{\"actor\":\"kiosk:3\",\"op\":\"branch.state\",\"branch\":\"hq.r01.b0001\","
                "\"id\":\"k3-0001\",\"v\":1}", &req);
    assert_int_equal(req.kind, QM_OP_BRANCH_STATE);
}

/* Each refusal: code and a piece of the reason naming the problem. */
static void test_refusals(void **state)
{
    (void) state;
    static const struct {
        const char *json;
        const char *code;
        const char *reason;
        bool id_read;
    } cases[] = {
        {"not json", QM_REPLY_MALFORMED, "not JSON", false},
        {"", QM_REPLY_MALFORMED, "not JSON", false},
        {"[1,2]", QM_REPLY_MALFORMED, "not a JSON object", false},
        {"{\"id\":\"k3-0001\",\"op\":\"branch.state\",\"branch\":\"hq\",\"actor\":\"a\"}",
         QM_REPLY_MALFORMED, "missing member 'v'", true},
        {"{\"v\":1,\"op\":\"branch.state\",\"branch\":\"hq\",\"actor\":\"a\"}",
         QM_REPLY_MALFORMED, "missing member 'id'", false},
        {"{\"v\":1,\"id\":\"k3-0001\",\"branch\":\"hq\",\"actor\":\"a\"}",
         QM_REPLY_MALFORMED, "missing member 'op'", true},
        {"{\"v\":1,\"id\":\"k3-0001\",\"op\":\"branch.state\",\"actor\":\"a\"}",
         QM_REPLY_MALFORMED, "missing member 'branch'", true},
        {"{\"v\":1,\"id\":\"k3-0001\",\"op\":\"branch.state\",\"branch\":\"hq\"}",
         QM_REPLY_MALFORMED, "missing member 'actor'", true},
        {"{\"v\":2,\"id\":\"k3-0001\",\"op\":\"branch.state\",\"branch\":\"hq\",\"actor\":\"a\"}",
         QM_REPLY_MALFORMED, "unsupported version 2", true},
        {"{\"v\":1,\"id\":\"k3 0001\",\"op\":\"branch.state\",\"branch\":\"hq\",\"actor\":\"a\"}",
         QM_REPLY_MALFORMED, "id must be", false},
        {"{\"v\":1,\"id\":\"\",\"op\":\"branch.state\",\"branch\":\"hq\",\"actor\":\"a\"}",
         QM_REPLY_MALFORMED, "id must be", false},
        {"{\"v\":1,\"id\":\"k3-0001\",\"op\":\"branch.state\",\"branch\":\"HQ.R01\","
         "\"actor\":\"a\"}", QM_REPLY_MALFORMED, "branch must be an org path", true},
        {"{\"v\":1,\"id\":\"k3-0001\",\"op\":\"branch.state\",\"branch\":\"hq\","
         "\"actor\":\"\"}", QM_REPLY_MALFORMED, "actor must be", true},
        {"{\"v\":1,\"id\":\"k3-0001\",\"op\":\"branch.state\",\"branch\":\"hq\","
         "\"actor\":\"柜员\"}", QM_REPLY_MALFORMED, "actor must be", true},
        {"{" HEAD ",\"op\":\"ticket.delete\"}", QM_REPLY_UNKNOWN_OP,
         "unknown op 'ticket.delete'", true},
        {"{" HEAD ",\"op\":\"branch.state\",\"colour\":\"red\"}", QM_REPLY_MALFORMED,
         "unknown member 'colour'", true},
        {"{" HEAD ",\"op\":\"window.open\",\"window\":\"3\"}", QM_REPLY_MALFORMED,
         "member 'window' must be an integer", true},
        {"{" HEAD ",\"op\":\"window.open\",\"window\":3.0}", QM_REPLY_MALFORMED,
         "member 'window' must be an integer", true},
        {"{" HEAD ",\"op\":\"window.open\",\"window\":null}", QM_REPLY_MALFORMED,
         "member 'window' must be an integer", true},
        {"{\"v\":\"1\",\"id\":\"k3-0001\",\"op\":\"branch.state\",\"branch\":\"hq\","
         "\"actor\":\"a\"}", QM_REPLY_MALFORMED, "member 'v' must be an integer", true},
        {"{" HEAD ",\"op\":\"ticket.get\",\"ticket\":12}", QM_REPLY_MALFORMED,
         "member 'ticket' must be a string", true},
        {"{" HEAD ",\"op\":\"window.open\",\"window\":3,\"window\":4}", QM_REPLY_MALFORMED,
         "duplicate", false},
        {"{" HEAD ",\"op\":\"window.open\",\"window\":0}", QM_REPLY_MALFORMED,
         "window must be an id >= 1", true},
        {"{" HEAD ",\"op\":\"window.open\"}", QM_REPLY_MALFORMED,
         "window.open needs member 'window'", true},
        {"{" HEAD ",\"op\":\"window.open\",\"window\":3,\"reason\":\"x\"}", QM_REPLY_MALFORMED,
         "member 'reason' is not used by window.open", true},
        {"{" HEAD ",\"op\":\"ticket.issue\",\"service\":10,\"service_code\":\"DEP\"}",
         QM_REPLY_MALFORMED, "service or service_code, not both", true},
        {"{" HEAD ",\"op\":\"ticket.issue\"}", QM_REPLY_MALFORMED,
         "ticket.issue needs service or service_code", true},
        {"{" HEAD ",\"op\":\"ticket.issue\",\"service_code\":\"\"}", QM_REPLY_MALFORMED,
         "service_code must be", true},
        {"{" HEAD ",\"op\":\"ticket.issue\",\"service\":10,\"class\":\"gold\"}",
         QM_REPLY_MALFORMED, "class must be", true},
        {"{" HEAD ",\"op\":\"ticket.issue\",\"service\":10,"
         "\"appointment\":\"2026-11-28 09:30\"}", QM_REPLY_MALFORMED,
         "appointment must be an RFC 3339", true},
        {"{" HEAD ",\"op\":\"ticket.issue\",\"service\":10,"
         "\"appointment\":\"2026-02-30T09:30:00.000Z\"}", QM_REPLY_MALFORMED,
         "appointment must be an RFC 3339", true},
        {"{" HEAD ",\"op\":\"ticket.issue\",\"service\":10,\"phone\":\"12\"}",
         QM_REPLY_MALFORMED, "phone must be", true},
        {"{" HEAD ",\"op\":\"ticket.issue\",\"service\":10,\"phone\":\"138-0013\"}",
         QM_REPLY_MALFORMED, "phone must be", true},
        {"{" HEAD ",\"op\":\"ticket.get\",\"ticket\":\"a012\"}", QM_REPLY_MALFORMED,
         "ticket must be a ticket id or a number", true},
        {"{" HEAD ",\"op\":\"window.call_ticket\",\"window\":3}", QM_REPLY_MALFORMED,
         "window.call_ticket needs member 'ticket'", true},
        {"{" HEAD ",\"op\":\"window.pause\",\"window\":3}", QM_REPLY_MALFORMED,
         "window.pause needs member 'reason'", true},
        {"{" HEAD ",\"op\":\"window.pause\",\"window\":3,\"reason\":\"\"}", QM_REPLY_MALFORMED,
         "reason must be 1..511 bytes", true},
        {"{" HEAD ",\"op\":\"window.login\",\"window\":3,\"staff\":7,\"employee_no\":\"1001\"}",
         QM_REPLY_MALFORMED, "staff or employee_no, not both", true},
        {"{" HEAD ",\"op\":\"window.login\",\"window\":3}", QM_REPLY_MALFORMED,
         "window.login needs staff or employee_no", true},
        {"{" HEAD ",\"op\":\"window.login\",\"window\":3,\"employee_no\":\"10a1\"}",
         QM_REPLY_MALFORMED, "employee_no must be 1..16 digits", true},
        {"{" HEAD ",\"op\":\"window.transfer\",\"window\":3,\"to\":\"branch\",\"target\":1}",
         QM_REPLY_MALFORMED, "to must be \"service\", \"window\" or \"staff\"", true},
        {"{" HEAD ",\"op\":\"window.transfer\",\"window\":3,\"to\":\"window\",\"target\":-1}",
         QM_REPLY_MALFORMED, "target must be an id >= 1", true},
        {"{" HEAD ",\"op\":\"window.transfer\",\"window\":3,\"to\":\"window\"}",
         QM_REPLY_MALFORMED, "window.transfer needs member 'target'", true},
        {"{" HEAD ",\"op\":\"window.set_profile\",\"window\":3,\"profile\":\"fastest;vip=1\"}",
         QM_REPLY_MALFORMED, "profile: unknown strategy 'fastest'", true},
        {"{" HEAD ",\"op\":\"branch.state\",\"bad\":\"\\u0000\"}", QM_REPLY_MALFORMED,
         "not JSON", false},
        {"{" HEAD ",\"op\":\"branch.state\",\"bad\":\"\xff\"}", QM_REPLY_MALFORMED,
         "not JSON", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        qm_request_t req;
        char reason[QM_REASON_SIZE] = "";
        int rc = qm_request_decode(cases[i].json, strlen(cases[i].json), &req, reason);
        if (rc != -1)
            fail_msg("accepted %s", cases[i].json);
        if (strcmp(req.refusal, cases[i].code) != 0 || !strstr(reason, cases[i].reason))
            fail_msg("%s: got %s \"%s\", want %s \"%s\"", cases[i].json, req.refusal, reason,
                     cases[i].code, cases[i].reason);
        assert_string_equal(req.id, cases[i].id_read ? "k3-0001" : "");
    }
}

static void test_too_large(void **state)
{
    (void) state;
    size_t size = QM_REQUEST_MAX_BYTES + 1;
    char *buf = malloc(size);
    assert_non_null(buf);
    /* a valid request padded with spaces past the limit */
    const char *json = "{" HEAD ",\"op\":\"branch.state\"}";
    memset(buf, ' ', size);
    memcpy(buf, json, strlen(json));
    qm_request_t req;
    char reason[QM_REASON_SIZE];
    assert_int_equal(qm_request_decode(buf, size, &req, reason), -1);
    assert_string_equal(req.refusal, QM_REPLY_TOO_LARGE);
    assert_non_null(strstr(reason, "16385 bytes"));
    /* exactly at the limit it is accepted */
    assert_int_equal(qm_request_decode(buf, size - 1, &req, reason), 0);
    free(buf);
}

/* Not NUL-terminated: the decoder reads exactly len bytes. */
static void test_length_is_honoured(void **state)
{
    (void) state;
    const char *json = "{" HEAD ",\"op\":\"branch.state\"}garbage";
    qm_request_t req;
    char reason[QM_REASON_SIZE];
    assert_int_equal(qm_request_decode(json, strlen(json) - 7, &req, reason), 0);
    assert_int_equal(qm_request_decode(json, strlen(json), &req, reason), -1);
}

/* ---- replies --------------------------------------------------------------- */

static json_t *s_parse(const char *text, size_t len)
{
    json_error_t error;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
    if (!root)
        fail_msg("reply is not JSON: %s: %.*s", error.text, (int) len, text);
    return root;
}

static json_t *s_reply(jsonw_t *w)
{
    size_t len;
    const char *text = jsonw_text(w, &len);
    assert_non_null(text);
    return s_parse(text, len);
}

static void test_reply_error_and_ok(void **state)
{
    (void) state;
    jsonw_t w;
    jsonw_init(&w, NULL, QM_REPLY_MAX_BYTES);
    assert_int_equal(qm_reply_error(&w, "k3-0001", "no_ticket", "nothing waiting"), 0);
    json_t *r = s_reply(&w);
    json_t *id = NULL, *error = NULL, *reason = NULL;
    int v = 0, ok = 1;
    assert_int_equal(json_unpack(r, "{s:i, s:o, s:b, s:o, s:o !}", "v", &v, "id", &id, "ok", &ok,
                                 "error", &error, "reason", &reason), 0);
    assert_int_equal(v, 1);
    assert_false(ok);
    assert_string_equal(json_string_value(id), "k3-0001");
    assert_string_equal(json_string_value(error), "no_ticket");
    assert_string_equal(json_string_value(reason), "nothing waiting");
    json_decref(r);

    /* id unreadable: null; a reason cut inside a UTF-8 character stays valid */
    assert_int_equal(qm_reply_error(&w, NULL, QM_REPLY_MALFORMED, "bad \xe5\x8d"), 0);
    r = s_reply(&w);
    assert_true(json_is_null(json_object_get(r, "id")));
    assert_string_equal(json_string_value(json_object_get(r, "reason")), "bad ??");
    json_decref(r);

    /* a refusal by the opening hours says when issuing resumes, or null */
    assert_int_equal(qm_reply_not_issuing(&w, "k3-0003", "issuing_stopped", "stopped",
                                          1796430600000LL), 0);
    r = s_reply(&w);
    const char *resumes = NULL;
    assert_int_equal(json_unpack(r, "{s:i, s:o, s:b, s:o, s:o, s:s !}", "v", &v, "id", &id,
                                 "ok", &ok, "error", &error, "reason", &reason, "resumes",
                                 &resumes), 0);
    assert_string_equal(json_string_value(error), "issuing_stopped");
    assert_string_equal(resumes, "2026-12-05T00:30:00.000Z");
    json_decref(r);
    assert_int_equal(qm_reply_not_issuing(&w, "k3-0004", "closed", "closed", 0), 0);
    r = s_reply(&w);
    assert_true(json_is_null(json_object_get(r, "resumes")));
    json_decref(r);
    assert_int_equal(qm_reply_not_issuing(&w, NULL, "closed", "closed", 0), -1);

    assert_int_equal(qm_reply_ok(&w, "k3-0002", 3), 0);
    r = s_reply(&w);
    const char *text = NULL;
    assert_int_equal(json_unpack(r, "{s:i, s:s, s:b, s:i !}", "v", &v, "id", &text, "ok", &ok,
                                 "events", &v), 0);
    assert_string_equal(text, "k3-0002");
    assert_true(ok);
    assert_int_equal(v, 3);
    json_decref(r);
    jsonw_release(&w);
}

typedef struct {
    qm_branch_t *b;
    qm_journal_t *j;
    qm_queue_cfg_t queues[2];
    char reason[QM_REASON_SIZE];
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    qm_service_cfg_t services[2] = {
        { S_DEP, "DEP", "Deposits", Q_A },
        { S_LOAN, "LOAN", "Loans", Q_B },
    };
    qm_window_cfg_t windows[2];
    memset(windows, 0, sizeof windows);
    for (int i = 0; i < 2; i++) {
        windows[i].id = W1 + i;
        windows[i].number = i + 1;
        snprintf(windows[i].name, sizeof windows[i].name, "窗口 %d", i + 1);
        qm_profile_init(&windows[i].profile);
        windows[i].profile.service_count = 2;
        windows[i].profile.services[0] = S_DEP;
        windows[i].profile.services[1] = S_LOAN;
    }
    fx->queues[0] = (qm_queue_cfg_t) { Q_A, "A", 0 };
    fx->queues[1] = (qm_queue_cfg_t) { Q_B, "B", 0 };
    qm_config_t cfg = { fx->queues, 2, services, 2, windows, 2, { 0 } };
    qm_settings_default(&cfg.settings);
    fx->b = qm_branch_new(&cfg, DAY, fx->reason);
    if (!fx->b)
        fail_msg("config refused: %s", fx->reason);
    fx->j = qm_journal_new();
    assert_non_null(fx->j);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    qm_branch_destroy(&fx->b);
    qm_journal_destroy(&fx->j);
    free(fx);
    return 0;
}

/* Decodes a request as the server would, decides, applies; returns events. */
static size_t s_run(fx_t *fx, const char *json, int64_t now, qm_request_t *req)
{
    char reason[QM_REASON_SIZE];
    if (qm_request_decode(json, strlen(json), req, reason) != 0)
        fail_msg("refused %s: %s", json, reason);
    size_t mark = qm_journal_count(fx->j);
    qm_err_t err;
    if (req->kind == QM_OP_TICKET_ISSUE) {
        qm_issue_req_t ir;
        qm_request_issue(req, &ir);
        err = qm_issue(fx->b, &ir, DAY, now, fx->j, fx->reason);
    } else {
        assert_int_equal(req->kind, QM_OP_WINDOW_ACTION);
        qm_action_t a;
        qm_request_action(req, &a);
        err = qm_act(fx->b, &a, now, fx->j, fx->reason);
    }
    if (err != QM_OK)
        fail_msg("%s refused: %s %s", json, qm_err_name(err), fx->reason);
    assert_int_equal(qm_journal_apply(fx->b, fx->j, mark), 0);
    return qm_journal_count(fx->j) - mark;
}

#define REQ(op, rest) "{" HEAD ",\"op\":\"" op "\"" rest "}"

static void test_reply_ticket_from_branch(void **state)
{
    fx_t *fx = *state;
    qm_request_t req;
    jsonw_t w;
    jsonw_init(&w, NULL, QM_REPLY_MAX_BYTES);
    qm_told_t told = { 0, 0 };
    for (int i = 0; i < 3; i++) {
        size_t events = s_run(fx, REQ("ticket.issue", ",\"service\":10"), T0 + i * 1000, &req);
        assert_int_equal(events, 1);
        const qm_event_t *ev = qm_journal_at(fx->j, qm_journal_count(fx->j) - 1);
        assert_int_equal(qm_reply_ticket_get(&w, req.id, events, fx->b, ev->ticket_id,
                                             T0 + 5000, &told), 0);
    }
    /* what the reply says is what the caller stores (ticket.est_*) */
    assert_int_equal(told.position, 2);
    assert_int_equal(told.est_wait_s, 600);
    /* the reply to the third issue: A003, two ahead of it */
    json_t *r = s_reply(&w);
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "events")), 1);
    json_t *t = json_object_get(r, "ticket");
    assert_string_equal(json_string_value(json_object_get(t, "number")), "A003");
    assert_true(id_valid(json_string_value(json_object_get(t, "id"))));
    assert_int_equal(json_integer_value(json_object_get(t, "service")), S_DEP);
    assert_int_equal(json_integer_value(json_object_get(t, "queue")), Q_A);
    assert_string_equal(json_string_value(json_object_get(t, "class")), "ordinary");
    assert_string_equal(json_string_value(json_object_get(t, "state")), "waiting");
    assert_string_equal(json_string_value(json_object_get(t, "issued")),
                        "2026-11-28T01:00:02.000Z");
    assert_true(json_is_null(json_object_get(t, "called")));
    assert_true(json_is_null(json_object_get(t, "window")));
    assert_int_equal(json_integer_value(json_object_get(r, "position")), 2);
    /* no window open: one assumed, 2 ahead * 300 s default */
    assert_int_equal(json_integer_value(json_object_get(r, "est_wait_s")), 600);
    json_decref(r);

    /* open, log in, call next: the reply shows the window and A001 */
    s_run(fx, REQ("window.open", ",\"window\":101"), T0 + 10000, &req);
    s_run(fx, REQ("window.login", ",\"window\":101,\"staff\":7"), T0 + 11000, &req);
    size_t events = s_run(fx, REQ("window.call_next", ",\"window\":101"), T0 + 12000, &req);
    assert_int_equal(qm_reply_action(&w, req.id, events, fx->b, W1), 0);
    r = s_reply(&w);
    assert_int_equal(json_integer_value(json_object_get(r, "events")), 1);
    json_t *win = json_object_get(r, "window");
    assert_int_equal(json_integer_value(json_object_get(win, "id")), W1);
    assert_int_equal(json_integer_value(json_object_get(win, "number")), 1);
    assert_string_equal(json_string_value(json_object_get(win, "name")), "窗口 1");
    assert_string_equal(json_string_value(json_object_get(win, "state")), "open");
    assert_true(json_is_null(json_object_get(win, "pause_reason")));
    assert_int_equal(json_integer_value(json_object_get(win, "staff")), STAFF);
    assert_string_equal(json_string_value(json_object_get(win, "current")), "A001");
    assert_string_equal(json_string_value(json_object_get(win, "profile")),
                        "strict;vip=2;ordinary=1;services=10,20");
    t = json_object_get(r, "ticket");
    assert_string_equal(json_string_value(json_object_get(t, "number")), "A001");
    assert_string_equal(json_string_value(json_object_get(t, "state")), "called");
    assert_int_equal(json_integer_value(json_object_get(t, "window")), W1);
    assert_string_equal(json_string_value(json_object_get(t, "called")),
                        "2026-11-28T01:00:12.000Z");
    assert_false(json_object_get(r, "position"));
    json_decref(r);

    /* ticket.get of the called ticket: position null; of A003: now 1 ahead */
    told = (qm_told_t) { 0, 0 };
    assert_int_equal(qm_reply_ticket_get(&w, "g1", 0, fx->b, "A001", T0 + 13000, &told), 0);
    assert_int_equal(told.position, -1);
    assert_int_equal(told.est_wait_s, -1);
    r = s_reply(&w);
    assert_true(json_is_null(json_object_get(r, "position")));
    assert_true(json_is_null(json_object_get(r, "est_wait_s")));
    json_decref(r);
    assert_int_equal(qm_reply_ticket_get(&w, "g2", 0, fx->b, "A003", T0 + 13000, NULL), 0);
    r = s_reply(&w);
    assert_int_equal(json_integer_value(json_object_get(r, "position")), 1);
    /* the window serves A001 (called at T0 + 12 s) for its average 300 s,
     * then A002 for 300 s: A003 is called at T0 + 612 s, 599 s from now */
    assert_int_equal(json_integer_value(json_object_get(r, "est_wait_s")), 599);
    json_decref(r);
    assert_int_equal(qm_reply_ticket_get(&w, "g3", 0, fx->b, "A999", T0, NULL), -1);

    /* finish: no current ticket any more */
    events = s_run(fx, REQ("window.finish", ",\"window\":101"), T0 + 20000, &req);
    assert_int_equal(qm_reply_action(&w, req.id, events, fx->b, W1), 0);
    r = s_reply(&w);
    assert_true(json_is_null(json_object_get(r, "ticket")));
    assert_true(json_is_null(json_object_get(json_object_get(r, "window"), "current")));
    json_decref(r);
    assert_int_equal(qm_reply_action(&w, req.id, events, fx->b, 999), -1);
    jsonw_release(&w);
}

static void test_reply_branch_state(void **state)
{
    fx_t *fx = *state;
    qm_request_t req;
    for (int i = 0; i < 3; i++)
        s_run(fx, REQ("ticket.issue", ",\"service\":10"), T0 + i * 1000, &req);
    s_run(fx, REQ("ticket.issue", ",\"service\":20"), T0 + 4000, &req);
    s_run(fx, REQ("window.open", ",\"window\":101"), T0 + 10000, &req);
    s_run(fx, REQ("window.login", ",\"window\":101,\"staff\":7"), T0 + 11000, &req);
    s_run(fx, REQ("window.call_next", ",\"window\":101"), T0 + 12000, &req);
    s_run(fx, REQ("window.open", ",\"window\":102"), T0 + 13000, &req);
    s_run(fx, REQ("window.pause", ",\"window\":102,\"reason\":\"午休\""), T0 + 14000, &req);

    size_t len = 0;
    char *text = qm_reply_branch_state("s1", fx->b, "hq.r01.b0001", fx->queues, 2, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    json_t *r = s_parse(text, len);
    free(text);
    assert_int_equal(json_integer_value(json_object_get(r, "v")), 1);
    assert_string_equal(json_string_value(json_object_get(r, "id")), "s1");
    assert_true(json_is_true(json_object_get(r, "ok")));
    assert_int_equal(json_integer_value(json_object_get(r, "events")), 0);
    assert_string_equal(json_string_value(json_object_get(r, "branch")), "hq.r01.b0001");
    assert_string_equal(json_string_value(json_object_get(r, "day")), "2026-11-28");

    json_t *queues = json_object_get(r, "queues");
    assert_int_equal(json_array_size(queues), 2);
    json_t *qa = json_array_get(queues, 0), *qb = json_array_get(queues, 1);
    assert_int_equal(json_integer_value(json_object_get(qa, "id")), Q_A);
    assert_string_equal(json_string_value(json_object_get(qa, "prefix")), "A");
    assert_int_equal(json_integer_value(json_object_get(qa, "waiting")), 2);
    assert_int_equal(json_integer_value(json_object_get(qa, "next_number")), 4);
    assert_string_equal(json_string_value(json_object_get(qb, "prefix")), "B");
    assert_int_equal(json_integer_value(json_object_get(qb, "waiting")), 1);
    assert_int_equal(json_integer_value(json_object_get(qb, "next_number")), 2);

    json_t *windows = json_object_get(r, "windows");
    assert_int_equal(json_array_size(windows), 2);
    json_t *w1 = json_array_get(windows, 0), *w2 = json_array_get(windows, 1);
    assert_int_equal(json_integer_value(json_object_get(w1, "id")), W1);
    assert_string_equal(json_string_value(json_object_get(w1, "state")), "open");
    assert_int_equal(json_integer_value(json_object_get(w1, "staff")), STAFF);
    assert_string_equal(json_string_value(json_object_get(w1, "current")), "A001");
    assert_int_equal(json_integer_value(json_object_get(w2, "number")), 2);
    assert_string_equal(json_string_value(json_object_get(w2, "state")), "paused");
    assert_string_equal(json_string_value(json_object_get(w2, "pause_reason")), "午休");
    assert_true(json_is_null(json_object_get(w2, "staff")));
    assert_true(json_is_null(json_object_get(w2, "current")));

    json_t *display = json_object_get(r, "display");
    assert_int_equal(json_array_size(display), 1);
    json_t *line = json_array_get(display, 0);
    assert_string_equal(json_string_value(json_object_get(line, "number")), "A001");
    assert_int_equal(json_integer_value(json_object_get(line, "window_no")), 1);
    assert_string_equal(json_string_value(json_object_get(line, "at")),
                        "2026-11-28T01:00:12.000Z");
    json_decref(r);
}

/* The members of an object in reply order, comma-separated. */
static const char *s_keys(json_t *object)
{
    static char keys[256];
    keys[0] = '\0';
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        (void) value;
        if (keys[0])
            strcat(keys, ",");
        strcat(keys, key);
    }
    return keys;
}

/* A time member: its text, "null" for null; fails on any other type. */
static const char *s_time(json_t *object, const char *key)
{
    json_t *v = json_object_get(object, key);
    if (json_is_null(v))
        return "null";
    if (!json_is_string(v))
        fail_msg("%s is neither a string nor null", key);
    return json_string_value(v);
}

static json_t *s_state(fx_t *fx)
{
    size_t len = 0;
    char *text = qm_reply_branch_state("s1", fx->b, "hq.r01.b0001", fx->queues, 2, &len);
    assert_non_null(text);
    json_t *r = s_parse(text, len);
    free(text);
    return r;
}

static void test_branch_state_live_members(void **state)
{
    fx_t *fx = *state;
    qm_request_t req;
    for (int i = 0; i < 3; i++)
        s_run(fx, REQ("ticket.issue", ",\"service\":10"), T0 + i * 1000, &req);
    s_run(fx, REQ("ticket.issue", ",\"service\":20"), T0 + 4000, &req);
    s_run(fx, REQ("window.open", ",\"window\":101"), T0 + 10000, &req);
    s_run(fx, REQ("window.login", ",\"window\":101,\"staff\":7"), T0 + 11000, &req);
    s_run(fx, REQ("window.call_next", ",\"window\":101"), T0 + 12000, &req);   /* A001 */
    s_run(fx, REQ("window.open", ",\"window\":102"), T0 + 13000, &req);
    s_run(fx, REQ("window.pause", ",\"window\":102,\"reason\":\"lunch\""), T0 + 14000, &req);
    s_run(fx, REQ("window.start", ",\"window\":101"), T0 + 20000, &req);

    json_t *r = s_state(fx);
    json_t *qa = json_array_get(json_object_get(r, "queues"), 0);
    json_t *qb = json_array_get(json_object_get(r, "queues"), 1);
    /* the new members come after the old ones */
    assert_string_equal(s_keys(qa), "id,prefix,waiting,next_number,oldest");
    assert_string_equal(s_time(qa, "oldest"), "2026-11-28T01:00:01.000Z");   /* A002 */
    assert_string_equal(s_time(qb, "oldest"), "2026-11-28T01:00:04.000Z");
    json_t *w1 = json_array_get(json_object_get(r, "windows"), 0);
    json_t *w2 = json_array_get(json_object_get(r, "windows"), 1);
    assert_string_equal(s_keys(w1), "id,number,name,state,pause_reason,staff,current,parked,"
                                    "transferred,profile,since,waiting,service,called,started");
    /* serving A001 since its call; started does not move since */
    assert_string_equal(s_time(w1, "since"), "2026-11-28T01:00:12.000Z");
    assert_true(json_is_integer(json_object_get(w1, "waiting")));
    assert_int_equal(json_integer_value(json_object_get(w1, "waiting")), 3);
    assert_true(json_is_integer(json_object_get(w1, "service")));
    assert_int_equal(json_integer_value(json_object_get(w1, "service")), S_DEP);
    assert_string_equal(s_time(w1, "called"), "2026-11-28T01:00:12.000Z");
    assert_string_equal(s_time(w1, "started"), "2026-11-28T01:00:20.000Z");
    /* paused, nobody, nothing current: counts what it could call all the same */
    assert_string_equal(s_time(w2, "since"), "2026-11-28T01:00:14.000Z");
    assert_int_equal(json_integer_value(json_object_get(w2, "waiting")), 3);
    assert_true(json_is_null(json_object_get(w2, "service")));
    assert_string_equal(s_time(w2, "called"), "null");
    assert_string_equal(s_time(w2, "started"), "null");
    json_decref(r);

    /* A001 transferred to window 102; B001 called out of order at 101 */
    s_run(fx, REQ("window.transfer", ",\"window\":101,\"to\":\"window\",\"target\":102"),
          T0 + 30000, &req);
    r = s_state(fx);
    w1 = json_array_get(json_object_get(r, "windows"), 0);
    w2 = json_array_get(json_object_get(r, "windows"), 1);
    assert_string_equal(s_time(w1, "since"), "2026-11-28T01:00:30.000Z");
    assert_true(json_is_null(json_object_get(w1, "service")));
    assert_string_equal(s_time(w1, "called"), "null");
    assert_string_equal(s_time(w1, "started"), "null");
    assert_string_equal(s_time(w2, "since"), "2026-11-28T01:00:14.000Z");
    assert_int_equal(json_integer_value(json_object_get(w2, "waiting")), 4);
    assert_int_equal(json_integer_value(json_object_get(w2, "transferred")), 1);
    json_decref(r);
    s_run(fx, REQ("window.call_ticket", ",\"window\":101,\"ticket\":\"B001\""), T0 + 40000,
          &req);
    r = s_state(fx);
    qa = json_array_get(json_object_get(r, "queues"), 0);
    qb = json_array_get(json_object_get(r, "queues"), 1);
    assert_string_equal(s_time(qa, "oldest"), "2026-11-28T01:00:01.000Z");
    assert_int_equal(json_integer_value(json_object_get(qb, "waiting")), 0);
    assert_string_equal(s_time(qb, "oldest"), "null");
    w1 = json_array_get(json_object_get(r, "windows"), 0);
    assert_string_equal(s_time(w1, "since"), "2026-11-28T01:00:40.000Z");
    assert_int_equal(json_integer_value(json_object_get(w1, "service")), S_LOAN);
    assert_string_equal(s_time(w1, "called"), "2026-11-28T01:00:40.000Z");
    assert_string_equal(s_time(w1, "started"), "null");
    assert_int_equal(json_integer_value(json_object_get(w1, "waiting")), 2);
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_op_decodes),
        cmocka_unit_test(test_members_decoded),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_length_is_honoured),
        cmocka_unit_test(test_reply_error_and_ok),
        cmocka_unit_test_setup_teardown(test_reply_ticket_from_branch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_branch_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_branch_state_live_members, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
