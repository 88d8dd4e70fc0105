/*  usbemu: emulated USB rating devices on a umockdev testbed (see usbemu.h). */
#include "usbemu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/usbdevice_fs.h>
#include <sys/ioctl.h>
#include <umockdev.h>

#include "eqms/devproto.h"
#include "eqms/log.h"

#define USB_SPEED_FULL_ 2         /* USBDEVFS_GET_SPEED value of full speed */
#define URB_SETUP_SIZE 8

/* One URB the client submitted, kept until it is reaped. */
typedef struct urb_s {
    UMockdevIoctlData *data;      /* the usbdevfs_urb, resolved; owns the buffer */
    UMockdevIoctlClient *client;  /* the usbfs handle that submitted it (ref) */
    struct urb_s *next;
} urb_t;

/* One plug-in of a device: a node, a handler, its clients' URBs. Kept until
 * usbemu_destroy, since a client may still talk to it after an unplug. */
typedef struct link_s {
    usbemu_t *emu;
    size_t index;
    unsigned busnum, devnum;
    char devnode[64];             /* /dev/bus/usb/BBB/DDD */
    char syspath[128];            /* /sys/devices/... */
    UMockdevIoctlBase *handler;
    int fifo_fd;                  /* our end of the node: readiness byte */
    bool ready;                   /* POLLOUT shown to clients */
    bool gone;                    /* unplugged */
    GPtrArray *clients;           /* open usbfs handles (refs) */
    urb_t *pending;               /* IN URBs waiting for data */
    urb_t *done;                  /* completed, waiting to be reaped (FIFO) */
    struct link_s *next;          /* all links ever made */
} link_t;

typedef struct {
    bool defined;
    char serial[DEVPROTO_SERIAL_MAX + 1];
    usbemu_dev_ops_t ops;
    link_t *link;                 /* NULL while unplugged */
    uint8_t in_buf[DEVPROTO_REPORT_SIZE];
    size_t in_len;                /* 0: endpoint buffer empty */
    uint64_t in_reports, out_reports, ioctls;
} slot_t;

struct usbemu_t {
    UMockdevTestbed *testbed;
    char *root;
    GRecMutex lock;
    size_t max;
    slot_t *slots;
    link_t *links;
    uint8_t next_devnum[256];     /* per bus: last number given */
    bool auto_add_uevent;         /* the testbed sends "add" itself (preload loaded) */
};

/* --- descriptors ---------------------------------------------------------- */

static const uint8_t s_report_desc[] = {
    0x06, 0x00, 0xFF,             /* usage page (vendor 0xFF00) */
    0x09, 0x01,                   /* usage 1 */
    0xA1, 0x01,                   /* collection (application) */
    0x09, 0x02, 0x15, 0x00, 0x26, 0xFF, 0x00, 0x75, 0x08, 0x95, 0x40,
    0x81, 0x02,                   /* input: 64 bytes */
    0x09, 0x03, 0x15, 0x00, 0x26, 0xFF, 0x00, 0x75, 0x08, 0x95, 0x40,
    0x91, 0x02,                   /* output: 64 bytes */
    0xC0
};

#define CONFIG_TOTAL (9 + 9 + 9 + 7 + 7)

static size_t s_device_desc(uint8_t d[18])
{
    const uint8_t dev[18] = {
        18, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 64,
        DEVPROTO_VID & 0xFF, DEVPROTO_VID >> 8, DEVPROTO_PID & 0xFF, DEVPROTO_PID >> 8,
        0x00, 0x01, 1, 2, 3, 1
    };
    memcpy(d, dev, sizeof dev);
    return sizeof dev;
}

static size_t s_config_desc(uint8_t c[CONFIG_TOTAL])
{
    const uint8_t cfg[CONFIG_TOTAL] = {
        9, 0x02, CONFIG_TOTAL, 0, 1, 1, 0, 0x80, 50,
        9, 0x04, 0, 0, 2, 0x03, 0x00, 0x00, 0,
        9, 0x21, 0x11, 0x01, 0x00, 1, 0x22, sizeof s_report_desc, 0,
        7, 0x05, DEVPROTO_EP_IN, 0x03, DEVPROTO_REPORT_SIZE, 0, DEVPROTO_INTERVAL_MS,
        7, 0x05, DEVPROTO_EP_OUT, 0x03, DEVPROTO_REPORT_SIZE, 0, DEVPROTO_INTERVAL_MS
    };
    memcpy(c, cfg, sizeof cfg);
    return sizeof cfg;
}

