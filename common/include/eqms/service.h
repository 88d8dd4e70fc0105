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

/* The variables most services share, for their config tables, so that every
 * service spells, defaults and documents them alike. `type` is the service's
 * config struct and `field` the member (a char array for the strings, long
 * for the port). */
#define SERVICE_VAR_PG_CONNINFO(type, field) \
    { "EQMS_PG_CONNINFO", CONFIG_STRING, "postgresql://eqms@127.0.0.1:5432/eqms", \
      offsetof(type, field), sizeof ((type *) 0)->field, 0, 0, NULL, \
      "libpq connection string or URI of the region database" }
#define SERVICE_VAR_REDIS_URL(type, field) \
    { "EQMS_REDIS_URL", CONFIG_STRING, "redis://127.0.0.1:6379/0", \
      offsetof(type, field), sizeof ((type *) 0)->field, 0, 0, NULL, \
      "Redis URL: redis://host:port[/db] or unix:///path[?db=N]" }
#define SERVICE_VAR_BUS_PUB(type, field) \
    { "EQMS_BUS_PUB", CONFIG_ENDPOINT, "tcp://127.0.0.1:5550", \
      offsetof(type, field), sizeof ((type *) 0)->field, 0, 0, NULL, \
      "the forwarder's XSUB endpoint, where this service publishes" }
#define SERVICE_VAR_BUS_SUB(type, field) \
    { "EQMS_BUS_SUB", CONFIG_ENDPOINT, "tcp://127.0.0.1:5551", \
      offsetof(type, field), sizeof ((type *) 0)->field, 0, 0, NULL, \
      "the forwarder's XPUB endpoint, where this service subscribes" }
#define SERVICE_VAR_PG_WAIT_S(type, field, fallback) \
    { "EQMS_PG_WAIT_S", CONFIG_INT, fallback, offsetof(type, field), 0, 0, 3600, NULL, \
      "how long to wait for the database to accept connections" }
#define SERVICE_VAR_HTTP_ADDRESS(type, field) \
    { "EQMS_HTTP_ADDRESS", CONFIG_STRING, "0.0.0.0", offsetof(type, field), \
      sizeof ((type *) 0)->field, 0, 0, NULL, \
      "address of the health and metrics port" }
#define SERVICE_VAR_HTTP_PORT(type, field, fallback) \
    { "EQMS_HTTP_PORT", CONFIG_INT, fallback, offsetof(type, field), 0, 0, 65535, \
      NULL, "health and metrics port (0 = none)" }

/* `name` is the short service name ("bus"), logged as svc=. */
void service_init(const char *name, int argc, char **argv, const config_var_t *vars,
                  size_t count, void *config);

/* Refuses to start over a bad configuration value found after
 * service_init (for example one checked against the database): logs
 * `reason` (which names the variable and what is allowed), prints it to
 * stderr and exits with SERVICE_EXIT_CONFIG. */
void service_exit_config(const char *reason) __attribute__((noreturn));

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
