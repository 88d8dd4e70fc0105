/*  log: one logfmt line per event on stderr (see log.h). */
#include "eqms/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "eqms/clock.h"

static char s_service[64] = "eqms";
static log_level_t s_level = LOG_LEVEL_INFO;
static const char *const s_names[] = { "debug", "info", "warn", "error" };

void log_init(const char *service, log_level_t level)
{
    snprintf(s_service, sizeof s_service, "%s", service ? service : "eqms");
    s_level = level;
}

int log_level_parse(const char *text)
{
    for (int i = 0; text && i < 4; i++)
        if (strcmp(text, s_names[i]) == 0)
            return i;
    return -1;
}

bool log_enabled(log_level_t level)
{
    return level >= s_level;
}

/* Copies in[0..len) to out, escaping control characters; returns its length. */
static int s_escape(char *out, int size, const char *in, int len)
{
    static const char hex[] = "0123456789abcdef";
    int n = 0;
    for (int i = 0; i < len && n < size - 1; i++) {
        unsigned char c = (unsigned char) in[i];
        if (c >= 0x20 && c != 0x7f) {
            out[n++] = (char) c;
            continue;
        }
        if (n + 4 >= size - 1)
            break;
        out[n++] = '\\';
        if (c == '\n') out[n++] = 'n';
        else if (c == '\r') out[n++] = 'r';
        else if (c == '\t') out[n++] = 't';
        else {
            out[n++] = 'x';
            out[n++] = hex[c >> 4];
            out[n++] = hex[c & 15];
        }
    }
    out[n] = '\0';
    return n;
}

static int s_vformat(char *buf, int size, log_level_t level, const char *event,
                     const char *fmt, va_list ap)
{
    char raw[LOG_LINE_MAX];
    char ts[CLOCK_RFC3339_SIZE];
    if (clock_format_rfc3339(clock_now_ms(), ts) != 0)
        strcpy(ts, "0000-00-00T00:00:00.000Z");
    if (level < LOG_LEVEL_DEBUG || level > LOG_LEVEL_ERROR)
        level = LOG_LEVEL_ERROR;
    int n = snprintf(raw, sizeof raw, "ts=%s svc=%s level=%s event=%s", ts,
                     s_service, s_names[level], event ? event : "-");
    if (fmt && *fmt && n > 0 && n < (int) sizeof raw - 1) {
        raw[n++] = ' ';
        int m = vsnprintf(raw + n, sizeof raw - (size_t) n, fmt, ap);
        n = m < 0 ? n - 1 : n + m;
    }
    int truncated = n >= (int) sizeof raw;
    if (truncated)
        n = (int) sizeof raw - 1;
    int out = s_escape(buf, size - 3, raw, n);
    if (truncated || out < n) {
        /* Some of it did not fit: say so instead of cutting silently. */
        int keep = out > size - 7 ? size - 7 : out;
        memcpy(buf + keep, "...", 4);
        out = keep + 3;
    }
    return out;
}

int log_format(char *buf, int size, log_level_t level, const char *event,
               const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = s_vformat(buf, size, level, event, fmt, ap);
    va_end(ap);
    return n;
}

void log_write(log_level_t level, const char *event, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char line[LOG_LINE_MAX + 8];
    va_list ap;
    va_start(ap, fmt);
    int n = s_vformat(line, (int) sizeof line - 1, level, event, fmt, ap);
    va_end(ap);
    line[n++] = '\n';
    /* One write per line, so concurrent lines never interleave. */
    ssize_t rc = write(STDERR_FILENO, line, (size_t) n);
    (void) rc;
}
