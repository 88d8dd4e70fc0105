/*  wa_cfg_windows: windows and work profiles (wa_cfg_windows.h). */
#include "wa_cfg_windows.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qm_rules.h"
#include "wa_cfg.h"
#include "wa_store.h"

static const jsonreq_member_t s_create_members[] = {
    { "branch", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_FIXED | JSONREQ_LINE,
      .min = 1, .max = 255 },
    { "number", JSONREQ_INTEGER, JSONREQ_REQUIRED, .min = 1, .max = 999 },
    { "name", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
    { "code", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_FIXED | JSONREQ_LINE,
      .min = 1, .max = 32 },
    { .name = "active", .type = JSONREQ_BOOLEAN },
};
static const jsonreq_object_t s_create_spec = JSONREQ_OBJECT_OF(s_create_members);

static const jsonreq_member_t s_profile_members[] = {
    { "profile", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 512 },
};
static const jsonreq_object_t s_profile_spec = JSONREQ_OBJECT_OF(s_profile_members);

static const wa_cfg_rule_t s_rules[] = {
    { "service_window_number_unique", "number", 0 },
    { "service_window_number_range", "number", 0 },
    { "service_window_code_unique", "code", 0 },
    { "org_node_code_not_window_code", "code", 0 },
    { "service_window_code_format", "code", 0 },
    { "service_window_name_present", "name", 0 },
    { "service_window_node_is_branch", "branch", 0 },
    { "work_profile_format", "profile", 0 },
    { NULL, NULL, 0 },
};

#define S_WINDOW_JSON \
    "json_build_object('id', w.id, 'branch', n.path::text, 'number', w.number," \
    " 'code', w.code, 'path', (n.path || text2ltree(w.code))::text, 'name', w.name," \
    " 'active', w.active," \
    " 'profile', (SELECT p.profile FROM work_profile p WHERE p.window_id = w.id)," \
    " 'created_at', " WA_TS("w.created_at") ")"

static const char s_by_id_sql[] =
    "SELECT " S_WINDOW_JSON "::text FROM service_window w JOIN org_node n ON n.id = w.node_id"
    " WHERE w.id = $1 AND n.path <@ $2::ltree";

void wa_cfg_windows_list(wa_call_t *call)
{
    static const char *const more[] = { "branch", NULL };
    wa_store_list(call, "windows", more,
                  "SELECT w.id, " S_WINDOW_JSON "::text"
                  " FROM service_window w JOIN org_node n ON n.id = w.node_id"
                  " WHERE n.path <@ $1::ltree AND ($2::bigint IS NULL OR w.id > $2)"
                  "   AND ($4::text IS NULL OR n.path::text = $4)"
                  " ORDER BY w.id LIMIT $3");
}

void wa_cfg_windows_get(wa_call_t *call)
{
    wa_store_get(call, s_by_id_sql);
}

void wa_cfg_windows_create(wa_call_t *call)
{
    static const char *const fields[] = { "number", "name", "code", "active", NULL };
    static const wa_cfg_create_t how = {
        .node_member = "branch", .branch = true, .fields = fields, .rules = s_rules,
        .insert_sql = "INSERT INTO service_window (node_id, number, name, code, active)"
                      " VALUES ($1, $2::int, $3, coalesce($4, 'w' || lpad($2::text,"
                      "         greatest(2, length($2::text)), '0')),"
                      "         coalesce($5::boolean, true)) RETURNING id",
        .collection = "windows", .action = "window.create", .object_type = "window",
        .by_id_sql = s_by_id_sql };
    wa_cfg_create(call, &s_create_spec, &how);
}

void wa_cfg_windows_update(wa_call_t *call)
{
    wa_cfg_update_t u;
    int64_t branch_id;
    if (wa_cfg_update_begin(call, s_by_id_sql, &s_create_spec, &u) == 0
        && wa_cfg_node_of(call, "service_window", u.id_text, &branch_id) == 0) {
        char number[24], active[24];
        const char *params[] = { u.id_text, wa_cfg_text(u.body, "number", number),
                                 wa_cfg_str(u.body, "name"),
                                 wa_cfg_text(u.body, "active", active) };
        wa_cfg_update_finish(call, &u, s_rules,
                             "UPDATE service_window SET number = coalesce($2, number),"
                             " name = coalesce($3, name),"
                             " active = coalesce($4::boolean, active) WHERE id = $1",
                             4, params, "window.update", "window", branch_id, s_by_id_sql);
    }
    wa_cfg_update_end(&u);
}

/* The services of `profile` that the window's branch cannot use (not
 * active, not defined at the branch or above): the first, or 0 if none;
 * -1 answered (503). */
static int s_unusable_service(wa_call_t *call, const qm_profile_t *profile,
                              int64_t branch_id, int64_t *service)
{
    char array[QM_PROFILE_MAX * 24 + 4] = "{", branch[24];
    size_t used = 1;
    for (size_t i = 0; i < profile->service_count; i++)
        used += (size_t) snprintf(array + used, sizeof array - used, "%s%" PRId64,
                                  i ? "," : "", profile->services[i]);
    snprintf(array + used, sizeof array - used, "}");
    snprintf(branch, sizeof branch, "%" PRId64, branch_id);
    const char *params[] = { array, branch };
    PGresult *res = pgstore_query(call->pg,
                                  "SELECT id FROM unnest($1::bigint[]) WITH ORDINALITY AS x (id, i)"
                                  " WHERE NOT EXISTS (SELECT 1 FROM service s"
                                  "   JOIN org_node sn ON sn.id = s.node_id, org_node b"
                                  "   WHERE s.id = x.id AND s.active AND b.id = $2"
                                  "     AND sn.path @> b.path)"
                                  " ORDER BY i LIMIT 1",
                                  2, params);
    if (!res)
        return wa_unavailable(call, "database");
    *service = PQntuples(res) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return 0;
}

void wa_cfg_windows_set_profile(wa_call_t *call)
{
    wa_cfg_update_t u;
    int64_t branch_id, unusable = 0;
    if (wa_cfg_replace_begin(call, s_by_id_sql, &s_profile_spec, &u) != 0
        || wa_cfg_node_of(call, "service_window", u.id_text, &branch_id) != 0) {
        wa_cfg_update_end(&u);
        return;
    }
    const char *text = wa_cfg_str(u.body, "profile");
    qm_profile_t profile;
    char reason[QM_REASON_SIZE], canonical[512];
    if (qm_profile_parse(text, &profile, reason) != 0)
        wa_cfg_unprocessable(call, "profile", "%s (the form is <strict|longest_wait|"
                             "weighted>;vip=<1..100>;ordinary=<1..100>;services=<id>[,<id>...])",
                             reason);
    else if (s_unusable_service(call, &profile, branch_id, &unusable) != 0)
        ;
    else if (unusable)
        wa_cfg_unprocessable(call, "profile", "service %" PRId64 " is not an active service "
                             "of branch %s or above it", unusable,
                             wa_cfg_str(u.before, "branch"));
    else if (qm_profile_format(&profile, canonical, sizeof canonical) != 0)
        wa_cfg_unprocessable(call, "profile", "too long");
    else {
        const char *params[] = { u.id_text, canonical };
        wa_cfg_update_finish(call, &u, s_rules,
                             "INSERT INTO work_profile (window_id, profile) VALUES ($1, $2)"
                             " ON CONFLICT (window_id) DO UPDATE"
                             " SET profile = EXCLUDED.profile, updated_at = now()",
                             2, params, "window.profile", "window", branch_id, s_by_id_sql);
    }
    wa_cfg_update_end(&u);
}
