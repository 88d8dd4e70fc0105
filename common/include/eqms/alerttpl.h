/*  alerttpl: alert kinds and the text of an alert SMS made from a rule's template
 *  (sms-notifier renders it; web-api checks a template when a rule is written).
 *
 *  A template is text with placeholders in braces, e.g.
 *      "{branch} {window}号窗口 {teller}({employee_no}) 收到不满意评价"
 *  "{{" and "}}" stand for a literal brace. The placeholders a kind of alert
 *  offers are fixed (alerttpl_names); a template naming another one, or
 *  with an unclosed or stray brace, is refused with a reason that names it,
 *  so a typo is found when the rule is read, not when a supervisor gets
 *  "{telr}" at night.
 */
#ifndef EQMS_ALERTTPL_H
#define EQMS_ALERTTPL_H

#include <stdbool.h>
#include <stddef.h>

#define ALERTTPL_REASON_SIZE 160

/* One placeholder's value (borrowed). */
typedef struct {
    const char *name;
    const char *value;
} alerttpl_field_t;

/* A kind of alert: the placeholders its templates may name (NULL-terminated),
 * its built-in template (used when a rule's is refused), and whether it is
 * praise (resolved as it is written: never reminded nor escalated). */
typedef struct {
    const char *name;
    const char *const *names;
    const char *builtin;
    bool praise;
} alerttpl_kind_t;

/* The kind of that name, NULL for an unknown one. */
const alerttpl_kind_t *alerttpl_kind(const char *kind);

/* The placeholders an alert of `kind` offers, NULL-terminated; NULL for an
 * unknown kind. */
const char *const *alerttpl_names(const char *kind);

/* 0 if `text` is a valid template for `kind`; else -1 with the reason. */
int alerttpl_check(const char *kind, const char *text, char reason[ALERTTPL_REASON_SIZE]);

/* The template with every placeholder replaced by its field's value (a
 * placeholder without a field becomes ""); a checked template is assumed.
 * Returns malloc'd text (the caller frees), NULL on allocation failure. */
char *alerttpl_render(const char *text, const alerttpl_field_t *fields, size_t nfields);

#endif
