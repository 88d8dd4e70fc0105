/*  wa_cfg_settings: the device settings of an organisation node (wa_cfg_settings.h). */
#include "wa_cfg_settings.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa_cfg.h"
#include "wa_store.h"

/* The idle screen: 4 lines of 8 GB2312 characters (registry.c cuts it). */
#define S_IDLE_CHARS 32

#define S_SETTING(name, min_, max_) \
    { name, JSONREQ_INTEGER, JSONREQ_OPTIONAL | JSONREQ_NULLABLE, .min = min_, .max = max_ }

/* idle_text's length is checked by the database's rule (422), not here */
static const jsonreq_member_t s_update_members[] = {
    S_SETTING("rating_timeout_s", 5, 300),
    S_SETTING("repeat_press_s", 0, 600),
    { "rating_scale", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_NULLABLE | JSONREQ_LINE,
      .min = 1, .max = 32 },
    { "idle_text", JSONREQ_STRING, JSONREQ_OPTIONAL | JSONREQ_NULLABLE, .min = 0,
      .max = 1000 },
};
static const jsonreq_object_t s_update_spec = JSONREQ_OBJECT_OF(s_update_members);

static const wa_cfg_rule_t s_rules[] = {
    { "node_settings_rating_timeout_range", "rating_timeout_s", 0 },
    { "node_settings_repeat_press_range", "repeat_press_s", 0 },
    { "node_settings_rating_scale_fk", "rating_scale", 0 },
    { "node_settings_scale_in_scope", "rating_scale", 0 },
    { "node_settings_idle_text_fits_lcd", "idle_text", 0 },
    { NULL, NULL, 0 },
};

/* One setting: the node's own value, the one in force and where it is set. */
#define S_ONE(own, effective, from) \
    "json_build_object('value', " own ", 'effective', " effective ", 'from'," \
    " (SELECT a.path::text FROM org_node a WHERE a.id = " from "))"

static const char s_by_id_sql[] =
    "SELECT json_build_object('node_id', n.id, 'node', n.path::text,"
    " 'rating_timeout_s', " S_ONE("s.rating_timeout_s", "e.rating_timeout_s",
                                  "e.rating_timeout_from") ","
    " 'repeat_press_s', " S_ONE("s.repeat_press_s", "e.repeat_press_s",
                                "e.repeat_press_from") ","
    " 'rating_scale', " S_ONE("(SELECT r.code FROM rating_scale r"
                              " WHERE r.id = s.rating_scale_id)",
                              "e.rating_scale_code", "e.rating_scale_from") ","
    " 'idle_text', " S_ONE("s.idle_text", "e.idle_text", "e.idle_text_from") ","
    " 'updated_at', " WA_TS("s.updated_at") ")::text"
    " FROM org_node n LEFT JOIN node_settings s ON s.node_id = n.id,"
    " LATERAL effective_settings(n.id) e"
    " WHERE n.id = $1 AND n.path <@ $2::ltree";

void wa_cfg_settings_get(wa_call_t *call)
{
    wa_store_get(call, s_by_id_sql);
}

/* The rating scale of the code `code` as decimal text in `id`: 0, or -1
 * answered (422 naming rating_scale, 503). */
static int s_scale_id(wa_call_t *call, const char *code, char id[24])
{
    const char *params[] = { code };
    PGresult *res = pgstore_query(call->pg, "SELECT id FROM rating_scale WHERE code = $1", 1,
                                  params);
    if (!res)
        return wa_unavailable(call, "database");
    int found = PQntuples(res) == 1;
    if (found)
        snprintf(id, 24, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return found ? 0 : wa_cfg_unprocessable(call, "rating_scale", "no rating scale \"%s\"",
                                            code);
}

/* Whether `text` fits the devices' idle screen (the database's rule):
 * 0, or -1 answered (422 naming idle_text, 503). */
static int s_idle_text_fits(wa_call_t *call, const char *text)
{
    char max[8];
    snprintf(max, sizeof max, "%d", S_IDLE_CHARS);
    const char *params[] = { text, max };
    PGresult *res = pgstore_query(call->pg, "SELECT eqms_lcd_text_valid($1, $2::int)", 2,
                                  params);
    if (!res)
        return wa_unavailable(call, "database");
    bool fits = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return fits ? 0 : wa_cfg_unprocessable(call, "idle_text", "must be 1..%d printable "
                                           "characters of the GB2312 font (the idle screen "
                                           "shows 4 lines of 8)", S_IDLE_CHARS);
}

void wa_cfg_settings_update(wa_call_t *call)
{
    wa_cfg_update_t u;
    if (wa_cfg_update_begin(call, s_by_id_sql, &s_update_spec, &u) != 0) {
        wa_cfg_update_end(&u);
        return;
    }
    const char *scale = wa_cfg_str(u.body, "rating_scale");
    const char *idle = wa_cfg_str(u.body, "idle_text");
    char scale_id[24], timeout[24], repeat[24];
    if ((scale && s_scale_id(call, scale, scale_id) != 0)
        || (idle && s_idle_text_fits(call, idle) != 0)) {
        wa_cfg_update_end(&u);
        return;
    }
    /* each member: absent keeps the node's value, null clears it (inherit) */
#define S_SET(name) (json_object_get(u.body, name) ? "t" : "f")
    const char *params[] = { u.id_text,
                             S_SET("rating_timeout_s"),
                             wa_cfg_text(u.body, "rating_timeout_s", timeout),
                             S_SET("repeat_press_s"),
                             wa_cfg_text(u.body, "repeat_press_s", repeat),
                             S_SET("rating_scale"), scale ? scale_id : NULL,
                             S_SET("idle_text"), idle };
#undef S_SET
#define S_KEEP(col, n) \
    " " col " = CASE WHEN $" #n "::boolean THEN EXCLUDED." col " ELSE node_settings." col " END"
    wa_cfg_update_finish(call, &u, s_rules,
                         "INSERT INTO node_settings (node_id, rating_timeout_s, repeat_press_s,"
                         " rating_scale_id, idle_text)"
                         " VALUES ($1, $3::int, $5::int, $7::bigint, $9)"
                         " ON CONFLICT (node_id) DO UPDATE SET"
                         S_KEEP("rating_timeout_s", 2) "," S_KEEP("repeat_press_s", 4) ","
                         S_KEEP("rating_scale_id", 6) "," S_KEEP("idle_text", 8),
                         9, params, "node_settings.update", "node_settings", u.id,
                         s_by_id_sql);
#undef S_KEEP
    wa_cfg_update_end(&u);
}
