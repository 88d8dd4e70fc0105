#!/usr/bin/env python3
"""fake_regs.py: turns stm32f103.h into a host model's header (usbsim).

Register accesses go to usbsim.c's memory, the packet memory to an array,
the EPnR/ISTR accessors to usbsim.c's model of their odd write semantics,
and the Cortex-M instructions (cpsid, wfi...) become no-ops.
Usage: fake_regs.py stm32f103.h > build/firmware/usbsim/stm32f103.h
"""
import re
import sys

src = open(sys.argv[1]).read()

def sub(old, new):
    global src
    if old not in src:
        sys.exit("fake_regs.py: %r not found in %s" % (old, sys.argv[1]))
    src = src.replace(old, new)

sub('#define REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))',
    'volatile uint32_t *sim_reg(uint32_t addr);\n'
    'extern uint8_t sim_pma[1024];\n'
    '#define REG32(addr) (*sim_reg(addr))')
sub('#define USB_PMA_BASE    0x40006000u', '#define USB_PMA_BASE    ((uintptr_t)sim_pma)')
a = src.index('static inline uint32_t usb_epr_read')
b = src.index('#define USB_IRQ_HP')
src = (src[:a] + 'uint32_t usb_epr_read(uint32_t n);\n'
       'void usb_epr_write(uint32_t n, uint32_t v);\n'
       'uint32_t usb_istr_read(void);\n'
       'void usb_istr_write(uint32_t v);\n\n' + src[b:])
src = re.sub(r'__asm volatile \("[a-z ]*" ::: "memory"\);', '', src)
sys.stdout.write(src)
