/*  board: the STM32F103C8 rating-device board: pin map, clocks, time, IDs.
 *
 *  Every pin of the board is named here, so a different wiring is a change
 *  of this file only (firmware/README.md has the same table). Settings that
 *  vary between builds of one board can be given with -D (FW_DEFS in
 *  port.mk): BOARD_RATING_KEYS, BOARD_USB_PULLUP_*, BOARD_VOICE_VOLUME.
 */
#ifndef EQMS_BOARD_H
#define EQMS_BOARD_H

#include <stdbool.h>
#include <stdint.h>

#include "stm32f103.h"

/* A pin: its GPIO port base and number 0..15. */
typedef struct {
    uint32_t port;
    uint8_t pin;
} board_pin_t;

#define BOARD_SYSCLK_HZ 72000000u

/* --- pin map ---------------------------------------------------------------
 *  PA11/PA12  USB D-/D+ (the USB cell takes them; nothing to configure)
 *  PA13/PA14  SWD (JTAG is switched off to free PA15, PB3, PB4)
 */
/* ST7920 LCD, serial mode (PSB tied low): CS (RS pin), SID (RW pin),
 * SCLK (E pin). On the SPI1 pins, so a later SPI1 driver needs no rewiring. */
#define BOARD_LCD_CS    { GPIOA_BASE, 4 }
#define BOARD_LCD_SCLK  { GPIOA_BASE, 5 }
#define BOARD_LCD_SID   { GPIOA_BASE, 7 }

/* Voice module: USART1 TX on PA9 (to the module's RX), 9600 8N1. */
#define BOARD_VOICE_TX  { GPIOA_BASE, 9 }
#ifndef BOARD_VOICE_VOLUME
#define BOARD_VOICE_VOLUME 24           /* JQ8900 volume 0..30 */
#endif

/* Teller keypad, 4 rows x 5 columns: rows are open-drain outputs driven low
 * one at a time, columns are inputs with pull-ups. */
#define BOARD_KP_ROWS   { { GPIOB_BASE, 12 }, { GPIOB_BASE, 13 }, \
                          { GPIOB_BASE, 14 }, { GPIOB_BASE, 15 } }
#define BOARD_KP_COLS   { { GPIOB_BASE, 3 }, { GPIOB_BASE, 4 }, { GPIOB_BASE, 5 }, \
                          { GPIOB_BASE, 6 }, { GPIOB_BASE, 7 } }

/* Customer rating keys 1..6 (left to right): to ground, internal pull-ups. */
#define BOARD_RATE_KEYS { { GPIOA_BASE, 0 }, { GPIOA_BASE, 1 }, { GPIOA_BASE, 2 }, \
                          { GPIOA_BASE, 3 }, { GPIOA_BASE, 6 }, { GPIOA_BASE, 15 } }
#ifndef BOARD_RATING_KEYS
#define BOARD_RATING_KEYS 6             /* keys fitted, 2..6 */
#endif

/* Star LEDs 1..5, push-pull; BOARD_STAR_ACTIVE_HIGH 1 = LED to ground. */
#define BOARD_STARS     { { GPIOB_BASE, 0 }, { GPIOB_BASE, 1 }, { GPIOB_BASE, 10 }, \
                          { GPIOB_BASE, 11 }, { GPIOA_BASE, 8 } }
#ifndef BOARD_STAR_ACTIVE_HIGH
#define BOARD_STAR_ACTIVE_HIGH 1
#endif

/* Status LED (the blue pill's PC13, active low): on while USB is configured. */
#define BOARD_STATUS_LED { GPIOC_BASE, 13 }

/* USB D+ pull-up. The common "blue pill" has a fixed resistor from D+ to
 * 3.3 V: leave BOARD_USB_PULLUP_PIN undefined and the port forces a
 * re-enumeration at boot by holding D+ low for 10 ms. A board with a
 * switched pull-up (transistor or 1.5k to a GPIO) defines the pin and its
 * active level, e.g. -DBOARD_USB_PULLUP_PORT=GPIOB_BASE
 * -DBOARD_USB_PULLUP_PIN=9 -DBOARD_USB_PULLUP_ACTIVE_HIGH=1. */
#define BOARD_USB_DP    { GPIOA_BASE, 12 }
#if defined(BOARD_USB_PULLUP_PIN) && !defined(BOARD_USB_PULLUP_PORT)
#define BOARD_USB_PULLUP_PORT GPIOB_BASE
#endif
#ifndef BOARD_USB_PULLUP_ACTIVE_HIGH
#define BOARD_USB_PULLUP_ACTIVE_HIGH 1
#endif

/* --- serial/config record ---------------------------------------------------
 *  The last 1 KB flash page (0x0800FC00) is kept out of the image by the
 *  linker script and holds, when programmed at production:
 *    0   4  magic "EQSN"
 *    4   1  version 1
 *    5   1  n: serial length 1..32
 *    6   2  0
 *    8  32  serial, ASCII [A-Za-z0-9-], zero-padded
 *    40  4  CRC-32 (zlib/IEEE, little-endian) of bytes 0..39
 *  Anything else (a blank page reads 0xFF) means "no record".
 */
#define BOARD_CONFIG_PAGE   0x0800FC00u
#define BOARD_SERIAL_MAX    32

/* Clocks (HSE 8 MHz -> PLL x9 = 72 MHz, USB 48 MHz, APB1 36 MHz), flash
 * wait states, SysTick 1 ms, DWT cycle counter, GPIO clocks, SWD-only.
 * Falls back to HSI (no USB) if the crystal does not start. */
void board_init(void);

/* True when the crystal started and the USB cell has its 48 MHz. */
bool board_usb_clock_ok(void);

/* The CPU (and APB2) clock: 72 MHz, or 8 MHz on the HSI fallback. */
uint32_t board_sysclk_hz(void);

/* Milliseconds since boot (wraps after 49 days). */
uint32_t board_millis(void);

/* Busy-waits `us` microseconds (DWT cycle counter). */
void board_delay_us(uint32_t us);

/* Pin helpers. `mode` is a GPIO_MODE_* value. */
void board_pin_mode(board_pin_t p, uint32_t mode);
void board_pin_write(board_pin_t p, bool high);
bool board_pin_read(board_pin_t p);

/* Writes this device's USB serial number, NUL-terminated, into `out`
 * (BOARD_SERIAL_MAX + 1 bytes): the flash record, else "EQ-" and the 96-bit
 * unique ID in hex. Returns its length. */
int board_serial(char out[BOARD_SERIAL_MAX + 1]);

/* A random id for this power-up: the unique ID mixed with ADC noise of the
 * temperature sensor and the SysTick phase. Never 0. */
uint32_t board_boot_id(void);

/* Star LEDs: lights the first `count` (0..5). */
void board_stars(uint8_t count);

/* The status LED. */
void board_status_led(bool on);

/* Resets the chip (used by fault handlers). */
void board_reset(void) __attribute__((noreturn));

/* CRC-32 (zlib/IEEE 802.3), exposed for the serial record. */
uint32_t board_crc32(const uint8_t *data, uint32_t len);

#endif
