/*  Unit tests: qm_model, a branch's queues, windows, calling rules and replay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/queue-manager/qm_model.h"

/* 2026-11-28T01:00:00.000Z, 09:00 in Asia/Shanghai */
#define T0 1796346000000LL
#define MIN 60000LL
#define DAY 20261128

enum { Q_A = 1, Q_B = 2, S_DEP = 10, S_LOAN = 20, S_FX = 30 };

typedef struct {
    qm_branch_t *b;
    qm_journal_t *j;
    int64_t now;
    char reason[QM_REASON_SIZE];
} fx_t;

static void s_config(qm_config_t *cfg, qm_queue_cfg_t queues[2], qm_service_cfg_t services[3],
                     qm_window_cfg_t windows[3])
{
    memset(cfg, 0, sizeof *cfg);
    memset(queues, 0, 2 * sizeof *queues);
    memset(services, 0, 3 * sizeof *services);
    memset(windows, 0, 3 * sizeof *windows);
    queues[0] = (qm_queue_cfg_t) { Q_A, "A", 0 };
    queues[1] = (qm_queue_cfg_t) { Q_B, "B", 0 };
    services[0] = (qm_service_cfg_t) { S_DEP, "DEP", "Deposits", Q_A };
    services[1] = (qm_service_cfg_t) { S_LOAN, "LOAN", "Loans", Q_B };
    services[2] = (qm_service_cfg_t) { S_FX, "FX", "Foreign exchange", Q_A };
    for (int i = 0; i < 3; i++) {
        windows[i].id = 100 + i + 1;
        windows[i].number = i + 1;
        snprintf(windows[i].name, sizeof windows[i].name, "Window %d", i + 1);
        qm_profile_init(&windows[i].profile);
        windows[i].profile.service_count = 3;
        windows[i].profile.services[0] = S_DEP;
        windows[i].profile.services[1] = S_LOAN;
        windows[i].profile.services[2] = S_FX;
    }
    cfg->queues = queues;
    cfg->queue_count = 2;
    cfg->services = services;
    cfg->service_count = 3;
    cfg->windows = windows;
    cfg->window_count = 3;
    qm_settings_default(&cfg->settings);
}

static fx_t *fx_new(void)
{
    qm_config_t cfg;
    qm_queue_cfg_t queues[2];
    qm_service_cfg_t services[3];
    qm_window_cfg_t windows[3];
    s_config(&cfg, queues, services, windows);
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->b = qm_branch_new(&cfg, DAY, fx->reason);
    if (!fx->b)
        fail_msg("config refused: %s", fx->reason);
    fx->j = qm_journal_new();
    assert_non_null(fx->j);
    fx->now = T0;
    return fx;
}

static int setup(void **state)
{
    *state = fx_new();
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    qm_branch_destroy(&fx->b);
    qm_branch_destroy(&fx->b);     /* NULL-safe */
    qm_journal_destroy(&fx->j);
    assert_null(fx->j);
    free(fx);
    return 0;
}

/* Applies what the last decision appended; checks nothing is appended on refusal. */
static qm_err_t s_commit(fx_t *fx, qm_err_t err, size_t mark)
{
    if (err == QM_OK) {
        assert_true(qm_journal_count(fx->j) > mark);
        assert_int_equal(qm_journal_apply(fx->b, fx->j, mark), 0);
    } else {
        assert_int_equal(qm_journal_count(fx->j), mark);
        assert_true(strlen(fx->reason) > 0);
    }
    return err;
}

/* Issues a ticket, returns its number in `number` (static buffer rotation). */
static const char *issue_at(fx_t *fx, int64_t service, qm_class_t klass, int64_t appt)
{
    static char numbers[8][QM_NUMBER_SIZE];
    static int next;
    qm_issue_req_t req = { service, klass, appt, NULL, "kiosk:1" };
    size_t mark = qm_journal_count(fx->j);
    fx->now += 1000;
    qm_err_t err = qm_issue(fx->b, &req, DAY, fx->now, fx->j, fx->reason);
    if (err != QM_OK)
        fail_msg("issue refused: %s", fx->reason);
    s_commit(fx, err, mark);
    char *out = numbers[next++ % 8];
    snprintf(out, QM_NUMBER_SIZE, "%s", qm_journal_at(fx->j, mark)->number);
    return out;
}

static const char *issue(fx_t *fx, int64_t service, qm_class_t klass)
{
    return issue_at(fx, service, klass, 0);
}

static qm_err_t act_full(fx_t *fx, qm_action_t a)
{
    if (!a.actor)
        a.actor = "staff:test";
    size_t mark = qm_journal_count(fx->j);
    fx->reason[0] = '\0';
    return s_commit(fx, qm_act(fx->b, &a, fx->now, fx->j, fx->reason), mark);
}

static qm_err_t act(fx_t *fx, qm_action_kind_t kind, int64_t window)
{
    return act_full(fx, (qm_action_t) { .kind = kind, .window_id = window });
}

/* Opens window `id` and logs staff in. */
static void open_window(fx_t *fx, int64_t id, int64_t staff)
{
    assert_int_equal(act(fx, QM_ACT_OPEN, id), QM_OK);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_LOGIN, .window_id = id,
                                                   .staff_id = staff }), QM_OK);
}

/* The number of the window's current ticket, "" if none. */
static const char *current(fx_t *fx, int64_t window)
{
    static char number[QM_NUMBER_SIZE];
    qm_window_info_t w;
    qm_ticket_info_t t;
    assert_int_equal(qm_window_find(fx->b, window, &w), 0);
    number[0] = '\0';
    if (w.current_id[0]) {
        assert_int_equal(qm_ticket_find(fx->b, w.current_id, &t), 0);
        snprintf(number, sizeof number, "%s", t.number);
    }
    return number;
}

/* Call next at a window; returns the called number or "" when refused. */
static const char *call_next(fx_t *fx, int64_t window)
{
    fx->now += 1000;
    if (act(fx, QM_ACT_CALL_NEXT, window) != QM_OK)
        return "";
    return current(fx, window);
}

static void set_profile(fx_t *fx, int64_t window, qm_strategy_t strategy, size_t n,
                        const int64_t *services, int vip, int ordinary)
{
    qm_window_info_t info;
    assert_int_equal(qm_window_find(fx->b, window, &info), 0);
    qm_window_cfg_t cfg = { .id = window, .number = info.number };
    snprintf(cfg.name, sizeof cfg.name, "%s", info.name);
    qm_profile_init(&cfg.profile);
    cfg.profile.strategy = strategy;
    cfg.profile.service_count = n;
    memcpy(cfg.profile.services, services, n * sizeof *services);
    cfg.profile.weights[QM_CLASS_VIP] = vip;
    cfg.profile.weights[QM_CLASS_ORDINARY] = ordinary;
    size_t mark = qm_journal_count(fx->j);
    assert_int_equal(s_commit(fx, qm_window_set(fx->b, &cfg, "admin", fx->now, fx->j,
                                                fx->reason), mark), QM_OK);
}

static qm_ticket_state_t state_of(fx_t *fx, const char *number)
{
    qm_ticket_info_t t;
    assert_int_equal(qm_ticket_find(fx->b, number, &t), 0);
    return t.state;
}

/* ---- configuration and issuing ------------------------------------------ */

static void test_config_refused(void **state)
{
    (void) state;
    qm_config_t cfg;
    qm_queue_cfg_t queues[2];
    qm_service_cfg_t services[3];
    qm_window_cfg_t windows[3];
    char reason[QM_REASON_SIZE];

    s_config(&cfg, queues, services, windows);
    snprintf(queues[1].prefix, sizeof queues[1].prefix, "A");
    assert_null(qm_branch_new(&cfg, DAY, reason));
    assert_non_null(strstr(reason, "repeated"));

    s_config(&cfg, queues, services, windows);
    services[1].queue_id = 99;
    assert_null(qm_branch_new(&cfg, DAY, reason));

    s_config(&cfg, queues, services, windows);
    windows[2].number = 1;
    assert_null(qm_branch_new(&cfg, DAY, reason));
    assert_non_null(strstr(reason, "taken"));

    s_config(&cfg, queues, services, windows);
    windows[0].profile.services[1] = 77;
    assert_null(qm_branch_new(&cfg, DAY, reason));
    assert_non_null(strstr(reason, "unknown service 77"));

    s_config(&cfg, queues, services, windows);
    queues[0].number_max = 10000;
    assert_null(qm_branch_new(&cfg, DAY, reason));

    s_config(&cfg, queues, services, windows);
    snprintf(queues[0].prefix, sizeof queues[0].prefix, "a");
    assert_null(qm_branch_new(&cfg, DAY, reason));

    s_config(&cfg, queues, services, windows);
    cfg.settings.hall.display_size = 0;
    assert_null(qm_branch_new(&cfg, DAY, reason));

    s_config(&cfg, queues, services, windows);
    assert_null(qm_branch_new(&cfg, 2026, reason));
    assert_null(qm_branch_new(NULL, DAY, reason));
}

static void test_issue_numbers(void **state)
{
    fx_t *fx = *state;
    assert_string_equal(issue(fx, S_DEP, QM_CLASS_ORDINARY), "A001");
    assert_string_equal(issue(fx, S_DEP, QM_CLASS_VIP), "A002");
    assert_string_equal(issue(fx, S_FX, QM_CLASS_ORDINARY), "A003");   /* same queue */
    assert_string_equal(issue(fx, S_LOAN, QM_CLASS_ORDINARY), "B001");
    assert_int_equal(qm_queue_next_number(fx->b, Q_A), 4);
    assert_int_equal(qm_queue_waiting(fx->b, Q_A), 3);
    assert_int_equal(qm_queue_waiting(fx->b, Q_B), 1);
    assert_int_equal(qm_queue_waiting(fx->b, 9), -1);

    qm_ticket_info_t t;
    assert_int_equal(qm_ticket_find(fx->b, "A002", &t), 0);
    assert_true(id_valid(t.id));
    assert_int_equal(t.klass, QM_CLASS_VIP);
    assert_int_equal(t.state, QM_TICKET_WAITING);
    assert_int_equal(t.original_ms, t.issued_ms);
    qm_ticket_info_t by_id;
    assert_int_equal(qm_ticket_find(fx->b, t.id, &by_id), 0);
    assert_string_equal(by_id.number, "A002");
    assert_int_equal(qm_ticket_find(fx->b, "A099", &t), -1);
    assert_int_equal(qm_ticket_find(fx->b, "Z001", &t), -1);

    /* the event carries everything apply needs */
    const qm_event_t *ev = qm_journal_at(fx->j, qm_journal_count(fx->j) - 1);
    assert_int_equal(ev->kind, QM_EV_ISSUED);
    assert_int_equal(ev->seq, qm_branch_last_seq(fx->b));
    assert_int_equal(ev->day, DAY);
    assert_string_equal(ev->actor, "kiosk:1");
    assert_int_equal(ev->queue_id, Q_B);
    assert_int_equal(ev->service_id, S_LOAN);
    assert_int_equal(ev->number_seq, 1);
}

