/*  devcore_state: the contents of devcore_t, so that a port or a test can
 *  allocate one statically. Only devcore.c touches the fields; everyone else
 *  uses the devcore_* functions. Included at the end of devcore.h.
 */
#ifndef EQMS_DEVCORE_STATE_H
#define EQMS_DEVCORE_STATE_H

#include <stdbool.h>
#include <stdint.h>

#include "devcore_config.h"
#include "devring.h"
#include "devtext.h"

struct devcore_t {
    devcore_board_t board;
    uint32_t boot;                  /* random id of this power-up */
    uint32_t origin_ms;             /* clock at init: uptime 0 */
    uint32_t now_ms;                /* last time seen */
    uint8_t keys_fitted;            /* rating keys on the board, 2..6 */
    uint16_t caps;                  /* DEVPROTO_CAP_* */

    devproto_state_t state;
    uint32_t state_since_ms;        /* when the state was entered */

    /* keys: raw level as scanned, debounced level, time of the last raw change */
    uint8_t key_raw[DEVCORE_KEY_COUNT];
    uint8_t key_stable[DEVCORE_KEY_COUNT];
    uint32_t key_changed_ms[DEVCORE_KEY_COUNT];

    /* configuration (SET_CONFIG) */
    uint32_t rating_timeout_ms;
    uint32_t repeat_press_ms;
    uint8_t key_count;              /* rating keys in use */
    uint8_t key_codes[DEVPROTO_KEYS_MAX];

    /* staff */
    uint8_t login_phase;            /* devcore.c: S_LOGIN_* */
    uint32_t login_sent_ms;
    bool logout_pending;            /* a late refusal arrived during a service */
    uint8_t refusal_reason;         /* its devproto_refusal_t */
    uint8_t input_len;              /* digits typed at the keypad */
    char input[DEVPROTO_EMPLOYEE_MAX];
    uint8_t staff_len;              /* employee number logged in (or logging in) */
    char staff_no[DEVPROTO_EMPLOYEE_MAX];
    uint8_t name_len;               /* from LOGIN_REPLY, GB2312 */
    uint8_t name[DEVPROTO_NAME_BYTES];
    uint16_t served;                /* services ended since login */
    uint8_t pause_digit;            /* reason typed before Pause, 0 = none */
    uint8_t pause_reason;           /* reason of the current pause */

    /* service */
    devproto_show_ticket_t shown;   /* SHOW_TICKET: the ticket called */
    uint8_t svc_ticket_len;         /* ticket of the service started */
    char svc_ticket[DEVPROTO_TICKET_MAX];
    uint32_t svc_start_ms;
    uint32_t svc_ms;                /* Start -> End of the service to rate */
    bool rated_recently;            /* inside the repeat-press interval */
    uint32_t rated_ms;

    /* display */
    devtext_line_t lcd[DEVPROTO_LINES];       /* what the LCD shows now */
    bool lcd_valid;
    devtext_line_t idle_text[DEVPROTO_LINES]; /* SET_TEXT target 1 */
    devtext_line_t temp_text[DEVPROTO_LINES]; /* SET_TEXT target 0, until the state changes */
    uint8_t temp_mask;
    devtext_line_t labels[DEVPROTO_KEYS_MAX]; /* SET_LABEL: each rating key's, in key order */
    uint8_t label_shown;                      /* key whose label shows while a rating is awaited */
    uint32_t label_since_ms;
    devtext_line_t msg[2];                    /* a message over the screen */
    bool msg_active;
    uint32_t msg_since_ms;
    uint8_t stars;
    bool time_valid;                /* SET_TIME: wall clock at time_at_ms */
    uint64_t time_ms;
    uint32_t time_at_ms;

    /* USB */
    bool connected;
    bool hello_pending;
    bool heartbeat_pending;
    uint32_t heartbeat_ms;          /* last heartbeat (or connect) */
    uint8_t warn_sent;              /* ring level last warned about: 0, 1 (80 %), 2 (full) */
    uint32_t tx_seq;                /* next stored event to send */
    bool ack_waiting;
    uint32_t ack_since_ms;
    uint32_t ack_timeout_ms;        /* doubles per resend */
    devring_t ring;

    devcore_stats_t stats;
};

#endif
