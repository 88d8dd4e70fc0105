/*  ri_inbox: rating-ingest's receive thread (ri_inbox.h). */
#include "ri_inbox.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eqms/clock.h"
#include "ri_wire.h"

struct ri_inbox_t {
    bus_t *sub;                  /* the thread's */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    ri_inbox_item_t *ring;
    size_t capacity;
    size_t head, count;          /* guarded by lock: oldest slot, items in ring */
    bool taken;                  /* guarded by lock: the head is out (take..release) */
    bool stop;                   /* guarded by lock */
};

/* Envelopes up to this size are kept as text for ri_inbox_data and may take
 * the fast path; bigger ones (unusual) take the strict one, so that the
 * ring's text buffers stay small. */
#define S_TEXT_MAX 4096

static void s_clear(ri_inbox_item_t *item)
{
    json_decref(item->envelope.data);
    item->envelope.data = NULL;
}

/* Copies the envelope text into the item's buffer; false if it is over
 * S_TEXT_MAX or memory ran out. */
static bool s_keep_text(ri_inbox_item_t *item, const void *body, size_t len)
{
    if (len > S_TEXT_MAX)
        return false;
    if (!item->text) {
        item->text = malloc(S_TEXT_MAX);
        if (!item->text)
            return false;
    }
    memcpy(item->text, body, len);
    item->text_len = len;
    return true;
}

/* The strict decode of the envelope into the item; -1 with a reason. */
static int s_decode_strict(ri_inbox_item_t *item, const void *body, size_t len,
                           char reason[ENVELOPE_REASON_SIZE])
{
    envelope_t *envelope = envelope_decode(body, len, reason);
    if (!envelope)
        return -1;
    item->envelope = *envelope;          /* the item takes the data */
    envelope->data = NULL;
    envelope_destroy(&envelope);
    return 0;
}

/* bus_decode_fn: decodes a message into the item `arg` (the ring's tail),
 * with the checks bus_recv makes: the fast path when it can, the strict
 * decoders (which give the reasons) when it declines. */
static int s_decode(void *arg, const char *topic, size_t topic_len, const void *body,
                    size_t len, char reason[ENVELOPE_REASON_SIZE])
{
    ri_inbox_item_t *item = arg;
    bool fast = s_keep_text(item, body, len)
                && ri_wire_decode(item->text, len, &item->envelope, &item->event) == 0;
    if (!fast && s_decode_strict(item, body, len, reason) != 0)
        return -1;
    if (envelope_topic_check(topic, topic_len, item->envelope.type, reason) != 0) {
        s_clear(item);
        return -1;
    }
    memcpy(item->topic, topic, topic_len);   /* the check bounds its length */
    item->topic[topic_len] = '\0';
    item->decoded = fast ? 0 : ri_event_decode(&item->envelope, &item->event, item->reason);
    return 0;
}

static void *s_run(void *arg)
{
    ri_inbox_t *self = arg;
    for (;;) {
        pthread_mutex_lock(&self->lock);
        while (!self->stop && self->count == self->capacity) {
            struct timespec until;
            clock_deadline(&until, 100);
            pthread_cond_timedwait(&self->not_full, &self->lock, &until);
        }
        bool stop = self->stop;
        size_t tail = (self->head + self->count) % self->capacity;
        pthread_mutex_unlock(&self->lock);
        if (stop)
            break;
        /* The tail slot is this thread's until count covers it; what it held
         * before is freed here, off the bus loop's thread. */
        ri_inbox_item_t *item = &self->ring[tail];
        s_clear(item);
        if (bus_recv_raw(self->sub, 100, s_decode, item) != 1)
            continue;
        pthread_mutex_lock(&self->lock);
        self->count++;
        pthread_cond_signal(&self->not_empty);
        pthread_mutex_unlock(&self->lock);
    }
    return NULL;
}