static void test_number_width(void **state)
{
    (void) state;
    qm_config_t cfg;
    qm_queue_cfg_t queues[2];
    qm_service_cfg_t services[3];
    qm_window_cfg_t windows[3];
    s_config(&cfg, queues, services, windows);
    queues[1].number_max = 1500;
    char reason[QM_REASON_SIZE];
    fx_t fx = { .now = T0 };
    fx.b = qm_branch_new(&cfg, DAY, reason);
    fx.j = qm_journal_new();
    assert_string_equal(issue(&fx, S_LOAN, QM_CLASS_ORDINARY), "B0001");
    assert_string_equal(issue(&fx, S_DEP, QM_CLASS_ORDINARY), "A001");
    qm_ticket_info_t t;
    assert_int_equal(qm_ticket_find(fx.b, "B0001", &t), 0);
    qm_branch_destroy(&fx.b);
    qm_journal_destroy(&fx.j);
}

static void test_issue_refused(void **state)
{
    fx_t *fx = *state;
    qm_issue_req_t req = { S_DEP, QM_CLASS_ORDINARY, 0, NULL, "kiosk:1" };
    size_t mark = qm_journal_count(fx->j);
    assert_int_equal(qm_issue(fx->b, &req, DAY + 1, T0, fx->j, fx->reason), QM_ERR_WRONG_DAY);
    assert_non_null(strstr(fx->reason, "end the day first"));
    assert_int_equal(qm_issue(fx->b, &req, DAY - 1, T0, fx->j, fx->reason), QM_ERR_WRONG_DAY);
    req.service_id = 11;
    assert_int_equal(qm_issue(fx->b, &req, DAY, T0, fx->j, fx->reason), QM_ERR_UNKNOWN_SERVICE);
    req.service_id = S_DEP;
    req.klass = (qm_class_t) 7;
    assert_int_equal(qm_issue(fx->b, &req, DAY, T0, fx->j, fx->reason), QM_ERR_INVALID);
    assert_non_null(strstr(fx->reason, "class"));
    req.klass = QM_CLASS_ORDINARY;
    req.phone = "12ab";
    assert_int_equal(qm_issue(fx->b, &req, DAY, T0, fx->j, fx->reason), QM_ERR_INVALID);
    req.phone = "+1";
    assert_int_equal(qm_issue(fx->b, &req, DAY, T0, fx->j, fx->reason), QM_ERR_INVALID);
    req.phone = "+8613800000000";
    req.actor = "";
    assert_int_equal(qm_issue(fx->b, &req, DAY, T0, fx->j, fx->reason), QM_ERR_INVALID);
    req.actor = NULL;
    assert_int_equal(qm_issue(fx->b, &req, DAY, T0, fx->j, fx->reason), QM_ERR_INVALID);
    req.actor = "kiosk:1";
    req.appointment_ms = -5;
    assert_int_equal(qm_issue(fx->b, &req, DAY, T0, fx->j, fx->reason), QM_ERR_INVALID);
    assert_int_equal(qm_issue(NULL, &req, DAY, T0, fx->j, fx->reason), QM_ERR_INVALID);
    assert_int_equal(qm_issue(fx->b, NULL, DAY, T0, fx->j, fx->reason), QM_ERR_INVALID);
    assert_int_equal(qm_issue(fx->b, &req, DAY, T0, NULL, fx->reason), QM_ERR_INVALID);
    assert_int_equal(qm_journal_count(fx->j), mark);
    req.appointment_ms = 0;
    assert_int_equal(qm_issue(fx->b, &req, DAY, T0, fx->j, NULL), QM_OK);
    assert_string_equal(qm_journal_at(fx->j, mark)->phone, "+8613800000000");
}

/* ---- calling rules -------------------------------------------------------- */

static void test_green_first(void **state)
{
    fx_t *fx = *state;
    open_window(fx, 101, 1);
    issue(fx, S_DEP, QM_CLASS_ORDINARY);                  /* A001 */
    issue(fx, S_DEP, QM_CLASS_VIP);                       /* A002 */
    issue_at(fx, S_DEP, QM_CLASS_ORDINARY, T0 - MIN);     /* A003 appointment, due */
    const char *green = issue(fx, S_LOAN, QM_CLASS_GREEN);
    assert_string_equal(green, "B001");
    assert_string_equal(call_next(fx, 101), "B001");
    assert_string_equal(call_next(fx, 101), "A003");      /* due appointment */
    assert_string_equal(call_next(fx, 101), "A002");      /* VIP */
    assert_string_equal(call_next(fx, 101), "A001");
    assert_string_equal(call_next(fx, 101), "");
    assert_int_equal(act(fx, QM_ACT_CALL_NEXT, 101), QM_ERR_NO_TICKET);
    /* call next finished the previous ones */
    assert_int_equal(state_of(fx, "B001"), QM_TICKET_FINISHED);
    assert_int_equal(state_of(fx, "A001"), QM_TICKET_CALLED);
}

static void test_appointment_due(void **state)
{
    fx_t *fx = *state;
    open_window(fx, 101, 1);
    issue(fx, S_DEP, QM_CLASS_ORDINARY);                              /* A001 */
    const char *appt = issue_at(fx, S_DEP, QM_CLASS_ORDINARY, T0 + 30 * MIN);
    assert_string_equal(appt, "A002");
    issue(fx, S_DEP, QM_CLASS_ORDINARY);                              /* A003 */
    assert_string_equal(call_next(fx, 101), "A001");
    /* not due: held back, walk-ins go first */
    assert_string_equal(call_next(fx, 101), "A003");
    assert_int_equal(act(fx, QM_ACT_CALL_NEXT, 101), QM_ERR_NO_TICKET);
    issue(fx, S_DEP, QM_CLASS_VIP);                                   /* A004 */
    fx->now = T0 + 30 * MIN;
    assert_string_equal(call_next(fx, 101), "A002");                  /* due: before VIP */
    assert_string_equal(call_next(fx, 101), "A004");
    /* early appointments can still be called out of order */
    issue_at(fx, S_DEP, QM_CLASS_ORDINARY, T0 + 90 * MIN);            /* A005 */
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_CALL_TICKET,
                                                  .window_id = 101, .ticket = "A005" }), QM_OK);
    assert_string_equal(current(fx, 101), "A005");
}

static void test_strict(void **state)
{
    fx_t *fx = *state;
    int64_t order[] = { S_LOAN, S_DEP };
    set_profile(fx, 101, QM_STRATEGY_STRICT, 2, order, 2, 1);
    open_window(fx, 101, 1);
    issue(fx, S_DEP, QM_CLASS_ORDINARY);     /* A001, oldest */
    issue(fx, S_FX, QM_CLASS_ORDINARY);      /* A002, not served by 101 */
    issue(fx, S_LOAN, QM_CLASS_ORDINARY);    /* B001 */
    issue(fx, S_LOAN, QM_CLASS_ORDINARY);    /* B002 */
    issue(fx, S_DEP, QM_CLASS_VIP);          /* A003 VIP: VIP before ordinary */
    assert_string_equal(call_next(fx, 101), "A003");
    assert_string_equal(call_next(fx, 101), "B001");
    assert_string_equal(call_next(fx, 101), "B002");
    assert_string_equal(call_next(fx, 101), "A001");
    assert_string_equal(call_next(fx, 101), "");
    assert_int_equal(state_of(fx, "A002"), QM_TICKET_WAITING);
}

static void test_longest_wait(void **state)
{
    fx_t *fx = *state;
    int64_t order[] = { S_LOAN, S_DEP };
    set_profile(fx, 101, QM_STRATEGY_LONGEST_WAIT, 2, order, 2, 1);
    open_window(fx, 101, 1);
    issue(fx, S_DEP, QM_CLASS_ORDINARY);     /* A001 */
    issue(fx, S_LOAN, QM_CLASS_ORDINARY);    /* B001 */
    issue(fx, S_DEP, QM_CLASS_ORDINARY);     /* A002 */
    issue(fx, S_LOAN, QM_CLASS_ORDINARY);    /* B002 */
    assert_string_equal(call_next(fx, 101), "A001");
    assert_string_equal(call_next(fx, 101), "B001");
    assert_string_equal(call_next(fx, 101), "A002");
    assert_string_equal(call_next(fx, 101), "B002");
}

static void test_weighted(void **state)
{
    fx_t *fx = *state;
    int64_t services[] = { S_DEP, S_LOAN };
    set_profile(fx, 101, QM_STRATEGY_WEIGHTED, 2, services, 2, 1);
    open_window(fx, 101, 1);
    /* ordinary tickets are older: the rotation, not age, decides */
    for (int i = 0; i < 5; i++)
        issue(fx, i % 2 ? S_LOAN : S_DEP, QM_CLASS_ORDINARY);
    for (int i = 0; i < 8; i++)
        issue(fx, i % 2 ? S_LOAN : S_DEP, QM_CLASS_VIP);
    char seq[32] = "";
    for (int i = 0; i < 13; i++) {
        call_next(fx, 101);
        qm_ticket_info_t t;
        qm_window_info_t w;
        assert_int_equal(qm_window_find(fx->b, 101, &w), 0);
        assert_int_equal(qm_ticket_find(fx->b, w.current_id, &t), 0);
        strcat(seq, t.klass == QM_CLASS_VIP ? "V" : "O");
    }
    /* V,V,O x4, then VIP are gone: ordinary continues without stalling */
    assert_string_equal(seq, "VVOVVOVVOVVOO");
    assert_int_equal(act(fx, QM_ACT_CALL_NEXT, 101), QM_ERR_NO_TICKET);

    /* VIP only: never waits for the empty ordinary key */
    for (int i = 0; i < 4; i++)
        issue(fx, S_DEP, QM_CLASS_VIP);
    for (int i = 0; i < 4; i++)
        assert_string_not_equal(call_next(fx, 101), "");
    /* a profile change resets the counters */
    set_profile(fx, 101, QM_STRATEGY_WEIGHTED, 2, services, 1, 3);
    qm_window_info_t w;
    assert_int_equal(qm_window_find(fx->b, 101, &w), 0);
    assert_int_equal(w.rotation[0] + w.rotation[1], 0);
    assert_int_equal(w.profile.weights[QM_CLASS_ORDINARY], 3);
    for (int i = 0; i < 4; i++)
        issue(fx, S_DEP, QM_CLASS_VIP), issue(fx, S_DEP, QM_CLASS_ORDINARY);
    seq[0] = '\0';
    for (int i = 0; i < 8; i++) {
        call_next(fx, 101);
        qm_ticket_info_t t;
        assert_int_equal(qm_window_find(fx->b, 101, &w), 0);
        assert_int_equal(qm_ticket_find(fx->b, w.current_id, &t), 0);
        strcat(seq, t.klass == QM_CLASS_VIP ? "V" : "O");
    }
    assert_string_equal(seq, "VOOOVOVV");
}

