/*  Unit tests: qm_hall, the last-N display list and the announcement queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../services/queue-manager/qm_hall.h"

#define T0 1796346000000LL

/* A fake ticket id per number, so lines are keyed by ticket. */
static const char *s_id(int n)
{
    static char ids[4][ID_SIZE];
    static int next;
    char *id = ids[next++ % 4];
    snprintf(id, ID_SIZE, "0198f000-0000-7000-8000-%012d", n);
    return id;
}

static qm_hall_t *s_hall(size_t n)
{
    qm_hall_cfg_t cfg;
    qm_hall_cfg_default(&cfg);
    cfg.display_size = n;
    qm_hall_t *hall = qm_hall_new(&cfg);
    assert_non_null(hall);
    return hall;
}

static void test_text_and_duration(void **state)
{
    (void) state;
    char text[QM_ANNOUNCE_SIZE];
    assert_int_equal(qm_hall_text("A012", 3, text), 0);
    assert_string_equal(text, "请A012号到3号窗口");
    assert_int_equal(strlen(text), 5 + 3 * 6);           /* UTF-8: 6 CJK x 3 bytes */
    qm_hall_cfg_t cfg;
    qm_hall_cfg_default(&cfg);
    assert_int_equal(cfg.display_size, 6);
    assert_int_equal(cfg.repeat, 2);
    /* 11 characters: 2 * (11 * 300 + 1000) */
    assert_int_equal(qm_hall_duration_ms(&cfg, text), 8600);
    cfg.repeat = 1;
    cfg.char_ms = 250;
    cfg.gap_ms = 500;
    assert_int_equal(qm_hall_duration_ms(&cfg, text), 11 * 250 + 500);
    assert_int_equal(qm_hall_text("", 3, text), -1);
    assert_int_equal(qm_hall_text(NULL, 3, text), -1);
    assert_int_equal(qm_hall_text("A0123456789", 3, text), -1);
}

static void test_bad_cfg(void **state)
{
    (void) state;
    qm_hall_cfg_t cfg;
    qm_hall_cfg_default(&cfg);
    cfg.display_size = 0;
    assert_null(qm_hall_new(&cfg));
    qm_hall_cfg_default(&cfg);
    cfg.repeat = 0;
    assert_null(qm_hall_new(&cfg));
    qm_hall_cfg_default(&cfg);
    cfg.char_ms = 0;
    assert_null(qm_hall_new(&cfg));
    assert_null(qm_hall_new(NULL));
    qm_hall_destroy(NULL);
    qm_hall_t *hall = s_hall(6);
    assert_int_equal(qm_hall_called(hall, "id", "", 1, T0), -1);
    assert_int_equal(qm_hall_called(hall, NULL, "A001", 1, T0), -1);
    assert_int_equal(qm_hall_called(NULL, "id", "A001", 1, T0), -1);
    assert_int_equal(qm_hall_line_count(hall), 0);
    assert_int_equal(qm_hall_pending(hall), 0);
    qm_announcement_t a;
    assert_int_equal(qm_hall_next_announcement(hall, T0, NULL), -1);
    assert_int_equal(qm_hall_next_announcement(hall, T0, &a), 0);
    qm_hall_destroy(&hall);
    assert_null(hall);
}

