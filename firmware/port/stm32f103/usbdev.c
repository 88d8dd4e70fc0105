/*  usbdev: USB full-speed HID device on the STM32F103's USB cell (see usbdev.h).
 *
 *  Packet memory (PMA, 512 bytes, offsets as the USB cell sees them):
 *    0x000  buffer table (BTABLE = 0), 8 bytes per endpoint, 2 used
 *    0x040  EP0 TX, 64      0x080  EP0 RX, 64
 *    0x0C0  EP1 TX, 64      0x100  EP1 RX, 64
 *  Endpoint registers mix three kinds of bits (RM0008 §23.5.2): CTR_RX and
 *  CTR_TX clear when written 0 and ignore 1; DTOG_* and STAT_* toggle when
 *  written 1 and ignore 0; EP_TYPE, EP_KIND and EA are plain. Every write
 *  below therefore starts from the plain bits, writes 1 to both CTR flags
 *  unless one is being cleared, and writes a toggle bit only as the XOR of
 *  its current and wanted value.
 */
#include "usbdev.h"

#include <string.h>

#include "board.h"
#include "devcore_config.h"

/* bcdDevice: the firmware version of devcore_config.h, 0xMMmp. */
#define USBDEV_BCD_DEVICE ((DEVCORE_FW_MAJOR << 8) | ((DEVCORE_FW_MINOR & 0xF) << 4) \
                           | (DEVCORE_FW_PATCH & 0xF))
#define USBDEV_MAX_POWER_MA 100

#define EP0_SIZE   64u
#define EP1_SIZE   DEVPROTO_REPORT_SIZE
#define PMA_EP0_TX 0x040u
#define PMA_EP0_RX 0x080u
#define PMA_EP1_TX 0x0C0u
#define PMA_EP1_RX 0x100u
/* COUNTn_RX for a 64-byte buffer: BL_SIZE = 1 (32-byte blocks), NUM_BLOCK = 1. */
#define PMA_RX_64  ((1u << 15) | (1u << 10))

/* --- descriptors ------------------------------------------------------- */
enum { STR_LANG, STR_MANUFACTURER, STR_PRODUCT, STR_SERIAL, STR_COUNT };

static const uint8_t s_device_desc[18] = {
    18, 1,                          /* bLength, DEVICE */
    0x00, 0x02,                     /* bcdUSB 2.00 */
    0, 0, 0,                        /* class in the interface */
    EP0_SIZE,
    DEVPROTO_VID & 0xFF, DEVPROTO_VID >> 8,
    DEVPROTO_PID & 0xFF, DEVPROTO_PID >> 8,
    USBDEV_BCD_DEVICE & 0xFF, USBDEV_BCD_DEVICE >> 8,
    STR_MANUFACTURER, STR_PRODUCT, STR_SERIAL,
    1                               /* bNumConfigurations */
};

/* Byte for byte the descriptor of the host emulator (firmware/port/umockdev),
 * so the gateway sees the same device either way. */
static const uint8_t s_report_desc[] = {
    0x06, 0x00, 0xFF,               /* Usage Page (Vendor 0xFF00) */
    0x09, 0x01,                     /* Usage (1) */
    0xA1, 0x01,                     /* Collection (Application) */
    0x09, 0x02,                     /*   Usage (2) */
    0x15, 0x00, 0x26, 0xFF, 0x00,   /*   Logical Minimum (0), Maximum (255) */
    0x75, 0x08,                     /*   Report Size (8) */
    0x95, DEVPROTO_REPORT_SIZE,     /*   Report Count (64) */
    0x81, 0x02,                     /*   Input (Data, Var, Abs) */
    0x09, 0x03,                     /*   Usage (3) */
    0x15, 0x00, 0x26, 0xFF, 0x00,   /*   Logical Minimum (0), Maximum (255) */
    0x75, 0x08,                     /*   Report Size (8) */
    0x95, DEVPROTO_REPORT_SIZE,     /*   Report Count (64) */
    0x91, 0x02,                     /*   Output (Data, Var, Abs) */
    0xC0                            /* End Collection */
};

