/*  wa_backup: backup routes (wa_backup.h). */
#include "wa_backup.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"
#include "wa_cfg.h"
#include "wa_store.h"

static const jsonreq_member_t s_create_members[] = {
    { "node", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_LINE, .min = 1, .max = 255 },
};
static const jsonreq_object_t s_create_spec = JSONREQ_OBJECT_OF(s_create_members);

#define S_JOB_JSON \
    "json_build_object('id', b.id, 'node', n.path::text, 'whole', b.whole, 'state', b.state," \
    " 'created_by', b.created_by, 'created_at', " WA_TS("b.created_at") "," \
    " 'started_at', " WA_TS("b.started_at") ", 'finished_at', " WA_TS("b.finished_at") "," \
    " 'snapshot_at', " WA_TS("b.snapshot_at") "," \
    " 'progress', json_build_object('rows_done', b.rows_done, 'rows_total', b.rows_total)," \
    " 'size', b.size, 'sha256', b.sha256, 'error', b.error)"

static const char s_by_id_sql[] =
    "SELECT " S_JOB_JSON "::text FROM backup_job b JOIN org_node n ON n.id = b.node_id"
    " WHERE b.id = $1 AND n.path <@ $2::ltree";

void wa_backup_create(wa_call_t *call)
{
    json_t *body = wa_decode(call, &s_create_spec);
    if (!body)
        return;
    const char *path = wa_cfg_str(body, "node");
    int64_t node_id, id;
    if (wa_cfg_node(call, "node", path ? path : call->who.node_path, &node_id, NULL) == 0) {
        char node_text[24];
        snprintf(node_text, sizeof node_text, "%" PRId64, node_id);
        const char *params[] = { node_text, call->who.name };
        if (wa_store_insert(call, NULL,
                            "INSERT INTO backup_job (node_id, whole, created_by)"
                            " SELECT id, nlevel(path) = 1, $2 FROM org_node WHERE id = $1"
                            " RETURNING id", 2, params, &id) == 0) {
            char location[64];
            snprintf(location, sizeof location, "/api/v1/backups/%" PRId64, id);
            httpd_reply_header(call->reply, "Location", location);
            wa_store_finish(call, "backup.create", "backup", id, node_id, NULL, s_by_id_sql,
                            MHD_HTTP_ACCEPTED);
        }
    }
    json_decref(body);
}

void wa_backup_list(wa_call_t *call)
{
    wa_store_list(call, "backups", NULL,
                  "SELECT b.id, " S_JOB_JSON "::text"
                  " FROM backup_job b JOIN org_node n ON n.id = b.node_id"
                  " WHERE n.path <@ $1::ltree AND ($2::bigint IS NULL OR b.id < $2)"
                  " ORDER BY b.id DESC LIMIT $3");
}

void wa_backup_get(wa_call_t *call)
{
    wa_store_get(call, s_by_id_sql);
}

/* --- the archive, streamed from its file ----------------------------------------------- */

static long s_read(void *producer, char *buf, size_t max)
{
    FILE *f = producer;
    size_t n = fread(buf, 1, max, f);
    return n > 0 ? (long) n : -1;
}

static void s_close(void *producer)
{
    fclose(producer);
}

static const httpd_stream_ops_t s_stream_ops = { s_read, s_close };

void wa_backup_archive(wa_call_t *call)
{
    int64_t id;
    if (wa_param_id(call, &id) != 0)
        return;
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%" PRId64, id);
    json_t *job = wa_store_json(call,
                                "SELECT json_build_object('state', b.state, 'file', b.file,"
                                " 'node_id', b.node_id, 'node', n.path::text)::text"
                                " FROM backup_job b JOIN org_node n ON n.id = b.node_id"
                                " WHERE b.id = $1 AND n.path <@ $2::ltree", id_text);
    if (!job) {
        wa_problem(call, MHD_HTTP_NOT_FOUND, "no such object");
        return;
    }
    const char *state = json_string_value(json_object_get(job, "state"));
    if (strcmp(state, "completed") != 0) {
        wa_problem(call, MHD_HTTP_CONFLICT, "the backup is %s, not completed", state);
        json_decref(job);
        return;
    }
    char file[4200], name[160];
    snprintf(file, sizeof file, "%s/%s", call->config->backup_dir,
             json_string_value(json_object_get(job, "file")));
    snprintf(name, sizeof name, "attachment; filename=\"eqms-%s-%s.zip\"",
             json_string_value(json_object_get(job, "node")), id_text);
    int64_t node_id = json_integer_value(json_object_get(job, "node_id"));
    json_decref(job);
    FILE *f = fopen(file, "rb");
    if (!f) {
        log_error("webapi_backup_missing", "job=%s file=%s", id_text, file);
        wa_problem(call, MHD_HTTP_GONE, "the archive of this backup is no longer stored");
        return;
    }
    /* who took the data away, and when */
    if (wa_store_begin(call) != 0
        || wa_store_audit(call, "backup.download", "backup", id, node_id, NULL) != 0
        || wa_store_commit(call) != 0) {
        wa_store_rollback(call);
        fclose(f);
        return;
    }
    httpd_reply_header(call->reply, "Content-Disposition", name);
    httpd_reply_stream(call->reply, MHD_HTTP_OK, "application/zip", &s_stream_ops, f);
}
