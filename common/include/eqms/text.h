/*  text: small string writers for hot paths, in place of snprintf.
 *
 *      char number[8];
 *      text_copy(number, sizeof number, ticket->number);   // cut if too long
 *      char digits[TEXT_I64_SIZE];
 *      size_t n = text_i64(digits, -42);                    // "-42", n = 3
 *
 *  snprintf("%s") and ("%lld") cost about a thousand instructions a call,
 *  which queue-manager made tens of times per ticket operation.
 */
#ifndef EQMS_TEXT_H
#define EQMS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TEXT_I64_SIZE 21   /* "-9223372036854775808" and the NUL */

/* Copies the NUL-terminated `src` into dst[size] (size >= 1), cut to
 * size - 1 bytes, always NUL-terminated. True if nothing was cut. */
bool text_copy(char *dst, size_t size, const char *src);

/* Writes `value` in decimal (with '-' when negative) and a NUL into out;
 * returns the number of characters before the NUL. */
size_t text_i64(char out[TEXT_I64_SIZE], int64_t value);

#endif