#define CONFIG_LEN (9 + 9 + 9 + 7 + 7)
#define HID_DESC_OFFSET 18
static const uint8_t s_config_desc[CONFIG_LEN] = {
    9, 2, CONFIG_LEN, 0,            /* CONFIGURATION, wTotalLength */
    1, 1, 0,                        /* 1 interface, bConfigurationValue 1, no string */
    0x80,                           /* bus powered, no remote wakeup */
    USBDEV_MAX_POWER_MA / 2,
    9, 4, 0, 0, 2,                  /* INTERFACE 0, alt 0, 2 endpoints */
    3, 0, 0, 0,                     /* HID, no boot subclass, no protocol, no string */
    9, 0x21, 0x11, 0x01, 0, 1,      /* HID 1.11, no country, 1 descriptor */
    0x22, sizeof s_report_desc, 0,  /* REPORT descriptor length */
    7, 5, DEVPROTO_EP_IN, 3,        /* ENDPOINT 0x81 interrupt */
    EP1_SIZE, 0, DEVPROTO_INTERVAL_MS,
    7, 5, DEVPROTO_EP_OUT, 3,       /* ENDPOINT 0x01 interrupt */
    EP1_SIZE, 0, DEVPROTO_INTERVAL_MS,
};

static const char *const s_strings[STR_COUNT] = {
    NULL, "EQMS", "EQMS rating device", NULL
};

/* --- state --------------------------------------------------------------- */
typedef struct {
    uint8_t bm_request_type;
    uint8_t b_request;
    uint16_t w_value;
    uint16_t w_index;
    uint16_t w_length;
} s_setup_t;

typedef enum {
    EP0_IDLE,           /* waiting for SETUP */
    EP0_DATA_IN,        /* sending data, more packets to come */
    EP0_LAST_IN,        /* last data packet queued */
    EP0_STATUS_OUT,     /* waiting for the host's zero-length OUT */
    EP0_DATA_OUT,       /* receiving SET_REPORT data */
    EP0_STATUS_IN       /* our zero-length IN queued */
} s_ep0_state_t;

static struct {
    usbdev_events_t events;
    char serial[DEVPROTO_SERIAL_MAX + 1];
    volatile bool wake;
    /* EP0 */
    s_setup_t req;
    s_ep0_state_t ep0;
    const uint8_t *in_ptr;
    uint16_t in_left;
    bool in_zlp;                    /* end a multiple of 64 with a short packet */
    uint8_t pending_addr;           /* SET_ADDRESS takes effect after status */
    uint8_t reply[2 + 2 * DEVPROTO_SERIAL_MAX]; /* built replies (strings, status) */
    uint8_t out_buf[DEVPROTO_REPORT_SIZE];
    uint16_t out_len;
    /* device */
    uint8_t configuration;          /* 0 or 1 */
    bool suspended;
    bool reported_online;           /* last state given to events.online */
    uint8_t idle_rate;
    bool halt_in, halt_out;
    /* EP1 */
    bool tx_busy;
    uint8_t last_in[DEVPROTO_REPORT_SIZE];  /* for HID GET_REPORT */
    uint8_t rx_buf[DEVPROTO_REPORT_SIZE];
} s_usb;

void USB_LP_CAN1_RX0_IRQHandler(void);

/* The interrupt only wakes the main loop; it masks itself until the next
 * usbdev_poll() has dealt with the cause. */
void USB_LP_CAN1_RX0_IRQHandler(void)
{
    nvic_disable(USB_IRQ_LP);
    s_usb.wake = true;
}

bool usbdev_wake_pending(void)
{
    return s_usb.wake;
}

bool usbdev_online(void)
{
    return s_usb.configuration != 0 && !s_usb.suspended;
}

/* --- packet memory ------------------------------------------------------- */
static volatile uint16_t *s_pma16(uint32_t offset)
{
    return (volatile uint16_t *)(uintptr_t)(USB_PMA_BASE + 2u * offset);
}

static void s_pma_write(uint32_t offset, const uint8_t *src, uint32_t n)
{
    volatile uint16_t *dst = s_pma16(offset);
    for (uint32_t i = 0; i < n; i += 2) {
        uint16_t w = src[i];
        if (i + 1 < n)
            w |= (uint16_t)(src[i + 1] << 8);
        dst[i] = w;                 /* i / 2 half-words, each in a 32-bit slot */
    }
}

