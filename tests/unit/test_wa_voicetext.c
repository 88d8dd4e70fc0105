/*  Unit tests: wa_voicetext, what the hall's voice says for a call (ticket
 *  numbers digit by digit, window numbers as Chinese numbers, English), and
 *  that it is queue-manager's wording read aloud. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "../../services/queue-manager/qm_hall.h"
#include "../../services/web-api/wa_voicetext.h"

static void test_ticket_numbers_are_checked_strictly(void **state)
{
    (void) state;
    const char *good[] = { "A012", "A0012", "AB105", "VIP0001", "Z999", "A001" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(wa_voicetext_number_valid(good[i]));
    const char *bad[] = { "", "A", "012", "a012", "A12", "A12345", "ABCD123", "A000",
                          "A0000", "A01x", "A-12", " A012", "A012 ", "A0\n12", "\xef\xbc\xa1" "012",
                          "A012号", "A0.12" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(wa_voicetext_number_valid(bad[i]));
    assert_false(wa_voicetext_number_valid(NULL));
    assert_int_equal(wa_voicetext_prefix_len("AB012"), 2);
    assert_int_equal(wa_voicetext_prefix_len("A012"), 1);
    assert_int_equal(wa_voicetext_prefix_len(NULL), 0);
}

static void s_chinese(int n, const char *want)
{
    char out[64];
    assert_int_equal(wa_voicetext_chinese(n, out, sizeof out), 0);
    assert_string_equal(out, want);
}

static void test_window_numbers_read_as_chinese_numbers(void **state)
{
    (void) state;
    s_chinese(0, "零");
    s_chinese(1, "一");
    s_chinese(3, "三");
    s_chinese(10, "十");
    s_chinese(12, "十二");
    s_chinese(20, "二十");
    s_chinese(99, "九十九");
    s_chinese(100, "一百");
    s_chinese(101, "一百零一");
    s_chinese(105, "一百零五");
    s_chinese(110, "一百一十");
    s_chinese(115, "一百一十五");
    s_chinese(999, "九百九十九");
    s_chinese(1000, "一千");
    s_chinese(1001, "一千零一");
    s_chinese(1010, "一千零一十");
    s_chinese(1100, "一千一百");
    s_chinese(2020, "二千零二十");
    s_chinese(9999, "九千九百九十九");
    char out[64] = "x";
    assert_int_equal(wa_voicetext_chinese(-1, out, sizeof out), -1);
    assert_string_equal(out, "");
    assert_int_equal(wa_voicetext_chinese(10000, out, sizeof out), -1);
    /* "一百零五" is 12 bytes: 12 do not hold its NUL */
    assert_int_equal(wa_voicetext_chinese(105, out, 12), -1);
    assert_int_equal(wa_voicetext_chinese(105, out, 13), 0);
    assert_string_equal(out, "一百零五");
}

static void s_say(const char *number, int window, wa_voice_lang_t lang, const char *want)
{
    char out[WA_VOICETEXT_SIZE];
    assert_int_equal(wa_voicetext_say(number, window, lang, out), 0);
    assert_string_equal(out, want);
}

static void test_a_call_is_said_digit_by_digit(void **state)
{
    (void) state;
    s_say("A012", 3, WA_VOICE_ZH, "请A零一二号到三号窗口");
    s_say("A0012", 12, WA_VOICE_ZH, "请A零零一二号到十二号窗口");
    s_say("AB105", 105, WA_VOICE_ZH, "请A B一零五号到一百零五号窗口");
    s_say("VIP0001", 999, WA_VOICE_ZH, "请V I P零零零一号到九百九十九号窗口");
    s_say("A012", 3, WA_VOICE_EN, "Number A, 0 1 2, please go to window 3.");
    s_say("AB0105", 12, WA_VOICE_EN, "Number A, B, 0 1 0 5, please go to window 12.");
    s_say("VIP9999", 999, WA_VOICE_EN,
          "Number V, I, P, 9 9 9 9, please go to window 999.");
}

