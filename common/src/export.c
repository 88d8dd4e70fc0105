/*  export: tabular exports as CSV or XLSX (export.h). */
#include "eqms/export.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "eqms/grow.h"
#include "eqms/log.h"
#include "eqms/utf8.h"

#define S_SHEET_MAX 31          /* characters in an Excel sheet's name */

typedef struct {
    bool empty;
    union {
        char *text;
        int64_t integer;
        double number;          /* rounded already */
        struct tm time;
    } v;
} s_cell_t;

struct export_table_t {
    char name[S_SHEET_MAX * 4 + 1];
    export_column_t *columns;   /* titles copied */
    size_t ncolumns;
    s_cell_t *cells;
    size_t ncells, cap;
};

/* --- the table ---------------------------------------------------------------------- */

/* Bytes of the UTF-8 character at `s` (0: invalid). */
static size_t s_char_len(const char *s, size_t avail)
{
    return (unsigned char) *s < 0x80 ? 1 : utf8_seq_len((const unsigned char *) s, avail);
}

/* `name` with the characters Excel refuses in a sheet's name as _, cut at
 * 31 characters (whole UTF-8 sequences). */
static void s_sheet_name(const char *name, char *out, size_t size)
{
    size_t w = 0, chars = 0, len = strlen(name);
    for (size_t i = 0; i < len && chars < S_SHEET_MAX;) {
        size_t n = s_char_len(name + i, len - i);
        if (n == 0 || w + n + 1 > size)
            break;
        if (n == 1 && strchr("[]:*?/\\", name[i]))
            out[w++] = '_';
        else {
            memcpy(out + w, name + i, n);
            w += n;
        }
        i += n;
        chars++;
    }
    out[w] = '\0';
    if (w == 0)
        snprintf(out, size, "Sheet1");
}

export_table_t *export_table_new(const char *name, const export_column_t *columns, size_t n)
{
    if (n == 0 || !columns)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!columns[i].title || !utf8_valid(columns[i].title, strlen(columns[i].title))
            || columns[i].places < 0 || columns[i].places > EXPORT_PLACES_MAX
            || columns[i].type < EXPORT_TEXT || columns[i].type > EXPORT_DATETIME)
            return NULL;
    export_table_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    s_sheet_name(name ? name : "", self->name, sizeof self->name);
    self->columns = calloc(n, sizeof *self->columns);
    if (!self->columns)
        goto err;
    self->ncolumns = n;
    for (size_t i = 0; i < n; i++) {
        self->columns[i] = columns[i];
        self->columns[i].title = strdup(columns[i].title);
        if (!self->columns[i].title)
            goto err;
    }
    return self;
err:
    export_table_destroy(&self);
    return NULL;
}

void export_table_destroy(export_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    export_table_t *self = *self_p;
    for (size_t i = 0; i < self->ncells; i++)
        if (!self->cells[i].empty && self->columns[i % self->ncolumns].type == EXPORT_TEXT)
            free(self->cells[i].v.text);
    free(self->cells);
    for (size_t i = 0; self->columns && i < self->ncolumns; i++)
        free((char *) self->columns[i].title);
    free(self->columns);
    free(self);
    *self_p = NULL;
}

void export_table_clear(export_table_t *self)
{
    for (size_t i = 0; i < self->ncells; i++)
        if (!self->cells[i].empty && self->columns[i % self->ncolumns].type == EXPORT_TEXT)
            free(self->cells[i].v.text);
    self->ncells = 0;
}

size_t export_rows(const export_table_t *self)
{
    return (self->ncells + self->ncolumns - 1) / self->ncolumns;
}

/* Room for the next cell if its column is of one of the types `a`, `b`;
 * NULL otherwise. */
static s_cell_t *s_next(export_table_t *self, export_type_t a, export_type_t b)
{
    export_type_t type = self->columns[self->ncells % self->ncolumns].type;
    if (type != a && type != b)
        return NULL;
    s_cell_t *grown = grow_room(self->cells, self->ncells, &self->cap, sizeof *grown, 64);
    if (!grown)
        return NULL;
    self->cells = grown;
    memset(&grown[self->ncells], 0, sizeof *grown);
    return &grown[self->ncells];
}

int export_add_text(export_table_t *self, const char *text)
{
    s_cell_t *cell = s_next(self, EXPORT_TEXT, EXPORT_TEXT);
    if (!cell || !text || !utf8_valid(text, strlen(text)) || !(cell->v.text = strdup(text)))
        return -1;
    self->ncells++;
    return 0;
}

int export_add_integer(export_table_t *self, int64_t value)
{
    s_cell_t *cell = s_next(self, EXPORT_INTEGER, EXPORT_INTEGER);
    if (!cell)
        return -1;
    cell->v.integer = value;
    self->ncells++;
    return 0;
}

int export_add_decimal(export_table_t *self, double value)
{
    s_cell_t *cell = s_next(self, EXPORT_DECIMAL, EXPORT_PERCENT);
    if (!cell || !isfinite(value))
        return -1;
    const export_column_t *col = &self->columns[self->ncells % self->ncolumns];
    /* a percent is rounded as the person sees it: 95.3 of 100 */
    cell->v.number = col->type == EXPORT_PERCENT
                         ? export_round(value * 100.0, col->places) / 100.0
                         : export_round(value, col->places);
    self->ncells++;
    return 0;
}

