/*  sn_sms: how a text travels as SMS (3GPP TS 23.038 / 23.040).
 *
 *  A text goes in the GSM 7-bit alphabet when every character is in it (the
 *  characters of the extension table, e.g. "{", "€", take two septets), in
 *  UCS-2 otherwise (a character beyond U+FFFF takes two units). One SMS
 *  holds 160 septets or 70 units; a longer text is sent as concatenated
 *  parts, each carrying a 6-byte header, so 153 septets or 67 units a part.
 *  The gateway does the cutting; the notifier plans it, so that it knows
 *  what a message costs and never lets the gateway cut off the end of a
 *  text silently (Kannel drops the parts beyond its max-messages).
 */
#ifndef EQMS_SN_SMS_H
#define EQMS_SN_SMS_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { SN_SMS_GSM7, SN_SMS_UCS2 } sn_sms_coding_t;

typedef struct {
    sn_sms_coding_t coding;
    size_t units;               /* septets (GSM 7-bit) or 16-bit units (UCS-2) */
    int parts;                  /* SMS it takes: 1 if units fit one, else per part */
} sn_sms_plan_t;

/* Plans valid UTF-8 `text`. -1 if it is not valid UTF-8 or is empty. */
int sn_sms_plan(const char *text, sn_sms_plan_t *plan);

/* `text` cut so that it takes at most `max_parts` SMS (>= 1), ending with
 * "…" (or "..." in GSM 7-bit) when cut; never splits a character. Returns
 * malloc'd text (the caller frees) and sets *cut; NULL on invalid input or
 * allocation failure. */
char *sn_sms_fit(const char *text, int max_parts, bool *cut);

#endif
