/*  gw_outbox: the device gateway's fsync'd journal of uncommitted events. */
#include "gw_outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eqms/clock.h"
#include "eqms/envelope.h"
#include "eqms/grow.h"
#include "eqms/id.h"
#include "eqms/log.h"

#define S_HEADER 24
#define S_PAYLOAD_MAX (ENVELOPE_MAX_BYTES + 600)
#define S_COMPACT_MIN_BYTES (1024 * 1024)

typedef struct {
    gw_outbox_entry_t pub;      /* org_path and envelope point into text */
    char *text;                 /* org_path NUL envelope NUL */
    size_t rec_len;             /* bytes its record takes in the journal */
} s_entry_t;

typedef struct {
    char serial[DEVPROTO_SERIAL_MAX + 1];
    uint32_t boot;
    uint32_t dseq;
} s_mark_t;

struct gw_outbox_t {
    char *path;
    char *tmp_path;
    char *dir;
    char src[ENVELOPE_SRC_MAX + 1];
    char incarnation[ID_SIZE];  /* "" until read or made */
    int fd;
    s_entry_t *entries;         /* entries[head..count) are live, by seq */
    size_t head, count, cap;
    s_mark_t *marks;
    size_t marks_count, marks_cap;
    int64_t last_seq;
    int64_t acked_upto;
    uint64_t file_bytes;
    uint64_t live_bytes;        /* bytes the live entries take in the file */
    uint64_t torn_bytes;
    uint64_t compactions;
};

/* --- crc32 (IEEE, as zlib) ------------------------------------------------ */
static uint32_t s_crc_table[256];

static void s_crc_init(void)
{
    if (s_crc_table[1])
        return;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        s_crc_table[i] = c;
    }
}

static uint32_t s_crc(uint32_t crc, const uint8_t *p, size_t n)
{
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

static int s_write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t) w;
    }
    return 0;
}

/* Encodes one record into a malloc'd buffer; *len gets its size. */
static uint8_t *s_record(char kind, int64_t seq, const uint8_t *payload,
                         size_t plen, size_t *len)
{
    uint8_t *rec = malloc(S_HEADER + plen);
    if (!rec)
        return NULL;
    memcpy(rec, "EQOB", 4);
    rec[4] = (uint8_t) kind;
    rec[5] = rec[6] = rec[7] = 0;
    s_put64(rec + 8, (uint64_t) seq);
    s_put32(rec + 16, (uint32_t) plen);
    if (plen)
        memcpy(rec + S_HEADER, payload, plen);
    uint32_t crc = s_crc(0, rec + 4, 16);
    crc = s_crc(crc, rec + S_HEADER, plen);
    s_put32(rec + 20, crc);
    *len = S_HEADER + plen;
    return rec;
}

/* Payload of 'E' and 'W': boot, dseq, serial, then (E) path and envelope. */
static uint8_t *s_payload(uint32_t boot, uint32_t dseq, const char *serial,
                          const char *path, const char *env, size_t env_len,
                          size_t *len)
{
    size_t sl = serial ? strlen(serial) : 0;
    size_t pl = path ? strlen(path) : 0;
    if (sl > 255 || pl > 255)
        return NULL;
    size_t n = 8 + 1 + sl + (path ? 1 + pl + env_len : 0);
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
        memcpy(p + 10 + sl + pl, env, env_len);
    }
    *len = n;
    return p;
}

/* --- in-memory state ------------------------------------------------------ */
static s_mark_t *s_mark_find(const gw_outbox_t *self, const char *serial)
{
    for (size_t i = 0; i < self->marks_count; i++)
        if (strcmp(self->marks[i].serial, serial) == 0)
            return &self->marks[i];
    return NULL;
}

static int s_mark_set(gw_outbox_t *self, const char *serial, uint32_t boot,
                      uint32_t dseq)
{
    if (!serial || !*serial || strlen(serial) > DEVPROTO_SERIAL_MAX)
        return 0;
    s_mark_t *m = s_mark_find(self, serial);
    if (!m) {
        s_mark_t *n = grow_room(self->marks, self->marks_count, &self->marks_cap, sizeof *n, 16);
        if (!n)
            return -1;
        self->marks = n;
        m = &self->marks[self->marks_count++];
        snprintf(m->serial, sizeof m->serial, "%s", serial);
        m->boot = boot;
        m->dseq = dseq;
        return 0;
    }
    if (m->boot != boot || dseq > m->dseq) {
        m->boot = boot;
        m->dseq = dseq;
    }
    return 0;
}

