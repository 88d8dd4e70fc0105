/*  st_config: what the aggregator needs of web-api's configuration.
 *
 *  Each service's service-level target (its queue's target_wait_s), each
 *  window's branch and rating scale, each rating option (scale, code) with
 *  its id and reason category. Loaded whole from PostgreSQL by st_store and
 *  swapped in (a new st_config_t per load), so a lookup is a hash probe.
 *  Not thread-safe.
 */
#ifndef EQMS_ST_CONFIG_H
#define EQMS_ST_CONFIG_H

#include <stdint.h>

#include "st_measures.h"

typedef struct st_config_t st_config_t;

st_config_t *st_config_new(void);
void st_config_destroy(st_config_t **self_p);

/* Builders. Return 0, or -1 out of memory. */
int st_config_add_service(st_config_t *self, int64_t service_id, int32_t target_s);
int st_config_add_window(st_config_t *self, int64_t window_id, int64_t branch_id,
                         int64_t scale_id);
int st_config_add_option(st_config_t *self, int64_t option_id, int64_t scale_id,
                         int code, st_category_t category);

/* The service's target in s, or -1 if the service is unknown. */
int32_t st_config_target_s(const st_config_t *self, int64_t service_id);

/* The window's branch (0 if the window is unknown) and rating scale (0). */
int64_t st_config_window_branch(const st_config_t *self, int64_t window_id);
int64_t st_config_window_scale(const st_config_t *self, int64_t window_id);

/* The option of code `code` in the scale of `window_id`: its id (0 if none)
 * and category. */
int64_t st_config_option(const st_config_t *self, int64_t window_id, int code,
                         st_category_t *category);

/* "attitude" ... -> category; ST_CAT_NONE for anything else. */
st_category_t st_category_parse(const char *text);

#endif
