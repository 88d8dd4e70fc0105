/*  sse: Server-Sent Events on httpd (sse.h). */
#include "eqms/sse.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eqms/problem.h"

#define S_REPLAY_DEFAULT     256
#define S_QUEUE_DEFAULT      1024
#define S_STREAMS_DEFAULT    1000
#define S_HEARTBEAT_DEFAULT  15000
#define S_RETRY_DEFAULT      3000
#define S_EVENT_MAX          64

/* One event as it goes on the wire, shared by the channel's replay ring
 * and every stream's queue. */
typedef struct {
    atomic_int refs;
    uint64_t id;                /* 0: not an event (heartbeat, reload, retry) */
    size_t len;
    char text[];
} s_frame_t;

typedef struct s_client_t s_client_t;

typedef struct {
    char *name;
    s_frame_t **ring;           /* the last `size` events, oldest at head */
    size_t size, head, count;
    uint64_t evicted;           /* the newest id dropped from the ring; 0: none */
    s_client_t **clients;       /* streams that follow this channel */
    size_t nclients, cap;
} s_channel_t;

/* One stream. Everything in it is guarded by the hub's mutex. */
struct s_client_t {
    sse_hub_t *hub;
    httpd_stream_t *stream;
    s_channel_t *channels[SSE_CHANNELS_MAX];
    size_t nchannels;
    bool listed;                /* in its channels' lists: gets new events */
    bool ending;                /* end the body once the queue is sent */
    s_frame_t **queue;          /* queue_max events, + the retry and a reload */
    size_t qhead, qcount, qcap;
    size_t offset;              /* bytes of the front frame already sent */
    s_client_t *prev, *next;    /* the hub's list */
    char owner[SSE_OWNER_MAX];  /* "": none */
};

struct sse_hub_t {
    size_t replay, queue_max;
    unsigned streams_max, heartbeat_ms;
    pthread_mutex_t mu;
    pthread_cond_t cond;        /* the heartbeat's sleep; stop */
    pthread_t heartbeat;
    bool stop;
    zhashx_t *channels;         /* name -> s_channel_t */
    s_client_t *clients;
    size_t nclients;
    uint64_t base, last;        /* ids: the starting point, the last published */
    s_frame_t *retry, *beat, *too_old, *behind, *unauthorized;   /* shared frames */
};

/* --- frames ------------------------------------------------------------------------ */

static s_frame_t *s_frame_new(uint64_t id, size_t len)
{
    s_frame_t *f = malloc(sizeof *f + len + 1);
    if (!f)
        return NULL;
    atomic_init(&f->refs, 1);
    f->id = id;
    f->len = len;
    f->text[len] = '\0';
    return f;
}

static s_frame_t *s_frame_text(const char *text)
{
    s_frame_t *f = s_frame_new(0, strlen(text));
    if (f)
        memcpy(f->text, text, f->len);
    return f;
}

static s_frame_t *s_frame_ref(s_frame_t *f)
{
    atomic_fetch_add(&f->refs, 1);
    return f;
}

static void s_frame_unref(s_frame_t **f_p)
{
    if (*f_p && atomic_fetch_sub(&(*f_p)->refs, 1) == 1)
        free(*f_p);
    *f_p = NULL;
}

/* "id: N\nevent: E\ndata: ...\n\n", a data line for each line of `data`. */
static s_frame_t *s_frame_event(uint64_t id, const char *event, const char *data)
{
    size_t lines = 1, dlen = strlen(data);
    for (const char *p = data; *p; p++)
        lines += *p == '\n' || *p == '\r';
    char head[32 + S_EVENT_MAX];
    int hlen = snprintf(head, sizeof head, "id: %llu\nevent: %s\n", (unsigned long long) id,
                        event);
    s_frame_t *f = s_frame_new(id, (size_t) hlen + dlen + lines * 7 + 1);
    if (!f)
        return NULL;
    char *w = f->text;
    memcpy(w, head, (size_t) hlen);
    w += hlen;
    memcpy(w, "data: ", 6);
    w += 6;
    for (const char *p = data; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            memcpy(w, "\ndata: ", 7);
            w += 7;
        }
        else
            *w++ = *p;
    }
    *w++ = '\n';
    *w++ = '\n';
    f->len = (size_t) (w - f->text);
    *w = '\0';
    return f;
}

/* --- channels ---------------------------------------------------------------------- */

static void s_channel_destroy(void **item)
{
    s_channel_t *c = *item;
    if (!c)
        return;
    for (size_t i = 0; i < c->count; i++)
        s_frame_unref(&c->ring[(c->head + i) % c->size]);
    free(c->ring);
    free(c->clients);
    free(c->name);
    free(c);
    *item = NULL;
}

