/*  wa_kiosk: the services a branch's kiosk offers now (wa_kiosk.h). */
#include "wa_kiosk.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa_cfg_hours.h"
#include "wa_cfg_queues.h"
#include "wa_ops_common.h"
#include "wa_ops_qm.h"

/* The branch's active services (defined at it or above), by id, its zone
 * and the hours in force there; $1 the branch's id. */
static const char s_sql[] =
    "SELECT json_build_object('branch', b.path::text, 'time_zone', b.time_zone,"
    " 'issuing', NULL, 'services', coalesce((SELECT json_agg(" WA_SERVICE_JSON " ORDER BY s.id)"
    "   FROM service s JOIN org_node n ON n.id = s.node_id"
    "   WHERE n.path @> b.path AND s.active), '[]'::json))::text,"
    " opening_hours_in_force(b.id)::text, b.time_zone"
    " FROM org_node b WHERE b.id = $1::bigint";

/* Whether the work profile of an open window of `windows` (the live
 * state's) lists service `id` ("strict;vip=2;ordinary=1;services=3,1"). */
static bool s_served(const json_t *windows, json_int_t id)
{
    size_t i;
    const json_t *w;
    json_array_foreach(windows, i, w) {
        const char *state = json_string_value(json_object_get(w, "state"));
        const char *profile = json_string_value(json_object_get(w, "profile"));
        const char *p = profile ? strstr(profile, "services=") : NULL;
        if (!state || strcmp(state, "open") != 0 || !p)
            continue;
        for (p += strlen("services="); *p;) {
            char *end;
            long long v = strtoll(p, &end, 10);
            if (end == p)
                break;
            if (v == id)
                return true;
            p = *end == ',' ? end + 1 : end;
        }
    }
    return false;
}

/* Marks each service available or not, with the reason and when issuing
 * resumes. */
static void s_availability(json_t *services, const json_t *issuing, const json_t *windows)
{
    const char *hours = json_string_value(json_object_get(issuing, "state"));
    bool open = hours && strcmp(hours, "open") == 0;
    size_t i;
    json_t *s;
    json_array_foreach(services, i, s) {
        bool served = s_served(windows, json_integer_value(json_object_get(s, "id")));
        json_object_set_new(s, "available", json_boolean(open && served));
        json_object_set_new(s, "reason", !open ? json_string(hours)
                                          : served ? json_null() : json_string("no_window"));
        json_object_set(s, "resumes_at", open ? json_null()
                                              : json_object_get(issuing, "resumes_at"));
    }
}

void wa_kiosk_services(wa_call_t *call)
{
    int64_t branch_id;
    const char *branch = wa_ops_branch_param(call, &branch_id);
    if (!branch)
        return;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long) branch_id);
    const char *params[] = { id };
    PGresult *res = pgstore_query(call->pg, s_sql, 1, params);
    if (!res || PQntuples(res) != 1) {
        if (res)
            PQclear(res);
        wa_unavailable(call, "database");
        return;
    }
    json_t *answer = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    json_t *issuing = wa_cfg_hours_issuing(PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
    PQclear(res);
    char *text = answer && issuing ? wa_ops_state_text(call, branch, branch_id) : NULL;
    bool read = text != NULL;   /* NULL after both were read: queue-manager's answer */
    json_t *state = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    if (state) {
        s_availability(json_object_get(answer, "services"), issuing,
                       json_object_get(state, "windows"));
        json_object_set(answer, "issuing", issuing);
        wa_reply_jansson(call, MHD_HTTP_OK, &answer);
    } else if (!answer || !issuing || read) {
        wa_unavailable(call, "opening hours or live state");
    }                             /* else: queue-manager's failure, answered */
    json_decref(state);
    json_decref(issuing);
    json_decref(answer);
}
