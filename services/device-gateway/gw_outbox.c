/*  gw_outbox: the device gateway's fsync'd journal of uncommitted events. */
#include "gw_outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "eqms/clock.h"
#include "eqms/envelope.h"
#include "eqms/grow.h"
#include "eqms/id.h"
#include "eqms/log.h"
#include "gw_record.h"

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

/* What s_apply makes of one intact record. */
typedef enum { S_APPLIED = 0, S_BAD = -1, S_NOMEM = -2 } s_applied_t;

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
    uint64_t file_bytes;        /* the journal's size as written */
    uint64_t synced_bytes;      /* prefix the last successful sync made durable */
    uint64_t live_bytes;        /* bytes the live entries take in the file */
    uint64_t torn_bytes;
    uint64_t compactions;
    uint64_t set_aside;
    uint64_t recoveries;
    bool failed;                /* restart from the journal (gw_outbox_recover) */
};

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

static int s_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* From here on nothing is added, synced or acknowledged until
 * gw_outbox_recover has reloaded the journal: what the process holds may
 * no longer be what the disk holds. */
static void s_fail(gw_outbox_t *self, const char *event, const char *what)
{
    if (!self->failed)
        log_error(event, "path=%s error=\"%s\" reason=\"%s: restarting from the journal\"",
                  self->path, strerror(errno), what);
    self->failed = true;
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

/* Forgets everything loaded (before loading the journal again). */
static void s_forget(gw_outbox_t *self)
{
    for (size_t i = self->head; i < self->count; i++)
        free(self->entries[i].text);
    self->head = self->count = 0;
    self->marks_count = 0;
    self->incarnation[0] = 0;
    self->last_seq = self->acked_upto = 0;
    self->file_bytes = self->synced_bytes = self->live_bytes = self->torn_bytes = 0;
}

/* --- writing -------------------------------------------------------------- */
static int s_append(gw_outbox_t *self, const uint8_t *rec, size_t len)
{
    if (s_write_all(self->fd, rec, len) < 0) {
        s_fail(self, "outbox_write_failed", "a record could not be appended");
        return -1;
    }
    self->file_bytes += len;
    return 0;
}

/* Writes a record to fd and adds its size to *bytes. 0 / -1. */
static int s_put(int fd, char kind, int64_t seq, const uint8_t *payload, size_t plen,
                 uint64_t *bytes, size_t *rec_len)
{
    size_t len;
    uint8_t *rec = gw_record_encode(kind, seq, payload, plen, &len);
    int rc = rec ? s_write_all(fd, rec, len) : -1;
    free(rec);
    if (rc == 0) {
        *bytes += len;
        if (rec_len)
            *rec_len = len;
    }
    return rc;
}

/* Writes the live state to fd: incarnation, last seq, ack, watermarks,
 * unacknowledged entries. *bytes and *live get the sizes. 0 / -1. */
static int s_write_live(gw_outbox_t *self, int fd, uint64_t *bytes, uint64_t *live)
{
    *bytes = *live = 0;
    if (s_put(fd, 'I', 0, (const uint8_t *) self->incarnation, ID_SIZE - 1, bytes, NULL) < 0
        || s_put(fd, 'S', self->last_seq, NULL, 0, bytes, NULL) < 0
        || (self->acked_upto > 0 && s_put(fd, 'A', self->acked_upto, NULL, 0, bytes, NULL) < 0))
        return -1;
    for (size_t i = 0; i < self->marks_count; i++) {
        const s_mark_t *m = &self->marks[i];
        size_t plen;
        uint8_t *p = gw_record_event_payload(m->boot, m->dseq, m->serial, NULL, NULL, 0, &plen);
        int rc = p ? s_put(fd, 'W', 0, p, plen, bytes, NULL) : -1;
        free(p);
        if (rc < 0)
            return -1;
    }
    for (size_t i = self->head; i < self->count; i++) {
        s_entry_t *e = &self->entries[i];
        /* the entry's own watermark is in the 'W' records already */
        size_t plen, len = 0;
        uint8_t *p = gw_record_event_payload(0, 0, NULL, e->pub.org_path, e->pub.envelope,
                                             e->pub.len, &plen);
        int rc = p ? s_put(fd, 'E', e->pub.seq, p, plen, bytes, &len) : -1;
        free(p);
        if (rc < 0)
            return -1;
        e->rec_len = len;
        *live += len;
    }
    return 0;
}

/* Replaces the journal with one holding only the live state: written to a
 * temporary file, fsync'd and renamed over it; the descriptor of the
 * temporary file becomes the journal's (no reopen, so no moment where
 * appends could still go to the replaced file). If `aside` is not NULL the
 * replaced journal is kept under that name (hard link). Returns 0; -1 with
 * the old journal in force if anything before the rename failed; -1 with
 * the outbox failed if the rename may not be durable. */
static int s_rewrite(gw_outbox_t *self, const char *aside)
{
    int fd = open(self->tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        log_error("outbox_rewrite_failed", "path=%s error=\"%s\"", self->tmp_path,
                  strerror(errno));
        return -1;
    }
    uint64_t bytes, live;
    if (s_write_live(self, fd, &bytes, &live) < 0 || fsync(fd) < 0) {
        log_error("outbox_rewrite_failed", "path=%s error=\"%s\"", self->tmp_path,
                  strerror(errno));
        goto err;
    }
    if (aside && link(self->path, aside) < 0) {
        log_error("outbox_set_aside_failed", "path=%s aside=%s error=\"%s\"", self->path,
                  aside, strerror(errno));
        goto err;
    }
    if (rename(self->tmp_path, self->path) < 0) {
        log_error("outbox_rewrite_failed", "path=%s error=\"%s\"", self->path,
                  strerror(errno));
        goto err;
    }
    if (self->fd >= 0)
        close(self->fd);
    self->fd = fd;
    self->file_bytes = self->synced_bytes = bytes;
    self->live_bytes = live;
    if (s_fsync_dir(self->dir) < 0) {
        s_fail(self, "outbox_dir_sync_failed", "the new journal's name may not be durable");
        return -1;
    }
    return 0;
err:
    close(fd);
    unlink(self->tmp_path);
    return -1;
}

/* --- load ----------------------------------------------------------------- */
static s_applied_t s_apply(gw_outbox_t *self, const gw_record_t *rec, size_t records)
{
    gw_record_event_t ev;
    switch (rec->kind) {
    case 'I':
        /* the incarnation opens the journal; anywhere else it is damage */
        if (records != 0 || rec->seq != 0 || rec->payload_len != ID_SIZE - 1)
            return S_BAD;
        memcpy(self->incarnation, rec->payload, ID_SIZE - 1);
        self->incarnation[ID_SIZE - 1] = 0;
        if (!id_v7_or_nil(self->incarnation)) {
            self->incarnation[0] = 0;
            return S_BAD;
        }
        return S_APPLIED;
    case 'A':
        if (rec->payload_len)
            return S_BAD;
        if (rec->seq > self->acked_upto)
            self->acked_upto = rec->seq;
        s_drop_upto(self, rec->seq);
        return S_APPLIED;
    case 'S':
        if (rec->payload_len)
            return S_BAD;
        if (rec->seq > self->last_seq)
            self->last_seq = rec->seq;
        return S_APPLIED;
    case 'W':
    case 'E':
        if (gw_record_event(rec, rec->kind == 'E', &ev) < 0)
            return S_BAD;
        if (s_mark_set(self, ev.serial, ev.boot, ev.dseq) < 0)
            return S_NOMEM;
        if (rec->kind == 'W')
            return S_APPLIED;
        if (rec->seq > self->last_seq)
            self->last_seq = rec->seq;
        if (rec->seq <= self->acked_upto)
            return S_APPLIED;
        return s_entry_push(self, rec->seq, ev.path, ev.path_len, ev.envelope,
                            ev.envelope_len, rec->len) < 0 ? S_NOMEM : S_APPLIED;
    default:
        return S_BAD;
    }
}

/* Gives the live entries a new incarnation, numbered from 1 in their order,
 * their envelope ids, times and data otherwise unchanged. 0 / -1. */
static int s_restamp(gw_outbox_t *self)
{
    char incarnation[ID_SIZE];
    if (id_new(incarnation) != 0)
        return -1;
    int64_t seq = 0;
    for (size_t i = self->head; i < self->count; i++) {
        s_entry_t *e = &self->entries[i];
        char reason[ENVELOPE_REASON_SIZE];
        envelope_t *env = envelope_decode(e->pub.envelope, e->pub.len, reason);
        size_t len = 0;
        char *text = NULL;
        if (env && json_object_set_new(env->data, "incarnation",
                                       json_string(incarnation)) == 0) {
            env->seq = ++seq;
            text = envelope_encode(env, &len);
        }
        envelope_destroy(&env);
        size_t pl = strlen(e->pub.org_path);
        char *both = text ? malloc(pl + 1 + len + 1) : NULL;
        if (!both) {
            log_error("outbox_restamp_failed", "seq=%lld reason=\"%s\"",
                      (long long) e->pub.seq, text ? "out of memory" : reason);
            free(text);
            return -1;
        }
        memcpy(both, e->pub.org_path, pl + 1);
        memcpy(both + pl + 1, text, len + 1);
        free(text);
        free(e->text);
        e->text = both;
        e->pub.seq = seq;
        e->pub.org_path = both;
        e->pub.envelope = both + pl + 1;
        e->pub.len = len;
    }
    memcpy(self->incarnation, incarnation, ID_SIZE);
    self->last_seq = seq;
    self->acked_upto = 0;
    return 0;
}

/* Damage in the middle: what is readable is kept, under a new incarnation
 * (a seq in the damaged bytes may be lost, and a seq is never reused within
 * an incarnation), and the damaged journal is set aside. 0 / -1. */
static int s_set_aside(gw_outbox_t *self, size_t first_damage, size_t damaged_bytes,
                       const char *why)
{
    char old[ID_SIZE], aside[PATH_MAX];
    snprintf(old, sizeof old, "%s", self->incarnation[0] ? self->incarnation : "unreadable");
    int64_t now = clock_now_ms();
    for (int n = 0;; n++) {
        snprintf(aside, sizeof aside, n ? "%s.damaged-%lld.%d" : "%s.damaged-%lld",
                 self->path, (long long) now, n);
        if (access(aside, F_OK) != 0)
            break;
    }
    if (s_restamp(self) < 0 || s_rewrite(self, aside) < 0)
        return -1;
    self->set_aside++;
    log_error("outbox_set_aside", "path=%s aside=%s offset=%zu damaged_bytes=%zu "
              "reason=\"%s in the middle of the journal; every readable record after it "
              "kept\" old_incarnation=%s incarnation=%s pending=%zu", self->path, aside,
              first_damage, damaged_bytes, why, old, self->incarnation,
              self->count - self->head);
    return 0;
}

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
    uint8_t *rec = gw_record_encode('I', 0, (const uint8_t *) self->incarnation,
                                    ID_SIZE - 1, &len);
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

/* Reads the journal open on self->fd into memory. A torn tail (nothing
 * intact after it) is cut; damage with intact records after it sets the
 * journal aside (s_set_aside). Out of memory fails the load and leaves the
 * file as it was. Ends with a sync, so that what was read (perhaps from
 * pages a crash left unwritten) is durable before anything relies on it.
 * 0 / -1 (logged). */
static int s_load(gw_outbox_t *self)
{
    struct stat st;
    if (fstat(self->fd, &st) < 0)
        return -1;
    size_t size = (size_t) st.st_size;
    const uint8_t *buf = NULL;
    if (size) {
        void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, self->fd, 0);
        if (map == MAP_FAILED) {
            log_error("outbox_load_failed", "path=%s error=\"%s\"", self->path,
                      strerror(errno));
            return -1;
        }
        buf = map;
    }
    size_t off = 0, end = 0, records = 0, damaged = 0, first_damage = 0;
    const char *why = NULL, *damage_why = NULL;
    int rc = 0;
    while (off < size) {
        gw_record_t rec;
        if (gw_record_read(buf + off, size - off, &rec, &why)) {
            s_applied_t a = s_apply(self, &rec, records);
            if (a == S_NOMEM) {
                log_error("outbox_load_failed", "path=%s offset=%zu reason=\"out of memory\"",
                          self->path, off);
                rc = -1;
                goto done;
            }
            if (a == S_BAD) {          /* intact but meaningless: damage */
                if (!damaged++)
                    first_damage = off, damage_why = "a record that makes no sense";
            } else {
                records++;
            }
            off += rec.len;
            end = off;
            continue;
        }
        size_t next = gw_record_resync(buf, size, off);
        if (next == size)
            break;                     /* nothing intact after it: a torn tail */
        if (!damaged++)
            first_damage = off, damage_why = why;
        damaged += next - off - 1;
        off = next;
    }
    if (damaged) {
        if (s_set_aside(self, first_damage, damaged, damage_why) < 0) {
            rc = -1;
            goto done;
        }
    } else if (end < size) {
        self->torn_bytes = size - end;
        log_warn("outbox_torn_tail", "path=%s offset=%zu dropped_bytes=%zu reason=\"%s\"",
                 self->path, end, size - end, why);
        if (ftruncate(self->fd, (off_t) end) < 0) {
            log_error("outbox_truncate_failed", "path=%s error=\"%s\"", self->path,
                      strerror(errno));
            rc = -1;
            goto done;
        }
        self->file_bytes = end;
    } else {
        self->file_bytes = size;
    }
    if (!damaged && records > 0 && !self->incarnation[0]) {
        /* written before incarnations existed: its numbering goes on */
        snprintf(self->incarnation, sizeof self->incarnation, "%s", ID_NIL);
        log_info("outbox_old_format", "path=%s incarnation=%s reason=\"no incarnation "
                 "record\"", self->path, self->incarnation);
    }
done:
    if (buf)
        munmap((void *) buf, size);
    if (rc < 0)
        return -1;
    if (!self->incarnation[0] && s_begin_incarnation(self) < 0)
        return -1;
    if (fdatasync(self->fd) < 0) {
        log_error("outbox_sync_failed", "path=%s error=\"%s\"", self->path, strerror(errno));
        return -1;
    }
    self->synced_bytes = self->file_bytes;
    log_info("outbox_loaded", "path=%s records=%zu pending=%zu last_seq=%lld "
             "acked_upto=%lld incarnation=%s", self->path, records,
             self->count - self->head, (long long) self->last_seq,
             (long long) self->acked_upto, self->incarnation);
    return 0;
}

