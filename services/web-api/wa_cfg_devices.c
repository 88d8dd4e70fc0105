/*  wa_cfg_devices: the rating devices of the caller's subtree (wa_cfg_devices.h). */
#include "wa_cfg_devices.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa_cfg.h"
#include "wa_ops_common.h"
#include "wa_store.h"

static const jsonreq_member_t s_create_members[] = {
    { "node", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 255 },
    { "serial", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
    { "model", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
};
static const jsonreq_object_t s_create_spec = JSONREQ_OBJECT_OF(s_create_members);

static const jsonreq_member_t s_assign_members[] = {
    { "window", JSONREQ_INTEGER, JSONREQ_REQUIRED, .min = 1, .max = INT64_MAX },
};
static const jsonreq_object_t s_assign_spec = JSONREQ_OBJECT_OF(s_assign_members);

static const jsonreq_member_t s_replace_members[] = {
    { "serial", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
    { "model", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_LINE, .min = 1, .max = 64 },
};
static const jsonreq_object_t s_replace_spec = JSONREQ_OBJECT_OF(s_replace_members);

static const wa_cfg_rule_t s_rules[] = {
    { "device_serial_unique", "serial", 0 },
    { "device_serial_format", "serial", 0 },
    { "device_model_present", "model", 0 },
    { "device_window_unique", "window", 0 },
    { "device_window_fk", "window", 0 },
    { NULL, NULL, 0 },
};

/* The live state a gateway last reported (null: never seen by one). */
#define S_LIVE \
    "CASE WHEN ds.serial IS NULL THEN NULL ELSE json_build_object('status', ds.status," \
    " 'since', " WA_TS("ds.since") ", 'gateway', ds.gateway," \
    " 'branch', ds.branch_path::text) END"

#define S_DEVICE_JSON \
    "json_build_object('id', d.id, 'serial', d.serial, 'registered', true, 'model', d.model," \
    " 'firmware_version', d.firmware_version, 'node', n.path::text," \
    " 'window', CASE WHEN w.id IS NULL THEN NULL ELSE json_build_object('id', w.id," \
    "   'number', w.number, 'code', w.code, 'path', (n.path || text2ltree(w.code))::text) END," \
    " 'live', " S_LIVE ", 'registered_at', " WA_TS("d.registered_at") ")"

#define S_DEVICE_FROM \
    " FROM device d JOIN org_node n ON n.id = d.node_id" \
    " LEFT JOIN service_window w ON w.id = d.window_id" \
    " LEFT JOIN device_status ds ON ds.serial = d.serial"

/* A serial a gateway reported that is not registered. */
#define S_UNKNOWN_JSON \
    "json_build_object('id', NULL, 'serial', ds.serial, 'registered', false, 'model', NULL," \
    " 'firmware_version', NULL, 'node', ds.branch_path::text, 'window', NULL," \
    " 'live', " S_LIVE ", 'registered_at', NULL)"

#define S_UNKNOWN_WHERE \
    " NOT EXISTS (SELECT 1 FROM device d WHERE d.serial = ds.serial)"

static const char s_by_id_sql[] =
    "SELECT " S_DEVICE_JSON "::text" S_DEVICE_FROM " WHERE d.id = $1 AND n.path <@ $2::ltree";

void wa_cfg_devices_list(wa_call_t *call)
{
    static const char *const more[] = { "unassigned", "node", NULL };
    const char *unassigned = httpd_req_arg(call->req, "unassigned");
    if (unassigned && strcmp(unassigned, "true") != 0 && strcmp(unassigned, "false") != 0) {
        wa_problem(call, MHD_HTTP_BAD_REQUEST, "query argument \"unassigned\": must be true "
                   "or false");
        return;
    }
    /* a node of the caller's subtree (else 404): the devices it and the
     * nodes below it hold */
    char path[WA_PATH_SIZE];
    int64_t node_id;
    if (httpd_req_arg(call->req, "node") && wa_ops_node_arg(call, "node", &node_id, path) != 0)
        return;
    wa_store_list_key(call, "devices", more,
                      "SELECT x.serial, x.obj FROM ("
                      "  SELECT d.serial, " S_DEVICE_JSON "::text AS obj,"
                      "         d.window_id IS NULL AS unassigned, n.path" S_DEVICE_FROM
                      "  WHERE n.path <@ $1::ltree"
                      "  UNION ALL"
                      "  SELECT ds.serial, " S_UNKNOWN_JSON "::text, true, ds.branch_path"
                      "  FROM device_status ds"
                      "  WHERE ds.branch_path <@ $1::ltree AND" S_UNKNOWN_WHERE ") x"
                      " WHERE ($2::text IS NULL OR x.serial COLLATE \"C\" > $2)"
                      "   AND ($4::boolean IS NULL OR x.unassigned = $4::boolean)"
                      "   AND ($5::ltree IS NULL OR x.path <@ $5::ltree)"
                      " ORDER BY x.serial COLLATE \"C\" LIMIT $3");
}

void wa_cfg_devices_get(wa_call_t *call)
{
    wa_store_get(call, s_by_id_sql);
}

void wa_cfg_devices_create(wa_call_t *call)
{
    static const char *const fields[] = { "serial", "model", NULL };
    static const wa_cfg_create_t how = {
        .node_member = "node", .fields = fields, .rules = s_rules,
        .insert_sql = "INSERT INTO device (node_id, serial, model) VALUES ($1, $2, $3)"
                      " RETURNING id",
        .collection = "devices", .action = "device.create", .object_type = "device",
        .by_id_sql = s_by_id_sql };
    wa_cfg_create(call, &s_create_spec, &how);
}

/* The window `window_id` in the caller's subtree, for the device
 * `device_id`: 0 with its branch, or -1 answered (422: no such window or not
 * active; 409: it holds a device; 503). */
static int s_window(wa_call_t *call, int64_t window_id, int64_t device_id, int64_t *branch)
{
    char window[24];
    snprintf(window, sizeof window, "%" PRId64, window_id);
    const char *params[] = { window, call->who.node_path };
    PGresult *res = pgstore_query(call->pg,
                                  "SELECT w.node_id, w.active, d.id, d.serial"
                                  " FROM service_window w JOIN org_node n ON n.id = w.node_id"
                                  " LEFT JOIN device d ON d.window_id = w.id"
                                  " WHERE w.id = $1 AND n.path <@ $2::ltree",
                                  2, params);
    if (!res)
        return wa_unavailable(call, "database");
    int rc = 0;
    if (PQntuples(res) != 1)
        rc = wa_cfg_unprocessable(call, "window", "no window %s in your subtree %s", window,
                                  call->who.node_path);
    else if (strcmp(PQgetvalue(res, 0, 1), "t") != 0)
        rc = wa_cfg_unprocessable(call, "window", "window %s is not active", window);
    else if (!PQgetisnull(res, 0, 2)
             && strtoll(PQgetvalue(res, 0, 2), NULL, 10) == device_id)
        rc = wa_cfg_conflict(call, "window", "the device is already at window %s", window);
    else if (!PQgetisnull(res, 0, 2))
        rc = wa_cfg_conflict(call, "window", "window %s already holds device %s: unassign "
                             "or replace that one", window, PQgetvalue(res, 0, 3));
    else
        *branch = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return rc;
}

/* Whether the device JSON `device` is at a window. */
static bool s_assigned(const json_t *device)
{
    return json_is_object(json_object_get(device, "window"));
}

void wa_cfg_devices_assign(wa_call_t *call)
{
    wa_cfg_update_t u;
    int64_t old_node = 0, branch = 0;
    if (wa_cfg_replace_begin(call, s_by_id_sql, &s_assign_spec, &u) == 0
        && wa_cfg_node_of(call, "device", u.id_text, &old_node) == 0
        && s_window(call, json_integer_value(json_object_get(u.body, "window")), u.id,
                    &branch) == 0) {
        char window[24];
        snprintf(window, sizeof window, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(u.body, "window")));
        const char *params[] = { u.id_text, window };
        /* taken off another branch's window: that branch's gateway drops it */
        if (wa_cfg_update_finish(call, &u, s_rules,
                                 "UPDATE device SET window_id = $2 WHERE id = $1", 2, params,
                                 "device.assign", "device", branch, s_by_id_sql) == 0
            && s_assigned(u.before) && old_node != branch)
            wa_cfg_changed_node(call, old_node);
    }
    wa_cfg_update_end(&u);
}

void wa_cfg_devices_unassign(wa_call_t *call)
{
    int64_t id, branch;
    if (wa_param_id(call, &id) != 0)
        return;
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%" PRId64, id);
    json_t *before = wa_store_json(call, s_by_id_sql, id_text);
    const char *params[] = { id_text };
    if (!before)
        wa_problem(call, MHD_HTTP_NOT_FOUND, "no such object");
    else if (!s_assigned(before))
        wa_problem(call, MHD_HTTP_CONFLICT, "device %s is not assigned to a window",
                   json_string_value(json_object_get(before, "serial")));
    else if (wa_cfg_node_of(call, "device", id_text, &branch) == 0
             && wa_store_begin(call) == 0
             && wa_cfg_exec(call, s_rules, "UPDATE device SET window_id = NULL WHERE id = $1",
                            1, params) == 0
             && wa_store_finish(call, "device.unassign", "device", id, branch, before,
                                s_by_id_sql, MHD_HTTP_OK) == 0)
        wa_cfg_changed_node(call, branch);
    json_decref(before);
}

/* The device that replaces u's, in the caller's transaction: the one
 * registered as `serial` (in the caller's subtree, unassigned, locked), or
 * one registered now with that serial (model: the body's, else the old
 * one's) in the old one's stock; its JSON before goes to *before (NULL when
 * new). 0 with its id, or -1 rolled back and answered (409, 422, 503). */
static int s_replacement(wa_call_t *call, const wa_cfg_update_t *u, int64_t *id,
                         json_t **before)
{
    const char *serial = wa_cfg_str(u->body, "serial");
    const char *params[] = { serial, call->who.node_path };
    PGresult *res = pgstore_query(call->pg,
                                  "SELECT d.id, d.window_id IS NOT NULL,"
                                  " coalesce(n.path <@ $2::ltree, false)"
                                  " FROM device d LEFT JOIN org_node n ON n.id = d.node_id"
                                  " WHERE d.serial = $1 FOR UPDATE OF d",
                                  2, params);
    if (!res) {
        wa_store_rollback(call);
        return wa_unavailable(call, "database");
    }
    int rc = 0;
    *before = NULL;
    if (PQntuples(res) == 0) {
        PQclear(res);
        const char *insert[] = { serial, wa_cfg_str(u->body, "model"), u->id_text };
        res = wa_cfg_query(call, s_rules,
                           "INSERT INTO device (node_id, serial, model)"
                           " SELECT node_id, $1, coalesce($2, model) FROM device WHERE id = $3"
                           " RETURNING id",
                           3, insert);
        if (!res)
            return -1;
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    }
    else if (strtoll(PQgetvalue(res, 0, 0), NULL, 10) == u->id)
        rc = wa_cfg_unprocessable(call, "serial", "%s is the device being replaced", serial);
    else if (strcmp(PQgetvalue(res, 0, 2), "t") != 0)
        rc = wa_cfg_conflict(call, "serial", "%s is registered outside your subtree %s",
                             serial, call->who.node_path);
    else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
        rc = wa_cfg_conflict(call, "serial", "device %s is at another window: unassign it "
                             "first", serial);
    else {
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *before = wa_store_json(call, s_by_id_sql, PQgetvalue(res, 0, 0));
    }
    PQclear(res);
    if (rc != 0)
        wa_store_rollback(call);
    return rc;
}

/* {"removed": old, "installed": new} (either may be NULL: null). */
static json_t *s_pair(json_t *removed, json_t *installed)
{
    json_t *pair = json_object();
    json_object_set(pair, "removed", removed ? removed : json_null());
    json_object_set(pair, "installed", installed ? installed : json_null());
    return pair;
}

void wa_cfg_devices_replace(wa_call_t *call)
{
    wa_cfg_update_t u;
    int64_t branch, new_id = 0;
    json_t *new_before = NULL, *old_after = NULL, *new_after = NULL;
    if (wa_cfg_replace_begin(call, s_by_id_sql, &s_replace_spec, &u) != 0)
        goto done;
    if (!s_assigned(u.before)) {
        wa_problem(call, MHD_HTTP_CONFLICT, "device %s is not assigned to a window: assign "
                   "the new one instead", wa_cfg_str(u.before, "serial"));
        goto done;
    }
    if (wa_cfg_node_of(call, "device", u.id_text, &branch) != 0 || wa_store_begin(call) != 0
        || s_replacement(call, &u, &new_id, &new_before) != 0)
        goto done;
    char new_text[24], window[24];
    snprintf(new_text, sizeof new_text, "%" PRId64, new_id);
    snprintf(window, sizeof window, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(json_object_get(u.before, "window"), "id")));
    const char *off[] = { u.id_text };
    const char *on[] = { new_text, window };
    /* one window holds one device at any moment: off first */
    if (wa_cfg_exec(call, s_rules, "UPDATE device SET window_id = NULL WHERE id = $1", 1,
                    off) != 0
        || wa_cfg_exec(call, s_rules, "UPDATE device SET window_id = $2 WHERE id = $1", 2,
                       on) != 0)
        goto done;
    old_after = wa_store_json(call, s_by_id_sql, u.id_text);
    new_after = wa_store_json(call, s_by_id_sql, new_text);
    json_t *detail = json_object();
    json_object_set_new(detail, "before", s_pair(u.before, new_before));
    json_object_set_new(detail, "after", s_pair(old_after, new_after));
    int rc = new_after ? wa_store_audit(call, "device.replace", "device", u.id, branch, detail)
                       : wa_unavailable(call, "database");
    json_decref(detail);
    if (rc != 0 || wa_store_commit(call) != 0) {
        wa_store_rollback(call);
        goto done;
    }
    wa_reply_jansson(call, MHD_HTTP_OK, &new_after);
    wa_cfg_changed_node(call, branch);
done:
    json_decref(new_before);
    json_decref(old_after);
    json_decref(new_after);
    wa_cfg_update_end(&u);
}

void wa_cfg_devices_of_branch(wa_call_t *call)
{
    wa_ops_branch_object(call,
                         "SELECT json_build_object('branch', $1::text, 'devices',"
                         " coalesce(json_agg(x.obj ORDER BY x.number NULLS LAST, x.serial"
                         " COLLATE \"C\"), '[]'::json))::text FROM ("
                         "  SELECT d.serial, w.number, " S_DEVICE_JSON " AS obj" S_DEVICE_FROM
                         "  WHERE n.path = $1::ltree"
                         "  UNION ALL"
                         "  SELECT ds.serial, NULL::int, " S_UNKNOWN_JSON " FROM device_status ds"
                         "  WHERE ds.branch_path = $1::ltree AND" S_UNKNOWN_WHERE ") x");
}
