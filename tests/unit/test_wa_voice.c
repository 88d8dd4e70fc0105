/*  Unit tests: wa_voice, the hall's voice: real espeak-ng speech in a WAV
 *  file (Chinese and English), the cache, and the synthesis thread's queue
 *  (a synthesis asked twice is made once; a full queue is refused at once;
 *  a caller waits a bounded time) with an engine the test holds back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../services/web-api/wa_espeak.h"
#include "../../services/web-api/wa_voice.h"

static uint32_t s_u32(const char *p)
{
    const unsigned char *u = (const unsigned char *) p;
    return u[0] | (uint32_t) u[1] << 8 | (uint32_t) u[2] << 16 | (uint32_t) u[3] << 24;
}

static uint16_t s_u16(const char *p)
{
    const unsigned char *u = (const unsigned char *) p;
    return (uint16_t) (u[0] | u[1] << 8);
}

static void test_samples_make_a_wav_file(void **state)
{
    (void) state;
    const int16_t samples[] = { 0, 1, -1, 32767, -32768 };
    size_t len = 0;
    char *wav = wa_voice_wav(samples, 5, 22050, &len);
    assert_non_null(wav);
    assert_int_equal(len, 44 + 10);
    assert_memory_equal(wav, "RIFF", 4);
    assert_int_equal(s_u32(wav + 4), 36 + 10);
    assert_memory_equal(wav + 8, "WAVEfmt ", 8);
    assert_int_equal(s_u32(wav + 16), 16);
    assert_int_equal(s_u16(wav + 20), 1);       /* PCM */
    assert_int_equal(s_u16(wav + 22), 1);       /* mono */
    assert_int_equal(s_u32(wav + 24), 22050);
    assert_int_equal(s_u32(wav + 28), 44100);
    assert_int_equal(s_u16(wav + 32), 2);
    assert_int_equal(s_u16(wav + 34), 16);
    assert_memory_equal(wav + 36, "data", 4);
    assert_int_equal(s_u32(wav + 40), 10);
    const unsigned char pcm[] = { 0, 0, 1, 0, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x80 };
    assert_memory_equal(wav + 44, pcm, sizeof pcm);
    free(wav);
    assert_null(wa_voice_wav(samples, 5, 0, &len));
}

/* Seconds and RMS amplitude (0..1) of a 16-bit mono WAV made by wa_voice. */
static void s_measure(const char *wav, size_t len, double *seconds, double *rms)
{
    assert_true(len > 44);
    assert_memory_equal(wav, "RIFF", 4);
    assert_int_equal(s_u32(wav + 40), len - 44);
    uint32_t rate = s_u32(wav + 24);
    size_t n = (len - 44) / 2;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double v = (int16_t) s_u16(wav + 44 + 2 * i) / 32768.0;
        sum += v * v;
    }
    *seconds = (double) n / rate;
    *rms = sqrt(sum / (double) n);
}

static void test_espeak_says_a_call_in_chinese_and_english(void **state)
{
    (void) state;
    metrics_t *metrics = metrics_new("test");
    wa_voice_config_t cfg = { .cache_bytes = 4 << 20 };
    wa_voice_t *voice = wa_voice_new(&cfg, NULL, metrics);
    assert_non_null(voice);
    /* espeak-ng is one per process */
    wa_voice_engine_t other;
    assert_int_equal(wa_espeak_open(&other), -1);

    char *zh = NULL, *again = NULL, *en = NULL;
    size_t zh_len, again_len, en_len;
    bool cached = true;
    assert_int_equal(wa_voice_audio(voice, WA_VOICE_ZH, "请A零一二号到三号窗口", &zh, &zh_len,
                                    &cached), WA_VOICE_OK);
    assert_false(cached);
    double seconds, rms;
    s_measure(zh, zh_len, &seconds, &rms);
    /* eleven syllables at 150 words a minute: 3.6 s (the range: docs/voice.md) */
    assert_true(seconds > 1.5 && seconds < 8.0);
    assert_true(rms > 0.02);
    /* asked again: the same bytes, from the cache */
    assert_int_equal(wa_voice_audio(voice, WA_VOICE_ZH, "请A零一二号到三号窗口", &again,
                                    &again_len, &cached), WA_VOICE_OK);
    assert_true(cached);
    assert_int_equal(again_len, zh_len);
    assert_memory_equal(again, zh, zh_len);

    assert_int_equal(wa_voice_audio(voice, WA_VOICE_EN, "Number A, 0 1 2, please go to window 3.",
                                    &en, &en_len, &cached), WA_VOICE_OK);
    assert_false(cached);
    s_measure(en, en_len, &seconds, &rms);
    assert_true(seconds > 1.5 && seconds < 8.0);
    assert_true(rms > 0.02);

    wa_voicecache_stats_t stats;
    uint64_t syntheses;
    wa_voice_stats(voice, &stats, &syntheses);
    assert_int_equal(syntheses, 2);
    assert_int_equal(stats.entries, 2);
    assert_int_equal(stats.hits, 1);
    char *text = metrics_render(metrics);
    assert_non_null(strstr(text, "eqms_test_voice_cache_hits_total 1\n"));
    assert_non_null(strstr(text, "eqms_test_voice_syntheses_total 2\n"));
    free(text);
    free(zh);
    free(again);
    free(en);
    wa_voice_destroy(&voice);
    assert_null(voice);
    wa_voice_destroy(&voice);
    /* closed: it may be opened again */
    voice = wa_voice_new(&cfg, NULL, NULL);
    assert_non_null(voice);
    wa_voice_destroy(&voice);
    metrics_destroy(&metrics);
}

