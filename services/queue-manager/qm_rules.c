/*  qm_rules: work profiles, counted rotation, names and numbers (qm_rules.h). */
#include "qm_rules.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/text.h"

qm_err_t qm_refuse(char reason[QM_REASON_SIZE], qm_err_t err, const char *fmt, ...)
{
    if (reason) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, QM_REASON_SIZE, fmt, ap);
        va_end(ap);
    }
    return err;
}

void qm_profile_init(qm_profile_t *profile)
{
    memset(profile, 0, sizeof *profile);
    profile->strategy = QM_STRATEGY_STRICT;
    profile->weights[QM_CLASS_VIP] = 2;
    profile->weights[QM_CLASS_ORDINARY] = 1;
}

int qm_profile_check(const qm_profile_t *profile, char reason[QM_REASON_SIZE])
{
    if (!profile)
        return qm_refuse(reason, QM_ERR_INVALID, "no profile"), -1;
    if (profile->strategy != QM_STRATEGY_STRICT
        && profile->strategy != QM_STRATEGY_LONGEST_WAIT
        && profile->strategy != QM_STRATEGY_WEIGHTED)
        return qm_refuse(reason, QM_ERR_INVALID, "unknown strategy %d", (int) profile->strategy), -1;
    if (profile->service_count > QM_PROFILE_MAX)
        return qm_refuse(reason, QM_ERR_INVALID, "profile lists %zu services, limit %d",
                         profile->service_count, QM_PROFILE_MAX), -1;
    for (size_t i = 0; i < profile->service_count; i++) {
        if (profile->services[i] <= 0)
            return qm_refuse(reason, QM_ERR_INVALID, "profile service id %lld is not positive",
                             (long long) profile->services[i]), -1;
        for (size_t j = 0; j < i; j++)
            if (profile->services[j] == profile->services[i])
                return qm_refuse(reason, QM_ERR_INVALID, "profile lists service %lld twice",
                                 (long long) profile->services[i]), -1;
    }
    for (int k = 0; k < QM_ROTATION_KEYS; k++)
        if (profile->weights[k] < 1 || profile->weights[k] > 100)
            return qm_refuse(reason, QM_ERR_INVALID, "weight of %s is %d, must be 1..100",
                             qm_class_name((qm_class_t) k), profile->weights[k]), -1;
    return 0;
}

/* Appends the n bytes at `text` to buf[*used..size) with room for the NUL.
 * 0, or -1 if they do not fit. */
static int s_put(char *buf, size_t size, size_t *used, const char *text, size_t n)
{
    if (n >= size - *used)
        return -1;
    memcpy(buf + *used, text, n);
    *used += n;
    buf[*used] = '\0';
    return 0;
}

static int s_put_int(char *buf, size_t size, size_t *used, int64_t value)
{
    char digits[TEXT_I64_SIZE];
    return s_put(buf, size, used, digits, text_i64(digits, value));
}

int qm_profile_format(const qm_profile_t *profile, char *buf, size_t size)
{
    if (!profile || !buf || size == 0)
        return -1;
    /* Written once per window action reply: without snprintf. */
    const char *strategy = qm_strategy_name(profile->strategy);
    size_t used = 0;
    buf[0] = '\0';
    if (s_put(buf, size, &used, strategy, strlen(strategy)) != 0
        || s_put(buf, size, &used, ";vip=", 5) != 0
        || s_put_int(buf, size, &used, profile->weights[QM_CLASS_VIP]) != 0
        || s_put(buf, size, &used, ";ordinary=", 10) != 0
        || s_put_int(buf, size, &used, profile->weights[QM_CLASS_ORDINARY]) != 0
        || s_put(buf, size, &used, ";services=", 10) != 0)
        return -1;
    for (size_t i = 0; i < profile->service_count && i < QM_PROFILE_MAX; i++)
        if ((i && s_put(buf, size, &used, ",", 1) != 0)
            || s_put_int(buf, size, &used, profile->services[i]) != 0)
            return -1;
    return 0;
}

/* Parses a decimal integer in [lo, hi] starting at *p; advances *p. */
static int s_parse_int(const char **p, long long lo, long long hi, long long *out)
{
    if (**p < '0' || **p > '9')
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(*p, &end, 10);
    if (errno || v < lo || v > hi)
        return -1;
    *p = end;
    *out = v;
    return 0;
}

/* Expects literal `word` at *p; advances *p. */
static int s_expect(const char **p, const char *word)
{
    size_t len = strlen(word);
    if (strncmp(*p, word, len) != 0)
        return -1;
    *p += len;
    return 0;
}

int qm_profile_parse(const char *text, qm_profile_t *profile, char reason[QM_REASON_SIZE])
{
    return qm_profile_read(text, profile, reason) == 0 ? qm_profile_check(profile, reason) : -1;
}

