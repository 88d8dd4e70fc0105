/*  wa_export: statistics views as files (.xlsx, .csv) made from the very
 *  JSON their route answers, through common/export (docs/openapi.yaml,
 *  "Exports"; docs/statistics.md, "Exports").
 *
 *  A view's columns are a table of JSON members, each with its Chinese
 *  header, its type and its places. A number is rounded once, by
 *  export_round to the column's places (a percent to places of 100): the
 *  rounding the screen uses for the same member, so the file shows what
 *  the screen shows. The JSON itself keeps the SQL's digits.
 *
 *  An export needs the route's permission (export) and view_statistics
 *  (403 naming it), and is audited (`stats.export`: view, format, node,
 *  period, arguments, rows) before the file is sent.
 */
#ifndef EQMS_WA_EXPORT_H
#define EQMS_WA_EXPORT_H

#include <jansson.h>

#include "eqms/export.h"
#include "wa.h"

/* XLSX exports of the service detail list hold at most this many rows
 * (413 beyond: take the CSV, which is streamed, or a shorter range). */
#define WA_EXPORT_XLSX_ROWS_MAX 100000

typedef enum { WA_FORMAT_JSON, WA_FORMAT_CSV, WA_FORMAT_XLSX } wa_format_t;

/* One column: the JSON member it comes from ("rating.option": a member of
 * a member), its header, type and places. */
typedef struct {
    const char *member;
    const char *title;
    export_type_t type;
    int places;
} wa_export_col_t;

/* A view's columns (n of them). */
typedef struct {
    const char *view;             /* "figures": the route's name */
    const char *title;            /* "统计指标": in the Chinese file name */
    const wa_export_col_t *cols;
    size_t n;
} wa_export_view_t;

extern const wa_export_view_t wa_export_figures;   /* stats_row (figures) */
extern const wa_export_view_t wa_export_compare;   /* period + stats_row */
extern const wa_export_view_t wa_export_rank;
extern const wa_export_view_t wa_export_stars;
extern const wa_export_view_t wa_export_services;
extern const wa_export_view_t wa_export_on_duty;
extern const wa_export_view_t wa_export_sessions;  /* a teller's: on-duty's columns */

/* 0 when the principal may export (view_statistics on top of the route's
 * export); -1 answered (403). */
int wa_export_allowed(wa_call_t *call);

/* An empty table of the view's columns, the sheet called `sheet`. NULL
 * when memory ran out. */
export_table_t *wa_export_table(const wa_export_view_t *view, const char *sheet);

/* Adds the JSON object `row` as one row of `table` (made by
 * wa_export_table for `view`). -1 when a cell was refused. */
int wa_export_row(export_table_t *table, const wa_export_view_t *view, const json_t *row);

/* What a file is of: node, period and the other arguments, for its name
 * and the audit log. */
typedef struct {
    const wa_export_view_t *view;
    wa_format_t format;
    int64_t node_id;
    const char *node_path;
    const char *from, *to;        /* NULL: a view without a period */
} wa_export_what_t;

/* Audits the export and sets Content-Disposition (an ASCII file name and
 * an RFC 6266 filename* with the node's Chinese name). 0, or -1 answered. */
int wa_export_begin(wa_call_t *call, const wa_export_what_t *what, long rows);

/* Answers the file of `tables` (n of them; CSV: n must be 1): audited and
 * named by wa_export_begin first. Frees nothing of the caller's. */
void wa_export_reply(wa_call_t *call, const wa_export_what_t *what,
                     const export_table_t *const *tables, size_t n);

#endif
