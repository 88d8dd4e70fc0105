/*  wa_voicetext: the words of a call for the hall's voice (wa_voicetext.h). */
#include "wa_voicetext.h"

#include <stdio.h>
#include <string.h>

static const char *const s_digits[10] = { "零", "一", "二", "三", "四",
                                          "五", "六", "七", "八", "九" };

/* A growing text in a fixed buffer: every append checks the room left. */
typedef struct {
    char *out;
    size_t size, used;
    bool full;                    /* something did not fit */
} s_text_t;

static void s_add(s_text_t *t, const char *s, size_t n)
{
    if (t->full || t->used + n + 1 > t->size) {
        t->full = true;
        return;
    }
    memcpy(t->out + t->used, s, n);
    t->used += n;
    t->out[t->used] = '\0';
}

static void s_str(s_text_t *t, const char *s)
{
    s_add(t, s, strlen(s));
}

size_t wa_voicetext_prefix_len(const char *number)
{
    return number ? strspn(number, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") : 0;
}

bool wa_voicetext_number_valid(const char *number)
{
    if (!number)
        return false;
    size_t letters = wa_voicetext_prefix_len(number), len = strlen(number);
    size_t digits = len - letters;
    if (letters < 1 || letters > 3 || digits < 3 || digits > 4
        || strspn(number + letters, "0123456789") != digits)
        return false;
    return strspn(number + letters, "0") != digits;     /* no ticket 000 */
}

int wa_voicetext_chinese(int n, char *out, size_t size)
{
    static const char *const units[4] = { "千", "百", "十", "" };
    s_text_t t = { out, size, 0, false };
    if (size)
        out[0] = '\0';
    if (n < 0 || n > 9999 || !size)
        return -1;
    if (n == 0) {
        s_str(&t, s_digits[0]);
        return t.full ? -1 : 0;
    }
    int d[4] = { n / 1000, n / 100 % 10, n / 10 % 10, n % 10 };
    bool started = false, zero = false;
    for (int i = 0; i < 4; i++) {
        if (d[i] == 0) {
            zero = started;       /* a gap inside the number reads 零, once */
            continue;
        }
        if (zero)
            s_str(&t, s_digits[0]);
        /* 10..19 read 十, 十五: no 一 before a leading 十 */
        if (!(i == 2 && d[i] == 1 && !started))
            s_str(&t, s_digits[d[i]]);
        s_str(&t, units[i]);
        started = true;
        zero = false;
    }
    return t.full ? -1 : 0;
}

/* The ticket's letters, then its digits one by one, in `lang`. */
static void s_number(s_text_t *t, const char *number, wa_voice_lang_t lang)
{
    size_t letters = wa_voicetext_prefix_len(number);
    for (size_t i = 0; i < letters; i++) {
        if (i)
            s_str(t, lang == WA_VOICE_EN ? ", " : " ");
        s_add(t, number + i, 1);
    }
    if (lang == WA_VOICE_EN)
        s_str(t, ",");
    for (const char *p = number + letters; *p; p++) {
        if (lang == WA_VOICE_EN) {
            s_str(t, " ");
            s_add(t, p, 1);
        }
        else
            s_str(t, s_digits[*p - '0']);
    }
}

int wa_voicetext_say(const char *number, int window_no, wa_voice_lang_t lang,
                     char out[WA_VOICETEXT_SIZE])
{
    s_text_t t = { out, WA_VOICETEXT_SIZE, 0, false };
    out[0] = '\0';
    if (!wa_voicetext_number_valid(number) || window_no < 1
        || window_no > WA_VOICETEXT_WINDOW_MAX || (lang != WA_VOICE_ZH && lang != WA_VOICE_EN))
        return -1;
    if (lang == WA_VOICE_ZH) {
        char window[32];
        if (wa_voicetext_chinese(window_no, window, sizeof window) != 0)
            return -1;
        s_str(&t, "请");
        s_number(&t, number, lang);
        s_str(&t, "号到");
        s_str(&t, window);
        s_str(&t, "号窗口");
    }
    else {
        char window[16];
        snprintf(window, sizeof window, "%d", window_no);
        s_str(&t, "Number ");
        s_number(&t, number, lang);
        s_str(&t, ", please go to window ");
        s_str(&t, window);
        s_str(&t, ".");
    }
    if (t.full) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

const char *wa_voicetext_lang_code(wa_voice_lang_t lang)
{
    return lang == WA_VOICE_EN ? "en" : "zh-CN";
}

int wa_voicetext_lang_of(const char *code, wa_voice_lang_t *lang)
{
    if (code && strcmp(code, "zh-CN") == 0)
        *lang = WA_VOICE_ZH;
    else if (code && strcmp(code, "en") == 0)
        *lang = WA_VOICE_EN;
    else
        return -1;
    return 0;
}