size_t usbemu_descriptors(uint8_t *buf, size_t size)
{
    uint8_t all[18 + CONFIG_TOTAL];
    s_device_desc(all);
    s_config_desc(all + 18);
    size_t n = size < sizeof all ? size : sizeof all;
    memcpy(buf, all, n);
    return n;
}

/* A string descriptor (index 0: languages) in UTF-16LE; returns its length. */
static size_t s_string_desc(const slot_t *slot, uint8_t index, uint8_t out[256])
{
    const char *text;
    if (index == 0) {
        out[0] = 4; out[1] = 0x03; out[2] = 0x09; out[3] = 0x04;
        return 4;
    }
    if (index == 1)
        text = "EQMS";
    else if (index == 2)
        text = "EQMS rating device";
    else if (index == 3)
        text = slot->serial;
    else
        return 0;
    size_t n = strlen(text);
    out[0] = (uint8_t) (2 + 2 * n);
    out[1] = 0x03;
    for (size_t i = 0; i < n; i++) {
        out[2 + 2 * i] = (uint8_t) text[i];
        out[3 + 2 * i] = 0;
    }
    return 2 + 2 * n;
}

/* Answers a control request. `data` holds wLength bytes (OUT: the data
 * stage). Returns bytes for an IN request, 0 for OUT, -EPIPE to stall. */
static int s_control(usbemu_t *self, link_t *l, const uint8_t setup[8], uint8_t *data)
{
    slot_t *slot = &self->slots[l->index];
    uint8_t type = setup[0], req = setup[1];
    unsigned value = setup[2] | setup[3] << 8, windex = setup[4] | setup[5] << 8;
    unsigned wlength = setup[6] | setup[7] << 8;
    uint8_t tmp[256];
    size_t n = 0;
    (void) windex;

    if (type == 0x80 && req == 0x06) {                 /* GET_DESCRIPTOR */
        uint8_t dtype = (uint8_t) (value >> 8), dindex = (uint8_t) value;
        if (dtype == 0x01)
            n = s_device_desc(tmp);
        else if (dtype == 0x02 && dindex == 0)
            n = s_config_desc(tmp);
        else if (dtype == 0x03)
            n = s_string_desc(slot, dindex, tmp);
        if (n == 0)
            return -EPIPE;
    } else if (type == 0x81 && req == 0x06) {          /* interface: HID class descriptors */
        if (value >> 8 == 0x22) {
            n = sizeof s_report_desc;
            memcpy(tmp, s_report_desc, n);
        } else if (value >> 8 == 0x21) {
            uint8_t cfg[CONFIG_TOTAL];
            s_config_desc(cfg);
            n = 9;
            memcpy(tmp, cfg + 18, n);
        } else {
            return -EPIPE;
        }
    } else if (type == 0x80 && req == 0x08) {          /* GET_CONFIGURATION */
        tmp[0] = 1;
        n = 1;
    } else if ((type & 0x80) && req == 0x00) {         /* GET_STATUS */
        tmp[0] = tmp[1] = 0;
        n = 2;
    } else if (type == 0x00 && req == 0x09) {          /* SET_CONFIGURATION */
        if (value > 1)
            return -EPIPE;
        if (value == 1 && slot->ops.connected)
            slot->ops.connected(slot->ops.ctx, true);
        return 0;
    } else if (type == 0x01 && req == 0x0B) {          /* SET_INTERFACE */
        return value == 0 ? 0 : -EPIPE;
    } else if (type == 0x21 && (req == 0x0A || req == 0x0B)) {  /* SET_IDLE, SET_PROTOCOL */
        return 0;
    } else if (type == 0x21 && req == 0x09) {          /* HID SET_REPORT: an OUT report */
        slot->out_reports++;
        if (slot->ops.out_report)
            slot->ops.out_report(slot->ops.ctx, data, wlength);
        return 0;
    } else if (type == 0xA1 && req == 0x01) {          /* HID GET_REPORT: the IN buffer */
        memset(tmp, 0, DEVPROTO_REPORT_SIZE);
        memcpy(tmp, slot->in_buf, slot->in_len);
        n = DEVPROTO_REPORT_SIZE;
    } else if (type == 0xA1 && (req == 0x02 || req == 0x03)) {  /* GET_IDLE, GET_PROTOCOL */
        tmp[0] = req == 0x03 ? 1 : 0;
        n = 1;
    } else {
        return -EPIPE;
    }
    if (n > wlength)
        n = wlength;
    memcpy(data, tmp, n);
    return (int) n;
}