/* ---- window actions ------------------------------------------------------ */

static void test_transfer_keeps_place(void **state)
{
    fx_t *fx = *state;
    int64_t loans[] = { S_LOAN };
    int64_t deposits[] = { S_DEP };
    set_profile(fx, 101, QM_STRATEGY_STRICT, 1, deposits, 2, 1);
    set_profile(fx, 102, QM_STRATEGY_STRICT, 1, loans, 2, 1);
    open_window(fx, 101, 1);
    open_window(fx, 102, 2);
    issue(fx, S_DEP, QM_CLASS_ORDINARY);     /* A001 */
    issue(fx, S_LOAN, QM_CLASS_ORDINARY);    /* B001, after A001 */
    issue(fx, S_LOAN, QM_CLASS_ORDINARY);    /* B002 */
    assert_string_equal(call_next(fx, 101), "A001");
    assert_int_equal(act(fx, QM_ACT_START, 101), QM_OK);
    qm_ticket_info_t before, after;
    assert_int_equal(qm_ticket_find(fx->b, "A001", &before), 0);
    fx->now += 10 * MIN;
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_TRANSFER, .window_id = 101,
                                                  .target = QM_TARGET_SERVICE,
                                                  .target_id = S_LOAN }), QM_OK);
    assert_string_equal(current(fx, 101), "");
    assert_int_equal(qm_ticket_find(fx->b, "A001", &after), 0);
    assert_int_equal(after.state, QM_TICKET_WAITING);
    assert_int_equal(after.service_id, S_LOAN);
    assert_int_equal(after.original_ms, before.original_ms);
    assert_true(after.issued_ms > before.issued_ms);
    assert_string_equal(after.id, before.id);
    size_t pos;
    int64_t wait;
    assert_int_equal(qm_ticket_estimate(fx->b, "A001", fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 0);
    /* its original time puts it ahead of B001 and B002 */
    assert_string_equal(call_next(fx, 102), "A001");
    assert_string_equal(call_next(fx, 102), "B001");

    /* to a window: waits for that window, ahead of its other work */
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_TRANSFER, .window_id = 102,
                                                  .target = QM_TARGET_WINDOW,
                                                  .target_id = 101 }), QM_OK);
    issue(fx, S_DEP, QM_CLASS_VIP);          /* A002 */
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_CALL_TICKET,
                                                  .window_id = 102, .ticket = "B001" }),
                     QM_ERR_WRONG_WINDOW);
    assert_string_equal(call_next(fx, 102), "B002");   /* 102 does not get it */
    assert_string_equal(call_next(fx, 101), "B001");   /* 101 gets it before A002 */
    assert_string_equal(call_next(fx, 101), "A002");

    /* to a teller: follows staff 2 wherever they log in */
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_TRANSFER, .window_id = 101,
                                                  .target = QM_TARGET_STAFF,
                                                  .target_id = 2 }), QM_OK);
    assert_int_equal(act(fx, QM_ACT_FINISH, 102), QM_OK);
    assert_int_equal(act(fx, QM_ACT_LOGOUT, 102), QM_OK);
    assert_string_equal(call_next(fx, 101), "");        /* staff 1 does not get it */
    assert_int_equal(act(fx, QM_ACT_OPEN, 103), QM_OK);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_LOGIN, .window_id = 103,
                                                  .staff_id = 2 }), QM_OK);
    assert_string_equal(call_next(fx, 103), "A002");

    /* bad targets */
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_TRANSFER, .window_id = 103,
                                                  .target = QM_TARGET_SERVICE,
                                                  .target_id = 5 }), QM_ERR_UNKNOWN_SERVICE);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_TRANSFER, .window_id = 103,
                                                  .target = QM_TARGET_WINDOW,
                                                  .target_id = 5 }), QM_ERR_UNKNOWN_WINDOW);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_TRANSFER, .window_id = 103,
                                                  .target = QM_TARGET_NONE }), QM_ERR_INVALID);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_TRANSFER, .window_id = 103,
                                                  .target = QM_TARGET_STAFF,
                                                  .target_id = 0 }), QM_ERR_INVALID);
}

static void test_park_call_back(void **state)
{
    fx_t *fx = *state;
    open_window(fx, 101, 1);
    open_window(fx, 102, 2);
    issue(fx, S_DEP, QM_CLASS_ORDINARY);
    issue(fx, S_DEP, QM_CLASS_ORDINARY);
    issue(fx, S_DEP, QM_CLASS_ORDINARY);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_CALL_BACK, .window_id = 101 }),
                     QM_ERR_NO_TICKET);
    assert_string_equal(call_next(fx, 101), "A001");
    assert_int_equal(act(fx, QM_ACT_PARK, 101), QM_OK);
    assert_int_equal(state_of(fx, "A001"), QM_TICKET_PARKED);
    qm_window_info_t w;
    assert_int_equal(qm_window_find(fx->b, 101, &w), 0);
    assert_int_equal(w.parked, 1);
    assert_string_equal(w.current_id, "");
    /* parked is out of the queue */
    assert_string_equal(call_next(fx, 102), "A002");
    assert_string_equal(call_next(fx, 101), "A003");
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_CALL_BACK, .window_id = 102,
                                                  .ticket = "A001" }), QM_ERR_WRONG_WINDOW);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_CALL_BACK, .window_id = 101,
                                                  .ticket = "A002" }), QM_ERR_TICKET_STATE);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_CALL_BACK, .window_id = 101,
                                                  .ticket = "A001" }), QM_OK);
    assert_string_equal(current(fx, 101), "A001");
    assert_int_equal(state_of(fx, "A003"), QM_TICKET_FINISHED);   /* call back finished it */
    assert_int_equal(act(fx, QM_ACT_FINISH, 101), QM_OK);
    assert_int_equal(state_of(fx, "A001"), QM_TICKET_FINISHED);
    /* NULL ticket: oldest parked */
    assert_int_equal(act(fx, QM_ACT_PARK, 102), QM_OK);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_CALL_BACK, .window_id = 102 }),
                     QM_OK);
    assert_string_equal(current(fx, 102), "A002");
}

static void test_recall_limit(void **state)
{
    fx_t *fx = *state;
    open_window(fx, 101, 1);
    issue(fx, S_DEP, QM_CLASS_ORDINARY);
    assert_string_equal(call_next(fx, 101), "A001");
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(act(fx, QM_ACT_RECALL, 101), QM_OK);
        qm_ticket_info_t t;
        assert_int_equal(qm_ticket_find(fx->b, "A001", &t), 0);
        assert_int_equal(t.recall, i);
    }
    assert_int_equal(act(fx, QM_ACT_RECALL, 101), QM_ERR_RECALL_LIMIT);
    assert_non_null(strstr(fx->reason, "no-show"));
    /* one display line; each recall supersedes the call still waiting to be
     * announced: one announcement */
    qm_hall_t *hall = qm_branch_hall(fx->b);
    assert_int_equal(qm_hall_line_count(hall), 1);
    assert_int_equal(qm_hall_pending(hall), 1);
    assert_int_equal(act(fx, QM_ACT_NO_SHOW, 101), QM_OK);
    assert_int_equal(state_of(fx, "A001"), QM_TICKET_NO_SHOW);
    assert_int_equal(act(fx, QM_ACT_RECALL, 101), QM_ERR_NO_CURRENT);
    /* a started ticket cannot be recalled nor be a no-show */
    issue(fx, S_DEP, QM_CLASS_ORDINARY);
    call_next(fx, 101);
    assert_int_equal(act(fx, QM_ACT_START, 101), QM_OK);
    assert_int_equal(act(fx, QM_ACT_START, 101), QM_ERR_TICKET_STATE);
    assert_int_equal(act(fx, QM_ACT_RECALL, 101), QM_ERR_TICKET_STATE);
    assert_int_equal(act(fx, QM_ACT_NO_SHOW, 101), QM_ERR_TICKET_STATE);
}

static void test_login_elsewhere(void **state)
{
    fx_t *fx = *state;
    open_window(fx, 101, 7);
    assert_int_equal(act(fx, QM_ACT_OPEN, 102), QM_OK);
    issue(fx, S_DEP, QM_CLASS_ORDINARY);
    issue(fx, S_DEP, QM_CLASS_ORDINARY);
    assert_string_equal(call_next(fx, 101), "A001");
    assert_int_equal(act(fx, QM_ACT_START, 101), QM_OK);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_LOGIN, .window_id = 101,
                                                  .staff_id = 7 }), QM_ERR_STAFF_STATE);
    size_t mark = qm_journal_count(fx->j);
    /* serving a customer at 101: a login elsewhere is refused, nothing done
     * (issue 11 item 15: the customer is never finished behind their back) */
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_LOGIN, .window_id = 102,
                                                  .staff_id = 7 }), QM_ERR_BUSY);
    assert_int_equal(qm_journal_count(fx->j), mark);
    assert_int_equal(state_of(fx, "A001"), QM_TICKET_SERVING);
    assert_int_equal(act(fx, QM_ACT_FINISH, 101), QM_OK);
    mark = qm_journal_count(fx->j);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_LOGIN, .window_id = 102,
                                                  .staff_id = 7 }), QM_OK);
    /* logout at 101, login at 102, in that order */
    assert_int_equal(qm_journal_count(fx->j) - mark, 2);
    const qm_event_t *logout = qm_journal_at(fx->j, mark);
    assert_int_equal(logout->kind, QM_EV_STAFF_LOGOUT);
    assert_int_equal(logout->window_id, 101);
    assert_int_equal(logout->staff_id, 7);
    assert_non_null(strstr(logout->detail, "window 2"));
    assert_int_equal(qm_journal_at(fx->j, mark + 1)->kind, QM_EV_STAFF_LOGIN);
    qm_window_info_t w;
    assert_int_equal(qm_window_find(fx->b, 101, &w), 0);
    assert_int_equal(w.staff_id, 0);
    assert_int_equal(qm_window_find(fx->b, 102, &w), 0);
    assert_int_equal(w.staff_id, 7);
    assert_int_equal(state_of(fx, "A001"), QM_TICKET_FINISHED);
    assert_int_equal(act(fx, QM_ACT_CALL_NEXT, 101), QM_ERR_NO_STAFF);

    /* another teller takes over 102: a called ticket goes back to waiting */
    assert_string_equal(call_next(fx, 102), "A002");
    fx->now += MIN;
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_LOGIN, .window_id = 102,
                                                  .staff_id = 8 }), QM_OK);
    assert_int_equal(state_of(fx, "A002"), QM_TICKET_WAITING);
    qm_ticket_info_t back;
    assert_int_equal(qm_ticket_find(fx->b, "A002", &back), 0);
    assert_int_equal(back.issued_ms, fx->now);          /* waits again from its return */
    assert_true(back.original_ms < back.issued_ms);     /* keeping its place */
    assert_int_equal(qm_window_find(fx->b, 102, &w), 0);
    assert_int_equal(w.staff_id, 8);
    assert_string_equal(call_next(fx, 102), "A002");
    qm_ticket_info_t t;
    assert_int_equal(qm_ticket_find(fx->b, "A002", &t), 0);
    assert_int_equal(t.staff_id, 8);
    /* logout while serving is refused, while called it returns the ticket */
    assert_int_equal(act(fx, QM_ACT_START, 102), QM_OK);
    assert_int_equal(act(fx, QM_ACT_LOGOUT, 102), QM_ERR_BUSY);
    assert_int_equal(act(fx, QM_ACT_CLOSE, 102), QM_ERR_BUSY);
    assert_int_equal(act(fx, QM_ACT_FINISH, 102), QM_OK);
    assert_int_equal(act(fx, QM_ACT_LOGOUT, 102), QM_OK);
    assert_int_equal(act(fx, QM_ACT_LOGOUT, 102), QM_ERR_NO_STAFF);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_LOGIN, .window_id = 102,
                                                  .staff_id = -3 }), QM_ERR_INVALID);
}

