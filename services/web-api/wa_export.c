/*  wa_export: statistics views as .xlsx and .csv files (wa_export.h). */
#include "wa_export.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"
#include "wa_auth.h"
#include "wa_store.h"

#define S_XLSX_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#define S_CSV_TYPE "text/csv; charset=utf-8"

/* --- the views' columns ----------------------------------------------------------- */

#define S_INT(m, t) { m, t, EXPORT_INTEGER, 0 }
#define S_TEXT(m, t) { m, t, EXPORT_TEXT, 0 }
#define S_DEC(m, t, p) { m, t, EXPORT_DECIMAL, p }
#define S_PCT(m, t) { m, t, EXPORT_PERCENT, 1 }

/* stats_row's members (docs/statistics.md, "Measures") */
#define S_FIGURES                                                                           \
    S_TEXT("grp", "分组"), S_INT("member", "成员编号"), S_INT("issued", "取号数"),          \
    S_INT("walk_ins", "直接办理数"), S_INT("transferred_in", "转入数"),                     \
    S_INT("visits", "到访数"), S_INT("served", "办结数"), S_PCT("pct_served", "办结率"),    \
    S_INT("no_show", "过号数"), S_INT("abandoned", "放弃数"),                               \
    S_INT("transferred", "转出数"), S_DEC("wait_avg_s", "平均等候(秒)", 1),                 \
    S_DEC("wait_max_s", "最长等候(秒)", 1), S_DEC("wait_p90_s", "等候90分位(秒)", 1),       \
    S_DEC("svc_avg_s", "平均办理(秒)", 1), S_DEC("svc_max_s", "最长办理(秒)", 1),           \
    S_DEC("svc_p90_s", "办理90分位(秒)", 1), S_PCT("service_level", "服务水平"),            \
    S_PCT("service_level_abandoned", "服务水平(含放弃)"),                                   \
    S_INT("wait_0_3", "等候0-3分钟"), S_INT("wait_3_6", "等候3-6分钟"),                     \
    S_INT("wait_6_9", "等候6-9分钟"), S_INT("wait_9_12", "等候9-12分钟"),                   \
    S_INT("wait_12_15", "等候12-15分钟"), S_INT("wait_15_plus", "等候15分钟以上"),          \
    S_INT("svc_0_3", "办理0-3分钟"), S_INT("svc_3_6", "办理3-6分钟"),                       \
    S_INT("svc_6_9", "办理6-9分钟"), S_INT("svc_9_12", "办理9-12分钟"),                     \
    S_INT("svc_12_15", "办理12-15分钟"), S_INT("svc_15_plus", "办理15分钟以上"),            \
    S_INT("rated", "评价数"), S_PCT("rated_share", "参评率"), S_INT("satisfied", "满意数"), \
    S_PCT("satisfaction", "满意率"), S_PCT("satisfaction_lower", "满意率下限"),             \
    S_INT("unsatisfied", "不满意数"), S_PCT("unsatisfied_ratio", "不满意率"),               \
    S_DEC("mean_score", "平均得分", 2), S_INT("by_none", "原因:未选"),                      \
    S_INT("by_attitude", "原因:态度"), S_INT("by_efficiency", "原因:效率"),                 \
    S_INT("by_skill", "原因:业务能力"), S_INT("by_environment", "原因:环境"),               \
    S_INT("by_other", "原因:其他"), S_INT("services", "设备服务数"),                        \
    S_DEC("on_duty_s", "在岗时长(秒)", 0), S_DEC("serving_s", "服务时长(秒)", 0),           \
    S_DEC("idle_s", "空闲时长(秒)", 0), S_DEC("customers_per_hour", "每在岗小时服务人数", 2), \
    S_PCT("busy_ratio", "窗口繁忙率")

static const wa_export_col_t s_figures[] = { S_FIGURES };
static const wa_export_col_t s_compare[] = { S_TEXT("period", "期间"),
                                             S_TEXT("from", "起始日"),
                                             S_TEXT("to", "截止日(不含)"), S_FIGURES };
