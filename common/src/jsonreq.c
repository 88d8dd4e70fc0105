/*  jsonreq: strict decoding of a JSON request body against member specs (jsonreq.h). */
#include "eqms/jsonreq.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "eqms/utf8.h"

#define S_RULE_SIZE 160

/* Ends `text` where its valid UTF-8 ends, so that a cut never leaves half
 * a character (the errors are written as JSON). */
static void s_utf8_trim(char *text)
{
    text[utf8_valid_prefix(text, strlen(text))] = '\0';
}

void jsonreq_errors_vadd(jsonreq_errors_t *errors, const char *member, const char *fmt,
                         va_list ap)
{
    if (errors->count < JSONREQ_ERRORS_MAX) {
        jsonreq_error_t *e = &errors->errors[errors->count];
        snprintf(e->member, sizeof e->member, "%s", member ? member : "");
        vsnprintf(e->reason, sizeof e->reason, fmt, ap);
        s_utf8_trim(e->member);
        s_utf8_trim(e->reason);
    }
    errors->count++;
}

void jsonreq_errors_add(jsonreq_errors_t *errors, const char *member, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    jsonreq_errors_vadd(errors, member, fmt, ap);
    va_end(ap);
}

const char *jsonreq_errors_text(const jsonreq_errors_t *errors, char *out, size_t size)
{
    size_t kept = errors->count < JSONREQ_ERRORS_MAX ? errors->count : JSONREQ_ERRORS_MAX;
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < kept && used < size; i++) {
        const jsonreq_error_t *e = &errors->errors[i];
        int n = *e->member ? snprintf(out + used, size - used, "%s\"%s\": %s",
                                      i ? "; " : "", e->member, e->reason)
                           : snprintf(out + used, size - used, "%s%s", i ? "; " : "",
                                      e->reason);
        used += n > 0 ? (size_t) n : 0;
    }
    if (errors->count > kept && used < size)
        snprintf(out + used, size - used, " (and %zu more)", errors->count - kept);
    s_utf8_trim(out);
    return out;
}

/* --- the rules, in words ------------------------------------------------------ */

/* " of 1..64 characters", " >= 0", " in 1..500", "" (no bound). */
static void s_range(char *out, size_t size, int64_t min, int64_t max, const char *unit)
{
    out[0] = '\0';
    if (min == 0 && max == 0)
        return;
    bool open_low = min == INT64_MIN || (unit && min <= 0);
    bool open_high = max == INT64_MAX;
    if (unit && min == max)
        snprintf(out, size, " of %" PRId64 " %s", min, unit);
    else if (unit && open_high)
        snprintf(out, size, " of at least %" PRId64 " %s", min, unit);
    else if (unit && open_low)
        snprintf(out, size, " of at most %" PRId64 " %s", max, unit);
    else if (unit)
        snprintf(out, size, " of %" PRId64 "..%" PRId64 " %s", min, max, unit);
    else if (open_high)
        snprintf(out, size, " >= %" PRId64, min);
    else if (open_low)
        snprintf(out, size, " <= %" PRId64, max);
    else
        snprintf(out, size, " in %" PRId64 "..%" PRId64, min, max);
}

const char *jsonreq_rule(const jsonreq_member_t *m, char *out, size_t size)
{
    char range[64];
    const char *null = m->flags & JSONREQ_NULLABLE ? "null or " : "";
    switch (m->type) {
    case JSONREQ_STRING:
        if (m->one_of) {
            int n = snprintf(out, size, "%sone of ", null);
            size_t used = n > 0 ? (size_t) n : 0;
            for (const char *const *v = m->one_of; *v && used < size; v++) {
                n = snprintf(out + used, size - used, "%s\"%s\"", v == m->one_of ? "" : ", ",
                             *v);
                used += n > 0 ? (size_t) n : 0;
            }
            break;
        }
        s_range(range, sizeof range, m->min, m->max, "characters");
        snprintf(out, size, "%sa string%s", null, range);
        break;
    case JSONREQ_INTEGER:
        s_range(range, sizeof range, m->min, m->max, NULL);
        snprintf(out, size, "%san integer%s", null, range);
        break;
    case JSONREQ_NUMBER:
        s_range(range, sizeof range, m->min, m->max, NULL);
        snprintf(out, size, "%sa number%s", null, range);
        break;
    case JSONREQ_BOOLEAN:
        snprintf(out, size, "%strue or false", null);
        break;
    case JSONREQ_ARRAY:
        s_range(range, sizeof range, m->min, m->max, "elements");
        snprintf(out, size, "%san array%s", null, range);
        break;
    case JSONREQ_OBJECT:
        snprintf(out, size, "%san object", null);
        break;
    default:
        snprintf(out, size, "(no such type %d)", (int) m->type);
        break;
    }
    s_utf8_trim(out);
    return out;
}