static void test_window_refusals(void **state)
{
    fx_t *fx = *state;
    issue(fx, S_DEP, QM_CLASS_ORDINARY);
    assert_int_equal(act(fx, QM_ACT_CALL_NEXT, 999), QM_ERR_UNKNOWN_WINDOW);
    assert_int_equal(act(fx, QM_ACT_CALL_NEXT, 101), QM_ERR_WINDOW_CLOSED);
    assert_int_equal(act(fx, QM_ACT_CLOSE, 101), QM_ERR_WINDOW_STATE);
    assert_int_equal(act(fx, QM_ACT_PAUSE, 101), QM_ERR_INVALID);   /* no reason */
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_PAUSE, .window_id = 101,
                                                  .reason = "lunch" }), QM_ERR_WINDOW_CLOSED);
    assert_int_equal(act(fx, QM_ACT_OPEN, 101), QM_OK);
    assert_int_equal(act(fx, QM_ACT_OPEN, 101), QM_ERR_WINDOW_STATE);
    assert_int_equal(act(fx, QM_ACT_CALL_NEXT, 101), QM_ERR_NO_STAFF);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_LOGIN, .window_id = 101,
                                                  .staff_id = 1 }), QM_OK);
    assert_int_equal(act(fx, QM_ACT_RESUME, 101), QM_ERR_WINDOW_STATE);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_PAUSE, .window_id = 101,
                                                  .reason = "lunch" }), QM_OK);
    assert_int_equal(act(fx, QM_ACT_CALL_NEXT, 101), QM_ERR_WINDOW_PAUSED);
    assert_non_null(strstr(fx->reason, "lunch"));
    qm_window_info_t w;
    assert_int_equal(qm_window_find(fx->b, 101, &w), 0);
    assert_int_equal(w.state, QM_WINDOW_PAUSED);
    assert_string_equal(w.pause_reason, "lunch");
    assert_int_equal(act(fx, QM_ACT_RESUME, 101), QM_OK);
    assert_int_equal(act(fx, QM_ACT_FINISH, 101), QM_ERR_NO_CURRENT);
    assert_int_equal(act(fx, QM_ACT_START, 101), QM_ERR_NO_CURRENT);
    assert_int_equal(act(fx, QM_ACT_PARK, 101), QM_ERR_NO_CURRENT);
    assert_int_equal(act(fx, QM_ACT_NO_SHOW, 101), QM_ERR_NO_CURRENT);
    assert_int_equal(act(fx, (qm_action_kind_t) 99, 101), QM_ERR_INVALID);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_CALL_TICKET, .window_id = 101,
                                                  .ticket = "A404" }), QM_ERR_UNKNOWN_TICKET);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_CALL_TICKET, .window_id = 101,
                                                  .ticket = "garbage" }), QM_ERR_UNKNOWN_TICKET);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_CALL_TICKET, .window_id = 101 }),
                     QM_ERR_INVALID);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_WALK_IN, .window_id = 101,
                                                  .service_id = 4 }), QM_ERR_UNKNOWN_SERVICE);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_WALK_IN, .window_id = 101,
                                                  .service_id = S_DEP,
                                                  .klass = (qm_class_t) -1 }), QM_ERR_INVALID);
    qm_action_t bad = { .kind = QM_ACT_OPEN, .window_id = 101, .actor = "" };
    assert_int_equal(qm_act(fx->b, &bad, fx->now, fx->j, fx->reason), QM_ERR_INVALID);
    assert_int_equal(qm_act(fx->b, NULL, fx->now, fx->j, fx->reason), QM_ERR_INVALID);

    /* not served by the profile */
    int64_t loans[] = { S_LOAN };
    set_profile(fx, 101, QM_STRATEGY_STRICT, 1, loans, 2, 1);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_CALL_TICKET, .window_id = 101,
                                                  .ticket = "A001" }), QM_ERR_NOT_SERVED);
    assert_int_equal(act(fx, QM_ACT_CALL_NEXT, 101), QM_ERR_NO_TICKET);
    /* a called ticket cannot be called again elsewhere */
    open_window(fx, 102, 2);
    assert_string_equal(call_next(fx, 102), "A001");
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_CALL_TICKET, .window_id = 103,
                                                  .ticket = "A001" }), QM_ERR_WINDOW_CLOSED);
    open_window(fx, 103, 3);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_CALL_TICKET, .window_id = 103,
                                                  .ticket = "A001" }), QM_ERR_TICKET_STATE);
    /* close with a called ticket: it goes back to waiting */
    assert_int_equal(act(fx, QM_ACT_CLOSE, 102), QM_OK);
    assert_int_equal(state_of(fx, "A001"), QM_TICKET_WAITING);
}

static void test_walk_in(void **state)
{
    fx_t *fx = *state;
    open_window(fx, 101, 1);
    issue(fx, S_DEP, QM_CLASS_ORDINARY);                /* A001 */
    call_next(fx, 101);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_WALK_IN, .window_id = 101,
                                                  .service_id = S_FX,
                                                  .klass = QM_CLASS_VIP }), QM_OK);
    assert_int_equal(state_of(fx, "A001"), QM_TICKET_FINISHED);
    assert_string_equal(current(fx, 101), "A002");
    qm_ticket_info_t t;
    assert_int_equal(qm_ticket_find(fx->b, "A002", &t), 0);
    assert_int_equal(t.state, QM_TICKET_SERVING);
    assert_int_equal(t.service_id, S_FX);
    assert_int_equal(t.staff_id, 1);
    assert_true(t.started_ms > 0);
    assert_string_equal(issue(fx, S_DEP, QM_CLASS_ORDINARY), "A003");
    qm_hall_t *hall = qm_branch_hall(fx->b);
    int shown = 0;
    for (size_t i = 0; i < qm_hall_current_count(hall); i++)
        if (qm_hall_current(hall, i)->window_no == 1)
            shown = strcmp(qm_hall_current(hall, i)->number, "A002") == 0;
    assert_true(shown);
    assert_int_equal(act(fx, QM_ACT_FINISH, 101), QM_OK);
    assert_int_equal(state_of(fx, "A002"), QM_TICKET_FINISHED);
}

/* ---- never twice ------------------------------------------------------------ */

static int s_cmp_id(const void *x, const void *y)
{
    return strcmp(x, y);
}

static void test_never_twice(void **state)
{
    (void) state;
    enum { WINDOWS = 16, TICKETS = 20000, SERVICES = 4 };
    qm_queue_cfg_t queues[SERVICES];
    qm_service_cfg_t services[SERVICES];
    memset(queues, 0, sizeof queues);
    memset(services, 0, sizeof services);
    for (int i = 0; i < SERVICES; i++) {
        queues[i] = (qm_queue_cfg_t) { i + 1, { (char) ('A' + i), 0 }, 9999 };
        services[i] = (qm_service_cfg_t) { 10 * (i + 1), "S", "Service", i + 1 };
    }
    qm_config_t cfg = { .queues = queues, .queue_count = SERVICES, .services = services,
                        .service_count = SERVICES };
    qm_settings_default(&cfg.settings);
    fx_t fx = { .now = T0 };
    fx.b = qm_branch_new(&cfg, DAY, fx.reason);
    fx.j = qm_journal_new();
    assert_non_null(fx.b);
    /* 16 windows with overlapping profiles and every strategy */
    for (int i = 0; i < WINDOWS; i++) {
        qm_window_cfg_t w = { .id = 101 + i, .number = i + 1 };
        qm_profile_init(&w.profile);
        w.profile.strategy = (qm_strategy_t) (i % 3);
        w.profile.service_count = i % 4 == 3 ? 2 : SERVICES;
        for (size_t k = 0; k < w.profile.service_count; k++)
            w.profile.services[k] = 10 * (int64_t) (1 + (k + (size_t) i) % SERVICES);
        size_t mark = qm_journal_count(fx.j);
        assert_int_equal(s_commit(&fx, qm_window_set(fx.b, &w, "admin", fx.now, fx.j,
                                                     fx.reason), mark), QM_OK);
        open_window(&fx, 101 + i, 1000 + i);
    }
    static const qm_class_t classes[] = { QM_CLASS_ORDINARY, QM_CLASS_ORDINARY, QM_CLASS_VIP,
                                          QM_CLASS_ORDINARY, QM_CLASS_GREEN };
    char (*called)[ID_SIZE] = calloc(TICKETS, ID_SIZE);
    assert_non_null(called);
    size_t calls = 0, issued = 0;
    qm_issue_req_t req = { 0, 0, 0, NULL, "kiosk:1" };
    /* issue in bursts while the windows call: most of the day is queued */
    for (bool progress = true; progress || issued < TICKETS;) {
        for (int burst = 0; burst < 40 && issued < TICKETS; burst++, issued++) {
            req.service_id = 10 * (int64_t) (1 + issued % SERVICES);
            req.klass = classes[issued % 5];
            req.appointment_ms = issued % 97 == 0 ? fx.now + (int64_t) (issued % 7) * MIN : 0;
            size_t mark = qm_journal_count(fx.j);
            assert_int_equal(s_commit(&fx, qm_issue(fx.b, &req, DAY, fx.now, fx.j, fx.reason),
                                      mark), QM_OK);
        }
        progress = false;
        for (int i = 0; i < WINDOWS; i++) {
            fx.now += 50;
            size_t mark = qm_journal_count(fx.j);
            qm_action_t a = { .kind = QM_ACT_CALL_NEXT, .window_id = 101 + i, .actor = "dev" };
            qm_err_t err = qm_act(fx.b, &a, fx.now, fx.j, fx.reason);
            if (err == QM_ERR_NO_TICKET)
                continue;
            assert_int_equal(err, QM_OK);
            const qm_event_t *ev = qm_journal_at(fx.j, qm_journal_count(fx.j) - 1);
            assert_int_equal(ev->kind, QM_EV_CALLED);
            assert_true(calls < TICKETS);
            memcpy(called[calls++], ev->ticket_id, ID_SIZE);
            assert_int_equal(qm_journal_apply(fx.b, fx.j, mark), 0);
            progress = true;
        }
        if (qm_journal_count(fx.j) > 4096)
            qm_journal_clear(fx.j);
    }
    assert_int_equal(qm_ticket_count(fx.b), TICKETS);
    assert_int_equal(calls, TICKETS);
    qsort(called, calls, ID_SIZE, s_cmp_id);
    for (size_t i = 1; i < calls; i++)
        if (strcmp(called[i - 1], called[i]) == 0)
            fail_msg("ticket %s called twice", called[i]);
    for (size_t i = 0; i < qm_ticket_count(fx.b); i++) {
        qm_ticket_info_t t;
        assert_int_equal(qm_ticket_at(fx.b, i, &t), 0);
        assert_true(t.state == QM_TICKET_FINISHED || t.state == QM_TICKET_CALLED);
        assert_non_null(bsearch(t.id, called, calls, ID_SIZE, s_cmp_id));
    }
    for (int i = 0; i < SERVICES; i++) {
        qm_service_stats_t st;
        assert_int_equal(qm_service_stats(fx.b, 10 * (i + 1), &st), 0);
        assert_int_equal(st.waiting, 0);
    }
    free(called);
    qm_branch_destroy(&fx.b);
    qm_journal_destroy(&fx.j);
}

