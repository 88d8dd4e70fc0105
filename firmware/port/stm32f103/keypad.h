/*  keypad: the teller's 4x5 key matrix and the customer's rating keys.
 *
 *  Reports raw level changes (bounces included) as devcore_key_t; the core
 *  debounces. Matrix layout (row by row, columns left to right):
 *      1      2      3      Login   Call
 *      4      5      6      Start   End
 *      7      8      9      Recall  Pause
 *      -      0      -      OK      -
 *  No diodes: pressing three keys at the corners of a rectangle can show a
 *  fourth (ghost) key; tellers press one key at a time.
 */
#ifndef EQMS_KEYPAD_H
#define EQMS_KEYPAD_H

#include <stdbool.h>

#include "devcore.h"

typedef void (keypad_fn)(void *ctx, devcore_key_t key, bool pressed);

/* Configures row, column and rating-key pins. `rating_keys` (1..6) is how
 * many rating keys are fitted; the others are never reported. */
void keypad_init(uint8_t rating_keys);

/* Scans every key once (about 30 us) and calls `fn` for each key whose
 * level differs from the previous scan. */
void keypad_scan(keypad_fn *fn, void *ctx);

#endif
