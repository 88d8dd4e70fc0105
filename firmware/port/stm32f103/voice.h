/*  voice: a JQ8900-class voice module on USART1 TX (9600 8N1).
 *
 *  Frame (JQ8900 "one-wire/UART" protocol): 0xAA, command, data length,
 *  data..., checksum = low 8 bits of the sum of all bytes before it.
 *    play track N  AA 07 02 NH NL SM   (N = 1..65535, file 0000N.mp3)
 *    set volume V  AA 13 01 V  SM      (V = 0..30)
 *    stop          AA 04 00 AE
 *  e.g. play track 1 = AA 07 02 00 01 B4. A new play command cuts the
 *  track that is playing. Prompt n of devproto_prompt_t is track n.
 *  Bytes go out from a small queue fed by voice_poll(), never blocking.
 */
#ifndef EQMS_VOICE_H
#define EQMS_VOICE_H

#include <stdint.h>

/* Configures USART1 and PA9 and queues the volume command. */
void voice_init(uint8_t volume);

/* Queues "play track `track`"; frames that have not started yet are dropped
 * first (the newest prompt wins). Track 0 stops playback. */
void voice_play(uint16_t track);

/* Moves the next queued byte to the UART when it is free; call often
 * (every millisecond is enough: one byte takes 1.04 ms at 9600 baud). */
void voice_poll(void);

#endif