/* --- URB queues (lock held) ----------------------------------------------- */

static struct usbdevfs_urb *s_urb(urb_t *u)
{
    return (struct usbdevfs_urb *) u->data->data;
}

static void s_urb_free(urb_t *u)
{
    g_object_unref(u->data);
    g_object_unref(u->client);
    g_free(u);
}

/* Shows POLLOUT to clients exactly while a URB waits to be reaped. */
static void s_update_ready(link_t *l)
{
    bool ready = l->done != NULL;
    if (ready == l->ready)
        return;
    if (ready) {
        uint8_t b;
        if (read(l->fifo_fd, &b, 1) != 1)
            log_warn("usbemu_fifo", "node=%s op=read errno=%d", l->devnode, errno);
    } else if (write(l->fifo_fd, "w", 1) != 1) {
        log_warn("usbemu_fifo", "node=%s op=write errno=%d", l->devnode, errno);
    }
    l->ready = ready;
}

static void s_push_done(link_t *l, urb_t *u)
{
    urb_t **pp = &l->done;
    while (*pp)
        pp = &(*pp)->next;
    u->next = NULL;
    *pp = u;
    s_update_ready(l);
}

static void s_prune(link_t *l);

/* Copies the endpoint buffer into the oldest IN URB. */
static void s_deliver_in(usbemu_t *self, link_t *l)
{
    slot_t *slot = &self->slots[l->index];
    if (slot->in_len > 0 && l->pending)
        s_prune(l);
    while (slot->in_len > 0 && l->pending) {
        urb_t *u = l->pending;
        l->pending = u->next;
        if (!umockdev_ioctl_client_get_connected(u->client)) {
            s_urb_free(u);
            continue;
        }
        struct usbdevfs_urb *urb = s_urb(u);
        size_t n = slot->in_len;
        if ((size_t) urb->buffer_length < n)
            n = (size_t) urb->buffer_length;
        memcpy(urb->buffer, slot->in_buf, n);
        urb->actual_length = (int) n;
        urb->status = 0;
        slot->in_len = 0;
        slot->in_reports++;
        s_push_done(l, u);
    }
}

static void s_drop_client(link_t *l, UMockdevIoctlClient *client)
{
    urb_t **lists[2] = { &l->pending, &l->done };
    for (int i = 0; i < 2; i++) {
        urb_t **pp = lists[i];
        while (*pp) {
            urb_t *u = *pp;
            if (u->client == client) {
                *pp = u->next;
                s_urb_free(u);
            } else {
                pp = &u->next;
            }
        }
    }
    s_update_ready(l);
}

/* Forgets clients whose usbfs handle was closed (or whose process died),
 * with their URBs. umockdev sends no signal for that: we look. */
static void s_prune(link_t *l)
{
    for (guint i = 0; i < l->clients->len;) {
        UMockdevIoctlClient *c = g_ptr_array_index(l->clients, i);
        if (umockdev_ioctl_client_get_connected(c)) {
            i++;
            continue;
        }
        s_drop_client(l, c);
        g_ptr_array_remove_index_fast(l->clients, i);
        log_debug("usbemu_close", "node=%s", l->devnode);
    }
}

/* --- ioctls (worker thread) ------------------------------------------------ */

static UMockdevIoctlData *s_resolve(UMockdevIoctlData *data, size_t offset, size_t len)
{
    GError *err = NULL;
    UMockdevIoctlData *d = umockdev_ioctl_data_resolve(data, offset, len, &err);
    if (err) {
        log_warn("usbemu_resolve", "reason=\"%s\"", err->message);
        g_error_free(err);
        return NULL;
    }
    return d;
}

/* Reads or writes the unsigned int an ioctl argument points to. */
static int s_arg_uint(UMockdevIoctlData *arg, unsigned *value)
{
    UMockdevIoctlData *d = s_resolve(arg, 0, sizeof(unsigned));
    if (!d)
        return -1;
    memcpy(value, d->data, sizeof *value);
    g_object_unref(d);
    return 0;
}

