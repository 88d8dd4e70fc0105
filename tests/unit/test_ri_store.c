/*  Unit tests: ri_store_commit against a real PostgreSQL at the current
 *  schema: one envelope id is one outcome, and a commit in doubt is found
 *  out by the next attempt. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/id.h"
#include "eqms/log.h"
#include "pgtest.h"
#include "../../services/rating-ingest/ri_store.h"

static char s_conninfo[512];
static int64_t s_seq;

static int setup(void **state)
{
    (void) state;
    log_init("test", LOG_LEVEL_ERROR);
    return pgtest_db_new("ri_store", s_conninfo, sizeof s_conninfo);
}

static ri_store_t *store(void)
{
    pgstore_t *pg = pgstore_new(s_conninfo);
    assert_non_null(pg);
    ri_store_t *store = ri_store_new(&pg);
    assert_non_null(store);
    return store;
}

static long count(const char *sql)
{
    pgstore_t *pg = pgstore_new(s_conninfo);
    long n = pgtest_count(pg, sql);
    pgstore_destroy(&pg);
    return n;
}

/* A decided event of gateway b0001 at window 1, with a fresh id. */
static ri_item_t item(ri_action_t action, const char *type, int64_t event_ms)
{
    ri_item_t it;
    memset(&it, 0, sizeof it);
    ri_event_t *e = &it.event;
    assert_int_equal(id_new(e->id), 0);
    snprintf(e->gateway, sizeof e->gateway, "device-gateway.b0001");
    snprintf(e->incarnation, sizeof e->incarnation, "%s", ID_NIL);
    e->seq = ++s_seq;
    snprintf(e->type, sizeof e->type, "%s", type);
    e->kind = ri_event_kind(type);
    snprintf(e->serial, sizeof e->serial, "EQ-B0001-W01");
    e->boot = 7;
    e->device_seq = e->seq;
    e->event_ms = e->received_ms = event_ms;
    e->window_id = 1;
    snprintf(e->branch, sizeof e->branch, "hq.r01.b0001");
    snprintf(e->employee_no, sizeof e->employee_no, "1001");
    e->option_code = 1;
    e->service_ms = -1;
    e->duration_ms = 5000;
    it.action = action;
    it.staff_id = 1;
    it.option = (ri_option_t) { 1, 5.0, true, false };
    snprintf(it.reason, sizeof it.reason, "unknown device: test");
    return it;
}

static void test_one_id_is_one_outcome(void **state)
{
    (void) state;
    ri_store_t *st = store();
    int64_t now = clock_now_ms();
    ri_item_t first[] = {
        item(RI_ACTION_RATING, "rating.submitted", now),
        item(RI_ACTION_SERVICE_END, "service.end", now + 1000),
        item(RI_ACTION_REJECT, "rating.submitted", now + 2000),
        item(RI_ACTION_NONE, "call.request", now + 3000),
    };
    assert_int_equal(ri_store_commit(st, first, 4, NULL, 0), 0);
    assert_true(first[0].stored);
    for (int i = 0; i < 4; i++)
        assert_false(first[i].duplicate);

    /* The same ids with other times, types and contents, and one new id
     * twice in the batch. */
    ri_item_t again[] = {
        item(RI_ACTION_RATING, "rating.submitted", now + 40 * 86400000LL),
        item(RI_ACTION_LOGIN, "staff.login", now + 5000),
        item(RI_ACTION_RATING, "rating.submitted", now + 6000),
        item(RI_ACTION_SERVICE_END, "service.end", now + 7000),
        item(RI_ACTION_RATING, "rating.submitted", now + 8000),
        item(RI_ACTION_RATING, "rating.submitted", now + 9000),
    };
    memcpy(again[0].event.id, first[0].event.id, ID_SIZE);
    memcpy(again[1].event.id, first[1].event.id, ID_SIZE);
    memcpy(again[2].event.id, first[2].event.id, ID_SIZE);
    memcpy(again[3].event.id, first[3].event.id, ID_SIZE);
    memcpy(again[5].event.id, again[4].event.id, ID_SIZE);
    assert_int_equal(ri_store_commit(st, again, 6, NULL, 0), 0);
    for (int i = 0; i < 4; i++) {
        assert_true(again[i].duplicate);
        assert_false(again[i].stored);
    }
    assert_false(again[4].duplicate);
    assert_true(again[4].stored);
    assert_true(again[5].duplicate);
    assert_false(again[5].stored);
    assert_int_equal(count("SELECT count(*) FROM rating"), 2);
    assert_int_equal(count("SELECT count(*) FROM service_record"), 1);
    assert_int_equal(count("SELECT count(*) FROM staff_session"), 0);
    assert_int_equal(count("SELECT count(*) FROM rejected_event"), 1);
    assert_int_equal(count("SELECT count(*) FROM ingest_event"), 5);
    ri_store_destroy(&st);
}

