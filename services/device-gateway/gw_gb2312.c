/*  gw_gb2312: UTF-8 to GB2312 for the device LCD, marking what has no form. */
#include "gw_gb2312.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"

struct gw_gb2312_t {
    iconv_t cd;
};

gw_gb2312_t *gw_gb2312_new(void)
{
    gw_gb2312_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cd = iconv_open("GB2312", "UTF-8");
    if (self->cd == (iconv_t) -1) {
        log_error("iconv_open_failed", "to=GB2312 from=UTF-8 error=\"%s\"",
                  strerror(errno));
        goto err;
    }
    return self;
err:
    free(self);
    return NULL;
}

void gw_gb2312_destroy(gw_gb2312_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    iconv_close((*self_p)->cd);
    free(*self_p);
    *self_p = NULL;
}

/* Length of the UTF-8 sequence at p (strictly well-formed), or 0. */
static size_t s_utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned min;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        min = 0x80;
        c &= 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        min = 0x800;
        c &= 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        min = 0x10000;
        c &= 0x07;
    } else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    return n;
}

int gw_gb2312_convert(gw_gb2312_t *self, const char *utf8, uint8_t *out,
                      size_t max, size_t *len, int *marked, int truncate,
                      int *cut, char reason[GW_GB2312_REASON_SIZE])
{
    const unsigned char *p = (const unsigned char *) utf8;
    size_t used = 0;
    *marked = 0;
    if (cut)
        *cut = 0;
    while (*p) {
        size_t n = s_utf8_len(p);
        if (n == 0) {
            snprintf(reason, GW_GB2312_REASON_SIZE,
                     "not valid UTF-8 at byte %zu", (size_t) (p - (const unsigned char *) utf8));
            return -1;
        }
        uint8_t tmp[8];
        size_t tlen = 0;
        if (n == 1) {
            if (p[0] >= 0x20 && p[0] < 0x7F) {
                tmp[0] = p[0];
                tlen = 1;
            }
        } else {
            char *in = (char *) p, *o = (char *) tmp;
            size_t inleft = n, outleft = sizeof tmp;
            iconv(self->cd, NULL, NULL, NULL, NULL);
            if (iconv(self->cd, &in, &inleft, &o, &outleft) != (size_t) -1
                && inleft == 0) {
                tlen = sizeof tmp - outleft;
                /* only the double-byte set the LCD font has */
                if (tlen != 2 || tmp[0] < 0xA1 || tmp[0] > 0xFE || tmp[1] < 0xA1
                    || tmp[1] > 0xFE)
                    tlen = 0;
            }
        }
        if (tlen == 0) {
            memcpy(tmp, GW_GB2312_MARKER, 2);
            tlen = 2;
            (*marked)++;
        }
        if (used + tlen > max) {
            if (!truncate) {
                snprintf(reason, GW_GB2312_REASON_SIZE,
                         "text is longer than %zu GB2312 bytes", max);
                return -1;
            }
            if (cut)
                *cut = 1;
            break;
        }
        memcpy(out + used, tmp, tlen);
        used += tlen;
        p += n;
    }
    *len = used;
    return 0;
}
