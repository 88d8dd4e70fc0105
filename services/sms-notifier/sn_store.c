/*  sn_store: sms-notifier's PostgreSQL (sn_store.h). */
#include "sn_store.h"

#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"
#include "eqms/text.h"
#include "sn_sms.h"

#define S_CURSOR_TABLE "sms_cursor"

struct sn_store_t {
    pgstore_t *pg;
};

sn_store_t *sn_store_new(pgstore_t **pg_p)
{
    sn_store_t *self = calloc(1, sizeof *self);
    if (!self) {
        pgstore_destroy(pg_p);
        return NULL;
    }
    self->pg = *pg_p;
    *pg_p = NULL;
    return self;
}

void sn_store_destroy(sn_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pgstore_destroy(&(*self_p)->pg);
    free(*self_p);
    *self_p = NULL;
}

int sn_store_load_cursors(sn_store_t *self, tailcursor_t *cursors)
{
    return tailcursor_load(cursors, self->pg, S_CURSOR_TABLE);
}

int sn_store_gateway_heads(sn_store_t *self, const tailcursor_t *cursors,
                           tailcursor_behind_fn *fn, void *arg)
{
    return tailcursor_behind(cursors, self->pg, TAILCURSOR_GATEWAY,
                             TAILCURSOR_GATEWAY_HEADS_SQL, 0, NULL, fn, arg);
}

/* One row per unsatisfied rating: where, who, what, the teller's day up to
 * it (in the branch's zone), the deepest rule of the branch's path and the
 * recipients the branch's alerts reach. */
static const char *s_unsatisfied_sql =
    "SELECT r.id::text, (extract(epoch FROM r.event_time) * 1000)::bigint, b.id, r.window_id, "
    "       coalesce(r.staff_id, 0), b.name, w.number::text, coalesce(st.name, ''), "
    "       coalesce(st.employee_no, ''), coalesce(r.ticket, ''), coalesce(sv.name, ''), "
    "       coalesce(o.label, r.option_code::text), "
    "       to_char(r.event_time AT TIME ZONE b.time_zone, 'YYYY-MM-DD HH24:MI'), "
    "       day.unsatisfied, day.rated, rule.template, "
    "       rc.ids::text "
    "FROM rating r "
    "JOIN service_window w ON w.id = r.window_id "
    "JOIN org_node b ON b.id = w.node_id "
    "LEFT JOIN staff st ON st.id = r.staff_id "
    "LEFT JOIN ticket t ON t.id = r.ticket_id "
    "     AND t.issued_at BETWEEN r.event_time - interval '2 days' AND r.event_time "
    "LEFT JOIN service sv ON sv.id = t.service_id "
    "LEFT JOIN LATERAL (SELECT x.label FROM effective_settings(b.id) es "
    "     JOIN rating_option x ON x.scale_id = es.rating_scale_id AND x.code = r.option_code) o "
    "     ON true "
    "CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE d.unsatisfied) AS unsatisfied, "
    "     count(*) AS rated FROM rating d WHERE d.staff_id = r.staff_id "
    "     AND d.event_time >= date_trunc('day', r.event_time AT TIME ZONE b.time_zone) "
    "         AT TIME ZONE b.time_zone "
    "     AND d.event_time <= r.event_time) day "
    "LEFT JOIN LATERAL (SELECT CASE WHEN ar.enabled THEN ar.template END AS template "
    "     FROM alert_rule ar JOIN org_node an ON an.id = ar.node_id "
    "     WHERE ar.kind = 'unsatisfied_rating' AND b.path <@ an.path "
    "     ORDER BY nlevel(an.path) DESC LIMIT 1) rule ON true "
    "CROSS JOIN LATERAL alert_recipients_of(b.id, 'unsatisfied_rating') rc "
    "WHERE r.gateway = $1 AND r.gateway_incarnation = $2::uuid "
    "  AND r.gateway_seq > $3::bigint AND r.gateway_seq <= $4::bigint AND r.unsatisfied "
    "ORDER BY r.gateway_seq";

static int64_t s_i64(const PGresult *res, int r, int c)
{
    return strtoll(PQgetvalue(res, r, c), NULL, 10);
}

int sn_store_unsatisfied(sn_store_t *self, const char *stream, int64_t after, int64_t upto,
                         sn_rating_fn *fn, void *arg)
{
    char gw[128], inc[ID_SIZE], a[TEXT_I64_SIZE], u[TEXT_I64_SIZE];
    if (tailcursor_gateway_split(stream, gw, sizeof gw, inc, sizeof inc) != 0)
        return -1;
    text_i64(a, after);
    text_i64(u, upto);
    const char *params[] = { gw, inc, a, u };
    PGresult *res = pgstore_query(self->pg, s_unsatisfied_sql, 4, params);
    if (!res)
        return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        sn_rating_t rating = {
            .rating_id = PQgetvalue(res, r, 0), .event_ms = s_i64(res, r, 1),
            .branch_id = s_i64(res, r, 2), .window_id = s_i64(res, r, 3),
            .staff_id = s_i64(res, r, 4), .branch_name = PQgetvalue(res, r, 5),
            .window_no = PQgetvalue(res, r, 6), .teller = PQgetvalue(res, r, 7),
            .employee_no = PQgetvalue(res, r, 8), .ticket = PQgetvalue(res, r, 9),
            .service = PQgetvalue(res, r, 10), .option = PQgetvalue(res, r, 11),
            .local_time = PQgetvalue(res, r, 12), .unsatisfied_today = s_i64(res, r, 13),
            .rated_today = s_i64(res, r, 14),
            .rule_template = PQgetisnull(res, r, 15) ? NULL : PQgetvalue(res, r, 15),
            .recipient_ids = PQgetvalue(res, r, 16),
        };
        rc = fn(arg, &rating);
    }
    PQclear(res);
    return rc;
}

