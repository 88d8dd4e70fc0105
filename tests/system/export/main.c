/*  eqms-export: writes a sample statistics table through common/export as
 *  <dir>/sample.csv and <dir>/sample.xlsx (two sheets), for
 *  tests/system/test_export.py, which reads them back with openpyxl.
 *  Usage: eqms-export DIR. Exit 0 when both files were written. */
#include <stdio.h>
#include <stdlib.h>

#include "eqms/export.h"

static const export_column_t s_columns[] = {
    { "窗口", EXPORT_TEXT, 0 },
    { "服务人次", EXPORT_INTEGER, 0 },
    { "平均等候(分)", EXPORT_DECIMAL, 2 },
    { "满意率", EXPORT_PERCENT, 1 },
    { "日期", EXPORT_DATE, 0 },
    { "最后评价", EXPORT_DATETIME, 0 },
};

typedef struct {
    const char *window;
    long long served;
    double wait, satisfied;
} s_row_t;

static const s_row_t s_rows[] = {
    { "1号窗口", 128, 2.675, 0.9535 },
    { "2号窗口, 对公", 0, 0.004, 1.0 },
    { "=1+2", -3, 1.005, 0.0 },
    { "说\"好\"", 42, 12.3456, 0.66666 },
};

static int s_write(const char *path, const char *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int rc = fwrite(bytes, 1, len, f) == len ? 0 : -1;
    return fclose(f) == 0 ? rc : -1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: eqms-export DIR\n");
        return 2;
    }
    size_t n = sizeof s_columns / sizeof s_columns[0];
    export_table_t *t = export_table_new("窗口/统计", s_columns, n);
    static const export_column_t other_cols[] = { { "排名", EXPORT_INTEGER, 0 } };
    export_table_t *other = export_table_new("排名", other_cols, 1);
    if (!t || !other)
        return 1;
    for (size_t i = 0; i < sizeof s_rows / sizeof s_rows[0]; i++) {
        struct tm day = { .tm_year = 124, .tm_mon = 2, .tm_mday = 9 + (int) i };
        struct tm at = day;
        at.tm_hour = 16;
        at.tm_min = 5;
        at.tm_sec = 7 + (int) i;
        if (export_add_text(t, s_rows[i].window) || export_add_integer(t, s_rows[i].served)
            || export_add_decimal(t, s_rows[i].wait) || export_add_decimal(t, s_rows[i].satisfied)
            || export_add_time(t, &day) || (i == 1 ? export_add_empty(t) : export_add_time(t, &at))
            || export_add_integer(other, (long long) i + 1))
            return 1;
    }
    char path[4096];
    size_t len;
    char *csv = export_csv(t, &len);
    snprintf(path, sizeof path, "%s/sample.csv", argv[1]);
    if (!csv || s_write(path, csv, len) != 0)
        return 1;
    const export_table_t *tables[] = { t, other };
    char *xlsx = export_xlsx(tables, 2, argv[1], &len);
    snprintf(path, sizeof path, "%s/sample.xlsx", argv[1]);
    if (!xlsx || s_write(path, xlsx, len) != 0)
        return 1;
    free(csv);
    free(xlsx);
    export_table_destroy(&t);
    export_table_destroy(&other);
    return 0;
}
