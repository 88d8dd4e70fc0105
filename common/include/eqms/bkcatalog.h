/*  bkcatalog: the tables a backup archive holds (docs/backup.md), each with
 *  the rows of a subtree it keeps, shared by the writer (bkwriter) and the
 *  restore (bkreader), so that a restore loads only tables a backup writes.
 *
 *  Scopes are SQL conditions on the table (alias t) that read the temporary
 *  tables a backup makes first: bk_nodes (id: the subtree's nodes) and
 *  bk_cfg (id: those and their ancestors, whose configuration the subtree
 *  uses), and bk_root (path: the subtree's root).
 */
#ifndef EQMS_BKCATALOG_H
#define EQMS_BKCATALOG_H

#include <stdbool.h>
#include <stddef.h>

#define BKCATALOG_FORMAT 1          /* manifest.json "format" */

typedef struct {
    const char *table;            /* also the archive member <table>.csv */
    const char *scope;            /* condition for a subtree; NULL: only in a
                                     whole backup (rows of no node) */
    const char *time_column;      /* raw data's time (the manifest's range), or NULL */
} bkcatalog_table_t;

/* The tables in load order, and how many. */
const bkcatalog_table_t *bkcatalog_tables(size_t *n);

/* The entry of `table`, or NULL when archives hold no such table. */
const bkcatalog_table_t *bkcatalog_find(const char *table);

#endif
