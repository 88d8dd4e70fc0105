/*  httpstatic: a directory of built web files behind httpd (httpstatic.h). */
#include "eqms/httpstatic.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "eqms/log.h"
#include "eqms/problem.h"

#define S_ASSETS       "assets/"
#define S_INDEX        "index.html"
#define S_CACHE_ASSET  "public, max-age=31536000, immutable"
#define S_CACHE_OTHER  "no-cache"
/* a page may load only this origin's scripts, styles, images and fonts,
 * talk only to this origin, and be framed by nobody; it may play audio it
 * fetched itself (the hall display's voice, a blob: URL of the page's own) */
#define S_CSP_PAGE                                                                   \
    "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "             \
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct httpstatic_t {
    char root[PATH_MAX];            /* resolved, no trailing "/" */
    char api_prefix[64];
};

typedef struct {
    const char *ext;
    const char *type;
    bool packed;                    /* already compressed: never gzip */
} s_type_t;

static const s_type_t s_types[] = {
    { "html", "text/html; charset=utf-8", false },
    { "js", "text/javascript; charset=utf-8", false },
    { "mjs", "text/javascript; charset=utf-8", false },
    { "css", "text/css; charset=utf-8", false },
    { "json", "application/json", false },
    { "map", "application/json", false },
    { "webmanifest", "application/manifest+json", false },
    { "txt", "text/plain; charset=utf-8", false },
    { "svg", "image/svg+xml", false },
    { "ico", "image/vnd.microsoft.icon", false },
    { "wasm", "application/wasm", false },
    { "ttf", "font/ttf", false },
    { "png", "image/png", true },
    { "jpg", "image/jpeg", true },
    { "jpeg", "image/jpeg", true },
    { "gif", "image/gif", true },
    { "webp", "image/webp", true },
    { "woff", "font/woff", true },
    { "woff2", "font/woff2", true },
    { "mp3", "audio/mpeg", true },
    { "ogg", "audio/ogg", true },
    { "wav", "audio/wav", false },
    { "gz", "application/gzip", true },
    { "zip", "application/zip", true },
};

static const s_type_t *s_type_of(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash + 1 : name, '.');
    if (!dot)
        return NULL;
    for (size_t i = 0; i < sizeof s_types / sizeof s_types[0]; i++)
        if (strcasecmp(dot + 1, s_types[i].ext) == 0)
            return &s_types[i];
    return NULL;
}

const char *httpstatic_content_type(const char *name)
{
    const s_type_t *t = s_type_of(name);
    return t ? t->type : "application/octet-stream";
}

/* Checks one decoded segment (`len` bytes at `seg`): 0, or the status. */
static unsigned s_segment(const char *seg, size_t len, const char **reason)
{
    if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.')) {
        *reason = "a path segment \".\" or \"..\"";
        return 400;
    }
    if (len > 0 && seg[0] == '.') {
        *reason = "hidden files are not served";
        return 404;
    }
    return 0;
}

unsigned httpstatic_resolve(const char *target, char *rel, size_t size, const char **reason)
{
    *reason = NULL;
    rel[0] = '\0';
    if (!target || target[0] != '/') {
        *reason = "the request target is not an absolute path";
        return 400;
    }
    size_t out = 0, seg = 0;
    for (const char *p = target + 1; *p && *p != '?' && *p != '#'; p++) {
        unsigned char c = (unsigned char) *p;
        bool encoded = false;
        if (c == '%') {
            size_t n = 0;
            if (!isxdigit((unsigned char) p[1]) || !isxdigit((unsigned char) p[2])
                || sodium_hex2bin(&c, 1, p + 1, 2, NULL, &n, NULL) != 0 || n != 1) {
                *reason = "a malformed percent escape";
                return 400;
            }
            p += 2;
            encoded = true;
        }
        if (c == '\0' || c < 0x20 || c == 0x7f) {
            *reason = "a NUL or control character in the path";
            return 400;
        }
        if (c == '\\' || (encoded && c == '/')) {
            *reason = "a backslash or an encoded \"/\" in the path";
            return 400;
        }
        if (c == '/') {
            unsigned st = s_segment(rel + seg, out - seg, reason);
            if (st)
                return st;
            if (out == seg)
                continue;           /* "//": an empty segment is no segment */
        }
        if (out + 2 > size) {
            *reason = "the path is too long";
            return 404;
        }
        rel[out++] = (char) c;
        rel[out] = '\0';
        if (c == '/')
            seg = out;
    }
    return s_segment(rel + seg, out - seg, reason);
}

