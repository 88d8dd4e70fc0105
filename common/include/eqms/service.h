/*  service: the start and stop every EQMS main shares.
 *
 *  service_init handles `--help`, reads EQMS_LOG_LEVEL and the service's own
 *  variables, and starts the log; a bad value ends the process with exit
 *  code 2 and a message naming the variable. service_block_signals must run
 *  before any thread starts, so that only service_wait_signal sees SIGINT and
 *  SIGTERM.
 */
#ifndef EQMS_SERVICE_H
#define EQMS_SERVICE_H

#include "eqms/config.h"

/* Exit code for a configuration error. */
#define SERVICE_EXIT_CONFIG 2

/* `name` is the short service name ("bus"), logged as svc=. */
void service_init(const char *name, int argc, char **argv, const config_var_t *vars,
                  size_t count, void *config);

/* Blocks SIGINT and SIGTERM in the calling thread and threads it starts. */
void service_block_signals(void);

/* Waits for SIGINT or SIGTERM and returns its number. */
int service_wait_signal(void);

#endif
