/*  sn_customer: the pure pieces of customer messages (sn_customer.h). */
#include "sn_customer.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/utf8.h"

int sn_customer_keyword(const char *text, char *out, size_t size)
{
    const unsigned char *s = (const unsigned char *) text;
    size_t len = strlen(text), n = 0, i = 0;
    bool started = false;
    if (size == 0 || !utf8_valid(text, len))
        return -1;
    while (i < len) {
        size_t k = s[i] < 0x80 ? 1 : utf8_seq_len(s + i, len - i);
        if (k == 0)
            return -1;
        unsigned cp = s[i];
        if (k == 3)
            cp = ((s[i] & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6) | (s[i + 2] & 0x3Fu);
        char ascii = 0;
        if (k == 1)
            ascii = (char) cp;
        else if (cp == 0x3000)
            ascii = ' ';
        else if (k == 3 && cp >= 0xFF01 && cp <= 0xFF5E)
            ascii = (char) (cp - 0xFF01 + 0x21);
        bool blank = ascii == ' ' || ascii == '\t' || ascii == '\r' || ascii == '\n';
        if (blank && started)
            break;
        if (!blank) {
            started = true;
            if (ascii >= 'a' && ascii <= 'z')
                ascii = (char) (ascii - 'a' + 'A');
            size_t add = ascii ? 1 : k;
            if (n + add >= size)
                return -1;
            if (ascii)
                out[n] = ascii;
            else
                memcpy(out + n, s + i, k);
            n += add;
        }
        i += k;
    }
    out[n] = '\0';
    return 0;
}

static bool s_digits(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    return n >= min && n <= max && strspn(s, "0123456789") == n;
}

static bool s_cn_mobile(const char *s)
{
    return s_digits(s, 11, 11) && s[0] == '1' && s[1] >= '3' && s[1] <= '9';
}

int sn_customer_phone(const char *in, char out[SN_CUSTOMER_PHONE_SIZE])
{
    char d[SN_CUSTOMER_PHONE_SIZE + 1];
    size_t n = 0;
    for (; in && *in; in++) {          /* spaces, brackets and dashes are layout */
        if (strchr(" \t\r\n\v\f()-", *in))
            continue;
        if (n + 1 >= sizeof d)
            return -1;
        d[n++] = *in;
    }
    d[n] = '\0';
    const char *mobile = s_cn_mobile(d) ? d
                         : strncmp(d, "0086", 4) == 0 && s_cn_mobile(d + 4) ? d + 4
                         : strncmp(d, "86", 2) == 0 && s_cn_mobile(d + 2) ? d + 2 : NULL;
    if (mobile) {
        memcpy(out, "+86", 3);
        memcpy(out + 3, mobile, 12);    /* 11 digits and the NUL */
        return 0;
    }
    const char *e164 = d[0] == '+' ? d + 1 : strncmp(d, "00", 2) == 0 ? d + 2 : NULL;
    if (!e164 || !s_digits(e164, 7, 15) || e164[0] == '0'
        || (strncmp(e164, "86", 2) == 0 && !s_cn_mobile(e164 + 2)))
        return -1;                      /* China: mobiles only, they get SMS */
    out[0] = '+';
    memcpy(out + 1, e164, strlen(e164) + 1);    /* at most 15 digits and the NUL */
    return 0;
}

static char *s_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *s_format(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : out;
}

char *sn_customer_issued_text(const char *branch, const char *number, int64_t position,
                              int64_t est_wait_s)
{
    long long minutes = est_wait_s <= 0 ? 0 : (est_wait_s + 59) / 60;
    return s_format("【%s】取号成功：您的号码%s，前面还有%lld位，预计等候约%lld分钟，"
                    "叫号时将短信通知您。Ticket %s: %lld ahead, about %lld min.",
                    branch, number, (long long) position, minutes, number,
                    (long long) position, minutes);
}

char *sn_customer_unknown_text(const char *branch, const char *keywords)
{
    return s_format("【%s】未能识别您的取号指令。请回复以下代码取号：%s。"
                    "Reply with one of the codes above for a ticket.", branch, keywords);
}

char *sn_customer_limit_text(const char *branch, int limit)
{
    return s_format("【%s】您今天通过短信取号已达%d次上限，请到网点取号机取号。"
                    "Daily limit of %d SMS tickets reached.", branch, limit, limit);
}

char *sn_customer_refused_text(const char *branch)
{
    return s_format("【%s】抱歉，现在无法为您取号，请稍后再试或到网点取号。"
                    "Sorry, no ticket can be issued now.", branch);
}

char *sn_customer_not_issuing_text(const char *branch, clock_date_t today,
                                   const clock_date_t *resumes, int resumes_minute)
{
    int h = resumes_minute / 60, m = resumes_minute % 60;
    if (!resumes)
        return s_format("【%s】抱歉，本网点现在不办理取号，请留意网点公告。"
                        "No tickets are issued now.", branch);
    if (clock_date_diff(today, *resumes) == 0)
        return s_format("【%s】抱歉，现在暂停取号，今天%02d:%02d恢复取号，届时请再发短信取号。"
                        "Tickets again from %02d:%02d today.", branch, h, m, h, m);
    return s_format("【%s】抱歉，本网点今日已停止取号，%d月%d日 %02d:%02d恢复取号。"
                    "No more tickets today; again from %04d-%02d-%02d %02d:%02d.", branch,
                    resumes->month, resumes->day, h, m, resumes->year, resumes->month,
                    resumes->day, h, m);
}

char *sn_customer_near_text(const char *branch, const char *number, int64_t ahead)
{
    return s_format("【%s】您的号码%s前面还有%lld位，请回到网点等候叫号。"
                    "Ticket %s: %lld ahead, your turn is near.", branch, number,
                    (long long) ahead, number, (long long) ahead);
}

char *sn_customer_called_text(const char *branch, const char *number, const char *window_no)
{
    return s_format("请%s号到%s号窗口办理业务【%s】。Ticket %s, please go to window %s.",
                    number, window_no, branch, number, window_no);
}
