/*  metrics: registry of counters and gauges, Prometheus text exposition. */
#include "eqms/metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_NAME_MAX    64    /* longest metric name after the prefix */
#define METRICS_SERVICE_MAX 32    /* longest service name */
#define METRICS_HELP_MAX    200   /* longest help text */

typedef enum { S_COUNTER, S_GAUGE } s_kind_t;

typedef struct s_entry_t {
    struct s_entry_t *next;
    s_kind_t kind;
    char name[METRICS_NAME_MAX + 1];
    char help[METRICS_HELP_MAX + 1];
    union {
        metrics_counter_t counter;
        metrics_gauge_t gauge;
    } u;
} s_entry_t;

struct metrics_t {
    char prefix[METRICS_SERVICE_MAX + 7];   /* "eqms_<service>_" */
    pthread_mutex_t lock;                   /* guards the list, not values */
    s_entry_t *head;
    s_entry_t *tail;
};

/* A growing text buffer; `failed` sticks after the first allocation error. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
} s_buf_t;

static void s_buf_printf(s_buf_t *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void s_buf_printf(s_buf_t *buf, const char *fmt, ...)
{
    if (buf->failed)
        return;
    for (;;) {
        size_t room = buf->cap - buf->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf->data + buf->len, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            buf->failed = true;
            return;
        }
        if ((size_t) n < room) {
            buf->len += (size_t) n;
            return;
        }
        size_t cap = buf->cap * 2;
        while (cap - buf->len <= (size_t) n)
            cap *= 2;
        char *data = realloc(buf->data, cap);
        if (!data) {
            buf->failed = true;
            return;
        }
        buf->data = data;
        buf->cap = cap;
    }
}

/* [a-z_][a-z0-9_]*, at most METRICS_NAME_MAX characters. */
static bool s_name_valid(const char *name)
{
    if (!name || !*name || (*name >= '0' && *name <= '9'))
        return false;
    size_t len = 0;
    for (const char *p = name; *p; p++, len++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    }
    return len <= METRICS_NAME_MAX;
}

/* Printable ASCII or UTF-8 bytes, no control characters, bounded length. */
static bool s_help_valid(const char *help)
{
    if (!help || strlen(help) > METRICS_HELP_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *) help; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

metrics_t *metrics_new(const char *service)
{
    metrics_t *self = NULL;
    if (!service || !*service || strlen(service) > METRICS_SERVICE_MAX)
        goto err;
    if (!(service[0] >= 'a' && service[0] <= 'z'))
        goto err;
    for (const char *p = service; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')
              || *p == '_' || *p == '-'))
            goto err;
    }
    self = calloc(1, sizeof *self);
    if (!self)
        goto err;
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        self = NULL;
        goto err;
    }
    /* Prometheus names take no '-': device-gateway -> eqms_device_gateway_ */
    snprintf(self->prefix, sizeof self->prefix, "eqms_%s_", service);
    for (char *p = self->prefix; *p; p++) {
        if (*p == '-')
            *p = '_';
    }
    return self;
err:
    return NULL;
}

void metrics_destroy(metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    metrics_t *self = *self_p;
    s_entry_t *entry = self->head;
    while (entry) {
        s_entry_t *next = entry->next;
        free(entry);
        entry = next;
    }
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

/* Registers a new metric; with `share`, an existing one of the same name and
 * kind is returned instead of refused. */
static s_entry_t *s_register(metrics_t *self, s_kind_t kind, const char *name,
                             const char *help, bool share)
{
    if (!self || !s_name_valid(name) || !s_help_valid(help))
        return NULL;
    if (strcmp(name, "up") == 0)         /* rendered by metrics_render */
        return NULL;
    s_entry_t *entry = calloc(1, sizeof *entry);
    if (!entry)
        return NULL;
    entry->kind = kind;
    strcpy(entry->name, name);           /* lengths checked above */
    strcpy(entry->help, help);
    if (kind == S_COUNTER)
        atomic_init(&entry->u.counter.value, 0);
    else
        atomic_init(&entry->u.gauge.value, 0);

    pthread_mutex_lock(&self->lock);
    for (s_entry_t *it = self->head; it; it = it->next) {
        if (strcmp(it->name, name) == 0) {
            pthread_mutex_unlock(&self->lock);
            free(entry);
            return share && it->kind == kind ? it : NULL;
        }
    }
    if (self->tail)
        self->tail->next = entry;
    else
        self->head = entry;
    self->tail = entry;
    pthread_mutex_unlock(&self->lock);
    return entry;
}

metrics_counter_t *metrics_counter(metrics_t *self, const char *name,
                                   const char *help)
{
    s_entry_t *entry = s_register(self, S_COUNTER, name, help, false);
    return entry ? &entry->u.counter : NULL;
}

metrics_counter_t *metrics_counter_shared(metrics_t *self, const char *name,
                                          const char *help)
{
    s_entry_t *entry = s_register(self, S_COUNTER, name, help, true);
    return entry ? &entry->u.counter : NULL;
}

metrics_gauge_t *metrics_gauge(metrics_t *self, const char *name,
                               const char *help)
{
    s_entry_t *entry = s_register(self, S_GAUGE, name, help, false);
    return entry ? &entry->u.gauge : NULL;
}

char *metrics_render(metrics_t *self)
{
    if (!self)
        return NULL;
    s_buf_t buf = { .data = malloc(1024), .cap = 1024 };
    if (!buf.data)
        return NULL;
    buf.data[0] = '\0';

    s_buf_printf(&buf, "# HELP %sup 1 while the service is running.\n"
                 "# TYPE %sup gauge\n%sup 1\n",
                 self->prefix, self->prefix, self->prefix);
    pthread_mutex_lock(&self->lock);
    for (s_entry_t *e = self->head; e; e = e->next) {
        /* help holds no control characters; escape backslashes as the
         * exposition format asks */
        s_buf_printf(&buf, "# HELP %s%s ", self->prefix, e->name);
        for (const char *p = e->help; *p; p++) {
            const char *q = strchr(p, '\\');
            if (!q) {
                s_buf_printf(&buf, "%s", p);
                break;
            }
            s_buf_printf(&buf, "%.*s\\\\", (int) (q - p), p);
            p = q;
        }
        if (e->kind == S_COUNTER)
            s_buf_printf(&buf, "\n# TYPE %s%s counter\n%s%s %" PRIu64 "\n",
                         self->prefix, e->name, self->prefix, e->name,
                         atomic_load_explicit(&e->u.counter.value,
                                              memory_order_relaxed));
        else
            s_buf_printf(&buf, "\n# TYPE %s%s gauge\n%s%s %" PRId64 "\n",
                         self->prefix, e->name, self->prefix, e->name,
                         atomic_load_explicit(&e->u.gauge.value,
                                              memory_order_relaxed));
    }
    pthread_mutex_unlock(&self->lock);
    if (buf.failed) {
        free(buf.data);
        return NULL;
    }
    return buf.data;
}
