/*  qm_branches: the branches of one queue-manager (qm_branches.h). */
#include "qm_branches.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/grow.h"
#include "eqms/log.h"
#include "eqms/text.h"

struct qm_branches_t {
    qm_store_t *store;          /* borrowed */
    qm_slot_t *slots;
    size_t count, cap;
    zhash_t *by_path;           /* path -> slot (in slots) */
    zhash_t *by_id;             /* decimal id -> slot */
};

static void s_add(void *ctx, const qm_branch_ref_t *ref)
{
    qm_branches_t *self = ctx;
    qm_slot_t *slots = grow_room(self->slots, self->count, &self->cap, sizeof *slots, 16);
    if (!slots)
        return;
    self->slots = slots;
    qm_slot_t *slot = &self->slots[self->count];
    memset(slot, 0, sizeof *slot);
    slot->ref = *ref;
    slot->zone = clock_zone_new(ref->time_zone);
    if (!slot->zone) {
        log_error("branch_zone_invalid", "branch=%s zone=%s", ref->path, ref->time_zone);
        return;
    }
    self->count++;
}

qm_branches_t *qm_branches_new(qm_store_t *store, const char *prefixes)
{
    qm_branches_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->store = store;
    self->by_path = zhash_new();
    self->by_id = zhash_new();
    if (!self->by_path || !self->by_id
        || qm_store_branches(store, prefixes, s_add, self) != 0)
        goto err;
    /* slots no longer move: index them */
    for (size_t i = 0; i < self->count; i++) {
        char id[24];
        snprintf(id, sizeof id, "%" PRId64, self->slots[i].ref.id);
        if (zhash_insert(self->by_path, self->slots[i].ref.path, &self->slots[i]) != 0
            || zhash_insert(self->by_id, id, &self->slots[i]) != 0)
            goto err;
    }
    return self;
err:
    qm_branches_destroy(&self);
    return NULL;
}

static void s_clear(qm_slot_t *slot)
{
    qm_branch_destroy(&slot->model);
    qm_hall_destroy(&slot->announcer);
    qm_store_config_free(&slot->config);
    free(slot->devices);
    slot->devices = NULL;
    slot->device_count = 0;
}

void qm_branches_destroy(qm_branches_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    qm_branches_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        s_clear(&self->slots[i]);
        clock_zone_destroy(&self->slots[i].zone);
    }
    free(self->slots);
    zhash_destroy(&self->by_path);
    zhash_destroy(&self->by_id);
    free(self);
    *self_p = NULL;
}

size_t qm_branches_count(const qm_branches_t *self)
{
    return self->count;
}

qm_slot_t *qm_branches_at(qm_branches_t *self, size_t i)
{
    return i < self->count ? &self->slots[i] : NULL;
}

qm_slot_t *qm_branches_by_path(qm_branches_t *self, const char *path)
{
    return zhash_lookup(self->by_path, path);
}

qm_slot_t *qm_branches_by_id(qm_branches_t *self, int64_t id)
{
    char key[24];
    snprintf(key, sizeof key, "%" PRId64, id);
    return zhash_lookup(self->by_id, key);
}

int qm_branches_day(const qm_slot_t *slot, int64_t ms)
{
    clock_date_t d;
    if (clock_local_date(slot->zone, ms, &d) != 0)
        return 0;
    return d.year * 10000 + d.month * 100 + d.day;
}

const qm_window_device_t *qm_branches_device(const qm_slot_t *slot, int64_t window_id)
{
    for (size_t i = 0; i < slot->device_count; i++)
        if (slot->devices[i].window_id == window_id)
            return &slot->devices[i];
    return NULL;
}

static void s_device(void *ctx, int64_t window_id, const char *code, const char *serial)
{
    qm_slot_t *slot = ctx;
    qm_window_device_t *devices = realloc(slot->devices,
                                          (slot->device_count + 1) * sizeof *devices);
    if (!devices)
        return;
    slot->devices = devices;
    qm_window_device_t *d = &devices[slot->device_count++];
    d->window_id = window_id;
    text_copy(d->code, sizeof d->code, code);
    text_copy(d->serial, sizeof d->serial, serial ? serial : "");
}

int qm_branches_reload_devices(qm_branches_t *self, qm_slot_t *slot)
{
    free(slot->devices);
    slot->devices = NULL;
    slot->device_count = 0;
    return qm_store_window_devices(self->store, slot->ref.id, s_device, slot);
}

/* Replay state: the slot and the store, the model made at the first event. */
typedef struct {
    qm_branches_t *self;
    qm_slot_t *slot;
    int failed;
} s_replay_t;

static void s_seed(void *ctx, int64_t service_id, int64_t avg_ms)
{
    qm_branch_seed_average(ctx, service_id, avg_ms);
}

static int s_replay(void *ctx, const qm_event_t *event)
{
    s_replay_t *r = ctx;
    qm_slot_t *slot = r->slot;
    if (!slot->model) {
        char reason[QM_REASON_SIZE];
        slot->model = qm_branch_new(&slot->config, event->day, reason);
        if (!slot->model) {
            log_error("branch_not_built", "branch=%s reason=\"%s\"", slot->ref.path, reason);
            r->failed = 1;
            return 1;
        }
        if (qm_store_averages(r->self->store, slot->ref.id, event->seq, s_seed,
                              slot->model) != 0) {
            r->failed = 1;
            return 1;
        }
    }
    if (qm_apply(slot->model, event) != 0) {
        log_error("branch_replay_refused", "branch=%s seq=%" PRId64 " kind=%s reason=\"the "
                  "stored event does not fit the state (configuration changed?)\"",
                  slot->ref.path, event->seq, qm_event_kind_name(event->kind));
        r->failed = 1;
        return 1;
    }
    return 0;
}

int qm_branches_rebuild(qm_branches_t *self, qm_slot_t *slot)
{
    s_clear(slot);
    if (qm_store_config(self->store, slot->ref.id, &slot->config) != 0
        || qm_store_hours(self->store, slot->ref.id, &slot->hours) != 0
        || qm_branches_reload_devices(self, slot) != 0)
        goto err;
    s_replay_t r = { self, slot, 0 };
    long events = qm_store_events(self->store, slot->ref.id, s_replay, &r);
    if (events < 0 || r.failed)
        goto err;
    if (!slot->model) {
        char reason[QM_REASON_SIZE];
        slot->model = qm_branch_new(&slot->config, qm_branches_day(slot, clock_now_ms()),
                                    reason);
        if (!slot->model) {
            log_error("branch_not_built", "branch=%s reason=\"%s\"", slot->ref.path, reason);
            goto err;
        }
    }
    /* Calls replayed were announced before: the model's hall never speaks,
     * and the announcer starts empty. */
    qm_hall_flush_announcements(qm_branch_hall(slot->model));
    qm_hall_destroy(&slot->announcer);
    slot->announcer = qm_hall_new(qm_hall_get_cfg(qm_branch_hall(slot->model)));
    if (!slot->announcer)
        goto err;
    log_info("branch_built", "branch=%s events=%ld day=%d tickets=%zu windows=%zu",
             slot->ref.path, events, qm_branch_day(slot->model),
             qm_ticket_count(slot->model), qm_window_count(slot->model));
    return 0;
err:
    s_clear(slot);
    return -1;
}
