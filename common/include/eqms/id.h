/*  id: time-ordered unique ids (UUID version 7, RFC 9562).
 *
 *  48 bits of Unix ms, then a 12-bit counter that keeps ids from one process
 *  strictly increasing within a millisecond, then 62 random bits. Sorted as
 *  text or as PostgreSQL uuid they follow creation time, which keeps index
 *  inserts at the right-hand edge.
 */
#ifndef EQMS_ID_H
#define EQMS_ID_H

#include <stdbool.h>
#include <stdint.h>

/* 36 characters, 8-4-4-4-12 lowercase hex, plus NUL */
#define ID_SIZE 37

/* Writes a new id. Thread-safe. Returns 0, or -1 if no randomness was had. */
int id_new(char out[ID_SIZE]);

/* True for a UUID in lowercase 8-4-4-4-12 form (any version). */
bool id_valid(const char *text);

/* True for a version 7 id (version digit 7, variant 10xx) in lowercase
 * 8-4-4-4-12 form: what the protocol's envelope ids must be. */
bool id_v7(const char *text);

/* The ms timestamp of a version 7 id, or -1 if `text` is not one. */
int64_t id_time_ms(const char *text);

/* The nil UUID: "no id" where an id is required (e.g. the incarnation of a
 * gateway journal written before incarnations existed). */
#define ID_NIL "00000000-0000-0000-0000-000000000000"

/* True for a version 7 id (version digit 7, variant 10xx) in lowercase
 * form, or for ID_NIL. */
bool id_v7_or_nil(const char *text);

#endif