/* An attempt whose COMMIT got no answer did commit: the next attempt finds
 * every id of it registered and gives its items that attempt's outcome (the
 * rating is stored, not a duplicate of itself), writing nothing twice. */
static void test_doubt_resolved_as_committed(void **state)
{
    (void) state;
    ri_store_t *st = store();
    int64_t now = clock_now_ms();
    ri_item_t known = item(RI_ACTION_RATING, "rating.submitted", now);
    assert_int_equal(ri_store_commit(st, &known, 1, NULL, 0), 0);
    long ratings = count("SELECT count(*) FROM rating");

    ri_item_t batch[] = {
        item(RI_ACTION_RATING, "rating.submitted", now + 1000),
        item(RI_ACTION_RATING, "rating.submitted", now + 2000),   /* a duplicate */
        item(RI_ACTION_LOGOUT, "staff.logout", now + 3000),
    };
    memcpy(batch[1].event.id, known.event.id, ID_SIZE);
    /* The attempt in doubt, as it ran: committed, then its answer lost. */
    assert_int_equal(ri_store_commit(st, batch, 3, NULL, 0), 0);
    for (int i = 0; i < 3; i++) {
        batch[i].doubt_duplicate = batch[i].duplicate;
        batch[i].in_doubt = true;
        batch[i].settled = batch[i].stored = batch[i].duplicate = false;
    }
    assert_int_equal(ri_store_commit(st, batch, 3, NULL, 0), 0);
    assert_true(batch[0].stored);
    assert_false(batch[0].duplicate);
    assert_true(batch[1].duplicate);
    assert_false(batch[1].stored);
    assert_false(batch[2].duplicate);
    assert_int_equal(count("SELECT count(*) FROM rating"), ratings + 1);
    ri_store_destroy(&st);
}

/* An attempt whose COMMIT got no answer did not commit: its items are
 * committed afresh. */
static void test_doubt_resolved_as_rolled_back(void **state)
{
    (void) state;
    ri_store_t *st = store();
    int64_t now = clock_now_ms();
    long ratings = count("SELECT count(*) FROM rating");
    ri_item_t batch[] = {
        item(RI_ACTION_RATING, "rating.submitted", now + 1000),
        item(RI_ACTION_RATING, "rating.submitted", now + 2000),
    };
    for (int i = 0; i < 2; i++)
        batch[i].in_doubt = true;
    assert_int_equal(ri_store_commit(st, batch, 2, NULL, 0), 0);
    assert_true(batch[0].stored && batch[1].stored);
    assert_false(batch[0].duplicate || batch[1].duplicate);
    assert_int_equal(count("SELECT count(*) FROM rating"), ratings + 2);
    /* settled: committing the batch again changes nothing */
    assert_int_equal(ri_store_commit(st, batch, 2, NULL, 0), 0);
    assert_true(batch[0].stored && batch[1].stored);
    assert_int_equal(count("SELECT count(*) FROM rating"), ratings + 2);
    ri_store_destroy(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_id_is_one_outcome),
        cmocka_unit_test(test_doubt_resolved_as_committed),
        cmocka_unit_test(test_doubt_resolved_as_rolled_back),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