static const wa_export_col_t s_rank[] = {
    S_INT("rank", "名次"), S_TEXT("grp", "分组"), S_INT("member", "成员编号"),
    S_DEC("value", "指标值", 4), S_INT("sample", "样本数"), S_DEC("rank_key", "排序依据", 4),
};
static const wa_export_col_t s_stars[] = {
    S_TEXT("subject", "对象"), S_INT("member", "编号"), S_TEXT("branch", "网点"),
    S_TEXT("period", "周期"), S_TEXT("start_day", "周期起始日"), S_INT("grade", "星级"),
    S_INT("rated", "评价数"), S_INT("satisfied", "满意数"),
    S_TEXT("changed_at", "评定时间(UTC)"),
};
static const wa_export_col_t s_services[] = {
    S_TEXT("ticket", "票据编号"), S_TEXT("number", "票号"), S_INT("leg", "环节"),
    S_TEXT("branch", "网点"), S_INT("queue", "队列编号"), S_INT("service", "业务编号"),
    S_TEXT("class", "客户类别"), S_TEXT("origin", "来源"), S_INT("window", "窗口编号"),
    S_TEXT("window_number", "窗口号"), S_INT("staff", "柜员编号"),
    S_TEXT("employee_no", "工号"), S_TEXT("teller", "柜员"),
    S_TEXT("start_at", "开始时间(UTC)"), S_TEXT("called_at", "叫号时间(UTC)"),
    S_TEXT("outcome", "结果"), S_TEXT("outcome_at", "结果时间(UTC)"),
    S_DEC("wait_s", "等候(秒)", 3), S_DEC("service_s", "办理(秒)", 3),
    S_TEXT("rating.option", "评价"), S_DEC("rating.score", "评价得分", 1),
    S_TEXT("rating.at", "评价时间(UTC)"),
};
static const wa_export_col_t s_on_duty[] = {
    S_TEXT("id", "会话编号"), S_INT("staff", "柜员编号"), S_TEXT("employee_no", "工号"),
    S_TEXT("teller", "柜员"), S_INT("window", "窗口编号"), S_TEXT("window_number", "窗口号"),
    S_TEXT("branch", "网点"), S_TEXT("login_at", "登录时间(UTC)"),
    S_TEXT("logout_at", "退出时间(UTC)"), S_TEXT("closed_by", "结束方式"),
};

#define S_VIEW(name, title, cols) { name, title, cols, sizeof cols / sizeof cols[0] }
const wa_export_view_t wa_export_figures = S_VIEW("figures", "统计指标", s_figures);
const wa_export_view_t wa_export_compare = S_VIEW("compare", "同比环比", s_compare);
const wa_export_view_t wa_export_rank = S_VIEW("rank", "排名", s_rank);
const wa_export_view_t wa_export_stars = S_VIEW("stars", "星级", s_stars);
const wa_export_view_t wa_export_services = S_VIEW("services", "服务明细", s_services);
const wa_export_view_t wa_export_on_duty = S_VIEW("on-duty", "在岗人员", s_on_duty);
const wa_export_view_t wa_export_sessions = S_VIEW("sessions", "登录记录", s_on_duty);

/* --- tables ------------------------------------------------------------------------- */

int wa_export_allowed(wa_call_t *call)
{
    if (call->who.perms & WA_PERM_BIT(WA_PERM_VIEW_STATISTICS))
        return 0;
    return wa_problem(call, MHD_HTTP_FORBIDDEN, "this needs the permission view_statistics "
                      "(and export)");
}

export_table_t *wa_export_table(const wa_export_view_t *view, const char *sheet)
{
    export_column_t cols[64];
    if (view->n > sizeof cols / sizeof cols[0])
        return NULL;
    for (size_t i = 0; i < view->n; i++)
        cols[i] = (export_column_t) { view->cols[i].title, view->cols[i].type,
                                      view->cols[i].places };
    return export_table_new(sheet, cols, view->n);
}

/* The value of `member` ("a" or "a.b") in `row`, NULL when absent. */
static const json_t *s_member(const json_t *row, const char *member)
{
    const char *dot = strchr(member, '.');
    if (!dot)
        return json_object_get(row, member);
    char outer[32];
    size_t len = (size_t) (dot - member);
    if (len >= sizeof outer)
        return NULL;
    memcpy(outer, member, len);
    outer[len] = '\0';
    const json_t *inner = json_object_get(row, outer);
    return json_is_object(inner) ? json_object_get(inner, dot + 1) : NULL;
}

int wa_export_row(export_table_t *table, const wa_export_view_t *view, const json_t *row)
{
    for (size_t i = 0; i < view->n; i++) {
        const wa_export_col_t *col = &view->cols[i];
        const json_t *v = s_member(row, col->member);
        int rc;
        if (!v || json_is_null(v))
            rc = export_add_empty(table);
        else if (col->type == EXPORT_TEXT && json_is_string(v))
            rc = export_add_text(table, json_string_value(v));
        else if (col->type == EXPORT_TEXT && json_is_integer(v)) {
            char text[24];
            snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            rc = export_add_text(table, text);
        } else if (col->type == EXPORT_TEXT && json_is_boolean(v))
            rc = export_add_text(table, json_is_true(v) ? "true" : "false");
        else if (col->type == EXPORT_INTEGER && json_is_integer(v))
            rc = export_add_integer(table, json_integer_value(v));
        else if (col->type == EXPORT_INTEGER && json_is_real(v))
            rc = export_add_integer(table, (int64_t) json_real_value(v));
        else if ((col->type == EXPORT_DECIMAL || col->type == EXPORT_PERCENT)
                 && json_is_number(v))
            rc = export_add_decimal(table, json_number_value(v));
        else
            rc = -1;
        if (rc != 0) {
            log_warn("webapi_export_cell", "view=%s member=%s", view->view, col->member);
            return -1;
        }
    }
    return 0;
}

