/*  wa_voicecache: the hall voice's audio kept in memory, by the text it
 *  says, least recently used first out, within a bound of bytes.
 *
 *  A hall says the same few sentences all day ("请A012号到3号窗口" twice,
 *  again on a recall, on every display of the hall): each is synthesised
 *  once and then served from here. An entry costs its audio (about 175 KB
 *  for a Chinese call at 22050 Hz, 16-bit mono, 4 s) plus its key; 16 MiB
 *  (EQMS_WEBAPI_VOICE_CACHE_MB) keeps about ninety calls. An entry
 *  larger than the whole bound is not kept. Lookups walk the entries
 *  (a few hundred at most for the sizes above).
 *
 *  Not thread-safe: its owner (wa_voice) calls it under its own lock.
 */
#ifndef EQMS_WA_VOICECACHE_H
#define EQMS_WA_VOICECACHE_H

#include <stddef.h>
#include <stdint.h>

typedef struct wa_voicecache_t wa_voicecache_t;

/* What the cache did so far. */
typedef struct {
    uint64_t hits;                /* wa_voicecache_get found it */
    uint64_t misses;              /* wa_voicecache_get did not */
    uint64_t evictions;           /* entries dropped to make room */
    size_t entries;
    size_t bytes;                 /* audio and keys kept now */
} wa_voicecache_stats_t;

/* An empty cache holding at most `max_bytes` (0: keeps nothing). NULL
 * when memory ran out. */
wa_voicecache_t *wa_voicecache_new(size_t max_bytes);

/* Frees everything. Accepts NULL; sets *self_p to NULL. */
void wa_voicecache_destroy(wa_voicecache_t **self_p);

/* A heap copy of the audio kept for `key` (the caller frees it; *len its
 * length), which becomes the most recently used; NULL when none is kept or
 * memory ran out. */
char *wa_voicecache_get(wa_voicecache_t *self, const char *key, size_t *len);

/* Keeps a copy of `len` bytes of `audio` for `key` (replacing what it had),
 * dropping the least recently used entries as long as the bound needs.
 * 0 kept; -1 not (larger than the bound, or memory ran out). */
int wa_voicecache_put(wa_voicecache_t *self, const char *key, const char *audio, size_t len);

void wa_voicecache_stats(const wa_voicecache_t *self, wa_voicecache_stats_t *stats);

#endif