/* The channel called `name`, created when new; NULL when memory ran out. */
static s_channel_t *s_channel(sse_hub_t *self, const char *name)
{
    s_channel_t *c = zhashx_lookup(self->channels, name);
    if (c)
        return c;
    c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->size = self->replay;
    c->ring = calloc(c->size, sizeof *c->ring);
    c->name = strdup(name);
    if (!c->ring || !c->name || zhashx_insert(self->channels, name, c) != 0) {
        void *item = c;
        s_channel_destroy(&item);
        return NULL;
    }
    return c;
}

static int s_channel_follow(s_channel_t *c, s_client_t *client)
{
    if (c->nclients == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        s_client_t **grown = realloc(c->clients, cap * sizeof *grown);
        if (!grown)
            return -1;
        c->clients = grown;
        c->cap = cap;
    }
    c->clients[c->nclients++] = client;
    return 0;
}

static void s_channel_unfollow(s_channel_t *c, s_client_t *client)
{
    for (size_t i = 0; i < c->nclients; i++)
        if (c->clients[i] == client) {
            c->clients[i] = c->clients[--c->nclients];
            return;
        }
}

/* Keeps `f` in the replay ring, dropping the oldest when full. */
static void s_channel_keep(s_channel_t *c, s_frame_t *f)
{
    if (c->count == c->size) {
        c->evicted = c->ring[c->head]->id;
        s_frame_unref(&c->ring[c->head]);
        c->head = (c->head + 1) % c->size;
        c->count--;
    }
    c->ring[(c->head + c->count++) % c->size] = s_frame_ref(f);
}

/* --- streams ----------------------------------------------------------------------- */

/* Appends a reference to `f` to the stream's queue (room is the caller's
 * check, except for the two reserved slots). */
static void s_client_push(s_client_t *client, s_frame_t *f)
{
    assert(client->qcount < client->qcap);
    client->queue[(client->qhead + client->qcount++) % client->qcap] = s_frame_ref(f);
}

static void s_client_unlist(s_client_t *client)
{
    if (!client->listed)
        return;
    for (size_t i = 0; i < client->nchannels; i++)
        s_channel_unfollow(client->channels[i], client);
    client->listed = false;
}

/* Clears the queue (but the frame being sent), tells the client to reload
 * with `reload` and ends the stream once that is sent. */
static void s_client_reload(s_client_t *client, s_frame_t *reload)
{
    size_t keep = client->offset > 0 && client->qcount > 0 ? 1 : 0;
    while (client->qcount > keep) {
        size_t last = (client->qhead + client->qcount - 1) % client->qcap;
        s_frame_unref(&client->queue[last]);
        client->qcount--;
    }
    s_client_push(client, reload);
    client->ending = true;
    s_client_unlist(client);
}

static void s_client_wake(s_client_t *client)
{
    if (client->stream)
        httpd_stream_wake(client->stream);
}

/* httpd's read: as much of the queue as fits. */
static long s_client_read(void *producer, char *buf, size_t max)
{
    s_client_t *client = producer;
    sse_hub_t *self = client->hub;
    pthread_mutex_lock(&self->mu);
    size_t n = 0;
    while (client->qcount > 0 && n < max) {
        s_frame_t **front = &client->queue[client->qhead];
        size_t chunk = (*front)->len - client->offset;
        if (chunk > max - n)
            chunk = max - n;
        memcpy(buf + n, (*front)->text + client->offset, chunk);
        n += chunk;
        client->offset += chunk;
        if (client->offset == (*front)->len) {
            s_frame_unref(front);
            client->qhead = (client->qhead + 1) % client->qcap;
            client->qcount--;
            client->offset = 0;
        }
    }
    bool end = n == 0 && client->ending;
    pthread_mutex_unlock(&self->mu);
    return end ? -1 : (long) n;
}

/* httpd's close: the stream is gone. */
static void s_client_close(void *producer)
{
    s_client_t *client = producer;
    sse_hub_t *self = client->hub;
    pthread_mutex_lock(&self->mu);
    s_client_unlist(client);
    while (client->qcount > 0) {
        s_frame_unref(&client->queue[client->qhead]);
        client->qhead = (client->qhead + 1) % client->qcap;
        client->qcount--;
    }
    if (client->prev)
        client->prev->next = client->next;
    else
        self->clients = client->next;
    if (client->next)
        client->next->prev = client->prev;
    self->nclients--;
    pthread_mutex_unlock(&self->mu);
    free(client->queue);
    free(client);
}