/* --- checking -------------------------------------------------------------------- */

static bool s_in_range(const jsonreq_member_t *m, double value)
{
    if (m->min == 0 && m->max == 0)
        return true;
    return value >= (double) m->min && value <= (double) m->max;
}

static bool s_type_matches(jsonreq_type_t type, const json_t *value)
{
    switch (type) {
    case JSONREQ_STRING: return json_is_string(value);
    case JSONREQ_INTEGER: return json_is_integer(value);
    case JSONREQ_BOOLEAN: return json_is_boolean(value);
    case JSONREQ_NUMBER: return json_is_number(value);
    case JSONREQ_ARRAY: return json_is_array(value);
    case JSONREQ_OBJECT: return json_is_object(value);
    }
    return false;
}

/* True if the UTF-8 text holds a C0 or C1 control character or DEL. */
static bool s_has_control(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *) text;
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] == 0x7f || (s[i] == 0xc2 && i + 1 < len && s[i + 1] < 0xa0))
            return true;
    return false;
}

/* True if the value (of the right type) keeps to the member's range or list. */
static bool s_value_fits(const jsonreq_member_t *m, const json_t *value)
{
    switch (m->type) {
    case JSONREQ_STRING: {
        const char *text = json_string_value(value);
        if (m->one_of) {
            for (const char *const *v = m->one_of; *v; v++)
                if (strcmp(*v, text) == 0)
                    return true;
            return false;
        }
        return s_in_range(m, (double) utf8_count(text, json_string_length(value)));
    }
    case JSONREQ_INTEGER:
        /* exactly, not through a double: INT64_MAX - 1 is not INT64_MAX */
        return (m->min == 0 && m->max == 0)
               || (json_integer_value(value) >= m->min && json_integer_value(value) <= m->max);
    case JSONREQ_NUMBER:
        return s_in_range(m, json_number_value(value));
    case JSONREQ_ARRAY:
        return s_in_range(m, (double) json_array_size(value));
    default:
        return true;
    }
}

/* How an object is checked: as made, or as the body of a change. */
typedef enum { S_MAKE, S_CHANGE } s_mode_t;

static void s_check_object(const jsonreq_object_t *spec, json_t *object, const char *path,
                           s_mode_t mode, jsonreq_errors_t *errors);

static void s_check(const jsonreq_member_t *m, json_t *value, const char *path,
                    jsonreq_errors_t *errors)
{
    char rule[S_RULE_SIZE];
    if (json_is_null(value) && (m->flags & JSONREQ_NULLABLE))
        return;
    if (!s_type_matches(m->type, value) || !s_value_fits(m, value)) {
        jsonreq_errors_add(errors, path, "must be %s", jsonreq_rule(m, rule, sizeof rule));
        return;
    }
    if (m->type == JSONREQ_STRING && (m->flags & JSONREQ_LINE)
        && s_has_control(json_string_value(value), json_string_length(value)))
        jsonreq_errors_add(errors, path,
                           "must not contain control characters (tabs and line breaks "
                           "included)");
    if (m->type == JSONREQ_ARRAY && m->items) {
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item) {
            char item_path[JSONREQ_MEMBER_SIZE];
            snprintf(item_path, sizeof item_path, "%s[%zu]", path, i);
            s_check(m->items, item, item_path, errors);
        }
    }
    if (m->type == JSONREQ_OBJECT && m->object)
        s_check_object(m->object, value, path, S_MAKE, errors);
}

