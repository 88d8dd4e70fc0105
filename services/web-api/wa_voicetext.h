/*  wa_voicetext: what the hall's voice says for a call, as text for the
 *  synthesiser (wa_voice), made from a strictly checked ticket number and
 *  window number, never from text a client sends.
 *
 *  Chinese (the display's "请A012号到3号窗口", queue-manager's qm_hall_text,
 *  read aloud): the ticket's letters one by one (separated by a space when
 *  there are several, else espeak-ng reads "AB" as a word), then its digits
 *  one by one as Chinese digits, never as a number ("A012" -> "A零一二",
 *  not "A十二"); the window number as a Chinese number ("3" -> "三",
 *  "12" -> "十二", "105" -> "一百零五", "110" -> "一百一十"), so that what is
 *  said does not depend on how the synthesiser reads Arabic numerals:
 *      A012, 3   -> "请A零一二号到三号窗口"
 *      AB0105, 12 -> "请A B零一零五号到十二号窗口"
 *  English: "Number A, 0 1 2, please go to window 3." (letters and digits
 *  one by one; the comma after the letters stops "A" being read as the
 *  article).
 *
 *  Pure functions, any thread.
 */
#ifndef EQMS_WA_VOICETEXT_H
#define EQMS_WA_VOICETEXT_H

#include <stdbool.h>
#include <stddef.h>

/* The languages of the voice. */
typedef enum { WA_VOICE_ZH = 0, WA_VOICE_EN = 1 } wa_voice_lang_t;

/* Longest text wa_voicetext_say writes, with its NUL. */
#define WA_VOICETEXT_SIZE 160

/* Window numbers the voice says (service_window.number is 1..999). */
#define WA_VOICETEXT_WINDOW_MAX 999

/* Whether `number` is a ticket number as queue-manager makes them: 1 to 3
 * letters A-Z then 3 or 4 digits, not all zero ("A012", "VP0001"). */
bool wa_voicetext_number_valid(const char *number);

/* The length of the letters that begin a valid ticket number ("AB012": 2). */
size_t wa_voicetext_prefix_len(const char *number);

/* `n` (0..9999) as a Chinese number, UTF-8 ("十二", "一百零五"). Returns
 * 0, or -1 when n is out of range or out[size] is too small. */
int wa_voicetext_chinese(int n, char *out, size_t size);

/* The text the voice says for ticket `number` (wa_voicetext_number_valid)
 * called to window `window_no` (1..WA_VOICETEXT_WINDOW_MAX) in `lang`.
 * Returns 0, or -1 for an invalid number, window or language (out is
 * then ""). */
int wa_voicetext_say(const char *number, int window_no, wa_voice_lang_t lang,
                     char out[WA_VOICETEXT_SIZE]);

/* The language's code as the API and the logs write it ("zh-CN", "en"). */
const char *wa_voicetext_lang_code(wa_voice_lang_t lang);

/* The language of a code ("zh-CN" or "en"): 0 with *lang set, or -1. */
int wa_voicetext_lang_of(const char *code, wa_voice_lang_t *lang);

#endif
