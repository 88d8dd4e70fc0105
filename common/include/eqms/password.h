/*  password: users' passwords, their rules and their argon2id hashes
 *  (libsodium). docs/security.md says why these numbers.
 *
 *  Text is first normalised to Unicode NFKC, so that the same password
 *  typed through another input method (full-width digits and letters of a
 *  Chinese IME, a precomposed or a combining accent) is the same password;
 *  rules and hashes apply to the normalised text.
 *
 *  Rules: 10..128 characters, no control characters, at least 3 of the 4
 *  kinds (lowercase letters, uppercase letters, digits, other characters:
 *  punctuation, spaces, Chinese characters...), not the login name
 *  (compared without case).
 *
 *  Hashes: argon2id, t = PASSWORD_OPSLIMIT passes over PASSWORD_MEMLIMIT
 *  bytes, one lane: about 90 ms on one core of the 2-core reference server.
 *  At most PASSWORD_CONCURRENCY hashes run at once (the others wait), which
 *  bounds their memory to PASSWORD_CONCURRENCY * PASSWORD_MEMLIMIT and
 *  leaves the other work a core however many logins arrive. The hash text
 *  ("$argon2id$v=19$m=65536,t=2,p=1$salt$hash") carries its parameters, so
 *  older hashes still verify after the numbers change and
 *  password_needs_rehash tells when to store a new one.
 *
 *  Thread-safe.
 */
#ifndef EQMS_PASSWORD_H
#define EQMS_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_MIN_CHARS   10
#define PASSWORD_MAX_CHARS   128
#define PASSWORD_OPSLIMIT    2                    /* libsodium's OPSLIMIT_INTERACTIVE */
#define PASSWORD_MEMLIMIT    (64u * 1024 * 1024)  /* libsodium's MEMLIMIT_INTERACTIVE */
#define PASSWORD_CONCURRENCY 2                    /* hashes at once: the cores */
#define PASSWORD_HASH_SIZE   128                  /* crypto_pwhash_STRBYTES, NUL included */
#define PASSWORD_REASON_SIZE 256

/* Checks `password` against the rules for the user `login` (NULL: no
 * login to compare). 0 if it may be used; -1 with what is wrong or missing
 * in `reason` (e.g. "must mix at least 3 of 4 kinds of characters: add
 * uppercase letters or other characters such as punctuation"). */
int password_check_rules(const char *password, const char *login,
                         char reason[PASSWORD_REASON_SIZE]);

/* Writes the argon2id hash of `password` (NUL-terminated, any length up to
 * PASSWORD_MAX_CHARS characters after normalisation; the rules are not
 * checked here). 0, or -1 if the text is not valid UTF-8 or too long, or
 * memory ran out (logged). */
int password_hash(const char *password, char hash[PASSWORD_HASH_SIZE]);

/* 1 if `password` matches `hash`, 0 if it does not, -1 if `hash` is no
 * argon2 hash or memory ran out (logged). With `hash` NULL (no such user)
 * it spends the time of a verification and answers 0, so that the time of
 * a refusal does not tell which logins exist. */
int password_verify(const char *hash, const char *password);

/* True if `hash` was made with other parameters than today's (or is no
 * argon2id hash): after a successful verification, store a new hash. */
bool password_needs_rehash(const char *hash);

#endif