static int s_entry_push(gw_outbox_t *self, int64_t seq, const char *path,
                        size_t path_len, const char *env, size_t env_len,
                        size_t rec_len)
{
    if (self->count == self->cap) {
        if (self->head > 0) {
            memmove(self->entries, self->entries + self->head,
                    (self->count - self->head) * sizeof *self->entries);
            self->count -= self->head;
            self->head = 0;
        }
        s_entry_t *n = grow_room(self->entries, self->count, &self->cap, sizeof *n, 64);
        if (!n)
            return -1;
        self->entries = n;
    }
    char *text = malloc(path_len + 1 + env_len + 1);
    if (!text)
        return -1;
    memcpy(text, path, path_len);
    text[path_len] = 0;
    memcpy(text + path_len + 1, env, env_len);
    text[path_len + 1 + env_len] = 0;
    s_entry_t *e = &self->entries[self->count++];
    e->text = text;
    e->pub.seq = seq;
    e->pub.org_path = text;
    e->pub.envelope = text + path_len + 1;
    e->pub.len = env_len;
    e->pub.published_ms = 0;
    e->rec_len = rec_len;
    self->live_bytes += rec_len;
    return 0;
}

static size_t s_drop_upto(gw_outbox_t *self, int64_t upto)
{
    size_t n = 0;
    while (self->head < self->count && self->entries[self->head].pub.seq <= upto) {
        s_entry_t *e = &self->entries[self->head++];
        self->live_bytes -= e->rec_len;
        free(e->text);
        n++;
    }
    if (self->head == self->count)
        self->head = self->count = 0;
    return n;
}

/* --- load ----------------------------------------------------------------- */
static int s_apply(gw_outbox_t *self, char kind, int64_t seq, const uint8_t *p,
                   size_t n, size_t rec_len, size_t records)
{
    char serial[256];
    switch (kind) {
    case 'I':
        /* the incarnation opens the journal; anywhere else it is damage */
        if (records != 0 || seq != 0 || n != ID_SIZE - 1)
            return -1;
        memcpy(self->incarnation, p, n);
        self->incarnation[n] = 0;
        return id_v7_or_nil(self->incarnation) ? 0 : -1;
    case 'A':
        if (n)
            return -1;
        if (seq > self->acked_upto)
            self->acked_upto = seq;
        s_drop_upto(self, seq);
        return 0;
    case 'S':
        if (n)
            return -1;
        if (seq > self->last_seq)
            self->last_seq = seq;
        return 0;
    case 'W':
    case 'E': {
        if (n < 9 || n < 9u + p[8])
            return -1;
        size_t sl = p[8];
        memcpy(serial, p + 9, sl);
        serial[sl] = 0;
        if (s_mark_set(self, serial, s_get32(p), s_get32(p + 4)) < 0)
            return -1;
        if (kind == 'W')
            return n == 9 + sl ? 0 : -1;
        if (n < 10 + sl || n < 10 + sl + p[9 + sl])
            return -1;
        size_t pl = p[9 + sl];
        const char *path = (const char *) p + 10 + sl;
        const char *env = path + pl;
        size_t env_len = n - 10 - sl - pl;
        if (seq > self->last_seq)
            self->last_seq = seq;
        if (seq <= self->acked_upto)
            return 0;
        return s_entry_push(self, seq, path, pl, env, env_len, rec_len);
    }
    default:
        return -1;
    }
}

