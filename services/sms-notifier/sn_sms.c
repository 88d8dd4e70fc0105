/*  sn_sms: how a text travels as SMS (sn_sms.h). */
#include "sn_sms.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/utf8.h"

#define S_GSM_ONE     160
#define S_GSM_PART    153
#define S_UCS2_ONE    70
#define S_UCS2_PART   67

/* The GSM 7-bit default alphabet's characters beyond printable ASCII, and
 * the printable ASCII characters it lacks ("`" and those of the extension
 * table). */
static const uint32_t s_gsm_extra[] = {
    0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7, 0x00D8, 0x00F8,
    0x00C5, 0x00E5, 0x0394, 0x03A6, 0x0393, 0x039B, 0x03A9, 0x03A0, 0x03A8, 0x03A3,
    0x0398, 0x039E, 0x00C6, 0x00E6, 0x00DF, 0x00C9, 0x00A4, 0x00A1, 0x00C4, 0x00D6,
    0x00D1, 0x00DC, 0x00A7, 0x00BF, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};
static const char s_gsm_escaped[] = "^{}\\[~]|\f";

/* Septets `cp` takes in GSM 7-bit: 1, 2 (extension table), 0 (not there). */
static int s_septets(uint32_t cp)
{
    if (cp == '\n' || cp == '\r')
        return 1;
    if (cp == 0x20AC || (cp < 0x80 && cp && strchr(s_gsm_escaped, (int) cp)))
        return 2;
    if (cp >= 0x20 && cp < 0x7F)
        return cp == '`' ? 0 : 1;
    for (size_t i = 0; i < sizeof s_gsm_extra / sizeof s_gsm_extra[0]; i++)
        if (s_gsm_extra[i] == cp)
            return 1;
    return 0;
}

/* Decodes the character at s (valid UTF-8); its length in *len. */
static uint32_t s_decode(const unsigned char *s, size_t *len)
{
    if (s[0] < 0x80) {
        *len = 1;
        return s[0];
    }
    size_t n = utf8_seq_len(s, SIZE_MAX);
    uint32_t cp = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++)
        cp = (cp << 6) | (s[i] & 0x3F);
    *len = n;
    return cp;
}

int sn_sms_plan(const char *text, sn_sms_plan_t *plan)
{
    if (!text || !*text || !utf8_valid(text, strlen(text)))
        return -1;
    size_t septets = 0, units = 0, len;
    bool gsm = true;
    for (const unsigned char *p = (const unsigned char *) text; *p; p += len) {
        uint32_t cp = s_decode(p, &len);
        int s = s_septets(cp);
        gsm = gsm && s > 0;
        septets += (size_t) s;
        units += cp > 0xFFFF ? 2 : 1;
    }
    plan->coding = gsm ? SN_SMS_GSM7 : SN_SMS_UCS2;
    plan->units = gsm ? septets : units;
    size_t one = gsm ? S_GSM_ONE : S_UCS2_ONE, part = gsm ? S_GSM_PART : S_UCS2_PART;
    plan->parts = plan->units <= one ? 1 : (int) ((plan->units + part - 1) / part);
    return 0;
}

char *sn_sms_fit(const char *text, int max_parts, bool *cut)
{
    sn_sms_plan_t plan;
    if (max_parts < 1 || sn_sms_plan(text, &plan) != 0)
        return NULL;
    *cut = plan.parts > max_parts;
    if (!*cut)
        return strdup(text);
    bool gsm = plan.coding == SN_SMS_GSM7;
    const char *ellipsis = gsm ? "..." : "\xE2\x80\xA6";
    size_t one = gsm ? S_GSM_ONE : S_UCS2_ONE, part = gsm ? S_GSM_PART : S_UCS2_PART;
    size_t room = (max_parts == 1 ? one : part * (size_t) max_parts) - (gsm ? 3 : 1);
    size_t used = 0, bytes = 0, len;
    for (const unsigned char *p = (const unsigned char *) text; *p; p += len) {
        uint32_t cp = s_decode(p, &len);
        size_t cost = gsm ? (size_t) s_septets(cp) : (cp > 0xFFFF ? 2 : 1);
        if (used + cost > room)
            break;
        used += cost;
        bytes += len;
    }
    char *out = malloc(bytes + strlen(ellipsis) + 1);
    if (!out)
        return NULL;
    memcpy(out, text, bytes);
    strcpy(out + bytes, ellipsis);
    return out;
}
