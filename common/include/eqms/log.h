/*  log: one line per event on stderr, logfmt style.
 *
 *  ts=2026-11-22T13:09:00.123Z svc=bus level=info event=started xsub=tcp://0.0.0.0:5550
 *
 *  The context is a printf format producing `key=value` pairs. Each %s value
 *  is written as logfmt: inside quotes (`reason=\"%s\"`) its `"` and `\` are
 *  escaped; as a bare value (`serial=%s`, then a space or the end) it is put
 *  in quotes when it is empty or holds a space, quote, '=' or backslash. So
 *  no value can end its field early or forge another key. Control
 *  characters in the finished line are escaped, so a line is always one line
 *  whatever the values hold. A line is written with a single write(2), so lines
 *  of concurrent threads never interleave. Libraries log through this module;
 *  they never print.
 */
#ifndef EQMS_LOG_H
#define EQMS_LOG_H

#include <stdbool.h>

typedef enum {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARN,
    LOG_LEVEL_ERROR
} log_level_t;

/* Longest line written; longer ones are cut and end in "...". */
#define LOG_LINE_MAX 2048

/* Sets the service name shown as svc= (copied) and the lowest level written.
 * Safe to call again; not thread-safe against concurrent log_write. */
void log_init(const char *service, log_level_t level);

/* Parses "debug", "info", "warn" or "error"; -1 if it is none of them. */
int log_level_parse(const char *text);

/* True when a line of this level would be written. */
bool log_enabled(log_level_t level);

/* Writes one event. `event` is a short snake_case name; `fmt` may be NULL. */
void log_write(log_level_t level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats the line log_write would write into buf (for tests). Returns the
 * length written, without the trailing newline. */
int log_format(char *buf, int size, log_level_t level, const char *event,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define log_debug(event, ...) log_write(LOG_LEVEL_DEBUG, event, __VA_ARGS__)
#define log_info(event, ...)  log_write(LOG_LEVEL_INFO, event, __VA_ARGS__)
#define log_warn(event, ...)  log_write(LOG_LEVEL_WARN, event, __VA_ARGS__)
#define log_error(event, ...) log_write(LOG_LEVEL_ERROR, event, __VA_ARGS__)

#endif