ri_inbox_t *ri_inbox_new(bus_t **sub_p, size_t capacity)
{
    ri_inbox_t *self = calloc(1, sizeof *self);
    if (!self || capacity == 0)
        goto err;
    self->sub = *sub_p;
    *sub_p = NULL;
    self->capacity = capacity;
    self->ring = calloc(capacity, sizeof *self->ring);
    if (!self->sub || !self->ring)
        goto err;
    if (pthread_mutex_init(&self->lock, NULL) != 0)
        goto err;
    if (pthread_cond_init(&self->not_empty, NULL) != 0)
        goto err_lock;
    if (pthread_cond_init(&self->not_full, NULL) != 0)
        goto err_not_empty;
    if (pthread_create(&self->thread, NULL, s_run, self) != 0)
        goto err_not_full;
    return self;
err_not_full:
    pthread_cond_destroy(&self->not_full);
err_not_empty:
    pthread_cond_destroy(&self->not_empty);
err_lock:
    pthread_mutex_destroy(&self->lock);
err:
    if (self) {
        bus_destroy(&self->sub);
        free(self->ring);
        free(self);
    }
    bus_destroy(sub_p);
    return NULL;
}

void ri_inbox_destroy(ri_inbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ri_inbox_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    pthread_cond_signal(&self->not_full);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    for (size_t i = 0; i < self->capacity; i++) {
        s_clear(&self->ring[i]);
        free(self->ring[i].text);
    }
    pthread_cond_destroy(&self->not_empty);
    pthread_cond_destroy(&self->not_full);
    pthread_mutex_destroy(&self->lock);
    bus_destroy(&self->sub);
    free(self->ring);
    free(self);
    *self_p = NULL;
}

ri_inbox_item_t *ri_inbox_take(ri_inbox_t *self, int timeout_ms)
{
    pthread_mutex_lock(&self->lock);
    if (self->count == 0 && timeout_ms > 0) {
        struct timespec until;
        clock_deadline(&until, timeout_ms);
        pthread_cond_timedwait(&self->not_empty, &self->lock, &until);
    }
    ri_inbox_item_t *item = NULL;
    if (self->count > 0 && !self->taken) {
        item = &self->ring[self->head];
        self->taken = true;
    }
    pthread_mutex_unlock(&self->lock);
    return item;
}

json_t *ri_inbox_data(ri_inbox_item_t *item)
{
    if (!item->envelope.data) {
        char reason[ENVELOPE_REASON_SIZE];
        envelope_t *envelope = envelope_decode(item->text, item->text_len, reason);
        if (envelope) {
            item->envelope.data = envelope->data;
            envelope->data = NULL;
            envelope_destroy(&envelope);
        }
    }
    return item->envelope.data;
}

ri_inbox_item_t *ri_inbox_item_copy(const ri_inbox_item_t *item)
{
    ri_inbox_item_t *copy = malloc(sizeof *copy);
    if (!copy)
        return NULL;
    *copy = *item;
    copy->text = NULL;
    copy->text_len = 0;
    if (item->envelope.data) {
        json_incref(item->envelope.data);   /* decoded strictly: the data is kept */
    } else {
        /* decoded in one pass: the text is kept for ri_inbox_data */
        copy->text = malloc(item->text_len ? item->text_len : 1);
        if (!copy->text) {
            free(copy);
            return NULL;
        }
        memcpy(copy->text, item->text, item->text_len);
        copy->text_len = item->text_len;
    }
    return copy;
}

void ri_inbox_item_free(void *copy)
{
    ri_inbox_item_t *item = copy;
    if (!item)
        return;
    json_decref(item->envelope.data);
    free(item->text);
    free(item);
}

void ri_inbox_release(ri_inbox_t *self, ri_inbox_item_t *item)
{
    (void) item;   /* freed by the receive thread when it reuses the slot */
    pthread_mutex_lock(&self->lock);
    self->taken = false;
    self->head = (self->head + 1) % self->capacity;
    self->count--;
    pthread_cond_signal(&self->not_full);
    pthread_mutex_unlock(&self->lock);
}
