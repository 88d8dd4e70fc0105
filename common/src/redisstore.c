/*  redisstore: Redis through hiredis with reconnect and pipelines (redisstore.h). */
#include "eqms/redisstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/backoff.h"
#include "eqms/log.h"

#define S_BACKOFF_MIN_MS 100
#define S_BACKOFF_MAX_MS 5000

struct redisstore_t {
    char host[256];          /* host name, or the socket path if unix */
    int port;                /* 0 for a unix socket */
    int db;
    int timeout_ms;
    redisContext *ctx;
    backoff_t backoff;       /* when to try connecting again */
    int down_logged;
    int queued;              /* commands appended for the pipeline */
    int broken;              /* the connection dropped while queueing */
    int sent;                /* sent by pipeline_send, replies not yet read */
    bool send_failed;        /* one of those failed: pipeline_settle says so */
};

/* Parses redis://host:port[/db] or unix:///path[?db=N]. */
static int s_parse_url(redisstore_t *self, const char *url)
{
    char *end;
    if (strncmp(url, "unix://", 7) == 0) {
        const char *path = url + 7;
        const char *query = strchr(path, '?');
        size_t len = query ? (size_t) (query - path) : strlen(path);
        if (len == 0 || len >= sizeof self->host || path[0] != '/')
            return -1;
        memcpy(self->host, path, len);
        self->host[len] = '\0';
        if (query) {
            if (strncmp(query, "?db=", 4) != 0)
                return -1;
            self->db = (int) strtol(query + 4, &end, 10);
            if (end == query + 4 || *end || self->db < 0 || self->db > 15)
                return -1;
        }
        return 0;
    }
    if (strncmp(url, "redis://", 8) != 0)
        return -1;
    const char *host = url + 8;
    const char *colon = strchr(host, ':');
    if (!colon || colon == host || (size_t) (colon - host) >= sizeof self->host)
        return -1;
    memcpy(self->host, host, (size_t) (colon - host));
    self->host[colon - host] = '\0';
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || port < 1 || port > 65535)
        return -1;
    self->port = (int) port;
    if (*end == '/') {
        const char *db = end + 1;
        self->db = (int) strtol(db, &end, 10);
        if (end == db || self->db < 0 || self->db > 15)
            return -1;
    }
    return *end ? -1 : 0;
}

redisstore_t *redisstore_new(const char *url, int timeout_ms)
{
    redisstore_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (!url || s_parse_url(self, url) != 0) {
        log_error("redis_url_invalid", "url=\"%s\" reason=\"expected redis://host:port[/db] "
                  "or unix:///path[?db=N]\"", url ? url : "");
        free(self);
        return NULL;
    }
    self->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    backoff_init(&self->backoff, S_BACKOFF_MIN_MS, S_BACKOFF_MAX_MS);
    return self;
}

void redisstore_destroy(redisstore_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->ctx)
        redisFree((*self_p)->ctx);
    free(*self_p);
    *self_p = NULL;
}

static void s_disconnect(redisstore_t *self, const char *why)
{
    if (!self->ctx)
        return;
    if (!self->down_logged)
        log_warn("redis_connection_lost", "reason=\"%s\"", why);
    redisFree(self->ctx);
    self->ctx = NULL;
    self->send_failed |= self->sent > 0;
    self->sent = 0;
    self->broken = self->queued > 0;
    self->queued = 0;
    backoff_reset(&self->backoff);
}

static int s_ensure(redisstore_t *self)
{
    if (self->ctx && !self->ctx->err)
        return 0;
    if (self->ctx)
        s_disconnect(self, self->ctx->errstr);
    if (!backoff_due(&self->backoff))
        return -1;
    struct timeval tv = { self->timeout_ms / 1000, self->timeout_ms % 1000 * 1000 };
    redisContext *ctx = self->port ? redisConnectWithTimeout(self->host, self->port, tv)
                                   : redisConnectUnixWithTimeout(self->host, tv);
    char reason[128] = "out of memory";
    if (ctx && !ctx->err && redisSetTimeout(ctx, tv) == REDIS_OK) {
        redisReply *reply = NULL;
        if (self->db)
            reply = redisCommand(ctx, "SELECT %d", self->db);
        if (!self->db || (reply && reply->type == REDIS_REPLY_STATUS)) {
            freeReplyObject(reply);
            self->ctx = ctx;
            backoff_reset(&self->backoff);
            if (self->down_logged)
                log_info("redis_connection_restored", NULL);
            self->down_logged = 0;
            return 0;
        }
        snprintf(reason, sizeof reason, "SELECT %d failed", self->db);
        freeReplyObject(reply);
    } else if (ctx)
        snprintf(reason, sizeof reason, "%s", ctx->errstr);
    if (ctx)
        redisFree(ctx);
    int wait = backoff_failed(&self->backoff);
    if (!self->down_logged)
        log_warn("redis_unavailable", "retry_ms=%d reason=\"%s\"", wait, reason);
    self->down_logged = 1;
    return -1;
}

