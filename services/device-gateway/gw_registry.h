/*  gw_registry: which window each device serves, and its settings.
 *
 *  The registry of one branch arrives on the bus as `registry.snapshot.<branch>`
 *  (docs/protocol-gateway.md has the format) in answer to the gateway's
 *  `registry.request.<branch>`. A snapshot is decoded strictly, replaces the
 *  whole registry and is cached on disk (<dir>/registry.json, written to a
 *  temporary file, fsync'd and renamed), so that after a restart the gateway
 *  serves its devices from the cache while the centre is unreachable.
 *  A serial the registry does not list, or lists with no window, is
 *  unassigned. Not thread-safe: one owner thread.
 */
#ifndef EQMS_GW_REGISTRY_H
#define EQMS_GW_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/devproto.h"
#include "eqms/envelope.h"

#define GW_REGISTRY_CODE_MAX   32
#define GW_REGISTRY_PATH_MAX   255
#define GW_REGISTRY_LABEL_MAX  64     /* bytes of UTF-8 */
#define GW_REGISTRY_TEXT_MAX   64     /* bytes of UTF-8 per idle line */
#define GW_REGISTRY_NAME_MAX   256    /* bytes of UTF-8 */
#define GW_REGISTRY_DEVICES_MAX 4096
#define GW_REGISTRY_STAFF_MAX  100000

typedef struct {
    uint8_t code;                           /* 1..6, sent by the key */
    char label[GW_REGISTRY_LABEL_MAX + 1];
    double score;                           /* 0..5 */
} gw_registry_option_t;

typedef struct {
    char serial[DEVPROTO_SERIAL_MAX + 1];
    bool assigned;                          /* false: listed without a window */
    int64_t window_id;
    int window_number;                      /* 1..999 */
    char window_code[GW_REGISTRY_CODE_MAX + 1];
    char window_path[GW_REGISTRY_PATH_MAX + 1];  /* org path, e.g. hq.r01.b0001.w03 */
    char scale_code[GW_REGISTRY_CODE_MAX + 1];
    int option_count;                       /* 2..6, = rating keys used */
    gw_registry_option_t options[DEVPROTO_KEYS_MAX];   /* key order */
    int rating_timeout_s;                   /* 5..300 */
    int repeat_press_s;                     /* 0..600 */
    int idle_lines;                         /* 0..4 */
    char idle_text[DEVPROTO_LINES][GW_REGISTRY_TEXT_MAX + 1];
} gw_registry_device_t;

typedef struct {
    char employee_no[DEVPROTO_EMPLOYEE_MAX + 1];
    char name[GW_REGISTRY_NAME_MAX + 1];
    bool active;
} gw_registry_staff_t;

typedef struct gw_registry_t gw_registry_t;

/* A registry for branch `branch` (an org path), loading <dir>/registry.json
 * if it exists and is valid (a bad cache is logged and ignored). `dir` may be
 * NULL for no cache. Returns NULL on a malformed branch path. */
gw_registry_t *gw_registry_new(const char *branch, const char *dir);
void gw_registry_destroy(gw_registry_t **self_p);

/* Decodes a snapshot's data strictly and, if it is valid and for this
 * branch, replaces the registry and writes the cache. Returns 0, or -1 with
 * a reason (the registry is unchanged). A failed cache write is logged but
 * not an error. */
int gw_registry_apply(gw_registry_t *self, const json_t *data,
                      char reason[ENVELOPE_REASON_SIZE]);

/* True once a snapshot (or the cache) was loaded. */
bool gw_registry_loaded(const gw_registry_t *self);

/* The device's entry (borrowed, valid until the next apply), or NULL if the
 * serial is unknown or has no window: unassigned. */
const gw_registry_device_t *gw_registry_find(const gw_registry_t *self,
                                             const char *serial);

/* True if the snapshot carried a staff list (the gateway then answers
 * logins itself). */
bool gw_registry_has_staff(const gw_registry_t *self);

/* The staff member, or NULL if unknown. Borrowed. */
const gw_registry_staff_t *gw_registry_staff(const gw_registry_t *self,
                                             const char *employee_no);

/* The option of rating code `code` in the device's scale, or NULL. */
const gw_registry_option_t *gw_registry_option(const gw_registry_device_t *dev,
                                               int code);

/* True if a and b would configure the device identically (window, scale,
 * timing, idle text). Either may be NULL (= unassigned). */
bool gw_registry_device_same(const gw_registry_device_t *a,
                             const gw_registry_device_t *b);

const char *gw_registry_branch(const gw_registry_t *self);

/* Number of devices listed (assigned or not). */
size_t gw_registry_count(const gw_registry_t *self);

#endif
