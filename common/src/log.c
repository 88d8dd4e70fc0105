/*  log: one logfmt line per event on stderr (see log.h). */
#include "eqms/log.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
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

/* An output buffer that counts what did not fit, as vsnprintf does. */
typedef struct {
    char *data;
    size_t size;
    size_t len;        /* may pass size: then the text was cut */
} s_out_t;

static void s_put(s_out_t *out, const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++, out->len++)
        if (out->len + 1 < out->size)
            out->data[out->len] = text[i];
}

/* True if a bare logfmt value needs quotes: empty, or holds a space, a
 * quote, '=' or a backslash. */
static bool s_needs_quotes(const char *value, size_t len)
{
    if (len == 0)
        return true;
    for (size_t i = 0; i < len; i++)
        if (value[i] == ' ' || value[i] == '"' || value[i] == '=' || value[i] == '\\')
            return true;
    return false;
}

/* Writes a string value: `"` and `\` escaped; with `quote`, inside quotes. */
static void s_put_value(s_out_t *out, const char *value, size_t len, bool quote)
{
    if (quote)
        s_put(out, "\"", 1);
    for (size_t i = 0; i < len; i++) {
        if (value[i] == '"' || value[i] == '\\')
            s_put(out, "\\", 1);
        s_put(out, value + i, 1);
    }
    if (quote)
        s_put(out, "\"", 1);
}

/* Formats one printf conversion that is not %s or %% (spec is its text,
 * e.g. "%lld", "%.1f", "%*d"), taking its arguments from ap. */
static void s_put_number(s_out_t *out, const char *spec, const char *length,
                         char conv, int stars, const int star[2], va_list *ap)
{
    char tmp[128];
    int n = -1;
#define S_FMT(value) \
    (stars == 2 ? snprintf(tmp, sizeof tmp, spec, star[0], star[1], value) \
     : stars == 1 ? snprintf(tmp, sizeof tmp, spec, star[0], value) \
     : snprintf(tmp, sizeof tmp, spec, value))
    bool is_signed = conv == 'd' || conv == 'i';
    if (conv == 'c')
        n = S_FMT(va_arg(*ap, int));
    else if (conv == 'p')
        n = S_FMT(va_arg(*ap, void *));
    else if (strchr("fFeEgGaA", conv))
        n = strcmp(length, "L") == 0 ? S_FMT(va_arg(*ap, long double))
                                     : S_FMT(va_arg(*ap, double));
    else if (strcmp(length, "ll") == 0)
        n = is_signed ? S_FMT(va_arg(*ap, long long)) : S_FMT(va_arg(*ap, unsigned long long));
    else if (strcmp(length, "l") == 0)
        n = is_signed ? S_FMT(va_arg(*ap, long)) : S_FMT(va_arg(*ap, unsigned long));
    else if (strcmp(length, "z") == 0)
        n = is_signed ? S_FMT(va_arg(*ap, ssize_t)) : S_FMT(va_arg(*ap, size_t));
    else if (strcmp(length, "j") == 0)
        n = is_signed ? S_FMT(va_arg(*ap, intmax_t)) : S_FMT(va_arg(*ap, uintmax_t));
    else if (strcmp(length, "t") == 0)
        n = S_FMT(va_arg(*ap, ptrdiff_t));
    else
        n = is_signed ? S_FMT(va_arg(*ap, int)) : S_FMT(va_arg(*ap, unsigned int));
#undef S_FMT
    if (n > 0)
        s_put(out, tmp, (size_t) n < sizeof tmp ? (size_t) n : sizeof tmp - 1);
}

/* vsnprintf for the context, writing every %s value as logfmt: inside
 * quotes (`reason=\"%s\"`) its `"` and `\` are escaped; as a bare value
 * (`serial=%s` followed by a space or the end) it is also put in quotes if
 * it is empty or holds a space, quote, '=' or backslash. So a value can
 * never end its field early or forge another key. The callers' formats are
 * checked by the compiler (log_write's format attribute). */
static void s_vcontext(s_out_t *out, const char *fmt, va_list ap)
{
    va_list args;
    va_copy(args, ap);
    for (const char *p = fmt; *p;) {
        if (*p != '%') {
            s_put(out, p++, 1);
            continue;
        }
        const char *start = p++;
        if (*p == '%') {
            s_put(out, "%", 1);
            p++;
            continue;
        }
        int stars = 0, star[2] = { 0, 0 };
        long precision = -1;
        while (*p && strchr("-+ #0", *p))
            p++;
        if (*p == '*') {
            star[stars++] = va_arg(args, int);
            p++;
        } else
            while (*p >= '0' && *p <= '9')
                p++;
        if (*p == '.') {
            p++;
            if (*p == '*') {
                star[stars] = va_arg(args, int);
                precision = star[stars++];
                p++;
            } else {
                precision = 0;
                while (*p >= '0' && *p <= '9')
                    precision = precision * 10 + (*p++ - '0');
            }
        }
        char length[3] = "";
        size_t ln = 0;
        while (*p && strchr("hlLqjzt", *p) && ln < 2)
            length[ln++] = *p++;
        char conv = *p ? *p++ : '\0';
        if (conv == 's') {
            const char *value = va_arg(args, const char *);
            if (!value)
                value = "(null)";
            size_t len = precision >= 0 ? strnlen(value, (size_t) precision)
                                        : strlen(value);
            bool in_quotes = start > fmt && start[-1] == '"' && *p == '"';
            bool bare = start > fmt && start[-1] == '=' && (*p == ' ' || *p == '\0');
            s_put_value(out, value, len, !in_quotes && bare && s_needs_quotes(value, len));
            continue;
        }
        char spec[32];
        size_t speclen = (size_t) (p - start);
        if (!conv || speclen >= sizeof spec)
            break;   /* not a conversion the compiler let through */
        memcpy(spec, start, speclen);
        spec[speclen] = '\0';
        s_put_number(out, spec, length, conv, stars, star, &args);
    }
    va_end(args);
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
        s_out_t out = { raw + n, sizeof raw - (size_t) n, 0 };
        s_vcontext(&out, fmt, ap);
        out.data[out.len < out.size ? out.len : out.size - 1] = '\0';
        n += (int) (out.len < sizeof raw ? out.len : sizeof raw);
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
