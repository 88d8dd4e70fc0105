/*  Unit tests: wa_voicecache, the voice's audio kept by text within a bound
 *  of bytes, least recently used out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../../services/web-api/wa_voicecache.h"

/* The audio kept for `key` compared with `want` (NULL: none). */
static void s_kept(wa_voicecache_t *c, const char *key, const char *want)
{
    size_t len = 99;
    char *got = wa_voicecache_get(c, key, &len);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(got, want, len);
    free(got);
}

static void s_stats(wa_voicecache_t *c, uint64_t hits, uint64_t misses, uint64_t evictions,
                    size_t entries, size_t bytes)
{
    wa_voicecache_stats_t s;
    wa_voicecache_stats(c, &s);
    assert_int_equal(s.hits, hits);
    assert_int_equal(s.misses, misses);
    assert_int_equal(s.evictions, evictions);
    assert_int_equal(s.entries, entries);
    assert_int_equal(s.bytes, bytes);
}

static void test_audio_is_kept_by_its_text(void **state)
{
    (void) state;
    wa_voicecache_t *c = wa_voicecache_new(1 << 20);
    assert_non_null(c);
    s_kept(c, "zh-CN|请A零一二号到三号窗口", NULL);
    assert_int_equal(wa_voicecache_put(c, "zh-CN|请A零一二号到三号窗口", "RIFF1234", 8), 0);
    assert_int_equal(wa_voicecache_put(c, "en|Number A, 0 1 2", "RIFF\0\0x", 7), 0);
    s_kept(c, "zh-CN|请A零一二号到三号窗口", "RIFF1234");
    s_kept(c, "zh-CN|请A零一二号到三号窗口", "RIFF1234");
    /* bytes with NULs come back whole */
    size_t len;
    char *got = wa_voicecache_get(c, "en|Number A, 0 1 2", &len);
    assert_int_equal(len, 7);
    assert_memory_equal(got, "RIFF\0\0x", 7);
    free(got);
    s_kept(c, "en|Number A, 0 1 3", NULL);
    size_t bytes = 8 + strlen("zh-CN|请A零一二号到三号窗口") + 1 + 7 + strlen("en|Number A, 0 1 2") + 1;
    s_stats(c, 3, 2, 0, 2, bytes);
    /* the same text again: replaced, counted once */
    assert_int_equal(wa_voicecache_put(c, "en|Number A, 0 1 2", "RIFFnew", 7), 0);
    s_kept(c, "en|Number A, 0 1 2", "RIFFnew");
    s_stats(c, 4, 2, 0, 2, bytes);
    wa_voicecache_destroy(&c);
    assert_null(c);
    wa_voicecache_destroy(&c);
    wa_voicecache_destroy(NULL);
}

static void test_the_least_recently_used_goes_first(void **state)
{
    (void) state;
    /* three entries of 100 bytes (98 of audio, 2 of key) fit in 300 */
    char audio[98];
    memset(audio, 'x', sizeof audio);
    wa_voicecache_t *c = wa_voicecache_new(300);
    assert_int_equal(wa_voicecache_put(c, "a", audio, sizeof audio), 0);
    assert_int_equal(wa_voicecache_put(c, "b", audio, sizeof audio), 0);
    assert_int_equal(wa_voicecache_put(c, "c", audio, sizeof audio), 0);
    s_stats(c, 0, 0, 0, 3, 300);
    /* "a" read: "b" is now the least recently used */
    size_t len;
    free(wa_voicecache_get(c, "a", &len));
    assert_int_equal(wa_voicecache_put(c, "d", audio, sizeof audio), 0);
    s_kept(c, "b", NULL);
    wa_voicecache_stats_t s;
    wa_voicecache_stats(c, &s);
    assert_int_equal(s.evictions, 1);
    assert_int_equal(s.entries, 3);
    assert_int_equal(s.bytes, 300);
    /* a larger one makes room for itself: "c" and "a" go, "d" stays */
    char big[198];
    memset(big, 'y', sizeof big);
    assert_int_equal(wa_voicecache_put(c, "e", big, sizeof big), 0);
    wa_voicecache_stats(c, &s);
    assert_int_equal(s.entries, 2);
    assert_int_equal(s.bytes, 300);
    assert_int_equal(s.evictions, 3);
    for (const char *k = "ac"; *k; k++) {
        char key[2] = { *k, 0 };
        s_kept(c, key, NULL);
    }
    char *d = wa_voicecache_get(c, "d", &len);
    assert_non_null(d);
    assert_int_equal(len, sizeof audio);
    assert_memory_equal(d, audio, sizeof audio);
    free(d);
    wa_voicecache_destroy(&c);
}

static void test_what_exceeds_the_bound_is_not_kept(void **state)
{
    (void) state;
    char audio[300];
    memset(audio, 'z', sizeof audio);
    wa_voicecache_t *c = wa_voicecache_new(300);
    assert_int_equal(wa_voicecache_put(c, "small", audio, 10), 0);
    /* 300 bytes and a key do not fit in 300: refused, the others stay */
    assert_int_equal(wa_voicecache_put(c, "big", audio, sizeof audio), -1);
    s_kept(c, "big", NULL);
    size_t len;
    char *got = wa_voicecache_get(c, "small", &len);
    assert_non_null(got);
    assert_int_equal(len, 10);
    free(got);
    /* replacing an entry with one too large drops the old one */
    assert_int_equal(wa_voicecache_put(c, "small", audio, sizeof audio), -1);
    s_kept(c, "small", NULL);
    s_stats(c, 1, 2, 0, 0, 0);
    wa_voicecache_destroy(&c);
    /* a bound of 0 keeps nothing */
    c = wa_voicecache_new(0);
    assert_int_equal(wa_voicecache_put(c, "a", "x", 1), -1);
    s_kept(c, "a", NULL);
    wa_voicecache_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audio_is_kept_by_its_text),
        cmocka_unit_test(test_the_least_recently_used_goes_first),
        cmocka_unit_test(test_what_exceeds_the_bound_is_not_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
