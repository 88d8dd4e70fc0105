/*  board: clocks, the 1 ms tick, pins, serial number and boot id of the
 *  STM32F103C8 rating device (see board.h).
 */
#include "board.h"

#include <string.h>

static volatile uint32_t s_millis;
static uint32_t s_sysclk = 8000000u;       /* HSI until board_init */
static bool s_hse_ok;

void SysTick_Handler(void);

void SysTick_Handler(void)
{
    s_millis++;
}

uint32_t board_millis(void)
{
    return s_millis;
}

uint32_t board_sysclk_hz(void)
{
    return s_sysclk;
}

bool board_usb_clock_ok(void)
{
    return s_hse_ok;
}

static bool s_wait(volatile uint32_t *reg, uint32_t mask, uint32_t value)
{
    for (uint32_t i = 0; i < 500000u; i++)
        if ((*reg & mask) == value)
            return true;
    return false;
}

static void s_clock_init(void)
{
    RCC_CR |= RCC_CR_HSEON;
    if (!s_wait(&RCC_CR, RCC_CR_HSERDY, RCC_CR_HSERDY)) {
        /* No crystal: stay on HSI 8 MHz. The device still works standalone
         * (keys, display, ring), but USB needs the crystal's accuracy. */
        RCC_CR &= ~RCC_CR_HSEON;
        return;
    }
    /* Two wait states before going above 48 MHz (RM0008 §3.3.3). */
    FLASH_ACR = FLASH_ACR_PRFTBE | FLASH_ACR_LATENCY_2;
    RCC_CFGR = RCC_CFGR_PLLSRC_HSE | RCC_CFGR_PLLMUL9 | RCC_CFGR_USBPRE_DIV1_5
             | RCC_CFGR_PPRE1_DIV2 | RCC_CFGR_ADCPRE_DIV6;
    RCC_CR |= RCC_CR_PLLON;
    if (!s_wait(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY))
        return;
    RCC_CFGR |= RCC_CFGR_SW_PLL;
    if (!s_wait(&RCC_CFGR, RCC_CFGR_SWS_MASK, RCC_CFGR_SWS_PLL))
        return;
    s_sysclk = BOARD_SYSCLK_HZ;
    s_hse_ok = true;
}

void board_init(void)
{
    s_clock_init();

    /* SysTick: 1 ms from the processor clock. */
    SYST_RVR = s_sysclk / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;

    /* DWT cycle counter for microsecond delays. */
    SCB_DEMCR |= SCB_DEMCR_TRCENA;
    DWT_CYCCNT = 0;
    DWT_CTRL |= DWT_CTRL_CYCCNTENA;

    RCC_APB2ENR |= RCC_APB2ENR_AFIOEN | RCC_APB2ENR_IOPAEN | RCC_APB2ENR_IOPBEN
                 | RCC_APB2ENR_IOPCEN;
    /* SWD stays, JTAG goes: PA15, PB3 and PB4 become plain GPIOs. */
    AFIO_MAPR = (AFIO_MAPR & ~AFIO_MAPR_SWJ_MASK) | AFIO_MAPR_SWJ_SWD_ONLY;

    static const board_pin_t stars[] = BOARD_STARS;
    for (unsigned i = 0; i < sizeof stars / sizeof stars[0]; i++) {
        board_pin_write(stars[i], !BOARD_STAR_ACTIVE_HIGH);
        board_pin_mode(stars[i], GPIO_MODE_OUT_PP_2);
    }
    const board_pin_t led = BOARD_STATUS_LED;
    board_pin_write(led, true);                 /* active low: off */
    board_pin_mode(led, GPIO_MODE_OUT_OD_2);
}

void board_delay_us(uint32_t us)
{
    uint32_t start = DWT_CYCCNT;
    uint32_t cycles = us * (s_sysclk / 1000000u);
    while (DWT_CYCCNT - start < cycles)
        ;
}

void board_pin_mode(board_pin_t p, uint32_t mode)
{
    volatile uint32_t *cr = p.pin < 8 ? &GPIO_CRL(p.port) : &GPIO_CRH(p.port);
    uint32_t shift = (p.pin & 7u) * 4u;
    *cr = (*cr & ~(0xFu << shift)) | (mode << shift);
}

void board_pin_write(board_pin_t p, bool high)
{
    if (high)
        GPIO_BSRR(p.port) = 1u << p.pin;
    else
        GPIO_BRR(p.port) = 1u << p.pin;
}

