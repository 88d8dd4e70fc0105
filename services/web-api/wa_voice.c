/*  wa_voice: the hall's voice, one synthesis thread and its cache
 *  (wa_voice.h). */
#include "wa_voice.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eqms/clock.h"
#include "eqms/log.h"
#include "wa_espeak.h"

#define S_QUEUE_MAX_DEFAULT 8
#define S_WAIT_MS_DEFAULT   5000
#define S_KEY_SIZE          (WA_VOICETEXT_SIZE + 8)

typedef enum { S_QUEUED, S_RUNNING, S_DONE, S_FAILED } s_state_t;

/* One synthesis: in the list while queued or running; freed by whoever
 * drops the last reference (the thread's, and one per waiting caller). */
typedef struct s_job_t {
    struct s_job_t *next;
    char key[S_KEY_SIZE];         /* "<lang code>|<text>": the cache's key */
    wa_voice_lang_t lang;
    const char *text;             /* inside key */
    s_state_t state;
    char *wav;                    /* S_DONE: the audio */
    size_t len;
    int refs;
} s_job_t;

struct wa_voice_t {
    wa_voice_config_t config;
    wa_voice_engine_t engine;
    pthread_mutex_t mu;
    pthread_cond_t work;          /* the thread waits for a job */
    pthread_cond_t done;          /* callers wait for theirs (CLOCK_MONOTONIC) */
    pthread_t thread;
    bool started;
    bool stop;
    s_job_t *head, *tail;         /* queued and running, in order */
    unsigned queued;
    wa_voicecache_t *cache;
    uint64_t syntheses;
    metrics_counter_t own[4];     /* the counters when no metrics are given */
    metrics_counter_t *hits, *synthesised, *refused, *failures;
    metrics_gauge_t own_bytes;
    metrics_gauge_t *cache_bytes;
};

static void s_unref(s_job_t *job)
{
    if (--job->refs == 0) {
        free(job->wav);
        free(job);
    }
}

/* Takes `job` out of the list (under the lock). */
static void s_unlist(wa_voice_t *self, s_job_t *job)
{
    s_job_t **p = &self->head, *prev = NULL;
    while (*p && *p != job) {
        prev = *p;
        p = &(*p)->next;
    }
    if (!*p)
        return;
    *p = job->next;
    if (self->tail == job)
        self->tail = prev;
    job->next = NULL;
}

static s_job_t *s_first_queued(const wa_voice_t *self)
{
    for (s_job_t *j = self->head; j; j = j->next)
        if (j->state == S_QUEUED)
            return j;
    return NULL;
}

static void *s_run(void *arg)
{
    wa_voice_t *self = arg;
    pthread_mutex_lock(&self->mu);
    for (;;) {
        s_job_t *job;
        while (!self->stop && !(job = s_first_queued(self)))
            pthread_cond_wait(&self->work, &self->mu);
        if (self->stop)
            break;
        job->state = S_RUNNING;
        self->queued--;
        pthread_mutex_unlock(&self->mu);

        int64_t started = clock_mono_ms();
        int16_t *samples = NULL;
        size_t n = 0, len = 0;
        int rate = 0;
        char *wav = NULL;
        if (self->engine.synth(self->engine.ctx, job->lang, job->text, &samples, &n, &rate) == 0)
            wav = wa_voice_wav(samples, n, rate, &len);
        free(samples);
        if (wav)
            log_info("voice_synthesised", "lang=%s bytes=%zu audio_ms=%lld ms=%lld",
                     wa_voicetext_lang_code(job->lang), len,
                     rate > 0 ? (long long) n * 1000 / rate : 0LL,
                     (long long) (clock_mono_ms() - started));
        else
            log_error("voice_failed", "lang=%s text=\"%s\"", wa_voicetext_lang_code(job->lang),
                      job->text);

        pthread_mutex_lock(&self->mu);
        metrics_add(wav ? self->synthesised : self->failures, 1);
        self->syntheses += wav != NULL;
        job->wav = wav;
        job->len = len;
        job->state = wav ? S_DONE : S_FAILED;
        if (wav && wa_voicecache_put(self->cache, job->key, wav, len) == 0) {
            wa_voicecache_stats_t stats;
            wa_voicecache_stats(self->cache, &stats);
            metrics_set(self->cache_bytes, (int64_t) stats.bytes);
        }
        s_unlist(self, job);
        s_unref(job);
        pthread_cond_broadcast(&self->done);
    }
    pthread_mutex_unlock(&self->mu);
    return NULL;
}

