/*  password: rules and argon2id hashes of users' passwords (password.h). */
#include "eqms/password.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include "eqms/log.h"

_Static_assert(PASSWORD_HASH_SIZE == crypto_pwhash_STRBYTES, "hash size");
_Static_assert(PASSWORD_OPSLIMIT >= crypto_pwhash_OPSLIMIT_MIN, "opslimit");
_Static_assert(PASSWORD_MEMLIMIT >= crypto_pwhash_MEMLIMIT_MIN, "memlimit");

/* Input longer than this many bytes is refused before normalising: 128
 * characters of 4 bytes each, with room for what NFKC folds together. */
#define S_INPUT_MAX   1024
/* UTF-16 units after NFKC, which may expand a character up to 18 times. */
#define S_UNITS_MAX   (S_INPUT_MAX * 4)
#define S_NORMAL_MAX  (S_UNITS_MAX * 3)

static pthread_once_t s_once = PTHREAD_ONCE_INIT;
static bool s_ready;                      /* libsodium and the slots are set up */
static sem_t s_slots;                     /* hashes that may run at once */
static char s_dummy[PASSWORD_HASH_SIZE];  /* verified against for unknown users */

static void s_init(void)
{
    if (sodium_init() < 0 || sem_init(&s_slots, 0, PASSWORD_CONCURRENCY) != 0) {
        log_error("password_init_failed", NULL);
        return;
    }
    /* a hash of random text, with today's parameters: what a real one costs */
    unsigned char secret[32];
    char text[sizeof secret * 2 + 1];
    randombytes_buf(secret, sizeof secret);
    sodium_bin2hex(text, sizeof text, secret, sizeof secret);
    if (crypto_pwhash_str(s_dummy, text, strlen(text), PASSWORD_OPSLIMIT,
                          PASSWORD_MEMLIMIT) != 0) {
        log_error("password_init_failed", "reason=\"out of memory\"");
        return;
    }
    s_ready = true;
}

static bool s_setup(void)
{
    pthread_once(&s_once, s_init);
    return s_ready;
}

/* Takes one of the PASSWORD_CONCURRENCY slots, waiting for it. */
static void s_slot_take(void)
{
    while (sem_wait(&s_slots) != 0 && errno == EINTR)
        ;
}

/* --- normalising ------------------------------------------------------------------- */

typedef struct {
    UChar units[S_UNITS_MAX];   /* NFKC, UTF-16 */
    int32_t nunits;
    char utf8[S_NORMAL_MAX];    /* NFKC, UTF-8: what is hashed */
    int32_t nbytes;
} s_normal_t;

/* NFKC of `text`. 0, or -1 if it is not valid UTF-8 or too long. */
static int s_normalize(const char *text, s_normal_t *out)
{
    size_t len = strlen(text);
    if (len > S_INPUT_MAX)
        return -1;
    UChar src[S_INPUT_MAX];
    int32_t nsrc = 0;
    UErrorCode err = U_ZERO_ERROR;
    u_strFromUTF8(src, S_INPUT_MAX, &nsrc, text, (int32_t) len, &err);
    const UNormalizer2 *nfkc = U_SUCCESS(err) ? unorm2_getNFKCInstance(&err) : NULL;
    if (nfkc)
        out->nunits = unorm2_normalize(nfkc, src, nsrc, out->units, S_UNITS_MAX, &err);
    if (U_SUCCESS(err))
        u_strToUTF8(out->utf8, S_NORMAL_MAX, &out->nbytes, out->units, out->nunits, &err);
    /* a warning such as "not NUL-terminated" is a failure here too */
    return U_SUCCESS(err) && err == U_ZERO_ERROR && out->nbytes < S_NORMAL_MAX ? 0 : -1;
}

/* --- rules ---------------------------------------------------------------------------- */

enum { S_LOWER, S_UPPER, S_DIGIT, S_OTHER, S_KINDS };

static const char *const s_kind_names[S_KINDS] = {
    "lowercase letters", "uppercase letters", "digits",
    "other characters such as punctuation, spaces or Chinese characters",
};

static int s_refuse(char reason[PASSWORD_REASON_SIZE], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int s_refuse(char reason[PASSWORD_REASON_SIZE], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, PASSWORD_REASON_SIZE, fmt, ap);
    va_end(ap);
    return -1;
}

/* True if the normalised password is the login, compared without case. */
static bool s_is_login(const s_normal_t *pw, const char *login)
{
    s_normal_t *name = malloc(sizeof *name);
    bool same = false;
    if (name && s_normalize(login, name) == 0) {
        UErrorCode err = U_ZERO_ERROR;
        same = u_strCaseCompare(pw->units, pw->nunits, name->units, name->nunits,
                                U_FOLD_CASE_DEFAULT, &err) == 0 && U_SUCCESS(err);
    }
    free(name);
    return same;
}

/* A buffer for the normalised text, wiped and freed. */
static s_normal_t *s_normal_new(void)
{
    s_normal_t *self = malloc(sizeof *self);
    if (!self)
        log_error("password_failed", "reason=\"out of memory\"");
    return self;
}