/* --- the reply ---------------------------------------------------------------------- */

/* `text` percent-encoded as RFC 8187's value-chars (UTF-8 bytes). */
static void s_pct(char *out, size_t size, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = strlen(out);
    for (const unsigned char *p = (const unsigned char *) text; *p && o + 4 < size; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
            || strchr("!#$&+-.^_`|~", *p)) {
            out[o++] = (char) *p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

/* Content-Disposition: attachment; filename="eqms_<path>_<view>_<from>_<to>.<ext>";
 * filename*=UTF-8''<node name>_<view title>_<from>_<to>.<ext>. The second
 * is left out when it would not fit a header. */
static int s_disposition(wa_call_t *call, const wa_export_what_t *what)
{
    const char *ext = what->format == WA_FORMAT_XLSX ? "xlsx" : "csv";
    char period[48] = "";
    if (what->from || what->to)
        snprintf(period, sizeof period, "_%s_%s", what->from ? what->from : "start",
                 what->to ? what->to : "now");
    char ascii[160];
    snprintf(ascii, sizeof ascii, "eqms_%s_%s%s.%s", what->node_path, what->view->view, period,
             ext);
    for (char *p = ascii; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p))
            *p = '_';
    char name[128] = "";
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%" PRId64, what->node_id);
    const char *params[] = { id_text };
    PGresult *res = pgstore_query(call->pg, "SELECT name FROM org_node WHERE id = $1", 1,
                                  params);
    if (!res)
        return wa_unavailable(call, "database");
    if (PQntuples(res) == 1)
        snprintf(name, sizeof name, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    char utf8[256], value[HTTPD_HEADER_VALUE_MAX], encoded[HTTPD_HEADER_VALUE_MAX] = "";
    snprintf(utf8, sizeof utf8, "%s_%s%s.%s", *name ? name : what->node_path,
             what->view->title, period, ext);
    s_pct(encoded, sizeof encoded, utf8);
    int n = snprintf(value, sizeof value, "attachment; filename=\"%s\"; filename*=UTF-8''%s",
                     ascii, encoded);
    if (n < 0 || (size_t) n >= sizeof value - 1 || strlen(encoded) + 4 >= sizeof encoded)
        snprintf(value, sizeof value, "attachment; filename=\"%s\"", ascii);
    httpd_reply_header(call->reply, "Content-Disposition", value);
    return 0;
}

int wa_export_begin(wa_call_t *call, const wa_export_what_t *what, long rows)
{
    static const char *const kept[] = { "group", "percentiles", "measure", "n", "min_sample",
                                        "order", "subject", "day", "window", "staff",
                                        "service", "outcome", NULL };
    json_t *detail = json_object();
    json_t *args = json_object();
    for (const char *const *k = kept; *k; k++) {
        const char *v = httpd_req_arg(call->req, *k);
        if (v)
            json_object_set_new(args, *k, json_string(v));
    }
    json_object_set_new(detail, "view", json_string(what->view->view));
    json_object_set_new(detail, "format",
                        json_string(what->format == WA_FORMAT_XLSX ? "xlsx" : "csv"));
    json_object_set_new(detail, "node", json_string(what->node_path));
    json_object_set_new(detail, "from", what->from ? json_string(what->from) : json_null());
    json_object_set_new(detail, "to", what->to ? json_string(what->to) : json_null());
    json_object_set_new(detail, "arguments", args);
    json_object_set_new(detail, "rows", rows >= 0 ? json_integer(rows) : json_null());
    int rc = wa_store_audit_key(call, "stats.export", "statistics", what->view->view,
                                what->node_id, detail);
    json_decref(detail);
    if (rc != 0)
        return -1;
    return s_disposition(call, what);
}

void wa_export_reply(wa_call_t *call, const wa_export_what_t *what,
                     const export_table_t *const *tables, size_t n)
{
    long rows = 0;
    for (size_t i = 0; i < n; i++)
        rows += (long) export_rows(tables[i]);
    if (wa_export_begin(call, what, rows) != 0)
        return;
    size_t len = 0;
    char *body = what->format == WA_FORMAT_XLSX ? export_xlsx(tables, n, NULL, &len)
                                                : export_csv(tables[0], &len);
    if (!body) {
        wa_problem(call, MHD_HTTP_INTERNAL_SERVER_ERROR, "the file could not be made");
        return;
    }
    httpd_reply_take(call->reply, MHD_HTTP_OK,
                     what->format == WA_FORMAT_XLSX ? S_XLSX_TYPE : S_CSV_TYPE, &body);
    call->reply->len = len;
    /* an XLSX is a zip already: never gzip it again */
    call->reply->identity = what->format == WA_FORMAT_XLSX;
}
