/*  wa_http: the REST server, its route table and connection pool (wa_http.h). */
#include "wa_http.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eqms/clock.h"
#include "eqms/httpd.h"
#include "eqms/httpstatic.h"
#include "eqms/log.h"
#include "eqms/problem.h"
#include "wa_announce.h"
#include "wa_audit.h"
#include "wa_auth.h"
#include "wa_backup.h"
#include "wa_cfg_alerts.h"
#include "wa_cfg_nodes.h"
#include "wa_cfg_devices.h"
#include "wa_cfg_hours.h"
#include "wa_cfg_queues.h"
#include "wa_cfg_scales.h"
#include "wa_cfg_settings.h"
#include "wa_cfg_staff.h"
#include "wa_cfg_stars.h"
#include "wa_cfg_windows.h"
#include "wa_kiosk.h"
#include "wa_live.h"
#include "wa_ops_alerts.h"
#include "wa_ops_qm.h"
#include "wa_purge.h"
#include "wa_ops_rejected.h"
#include "wa_stats.h"
#include "wa_roles.h"
#include "wa_session.h"
#include "wa_tokens.h"
#include "wa_users.h"

#define S_REDIS_TIMEOUT_MS 2000

typedef struct {
    const char *method;
    const char *path;
    wa_access_t access;
    uint64_t perms;               /* for WA_ACCESS_PERM: any one of these bits */
    bool during_change;           /* usable while the password must be changed */
    wa_handler_fn *handler;
} s_route_t;

#define API "/api/v1"
#define USERS WA_ACCESS_PERM, WA_PERM_BIT(WA_PERM_MANAGE_USERS), false
#define TOKENS WA_ACCESS_PERM, WA_PERM_BIT(WA_PERM_MANAGE_API_TOKENS), false
#define CONFIG WA_ACCESS_PERM, WA_PERM_BIT(WA_PERM_MANAGE_CONFIGURATION), false
#define QUEUES WA_ACCESS_PERM, WA_PERM_BIT(WA_PERM_MANAGE_QUEUES), false

