/*  wa_announce: the hall's announcements as audio, for the hall display
 *  (docs/voice.md, docs/openapi.yaml):
 *
 *    GET /branches/{branch}/announcements/audio?ticket=A012&window=3[&lang=en]
 *
 *  view_live_hall on the branch (the display's device token has it); 404
 *  outside the caller's subtree. What is said comes from the ticket number
 *  and the window number alone, checked strictly (wa_voicetext), never from
 *  text a client sends: 400 naming the argument when one is malformed,
 *  422 naming it when the branch has no such window (active) or no queue
 *  of that prefix. The answer is audio/wav with Content-Length, an ETag
 *  (httpd's, of the bytes: the same sentence has the same tag) and
 *  Cache-Control: private, max-age=86400; 503 with Retry-After when the
 *  voice is busy (wa_voice.h) or not configured.
 */
#ifndef EQMS_WA_ANNOUNCE_H
#define EQMS_WA_ANNOUNCE_H

#include "wa.h"

void wa_announce_audio(wa_call_t *call);

#endif
