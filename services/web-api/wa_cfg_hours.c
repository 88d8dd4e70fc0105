/*  wa_cfg_hours: the opening hours of a node (wa_cfg_hours.h). */
#include "wa_cfg_hours.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/hours.h"
#include "eqms/log.h"
#include "wa_cfg.h"
#include "wa_store.h"

#define S_DATES_MAX 100           /* special dates of one node */
#define S_NOTE_CHARS 32           /* opening_date_note_length */

static const char *const s_weekdays[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun",
                                          NULL };

static const jsonreq_member_t s_session_members[] = {
    { "opens", JSONREQ_STRING, JSONREQ_REQUIRED, .min = 5, .max = 5 },
    { "closes", JSONREQ_STRING, JSONREQ_REQUIRED, .min = 5, .max = 5 },
};
static const jsonreq_object_t s_session_spec = JSONREQ_OBJECT_OF(s_session_members);
static const jsonreq_member_t s_session = { .type = JSONREQ_OBJECT, .object = &s_session_spec };

#define S_DAY(name) \
    { name, JSONREQ_ARRAY, JSONREQ_REQUIRED, .min = 0, .max = HOURS_SESSIONS_MAX, \
      .items = &s_session }
static const jsonreq_member_t s_week_members[] = {
    S_DAY("mon"), S_DAY("tue"), S_DAY("wed"), S_DAY("thu"), S_DAY("fri"), S_DAY("sat"),
    S_DAY("sun"),
};
static const jsonreq_object_t s_week_spec = JSONREQ_OBJECT_OF(s_week_members);

static const jsonreq_member_t s_date_members[] = {
    { "date", JSONREQ_STRING, JSONREQ_REQUIRED, .min = 10, .max = 10 },
    { "hours_of", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_NULLABLE, .one_of = s_weekdays },
    { "note", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_LINE, .min = 0, .max = S_NOTE_CHARS },
};
static const jsonreq_object_t s_date_spec = JSONREQ_OBJECT_OF(s_date_members);
static const jsonreq_member_t s_date = { .type = JSONREQ_OBJECT, .object = &s_date_spec };

static const jsonreq_member_t s_update_members[] = {
    { "week", JSONREQ_OBJECT, JSONREQ_OPTIONAL | JSONREQ_NULLABLE, .object = &s_week_spec },
    { "issue_cutoff_min", JSONREQ_INTEGER, JSONREQ_OPTIONAL | JSONREQ_NULLABLE, .min = 0,
      .max = HOURS_CUTOFF_MAX },
    { "dates", JSONREQ_ARRAY, JSONREQ_OPTIONAL, .min = 0, .max = S_DATES_MAX,
      .items = &s_date },
};
static const jsonreq_object_t s_update_spec = JSONREQ_OBJECT_OF(s_update_members);

/* What the database checks again, for any writer. */
static const wa_cfg_rule_t s_rules[] = {
    { "opening_hours_cutoff_range", "issue_cutoff_min", 0 },
    { "opening_session_order", "week", 0 },
    { "opening_session_whole_minutes", "week", 0 },
    { "opening_session_overlap", "week", 0 },
    { "opening_session_count", "week", 0 },
    { "opening_session_pkey", "week", 0 },
    { "opening_date_pkey", "dates", 0 },
    { "opening_date_note_length", "dates", 0 },
    { NULL, NULL, 0 },
};

/* Each part: the node's own value, the one in force and the node it comes
 * from (null: none sets it, the default); f is opening_hours_in_force. */
#define S_HOURS_JSON \
    "json_build_object('node_id', n.id, 'node', n.path::text, 'time_zone', n.time_zone," \
    " 'week', json_build_object('value', CASE WHEN h.own_week THEN opening_week_json(n.id) END," \
    "   'effective', f->'week', 'from', f->'week_from')," \
    " 'issue_cutoff_min', json_build_object('value', h.issue_cutoff_min," \
    "   'effective', f->'issue_cutoff_min', 'from', f->'cutoff_from')," \
    " 'dates', coalesce((SELECT json_agg(json_build_object('date'," \
    "   to_char(d.day, 'YYYY-MM-DD'), 'hours_of', eqms_weekday_name(d.hours_of)," \
    "   'note', d.note) ORDER BY d.day) FROM opening_date d WHERE d.node_id = n.id)," \
    "   '[]'::json)," \
    " 'dates_in_force', f->'dates', 'updated_at', " WA_TS("h.updated_at") ")"

