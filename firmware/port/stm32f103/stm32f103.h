/*  stm32f103: the STM32F103 and Cortex-M3 registers this port uses, and no more.
 *
 *  Addresses and bit positions from RM0008 (STM32F101/102/103 reference
 *  manual) and the Cortex-M3 generic user guide. Written for this port: no
 *  vendor headers, no HAL.
 */
#ifndef EQMS_STM32F103_H
#define EQMS_STM32F103_H

#include <stdint.h>

#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* --- RCC (RM0008 §7.3) --------------------------------------------------- */
#define RCC_BASE        0x40021000u
#define RCC_CR          REG32(RCC_BASE + 0x00)
#define RCC_CFGR        REG32(RCC_BASE + 0x04)
#define RCC_APB1RSTR    REG32(RCC_BASE + 0x10)
#define RCC_APB2ENR     REG32(RCC_BASE + 0x18)
#define RCC_APB1ENR     REG32(RCC_BASE + 0x1C)

#define RCC_CR_HSEON        (1u << 16)
#define RCC_CR_HSERDY       (1u << 17)
#define RCC_CR_PLLON        (1u << 24)
#define RCC_CR_PLLRDY       (1u << 25)

#define RCC_CFGR_SW_PLL     (2u << 0)
#define RCC_CFGR_SWS_MASK   (3u << 2)
#define RCC_CFGR_SWS_PLL    (2u << 2)
#define RCC_CFGR_PPRE1_DIV2 (4u << 8)    /* APB1 <= 36 MHz */
#define RCC_CFGR_ADCPRE_DIV6 (2u << 14)  /* ADC <= 14 MHz: 72/6 = 12 */
#define RCC_CFGR_PLLSRC_HSE (1u << 16)
#define RCC_CFGR_PLLMUL9    (7u << 18)
#define RCC_CFGR_USBPRE_DIV1_5 (0u << 22) /* USB clock = PLL / 1.5 = 48 MHz */

#define RCC_APB2ENR_AFIOEN   (1u << 0)
#define RCC_APB2ENR_IOPAEN   (1u << 2)
#define RCC_APB2ENR_IOPBEN   (1u << 3)
#define RCC_APB2ENR_IOPCEN   (1u << 4)
#define RCC_APB2ENR_ADC1EN   (1u << 9)
#define RCC_APB2ENR_USART1EN (1u << 14)
#define RCC_APB1ENR_USBEN    (1u << 23)
#define RCC_APB1RSTR_USBRST  (1u << 23)

/* --- FLASH interface (RM0008 §3.3.3) ------------------------------------- */
#define FLASH_ACR           REG32(0x40022000u)
#define FLASH_ACR_LATENCY_2 (2u << 0)    /* 48 < SYSCLK <= 72 MHz */
#define FLASH_ACR_PRFTBE    (1u << 4)

/* --- AFIO (RM0008 §9.4) -------------------------------------------------- */
#define AFIO_MAPR           REG32(0x40010004u)
#define AFIO_MAPR_SWJ_MASK  (7u << 24)
#define AFIO_MAPR_SWJ_SWD_ONLY (2u << 24) /* JTAG off: frees PA15, PB3, PB4 */

/* --- GPIO (RM0008 §9.2) -------------------------------------------------- */
#define GPIOA_BASE      0x40010800u
#define GPIOB_BASE      0x40010C00u
#define GPIOC_BASE      0x40011000u
#define GPIO_CRL(p)     REG32((p) + 0x00)
#define GPIO_CRH(p)     REG32((p) + 0x04)
#define GPIO_IDR(p)     REG32((p) + 0x08)
#define GPIO_ODR(p)     REG32((p) + 0x0C)
#define GPIO_BSRR(p)    REG32((p) + 0x10)
#define GPIO_BRR(p)     REG32((p) + 0x14)

