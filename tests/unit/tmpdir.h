/*  tmpdir: a fresh directory under /tmp for unit tests that touch files. */
#ifndef EQMS_TEST_TMPDIR_H
#define EQMS_TEST_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

/* Creates /tmp/<name>.XXXXXX; returns its malloc'd path, or NULL. */
static inline char *tmpdir_new(const char *name)
{
    char *dir = malloc(256);
    if (!dir)
        return NULL;
    snprintf(dir, 256, "/tmp/%s.XXXXXX", name);
    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

static inline int s_tmpdir_remove_one(const char *path, const struct stat *st, int flag,
                                      struct FTW *ftw)
{
    (void) st, (void) flag, (void) ftw;
    return remove(path);
}

/* Removes the directory and all it holds, frees the path, sets it to NULL.
 * Returns 0, or -1 if something could not be removed. */
static inline int tmpdir_remove(char **dir_p)
{
    if (!dir_p || !*dir_p)
        return 0;
    int rc = nftw(*dir_p, s_tmpdir_remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(*dir_p);
    *dir_p = NULL;
    return rc == 0 ? 0 : -1;
}

/* Copies the file `from` to `to` (made or truncated). 0, or -1. */
static inline int tmpdir_copy(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    FILE *out = in ? fopen(to, "wb") : NULL;
    char buf[8192];
    size_t n;
    int rc = in && out ? 0 : -1;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
        rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
    if (in && ferror(in))
        rc = -1;
    if (in)
        fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

#endif