/* Opens the journal (creating it if needed) and loads it. 0 / -1. */
static int s_open(gw_outbox_t *self, bool drop_unsynced)
{
    self->fd = open(self->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (self->fd < 0) {
        log_error("outbox_open_failed", "path=%s error=\"%s\"", self->path, strerror(errno));
        return -1;
    }
    if (drop_unsynced) {
        /* bytes no successful sync covered may be lost on the disk: the
         * devices were never acknowledged for them and send them again */
        struct stat st;
        if (fstat(self->fd, &st) < 0)
            return -1;
        if ((uint64_t) st.st_size > self->synced_bytes) {
            log_warn("outbox_unsynced_dropped", "path=%s offset=%llu dropped_bytes=%llu",
                     self->path, (unsigned long long) self->synced_bytes,
                     (unsigned long long) ((uint64_t) st.st_size - self->synced_bytes));
            if (ftruncate(self->fd, (off_t) self->synced_bytes) < 0) {
                log_error("outbox_truncate_failed", "path=%s error=\"%s\"", self->path,
                          strerror(errno));
                return -1;
            }
        }
    }
    uint64_t keep = self->synced_bytes;
    s_forget(self);
    if (s_load(self) < 0) {
        self->synced_bytes = keep;
        log_error("outbox_load_failed", "path=%s", self->path);
        return -1;
    }
    return 0;
}

gw_outbox_t *gw_outbox_new(const char *dir, const char *src)
{
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
    if (s_open(self, false) < 0)
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

bool gw_outbox_failed(const gw_outbox_t *self)
{
    return self->failed;
}

int gw_outbox_recover(gw_outbox_t *self)
{
    if (!self->failed)
        return 0;
    if (self->fd >= 0)
        close(self->fd);
    self->fd = -1;
    if (s_open(self, true) < 0)
        return -1;
    self->failed = false;
    self->recoveries++;
    log_warn("outbox_recovered", "path=%s pending=%zu last_seq=%lld incarnation=%s",
             self->path, self->count - self->head, (long long) self->last_seq,
             self->incarnation);
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
    if (self->failed)
        goto done;
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
    payload = gw_record_event_payload(boot, dseq, serial, org_path, text, len, &plen);
    if (!payload)
        goto done;
    rec = gw_record_encode('E', env->seq, payload, plen, &rlen);
    if (!rec || s_append(self, rec, rlen) < 0)
        goto done;
    self->last_seq = env->seq;
    if ((serial && s_mark_set(self, serial, boot, dseq) < 0)
        || s_entry_push(self, env->seq, org_path, strlen(org_path), text, len, rlen) < 0) {
        /* in the file but not in memory: the journal is the truth */
        errno = ENOMEM;
        s_fail(self, "outbox_add_failed", "out of memory after the append");
        goto done;
    }
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
    if (self->failed)
        return -1;
    if (fdatasync(self->fd) < 0) {
        /* the kernel may have dropped the pages it could not write and a
         * later sync would succeed without them (fsyncgate): never trust
         * what this one covered */
        s_fail(self, "outbox_sync_failed", "fdatasync failed");
        return -1;
    }
    self->synced_bytes = self->file_bytes;
    return 0;
}

bool gw_outbox_seen(const gw_outbox_t *self, const char *serial, uint32_t boot,
                    uint32_t dseq)
{
    const s_mark_t *m = s_mark_find(self, serial);
    return m && m->boot == boot && dseq <= m->dseq;
}

bool gw_outbox_last(const gw_outbox_t *self, const char *serial, uint32_t boot,
                    uint32_t *dseq)
{
    const s_mark_t *m = s_mark_find(self, serial);
    if (!m || m->boot != boot)
        return false;
    *dseq = m->dseq;
    return true;
}

int gw_outbox_ack(gw_outbox_t *self, int64_t upto)
{
    if (self->failed)
        return -1;
    if (upto > self->last_seq) {
        log_warn("outbox_ack_ignored", "upto=%lld last_seq=%lld reason=\"beyond "
                 "the last seq used\"", (long long) upto, (long long) self->last_seq);
        return -1;
    }
    if (upto <= self->acked_upto)
        return 0;
    size_t rlen;
    uint8_t *rec = gw_record_encode('A', upto, NULL, 0, &rlen);
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
    if (self->failed)
        return -1;
    uint64_t before = self->file_bytes;
    if (s_rewrite(self, NULL) < 0)
        return -1;
    self->compactions++;
    log_info("outbox_compacted", "path=%s bytes_before=%llu bytes_after=%llu pending=%zu",
             self->path, (unsigned long long) before, (unsigned long long) self->file_bytes,
             self->count - self->head);
    return 0;
}

int gw_outbox_maybe_compact(gw_outbox_t *self)
{
    if (self->failed || self->file_bytes < S_COMPACT_MIN_BYTES
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
        .set_aside = self->set_aside,
        .recoveries = self->recoveries,
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
