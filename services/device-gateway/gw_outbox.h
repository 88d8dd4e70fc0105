/*  gw_outbox: the device gateway's on-disk journal of events not yet committed.
 *
 *  Every event the gateway stores is appended here as the exact envelope it
 *  publishes (so a replay keeps the envelope id and the gateway seq), and the
 *  device is acknowledged only after gw_outbox_sync. Entries leave when
 *  rating-ingest acknowledges them ("ack.ingest", docs/protocol.md).
 *
 *  File <dir>/outbox.journal, append-only, a sequence of records
 *  (gw_record.h has the layout) of these kinds:
 *  'I' (first record of every journal) seq 0, payload = the incarnation id as
 *      36 characters. An empty journal gets a new one (a UUIDv7) before any
 *      entry; a journal without one (older format) has ID_NIL.
 *  'E' seq = gateway seq; payload = boot u32, device seq u32, serial length
 *      u8, serial, org-path length u8, org path, envelope JSON.
 *  'A' seq = every entry with seq <= it is acknowledged; no payload.
 *  'W' (written by compaction) payload = boot, device seq, serial as in 'E':
 *      the device's newest stored event, for deduplication.
 *  'S' (written by compaction) seq = the last gateway seq used.
 *
 *  Loading: a record that is short, has a bad magic, length or crc with
 *  nothing intact after it is the torn tail of a write cut by a crash: the
 *  file is cut there (logged outbox_torn_tail); its event was never
 *  acknowledged to the device, which sends it again. Damage with intact
 *  records after it (a bad sector, bit rot) loses nothing readable: the
 *  journal is set aside as outbox.journal.damaged-<ms> (logged
 *  outbox_set_aside with the reason) and replaced by one holding every
 *  readable live entry under a new incarnation, numbered from 1 with the
 *  envelope ids unchanged (a seq in the damaged bytes may be lost, and a seq
 *  is never reused within an incarnation). Running out of memory fails the
 *  load and leaves the file as it is. A load ends with fdatasync, so what
 *  was read is durable before a device is acknowledged for it.
 *
 *  Failures: a failed write, fdatasync or directory sync puts the outbox in
 *  the failed state (gw_outbox_failed): nothing is added, synced or
 *  acknowledged until gw_outbox_recover restarts from the journal, as
 *  PostgreSQL does after a failed fsync: the bytes no successful sync
 *  covered are cut (the kernel may have dropped them while a later sync
 *  would report success) and the journal is loaded again. Compaction writes
 *  the live state to a temporary file, fsyncs it and renames it over the
 *  journal, keeping the temporary file's descriptor (no reopen).
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
    uint64_t set_aside;          /* damaged journals set aside */
    uint64_t recoveries;         /* restarts from the journal after a failure */
} gw_outbox_stats_t;

/* Opens (creating if needed) the journal in `dir` and loads it; `src` is the
 * gateway's producer id written into new envelopes. Returns NULL (logged) if
 * the directory or file cannot be used, memory runs out, or a damaged
 * journal cannot be set aside. */
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

/* Makes every add so far durable (fdatasync). 0, or -1 (logged) with the
 * outbox failed: what the failed sync covered must never be acknowledged. */
int gw_outbox_sync(gw_outbox_t *self);

/* True after a failure, until gw_outbox_recover succeeds: adds, syncs, acks
 * and compactions fail meanwhile. */
bool gw_outbox_failed(const gw_outbox_t *self);

/* Restarts from the journal: cuts what no successful sync covered, loads
 * the file again (entries, watermarks and indexes change: entries borrowed
 * before are gone) and syncs it. 0 (also when not failed), or -1 (logged)
 * still failed: call it again later. */
int gw_outbox_recover(gw_outbox_t *self);

/* True if the device event (serial, boot, dseq) is already stored: its seq
 * is at or below the newest stored event of that serial and boot. */
bool gw_outbox_seen(const gw_outbox_t *self, const char *serial, uint32_t boot,
                    uint32_t dseq);

/* The newest stored device seq of (serial, boot) in *dseq; false if no
 * event of that power-up is stored. */
bool gw_outbox_last(const gw_outbox_t *self, const char *serial, uint32_t boot,
                    uint32_t *dseq);

/* Acknowledges every entry with seq <= upto. Returns how many left the
 * outbox (0 for a stale or repeated ack), -1 if upto is beyond the last seq
 * used (ignored, logged) or the record could not be written. */
int gw_outbox_ack(gw_outbox_t *self, int64_t upto);

/* Entry number i (0 = oldest) of the unacknowledged ones, or NULL. */
const gw_outbox_entry_t *gw_outbox_entry(const gw_outbox_t *self, size_t i);

/* Records that entry i was published now (monotonic clock). */
void gw_outbox_mark_published(gw_outbox_t *self, size_t i);

/* Rewrites the journal with only the live state (atomic rename). 0, or -1
 * (logged): the old journal stays in force, unless the rename was done and
 * could not be made durable (then the outbox is failed). */
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