/* Four-bit CNF:MODE values of CRL/CRH. */
#define GPIO_MODE_ANALOG     0x0u
#define GPIO_MODE_IN_FLOAT   0x4u
#define GPIO_MODE_IN_PULL    0x8u   /* ODR bit: 1 pull-up, 0 pull-down */
#define GPIO_MODE_OUT_PP_2   0x2u   /* push-pull, 2 MHz */
#define GPIO_MODE_OUT_OD_2   0x6u   /* open-drain, 2 MHz */
#define GPIO_MODE_OUT_PP_10  0x1u   /* push-pull, 10 MHz */
#define GPIO_MODE_AF_PP_2    0xAu   /* alternate function push-pull, 2 MHz */

/* --- USART1 (RM0008 §27.6) ----------------------------------------------- */
#define USART1_BASE     0x40013800u
#define USART1_SR       REG32(USART1_BASE + 0x00)
#define USART1_DR       REG32(USART1_BASE + 0x04)
#define USART1_BRR      REG32(USART1_BASE + 0x08)
#define USART1_CR1      REG32(USART1_BASE + 0x0C)
#define USART_SR_TXE    (1u << 7)
#define USART_CR1_UE    (1u << 13)
#define USART_CR1_TE    (1u << 3)

/* --- ADC1 (RM0008 §11.12) ------------------------------------------------ */
#define ADC1_BASE       0x40012400u
#define ADC1_SR         REG32(ADC1_BASE + 0x00)
#define ADC1_CR2        REG32(ADC1_BASE + 0x08)
#define ADC1_SMPR1      REG32(ADC1_BASE + 0x0C)
#define ADC1_SQR1       REG32(ADC1_BASE + 0x2C)
#define ADC1_SQR3       REG32(ADC1_BASE + 0x34)
#define ADC1_DR         REG32(ADC1_BASE + 0x4C)
#define ADC_SR_EOC      (1u << 1)
#define ADC_CR2_ADON    (1u << 0)
#define ADC_CR2_EXTSEL_SWSTART (7u << 17)
#define ADC_CR2_EXTTRIG (1u << 20)
#define ADC_CR2_SWSTART (1u << 22)
#define ADC_CR2_TSVREFE (1u << 23)
#define ADC_CH_TEMP     16u

/* --- USB full-speed device (RM0008 §23.5) -------------------------------- */
#define USB_BASE        0x40005C00u
#define USB_EPR(n)      REG32(USB_BASE + 4u * (n))
#define USB_CNTR        REG32(USB_BASE + 0x40)
#define USB_ISTR        REG32(USB_BASE + 0x44)
#define USB_FNR         REG32(USB_BASE + 0x48)
#define USB_DADDR       REG32(USB_BASE + 0x4C)
#define USB_BTABLE      REG32(USB_BASE + 0x50)

/* Packet memory: 512 bytes seen by the USB cell as 16-bit words, by the CPU
 * as one 16-bit half-word per 32-bit slot: CPU address = base + 2 * offset. */
#define USB_PMA_BASE    0x40006000u
#define USB_PMA_SIZE    512u

#define USB_CNTR_CTRM   (1u << 15)
#define USB_CNTR_WKUPM  (1u << 12)
#define USB_CNTR_SUSPM  (1u << 11)
#define USB_CNTR_RESETM (1u << 10)
#define USB_CNTR_RESUME (1u << 4)
#define USB_CNTR_FSUSP  (1u << 3)
#define USB_CNTR_LPMODE (1u << 2)
#define USB_CNTR_PDWN   (1u << 1)
#define USB_CNTR_FRES   (1u << 0)

/* ISTR flags are rc_w0: write 0 to clear, 1 leaves them alone. */
#define USB_ISTR_CTR    (1u << 15)
#define USB_ISTR_PMAOVR (1u << 14)
#define USB_ISTR_ERR    (1u << 13)
#define USB_ISTR_WKUP   (1u << 12)
#define USB_ISTR_SUSP   (1u << 11)
#define USB_ISTR_RESET  (1u << 10)
#define USB_ISTR_SOF    (1u << 9)
#define USB_ISTR_ESOF   (1u << 8)
#define USB_ISTR_DIR    (1u << 4)
#define USB_ISTR_EPID   0x000Fu

