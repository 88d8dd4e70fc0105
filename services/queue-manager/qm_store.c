/*  qm_store: queue-manager's PostgreSQL side (qm_store.h). */
#include "qm_store.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/pgbin.h"
#include "eqms/log.h"
#include "eqms/text.h"

/* A batch sent in pipeline mode, its result not yet all read. */
typedef struct {
    size_t count;               /* its events */
    bool ok;                    /* its statement returned count */
} s_pending_t;

/* The arrays sent beside a commit's events: the device key events that
 * caused them, with their branches, and the estimates told at issue. */
enum { S_CAUSES, S_CAUSE_BRANCHES, S_EST_TICKETS, S_EST_POSITIONS, S_EST_WAITS,
       S_SIDE_COUNT };

struct qm_store_t {
    pgstore_t *pg;
    pgbin_t rows;               /* the events of a commit, as ticket_event[] */
    uint32_t row_type;          /* ticket_event's type OID, 0 = not looked up */
    s_pending_t pending[QM_STORE_PIPELINE_MAX];   /* sent, oldest at first */
    size_t first, npending;
    PGconn *prepared_on;        /* the connection S_COMMIT_STATEMENT is prepared on */
    char *side[S_SIDE_COUNT];   /* a commit's side arrays as literals (s_side) */
    size_t side_cap;
};

/* Names of qm_via_t in ticket_event.via. */
static const char *s_via_names[] = {
    "", "green", "transfer", "appointment", "strategy", "explicit", "call_back"
};
#define S_VIA_COUNT (sizeof s_via_names / sizeof s_via_names[0])

qm_store_t *qm_store_new(pgstore_t **pg_p)
{
    qm_store_t *self = calloc(1, sizeof *self);
    if (!self) {
        pgstore_destroy(pg_p);
        return NULL;
    }
    self->pg = *pg_p;
    *pg_p = NULL;
    pgbin_init(&self->rows);
    return self;
}

void qm_store_destroy(qm_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pgstore_destroy(&(*self_p)->pg);
    pgbin_release(&(*self_p)->rows);
    for (int i = 0; i < S_SIDE_COUNT; i++)
        free((*self_p)->side[i]);
    free(*self_p);
    *self_p = NULL;
}

int qm_store_ensure_partitions(qm_store_t *self, int months_ahead)
{
    char n[16];
    snprintf(n, sizeof n, "%d", months_ahead);
    const char *params[] = { n };
    return pgstore_exec(self->pg, "SELECT eqms_ensure_partitions($1::int)", 1, params);
}

int qm_store_branches(qm_store_t *self, const char *prefixes,
                      void (*fn)(void *ctx, const qm_branch_ref_t *branch), void *ctx)
{
    const char *params[] = { prefixes };
    PGresult *res = pgstore_query(self->pg,
                                  "SELECT id, path::text, time_zone FROM org_node "
                                  "WHERE kind = 'branch' AND (cardinality($1::ltree[]) = 0 "
                                  "OR path <@ $1::ltree[]) ORDER BY path", 1, params);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        qm_branch_ref_t b;
        memset(&b, 0, sizeof b);
        b.id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        text_copy(b.path, sizeof b.path, PQgetvalue(res, i, 1));
        text_copy(b.time_zone, sizeof b.time_zone, PQgetvalue(res, i, 2));
        fn(ctx, &b);
    }
    PQclear(res);
    return 0;
}

/* --- configuration --------------------------------------------------------- */

static int s_load_queues(qm_store_t *self, const char *branch, qm_config_t *config)
{
    const char *params[] = { branch };
    PGresult *res = pgstore_query(self->pg,
                                  "SELECT q.id, q.prefix, q.number_max FROM queue q "
                                  "JOIN org_node a ON a.id = q.node_id "
                                  "JOIN org_node n ON n.id = $1::bigint AND a.path @> n.path "
                                  "ORDER BY q.prefix", 1, params);
    if (!res)
        return -1;
    int rows = PQntuples(res);
    qm_queue_cfg_t *queues = calloc(rows ? (size_t) rows : 1, sizeof *queues);
    for (int i = 0; queues && i < rows; i++) {
        queues[i].id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        text_copy(queues[i].prefix, sizeof queues[i].prefix, PQgetvalue(res, i, 1));
        queues[i].number_max = atoi(PQgetvalue(res, i, 2));
    }
    PQclear(res);
    config->queues = queues;
    config->queue_count = (size_t) rows;
    return queues ? 0 : -1;
}

