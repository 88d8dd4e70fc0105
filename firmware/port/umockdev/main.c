/*  eqms-devsim: N emulated EQMS rating devices (the real firmware core behind
 *  umockdev USB devices) for tests, `make run` and load.
 *
 *  Start a libusb program (the device gateway) against them in another
 *  process with LD_PRELOAD=libumockdev-preload.so.0 and UMOCKDEV_DIR set to
 *  the directory this prints ("UMOCKDEV_DIR=...") and writes to --dir-file.
 *
 *  Configuration: EQMS_DEVSIM_* variables (--help lists them); each has a
 *  command-line flag that overrides it, e.g. --count 32 --control
 *  tcp://127.0.0.1:5599 --dir-file var/devsim.dir --simulate | --fast.
 */
#include <glib-unix.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "devsim.h"
#include "eqms/config.h"
#include "eqms/log.h"
#include "eqms/service.h"
#include "model.h"

typedef struct {
    long count;
    char control[256];
    char dir_file[512];
    int mode;                     /* 0 manual, 1 simulate, 2 fast */
    char serials[4096];
    char serial_prefix[24];
    long keys;
    char employees[4096];
    char employees_file[512];
    long arrivals_per_hour;
    long service_s;
    char mix[64];
    long not_rated_pct;
    long seed;
    int plug;
    long hold_ms, gap_ms;
    long tick_ms;
    long uptime_start_ms;
    char firmware[16];
} devsim_cfg_t;

#define VAR_S(name, field, def, help) \
    { name, CONFIG_STRING, def, offsetof(devsim_cfg_t, field), \
      sizeof ((devsim_cfg_t *) 0)->field, 0, 0, NULL, help }
#define VAR_I(name, field, def, lo, hi, help) \
    { name, CONFIG_INT, def, offsetof(devsim_cfg_t, field), 0, lo, hi, NULL, help }

static const config_var_t s_vars[] = {
    VAR_I("EQMS_DEVSIM_COUNT", count, "1", 1, DEVSIM_MAX, "emulated devices (--count)"),
    VAR_S("EQMS_DEVSIM_CONTROL", control, "",
          "ZeroMQ REP endpoint of the JSON control socket, empty = none (--control)"),
    VAR_S("EQMS_DEVSIM_DIR_FILE", dir_file, "",
          "file to write the testbed's UMOCKDEV_DIR into when ready (--dir-file)"),
    { "EQMS_DEVSIM_MODE", CONFIG_ENUM, "manual", offsetof(devsim_cfg_t, mode), 0, 0, 0,
      "manual|simulate|fast",
      "manual: keys only from the control socket; simulate: tellers and customers; "
      "fast: press as fast as the firmware allows (--simulate, --fast)" },
    VAR_S("EQMS_DEVSIM_SERIALS", serials, "",
          "comma-separated serials of the devices, else PREFIX-Wnn (--serials)"),
    VAR_S("EQMS_DEVSIM_SERIAL_PREFIX", serial_prefix, "EQ-SIM",
          "serial prefix: device i is PREFIX-W<i+1> (--serial-prefix)"),
    VAR_I("EQMS_DEVSIM_KEYS", keys, "4", 2, 6, "rating keys fitted (--keys)"),
    VAR_S("EQMS_DEVSIM_EMPLOYEES", employees, "",
          "comma-separated employee numbers logging in at device 0,1,..; "
          "default 1001,1002,.. (--employees)"),
    VAR_S("EQMS_DEVSIM_EMPLOYEES_FILE", employees_file, "",
          "file with one employee number a line, instead of EQMS_DEVSIM_EMPLOYEES (--employees-file)"),
    VAR_I("EQMS_DEVSIM_ARRIVALS_PER_HOUR", arrivals_per_hour, "60", 0, 36000,
          "simulate: customers arriving per window and hour, Poisson (--arrivals-per-hour)"),
    VAR_I("EQMS_DEVSIM_SERVICE_S", service_s, "20", 1, 3600,
          "simulate: mean service time in seconds, exponential (--service-s)"),
    VAR_S("EQMS_DEVSIM_MIX", mix, "70,20,7,3",
          "weights of rating keys 1..n, key 1 the best (--mix)"),
    VAR_I("EQMS_DEVSIM_NOT_RATED_PCT", not_rated_pct, "5", 0, 100,
          "percent of customers who leave without rating (--not-rated-pct)"),
    VAR_I("EQMS_DEVSIM_SEED", seed, "0", 0, 2147483647L, "random seed, 0 = random (--seed)"),
    { "EQMS_DEVSIM_PLUG", CONFIG_BOOL, "true", offsetof(devsim_cfg_t, plug), 0, 0, 0, NULL,
      "plug every device in at start (--no-plug)" },
    VAR_I("EQMS_DEVSIM_HOLD_MS", hold_ms, "60", 0, 10000,
          "scripted key press: time held down (--hold-ms)"),
    VAR_I("EQMS_DEVSIM_GAP_MS", gap_ms, "60", 0, 10000,
          "scripted key press: pause after release (--gap-ms)"),
    VAR_I("EQMS_DEVSIM_TICK_MS", tick_ms, "10", 1, 10, "firmware tick period (--tick-ms)"),
    VAR_I("EQMS_DEVSIM_UPTIME_START_MS", uptime_start_ms, "0", 0, 4294967295L,
          "every device's uptime at start, ms: 4294967295 is 1 ms before its 32-bit "
          "uptime wraps (--uptime-start-ms)"),
    VAR_S("EQMS_DEVSIM_FIRMWARE", firmware, "",
          "an older firmware to emulate, MAJOR.MINOR (e.g. 1.1): the hello says it and OUT "
          "reports of types it did not know are rejected as unknown; empty = the core's own "
          "(--firmware)"),
};

