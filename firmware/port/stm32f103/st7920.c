/*  st7920: ST7920 LCD in serial mode (see st7920.h).
 *
 *  Serial protocol (ST7920 datasheet, "serial interface"): with CS high,
 *  each byte is sent as three bytes on SID, MSB first, latched on the rising
 *  edge of SCLK: a sync byte 11111 RW RS 0 (0xF8 instruction, 0xFA data),
 *  then the high nibble and the low nibble, each in the upper four bits.
 *  An instruction takes 72 us (clear 1.6 ms); one transfer takes about
 *  50 us here, so 40 us after each keeps well inside that.
 */
#include "st7920.h"

#include <string.h>

#include "board.h"

static const uint8_t s_row_addr[ST7920_LINES] = { 0x80, 0x90, 0x88, 0x98 };

static struct {
    uint8_t text[ST7920_LINES][ST7920_LINE_BYTES];
    uint8_t dirty;                  /* bit per line still to write */
    int8_t line;                    /* line being written, -1 none */
    uint8_t pos;                    /* 0: its DDRAM address next, n: byte n-1 */
} s_lcd;

static const board_pin_t s_cs = BOARD_LCD_CS;
static const board_pin_t s_sclk = BOARD_LCD_SCLK;
static const board_pin_t s_sid = BOARD_LCD_SID;

static void s_shift(uint8_t b)
{
    for (int bit = 7; bit >= 0; bit--) {
        board_pin_write(s_sid, (b >> bit) & 1u);
        board_delay_us(1);
        board_pin_write(s_sclk, true);
        board_delay_us(1);
        board_pin_write(s_sclk, false);
    }
}

static void s_write(bool data, uint8_t v, uint32_t wait_us)
{
    board_pin_write(s_cs, true);
    s_shift(data ? 0xFA : 0xF8);
    s_shift(v & 0xF0u);
    s_shift((uint8_t)(v << 4));
    board_pin_write(s_cs, false);
    board_delay_us(wait_us);
}

void st7920_init(void)
{
    board_pin_write(s_cs, false);
    board_pin_write(s_sclk, false);
    board_pin_write(s_sid, false);
    board_pin_mode(s_cs, GPIO_MODE_OUT_PP_2);
    board_pin_mode(s_sclk, GPIO_MODE_OUT_PP_2);
    board_pin_mode(s_sid, GPIO_MODE_OUT_PP_2);

    board_delay_us(50000);          /* > 40 ms after power-on */
    s_write(false, 0x30, 100);      /* function set: 8-bit, basic instructions */
    s_write(false, 0x30, 40);
    s_write(false, 0x0C, 100);      /* display on, cursor and blink off */
    s_write(false, 0x01, 10000);    /* clear (1.6 ms; generous) */
    s_write(false, 0x06, 80);       /* entry mode: address increments */
    memset(s_lcd.text, ' ', sizeof s_lcd.text);
    s_lcd.dirty = 0;
    s_lcd.line = -1;
}

static bool s_gb(uint8_t c)
{
    return c >= 0xA1 && c <= 0xFE;
}

void st7920_line(uint8_t line, const uint8_t *text, uint8_t len)
{
    if (line >= ST7920_LINES)
        return;
    uint8_t out[ST7920_LINE_BYTES];
    uint8_t n = 0;
    for (uint8_t i = 0; i < len && n < ST7920_LINE_BYTES; ) {
        uint8_t c = text[i];
        if (s_gb(c) && i + 1 < len && s_gb(text[i + 1])) {
            if (n & 1u)
                out[n++] = ' ';
            if (n + 2 > ST7920_LINE_BYTES)
                break;
            out[n++] = c;
            out[n++] = text[i + 1];
            i += 2;
        } else {
            out[n++] = (c >= 0x20 && c < 0x7F) ? c : '?';
            i++;
        }
    }
    while (n < ST7920_LINE_BYTES)
        out[n++] = ' ';
    if (memcmp(out, s_lcd.text[line], sizeof out) != 0) {
        memcpy(s_lcd.text[line], out, sizeof out);
        s_lcd.dirty |= (uint8_t)(1u << line);
    }
}

bool st7920_busy(void)
{
    return s_lcd.line >= 0 || s_lcd.dirty != 0;
}

void st7920_step(void)
{
    if (s_lcd.line < 0) {
        if (!s_lcd.dirty)
            return;
        int8_t line = 0;
        while (!(s_lcd.dirty & (1u << line)))
            line++;
        s_lcd.dirty &= (uint8_t)~(1u << line);
        s_lcd.line = line;
        s_lcd.pos = 0;
    }
    if (s_lcd.pos == 0)
        s_write(false, s_row_addr[s_lcd.line], 40);     /* DDRAM address of the row */
    else
        s_write(true, s_lcd.text[s_lcd.line][s_lcd.pos - 1], 40);
    if (++s_lcd.pos > ST7920_LINE_BYTES)
        s_lcd.line = -1;
}