int export_add_time(export_table_t *self, const struct tm *local)
{
    s_cell_t *cell = s_next(self, EXPORT_DATE, EXPORT_DATETIME);
    if (!cell || !local || local->tm_year < 0 || local->tm_year > 8099 || local->tm_mon < 0
        || local->tm_mon > 11 || local->tm_mday < 1 || local->tm_mday > 31
        || local->tm_hour < 0 || local->tm_hour > 23 || local->tm_min < 0
        || local->tm_min > 59 || local->tm_sec < 0 || local->tm_sec > 60)
        return -1;
    cell->v.time = *local;
    self->ncells++;
    return 0;
}

int export_add_empty(export_table_t *self)
{
    s_cell_t *cell = s_next(self, self->columns[self->ncells % self->ncolumns].type,
                            EXPORT_TEXT);
    if (!cell)
        return -1;
    cell->empty = true;
    self->ncells++;
    return 0;
}

double export_round(double value, int places)
{
    static const double scale[] = { 1, 10, 100, 1e3, 1e4, 1e5, 1e6 };
    if (places < 0)
        places = 0;
    if (places > EXPORT_PLACES_MAX)
        places = EXPORT_PLACES_MAX;
    /* 15 significant digits drop the binary representation's noise:
     * 2.675 * 100 is 267.49999999999997, which is 267.5 */
    char text[64];
    snprintf(text, sizeof text, "%.15g", value * scale[places]);
    double rounded = round(strtod(text, NULL)) / scale[places];
    return rounded == 0 ? 0 : rounded;
}

/* --- CSV ---------------------------------------------------------------------------- */

/* One text field: the injection guard, then RFC 4180 quoting. */
static void s_csv_text(FILE *out, const char *text)
{
    bool guard = text[0] && strchr("=+-@\t\r", text[0]);
    bool quote = strpbrk(text, ",\"\r\n") != NULL;
    if (quote)
        fputc('"', out);
    if (guard)
        fputc('\'', out);
    for (const char *p = text; *p; p++) {
        if (*p == '"')
            fputc('"', out);
        fputc(*p, out);
    }
    if (quote)
        fputc('"', out);
}

/* A cell's text as the screen shows it. */
static void s_csv_cell(FILE *out, const export_column_t *col, const s_cell_t *cell)
{
    if (cell->empty)
        return;
    switch (col->type) {
    case EXPORT_TEXT:
        s_csv_text(out, cell->v.text);
        break;
    case EXPORT_INTEGER:
        fprintf(out, "%lld", (long long) cell->v.integer);
        break;
    case EXPORT_DECIMAL:
        fprintf(out, "%.*f", col->places, cell->v.number);
        break;
    case EXPORT_PERCENT:
        fprintf(out, "%.*f%%", col->places, export_round(cell->v.number * 100.0, col->places));
        break;
    case EXPORT_DATE:
    case EXPORT_DATETIME: {
        char text[32];
        strftime(text, sizeof text, col->type == EXPORT_DATE ? "%Y-%m-%d" : "%Y-%m-%d %H:%M:%S",
                 &cell->v.time);
        fputs(text, out);
        break;
    }
    }
}

char *export_csv(const export_table_t *self, size_t *len)
{
    return export_csv_part(self, true, len);
}

char *export_csv_part(const export_table_t *self, bool head, size_t *len)
{
    char *buf = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&buf, &size);
    if (!out)
        return NULL;
    for (size_t i = 0; head && i < self->ncolumns; i++) {
        if (i == 0)
            fputs("\xEF\xBB\xBF", out);
        else
            fputc(',', out);
        s_csv_text(out, self->columns[i].title);
    }
    if (head)
        fputs("\r\n", out);
    size_t rows = export_rows(self);
    for (size_t r = 0; r < rows; r++) {
        for (size_t i = 0; i < self->ncolumns; i++) {
            size_t k = r * self->ncolumns + i;
            if (i > 0)
                fputc(',', out);
            if (k < self->ncells)
                s_csv_cell(out, &self->columns[i], &self->cells[k]);
        }
        fputs("\r\n", out);
    }
    if (ferror(out)) {
        fclose(out);
        free(buf);
        return NULL;
    }
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    *len = size;
    return buf;
}

/* --- XLSX --------------------------------------------------------------------------- */

/* The number format of a column ("0.00", "0.0%", ...); NULL for text. */
static const char *s_num_format(const export_column_t *col, char *buf, size_t size)
{
    switch (col->type) {
    case EXPORT_TEXT:
        return NULL;
    case EXPORT_INTEGER:
        return "0";
    case EXPORT_DECIMAL:
    case EXPORT_PERCENT:
        snprintf(buf, size, "0%s%.*s%s", col->places ? "." : "", col->places, "000000",
                 col->type == EXPORT_PERCENT ? "%" : "");
        return buf;
    case EXPORT_DATE:
        return "yyyy-mm-dd";
    case EXPORT_DATETIME:
        return "yyyy-mm-dd hh:mm:ss";
    }
    return NULL;
}

