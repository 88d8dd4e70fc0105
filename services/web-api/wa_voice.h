/*  wa_voice: the hall's voice, synthesised on the server: the text of a
 *  call (wa_voicetext) as a WAV file (16-bit mono PCM), made by one thread
 *  of its own and kept in a cache (wa_voicecache) so that a sentence is
 *  synthesised once however often and by however many displays it is
 *  asked for.
 *
 *  The synthesiser (espeak-ng, wa_espeak.h) is not thread-safe: one thread
 *  alone calls it, taking the texts in the order they were asked. A caller
 *  (an HTTP handler) is answered from the cache at once; else it joins the
 *  synthesis of the same text already waiting or under way, or queues a new
 *  one, and waits for it at most `wait_ms`. No more than `queue_max`
 *  syntheses wait: beyond, the caller is refused at once (WA_VOICE_BUSY,
 *  answered 503 with Retry-After), so the HTTP threads are never held
 *  behind a long queue. A caller that stopped waiting (WA_VOICE_LATE) leaves
 *  its synthesis going: its audio goes into the cache for the next ask.
 *
 *  Counters, on `metrics` (eqms_web_api_...): voice_cache_hits_total,
 *  voice_syntheses_total, voice_refused_total (busy or late),
 *  voice_failures_total; gauge voice_cache_bytes.
 *
 *  Threading: wa_voice_audio from any thread; new and destroy from one.
 */
#ifndef EQMS_WA_VOICE_H
#define EQMS_WA_VOICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "eqms/metrics.h"
#include "wa_voicecache.h"
#include "wa_voicetext.h"

/* What makes the sound: espeak-ng in the service (wa_espeak.h), another
 * function in the unit tests. */
typedef struct {
    /* Synthesises `text` in `lang`: 0 with *samples (heap, 16-bit mono
     * PCM; the caller frees it), *n samples at *rate Hz; -1 when it
     * failed. Called on the voice's thread only, one call at a time. */
    int (*synth)(void *ctx, wa_voice_lang_t lang, const char *text, int16_t **samples,
                 size_t *n, int *rate);
    /* Frees what the engine holds (NULL: nothing); called once, by
     * wa_voice_destroy. */
    void (*close)(void *ctx);
    void *ctx;
} wa_voice_engine_t;

typedef struct {
    size_t cache_bytes;           /* the cache's bound (wa_voicecache.h); 0: none kept */
    unsigned queue_max;           /* syntheses waiting at most; 0: 8 */
    int wait_ms;                  /* a caller waits this long for its synthesis; 0: 5000 */
} wa_voice_config_t;

#define WA_VOICE_OK      0
#define WA_VOICE_FAILED  (-1)     /* the synthesis failed or memory ran out */
#define WA_VOICE_BUSY    (-2)     /* queue_max syntheses wait already */
#define WA_VOICE_LATE    (-3)     /* not done within wait_ms (it goes on) */

typedef struct wa_voice_t wa_voice_t;

/* Starts the voice's thread on `*engine` (copied; NULL: espeak-ng, opened
 * here, which fails when its data is missing), counting on `metrics`
 * (borrowed; NULL: not counted). NULL (logged) on failure; the engine is
 * then closed. */
wa_voice_t *wa_voice_new(const wa_voice_config_t *config, const wa_voice_engine_t *engine,
                         metrics_t *metrics);

/* Stops the thread (after the synthesis under way) and closes the engine.
 * No wa_voice_audio may be running. Accepts NULL; sets *self_p to NULL. */
void wa_voice_destroy(wa_voice_t **self_p);

/* The audio of `text` (wa_voicetext_say's) in `lang`: WA_VOICE_OK with
 * *wav (heap WAV bytes, the caller frees them) and *len, and *cached true
 * when it came from the cache; else WA_VOICE_BUSY, WA_VOICE_LATE or
 * WA_VOICE_FAILED with *wav NULL. Waits at most the configured wait_ms. */
int wa_voice_audio(wa_voice_t *self, wa_voice_lang_t lang, const char *text, char **wav,
                   size_t *len, bool *cached);

/* The cache's figures (wa_voicecache.h) and the syntheses run. */
void wa_voice_stats(wa_voice_t *self, wa_voicecache_stats_t *cache, uint64_t *syntheses);

/* `n` samples of 16-bit mono PCM at `rate` Hz as a WAV file (RIFF, PCM
 * format, little-endian): heap bytes (*len of them) the caller frees, or
 * NULL when too long for a WAV (4 GiB) or memory ran out. */
char *wa_voice_wav(const int16_t *samples, size_t n, int rate, size_t *len);

#endif