/* Flags are another way to set the variables: they become the environment. */
static const struct { const char *flag; const char *var; const char *value; } s_flags[] = {
    { "--count", "EQMS_DEVSIM_COUNT", NULL },
    { "--control", "EQMS_DEVSIM_CONTROL", NULL },
    { "--dir-file", "EQMS_DEVSIM_DIR_FILE", NULL },
    { "--simulate", "EQMS_DEVSIM_MODE", "simulate" },
    { "--fast", "EQMS_DEVSIM_MODE", "fast" },
    { "--serials", "EQMS_DEVSIM_SERIALS", NULL },
    { "--serial-prefix", "EQMS_DEVSIM_SERIAL_PREFIX", NULL },
    { "--keys", "EQMS_DEVSIM_KEYS", NULL },
    { "--employees", "EQMS_DEVSIM_EMPLOYEES", NULL },
    { "--employees-file", "EQMS_DEVSIM_EMPLOYEES_FILE", NULL },
    { "--arrivals-per-hour", "EQMS_DEVSIM_ARRIVALS_PER_HOUR", NULL },
    { "--service-s", "EQMS_DEVSIM_SERVICE_S", NULL },
    { "--mix", "EQMS_DEVSIM_MIX", NULL },
    { "--not-rated-pct", "EQMS_DEVSIM_NOT_RATED_PCT", NULL },
    { "--seed", "EQMS_DEVSIM_SEED", NULL },
    { "--no-plug", "EQMS_DEVSIM_PLUG", "false" },
    { "--hold-ms", "EQMS_DEVSIM_HOLD_MS", NULL },
    { "--gap-ms", "EQMS_DEVSIM_GAP_MS", NULL },
    { "--tick-ms", "EQMS_DEVSIM_TICK_MS", NULL },
    { "--uptime-start-ms", "EQMS_DEVSIM_UPTIME_START_MS", NULL },
    { "--firmware", "EQMS_DEVSIM_FIRMWARE", NULL },
    { "--log-level", "EQMS_LOG_LEVEL", NULL },
};