static const jsonreq_member_t *s_find(const jsonreq_object_t *spec, const char *name)
{
    for (size_t i = 0; i < spec->count; i++)
        if (strcmp(spec->members[i].name, name) == 0)
            return &spec->members[i];
    return NULL;
}

/* `lead` and the names of the members (those a change may name, in
 * S_CHANGE): "known: name, kind, limit"; `none` when there are none. */
static void s_names(const jsonreq_object_t *spec, s_mode_t mode, const char *lead,
                    const char *none, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < spec->count && used < size; i++) {
        if (mode == S_CHANGE && (spec->members[i].flags & JSONREQ_FIXED))
            continue;
        int n = snprintf(out + used, size - used, "%s%s", used ? ", " : lead,
                         spec->members[i].name);
        used += n > 0 ? (size_t) n : 0;
    }
    if (used == 0)
        snprintf(out, size, "%s", none);
}

static void s_check_object(const jsonreq_object_t *spec, json_t *object, const char *path,
                           s_mode_t mode, jsonreq_errors_t *errors)
{
    char member[JSONREQ_MEMBER_SIZE], rule[S_RULE_SIZE];
    const char *key;
    json_t *value;
    json_object_foreach(object, key, value) {
        if (s_find(spec, key))
            continue;
        snprintf(member, sizeof member, "%s%s%s", path, *path ? "." : "", key);
        s_names(spec, S_MAKE, "known: ", "none are known", rule, sizeof rule);
        jsonreq_errors_add(errors, member, "unknown member (%s)", rule);
    }
    for (size_t i = 0; i < spec->count; i++) {
        const jsonreq_member_t *m = &spec->members[i];
        snprintf(member, sizeof member, "%s%s%s", path, *path ? "." : "", m->name);
        value = json_object_get(object, m->name);
        if (value && mode == S_CHANGE && (m->flags & JSONREQ_FIXED))
            jsonreq_errors_add(errors, member, "cannot be changed by this request");
        else if (value)
            s_check(m, value, member, errors);
        else if ((m->flags & JSONREQ_REQUIRED) && mode == S_MAKE)
            jsonreq_errors_add(errors, member, "is required: %s",
                               jsonreq_rule(m, rule, sizeof rule));
    }
    if (mode == S_CHANGE && json_object_size(object) == 0) {
        s_names(spec, S_CHANGE, "", "", rule, sizeof rule);
        jsonreq_errors_add(errors, path, "name at least one of %s", rule);
    }
}

/* --- decoding ----------------------------------------------------------------------- */

json_t *jsonreq_load_object(const void *text, size_t len, size_t max, const char *what,
                            char *reason, size_t size)
{
    if (max > 0 && len > max) {
        snprintf(reason, size, "%s is %zu bytes, limit %zu", what, len, max);
        return NULL;
    }
    json_error_t error;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        snprintf(reason, size, "not valid JSON: %s at byte %d", error.text, error.position);
        return NULL;
    }
    if (!json_is_object(root)) {
        snprintf(reason, size, "%s is not a JSON object", what);
        json_decref(root);
        return NULL;
    }
    return root;
}

static json_t *s_decode(const void *text, size_t len, const jsonreq_object_t *spec,
                        s_mode_t mode, jsonreq_errors_t *errors)
{
    memset(errors, 0, sizeof *errors);
    char reason[JSONREQ_REASON_SIZE];
    json_t *root = jsonreq_load_object(text, len, 0, "the body", reason, sizeof reason);
    if (!root) {
        jsonreq_errors_add(errors, NULL, "%s", reason);
        return NULL;
    }
    s_check_object(spec, root, "", mode, errors);
    if (errors->count > 0) {
        json_decref(root);
        return NULL;
    }
    return root;
}

json_t *jsonreq_decode(const void *text, size_t len, const jsonreq_object_t *spec,
                       jsonreq_errors_t *errors)
{
    return s_decode(text, len, spec, S_MAKE, errors);
}

json_t *jsonreq_decode_update(const void *text, size_t len, const jsonreq_object_t *spec,
                              jsonreq_errors_t *errors)
{
    return s_decode(text, len, spec, S_CHANGE, errors);
}