static void s_pma_read(uint32_t offset, uint8_t *dst, uint32_t n)
{
    const volatile uint16_t *src = s_pma16(offset);
    for (uint32_t i = 0; i < n; i += 2) {
        uint16_t w = src[i];
        dst[i] = (uint8_t)w;
        if (i + 1 < n)
            dst[i + 1] = (uint8_t)(w >> 8);
    }
}

/* Buffer table entry words of endpoint `ep`. */
#define BT_ADDR_TX(ep)  (*s_pma16(8u * (ep) + 0))
#define BT_COUNT_TX(ep) (*s_pma16(8u * (ep) + 2))
#define BT_ADDR_RX(ep)  (*s_pma16(8u * (ep) + 4))
#define BT_COUNT_RX(ep) (*s_pma16(8u * (ep) + 6))

/* --- endpoint registers -------------------------------------------------- */
static void s_ep_set_tx(uint32_t ep, uint32_t stat)
{
    uint32_t r = usb_epr_read(ep);
    usb_epr_write(ep, (r & USB_EP_RW_BITS) | USB_EP_CTR_RX | USB_EP_CTR_TX
                | ((r ^ (stat << 4)) & USB_EP_STAT_TX));
}

static void s_ep_set_rx(uint32_t ep, uint32_t stat)
{
    uint32_t r = usb_epr_read(ep);
    usb_epr_write(ep, (r & USB_EP_RW_BITS) | USB_EP_CTR_RX | USB_EP_CTR_TX
                | ((r ^ (stat << 12)) & USB_EP_STAT_RX));
}

static void s_ep_clear_ctr_tx(uint32_t ep)
{
    usb_epr_write(ep, (usb_epr_read(ep) & USB_EP_RW_BITS) | USB_EP_CTR_RX);
}

static void s_ep_clear_ctr_rx(uint32_t ep)
{
    usb_epr_write(ep, (usb_epr_read(ep) & USB_EP_RW_BITS) | USB_EP_CTR_TX);
}

/* Data toggles back to DATA0: writing a set toggle bit as 1 clears it. */
static void s_ep_reset_toggle(uint32_t ep, uint32_t which)
{
    uint32_t r = usb_epr_read(ep);
    usb_epr_write(ep, (r & USB_EP_RW_BITS) | USB_EP_CTR_RX | USB_EP_CTR_TX | (r & which));
}

/* --- bus reset and configuration ----------------------------------------- */
static void s_reset(void)
{
    USB_BTABLE = 0;
    BT_ADDR_TX(0) = PMA_EP0_TX;
    BT_COUNT_TX(0) = 0;
    BT_ADDR_RX(0) = PMA_EP0_RX;
    BT_COUNT_RX(0) = PMA_RX_64;
    BT_ADDR_TX(1) = PMA_EP1_TX;
    BT_COUNT_TX(1) = 0;
    BT_ADDR_RX(1) = PMA_EP1_RX;
    BT_COUNT_RX(1) = PMA_RX_64;

    /* A bus reset clears the endpoint registers; set types and states. */
    usb_epr_write(0, USB_EP_TYPE_CONTROL | 0u);
    s_ep_set_rx(0, USB_STAT_VALID);
    s_ep_set_tx(0, USB_STAT_NAK);
    usb_epr_write(1, USB_EP_TYPE_INTERRUPT | 1u);
    s_ep_set_rx(1, USB_STAT_DISABLED);
    s_ep_set_tx(1, USB_STAT_DISABLED);

    s_ep_reset_toggle(0, USB_EP_DTOG_RX | USB_EP_DTOG_TX);
    USB_DADDR = USB_DADDR_EF | 0u;
    USB_CNTR &= ~(USB_CNTR_FSUSP | USB_CNTR_LPMODE);
    s_usb.ep0 = EP0_IDLE;
    s_usb.pending_addr = 0;
    s_usb.configuration = 0;
    s_usb.suspended = false;
    s_usb.halt_in = s_usb.halt_out = false;
    s_usb.tx_busy = false;
    s_usb.idle_rate = 0;
}

static void s_configure(uint8_t value)
{
    s_usb.configuration = value;
    s_usb.halt_in = s_usb.halt_out = false;
    s_usb.tx_busy = false;
    if (value) {
        s_ep_reset_toggle(1, USB_EP_DTOG_RX | USB_EP_DTOG_TX);
        s_ep_set_tx(1, USB_STAT_NAK);
        s_ep_set_rx(1, USB_STAT_VALID);
    } else {
        s_ep_set_tx(1, USB_STAT_DISABLED);
        s_ep_set_rx(1, USB_STAT_DISABLED);
    }
}