wa_voice_t *wa_voice_new(const wa_voice_config_t *config, const wa_voice_engine_t *engine,
                         metrics_t *metrics)
{
    wa_voice_engine_t eng = { 0 };
    if (engine)
        eng = *engine;
    else if (wa_espeak_open(&eng) != 0)
        return NULL;
    wa_voice_t *self = calloc(1, sizeof *self);
    if (!self) {
        if (eng.close)
            eng.close(eng.ctx);
        return NULL;
    }
    self->engine = eng;
    self->config = *config;
    if (!self->config.queue_max)
        self->config.queue_max = S_QUEUE_MAX_DEFAULT;
    if (self->config.wait_ms <= 0)
        self->config.wait_ms = S_WAIT_MS_DEFAULT;
    pthread_mutex_init(&self->mu, NULL);
    pthread_cond_init(&self->work, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&self->done, &attr);
    pthread_condattr_destroy(&attr);
    self->hits = &self->own[0];
    self->synthesised = &self->own[1];
    self->refused = &self->own[2];
    self->failures = &self->own[3];
    self->cache_bytes = &self->own_bytes;
    if (metrics
        && (!(self->hits = metrics_counter(metrics, "voice_cache_hits_total",
                                           "Announcement audio answered from the cache."))
            || !(self->synthesised = metrics_counter(metrics, "voice_syntheses_total",
                                                     "Announcement audio synthesised."))
            || !(self->refused = metrics_counter(metrics, "voice_refused_total",
                                                 "Announcement audio refused (503): too many "
                                                 "syntheses waiting, or not done in time."))
            || !(self->failures = metrics_counter(metrics, "voice_failures_total",
                                                  "Announcement syntheses that failed."))
            || !(self->cache_bytes = metrics_gauge(metrics, "voice_cache_bytes",
                                                   "Bytes of announcement audio cached."))))
        goto err;
    if (!(self->cache = wa_voicecache_new(self->config.cache_bytes)))
        goto err;
    if (pthread_create(&self->thread, NULL, s_run, self) != 0)
        goto err;
    self->started = true;
    return self;
err:
    log_error("voice_start_failed", "reason=\"metrics, memory or thread\"");
    wa_voice_destroy(&self);
    return NULL;
}

void wa_voice_destroy(wa_voice_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wa_voice_t *self = *self_p;
    if (self->started) {
        pthread_mutex_lock(&self->mu);
        self->stop = true;
        pthread_cond_signal(&self->work);
        pthread_mutex_unlock(&self->mu);
        pthread_join(self->thread, NULL);
    }
    while (self->head) {
        s_job_t *job = self->head;
        s_unlist(self, job);
        s_unref(job);
    }
    if (self->engine.close)
        self->engine.close(self->engine.ctx);
    wa_voicecache_destroy(&self->cache);
    pthread_cond_destroy(&self->done);
    pthread_cond_destroy(&self->work);
    pthread_mutex_destroy(&self->mu);
    free(self);
    *self_p = NULL;
}

/* The job of `key` waiting or under way, or a new one queued; NULL when
 * the queue is full (*busy) or memory ran out. Under the lock. */
static s_job_t *s_job(wa_voice_t *self, wa_voice_lang_t lang, const char *key,
                      size_t prefix, bool *busy)
{
    for (s_job_t *j = self->head; j; j = j->next)
        if (strcmp(j->key, key) == 0)
            return j;
    if (self->queued >= self->config.queue_max) {
        *busy = true;
        return NULL;
    }
    s_job_t *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    memcpy(job->key, key, strlen(key) + 1);
    job->text = job->key + prefix;
    job->lang = lang;
    job->state = S_QUEUED;
    job->refs = 1;                /* the thread's */
    if (self->tail)
        self->tail->next = job;
    else
        self->head = job;
    self->tail = job;
    self->queued++;
    pthread_cond_signal(&self->work);
    return job;
}