static void test_last_n(void **state)
{
    (void) state;
    qm_hall_t *hall = s_hall(6);
    char number[16];
    for (int i = 1; i <= 8; i++) {
        snprintf(number, sizeof number, "A%03d", i);
        assert_int_equal(qm_hall_called(hall, s_id(i), number, i % 3 + 1, T0 + i * 1000), 0);
    }
    assert_int_equal(qm_hall_line_count(hall), 6);
    /* newest first, A001 and A002 dropped */
    for (size_t i = 0; i < 6; i++) {
        snprintf(number, sizeof number, "A%03d", 8 - (int) i);
        assert_string_equal(qm_hall_line(hall, i)->number, number);
    }
    assert_null(qm_hall_line(hall, 6));
    /* a recall moves the line to the top with the new time, no duplicate */
    assert_int_equal(qm_hall_called(hall, s_id(5), "A005", 2, T0 + 60000), 0);
    assert_int_equal(qm_hall_line_count(hall), 6);
    assert_string_equal(qm_hall_line(hall, 0)->number, "A005");
    assert_int_equal(qm_hall_line(hall, 0)->at_ms, T0 + 60000);
    assert_int_equal(qm_hall_line(hall, 0)->window_no, 2);
    assert_string_equal(qm_hall_line(hall, 1)->number, "A008");
    assert_string_equal(qm_hall_line(hall, 5)->number, "A003");
    int fives = 0;
    for (size_t i = 0; i < qm_hall_line_count(hall); i++)
        fives += strcmp(qm_hall_line(hall, i)->number, "A005") == 0;
    assert_int_equal(fives, 1);
    /* the same number later in the day (wrapped) is another ticket: its own line */
    assert_int_equal(qm_hall_called(hall, s_id(1005), "A005", 1, T0 + 70000), 0);
    fives = 0;
    for (size_t i = 0; i < qm_hall_line_count(hall); i++)
        fives += strcmp(qm_hall_line(hall, i)->number, "A005") == 0;
    assert_int_equal(fives, 2);
    qm_hall_destroy(&hall);
}

static void test_current_per_window(void **state)
{
    (void) state;
    qm_hall_t *hall = s_hall(3);
    assert_int_equal(qm_hall_called(hall, s_id(1), "A001", 3, T0), 0);
    assert_int_equal(qm_hall_called(hall, s_id(2), "B001", 1, T0), 0);
    assert_int_equal(qm_hall_set_current(hall, 2, "A002"), 0);
    assert_int_equal(qm_hall_current_count(hall), 3);
    /* in window order */
    assert_int_equal(qm_hall_current(hall, 0)->window_no, 1);
    assert_string_equal(qm_hall_current(hall, 0)->number, "B001");
    assert_int_equal(qm_hall_current(hall, 1)->window_no, 2);
    assert_string_equal(qm_hall_current(hall, 2)->number, "A001");
    assert_int_equal(qm_hall_line_count(hall), 2);      /* walk-in: no line */
    assert_int_equal(qm_hall_pending(hall), 2);         /* walk-in: not announced */
    qm_hall_clear_current(hall, 3);
    assert_string_equal(qm_hall_current(hall, 2)->number, "");
    assert_int_equal(qm_hall_line_count(hall), 2);      /* history stays */
    assert_int_equal(qm_hall_called(hall, s_id(3), "A003", 3, T0), 0);
    assert_string_equal(qm_hall_current(hall, 2)->number, "A003");
    assert_null(qm_hall_current(hall, 3));
    qm_hall_reset(hall);
    assert_int_equal(qm_hall_current_count(hall), 0);
    assert_int_equal(qm_hall_line_count(hall), 0);
    assert_int_equal(qm_hall_pending(hall), 0);
    qm_hall_destroy(&hall);
}

static void test_announcements_in_order(void **state)
{
    (void) state;
    qm_hall_t *hall = s_hall(6);
    /* three windows call at the same instant */
    assert_int_equal(qm_hall_called(hall, s_id(1), "A001", 1, T0), 0);
    assert_int_equal(qm_hall_called(hall, s_id(2), "A002", 2, T0), 0);
    assert_int_equal(qm_hall_called(hall, s_id(3), "B001", 12, T0), 0);
    assert_int_equal(qm_hall_pending(hall), 3);
    qm_announcement_t a;
    assert_int_equal(qm_hall_next_announcement(hall, T0, &a), 1);
    assert_string_equal(a.text, "请A001号到1号窗口");
    assert_int_equal(a.repeat, 2);
    assert_int_equal(a.duration_ms, 8600);
    assert_int_equal(a.seq, 1);
    assert_int_equal(qm_hall_busy_until(hall), T0 + 8600);
    /* nothing overlaps: the next one waits until the first has played */
    assert_int_equal(qm_hall_next_announcement(hall, T0 + 1, &a), 0);
    assert_int_equal(qm_hall_next_announcement(hall, T0 + 8599, &a), 0);
    assert_int_equal(qm_hall_next_announcement(hall, T0 + 8600, &a), 1);
    assert_string_equal(a.text, "请A002号到2号窗口");
    assert_int_equal(a.seq, 2);
    /* "请B001号到12号窗口" has 12 characters */
    int64_t start = T0 + 8600 + 8600;
    assert_int_equal(qm_hall_next_announcement(hall, start - 1, &a), 0);
    assert_int_equal(qm_hall_next_announcement(hall, start, &a), 1);
    assert_string_equal(a.text, "请B001号到12号窗口");
    assert_int_equal(a.duration_ms, 2 * (12 * 300 + 1000));
    assert_int_equal(a.queued_ms, T0);
    assert_int_equal(qm_hall_pending(hall), 0);
    assert_int_equal(qm_hall_next_announcement(hall, start + 60000, &a), 0);
    qm_hall_destroy(&hall);
}

