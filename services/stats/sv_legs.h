/*  sv_legs: a ticket's legs recomputed from its events, for eqms-stats
 *  verify.
 *
 *  This is a second, deliberately separate implementation of the
 *  definitions of docs/statistics.md ("Ticket legs", "Measures"): it takes
 *  all of one ticket's events at once, in their branch seq order, and
 *  walks them once, where the aggregator (st_leg, st_engine) moves legs
 *  event by event and adds differences to cells. The two agreeing is what
 *  verify checks. Pure: no I/O, no clock.
 */
#ifndef EQMS_SV_LEGS_H
#define EQMS_SV_LEGS_H

#include <stddef.h>
#include <stdint.h>

#define SV_LEGS_MAX 16      /* legs of one ticket kept (the aggregator allows fewer) */

typedef enum {
    SV_ORIGIN_ISSUED, SV_ORIGIN_WALK_IN, SV_ORIGIN_TRANSFER
} sv_origin_t;

typedef enum {
    SV_OPEN, SV_SERVED, SV_NO_SHOW, SV_ABANDONED, SV_TRANSFERRED
} sv_outcome_t;

/* One ticket event (ticket_event.kind as text). */
typedef struct {
    const char *kind;
    int64_t at_ms;
    int64_t service_id;
} sv_event_t;

typedef struct {
    sv_origin_t origin;
    int64_t start_ms;
    int64_t service_id;
    int64_t wait_ms;            /* -1: no wait (a walk-in, or never called) */
    int64_t serve_ms;           /* served legs: the sum of serving intervals */
    sv_outcome_t outcome;
    int64_t outcome_ms;
} sv_leg_t;

/* Walks the n events of one ticket (seq order) into legs[] (at most
 * SV_LEGS_MAX). Returns the number of legs, or -1 with a reason if the
 * events do not make legs (no issue or walk-in first, an event after the
 * outcome, too many legs): the aggregator lists such a ticket as unplaced. */
int sv_legs_walk(const sv_event_t *events, size_t n, sv_leg_t *legs, char reason[128]);

#endif