/* Roughly how wide a title shows: CJK characters count two. */
static double s_width(const char *text)
{
    double w = 0;
    size_t len = strlen(text);
    for (size_t i = 0; i < len;) {
        size_t n = s_char_len(text + i, len - i);
        if (n == 0)
            break;
        w += n >= 3 ? 2 : 1;
        i += n;
    }
    return w;
}

static int s_xlsx_sheet(lxw_workbook *wb, const export_table_t *t)
{
    lxw_worksheet *ws = workbook_add_worksheet(wb, t->name);
    if (!ws)
        return -1;
    lxw_format *bold = workbook_add_format(wb);
    format_set_bold(bold);
    lxw_format *formats[t->ncolumns];
    for (size_t i = 0; i < t->ncolumns; i++) {
        const export_column_t *col = &t->columns[i];
        char buf[16];
        const char *num = s_num_format(col, buf, sizeof buf);
        formats[i] = NULL;
        if (num) {
            formats[i] = workbook_add_format(wb);
            format_set_num_format(formats[i], num);
        }
        double width = s_width(col->title) + 2;
        worksheet_set_column(ws, (lxw_col_t) i, (lxw_col_t) i, width < 10 ? 10 : width, NULL);
        if (worksheet_write_string(ws, 0, (lxw_col_t) i, col->title, bold) != LXW_NO_ERROR)
            return -1;
    }
    worksheet_freeze_panes(ws, 1, 0);
    for (size_t k = 0; k < t->ncells; k++) {
        const s_cell_t *cell = &t->cells[k];
        size_t i = k % t->ncolumns;
        lxw_row_t row = (lxw_row_t) (k / t->ncolumns + 1);
        lxw_col_t c = (lxw_col_t) i;
        lxw_error rc = LXW_NO_ERROR;
        if (cell->empty)
            continue;
        switch (t->columns[i].type) {
        case EXPORT_TEXT:
            rc = worksheet_write_string(ws, row, c, cell->v.text, NULL);
            break;
        case EXPORT_INTEGER:
            rc = worksheet_write_number(ws, row, c, (double) cell->v.integer, formats[i]);
            break;
        case EXPORT_DECIMAL:
        case EXPORT_PERCENT:
            rc = worksheet_write_number(ws, row, c, cell->v.number, formats[i]);
            break;
        case EXPORT_DATE:
        case EXPORT_DATETIME: {
            lxw_datetime dt = { .year = cell->v.time.tm_year + 1900,
                                .month = cell->v.time.tm_mon + 1,
                                .day = cell->v.time.tm_mday,
                                .hour = t->columns[i].type == EXPORT_DATE ? 0
                                                                          : cell->v.time.tm_hour,
                                .min = t->columns[i].type == EXPORT_DATE ? 0 : cell->v.time.tm_min,
                                .sec = t->columns[i].type == EXPORT_DATE ? 0 : cell->v.time.tm_sec };
            rc = worksheet_write_datetime(ws, row, c, &dt, formats[i]);
            break;
        }
        }
        if (rc != LXW_NO_ERROR)
            return -1;
    }
    return 0;
}

/* The whole file at `path`, malloc'd; NULL on failure. */
static char *s_slurp(const char *path, size_t *len)
{
    FILE *in = fopen(path, "rb");
    if (!in)
        return NULL;
    char *buf = NULL;
    long size = fseek(in, 0, SEEK_END) == 0 ? ftell(in) : -1;
    if (size >= 0 && fseek(in, 0, SEEK_SET) == 0 && (buf = malloc((size_t) size + 1))
        && fread(buf, 1, (size_t) size, in) != (size_t) size) {
        free(buf);
        buf = NULL;
    }
    fclose(in);
    if (buf)
        *len = (size_t) size;
    return buf;
}

char *export_xlsx(const export_table_t *const *tables, size_t n, const char *tmpdir,
                  size_t *len)
{
    if (!tmpdir)
        tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[4096];
    snprintf(path, sizeof path, "%s/eqms-export-XXXXXX.xlsx", tmpdir);
    int fd = mkstemps(path, 5);
    if (fd < 0) {
        log_error("export_xlsx", "dir=%s reason=\"%s\"", tmpdir, strerror(errno));
        return NULL;
    }
    close(fd);
    char *buf = NULL;
    lxw_workbook *wb = workbook_new(path);
    int rc = wb ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = s_xlsx_sheet(wb, tables[i]);
    lxw_error closed = wb ? workbook_close(wb) : LXW_ERROR_CREATING_XLSX_FILE;
    if (rc == 0 && closed == LXW_NO_ERROR)
        buf = s_slurp(path, len);
    if (!buf)
        log_error("export_xlsx", "tables=%zu reason=\"%s\"", n,
                  closed != LXW_NO_ERROR ? lxw_strerror(closed) : "a sheet or cell was refused");
    unlink(path);
    return buf;
}
