/*  utf8: strict UTF-8 checks, as jansson applies them to JSON text.
 *
 *  Valid means: no stray continuation bytes, no overlong forms, no UTF-16
 *  surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no sequence cut
 *  short. jsonw checks what it writes with it and rating-ingest's one-pass
 *  decoder what it reads, so both agree with jansson.
 */
#ifndef EQMS_UTF8_H
#define EQMS_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length (2..4) of the valid multi-byte sequence starting at s (s[0] >=
 * 0x80) within the `avail` bytes there, or 0 if it is invalid. With a
 * NUL-terminated string, avail may be SIZE_MAX: the NUL is never a
 * continuation byte, and nothing after it is read. */
size_t utf8_seq_len(const unsigned char *s, size_t avail);

/* True if the `len` bytes are valid UTF-8 (NUL bytes count as ASCII). */
bool utf8_valid(const void *bytes, size_t len);

/* The length of the longest valid UTF-8 prefix of the `len` bytes: where
 * text that was cut in the middle of a character should end. */
size_t utf8_valid_prefix(const void *bytes, size_t len);

/* The number of characters (code points) in `len` bytes of valid UTF-8. */
size_t utf8_count(const void *bytes, size_t len);

#endif
