/*  sn_customer: the pure pieces of customer messages (docs/alerts.md,
 *  "Customer messages"): how a keyword and a phone number are read, and the
 *  texts customers get. No I/O.
 */
#ifndef EQMS_SN_CUSTOMER_H
#define EQMS_SN_CUSTOMER_H

#include <stddef.h>
#include <stdint.h>

#include "eqms/clock.h"

#define SN_CUSTOMER_KEYWORD_SIZE 65     /* 16 characters of up to 4 bytes, NUL */
#define SN_CUSTOMER_PHONE_SIZE 17       /* "+" 15 digits NUL */

/* The keyword of an SMS text (valid UTF-8): its first word, with ASCII
 * letters upper-cased and the full-width forms U+FF01..U+FF5E read as
 * their ASCII characters (U+3000, the ideographic space, is a space).
 * "" for a text of blanks. Returns 0, or -1 if the text is not valid UTF-8
 * or its first word does not fit `size` (callers treat that as unknown). */
int sn_customer_keyword(const char *text, char *out, size_t size);

/* A sender's number as E.164 with the plus sign: "+<7..15 digits>",
 * "00<same>", mainland China mobile numbers "1[3-9]xxxxxxxxx" and
 * "86" followed by one become "+86...". 0, or -1 for anything else. */
int sn_customer_phone(const char *in, char out[SN_CUSTOMER_PHONE_SIZE]);

/* The texts, Chinese first, each naming the branch. malloc'd (the caller
 * frees), NULL on allocation failure. */
char *sn_customer_issued_text(const char *branch, const char *number, int64_t position,
                              int64_t est_wait_s);
char *sn_customer_unknown_text(const char *branch, const char *keywords);
char *sn_customer_limit_text(const char *branch, int limit);
char *sn_customer_refused_text(const char *branch);
/* A ticket refused by the branch's opening hours (queue-manager's
 * "closed" / "issuing_stopped"): when issuing resumes, in the branch's
 * local time, today's or another day's (`resumes` NULL: not known). */
char *sn_customer_not_issuing_text(const char *branch, clock_date_t today,
                                   const clock_date_t *resumes, int resumes_minute);
char *sn_customer_near_text(const char *branch, const char *number, int64_t ahead);
char *sn_customer_called_text(const char *branch, const char *number, const char *window_no);

#endif
