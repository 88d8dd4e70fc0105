/*  gw_outbox: the device gateway's on-disk journal of events not yet committed.
 *
 *  Every event the gateway stores is appended here as the exact envelope it
 *  publishes (so a replay keeps the envelope id and the gateway seq), and the
 *  device is acknowledged only after gw_outbox_sync. Entries leave when
 *  rating-ingest acknowledges them ("ack.ingest", docs/protocol.md).
 *
 *  File <dir>/outbox.journal, append-only, a sequence of records:
 *    0  magic "EQOB"   4  kind ('I' incarnation, 'E' entry, 'A' ack,
 *                              'W' watermark, 'S' seq)
 *    5  3 bytes 0      8  seq (u64 LE)   16 length (u32 LE)
 *    20 crc32 (u32 LE) over bytes 4..19 and the payload   24 payload
 *  'I' (first record of every journal) seq 0, payload = the incarnation id as
 *      36 characters. An empty journal gets a new one (a UUIDv7) before any
 *      entry; a journal without one (older format) has ID_NIL.
 *  'E' seq = gateway seq; payload = boot u32, device seq u32, serial length
 *      u8, serial, org-path length u8, org path, envelope JSON.
 *  'A' seq = every entry with seq <= it is acknowledged; no payload.
 *  'W' (written by compaction) payload = boot, device seq, serial as in 'E':
 *      the device's newest stored event, for deduplication.
 *  'S' (written by compaction) seq = the last gateway seq used.
 *  A record that is short, has a bad magic, kind, length or crc ends the
 *  journal: it is the torn tail of a write cut by a crash; the file is
 *  truncated there (logged). Its event was never acknowledged to the device,
 *  which sends it again. Compaction rewrites the live state into a temporary
 *  file, fsyncs it and renames it over the journal.
 *
 *  Not thread-safe: one owner thread.
 */
#ifndef EQMS_GW_OUTBOX_H
#define EQMS_GW_OUTBOX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/devproto.h"

typedef struct gw_outbox_t gw_outbox_t;

/* One unacknowledged entry, borrowed from the outbox: valid until the next
 * call that changes it (add, ack, compact). */
typedef struct {
    int64_t seq;                 /* gateway seq, the envelope's seq */
    const char *org_path;        /* topic = envelope type "." org_path */
    const char *envelope;        /* the encoded envelope, NUL-terminated */
    size_t len;
    int64_t published_ms;        /* monotonic ms of the last publish, 0 = never */
} gw_outbox_entry_t;

typedef struct {
    size_t depth;                /* unacknowledged entries */
    int64_t last_seq;            /* last gateway seq used (0 = none) */
    int64_t acked_upto;          /* highest acknowledged seq */
    uint64_t file_bytes;         /* journal size */
    uint64_t torn_bytes;         /* bytes dropped as a torn tail at open */
    uint64_t compactions;
} gw_outbox_stats_t;

/* Opens (creating if needed) the journal in `dir` and loads it; `src` is the
 * gateway's producer id written into new envelopes. Returns NULL (logged) if
 * the directory or file cannot be used. */
gw_outbox_t *gw_outbox_new(const char *dir, const char *src);
void gw_outbox_destroy(gw_outbox_t **self_p);

/* Builds a new envelope of `type` with the next gateway seq and appends it
 * (not yet fsync'd). Takes *data_p (set to NULL, also on failure) and adds
 * the member "incarnation" to it. `serial`
 * may be NULL for events that come from no device event; otherwise the
 * (serial, boot, dseq) watermark is advanced. Returns the entry (borrowed),
 * or NULL if the envelope is malformed or the write failed (logged). */
const gw_outbox_entry_t *gw_outbox_add(gw_outbox_t *self, const char *type,
                                       const char *org_path, json_t **data_p,
                                       const char *serial, uint32_t boot,
                                       uint32_t dseq);

/* Makes every add so far durable (fdatasync). 0 / -1 (logged). */
int gw_outbox_sync(gw_outbox_t *self);

/* True if the device event (serial, boot, dseq) is already stored: its seq
 * is at or below the newest stored event of that serial and boot. */
bool gw_outbox_seen(const gw_outbox_t *self, const char *serial, uint32_t boot,
                    uint32_t dseq);

/* Acknowledges every entry with seq <= upto. Returns how many left the
 * outbox (0 for a stale or repeated ack), -1 if upto is beyond the last seq
 * used (ignored, logged) or the record could not be written. */
int gw_outbox_ack(gw_outbox_t *self, int64_t upto);

/* Entry number i (0 = oldest) of the unacknowledged ones, or NULL. */
const gw_outbox_entry_t *gw_outbox_entry(const gw_outbox_t *self, size_t i);

/* Records that entry i was published now (monotonic clock). */
void gw_outbox_mark_published(gw_outbox_t *self, size_t i);

/* Rewrites the journal with only the live state (atomic rename). 0 / -1. */
int gw_outbox_compact(gw_outbox_t *self);

/* Compacts when the journal is over 1 MiB and mostly acknowledged records.
 * Returns 1 if it compacted, 0 if not needed, -1 on failure. */
int gw_outbox_maybe_compact(gw_outbox_t *self);

gw_outbox_stats_t gw_outbox_stats(const gw_outbox_t *self);

/* The journal's path (for tests and logs). */
const char *gw_outbox_path(const gw_outbox_t *self);

/* The journal's incarnation (docs/protocol.md, "Journal incarnation"): a
 * UUIDv7 made when the journal was created, or ID_NIL for a journal written
 * before incarnations existed. Borrowed, valid as long as the outbox. */
const char *gw_outbox_incarnation(const gw_outbox_t *self);

#endif
