/*  gzip: HTTP response compression (gzip.h). */
#include "eqms/gzip.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#define ZLIB_CONST
#include <zlib.h>

/* zlib's default level: JSON shrinks to a fifth or less at about
 * 100 MB/s on one core, well within a reply's budget. */
#define S_LEVEL         Z_DEFAULT_COMPRESSION
#define S_WINDOW_GZIP   (15 + 16)       /* 32 KiB window, gzip wrapper */

/* The q-value of a parameter list (";q=0.5" ...) starting at `p` and
 * ending at `end`: 0..1000, 1000 without one, -1 when malformed. */
static int s_qvalue(const char *p, const char *end)
{
    int q = 1000;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
            p++;
        if (p == end)
            break;
        const char *param = p;
        while (p < end && *p != ';')
            p++;
        const char *pend = p;
        while (pend > param && (pend[-1] == ' ' || pend[-1] == '\t'))
            pend--;
        if (pend - param < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=')
            continue;               /* another parameter: ignored */
        /* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
        const char *v = param + 2;
        if (v == pend || (*v != '0' && *v != '1'))
            return -1;
        int whole = *v++ - '0', frac = 0, digits = 0;
        if (v < pend && *v == '.') {
            for (v++; v < pend && digits < 3 && isdigit((unsigned char) *v); v++, digits++)
                frac = frac * 10 + (*v - '0');
        }
        if (v != pend)
            return -1;
        for (; digits < 3; digits++)
            frac *= 10;
        q = whole * 1000 + frac;
        if (q > 1000)
            return -1;
    }
    return q;
}

bool gzip_accepted(const char *accept_encoding)
{
    if (!accept_encoding)
        return false;
    int gzip_q = -1, star_q = -1;       /* -1: not named */
    const char *p = accept_encoding;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *coding = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        const char *semi = memchr(coding, ';', (size_t) (end - coding));
        const char *name_end = semi ? semi : end;
        while (name_end > coding && (name_end[-1] == ' ' || name_end[-1] == '\t'))
            name_end--;
        size_t n = (size_t) (name_end - coding);
        int q = semi ? s_qvalue(semi, end) : 1000;
        if (q < 0)
            q = 0;                      /* malformed: not acceptable */
        if ((n == 4 && strncasecmp(coding, "gzip", 4) == 0)
            || (n == 6 && strncasecmp(coding, "x-gzip", 6) == 0))
            gzip_q = gzip_q < 0 || q < gzip_q ? q : gzip_q;
        else if (n == 1 && *coding == '*')
            star_q = q;
    }
    return gzip_q >= 0 ? gzip_q > 0 : star_q > 0;
}

char *gzip_compress(const void *in, size_t len, size_t *out_len)
{
    z_stream z = { 0 };
    if (len > (size_t) UINT32_MAX)
        return NULL;            /* uInt counts: never a reply's size */
    if (deflateInit2(&z, S_LEVEL, Z_DEFLATED, S_WINDOW_GZIP, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    /* deflateBound is for one deflate call; the gzip wrapper's header and
     * trailer are within its margin for the default header */
    size_t cap = deflateBound(&z, (uLong) len) + 32;
    char *out = malloc(cap);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = in;
    z.avail_in = (uInt) len;
    z.next_out = (Bytef *) out;
    z.avail_out = (uInt) cap;
    int rc = deflate(&z, Z_FINISH);
    size_t produced = cap - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    *out_len = produced;
    return out;
}
