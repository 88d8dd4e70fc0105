/*  ri_journal: one gateway journal as rating-ingest follows it.
 *
 *  A gateway journal (envelope src, incarnation) numbers its events 1, 2, 3
 *  ... without gaps (docs/protocol.md, "Journal incarnation"), and
 *  rating-ingest decides them in that order, because what a teller did
 *  (login, logout) decides whom a later rating is bound to. An event that
 *  arrives after a gap (its predecessors were lost on the bus) is held until
 *  the replay fills the gap; when the oldest held event has waited hold_ms,
 *  it and what follows are decided without the missing ones (their turn
 *  came by time) and a missing event that comes later is decided when it
 *  comes ("late").
 *
 *  The journal also keeps the cursor: `upto`, the highest seq below which
 *  every seq is committed (acknowledged to the gateway), and `contig`, what
 *  the batches decided so far will make it. Seqs are tracked in a window of
 *  RI_JOURNAL_WINDOW above the cursor. Held events are the caller's (opaque
 *  pointers, freed with the function given to ri_journal_destroy). Pure
 *  bookkeeping: no clock (times are passed in), no I/O; used by one thread.
 */
#ifndef EQMS_RI_JOURNAL_H
#define EQMS_RI_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/envelope.h"
#include "eqms/id.h"

/* Seqs above the cursor tracked at once (2 KiB a journal). */
#define RI_JOURNAL_WINDOW 16384

typedef struct {
    int64_t seq;
    int64_t held_ms;        /* when it was held (the caller's clock) */
    void *event;            /* the caller's */
} ri_held_t;

typedef struct {
    char gateway[ENVELOPE_SRC_MAX + 1];
    char incarnation[ID_SIZE];
    char branch[ENVELOPE_TOPIC_MAX + 1];   /* of its latest event: acks go there */
    int64_t upto;                       /* committed cursor */
    int64_t pending_upto;               /* cursor the batch in flight gives */
    int64_t contig;                     /* highest seq with all above upto decided */
    int64_t next;                       /* the next seq in order to decide */
    int64_t max_seen;                   /* highest seq decided or held */
    int64_t gap_since;                  /* caller's ms a gap was first seen, 0 = none */
    int64_t gap_requested;              /* caller's ms of the last replay request */
    bool ack_due;
    ri_held_t *held;                    /* held events by seq, from held[first] */
    size_t first, count, cap;
    uint8_t decided[RI_JOURNAL_WINDOW / 8];   /* seqs > upto decided into a batch */
} ri_journal_t;

typedef enum {
    RI_JOURNAL_DUPLICATE,   /* at or below the cursor, decided or held already */
    RI_JOURNAL_NOW,         /* its turn: decide it (then ri_journal_decided) */
    RI_JOURNAL_LATE,        /* below `next`: missing when its successors were decided
                             * by time; decide it now */
    RI_JOURNAL_HOLD,        /* after a gap: hold it (ri_journal_hold) */
    RI_JOURNAL_BEYOND       /* too far above the cursor to track: drop it (the
                             * gateway sends it again) */
} ri_journal_verdict_t;

/* A journal with its cursor at `upto` (0 = nothing committed). NULL on
 * allocation failure. */
ri_journal_t *ri_journal_new(const char *gateway, const char *incarnation,
                             const char *branch, int64_t upto);

/* Frees the journal and, with free_event (may be NULL), its held events. */
void ri_journal_destroy(ri_journal_t **self_p, void (*free_event)(void *event));

/* What to do with an arriving `seq`. */
ri_journal_verdict_t ri_journal_arrival(const ri_journal_t *self, int64_t seq);

/* Holds `event` (the caller's until it is taken back) for `seq`, which
 * ri_journal_arrival said to hold. 0, or -1 on allocation failure. */
int ri_journal_hold(ri_journal_t *self, int64_t seq, void *event, int64_t now_ms);

/* The held event whose turn it is: the lowest held seq if it is `next`, or
 * if it has been held hold_ms or longer (then *timed_out is true and the
 * seqs between `next` and it are skipped when it is decided). NULL if none.
 * The event stays held until ri_journal_take. */
const ri_held_t *ri_journal_due(const ri_journal_t *self, int64_t now_ms, int64_t hold_ms,
                                bool *timed_out);

/* Takes the lowest held event back (the one ri_journal_due gave). */
void *ri_journal_take(ri_journal_t *self);

/* True if `seq` is held. */
bool ri_journal_holds(const ri_journal_t *self, int64_t seq);

/* Records that `seq` (above the cursor) went into a batch: `contig` and
 * `next` move on. */
void ri_journal_decided(ri_journal_t *self, int64_t seq);

/* The batch in flight will commit the cursor `contig`: pending_upto =
 * contig. Returns it. */
int64_t ri_journal_submit(ri_journal_t *self);

/* The batch in flight committed: upto = pending_upto. True if the cursor
 * moved. */
bool ri_journal_committed(ri_journal_t *self);

/* The first run of missing seqs below the highest one seen (neither decided
 * nor held): true with *from..*to, false if there is no gap. */
bool ri_journal_missing(const ri_journal_t *self, int64_t *from, int64_t *to);

#endif
