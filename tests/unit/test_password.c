/*  Unit tests: password, the rules (with the reasons a user reads) and the
 *  argon2id hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"
#include "eqms/password.h"

static void accepted(const char *password, const char *login)
{
    char reason[PASSWORD_REASON_SIZE] = "";
    if (password_check_rules(password, login, reason) != 0)
        fail_msg("refused '%s': %s", password, reason);
}

static void refused(const char *password, const char *login, const char *expected)
{
    char reason[PASSWORD_REASON_SIZE] = "";
    if (password_check_rules(password, login, reason) == 0)
        fail_msg("accepted '%s'", password);
    if (strcmp(reason, expected) != 0)
        fail_msg("for '%s'\n  got      %s\n  expected %s", password, reason, expected);
}

static void test_rules_length(void **state)
{
    (void) state;
    accepted("Abcdefgh12", "ana");                     /* exactly 10 */
    refused("Abcdefg12", "ana", "must be 10..128 characters long, not 9");
    refused("", NULL, "must be 10..128 characters long, not 0");
    char text[200];
    memset(text, 'a', 125);
    strcpy(text + 125, "B1-");                         /* exactly 128 */
    accepted(text, NULL);
    strcpy(text + 125, "B1-x");
    refused(text, NULL, "must be 10..128 characters long, not 129");
    /* characters, not bytes: 8 Chinese characters are 24 bytes */
    refused("营业部营业部营", NULL, "must be 10..128 characters long, not 7");
    accepted("营业部的密码Ab12", NULL);
    /* counted after NFKC: the ligature "ﬃ" is three letters */
    accepted("\xef\xac\x83" "Abc1234", NULL);
}

static void test_rules_kinds(void **state)
{
    (void) state;
    refused("abcdefghijkl", NULL,
            "must mix at least 3 of 4 kinds of characters: add two of uppercase letters, "
            "digits or other characters such as punctuation, spaces or Chinese characters");
    refused("abcdefgh1234", NULL,
            "must mix at least 3 of 4 kinds of characters: add uppercase letters or other "
            "characters such as punctuation, spaces or Chinese characters");
    refused("ABCDEFGH-+!?", NULL,
            "must mix at least 3 of 4 kinds of characters: add lowercase letters or digits");
    accepted("abcdefgh12-+", NULL);                    /* no uppercase: 3 of 4 */
    accepted("correct horse Battery", NULL);           /* a space is another kind */
    accepted("ΑΒΓΔΕαβγδε12", NULL);                    /* Greek letters have case too */
    accepted("满意满意满意abc1", NULL);                 /* Chinese is "other" */
    refused("满意满意满意满意满意", NULL,
            "must mix at least 3 of 4 kinds of characters: add two of lowercase letters, "
            "uppercase letters or digits");
}

static void test_rules_other(void **state)
{
    (void) state;
    const char *control = "must not contain control characters (tabs and line breaks included)";
    refused("Abcdefgh12\t", NULL, control);
    refused("Abcdefgh12\n", NULL, control);
    refused("Abcdefgh\xc2\x85" "12", NULL, control);     /* U+0085 */
    refused("Abcdefgh\xe2\x80\xa8" "12", NULL, control); /* U+2028 */
    refused("Abcdefgh\xff" "12", NULL, "must be valid UTF-8 text of 10..128 characters");
    refused("Alice.Smith1", "alice.smith1", "must not be the login name");
    refused("ALICE.SMITH1", "Alice.Smith1", "must not be the login name");
    /* full-width letters of an IME are the same name after NFKC */
    refused("Ａｌｉｃｅ．Ｓｍｉｔｈ１", "alice.smith1", "must not be the login name");
    accepted("Alice.Smith1", "alice.smith");
    accepted("Alice.Smith1", NULL);
}