static int s_flags_to_env(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            continue;
        size_t f = 0;
        while (f < G_N_ELEMENTS(s_flags) && strcmp(argv[i], s_flags[f].flag))
            f++;
        if (f == G_N_ELEMENTS(s_flags)) {
            fprintf(stderr, "eqms-devsim: unknown option %s (--help lists them)\n", argv[i]);
            return -1;
        }
        const char *value = s_flags[f].value;
        if (!value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "eqms-devsim: %s needs a value\n", argv[i]);
                return -1;
            }
            value = argv[++i];
        }
        setenv(s_flags[f].var, value, 1);
    }
    return 0;
}

typedef struct {
    devsim_t *sim;
    model_t *model;
    control_t *control;
    GMainLoop *loop;
} app_t;

static gboolean s_on_tick(gpointer user)
{
    app_t *app = user;
    if (app->control)
        control_poll(app->control);
    if (app->model)
        model_tick(app->model);
    devsim_tick(app->sim);
    return G_SOURCE_CONTINUE;
}

static gboolean s_on_signal(gpointer user)
{
    app_t *app = user;
    log_info("stopping", NULL);
    g_main_loop_quit(app->loop);
    return G_SOURCE_CONTINUE;
}

static int s_write_dir_file(const char *path, const char *dir)
{
    gchar *text = g_strdup_printf("%s\n", dir);
    GError *err = NULL;
    gboolean ok = g_file_set_contents(path, text, -1, &err);   /* temp file + rename */
    g_free(text);
    if (!ok) {
        log_error("dir_file", "path=%s reason=\"%s\"", path, err->message);
        g_error_free(err);
        return -1;
    }
    return 0;
}

/* Employee numbers from a file, one a line, joined with commas. */
static char *s_read_employees(const char *path)
{
    gchar *text = NULL;
    if (!g_file_get_contents(path, &text, NULL, NULL))
        return NULL;
    gchar **lines = g_strsplit(text, "\n", -1);
    GString *out = g_string_new(NULL);
    for (gchar **l = lines; *l; l++) {
        gchar *s = g_strstrip(*l);
        if (*s && *s != '#')
            g_string_append_printf(out, "%s%s", out->len ? "," : "", s);
    }
    g_strfreev(lines);
    g_free(text);
    return g_string_free(out, FALSE);
}

/* umockdev sends uevents by reading the testbed's sysfs through libudev,
 * which only sees it with the preload library in this process too: start
 * again with it (once). Returns only if that was not possible. */
static void s_reexec_with_preload(char **argv)
{
    static const char lib[] = "libumockdev-preload.so.0";
    if (getenv("EQMS_DEVSIM_PRELOADED"))
        return;
    const char *pre = getenv("LD_PRELOAD");
    gchar *value = pre && *pre ? g_strdup_printf("%s:%s", pre, lib) : g_strdup(lib);
    const char *asan = getenv("ASAN_OPTIONS");
    gchar *asan_value = asan && *asan ? g_strdup_printf("%s:verify_asan_link_order=0", asan)
                                      : g_strdup("verify_asan_link_order=0");
    setenv("EQMS_DEVSIM_PRELOADED", "1", 1);
    setenv("LD_PRELOAD", value, 1);
    setenv("ASAN_OPTIONS", asan_value, 1);
    g_free(value);
    g_free(asan_value);
    execv("/proc/self/exe", argv);
    fprintf(stderr, "eqms-devsim: cannot restart with %s; hotplug uevents will be missing\n", lib);
}

