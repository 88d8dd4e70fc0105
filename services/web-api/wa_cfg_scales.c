/*  wa_cfg_scales: rating scales (wa_cfg_scales.h). */
#include "wa_cfg_scales.h"

#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"
#include "wa_cfg.h"
#include "wa_store.h"

#define S_KEYS_MAX 6
#define S_USERS_SIZE 512          /* the nodes using a scale, as text for a detail */

static const char *const s_categories[] = { "none", "attitude", "efficiency", "skill",
                                            "environment", "other", NULL };

static const jsonreq_member_t s_option_members[] = {
    { "code", JSONREQ_INTEGER, JSONREQ_REQUIRED, .min = 1, .max = S_KEYS_MAX },
    { "label", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 8 },
    { .name = "satisfied", .type = JSONREQ_BOOLEAN },
    { .name = "unsatisfied", .type = JSONREQ_BOOLEAN },
    { "score", JSONREQ_NUMBER, JSONREQ_REQUIRED, .min = 0, .max = 5 },
    { "category", JSONREQ_STRING, JSONREQ_OPTIONAL, .one_of = s_categories },
    { "position", JSONREQ_INTEGER, JSONREQ_OPTIONAL, .min = 1, .max = S_KEYS_MAX },
};
static const jsonreq_object_t s_option_spec = JSONREQ_OBJECT_OF(s_option_members);
static const jsonreq_member_t s_option_item = { .type = JSONREQ_OBJECT,
                                                .object = &s_option_spec };