static int s_load_services(qm_store_t *self, const char *branch, qm_config_t *config)
{
    const char *params[] = { branch };
    PGresult *res = pgstore_query(self->pg,
                                  "SELECT s.id, s.code, s.name, s.queue_id FROM service s "
                                  "JOIN org_node a ON a.id = s.node_id "
                                  "JOIN org_node n ON n.id = $1::bigint AND a.path @> n.path "
                                  "WHERE s.active ORDER BY s.id", 1, params);
    if (!res)
        return -1;
    int rows = PQntuples(res);
    qm_service_cfg_t *services = calloc(rows ? (size_t) rows : 1, sizeof *services);
    for (int i = 0; services && i < rows; i++) {
        services[i].id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        text_copy(services[i].code, sizeof services[i].code, PQgetvalue(res, i, 1));
        text_copy(services[i].name, sizeof services[i].name, PQgetvalue(res, i, 2));
        services[i].queue_id = strtoll(PQgetvalue(res, i, 3), NULL, 10);
    }
    PQclear(res);
    config->services = services;
    config->service_count = (size_t) rows;
    return services ? 0 : -1;
}

/* A window without a work profile serves every service, longest waiting first. */
static void s_default_profile(const qm_config_t *config, qm_profile_t *profile)
{
    qm_profile_init(profile);
    profile->strategy = QM_STRATEGY_LONGEST_WAIT;
    for (size_t i = 0; i < config->service_count && i < QM_PROFILE_MAX; i++)
        profile->services[profile->service_count++] = config->services[i].id;
}

static int s_load_windows(qm_store_t *self, const char *branch, qm_config_t *config)
{
    const char *params[] = { branch };
    PGresult *res = pgstore_query(self->pg,
                                  "SELECT w.id, w.number, w.name, p.profile "
                                  "FROM service_window w "
                                  "LEFT JOIN work_profile p ON p.window_id = w.id "
                                  "WHERE w.node_id = $1::bigint AND w.active "
                                  "ORDER BY w.number", 1, params);
    if (!res)
        return -1;
    int rows = PQntuples(res), rc = 0;
    qm_window_cfg_t *windows = calloc(rows ? (size_t) rows : 1, sizeof *windows);
    for (int i = 0; windows && i < rows; i++) {
        qm_window_cfg_t *w = &windows[i];
        w->id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        w->number = atoi(PQgetvalue(res, i, 1));
        text_copy(w->name, sizeof w->name, PQgetvalue(res, i, 2));
        char reason[QM_REASON_SIZE] = "";
        if (PQgetisnull(res, i, 3))
            s_default_profile(config, &w->profile);
        else if (qm_profile_parse(PQgetvalue(res, i, 3), &w->profile, reason) != 0) {
            log_error("work_profile_invalid", "window=%" PRId64 " reason=\"%s\"", w->id,
                      reason);
            rc = -1;
        }
    }
    PQclear(res);
    config->windows = windows;
    config->window_count = (size_t) rows;
    return windows ? rc : -1;
}

static int s_load_settings(qm_store_t *self, const char *branch, qm_settings_t *settings)
{
    qm_settings_default(settings);
    const char *params[] = { branch };
    PGresult *res = pgstore_query(self->pg,
                                  "SELECT recall_limit, display_size, announce_repeat, "
                                  "default_service_s FROM effective_hall_settings($1::bigint)",
                                  1, params);
    if (!res)
        return -1;
    if (PQntuples(res) == 1) {
        if (!PQgetisnull(res, 0, 0))
            settings->recall_limit = atoi(PQgetvalue(res, 0, 0));
        if (!PQgetisnull(res, 0, 1))
            settings->hall.display_size = (size_t) atoi(PQgetvalue(res, 0, 1));
        if (!PQgetisnull(res, 0, 2))
            settings->hall.repeat = atoi(PQgetvalue(res, 0, 2));
        if (!PQgetisnull(res, 0, 3))
            settings->default_service_s = atoi(PQgetvalue(res, 0, 3));
    }
    PQclear(res);
    return 0;
}