/* ---- day end and numbering ---------------------------------------------------- */

static void test_day_end(void **state)
{
    fx_t *fx = *state;
    open_window(fx, 101, 1);
    open_window(fx, 102, 2);
    for (int i = 0; i < 6; i++)
        issue(fx, i % 2 ? S_LOAN : S_DEP, QM_CLASS_ORDINARY);
    call_next(fx, 101);                             /* called */
    call_next(fx, 102);
    assert_int_equal(act(fx, QM_ACT_START, 102), QM_OK);   /* serving */
    call_next(fx, 103);                             /* closed: refused */
    assert_int_equal(act(fx, QM_ACT_OPEN, 103), QM_OK);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_LOGIN, .window_id = 103,
                                                  .staff_id = 3 }), QM_OK);
    call_next(fx, 103);
    assert_int_equal(act(fx, QM_ACT_PARK, 103), QM_OK);    /* parked */
    call_next(fx, 103);
    assert_int_equal(act(fx, QM_ACT_FINISH, 103), QM_OK);  /* finished stays finished */

    size_t mark = qm_journal_count(fx->j);
    assert_int_equal(qm_day_end(fx->b, DAY, "system", fx->now, fx->j, fx->reason),
                     QM_ERR_WRONG_DAY);
    assert_int_equal(qm_journal_count(fx->j), mark);
    fx->now = T0 + 15 * 60 * MIN;
    assert_int_equal(s_commit(fx, qm_day_end(fx->b, DAY + 1, "system", fx->now, fx->j,
                                             fx->reason), mark), QM_OK);
    size_t abandoned = 0;
    for (size_t e = mark; e < qm_journal_count(fx->j); e++) {
        const qm_event_t *ev = qm_journal_at(fx->j, e);
        if (ev->kind == QM_EV_ABANDONED) {
            abandoned++;
            assert_non_null(strstr(ev->detail, "day end: was "));
        }
    }
    assert_int_equal(abandoned, 5);   /* 2 waiting + called + serving + parked */
    assert_int_equal(qm_journal_at(fx->j, qm_journal_count(fx->j) - 1)->kind, QM_EV_DAY_START);
    assert_int_equal(qm_branch_day(fx->b), DAY + 1);
    assert_int_equal(qm_ticket_count(fx->b), 0);
    qm_ticket_info_t t;
    assert_int_equal(qm_ticket_find(fx->b, "A001", &t), -1);
    for (size_t i = 0; i < qm_window_count(fx->b); i++) {
        qm_window_info_t w;
        assert_int_equal(qm_window_at(fx->b, i, &w), 0);
        assert_int_equal(w.state, QM_WINDOW_CLOSED);
        assert_int_equal(w.staff_id, 0);
        assert_string_equal(w.current_id, "");
        assert_int_equal(w.parked, 0);
    }
    assert_int_equal(qm_hall_line_count(qm_branch_hall(fx->b)), 0);
    assert_int_equal(qm_hall_pending(qm_branch_hall(fx->b)), 0);
    assert_int_equal(qm_queue_waiting(fx->b, Q_A), 0);
    /* yesterday refused, numbering restarts */
    qm_issue_req_t req = { S_DEP, QM_CLASS_ORDINARY, 0, NULL, "kiosk:1" };
    assert_int_equal(qm_issue(fx->b, &req, DAY, fx->now, fx->j, fx->reason), QM_ERR_WRONG_DAY);
    mark = qm_journal_count(fx->j);
    assert_int_equal(s_commit(fx, qm_issue(fx->b, &req, DAY + 1, fx->now, fx->j, fx->reason),
                              mark), QM_OK);
    assert_string_equal(qm_journal_at(fx->j, mark)->number, "A001");
    assert_int_equal(qm_journal_at(fx->j, mark)->day, DAY + 1);
    req.service_id = S_LOAN;
    mark = qm_journal_count(fx->j);
    assert_int_equal(s_commit(fx, qm_issue(fx->b, &req, DAY + 1, fx->now, fx->j, fx->reason),
                              mark), QM_OK);
    assert_string_equal(qm_journal_at(fx->j, mark)->number, "B001");
    /* an empty day ends too */
    assert_int_equal(act(fx, QM_ACT_OPEN, 101), QM_OK);
    mark = qm_journal_count(fx->j);
    assert_int_equal(s_commit(fx, qm_day_end(fx->b, DAY + 2, "system", fx->now, fx->j,
                                             fx->reason), mark), QM_OK);
    assert_int_equal(qm_branch_day(fx->b), DAY + 2);
}

static void test_number_wrap(void **state)
{
    (void) state;
    qm_config_t cfg;
    qm_queue_cfg_t queues[2];
    qm_service_cfg_t services[3];
    qm_window_cfg_t windows[3];
    s_config(&cfg, queues, services, windows);
    queues[0].number_max = 5;
    fx_t fx = { .now = T0 };
    fx.b = qm_branch_new(&cfg, DAY, fx.reason);
    fx.j = qm_journal_new();
    assert_non_null(fx.b);
    open_window(&fx, 101, 1);
    for (int i = 1; i <= 5; i++) {
        char expect[16];
        snprintf(expect, sizeof expect, "A%03d", i);
        assert_string_equal(issue(&fx, S_DEP, QM_CLASS_ORDINARY), expect);
    }
    assert_int_equal(qm_queue_next_number(fx.b, Q_A), -1);
    qm_issue_req_t req = { S_DEP, QM_CLASS_ORDINARY, 0, NULL, "kiosk:1" };
    assert_int_equal(qm_issue(fx.b, &req, DAY, fx.now, fx.j, fx.reason), QM_ERR_QUEUE_FULL);
    assert_int_equal(act_full(&fx, (qm_action_t) { .kind = QM_ACT_WALK_IN, .window_id = 101,
                                                   .service_id = S_FX }), QM_ERR_QUEUE_FULL);
    /* A002 and A004 end; A001, A003, A005 stay live */
    assert_int_equal(act_full(&fx, (qm_action_t) { .kind = QM_ACT_CALL_TICKET, .window_id = 101,
                                                   .ticket = "A002" }), QM_OK);
    assert_int_equal(act_full(&fx, (qm_action_t) { .kind = QM_ACT_CALL_TICKET, .window_id = 101,
                                                   .ticket = "A004" }), QM_OK);
    assert_int_equal(act(&fx, QM_ACT_NO_SHOW, 101), QM_OK);
    assert_string_equal(issue(&fx, S_DEP, QM_CLASS_ORDINARY), "A002");
    assert_string_equal(issue(&fx, S_FX, QM_CLASS_ORDINARY), "A004");
    assert_int_equal(qm_issue(fx.b, &req, DAY, fx.now, fx.j, fx.reason), QM_ERR_QUEUE_FULL);
    assert_non_null(strstr(fx.reason, "queue A"));
    /* the reused number finds the live ticket */
    qm_ticket_info_t t;
    assert_int_equal(qm_ticket_find(fx.b, "A004", &t), 0);
    assert_int_equal(t.state, QM_TICKET_WAITING);
    assert_int_equal(t.service_id, S_FX);
    qm_branch_destroy(&fx.b);
    qm_journal_destroy(&fx.j);
}

/* ---- estimate -------------------------------------------------------------- */

/* Issue 11 item 17: the place is the one the window's rules give: every
 * service it serves, the classes' weighted rotation, appointments when they
 * are due. */
