/*  config: EQMS_* environment variables into a service's struct (config.h). */
#include "eqms/config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int s_fail(char *err, size_t errsize, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(char *err, size_t errsize, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsize, fmt, ap);
    va_end(ap);
    return -1;
}

static int s_has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char) *s < 0x20 || *s == 0x7f)
            return 1;
    return 0;
}

static int s_parse_int(const char *text, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || text[0] == ' ' || text[0] == '+')
        return -1;
    *out = v;
    return 0;
}

static int s_parse_bool(const char *text)
{
    static const char *yes[] = { "1", "true", "yes", "on" };
    static const char *no[] = { "0", "false", "no", "off" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return 1;
        if (strcasecmp(text, no[i]) == 0)
            return 0;
    }
    return -1;
}

/* Index of `text` among "a|b|c", or -1. */
static int s_enum_index(const char *choices, const char *text)
{
    size_t len = strlen(text);
    int index = 0;
    for (const char *p = choices; *p; index++) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t) (bar - p) : strlen(p);
        if (n == len && len && strncmp(p, text, n) == 0)
            return index;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

/* tcp://host:port (port 1..65535 or *), ipc://path, inproc://name */
static int s_endpoint_valid(const char *text)
{
    if (strncmp(text, "ipc://", 6) == 0)
        return text[6] != '\0';
    if (strncmp(text, "inproc://", 9) == 0)
        return text[9] != '\0';
    if (strncmp(text, "tcp://", 6) != 0)
        return 0;
    const char *host = text + 6;
    const char *colon = strrchr(host, ':');
    if (!colon || colon == host)
        return 0;
    if (strcmp(colon + 1, "*") == 0)
        return 1;
    long port;
    return s_parse_int(colon + 1, &port) == 0 && port >= 1 && port <= 65535;
}

static int s_load_one(const config_var_t *var, const char *text, char *field,
                      char *err, size_t errsize)
{
    long number;
    int flag;
    switch (var->type) {
    case CONFIG_ENDPOINT:
        if (!s_endpoint_valid(text))
            return s_fail(err, errsize,
                          "%s: '%s' is not an endpoint (allowed tcp://host:port, "
                          "ipc://path, inproc://name)", var->name, text);
        /* fall through */
    case CONFIG_STRING:
        if (strlen(text) >= var->size)
            return s_fail(err, errsize, "%s: value is longer than %zu characters",
                          var->name, var->size - 1);
        if (s_has_control(text))
            return s_fail(err, errsize, "%s: value contains control characters",
                          var->name);
        memcpy(field, text, strlen(text) + 1);
        return 0;
    case CONFIG_INT:
        if (s_parse_int(text, &number) != 0)
            return s_fail(err, errsize, "%s: '%s' is not an integer (allowed %ld..%ld)",
                          var->name, text, var->min, var->max);
        if (number < var->min || number > var->max)
            return s_fail(err, errsize, "%s: %ld is out of range (allowed %ld..%ld)",
                          var->name, number, var->min, var->max);
        memcpy(field, &number, sizeof number);
        return 0;
    case CONFIG_BOOL:
        flag = s_parse_bool(text);
        if (flag < 0)
            return s_fail(err, errsize,
                          "%s: '%s' is not a boolean (allowed true/false, yes/no, "
                          "on/off, 1/0)", var->name, text);
        memcpy(field, &flag, sizeof flag);
        return 0;
    case CONFIG_ENUM:
        flag = s_enum_index(var->choices, text);
        if (flag < 0)
            return s_fail(err, errsize, "%s: '%s' is not allowed (allowed %s)",
                          var->name, text, var->choices);
        memcpy(field, &flag, sizeof flag);
        return 0;
    }
    return s_fail(err, errsize, "%s: unknown variable type", var->name);
}

int config_load(const config_var_t *vars, size_t count, void *target, char *err,
                size_t errsize)
{
    for (size_t i = 0; i < count; i++) {
        const config_var_t *var = &vars[i];
        const char *text = getenv(var->name);
        if (!text) {
            if (!var->fallback)
                return s_fail(err, errsize, "%s: required but not set (%s)",
                              var->name, var->help);
            text = var->fallback;
        }
        char *field = (char *) target + var->offset;
        if (s_load_one(var, text, field, err, errsize) != 0)
            return -1;
    }
    return 0;
}

void config_print_help(FILE *out, const char *service, const config_var_t *vars,
                       size_t count)
{
    if (service)
        fprintf(out, "eqms-%s is configured by environment variables:\n\n", service);
    for (size_t i = 0; i < count; i++) {
        const config_var_t *var = &vars[i];
        fprintf(out, "  %-24s %s\n", var->name, var->help);
        if (var->type == CONFIG_INT)
            fprintf(out, "  %-24s allowed %ld..%ld\n", "", var->min, var->max);
        else if (var->type == CONFIG_ENUM)
            fprintf(out, "  %-24s allowed %s\n", "", var->choices);
        fprintf(out, "  %-24s default: %s\n", "",
                var->fallback ? (*var->fallback ? var->fallback : "(empty)")
                              : "(required)");
    }
}