int qm_store_config(qm_store_t *self, int64_t branch_id, qm_config_t *config)
{
    memset(config, 0, sizeof *config);
    char branch[24];
    snprintf(branch, sizeof branch, "%" PRId64, branch_id);
    if (s_load_queues(self, branch, config) != 0 || s_load_services(self, branch, config) != 0
        || s_load_windows(self, branch, config) != 0
        || s_load_settings(self, branch, &config->settings) != 0) {
        qm_store_config_free(config);
        return -1;
    }
    return 0;
}

void qm_store_config_free(qm_config_t *config)
{
    free((void *) config->queues);
    free((void *) config->services);
    free((void *) config->windows);
    memset(config, 0, sizeof *config);
}

int qm_store_hours(qm_store_t *self, int64_t branch_id, hours_t *hours)
{
    char branch[24];
    snprintf(branch, sizeof branch, "%" PRId64, branch_id);
    const char *params[] = { branch };
    PGresult *res = pgstore_query(self->pg, "SELECT opening_hours_in_force($1::bigint)::text",
                                  1, params);
    if (!res)
        return -1;
    json_error_t err;
    json_t *doc = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)
                      ? json_loads(PQgetvalue(res, 0, 0), 0, &err) : NULL;
    PQclear(res);
    char reason[HOURS_REASON_SIZE] = "no such branch";
    int rc = doc ? hours_decode(doc, hours, reason) : -1;
    json_decref(doc);
    if (rc != 0)
        log_error("opening_hours_invalid", "branch=%" PRId64 " reason=\"%s\"", branch_id,
                  reason);
    return rc;
}

int qm_store_window_devices(qm_store_t *self, int64_t branch_id,
                            void (*fn)(void *ctx, int64_t window_id, const char *code,
                                       const char *serial),
                            void *ctx)
{
    char branch[24];
    snprintf(branch, sizeof branch, "%" PRId64, branch_id);
    const char *params[] = { branch };
    PGresult *res = pgstore_query(self->pg,
                                  "SELECT w.id, w.code, d.serial FROM service_window w "
                                  "LEFT JOIN device d ON d.window_id = w.id "
                                  "WHERE w.node_id = $1::bigint AND w.active", 1, params);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++)
        fn(ctx, strtoll(PQgetvalue(res, i, 0), NULL, 10), PQgetvalue(res, i, 1),
           PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2));
    PQclear(res);
    return 0;
}

/* --- events back ------------------------------------------------------------- */

static int s_kind(const char *name)
{
    for (int k = QM_EV_ISSUED; k <= QM_EV_DAY_START; k++)
        if (strcmp(qm_event_kind_name((qm_event_kind_t) k), name) == 0)
            return k;
    return -1;
}

static int s_target(const char *name)
{
    for (int t = QM_TARGET_NONE; t <= QM_TARGET_STAFF; t++)
        if (strcmp(qm_target_name((qm_target_t) t), name) == 0)
            return t;
    return -1;
}

static int s_via(const char *name)
{
    for (size_t v = 0; v < S_VIA_COUNT; v++)
        if (strcmp(s_via_names[v], name) == 0)
            return (int) v;
    return -1;
}

#define S_EVENT_COLUMNS \
    "seq, (extract(epoch FROM at) * 1000)::bigint, day, kind, actor, " \
    "coalesce(ticket_id::text, ''), coalesce(number, ''), number_seq, " \
    "coalesce(queue_id, 0), coalesce(service_id, 0), coalesce(class, 'ordinary'), " \
    "coalesce(window_id, 0), coalesce(window_no, 0), coalesce(staff_id, 0), " \
    "coalesce((extract(epoch FROM original_at) * 1000)::bigint, 0), " \
    "coalesce((extract(epoch FROM appointment_at) * 1000)::bigint, 0), " \
    "coalesce(phone, ''), coalesce(target, 'none'), coalesce(target_id, 0), " \
    "coalesce(via, ''), recall, avg_ms, detail"