static void test_estimate_follows_the_window_rules(void **state)
{
    fx_t *fx = *state;
    size_t pos;
    int64_t wait;
    open_window(fx, 101, 1);
    int64_t services[] = { S_DEP, S_LOAN, S_FX };
    set_profile(fx, 101, QM_STRATEGY_WEIGHTED, 3, services, 2, 1);   /* oldest first */
    const char *d1 = issue(fx, S_DEP, QM_CLASS_ORDINARY);
    issue(fx, S_DEP, QM_CLASS_ORDINARY);
    const char *d3 = issue(fx, S_DEP, QM_CLASS_ORDINARY);
    const char *l1 = issue(fx, S_LOAN, QM_CLASS_ORDINARY);
    /* the only loan ticket, yet three deposits come first at this window */
    assert_int_equal(qm_ticket_estimate(fx->b, l1, fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 3);
    assert_int_equal(wait, 3 * 300);
    /* three VIPs: weighted 2 to 1, so V1 V2 D1 V3 D2 D3, then the loan */
    issue(fx, S_DEP, QM_CLASS_VIP);
    issue(fx, S_DEP, QM_CLASS_VIP);
    issue(fx, S_FX, QM_CLASS_VIP);
    assert_int_equal(qm_ticket_estimate(fx->b, l1, fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 6);
    assert_int_equal(wait, 6 * 300);
    assert_int_equal(qm_ticket_estimate(fx->b, d1, fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 2);
    assert_int_equal(qm_ticket_estimate(fx->b, d3, fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 5);
    /* an appointment in an hour: served when it is due, not before */
    const char *appt = issue_at(fx, S_DEP, QM_CLASS_ORDINARY, fx->now + 1000 + 3600000);
    assert_int_equal(qm_ticket_estimate(fx->b, appt, fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 7);
    assert_int_equal(wait, 3600);
    /* a window busy with a customer is free once the service's average has
     * passed since the start */
    assert_int_equal(act(fx, QM_ACT_CALL_NEXT, 101), QM_OK);    /* V1 */
    assert_int_equal(act(fx, QM_ACT_START, 101), QM_OK);
    fx->now += 100000;
    assert_int_equal(qm_ticket_estimate(fx->b, l1, fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 5);
    assert_int_equal(wait, 200 + 5 * 300);
}

static void test_estimate(void **state)
{
    fx_t *fx = *state;
    size_t pos;
    int64_t wait;
    const char *a1 = issue(fx, S_DEP, QM_CLASS_ORDINARY);
    assert_int_equal(qm_ticket_estimate(fx->b, a1, fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 0);
    assert_int_equal(wait, 0);
    for (int i = 0; i < 4; i++)
        issue(fx, S_DEP, QM_CLASS_ORDINARY);                  /* A002..A005 */
    issue(fx, S_LOAN, QM_CLASS_ORDINARY);                     /* other service: not counted */
    /* no window open: counts as one */
    assert_int_equal(qm_ticket_estimate(fx->b, "A005", fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 4);
    assert_int_equal(wait, 4 * 300);
    open_window(fx, 101, 1);
    open_window(fx, 102, 2);
    assert_int_equal(qm_ticket_estimate(fx->b, "A005", fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 4);
    assert_int_equal(wait, 2 * 300);
    /* the windows play forward: A001 and A002 at once, A003 and A004 once
     * those are served, A005 after another round */
    assert_int_equal(qm_ticket_estimate(fx->b, "A004", fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 3);
    assert_int_equal(wait, 1 * 300);
    /* class precedence: a later VIP comes before them */
    const char *vip = issue(fx, S_DEP, QM_CLASS_VIP);         /* A006 */
    assert_int_equal(qm_ticket_estimate(fx->b, vip, fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 0);
    assert_int_equal(qm_ticket_estimate(fx->b, "A005", fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 5);          /* A006, then A001 .. A004 over two windows */
    assert_int_equal(wait, 2 * 300);
    const char *green = issue(fx, S_DEP, QM_CLASS_GREEN);     /* A007 */
    assert_int_equal(qm_ticket_estimate(fx->b, green, fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 0);
    assert_int_equal(qm_ticket_estimate(fx->b, vip, fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 1);
    /* pausing a window raises the estimate */
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_PAUSE, .window_id = 102,
                                                  .reason = "break" }), QM_OK);
    assert_int_equal(qm_ticket_estimate(fx->b, "A005", fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 6);
    assert_int_equal(wait, 6 * 300);
    /* moving average: (3 * 300 s + 60 s) / 4 = 240 s, then (3 * 240 + 120) / 4 = 210 s */
    assert_string_equal(call_next(fx, 101), green);
    assert_int_equal(act(fx, QM_ACT_START, 101), QM_OK);
    fx->now += 60000;
    assert_int_equal(act(fx, QM_ACT_FINISH, 101), QM_OK);
    qm_service_stats_t st;
    assert_int_equal(qm_service_stats(fx->b, S_DEP, &st), 0);
    assert_int_equal(st.avg_ms, 240000);
    assert_int_equal(st.windows_serving, 1);
    assert_int_equal(st.waiting, 6);
    assert_int_equal(st.by_class[QM_CLASS_VIP], 1);
    assert_int_equal(st.by_class[QM_CLASS_ORDINARY], 5);
    assert_string_equal(call_next(fx, 101), vip);
    assert_int_equal(act(fx, QM_ACT_START, 101), QM_OK);
    fx->now += 120000;
    assert_int_equal(act(fx, QM_ACT_FINISH, 101), QM_OK);
    assert_int_equal(qm_service_stats(fx->b, S_DEP, &st), 0);
    assert_int_equal(st.avg_ms, 210000);
    assert_int_equal(qm_ticket_estimate(fx->b, "A005", fx->now, &pos, &wait), 0);
    assert_int_equal(pos, 4);
    assert_int_equal(wait, 4 * 210);
    assert_int_equal(qm_service_stats(fx->b, S_LOAN, &st), 0);
    assert_int_equal(st.avg_ms, 300000);                      /* per service */
    /* not waiting, unknown */
    assert_int_equal(qm_ticket_estimate(fx->b, vip, fx->now, &pos, &wait), -1);
    assert_int_equal(qm_ticket_estimate(fx->b, "Q001", fx->now, &pos, &wait), -1);
    assert_int_equal(qm_service_stats(fx->b, 4, &st), -1);
}

/* ---- live state for alerts: since, waiting per window, oldest per queue ------ */

static int64_t since(fx_t *fx, int64_t window)
{
    qm_window_info_t w;
    assert_int_equal(qm_window_find(fx->b, window, &w), 0);
    return w.since_ms;
}

/* Moves the clock, acts; checks the window's since moved to now (`moves`)
 * or stayed where it was. */
static void s_act_since(fx_t *fx, qm_action_t a, int64_t window, bool moves)
{
    int64_t before = since(fx, window);
    fx->now += MIN;
    assert_int_equal(act_full(fx, a), QM_OK);
    if (moves)
        assert_int_equal(since(fx, window), fx->now);
    else
        assert_int_equal(since(fx, window), before);
}

#define ACT(k, win) ((qm_action_t) { .kind = (k), .window_id = (win) })

static void test_window_since(void **state)
{
    fx_t *fx = *state;
    for (int64_t w = 101; w <= 103; w++)
        assert_int_equal(since(fx, w), 0);              /* nothing yet today */
    s_act_since(fx, ACT(QM_ACT_OPEN, 101), 101, true);
    s_act_since(fx, (qm_action_t) { .kind = QM_ACT_LOGIN, .window_id = 101, .staff_id = 1 },
                101, true);
    /* idle: tickets issued, another window's work, a profile change do not move it */
    int64_t idle = since(fx, 101);
    fx->now += MIN;
    issue(fx, S_DEP, QM_CLASS_ORDINARY);                    /* A001 */
    issue(fx, S_DEP, QM_CLASS_ORDINARY);                    /* A002 */
    issue(fx, S_LOAN, QM_CLASS_ORDINARY);                   /* B001 */
    assert_int_equal(since(fx, 101), idle);
    s_act_since(fx, ACT(QM_ACT_OPEN, 102), 101, false);
    assert_int_equal(since(fx, 102), fx->now);
    s_act_since(fx, (qm_action_t) { .kind = QM_ACT_LOGIN, .window_id = 102, .staff_id = 2 },
                101, false);
    s_act_since(fx, ACT(QM_ACT_CALL_NEXT, 102), 101, false);           /* 102: A001 */
    int64_t loans[] = { S_LOAN, S_DEP, S_FX };
    fx->now += MIN;
    set_profile(fx, 101, QM_STRATEGY_STRICT, 3, loans, 2, 1);
    assert_int_equal(since(fx, 101), idle);
    /* a ticket transferred to it waits there: not a change of the window */
    s_act_since(fx, (qm_action_t) { .kind = QM_ACT_TRANSFER, .window_id = 102,
                                    .target = QM_TARGET_WINDOW, .target_id = 101 }, 101, false);
    assert_int_equal(since(fx, 102), fx->now);              /* 102 lost its current */

    /* each change of the current ticket */
    s_act_since(fx, ACT(QM_ACT_CALL_NEXT, 101), 101, true);            /* A001 */
    assert_string_equal(current(fx, 101), "A001");
    s_act_since(fx, ACT(QM_ACT_RECALL, 101), 101, false);
    s_act_since(fx, ACT(QM_ACT_START, 101), 101, false);
    s_act_since(fx, ACT(QM_ACT_FINISH, 101), 101, true);
    s_act_since(fx, (qm_action_t) { .kind = QM_ACT_CALL_TICKET, .window_id = 101,
                                    .ticket = "A002" }, 101, true);
    s_act_since(fx, ACT(QM_ACT_NO_SHOW, 101), 101, true);
    s_act_since(fx, (qm_action_t) { .kind = QM_ACT_WALK_IN, .window_id = 101,
                                    .service_id = S_FX }, 101, true);
    s_act_since(fx, ACT(QM_ACT_FINISH, 101), 101, true);
    s_act_since(fx, ACT(QM_ACT_CALL_NEXT, 101), 101, true);            /* B001 */
    s_act_since(fx, ACT(QM_ACT_PARK, 101), 101, true);
    s_act_since(fx, ACT(QM_ACT_CALL_BACK, 101), 101, true);
    s_act_since(fx, (qm_action_t) { .kind = QM_ACT_TRANSFER, .window_id = 101,
                                    .target = QM_TARGET_SERVICE, .target_id = S_LOAN },
                101, true);
    /* state */
    s_act_since(fx, (qm_action_t) { .kind = QM_ACT_PAUSE, .window_id = 101, .reason = "tea" },
                101, true);
    s_act_since(fx, ACT(QM_ACT_RESUME, 101), 101, true);
    /* a called ticket returned by a logout: both at the same time */
    s_act_since(fx, ACT(QM_ACT_CALL_NEXT, 101), 101, true);            /* B001 again */
    s_act_since(fx, ACT(QM_ACT_LOGOUT, 101), 101, true);
    assert_int_equal(state_of(fx, "B001"), QM_TICKET_WAITING);
    /* a teller who logs in elsewhere leaves: both windows change */
    s_act_since(fx, (qm_action_t) { .kind = QM_ACT_LOGIN, .window_id = 101, .staff_id = 3 },
                101, true);
    s_act_since(fx, (qm_action_t) { .kind = QM_ACT_LOGIN, .window_id = 102, .staff_id = 3 },
                101, true);
    assert_int_equal(since(fx, 102), fx->now);
    s_act_since(fx, ACT(QM_ACT_CLOSE, 101), 101, true);
    assert_int_equal(since(fx, 103), 0);                    /* never touched */

    /* the same since from a replay of the events */
    fx_t *copy = fx_new();
    assert_int_equal(qm_journal_apply(copy->b, fx->j, 0), 0);
    for (int64_t w = 101; w <= 103; w++)
        assert_int_equal(since(copy, w), since(fx, w));
    teardown((void **) &copy);

    /* abandoned while current at day end; the new day starts with none */
    s_act_since(fx, ACT(QM_ACT_CALL_NEXT, 102), 102, true);            /* B001 */
    fx->now += MIN;
    size_t mark = qm_journal_count(fx->j);
    assert_int_equal(qm_day_end(fx->b, DAY + 1, "system", fx->now, fx->j, fx->reason), QM_OK);
    /* the ticket's window moves even if the event does not name it */
    qm_event_t ev = *qm_journal_at(fx->j, mark);
    assert_int_equal(ev.kind, QM_EV_ABANDONED);
    assert_int_equal(ev.window_id, 102);
    ev.window_id = 0;
    ev.window_no = 0;
    int64_t before = since(fx, 102);
    assert_int_equal(qm_apply(fx->b, &ev), 0);
    assert_true(ev.at_ms > before);
    assert_int_equal(since(fx, 102), ev.at_ms);
    assert_string_equal(current(fx, 102), "");
    assert_int_equal(qm_journal_apply(fx->b, fx->j, mark + 1), 0);
    for (int64_t w = 101; w <= 103; w++)
        assert_int_equal(since(fx, w), 0);
}

static void test_window_waiting(void **state)
{
    fx_t *fx = *state;
    int64_t deposits[] = { S_DEP }, loans[] = { S_LOAN };
    set_profile(fx, 101, QM_STRATEGY_STRICT, 1, deposits, 2, 1);
    set_profile(fx, 102, QM_STRATEGY_STRICT, 1, loans, 2, 1);
    issue(fx, S_DEP, QM_CLASS_ORDINARY);                    /* A001 */
    issue(fx, S_DEP, QM_CLASS_VIP);                         /* A002 */
    issue(fx, S_LOAN, QM_CLASS_ORDINARY);                   /* B001 */
    issue_at(fx, S_FX, QM_CLASS_ORDINARY, fx->now + 60 * MIN);   /* A003, appointment */
    /* closed windows count what they could call, by their profiles */
    assert_int_equal(qm_window_waiting(fx->b, 101), 2);
    assert_int_equal(qm_window_waiting(fx->b, 102), 1);
    assert_int_equal(qm_window_waiting(fx->b, 103), 4);
    assert_int_equal(qm_window_waiting(fx->b, 999), -1);

    open_window(fx, 101, 1);
    open_window(fx, 102, 2);
    assert_string_equal(call_next(fx, 102), "B001");
    assert_int_equal(qm_window_waiting(fx->b, 102), 0);
    /* transferred to window 101: its own, whatever the service */
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_TRANSFER, .window_id = 102,
                                                  .target = QM_TARGET_WINDOW,
                                                  .target_id = 101 }), QM_OK);
    assert_int_equal(qm_window_waiting(fx->b, 101), 3);
    assert_int_equal(qm_window_waiting(fx->b, 102), 0);
    assert_int_equal(qm_window_waiting(fx->b, 103), 3);     /* not in LOAN any more */
    assert_string_equal(call_next(fx, 101), "B001");
    assert_int_equal(qm_window_waiting(fx->b, 101), 2);
    /* transferred to teller 2: wherever teller 2 is logged in */
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_TRANSFER, .window_id = 101,
                                                  .target = QM_TARGET_STAFF,
                                                  .target_id = 2 }), QM_OK);
    assert_int_equal(qm_window_waiting(fx->b, 102), 1);
    assert_int_equal(qm_window_waiting(fx->b, 101), 2);
    assert_int_equal(qm_window_waiting(fx->b, 103), 3);
    assert_int_equal(act(fx, QM_ACT_LOGOUT, 102), QM_OK);
    assert_int_equal(qm_window_waiting(fx->b, 102), 0);
    open_window(fx, 103, 2);
    assert_int_equal(qm_window_waiting(fx->b, 103), 4);
    /* paused still counts; called and parked tickets do not */
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_PAUSE, .window_id = 101,
                                                  .reason = "tea" }), QM_OK);
    assert_int_equal(qm_window_waiting(fx->b, 101), 2);
    assert_int_equal(act(fx, QM_ACT_RESUME, 101), QM_OK);
    assert_string_equal(call_next(fx, 101), "A002");
    assert_int_equal(act(fx, QM_ACT_PARK, 101), QM_OK);
    assert_int_equal(qm_window_waiting(fx->b, 101), 1);
}

static void test_queue_oldest(void **state)
{
    fx_t *fx = *state;
    assert_int_equal(qm_queue_oldest(fx->b, Q_A), 0);
    assert_int_equal(qm_queue_oldest(fx->b, 99), -1);
    issue(fx, S_DEP, QM_CLASS_ORDINARY);                    /* A001 */
    int64_t a001 = fx->now;
    issue(fx, S_FX, QM_CLASS_ORDINARY);                     /* A002, same queue */
    int64_t a002 = fx->now;
    issue(fx, S_LOAN, QM_CLASS_ORDINARY);                   /* B001 */
    int64_t b001 = fx->now;
    assert_int_equal(qm_queue_oldest(fx->b, Q_A), a001);
    assert_int_equal(qm_queue_oldest(fx->b, Q_B), b001);

    open_window(fx, 101, 1);
    open_window(fx, 102, 2);
    assert_string_equal(call_next(fx, 101), "A001");        /* called: no longer waiting */
    assert_int_equal(qm_queue_oldest(fx->b, Q_A), a002);
    /* to a service of queue B: waits there since the transfer, not since its issue */
    fx->now += 5 * MIN;
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_TRANSFER, .window_id = 101,
                                                  .target = QM_TARGET_SERVICE,
                                                  .target_id = S_LOAN }), QM_OK);
    int64_t moved = fx->now;
    assert_int_equal(qm_queue_waiting(fx->b, Q_B), 2);
    assert_int_equal(qm_queue_oldest(fx->b, Q_B), b001);
    assert_int_equal(qm_queue_waiting(fx->b, Q_A), 1);
    assert_int_equal(qm_queue_oldest(fx->b, Q_A), a002);
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_CALL_TICKET, .window_id = 102,
                                                  .ticket = "B001" }), QM_OK);
    assert_int_equal(qm_queue_oldest(fx->b, Q_B), moved);
    /* returned to the queue by a logout: waits again from then */
    fx->now += 5 * MIN;
    assert_int_equal(act(fx, QM_ACT_LOGOUT, 102), QM_OK);
    int64_t returned = fx->now;
    assert_int_equal(state_of(fx, "B001"), QM_TICKET_WAITING);
    assert_int_equal(qm_queue_oldest(fx->b, Q_B), moved);
    fx->now += MIN;
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_CALL_TICKET, .window_id = 101,
                                                  .ticket = "A001" }), QM_OK);
    assert_int_equal(qm_queue_waiting(fx->b, Q_B), 1);
    assert_int_equal(qm_queue_oldest(fx->b, Q_B), returned);
    /* transferred to a window: counted by neither */
    assert_int_equal(act_full(fx, (qm_action_t) { .kind = QM_ACT_TRANSFER, .window_id = 101,
                                                  .target = QM_TARGET_WINDOW,
                                                  .target_id = 102 }), QM_OK);
    assert_int_equal(qm_queue_waiting(fx->b, Q_B), 1);
    assert_int_equal(qm_queue_oldest(fx->b, Q_B), returned);
    assert_string_equal(call_next(fx, 101), "B001");
    assert_int_equal(qm_queue_waiting(fx->b, Q_B), 0);
    assert_int_equal(qm_queue_oldest(fx->b, Q_B), 0);
    assert_string_equal(call_next(fx, 101), "A002");
    assert_int_equal(qm_queue_oldest(fx->b, Q_A), 0);
}

