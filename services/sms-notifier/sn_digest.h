/*  sn_digest: one SMS that summarises the alerts a recipient had waiting
 *  (docs/alerts.md, "Quiet hours, rate limits and digests").
 *
 *  "【服务评价汇总】上海浦东支行 14:02-14:09 共12条不满意评价：3号窗口 张三×5；
 *   4号窗口 李四×4；1号窗口 王芳×3"
 *  The places (window and teller, with the branch when there are several)
 *  are listed most alerts first, then by window; the text is cut to the
 *  SMS allowed by the caller (sn_sms_fit), so the list may end with "…".
 */
#ifndef EQMS_SN_DIGEST_H
#define EQMS_SN_DIGEST_H

#include <stddef.h>

/* One alert to summarise (borrowed). */
typedef struct {
    const char *kind;           /* "unsatisfied_rating", ... */
    const char *facts_json;     /* alert.facts: branch, window, teller, time, ... */
} sn_digest_item_t;

/* The digest of `n` (>= 1) alerts. Returns malloc'd UTF-8 text (the caller
 * frees), NULL on allocation failure. Facts that are missing or not JSON
 * count without a place. */
char *sn_digest_text(const sn_digest_item_t *items, size_t n);

#endif
