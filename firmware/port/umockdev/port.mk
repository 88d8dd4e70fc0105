# firmware/port/umockdev: the host board port. The real firmware core
# (firmware/core, $(LIBDEVCORE)) behind umockdev USB devices that libusb
# cannot tell from hardware: bin/eqms-devsim, and bin/eqms-usbprobe, a small
# libusb client that proves it. Included by the top Makefile.

UMOCKDEV_PORT := firmware/port/umockdev
DEVSIM_SRC := $(addprefix $(UMOCKDEV_PORT)/,usbemu.c devsim.c model.c control.c main.c)
DEVSIM_OBJ := $(DEVSIM_SRC:%.c=$(BUILD)/%.o)
USBPROBE_OBJ := $(BUILD)/$(UMOCKDEV_PORT)/usbprobe.o
# -isystem: warnings in GLib's and umockdev's (Vala-generated) headers are not ours
UMOCKDEV_CFLAGS = $(patsubst -I%,-isystem %,$(shell pkg-config --cflags umockdev-1.0 glib-2.0 2>/dev/null))
UMOCKDEV_LIBS = $(shell pkg-config --libs umockdev-1.0 glib-2.0 2>/dev/null)
LIBUSB_CFLAGS = $(shell pkg-config --cflags libusb-1.0 2>/dev/null)
LIBUSB_LIBS = $(shell pkg-config --libs libusb-1.0 2>/dev/null)

EXTRA_BINS += $(BUILD)/bin/eqms-devsim $(BUILD)/bin/eqms-usbprobe

$(BUILD)/$(UMOCKDEV_PORT)/%.o: CPPFLAGS += -Ifirmware/core -I$(UMOCKDEV_PORT)
$(BUILD)/$(UMOCKDEV_PORT)/%.o: PKG_CFLAGS += $(UMOCKDEV_CFLAGS)
$(USBPROBE_OBJ): PKG_CFLAGS += $(LIBUSB_CFLAGS)

$(BUILD)/bin/eqms-devsim: $(DEVSIM_OBJ) $(LIBDEVCORE) $(LIBEQMS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(DEVSIM_OBJ) $(LIBDEVCORE) $(LIBEQMS) $(LDLIBS) $(UMOCKDEV_LIBS)

$(BUILD)/bin/eqms-usbprobe: $(USBPROBE_OBJ)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(USBPROBE_OBJ) $(LIBUSB_LIBS) $(LDLIBS)
