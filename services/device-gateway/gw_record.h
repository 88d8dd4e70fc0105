/*  gw_record: the record format of the device gateway's outbox journal.
 *
 *  A journal is a sequence of records (docs/protocol.md, "Outbox"):
 *    0  magic "EQOB"   4  kind   5  3 bytes 0   8  seq (u64 LE)
 *    16 length (u32 LE)   20 crc32 (u32 LE, IEEE as zlib) over bytes 4..19
 *    and the payload   24 payload (length bytes)
 *  Kinds: 'I' incarnation, 'E' entry, 'A' ack, 'W' watermark, 'S' last seq
 *  (gw_outbox.h says what each holds). Pure functions: no I/O, no state.
 */
#ifndef EQMS_GW_RECORD_H
#define EQMS_GW_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/envelope.h"

#define GW_RECORD_HEADER 24
/* Longest payload: an 'E' record (ids, serial, org path, an envelope). */
#define GW_RECORD_PAYLOAD_MAX (ENVELOPE_MAX_BYTES + 600)

/* One record read from a journal; payload points into the journal's bytes. */
typedef struct {
    char kind;
    int64_t seq;
    const uint8_t *payload;
    size_t payload_len;
    size_t len;                  /* header + payload */
} gw_record_t;

/* The device event an 'E' or 'W' payload names, and (E) where it goes. */
typedef struct {
    uint32_t boot, dseq;
    char serial[256];            /* "" for events from no device event */
    const char *path;            /* E: org path, not NUL-terminated; W: NULL */
    size_t path_len;
    const char *envelope;        /* E: the envelope JSON, not NUL-terminated */
    size_t envelope_len;
} gw_record_event_t;

/* Encodes one record into a malloc'd buffer (the caller frees it) with its
 * size in *len. NULL if memory ran out or the payload is too long. */
uint8_t *gw_record_encode(char kind, int64_t seq, const uint8_t *payload, size_t plen,
                          size_t *len);

/* The payload of an 'E' record (path and envelope given) or a 'W' record
 * (path NULL): malloc'd, size in *len. NULL if serial or path is longer than
 * 255 bytes or memory ran out. serial may be NULL ("" is written). */
uint8_t *gw_record_event_payload(uint32_t boot, uint32_t dseq, const char *serial,
                                 const char *path, const char *envelope,
                                 size_t envelope_len, size_t *len);

/* Reads the record that starts at buf (avail bytes to the end of the
 * journal). Returns true and fills *rec if it is whole and intact (magic,
 * zero bytes, length, crc); false with a reason ("short header", "bad
 * magic", "bad length", "short payload", "crc mismatch") otherwise. */
bool gw_record_read(const uint8_t *buf, size_t avail, gw_record_t *rec,
                    const char **why);

/* The offset (> from) of the next intact record in buf[0..size), or size if
 * there is none: where reading goes on after damage. */
size_t gw_record_resync(const uint8_t *buf, size_t size, size_t from);

/* Parses the payload of an 'E' (is_entry) or 'W' record. 0, or -1 if it is
 * malformed. */
int gw_record_event(const gw_record_t *rec, bool is_entry, gw_record_event_t *ev);

#endif