/* Reads row i of an S_EVENT_COLUMNS result. 0, or -1 for an unknown name. */
static int s_event_row(PGresult *res, int i, qm_event_t *ev)
{
    memset(ev, 0, sizeof *ev);
    int c = 0;
    ev->seq = strtoll(PQgetvalue(res, i, c++), NULL, 10);
    ev->at_ms = strtoll(PQgetvalue(res, i, c++), NULL, 10);
    ev->day = atoi(PQgetvalue(res, i, c++));
    int kind = s_kind(PQgetvalue(res, i, c++));
    text_copy(ev->actor, sizeof ev->actor, PQgetvalue(res, i, c++));
    text_copy(ev->ticket_id, sizeof ev->ticket_id, PQgetvalue(res, i, c++));
    text_copy(ev->number, sizeof ev->number, PQgetvalue(res, i, c++));
    ev->number_seq = atoi(PQgetvalue(res, i, c++));
    ev->queue_id = strtoll(PQgetvalue(res, i, c++), NULL, 10);
    ev->service_id = strtoll(PQgetvalue(res, i, c++), NULL, 10);
    int klass = qm_class_parse(PQgetvalue(res, i, c++), &ev->klass);
    ev->window_id = strtoll(PQgetvalue(res, i, c++), NULL, 10);
    ev->window_no = atoi(PQgetvalue(res, i, c++));
    ev->staff_id = strtoll(PQgetvalue(res, i, c++), NULL, 10);
    ev->original_ms = strtoll(PQgetvalue(res, i, c++), NULL, 10);
    ev->appointment_ms = strtoll(PQgetvalue(res, i, c++), NULL, 10);
    text_copy(ev->phone, sizeof ev->phone, PQgetvalue(res, i, c++));
    int target = s_target(PQgetvalue(res, i, c++));
    ev->target_id = strtoll(PQgetvalue(res, i, c++), NULL, 10);
    int via = s_via(PQgetvalue(res, i, c++));
    ev->recall = atoi(PQgetvalue(res, i, c++));
    ev->avg_ms = strtoll(PQgetvalue(res, i, c++), NULL, 10);
    text_copy(ev->detail, sizeof ev->detail, PQgetvalue(res, i, c++));
    if (kind < 0 || klass != 0 || target < 0 || via < 0)
        return -1;
    ev->kind = (qm_event_kind_t) kind;
    ev->target = (qm_target_t) target;
    ev->via = (qm_via_t) via;
    return 0;
}

long qm_store_events(qm_store_t *self, int64_t branch_id,
                     int (*fn)(void *ctx, const qm_event_t *event), void *ctx)
{
    char branch[24];
    snprintf(branch, sizeof branch, "%" PRId64, branch_id);
    const char *params[] = { branch };
    PGresult *res = pgstore_query(self->pg,
                                  "SELECT " S_EVENT_COLUMNS " FROM ticket_event "
                                  "WHERE branch_id = $1::bigint AND seq >= coalesce("
                                  "(SELECT max(seq) FROM ticket_event WHERE branch_id = "
                                  "$1::bigint AND kind = 'day_start'), 0) ORDER BY seq",
                                  1, params);
    if (!res)
        return -1;
    long n = 0;
    for (int i = 0; i < PQntuples(res); i++, n++) {
        qm_event_t ev;
        if (s_event_row(res, i, &ev) != 0) {
            log_error("ticket_event_unreadable", "branch=%s row=%d", branch, i);
            n = -1;
            break;
        }
        if (fn(ctx, &ev) != 0)
            break;
    }
    PQclear(res);
    return n;
}