/* --- EP0 control transfers ----------------------------------------------- */
static void s_ep0_stall(void)
{
    s_ep_set_tx(0, USB_STAT_STALL);
    s_ep_set_rx(0, USB_STAT_STALL);   /* the next SETUP is accepted anyway */
    s_usb.ep0 = EP0_IDLE;
}

static void s_ep0_in_next(void)
{
    uint16_t n = s_usb.in_left > EP0_SIZE ? EP0_SIZE : s_usb.in_left;
    s_pma_write(PMA_EP0_TX, s_usb.in_ptr, n);
    BT_COUNT_TX(0) = n;
    s_usb.in_ptr += n;
    s_usb.in_left -= n;
    bool last = n < EP0_SIZE || (s_usb.in_left == 0 && !s_usb.in_zlp);
    s_usb.ep0 = last ? EP0_LAST_IN : EP0_DATA_IN;
    s_ep_set_tx(0, USB_STAT_VALID);
}

/* Data stage IN of `len` bytes (cut to wLength), then status OUT. */
static void s_ep0_send(const uint8_t *data, uint16_t len)
{
    if (len > s_usb.req.w_length)
        len = s_usb.req.w_length;
    s_usb.in_ptr = data;
    s_usb.in_left = len;
    s_usb.in_zlp = len < s_usb.req.w_length && len % EP0_SIZE == 0;
    s_ep_set_rx(0, USB_STAT_VALID);   /* the status OUT may come at any time */
    s_ep0_in_next();
}

/* No data stage: the status stage is our zero-length IN. */
static void s_ep0_status_in(void)
{
    BT_COUNT_TX(0) = 0;
    s_usb.ep0 = EP0_STATUS_IN;
    s_ep_set_tx(0, USB_STAT_VALID);
    s_ep_set_rx(0, USB_STAT_VALID);
}

static uint16_t s_string_desc(uint8_t index)
{
    uint8_t *d = s_usb.reply;
    if (index == STR_LANG) {
        d[0] = 4; d[1] = 3; d[2] = 0x09; d[3] = 0x04;   /* en-US */
        return 4;
    }
    const char *s = index == STR_SERIAL ? s_usb.serial : s_strings[index];
    uint16_t n = 0;
    while (s[n] && n < DEVPROTO_SERIAL_MAX) {
        d[2 + 2 * n] = (uint8_t)s[n];           /* ASCII -> UTF-16LE */
        d[3 + 2 * n] = 0;
        n++;
    }
    d[0] = (uint8_t)(2 + 2 * n);
    d[1] = 3;
    return d[0];
}

/* Returns -1 to stall. */
static int s_get_descriptor(void)
{
    uint8_t type = s_usb.req.w_value >> 8;
    uint8_t index = s_usb.req.w_value & 0xFF;
    switch (type) {
    case 1:
        s_ep0_send(s_device_desc, sizeof s_device_desc);
        return 0;
    case 2:
        if (index != 0)
            return -1;
        s_ep0_send(s_config_desc, sizeof s_config_desc);
        return 0;
    case 3:
        if (index >= STR_COUNT)
            return -1;
        s_ep0_send(s_usb.reply, s_string_desc(index));
        return 0;
    case 0x21:                                  /* HID */
        s_ep0_send(s_config_desc + HID_DESC_OFFSET, 9);
        return 0;
    case 0x22:                                  /* HID report */
        s_ep0_send(s_report_desc, sizeof s_report_desc);
        return 0;
    default:                                    /* qualifier etc.: full speed only */
        return -1;
    }
}

static int s_std_device(void)
{
    const s_setup_t *r = &s_usb.req;
    switch (r->b_request) {
    case 0:                                     /* GET_STATUS */
        s_usb.reply[0] = 0;                     /* bus powered, no remote wakeup */
        s_usb.reply[1] = 0;
        s_ep0_send(s_usb.reply, 2);
        return 0;
    case 5:                                     /* SET_ADDRESS */
        s_usb.pending_addr = r->w_value & 0x7F;
        s_ep0_status_in();
        return 0;
    case 6:
        return s_get_descriptor();
    case 8:                                     /* GET_CONFIGURATION */
        s_usb.reply[0] = s_usb.configuration;
        s_ep0_send(s_usb.reply, 1);
        return 0;
    case 9:                                     /* SET_CONFIGURATION */
        if (r->w_value > 1)
            return -1;
        s_configure((uint8_t)r->w_value);
        s_ep0_status_in();
        return 0;
    default:                                    /* features, SET_DESCRIPTOR */
        return -1;
    }
}

