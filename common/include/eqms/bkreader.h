/*  bkreader: checks a backup archive (docs/backup.md) and loads it into an
 *  empty, migrated database (eqms-restore).
 *
 *  An archive is accepted only when manifest.json is of a format this build
 *  reads and of a schema no newer than its own, names only tables of
 *  bkcatalog, and every member it lists is there with the SHA-256 it states
 *  (and nothing else is). Refusals name the member. An archive of an older
 *  schema is loaded as this schema keeps the data (docs/backup.md).
 */
#ifndef EQMS_BKREADER_H
#define EQMS_BKREADER_H

#include <libpq-fe.h>
#include <stddef.h>

/* 0 when the archive at `path` is whole and unchanged; -1 with the reason
 * (naming the member at fault) in `error`. */
int bkreader_verify(const char *path, char *error, size_t size);

/* Verifies, then loads every table of the archive into the database of
 * `conn` in one transaction, which must be migrated and hold no organisation
 * yet (rows the migrations seed in the archive's tables are replaced); moves
 * identity sequences past the loaded ids. Triggers and foreign-key checks are
 * off while loading (the rows were consistent where they came from), which
 * needs a role that may set session_replication_role. 0 with the rows loaded
 * in *rows, or -1 with the reason in `error` (nothing loaded). */
int bkreader_load(PGconn *conn, const char *path, long long *rows, char *error, size_t size);

#endif