#define S_HOURS_FROM \
    " FROM org_node n LEFT JOIN opening_hours h ON h.node_id = n.id," \
    " LATERAL opening_hours_in_force(n.id) f WHERE n.id = $1 AND n.path <@ $2::ltree"

static const char s_by_id_sql[] = "SELECT " S_HOURS_JSON "::text" S_HOURS_FROM;
static const char s_answer_sql[] =
    "SELECT " S_HOURS_JSON "::text, f::text, n.time_zone" S_HOURS_FROM;

static json_t *s_time(int64_t ms)
{
    char text[CLOCK_RFC3339_SIZE];
    return ms && clock_format_rfc3339(ms, text) == 0 ? json_string(text) : json_null();
}

json_t *wa_cfg_hours_issuing(const char *in_force, const char *time_zone)
{
    json_error_t err;
    json_t *doc = json_loads(in_force, 0, &err);
    clock_zone_t *zone = clock_zone_new(time_zone);
    hours_t hours;
    hours_status_t st;
    char reason[HOURS_REASON_SIZE] = "not JSON or no zone";
    json_t *out = NULL;
    if (doc && zone && hours_decode(doc, &hours, reason) == 0
        && hours_status(&hours, zone, clock_now_ms(), &st) == 0)
        out = json_pack("{s:s, s:o, s:o, s:o}", "state", hours_state_name(st.state),
                        "until", s_time(st.until_ms), "closes_at", s_time(st.closes_ms),
                        "resumes_at", s_time(st.resumes_ms));
    else
        log_error("opening_hours_unreadable", "zone=%s reason=\"%s\"", time_zone, reason);
    json_decref(doc);
    clock_zone_destroy(&zone);
    return out;
}

/* Answers `status` with the node's hours and, in `issuing`, whether tickets
 * are issued there now. */