int qm_store_averages(qm_store_t *self, int64_t branch_id, int64_t before_seq,
                      void (*fn)(void *ctx, int64_t service_id, int64_t avg_ms),
                      void *ctx)
{
    char branch[24], before[24];
    snprintf(branch, sizeof branch, "%" PRId64, branch_id);
    snprintf(before, sizeof before, "%" PRId64, before_seq);
    const char *params[] = { branch, before };
    PGresult *res = pgstore_query(self->pg,
                                  "SELECT DISTINCT ON (service_id) service_id, avg_ms "
                                  "FROM ticket_event WHERE branch_id = $1::bigint "
                                  "AND seq < $2::bigint AND kind = 'finished' "
                                  "AND avg_ms > 0 ORDER BY service_id, seq DESC", 2, params);
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++)
        fn(ctx, strtoll(PQgetvalue(res, i, 0), NULL, 10),
           strtoll(PQgetvalue(res, i, 1), NULL, 10));
    PQclear(res);
    return 0;
}

/* An active staff member bound to the branch or to a node above it (a
 * regional teller may work at any branch of the region). */
#define S_STAFF_OF_BRANCH \
    "SELECT s.id FROM staff s JOIN org_node n ON n.id = s.node_id " \
    "JOIN org_node b ON b.id = $2::bigint WHERE s.active AND n.path @> b.path "

static int64_t s_staff(qm_store_t *self, const char *sql, const char *key, int64_t branch_id)
{
    char branch[TEXT_I64_SIZE];
    text_i64(branch, branch_id);
    const char *params[] = { key, branch };
    PGresult *res = pgstore_query(self->pg, sql, 2, params);
    if (!res)
        return -1;
    int64_t id = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return id;
}

int64_t qm_store_staff_id(qm_store_t *self, const char *employee_no, int64_t branch_id)
{
    return s_staff(self, S_STAFF_OF_BRANCH "AND s.employee_no = $1", employee_no, branch_id);
}

int qm_store_staff_of_branch(qm_store_t *self, int64_t staff_id, int64_t branch_id)
{
    char id[TEXT_I64_SIZE];
    text_i64(id, staff_id);
    int64_t found = s_staff(self, S_STAFF_OF_BRANCH "AND s.id = $1::bigint", id, branch_id);
    return found < 0 ? -1 : found == staff_id;
}