static int s_submit(usbemu_t *self, link_t *l, UMockdevIoctlClient *client,
                    UMockdevIoctlData *arg)
{
    UMockdevIoctlData *ud = s_resolve(arg, 0, sizeof(struct usbdevfs_urb));
    if (!ud)
        return EFAULT;
    struct usbdevfs_urb *urb = (struct usbdevfs_urb *) ud->data;
    if (urb->buffer_length < 0 || urb->buffer_length > 4096) {
        g_object_unref(ud);
        return EINVAL;
    }
    if (urb->buffer_length > 0) {
        UMockdevIoctlData *bd = s_resolve(ud, offsetof(struct usbdevfs_urb, buffer),
                                          (size_t) urb->buffer_length);
        if (!bd) {
            g_object_unref(ud);
            return EFAULT;
        }
        g_object_unref(bd);   /* ud keeps it; urb->buffer now points at its data */
    }
    urb_t *u = g_new0(urb_t, 1);
    u->data = ud;
    u->client = g_object_ref(client);
    urb->status = 0;
    urb->actual_length = 0;
    slot_t *slot = &self->slots[l->index];

    if (urb->type == USBDEVFS_URB_TYPE_CONTROL && (urb->endpoint & 0x7F) == 0) {
        if (urb->buffer_length < URB_SETUP_SIZE) {
            s_urb_free(u);
            return EINVAL;
        }
        uint8_t *b = urb->buffer;
        unsigned wlength = b[6] | b[7] << 8;
        if (wlength > (unsigned) urb->buffer_length - URB_SETUP_SIZE) {
            s_urb_free(u);
            return EINVAL;
        }
        int r = s_control(self, l, b, b + URB_SETUP_SIZE);
        if (r < 0)
            urb->status = r;
        else
            urb->actual_length = (b[0] & 0x80) ? r : (int) wlength;
        s_push_done(l, u);
        return 0;
    }
    if (urb->type != USBDEVFS_URB_TYPE_INTERRUPT && urb->type != USBDEVFS_URB_TYPE_BULK) {
        s_urb_free(u);
        return EINVAL;
    }
    if (urb->endpoint == DEVPROTO_EP_IN) {
        urb_t **pp = &l->pending;
        while (*pp)
            pp = &(*pp)->next;
        *pp = u;
        s_deliver_in(self, l);
        return 0;
    }
    if (urb->endpoint == DEVPROTO_EP_OUT) {
        slot->out_reports++;
        if (slot->ops.out_report)
            slot->ops.out_report(slot->ops.ctx, urb->buffer, (size_t) urb->buffer_length);
        urb->actual_length = urb->buffer_length;
        s_push_done(l, u);
        return 0;
    }
    s_urb_free(u);
    return ENOENT;
}

static int s_reap(link_t *l, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    urb_t **pp = &l->done;
    while (*pp && (*pp)->client != client)
        pp = &(*pp)->next;
    if (!*pp)
        return l->gone ? ENODEV : EAGAIN;
    UMockdevIoctlData *p = s_resolve(arg, 0, sizeof(void *));
    if (!p)
        return EFAULT;
    urb_t *u = *pp;
    *pp = u->next;
    umockdev_ioctl_data_set_ptr(p, 0, u->data);
    g_object_unref(p);
    s_urb_free(u);
    s_update_ready(l);
    return 0;
}

static int s_discard(link_t *l, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
    gulong addr;
    memcpy(&addr, arg->data, sizeof addr);
    for (urb_t **pp = &l->pending; *pp; pp = &(*pp)->next) {
        urb_t *u = *pp;
        if (u->client == client && u->data->client_addr == addr) {
            *pp = u->next;
            s_urb(u)->status = -ENOENT;
            s_urb(u)->actual_length = 0;
            s_push_done(l, u);
            return 0;
        }
    }
    return EINVAL;
}

