/*  wa_purge: purge routes (wa_purge.h). */
#include "wa_purge.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa_cfg.h"
#include "wa_store.h"

static const char *const s_ages[] = { "month", "year", "all", NULL };

static const jsonreq_member_t s_create_members[] = {
    { "node", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 255 },
    { "older_than", JSONREQ_STRING, JSONREQ_REQUIRED, .one_of = s_ages },
    { "confirm", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 255 },
};
static const jsonreq_object_t s_create_spec = JSONREQ_OBJECT_OF(s_create_members);

#define S_JOB_JSON \
    "json_build_object('id', p.id, 'node', n.path::text, 'older_than', p.older_than," \
    " 'cut', " WA_TS("p.cut") ", 'backup', p.backup_id, 'state', p.state," \
    " 'created_by', p.created_by, 'created_at', " WA_TS("p.created_at") "," \
    " 'started_at', " WA_TS("p.started_at") ", 'finished_at', " WA_TS("p.finished_at") "," \
    " 'progress', json_build_object('tables_done', p.tables_done," \
    "   'tables_total', p.tables_total, 'rows_deleted', p.rows_deleted)," \
    " 'deleted', p.deleted, 'error', p.error)"

static const char s_by_id_sql[] =
    "SELECT " S_JOB_JSON "::text FROM purge_job p JOIN org_node n ON n.id = p.node_id"
    " WHERE p.id = $1 AND n.path <@ $2::ltree";

/* The cut of `older_than` and the completed backup that holds the data before
 * it: the newest of the node or an ancestor, taken at or after the cut. */
static const char s_insert_sql[] =
    "WITH want AS (SELECT n.id, n.path, CASE $2 WHEN 'month' THEN now() - interval '1 month'"
    "   WHEN 'year' THEN now() - interval '1 year' END AS cut"
    "   FROM org_node n WHERE n.id = $1),"
    " covering AS (SELECT b.id, b.snapshot_at FROM backup_job b JOIN org_node bn"
    "   ON bn.id = b.node_id, want w WHERE b.state = 'completed' AND bn.path @> w.path"
    "   AND (w.cut IS NULL OR b.snapshot_at >= w.cut)"
    "   ORDER BY b.snapshot_at DESC LIMIT 1)"
    " INSERT INTO purge_job (node_id, older_than, cut, backup_id, created_by)"
    " SELECT w.id, $2, coalesce(w.cut, c.snapshot_at), c.id, $3 FROM want w, covering c"
    " RETURNING id";

void wa_purge_create(wa_call_t *call)
{
    json_t *body = wa_decode(call, &s_create_spec);
    if (!body)
        return;
    const char *path = wa_cfg_str(body, "node");
    int64_t node_id, id;
    if (strcmp(path, wa_cfg_str(body, "confirm")) != 0) {
        wa_cfg_unprocessable(call, "confirm", "must be the node's path typed again (\"%s\")",
                             path);
    } else if (wa_cfg_node(call, "node", path, &node_id, NULL) == 0
               && wa_store_begin(call) == 0) {
        char node_text[24];
        snprintf(node_text, sizeof node_text, "%" PRId64, node_id);
        const char *params[] = { node_text, wa_cfg_str(body, "older_than"), call->who.name };
        PGresult *res = wa_store_query(call, NULL, s_insert_sql, 3, params);
        if (res && PQntuples(res) == 0) {
            wa_store_rollback(call);
            wa_problem(call, MHD_HTTP_CONFLICT, "no completed backup of %s holds the data "
                       "to purge: take one first (POST /api/v1/backups)", path);
        } else if (res) {
            id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            char location[64];
            snprintf(location, sizeof location, "/api/v1/purges/%" PRId64, id);
            httpd_reply_header(call->reply, "Location", location);
            wa_store_finish(call, "purge.create", "purge", id, node_id, NULL, s_by_id_sql,
                            MHD_HTTP_ACCEPTED);
        } else {
            wa_store_rollback(call);
        }
        if (res)
            PQclear(res);
    }
    json_decref(body);
}

void wa_purge_list(wa_call_t *call)
{
    wa_store_list(call, "purges", NULL,
                  "SELECT p.id, " S_JOB_JSON "::text"
                  " FROM purge_job p JOIN org_node n ON n.id = p.node_id"
                  " WHERE n.path <@ $1::ltree AND ($2::bigint IS NULL OR p.id < $2)"
                  " ORDER BY p.id DESC LIMIT $3");
}

void wa_purge_get(wa_call_t *call)
{
    wa_store_get(call, s_by_id_sql);
}
