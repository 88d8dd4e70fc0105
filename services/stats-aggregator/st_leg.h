/*  st_leg: a ticket's stay in one service queue, and what it contributes.
 *
 *  docs/statistics.md, "Ticket legs": a leg starts with issued, walk_in or a
 *  transfer and ends with one outcome (served, no-show, abandoned,
 *  transferred). st_leg_apply moves a leg through the ticket events of its
 *  ticket, in the branch's seq order; st_leg_contribution tells what the leg
 *  contributes to the cells of its start (dimensions all, service, class,
 *  hour of day) in its present state. The aggregator adds the difference
 *  between a leg's contribution after and before each event, so a recall
 *  moves the wait it already counted instead of counting it twice.
 *  Pure: no I/O, no clock.
 */
#ifndef EQMS_ST_LEG_H
#define EQMS_ST_LEG_H

#include <stdbool.h>
#include <stdint.h>

#include "eqms/id.h"
#include "st_measures.h"

typedef enum { ST_CLASS_ORDINARY = 0, ST_CLASS_VIP, ST_CLASS_GREEN, ST_CLASSES } st_class_t;
typedef enum { ST_ORIGIN_ISSUED = 0, ST_ORIGIN_WALK_IN, ST_ORIGIN_TRANSFER } st_origin_t;
typedef enum {
    ST_OUTCOME_OPEN = 0,
    ST_OUTCOME_SERVED,
    ST_OUTCOME_NO_SHOW,
    ST_OUTCOME_ABANDONED,
    ST_OUTCOME_TRANSFERRED
} st_outcome_t;

/* The ticket event kinds that change legs (ticket_event.kind). */
typedef enum {
    ST_EV_OTHER = 0,            /* window and day events: no leg changes */
    ST_EV_ISSUED,
    ST_EV_WALK_IN,
    ST_EV_CALLED,
    ST_EV_RECALLED,
    ST_EV_STARTED,
    ST_EV_FINISHED,
    ST_EV_NO_SHOW,
    ST_EV_TRANSFERRED,
    ST_EV_PARKED,
    ST_EV_RETURNED,
    ST_EV_ABANDONED
} st_event_kind_t;

/* One ticket event as the aggregator reads it from ticket_event. */
typedef struct {
    int64_t branch_id;
    int64_t seq;
    st_event_kind_t kind;
    int64_t at_ms;
    char ticket_id[ID_SIZE];     /* "" for window and day events */
    int64_t service_id;          /* the ticket's (the new one after a transfer) */
    st_class_t klass;
    int64_t window_id;
    int64_t staff_id;
} st_event_t;

typedef struct {
    char ticket_id[ID_SIZE];
    int leg;                     /* 0 for the first leg, +1 per transfer */
    int64_t branch_id;
    int64_t service_id;
    st_class_t klass;
    st_origin_t origin;
    int64_t start_ms;            /* when the leg started */
    int32_t target_s;            /* service-level target (queue.target_wait_s) */
    bool called;                 /* called before the first start ... */
    int64_t call_ms;             /* ... last at this time */
    int64_t window_id;           /* window of that call (or the walk-in's) */
    int64_t staff_id;            /* teller of that call */
    bool started;                /* a service start was seen */
    bool serving;                /* a serving interval is open ... */
    int64_t serving_since;       /* ... since then */
    int64_t serve_ms;            /* closed serving intervals */
    st_outcome_t outcome;
    int64_t outcome_ms;
} st_leg_t;

/* Parses ticket_event.kind ("issued", "called", ...); ST_EV_OTHER for kinds
 * that do not change legs, -1 for a kind it does not know. */
int st_event_kind_parse(const char *text, st_event_kind_t *kind);
/* "ordinary", "vip", "green" -> 0 / -1. */
int st_class_parse(const char *text, st_class_t *klass);

/* Starts a leg from an issued or walk_in event (target_s: the service's
 * queue target). Returns 0, or -1 if `ev` does not start a leg. */
int st_leg_start(st_leg_t *leg, const st_event_t *ev, int32_t target_s);

/* Applies event `ev` of the leg's ticket to an open leg. A transfer ends the
 * leg and fills *next with the new leg (target_s its target) and sets
 * *has_next. Returns 0, or -1 with a reason for an event that cannot apply
 * (a closed leg, a kind out of place); the leg is then unchanged. */
int st_leg_apply(st_leg_t *leg, const st_event_t *ev, int32_t next_target_s,
                 st_leg_t *next, bool *has_next, char reason[128]);

/* What the leg contributes, in its present state, to the cells of its start
 * (zeroed first). */
void st_leg_contribution(const st_leg_t *leg, st_measures_t *m);

/* The leg's wait in ms, or -1 if it has none (never called, or a walk-in). */
int64_t st_leg_wait_ms(const st_leg_t *leg);

/* The leg's service time in ms once it is served, -1 before (or if it ends
 * otherwise). */
int64_t st_leg_service_ms(const st_leg_t *leg);

#endif
