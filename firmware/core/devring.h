/*  devring: the rating device's ring of stored events awaiting acknowledgement.
 *
 *  Fixed capacity (DEVCORE_RING_CAPACITY), no heap. Events get consecutive
 *  sequence numbers from 1 per power-up, so only the oldest's is kept; all
 *  sequence comparisons are wrap-safe. The policy on what may fill the last
 *  slots is the caller's (devcore); this module only stores.
 */
#ifndef EQMS_DEVRING_H
#define EQMS_DEVRING_H

#include <stdint.h>

#include "devcore_config.h"
#include "eqms/devproto.h"

#if DEVCORE_RING_CAPACITY < 8 || DEVCORE_RING_CAPACITY > 4096
#error "DEVCORE_RING_CAPACITY must be 8..4096"
#endif

/* One stored event, without the per-boot fields (boot, seq). */
typedef struct {
    uint32_t uptime_ms;
    uint8_t type;                   /* a stored devproto_event_t */
    union {
        devproto_staff_t staff;     /* STAFF_LOGIN, STAFF_LOGOUT */
        devproto_ticket_t ticket;   /* CALL/RECALL/PAUSE_REQUEST, SERVICE_START/END */
        devproto_rating_t rating;   /* RATING, NOT_RATED */
    } u;
} devring_entry_t;

typedef struct {
    devring_entry_t entries[DEVCORE_RING_CAPACITY];
    uint16_t head;                  /* index of the oldest */
    uint16_t count;
    uint32_t first_seq;             /* seq of the oldest, or of the next if empty */
} devring_t;

/* Empties the ring; the first event pushed gets seq 1. */
void devring_init(devring_t *self);

/* Appends a copy of `entry`. Returns its seq (>= 1), or 0 if the ring is full. */
uint32_t devring_push(devring_t *self, const devring_entry_t *entry);

/* The stored event with `seq`, or NULL if it is not (or no longer) stored.
 * The pointer is valid until the next push or ack. */
const devring_entry_t *devring_get(const devring_t *self, uint32_t seq);

/* Removes every event with seq <= upto. An `upto` beyond the newest event
 * (acknowledging events never made) is refused: returns -1, removes nothing.
 * Otherwise returns how many were removed (0 for an old ack). */
int devring_ack(devring_t *self, uint32_t upto);

/* Events stored. */
uint16_t devring_used(const devring_t *self);

/* Seq of the oldest stored event (of the next one if empty). */
uint32_t devring_first_seq(const devring_t *self);

/* Seq the next pushed event will get. */
uint32_t devring_next_seq(const devring_t *self);

#endif
