/*  st7920: the ST7920 128x64 LCD (4 lines x 16 half-width cells, built-in
 *  GB2312 font) in serial mode, bit-banged on three pins (board.h).
 *
 *  Lines are kept in a shadow buffer: st7920_line() only records the text
 *  and st7920_step() sends one byte of a changed line (about 90 us), so the
 *  main loop can serve USB between bytes (SET_ADDRESS leaves the device
 *  only 2 ms). A whole screen takes 68 steps.
 */
#ifndef EQMS_ST7920_H
#define EQMS_ST7920_H

#include <stdbool.h>
#include <stdint.h>

#define ST7920_LINES      4
#define ST7920_LINE_BYTES 16

/* Configures the pins and runs the power-on sequence (waits 50 ms for the
 * controller, then function set, display on, clear, entry mode). */
void st7920_init(void);

/* Sets line 0..3 to `len` bytes of ASCII/GB2312. A double-byte character
 * that would start on an odd cell is moved right by a space (the ST7920
 * shows Chinese only on even cells); the rest is cut or space-padded to 16
 * bytes. Bytes that are neither printable ASCII nor a GB2312 pair show '?'. */
void st7920_line(uint8_t line, const uint8_t *text, uint8_t len);

/* True while changed text is waiting to be written. */
bool st7920_busy(void);

/* Sends the next byte of changed text (a row's DDRAM address, then its 16
 * bytes); does nothing when there is none. A line changed while being
 * written is written again from its start. */
void st7920_step(void);

#endif