/* ---- apply and replay --------------------------------------------------------- */

static void test_apply_refuses(void **state)
{
    fx_t *fx = *state;
    issue(fx, S_DEP, QM_CLASS_ORDINARY);
    const qm_event_t *last = qm_journal_at(fx->j, qm_journal_count(fx->j) - 1);
    qm_event_t ev = *last;
    assert_int_equal(qm_apply(fx->b, &ev), -1);            /* seq not increasing */
    ev.seq = qm_branch_last_seq(fx->b) + 1;
    assert_int_equal(qm_apply(fx->b, &ev), -1);            /* same ticket id again */
    id_new(ev.ticket_id);
    assert_int_equal(qm_apply(fx->b, &ev), -1);            /* number A001 is live */
    ev.kind = QM_EV_CALLED;
    ev.window_id = 101;
    assert_int_equal(qm_apply(fx->b, &ev), -1);            /* unknown ticket */
    ev.kind = (qm_event_kind_t) 77;
    assert_int_equal(qm_apply(fx->b, &ev), -1);
    assert_int_equal(qm_apply(fx->b, NULL), -1);
    /* deciding twice without applying is caught */
    qm_issue_req_t req = { S_DEP, QM_CLASS_ORDINARY, 0, NULL, "kiosk:1" };
    size_t mark = qm_journal_count(fx->j);
    assert_int_equal(qm_issue(fx->b, &req, DAY, fx->now, fx->j, fx->reason), QM_OK);
    assert_int_equal(qm_issue(fx->b, &req, DAY, fx->now, fx->j, fx->reason), QM_OK);
    assert_int_equal(qm_apply(fx->b, qm_journal_at(fx->j, mark)), 0);
    assert_int_equal(qm_apply(fx->b, qm_journal_at(fx->j, mark + 1)), -1);
    assert_int_equal(qm_ticket_count(fx->b), 2);
}

/* Compares everything a user or the store can observe of two branches. */
static void s_assert_same(const qm_branch_t *a, const qm_branch_t *b, int64_t now)
{
    assert_int_equal(qm_branch_day(a), qm_branch_day(b));
    assert_int_equal(qm_branch_last_seq(a), qm_branch_last_seq(b));
    assert_int_equal(qm_ticket_count(a), qm_ticket_count(b));
    for (size_t i = 0; i < qm_ticket_count(a); i++) {
        qm_ticket_info_t x, y;
        assert_int_equal(qm_ticket_at(a, i, &x), 0);
        assert_int_equal(qm_ticket_at(b, i, &y), 0);
        assert_memory_equal(&x, &y, sizeof x);
        size_t px, py;
        int64_t wx, wy;
        int rx = qm_ticket_estimate(a, x.id, now, &px, &wx);
        assert_int_equal(rx, qm_ticket_estimate(b, y.id, now, &py, &wy));
        if (rx == 0) {
            assert_int_equal(px, py);
            assert_int_equal(wx, wy);
        }
    }
    assert_int_equal(qm_window_count(a), qm_window_count(b));
    for (size_t i = 0; i < qm_window_count(a); i++) {
        qm_window_info_t x, y;
        assert_int_equal(qm_window_at(a, i, &x), 0);
        assert_int_equal(qm_window_at(b, i, &y), 0);
        assert_memory_equal(&x, &y, sizeof x);
    }
    int64_t services[] = { S_DEP, S_LOAN, S_FX };
    for (int i = 0; i < 3; i++) {
        qm_service_stats_t x, y;
        assert_int_equal(qm_service_stats(a, services[i], &x), 0);
        assert_int_equal(qm_service_stats(b, services[i], &y), 0);
        assert_memory_equal(&x, &y, sizeof x);
    }
    for (int64_t q = Q_A; q <= Q_B; q++) {
        assert_int_equal(qm_queue_next_number(a, q), qm_queue_next_number(b, q));
        assert_int_equal(qm_queue_waiting(a, q), qm_queue_waiting(b, q));
        assert_int_equal(qm_queue_oldest(a, q), qm_queue_oldest(b, q));
    }
    for (int64_t w = 101; w <= 104; w++)
        assert_int_equal(qm_window_waiting(a, w), qm_window_waiting(b, w));
    qm_hall_t *ha = qm_branch_hall((qm_branch_t *) a), *hb = qm_branch_hall((qm_branch_t *) b);
    assert_int_equal(qm_hall_line_count(ha), qm_hall_line_count(hb));
    for (size_t i = 0; i < qm_hall_line_count(ha); i++)
        assert_memory_equal(qm_hall_line(ha, i), qm_hall_line(hb, i), sizeof(qm_hall_line_t));
    assert_int_equal(qm_hall_current_count(ha), qm_hall_current_count(hb));
    for (size_t i = 0; i < qm_hall_current_count(ha); i++)
        assert_memory_equal(qm_hall_current(ha, i), qm_hall_current(hb, i),
                            sizeof(qm_hall_current_t));
    assert_int_equal(qm_hall_pending(ha), qm_hall_pending(hb));
}

