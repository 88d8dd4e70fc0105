/*  wa_ops_rejected: events rating-ingest rejected (wa_ops_rejected.h). */
#include "wa_ops_rejected.h"

#include "wa_ops_common.h"
#include "wa_store.h"

/* A row's key: its time (UTC, microseconds) and id, which as text (byte
 * order) sort as the list does. */
#define S_KEY \
    "to_char(r.rejected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') || ' ' || r.id::text"

void wa_ops_rejected_list(wa_call_t *call)
{
    static const char *const more[] = { "branch", "from", "to", NULL };
    int64_t node_id;
    char path[WA_PATH_SIZE];
    if ((httpd_req_arg(call->req, "branch")
         && wa_ops_node_arg(call, "branch", &node_id, path) != 0)
        || wa_ops_time_arg(call, "from", false) != 0 || wa_ops_time_arg(call, "to", false) != 0)
        return;
    wa_store_list_key(call, "rejected-events", more,
                      "SELECT " S_KEY ", json_build_object('id', r.id,"
                      " 'rejected_at', " WA_TS("r.rejected_at") ", 'branch', g.branch,"
                      " 'gateway', r.gateway, 'gateway_seq', r.gateway_seq, 'type', r.type,"
                      " 'topic', r.topic, 'reason', r.reason, 'data', r.data)::text"
                      " FROM rejected_event r JOIN gateway_cursor g ON g.gateway = r.gateway"
                      "   AND g.incarnation = r.gateway_incarnation"
                      " WHERE g.branch::ltree <@ $1::ltree"
                      "   AND ($4::text IS NULL OR g.branch::ltree <@ $4::ltree)"
                      "   AND ($5::timestamptz IS NULL OR r.rejected_at >= $5::timestamptz)"
                      "   AND ($6::timestamptz IS NULL OR r.rejected_at < $6::timestamptz)"
                      "   AND ($2::text IS NULL OR (" S_KEY ") COLLATE \"C\" < $2)"
                      " ORDER BY r.rejected_at DESC, r.id DESC LIMIT $3");
}