static const httpd_stream_ops_t s_stream_ops = { s_client_read, s_client_close };

/* Queues what a client resuming after `last` missed, in id order; false
 * when the hub cannot know it (too old, unknown) or it is more than the
 * queue takes. */
static bool s_client_replay(sse_hub_t *self, s_client_t *client, uint64_t last)
{
    if (last < self->base || last > self->last)
        return false;
    size_t total = 0;
    for (size_t i = 0; i < client->nchannels; i++) {
        s_channel_t *c = client->channels[i];
        if (last < c->evicted)
            return false;
        for (size_t k = 0; k < c->count; k++)
            total += c->ring[(c->head + k) % c->size]->id > last;
    }
    if (total > self->queue_max)
        return false;
    /* a merge of the channels' rings, each already in id order */
    size_t next[SSE_CHANNELS_MAX];
    for (size_t i = 0; i < client->nchannels; i++) {
        s_channel_t *c = client->channels[i];
        next[i] = 0;
        while (next[i] < c->count && c->ring[(c->head + next[i]) % c->size]->id <= last)
            next[i]++;
    }
    for (size_t done = 0; done < total; done++) {
        s_frame_t *best = NULL;
        size_t from = 0;
        for (size_t i = 0; i < client->nchannels; i++) {
            s_channel_t *c = client->channels[i];
            if (next[i] == c->count)
                continue;
            s_frame_t *f = c->ring[(c->head + next[i]) % c->size];
            if (!best || f->id < best->id) {
                best = f;
                from = i;
            }
        }
        s_client_push(client, best);
        next[from]++;
    }
    return true;
}

/* Last-Event-ID as a number; 0 when absent; UINT64_MAX when malformed. */
static uint64_t s_last_event_id(const char *text)
{
    if (!text)
        return 0;
    if (*text < '0' || *text > '9' || strlen(text) > 20)
        return UINT64_MAX;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    return *end || errno ? UINT64_MAX : (uint64_t) v;
}

static bool s_channel_name_ok(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > SSE_CHANNEL_MAX)
        return false;
    for (const char *p = name; *p; p++)
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

int sse_serve(sse_hub_t *self, const httpd_req_t *req, httpd_reply_t *reply,
              const char *const *channels, size_t n, const char *owner)
{
    const char *path = httpd_req_path(req);
    bool names_ok = n >= 1 && n <= SSE_CHANNELS_MAX;
    for (size_t i = 0; names_ok && i < n; i++)
        names_ok = s_channel_name_ok(channels[i]);
    if (!names_ok || (owner && (!*owner || strlen(owner) >= SSE_OWNER_MAX))) {
        problem_replyf(reply, MHD_HTTP_BAD_REQUEST, path, "invalid live channels or owner");
        return -1;
    }
    s_client_t *client = calloc(1, sizeof *client);
    if (client) {
        client->qcap = self->queue_max + 2;
        client->queue = calloc(client->qcap, sizeof *client->queue);
    }
    if (!client || !client->queue) {
        if (client)
            free(client);
        problem_replyf(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, path, "out of memory");
        return -1;
    }
    client->hub = self;
    if (owner)
        snprintf(client->owner, sizeof client->owner, "%s", owner);
    uint64_t last = s_last_event_id(httpd_req_header(req, "Last-Event-ID"));

    pthread_mutex_lock(&self->mu);
    if (self->nclients >= self->streams_max) {
        pthread_mutex_unlock(&self->mu);
        free(client->queue);
        free(client);
        problem_replyf(reply, MHD_HTTP_SERVICE_UNAVAILABLE, path,
                       "too many live streams open (%u); try again later",
                       self->streams_max);
        httpd_reply_header(reply, "Retry-After", "5");
        return -1;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        s_channel_t *c = s_channel(self, channels[i]);
        bool dup = false;
        for (size_t k = 0; c && k < client->nchannels; k++)
            dup = dup || client->channels[k] == c;
        ok = c != NULL;
        if (ok && !dup)
            client->channels[client->nchannels++] = c;
    }
    for (size_t i = 0; ok && i < client->nchannels; i++)
        ok = s_channel_follow(client->channels[i], client) == 0;
    if (!ok) {
        client->listed = true;          /* unfollow what was followed */
        s_client_unlist(client);
        pthread_mutex_unlock(&self->mu);
        free(client->queue);
        free(client);
        problem_replyf(reply, MHD_HTTP_INTERNAL_SERVER_ERROR, path, "out of memory");
        return -1;
    }
    client->listed = true;
    s_client_push(client, self->retry);
    if (last > 0 && !s_client_replay(self, client, last))
        s_client_reload(client, self->too_old);
    client->next = self->clients;
    if (client->next)
        client->next->prev = client;
    self->clients = client;
    self->nclients++;
    pthread_mutex_unlock(&self->mu);
    /* outside the lock: on failure it closes the client, which takes it.
     * Until the stream is set publishers queue without waking, which is
     * right: httpd reads once before it can park the connection. */
    httpd_stream_t *stream = httpd_reply_stream(reply, MHD_HTTP_OK, "text/event-stream",
                                                &s_stream_ops, client);
    if (!stream)
        return -1;
    pthread_mutex_lock(&self->mu);
    client->stream = stream;
    pthread_mutex_unlock(&self->mu);
    httpd_reply_header(reply, "Cache-Control", "no-cache");
    httpd_reply_header(reply, "X-Accel-Buffering", "no");
    return 0;
}

