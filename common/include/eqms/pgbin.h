/*  pgbin: parameter values in PostgreSQL's binary wire format.
 *
 *  For bulk statements whose one parameter is an array of rows, sent with
 *  format 1 (binary): the server reads it with array_recv / record_recv and
 *  each column type's _recv function, without lexing any text. For a batch
 *  of ticket events this costs a fraction of json_to_recordset, which parses
 *  every object into a hash table first.
 *
 *      pgbin_t b;
 *      pgbin_init(&b);
 *      pgbin_array_begin(&b, row_type_oid);       // ticket_event[]
 *      for (...) {
 *          pgbin_record_begin(&b);                // one ticket_event
 *          pgbin_int8(&b, branch_id);
 *          pgbin_text(&b, kind);
 *          ...
 *          pgbin_record_end(&b);
 *      }
 *      pgbin_array_end(&b);
 *      if (pgbin_finish(&b, &data, &len) != 0) ...
 *
 *  Layouts (PostgreSQL's array_send and record_send, all integers big-endian):
 *    array:  ndim=1, has-nulls flag, element type OID, length, lower bound 1,
 *            then each element as int32 byte length (-1 for NULL) and bytes;
 *    record: number of columns, then each column as type OID, int32 byte
 *            length (-1 for NULL) and bytes.
 *  A record's columns must be written in the table's column order with the
 *  exact types: the server refuses any mismatch with a clear error ("wrong
 *  number of columns", "wrong data type"), so a schema change that the code
 *  does not follow fails loudly, never silently.
 *
 *  Values go into the innermost open container: an array (of scalars or of
 *  records) or a record, which only stands inside an array. Scalars outside
 *  any container, arrays inside records and deeper nesting are refused.
 *
 *  Errors stick (like jsonw): after a bad call (value outside a container,
 *  unbalanced end, invalid UUID text, allocation failure) every call does
 *  nothing and pgbin_finish returns -1.
 *
 *  Memory: the buffer grows by realloc; pgbin_reset keeps it, so a reused
 *  builder stops allocating once warm; pgbin_release frees it. A builder is
 *  used by one thread.
 */
#ifndef EQMS_PGBIN_H
#define EQMS_PGBIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Built-in type OIDs (pg_type.dat; fixed across PostgreSQL versions). */
#define PGBIN_INT4        23u
#define PGBIN_INT8        20u
#define PGBIN_TEXT        25u
#define PGBIN_TIMESTAMPTZ 1184u
#define PGBIN_UUID        2950u

typedef struct {
    char *data;
    size_t len, cap;
    bool failed;
    size_t array_at;     /* offset of the open array's header, or SIZE_MAX */
    int32_t array_count; /* elements written into it */
    bool array_nulls;
    size_t record_at;    /* offset of the open record's length, or SIZE_MAX */
    int32_t record_columns;
} pgbin_t;

void pgbin_init(pgbin_t *b);
/* Empties the builder for the next value (keeps its buffer). */
void pgbin_reset(pgbin_t *b);
void pgbin_release(pgbin_t *b);

void pgbin_array_begin(pgbin_t *b, uint32_t element_oid);
void pgbin_array_end(pgbin_t *b);
void pgbin_record_begin(pgbin_t *b);
void pgbin_record_end(pgbin_t *b);

void pgbin_null(pgbin_t *b, uint32_t oid);
void pgbin_int4(pgbin_t *b, int32_t value);
void pgbin_int8(pgbin_t *b, int64_t value);
/* Text (NUL-terminated); NULL writes SQL NULL. The server checks encoding. */
void pgbin_text(pgbin_t *b, const char *text);
/* Milliseconds since the Unix epoch as timestamptz (microseconds since
 * 2000-01-01 UTC on the wire). */
void pgbin_timestamptz_ms(pgbin_t *b, int64_t unix_ms);
/* A UUID in its canonical 36-character text form (either case); anything
 * else is an error. */
void pgbin_uuid(pgbin_t *b, const char *text);

/* 0 with the finished value (owned by the builder, valid until the next
 * call), or -1 if anything failed or a container is still open. */
int pgbin_finish(pgbin_t *b, const char **data, size_t *len);

#endif
