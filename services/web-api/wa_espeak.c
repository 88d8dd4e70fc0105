/*  wa_espeak: espeak-ng as the voice's engine (wa_espeak.h). */
#include "wa_espeak.h"

#include <espeak-ng/espeak_ng.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"

static atomic_bool s_open;

/* The samples of one synthesis, grown by the callback. */
typedef struct {
    int16_t *samples;
    size_t n, cap, max;
    bool failed;                  /* too long, or memory ran out */
} s_pcm_t;

typedef struct {
    int rate;                     /* espeak-ng's sample rate */
    int lang;                     /* the voice set now; -1: none */
} s_engine_t;

/* espeak-ng's synthesis callback: appends the samples; 1 stops it. */
static int s_samples(short *wav, int n, espeak_EVENT *events)
{
    s_pcm_t *pcm = events ? events->user_data : NULL;
    if (!pcm || pcm->failed)
        return 1;
    if (!wav || n <= 0)
        return 0;
    if (pcm->n + (size_t) n > pcm->max) {
        pcm->failed = true;
        return 1;
    }
    if (pcm->n + (size_t) n > pcm->cap) {
        size_t cap = pcm->cap ? pcm->cap * 2 : 32768;
        while (cap < pcm->n + (size_t) n)
            cap *= 2;
        int16_t *grown = realloc(pcm->samples, cap * sizeof *grown);
        if (!grown) {
            pcm->failed = true;
            return 1;
        }
        pcm->samples = grown;
        pcm->cap = cap;
    }
    memcpy(pcm->samples + pcm->n, wav, (size_t) n * sizeof *wav);
    pcm->n += (size_t) n;
    return 0;
}

static void s_log_status(const char *event, espeak_ng_STATUS status, const char *what)
{
    char message[256];
    espeak_ng_GetStatusCodeMessage(status, message, sizeof message);
    log_error(event, "what=%s reason=\"%s\"", what, message);
}

/* Sets the voice of `lang` unless it is set already. 0 or -1 (logged). */
static int s_voice(s_engine_t *e, wa_voice_lang_t lang)
{
    if (e->lang == (int) lang)
        return 0;
    const char *name = lang == WA_VOICE_EN ? WA_ESPEAK_VOICE_EN : WA_ESPEAK_VOICE_ZH;
    espeak_ng_STATUS st = espeak_ng_SetVoiceByName(name);
    if (st != ENS_OK) {
        e->lang = -1;
        s_log_status("voice_unavailable", st, name);
        return -1;
    }
    espeak_ng_SetParameter(espeakRATE, WA_ESPEAK_RATE, 0);
    e->lang = (int) lang;
    return 0;
}

static int s_synth(void *ctx, wa_voice_lang_t lang, const char *text, int16_t **samples,
                   size_t *n, int *rate)
{
    s_engine_t *e = ctx;
    *samples = NULL;
    *n = 0;
    if (s_voice(e, lang) != 0)
        return -1;
    s_pcm_t pcm = { .max = (size_t) e->rate * WA_ESPEAK_MAX_S };
    espeak_ng_STATUS st = espeak_ng_Synthesize(text, strlen(text) + 1, 0, POS_CHARACTER, 0,
                                               espeakCHARS_UTF8, NULL, &pcm);
    if (st != ENS_OK || pcm.failed || pcm.n == 0) {
        if (st != ENS_OK)
            s_log_status("voice_synthesis_failed", st, "synthesize");
        free(pcm.samples);
        return -1;
    }
    *samples = pcm.samples;
    *n = pcm.n;
    *rate = e->rate;
    return 0;
}

static void s_close(void *ctx)
{
    free(ctx);
    atomic_store(&s_open, false);
}

/* espeak-ng's process-wide set-up, done once (espeak-ng 1.51 hangs in
 * espeak_ng_Terminate when it was initialised again after a first
 * terminate), and its end at exit. */
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static int s_rate;                /* 0: the set-up failed */

static void s_terminate(void)
{
    espeak_ng_Terminate();
}

static void s_init(void)
{
    espeak_ng_InitializePath(NULL);
    espeak_ng_ERROR_CONTEXT context = NULL;
    espeak_ng_STATUS st = espeak_ng_Initialize(&context);
    if (st != ENS_OK) {
        s_log_status("voice_start_failed", st, "espeak-ng data (ESPEAK_DATA_PATH)");
        espeak_ng_ClearErrorContext(&context);
        return;
    }
    atexit(s_terminate);
    st = espeak_ng_InitializeOutput(ENOUTPUT_MODE_SYNCHRONOUS, 0, NULL);
    if (st != ENS_OK) {
        s_log_status("voice_start_failed", st, "output");
        return;
    }
    espeak_SetSynthCallback(s_samples);
    s_rate = espeak_ng_GetSampleRate();
}

int wa_espeak_open(wa_voice_engine_t *engine)
{
    if (atomic_exchange(&s_open, true)) {
        log_error("voice_start_failed", "reason=\"espeak-ng is open already\"");
        return -1;
    }
    pthread_once(&s_once, s_init);
    s_engine_t *e = s_rate > 0 ? calloc(1, sizeof *e) : NULL;
    if (!e) {
        atomic_store(&s_open, false);
        return -1;
    }
    e->lang = -1;
    e->rate = s_rate;
    /* both voices there, checked now rather than at the first call */
    if (s_voice(e, WA_VOICE_EN) != 0 || s_voice(e, WA_VOICE_ZH) != 0) {
        s_close(e);
        return -1;
    }
    *engine = (wa_voice_engine_t) { .synth = s_synth, .close = s_close, .ctx = e };
    return 0;
}
