/*  utf8: strict UTF-8 checks (utf8.h). */
#include "eqms/utf8.h"

#include <stdint.h>
#include <string.h>

static bool s_cont(unsigned char c)
{
    return (c & 0xc0) == 0x80;
}

size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
             : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0 || avail < n)
        return 0;
    /* The second byte's range excludes overlongs (E0, F0), surrogates (ED)
     * and code points above U+10FFFF (F4). */
    unsigned char lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)   /* in order: stops at a NUL */
        if (!s_cont(s[i]))
            return 0;
    return n;
}

size_t utf8_valid_prefix(const void *bytes, size_t len)
{
    const unsigned char *s = bytes;
    size_t i = 0;
    while (i < len) {
        /* ASCII runs a word at a time: most text is ASCII. */
        uint64_t word;
        if (len - i >= sizeof word) {
            memcpy(&word, s + i, sizeof word);
            if (!(word & UINT64_C(0x8080808080808080))) {
                i += sizeof word;
                continue;
            }
        }
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = utf8_seq_len(s + i, len - i);
        if (n == 0)
            return i;
        i += n;
    }
    return len;
}

bool utf8_valid(const void *bytes, size_t len)
{
    return utf8_valid_prefix(bytes, len) == len;
}

size_t utf8_count(const void *bytes, size_t len)
{
    const unsigned char *s = bytes;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += !s_cont(s[i]);
    return n;
}