static const s_route_t s_routes[] = {
    { "POST", API "/sessions", WA_ACCESS_PUBLIC, 0, true, wa_session_login },
    { "DELETE", API "/sessions/current", WA_ACCESS_ANY, 0, true, wa_session_logout },
    { "GET", API "/me", WA_ACCESS_ANY, 0, true, wa_session_me },
    { "POST", API "/me/password", WA_ACCESS_ANY, 0, true, wa_session_change_password },
    { "GET", API "/permissions", WA_ACCESS_ANY, 0, false, wa_roles_permissions },
    { "GET", API "/users", USERS, wa_users_list },
    { "POST", API "/users", USERS, wa_users_create },
    { "GET", API "/users/{id}", USERS, wa_users_get },
    { "PATCH", API "/users/{id}", USERS, wa_users_update },
    { "DELETE", API "/users/{id}", USERS, wa_users_delete },
    { "POST", API "/users/{id}/disable", USERS, wa_users_disable },
    { "POST", API "/users/{id}/enable", USERS, wa_users_enable },
    { "POST", API "/users/{id}/password-reset", USERS, wa_users_reset_password },
    { "GET", API "/roles", USERS, wa_roles_list },
    { "POST", API "/roles", USERS, wa_roles_create },
    { "GET", API "/roles/{id}", USERS, wa_roles_get },
    { "PATCH", API "/roles/{id}", USERS, wa_roles_update },
    { "DELETE", API "/roles/{id}", USERS, wa_roles_delete },
    { "GET", API "/tokens", TOKENS, wa_tokens_list },
    { "POST", API "/tokens", TOKENS, wa_tokens_create },
    { "GET", API "/tokens/{id}", TOKENS, wa_tokens_get },
    { "DELETE", API "/tokens/{id}", TOKENS, wa_tokens_revoke },
    { "GET", API "/audit", WA_ACCESS_PERM, WA_PERM_BIT(WA_PERM_READ_AUDIT_LOG), false,
      wa_audit_list },
    /* configuration (wa_cfg_*.c) */
    { "GET", API "/nodes", CONFIG, wa_cfg_nodes_list },
    { "POST", API "/nodes", CONFIG, wa_cfg_nodes_create },
    { "GET", API "/nodes/tree", WA_ACCESS_ANY, 0, false, wa_cfg_nodes_tree },
    { "GET", API "/nodes/{id}", CONFIG, wa_cfg_nodes_get },
    { "PATCH", API "/nodes/{id}", CONFIG, wa_cfg_nodes_update },
    { "GET", API "/windows", CONFIG, wa_cfg_windows_list },
    { "POST", API "/windows", CONFIG, wa_cfg_windows_create },
    { "GET", API "/windows/{id}", CONFIG, wa_cfg_windows_get },
    { "PATCH", API "/windows/{id}", CONFIG, wa_cfg_windows_update },
    { "PUT", API "/windows/{id}/profile", QUEUES, wa_cfg_windows_set_profile },
    { "GET", API "/staff", CONFIG, wa_cfg_staff_list },
    { "POST", API "/staff", CONFIG, wa_cfg_staff_create },
    { "GET", API "/staff/{id}", CONFIG, wa_cfg_staff_get },
    { "PATCH", API "/staff/{id}", CONFIG, wa_cfg_staff_update },
    { "GET", API "/queues", QUEUES, wa_cfg_queues_list },
    { "POST", API "/queues", QUEUES, wa_cfg_queues_create },
    { "GET", API "/queues/{id}", QUEUES, wa_cfg_queues_get },
    { "PATCH", API "/queues/{id}", QUEUES, wa_cfg_queues_update },
    { "GET", API "/services", QUEUES, wa_cfg_services_list },
    { "POST", API "/services", QUEUES, wa_cfg_services_create },
    { "GET", API "/services/{id}", QUEUES, wa_cfg_services_get },
    { "PATCH", API "/services/{id}", QUEUES, wa_cfg_services_update },
    { "GET", API "/nodes/{id}/opening-hours", QUEUES, wa_cfg_hours_get },
    { "PATCH", API "/nodes/{id}/opening-hours", QUEUES, wa_cfg_hours_update },
    { "GET", API "/rating-scales", CONFIG, wa_cfg_scales_list },
    { "POST", API "/rating-scales", CONFIG, wa_cfg_scales_create },
    { "GET", API "/rating-scales/{id}", CONFIG, wa_cfg_scales_get },
    { "PATCH", API "/rating-scales/{id}", CONFIG, wa_cfg_scales_update },
    { "DELETE", API "/rating-scales/{id}", CONFIG, wa_cfg_scales_delete },
    { "GET", API "/star-rules", CONFIG, wa_cfg_stars_list },
    { "GET", API "/nodes/{id}/star-rule", CONFIG, wa_cfg_stars_get },
    { "PUT", API "/nodes/{id}/star-rule", CONFIG, wa_cfg_stars_set },
    { "DELETE", API "/nodes/{id}/star-rule", CONFIG, wa_cfg_stars_delete },
    /* devices and their settings (wa_cfg_devices.c, wa_cfg_settings.c) */
#define DEVICES WA_ACCESS_PERM, WA_PERM_BIT(WA_PERM_MANAGE_DEVICES), false
    { "GET", API "/nodes/{id}/settings", DEVICES, wa_cfg_settings_get },
    { "PATCH", API "/nodes/{id}/settings", DEVICES, wa_cfg_settings_update },
    { "GET", API "/devices", DEVICES, wa_cfg_devices_list },
    { "POST", API "/devices", DEVICES, wa_cfg_devices_create },
    { "GET", API "/devices/{id}", DEVICES, wa_cfg_devices_get },
    { "POST", API "/devices/{id}/assign", DEVICES, wa_cfg_devices_assign },
    { "POST", API "/devices/{id}/unassign", DEVICES, wa_cfg_devices_unassign },
    { "POST", API "/devices/{id}/replace", DEVICES, wa_cfg_devices_replace },
    /* operations (wa_ops_*.c) and statistics (wa_stats.c) */
#define LIVE WA_ACCESS_PERM, WA_PERM_BIT(WA_PERM_VIEW_LIVE_HALL), false
#define WINDOWS WA_ACCESS_PERM, WA_PERM_BIT(WA_PERM_OPERATE_WINDOWS), false
#define ALERTS WA_ACCESS_PERM, WA_PERM_BIT(WA_PERM_MANAGE_ALERTS), false
    { "GET", API "/alert-rules", ALERTS, wa_cfg_rules_list },
    { "POST", API "/alert-rules", ALERTS, wa_cfg_rules_set },
    { "GET", API "/alert-rules/{id}", ALERTS, wa_cfg_rules_get },
    { "PATCH", API "/alert-rules/{id}", ALERTS, wa_cfg_rules_update },
    { "DELETE", API "/alert-rules/{id}", ALERTS, wa_cfg_rules_delete },
    { "GET", API "/alert-recipients", ALERTS, wa_cfg_recipients_list },
    { "POST", API "/alert-recipients", ALERTS, wa_cfg_recipients_create },
    { "GET", API "/alert-recipients/{id}", ALERTS, wa_cfg_recipients_get },
    { "PATCH", API "/alert-recipients/{id}", ALERTS, wa_cfg_recipients_update },
    { "DELETE", API "/alert-recipients/{id}", ALERTS, wa_cfg_recipients_delete },
#define STATS WA_ACCESS_PERM, WA_PERM_BIT(WA_PERM_VIEW_STATISTICS), false
    { "POST", API "/branches/{branch}/tickets", WA_ACCESS_PERM,
      WA_PERM_BIT(WA_PERM_ISSUE_TICKETS), false, wa_ops_ticket_issue },
    { "GET", API "/branches/{branch}/tickets/{ticket}", LIVE, wa_ops_ticket_get },
    { "GET", API "/branches/{branch}/state", LIVE, wa_ops_branch_state },
    { "GET", API "/live", LIVE, wa_live_node },
    { "GET", API "/live/branches/{branch}", LIVE, wa_live_branch },
    { "POST", API "/windows/{id}/open", WINDOWS, wa_ops_window_action },
    { "POST", API "/windows/{id}/close", WINDOWS, wa_ops_window_action },
    { "POST", API "/windows/{id}/pause", WINDOWS, wa_ops_window_action },
    { "POST", API "/windows/{id}/resume", WINDOWS, wa_ops_window_action },
    { "POST", API "/windows/{id}/login", WINDOWS, wa_ops_window_action },
    { "POST", API "/windows/{id}/logout", WINDOWS, wa_ops_window_action },
    { "POST", API "/windows/{id}/call-next", WINDOWS, wa_ops_window_action },
    { "POST", API "/windows/{id}/call-ticket", WINDOWS, wa_ops_window_action },
    { "POST", API "/windows/{id}/recall", WINDOWS, wa_ops_window_action },
    { "POST", API "/windows/{id}/start", WINDOWS, wa_ops_window_action },
    { "POST", API "/windows/{id}/finish", WINDOWS, wa_ops_window_action },
    { "POST", API "/windows/{id}/no-show", WINDOWS, wa_ops_window_action },
    { "POST", API "/windows/{id}/transfer", WINDOWS, wa_ops_window_action },
    { "POST", API "/windows/{id}/park", WINDOWS, wa_ops_window_action },
    { "POST", API "/windows/{id}/call-back", WINDOWS, wa_ops_window_action },
    { "POST", API "/windows/{id}/walk-in", WINDOWS, wa_ops_window_action },
    { "GET", API "/branches/{branch}/devices", LIVE, wa_cfg_devices_of_branch },
    { "GET", API "/branches/{branch}/announcements/audio", LIVE, wa_announce_audio },
    { "GET", API "/branches/{branch}/services", WA_ACCESS_PERM,
      WA_PERM_BIT(WA_PERM_ISSUE_TICKETS) | WA_PERM_BIT(WA_PERM_OPERATE_WINDOWS)
          | WA_PERM_BIT(WA_PERM_VIEW_LIVE_HALL), false, wa_kiosk_services },
    { "GET", API "/rejected-events", WA_ACCESS_PERM,
      WA_PERM_BIT(WA_PERM_VIEW_LIVE_HALL) | WA_PERM_BIT(WA_PERM_MANAGE_DEVICES), false,
      wa_ops_rejected_list },
    { "GET", API "/alerts", LIVE, wa_ops_alerts_list },
    { "GET", API "/alerts/{id}", LIVE, wa_ops_alerts_get },
    { "POST", API "/alerts/{id}/acknowledge", ALERTS, wa_ops_alerts_acknowledge },
    { "POST", API "/alerts/{id}/resolve", ALERTS, wa_ops_alerts_resolve },
    { "GET", API "/stats/figures", STATS, wa_stats_figures },
    { "GET", API "/stats/compare", STATS, wa_stats_compare },
    { "GET", API "/stats/rank", STATS, wa_stats_rank },
    { "GET", API "/stats/stars", STATS, wa_stats_stars },
    { "GET", API "/stats/services", STATS, wa_stats_services },
    { "GET", API "/stats/on-duty", STATS, wa_stats_on_duty },
    /* the same as files (wa_export.c): export, and view_statistics checked
     * by the handler */
#define EXPORT WA_ACCESS_PERM, WA_PERM_BIT(WA_PERM_EXPORT), false
#define FILES(view, fn)                                              \
    { "GET", API "/stats/" view ".xlsx", EXPORT, wa_stats_##fn##_xlsx }, \
    { "GET", API "/stats/" view ".csv", EXPORT, wa_stats_##fn##_csv }
    FILES("figures", figures),
    FILES("compare", compare),
    FILES("rank", rank),
    FILES("stars", stars),
    FILES("services", services),
    FILES("on-duty", on_duty),
    { "GET", API "/staff/{id}/sessions.xlsx", EXPORT, wa_stats_staff_sessions_xlsx },
    { "GET", API "/staff/{id}/sessions.csv", EXPORT, wa_stats_staff_sessions_csv },
#undef FILES
#undef EXPORT
    { "GET", API "/staff/{id}/sessions", STATS, wa_stats_staff_sessions },
    /* data management (wa_backup.c, wa_purge.c; the runs in wa_jobs.c) */
#define BACKUP WA_ACCESS_PERM, WA_PERM_BIT(WA_PERM_BACKUP), false
#define PURGE WA_ACCESS_PERM, WA_PERM_BIT(WA_PERM_PURGE_DATA), false
    { "GET", API "/backups", BACKUP, wa_backup_list },
    { "POST", API "/backups", BACKUP, wa_backup_create },
    { "GET", API "/backups/{id}", BACKUP, wa_backup_get },
    { "GET", API "/backups/{id}/archive", BACKUP, wa_backup_archive },
    { "GET", API "/purges", PURGE, wa_purge_list },
    { "POST", API "/purges", PURGE, wa_purge_create },
    { "GET", API "/purges/{id}", PURGE, wa_purge_get },
#undef BACKUP
#undef PURGE
#undef DEVICES
#undef LIVE
#undef WINDOWS
#undef ALERTS
#undef STATS
};
#define S_NROUTES (sizeof s_routes / sizeof s_routes[0])

/* One handler's connections. */
typedef struct {
    pgstore_t *pg;
    redisstore_t *rs;
    qmclient_t *qm;
    bool busy;
} s_slot_t;

struct wa_http_t {
    wa_config_t api;
    httpd_route_t routes[S_NROUTES];
    s_slot_t *slots;
    unsigned nslots;
    pthread_mutex_t lock;
    pthread_cond_t freed;
    httpstatic_t *files;          /* the console's; NULL: none */
    httpd_t *http;
};

static s_slot_t *s_acquire(wa_http_t *self)
{
    pthread_mutex_lock(&self->lock);
    s_slot_t *slot = NULL;
    while (!slot) {
        for (unsigned i = 0; i < self->nslots && !slot; i++)
            if (!self->slots[i].busy)
                slot = &self->slots[i];
        if (!slot)
            pthread_cond_wait(&self->freed, &self->lock);
    }
    slot->busy = true;
    pthread_mutex_unlock(&self->lock);
    return slot;
}

static void s_release(wa_http_t *self, s_slot_t *slot)
{
    /* a handler that returned inside a transaction must not leave it open */
    PGconn *conn = pgstore_conn(slot->pg);
    if (conn && PQtransactionStatus(conn) != PQTRANS_IDLE)
        pgstore_rollback(slot->pg);
    pthread_mutex_lock(&self->lock);
    slot->busy = false;
    pthread_cond_signal(&self->freed);
    pthread_mutex_unlock(&self->lock);
}

static void s_handle(void *ctx, const httpd_req_t *req, httpd_reply_t *reply)
{
    wa_http_t *self = ctx;
    const s_route_t *route = &s_routes[httpd_req_route(req) - self->routes];
    int64_t started = clock_mono_ms();
    s_slot_t *slot = s_acquire(self);
    wa_call_t call = { .pg = slot->pg, .rs = slot->rs, .qm = slot->qm, .config = &self->api, .req = req,
                       .reply = reply };
    if (wa_auth_resolve(&call, route->access, route->perms, route->during_change) == 0)
        route->handler(&call);
    /* after the commit, before the answer: whoever the caller tells next
     * finds the change (wa_princache.h) */
    if (call.principals_changed && session_principals_changed(call.rs) < 0)
        log_warn("principals_generation_failed", "path=%s reason=\"redis\" effect=\"kept "
                 "principals are used until they age\"", httpd_req_path(req));
    s_release(self, slot);
    log_debug("http_request", "method=%s path=%s status=%u principal=%s ms=%lld",
              httpd_req_method(req), httpd_req_path(req), reply->status,
              *call.who.name ? call.who.name : "-", (long long) (clock_mono_ms() - started));
}

void wa_http_routes_print(FILE *out)
{
    for (size_t i = 0; i < S_NROUTES; i++) {
        const s_route_t *r = &s_routes[i];
        char names[256];
        fprintf(out, "%s %s %s\n", r->method, r->path,
                r->access == WA_ACCESS_PUBLIC ? "public"
                : r->access == WA_ACCESS_ANY  ? "any"
                                              : wa_perms_text(r->perms, "|", names, sizeof names));
    }
}

wa_http_t *wa_http_new(const wa_http_config_t *config)
{
    wa_http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->api = config->api;
    self->api.pg_conninfo = config->pg_conninfo;
    self->nslots = config->threads ? config->threads : 1;
    self->slots = calloc(self->nslots, sizeof *self->slots);
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->freed, NULL);
    if (!self->slots)
        goto err;
    for (unsigned i = 0; i < self->nslots; i++) {
        self->slots[i].pg = pgstore_new(config->pg_conninfo);
        self->slots[i].rs = redisstore_new(config->redis_url, S_REDIS_TIMEOUT_MS);
        if (!self->slots[i].pg || !self->slots[i].rs) {
            log_error("webapi_http_config", "reason=\"bad database or Redis address\"");
            goto err;
        }
        char prefix[40];
        snprintf(prefix, sizeof prefix, "web-api.%ld.%u", (long) getpid(), i);
        if (config->qm_endpoint && *config->qm_endpoint
            && !(self->slots[i].qm = qmclient_new(config->qm_endpoint, prefix)))
            goto err;
    }
    for (size_t i = 0; i < S_NROUTES; i++)
        self->routes[i] = (httpd_route_t) { s_routes[i].method, s_routes[i].path, s_handle };
    if (config->static_dir && *config->static_dir
        && !(self->files = httpstatic_new(config->static_dir, API "/")))
        goto err;
    httpd_config_t http = { .name = "web-api", .address = config->address,
                            .port = config->port, .body_max = config->body_max,
                            .threads = self->nslots,
                            .connections = config->connections ? config->connections : 512,
                            .timeout_s = config->timeout_s ? config->timeout_s : 30,
                            .refusal = problem_httpd_refusal, .etag = true,
                            .cors_origins = config->cors_origins, .csrf = true,
                            .fallback = self->files ? httpstatic_handle : NULL,
                            .fallback_ctx = self->files };
    self->http = httpd_new(&http, self->routes, S_NROUTES, self);
    if (!self->http)
        goto err;
    return self;
err:
    wa_http_destroy(&self);
    return NULL;
}

void wa_http_destroy(wa_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    wa_http_t *self = *self_p;
    httpd_destroy(&self->http);
    httpstatic_destroy(&self->files);
    for (unsigned i = 0; self->slots && i < self->nslots; i++) {
        pgstore_destroy(&self->slots[i].pg);
        redisstore_destroy(&self->slots[i].rs);
        qmclient_destroy(&self->slots[i].qm);
    }
    free(self->slots);
    pthread_mutex_destroy(&self->lock);
    pthread_cond_destroy(&self->freed);
    free(self);
    *self_p = NULL;
}
