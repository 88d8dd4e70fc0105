/*  sn_template: the text of an alert SMS, made from a rule's template.
 *
 *  A template is text with placeholders in braces, e.g.
 *      "{branch} {window}号窗口 {teller}({employee_no}) 收到不满意评价"
 *  "{{" and "}}" stand for a literal brace. The placeholders a kind of alert
 *  offers are fixed (sn_template_names); a template naming another one, or
 *  with an unclosed or stray brace, is refused with a reason that names it,
 *  so a typo is found when the rule is read, not when a supervisor gets
 *  "{telr}" at night.
 */
#ifndef EQMS_SN_TEMPLATE_H
#define EQMS_SN_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#define SN_TEMPLATE_REASON_SIZE 160

/* One placeholder's value (borrowed). */
typedef struct {
    const char *name;
    const char *value;
} sn_field_t;

/* A kind of alert: the placeholders its templates may name (NULL-terminated),
 * its built-in template (used when a rule's is refused), and whether it is
 * praise (resolved as it is written: never reminded nor escalated). */
typedef struct {
    const char *name;
    const char *const *names;
    const char *builtin;
    bool praise;
} sn_kind_t;

/* The kind of that name, NULL for an unknown one. */
const sn_kind_t *sn_template_kind(const char *kind);

/* The placeholders an alert of `kind` offers, NULL-terminated; NULL for an
 * unknown kind. */
const char *const *sn_template_names(const char *kind);

/* 0 if `text` is a valid template for `kind`; else -1 with the reason. */
int sn_template_check(const char *kind, const char *text, char reason[SN_TEMPLATE_REASON_SIZE]);

/* The template with every placeholder replaced by its field's value (a
 * placeholder without a field becomes ""); a checked template is assumed.
 * Returns malloc'd text (the caller frees), NULL on allocation failure. */
char *sn_template_render(const char *text, const sn_field_t *fields, size_t nfields);

#endif