static int s_load(gw_outbox_t *self)
{
    struct stat st;
    if (fstat(self->fd, &st) < 0)
        return -1;
    size_t size = (size_t) st.st_size;
    uint8_t *buf = size ? malloc(size) : NULL;
    if (size && !buf)
        return -1;
    size_t got = 0;
    while (got < size) {
        ssize_t r = pread(self->fd, buf + got, size - got, (off_t) got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(buf);
            return -1;
        }
        got += (size_t) r;
    }
    size_t off = 0;
    size_t records = 0;
    const char *why = NULL;
    while (off < size) {
        if (size - off < S_HEADER) {
            why = "short header";
            break;
        }
        const uint8_t *h = buf + off;
        uint32_t plen = s_get32(h + 16);
        if (memcmp(h, "EQOB", 4) != 0 || h[5] || h[6] || h[7]) {
            why = "bad magic";
            break;
        }
        if (plen > S_PAYLOAD_MAX) {
            why = "bad length";
            break;
        }
        if (size - off - S_HEADER < plen) {
            why = "short payload";
            break;
        }
        uint32_t crc = s_crc(s_crc(0, h + 4, 16), h + S_HEADER, plen);
        if (crc != s_get32(h + 20)) {
            why = "crc mismatch";
            break;
        }
        if (s_apply(self, (char) h[4], (int64_t) s_get64(h + 8), h + S_HEADER,
                    plen, S_HEADER + plen, records) < 0) {
            why = "bad record";
            break;
        }
        off += S_HEADER + plen;
        records++;
    }
    free(buf);
    if (why) {
        self->torn_bytes = size - off;
        log_warn("outbox_torn_tail",
                 "path=%s offset=%zu dropped_bytes=%zu reason=\"%s\"", self->path,
                 off, size - off, why);
        if (ftruncate(self->fd, (off_t) off) < 0 || fsync(self->fd) < 0) {
            log_error("outbox_truncate_failed", "path=%s error=\"%s\"", self->path,
                      strerror(errno));
            return -1;
        }
    }
    self->file_bytes = off;
    if (lseek(self->fd, (off_t) off, SEEK_SET) < 0)
        return -1;
    if (records > 0 && !self->incarnation[0]) {
        /* written before incarnations existed: its numbering goes on */
        snprintf(self->incarnation, sizeof self->incarnation, "%s", ID_NIL);
        log_info("outbox_old_format", "path=%s incarnation=%s reason=\"no incarnation "
                 "record\"", self->path, self->incarnation);
    }
    log_info("outbox_loaded", "path=%s records=%zu pending=%zu last_seq=%lld "
             "acked_upto=%lld incarnation=%s", self->path, records,
             self->count - self->head, (long long) self->last_seq,
             (long long) self->acked_upto,
             self->incarnation[0] ? self->incarnation : "none");
    return 0;
}

static int s_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int s_append(gw_outbox_t *self, const uint8_t *rec, size_t len);

/* An empty journal is a new one: it gets a new incarnation, durable before
 * any event is numbered in it. 0 / -1 (logged). */
static int s_begin_incarnation(gw_outbox_t *self)
{
    if (id_new(self->incarnation) != 0) {
        log_error("outbox_incarnation_failed", "path=%s reason=\"no randomness\"",
                  self->path);
        return -1;
    }
    size_t len;
    uint8_t *rec = s_record('I', 0, (const uint8_t *) self->incarnation, ID_SIZE - 1,
                            &len);
    int rc = rec ? s_append(self, rec, len) : -1;
    free(rec);
    if (rc < 0 || fdatasync(self->fd) < 0 || s_fsync_dir(self->dir) < 0) {
        log_error("outbox_incarnation_failed", "path=%s error=\"%s\"", self->path,
                  strerror(errno));
        return -1;
    }
    log_info("outbox_incarnation_new", "path=%s incarnation=%s", self->path,
             self->incarnation);
    return 0;
}