/* An engine the test holds back: each synthesis waits for the gate; it
 * counts its calls by text and fails texts starting with "fail". */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool open;
    int running;                  /* inside synth now */
    int calls;
    char last[64];
} s_gate_t;

static int s_gated(void *ctx, wa_voice_lang_t lang, const char *text, int16_t **samples,
                   size_t *n, int *rate)
{
    (void) lang;
    s_gate_t *g = ctx;
    pthread_mutex_lock(&g->mu);
    g->running++;
    g->calls++;
    snprintf(g->last, sizeof g->last, "%s", text);
    pthread_cond_broadcast(&g->cond);
    while (!g->open)
        pthread_cond_wait(&g->cond, &g->mu);
    g->running--;
    pthread_mutex_unlock(&g->mu);
    if (strncmp(text, "fail", 4) == 0)
        return -1;
    *samples = calloc(100, sizeof **samples);
    (*samples)[0] = (int16_t) strlen(text);
    *n = 100;
    *rate = 8000;
    return 0;
}

static void s_gate_set(s_gate_t *g, bool open)
{
    pthread_mutex_lock(&g->mu);
    g->open = open;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->mu);
}

/* Waits until the engine is inside a synthesis. */
static void s_gate_entered(s_gate_t *g, int calls)
{
    pthread_mutex_lock(&g->mu);
    while (g->calls < calls || g->running == 0)
        pthread_cond_wait(&g->cond, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static wa_voice_t *s_gated_voice(s_gate_t *g, unsigned queue_max, int wait_ms)
{
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cond, NULL);
    wa_voice_engine_t engine = { .synth = s_gated, .ctx = g };
    wa_voice_config_t cfg = { .cache_bytes = 1 << 20, .queue_max = queue_max,
                              .wait_ms = wait_ms };
    wa_voice_t *voice = wa_voice_new(&cfg, &engine, NULL);
    assert_non_null(voice);
    return voice;
}

/* Stops the voice, then frees the gate. */
static void s_gated_end(wa_voice_t **voice_p, s_gate_t *g)
{
    wa_voice_destroy(voice_p);
    assert_null(*voice_p);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cond);
}

static int s_ask(wa_voice_t *voice, const char *text, bool *cached)
{
    char *wav = NULL;
    size_t len = 0;
    bool c = false;
    int rc = wa_voice_audio(voice, WA_VOICE_ZH, text, &wav, &len, &c);
    if (rc == WA_VOICE_OK) {
        assert_int_equal(len, 44 + 200);
        assert_int_equal((int16_t) s_u16(wav + 44), (int) strlen(text));
    }
    else
        assert_null(wav);
    free(wav);
    if (cached)
        *cached = c;
    return rc;
}