/* Runs one ioctl; returns its result (>= 0) or -errno. */
static long s_ioctl(usbemu_t *self, link_t *l, UMockdevIoctlClient *client)
{
    gulong req = umockdev_ioctl_client_get_request(client);
    UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
    unsigned v;
    int e;

    if (!l->gone)
        self->slots[l->index].ioctls++;
    /* the usbdevfs numbers are not constant expressions to C: no switch */
    if (req == (gulong) USBDEVFS_REAPURBNDELAY || req == (gulong) USBDEVFS_REAPURB) {
        e = s_reap(l, client, arg);
        return e ? -e : 0;
    }
    if (req == (gulong) USBDEVFS_DISCARDURB) {
        e = s_discard(l, client, arg);
        return e ? -e : 0;
    }
    if (l->gone)
        return -ENODEV;
    if (req == (gulong) USBDEVFS_SUBMITURB) {
        e = s_submit(self, l, client, arg);
        return e ? -e : 0;
    }
    if (req == (gulong) USBDEVFS_GET_CAPABILITIES) {
        UMockdevIoctlData *d = s_resolve(arg, 0, sizeof(uint32_t));
        if (!d)
            return -EFAULT;
        uint32_t caps = USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
                        USBDEVFS_CAP_REAP_AFTER_DISCONNECT;
        memcpy(d->data, &caps, sizeof caps);
        g_object_unref(d);
        return 0;
    }
    if (req == (gulong) USBDEVFS_CLAIMINTERFACE || req == (gulong) USBDEVFS_RELEASEINTERFACE) {
        if (s_arg_uint(arg, &v) < 0)
            return -EFAULT;
        return v == 0 ? 0 : -ENOENT;
    }
    if (req == (gulong) USBDEVFS_DISCONNECT_CLAIM) {
        UMockdevIoctlData *d = s_resolve(arg, 0, sizeof(struct usbdevfs_disconnect_claim));
        if (!d)
            return -EFAULT;
        unsigned iface = ((struct usbdevfs_disconnect_claim *) d->data)->interface;
        g_object_unref(d);
        return iface == 0 ? 0 : -ENOENT;
    }
    if (req == (gulong) USBDEVFS_SETINTERFACE) {
        UMockdevIoctlData *d = s_resolve(arg, 0, sizeof(struct usbdevfs_setinterface));
        if (!d)
            return -EFAULT;
        struct usbdevfs_setinterface si;
        memcpy(&si, d->data, sizeof si);
        g_object_unref(d);
        return si.interface == 0 && si.altsetting == 0 ? 0 : -EINVAL;
    }
    if (req == (gulong) USBDEVFS_SETCONFIGURATION) {
        if (s_arg_uint(arg, &v) < 0)
            return -EFAULT;
        int cfg = (int) v;
        if (cfg != 1 && cfg != 0 && cfg != -1)
            return -EINVAL;
        slot_t *slot = &self->slots[l->index];
        if (cfg == 1 && slot->ops.connected)
            slot->ops.connected(slot->ops.ctx, true);
        return 0;
    }
    if (req == (gulong) USBDEVFS_CLEAR_HALT || req == (gulong) USBDEVFS_RESETEP) {
        if (s_arg_uint(arg, &v) < 0)
            return -EFAULT;
        return v == DEVPROTO_EP_IN || v == DEVPROTO_EP_OUT || v == 0 ? 0 : -ENOENT;
    }
    if (req == (gulong) USBDEVFS_RESET) {
        /* a bus reset: the firmware sees the host go and configure it again */
        slot_t *slot = &self->slots[l->index];
        slot->in_len = 0;
        if (slot->ops.connected) {
            slot->ops.connected(slot->ops.ctx, false);
            slot->ops.connected(slot->ops.ctx, true);
        }
        return 0;
    }
    if (req == (gulong) USBDEVFS_GET_SPEED)
        return USB_SPEED_FULL_;
    if (req == (gulong) USBDEVFS_CONNECTINFO) {
        UMockdevIoctlData *d = s_resolve(arg, 0, sizeof(struct usbdevfs_connectinfo));
        if (!d)
            return -EFAULT;
        struct usbdevfs_connectinfo ci = { .devnum = l->devnum, .slow = 0 };
        memcpy(d->data, &ci, sizeof ci);
        g_object_unref(d);
        return 0;
    }
    if (req == (gulong) USBDEVFS_GETDRIVER)
        return -ENODATA;
    if (req == (gulong) USBDEVFS_IOCTL) {
        UMockdevIoctlData *d = s_resolve(arg, 0, sizeof(struct usbdevfs_ioctl));
        if (!d)
            return -EFAULT;
        int code = ((struct usbdevfs_ioctl *) d->data)->ioctl_code;
        g_object_unref(d);
        return code == (int) USBDEVFS_DISCONNECT || code == (int) USBDEVFS_CONNECT
               ? -ENODATA : -ENOTTY;
    }
    if (req == (gulong) USBDEVFS_CONTROL) {
        UMockdevIoctlData *d = s_resolve(arg, 0, sizeof(struct usbdevfs_ctrltransfer));
        if (!d)
            return -EFAULT;
        struct usbdevfs_ctrltransfer *ct = (struct usbdevfs_ctrltransfer *) d->data;
        uint8_t setup[8] = { ct->bRequestType, ct->bRequest,
                             (uint8_t) ct->wValue, (uint8_t) (ct->wValue >> 8),
                             (uint8_t) ct->wIndex, (uint8_t) (ct->wIndex >> 8),
                             (uint8_t) ct->wLength, (uint8_t) (ct->wLength >> 8) };
        uint8_t scratch[256] = { 0 };
        uint8_t *buf = scratch;
        UMockdevIoctlData *bd = NULL;
        if (ct->wLength > 0) {
            bd = s_resolve(d, offsetof(struct usbdevfs_ctrltransfer, data), ct->wLength);
            if (!bd) {
                g_object_unref(d);
                return -EFAULT;
            }
            buf = bd->data;
        }
        int r = s_control(self, l, setup, buf);
        if (bd)
            g_object_unref(bd);
        g_object_unref(d);
        return r;
    }
    return -ENOTTY;
}

