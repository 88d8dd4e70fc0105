/*  failshim: a test-only LD_PRELOAD library that makes syscalls fail on
 *  purpose and keeps the image a disk would hold after a power loss.
 *
 *  Built as <build>/testlib/eqms-failshim.so (never linked into a product
 *  binary). It interposes fdatasync, fsync, ftruncate(64), open(64), rename
 *  and realloc, and acts only on files whose path contains
 *  EQMS_FAILSHIM_MATCH (default "outbox.journal"), except realloc (any).
 *
 *  Failures are armed per call name ("fdatasync", "fsync", "open",
 *  "realloc"): skip the next `skip` calls, then fail `count` (EIO for the
 *  syscalls, ENOMEM and NULL for realloc). Armed two ways:
 *    - in-process: eqms_failshim_arm(call, skip, count), looked up with
 *      dlsym(RTLD_DEFAULT, ...) by a test that re-executes itself under the
 *      preload;
 *    - from outside: lines "<call> <skip> <count>" in the file named by
 *      EQMS_FAILSHIM_CTL, read (and removed) at the next matching call.
 *
 *  Durable image (EQMS_FAILSHIM_IMAGE=1): at every successful fdatasync or
 *  fsync of a matching file, "<path>.durable" is rewritten with the file's
 *  content as a disk would hold it: bytes whose sync failed earlier stay
 *  lost (zeros), as Linux marks such pages clean without writing them. A
 *  test "pulls the power" by killing the process and copying the image
 *  over the file. ftruncate forgets lost bytes past the new end; rename of
 *  a matching file carries its image along.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define S_CALLS 4
static const char *const s_call_names[S_CALLS] = { "fdatasync", "fsync", "open", "realloc" };
enum { S_FDATASYNC, S_FSYNC, S_OPEN, S_REALLOC };

static atomic_uint s_skip[S_CALLS];
static atomic_uint s_fail[S_CALLS];
static atomic_uint s_failed_total[S_CALLS];
static atomic_uint s_calls_total[S_CALLS];

/* Lost byte ranges per file (the ones whose sync failed), for the image. */
#define S_FILES 8
#define S_RANGES 64
typedef struct {
    char path[PATH_MAX];
    off_t synced;                  /* size at the last sync, successful or not */
    off_t lost_from[S_RANGES], lost_to[S_RANGES];
    int nlost;
} s_file_t;
static s_file_t s_files[S_FILES];
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;

/* --- arming ------------------------------------------------------------- */
void eqms_failshim_arm(const char *call, unsigned skip, unsigned count);
unsigned eqms_failshim_failed(const char *call);
unsigned eqms_failshim_calls(const char *call);

void eqms_failshim_arm(const char *call, unsigned skip, unsigned count)
{
    for (int i = 0; i < S_CALLS; i++)
        if (strcmp(call, s_call_names[i]) == 0) {
            atomic_store(&s_skip[i], skip);
            atomic_store(&s_fail[i], count);
        }
}

/* How many calls of `call` were made to fail so far. */
unsigned eqms_failshim_failed(const char *call)
{
    for (int i = 0; i < S_CALLS; i++)
        if (strcmp(call, s_call_names[i]) == 0)
            return atomic_load(&s_failed_total[i]);
    return 0;
}

/* How many calls of `call` the shim saw (on matching files, but realloc:
 * every call). */
unsigned eqms_failshim_calls(const char *call)
{
    for (int i = 0; i < S_CALLS; i++)
        if (strcmp(call, s_call_names[i]) == 0)
            return atomic_load(&s_calls_total[i]);
    return 0;
}

/* Reads and removes the control file, if there is one. */
static void s_read_ctl(void)
{
    const char *ctl = getenv("EQMS_FAILSHIM_CTL");
    if (!ctl || !*ctl)
        return;
    int (*real_open)(const char *, int, ...) = dlsym(RTLD_NEXT, "open");
    int fd = real_open(ctl, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[512];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    unlink(ctl);
    if (n <= 0)
        return;
    buf[n] = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[32];
        unsigned skip, count;
        if (sscanf(line, "%31s %u %u", name, &skip, &count) == 3)
            eqms_failshim_arm(name, skip, count);
    }
}

