/*  usbsim: usbdev.c on the host, against a model of the STM32F1 USB cell.
 *
 *  `make firmware-usbsim` builds usbdev.c with a generated stm32f103.h
 *  (fake_regs.py) whose registers live in memory and whose EPnR/ISTR
 *  accessors model the hardware's write semantics (CTR bits cleared by
 *  writing 0, DTOG/STAT toggled by writing 1). The "host" below places
 *  SETUP and OUT packets in packet memory and takes IN packets as the cell
 *  would, then lets usbdev_poll() react, and checks what a USB host would
 *  see: enumeration with SET_ADDRESS, descriptors (multi-packet, ZLP, cut
 *  to wLength), STALL of unsupported or malformed requests, HID class
 *  requests, interrupt IN busy/-1 and OUT delivery, endpoint halt,
 *  suspend/resume and bus reset. It is a model written from RM0008, not
 *  the silicon: timing, electrical behaviour and errata are not covered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <assert.h>

#include "board.h"
#include "usbdev.h"

uint8_t sim_pma[1024];
static struct { uint32_t addr, val; } regs[64];
static int nregs;
volatile uint32_t *sim_reg(uint32_t addr) {
    for (int i = 0; i < nregs; i++) if (regs[i].addr == addr) return &regs[i].val;
    assert(nregs < 64);
    regs[nregs].addr = addr; regs[nregs].val = 0; return &regs[nregs++].val;
}
static uint32_t epr[8], istr_flags;
uint32_t usb_epr_read(uint32_t n) { return epr[n]; }
void usb_epr_write(uint32_t n, uint32_t v) {
    uint32_t o = epr[n], r = o;
    r = (r & ~USB_EP_RW_BITS) | (v & USB_EP_RW_BITS);
    if (!(v & USB_EP_CTR_RX)) r &= ~USB_EP_CTR_RX;
    if (!(v & USB_EP_CTR_TX)) r &= ~USB_EP_CTR_TX;
    r ^= v & (USB_EP_DTOG_RX | USB_EP_DTOG_TX | USB_EP_STAT_RX | USB_EP_STAT_TX);
    epr[n] = r;
}
uint32_t usb_istr_read(void) {
    uint32_t v = istr_flags & 0x7F00;
    for (int n = 0; n < 8; n++)
        if (epr[n] & (USB_EP_CTR_RX | USB_EP_CTR_TX)) {
            v |= USB_ISTR_CTR | n | ((epr[n] & USB_EP_CTR_RX) ? USB_ISTR_DIR : 0);
            break;
        }
    return v;
}
void usb_istr_write(uint32_t v) { istr_flags &= (v | ~0x7F00u); }

/* board stubs */
void board_pin_mode(board_pin_t p, uint32_t mode) { (void)p; (void)mode; }
void board_pin_write(board_pin_t p, bool high) { (void)p; (void)high; }
void board_delay_us(uint32_t us) { (void)us; }
static int led;
void board_status_led(bool on) { led = on; }

/* PMA as the cell sees it */
static uint16_t pma_hw(uint32_t off) { return (uint16_t)(sim_pma[off * 2] | sim_pma[off * 2 + 1] << 8); }
static void pma_hw_set(uint32_t off, uint16_t v) { sim_pma[off * 2] = (uint8_t)v; sim_pma[off * 2 + 1] = v >> 8; }
static uint8_t pma_b(uint32_t off) { uint16_t w = pma_hw(off & ~1u); return (off & 1) ? w >> 8 : w & 0xFF; }
static void pma_b_set(uint32_t off, uint8_t b) {
    uint16_t w = pma_hw(off & ~1u);
    w = (off & 1) ? (uint16_t)((w & 0xFF) | b << 8) : (uint16_t)((w & 0xFF00) | b);
    pma_hw_set(off & ~1u, w);
}
static uint32_t bt(uint32_t ep, uint32_t i) { return pma_hw(*sim_reg(USB_BASE + 0x50) + 8 * ep + 2 * i); }
static uint32_t stat_tx(int ep) { return (epr[ep] >> 4) & 3; }
static uint32_t stat_rx(int ep) { return (epr[ep] >> 12) & 3; }

static int addr_now(void) { uint32_t d = *sim_reg(USB_BASE + 0x4C); return (d & 0x80) ? (int)(d & 0x7F) : -1; }

