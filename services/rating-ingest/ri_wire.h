/*  ri_wire: one-pass decoding of gateway envelopes, rating-ingest's fast path.
 *
 *  envelope_decode builds a jansson tree of the whole envelope and
 *  ri_event_decode then reads the event out of it: the most expensive part of
 *  receiving an event. ri_wire_decode reads the same text once, with yajl's
 *  event parser and no tree, straight into the envelope header and the
 *  ri_event_t. It is a fast path only: it accepts an envelope only when it is
 *  certain that the strict decoders would accept it and produce the same
 *  header and event, and declines everything else (malformed or merely
 *  unusual: escapes in strings, members the protocol does not list, numbers
 *  with exponents, types other than the device gateway's events such as
 *  ticket.finished). The caller then decodes the envelope with envelope_decode
 *  and ri_event_decode, which give the reason for any rejection.
 */
#ifndef EQMS_RI_WIRE_H
#define EQMS_RI_WIRE_H

#include <stddef.h>

#include "eqms/envelope.h"
#include "ri_validate.h"

/* Decodes `buf` (len bytes, not NUL-terminated) into `header` and `event`,
 * both the caller's. Returns 0 if the envelope is a device gateway event
 * (docs/protocol.md, "Device gateway messages") that envelope_decode and
 * ri_event_decode accept: *header is then what envelope_decode returns, with
 * data NULL, and *event what ri_event_decode writes. Returns -1 otherwise,
 * with both unspecified; nothing is logged (decline, not rejection). */
int ri_wire_decode(const void *buf, size_t len, envelope_t *header, ri_event_t *event);

#endif