httpstatic_t *httpstatic_new(const char *dir, const char *api_prefix)
{
    httpstatic_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    struct stat st;
    if (!dir || !realpath(dir, self->root) || stat(self->root, &st) != 0
        || !S_ISDIR(st.st_mode) || access(self->root, R_OK | X_OK) != 0) {
        log_error("static_dir", "dir=\"%s\" reason=\"not a readable directory\"",
                  dir ? dir : "(null)");
        free(self);
        return NULL;
    }
    size_t len = strlen(self->root);
    if (len > 1 && self->root[len - 1] == '/')
        self->root[len - 1] = '\0';
    snprintf(self->api_prefix, sizeof self->api_prefix, "%s", api_prefix ? api_prefix : "");
    return self;
}

void httpstatic_destroy(httpstatic_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

/* Reads the regular file `rel` inside the root: its bytes (heap, taken by
 * the caller) and length; NULL when there is none (missing, a directory,
 * too large, unreadable), with *refused set when the name is there but
 * leads out of the directory (a symbolic link). */
static char *s_read(const httpstatic_t *self, const char *rel, size_t *len, bool *refused)
{
    char path[PATH_MAX], real[PATH_MAX];
    *refused = false;
    if (snprintf(path, sizeof path, "%s/%s", self->root, rel) >= (int) sizeof path
        || !realpath(path, real))
        return NULL;
    size_t n = strlen(self->root);
    if (strncmp(real, self->root, n) != 0 || (real[n] != '/' && strcmp(self->root, "/") != 0)) {
        *refused = true;            /* a symbolic link out of the directory */
        return NULL;
    }
    int fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    char *body = NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t) st.st_size <= HTTPSTATIC_FILE_MAX
        && (body = malloc((size_t) st.st_size + 1))) {
        size_t got = 0;
        ssize_t r = 1;
        while (got < (size_t) st.st_size
               && (r = read(fd, body + got, (size_t) st.st_size - got)) > 0)
            got += (size_t) r;
        if (r < 0) {
            free(body);
            body = NULL;
        }
        else {
            body[got] = '\0';
            *len = got;
        }
    }
    close(fd);
    return body;
}

void httpstatic_handle(void *ctx, const httpd_req_t *req, httpd_reply_t *reply)
{
    const httpstatic_t *self = ctx;
    const char *path = httpd_req_path(req);
    if (*self->api_prefix && strncmp(path, self->api_prefix, strlen(self->api_prefix)) == 0) {
        problem_replyf(reply, 404, path, "not found");
        return;
    }
    char rel[HTTPSTATIC_PATH_MAX];
    const char *reason;
    unsigned status = httpstatic_resolve(httpd_req_target(req), rel, sizeof rel, &reason);
    if (status) {
        problem_replyf(reply, status, path, "%s", reason);
        return;
    }
    size_t len = 0;
    const char *slash = strrchr(rel, '/');
    const char *last = slash ? slash + 1 : rel;
    bool refused = false;
    char *body = *last ? s_read(self, rel, &len, &refused) : NULL;
    const char *name = rel;
    if (!body) {
        if (refused || strncmp(rel, S_ASSETS, strlen(S_ASSETS)) == 0 || strchr(last, '.')) {
            problem_replyf(reply, 404, path, "no such file");
            return;
        }
        name = S_INDEX;             /* a route of the app: its page */
        body = s_read(self, S_INDEX, &len, &refused);
        if (!body) {
            problem_replyf(reply, 404, path, "no such file (and no " S_INDEX ")");
            return;
        }
    }
    const s_type_t *type = s_type_of(name);
    httpd_reply_bytes(reply, 200, type ? type->type : "application/octet-stream", &body, len);
    reply->identity = type && type->packed;
    httpd_reply_header(reply, "Cache-Control",
                       strncmp(name, S_ASSETS, strlen(S_ASSETS)) == 0 ? S_CACHE_ASSET
                                                                      : S_CACHE_OTHER);
    if (type && strncmp(type->type, "text/html", 9) == 0)
        httpd_reply_header(reply, "Content-Security-Policy", S_CSP_PAGE);
}