/* --- publishing -------------------------------------------------------------------- */

static bool s_event_name_ok(const char *event)
{
    size_t len = event ? strlen(event) : 0;
    if (len == 0 || len > S_EVENT_MAX)
        return false;
    return strspn(event, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-")
           == len;
}

uint64_t sse_publish(sse_hub_t *self, const char *channel, const char *event,
                     const char *data)
{
    if (!s_channel_name_ok(channel) || !s_event_name_ok(event) || !data)
        return 0;
    pthread_mutex_lock(&self->mu);
    uint64_t id = self->last + 1;
    s_channel_t *c = s_channel(self, channel);
    s_frame_t *f = c ? s_frame_event(id, event, data) : NULL;
    if (!f) {
        pthread_mutex_unlock(&self->mu);
        return 0;
    }
    self->last = id;
    s_channel_keep(c, f);
    /* s_client_reload unlists: walk down so that no follower is skipped */
    for (size_t i = c->nclients; i-- > 0;) {
        s_client_t *client = c->clients[i];
        if (client->qcount >= self->queue_max)
            s_client_reload(client, self->behind);
        else
            s_client_push(client, f);
        s_client_wake(client);
    }
    s_frame_unref(&f);
    pthread_mutex_unlock(&self->mu);
    return id;
}

uint64_t sse_last_id(sse_hub_t *self)
{
    pthread_mutex_lock(&self->mu);
    uint64_t id = self->last;
    pthread_mutex_unlock(&self->mu);
    return id;
}

size_t sse_streams(sse_hub_t *self)
{
    pthread_mutex_lock(&self->mu);
    size_t n = self->nclients;
    pthread_mutex_unlock(&self->mu);
    return n;
}

/* zlistx's destructor of strdup'ed text. */
static void s_free_text(void **item)
{
    free(*item);
    *item = NULL;
}

size_t sse_followed(sse_hub_t *self, void (*fn)(void *ctx, const char *channel), void *ctx)
{
    zlistx_t *names = zlistx_new();
    if (!names)
        return 0;
    zlistx_set_destructor(names, s_free_text);
    pthread_mutex_lock(&self->mu);
    for (s_channel_t *c = zhashx_first(self->channels); c; c = zhashx_next(self->channels)) {
        char *copy;
        if (c->nclients > 0 && (copy = strdup(c->name)))
            zlistx_add_end(names, copy);
    }
    pthread_mutex_unlock(&self->mu);
    size_t n = 0;
    for (const char *name = zlistx_first(names); name; name = zlistx_next(names), n++)
        fn(ctx, name);
    zlistx_destroy(&names);
    return n;
}

/* --- owners ----------------------------------------------------------------------- */

size_t sse_check_owners(sse_hub_t *self, sse_alive_fn *alive, void *ctx)
{
    zhashx_t *owners = zhashx_new();       /* the owners (keys; items: a stream, unused) */
    if (!owners)
        return 0;
    pthread_mutex_lock(&self->mu);
    for (s_client_t *client = self->clients; client; client = client->next)
        if (client->owner[0] && !client->ending)
            zhashx_insert(owners, client->owner, client);
    pthread_mutex_unlock(&self->mu);
    zlistx_t *ended = zlistx_new();
    if (ended) {
        zlistx_set_destructor(ended, s_free_text);
        for (void *v = zhashx_first(owners); v; v = zhashx_next(owners)) {
            const char *owner = zhashx_cursor(owners);
            char *copy;
            if (alive(ctx, owner) == 0 && (copy = strdup(owner)))
                zlistx_add_end(ended, copy);
        }
    }
    zhashx_destroy(&owners);
    size_t n = 0;
    if (!ended || zlistx_size(ended) == 0) {
        zlistx_destroy(&ended);
        return 0;
    }
    pthread_mutex_lock(&self->mu);
    for (s_client_t *client = self->clients; client; client = client->next) {
        if (!client->owner[0] || client->ending)
            continue;
        for (const char *owner = zlistx_first(ended); owner; owner = zlistx_next(ended))
            if (strcmp(owner, client->owner) == 0) {
                s_client_reload(client, self->unauthorized);
                s_client_wake(client);
                n++;
                break;
            }
    }
    pthread_mutex_unlock(&self->mu);
    zlistx_destroy(&ended);
    return n;
}

/* --- heartbeat --------------------------------------------------------------------- */

static void *s_heartbeat(void *arg)
{
    sse_hub_t *self = arg;
    pthread_mutex_lock(&self->mu);
    while (!self->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += self->heartbeat_ms / 1000;
        until.tv_nsec += (long) (self->heartbeat_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!self->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&self->cond, &self->mu, &until);
        if (self->stop)
            break;
        for (s_client_t *client = self->clients; client; client = client->next)
            if (client->qcount == 0 && !client->ending) {
                s_client_push(client, self->beat);
                s_client_wake(client);
            }
    }
    pthread_mutex_unlock(&self->mu);
    return NULL;
}

/* --- life cycle -------------------------------------------------------------------- */

/* Frees what the hub holds (its mutex and condition when made). */
static void s_hub_free(sse_hub_t *self, bool mutex_made, bool cond_made)
{
    if (cond_made)
        pthread_cond_destroy(&self->cond);
    if (mutex_made)
        pthread_mutex_destroy(&self->mu);
    zhashx_destroy(&self->channels);
    s_frame_unref(&self->retry);
    s_frame_unref(&self->beat);
    s_frame_unref(&self->too_old);
    s_frame_unref(&self->behind);
    s_frame_unref(&self->unauthorized);
    free(self);
}

sse_hub_t *sse_hub_new(const sse_config_t *config)
{
    sse_hub_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->replay = config->replay ? config->replay : S_REPLAY_DEFAULT;
    self->queue_max = config->queue_max ? config->queue_max : S_QUEUE_DEFAULT;
    self->streams_max = config->streams_max ? config->streams_max : S_STREAMS_DEFAULT;
    self->heartbeat_ms = config->heartbeat_ms ? config->heartbeat_ms : S_HEARTBEAT_DEFAULT;
    char retry[32];
    snprintf(retry, sizeof retry, "retry: %u\n\n",
             config->retry_ms ? config->retry_ms : S_RETRY_DEFAULT);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    self->base = self->last = (uint64_t) now.tv_sec * 1000000u + (uint64_t) now.tv_nsec / 1000u;
    self->retry = s_frame_text(retry);
    self->beat = s_frame_text(": heartbeat\n\n");
    self->too_old = s_frame_text("event: reload\ndata: {\"reason\":\"too_old\"}\n\n");
    self->behind = s_frame_text("event: reload\ndata: {\"reason\":\"behind\"}\n\n");
    self->unauthorized =
        s_frame_text("event: reload\ndata: {\"reason\":\"unauthorized\"}\n\n");
    self->channels = zhashx_new();
    pthread_condattr_t attr;
    bool sync_ok = false, cond_ok = false;
    if (pthread_mutex_init(&self->mu, NULL) == 0) {
        sync_ok = true;
        if (pthread_condattr_init(&attr) == 0) {
            cond_ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0
                      && pthread_cond_init(&self->cond, &attr) == 0;
            pthread_condattr_destroy(&attr);
        }
    }
    if (!self->retry || !self->beat || !self->too_old || !self->behind || !self->unauthorized
        || !self->channels || !cond_ok)
        goto err;
    zhashx_set_destructor(self->channels, s_channel_destroy);
    if (pthread_create(&self->heartbeat, NULL, s_heartbeat, self) != 0)
        goto err;
    return self;
err:
    s_hub_free(self, sync_ok, sync_ok && cond_ok);
    return NULL;
}

void sse_hub_destroy(sse_hub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sse_hub_t *self = *self_p;
    pthread_mutex_lock(&self->mu);
    assert(self->clients == NULL);      /* the httpd serving them goes first */
    self->stop = true;
    pthread_cond_signal(&self->cond);
    pthread_mutex_unlock(&self->mu);
    pthread_join(self->heartbeat, NULL);
    s_hub_free(self, true, true);
    *self_p = NULL;
}
