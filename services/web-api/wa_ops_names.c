/*  wa_ops_names: names in a branch's live state (wa_ops_names.h). */
#include "wa_ops_names.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"

/* The ids of `key` in the objects of `array`, as a bigint[] literal. */
static char *s_ids(const json_t *array, const char *key)
{
    size_t cap = 2 + json_array_size(array) * 21, used = 1;
    char *text = malloc(cap);
    if (!text)
        return NULL;
    text[0] = '{';
    size_t i;
    const json_t *item;
    json_array_foreach(array, i, item) {
        const json_t *id = json_object_get(item, key);
        if (json_is_integer(id))
            used += (size_t) snprintf(text + used, cap - used, "%s%" JSON_INTEGER_FORMAT,
                                      used > 1 ? "," : "", json_integer_value(id));
    }
    snprintf(text + used, cap - used, "}");
    return text;
}

/* Sets `member` of every object of `array` to names[object[key]] (null
 * when the object has no such key or the map no such name). */
static void s_set(json_t *array, const char *key, const char *member, const json_t *names)
{
    size_t i;
    json_t *item;
    json_array_foreach(array, i, item) {
        const json_t *id = json_object_get(item, key);
        json_t *name = NULL;
        if (json_is_integer(id)) {
            char text[24];
            snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(id));
            name = json_object_get(names, text);
        }
        json_object_set_new(item, member, name ? json_incref(name) : json_null());
    }
}

int wa_ops_names_add(wa_call_t *call, int64_t branch_id, json_t *state)
{
    json_t *windows = json_object_get(state, "windows");
    json_t *queues = json_object_get(state, "queues");
    char branch[24];
    snprintf(branch, sizeof branch, "%" PRId64, branch_id);
    char *staff_ids = s_ids(windows, "staff"), *queue_ids = s_ids(queues, "id");
    PGresult *res = NULL;
    if (staff_ids && queue_ids) {
        const char *params[] = { branch, staff_ids, queue_ids };
        res = pgstore_query(
            call->pg,
            "SELECT json_build_object("
            " 'devices', coalesce((SELECT json_object_agg(d.window_id::text, json_build_object("
            "   'serial', d.serial, 'status', coalesce(ds.status, 'unknown'),"
            "   'since', " WA_TS("ds.since") "))"
            "   FROM device d JOIN service_window w ON w.id = d.window_id"
            "   LEFT JOIN device_status ds ON ds.serial = d.serial WHERE w.node_id = $1),"
            "   '{}'),"
            " 'staff', coalesce((SELECT json_object_agg(s.id::text, s.name) FROM staff s"
            "   WHERE s.id = ANY($2::bigint[])), '{}'),"
            " 'queues', coalesce((SELECT json_object_agg(q.id::text, q.name) FROM queue q"
            "   WHERE q.id = ANY($3::bigint[])), '{}'))::text",
            3, params);
    }
    free(staff_ids);
    free(queue_ids);
    json_t *names = res && PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, NULL)
                                               : NULL;
    if (res)
        PQclear(res);
    if (!names) {
        log_warn("state_names_unread", "branch=%s reason=\"database unavailable\"", branch);
        return -1;
    }
    s_set(windows, "staff", "staff_name", json_object_get(names, "staff"));
    s_set(windows, "id", "device", json_object_get(names, "devices"));
    s_set(queues, "id", "name", json_object_get(names, "queues"));
    json_decref(names);
    return 0;
}