static void test_hash_and_verify(void **state)
{
    (void) state;
    char hash[PASSWORD_HASH_SIZE];
    assert_int_equal(password_hash("Correct-Horse7", hash), 0);
    assert_non_null(strstr(hash, "$argon2id$v=19$m=65536,t=2,p=1$"));
    assert_int_equal(password_verify(hash, "Correct-Horse7"), 1);
    assert_int_equal(password_verify(hash, "correct-Horse7"), 0);
    assert_int_equal(password_verify(hash, ""), 0);
    assert_int_equal(password_verify(hash, "Correct-Horse7\xff"), 0);   /* no UTF-8: nothing */
    assert_false(password_needs_rehash(hash));
    /* the same text as another input method types it */
    assert_int_equal(password_hash("Caf\xc3\xa9-Ｐａｓｓ１", hash), 0);   /* é precomposed */
    assert_int_equal(password_verify(hash, "Cafe\xcc\x81-Pass1"), 1);    /* e + U+0301 */
    /* salted: the same password, another hash */
    char again[PASSWORD_HASH_SIZE];
    assert_int_equal(password_hash("Cafe\xcc\x81-Pass1", again), 0);
    assert_string_not_equal(hash, again);
    /* not a password */
    assert_int_equal(password_hash("bad \xc3", hash), -1);
}

static void test_unknown_user_and_bad_hashes(void **state)
{
    (void) state;
    assert_int_equal(password_verify(NULL, "Correct-Horse7"), 0);
    assert_int_equal(password_verify(NULL, ""), 0);
    assert_int_equal(password_verify("", "x"), -1);
    assert_int_equal(password_verify("$2b$10$abcdefghijklmnopqrstuv", "x"), -1);   /* bcrypt */
    assert_int_equal(password_verify("$argon2d$v=19$m=65536,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
                                     "x"), -1);
    assert_int_equal(password_verify("$argon2id$v=19$m=65536,t=2,p=1$bad", "x"), -1);
    assert_true(password_needs_rehash(NULL));
    assert_true(password_needs_rehash("garbage"));
    assert_true(password_needs_rehash("$argon2id$v=19$m=65536,t=2,p=1$bad"));
}

/* A hash made with weaker parameters (an older release's) still verifies
 * and asks for a new one. */
static void test_older_parameters(void **state)
{
    (void) state;
    char hash[crypto_pwhash_STRBYTES];
    const char *pw = "Correct-Horse7";
    assert_int_equal(crypto_pwhash_str(hash, pw, strlen(pw), 1, 8192), 0);
    assert_int_equal(password_verify(hash, pw), 1);
    assert_int_equal(password_verify(hash, "Correct-Horse8"), 0);
    assert_true(password_needs_rehash(hash));
    assert_int_equal(crypto_pwhash_argon2i_str(hash, pw, strlen(pw), 3, 8192), 0);
    assert_int_equal(password_verify(hash, pw), 1);
    assert_true(password_needs_rehash(hash));
}

typedef struct {
    char password[32];
    char hash[PASSWORD_HASH_SIZE];
    int hashed, verified;
} job_t;

static void *s_hash_job(void *arg)
{
    job_t *job = arg;
    job->hashed = password_hash(job->password, job->hash);
    job->verified = password_verify(job->hash, job->password);
    return NULL;
}

/* More threads than slots: every one gets its answer. */
static void test_concurrent(void **state)
{
    (void) state;
    enum { N = 4 };
    pthread_t threads[N];
    job_t jobs[N];
    for (int i = 0; i < N; i++) {
        snprintf(jobs[i].password, sizeof jobs[i].password, "Thread-%d-Pass", i);
        assert_int_equal(pthread_create(&threads[i], NULL, s_hash_job, &jobs[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(jobs[i].hashed, 0);
        assert_int_equal(jobs[i].verified, 1);
        assert_int_equal(password_verify(jobs[i].hash, jobs[(i + 1) % N].password), 0);
    }
}

int main(void)
{
    log_init("test_password", LOG_LEVEL_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_length),
        cmocka_unit_test(test_rules_kinds),
        cmocka_unit_test(test_rules_other),
        cmocka_unit_test(test_hash_and_verify),
        cmocka_unit_test(test_unknown_user_and_bad_hashes),
        cmocka_unit_test(test_older_parameters),
        cmocka_unit_test(test_concurrent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
