/*  gw_record: the outbox journal's record format (gw_record.h). */
#include "gw_record.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* --- crc32 (IEEE, as zlib) ------------------------------------------------ */
static uint32_t s_crc_table[256];
static pthread_once_t s_crc_once = PTHREAD_ONCE_INIT;

static void s_crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        s_crc_table[i] = c;
    }
}

static uint32_t s_crc(uint32_t crc, const uint8_t *p, size_t n)
{
    pthread_once(&s_crc_once, s_crc_init);
    crc = ~crc;
    while (n--)
        crc = s_crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void s_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t s_get32(const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
           | (uint32_t) p[3] << 24;
}

static void s_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t) (v >> (8 * i));
}

static uint64_t s_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

uint8_t *gw_record_encode(char kind, int64_t seq, const uint8_t *payload, size_t plen,
                          size_t *len)
{
    if (plen > GW_RECORD_PAYLOAD_MAX)
        return NULL;
    uint8_t *rec = malloc(GW_RECORD_HEADER + plen);
    if (!rec)
        return NULL;
    memcpy(rec, "EQOB", 4);
    rec[4] = (uint8_t) kind;
    rec[5] = rec[6] = rec[7] = 0;
    s_put64(rec + 8, (uint64_t) seq);
    s_put32(rec + 16, (uint32_t) plen);
    if (plen)
        memcpy(rec + GW_RECORD_HEADER, payload, plen);
    uint32_t crc = s_crc(0, rec + 4, 16);
    crc = s_crc(crc, rec + GW_RECORD_HEADER, plen);
    s_put32(rec + 20, crc);
    *len = GW_RECORD_HEADER + plen;
    return rec;
}

uint8_t *gw_record_event_payload(uint32_t boot, uint32_t dseq, const char *serial,
                                 const char *path, const char *envelope,
                                 size_t envelope_len, size_t *len)
{
    size_t sl = serial ? strlen(serial) : 0;
    size_t pl = path ? strlen(path) : 0;
    if (sl > 255 || pl > 255)
        return NULL;
    size_t n = 8 + 1 + sl + (path ? 1 + pl + envelope_len : 0);
    uint8_t *p = malloc(n);
    if (!p)
        return NULL;
    s_put32(p, boot);
    s_put32(p + 4, dseq);
    p[8] = (uint8_t) sl;
    memcpy(p + 9, serial ? serial : "", sl);
    if (path) {
        p[9 + sl] = (uint8_t) pl;
        memcpy(p + 10 + sl, path, pl);
        memcpy(p + 10 + sl + pl, envelope, envelope_len);
    }
    *len = n;
    return p;
}

bool gw_record_read(const uint8_t *buf, size_t avail, gw_record_t *rec, const char **why)
{
    if (avail < GW_RECORD_HEADER) {
        *why = "short header";
        return false;
    }
    if (memcmp(buf, "EQOB", 4) != 0 || buf[5] || buf[6] || buf[7]) {
        *why = "bad magic";
        return false;
    }
    uint32_t plen = s_get32(buf + 16);
    if (plen > GW_RECORD_PAYLOAD_MAX) {
        *why = "bad length";
        return false;
    }
    if (avail - GW_RECORD_HEADER < plen) {
        *why = "short payload";
        return false;
    }
    uint32_t crc = s_crc(s_crc(0, buf + 4, 16), buf + GW_RECORD_HEADER, plen);
    if (crc != s_get32(buf + 20)) {
        *why = "crc mismatch";
        return false;
    }
    rec->kind = (char) buf[4];
    rec->seq = (int64_t) s_get64(buf + 8);
    rec->payload = buf + GW_RECORD_HEADER;
    rec->payload_len = plen;
    rec->len = GW_RECORD_HEADER + plen;
    return true;
}

size_t gw_record_resync(const uint8_t *buf, size_t size, size_t from)
{
    for (size_t off = from + 1; off + GW_RECORD_HEADER <= size; off++) {
        const uint8_t *hit = memchr(buf + off, 'E', size - off);
        if (!hit)
            break;
        off = (size_t) (hit - buf);
        gw_record_t rec;
        const char *why;
        if (off + GW_RECORD_HEADER <= size && gw_record_read(buf + off, size - off, &rec, &why))
            return off;
    }
    return size;
}

int gw_record_event(const gw_record_t *rec, bool is_entry, gw_record_event_t *ev)
{
    const uint8_t *p = rec->payload;
    size_t n = rec->payload_len;
    memset(ev, 0, sizeof *ev);
    if (n < 9 || n < 9u + p[8])
        return -1;
    size_t sl = p[8];
    ev->boot = s_get32(p);
    ev->dseq = s_get32(p + 4);
    memcpy(ev->serial, p + 9, sl);
    ev->serial[sl] = 0;
    if (!is_entry)
        return n == 9 + sl ? 0 : -1;
    if (n < 10 + sl || n < 10 + sl + p[9 + sl])
        return -1;
    ev->path_len = p[9 + sl];
    ev->path = (const char *) p + 10 + sl;
    ev->envelope = ev->path + ev->path_len;
    ev->envelope_len = n - 10 - sl - ev->path_len;
    return 0;
}