static int s_attempt(void *self)
{
    return s_ensure(self);
}

int redisstore_connect(redisstore_t *self, int wait_ms)
{
    return backoff_retry(&self->backoff, wait_ms, s_attempt, self);
}

bool redisstore_connected(const redisstore_t *self)
{
    return self->ctx && !self->ctx->err;
}

/* Reads the replies of what pipeline_send sent, noting any failure. */
static void s_settle(redisstore_t *self)
{
    while (self->sent > 0 && self->ctx) {
        void *reply = NULL;
        if (redisGetReply(self->ctx, &reply) != REDIS_OK) {
            s_disconnect(self, self->ctx->errstr);
            return;
        }
        if (((redisReply *) reply)->type == REDIS_REPLY_ERROR) {
            log_warn("redis_command_failed", "reason=\"%s\"", ((redisReply *) reply)->str);
            self->send_failed = true;
        }
        freeReplyObject(reply);
        self->sent--;
    }
}

redisReply *redisstore_command(redisstore_t *self, int argc, const char **argv,
                               const size_t *argvlen)
{
    if (argc < 1 || self->queued)
        return NULL;
    s_settle(self);
    if (s_ensure(self) != 0)
        return NULL;
    redisReply *reply = redisCommandArgv(self->ctx, argc, argv, argvlen);
    if (!reply) {
        s_disconnect(self, self->ctx->errstr);
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        log_warn("redis_command_failed", "command=%s reason=\"%s\"", argv[0], reply->str);
        freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

int redisstore_pipeline_add(redisstore_t *self, int argc, const char **argv,
                            const size_t *argvlen)
{
    if (argc < 1 || self->broken || s_ensure(self) != 0)
        return -1;
    if (redisAppendCommandArgv(self->ctx, argc, argv, argvlen) != REDIS_OK) {
        s_disconnect(self, self->ctx->errstr);
        return -1;
    }
    self->queued++;
    return 0;
}

void redisstore_replies_free(redisReply ***replies_p, int count)
{
    if (!replies_p || !*replies_p)
        return;
    for (int i = 0; i < count; i++)
        freeReplyObject((*replies_p)[i]);
    free(*replies_p);
    *replies_p = NULL;
}

int redisstore_pipeline_send(redisstore_t *self)
{
    if (self->broken || !self->ctx) {
        self->broken = 0;
        self->queued = 0;
        self->send_failed = true;
        return -1;
    }
    int done = 0;
    while (!done) {
        if (redisBufferWrite(self->ctx, &done) != REDIS_OK) {
            s_disconnect(self, self->ctx->errstr);
            self->broken = 0;
            self->send_failed = true;
            return -1;
        }
    }
    self->sent += self->queued;
    self->queued = 0;
    return 0;
}

int redisstore_pipeline_settle(redisstore_t *self)
{
    s_settle(self);
    bool failed = self->send_failed;
    self->send_failed = false;
    return failed ? -1 : 0;
}

int redisstore_pipeline_exec(redisstore_t *self, redisReply ***replies_p)
{
    *replies_p = NULL;
    s_settle(self);
    int count = self->queued;
    if (self->broken || !self->ctx) {
        /* Some queued commands were lost with the connection: fail them all. */
        self->broken = 0;
        self->queued = 0;
        return -1;
    }
    redisReply **replies = calloc((size_t) (count ? count : 1), sizeof *replies);
    if (!replies) {
        s_disconnect(self, "out of memory");
        return -1;
    }
    for (int i = 0; i < count; i++) {
        void *reply = NULL;
        if (redisGetReply(self->ctx, &reply) != REDIS_OK) {
            s_disconnect(self, self->ctx->errstr);
            redisstore_replies_free(&replies, i);
            return -1;
        }
        replies[i] = reply;
    }
    self->queued = 0;
    *replies_p = replies;
    return count;
}