enum { ACK = 0, NAK = -1, STALL = -2 };
static int host_addr;
static int check_addr(int ep) {
    if (addr_now() != host_addr) { printf("address mismatch dev=%d host=%d\n", addr_now(), host_addr); exit(1); }
    if ((int)(epr[ep] & 0xF) != ep) { printf("EA mismatch ep%d\n", ep); exit(1); }
    return 0;
}
static void setup(const uint8_t s[8]) {
    check_addr(0);
    uint32_t a = bt(0, 2);
    for (int i = 0; i < 8; i++) pma_b_set(a + i, s[i]);
    uint32_t cnt = bt(0, 3);
    pma_hw_set(*sim_reg(USB_BASE + 0x50) + 6, (uint16_t)((cnt & 0xFC00) | 8));
    epr[0] |= USB_EP_CTR_RX | USB_EP_SETUP;
    epr[0] = (epr[0] & ~USB_EP_STAT_RX) | (USB_STAT_NAK << 12);
    epr[0] = (epr[0] & ~USB_EP_STAT_TX) | (USB_STAT_NAK << 4);
    usbdev_poll();
}
static int in(int ep, uint8_t *buf) {
    check_addr(ep);
    uint32_t st = stat_tx(ep);
    if (st == USB_STAT_STALL) return STALL;
    if (st != USB_STAT_VALID) return NAK;
    uint32_t a = bt(ep, 0), n = bt(ep, 1) & 0x3FF;
    for (uint32_t i = 0; i < n; i++) buf[i] = pma_b(a + i);
    epr[ep] = (epr[ep] & ~USB_EP_STAT_TX) | (USB_STAT_NAK << 4) | USB_EP_CTR_TX;
    epr[ep] ^= USB_EP_DTOG_TX;
    usbdev_poll();
    return (int)n;
}
static int out(int ep, const uint8_t *buf, uint32_t n) {
    check_addr(ep);
    uint32_t st = stat_rx(ep);
    if (st == USB_STAT_STALL) return STALL;
    if (st != USB_STAT_VALID) return NAK;
    uint32_t cnt = bt(ep, 3);
    uint32_t size = (cnt & 0x8000) ? 32 * (((cnt >> 10) & 31) + 1) : 2 * ((cnt >> 10) & 31);
    assert(n <= size);
    uint32_t a = bt(ep, 2);
    for (uint32_t i = 0; i < n; i++) pma_b_set(a + i, buf[i]);
    pma_hw_set(*sim_reg(USB_BASE + 0x50) + 8 * ep + 6, (uint16_t)((cnt & 0xFC00) | n));
    epr[ep] = (epr[ep] & ~(USB_EP_STAT_RX | USB_EP_SETUP)) | (USB_STAT_NAK << 12) | USB_EP_CTR_RX;
    epr[ep] ^= USB_EP_DTOG_RX;
    usbdev_poll();
    return ACK;
}
static void mk(uint8_t *s, uint8_t bm, uint8_t req, uint16_t val, uint16_t idx, uint16_t len) {
    s[0] = bm; s[1] = req; s[2] = val & 0xFF; s[3] = val >> 8; s[4] = idx & 0xFF; s[5] = idx >> 8; s[6] = len & 0xFF; s[7] = len >> 8;
}
static int packets;
/* control read: returns bytes, or STALL */
static int ctl_in(uint8_t bm, uint8_t req, uint16_t val, uint16_t idx, uint16_t len, uint8_t *buf) {
    uint8_t s[8]; mk(s, bm, req, val, idx, len); setup(s);
    int got = 0; packets = 0;
    for (;;) {
        uint8_t p[64]; int n = in(0, p);
        if (n == STALL) return STALL;
        if (n == NAK) { printf("NAK in data stage\n"); exit(1); }
        packets++;
        memcpy(buf + got, p, (size_t)n); got += n;
        if (n < 64 || got >= len) break;
    }
    if (out(0, NULL, 0) != ACK) { printf("status out not accepted\n"); exit(1); }
    return got;
}
static int ctl_nodata(uint8_t bm, uint8_t req, uint16_t val, uint16_t idx) {
    uint8_t s[8]; mk(s, bm, req, val, idx, 0); setup(s);
    uint8_t p[64]; int n = in(0, p);
    return n;   /* 0 = ZLP status ok */
}
static int ctl_out(uint8_t bm, uint8_t req, uint16_t val, uint16_t idx, const uint8_t *d, uint16_t len) {
    uint8_t s[8]; mk(s, bm, req, val, idx, len); setup(s);
    for (uint16_t o = 0; o < len; o += 64) {
        int r = out(0, d + o, len - o > 64 ? 64 : len - o);
        if (r != ACK) return r;
    }
    uint8_t p[64]; return in(0, p);
}

