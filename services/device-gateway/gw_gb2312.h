/*  gw_gb2312: UTF-8 text to the GB2312 bytes of the device LCD (iconv).
 *
 *  The LCD's font holds printable ASCII and the GB2312 double-byte set. Every
 *  character without a GB2312 form (and every control character) becomes the
 *  visible marker GW_GB2312_MARKER ("□", GB2312 0xA1 0xF5); the caller learns
 *  how many were marked and logs it. Not thread-safe (one iconv state).
 */
#ifndef EQMS_GW_GB2312_H
#define EQMS_GW_GB2312_H

#include <stddef.h>
#include <stdint.h>

#define GW_GB2312_MARKER "\xA1\xF5"
#define GW_GB2312_REASON_SIZE 96

typedef struct gw_gb2312_t gw_gb2312_t;

/* NULL if iconv has no UTF-8 -> GB2312 converter (logged). */
gw_gb2312_t *gw_gb2312_new(void);
void gw_gb2312_destroy(gw_gb2312_t **self_p);

/* Converts NUL-terminated `utf8` into out (at most `max` bytes, not
 * NUL-terminated); *len gets the bytes written, *marked the characters
 * replaced by the marker. With `truncate` a text too long is cut at a
 * character boundary and *cut (may be NULL) set to 1; without it a text too
 * long is an error. Returns 0, or -1 with a reason for input that is not
 * valid UTF-8 or does not fit. */
int gw_gb2312_convert(gw_gb2312_t *self, const char *utf8, uint8_t *out,
                      size_t max, size_t *len, int *marked, int truncate,
                      int *cut, char reason[GW_GB2312_REASON_SIZE]);

#endif