int wa_voice_audio(wa_voice_t *self, wa_voice_lang_t lang, const char *text, char **wav,
                   size_t *len, bool *cached)
{
    *wav = NULL;
    *len = 0;
    *cached = false;
    char key[S_KEY_SIZE];
    const char *code = wa_voicetext_lang_code(lang);
    size_t prefix = strlen(code) + 1, n = strlen(text);
    if (prefix + n + 1 > sizeof key)
        return WA_VOICE_FAILED;
    memcpy(key, code, prefix - 1);
    key[prefix - 1] = '|';
    memcpy(key + prefix, text, n + 1);

    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += self->config.wait_ms / 1000;
    deadline.tv_nsec += (long) (self->config.wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&self->mu);
    if ((*wav = wa_voicecache_get(self->cache, key, len))) {
        metrics_add(self->hits, 1);
        *cached = true;
        pthread_mutex_unlock(&self->mu);
        return WA_VOICE_OK;
    }
    bool busy = false;
    s_job_t *job = s_job(self, lang, key, prefix, &busy);
    if (!job) {
        metrics_add(busy ? self->refused : self->failures, 1);
        pthread_mutex_unlock(&self->mu);
        return busy ? WA_VOICE_BUSY : WA_VOICE_FAILED;
    }
    job->refs++;
    int waited = 0;
    while ((job->state == S_QUEUED || job->state == S_RUNNING) && waited != ETIMEDOUT)
        waited = pthread_cond_timedwait(&self->done, &self->mu, &deadline);
    int rc = WA_VOICE_LATE;
    if (job->state == S_DONE) {
        rc = (*wav = malloc(job->len)) ? WA_VOICE_OK : WA_VOICE_FAILED;
        if (*wav) {
            memcpy(*wav, job->wav, job->len);
            *len = job->len;
        }
    }
    else if (job->state == S_FAILED)
        rc = WA_VOICE_FAILED;
    if (rc == WA_VOICE_LATE)
        metrics_add(self->refused, 1);
    s_unref(job);
    pthread_mutex_unlock(&self->mu);
    return rc;
}

void wa_voice_stats(wa_voice_t *self, wa_voicecache_stats_t *cache, uint64_t *syntheses)
{
    pthread_mutex_lock(&self->mu);
    wa_voicecache_stats(self->cache, cache);
    *syntheses = self->syntheses;
    pthread_mutex_unlock(&self->mu);
}

/* Writes `v` little-endian in `bytes` bytes at p. */
static void s_le(unsigned char *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char) (v >> (8 * i));
}

char *wa_voice_wav(const int16_t *samples, size_t n, int rate, size_t *len)
{
    enum { HEADER = 44 };
    if (rate <= 0 || n > (UINT32_MAX - HEADER) / 2)
        return NULL;
    uint32_t data = (uint32_t) (n * 2);
    unsigned char *w = malloc(HEADER + (size_t) data);
    if (!w)
        return NULL;
    memcpy(w, "RIFF", 4);
    s_le(w + 4, 36 + data, 4);
    memcpy(w + 8, "WAVEfmt ", 8);
    s_le(w + 16, 16, 4);                     /* fmt chunk size */
    s_le(w + 20, 1, 2);                      /* PCM */
    s_le(w + 22, 1, 2);                      /* mono */
    s_le(w + 24, (uint32_t) rate, 4);
    s_le(w + 28, (uint32_t) rate * 2, 4);    /* bytes per second */
    s_le(w + 32, 2, 2);                      /* bytes per frame */
    s_le(w + 34, 16, 2);                     /* bits per sample */
    memcpy(w + 36, "data", 4);
    s_le(w + 40, data, 4);
    for (size_t i = 0; i < n; i++)
        s_le(w + HEADER + 2 * i, (uint16_t) samples[i], 2);
    *len = HEADER + (size_t) data;
    return (char *) w;
}
