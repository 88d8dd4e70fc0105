/*  export: one writer for tabular exports (statistics views, detail lists)
 *  as CSV or XLSX, so that web-api and stats reports write the same files.
 *
 *  A table has typed columns (text, integer, decimal with a number of
 *  places, percent, date, date and time) and rows added cell by cell, left
 *  to right. Numbers are rounded once, by export_round (half away from
 *  zero on the decimal value, so 2.675 is 2.68 as a person expects): the
 *  JSON a screen shows must be rounded with it too, and then the file and
 *  the screen agree to the last digit. CSV (RFC 4180, CRLF, UTF-8 with a
 *  BOM so that Excel reads Chinese) writes the rounded figures as text
 *  ("95.3%" for a percent); XLSX (libxlsxwriter) stores the rounded value
 *  with a number format of the same places ("0.0", "0.0%"), a bold frozen
 *  header row and one sheet per table.
 *
 *  Spreadsheet formula injection: a text cell (headers included) that
 *  starts with = + - @ tab or CR is written with a leading ' in CSV, and
 *  always as a string, never a formula, in XLSX.
 *
 *  A table belongs to one thread at a time; the writers only read it.
 */
#ifndef EQMS_EXPORT_H
#define EQMS_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define EXPORT_PLACES_MAX 6

typedef enum {
    EXPORT_TEXT,
    EXPORT_INTEGER,
    EXPORT_DECIMAL,             /* `places` digits after the point */
    EXPORT_PERCENT,             /* a ratio (0.953), shown as 95.3% with places 1 */
    EXPORT_DATE,                /* YYYY-MM-DD */
    EXPORT_DATETIME,            /* YYYY-MM-DD HH:MM:SS */
} export_type_t;

typedef struct {
    const char *title;          /* the header, UTF-8 */
    export_type_t type;
    int places;                 /* DECIMAL and PERCENT: 0..EXPORT_PLACES_MAX */
} export_column_t;

typedef struct export_table_t export_table_t;

/* A table called `name` (the XLSX sheet's name: characters Excel refuses
 * become _, cut at 31 characters) with `n` columns (copied). NULL when a
 * column is invalid (no title, places out of range) or memory ran out. */
export_table_t *export_table_new(const char *name, const export_column_t *columns,
                                 size_t n);

/* Frees. Accepts NULL. */
void export_table_destroy(export_table_t **self_p);

/* The next cell, of the type of its column; rows wrap by themselves.
 * -1 when the column is of another type, the text not UTF-8, or memory
 * ran out (the table is unchanged). */
int export_add_text(export_table_t *self, const char *text);       /* copied */
int export_add_integer(export_table_t *self, int64_t value);
int export_add_decimal(export_table_t *self, double value);        /* DECIMAL, PERCENT */
int export_add_time(export_table_t *self, const struct tm *local); /* DATE, DATETIME */
/* An empty cell, in a column of any type. */
int export_add_empty(export_table_t *self);

/* Drops every row (the columns stay): a writer that streams takes the
 * CSV of a few rows with export_csv_part, then clears them. */
void export_table_clear(export_table_t *self);

/* Rows so far (a partly filled last row counts). */
size_t export_rows(const export_table_t *self);

/* `value` rounded to `places` (0..EXPORT_PLACES_MAX) decimal places, half
 * away from zero on its shortest decimal form; -0 becomes 0. */
double export_round(double value, int places);

/* The CSV file: a malloc'd buffer the caller frees, its length in *len.
 * NULL when memory ran out. */
char *export_csv(const export_table_t *self, size_t *len);

/* The same, with the BOM and the header row only when `head` is true:
 * the parts of a CSV file streamed a few rows at a time (the first part
 * with `head`, the others without) join into what export_csv writes. */
char *export_csv_part(const export_table_t *self, bool head, size_t *len);

/* The XLSX file of `n` tables, one sheet each: a malloc'd buffer the
 * caller frees, its length in *len. libxlsxwriter writes through a
 * temporary file in `tmpdir` (NULL: $TMPDIR or /tmp), removed at once.
 * NULL when it failed (logged). */
char *export_xlsx(const export_table_t *const *tables, size_t n, const char *tmpdir,
                  size_t *len);

#endif
