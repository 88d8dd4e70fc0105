/*  text: small string writers for hot paths (text.h). */
#include "eqms/text.h"

#include <string.h>

bool text_copy(char *dst, size_t size, const char *src)
{
    size_t len = strnlen(src, size);
    bool whole = len < size;
    if (!whole)
        len = size - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
    return whole;
}

size_t text_i64(char out[TEXT_I64_SIZE], int64_t value)
{
    char digits[TEXT_I64_SIZE];
    char *p = digits + sizeof digits;
    /* Through uint64_t, so that INT64_MIN negates without overflow. */
    uint64_t u = value < 0 ? 0 - (uint64_t) value : (uint64_t) value;
    *--p = '\0';
    do {
        *--p = (char) ('0' + u % 10);
        u /= 10;
    } while (u);
    if (value < 0)
        *--p = '-';
    size_t n = (size_t) (digits + sizeof digits - p);   /* the NUL included */
    memcpy(out, p, n);
    return n - 1;
}