static void test_ack_and_repeats(void **state)
{
    (void) state;
    qm_hall_cfg_t cfg;
    qm_hall_cfg_default(&cfg);
    cfg.repeat = 3;
    cfg.queue_max = 1000;            /* this test keeps everything it queues */
    cfg.expire_ms = 1000000000;
    qm_hall_t *hall = qm_hall_new(&cfg);
    assert_non_null(hall);
    assert_int_equal(qm_hall_called(hall, s_id(1), "A001", 1, T0), 0);
    assert_int_equal(qm_hall_called(hall, s_id(1), "A001", 1, T0 + 10), 0);   /* recall */
    assert_int_equal(qm_hall_line_count(hall), 1);
    assert_int_equal(qm_hall_pending(hall), 1);   /* the recall supersedes the call */
    assert_int_equal(qm_hall_called(hall, s_id(2), "A002", 2, T0 + 10), 0);
    qm_announcement_t a, b;
    assert_int_equal(qm_hall_next_announcement(hall, T0 + 10, &a), 1);
    assert_int_equal(a.repeat, 3);
    assert_int_equal(a.duration_ms, 3 * (11 * 300 + 1000));
    assert_int_equal(a.queued_ms, T0 + 10);
    assert_string_equal(a.number, "A001");
    assert_int_equal(qm_hall_next_announcement(hall, T0 + 20, &b), 0);
    qm_hall_ack(hall, a.seq + 5);                 /* not the one playing: ignored */
    assert_int_equal(qm_hall_next_announcement(hall, T0 + 20, &b), 0);
    qm_hall_ack(hall, a.seq);                     /* player finished early */
    assert_int_equal(qm_hall_busy_until(hall), 0);
    assert_int_equal(qm_hall_next_announcement(hall, T0 + 20, &b), 1);
    assert_string_equal(b.number, "A002");
    assert_true(b.seq > a.seq);
    /* many queued while playing: released one by one, in order, never lost */
    for (int i = 0; i < 100; i++) {
        char number[16];
        snprintf(number, sizeof number, "C%03d", i + 1);
        assert_int_equal(qm_hall_called(hall, s_id(100 + i), number, 1 + i % 9, T0 + 30), 0);
        if (i == 50) {     /* the ring buffer grows while partly consumed */
            assert_int_equal(qm_hall_next_announcement(hall, T0 + 1000000, &a), 1);
            assert_int_equal(a.seq, b.seq + 1);
            assert_string_equal(a.number, "C001");
            b = a;
        }
    }
    assert_int_equal(qm_hall_pending(hall), 99);
    int64_t now = T0 + 2000000;
    for (int i = 1; i < 100; i++) {
        assert_int_equal(qm_hall_next_announcement(hall, now, &a), 1);
        char number[16];
        snprintf(number, sizeof number, "C%03d", i + 1);
        assert_int_equal(a.seq, b.seq + 1);
        assert_string_equal(a.number, number);
        assert_int_equal(qm_hall_next_announcement(hall, now + a.duration_ms - 1, &b), 0);
        now += a.duration_ms;
        b = a;
    }
    /* flush drops what is queued (after a rebuild), keeps the numbering */
    assert_int_equal(qm_hall_called(hall, s_id(999), "D001", 1, now), 0);
    qm_hall_flush_announcements(hall);
    assert_int_equal(qm_hall_pending(hall), 0);
    assert_int_equal(qm_hall_called(hall, s_id(998), "D002", 1, now), 0);
    assert_int_equal(qm_hall_next_announcement(hall, now + 100000, &a), 1);
    assert_int_equal(a.seq, b.seq + 2);
    assert_string_equal(a.number, "D002");
    qm_hall_destroy(&hall);
}