static int s_std_interface(void)
{
    const s_setup_t *r = &s_usb.req;
    if ((r->w_index & 0xFF) != 0)
        return -1;
    switch (r->b_request) {
    case 0:                                     /* GET_STATUS */
        s_usb.reply[0] = s_usb.reply[1] = 0;
        s_ep0_send(s_usb.reply, 2);
        return 0;
    case 6:
        return s_get_descriptor();
    case 10:                                    /* GET_INTERFACE */
        s_usb.reply[0] = 0;
        s_ep0_send(s_usb.reply, 1);
        return 0;
    case 11:                                    /* SET_INTERFACE */
        if (r->w_value != 0)
            return -1;
        s_ep0_status_in();
        return 0;
    default:
        return -1;
    }
}

static void s_halt(uint8_t ep_addr, bool halt)
{
    if (ep_addr == DEVPROTO_EP_IN) {
        s_usb.halt_in = halt;
        s_ep_reset_toggle(1, USB_EP_DTOG_TX);
        /* A report queued before the halt is sent after it: never lost. */
        s_ep_set_tx(1, halt ? USB_STAT_STALL : s_usb.tx_busy ? USB_STAT_VALID
                                                             : USB_STAT_NAK);
    } else {
        s_usb.halt_out = halt;
        s_ep_reset_toggle(1, USB_EP_DTOG_RX);
        s_ep_set_rx(1, halt ? USB_STAT_STALL : USB_STAT_VALID);
    }
}

static int s_std_endpoint(void)
{
    const s_setup_t *r = &s_usb.req;
    uint8_t ep = r->w_index & 0xFF;
    bool ep1 = ep == DEVPROTO_EP_IN || ep == DEVPROTO_EP_OUT;
    if (!(ep1 && s_usb.configuration) && (ep & 0x7F) != 0)
        return -1;
    switch (r->b_request) {
    case 0:                                     /* GET_STATUS */
        s_usb.reply[0] = ep == DEVPROTO_EP_IN ? s_usb.halt_in
                       : ep == DEVPROTO_EP_OUT ? s_usb.halt_out : 0;
        s_usb.reply[1] = 0;
        s_ep0_send(s_usb.reply, 2);
        return 0;
    case 1:                                     /* CLEAR_FEATURE */
    case 3:                                     /* SET_FEATURE */
        if (r->w_value != 0 || !ep1)            /* only ENDPOINT_HALT, not EP0 */
            return -1;
        s_halt(ep, r->b_request == 3);
        s_ep0_status_in();
        return 0;
    default:
        return -1;
    }
}

static int s_hid_class(void)
{
    const s_setup_t *r = &s_usb.req;
    if ((r->w_index & 0xFF) != 0)
        return -1;
    switch (r->b_request) {
    case 0x01:                                  /* GET_REPORT: the last input */
        s_ep0_send(s_usb.last_in, sizeof s_usb.last_in);
        return 0;
    case 0x02:                                  /* GET_IDLE */
        s_usb.reply[0] = s_usb.idle_rate;
        s_ep0_send(s_usb.reply, 1);
        return 0;
    case 0x03:                                  /* GET_PROTOCOL: report */
        s_usb.reply[0] = 1;
        s_ep0_send(s_usb.reply, 1);
        return 0;
    case 0x09:                                  /* SET_REPORT: data stage OUT */
        if (r->w_length == 0 || r->w_length > sizeof s_usb.out_buf)
            return -1;
        s_usb.out_len = 0;
        s_usb.ep0 = EP0_DATA_OUT;
        s_ep_set_rx(0, USB_STAT_VALID);
        return 0;
    case 0x0A:                                  /* SET_IDLE */
        s_usb.idle_rate = r->w_value >> 8;
        s_ep0_status_in();
        return 0;
    case 0x0B:                                  /* SET_PROTOCOL */
        s_ep0_status_in();
        return 0;
    default:
        return -1;
    }
}

