/*  bkwriter: writes a backup archive (docs/backup.md): a zip of one CSV
 *  file per table of bkcatalog (the rows of a subtree, or of everything),
 *  read in one consistent snapshot, and manifest.json with the format, the
 *  node, the time range, who made it and when, and each file's row count
 *  and SHA-256.
 */
#ifndef EQMS_BKWRITER_H
#define EQMS_BKWRITER_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#define BKWRITER_ERROR_SIZE 256

typedef struct {
    const char *node_path;        /* the subtree's root ("hq.r01") */
    bool whole;                   /* every row of every table (a root's backup) */
    const char *created_by;       /* who asked, for the manifest */
    /* told the rows written so far and in all (total known after the counts);
     * NULL: nobody. Runs on the writer's thread. */
    void (*progress)(void *ctx, long long done, long long total);
    void *ctx;
} bkwriter_config_t;

typedef struct {
    char snapshot_at[40];         /* RFC 3339 UTC: every row committed before it */
    int schema;                   /* the database's schema version in that snapshot */
    long long rows;               /* in all files */
    long long size;               /* of the archive, bytes */
    char sha256[65];              /* of the archive, hex */
    char error[BKWRITER_ERROR_SIZE]; /* on failure, why */
} bkwriter_result_t;

/* Writes the archive to `path` (through `path`.part, renamed when whole;
 * the CSV files are made next to it and removed), reading with `conn` (which
 * must be idle; left idle). 0 with `out` filled, or -1 with out->error. */
int bkwriter_write(PGconn *conn, const bkwriter_config_t *config, const char *path,
                   bkwriter_result_t *out);

#endif