gw_outbox_t *gw_outbox_new(const char *dir, const char *src)
{
    s_crc_init();
    gw_outbox_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->fd = -1;
    if (!dir || !src || strlen(src) > ENVELOPE_SRC_MAX)
        goto err;
    snprintf(self->src, sizeof self->src, "%s", src);
    self->dir = strdup(dir);
    if (!self->dir || asprintf(&self->path, "%s/outbox.journal", dir) < 0
        || asprintf(&self->tmp_path, "%s/outbox.journal.tmp", dir) < 0) {
        self->path = self->tmp_path = NULL;
        goto err;
    }
    self->fd = open(self->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (self->fd < 0) {
        log_error("outbox_open_failed", "path=%s error=\"%s\"", self->path,
                  strerror(errno));
        goto err;
    }
    if (s_load(self) < 0) {
        log_error("outbox_load_failed", "path=%s", self->path);
        goto err;
    }
    if (!self->incarnation[0] && s_begin_incarnation(self) < 0)
        goto err;
    return self;
err:
    gw_outbox_destroy(&self);
    return NULL;
}

void gw_outbox_destroy(gw_outbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_outbox_t *self = *self_p;
    if (self->fd >= 0)
        close(self->fd);
    for (size_t i = self->head; i < self->count; i++)
        free(self->entries[i].text);
    free(self->entries);
    free(self->marks);
    free(self->path);
    free(self->tmp_path);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

static int s_append(gw_outbox_t *self, const uint8_t *rec, size_t len)
{
    if (s_write_all(self->fd, rec, len) < 0) {
        log_error("outbox_write_failed", "path=%s error=\"%s\"", self->path,
                  strerror(errno));
        /* cut a partial record so that later appends stay readable */
        if (ftruncate(self->fd, (off_t) self->file_bytes) < 0)
            log_error("outbox_truncate_failed", "path=%s error=\"%s\"",
                      self->path, strerror(errno));
        return -1;
    }
    self->file_bytes += len;
    return 0;
}

const gw_outbox_entry_t *gw_outbox_add(gw_outbox_t *self, const char *type,
                                       const char *org_path, json_t **data_p,
                                       const char *serial, uint32_t boot,
                                       uint32_t dseq)
{
    uint8_t *payload = NULL, *rec = NULL;
    char *text = NULL;
    const gw_outbox_entry_t *out = NULL;
    envelope_t *env = NULL;
    /* every event names the journal that numbers it */
    if (!data_p || !*data_p
        || json_object_set_new(*data_p, "incarnation", json_string(self->incarnation)) < 0)
        goto done;
    env = envelope_new(type, self->src, self->last_seq + 1, data_p);
    if (!env || !org_path || !envelope_org_path_valid(org_path, strlen(org_path)))
        goto done;
    size_t len = 0, plen = 0, rlen = 0;
    text = envelope_encode(env, &len);
    if (!text)
        goto done;
    payload = s_payload(boot, dseq, serial, org_path, text, len, &plen);
    if (!payload)
        goto done;
    rec = s_record('E', env->seq, payload, plen, &rlen);
    if (!rec || s_append(self, rec, rlen) < 0)
        goto done;
    self->last_seq = env->seq;
    if (serial)
        s_mark_set(self, serial, boot, dseq);
    if (s_entry_push(self, env->seq, org_path, strlen(org_path), text, len,
                     rlen) < 0)
        goto done;
    out = &self->entries[self->count - 1].pub;
done:
    if (data_p && *data_p)
        json_decref(*data_p), *data_p = NULL;
    envelope_destroy(&env);
    free(text);
    free(payload);
    free(rec);
    return out;
}

int gw_outbox_sync(gw_outbox_t *self)
{
    if (fdatasync(self->fd) < 0) {
        log_error("outbox_sync_failed", "path=%s error=\"%s\"", self->path,
                  strerror(errno));
        return -1;
    }
    return 0;
}

bool gw_outbox_seen(const gw_outbox_t *self, const char *serial, uint32_t boot,
                    uint32_t dseq)
{
    const s_mark_t *m = s_mark_find(self, serial);
    return m && m->boot == boot && dseq <= m->dseq;
}

int gw_outbox_ack(gw_outbox_t *self, int64_t upto)
{
    if (upto > self->last_seq) {
        log_warn("outbox_ack_ignored", "upto=%lld last_seq=%lld reason=\"beyond "
                 "the last seq used\"", (long long) upto, (long long) self->last_seq);
        return -1;
    }
    if (upto <= self->acked_upto)
        return 0;
    size_t rlen;
    uint8_t *rec = s_record('A', upto, NULL, 0, &rlen);
    if (!rec)
        return -1;
    /* not fsync'd: losing it only means a replay, which consumers dedupe */
    int rc = s_append(self, rec, rlen);
    free(rec);
    if (rc < 0)
        return -1;
    self->acked_upto = upto;
    return (int) s_drop_upto(self, upto);
}

const gw_outbox_entry_t *gw_outbox_entry(const gw_outbox_t *self, size_t i)
{
    if (i >= self->count - self->head)
        return NULL;
    return &self->entries[self->head + i].pub;
}

void gw_outbox_mark_published(gw_outbox_t *self, size_t i)
{
    if (i < self->count - self->head)
        self->entries[self->head + i].pub.published_ms = clock_mono_ms();
}

int gw_outbox_compact(gw_outbox_t *self)
{
    int fd = open(self->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        log_error("outbox_compact_failed", "path=%s error=\"%s\"", self->tmp_path,
                  strerror(errno));
        return -1;
    }
    uint64_t bytes = 0, live = 0;
    size_t len, plen;
    uint8_t *rec = s_record('I', 0, (const uint8_t *) self->incarnation, ID_SIZE - 1,
                            &len);
    int ok = rec && s_write_all(fd, rec, len) == 0;
    bytes += len;
    free(rec);
    rec = ok ? s_record('S', self->last_seq, NULL, 0, &len) : NULL;
    ok = rec && s_write_all(fd, rec, len) == 0;
    bytes += len;
    free(rec);
    if (ok && self->acked_upto > 0) {
        rec = s_record('A', self->acked_upto, NULL, 0, &len);
        ok = rec && s_write_all(fd, rec, len) == 0;
        bytes += len;
        free(rec);
    }
    for (size_t i = 0; ok && i < self->marks_count; i++) {
        const s_mark_t *m = &self->marks[i];
        uint8_t *p = s_payload(m->boot, m->dseq, m->serial, NULL, NULL, 0, &plen);
        rec = p ? s_record('W', 0, p, plen, &len) : NULL;
        ok = rec && s_write_all(fd, rec, len) == 0;
        bytes += len;
        free(p);
        free(rec);
    }
    for (size_t i = self->head; ok && i < self->count; i++) {
        const gw_outbox_entry_t *e = &self->entries[i].pub;
        /* the entry's own watermark is in the 'W' records already */
        uint8_t *p = s_payload(0, 0, NULL, e->org_path, e->envelope, e->len, &plen);
        rec = p ? s_record('E', e->seq, p, plen, &len) : NULL;
        ok = rec && s_write_all(fd, rec, len) == 0;
        bytes += len;
        live += len;
        self->entries[i].rec_len = len;
        free(p);
        free(rec);
    }
    if (!ok || fsync(fd) < 0) {
        log_error("outbox_compact_failed", "path=%s error=\"%s\"", self->tmp_path,
                  strerror(errno));
        close(fd);
        unlink(self->tmp_path);
        return -1;
    }
    close(fd);
    if (rename(self->tmp_path, self->path) < 0) {
        log_error("outbox_compact_failed", "path=%s error=\"%s\"", self->path,
                  strerror(errno));
        unlink(self->tmp_path);
        return -1;
    }
    if (s_fsync_dir(self->dir) < 0)
        log_warn("outbox_dir_sync_failed", "dir=%s error=\"%s\"", self->dir,
                 strerror(errno));
    int nfd = open(self->path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (nfd < 0) {
        log_error("outbox_reopen_failed", "path=%s error=\"%s\"", self->path,
                  strerror(errno));
        return -1;
    }
    close(self->fd);
    self->fd = nfd;
    log_info("outbox_compacted", "path=%s bytes_before=%llu bytes_after=%llu "
             "pending=%zu", self->path, (unsigned long long) self->file_bytes,
             (unsigned long long) bytes, self->count - self->head);
    self->file_bytes = bytes;
    self->live_bytes = live;
    self->compactions++;
    return 0;
}

int gw_outbox_maybe_compact(gw_outbox_t *self)
{
    if (self->file_bytes < S_COMPACT_MIN_BYTES
        || self->file_bytes < 4 * (self->live_bytes + 4096))
        return 0;
    return gw_outbox_compact(self) == 0 ? 1 : -1;
}

gw_outbox_stats_t gw_outbox_stats(const gw_outbox_t *self)
{
    gw_outbox_stats_t s = {
        .depth = self->count - self->head,
        .last_seq = self->last_seq,
        .acked_upto = self->acked_upto,
        .file_bytes = self->file_bytes,
        .torn_bytes = self->torn_bytes,
        .compactions = self->compactions,
    };
    return s;
}

const char *gw_outbox_path(const gw_outbox_t *self)
{
    return self->path;
}

const char *gw_outbox_incarnation(const gw_outbox_t *self)
{
    return self->incarnation;
}
