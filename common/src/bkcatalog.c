/*  bkcatalog: the tables of a backup archive (bkcatalog.h). */
#include "eqms/bkcatalog.h"

#include <string.h>

#define S_NODES "(SELECT id FROM bk_nodes)"
#define S_CFG "(SELECT id FROM bk_cfg)"
#define S_WINDOWS "(SELECT w.id FROM service_window w WHERE w.node_id IN " S_NODES ")"
#define S_NODE "t.node_id IN " S_NODES
#define S_BRANCH "t.branch_id IN " S_NODES
#define S_WINDOW "t.window_id IN " S_WINDOWS

/* Configuration (the subtree's and its ancestors'), raw data, then rollups.
 * Identity (users, roles, tokens, audit log) is left out: docs/backup.md. */
static const bkcatalog_table_t s_tables[] = {
    { "org_node", "t.id IN " S_CFG, NULL },
    { "rating_scale", "t.node_id IS NULL OR t.node_id IN " S_CFG, NULL },
    { "rating_option", "t.scale_id IN (SELECT s.id FROM rating_scale s WHERE s.node_id IS NULL"
                       " OR s.node_id IN " S_CFG ")", NULL },
    { "service_window", "t.node_id IN " S_CFG, NULL },
    { "staff", "t.node_id IN " S_CFG, NULL },
    { "queue", "t.node_id IN " S_CFG, NULL },
    { "service", "t.node_id IN " S_CFG, NULL },
    { "node_settings", "t.node_id IN " S_CFG, NULL },
    { "hall_settings", "t.node_id IN " S_CFG, NULL },
    { "opening_hours", "t.node_id IN " S_CFG, NULL },
    { "opening_session", "t.node_id IN " S_CFG, NULL },
    { "opening_date", "t.node_id IN " S_CFG, NULL },
    { "work_profile", S_WINDOW, NULL },
    { "device", S_WINDOW, NULL },
    { "star_rule", "t.node_id IN " S_CFG, NULL },
    { "alert_rule", "t.node_id IN " S_CFG, NULL },
    { "alert_recipient", "t.node_id IN " S_CFG, NULL },
    { "sms_branch", S_BRANCH, NULL },
    { "sms_keyword", "t.node_id IN " S_CFG, NULL },
    /* raw data */
    { "ticket_branch_head", S_BRANCH, NULL },
    { "ticket", S_BRANCH, "issued_at" },
    { "ticket_event", S_BRANCH, "at" },
    { "ticket_event_cause", S_BRANCH, "at" },
    { "rating", "t.branch_path <@ (SELECT path FROM bk_root)", "event_time" },
    { "service_record", S_WINDOW, "ended_at" },
    { "staff_session", S_WINDOW, "login_at" },
    { "device_status", "t.branch_path <@ (SELECT path FROM bk_root)", NULL },
    { "alert", S_BRANCH, "opened_at" },
    { "alert_event", "t.alert_id IN (SELECT a.id FROM alert a WHERE a.branch_id IN "
                     S_NODES ")", "at" },
    { "alert_live", S_BRANCH, NULL },
    { "sms_notice", S_BRANCH, "at" },
    { "sms_inbound", S_BRANCH, "received_at" },
    { "sms_outbox", NULL, "created_at" },
    { "rejected_event", NULL, "rejected_at" },
    { "ingest_event", NULL, NULL },
    { "gateway_cursor", NULL, NULL },
    { "sms_cursor", NULL, NULL },
    { "purge_mark", S_NODE, NULL },
    /* stats-aggregator's rollups: statistics restore as they were */
    { "stats_node_version", S_NODE, NULL },
    { "stats_cell", S_NODE, NULL },
    { "stats_leg", S_BRANCH, NULL },
    { "stats_star_grade", S_BRANCH, NULL },
    { "stats_report", S_NODE, NULL },
    { "stats_open_session", S_BRANCH, NULL },
    { "stats_unplaced", NULL, NULL },
    { "stats_cursor", NULL, NULL },
};

const bkcatalog_table_t *bkcatalog_tables(size_t *n)
{
    *n = sizeof s_tables / sizeof s_tables[0];
    return s_tables;
}

const bkcatalog_table_t *bkcatalog_find(const char *table)
{
    for (size_t i = 0; i < sizeof s_tables / sizeof s_tables[0]; i++)
        if (strcmp(s_tables[i].table, table) == 0)
            return &s_tables[i];
    return NULL;
}