static void test_a_full_queue_is_refused_at_once_and_a_wait_is_bounded(void **state)
{
    (void) state;
    s_gate_t g = { 0 };
    wa_voice_t *voice = s_gated_voice(&g, 1, 100);
    /* "a" is being synthesised (held back): its caller gives up after 100 ms */
    assert_int_equal(s_ask(voice, "a", NULL), WA_VOICE_LATE);
    s_gate_entered(&g, 1);
    /* "b" waits in the queue (1 place), "c" finds it full */
    assert_int_equal(s_ask(voice, "b", NULL), WA_VOICE_LATE);
    assert_int_equal(s_ask(voice, "c", NULL), WA_VOICE_BUSY);
    /* "b" again joins the one waiting: late, not refused */
    assert_int_equal(s_ask(voice, "b", NULL), WA_VOICE_LATE);
    /* let them go: "a" and "b" went on without their callers and are
     * cached; the queue has room again for "c" */
    s_gate_set(&g, true);
    bool cached = false;
    while (s_ask(voice, "b", &cached) == WA_VOICE_LATE)
        ;
    assert_int_equal(s_ask(voice, "a", &cached), WA_VOICE_OK);
    assert_true(cached);
    assert_int_equal(s_ask(voice, "b", &cached), WA_VOICE_OK);
    assert_true(cached);
    int rc;
    while ((rc = s_ask(voice, "c", &cached)) == WA_VOICE_LATE)
        ;
    assert_int_equal(rc, WA_VOICE_OK);
    assert_int_equal(g.calls, 3);
    s_gated_end(&voice, &g);
}

static void test_a_late_synthesis_goes_into_the_cache(void **state)
{
    (void) state;
    s_gate_t g = { 0 };
    wa_voice_t *voice = s_gated_voice(&g, 4, 100);
    assert_int_equal(s_ask(voice, "slow", NULL), WA_VOICE_LATE);
    s_gate_entered(&g, 1);
    s_gate_set(&g, true);
    /* asked again once it is done: from the cache, synthesised once */
    bool cached = false;
    int rc;
    while ((rc = s_ask(voice, "slow", &cached)) == WA_VOICE_LATE)
        ;
    assert_int_equal(rc, WA_VOICE_OK);
    assert_int_equal(g.calls, 1);
    s_gated_end(&voice, &g);
}

typedef struct {
    wa_voice_t *voice;
    const char *text;
    int rc;
} s_asker_t;

static void *s_asker(void *arg)
{
    s_asker_t *a = arg;
    char *wav;
    size_t len;
    bool cached;
    a->rc = wa_voice_audio(a->voice, WA_VOICE_ZH, a->text, &wav, &len, &cached);
    free(wav);
    return NULL;
}

static void test_the_same_text_asked_at_once_is_synthesised_once(void **state)
{
    (void) state;
    s_gate_t g = { 0 };
    wa_voice_t *voice = s_gated_voice(&g, 2, 10000);
    /* four displays of a hall ask for one call at the same time */
    pthread_t threads[4];
    s_asker_t askers[4];
    for (int i = 0; i < 4; i++) {
        askers[i] = (s_asker_t) { voice, "请A零一二号到三号窗口", 99 };
        assert_int_equal(pthread_create(&threads[i], NULL, s_asker, &askers[i]), 0);
    }
    s_gate_entered(&g, 1);
    s_gate_set(&g, true);
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(askers[i].rc, WA_VOICE_OK);
    }
    assert_int_equal(g.calls, 1);
    wa_voicecache_stats_t stats;
    uint64_t syntheses;
    wa_voice_stats(voice, &stats, &syntheses);
    assert_int_equal(syntheses, 1);
    s_gated_end(&voice, &g);
}

static void test_a_failed_synthesis_is_not_kept(void **state)
{
    (void) state;
    s_gate_t g = { 0 };
    wa_voice_t *voice = s_gated_voice(&g, 2, 5000);
    s_gate_set(&g, true);
    assert_int_equal(s_ask(voice, "fail-1", NULL), WA_VOICE_FAILED);
    assert_int_equal(s_ask(voice, "fail-1", NULL), WA_VOICE_FAILED);
    assert_int_equal(g.calls, 2);    /* tried again, not answered from a cache */
    assert_int_equal(s_ask(voice, "ok", NULL), WA_VOICE_OK);
    s_gated_end(&voice, &g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_samples_make_a_wav_file),
        cmocka_unit_test(test_espeak_says_a_call_in_chinese_and_english),
        cmocka_unit_test(test_a_full_queue_is_refused_at_once_and_a_wait_is_bounded),
        cmocka_unit_test(test_a_late_synthesis_goes_into_the_cache),
        cmocka_unit_test(test_the_same_text_asked_at_once_is_synthesised_once),
        cmocka_unit_test(test_a_failed_synthesis_is_not_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
