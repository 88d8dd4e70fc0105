/*  voice: JQ8900-class voice module over USART1 (see voice.h). */
#include "voice.h"

#include <stddef.h>

#include "board.h"

#define VOICE_BAUD 9600u
#define FRAME_MAX  6

/* Slot 0: the volume command (sent first); slots 1 and 2: play/stop,
 * one being sent while the other waits. */
static struct {
    uint8_t frame[3][FRAME_MAX];
    uint8_t len[3];
    uint8_t pos[3];                 /* pos == len: nothing left to send */
    int8_t sending;                 /* slot on the wire, -1 none */
} s_voice;

static uint8_t s_frame(uint8_t *f, uint8_t cmd, const uint8_t *data, uint8_t n)
{
    uint8_t sum = 0xAA + cmd + n;
    f[0] = 0xAA;
    f[1] = cmd;
    f[2] = n;
    for (uint8_t i = 0; i < n; i++) {
        f[3 + i] = data[i];
        sum += data[i];
    }
    f[3 + n] = sum;
    return (uint8_t)(4 + n);
}

void voice_init(uint8_t volume)
{
    const board_pin_t tx = BOARD_VOICE_TX;
    RCC_APB2ENR |= RCC_APB2ENR_USART1EN;
    board_pin_mode(tx, GPIO_MODE_AF_PP_2);
    /* USART1 is on APB2 = SYSCLK; BRR is the divider in 1/16ths. */
    USART1_BRR = (board_sysclk_hz() + VOICE_BAUD / 2) / VOICE_BAUD;
    USART1_CR1 = USART_CR1_UE | USART_CR1_TE;      /* 8N1, transmit only */
    s_voice.sending = -1;
    if (volume > 30)
        volume = 30;
    s_voice.len[0] = s_frame(s_voice.frame[0], 0x13, &volume, 1);
    s_voice.pos[0] = 0;
}

void voice_play(uint16_t track)
{
    int8_t slot = s_voice.sending == 1 ? 2 : 1;
    int8_t other = (int8_t)(3 - slot);
    if (s_voice.sending != other)   /* not started yet: the newest wins */
        s_voice.pos[other] = s_voice.len[other];
    uint8_t *f = s_voice.frame[slot];
    if (track == 0) {
        s_voice.len[slot] = s_frame(f, 0x04, NULL, 0);
    } else {
        uint8_t n[2] = { (uint8_t)(track >> 8), (uint8_t)track };
        s_voice.len[slot] = s_frame(f, 0x07, n, 2);
    }
    s_voice.pos[slot] = 0;
}

void voice_poll(void)
{
    if (!(USART1_SR & USART_SR_TXE))
        return;
    if (s_voice.sending < 0) {
        for (int8_t i = 0; i < 3; i++)
            if (s_voice.pos[i] < s_voice.len[i]) {
                s_voice.sending = i;
                break;
            }
        if (s_voice.sending < 0)
            return;
    }
    int8_t i = s_voice.sending;
    USART1_DR = s_voice.frame[i][s_voice.pos[i]++];
    if (s_voice.pos[i] >= s_voice.len[i])
        s_voice.sending = -1;
}