/* True if this call of kind i is to fail now. */
static bool s_should_fail(int i)
{
    s_read_ctl();
    if (atomic_load(&s_fail[i]) == 0)
        return false;
    unsigned skip = atomic_load(&s_skip[i]);
    if (skip > 0) {
        atomic_store(&s_skip[i], skip - 1);
        return false;
    }
    atomic_fetch_sub(&s_fail[i], 1);
    atomic_fetch_add(&s_failed_total[i], 1);
    return true;
}

/* --- paths ---------------------------------------------------------------- */
static bool s_matches(const char *path)
{
    const char *match = getenv("EQMS_FAILSHIM_MATCH");
    if (!match || !*match)
        match = "outbox.journal";
    if (!path || !strstr(path, match))
        return false;
    /* never the shim's own files */
    size_t n = strlen(path);
    return !(n > 8 && strcmp(path + n - 8, ".durable") == 0)
           && !(n > 12 && strcmp(path + n - 12, ".durable.tmp") == 0);
}

/* The path of an open fd ("" if unknown or deleted). */
static void s_fd_path(int fd, char out[PATH_MAX])
{
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, PATH_MAX - 1);
    out[n > 0 ? n : 0] = 0;
    if (n > 10 && strcmp(out + n - 10, " (deleted)") == 0)
        out[0] = 0;
}

static s_file_t *s_file(const char *path, bool create)
{
    for (int i = 0; i < S_FILES; i++)
        if (s_files[i].path[0] && strcmp(s_files[i].path, path) == 0)
            return &s_files[i];
    if (!create)
        return NULL;
    for (int i = 0; i < S_FILES; i++)
        if (!s_files[i].path[0]) {
            memset(&s_files[i], 0, sizeof s_files[i]);
            snprintf(s_files[i].path, PATH_MAX, "%s", path);
            return &s_files[i];
        }
    return NULL;
}

static bool s_imaging(void)
{
    const char *v = getenv("EQMS_FAILSHIM_IMAGE");
    return v && strcmp(v, "1") == 0;
}

/* Rewrites <path>.durable: the file as the disk holds it. */
static void s_write_image(const s_file_t *f, int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return;
    char *buf = malloc((size_t) st.st_size + 1);
    if (!buf)
        return;
    ssize_t got = pread(fd, buf, (size_t) st.st_size, 0);
    if (got < 0)
        got = 0;
    for (int r = 0; r < f->nlost; r++)
        for (off_t o = f->lost_from[r]; o < f->lost_to[r] && o < got; o++)
            buf[o] = 0;
    char img[PATH_MAX + 16], tmp[PATH_MAX + 32];
    snprintf(img, sizeof img, "%s.durable", f->path);
    snprintf(tmp, sizeof tmp, "%s.durable.tmp", f->path);
    int (*real_open)(const char *, int, ...) = dlsym(RTLD_NEXT, "open");
    int out = real_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out >= 0) {
        ssize_t w = write(out, buf, (size_t) got);
        close(out);
        if (w == got) {
            int (*real_rename)(const char *, const char *) = dlsym(RTLD_NEXT, "rename");
            real_rename(tmp, img);
        }
    }
    free(buf);
}

/* A sync of fd by `real`, failing on purpose when armed. */
static int s_sync(int kind, int fd, int (*real)(int))
{
    char path[PATH_MAX];
    s_fd_path(fd, path);
    if (!s_matches(path))
        return real(fd);
    atomic_fetch_add(&s_calls_total[kind], 1);
    pthread_mutex_lock(&s_lock);
    s_file_t *f = s_file(path, true);
    struct stat st;
    off_t size = fstat(fd, &st) == 0 ? st.st_size : 0;
    int rc;
    if (s_should_fail(kind)) {
        /* the kernel gives up on the dirty pages: never on disk */
        if (f && f->nlost < S_RANGES && size > f->synced) {
            f->lost_from[f->nlost] = f->synced;
            f->lost_to[f->nlost] = size;
            f->nlost++;
        }
        errno = EIO;
        rc = -1;
    } else {
        rc = real(fd);
        if (rc == 0 && f && s_imaging())
            s_write_image(f, fd);
    }
    if (f)
        f->synced = size;
    pthread_mutex_unlock(&s_lock);
    return rc;
}