#define USB_DADDR_EF    (1u << 7)

/* EPnR: CTR_RX/CTR_TX are rc_w0; DTOG_* and STAT_* toggle when written 1;
 * EP_TYPE, EP_KIND and EA are plain read/write. */
#define USB_EP_CTR_RX   (1u << 15)
#define USB_EP_DTOG_RX  (1u << 14)
#define USB_EP_STAT_RX  (3u << 12)
#define USB_EP_SETUP    (1u << 11)
#define USB_EP_TYPE     (3u << 9)
#define USB_EP_KIND     (1u << 8)
#define USB_EP_CTR_TX   (1u << 7)
#define USB_EP_DTOG_TX  (1u << 6)
#define USB_EP_STAT_TX  (3u << 4)
#define USB_EP_EA       0x000Fu
#define USB_EP_RW_BITS  (USB_EP_TYPE | USB_EP_KIND | USB_EP_EA)

#define USB_EP_TYPE_BULK      (0u << 9)
#define USB_EP_TYPE_CONTROL   (1u << 9)
#define USB_EP_TYPE_INTERRUPT (3u << 9)

/* STAT values (shift 4 for TX, 12 for RX). */
#define USB_STAT_DISABLED 0u
#define USB_STAT_STALL    1u
#define USB_STAT_NAK      2u
#define USB_STAT_VALID    3u

/* EPnR and ISTR mix write-0-to-clear and toggle-on-1 bits: usbdev.c reads
 * and writes them only through these (one place to look, and a host model
 * can stand in for them). */
static inline uint32_t usb_epr_read(uint32_t n)          { return USB_EPR(n); }
static inline void usb_epr_write(uint32_t n, uint32_t v) { USB_EPR(n) = v; }
static inline uint32_t usb_istr_read(void)               { return USB_ISTR; }
static inline void usb_istr_write(uint32_t v)            { USB_ISTR = v; }

#define USB_IRQ_HP      19u
#define USB_IRQ_LP      20u   /* USB_LP_CAN1_RX0 */

/* --- device electronic signature (RM0008 §30) ---------------------------- */
#define UID_BASE        0x1FFFF7E8u    /* 96-bit unique ID */

/* --- Cortex-M3 system ---------------------------------------------------- */
#define SYST_CSR        REG32(0xE000E010u)
#define SYST_RVR        REG32(0xE000E014u)
#define SYST_CVR        REG32(0xE000E018u)
#define SYST_CSR_ENABLE    (1u << 0)
#define SYST_CSR_TICKINT   (1u << 1)
#define SYST_CSR_CLKSOURCE (1u << 2)   /* processor clock */

#define NVIC_ISER(n)    REG32(0xE000E100u + 4u * (n))
#define NVIC_ICER(n)    REG32(0xE000E180u + 4u * (n))

#define SCB_AIRCR       REG32(0xE000ED0Cu)
#define SCB_AIRCR_RESET 0x05FA0004u    /* VECTKEY | SYSRESETREQ */
#define SCB_DEMCR       REG32(0xE000EDFCu)
#define SCB_DEMCR_TRCENA (1u << 24)
#define DWT_CTRL        REG32(0xE0001000u)
#define DWT_CYCCNT      REG32(0xE0001004u)
#define DWT_CTRL_CYCCNTENA (1u << 0)

static inline void cpu_irq_disable(void) { __asm volatile ("cpsid i" ::: "memory"); }
static inline void cpu_irq_enable(void)  { __asm volatile ("cpsie i" ::: "memory"); }
static inline void cpu_wfi(void)         { __asm volatile ("wfi" ::: "memory"); }
static inline void cpu_dsb(void)         { __asm volatile ("dsb" ::: "memory"); }

static inline void nvic_enable(uint32_t irq)  { NVIC_ISER(irq >> 5) = 1u << (irq & 31u); }
static inline void nvic_disable(uint32_t irq) { NVIC_ICER(irq >> 5) = 1u << (irq & 31u); }

#endif