static const jsonreq_member_t s_create_members[] = {
    { "code", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_FIXED | JSONREQ_LINE,
      .min = 1, .max = 32 },
    { "name", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
    { "node", JSONREQ_STRING,
      JSONREQ_OPTIONAL | JSONREQ_FIXED | JSONREQ_NULLABLE | JSONREQ_LINE, .min = 1,
      .max = 255 },
    { "options", JSONREQ_ARRAY, JSONREQ_REQUIRED, .min = 4, .max = S_KEYS_MAX,
      .items = &s_option_item },
};
static const jsonreq_object_t s_create_spec = JSONREQ_OBJECT_OF(s_create_members);

static const wa_cfg_rule_t s_rules[] = {
    { "rating_scale_code_unique", "code", 0 },
    { "rating_scale_code_format", "code", 0 },
    { "rating_scale_name_present", "name", 0 },
    { "rating_scale_key_count_range", "options", 0 },
    { "rating_scale_options_match_keys", "options", 0 },
    { "rating_option_position_unique", "options", 0 },
    { "rating_option_label_fits_lcd", "options", 0 },
    { "rating_option_score_range", "options", 0 },
    { "rating_option_not_both", "options", 0 },
    { "rating_option_category_valid", "options", 0 },
    { "node_settings_rating_scale_fk", NULL, MHD_HTTP_CONFLICT },   /* set meanwhile */
    { NULL, NULL, 0 },
};

/* A scale as JSON; `p` is the parameter holding the caller's node path. */
#define S_SCALE_JSON(p) \
    "json_build_object('id', s.id, 'code', s.code, 'name', s.name, 'node', n.path::text," \
    " 'key_count', s.key_count," \
    " 'read_only', NOT CASE WHEN s.node_id IS NULL THEN nlevel(" p "::ltree) = 1" \
    "                  ELSE n.path <@ " p "::ltree END," \
    " 'options', (SELECT json_agg(json_build_object('code', o.code, 'label', o.label," \
    "    'satisfied', o.satisfied, 'unsatisfied', o.unsatisfied, 'score', o.score," \
    "    'category', o.category, 'position', o.position) ORDER BY o.position)" \
    "  FROM rating_option o WHERE o.scale_id = s.id)," \
    " 'preview', (SELECT json_agg(json_build_object('position', o.position, 'label', o.label," \
    "    'meaning', CASE WHEN o.satisfied THEN 'satisfied' WHEN o.unsatisfied" \
    "               THEN 'unsatisfied' ELSE 'neutral' END, 'score', o.score)" \
    "    ORDER BY o.position) FROM rating_option o WHERE o.scale_id = s.id)," \
    " 'used_by', ARRAY(SELECT u.path::text FROM node_settings x" \
    "    JOIN org_node u ON u.id = x.node_id" \
    "    WHERE x.rating_scale_id = s.id AND u.path <@ " p "::ltree ORDER BY u.path)," \
    " 'created_at', " WA_TS("s.created_at") ")"

/* Usable in the caller's subtree: everywhere, or at a node in it or above it. */
#define S_VISIBLE(p) \
    "(s.node_id IS NULL OR n.path <@ " p "::ltree OR n.path @> " p "::ltree)"

static const char s_by_id_sql[] =
    "SELECT " S_SCALE_JSON("$2") "::text"
    " FROM rating_scale s LEFT JOIN org_node n ON n.id = s.node_id"
    " WHERE s.id = $1 AND " S_VISIBLE("$2");

/* The options' rule that jsonreq cannot state: 4 or 6 of them, codes exactly
 * 1..their number, each position once, none both satisfied and unsatisfied.
 * 0, or -1 answered (422 naming the option's member). */
static int s_check_options(wa_call_t *call, const json_t *options)
{
    size_t count = json_array_size(options), i;
    unsigned codes = 0, positions = 0;
    const json_t *o;
    char member[48];
    if (count != 4 && count != 6)
        return wa_cfg_unprocessable(call, "options", "a device has 4 or 6 keys: give 4 or 6 "
                                    "options, not %zu", count);
    json_array_foreach(options, i, o) {
        json_int_t code = json_integer_value(json_object_get(o, "code"));
        const json_t *at = json_object_get(o, "position");
        json_int_t position = at ? json_integer_value(at) : (json_int_t) i + 1;
        if (code > (json_int_t) count || codes & (1u << code)) {
            snprintf(member, sizeof member, "options[%zu].code", i);
            return wa_cfg_unprocessable(call, member, "the codes of %zu options are 1..%zu, "
                                        "each once (%" JSON_INTEGER_FORMAT " %s)", count,
                                        count, code, code > (json_int_t) count ? "is beyond"
                                                                             : "is twice");
        }
        if (position > (json_int_t) count || positions & (1u << position)) {
            snprintf(member, sizeof member, "options[%zu].position", i);
            return wa_cfg_unprocessable(call, member, "the positions of %zu options are "
                                        "1..%zu, each once", count, count);
        }
        if (json_is_true(json_object_get(o, "satisfied"))
            && json_is_true(json_object_get(o, "unsatisfied"))) {
            snprintf(member, sizeof member, "options[%zu].unsatisfied", i);
            return wa_cfg_unprocessable(call, member, "an option is satisfied, unsatisfied "
                                        "or neither, not both");
        }
        codes |= 1u << code;
        positions |= 1u << position;
    }
    return 0;
}

/* The labels, against the device's LCD as the database checks them
 * (eqms_lcd_text_valid). 0, or -1 answered (422 naming the label, 503). */
static int s_check_labels(wa_call_t *call, const char *options)
{
    const char *params[] = { options };
    PGresult *res = wa_store_query(call, NULL,
                                   "SELECT i - 1, o->>'label'"
                                   " FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY x (o, i)"
                                   " WHERE NOT eqms_lcd_text_valid(o->>'label', 8)"
                                   " ORDER BY i LIMIT 1",
                                   1, params);
    if (!res)
        return -1;
    int rc = 0;
    if (PQntuples(res) == 1) {
        char member[48];
        snprintf(member, sizeof member, "options[%s].label", PQgetvalue(res, 0, 0));
        rc = wa_cfg_unprocessable(call, member, "\"%s\" does not fit the device's LCD: 1..8 "
                                  "characters of its GB2312 font", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return rc;
}

/* Writes the options (JSON text) of the scale `id_text`, inside the caller's
 * transaction, and checks the scale as its commit would. 0, or -1 rolled
 * back and answered. */
static int s_write_options(wa_call_t *call, const char *id_text, const char *options)
{
    const char *params[] = { id_text, options };
    return wa_cfg_exec(call, s_rules,
                       "INSERT INTO rating_option (scale_id, code, label, satisfied, unsatisfied,"
                       " score, category, position)"
                       " SELECT $1, (o->>'code')::smallint, o->>'label',"
                       " coalesce((o->>'satisfied')::boolean, false),"
                       " coalesce((o->>'unsatisfied')::boolean, false),"
                       " (o->>'score')::numeric, coalesce(o->>'category', 'none'),"
                       " coalesce((o->>'position')::smallint, i)"
                       " FROM jsonb_array_elements($2::jsonb) WITH ORDINALITY x (o, i)",
                       2, params) != 0
                   || wa_cfg_exec(call, s_rules, "SET CONSTRAINTS ALL IMMEDIATE", 0, NULL) != 0
               ? -1
               : 0;
}

/* The nodes whose settings use the scale $1: those that set it, and the
 * roots of the tree when it is the built-in default (effective_settings
 * says which), with whether it is the default there. */
static const char s_users_sql[] =
    "SELECT n.path::text, e.rating_scale_from IS NULL"
    " FROM org_node n CROSS JOIN LATERAL effective_settings(n.id) e"
    " WHERE (n.parent_id IS NULL OR EXISTS (SELECT 1 FROM node_settings x"
    "        WHERE x.node_id = n.id AND x.rating_scale_id = $1))"
    "   AND e.rating_scale_id = $1"
    "   AND (e.rating_scale_from = n.id OR e.rating_scale_from IS NULL)"
    " ORDER BY n.path";

/* The nodes using the scale `id_text`, written "hq.r02, hq (the default)"
 * in `out`: 0 with their number in *count, or -1 answered (503). */
static int s_users(wa_call_t *call, const char *id_text, char *out, size_t size, int *count)
{
    const char *params[] = { id_text };
    PGresult *res = wa_store_query(call, NULL, s_users_sql, 1, params);
    if (!res)
        return -1;
    size_t used = 0;
    *out = '\0';
    *count = PQntuples(res);
    for (int i = 0; i < *count && used < size; i++)
        used += (size_t) snprintf(out + used, size - used, "%s%s%s", i ? ", " : "",
                                  PQgetvalue(res, i, 0),
                                  *PQgetvalue(res, i, 1) == 't' ? " (the default)" : "");
    PQclear(res);
    return 0;
}

/* After a committed change of the scale `id_text`: tells each node using it
 * (wa_cfg_changed), so that its branches get a new registry snapshot. The
 * answer is given already: a failure is only logged. */
static void s_tell_users(wa_call_t *call, const char *id_text)
{
    const char *params[] = { id_text };
    PGresult *res = pgstore_query(call->pg, s_users_sql, 1, params);
    if (!res) {
        log_warn("rating_scale_untold", "scale=%s reason=\"database unavailable\"", id_text);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++)
        wa_cfg_changed(call, PQgetvalue(res, i, 0));
    PQclear(res);
}

/* A scale the caller may only read: 0 when it may be changed, else -1
 * answered (403). */
static int s_writable(wa_call_t *call, const json_t *scale)
{
    if (!json_is_true(json_object_get(scale, "read_only")))
        return 0;
    const char *node = json_string_value(json_object_get(scale, "node"));
    return wa_problem(call, MHD_HTTP_FORBIDDEN, "rating scale %s is defined %s%s, not in your "
                      "subtree %s: it is read-only here",
                      json_string_value(json_object_get(scale, "code")),
                      node ? "at " : "for every node", node ? node : "", call->who.node_path);
}

void wa_cfg_scales_list(wa_call_t *call)
{
    wa_store_list(call, "rating-scales", NULL,
                  "SELECT s.id, " S_SCALE_JSON("$1") "::text"
                  " FROM rating_scale s LEFT JOIN org_node n ON n.id = s.node_id"
                  " WHERE " S_VISIBLE("$1") " AND ($2::bigint IS NULL OR s.id > $2)"
                  " ORDER BY s.id LIMIT $3");
}

void wa_cfg_scales_get(wa_call_t *call)
{
    wa_store_get(call, s_by_id_sql);
}

void wa_cfg_scales_create(wa_call_t *call)
{
    json_t *body = wa_decode(call, &s_create_spec);
    if (!body)
        return;
    const char *path = wa_cfg_str(body, "node");
    char *options = wa_cfg_json_text(body, "options");
    int64_t node_id = 0, id;
    char node_text[24], count[24], id_text[24];
    snprintf(count, sizeof count, "%zu", json_array_size(json_object_get(body, "options")));
    if (!options) {
        wa_unavailable(call, "memory");
        goto done;
    }
    if (s_check_options(call, json_object_get(body, "options")) != 0)
        goto done;
    if (path && wa_cfg_node(call, "node", path, &node_id, NULL) != 0)
        goto done;
    if (!path && strchr(call->who.node_path, '.')) {
        wa_cfg_unprocessable(call, "node", "a scale for every node is made at the root of the "
                             "tree; name a node of your subtree %s", call->who.node_path);
        goto done;
    }
    if (s_check_labels(call, options) != 0)
        goto done;
    snprintf(node_text, sizeof node_text, "%" PRId64, node_id);
    const char *params[] = { wa_cfg_str(body, "code"), wa_cfg_str(body, "name"),
                             path ? node_text : NULL, count };
    if (wa_cfg_insert(call, s_rules,
                      "INSERT INTO rating_scale (code, name, node_id, key_count)"
                      " VALUES ($1, $2, $3, $4) RETURNING id",
                      4, params, &id) != 0)
        goto done;
    snprintf(id_text, sizeof id_text, "%" PRId64, id);
    if (s_write_options(call, id_text, options) == 0)
        wa_store_created(call, "rating-scales", "rating_scale.create", "rating_scale", id,
                         node_id, s_by_id_sql);
done:
    free(options);
    json_decref(body);
}

void wa_cfg_scales_update(wa_call_t *call)
{
    wa_cfg_update_t u;
    char users[S_USERS_SIZE], count[24];
    int nusers = 0;
    char *options = NULL;
    if (wa_cfg_update_begin(call, s_by_id_sql, &s_create_spec, &u) != 0
        || s_writable(call, u.before) != 0)
        goto done;
    const json_t *given = json_object_get(u.body, "options");
    json_int_t keys = json_integer_value(json_object_get(u.before, "key_count"));
    if (given) {
        options = wa_cfg_json_text(u.body, "options");
        if (!options) {
            wa_unavailable(call, "memory");
            goto done;
        }
        if (s_check_options(call, given) != 0
            || s_users(call, u.id_text, users, sizeof users, &nusers) != 0)
            goto done;
        if (nusers && json_array_size(given) != (size_t) keys) {
            wa_cfg_conflict(call, "options", "the scale is in use (%s): its devices have "
                            "%" JSON_INTEGER_FORMAT " keys, so it keeps %" JSON_INTEGER_FORMAT
                            " options", users, keys, keys);
            goto done;
        }
        if (s_check_labels(call, options) != 0)
            goto done;
        snprintf(count, sizeof count, "%zu", json_array_size(given));
    }
    const char *params[] = { u.id_text, wa_cfg_str(u.body, "name"), given ? count : NULL };
    int64_t node_id;              /* 0: a scale for every node */
    if (wa_cfg_node_of(call, "rating_scale", u.id_text, &node_id) != 0)
        goto done;
    if (wa_store_begin(call) != 0
        || wa_cfg_exec(call, s_rules,
                       "UPDATE rating_scale SET name = coalesce($2, name),"
                       " key_count = coalesce($3::int, key_count) WHERE id = $1",
                       3, params) != 0
        || (given && (wa_cfg_exec(call, s_rules, "DELETE FROM rating_option WHERE scale_id = $1",
                                  1, params) != 0
                      || s_write_options(call, u.id_text, options) != 0))
        || wa_store_finish(call, "rating_scale.update", "rating_scale", u.id, node_id, u.before,
                           s_by_id_sql, MHD_HTTP_OK) != 0)
        goto done;
    /* the gateways of the branches that use it get its new keys (the name
     * is not in the registry snapshot) */
    if (given)
        s_tell_users(call, u.id_text);
done:
    free(options);
    wa_cfg_update_end(&u);
}

void wa_cfg_scales_delete(wa_call_t *call)
{
    wa_cfg_update_t u;
    int64_t node_id;
    char users[S_USERS_SIZE];
    int nusers;
    const char *params[] = { u.id_text };
    if (wa_cfg_delete_begin(call, s_by_id_sql, &u) != 0 || s_writable(call, u.before) != 0
        || s_users(call, u.id_text, users, sizeof users, &nusers) != 0)
        ;
    else if (nusers)
        wa_problem(call, MHD_HTTP_CONFLICT, "rating scale %s is in use by the settings of %s",
                   wa_cfg_str(u.before, "code"), users);
    else if (wa_cfg_node_of(call, "rating_scale", u.id_text, &node_id) == 0
             && wa_store_begin(call) == 0
             && wa_cfg_exec(call, s_rules, "DELETE FROM rating_scale WHERE id = $1", 1,
                            params) == 0)
        wa_store_finish(call, "rating_scale.delete", "rating_scale", u.id, node_id, u.before,
                        s_by_id_sql, MHD_HTTP_NO_CONTENT);
    wa_cfg_update_end(&u);
}
