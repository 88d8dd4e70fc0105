/*  gw_command: strict decoding of bus device commands into devproto reports. */
#include "gw_command.h"

#include <stdio.h>
#include <string.h>

#include "eqms/clock.h"

static const char *s_prompts[] = { NULL, "welcome", "please_rate", "thanks", "error" };
static const char *s_refusals[] = { "none", "unknown_staff", "inactive",
                                    "logged_in_elsewhere" };

/* 1 if `v` is a string of 0..8 of [A-Z0-9] (no NUL inside); *t gets it. */
static int s_ticket_ok(const json_t *v, const char **t)
{
    *t = json_string_value(v);
    if (!*t || strlen(*t) != json_string_length(v) || strlen(*t) > DEVPROTO_TICKET_MAX)
        return 0;
    for (const char *c = *t; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')))
            return 0;
    return 1;
}

/* A teller's name (UTF-8) into a device's name field: GB2312, cut at a
 * character's end to DEVPROTO_NAME_BYTES (a name is data, not layout:
 * never refused for its length; *cut says it was cut). 0, or -1 with a
 * reason for text that is not UTF-8. */
static int s_name(gw_gb2312_t *gb, const char *utf8, uint8_t name[DEVPROTO_NAME_BYTES],
                  uint8_t *len, int *marked, int *cut, char why[GW_GB2312_REASON_SIZE])
{
    size_t n = 0;
    int rc = gw_gb2312_convert(gb, utf8, name, DEVPROTO_NAME_BYTES, &n, marked, 1, cut, why);
    *len = (uint8_t) n;
    return rc;
}

int gw_command_login_reply(gw_gb2312_t *gb, int accepted, const char *name,
                           int reason, devcodec_cmd_t *out, int *marked)
{
    char why[GW_GB2312_REASON_SIZE];
    memset(out, 0, sizeof *out);
    out->type = DEVPROTO_CMD_LOGIN_REPLY;
    out->u.login_reply.accepted = accepted ? 1 : 0;
    out->u.login_reply.reason = accepted ? 0 : (uint8_t) reason;
    *marked = 0;
    int cut;
    if (accepted && name
        && s_name(gb, name, out->u.login_reply.name, &out->u.login_reply.name_length,
                  marked, &cut, why) < 0)
        return -1;
    uint8_t buf[DEVPROTO_REPORT_SIZE];
    return devcodec_encode_cmd(out, buf) == DEVCODEC_OK ? 0 : -1;
}

static int s_text(const json_t *data, gw_gb2312_t *gb, gw_command_t *out,
                  char reason[ENVELOPE_REASON_SIZE])
{
    json_error_t err;
    const char *serial, *command, *target;
    json_t *lines;
    if (json_unpack_ex((json_t *) data, &err, JSON_STRICT, "{s:s, s:s, s:s, s:o}",
                       "serial", &serial, "command", &command, "target", &target,
                       "lines", &lines) < 0)
        return envelope_reject(reason, "text: %s", err.text);
    int tgt;
    if (strcmp(target, "now") == 0)
        tgt = 0;
    else if (strcmp(target, "idle") == 0)
        tgt = 1;
    else
        return envelope_reject(reason, "text: target must be \"now\" or \"idle\"");
    if (!json_is_array(lines) || json_array_size(lines) < 1
        || json_array_size(lines) > DEVPROTO_LINES)
        return envelope_reject(reason, "text: lines must be an array of 1..4 strings");
    for (size_t i = 0; i < json_array_size(lines); i++) {
        json_t *l = json_array_get(lines, i);
        const char *s = json_string_value(l);
        if (!s || strlen(s) != json_string_length(l))
            return envelope_reject(reason, "text: lines[%zu] is not a string", i);
        devcodec_cmd_t *c = &out->cmds[i];
        c->type = DEVPROTO_CMD_SET_TEXT;
        c->u.text.target = (uint8_t) tgt;
        c->u.text.line = (uint8_t) i;
        size_t len;
        int marked;
        char why[GW_GB2312_REASON_SIZE];
        if (gw_gb2312_convert(gb, s, c->u.text.text, DEVPROTO_LINE_BYTES, &len,
                              &marked, 0, NULL, why) < 0)
            return envelope_reject(reason, "text: lines[%zu]: %s", i, why);
        c->u.text.length = (uint8_t) len;
        out->marked += marked;
    }
    out->count = (int) json_array_size(lines);
    return 0;
}

static int s_config(const json_t *data, gw_command_t *out,
                    char reason[ENVELOPE_REASON_SIZE])
{
    json_error_t err;
    const char *serial, *command;
    int timeout, repeat;
    json_t *codes;
    if (json_unpack_ex((json_t *) data, &err, JSON_STRICT,
                       "{s:s, s:s, s:i, s:i, s:o}", "serial", &serial, "command",
                       &command, "rating_timeout_s", &timeout, "repeat_press_s",
                       &repeat, "key_codes", &codes) < 0)
        return envelope_reject(reason, "config: %s", err.text);
    if (timeout < 5 || timeout > 300)
        return envelope_reject(reason, "config: rating_timeout_s must be 5..300");
    if (repeat < 0 || repeat > 600)
        return envelope_reject(reason, "config: repeat_press_s must be 0..600");
    if (!json_is_array(codes) || json_array_size(codes) < 2
        || json_array_size(codes) > DEVPROTO_KEYS_MAX)
        return envelope_reject(reason, "config: key_codes must be an array of 2..6");
    devcodec_cmd_t *c = &out->cmds[0];
    c->type = DEVPROTO_CMD_SET_CONFIG;
    c->u.config.rating_timeout_s = (uint16_t) timeout;
    c->u.config.repeat_press_s = (uint16_t) repeat;
    c->u.config.key_count = (uint8_t) json_array_size(codes);
    unsigned seen = 0;
    for (size_t i = 0; i < json_array_size(codes); i++) {
        json_t *k = json_array_get(codes, i);
        json_int_t v = json_is_integer(k) ? json_integer_value(k) : -1;
        if (v < 1 || v > 6 || (seen & (1u << v)))
            return envelope_reject(reason, "config: key_codes[%zu] must be a distinct 1..6", i);
        seen |= 1u << v;
        c->u.config.key_codes[i] = (uint8_t) v;
    }
    out->count = 1;
    return 0;
}

/* staff: the teller the host logged in ("" = nobody). The name is cut to
 * the device's field, not refused; with nobody it is not used. */
static int s_staff(const json_t *data, gw_gb2312_t *gb, gw_command_t *out,
                   char reason[ENVELOPE_REASON_SIZE])
{
    json_error_t err;
    const char *serial, *command;
    json_t *jno, *jname;
    if (json_unpack_ex((json_t *) data, &err, JSON_STRICT, "{s:s, s:s, s:o, s:o}",
                       "serial", &serial, "command", &command, "employee_no", &jno,
                       "name", &jname) < 0)
        return envelope_reject(reason, "staff: %s", err.text);
    const char *no = json_string_value(jno), *name = json_string_value(jname);
    size_t n = no ? strlen(no) : 0;
    if (!no || n != json_string_length(jno) || n > DEVPROTO_EMPLOYEE_MAX
        || strspn(no, "0123456789") != n)
        return envelope_reject(reason, "staff: employee_no must be \"\" or 1..16 digits");
    if (!name || strlen(name) != json_string_length(jname))
        return envelope_reject(reason, "staff: name must be a string");
    if (strlen(name) > GW_COMMAND_NAME_MAX)
        return envelope_reject(reason, "staff: name must be at most %d bytes",
                               GW_COMMAND_NAME_MAX);
    devcodec_cmd_t *c = &out->cmds[0];
    c->type = DEVPROTO_CMD_SET_STAFF;
    c->u.set_staff.employee_length = (uint8_t) n;
    memcpy(c->u.set_staff.employee_no, no, n);
    char why[GW_GB2312_REASON_SIZE];
    int marked = 0;
    if (n && s_name(gb, name, c->u.set_staff.name, &c->u.set_staff.name_length, &marked,
                    &out->cut, why) < 0)
        return envelope_reject(reason, "staff: name: %s", why);
    out->marked += marked;
    out->count = 1;
    return 0;
}

int gw_command_decode(const json_t *data, gw_gb2312_t *gb, gw_command_t *out,
                      char reason[ENVELOPE_REASON_SIZE])
{
    json_error_t err;
    const char *serial, *command;
    memset(out, 0, sizeof *out);
    if (!json_is_object(data))
        return envelope_reject(reason, "command is not an object");
    if (json_unpack_ex((json_t *) data, &err, 0, "{s:s, s:s}", "serial", &serial,
                       "command", &command) < 0)
        return envelope_reject(reason, "%s", err.text);
    size_t sl = strlen(serial);
    if (sl < 1 || sl > DEVPROTO_SERIAL_MAX)
        return envelope_reject(reason, "serial must be 1..32 characters");
    for (size_t i = 0; i < sl; i++) {
        char ch = serial[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
              || (ch >= '0' && ch <= '9') || ch == '-'))
            return envelope_reject(reason, "serial must be of [A-Za-z0-9-]");
    }
    snprintf(out->serial, sizeof out->serial, "%s", serial);
    if (strlen(command) >= sizeof out->command)
        return envelope_reject(reason, "unknown command");
    snprintf(out->command, sizeof out->command, "%s", command);
    devcodec_cmd_t *c = &out->cmds[0];
    int rc;
    if (strcmp(command, "text") == 0) {
        rc = s_text(data, gb, out, reason);
    } else if (strcmp(command, "config") == 0) {
        rc = s_config(data, out, reason);
    } else if (strcmp(command, "stars") == 0) {
        int stars;
        rc = json_unpack_ex((json_t *) data, &err, JSON_STRICT, "{s:s, s:s, s:i}",
                            "serial", &serial, "command", &command, "stars", &stars);
        if (rc < 0)
            return envelope_reject(reason, "stars: %s", err.text);
        if (stars < 0 || stars > 5)
            return envelope_reject(reason, "stars: stars must be 0..5");
        c->type = DEVPROTO_CMD_SET_STARS;
        c->u.stars = (uint8_t) stars;
        out->count = 1;
    } else if (strcmp(command, "prompt") == 0) {
        const char *prompt;
        rc = json_unpack_ex((json_t *) data, &err, JSON_STRICT, "{s:s, s:s, s:s}",
                            "serial", &serial, "command", &command, "prompt", &prompt);
        if (rc < 0)
            return envelope_reject(reason, "prompt: %s", err.text);
        c->type = DEVPROTO_CMD_PLAY_PROMPT;
        for (int i = 1; i <= DEVPROTO_PROMPT_MAX; i++)
            if (strcmp(prompt, s_prompts[i]) == 0)
                c->u.prompt = (uint8_t) i;
        if (!c->u.prompt)
            return envelope_reject(reason, "prompt: prompt must be welcome, please_rate, "
                          "thanks or error");
        out->count = 1;
    } else if (strcmp(command, "ticket") == 0) {
        const char *ticket;
        json_t *jticket;
        int number;
        rc = json_unpack_ex((json_t *) data, &err, JSON_STRICT,
                            "{s:s, s:s, s:o, s:i}", "serial", &serial, "command",
                            &command, "ticket", &jticket, "window_number", &number);
        if (rc < 0)
            return envelope_reject(reason, "ticket: %s", err.text);
        if (!s_ticket_ok(jticket, &ticket))
            return envelope_reject(reason, "ticket: ticket must be 0..8 of [A-Z0-9]");
        if (number < 0 || number > 255)
            return envelope_reject(reason, "ticket: window_number must be 0..255");
        c->type = DEVPROTO_CMD_SHOW_TICKET;
        c->u.show_ticket.ticket_length = (uint8_t) strlen(ticket);
        memcpy(c->u.show_ticket.ticket, ticket, strlen(ticket));
        c->u.show_ticket.window_number = (uint8_t) number;
        out->count = 1;
    } else if (strcmp(command, "login_reply") == 0) {
        int accepted;
        const char *name, *why;
        rc = json_unpack_ex((json_t *) data, &err, JSON_STRICT,
                            "{s:s, s:s, s:b, s:s, s:s}", "serial", &serial,
                            "command", &command, "accepted", &accepted, "name",
                            &name, "reason", &why);
        if (rc < 0)
            return envelope_reject(reason, "login_reply: %s", err.text);
        int code = -1;
        for (int i = 0; i < 4; i++)
            if (strcmp(why, s_refusals[i]) == 0)
                code = i;
        if (code < 0 || (accepted != 0) != (code == 0))
            return envelope_reject(reason, "login_reply: reason must be \"none\" when accepted, "
                          "else unknown_staff, inactive or logged_in_elsewhere");
        size_t len;
        char gwhy[GW_GB2312_REASON_SIZE];
        c->type = DEVPROTO_CMD_LOGIN_REPLY;
        c->u.login_reply.accepted = (uint8_t) (accepted != 0);
        c->u.login_reply.reason = (uint8_t) code;
        int marked;
        if (gw_gb2312_convert(gb, name, c->u.login_reply.name, DEVPROTO_NAME_BYTES,
                              &len, &marked, 0, NULL, gwhy) < 0)
            return envelope_reject(reason, "login_reply: name: %s", gwhy);
        c->u.login_reply.name_length = (uint8_t) len;
        out->marked += marked;
        out->count = 1;
    } else if (strcmp(command, "staff") == 0) {
        rc = s_staff(data, gb, out, reason);
    } else if (strcmp(command, "rate") == 0) {
        const char *ticket;
        json_t *jticket;
        rc = json_unpack_ex((json_t *) data, &err, JSON_STRICT, "{s:s, s:s, s:o}",
                            "serial", &serial, "command", &command, "ticket", &jticket);
        if (rc < 0)
            return envelope_reject(reason, "rate: %s", err.text);
        if (!s_ticket_ok(jticket, &ticket))
            return envelope_reject(reason, "rate: ticket must be 0..8 of [A-Z0-9]");
        c->type = DEVPROTO_CMD_REQUEST_RATING;
        c->u.request_rating.ticket_length = (uint8_t) strlen(ticket);
        memcpy(c->u.request_rating.ticket, ticket, strlen(ticket));
        out->count = 1;
    } else if (strcmp(command, "time") == 0) {
        const char *ts;
        int64_t ms;
        rc = json_unpack_ex((json_t *) data, &err, JSON_STRICT, "{s:s, s:s, s:s}",
                            "serial", &serial, "command", &command, "time", &ts);
        if (rc < 0)
            return envelope_reject(reason, "time: %s", err.text);
        if (clock_parse_rfc3339(ts, &ms) < 0 || ms < 0)
            return envelope_reject(reason, "time: time must be RFC 3339 UTC with ms");
        c->type = DEVPROTO_CMD_SET_TIME;
        c->u.time_ms = (uint64_t) ms;
        out->count = 1;
    } else {
        return envelope_reject(reason, "unknown command \"%.32s\"", command);
    }
    if (rc < 0)
        return -1;
    for (int i = 0; i < out->count; i++) {
        uint8_t buf[DEVPROTO_REPORT_SIZE];
        devcodec_err_t e = devcodec_encode_cmd(&out->cmds[i], buf);
        if (e != DEVCODEC_OK)
            return envelope_reject(reason, "%s: %s", command, devcodec_strerror(e));
    }
    return 0;
}