static gboolean s_on_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client,
                           gpointer user)
{
    link_t *l = user;
    (void) handler;
    usbemu_lock(l->emu);
    s_prune(l);
    long r = s_ioctl(l->emu, l, client);
    usbemu_unlock(l->emu);
    if (r < 0)
        umockdev_ioctl_client_complete(client, -1, (int) -r);
    else
        umockdev_ioctl_client_complete(client, r, 0);
    return TRUE;
}

static void s_on_client(UMockdevIoctlBase *handler, UMockdevIoctlClient *client,
                        gpointer user)
{
    link_t *l = user;
    (void) handler;
    usbemu_lock(l->emu);
    s_prune(l);
    g_ptr_array_add(l->clients, g_object_ref(client));
    usbemu_unlock(l->emu);
    log_debug("usbemu_open", "node=%s", l->devnode);
}

/* --- testbed ---------------------------------------------------------------- */

usbemu_t *usbemu_new(size_t max_devices)
{
    usbemu_t *self = g_new0(usbemu_t, 1);
    g_rec_mutex_init(&self->lock);
    self->max = max_devices;
    self->slots = g_new0(slot_t, max_devices ? max_devices : 1);
    self->testbed = umockdev_testbed_new();
    if (!self->testbed) {
        log_error("usbemu_testbed", "reason=\"cannot create umockdev testbed\"");
        goto err;
    }
    self->root = umockdev_testbed_get_root_dir(self->testbed);
    /* with the preload in this process too (main re-executes with it) the
     * testbed sees its own sysfs: uevents work, and adding sends "add" */
    self->auto_add_uevent = umockdev_in_mock_environment();
    if (!self->auto_add_uevent)
        log_warn("usbemu_no_preload", "reason=\"libumockdev-preload.so.0 not loaded: no hotplug uevents\"");
    return self;
err:
    usbemu_destroy(&self);
    return NULL;
}

void usbemu_destroy(usbemu_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    usbemu_t *self = *self_p;
    for (size_t i = 0; i < self->max; i++)
        if (self->slots[i].link)
            usbemu_unplug(self, i);
    usbemu_lock(self);
    for (link_t *l = self->links; l; l = l->next)
        g_signal_handlers_disconnect_by_data(l->handler, l);
    usbemu_unlock(self);
    if (self->testbed)
        g_object_unref(self->testbed);
    while (self->links) {
        link_t *l = self->links;
        self->links = l->next;
        while (l->pending) {
            urb_t *u = l->pending;
            l->pending = u->next;
            s_urb_free(u);
        }
        while (l->done) {
            urb_t *u = l->done;
            l->done = u->next;
            s_urb_free(u);
        }
        g_object_unref(l->handler);
        g_ptr_array_free(l->clients, TRUE);
        if (l->fifo_fd >= 0)
            close(l->fifo_fd);
        g_free(l);
    }
    g_free(self->root);
    g_free(self->slots);
    g_rec_mutex_clear(&self->lock);
    g_free(self);
    *self_p = NULL;
}

const char *usbemu_dir(const usbemu_t *self)
{
    return self->root;
}

void usbemu_lock(usbemu_t *self)
{
    g_rec_mutex_lock(&self->lock);
}

void usbemu_unlock(usbemu_t *self)
{
    g_rec_mutex_unlock(&self->lock);
}

int usbemu_define(usbemu_t *self, size_t index, const char *serial,
                  const usbemu_dev_ops_t *ops)
{
    if (index >= self->max || !serial || !*serial || strlen(serial) > DEVPROTO_SERIAL_MAX)
        return -1;
    for (const char *p = serial; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '-')
            return -1;
    slot_t *slot = &self->slots[index];
    snprintf(slot->serial, sizeof slot->serial, "%s", serial);
    slot->ops = *ops;
    slot->defined = true;
    return 0;
}

bool usbemu_plugged(usbemu_t *self, size_t index)
{
    usbemu_lock(self);
    bool r = index < self->max && self->slots[index].link != NULL;
    usbemu_unlock(self);
    return r;
}

