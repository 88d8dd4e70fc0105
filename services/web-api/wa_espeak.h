/*  wa_espeak: espeak-ng (libespeak-ng) as the hall voice's engine
 *  (wa_voice_engine_t).
 *
 *  Chinese is espeak-ng's Mandarin (language cmn) in its variant
 *  `cmn-latn-pinyin`: the same phonemes and dictionary as the voice `cmn`,
 *  but with Latin text read as pinyin. The dictionary turns most characters
 *  into pinyin with a tone number ("请" -> qing3), and the plain `cmn`
 *  voice of espeak-ng 1.51 (Debian 12) then reads that pinyin as English
 *  ("king three"; espeak-ng issue #1236). A single capital letter is read
 *  as its letter name by both. English is `en-us`. Speed 150 words a
 *  minute (espeak-ng's default is 175): a hall is noisy.
 *
 *  espeak-ng keeps its state in the process: one engine may be open at a
 *  time (a second open fails), used by one thread at a time (wa_voice's).
 *  espeak-ng itself is set up by the first open and ended at the process's
 *  exit, never in between: espeak-ng 1.51 hangs in espeak_ng_Terminate
 *  once it was set up again after a first terminate. Its data comes from
 *  the package's directory, or ESPEAK_DATA_PATH.
 */
#ifndef EQMS_WA_ESPEAK_H
#define EQMS_WA_ESPEAK_H

#include "wa_voice.h"

#define WA_ESPEAK_VOICE_ZH "cmn-latn-pinyin"
#define WA_ESPEAK_VOICE_EN "en-us"
#define WA_ESPEAK_RATE     150
#define WA_ESPEAK_MAX_S    30       /* a longer synthesis is cut off and fails */

/* Sets espeak-ng up (synchronous output, no sound device) unless it was
 * already, and fills `engine`; its `close` lets the next open have it.
 * 0, or -1 (logged) when it is open already or its data or voices are
 * missing. */
int wa_espeak_open(wa_voice_engine_t *engine);

#endif
