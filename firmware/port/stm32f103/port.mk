# firmware/port/stm32f103/port.mk: `make firmware` cross-builds the rating
# device image for the STM32F103C8 (included by the top Makefile).
#
#   make firmware                      build/firmware/eqms-rating-device.{elf,bin}
#   make firmware FW_DEFS='-DBOARD_RATING_KEYS=4'
#
# Prints flash and RAM use and fails if either is above FW_BUDGET_PCT of the
# chip (64 KB flash, 20 KB RAM); RAM includes the reserved stack. The figures
# also go to build/firmware/size.txt (flash_bytes=, ram_bytes=) for benches.

FW_PORT_DIR := firmware/port/stm32f103
FW_BUILD := build/firmware
FW_NAME := eqms-rating-device
FW_ELF := $(FW_BUILD)/$(FW_NAME).elf
FW_BIN := $(FW_BUILD)/$(FW_NAME).bin
FW_MAP := $(FW_BUILD)/$(FW_NAME).map
FW_SIZE_TXT := $(FW_BUILD)/size.txt
FW_LDSCRIPT := $(FW_PORT_DIR)/stm32f103c8.ld

FW_PREFIX ?= arm-none-eabi-
FW_CC := $(FW_PREFIX)gcc
FW_OBJCOPY := $(FW_PREFIX)objcopy
FW_SIZE := $(FW_PREFIX)size

FW_FLASH_BYTES := 65536
FW_RAM_BYTES := 20480
FW_BUDGET_PCT := 75
FW_STACK_SIZE ?= 2048
FW_DEFS ?=

FW_ARCH := -mcpu=cortex-m3 -mthumb
FW_CFLAGS := -std=c11 $(FW_ARCH) -Os -g -ffunction-sections -fdata-sections \
	-Wall -Wextra -Werror -fno-common
FW_CPPFLAGS := -DNDEBUG -Icommon/include -Ifirmware/core -I$(FW_PORT_DIR) $(FW_DEFS)
FW_LDFLAGS := $(FW_ARCH) -nostartfiles --specs=nano.specs -Wl,--gc-sections \
	-Wl,--defsym=FW_STACK_SIZE=$(FW_STACK_SIZE) -T$(FW_LDSCRIPT) -Wl,-Map=$(FW_MAP)

FW_SRC := $(sort $(wildcard firmware/core/*.c)) common/src/devcodec.c \
	$(sort $(wildcard $(FW_PORT_DIR)/*.c))
FW_OBJ := $(FW_SRC:%.c=$(FW_BUILD)/obj/%.o)

# Objects depend on the flags: a new FW_DEFS rebuilds them (only checked
# when `firmware` is a goal, so other builds never touch build/firmware).
FW_FLAGS_TXT := $(FW_BUILD)/flags.txt
ifneq ($(filter firmware,$(MAKECMDGOALS)),)
FW_FLAGS_NOW := $(FW_CC) $(FW_CPPFLAGS) $(FW_CFLAGS) $(FW_LDFLAGS)
$(shell mkdir -p $(FW_BUILD) && { echo '$(FW_FLAGS_NOW)' | cmp -s - $(FW_FLAGS_TXT) || echo '$(FW_FLAGS_NOW)' > $(FW_FLAGS_TXT); })
endif

firmware: $(FW_BIN)
	@text=$$($(FW_SIZE) -A $(FW_ELF) | awk '$$1==".isr_vector"||$$1==".text"||$$1==".ARM.exidx"||$$1==".data"{s+=$$2} END{print s+0}'); \
	ram=$$($(FW_SIZE) -A $(FW_ELF) | awk '$$1==".data"||$$1==".bss"||$$1==".stack"{s+=$$2} END{print s+0}'); \
	fpct=$$((text * 100 / $(FW_FLASH_BYTES))); rpct=$$((ram * 100 / $(FW_RAM_BYTES))); \
	$(FW_SIZE) $(FW_ELF); \
	echo "firmware: flash $$text / $(FW_FLASH_BYTES) bytes ($$fpct.$$(( (text * 1000 / $(FW_FLASH_BYTES)) % 10 ))%)," \
	     "RAM $$ram / $(FW_RAM_BYTES) bytes ($$rpct.$$(( (ram * 1000 / $(FW_RAM_BYTES)) % 10 ))%, stack $(FW_STACK_SIZE) included)," \
	     "budget $(FW_BUDGET_PCT)%"; \
	printf 'flash_bytes=%s\nram_bytes=%s\n' $$text $$ram > $(FW_SIZE_TXT); \
	if [ $$((text * 100)) -gt $$(($(FW_FLASH_BYTES) * $(FW_BUDGET_PCT))) ]; then \
		echo "firmware: FAIL: flash use above $(FW_BUDGET_PCT)%" >&2; exit 1; fi; \
	if [ $$((ram * 100)) -gt $$(($(FW_RAM_BYTES) * $(FW_BUDGET_PCT))) ]; then \
		echo "firmware: FAIL: RAM use above $(FW_BUDGET_PCT)%" >&2; exit 1; fi

$(FW_BIN): $(FW_ELF)
	$(FW_OBJCOPY) -O binary $< $@

$(FW_ELF): $(FW_OBJ) $(FW_LDSCRIPT) $(FW_FLAGS_TXT)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	$(Q)$(FW_CC) $(FW_LDFLAGS) -o $@ $(FW_OBJ)

$(FW_FLAGS_TXT):
	@mkdir -p $(@D) && touch $@

$(FW_BUILD)/obj/%.o: %.c $(FW_FLAGS_TXT)
	@mkdir -p $(@D)
	@echo "  FWCC    $<"
	$(Q)$(FW_CC) $(FW_CPPFLAGS) $(FW_CFLAGS) -MMD -MP -c -o $@ $<

# Host check of the USB driver against a model of the USB cell (usbsim/).
FW_SIM_DIR := $(FW_BUILD)/usbsim
.PHONY: firmware-usbsim
firmware-usbsim:
	@mkdir -p $(FW_SIM_DIR)
	/usr/bin/python3 $(FW_PORT_DIR)/usbsim/fake_regs.py $(FW_PORT_DIR)/stm32f103.h > $(FW_SIM_DIR)/stm32f103.h
	cp $(FW_PORT_DIR)/usbdev.c $(FW_PORT_DIR)/usbdev.h $(FW_PORT_DIR)/board.h $(FW_SIM_DIR)/
	$(CC) -std=c11 -Wall -Wextra -Werror -g -fsanitize=address,undefined \
		-I$(FW_SIM_DIR) -Icommon/include -Ifirmware/core -o $(FW_SIM_DIR)/usbsim \
		$(FW_PORT_DIR)/usbsim/usbsim.c $(FW_SIM_DIR)/usbdev.c
	$(FW_SIM_DIR)/usbsim
