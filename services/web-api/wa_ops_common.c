/*  wa_ops_common: nodes named by operations and statistics requests
 *  (wa_ops_common.h). */
#include "wa_ops_common.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/envelope.h"
#include "wa_store.h"

bool wa_ops_path_within(const wa_call_t *call, const char *path)
{
    return path && envelope_org_path_valid(path, strlen(path))
           && wa_path_within(path, call->who.node_path);
}

int wa_ops_node(wa_call_t *call, const char *path, bool branch_only, int64_t *node_id)
{
    const char *what = branch_only ? "branch" : "node";
    char kind[16];
    int found = wa_store_node_find(call, path, node_id, kind);
    if (found < 0)
        return -1;
    return found && (!branch_only || strcmp(kind, "branch") == 0)
               ? 0 : wa_problem(call, MHD_HTTP_NOT_FOUND, "no such %s", what);
}

const char *wa_ops_branch_param(wa_call_t *call, int64_t *branch_id)
{
    const char *branch = httpd_req_param(call->req, "branch");
    if (wa_no_args(call) != 0 || wa_ops_node(call, branch, true, branch_id) != 0)
        return NULL;
    return branch;
}

void wa_ops_branch_object(wa_call_t *call, const char *sql)
{
    int64_t branch_id;
    const char *branch = wa_ops_branch_param(call, &branch_id);
    if (!branch)
        return;
    const char *params[] = { branch };
    wa_store_object(call, MHD_HTTP_OK, sql, 1, params);
}

int wa_ops_node_arg(wa_call_t *call, const char *name, int64_t *node_id, char *path)
{
    const char *arg = httpd_req_arg(call->req, name);
    snprintf(path, WA_PATH_SIZE, "%s", arg ? arg : call->who.node_path);
    return wa_ops_node(call, path, false, node_id);
}

bool wa_ops_match(const char *text, const char *pattern)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool ok = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

#define S_DATE_RE "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
#define S_TIME_RE                                                                         \
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?"             \
    "(Z|[+-][0-9]{2}:[0-9]{2}))?$"

int wa_ops_time_arg(wa_call_t *call, const char *name, bool date_only)
{
    const char *value = httpd_req_arg(call->req, name);
    if (!value)
        return 0;
    if (wa_ops_match(value, date_only ? S_DATE_RE : S_TIME_RE)) {
        const char *params[] = { value };
        PGresult *res = pgstore_query(call->pg, date_only ? "SELECT $1::date"
                                                          : "SELECT $1::timestamptz",
                                      1, params);
        if (res) {
            PQclear(res);
            return 0;
        }
        if (strncmp(pgstore_last_sqlstate(call->pg), "22", 2) != 0)
            return wa_unavailable(call, "database");
    }
    if (date_only)
        return wa_problem(call, MHD_HTTP_BAD_REQUEST, "query argument \"%s\": must be a "
                          "date such as 2026-11-28", name);
    return wa_problem(call, MHD_HTTP_BAD_REQUEST, "query argument \"%s\": must be a date "
                      "(2026-11-28, UTC midnight) or an RFC 3339 time "
                      "(2026-11-28T09:30:00Z)", name);
}

int wa_ops_int_arg(wa_call_t *call, const char *name, int64_t min, int64_t max,
                   int64_t fallback, int64_t *value)
{
    const char *text = httpd_req_arg(call->req, name);
    *value = fallback;
    if (!text)
        return 0;
    size_t len = strlen(text);
    bool neg = text[0] == '-';
    if (len == 0 || len > 18 || strspn(text + neg, "0123456789") != len - neg || len == (size_t) neg
        || (*value = strtoll(text, NULL, 10)) < min || *value > max)
        return wa_problem(call, MHD_HTTP_BAD_REQUEST, "query argument \"%s\": must be an "
                          "integer in %" PRId64 "..%" PRId64, name, min, max);
    return 0;
}