static int online_calls, online_state, outs; static uint8_t out_last[64]; static uint32_t out_len;
static void ev_online(void *c, bool on) { (void)c; online_calls++; online_state = on; }
static void ev_out(void *c, const uint8_t *r, uint32_t n) { (void)c; outs++; memcpy(out_last, r, n); out_len = n; }

static int fails;
#define CHECK(c) do { if (!(c)) { printf("FAIL %s:%d %s\n", __FILE__, __LINE__, #c); fails++; } } while (0)

static void str_of(const uint8_t *d, int n, char *o) { int k = 0; for (int i = 2; i < n; i += 2) o[k++] = (char)d[i]; o[k] = 0; }

static void bus_reset(void) { istr_flags |= USB_ISTR_RESET; memset(epr, 0, sizeof epr); usbdev_poll(); host_addr = 0; }

int main(void) {
    usbdev_events_t ev = { NULL, ev_online, ev_out };
    usbdev_init(&ev, "EQ-B0001-W01");
    bus_reset();
    uint8_t b[512]; int n; char s[80];
    n = ctl_in(0x80, 6, 0x0100, 0, 64, b);
    CHECK(n == 18 && b[0] == 18 && b[1] == 1 && b[7] == 64);
    CHECK((b[8] | b[9] << 8) == DEVPROTO_VID && (b[10] | b[11] << 8) == DEVPROTO_PID);
    n = ctl_in(0x80, 6, 0x0100, 0, 8, b); CHECK(n == 8);
    bus_reset();
    CHECK(ctl_nodata(0x00, 5, 7, 0) == 0);
    CHECK(addr_now() == 7); host_addr = 7;
    n = ctl_in(0x80, 6, 0x0200, 0, 9, b); CHECK(n == 9 && (b[2] | b[3] << 8) == 41);
    n = ctl_in(0x80, 6, 0x0200, 0, 255, b); CHECK(n == 41);
    CHECK(b[9 + 5] == 3);                       /* HID class */
    CHECK(b[18 + 1] == 0x21 && b[18 + 7] == 34);  /* report desc length */
    CHECK(b[27 + 2] == 0x81 && b[27 + 3] == 3 && b[27 + 4] == 64 && b[27 + 6] == DEVPROTO_INTERVAL_MS);
    CHECK(b[34 + 2] == 0x01 && b[34 + 3] == 3 && b[34 + 4] == 64 && b[34 + 6] == DEVPROTO_INTERVAL_MS);
    n = ctl_in(0x80, 6, 0x0300, 0, 255, b); CHECK(n == 4 && b[2] == 0x09 && b[3] == 0x04);
    n = ctl_in(0x80, 6, 0x0301, 0x409, 255, b); str_of(b, n, s); CHECK(strcmp(s, "EQMS") == 0);
    n = ctl_in(0x80, 6, 0x0302, 0x409, 255, b); str_of(b, n, s); CHECK(strcmp(s, "EQMS rating device") == 0);
    n = ctl_in(0x80, 6, 0x0303, 0x409, 255, b); str_of(b, n, s); CHECK(strcmp(s, "EQ-B0001-W01") == 0);
    printf("serial=%s\n", s);
    CHECK(ctl_in(0x80, 6, 0x0304, 0x409, 255, b) == STALL);
    CHECK(ctl_in(0x80, 6, 0x0600, 0, 10, b) == STALL);     /* qualifier */
    n = ctl_in(0x81, 6, 0x2200, 0, 255, b); CHECK(n == 34 && b[0] == 0x06 && b[1] == 0x00 && b[2] == 0xFF);
    n = ctl_in(0x80, 0, 0, 0, 2, b); CHECK(n == 2 && b[0] == 0 && b[1] == 0);
    CHECK(usbdev_send(b) == -1);               /* not configured */
    CHECK(ctl_nodata(0x21, 0x0A, 0, 0) == 0);  /* SET_IDLE */
    CHECK(ctl_nodata(0x00, 9, 1, 0) == 0);     /* SET_CONFIGURATION */
    CHECK(online_calls == 1 && online_state == 1 && led == 1);
    n = ctl_in(0x80, 8, 0, 0, 1, b); CHECK(n == 1 && b[0] == 1);
    uint8_t rep[64]; for (int i = 0; i < 64; i++) rep[i] = (uint8_t)(i * 3);
    CHECK(in(1, b) == NAK);
    CHECK(usbdev_send(rep) == 0);
    CHECK(usbdev_send(rep) == -1);
    n = in(1, b); CHECK(n == 64 && memcmp(b, rep, 64) == 0);
    CHECK(usbdev_send(rep) == 0);
    n = in(1, b); CHECK(n == 64);
    CHECK(out(1, rep, 64) == ACK && outs == 1 && out_len == 64 && memcmp(out_last, rep, 64) == 0);
    rep[0] = 0x55;
    CHECK(out(1, rep, 64) == ACK && outs == 2 && out_last[0] == 0x55);
    /* SET_REPORT over EP0 */
    rep[0] = 0x77;
    CHECK(ctl_out(0x21, 0x09, 0x0200, 0, rep, 64) == 0 && outs == 3 && out_last[0] == 0x77 && out_len == 64);
    n = ctl_in(0xA1, 0x01, 0x0100, 0, 64, b); CHECK(n == 64);   /* GET_REPORT */
    /* unsupported: vendor request stalls, the next SETUP works */
    CHECK(ctl_in(0xC0, 0x01, 0, 0, 4, b) == STALL);
    CHECK(ctl_nodata(0x40, 0x01, 0, 0) == STALL);
    CHECK(ctl_nodata(0x80, 5, 3, 0) == STALL);   /* wrong direction */
    n = ctl_in(0x80, 6, 0x0100, 0, 18, b); CHECK(n == 18);
    /* halt */
    CHECK(ctl_nodata(0x02, 3, 0, 0x81) == 0);
    CHECK(usbdev_send(rep) == -1 && in(1, b) == STALL);
    n = ctl_in(0x82, 0, 0, 0x81, 2, b); CHECK(n == 2 && b[0] == 1);
    CHECK(ctl_nodata(0x02, 1, 0, 0x81) == 0);
    CHECK((epr[1] & USB_EP_DTOG_TX) == 0);
    CHECK(usbdev_send(rep) == 0 && in(1, b) == 64);
    CHECK(ctl_nodata(0x02, 3, 0, 0x01) == 0 && out(1, rep, 64) == STALL);
    CHECK(ctl_nodata(0x02, 1, 0, 0x01) == 0 && out(1, rep, 64) == ACK);
    /* halt with a report pending: kept and sent after the clear */
    CHECK(usbdev_send(rep) == 0);
    CHECK(ctl_nodata(0x02, 3, 0, 0x81) == 0 && in(1, b) == STALL);
    CHECK(ctl_nodata(0x02, 1, 0, 0x81) == 0 && in(1, b) == 64);
    /* suspend / resume */
    istr_flags |= USB_ISTR_SUSP; usbdev_poll();
    CHECK(online_state == 0 && online_calls == 2 && usbdev_send(rep) == -1);
    istr_flags |= USB_ISTR_WKUP; usbdev_poll();
    CHECK(online_state == 1 && online_calls == 3);
    /* reset: offline */
    bus_reset();
    CHECK(online_state == 0 && online_calls == 4 && addr_now() == 0);
    /* 31-char serial: a 64-byte string descriptor needs a ZLP */
    usbdev_init(&ev, "EQ-0123456789ABCDEF0123456789AB");
    bus_reset();
    n = ctl_in(0x80, 6, 0x0303, 0x409, 255, b); str_of(b, n, s);
    CHECK(n == 64 && packets == 2 && strcmp(s, "EQ-0123456789ABCDEF0123456789AB") == 0);
    usbdev_init(&ev, "EQ-0123456789ABCDEF0123456789ABCDEFGH");   /* 38: cut to 32 */
    bus_reset();
    n = ctl_in(0x80, 6, 0x0303, 0x409, 255, b); CHECK(n == 66 && packets == 2);
    printf(fails ? "usbsim: %d FAILED\n" : "usbsim: all passed\n", fails);
    return fails != 0;
}
