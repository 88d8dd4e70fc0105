/*  wa_announce: an announcement's audio (wa_announce.h). */
#include "wa_announce.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"
#include "wa_cfg.h"
#include "wa_ops_common.h"
#include "wa_voice.h"

#define S_RETRY_AFTER "2"

/* Whether the branch has the active window `window_no`, a queue of the
 * ticket's prefix (at the branch or above it), and a committed call (or
 * recall) of that ticket to that window within the last day: nothing is
 * said that the hall was not told (docs/voice.md). 0, or -1 answered (422
 * naming the member the branch lacks, 404 without such a call, 503). */
static int s_known(wa_call_t *call, const char *branch, const char *number, int window_no)
{
    char window[16], prefix[4];
    snprintf(window, sizeof window, "%d", window_no);
    snprintf(prefix, sizeof prefix, "%.*s", (int) wa_voicetext_prefix_len(number), number);
    const char *params[] = { branch, window, prefix, number };
    PGresult *res = pgstore_query(call->pg,
                                  "SELECT EXISTS (SELECT 1 FROM service_window w"
                                  "   JOIN org_node n ON n.id = w.node_id"
                                  "   WHERE n.path = $1::ltree AND w.number = $2::int"
                                  "     AND w.active),"
                                  " EXISTS (SELECT 1 FROM queue q"
                                  "   JOIN org_node n ON n.id = q.node_id"
                                  "   WHERE n.path @> $1::ltree AND q.prefix = $3),"
                                  /* the call's ticket by number among the branch's
                                     last local days (ticket_branch_day_idx), its
                                     events by ticket (ticket_event_ticket_idx): a
                                     ticket called within the day was issued within
                                     two (a day's tickets end with it), and the
                                     branch's other events are never read */
                                  " EXISTS (SELECT 1 FROM org_node b"
                                  "   JOIN ticket t ON t.branch_id = b.id"
                                  "   JOIN ticket_event e ON e.ticket_id = t.id"
                                  "   WHERE b.path = $1::ltree AND t.number = $4"
                                  "     AND t.day >= to_char((now() - interval '2 days')"
                                  "                  AT TIME ZONE b.time_zone, 'YYYYMMDD')::int"
                                  "     AND t.issued_at > now() - interval '2 days'"
                                  "     AND e.at > now() - interval '1 day'"
                                  "     AND e.kind IN ('called', 'recalled')"
                                  "     AND e.window_no = $2::int)",
                                  4, params);
    if (!res)
        return wa_unavailable(call, "database");
    bool has_window = PQgetvalue(res, 0, 0)[0] == 't';
    bool has_queue = PQgetvalue(res, 0, 1)[0] == 't';
    bool called = PQgetvalue(res, 0, 2)[0] == 't';
    PQclear(res);
    if (!has_window)
        return wa_cfg_unprocessable(call, "window", "the branch has no window %d", window_no);
    if (!has_queue)
        return wa_cfg_unprocessable(call, "ticket", "the branch has no queue %s", prefix);
    if (!called)
        return wa_problem(call, MHD_HTTP_NOT_FOUND, "no call of %s to window %d in the "
                          "last day", number, window_no);
    return 0;
}

void wa_announce_audio(wa_call_t *call)
{
    static const char *const allowed[] = { "ticket", "window", "lang", NULL };
    const char *branch = httpd_req_param(call->req, "branch");
    int64_t branch_id;
    long window_no;
    if (wa_ops_node(call, branch, true, &branch_id) != 0 || wa_only_args(call, allowed) != 0)
        return;
    const char *number = httpd_req_arg(call->req, "ticket");
    const char *lang_code = httpd_req_arg(call->req, "lang");
    wa_voice_lang_t lang = WA_VOICE_ZH;
    if (!number || !wa_voicetext_number_valid(number)) {
        wa_invalid_member(call, "ticket", "must be a ticket number: 1 to 3 letters A-Z and "
                          "3 or 4 digits, such as A012");
        return;
    }
    const char *window = httpd_req_arg(call->req, "window");
    size_t digits = window ? strspn(window, "0123456789") : 0;
    window_no = digits >= 1 && digits <= 3 && !window[digits] && window[0] != '0'
                    ? strtol(window, NULL, 10) : 0;
    if (window_no < 1 || window_no > WA_VOICETEXT_WINDOW_MAX) {
        wa_invalid_member(call, "window", "%s: the window number, an integer in 1..%d",
                          window ? "must be" : "is required", WA_VOICETEXT_WINDOW_MAX);
        return;
    }
    if (lang_code && wa_voicetext_lang_of(lang_code, &lang) != 0) {
        wa_invalid_member(call, "lang", "must be zh-CN or en");
        return;
    }
    if (s_known(call, branch, number, (int) window_no) != 0)
        return;
    wa_voice_t *voice = call->config->voice;
    if (!voice) {
        httpd_reply_header(call->reply, "Retry-After", "60");
        wa_problem(call, MHD_HTTP_SERVICE_UNAVAILABLE, "the voice is not configured");
        return;
    }
    char text[WA_VOICETEXT_SIZE];
    if (wa_voicetext_say(number, (int) window_no, lang, text) != 0) {
        wa_problem(call, MHD_HTTP_INTERNAL_SERVER_ERROR, "no words for this call");
        return;
    }
    char *wav;
    size_t len;
    bool cached;
    int rc = wa_voice_audio(voice, lang, text, &wav, &len, &cached);
    if (rc != WA_VOICE_OK) {
        bool failed = rc == WA_VOICE_FAILED;
        log_warn("voice_refused", "branch=%s ticket=%s window=%d lang=%s reason=%s", branch,
                 number, (int) window_no, wa_voicetext_lang_code(lang),
                 failed ? "failed" : rc == WA_VOICE_BUSY ? "busy" : "late");
        if (!failed)
            httpd_reply_header(call->reply, "Retry-After", S_RETRY_AFTER);
        wa_problem(call, failed ? MHD_HTTP_INTERNAL_SERVER_ERROR : MHD_HTTP_SERVICE_UNAVAILABLE,
                   "%s", failed ? "the voice could not say it (see the service's log)"
                                : "the voice is busy: try again in a few seconds");
        return;
    }
    log_debug("voice_served", "branch=%s ticket=%s window=%d lang=%s cached=%d bytes=%zu",
              branch, number, (int) window_no, wa_voicetext_lang_code(lang), cached, len);
    /* the same words are the same bytes: kept by the device for a day */
    httpd_reply_header(call->reply, "Cache-Control", "private, max-age=86400");
    call->reply->identity = true;
    httpd_reply_bytes(call->reply, MHD_HTTP_OK, "audio/wav", &wav, len);
}