static void test_nothing_is_said_for_a_bad_call(void **state)
{
    (void) state;
    char out[WA_VOICETEXT_SIZE] = "x";
    assert_int_equal(wa_voicetext_say("A012", 0, WA_VOICE_ZH, out), -1);
    assert_string_equal(out, "");
    assert_int_equal(wa_voicetext_say("A012", 1000, WA_VOICE_ZH, out), -1);
    assert_int_equal(wa_voicetext_say("A012", -3, WA_VOICE_EN, out), -1);
    assert_int_equal(wa_voicetext_say("请A012", 3, WA_VOICE_ZH, out), -1);
    assert_int_equal(wa_voicetext_say(NULL, 3, WA_VOICE_ZH, out), -1);
    assert_int_equal(wa_voicetext_say("A012", 3, (wa_voice_lang_t) 7, out), -1);
    assert_string_equal(out, "");
}

/* Replaces the first `from` in `s` (room `size`) with `to`. */
static void s_replace(char *s, size_t size, const char *from, const char *to)
{
    char *at = strstr(s, from);
    assert_non_null(at);
    char tail[128];
    snprintf(tail, sizeof tail, "%s", at + strlen(from));
    snprintf(at, size - (size_t) (at - s), "%s%s", to, tail);
}

static void test_the_words_are_queue_managers_read_aloud(void **state)
{
    (void) state;
    /* the display shows qm_hall_text's sentence; the voice says the same
     * with the ticket's digits and the window number written as read */
    const struct { const char *number; int window; const char *said_number, *said_window; }
        calls[] = { { "A012", 3, "A零一二", "三" }, { "B0105", 12, "B零一零五", "十二" },
                    { "C999", 110, "C九九九", "一百一十" } };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        char shown[QM_ANNOUNCE_SIZE], want[WA_VOICETEXT_SIZE], window[16], said[WA_VOICETEXT_SIZE];
        assert_int_equal(qm_hall_text(calls[i].number, calls[i].window, shown), 0);
        snprintf(want, sizeof want, "%s", shown);
        s_replace(want, sizeof want, calls[i].number, calls[i].said_number);
        snprintf(window, sizeof window, "到%d号", calls[i].window);
        char said_window[32];
        snprintf(said_window, sizeof said_window, "到%s号", calls[i].said_window);
        s_replace(want, sizeof want, window, said_window);
        assert_int_equal(wa_voicetext_say(calls[i].number, calls[i].window, WA_VOICE_ZH, said),
                         0);
        assert_string_equal(said, want);
    }
}

static void test_languages_by_code(void **state)
{
    (void) state;
    wa_voice_lang_t lang = WA_VOICE_EN;
    assert_int_equal(wa_voicetext_lang_of("zh-CN", &lang), 0);
    assert_int_equal(lang, WA_VOICE_ZH);
    assert_int_equal(wa_voicetext_lang_of("en", &lang), 0);
    assert_int_equal(lang, WA_VOICE_EN);
    assert_int_equal(wa_voicetext_lang_of("zh", &lang), -1);
    assert_int_equal(wa_voicetext_lang_of("EN", &lang), -1);
    assert_int_equal(wa_voicetext_lang_of("", &lang), -1);
    assert_int_equal(wa_voicetext_lang_of(NULL, &lang), -1);
    assert_string_equal(wa_voicetext_lang_code(WA_VOICE_ZH), "zh-CN");
    assert_string_equal(wa_voicetext_lang_code(WA_VOICE_EN), "en");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticket_numbers_are_checked_strictly),
        cmocka_unit_test(test_window_numbers_read_as_chinese_numbers),
        cmocka_unit_test(test_a_call_is_said_digit_by_digit),
        cmocka_unit_test(test_nothing_is_said_for_a_bad_call),
        cmocka_unit_test(test_the_words_are_queue_managers_read_aloud),
        cmocka_unit_test(test_languages_by_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