bool board_pin_read(board_pin_t p)
{
    return (GPIO_IDR(p.port) >> p.pin) & 1u;
}

void board_stars(uint8_t count)
{
    static const board_pin_t stars[] = BOARD_STARS;
    for (unsigned i = 0; i < sizeof stars / sizeof stars[0]; i++) {
        bool on = i < count;
        board_pin_write(stars[i], on == (bool)BOARD_STAR_ACTIVE_HIGH);
    }
}

void board_status_led(bool on)
{
    const board_pin_t led = BOARD_STATUS_LED;
    board_pin_write(led, !on);
}

void board_reset(void)
{
    cpu_dsb();
    SCB_AIRCR = SCB_AIRCR_RESET;
    cpu_dsb();
    for (;;)
        ;
}

uint32_t board_crc32(const uint8_t *data, uint32_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    while (len--) {
        crc ^= *data++;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static bool s_serial_char_ok(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')
        || (c >= 'a' && c <= 'z') || c == '-';
}

/* The production record of the last flash page, or -1. */
static int s_serial_from_flash(char *out)
{
    const uint8_t *rec = (const uint8_t *)(uintptr_t)BOARD_CONFIG_PAGE;
    if (memcmp(rec, "EQSN", 4) != 0 || rec[4] != 1 || rec[6] != 0 || rec[7] != 0)
        return -1;
    uint8_t n = rec[5];
    if (n < 1 || n > BOARD_SERIAL_MAX)
        return -1;
    for (uint8_t i = 0; i < BOARD_SERIAL_MAX; i++)
        if (i < n ? !s_serial_char_ok(rec[8 + i]) : rec[8 + i] != 0)
            return -1;
    uint32_t crc = (uint32_t)rec[40] | (uint32_t)rec[41] << 8
                 | (uint32_t)rec[42] << 16 | (uint32_t)rec[43] << 24;
    if (board_crc32(rec, 40) != crc)
        return -1;
    memcpy(out, rec + 8, n);
    out[n] = '\0';
    return n;
}

int board_serial(char out[BOARD_SERIAL_MAX + 1])
{
    int n = s_serial_from_flash(out);
    if (n > 0)
        return n;
    static const char hex[] = "0123456789ABCDEF";
    const volatile uint32_t *uid = (const volatile uint32_t *)(uintptr_t)UID_BASE;
    memcpy(out, "EQ-", 3);
    n = 3;
    for (int w = 0; w < 3; w++) {
        uint32_t v = uid[w];
        for (int shift = 28; shift >= 0; shift -= 4)
            out[n++] = hex[(v >> shift) & 0xFu];
    }
    out[n] = '\0';
    return n;
}

static uint32_t s_mix(uint32_t h, uint32_t v)
{
    h ^= v;
    h *= 0x01000193u;                       /* FNV-1a step */
    return h ^ (h >> 15);
}

uint32_t board_boot_id(void)
{
    const volatile uint32_t *uid = (const volatile uint32_t *)(uintptr_t)UID_BASE;
    uint32_t h = 0x811C9DC5u;
    for (int w = 0; w < 3; w++)
        h = s_mix(h, uid[w]);

    /* The temperature sensor's last bits are noise; so is the phase of the
     * SysTick and cycle counters against the ADC clock. */
    RCC_APB2ENR |= RCC_APB2ENR_ADC1EN;
    ADC1_CR2 = ADC_CR2_ADON | ADC_CR2_TSVREFE;
    board_delay_us(20);                     /* tSTAB and sensor start-up */
    ADC1_SMPR1 = 7u << ((ADC_CH_TEMP - 10u) * 3u);   /* 239.5 cycles */
    ADC1_SQR1 = 0;                          /* one conversion */
    ADC1_SQR3 = ADC_CH_TEMP;
    ADC1_CR2 |= ADC_CR2_EXTSEL_SWSTART | ADC_CR2_EXTTRIG;
    for (int i = 0; i < 32; i++) {
        ADC1_CR2 |= ADC_CR2_SWSTART;
        s_wait(&ADC1_SR, ADC_SR_EOC, ADC_SR_EOC);
        h = s_mix(h, ADC1_DR ^ (SYST_CVR << 12) ^ (DWT_CYCCNT << 20));
    }
    ADC1_CR2 = 0;
    RCC_APB2ENR &= ~RCC_APB2ENR_ADC1EN;

    /* murmur3 finaliser */
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h ? h : 1u;
}
