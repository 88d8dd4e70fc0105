/*  devtext: builds the rating device's LCD lines from GB2312 texts (devtext.h). */
#include "devtext.h"

#include <string.h>

void devtext_clear(devtext_line_t *line)
{
    memset(line, 0, sizeof *line);
}

void devtext_add_bytes(devtext_line_t *line, const uint8_t *bytes, uint8_t n)
{
    uint8_t i = 0;
    while (i < n) {
        uint8_t width = (bytes[i] >= 0xA1 && i + 1 < n) ? 2 : 1;
        if (line->len + width > DEVPROTO_LINE_BYTES)
            return;
        for (uint8_t k = 0; k < width; k++)
            line->b[line->len++] = bytes[i + k];
        i = (uint8_t) (i + width);
    }
}

void devtext_add(devtext_line_t *line, const char *s)
{
    size_t n = strlen(s);
    devtext_add_bytes(line, (const uint8_t *) s, (uint8_t) (n > 255 ? 255 : n));
}

void devtext_add_uint(devtext_line_t *line, uint32_t v)
{
    uint8_t digits[10];
    uint8_t n = 0;
    do {
        digits[n++] = (uint8_t) ('0' + v % 10);
        v /= 10;
    } while (v);
    uint8_t out[10];
    for (uint8_t i = 0; i < n; i++)
        out[i] = digits[n - 1 - i];
    devtext_add_bytes(line, out, n);
}
