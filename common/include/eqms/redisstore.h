/*  redisstore: Redis through hiredis, with reconnect and pipelines.
 *
 *  A lost connection is remade on the next call after a backoff (100 ms
 *  doubling to 5 s); meanwhile calls fail at once. Redis holds only what can
 *  be rebuilt from PostgreSQL, so callers treat a failure as "rebuild later".
 *  A redisstore_t is used by one thread.
 */
#ifndef EQMS_REDISSTORE_H
#define EQMS_REDISSTORE_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct redisstore_t redisstore_t;

/* `url` is redis://host:port[/db] or unix:///path/to/socket[?db=N].
 * Returns NULL only if the url is malformed. Does not connect yet. */
redisstore_t *redisstore_new(const char *url, int timeout_ms);
void redisstore_destroy(redisstore_t **self_p);

/* Connects, retrying with backoff for up to wait_ms. 0 / -1. */
int redisstore_connect(redisstore_t *self, int wait_ms);
bool redisstore_connected(const redisstore_t *self);

/* Runs one command given as arguments (binary safe; argvlen may be NULL for
 * NUL-terminated strings). Returns the reply (caller freeReplyObject's it),
 * NULL on a connection failure or an error reply (logged), or while a
 * pipeline is being queued. */
redisReply *redisstore_command(redisstore_t *self, int argc,
                               const char **argv, const size_t *argvlen);

/* Queues a command for the next redisstore_pipeline_exec. 0 / -1; after a
 * failure the whole pipeline fails at exec, so none of it half-applies
 * unnoticed. */
int redisstore_pipeline_add(redisstore_t *self, int argc, const char **argv,
                            const size_t *argvlen);

/* Sends every queued command in one round trip and reads all replies.
 * Returns the number of replies and sets *replies_p to an array the caller
 * frees with redisstore_replies_free; -1 if the connection failed (the queue
 * is discarded). Error replies are kept in the array for the caller. */
int redisstore_pipeline_exec(redisstore_t *self, redisReply ***replies_p);
void redisstore_replies_free(redisReply ***replies_p, int count);

/* Sends every queued command without waiting for the replies, so that a
 * thread with other work does not sit out the round trip. The replies are
 * read by redisstore_pipeline_settle, or implicitly before the next
 * redisstore_command or redisstore_pipeline_exec. 0, or -1 if the
 * connection failed (the queue is discarded). */
int redisstore_pipeline_send(redisstore_t *self);

/* Reads the replies of everything redisstore_pipeline_send sent (waiting
 * for those not yet in). 0 if all succeeded; -1 if one was an error reply
 * or the connection failed since the last settle, implicit reads included. */
int redisstore_pipeline_settle(redisstore_t *self);

#endif
