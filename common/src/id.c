/*  id: time-ordered unique ids, UUID version 7 (id.h). */
#include "eqms/id.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include "eqms/clock.h"

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static int64_t s_last_ms;
static uint16_t s_counter;   /* 12 bits: orders ids within one ms */

/* Random bytes are drawn from the kernel 4 KiB at a time (one getrandom per
 * 256 ids instead of one per id); a forked child starts with an empty pool,
 * so parent and child never share bytes. Guarded by s_lock. */
#define S_POOL_SIZE 4096
static uint8_t s_pool[S_POOL_SIZE];
static size_t s_pool_left;

static void s_forget_pool(void)
{
    s_pool_left = 0;
}

static void s_init(void)
{
    pthread_atfork(NULL, NULL, s_forget_pool);
}

/* Takes len (<= S_POOL_SIZE) random bytes. 0, or -1 without randomness. */
static int s_random(uint8_t *buf, size_t len)
{
    if (s_pool_left < len) {
        if (getrandom(s_pool, sizeof s_pool, 0) != (ssize_t) sizeof s_pool)
            return -1;
        s_pool_left = sizeof s_pool;
    }
    memcpy(buf, s_pool + sizeof s_pool - s_pool_left, len);
    s_pool_left -= len;
    return 0;
}

int id_new(char out[ID_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    pthread_once(&s_once, s_init);
    pthread_mutex_lock(&s_lock);
    if (s_random(b, sizeof b) != 0) {
        pthread_mutex_unlock(&s_lock);
        return -1;
    }
    int64_t ms = clock_now_ms();
    if (ms <= s_last_ms) {
        /* Same ms, or the clock stepped back: stay ordered after the last id. */
        ms = s_last_ms;
        if (++s_counter > 0x0fff) {
            ms = ++s_last_ms;
            s_counter = 0;
        }
    } else {
        /* A random start in the lower half leaves room to count up. */
        s_counter = (uint16_t) (((b[6] << 8) | b[7]) & 0x07ff);
        s_last_ms = ms;
    }
    uint16_t counter = s_counter;
    pthread_mutex_unlock(&s_lock);

    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t) (ms >> (40 - 8 * i));
    b[6] = (uint8_t) (0x70 | (counter >> 8));
    b[7] = (uint8_t) counter;
    b[8] = (uint8_t) (0x80 | (b[8] & 0x3f));
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-';
        *o++ = hex[b[i] >> 4];
        *o++ = hex[b[i] & 0x0f];
    }
    *o = '\0';
    return 0;
}

bool id_valid(const char *text)
{
    if (!text || strlen(text) != ID_SIZE - 1)
        return false;
    for (int i = 0; i < ID_SIZE - 1; i++) {
        char c = text[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

int64_t id_time_ms(const char *text)
{
    if (!id_valid(text) || text[14] != '7')
        return -1;
    int64_t ms = 0;
    for (int i = 0; i < 13; i++) {
        if (i == 8)
            continue;
        char c = text[i];
        ms = ms * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return ms;
}

bool id_v7(const char *text)
{
    return id_valid(text) && text[14] == '7' && strchr("89ab", text[19]) != NULL;
}

bool id_v7_or_nil(const char *text)
{
    return id_v7(text) || (text && strcmp(text, ID_NIL) == 0);
}
