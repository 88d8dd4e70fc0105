/*  qm_branches: the branches one queue-manager serves, each with its
 *  configuration, IANA zone, window devices and live model.
 *
 *  A branch's model is (re)built from PostgreSQL: its configuration
 *  (qm_store_config), the moving averages from before its latest day_start,
 *  then its events since that day_start replayed with qm_apply. Used by one
 *  thread (the server's).
 */
#ifndef EQMS_QM_BRANCHES_H
#define EQMS_QM_BRANCHES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/clock.h"
#include "qm_model.h"
#include "qm_store.h"

typedef struct qm_branches_t qm_branches_t;

/* A window's device, for showing the called ticket on it. */
typedef struct {
    int64_t window_id;
    char code[33];              /* window code: the device topic's last label */
    char serial[33];            /* "" = no device */
} qm_window_device_t;

typedef struct {
    qm_branch_ref_t ref;
    qm_config_t config;         /* owned (qm_store_config) */
    hours_t hours;              /* when tickets are issued (qm_store_hours), read with
                                   the configuration */
    qm_branch_t *model;         /* NULL while unavailable (database) */
    qm_hall_t *announcer;       /* what the hall says: the committed calls (the
                                 * server feeds it after each commit); made empty
                                 * with the model, so nothing is said twice */
    clock_zone_t *zone;
    qm_window_device_t *devices;
    size_t device_count;
    bool config_due;            /* a registry snapshot came: read the windows at
                                   the next tick (a burst is read once) */
} qm_slot_t;

/* Borrows `store`. Loads the list of branches under `prefixes` (an ltree[]
 * literal, "{}" = all) without building them. NULL on failure. */
qm_branches_t *qm_branches_new(qm_store_t *store, const char *prefixes);
void qm_branches_destroy(qm_branches_t **self_p);

size_t qm_branches_count(const qm_branches_t *self);
qm_slot_t *qm_branches_at(qm_branches_t *self, size_t i);
qm_slot_t *qm_branches_by_path(qm_branches_t *self, const char *path);
qm_slot_t *qm_branches_by_id(qm_branches_t *self, int64_t id);

/* (Re)builds the slot's model from the store; on failure the slot has no
 * model (requests get "unavailable"). 0 / -1 (logged). */
int qm_branches_rebuild(qm_branches_t *self, qm_slot_t *slot);

/* Reloads the windows' codes and devices of a slot. 0 / -1. */
int qm_branches_reload_devices(qm_branches_t *self, qm_slot_t *slot);

/* The branch-local date of `ms` as yyyymmdd. */
int qm_branches_day(const qm_slot_t *slot, int64_t ms);

/* The device of a window, or NULL. */
const qm_window_device_t *qm_branches_device(const qm_slot_t *slot, int64_t window_id);

#endif
