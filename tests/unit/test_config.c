/*  Unit tests: config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/config.h"

typedef struct {
    char name[8];
    long port;
    int flag;
    int level;
    char endpoint[64];
} cfg_t;

static const config_var_t vars[] = {
    { "EQMS_T_NAME", CONFIG_STRING, "abc", offsetof(cfg_t, name), 8, 0, 0, NULL, "a name" },
    { "EQMS_T_PORT", CONFIG_INT, "9550", offsetof(cfg_t, port), 0, 1, 65535, NULL, "a port" },
    { "EQMS_T_FLAG", CONFIG_BOOL, "no", offsetof(cfg_t, flag), 0, 0, 0, NULL, "a flag" },
    { "EQMS_T_LEVEL", CONFIG_ENUM, "info", offsetof(cfg_t, level), 0, 0, 0,
      "debug|info|warn|error", "a level" },
    { "EQMS_T_EP", CONFIG_ENDPOINT, "tcp://127.0.0.1:5550", offsetof(cfg_t, endpoint), 64,
      0, 0, NULL, "an endpoint" },
};
#define NVARS (sizeof vars / sizeof vars[0])

static int reset(void **state)
{
    (void) state;
    const char *names[] = { "EQMS_T_NAME", "EQMS_T_PORT", "EQMS_T_FLAG", "EQMS_T_LEVEL",
                            "EQMS_T_EP", "EQMS_T_REQ" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
    return 0;
}

static void test_defaults(void **state)
{
    (void) state;
    cfg_t cfg;
    char err[256];
    assert_int_equal(config_load(vars, NVARS, &cfg, err, sizeof err), 0);
    assert_string_equal(cfg.name, "abc");
    assert_int_equal(cfg.port, 9550);
    assert_int_equal(cfg.flag, 0);
    assert_int_equal(cfg.level, 1);
    assert_string_equal(cfg.endpoint, "tcp://127.0.0.1:5550");
}

static void test_values_from_environment(void **state)
{
    (void) state;
    cfg_t cfg;
    char err[256];
    setenv("EQMS_T_NAME", "bus", 1);
    setenv("EQMS_T_PORT", "1", 1);
    setenv("EQMS_T_FLAG", "Yes", 1);
    setenv("EQMS_T_LEVEL", "error", 1);
    setenv("EQMS_T_EP", "ipc:///tmp/x", 1);
    assert_int_equal(config_load(vars, NVARS, &cfg, err, sizeof err), 0);
    assert_string_equal(cfg.name, "bus");
    assert_int_equal(cfg.port, 1);
    assert_int_equal(cfg.flag, 1);
    assert_int_equal(cfg.level, 3);
    assert_string_equal(cfg.endpoint, "ipc:///tmp/x");
}

/* Sets one variable to a bad value; the error must name it and what is allowed. */
static void expect_rejected(const char *name, const char *value, const char *allowed)
{
    cfg_t cfg;
    char err[256] = "";
    reset(NULL);
    setenv(name, value, 1);
    assert_int_equal(config_load(vars, NVARS, &cfg, err, sizeof err), -1);
    assert_non_null(strstr(err, name));
    assert_non_null(strstr(err, allowed));
}

static void test_bad_values_name_variable_and_allowed(void **state)
{
    (void) state;
    expect_rejected("EQMS_T_PORT", "abc", "allowed 1..65535");
    expect_rejected("EQMS_T_PORT", "70000", "allowed 1..65535");
    expect_rejected("EQMS_T_PORT", "0", "allowed 1..65535");
    expect_rejected("EQMS_T_PORT", "12x", "allowed 1..65535");
    expect_rejected("EQMS_T_PORT", "", "allowed 1..65535");
    expect_rejected("EQMS_T_PORT", "99999999999999999999999", "allowed 1..65535");
    expect_rejected("EQMS_T_FLAG", "maybe", "true/false");
    expect_rejected("EQMS_T_LEVEL", "verbose", "debug|info|warn|error");
    expect_rejected("EQMS_T_LEVEL", "", "debug|info|warn|error");
    expect_rejected("EQMS_T_LEVEL", "inf", "debug|info|warn|error");
    expect_rejected("EQMS_T_NAME", "toolongname", "longer than 7");
    expect_rejected("EQMS_T_NAME", "a\nb", "control characters");
    expect_rejected("EQMS_T_EP", "localhost:5550", "tcp://host:port");
    expect_rejected("EQMS_T_EP", "tcp://host", "tcp://host:port");
    expect_rejected("EQMS_T_EP", "tcp://host:0", "tcp://host:port");
    expect_rejected("EQMS_T_EP", "tcp://:5550", "tcp://host:port");
}

static void test_required_variable(void **state)
{
    (void) state;
    typedef struct { char v[16]; } req_t;
    static const config_var_t req[] = {
        { "EQMS_T_REQ", CONFIG_STRING, NULL, 0, 16, 0, 0, NULL, "must be set" },
    };
    req_t r;
    char err[256];
    assert_int_equal(config_load(req, 1, &r, err, sizeof err), -1);
    assert_non_null(strstr(err, "EQMS_T_REQ: required"));
    setenv("EQMS_T_REQ", "x", 1);
    assert_int_equal(config_load(req, 1, &r, err, sizeof err), 0);
    assert_string_equal(r.v, "x");
}

static void test_help_lists_every_variable(void **state)
{
    (void) state;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    config_print_help(out, "t", vars, NVARS);
    fclose(out);
    for (size_t i = 0; i < NVARS; i++)
        assert_non_null(strstr(text, vars[i].name));
    assert_non_null(strstr(text, "default: 9550"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, reset),
        cmocka_unit_test_setup(test_values_from_environment, reset),
        cmocka_unit_test_setup(test_bad_values_name_variable_and_allowed, reset),
        cmocka_unit_test_setup(test_required_variable, reset),
        cmocka_unit_test_setup(test_help_lists_every_variable, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
