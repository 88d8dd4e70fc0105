/*  main: the STM32F103C8 rating device: wires the board drivers to the
 *  portable core (firmware/core/devcore.h) and runs the main loop.
 *
 *  Everything runs in the main loop, one caller for the core as devcore.h
 *  requires: every millisecond it scans the keys and ticks the core; every
 *  pass polls USB and feeds the voice UART and sends at most one LCD byte,
 *  so no pass takes more than about 0.1 ms and USB is served within the
 *  2 ms SET_ADDRESS leaves. With nothing to do it sleeps in WFI; the
 *  interrupts (SysTick, USB) only count time and wake the CPU.
 */
#include <stdbool.h>
#include <stdint.h>

#include "board.h"
#include "devcore.h"
#include "keypad.h"
#include "st7920.h"
#include "usbdev.h"
#include "voice.h"

_Static_assert(BOARD_RATING_KEYS >= 2 && BOARD_RATING_KEYS <= DEVPROTO_KEYS_MAX,
               "BOARD_RATING_KEYS must be 2..6");

#define BOARD_CAPS (DEVPROTO_CAP_LCD | DEVPROTO_CAP_VOICE | DEVPROTO_CAP_STARS \
                    | DEVPROTO_CAP_KEYPAD)

static devcore_t s_core;

/* --- calls down from the core ------------------------------------------- */
static void s_lcd_line(void *ctx, uint8_t line, const uint8_t *text, uint8_t len)
{
    (void)ctx;
    st7920_line(line, text, len);
}

static void s_stars(void *ctx, uint8_t count)
{
    (void)ctx;
    board_stars(count);
}

static void s_voice(void *ctx, uint8_t prompt)
{
    (void)ctx;
    voice_play(prompt);
}

static int s_usb_send(void *ctx, const uint8_t report[DEVPROTO_REPORT_SIZE])
{
    (void)ctx;
    return usbdev_send(report);
}

/* --- events up to the core ---------------------------------------------- */
static void s_key(void *ctx, devcore_key_t key, bool pressed)
{
    (void)ctx;
    devcore_key(&s_core, key, pressed, board_millis());
}

static void s_usb_online(void *ctx, bool online)
{
    (void)ctx;
    devcore_usb_connected(&s_core, online, board_millis());
}

static void s_usb_out(void *ctx, const uint8_t *report, uint32_t len)
{
    (void)ctx;
    devcore_usb_out(&s_core, report, len, board_millis());
}

int main(void)
{
    board_init();
    st7920_init();
    voice_init(BOARD_VOICE_VOLUME);
    keypad_init(BOARD_RATING_KEYS);

    static const devcore_board_t calls = {
        .ctx = NULL,
        .lcd_line = s_lcd_line,
        .stars = s_stars,
        .voice = s_voice,
        .usb_send = s_usb_send,
    };
    devcore_init(&s_core, &calls, board_boot_id(), BOARD_RATING_KEYS, BOARD_CAPS,
                 board_millis());

    /* Without the crystal there is no USB clock: the device still runs
     * standalone and keeps every event in its ring. */
    bool usb = board_usb_clock_ok();
    if (usb) {
        static char serial[BOARD_SERIAL_MAX + 1];
        board_serial(serial);
        static const usbdev_events_t events = {
            .ctx = NULL,
            .online = s_usb_online,
            .out_report = s_usb_out,
        };
        usbdev_init(&events, serial);
    }

    uint32_t last = board_millis();
    for (;;) {
        uint32_t now = board_millis();
        if (now != last) {
            last = now;
            keypad_scan(s_key, NULL);
            devcore_tick(&s_core, now);
        }
        if (usb)
            usbdev_poll();
        voice_poll();
        if (st7920_busy()) {        /* one LCD byte per pass, USB in between */
            st7920_step();
            continue;
        }

        /* Sleep until the next tick or USB event. WFI wakes on a pending
         * interrupt even with interrupts masked, so nothing is missed
         * between the check and the sleep. */
        cpu_irq_disable();
        if (board_millis() == last && !(usb && usbdev_wake_pending()))
            cpu_wfi();
        cpu_irq_enable();
    }
}
