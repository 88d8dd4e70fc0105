/*  registry: device registry snapshots of a branch from PostgreSQL (registry.h). */
#include "registry.h"

#include <string.h>

#include "eqms/envelope.h"
#include "eqms/log.h"

/* One statement builds the whole snapshot, so it is one consistent view.
 * The idle text goes out as LCD lines of at most 8 characters (one line of
 * the device holds 8 GB2312 characters). */
static const char *s_snapshot_sql =
    "SELECT json_build_object("
    "  'branch', b.path::text,"
    "  'generated', to_char(clock_timestamp() AT TIME ZONE 'UTC',"
    "                       'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    "  'devices', coalesce((SELECT json_agg(json_build_object("
    "      'serial', d.serial,"
    "      'window', json_build_object('id', w.id, 'number', w.number, 'code', w.code,"
    "                                  'path', (b.path || text2ltree(w.code))::text),"
    "      'scale', (SELECT json_build_object('code', rs.code, 'options',"
    "                  (SELECT json_agg(json_build_object('code', o.code, 'label', o.label,"
    "                                                     'score', o.score)"
    "                                   ORDER BY o.position)"
    "                   FROM rating_option o WHERE o.scale_id = rs.id))"
    "                FROM rating_scale rs WHERE rs.id = s.rating_scale_id),"
    "      'rating_timeout_s', s.rating_timeout_s,"
    "      'repeat_press_s', s.repeat_press_s,"
    "      'idle_text', coalesce((SELECT json_agg(line[1])"
    "                             FROM regexp_matches(s.idle_text, '.{1,8}', 'g') AS line),"
    "                            '[]'::json)) ORDER BY d.serial)"
    "    FROM device d JOIN service_window w ON w.id = d.window_id"
    "    WHERE w.node_id = b.id AND w.active), '[]'::json),"
    "  'staff', coalesce((SELECT json_agg(json_build_object("
    "      'employee_no', st.employee_no, 'name', st.name, 'active', st.active)"
    "      ORDER BY st.employee_no)"
    "    FROM staff st JOIN org_node h ON h.id = st.node_id"
    "    WHERE h.path <@ b.path), '[]'::json))::text "
    "FROM org_node b, LATERAL effective_settings(b.id) s "
    "WHERE b.path = $1::ltree AND b.kind = 'branch'";

json_t *registry_snapshot(pgstore_t *pg, const char *branch_path)
{
    if (!branch_path || !envelope_org_path_valid(branch_path, strlen(branch_path)))
        return NULL;
    const char *params[] = { branch_path };
    PGresult *res = pgstore_query(pg, s_snapshot_sql, 1, params);
    if (!res)
        return NULL;
    json_t *snapshot = NULL;
    if (PQntuples(res) == 1) {
        json_error_t error;
        snapshot = json_loads(PQgetvalue(res, 0, 0), 0, &error);
        if (!snapshot)
            log_error("registry_json", "branch=%s reason=\"%s\"", branch_path, error.text);
    }
    PQclear(res);
    return snapshot;
}
