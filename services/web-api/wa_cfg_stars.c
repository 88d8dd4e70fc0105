/*  wa_cfg_stars: star rules (wa_cfg_stars.h). */
#include "wa_cfg_stars.h"

#include <microhttpd.h>
#include <string.h>

#include "wa_cfg.h"
#include "wa_store.h"

static const char *const s_periods[] = { "day", "week", "month", "quarter", "year", NULL };

static const jsonreq_member_t s_set_members[] = {
    { "period", JSONREQ_STRING, JSONREQ_REQUIRED, .one_of = s_periods },
    { "min_rated", JSONREQ_INTEGER, JSONREQ_REQUIRED, .min = 1, .max = 100000 },
    { "five", JSONREQ_NUMBER, JSONREQ_REQUIRED, .min = 0, .max = 1 },
    { "four", JSONREQ_NUMBER, JSONREQ_REQUIRED, .min = 0, .max = 1 },
    { "three", JSONREQ_NUMBER, JSONREQ_REQUIRED, .min = 0, .max = 1 },
};
static const jsonreq_object_t s_set_spec = JSONREQ_OBJECT_OF(s_set_members);

static const wa_cfg_rule_t s_rules[] = {
    { "star_rule_period_valid", "period", 0 },
    { "star_rule_min_rated_range", "min_rated", 0 },
    { "star_rule_thresholds_order", "four", 0 },
    { "22003", "five", 0 },       /* more digits than numeric(5,4) holds */
    { NULL, NULL, 0 },
};

/* The rule in force at node n (the values as stats-aggregator reads them,
 * stats_star_rule_for) and where it comes from (r: the nearest rule's node
 * on the way to the root, if any). */
#define S_RULE_JSON \
    "json_build_object('node', n.path::text," \
    " 'source', CASE WHEN r.path IS NULL THEN 'default' WHEN r.path = n.path THEN 'own'" \
    "           ELSE 'inherited' END," \
    " 'inherited_from', CASE WHEN r.path <> n.path THEN r.path::text END," \
    " 'period', (ARRAY['day', 'week', 'month', 'quarter', 'year'])[f.period]," \
    " 'min_rated', f.min_rated, 'five', f.five, 'four', f.four, 'three', f.three)"

#define S_RULE_FROM \
    " FROM org_node n CROSS JOIN LATERAL stats_star_rule_for(n.id) f" \
    " LEFT JOIN LATERAL (SELECT a.path FROM org_node a JOIN star_rule x ON x.node_id = a.id" \
    "   WHERE a.path @> n.path ORDER BY nlevel(a.path) DESC LIMIT 1) r ON true"

static const char s_by_id_sql[] =
    "SELECT " S_RULE_JSON "::text" S_RULE_FROM " WHERE n.id = $1 AND n.path <@ $2::ltree";

void wa_cfg_stars_list(wa_call_t *call)
{
    wa_store_list(call, "star-rules", NULL,
                  "SELECT n.id, " S_RULE_JSON "::text" S_RULE_FROM
                  " WHERE n.path <@ $1::ltree AND ($2::bigint IS NULL OR n.id > $2)"
                  "   AND EXISTS (SELECT 1 FROM star_rule s WHERE s.node_id = n.id)"
                  " ORDER BY n.id LIMIT $3");
}

void wa_cfg_stars_get(wa_call_t *call)
{
    wa_store_get(call, s_by_id_sql);
}

/* The thresholds from five down to three may not rise: 0, or -1 answered
 * (422 naming the first that does). */
static int s_check_order(wa_call_t *call, const json_t *body)
{
    static const char *const names[] = { "five", "four", "three" };
    for (int i = 1; i < 3; i++) {
        double above = json_number_value(json_object_get(body, names[i - 1]));
        double here = json_number_value(json_object_get(body, names[i]));
        if (here > above)
            return wa_cfg_unprocessable(call, names[i], "%g is above %s (%g): the thresholds "
                                        "go down from five to three", here, names[i - 1],
                                        above);
    }
    return 0;
}

void wa_cfg_stars_set(wa_call_t *call)
{
    wa_cfg_update_t u;
    if (wa_cfg_replace_begin(call, s_by_id_sql, &s_set_spec, &u) != 0
        || s_check_order(call, u.body) != 0) {
        wa_cfg_update_end(&u);
        return;
    }
    char b[4][24];
    const char *params[] = { u.id_text, wa_cfg_str(u.body, "period"),
                             wa_cfg_text(u.body, "min_rated", b[0]),
                             wa_cfg_text(u.body, "five", b[1]),
                             wa_cfg_text(u.body, "four", b[2]),
                             wa_cfg_text(u.body, "three", b[3]) };
    /* stats-aggregator reads the rule where it grades: nobody to tell */
    if (wa_store_begin(call) == 0
        && wa_cfg_exec(call, s_rules,
                       "INSERT INTO star_rule (node_id, period, min_rated, five, four, three)"
                       " VALUES ($1, $2, $3::int, $4::numeric, $5::numeric, $6::numeric)"
                       " ON CONFLICT (node_id) DO UPDATE SET period = EXCLUDED.period,"
                       " min_rated = EXCLUDED.min_rated, five = EXCLUDED.five,"
                       " four = EXCLUDED.four, three = EXCLUDED.three",
                       6, params) == 0)
        wa_store_finish(call, "star_rule.set", "star_rule", u.id, u.id, u.before, s_by_id_sql,
                        MHD_HTTP_OK);
    wa_cfg_update_end(&u);
}

void wa_cfg_stars_delete(wa_call_t *call)
{
    wa_cfg_update_t u;
    const char *params[] = { u.id_text };
    if (wa_cfg_delete_begin(call, s_by_id_sql, &u) != 0)
        ;
    else if (strcmp(wa_cfg_str(u.before, "source"), "own") != 0)
        wa_reply_empty(call);       /* none of its own: nothing to remove */
    else if (wa_store_begin(call) == 0
             && wa_cfg_exec(call, s_rules, "DELETE FROM star_rule WHERE node_id = $1", 1,
                            params) == 0)
        wa_store_finish(call, "star_rule.delete", "star_rule", u.id, u.id, u.before,
                        s_by_id_sql, MHD_HTTP_NO_CONTENT);
    wa_cfg_update_end(&u);
}
