/*  config: EQMS_* environment variables read once into a service's struct.
 *
 *  A service describes its variables in a table (name, type, default, limits,
 *  where in its struct the value goes, help text) and calls config_load once in
 *  main. A bad value makes config_load fail with a message naming the variable
 *  and what is allowed; main prints it and exits. `--help` prints the table, so
 *  the defaults are documented where they are defined.
 */
#ifndef EQMS_CONFIG_H
#define EQMS_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef enum {
    CONFIG_STRING,    /* char[size] in the struct; must fit, no control chars */
    CONFIG_INT,       /* long in the struct, min..max inclusive */
    CONFIG_BOOL,      /* int in the struct: true/false, yes/no, on/off, 1/0 */
    CONFIG_ENUM,      /* int in the struct: index of the value in `choices` */
    CONFIG_ENDPOINT   /* char[size]: tcp://host:port, ipc://path or inproc://name */
} config_type_t;

typedef struct {
    const char *name;        /* "EQMS_BUS_XSUB" */
    config_type_t type;
    const char *fallback;    /* default, as the text a user would set; NULL = required */
    size_t offset;           /* offsetof(service_config_t, field) */
    size_t size;             /* sizeof the char array (STRING, ENDPOINT) */
    long min, max;           /* INT limits */
    const char *choices;     /* ENUM values separated by '|', e.g. "debug|info|warn|error" */
    const char *help;        /* one line */
} config_var_t;

/* Reads every variable from the environment (or its default) into `target`.
 * Returns 0, or -1 with a message such as
 *   "EQMS_BUS_PORT: 'abc' is not an integer (allowed 1..65535)"
 * in err. Stops at the first bad variable. */
int config_load(const config_var_t *vars, size_t count, void *target, char *err,
                size_t errsize);

/* Prints "NAME  help / allowed / default" for every variable, after a
 * heading naming the service unless `service` is NULL. */
void config_print_help(FILE *out, const char *service, const config_var_t *vars,
                       size_t count);

#endif