static void s_answer(wa_call_t *call, unsigned status, const char *id_text)
{
    const char *params[] = { id_text, call->who.node_path };
    PGresult *res = pgstore_query(call->pg, s_answer_sql, 2, params);
    if (!res) {
        wa_unavailable(call, "database");
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        wa_problem(call, MHD_HTTP_NOT_FOUND, "no such object");
        return;
    }
    json_t *answer = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    json_t *issuing = wa_cfg_hours_issuing(PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
    PQclear(res);
    if (!answer || !issuing) {
        json_decref(answer);
        json_decref(issuing);
        wa_unavailable(call, "opening hours");
        return;
    }
    json_object_set_new(answer, "issuing", issuing);
    wa_reply_jansson(call, status, &answer);
}

void wa_cfg_hours_get(wa_call_t *call)
{
    int64_t id;
    if (wa_param_id(call, &id) != 0)
        return;
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%" PRId64, id);
    s_answer(call, MHD_HTTP_OK, id_text);
}

/* What the form alone cannot say: a week's sessions in order and apart, and
 * real dates named once. 0, or -1 answered (422 naming the member). */
static int s_check(wa_call_t *call, const json_t *body)
{
    const json_t *week = json_object_get(body, "week");
    hours_t hours;
    char member[64], reason[HOURS_REASON_SIZE];
    if (json_is_object(week) && hours_decode_week(week, &hours, member, reason) != 0) {
        char name[80];
        snprintf(name, sizeof name, "week%s%s", *member ? "." : "", member);
        return wa_cfg_unprocessable(call, name, "%s", reason);
    }
    const json_t *dates = json_object_get(body, "dates");
    for (size_t i = 0; i < json_array_size(dates); i++) {
        const char *text = json_string_value(json_object_get(json_array_get(dates, i), "date"));
        clock_date_t date;
        snprintf(member, sizeof member, "dates[%zu].date", i);
        if (hours_date_parse(text, &date) != 0)
            return wa_cfg_unprocessable(call, member, "must be a date such as 2026-10-01");
        for (size_t j = 0; j < i; j++)
            if (strcmp(text, json_string_value(json_object_get(json_array_get(dates, j),
                                                               "date"))) == 0)
                return wa_cfg_unprocessable(call, member, "%s is given twice", text);
    }
    return 0;
}

#define S_WEEKDAY_OF(x) "array_position(ARRAY['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], " x ")"

/* Writes the change, audits it, commits and answers with the hours after. */
static void s_write(wa_call_t *call, wa_cfg_update_t *u)
{
    const json_t *week = json_object_get(u->body, "week");
    const json_t *dates = json_object_get(u->body, "dates");
    char *week_text = wa_cfg_json_text(u->body, "week");
    char *dates_text = wa_cfg_json_text(u->body, "dates");
    char cutoff[24];
    /* each member: absent keeps the node's own, null clears it (inherit) */
    const char *upsert[] = { u->id_text, week ? "t" : "f", json_is_object(week) ? "t" : "f",
                             json_object_get(u->body, "issue_cutoff_min") ? "t" : "f",
                             wa_cfg_text(u->body, "issue_cutoff_min", cutoff) };
    const char *node[] = { u->id_text };
    const char *sessions[] = { u->id_text, week_text };
    const char *days[] = { u->id_text, dates_text };
    int rc = wa_store_begin(call) == 0
             && wa_cfg_exec(call, s_rules,
                            "INSERT INTO opening_hours (node_id, own_week, issue_cutoff_min)"
                            " VALUES ($1, $3::boolean, $5::int) ON CONFLICT (node_id) DO UPDATE"
                            " SET own_week = CASE WHEN $2::boolean THEN EXCLUDED.own_week"
                            "                ELSE opening_hours.own_week END,"
                            " issue_cutoff_min = CASE WHEN $4::boolean"
                            "   THEN EXCLUDED.issue_cutoff_min"
                            "   ELSE opening_hours.issue_cutoff_min END", 5, upsert) == 0
             && (!week || wa_cfg_exec(call, s_rules, "DELETE FROM opening_session"
                                      " WHERE node_id = $1", 1, node) == 0)
             && (!week_text
                 || wa_cfg_exec(call, s_rules,
                                "INSERT INTO opening_session (node_id, weekday, opens, closes)"
                                " SELECT $1::bigint, " S_WEEKDAY_OF("d.key") ","
                                " (s->>'opens')::time, (s->>'closes')::time"
                                " FROM json_each($2::json) d,"
                                " LATERAL json_array_elements(d.value) s", 2, sessions) == 0)
             && (!dates || wa_cfg_exec(call, s_rules, "DELETE FROM opening_date"
                                       " WHERE node_id = $1", 1, node) == 0)
             && (!dates_text
                 || wa_cfg_exec(call, s_rules,
                                "INSERT INTO opening_date (node_id, day, hours_of, note)"
                                " SELECT $1::bigint, (x->>'date')::date,"
                                " " S_WEEKDAY_OF("x->>'hours_of'") ", coalesce(x->>'note', '')"
                                " FROM json_array_elements($2::json) x", 2, days) == 0)
             ? 0 : -1;
    free(week_text);
    free(dates_text);
    if (rc != 0)
        return;                   /* answered and rolled back */
    json_t *after = wa_store_json(call, s_by_id_sql, u->id_text);
    json_t *detail = after ? json_pack("{s:O, s:O}", "before", u->before, "after", after)
                           : NULL;
    if (!detail) {
        wa_store_rollback(call);
        wa_unavailable(call, "database");
    } else if (wa_store_audit(call, "opening_hours.update", "opening_hours", u->id, u->id,
                              detail) != 0 || wa_store_commit(call) != 0) {
        wa_store_rollback(call);  /* answered */
    } else {
        s_answer(call, MHD_HTTP_OK, u->id_text);
        wa_cfg_changed_node(call, u->id);
    }
    json_decref(detail);
    json_decref(after);
}

void wa_cfg_hours_update(wa_call_t *call)
{
    wa_cfg_update_t u;
    if (wa_cfg_update_begin(call, s_by_id_sql, &s_update_spec, &u) == 0
        && s_check(call, u.body) == 0)
        s_write(call, &u);
    wa_cfg_update_end(&u);
}
