/*  st_cells: the cell changes made since the last flush, keyed by cell.
 *
 *  A cell is (node, period kind, period start, hour, dimension, member)
 *  (docs/statistics.md, "How the figures are kept"); its value here is the
 *  change to add to stats_cell (st_measures_add_change). An open-addressing
 *  hash table keyed by the packed key, growing by doubling: the aggregator
 *  touches some 60 cells per fact, so lookups must cost no allocation.
 *  Not thread-safe.
 */
#ifndef EQMS_ST_CELLS_H
#define EQMS_ST_CELLS_H

#include <stddef.h>
#include <stdint.h>

#include "st_measures.h"
#include "st_period.h"

typedef enum {
    ST_DIM_ALL = 0,
    ST_DIM_SERVICE,
    ST_DIM_CLASS,
    ST_DIM_HOUR_OF_DAY,
    ST_DIM_WINDOW,
    ST_DIM_TELLER,
    ST_DIM_OPTION,
    ST_DIMS
} st_dim_t;

typedef struct {
    int64_t node_id;
    int64_t member;               /* 0 for ST_DIM_ALL */
    int32_t start_day;            /* yyyymmdd: local date of the period's first day */
    int8_t period;                /* st_period_t */
    int8_t hour;                  /* ST_PERIOD_HOUR: hour of the day, else 0 */
    int8_t dim;                   /* st_dim_t */
} st_cell_key_t;

typedef struct st_cells_t st_cells_t;

st_cells_t *st_cells_new(void);
void st_cells_destroy(st_cells_t **self_p);

/* The change of cell `key`, zeroed the first time. NULL if out of memory. */
st_measures_t *st_cells_at(st_cells_t *self, const st_cell_key_t *key);

size_t st_cells_count(const st_cells_t *self);

/* Calls fn for every cell (in no order); stops at the first non-zero return,
 * which it returns. */
typedef int (st_cells_fn)(void *arg, const st_cell_key_t *key, const st_measures_t *m);
int st_cells_each(const st_cells_t *self, st_cells_fn *fn, void *arg);

/* Forgets every cell (keeps the memory). */
void st_cells_clear(st_cells_t *self);

/* yyyymmdd of a date. */
int32_t st_cells_day(clock_date_t date);

#endif