static void s_normal_destroy(s_normal_t **self_p)
{
    if (*self_p)
        sodium_memzero(*self_p, sizeof **self_p);
    free(*self_p);
    *self_p = NULL;
}

/* The rules for the normalised text. */
static int s_check(const s_normal_t *pw, const char *login, char reason[PASSWORD_REASON_SIZE])
{
    int chars = 0;
    bool kinds[S_KINDS] = { false };
    for (int32_t i = 0; i < pw->nunits;) {
        UChar32 c;
        U16_NEXT(pw->units, i, pw->nunits, c);
        chars++;
        if (u_iscntrl(c))   /* C0, C1, format characters, line and paragraph separators */
            return s_refuse(reason, "must not contain control characters (tabs and line "
                                    "breaks included)");
        if (u_islower(c))
            kinds[S_LOWER] = true;
        else if (u_isupper(c) || u_istitle(c))
            kinds[S_UPPER] = true;
        else if (u_isdigit(c))
            kinds[S_DIGIT] = true;
        else
            kinds[S_OTHER] = true;
    }
    if (chars < PASSWORD_MIN_CHARS || chars > PASSWORD_MAX_CHARS)
        return s_refuse(reason, "must be %d..%d characters long, not %d", PASSWORD_MIN_CHARS,
                        PASSWORD_MAX_CHARS, chars);
    int have = 0;
    for (int k = 0; k < S_KINDS; k++)
        have += kinds[k];
    if (have < 3) {
        /* "add uppercase letters or digits", "add two of ..." */
        int n = snprintf(reason, PASSWORD_REASON_SIZE,
                         "must mix at least 3 of 4 kinds of characters: add %s",
                         have == 1 ? "two of " : "");
        size_t used = n > 0 ? (size_t) n : 0;
        int missing = S_KINDS - have, listed = 0;
        for (int k = 0; k < S_KINDS && used < PASSWORD_REASON_SIZE; k++) {
            if (kinds[k])
                continue;
            listed++;
            const char *sep = listed == 1 ? "" : listed == missing ? " or " : ", ";
            n = snprintf(reason + used, PASSWORD_REASON_SIZE - used, "%s%s", sep,
                         s_kind_names[k]);
            used += n > 0 ? (size_t) n : 0;
        }
        return -1;
    }
    if (login && s_is_login(pw, login))
        return s_refuse(reason, "must not be the login name");
    return 0;
}

int password_check_rules(const char *password, const char *login,
                         char reason[PASSWORD_REASON_SIZE])
{
    s_normal_t *pw = s_normal_new();
    if (!pw)
        return s_refuse(reason, "could not be checked (out of memory)");
    int rc = s_normalize(password, pw) == 0
                 ? s_check(pw, login, reason)
                 : s_refuse(reason, "must be valid UTF-8 text of %d..%d characters",
                            PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS);
    s_normal_destroy(&pw);
    return rc;
}

/* --- hashes ----------------------------------------------------------------------------- */

int password_hash(const char *password, char hash[PASSWORD_HASH_SIZE])
{
    s_normal_t *pw = s_setup() ? s_normal_new() : NULL;
    if (!pw || s_normalize(password, pw) != 0) {
        s_normal_destroy(&pw);
        return -1;
    }
    s_slot_take();
    int rc = crypto_pwhash_str(hash, pw->utf8, (unsigned long long) pw->nbytes,
                               PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT);
    sem_post(&s_slots);
    s_normal_destroy(&pw);
    if (rc != 0) {
        log_error("password_hash_failed", "reason=\"out of memory\"");
        return -1;
    }
    return 0;
}

/* True for the hash forms libsodium verifies. */
static bool s_argon2(const char *hash)
{
    return strnlen(hash, PASSWORD_HASH_SIZE) < PASSWORD_HASH_SIZE
           && (strncmp(hash, "$argon2id$", 10) == 0 || strncmp(hash, "$argon2i$", 9) == 0);
}

int password_verify(const char *hash, const char *password)
{
    bool known = hash != NULL;
    s_normal_t *pw = s_setup() ? s_normal_new() : NULL;
    if (!known)
        hash = s_dummy;
    if (!pw || !s_argon2(hash)) {
        s_normal_destroy(&pw);
        return -1;
    }
    /* text that cannot be a password is checked anyway, as nothing */
    if (s_normalize(password, pw) != 0)
        pw->nbytes = 0;
    s_slot_take();
    errno = 0;
    int rc = crypto_pwhash_str_verify(hash, pw->utf8, (unsigned long long) pw->nbytes);
    int why = errno;
    sem_post(&s_slots);
    s_normal_destroy(&pw);
    if (rc == 0)
        return known ? 1 : 0;
    if (why == EINVAL)   /* libsodium's word for "does not match" */
        return 0;
    log_error("password_verify_failed", "reason=\"malformed hash or out of memory\"");
    return -1;
}

bool password_needs_rehash(const char *hash)
{
    if (!s_setup() || !hash || strncmp(hash, "$argon2id$", 10) != 0)
        return true;
    return crypto_pwhash_str_needs_rehash(hash, PASSWORD_OPSLIMIT, PASSWORD_MEMLIMIT) != 0;
}
