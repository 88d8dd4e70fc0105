/*  startup: vector table and reset handler of the STM32F103C8 (no vendor
 *  files). Reset_Handler copies .data from flash, zeroes .bss and calls
 *  main(). Unused interrupts and faults end in Default_Handler, which resets
 *  the chip: a field device should come back rather than hang.
 */
#include <stdint.h>

#include "board.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);

void Reset_Handler(void);
void Default_Handler(void);

void Default_Handler(void)
{
    board_reset();
}

/* Handlers a module may define; the rest of the table is Default_Handler. */
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("Default_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));
void USB_HP_CAN1_TX_IRQHandler(void) __attribute__((weak, alias("Default_Handler")));
void USB_LP_CAN1_RX0_IRQHandler(void) __attribute__((weak, alias("Default_Handler")));
void USBWakeUp_IRQHandler(void) __attribute__((weak, alias("Default_Handler")));

typedef void (*vector_t)(void);
#define D Default_Handler

/* 16 system vectors + 43 interrupts of the medium-density line (RM0008
 * §10.1.2, table 63). */
__attribute__((section(".isr_vector"), used))
static const vector_t s_vectors[16 + 43] = {
    [0] = (vector_t)(uintptr_t)&_estack,
    [1] = Reset_Handler,
    [2] = NMI_Handler,
    [3] = HardFault_Handler,
    [4] = MemManage_Handler,
    [5] = BusFault_Handler,
    [6] = UsageFault_Handler,
    [11] = SVC_Handler,
    [12] = DebugMon_Handler,
    [14] = PendSV_Handler,
    [15] = SysTick_Handler,
    /* interrupts 0..42; D = Default_Handler */
    D, D, D, D, D, D,
    D, D, D, D, D, D,
    D, D, D, D, D, D,
    D, USB_HP_CAN1_TX_IRQHandler,
    USB_LP_CAN1_RX0_IRQHandler,
    D, D, D, D, D, D,
    D, D, D, D, D, D,
    D, D, D, D, D, D,
    D, D, D, USBWakeUp_IRQHandler,
};
#undef D

void Reset_Handler(void)
{
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata; )
        *dst++ = *src++;
    for (uint32_t *dst = &_sbss; dst < &_ebss; )
        *dst++ = 0;
    main();
    board_reset();
}
