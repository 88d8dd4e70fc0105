/*  keypad: teller key matrix and rating keys (see keypad.h). */
#include "keypad.h"

#include "board.h"

#define ROWS 4
#define COLS 5
#define NONE 0xFF

static const board_pin_t s_rows[ROWS] = BOARD_KP_ROWS;
static const board_pin_t s_cols[COLS] = BOARD_KP_COLS;
static const board_pin_t s_rate[DEVPROTO_KEYS_MAX] = BOARD_RATE_KEYS;

static const uint8_t s_map[ROWS][COLS] = {
    { DEVCORE_KEY_0 + 1, DEVCORE_KEY_0 + 2, DEVCORE_KEY_0 + 3, DEVCORE_KEY_LOGIN, DEVCORE_KEY_CALL },
    { DEVCORE_KEY_0 + 4, DEVCORE_KEY_0 + 5, DEVCORE_KEY_0 + 6, DEVCORE_KEY_START, DEVCORE_KEY_END },
    { DEVCORE_KEY_0 + 7, DEVCORE_KEY_0 + 8, DEVCORE_KEY_0 + 9, DEVCORE_KEY_RECALL, DEVCORE_KEY_PAUSE },
    { NONE,              DEVCORE_KEY_0,     NONE,              DEVCORE_KEY_OK,     NONE },
};

_Static_assert(DEVCORE_KEY_COUNT <= 32, "key levels are kept in one 32-bit mask");

static uint32_t s_levels;           /* bit k: key k held at the last scan */
static uint8_t s_rating_keys;

void keypad_init(uint8_t rating_keys)
{
    s_rating_keys = rating_keys > DEVPROTO_KEYS_MAX ? DEVPROTO_KEYS_MAX : rating_keys;
    for (int r = 0; r < ROWS; r++) {
        board_pin_write(s_rows[r], true);           /* open drain: released */
        board_pin_mode(s_rows[r], GPIO_MODE_OUT_OD_2);
    }
    for (int c = 0; c < COLS; c++) {
        board_pin_write(s_cols[c], true);           /* pull-up */
        board_pin_mode(s_cols[c], GPIO_MODE_IN_PULL);
    }
    for (int k = 0; k < DEVPROTO_KEYS_MAX; k++) {
        board_pin_write(s_rate[k], true);
        board_pin_mode(s_rate[k], GPIO_MODE_IN_PULL);
    }
    s_levels = 0;
}

void keypad_scan(keypad_fn *fn, void *ctx)
{
    uint32_t now = 0;
    for (int r = 0; r < ROWS; r++) {
        board_pin_write(s_rows[r], false);
        board_delay_us(5);          /* internal pull-ups (~40k) recharge the column */
        for (int c = 0; c < COLS; c++)
            if (s_map[r][c] != NONE && !board_pin_read(s_cols[c]))
                now |= 1u << s_map[r][c];
        board_pin_write(s_rows[r], true);
    }
    for (int k = 0; k < s_rating_keys; k++)
        if (!board_pin_read(s_rate[k]))
            now |= 1u << (DEVCORE_KEY_RATE1 + k);

    uint32_t changed = now ^ s_levels;
    s_levels = now;
    for (int k = 0; changed; k++, changed >>= 1)
        if (changed & 1u)
            fn(ctx, (devcore_key_t)k, (now >> k) & 1u);
}