static const char *s_alert_sql =
    "WITH a AS (INSERT INTO alert (id, kind, branch_id, window_id, staff_id, fact, "
    "                              opened_at, facts, stale) "
    "           VALUES ($1::uuid, $11, $2::bigint, nullif($3::bigint, 0), "
    "                   nullif($4::bigint, 0), $5, to_timestamp($6::bigint / 1000.0), "
    "                   $7::jsonb, $12::boolean) "
    "           ON CONFLICT (kind, fact) DO NOTHING RETURNING id), "
    "e AS (INSERT INTO alert_event (alert_id, kind, actor) "
    "      SELECT id, 'opened', 'sms-notifier' FROM a), "
    "m AS (INSERT INTO sms_outbox (id, alert_id, recipient_id, phone, body) "
    "      SELECT gen_random_uuid(), a.id, p.id, p.phone, "
    "             CASE WHEN p.complaint_details THEN $8 ELSE $10 END "
    "      FROM a, alert_recipient p WHERE p.id = ANY ($9::bigint[])) "
    "SELECT count(*) FROM a";

int sn_store_alert(sn_store_t *self, const sn_alert_row_t *alert, const char *facts_json,
                   const char *text, const char *plain_text)
{
    char id[ID_SIZE], branch[TEXT_I64_SIZE], window[TEXT_I64_SIZE], staff[TEXT_I64_SIZE],
        at[TEXT_I64_SIZE];
    if (id_new(id) != 0)
        return -1;
    text_i64(branch, alert->branch_id);
    text_i64(window, alert->window_id);
    text_i64(staff, alert->staff_id);
    text_i64(at, alert->opened_ms);
    const char *params[] = { id, branch, window, staff, alert->fact, at, facts_json,
                             text, alert->recipient_ids, plain_text ? plain_text : text,
                             alert->kind, alert->stale ? "true" : "false" };
    PGresult *res = pgstore_query(self->pg, s_alert_sql, 12, params);
    if (!res)
        return -1;
    int written = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return written;
}

int sn_store_resolve_fact(sn_store_t *self, const char *kind, const char *fact,
                          const char *note)
{
    const char *params[] = { kind, fact, note };
    return pgstore_exec(self->pg,
        "SELECT alert_resolve((SELECT id FROM alert WHERE kind = $1 AND fact = $2), "
        "'sms-notifier', $3)", 3, params);
}

int sn_store_threshold_members(sn_store_t *self, sn_threshold_fn *fn, void *arg)
{
    PGresult *res = pgstore_query(self->pg,
        "SELECT kind, branch_id, member, coalesce(window_id, 0), coalesce(staff_id, 0), "
        "  firing, coalesce(open_alert::text, ''), template, fields::text, note, "
        "  recipient_ids::text FROM alert_threshold_members() ORDER BY kind, branch_id, member",
        0, NULL);
    if (!res)
        return -1;
    int rc = 0;
    for (int r = 0; r < PQntuples(res) && rc == 0; r++) {
        sn_threshold_t m = {
            .kind = PQgetvalue(res, r, 0), .branch_id = s_i64(res, r, 1),
            .member = PQgetvalue(res, r, 2), .window_id = s_i64(res, r, 3),
            .staff_id = s_i64(res, r, 4), .firing = PQgetvalue(res, r, 5)[0] == 't',
            .open_alert = PQgetvalue(res, r, 6),
            .template = PQgetisnull(res, r, 7) ? NULL : PQgetvalue(res, r, 7),
            .fields_json = PQgetvalue(res, r, 8), .note = PQgetvalue(res, r, 9),
            .recipient_ids = PQgetvalue(res, r, 10),
        };
        rc = fn(arg, &m);
    }
    PQclear(res);
    return rc;
}

int sn_store_resolve(sn_store_t *self, const char *alert_id, const char *note)
{
    const char *params[] = { alert_id, note };
    return pgstore_exec(self->pg, "SELECT alert_resolve($1::uuid, 'sms-notifier', $2)", 2,
                        params);
}

int sn_store_lifecycle(sn_store_t *self)
{
    PGresult *res = pgstore_query(self->pg, "SELECT alert_lifecycle_pass()", 0, NULL);
    if (!res)
        return -1;
    int made = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    return made;
}

int sn_store_sms(pgstore_t *pg, const char *sms_id, const char *phone, const char *text,
                 int max_parts)
{
    bool cut = false;
    char *fitted = sn_sms_fit(text, max_parts, &cut);
    if (!fitted)
        return -1;
    if (cut)
        log_warn("sms_text_cut", "phone=%s max_parts=%d", phone, max_parts);
    const char *params[] = { sms_id, phone, fitted };
    int rc = pgstore_exec(pg, "INSERT INTO sms_outbox (id, kind, phone, body) "
                              "VALUES ($1::uuid, 'customer', $2, $3)", 3, params);
    free(fitted);
    return rc;
}

int sn_store_begin(sn_store_t *self)
{
    return pgstore_begin(self->pg);
}

int sn_store_commit(sn_store_t *self, const tailcursor_t *cursors)
{
    if ((cursors && tailcursor_save(cursors, self->pg, S_CURSOR_TABLE) != 0)
        || pgstore_commit(self->pg) != 0) {
        pgstore_rollback(self->pg);
        return -1;
    }
    return 0;
}

void sn_store_rollback(sn_store_t *self)
{
    pgstore_rollback(self->pg);
}
