/*  ri_inbox: rating-ingest's receive thread.
 *
 *  Reads gateway events from the bus and decodes them (ri_wire's one-pass
 *  decoder, or the strict envelope decode and ri_event_decode: the most
 *  expensive part of an event) in its own thread, into a bounded ring the
 *  bus loop takes them from in arrival order. When the ring is full the
 *  thread stops reading and the bus queues (back-pressure: ZeroMQ's
 *  high-water mark, then the forwarder drops and the gateways replay).
 */
#ifndef EQMS_RI_INBOX_H
#define EQMS_RI_INBOX_H

#include <stddef.h>

#include "eqms/bus.h"
#include "eqms/envelope.h"
#include "ri_validate.h"

typedef struct ri_inbox_t ri_inbox_t;

/* One received event. Gateway events are decoded in one pass (ri_wire)
 * when they can be, and then carry no data object: envelope.data is NULL
 * (ri_inbox_data gives it). Everything else, and whatever the fast path
 * declines, goes through envelope_decode and ri_event_decode. */
typedef struct {
    char topic[ENVELOPE_TOPIC_MAX + 1];
    envelope_t envelope;                 /* data owned by the inbox, or NULL */
    ri_event_t event;                    /* valid if decoded == 0 */
    int decoded;                         /* 0, or -1 with reason */
    char reason[ENVELOPE_REASON_SIZE];
    char *text;                          /* private: the envelope text for */
    size_t text_len;                     /* ri_inbox_data, owned by the inbox */
} ri_inbox_item_t;

/* Takes *sub_p (a subscribe-only bus, already subscribed; set to NULL, also
 * on failure) and starts the thread with a ring of `capacity` events.
 * NULL on failure. */
ri_inbox_t *ri_inbox_new(bus_t **sub_p, size_t capacity);

/* Stops the thread and frees what the ring holds. */
void ri_inbox_destroy(ri_inbox_t **self_p);

/* The oldest event not yet taken, waiting up to timeout_ms; NULL if none
 * came. The item stays valid until ri_inbox_release; take and release
 * one at a time, from one thread. */
ri_inbox_item_t *ri_inbox_take(ri_inbox_t *self, int timeout_ms);

/* The data object of a taken item's envelope, decoded from the received
 * text on first use if the fast path left it out. Owned by the item (valid
 * until ri_inbox_release); NULL if memory ran out. */
json_t *ri_inbox_data(ri_inbox_item_t *item);

/* A copy of a taken item that outlives ri_inbox_release (an event held
 * until its turn), with its own envelope text or data. NULL if memory ran
 * out. Free it with ri_inbox_item_free. */
ri_inbox_item_t *ri_inbox_item_copy(const ri_inbox_item_t *item);

/* Frees a copy made by ri_inbox_item_copy (NULL is accepted; a void
 * pointer, to serve as a destructor). */
void ri_inbox_item_free(void *copy);

/* Gives the taken item back; the receive thread frees its envelope data
 * when it reuses the slot. */
void ri_inbox_release(ri_inbox_t *self, ri_inbox_item_t *item);

#endif