int main(int argc, char **argv)
{
    s_reexec_with_preload(argv);
    if (s_flags_to_env(argc, argv) < 0)
        return SERVICE_EXIT_CONFIG;
    devsim_cfg_t cfg;
    service_init("devsim", argc, argv, s_vars, G_N_ELEMENTS(s_vars), &cfg);

    model_config_t mcfg = {
        .fast = cfg.mode == 2,
        .employees = cfg.employees,
        .arrivals_per_hour = (double) cfg.arrivals_per_hour,
        .service_s = (double) cfg.service_s,
        .not_rated_pct = (unsigned) cfg.not_rated_pct,
        .seed = (uint32_t) cfg.seed,
    };
    if (model_parse_mix(cfg.mix, mcfg.mix) < 0) {
        fprintf(stderr, "eqms-devsim: EQMS_DEVSIM_MIX: '%s' is not 1..6 weights like 70,20,7,3\n",
                cfg.mix);
        return SERVICE_EXIT_CONFIG;
    }
    unsigned fw_major = 0, fw_minor = 0;
    char fw_end = 0;
    if (cfg.firmware[0]
        && (sscanf(cfg.firmware, "%3u.%3u%c", &fw_major, &fw_minor, &fw_end) != 2
            || fw_major < 1 || fw_minor > 255
            || ((fw_major << 8) | fw_minor) > ((DEVCORE_FW_MAJOR << 8) | DEVCORE_FW_MINOR))) {
        fprintf(stderr, "eqms-devsim: EQMS_DEVSIM_FIRMWARE: '%s' is not MAJOR.MINOR from 1.0 "
                "to %d.%d\n", cfg.firmware, DEVCORE_FW_MAJOR, DEVCORE_FW_MINOR);
        return SERVICE_EXIT_CONFIG;
    }
    char *emp_file = NULL;
    if (cfg.employees_file[0]) {
        emp_file = s_read_employees(cfg.employees_file);
        if (!emp_file) {
            fprintf(stderr, "eqms-devsim: EQMS_DEVSIM_EMPLOYEES_FILE: cannot read %s\n",
                    cfg.employees_file);
            return SERVICE_EXIT_CONFIG;
        }
        mcfg.employees = emp_file;
    }

    devsim_config_t scfg = {
        .count = (size_t) cfg.count,
        .serials = cfg.serials,
        .serial_prefix = cfg.serial_prefix,
        .key_count = (uint8_t) cfg.keys,
        .hold_ms = (uint32_t) cfg.hold_ms,
        .gap_ms = (uint32_t) cfg.gap_ms,
        .plug = cfg.plug != 0,
        .uptime_start_ms = (uint32_t) cfg.uptime_start_ms,
        .firmware = (uint16_t) ((fw_major << 8) | fw_minor),
    };
    app_t app = { 0 };
    int rc = 0;
    app.sim = devsim_new(&scfg);
    if (!app.sim) {
        rc = 1;
        goto out;
    }
    if (cfg.mode != 0)
        app.model = model_new(app.sim, &mcfg);
    if (cfg.control[0]) {
        app.control = control_new(app.sim, app.model, cfg.control);
        if (!app.control) {
            rc = SERVICE_EXIT_CONFIG;
            goto out;
        }
    }
    const char *dir = devsim_dir(app.sim);
    printf("UMOCKDEV_DIR=%s\n", dir);
    fflush(stdout);
    if (cfg.dir_file[0] && s_write_dir_file(cfg.dir_file, dir) < 0) {
        rc = 1;
        goto out;
    }
    static const char *const modes[] = { "manual", "simulate", "fast" };
    log_info("started", "devices=%ld mode=%s dir=%s control=%s", cfg.count, modes[cfg.mode], dir,
             cfg.control[0] ? cfg.control : "none");

    app.loop = g_main_loop_new(NULL, FALSE);
    g_timeout_add((guint) cfg.tick_ms, s_on_tick, &app);
    g_unix_signal_add(SIGTERM, s_on_signal, &app);
    g_unix_signal_add(SIGINT, s_on_signal, &app);
    g_main_loop_run(app.loop);
    g_main_loop_unref(app.loop);
    if (cfg.dir_file[0])
        remove(cfg.dir_file);
out:
    control_destroy(&app.control);
    model_destroy(&app.model);
    devsim_destroy(&app.sim);
    g_free(emp_file);
    return rc;
}