static void s_ep0_setup(void)
{
    uint8_t b[8];
    s_pma_read(PMA_EP0_RX, b, sizeof b);
    s_ep_clear_ctr_rx(0);
    s_usb.req.bm_request_type = b[0];
    s_usb.req.b_request = b[1];
    s_usb.req.w_value = (uint16_t)(b[2] | b[3] << 8);
    s_usb.req.w_index = (uint16_t)(b[4] | b[5] << 8);
    s_usb.req.w_length = (uint16_t)(b[6] | b[7] << 8);
    s_usb.ep0 = EP0_IDLE;

    int rc;
    uint8_t type = (b[0] >> 5) & 3, recipient = b[0] & 0x1F;
    /* The direction bit must match the request: GET_* are device-to-host. */
    bool in = b[0] & 0x80;
    bool want_in = type == 0 ? (b[1] == 0 || b[1] == 6 || b[1] == 8 || b[1] == 10)
                             : (b[1] >= 0x01 && b[1] <= 0x03);
    if (in != want_in)
        rc = -1;
    else if (type == 0 && recipient == 0)
        rc = s_std_device();
    else if (type == 0 && recipient == 1)
        rc = s_std_interface();
    else if (type == 0 && recipient == 2)
        rc = s_std_endpoint();
    else if (type == 1 && recipient == 1)
        rc = s_hid_class();
    else
        rc = -1;
    if (rc != 0)
        s_ep0_stall();
}

static void s_ep0_rx(void)
{
    uint16_t n = BT_COUNT_RX(0) & 0x3FF;
    if (s_usb.ep0 == EP0_DATA_OUT) {
        uint16_t room = s_usb.req.w_length - s_usb.out_len;
        if (n > room)
            n = room;
        s_pma_read(PMA_EP0_RX, s_usb.out_buf + s_usb.out_len, n);
        s_usb.out_len += n;
        s_ep_clear_ctr_rx(0);
        if (s_usb.out_len >= s_usb.req.w_length || n < EP0_SIZE) {
            s_ep0_status_in();
            if (s_usb.events.out_report)
                s_usb.events.out_report(s_usb.events.ctx, s_usb.out_buf, s_usb.out_len);
        } else {
            s_ep_set_rx(0, USB_STAT_VALID);
        }
        return;
    }
    /* Status OUT of an IN transfer (or a stray packet): done. */
    s_ep_clear_ctr_rx(0);
    s_usb.ep0 = EP0_IDLE;
    s_ep_set_rx(0, USB_STAT_VALID);
}

static void s_ep0_tx(void)
{
    s_ep_clear_ctr_tx(0);
    switch (s_usb.ep0) {
    case EP0_DATA_IN:
        s_ep0_in_next();
        break;
    case EP0_LAST_IN:
        s_usb.ep0 = EP0_STATUS_OUT;
        break;
    case EP0_STATUS_IN:
        if (s_usb.pending_addr) {
            USB_DADDR = USB_DADDR_EF | s_usb.pending_addr;
            s_usb.pending_addr = 0;
        }
        s_usb.ep0 = EP0_IDLE;
        break;
    default:
        break;
    }
}

/* --- EP1 interrupt endpoints -------------------------------------------- */
int usbdev_send(const uint8_t report[DEVPROTO_REPORT_SIZE])
{
    if (!usbdev_online() || s_usb.tx_busy || s_usb.halt_in)
        return -1;
    memcpy(s_usb.last_in, report, DEVPROTO_REPORT_SIZE);
    s_pma_write(PMA_EP1_TX, report, DEVPROTO_REPORT_SIZE);
    BT_COUNT_TX(1) = DEVPROTO_REPORT_SIZE;
    s_usb.tx_busy = true;
    s_ep_set_tx(1, USB_STAT_VALID);
    return 0;
}

static void s_ep1(void)
{
    uint32_t r = usb_epr_read(1);
    if (r & USB_EP_CTR_TX) {
        s_ep_clear_ctr_tx(1);
        s_usb.tx_busy = false;
    }
    if (r & USB_EP_CTR_RX) {
        uint16_t n = BT_COUNT_RX(1) & 0x3FF;
        if (n > sizeof s_usb.rx_buf)
            n = sizeof s_usb.rx_buf;
        s_pma_read(PMA_EP1_RX, s_usb.rx_buf, n);
        s_ep_clear_ctr_rx(1);
        if (!s_usb.halt_out)
            s_ep_set_rx(1, USB_STAT_VALID);
        if (s_usb.events.out_report)
            s_usb.events.out_report(s_usb.events.ctx, s_usb.rx_buf, n);
    }
}

