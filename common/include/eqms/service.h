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
#include "eqms/pgstore.h"

/* Exit codes of a service that refuses to start. */
#define SERVICE_EXIT_CONFIG 2   /* a configuration value is bad */
#define SERVICE_EXIT_SCHEMA 3   /* the database is not at this build's schema */
#define SERVICE_EXIT_DEPEND 4   /* a server it needs stayed unreachable */

/* `name` is the short service name ("bus"), logged as svc=. */
void service_init(const char *name, int argc, char **argv, const config_var_t *vars,
                  size_t count, void *config);

/* Connects to PostgreSQL (waiting up to wait_ms) and checks that the
 * database is at exactly the schema version this build was made for.
 * Returns the connection; on failure logs why and exits with
 * SERVICE_EXIT_DEPEND or SERVICE_EXIT_SCHEMA: a service never runs against a
 * schema it does not know. */
pgstore_t *service_open_database(const char *conninfo, int wait_ms);

/* Blocks SIGINT and SIGTERM in the calling thread and threads it starts. */
void service_block_signals(void);

/* Waits for SIGINT or SIGTERM and returns its number. */
int service_wait_signal(void);

#endif
