/*  gzip: HTTP response compression (zlib), as httpd applies it to every
 *  reply.
 *
 *  httpd compresses a reply body of at least GZIP_MIN_SIZE bytes when the
 *  request's Accept-Encoding allows gzip (gzip_accepted), unless the
 *  handler opted out (httpd_reply_t.identity: XLSX, zip, images); it then
 *  adds Content-Encoding: gzip. Every reply whose form depended on the
 *  header (large enough, not opted out) carries Vary: Accept-Encoding.
 *  Pure functions: safe from any thread.
 */
#ifndef EQMS_GZIP_H
#define EQMS_GZIP_H

#include <stdbool.h>
#include <stddef.h>

/* Bodies below this many bytes are sent as they are: compressing them
 * gains less than it costs. */
#define GZIP_MIN_SIZE 1024

/* Whether an Accept-Encoding value (RFC 9110 section 12.5.3) allows gzip:
 * "gzip" or "x-gzip" with a q-value above 0, or "*" above 0 when gzip is
 * not named. "gzip;q=0" refuses it, so does a malformed q-value. NULL or
 * "": false. Case-insensitive. */
bool gzip_accepted(const char *accept_encoding);

/* `len` bytes of `in` as one gzip member (RFC 1952). Returns a malloc'd
 * buffer the caller frees, its length in *out_len; NULL when memory ran
 * out or zlib failed. */
char *gzip_compress(const void *in, size_t len, size_t *out_len);

#endif
