/*  sn_digest: one SMS that summarises several alerts (sn_digest.h). */
#include "sn_digest.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *branch, *window, *teller;
    size_t count;
    size_t first;               /* index of its first alert: ties keep arrival order */
} s_place_t;

static const char *s_str(json_t *facts, const char *key)
{
    const char *v = json_string_value(json_object_get(facts, key));
    return v ? v : "";
}

static int s_cmp(const void *a, const void *b)
{
    const s_place_t *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* Appends printf-style text to a growing string; false on failure. */
static bool s_append(char **out, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool s_append(char **out, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *piece = NULL;
    int n = vasprintf(&piece, fmt, ap);
    va_end(ap);
    if (n < 0)
        return false;
    char *grown = realloc(*out, *len + (size_t) n + 1);
    if (grown) {
        memcpy(grown + *len, piece, (size_t) n + 1);
        *len += (size_t) n;
        *out = grown;
    }
    free(piece);
    return grown != NULL;
}

char *sn_digest_text(const sn_digest_item_t *items, size_t n)
{
    s_place_t *places = calloc(n ? n : 1, sizeof *places);
    if (!places)
        return NULL;
    size_t nplaces = 0;
    char first_time[32] = "", last_time[32] = "";
    bool all_unsatisfied = true, ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        all_unsatisfied &= strcmp(items[i].kind, "unsatisfied_rating") == 0;
        json_t *facts = items[i].facts_json ? json_loads(items[i].facts_json, 0, NULL) : NULL;
        const char *branch = s_str(facts, "branch"), *window = s_str(facts, "window"),
                   *teller = s_str(facts, "teller"), *time = s_str(facts, "time");
        if (*time && (!*first_time || strcmp(time, first_time) < 0))
            snprintf(first_time, sizeof first_time, "%s", time);
        if (*time && strcmp(time, last_time) > 0)
            snprintf(last_time, sizeof last_time, "%s", time);
        size_t k = 0;
        while (k < nplaces && !(strcmp(places[k].branch, branch) == 0
                                && strcmp(places[k].window, window) == 0
                                && strcmp(places[k].teller, teller) == 0))
            k++;
        if (k == nplaces) {
            places[k] = (s_place_t) { strdup(branch), strdup(window), strdup(teller), 0, i };
            ok = places[k].branch && places[k].window && places[k].teller;
            nplaces++;
        }
        places[k].count++;
        json_decref(facts);
    }
    qsort(places, nplaces, sizeof *places, s_cmp);
    bool one_branch = true;
    for (size_t k = 1; k < nplaces; k++)
        one_branch &= strcmp(places[k].branch, places[0].branch) == 0;
    size_t branches = 0;
    for (size_t k = 0; k < nplaces; k++) {
        bool seen = false;
        for (size_t j = 0; j < k && !seen; j++)
            seen = strcmp(places[j].branch, places[k].branch) == 0;
        branches += !seen;
    }
    char *out = NULL;
    size_t len = 0;
    /* times "YYYY-MM-DD HH:MM": the minutes only */
    const char *from = strlen(first_time) > 11 ? first_time + 11 : first_time;
    const char *to = strlen(last_time) > 11 ? last_time + 11 : last_time;
    char span[2 * sizeof first_time + 4] = "";
    if (*from && strcmp(from, to) != 0)
        snprintf(span, sizeof span, " %s-%s", from, to);
    else if (*from)
        snprintf(span, sizeof span, " %s", from);
    const char *what = all_unsatisfied ? "不满意评价" : "告警";
    const char *head = nplaces ? places[0].branch : "";
    if (ok && one_branch)
        ok = s_append(&out, &len, "【服务评价汇总】%s%s 共%zu条%s：", head, span, n, what);
    else if (ok)
        ok = s_append(&out, &len, "【服务评价汇总】%s等%zu个网点%s 共%zu条%s：", head, branches,
                      span, n, what);
    for (size_t k = 0; k < nplaces && ok; k++) {
        const s_place_t *p = &places[k];
        ok = s_append(&out, &len, "%s%s%s%s%s%s×%zu", k ? "；" : "",
                      one_branch ? "" : p->branch, p->window, *p->window ? "号窗口" : "",
                      *p->teller ? " " : "", p->teller, p->count);
    }
    for (size_t k = 0; k < nplaces; k++) {
        free(places[k].branch);
        free(places[k].window);
        free(places[k].teller);
    }
    free(places);
    if (!ok) {
        free(out);
        return NULL;
    }
    return out;
}