/* --- interposed calls ------------------------------------------------------ */
int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int)) dlsym(RTLD_NEXT, "fdatasync");
    return s_sync(S_FDATASYNC, fd, real);
}

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int)) dlsym(RTLD_NEXT, "fsync");
    return s_sync(S_FSYNC, fd, real);
}

static int s_ftruncate(const char *name, int fd, off_t length)
{
    int (*real)(int, off_t) = (int (*)(int, off_t)) dlsym(RTLD_NEXT, name);
    char path[PATH_MAX];
    s_fd_path(fd, path);
    int rc = real(fd, length);
    if (rc == 0 && s_matches(path)) {
        pthread_mutex_lock(&s_lock);
        s_file_t *f = s_file(path, false);
        for (int r = 0; f && r < f->nlost; r++) {
            if (f->lost_to[r] > length)
                f->lost_to[r] = length;
            if (f->lost_from[r] > length)
                f->lost_from[r] = length;
        }
        if (f && f->synced > length)
            f->synced = length;
        pthread_mutex_unlock(&s_lock);
    }
    return rc;
}

int ftruncate(int fd, off_t length)
{
    return s_ftruncate("ftruncate", fd, length);
}

/* what code built with _FILE_OFFSET_BITS=64 calls */
int ftruncate64(int fd, off_t length)
{
    return s_ftruncate("ftruncate64", fd, length);
}

static int s_open(const char *name, const char *path, int flags, mode_t mode)
{
    int (*real)(const char *, int, ...) = dlsym(RTLD_NEXT, name);
    if (s_matches(path))
        atomic_fetch_add(&s_calls_total[S_OPEN], 1);
    if (s_matches(path) && s_should_fail(S_OPEN)) {
        errno = EIO;
        return -1;
    }
    return real(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t) va_arg(ap, int);
        va_end(ap);
    }
    return s_open("open", path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t) va_arg(ap, int);
        va_end(ap);
    }
    return s_open("open64", path, flags, mode);
}

int rename(const char *from, const char *to)
{
    static int (*real)(const char *, const char *);
    if (!real)
        real = (int (*)(const char *, const char *)) dlsym(RTLD_NEXT, "rename");
    int rc = real(from, to);
    if (rc == 0 && s_matches(to)) {
        char a[2 * PATH_MAX + 2], b[PATH_MAX];
        char ra[2 * PATH_MAX + 16], rb[PATH_MAX + 16];
        /* bookkeeping is by absolute path, as /proc/self/fd shows it; the
         * shim expects both names in one directory (a write-and-rename) */
        if (realpath(to, b)) {
            char dir[PATH_MAX];
            snprintf(dir, sizeof dir, "%s", b);
            char *slash = strrchr(dir, '/');
            const char *base = strrchr(from, '/');
            if (slash)
                *slash = 0;
            snprintf(a, sizeof a, "%s/%s", dir, base ? base + 1 : from);
            pthread_mutex_lock(&s_lock);
            s_file_t *old = s_file(b, false);
            if (old)
                old->path[0] = 0;
            s_file_t *f = s_file(a, false);
            if (f)
                snprintf(f->path, PATH_MAX, "%s", b);
            pthread_mutex_unlock(&s_lock);
            snprintf(ra, sizeof ra, "%s.durable", a);
            snprintf(rb, sizeof rb, "%s.durable", b);
            real(ra, rb);
        }
    }
    return rc;
}

void *realloc(void *ptr, size_t size)
{
    static void *(*real)(void *, size_t);
    if (!real)
        real = (void *(*)(void *, size_t)) dlsym(RTLD_NEXT, "realloc");
    atomic_fetch_add(&s_calls_total[S_REALLOC], 1);
    if (atomic_load(&s_fail[S_REALLOC]) && s_should_fail(S_REALLOC)) {
        errno = ENOMEM;
        return NULL;
    }
    return real(ptr, size);
}