static void test_replay(void **state)
{
    fx_t *fx = *state;
    srand(20261128);
    int64_t weighted[] = { S_DEP, S_FX };
    set_profile(fx, 102, QM_STRATEGY_WEIGHTED, 2, weighted, 2, 1);
    int64_t loans[] = { S_LOAN, S_DEP };
    set_profile(fx, 103, QM_STRATEGY_LONGEST_WAIT, 2, loans, 1, 1);
    static const int64_t svcs[] = { S_DEP, S_LOAN, S_FX };
    size_t ok = 0, refused = 0, day_ends = 0;
    for (int step = 0; step < 6000; step++) {
        fx->now += rand() % 20000;
        int64_t window = 101 + rand() % 4;        /* 104 does not exist until added */
        int r = rand() % 100;
        qm_err_t err;
        size_t mark = qm_journal_count(fx->j);
        if (r < 30) {
            qm_issue_req_t req = { svcs[rand() % 3], (qm_class_t) (rand() % 3 == 0 ? rand() % 3 : 0),
                                   rand() % 10 == 0 ? fx->now + (rand() % 30) * MIN : 0,
                                   rand() % 2 ? "13800000000" : NULL, "kiosk:2" };
            err = qm_issue(fx->b, &req, qm_branch_day(fx->b), fx->now, fx->j, fx->reason);
        } else if (r < 31 && step > 3000 && day_ends == 0) {
            err = qm_day_end(fx->b, qm_branch_day(fx->b) + 1, "system", fx->now, fx->j,
                             fx->reason);
            day_ends += err == QM_OK;
        } else if (r < 32) {
            qm_window_cfg_t cfg = { .id = 104, .number = 4 };
            snprintf(cfg.name, sizeof cfg.name, "Added %d", step);
            qm_profile_init(&cfg.profile);
            cfg.profile.strategy = (qm_strategy_t) (rand() % 3);
            cfg.profile.service_count = 1 + (size_t) (rand() % 3);
            for (size_t i = 0; i < cfg.profile.service_count; i++)
                cfg.profile.services[i] = svcs[i];
            err = qm_window_set(fx->b, &cfg, "admin", fx->now, fx->j, fx->reason);
        } else {
            qm_action_t a = { .window_id = window, .actor = "staff" };
            a.kind = (qm_action_kind_t) (QM_ACT_OPEN + rand() % (QM_ACT_WALK_IN - QM_ACT_OPEN + 1));
            if (rand() % 3 == 0)
                a.kind = QM_ACT_CALL_NEXT;
            a.staff_id = 1 + rand() % 5;
            a.reason = "break";
            a.target = (qm_target_t) (1 + rand() % 3);
            a.target_id = a.target == QM_TARGET_SERVICE ? svcs[rand() % 3]
                          : a.target == QM_TARGET_WINDOW ? 101 + rand() % 3 : 1 + rand() % 5;
            a.service_id = svcs[rand() % 3];
            a.klass = (qm_class_t) (rand() % 3);
            char number[16];
            snprintf(number, sizeof number, "%c%03d", rand() % 2 ? 'A' : 'B', 1 + rand() % 40);
            a.ticket = rand() % 4 ? number : NULL;
            err = qm_act(fx->b, &a, fx->now, fx->j, fx->reason);
        }
        if (err == QM_OK) {
            assert_int_equal(qm_journal_apply(fx->b, fx->j, mark), 0);
            ok++;
        } else {
            assert_int_equal(qm_journal_count(fx->j), mark);
            refused++;
        }
    }
    assert_true(ok > 2000);
    assert_true(refused > 100);
    assert_int_equal(day_ends, 1);
    /* every kind of event happened */
    bool kinds[QM_EV_DAY_START + 1] = { false };
    for (size_t e = 0; e < qm_journal_count(fx->j); e++)
        kinds[qm_journal_at(fx->j, e)->kind] = true;
    for (int k = QM_EV_ISSUED; k <= QM_EV_DAY_START; k++)
        if (!kinds[k])
            fail_msg("no %s event in the session", qm_event_kind_name((qm_event_kind_t) k));

    fx_t *copy = fx_new();
    assert_int_equal(qm_journal_apply(copy->b, fx->j, 0), 0);
    s_assert_same(fx->b, copy->b, fx->now);

    /* rebuilt from today's events only (from the DAY_START on), as the store
     * does: current window config, averages from before today, the stream */
    size_t start = 0;
    for (size_t e = 0; e < qm_journal_count(fx->j); e++)
        if (qm_journal_at(fx->j, e)->kind == QM_EV_DAY_START)
            start = e;
    assert_true(start > 0);
    fx_t *today = fx_new();
    for (size_t i = 0; i < qm_window_count(fx->b); i++) {
        qm_window_info_t w;
        assert_int_equal(qm_window_at(fx->b, i, &w), 0);
        qm_window_cfg_t cfg = { .id = w.id, .number = w.number, .profile = w.profile };
        snprintf(cfg.name, sizeof cfg.name, "%s", w.name);
        size_t mark = qm_journal_count(today->j);
        assert_int_equal(qm_window_set(today->b, &cfg, "store", 0, today->j, NULL), QM_OK);
        assert_int_equal(qm_journal_apply(today->b, today->j, mark), 0);
    }
    assert_true(qm_branch_last_seq(today->b) < qm_journal_at(fx->j, start)->seq);
    for (size_t e = 0; e < start; e++) {
        const qm_event_t *ev = qm_journal_at(fx->j, e);
        if (ev->kind == QM_EV_FINISHED)
            assert_int_equal(qm_branch_seed_average(today->b, ev->service_id, ev->avg_ms), 0);
    }
    assert_int_equal(qm_branch_seed_average(today->b, 999, 1), -1);
    assert_int_equal(qm_journal_apply(today->b, fx->j, start), 0);
    s_assert_same(fx->b, today->b, fx->now);

    /* both keep deciding alike */
    for (int i = 0; i < 3; i++) {
        qm_window_info_t w;
        assert_int_equal(qm_window_find(fx->b, 101 + i, &w), 0);
        qm_action_t a = { .kind = QM_ACT_CALL_NEXT, .window_id = 101 + i, .actor = "x" };
        size_t m1 = qm_journal_count(fx->j), m2 = qm_journal_count(copy->j);
        qm_err_t e1 = qm_act(fx->b, &a, fx->now, fx->j, NULL);
        qm_err_t e2 = qm_act(copy->b, &a, fx->now, copy->j, NULL);
        assert_int_equal(e1, e2);
        if (e1 == QM_OK) {
            assert_string_equal(qm_journal_at(fx->j, qm_journal_count(fx->j) - 1)->ticket_id,
                                qm_journal_at(copy->j, qm_journal_count(copy->j) - 1)->ticket_id);
            assert_int_equal(qm_journal_apply(fx->b, fx->j, m1), 0);
            assert_int_equal(qm_journal_apply(copy->b, copy->j, m2), 0);
        }
    }
    s_assert_same(fx->b, copy->b, fx->now);
    teardown((void **) &copy);
    teardown((void **) &today);
}

static void test_window_set(void **state)
{
    fx_t *fx = *state;
    qm_window_cfg_t cfg = { .id = 120, .number = 20 };
    snprintf(cfg.name, sizeof cfg.name, "VIP room");
    qm_profile_init(&cfg.profile);
    cfg.profile.service_count = 1;
    cfg.profile.services[0] = S_LOAN;
    size_t mark = qm_journal_count(fx->j);
    assert_int_equal(s_commit(fx, qm_window_set(fx->b, &cfg, "admin", fx->now, fx->j,
                                                fx->reason), mark), QM_OK);
    assert_int_equal(qm_journal_count(fx->j) - mark, 2);
    assert_int_equal(qm_window_count(fx->b), 4);
    /* nothing changed: nothing appended */
    mark = qm_journal_count(fx->j);
    assert_int_equal(qm_window_set(fx->b, &cfg, "admin", fx->now, fx->j, fx->reason), QM_OK);
    assert_int_equal(qm_journal_count(fx->j), mark);
    open_window(fx, 120, 5);
    issue(fx, S_LOAN, QM_CLASS_ORDINARY);
    assert_string_equal(call_next(fx, 120), "B001");
    /* number of another window */
    mark = qm_journal_count(fx->j);
    cfg.number = 2;
    assert_int_equal(qm_window_set(fx->b, &cfg, "admin", fx->now, fx->j, fx->reason),
                     QM_ERR_INVALID);
    cfg.number = 20;
    cfg.profile.services[0] = 55;
    assert_int_equal(qm_window_set(fx->b, &cfg, "admin", fx->now, fx->j, fx->reason),
                     QM_ERR_UNKNOWN_SERVICE);
    cfg.profile.services[0] = S_LOAN;
    cfg.profile.weights[0] = 0;
    assert_int_equal(qm_window_set(fx->b, &cfg, "admin", fx->now, fx->j, fx->reason),
                     QM_ERR_INVALID);
    assert_int_equal(qm_journal_count(fx->j), mark);
    /* rename keeps state */
    cfg.profile.weights[0] = 1;
    snprintf(cfg.name, sizeof cfg.name, "Room 20");
    mark = qm_journal_count(fx->j);
    assert_int_equal(s_commit(fx, qm_window_set(fx->b, &cfg, "admin", fx->now, fx->j,
                                                fx->reason), mark), QM_OK);
    qm_window_info_t w;
    assert_int_equal(qm_window_find(fx->b, 120, &w), 0);
    assert_string_equal(w.name, "Room 20");
    assert_int_equal(w.state, QM_WINDOW_OPEN);
    assert_int_equal(w.staff_id, 5);
    assert_string_equal(current(fx, 120), "B001");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_refused),
        cmocka_unit_test_setup_teardown(test_issue_numbers, setup, teardown),
        cmocka_unit_test(test_number_width),
        cmocka_unit_test_setup_teardown(test_issue_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_green_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appointment_due, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_longest_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_weighted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transfer_keeps_place, setup, teardown),
        cmocka_unit_test_setup_teardown(test_park_call_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recall_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_login_elsewhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_in, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_day_end, setup, teardown),
        cmocka_unit_test(test_number_wrap),
        cmocka_unit_test_setup_teardown(test_estimate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_estimate_follows_the_window_rules, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_window_since, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_waiting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_oldest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_refuses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window_set, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
