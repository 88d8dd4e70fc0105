/*  gw_registry: the branch's device registry from the bus, cached on disk. */
#include "gw_registry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eqms/clock.h"
#include "eqms/log.h"

struct gw_registry_t {
    char branch[GW_REGISTRY_PATH_MAX + 1];
    char *cache_path;
    char *cache_tmp;
    char *dir;
    bool loaded;
    bool has_staff;
    gw_registry_device_t *devices;
    size_t device_count;
    gw_registry_staff_t *staff;
    size_t staff_count;
};

static bool s_serial_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 4 || n > DEVPROTO_SERIAL_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
              || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

static bool s_code_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > GW_REGISTRY_CODE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')
              || s[i] == '_'))
            return false;
    return true;
}

static bool s_digits(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* A string member fits `max` bytes and holds no NUL or control character. */
static bool s_text_ok(const json_t *str, size_t min, size_t max)
{
    const char *s = json_string_value(str);
    size_t n = json_string_length(str);
    if (!s || n != strlen(s) || n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7F)
            return false;
    return true;
}

static int s_decode_device(const gw_registry_t *self, const json_t *j, size_t idx,
                           gw_registry_device_t *d,
                           char reason[ENVELOPE_REASON_SIZE])
{
    json_error_t err;
    const char *serial;
    json_t *window, *scale, *idle;
    int timeout, repeat;
    memset(d, 0, sizeof *d);
    if (json_unpack_ex((json_t *) j, &err, JSON_STRICT, "{s:s, s:o, s:o, s:i, s:i, s:o}",
                       "serial", &serial, "window", &window, "scale", &scale,
                       "rating_timeout_s", &timeout, "repeat_press_s", &repeat,
                       "idle_text", &idle) < 0)
        return envelope_reject(reason, "devices[%zu]: %s", idx, err.text);
    if (!s_serial_valid(serial))
        return envelope_reject(reason, "devices[%zu]: serial is not 4..32 of [A-Za-z0-9-]", idx);
    snprintf(d->serial, sizeof d->serial, "%s", serial);
    if (!json_is_null(window)) {
        json_int_t id;
        int number;
        const char *code, *path;
        if (json_unpack_ex(window, &err, JSON_STRICT, "{s:I, s:i, s:s, s:s}", "id",
                           &id, "number", &number, "code", &code, "path", &path) < 0)
            return envelope_reject(reason, "devices[%zu].window: %s", idx, err.text);
        if (id < 1)
            return envelope_reject(reason, "devices[%zu].window.id must be >= 1", idx);
        if (number < 1 || number > 999)
            return envelope_reject(reason, "devices[%zu].window.number must be 1..999", idx);
        if (!s_code_valid(code))
            return envelope_reject(reason, "devices[%zu].window.code is malformed", idx);
        char want[GW_REGISTRY_PATH_MAX + 2];
        int n = snprintf(want, sizeof want, "%s.%s", self->branch, code);
        if (n < 0 || (size_t) n > GW_REGISTRY_PATH_MAX || strcmp(path, want) != 0
            || !envelope_org_path_valid(path, strlen(path)))
            return envelope_reject(reason, "devices[%zu].window.path must be the branch path "
                          "followed by the window code", idx);
        d->assigned = true;
        d->window_id = id;
        d->window_number = number;
        snprintf(d->window_code, sizeof d->window_code, "%s", code);
        snprintf(d->window_path, sizeof d->window_path, "%s", path);
    }
    const char *scode;
    json_t *options;
    if (json_unpack_ex(scale, &err, JSON_STRICT, "{s:s, s:o}", "code", &scode,
                       "options", &options) < 0)
        return envelope_reject(reason, "devices[%zu].scale: %s", idx, err.text);
    if (!s_code_valid(scode))
        return envelope_reject(reason, "devices[%zu].scale.code is malformed", idx);
    snprintf(d->scale_code, sizeof d->scale_code, "%s", scode);
    if (!json_is_array(options) || json_array_size(options) < 2
        || json_array_size(options) > DEVPROTO_KEYS_MAX)
        return envelope_reject(reason, "devices[%zu].scale.options must be an array of 2..6",
                      idx);
    unsigned seen = 0;
    for (size_t i = 0; i < json_array_size(options); i++) {
        json_t *o = json_array_get(options, i), *label;
        int code;
        double score;
        if (json_unpack_ex(o, &err, JSON_STRICT, "{s:i, s:o, s:F}", "code", &code,
                           "label", &label, "score", &score) < 0)
            return envelope_reject(reason, "devices[%zu].scale.options[%zu]: %s", idx, i,
                          err.text);
        if (code < 1 || code > 6 || (seen & (1u << code)))
            return envelope_reject(reason, "devices[%zu].scale.options[%zu].code must be a "
                          "distinct 1..6", idx, i);
        seen |= 1u << code;
        if (!s_text_ok(label, 1, GW_REGISTRY_LABEL_MAX))
            return envelope_reject(reason, "devices[%zu].scale.options[%zu].label must be "
                          "1..%d bytes of text", idx, i, GW_REGISTRY_LABEL_MAX);
        if (!(score >= 0 && score <= 5))
            return envelope_reject(reason, "devices[%zu].scale.options[%zu].score must be "
                          "0..5", idx, i);
        d->options[i].code = (uint8_t) code;
        snprintf(d->options[i].label, sizeof d->options[i].label, "%s",
                 json_string_value(label));
        d->options[i].score = score;
    }
    d->option_count = (int) json_array_size(options);
    if (timeout < 5 || timeout > 300)
        return envelope_reject(reason, "devices[%zu].rating_timeout_s must be 5..300", idx);
    if (repeat < 0 || repeat > 600)
        return envelope_reject(reason, "devices[%zu].repeat_press_s must be 0..600", idx);
    d->rating_timeout_s = timeout;
    d->repeat_press_s = repeat;
    if (!json_is_array(idle) || json_array_size(idle) > DEVPROTO_LINES)
        return envelope_reject(reason, "devices[%zu].idle_text must be an array of 0..4 "
                      "strings", idx);
    for (size_t i = 0; i < json_array_size(idle); i++) {
        json_t *line = json_array_get(idle, i);
        if (!json_is_string(line) || !s_text_ok(line, 0, GW_REGISTRY_TEXT_MAX))
            return envelope_reject(reason, "devices[%zu].idle_text[%zu] must be 0..%d bytes "
                          "of text", idx, i, GW_REGISTRY_TEXT_MAX);
        snprintf(d->idle_text[i], sizeof d->idle_text[i], "%s",
                 json_string_value(line));
    }
    d->idle_lines = (int) json_array_size(idle);
    return 0;
}

/* Decodes into fresh arrays; on success they are handed to the caller. */
static int s_decode(const gw_registry_t *self, const json_t *data,
                    gw_registry_device_t **devices_p, size_t *dcount,
                    gw_registry_staff_t **staff_p, size_t *scount, bool *has_staff,
                    char reason[ENVELOPE_REASON_SIZE])
{
    json_error_t err;
    const char *branch, *generated;
    json_t *devices, *staff = NULL;
    gw_registry_device_t *dv = NULL;
    gw_registry_staff_t *sv = NULL;
    int64_t ms;
    if (!json_is_object(data))
        return envelope_reject(reason, "snapshot is not an object");
    if (json_unpack_ex((json_t *) data, &err, JSON_STRICT, "{s:s, s:s, s:o, s?o}",
                       "branch", &branch, "generated", &generated, "devices",
                       &devices, "staff", &staff) < 0)
        return envelope_reject(reason, "snapshot: %s", err.text);
    if (strcmp(branch, self->branch) != 0)
        return envelope_reject(reason, "snapshot is for branch '%.64s', not this gateway's",
                      branch);
    if (clock_parse_rfc3339(generated, &ms) < 0)
        return envelope_reject(reason, "snapshot.generated is not an RFC 3339 UTC time");
    if (!json_is_array(devices) || json_array_size(devices) > GW_REGISTRY_DEVICES_MAX)
        return envelope_reject(reason, "snapshot.devices must be an array of at most %d",
                      GW_REGISTRY_DEVICES_MAX);
    size_t nd = json_array_size(devices);
    dv = calloc(nd ? nd : 1, sizeof *dv);
    if (!dv)
        return envelope_reject(reason, "out of memory");
    for (size_t i = 0; i < nd; i++) {
        if (s_decode_device(self, json_array_get(devices, i), i, &dv[i], reason) < 0)
            goto err;
        for (size_t k = 0; k < i; k++) {
            if (strcmp(dv[k].serial, dv[i].serial) == 0) {
                envelope_reject(reason, "devices[%zu]: serial %s is listed twice", i,
                       dv[i].serial);
                goto err;
            }
            if (dv[i].assigned && dv[k].assigned && dv[k].window_id == dv[i].window_id) {
                envelope_reject(reason, "devices[%zu]: window %lld has two devices", i,
                       (long long) dv[i].window_id);
                goto err;
            }
        }
    }
    size_t ns = 0;
    if (staff) {
        if (!json_is_array(staff) || json_array_size(staff) > GW_REGISTRY_STAFF_MAX) {
            envelope_reject(reason, "snapshot.staff must be an array of at most %d",
                   GW_REGISTRY_STAFF_MAX);
            goto err;
        }
        ns = json_array_size(staff);
        sv = calloc(ns ? ns : 1, sizeof *sv);
        if (!sv) {
            envelope_reject(reason, "out of memory");
            goto err;
        }
        for (size_t i = 0; i < ns; i++) {
            const char *no;
            json_t *name;
            int active;
            if (json_unpack_ex(json_array_get(staff, i), &err, JSON_STRICT,
                               "{s:s, s:o, s:b}", "employee_no", &no, "name", &name,
                               "active", &active) < 0) {
                envelope_reject(reason, "staff[%zu]: %s", i, err.text);
                goto err;
            }
            if (!s_digits(no, DEVPROTO_EMPLOYEE_MAX)) {
                envelope_reject(reason, "staff[%zu].employee_no must be 1..16 digits", i);
                goto err;
            }
            if (!s_text_ok(name, 1, GW_REGISTRY_NAME_MAX)) {
                envelope_reject(reason, "staff[%zu].name must be 1..%d bytes of text", i,
                       GW_REGISTRY_NAME_MAX);
                goto err;
            }
            snprintf(sv[i].employee_no, sizeof sv[i].employee_no, "%s", no);
            snprintf(sv[i].name, sizeof sv[i].name, "%s", json_string_value(name));
            sv[i].active = active;
        }
    }
    *devices_p = dv;
    *dcount = nd;
    *staff_p = sv;
    *scount = ns;
    *has_staff = staff != NULL;
    return 0;
err:
    free(dv);
    free(sv);
    return -1;
}

static int s_write_cache(const gw_registry_t *self, const json_t *data)
{
    if (!self->cache_path)
        return 0;
    char *text = json_dumps(data, JSON_COMPACT);
    if (!text)
        return -1;
    int rc = -1;
    size_t n = strlen(text), off = 0;
    int fd = open(self->cache_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        goto done;
    while (off < n) {
        ssize_t w = write(fd, text + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto done;
        off += (size_t) w;
    }
    if (fsync(fd) < 0)
        goto done;
    close(fd);
    fd = -1;
    if (rename(self->cache_tmp, self->cache_path) < 0)
        goto done;
    int dfd = open(self->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    rc = 0;
done:
    if (rc < 0) {
        log_error("registry_cache_write_failed", "path=%s error=\"%s\"",
                  self->cache_path, strerror(errno));
        unlink(self->cache_tmp);
    }
    if (fd >= 0)
        close(fd);
    free(text);
    return rc;
}

static int s_replace(gw_registry_t *self, const json_t *data,
                     char reason[ENVELOPE_REASON_SIZE])
{
    gw_registry_device_t *dv = NULL;
    gw_registry_staff_t *sv = NULL;
    size_t nd = 0, ns = 0;
    bool has_staff = false;
    if (s_decode(self, data, &dv, &nd, &sv, &ns, &has_staff, reason) < 0)
        return -1;
    free(self->devices);
    free(self->staff);
    self->devices = dv;
    self->device_count = nd;
    self->staff = sv;
    self->staff_count = ns;
    self->has_staff = has_staff;
    self->loaded = true;
    return 0;
}

gw_registry_t *gw_registry_new(const char *branch, const char *dir)
{
    gw_registry_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (!branch || strlen(branch) > GW_REGISTRY_PATH_MAX - 33
        || !envelope_org_path_valid(branch, strlen(branch)))
        goto err;
    snprintf(self->branch, sizeof self->branch, "%s", branch);
    if (dir) {
        self->dir = strdup(dir);
        if (!self->dir || asprintf(&self->cache_path, "%s/registry.json", dir) < 0
            || asprintf(&self->cache_tmp, "%s/registry.json.tmp", dir) < 0) {
            self->cache_path = self->cache_tmp = NULL;
            goto err;
        }
        json_error_t jerr;
        json_t *cached = json_load_file(self->cache_path, JSON_REJECT_DUPLICATES, &jerr);
        char reason[ENVELOPE_REASON_SIZE];
        if (!cached) {
            if (access(self->cache_path, F_OK) == 0)
                log_warn("registry_cache_bad", "path=%s reason=\"%s\"",
                         self->cache_path, jerr.text);
        } else if (s_replace(self, cached, reason) < 0) {
            log_warn("registry_cache_bad", "path=%s reason=\"%s\"", self->cache_path,
                     reason);
        } else {
            log_info("registry_cache_loaded", "path=%s devices=%zu staff=%zu",
                     self->cache_path, self->device_count, self->staff_count);
        }
        json_decref(cached);
    }
    return self;
err:
    gw_registry_destroy(&self);
    return NULL;
}

void gw_registry_destroy(gw_registry_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gw_registry_t *self = *self_p;
    free(self->devices);
    free(self->staff);
    free(self->cache_path);
    free(self->cache_tmp);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

int gw_registry_apply(gw_registry_t *self, const json_t *data,
                      char reason[ENVELOPE_REASON_SIZE])
{
    if (s_replace(self, data, reason) < 0)
        return -1;
    s_write_cache(self, data);
    return 0;
}

bool gw_registry_loaded(const gw_registry_t *self)
{
    return self->loaded;
}

const gw_registry_device_t *gw_registry_find(const gw_registry_t *self,
                                             const char *serial)
{
    for (size_t i = 0; i < self->device_count; i++)
        if (strcmp(self->devices[i].serial, serial) == 0)
            return self->devices[i].assigned ? &self->devices[i] : NULL;
    return NULL;
}

bool gw_registry_has_staff(const gw_registry_t *self)
{
    return self->has_staff;
}

const gw_registry_staff_t *gw_registry_staff(const gw_registry_t *self,
                                             const char *employee_no)
{
    for (size_t i = 0; i < self->staff_count; i++)
        if (strcmp(self->staff[i].employee_no, employee_no) == 0)
            return &self->staff[i];
    return NULL;
}

const gw_registry_option_t *gw_registry_option(const gw_registry_device_t *dev,
                                               int code)
{
    if (!dev)
        return NULL;
    for (int i = 0; i < dev->option_count; i++)
        if (dev->options[i].code == code)
            return &dev->options[i];
    return NULL;
}

bool gw_registry_device_same(const gw_registry_device_t *a,
                             const gw_registry_device_t *b)
{
    if (!a || !b)
        return a == b;
    if (a->assigned != b->assigned || a->window_id != b->window_id
        || a->window_number != b->window_number
        || strcmp(a->window_path, b->window_path) != 0
        || strcmp(a->scale_code, b->scale_code) != 0
        || a->option_count != b->option_count
        || a->rating_timeout_s != b->rating_timeout_s
        || a->repeat_press_s != b->repeat_press_s || a->idle_lines != b->idle_lines)
        return false;
    for (int i = 0; i < a->option_count; i++)
        if (a->options[i].code != b->options[i].code
            || a->options[i].score != b->options[i].score
            || strcmp(a->options[i].label, b->options[i].label) != 0)
            return false;
    for (int i = 0; i < a->idle_lines; i++)
        if (strcmp(a->idle_text[i], b->idle_text[i]) != 0)
            return false;
    return true;
}

const char *gw_registry_branch(const gw_registry_t *self)
{
    return self->branch;
}

size_t gw_registry_count(const gw_registry_t *self)
{
    return self->device_count;
}
