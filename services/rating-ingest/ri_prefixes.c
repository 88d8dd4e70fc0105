/*  ri_prefixes: a worker's share of the organisation tree (ri_prefixes.h). */
#include "ri_prefixes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/envelope.h"

struct ri_prefixes_t {
    char *text;                        /* the list, cut into the prefixes */
    char *prefix[RI_PREFIXES_MAX];     /* into `text` */
    size_t count;
    char *ltree;                       /* "{a,b}" */
};

/* For one prefix: the nearest branch strictly above it ("" none) and
 * whether a node has exactly its path. */
static const char *s_check_sql =
    "SELECT coalesce((SELECT path::text FROM org_node "
    "                 WHERE kind = 'branch' AND path @> $1::ltree AND path <> $1::ltree "
    "                 ORDER BY nlevel(path) LIMIT 1), ''), "
    "       EXISTS (SELECT 1 FROM org_node WHERE path = $1::ltree)";

ri_prefixes_t *ri_prefixes_new(const char *list, char *err, size_t errsize)
{
    ri_prefixes_t *self = calloc(1, sizeof *self);
    if (!self)
        goto nomem;
    self->text = strdup(list ? list : "");
    /* Room for "{", every prefix with a separator, "}" and NUL. */
    self->ltree = malloc(strlen(self->text ? self->text : "") + 3);
    if (!self->text || !self->ltree)
        goto nomem;
    strcpy(self->ltree, "{");
    char *save = NULL;
    for (char *p = strtok_r(self->text, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        while (*p == ' ')
            p++;
        size_t n = strlen(p);
        while (n > 0 && p[n - 1] == ' ')
            p[--n] = '\0';
        if (n == 0)
            continue;
        if (!envelope_org_path_valid(p, n)) {
            snprintf(err, errsize, "EQMS_INGEST_PREFIXES: '%s' is not an org path "
                     "(labels of [a-z0-9_] separated by dots)", p);
            goto err;
        }
        if (self->count == RI_PREFIXES_MAX) {
            snprintf(err, errsize, "EQMS_INGEST_PREFIXES: more than %d prefixes",
                     RI_PREFIXES_MAX);
            goto err;
        }
        self->prefix[self->count++] = p;
        if (self->ltree[1])
            strcat(self->ltree, ",");
        strcat(self->ltree, p);
    }
    strcat(self->ltree, "}");
    return self;
nomem:
    snprintf(err, errsize, "EQMS_INGEST_PREFIXES: out of memory");
err:
    ri_prefixes_destroy(&self);
    return NULL;
}

void ri_prefixes_destroy(ri_prefixes_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ri_prefixes_t *self = *self_p;
    free(self->text);
    free(self->ltree);
    free(self);
    *self_p = NULL;
}

int ri_prefixes_check(const ri_prefixes_t *self, pgstore_t *pg, char *err,
                      size_t errsize)
{
    for (size_t i = 0; i < self->count; i++) {
        const char *params[] = { self->prefix[i] };
        PGresult *res = pgstore_query(pg, s_check_sql, 1, params);
        if (!res || PQntuples(res) != 1) {
            PQclear(res);
            snprintf(err, errsize, "EQMS_INGEST_PREFIXES: could not read org_node");
            return -2;
        }
        const char *branch = PQgetvalue(res, 0, 0);
        bool exists = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
        int rc = 0;
        if (branch[0]) {
            snprintf(err, errsize, "EQMS_INGEST_PREFIXES: '%s' is below branch %s: a "
                     "prefix must be a branch or a node above branches, because one "
                     "gateway's events (one branch) must all go to one worker",
                     self->prefix[i], branch);
            rc = -1;
        } else if (!exists) {
            snprintf(err, errsize, "EQMS_INGEST_PREFIXES: '%s' names no org_node (a "
                     "prefix must be a branch or a node above branches)", self->prefix[i]);
            rc = -1;
        }
        PQclear(res);
        if (rc != 0)
            return rc;
    }
    return 0;
}

size_t ri_prefixes_count(const ri_prefixes_t *self)
{
    return self->count;
}

const char *ri_prefixes_get(const ri_prefixes_t *self, size_t i)
{
    return i < self->count ? self->prefix[i] : NULL;
}

bool ri_prefixes_take(const ri_prefixes_t *self, const char *path)
{
    if (self->count == 0)
        return true;
    for (size_t i = 0; i < self->count; i++) {
        size_t n = strlen(self->prefix[i]);
        if (strncmp(path, self->prefix[i], n) == 0 && (path[n] == '\0' || path[n] == '.'))
            return true;
    }
    return false;
}

const char *ri_prefixes_ltree(const ri_prefixes_t *self)
{
    return self->ltree;
}

int ri_prefixes_subscribe(const ri_prefixes_t *self, bus_t *sub, const char *const *types,
                          size_t ntypes)
{
    for (size_t t = 0; t < ntypes; t++) {
        for (size_t i = 0; i < (self->count ? self->count : 1); i++) {
            char topic[ENVELOPE_TOPIC_MAX + 2];
            snprintf(topic, sizeof topic, "%s.%s", types[t],
                     self->count ? self->prefix[i] : "");
            if (bus_subscribe(sub, topic) != 0)
                return -1;
        }
    }
    return 0;
}