/* Picks the next free device number 2..127 on a bus. */
static unsigned s_devnum(usbemu_t *self, unsigned bus)
{
    for (int tries = 0; tries < 126; tries++) {
        unsigned n = self->next_devnum[bus] + 1u;
        if (n < 2 || n > 127)
            n = 2;
        self->next_devnum[bus] = (uint8_t) n;
        bool used = false;
        for (size_t i = 0; i < self->max; i++) {
            link_t *l = self->slots[i].link;
            if (l && l->busnum == bus && l->devnum == n)
                used = true;
        }
        if (!used)
            return n;
    }
    return 0;
}

/* The device node: a FIFO of one pipe buffer holding one byte (no POLLOUT). */
static int s_make_node(usbemu_t *self, link_t *l)
{
    char path[512], dir[512];
    snprintf(path, sizeof path, "%s%s", self->root, l->devnode);
    snprintf(dir, sizeof dir, "%s/dev/bus/usb/%03u", self->root, l->busnum);
    if (g_mkdir_with_parents(dir, 0755) < 0 || (mkfifo(path, 0666) < 0 && errno != EEXIST)) {
        log_error("usbemu_node", "path=%s errno=%d", path, errno);
        return -1;
    }
    l->fifo_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (l->fifo_fd < 0) {
        log_error("usbemu_node", "path=%s op=open errno=%d", path, errno);
        return -1;
    }
    if (fcntl(l->fifo_fd, F_SETPIPE_SZ, 4096) < 0)
        log_warn("usbemu_node", "path=%s op=setpipe_sz errno=%d", path, errno);
    if (write(l->fifo_fd, "w", 1) != 1) {
        log_error("usbemu_node", "path=%s op=write errno=%d", path, errno);
        return -1;
    }
    l->ready = false;
    return 0;
}

int usbemu_plug(usbemu_t *self, size_t index)
{
    if (index >= self->max || !self->slots[index].defined)
        return -1;
    slot_t *slot = &self->slots[index];
    usbemu_lock(self);
    if (slot->link) {
        usbemu_unlock(self);
        return -1;
    }
    unsigned bus = 1 + (unsigned) (index / 64), port = 1 + (unsigned) (index % 64);
    unsigned devnum = s_devnum(self, bus);
    usbemu_unlock(self);
    if (devnum == 0)
        return -1;

    link_t *l = g_new0(link_t, 1);
    l->emu = self;
    l->index = index;
    l->busnum = bus;
    l->devnum = devnum;
    l->fifo_fd = -1;
    snprintf(l->devnode, sizeof l->devnode, "/dev/bus/usb/%03u/%03u", bus, devnum);
    snprintf(l->syspath, sizeof l->syspath, "/sys/devices/pci0000:00/0000:00:14.0/usb%u/%u-%u",
             bus, bus, port);
    l->clients = g_ptr_array_new_with_free_func(g_object_unref);
    l->handler = umockdev_ioctl_base_new();
    g_signal_connect(l->handler, "handle-ioctl", G_CALLBACK(s_on_ioctl), l);
    g_signal_connect(l->handler, "client-connected", G_CALLBACK(s_on_client), l);
    usbemu_lock(self);
    l->next = self->links;
    self->links = l;
    usbemu_unlock(self);

    if (s_make_node(self, l) < 0)
        return -1;
    GError *err = NULL;
    if (!umockdev_testbed_attach_ioctl(self->testbed, l->devnode, l->handler, &err)) {
        log_error("usbemu_attach", "node=%s reason=\"%s\"", l->devnode,
                  err ? err->message : "?");
        g_clear_error(&err);
        return -1;
    }

    uint8_t desc[18 + CONFIG_TOTAL];
    size_t dlen = usbemu_descriptors(desc, sizeof desc);
    GString *s = g_string_new(NULL);
    unsigned minor = (bus - 1) * 128 + (devnum - 1);
    g_string_append_printf(s,
        "P: %s\n"
        "E: DEVNAME=%s\nE: DEVTYPE=usb_device\nE: DRIVER=usb\nE: SUBSYSTEM=usb\n"
        "E: PRODUCT=%x/%x/100\nE: TYPE=0/0/0\nE: BUSNUM=%03u\nE: DEVNUM=%03u\n"
        "E: MAJOR=189\nE: MINOR=%u\nE: ID_SERIAL_SHORT=%s\n"
        "A: dev=189:%u\nA: busnum=%u\nA: devnum=%u\nA: speed=12\nA: devpath=%u\n"
        "A: idVendor=%04x\nA: idProduct=%04x\nA: bcdDevice=0100\nA: bDeviceClass=00\n"
        "A: bDeviceSubClass=00\nA: bDeviceProtocol=00\nA: bMaxPacketSize0=64\n"
        "A: bNumConfigurations=1\nA: bConfigurationValue=1\nA: bNumInterfaces= 1\n"
        "A: bmAttributes=80\nA: bMaxPower=100mA\nA: version= 2.00\nA: maxchild=0\n"
        "A: manufacturer=EQMS\nA: product=EQMS rating device\nA: serial=%s\n"
        "A: removable=removable\nA: authorized=1\nA: avoid_reset_quirk=0\nA: quirks=0x0\n"
        "A: ltm_capable=no\nA: urbnum=0\nA: rx_lanes=1\nA: tx_lanes=1\n"
        "H: descriptors=",
        l->syspath + 4, l->devnode, DEVPROTO_VID, DEVPROTO_PID, bus, devnum, minor,
        slot->serial, minor, bus, devnum, port, DEVPROTO_VID, DEVPROTO_PID, slot->serial);
    for (size_t i = 0; i < dlen; i++)
        g_string_append_printf(s, "%02X", desc[i]);
    g_string_append(s, "\n");
    gboolean ok = umockdev_testbed_add_from_string(self->testbed, s->str, &err);
    g_string_free(s, TRUE);
    if (!ok) {
        log_error("usbemu_add", "node=%s reason=\"%s\"", l->devnode, err ? err->message : "?");
        g_clear_error(&err);
        umockdev_testbed_detach_ioctl(self->testbed, l->devnode, NULL);
        return -1;
    }

    usbemu_lock(self);
    slot->link = l;
    slot->in_len = 0;
    if (slot->ops.connected)
        slot->ops.connected(slot->ops.ctx, true);
    usbemu_unlock(self);
    if (!self->auto_add_uevent)
        umockdev_testbed_uevent(self->testbed, l->syspath, "add");
    log_info("usb_plug", "index=%zu serial=%s node=%s", index, slot->serial, l->devnode);
    return 0;
}