int qm_profile_read(const char *text, qm_profile_t *profile, char reason[QM_REASON_SIZE])
{
    if (!text || !profile)
        return qm_refuse(reason, QM_ERR_INVALID, "no profile text"), -1;
    qm_profile_init(profile);
    const char *semi = strchr(text, ';');
    if (!semi || semi - text >= 16)
        return qm_refuse(reason, QM_ERR_INVALID, "profile text has no strategy"), -1;
    char name[16];
    memcpy(name, text, (size_t) (semi - text));
    name[semi - text] = '\0';
    if (qm_strategy_parse(name, &profile->strategy) != 0)
        return qm_refuse(reason, QM_ERR_INVALID, "unknown strategy '%s'", name), -1;
    const char *p = semi + 1;
    long long v;
    if (s_expect(&p, "vip=") || s_parse_int(&p, 1, 100, &v))
        return qm_refuse(reason, QM_ERR_INVALID, "profile text: bad vip weight"), -1;
    profile->weights[QM_CLASS_VIP] = (int) v;
    if (s_expect(&p, ";ordinary=") || s_parse_int(&p, 1, 100, &v))
        return qm_refuse(reason, QM_ERR_INVALID, "profile text: bad ordinary weight"), -1;
    profile->weights[QM_CLASS_ORDINARY] = (int) v;
    if (s_expect(&p, ";services="))
        return qm_refuse(reason, QM_ERR_INVALID, "profile text: no services"), -1;
    while (*p) {
        if (profile->service_count == QM_PROFILE_MAX)
            return qm_refuse(reason, QM_ERR_INVALID, "profile text: more than %d services",
                             QM_PROFILE_MAX), -1;
        if (profile->service_count && s_expect(&p, ","))
            return qm_refuse(reason, QM_ERR_INVALID, "profile text: expected ','"), -1;
        if (s_parse_int(&p, 1, INT64_MAX, &v))
            return qm_refuse(reason, QM_ERR_INVALID, "profile text: bad service id"), -1;
        profile->services[profile->service_count++] = v;
    }
    return 0;
}

int qm_rotation_pick(const int weights[QM_ROTATION_KEYS],
                     const int counts[QM_ROTATION_KEYS],
                     const bool available[QM_ROTATION_KEYS])
{
    static const int order[QM_ROTATION_KEYS] = { QM_CLASS_VIP, QM_CLASS_ORDINARY };
    for (int i = 0; i < QM_ROTATION_KEYS; i++)
        if (available[order[i]] && counts[order[i]] < weights[order[i]])
            return order[i];
    /* every available key has had its turns: the counters reset */
    for (int i = 0; i < QM_ROTATION_KEYS; i++)
        if (available[order[i]])
            return order[i];
    return -1;
}

void qm_rotation_note(const int weights[QM_ROTATION_KEYS],
                      int counts[QM_ROTATION_KEYS], int key)
{
    if (key < 0 || key >= QM_ROTATION_KEYS)
        return;
    if (counts[key] >= weights[key])
        for (int k = 0; k < QM_ROTATION_KEYS; k++)
            counts[k] = 0;
    counts[key]++;
}

bool qm_prefix_valid(const char *prefix)
{
    if (!prefix)
        return false;
    size_t len = strlen(prefix);
    if (len < 1 || len > QM_PREFIX_SIZE - 1)
        return false;
    for (size_t i = 0; i < len; i++)
        if (prefix[i] < 'A' || prefix[i] > 'Z')
            return false;
    return true;
}

int qm_number_format(const char *prefix, int number_max, int n, char out[QM_NUMBER_SIZE])
{
    if (!qm_prefix_valid(prefix) || number_max < 1 || number_max > 9999 || n < 1
        || n > number_max)
        return -1;
    int len = snprintf(out, QM_NUMBER_SIZE, "%s%0*d", prefix, number_max > 999 ? 4 : 3, n);
    return len > 0 && len < QM_NUMBER_SIZE ? 0 : -1;
}

static const char *s_class_names[] = { "ordinary", "vip", "green" };
static const char *s_strategy_names[] = { "strict", "longest_wait", "weighted" };
static const char *s_err_names[] = {
    "ok", "invalid", "unknown_service", "unknown_window", "unknown_ticket",
    "wrong_day", "queue_full", "window_closed", "window_paused", "window_state",
    "no_staff", "staff_state", "no_ticket", "no_current", "ticket_state",
    "wrong_window", "not_served", "recall_limit", "busy", "sequence", "no_memory",
    "closed", "issuing_stopped"
};

const char *qm_class_name(qm_class_t klass)
{
    return (unsigned) klass < QM_CLASS_COUNT ? s_class_names[klass] : "?";
}

const char *qm_strategy_name(qm_strategy_t strategy)
{
    return (unsigned) strategy < 3 ? s_strategy_names[strategy] : "?";
}

const char *qm_err_name(qm_err_t err)
{
    return (unsigned) err < sizeof s_err_names / sizeof s_err_names[0] ? s_err_names[err]
                                                                        : "?";
}

int qm_class_parse(const char *name, qm_class_t *klass)
{
    for (int i = 0; name && i < QM_CLASS_COUNT; i++)
        if (strcmp(name, s_class_names[i]) == 0) {
            *klass = (qm_class_t) i;
            return 0;
        }
    return -1;
}

int qm_strategy_parse(const char *name, qm_strategy_t *strategy)
{
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, s_strategy_names[i]) == 0) {
            *strategy = (qm_strategy_t) i;
            return 0;
        }
    return -1;
}