/* Issue 11 item 18: what is no longer true is never said; the queue is
 * bounded and nothing is played stale. */
static void test_stale_announcements_are_dropped(void **state)
{
    (void) state;
    qm_hall_cfg_t cfg;
    qm_hall_cfg_default(&cfg);
    cfg.queue_max = 3;
    qm_hall_t *hall = qm_hall_new(&cfg);
    assert_non_null(hall);
    qm_announcement_t a;
    /* A001 plays; A002 waits and is finished before its turn: dropped */
    assert_int_equal(qm_hall_called(hall, s_id(1), "A001", 1, T0), 0);
    assert_int_equal(qm_hall_called(hall, s_id(2), "A002", 2, T0 + 1), 0);
    assert_int_equal(qm_hall_next_announcement(hall, T0 + 1, &a), 1);
    qm_hall_drop_ticket(hall, s_id(2));
    assert_int_equal(qm_hall_pending(hall), 0);
    assert_int_equal(qm_hall_dropped(hall), 1);
    /* a recall supersedes the waiting call: one announcement, the new window */
    assert_int_equal(qm_hall_called(hall, s_id(3), "A003", 3, T0 + 2), 0);
    assert_int_equal(qm_hall_called(hall, s_id(3), "A003", 4, T0 + 3), 0);
    assert_int_equal(qm_hall_pending(hall), 1);
    /* past queue_max the oldest waiting goes */
    assert_int_equal(qm_hall_called(hall, s_id(4), "A004", 1, T0 + 4), 0);
    assert_int_equal(qm_hall_called(hall, s_id(5), "A005", 2, T0 + 5), 0);
    assert_int_equal(qm_hall_called(hall, s_id(6), "A006", 5, T0 + 6), 0);
    assert_int_equal(qm_hall_pending(hall), 3);
    assert_int_equal(qm_hall_dropped(hall), 3);    /* A002, the first A003, A003 */
    qm_hall_ack(hall, a.seq);
    assert_int_equal(qm_hall_next_announcement(hall, T0 + 10, &a), 1);
    assert_string_equal(a.number, "A004");
    assert_string_equal(a.ticket_id, s_id(4));
    /* waiting longer than expire_ms: never played late */
    qm_hall_ack(hall, a.seq);
    assert_int_equal(qm_hall_next_announcement(hall, T0 + 6 + cfg.expire_ms + 1, &a), 0);
    assert_int_equal(qm_hall_pending(hall), 0);
    assert_int_equal(qm_hall_dropped(hall), 5);
    qm_hall_destroy(&hall);
}

/* A view is a copy: the hall moves on, the view keeps what it showed. */
static void test_a_view_keeps_what_was_shown(void **state)
{
    (void) state;
    qm_hall_cfg_t cfg;
    qm_hall_cfg_default(&cfg);
    qm_hall_t *hall = qm_hall_new(&cfg);
    assert_non_null(hall);
    assert_int_equal(qm_hall_called(hall, s_id(1), "A001", 1, T0), 0);
    qm_hall_view_t *view = qm_hall_view_new(hall);
    assert_non_null(view);
    assert_int_equal(qm_hall_called(hall, s_id(2), "A002", 2, T0 + 1), 0);
    qm_hall_clear_current(hall, 1);
    assert_int_equal(view->line_count, 1);
    assert_string_equal(view->lines[0].number, "A001");
    assert_int_equal(view->current_count, 1);
    assert_string_equal(view->currents[0].number, "A001");
    qm_hall_view_destroy(&view);
    assert_null(view);
    qm_hall_destroy(&hall);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_and_duration),
        cmocka_unit_test(test_bad_cfg),
        cmocka_unit_test(test_last_n),
        cmocka_unit_test(test_current_per_window),
        cmocka_unit_test(test_announcements_in_order),
        cmocka_unit_test(test_ack_and_repeats),
        cmocka_unit_test(test_stale_announcements_are_dropped),
        cmocka_unit_test(test_a_view_keeps_what_was_shown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