/* --- poll ------------------------------------------------------------------ */
void usbdev_poll(void)
{
    s_usb.wake = false;
    for (int round = 0; round < 16; round++) {
        uint32_t istr = usb_istr_read();
        if (istr & USB_ISTR_RESET) {
            usb_istr_write((uint16_t)~USB_ISTR_RESET);
            s_reset();
            continue;
        }
        if (istr & USB_ISTR_CTR) {
            uint32_t ep = istr & USB_ISTR_EPID;
            if (ep == 0) {
                uint32_t r = usb_epr_read(0);
                if (r & USB_EP_CTR_TX)
                    s_ep0_tx();
                if (r & USB_EP_CTR_RX) {
                    if (r & USB_EP_SETUP)
                        s_ep0_setup();
                    else
                        s_ep0_rx();
                }
            } else if (ep == 1) {
                s_ep1();
            } else {
                /* Not ours: clear whatever it flagged. */
                usb_epr_write(ep, usb_epr_read(ep) & USB_EP_RW_BITS);
            }
            continue;
        }
        if (istr & USB_ISTR_WKUP) {
            USB_CNTR &= ~(USB_CNTR_FSUSP | USB_CNTR_LPMODE);
            usb_istr_write((uint16_t)~USB_ISTR_WKUP);
            s_usb.suspended = false;
            continue;
        }
        if (istr & USB_ISTR_SUSP) {
            /* RM0008 §23.4.5: set FSUSP, then clear the flag. The clocks stay
             * on: the LCD and keys keep working in standalone mode. */
            USB_CNTR |= USB_CNTR_FSUSP;
            usb_istr_write((uint16_t)~USB_ISTR_SUSP);
            s_usb.suspended = true;
            continue;
        }
        break;
    }
    nvic_enable(USB_IRQ_LP);

    bool online = usbdev_online();
    if (online != s_usb.reported_online) {
        s_usb.reported_online = online;
        board_status_led(online);
        if (s_usb.events.online)
            s_usb.events.online(s_usb.events.ctx, online);
    }
}

/* --- start ------------------------------------------------------------------ */
void usbdev_init(const usbdev_events_t *events, const char *serial)
{
    memset(&s_usb, 0, sizeof s_usb);
    s_usb.events = *events;
    strncpy(s_usb.serial, serial, DEVPROTO_SERIAL_MAX);

#ifdef BOARD_USB_PULLUP_PIN
    const board_pin_t pullup = { BOARD_USB_PULLUP_PORT, BOARD_USB_PULLUP_PIN };
    board_pin_write(pullup, !BOARD_USB_PULLUP_ACTIVE_HIGH);
    board_pin_mode(pullup, GPIO_MODE_OUT_PP_2);
#endif
    /* Hold D+ low so the host sees a disconnect, even with a fixed pull-up
     * (after a reset without a power cycle the host would not re-enumerate). */
    const board_pin_t dp = BOARD_USB_DP;
    board_pin_write(dp, false);
    board_pin_mode(dp, GPIO_MODE_OUT_PP_2);
    board_delay_us(10000);
    board_pin_mode(dp, GPIO_MODE_IN_FLOAT);

    RCC_APB1ENR |= RCC_APB1ENR_USBEN;
    RCC_APB1RSTR |= RCC_APB1RSTR_USBRST;
    RCC_APB1RSTR &= ~RCC_APB1RSTR_USBRST;
    USB_CNTR = USB_CNTR_FRES;                   /* power up, still in reset */
    board_delay_us(2);                          /* tSTARTUP, 1 us */
    USB_CNTR = 0;
    usb_istr_write(0);
    s_reset();
    USB_CNTR = USB_CNTR_CTRM | USB_CNTR_RESETM | USB_CNTR_SUSPM | USB_CNTR_WKUPM;
    nvic_enable(USB_IRQ_LP);

#ifdef BOARD_USB_PULLUP_PIN
    board_pin_write(pullup, BOARD_USB_PULLUP_ACTIVE_HIGH);
#endif
}
