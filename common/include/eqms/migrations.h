/*  migrations: the schema migrations of common/sql, compiled in.
 *
 *  The build generates the table from common/sql/NNNN_name.sql in order, so
 *  every binary knows the schema version it was built for.
 */
#ifndef EQMS_MIGRATIONS_H
#define EQMS_MIGRATIONS_H

#include <stddef.h>

#include "eqms/pgstore.h"

extern const pgstore_migration_t migrations[];
extern const size_t migrations_count;

/* The schema version this build expects: the last migration's number. */
int migrations_schema_version(void);

#endif