int usbemu_unplug(usbemu_t *self, size_t index)
{
    if (index >= self->max)
        return -1;
    slot_t *slot = &self->slots[index];
    usbemu_lock(self);
    link_t *l = slot->link;
    if (!l) {
        usbemu_unlock(self);
        return -1;
    }
    usbemu_unlock(self);
    umockdev_testbed_uevent(self->testbed, l->syspath, "remove");

    usbemu_lock(self);
    slot->link = NULL;
    l->gone = true;
    slot->in_len = 0;
    while (l->pending) {
        urb_t *u = l->pending;
        l->pending = u->next;
        s_urb(u)->status = -ESHUTDOWN;
        s_urb(u)->actual_length = 0;
        s_push_done(l, u);
    }
    if (slot->ops.connected)
        slot->ops.connected(slot->ops.ctx, false);
    usbemu_unlock(self);

    umockdev_testbed_detach_ioctl(self->testbed, l->devnode, NULL);
    umockdev_testbed_remove_device(self->testbed, l->syspath);
    log_info("usb_unplug", "index=%zu serial=%s node=%s", index, slot->serial, l->devnode);
    return 0;
}

int usbemu_send_in(usbemu_t *self, size_t index, const uint8_t *report, size_t len)
{
    if (index >= self->max || len > DEVPROTO_REPORT_SIZE || len == 0)
        return -1;
    slot_t *slot = &self->slots[index];
    if (!slot->link || slot->in_len > 0)
        return -1;
    memcpy(slot->in_buf, report, len);
    slot->in_len = len;
    s_deliver_in(self, slot->link);
    return 0;
}

usbemu_stats_t usbemu_stats(usbemu_t *self, size_t index)
{
    usbemu_stats_t st = { 0 };
    if (index >= self->max)
        return st;
    usbemu_lock(self);
    slot_t *slot = &self->slots[index];
    st.in_reports = slot->in_reports;
    st.out_reports = slot->out_reports;
    st.ioctls = slot->ioctls;
    if (slot->link) {
        st.busnum = slot->link->busnum;
        st.devnum = slot->link->devnum;
        s_prune(slot->link);
        st.clients = slot->link->clients->len;
        for (urb_t *u = slot->link->pending; u; u = u->next)
            st.pending_in++;
    }
    usbemu_unlock(self);
    return st;
}