int qm_store_staff_card(qm_store_t *self, int64_t staff_id, char *employee_no,
                        size_t employee_no_size, char *name, size_t name_size)
{
    char id[TEXT_I64_SIZE];
    text_i64(id, staff_id);
    const char *params[] = { id };
    PGresult *res = pgstore_query(self->pg, "SELECT employee_no, name FROM staff "
                                            "WHERE id = $1::bigint", 1, params);
    if (!res)
        return -1;
    int found = PQntuples(res) == 1;
    if (found) {
        text_copy(employee_no, employee_no_size, PQgetvalue(res, 0, 0));
        text_copy(name, name_size, PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return found;
}

/* --- writing ----------------------------------------------------------------- */

static void s_time(pgbin_t *b, int64_t ms)
{
    if (ms > 0)
        pgbin_timestamptz_ms(b, ms);
    else
        pgbin_null(b, PGBIN_TIMESTAMPTZ);
}

static void s_id8(pgbin_t *b, int64_t id)
{
    if (id > 0)
        pgbin_int8(b, id);
    else
        pgbin_null(b, PGBIN_INT8);
}

static void s_id4(pgbin_t *b, int id)
{
    if (id > 0)
        pgbin_int4(b, id);
    else
        pgbin_null(b, PGBIN_INT4);
}

static void s_text(pgbin_t *b, const char *text)
{
    pgbin_text(b, text && text[0] ? text : NULL);
}

/* One event as a ticket_event row: every column, in the table's order
 * (schema 3), with its exact type; the server refuses any mismatch. */
static void s_write_event(pgbin_t *b, const qm_stored_event_t *se)
{
    const qm_event_t *e = &se->event;
    bool has_ticket = e->ticket_id[0] != '\0';
    pgbin_record_begin(b);
    pgbin_int8(b, se->branch_id);
    pgbin_int8(b, e->seq);
    pgbin_timestamptz_ms(b, e->at_ms);
    pgbin_int4(b, e->day);
    pgbin_text(b, qm_event_kind_name(e->kind));
    pgbin_text(b, e->actor);
    if (has_ticket)
        pgbin_uuid(b, e->ticket_id);
    else
        pgbin_null(b, PGBIN_UUID);
    s_text(b, e->number);
    pgbin_int4(b, e->number_seq);
    s_id8(b, e->queue_id);
    s_id8(b, e->service_id);
    s_text(b, has_ticket ? qm_class_name(e->klass) : NULL);
    s_id8(b, e->window_id);
    s_id4(b, e->window_no);
    s_id8(b, e->staff_id);
    s_time(b, e->original_ms);
    s_time(b, e->appointment_ms);
    s_text(b, e->phone);
    s_text(b, e->target != QM_TARGET_NONE ? qm_target_name(e->target) : NULL);
    s_id8(b, e->target_id);
    s_text(b, (unsigned) e->via < S_VIA_COUNT ? s_via_names[e->via] : NULL);
    pgbin_int4(b, e->recall);
    pgbin_int8(b, e->avg_ms);
    pgbin_text(b, e->detail);
    pgbin_record_end(b);
}

/* The row type's OID, which the binary array names (looked up once per
 * connection: 0 until then). */
static int s_row_type(qm_store_t *self)
{
    if (self->row_type)
        return 0;
    PGresult *res = pgstore_query(self->pg, "SELECT 'ticket_event'::regtype::oid", 0, NULL);
    if (!res)
        return -1;
    self->row_type = (uint32_t) strtoul(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return self->row_type ? 0 : -1;
}

/* Encodes the events as one ticket_event[] in binary (into self->rows).
 * 0, or -1 (logged). */
static int s_encode(qm_store_t *self, const qm_stored_event_t *events, size_t count,
                    const char **data, size_t *len)
{
    pgbin_reset(&self->rows);
    pgbin_array_begin(&self->rows, self->row_type);
    for (size_t i = 0; i < count; i++)
        s_write_event(&self->rows, &events[i]);
    pgbin_array_end(&self->rows);
    if (pgbin_finish(&self->rows, data, len) != 0) {
        log_error("events_not_encodable", "events=%zu first_seq=%" PRId64, count,
                  events[0].event.seq);
        return -1;
    }
    return 0;
}

static const char *s_insert_sql =
    "SELECT eqms_ticket_events_insert($1::ticket_event[], $2::uuid[], $3::bigint[], "
    "$4::uuid[], $5::int[], $6::int[])";
#define S_COMMIT_STATEMENT "qm_commit"

/* Checks a commit's result: one row holding the number of events. */
static bool s_committed(PGresult *res, size_t count)
{
    return res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
           && strtoll(PQgetvalue(res, 0, 0), NULL, 10) == (long long) count;
}

static void s_not_committed(qm_store_t *self, size_t count, const char *sqlstate)
{
    log_warn("events_not_committed", "events=%zu sqlstate=%s", count,
             sqlstate && sqlstate[0] ? sqlstate : "-");
    self->row_type = 0;     /* looked up again: the table may be new, */
    self->prepared_on = NULL;   /* or the connection */
}

/* --- commits ------------------------------------------------------------------ */

/* Prepares the commit statement on this connection (once: parsing and
 * planning it for every batch cost more than a small batch's inserts). */
static int s_prepare(qm_store_t *self, PGconn *conn)
{
    if (self->prepared_on == conn)
        return 0;
    PGresult *res = PQprepare(conn, S_COMMIT_STATEMENT, s_insert_sql, 1 + S_SIDE_COUNT, NULL);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok)
        log_warn("pg_statement_failed", "sql=\"prepare %s\" reason=\"%s\"",
                 S_COMMIT_STATEMENT, PQerrorMessage(conn));
    PQclear(res);
    self->prepared_on = ok ? conn : NULL;
    return ok ? 0 : -1;
}

/* The connection, in pipeline mode and non-blocking, or NULL. */
static PGconn *s_pipeline(qm_store_t *self)
{
    PGconn *conn = pgstore_conn(self->pg);
    if (!conn && self->npending == 0 && pgstore_connect(self->pg, 0) == 0)
        conn = pgstore_conn(self->pg);
    if (!conn)
        return NULL;
    if (PQpipelineStatus(conn) == PQ_PIPELINE_OFF) {
        /* The row type and the prepared statement come before: no plain
         * query in the pipeline. */
        if (s_row_type(self) != 0 || s_prepare(self, conn) != 0
            || PQenterPipelineMode(conn) != 1 || PQsetnonblocking(conn, 1) != 0)
            return NULL;
    }
    return conn;
}

/* Appends ",text" (or "text" to a fresh "{") to a side array. */
static size_t s_side_add(char *array, size_t len, size_t cap, const char *text)
{
    return len + (size_t) snprintf(array + len, cap - len, "%s%s", len > 1 ? "," : "", text);
}

/* The batch's side arrays as literals ("{id,...}", "{branch,...}", ...) in
 * self->side: each cause once, and an estimate per issued ticket told one.
 * 0 / -1. */
static int s_side(qm_store_t *self, const qm_stored_event_t *events, size_t count)
{
    /* an element is at most an id (numbers here have fewer digits) */
    size_t need = 3 + count * (ID_SIZE + 1);
    if (need > self->side_cap) {
        for (int a = 0; a < S_SIDE_COUNT; a++) {
            char *grown = realloc(self->side[a], need);
            if (!grown)
                return -1;      /* the ones grown already stay: cap is the old one */
            self->side[a] = grown;
        }
        self->side_cap = need;
    }
    size_t len[S_SIDE_COUNT];
    for (int a = 0; a < S_SIDE_COUNT; a++) {
        self->side[a][0] = '{';
        len[a] = 1;
    }
    size_t cap = self->side_cap - 2;   /* room for "}" and NUL */
    for (size_t i = 0; i < count; i++) {
        const qm_stored_event_t *e = &events[i];
        char n[TEXT_I64_SIZE];
        /* one key event's ticket events are together: its id once */
        if (e->cause[0] && (i == 0 || strcmp(e->cause, events[i - 1].cause) != 0)) {
            len[S_CAUSES] = s_side_add(self->side[S_CAUSES], len[S_CAUSES], cap, e->cause);
            text_i64(n, e->branch_id);
            len[S_CAUSE_BRANCHES] = s_side_add(self->side[S_CAUSE_BRANCHES],
                                               len[S_CAUSE_BRANCHES], cap, n);
        }
        if (e->event.kind == QM_EV_ISSUED && e->est_position >= 0) {
            len[S_EST_TICKETS] = s_side_add(self->side[S_EST_TICKETS], len[S_EST_TICKETS],
                                            cap, e->event.ticket_id);
            text_i64(n, e->est_position);
            len[S_EST_POSITIONS] = s_side_add(self->side[S_EST_POSITIONS],
                                              len[S_EST_POSITIONS], cap, n);
            text_i64(n, e->est_wait_s);
            len[S_EST_WAITS] = s_side_add(self->side[S_EST_WAITS], len[S_EST_WAITS], cap, n);
        }
    }
    for (int a = 0; a < S_SIDE_COUNT; a++) {
        self->side[a][len[a]++] = '}';
        self->side[a][len[a]] = '\0';
    }
    return 0;
}

long qm_store_recent_causes(qm_store_t *self, int since_s,
                            void (*fn)(void *arg, const char *id), void *arg)
{
    char since[TEXT_I64_SIZE];
    text_i64(since, since_s);
    const char *params[] = { since };
    PGresult *res = pgstore_query(self->pg, "SELECT id::text FROM ticket_event_cause "
                                  "WHERE at > now() - make_interval(secs => $1::int)", 1,
                                  params);
    if (!res)
        return -1;
    long n = PQntuples(res);
    for (long i = 0; i < n; i++)
        fn(arg, PQgetvalue(res, (int) i, 0));
    PQclear(res);
    return n;
}

int qm_store_prune_causes(qm_store_t *self)
{
    return pgstore_exec(self->pg, "DELETE FROM ticket_event_cause "
                        "WHERE at < now() - interval '1 day'", 0, NULL);
}

int qm_store_send(qm_store_t *self, const qm_stored_event_t *events, size_t count)
{
    if (count == 0 || self->npending == QM_STORE_PIPELINE_MAX)
        return -1;
    PGconn *conn = s_pipeline(self);
    const char *data;
    size_t len;
    if (!conn || self->row_type == 0 || s_encode(self, events, count, &data, &len) != 0)
        return -1;
    if (s_side(self, events, count) != 0)
        return -1;
    const char *params[1 + S_SIDE_COUNT] = { data };
    int lengths[1 + S_SIDE_COUNT] = { (int) len }, formats[1 + S_SIDE_COUNT] = { 1 };
    for (int a = 0; a < S_SIDE_COUNT; a++)
        params[1 + a] = self->side[a];
    if (len > INT_MAX
        || PQsendQueryPrepared(conn, S_COMMIT_STATEMENT, 1 + S_SIDE_COUNT, params, lengths,
                               formats, 0) != 1
        || PQpipelineSync(conn) != 1) {
        log_warn("events_not_sent", "events=%zu reason=\"%s\"", count, PQerrorMessage(conn));
        return -1;
    }
    self->pending[(self->first + self->npending) % QM_STORE_PIPELINE_MAX] =
        (s_pending_t) { .count = count, .ok = false };
    self->npending++;
    return 0;
}

int qm_store_socket(qm_store_t *self)
{
    PGconn *conn = self->npending ? pgstore_conn(self->pg) : NULL;
    return conn ? PQsocket(conn) : -1;
}

int qm_store_flush(qm_store_t *self)
{
    PGconn *conn = self->npending ? pgstore_conn(self->pg) : NULL;
    return conn ? PQflush(conn) : -1;
}

/* The oldest batch is finished: its outcome goes to rc[n]. */
static int s_finish_oldest(qm_store_t *self, int rc[QM_STORE_PIPELINE_MAX], int n, int outcome)
{
    rc[n] = outcome;
    self->first = (self->first + 1) % QM_STORE_PIPELINE_MAX;
    self->npending--;
    return n + 1;
}

/* Takes one result of the oldest batch. */
static void s_result(qm_store_t *self, PGresult *res)
{
    s_pending_t *p = &self->pending[self->first];
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        p->ok = s_committed(res, p->count);
        if (!p->ok)
            s_not_committed(self, p->count, "-");
    } else {
        /* An error, or aborted after one: nothing of the batch is stored. */
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        p->ok = false;
        if (PQresultStatus(res) == PGRES_FATAL_ERROR) {
            char reason[256];
            text_copy(reason, sizeof reason, PQresultErrorMessage(res));
            for (char *c = reason; *c; c++)
                if (*c == '\n' || *c == '"')
                    *c = ' ';
            log_warn("pg_statement_failed", "sqlstate=%s reason=\"%s\"", state ? state : "-",
                     reason);
        }
        s_not_committed(self, p->count, state);
    }
}

int qm_store_receive(qm_store_t *self, int rc[QM_STORE_PIPELINE_MAX])
{
    int n = 0;
    PGconn *conn = self->npending ? pgstore_conn(self->pg) : NULL;
    if (self->npending && (!conn || PQconsumeInput(conn) != 1)) {
        /* The connection broke: whatever is on its way may or may not have
         * been committed (the rebuild after a failure reads what was). The
         * next connection prepares the statement again. */
        log_warn("pipeline_broken", "batches=%zu reason=\"%s\"", self->npending,
                 conn ? PQerrorMessage(conn) : "not connected");
        self->prepared_on = NULL;
        while (self->npending)
            n = s_finish_oldest(self, rc, n, QM_STORE_IN_DOUBT);
        return n;
    }
    int ends = 0;
    while (self->npending && !PQisBusy(conn) && ends < 2) {
        PGresult *res = PQgetResult(conn);
        if (!res) {
            ends++;     /* the end of one statement's results */
            continue;
        }
        ends = 0;
        if (PQresultStatus(res) == PGRES_PIPELINE_SYNC)
            n = s_finish_oldest(self, rc, n, self->pending[self->first].ok ? 0 : -1);
        else
            s_result(self, res);
        PQclear(res);
    }
    /* Idle again: plain queries (look-ups, rebuilds) work between bursts. */
    if (conn && self->npending == 0 && PQpipelineStatus(conn) == PQ_PIPELINE_ON
        && PQexitPipelineMode(conn) == 1)
        PQsetnonblocking(conn, 0);
    return n;
}
