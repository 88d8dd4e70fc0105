/*  alerttpl: the text of an alert SMS (alerttpl.h). */
#include "eqms/alerttpl.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NAME_MAX 32

static const char *const s_unsatisfied[] = {
    "branch", "window", "teller", "employee_no", "ticket", "service", "option", "time",
    "unsatisfied_today", "rated_today", "ratio_today", NULL
};

static const char *const s_share[] = {
    "branch", "scope", "unsatisfied", "rated", "share", "minutes", "time", NULL
};

static const char *const s_device[] = {
    "branch", "window", "serial", "minutes", "since", "time", NULL
};

static const char *const s_queue[] = {
    "branch", "queue", "waiting", "longest", "max_waiting", "max_wait", "time", NULL
};

static const char *const s_idle[] = {
    "branch", "window", "state", "minutes", "waiting", "teller", "time", NULL
};

static const char *const s_overrun[] = {
    "branch", "window", "ticket", "service", "minutes", "standard", "teller", "time", NULL
};

static const char *const s_star[] = {
    "branch", "subject", "period", "rated", "share", "first", "time", NULL
};

static const alerttpl_kind_t s_kinds[] = {
    { "unsatisfied_rating", s_unsatisfied,
      "【服务评价】{branch} {window}号窗口 {teller}(工号{employee_no}) {time} 收到不满意评价"
      "「{option}」，票号{ticket}，业务{service}。该柜员今日不满意{unsatisfied_today}次，"
      "共评价{rated_today}次({ratio_today})。", false },
    { "unsatisfied_share", s_share,
      "【服务预警】{branch}{scope} 近{minutes}分钟评价{rated}次，不满意{unsatisfied}次"
      "({share})，超过预警线。{time}", false },
    { "device_offline", s_device,
      "【设备离线】{branch}{window}号窗口评价器{serial}自{since}起离线{minutes}分钟。{time}",
      false },
    { "queue_waiting", s_queue,
      "【排队预警】{branch}{queue}等候{waiting}人，最长已等{longest}分钟"
      "(预警线{max_waiting}人/{max_wait}分钟)。{time}", false },
    { "window_idle", s_idle,
      "【窗口空闲】{branch}{window}号窗口{state}已{minutes}分钟，{waiting}位客户在等候其业务。"
      "{teller} {time}", false },
    { "service_overrun", s_overrun,
      "【办理超时】{branch}{window}号窗口{ticket}号({service})已办理{minutes}分钟，"
      "超过标准{standard}分钟。{teller} {time}", false },
    { "five_star", s_star,
      "【表扬】{branch}{subject}{period}满意率{share}(评价{rated}次)，{first}评为五星。{time}",
      true },
};

const alerttpl_kind_t *alerttpl_kind(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof s_kinds / sizeof s_kinds[0]; i++)
        if (strcmp(s_kinds[i].name, kind) == 0)
            return &s_kinds[i];
    return NULL;
}

const char *const *alerttpl_names(const char *kind)
{
    const alerttpl_kind_t *k = alerttpl_kind(kind);
    return k ? k->names : NULL;
}

static bool s_known(const char *const *names, const char *name)
{
    for (; *names; names++)
        if (strcmp(*names, name) == 0)
            return true;
    return false;
}

/* Walks the template: calls emit for each run of literal text and each
 * placeholder name. -1 with the reason on a malformed template. */
typedef int (s_emit_fn)(void *arg, const char *text, size_t len, bool placeholder);

static int s_walk(const char *text, s_emit_fn *emit, void *arg,
                  char reason[ALERTTPL_REASON_SIZE])
{
    const char *p = text;
    while (*p) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            if (emit(arg, p, 1, false) != 0)
                return -1;
            p += 2;
        } else if (*p == '{') {
            const char *end = strchr(p + 1, '}');
            const char *open = strchr(p + 1, '{');
            if (!end || (open && open < end)) {
                snprintf(reason, ALERTTPL_REASON_SIZE, "unclosed '{' at character %zu",
                         (size_t) (p - text) + 1);
                return -1;
            }
            if (emit(arg, p + 1, (size_t) (end - p - 1), true) != 0) {
                snprintf(reason, ALERTTPL_REASON_SIZE, "unknown placeholder {%.*s}",
                         (int) (end - p - 1 < S_NAME_MAX ? end - p - 1 : S_NAME_MAX), p + 1);
                return -1;
            }
            p = end + 1;
        } else if (*p == '}') {
            snprintf(reason, ALERTTPL_REASON_SIZE, "stray '}' at character %zu (write }})",
                     (size_t) (p - text) + 1);
            return -1;
        } else {
            size_t n = strcspn(p, "{}");
            if (emit(arg, p, n, false) != 0)
                return -1;
            p += n;
        }
    }
    return 0;
}

static int s_check_one(void *arg, const char *text, size_t len, bool placeholder)
{
    if (!placeholder)
        return 0;
    char name[S_NAME_MAX + 1];
    if (len == 0 || len > S_NAME_MAX)
        return -1;
    memcpy(name, text, len);
    name[len] = '\0';
    return s_known(arg, name) ? 0 : -1;
}

int alerttpl_check(const char *kind, const char *text, char reason[ALERTTPL_REASON_SIZE])
{
    const char *const *names = alerttpl_names(kind);
    if (!names) {
        snprintf(reason, ALERTTPL_REASON_SIZE, "unknown alert kind");
        return -1;
    }
    if (!text || !*text) {
        snprintf(reason, ALERTTPL_REASON_SIZE, "empty template");
        return -1;
    }
    return s_walk(text, s_check_one, (void *) names, reason);
}

typedef struct {
    char *out;
    size_t len, cap;
    const alerttpl_field_t *fields;
    size_t nfields;
    bool failed;
} s_render_t;

static void s_append(s_render_t *r, const char *text, size_t len)
{
    if (r->failed)
        return;
    if (r->len + len + 1 > r->cap) {
        size_t cap = (r->len + len + 1) * 2;
        char *grown = realloc(r->out, cap);
        if (!grown) {
            r->failed = true;
            return;
        }
        r->out = grown;
        r->cap = cap;
    }
    memcpy(r->out + r->len, text, len);
    r->len += len;
    r->out[r->len] = '\0';
}

static int s_render_one(void *arg, const char *text, size_t len, bool placeholder)
{
    s_render_t *r = arg;
    if (!placeholder) {
        s_append(r, text, len);
        return 0;
    }
    for (size_t i = 0; i < r->nfields; i++) {
        const alerttpl_field_t *f = &r->fields[i];
        if (strlen(f->name) == len && memcmp(f->name, text, len) == 0 && f->value) {
            s_append(r, f->value, strlen(f->value));
            break;
        }
    }
    return 0;
}

char *alerttpl_render(const char *text, const alerttpl_field_t *fields, size_t nfields)
{
    s_render_t r = { .fields = fields, .nfields = nfields };
    char reason[ALERTTPL_REASON_SIZE];
    s_append(&r, "", 0);
    if (s_walk(text ? text : "", s_render_one, &r, reason) != 0 || r.failed) {
        free(r.out);
        return NULL;
    }
    return r.out;
}
