/*  id: time-ordered unique ids, UUID version 7 (id.h). */
#include "eqms/id.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "eqms/clock.h"

static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t s_last_ms;
static uint16_t s_counter;   /* 12 bits: orders ids within one ms */

static int s_random(void *buf, size_t len)
{
    return getrandom(buf, len, 0) == (ssize_t) len ? 0 : -1;
}

int id_new(char out[ID_SIZE])
{
    uint8_t b[16];
    if (s_random(b, sizeof b) != 0)
        return -1;
    pthread_mutex_lock(&s_lock);
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
    snprintf(out, ID_SIZE,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
             b[11], b[12], b[13], b[14], b[15]);
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
