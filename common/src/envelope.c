/*  envelope: the bus envelope codec, strict decoding (envelope.h). */
#include "eqms/envelope.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/clock.h"
#include "eqms/jsonreq.h"

int envelope_reject(char reason[ENVELOPE_REASON_SIZE], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, ENVELOPE_REASON_SIZE, fmt, ap);
    va_end(ap);
    return -1;
}

/* True if s[0..len) is 1..maxsegs dot-separated segments of 1..maxseg chars
 * of [a-z0-9_], each starting with a letter when first_alpha is set. */
static int s_segments_valid(const char *s, size_t len, int maxsegs, int maxseg,
                            int first_alpha)
{
    int segs = 0, seglen = 0;
    if (len == 0)
        return 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? s[i] : '.';
        if (c == '.') {
            if (seglen == 0 || ++segs > maxsegs)
                return 0;
            seglen = 0;
            continue;
        }
        int alpha = c >= 'a' && c <= 'z';
        int other = (c >= '0' && c <= '9') || c == '_';
        if (!alpha && !(other && !(first_alpha && seglen == 0)))
            return 0;
        if (++seglen > maxseg)
            return 0;
    }
    return 1;
}

int envelope_type_valid(const char *type)
{
    size_t len = type ? strlen(type) : 0;
    return len <= ENVELOPE_TYPE_MAX && s_segments_valid(type, len, 4, 32, 1);
}

int envelope_org_path_valid(const char *path, size_t len)
{
    return path && s_segments_valid(path, len, 16, 32, 0);
}

/* Producer ids: 1..64 of [A-Za-z0-9._:-], e.g. "device-gateway.b0042". */
int envelope_src_valid(const char *src)
{
    size_t len = strlen(src);
    if (len == 0 || len > ENVELOPE_SRC_MAX)
        return 0;
    return strspn(src, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789._:-") == len;
}

int envelope_topic_check(const char *topic, size_t len, const char *type,
                         char reason[ENVELOPE_REASON_SIZE])
{
    size_t tlen = strlen(type);
    if (len > ENVELOPE_TOPIC_MAX) {
        envelope_reject(reason, "topic is %zu bytes, limit %d", len, ENVELOPE_TOPIC_MAX);
        return -1;
    }
    if (len <= tlen + 1 || memcmp(topic, type, tlen) != 0 || topic[tlen] != '.') {
        envelope_reject(reason, "topic does not start with the envelope type '%s.'", type);
        return -1;
    }
    if (!envelope_org_path_valid(topic + tlen + 1, len - tlen - 1)) {
        envelope_reject(reason, "topic has a malformed org path");
        return -1;
    }
    return 0;
}

envelope_t *envelope_new(const char *type, const char *src, int64_t seq,
                         json_t **data_p)
{
    json_t *data = *data_p;
    *data_p = NULL;
    envelope_t *self = NULL;
    if (!json_is_object(data) || !envelope_type_valid(type) || !src
        || !envelope_src_valid(src) || seq < 0)
        goto err;
    self = calloc(1, sizeof *self);
    if (!self || id_new(self->id) != 0)
        goto err;
    strcpy(self->type, type);
    strcpy(self->src, src);
    self->ts_ms = clock_now_ms();
    self->seq = seq;
    self->data = data;
    return self;
err:
    free(self);
    json_decref(data);
    return NULL;
}

envelope_t *envelope_decode(const void *buf, size_t len,
                            char reason[ENVELOPE_REASON_SIZE])
{
    json_error_t error;
    json_t *root = NULL;
    envelope_t *self = NULL;
    const char *id, *type, *ts, *src;
    json_int_t version, seq;
    json_t *data;

    root = jsonreq_load_object(buf, len, ENVELOPE_MAX_BYTES, "envelope", reason,
                               ENVELOPE_REASON_SIZE);
    if (!root)
        goto err;
    /* The version first, so that a newer producer gets a clear answer. */
    json_t *v = json_object_get(root, "v");
    if (!json_is_integer(v)) {
        envelope_reject(reason, "member 'v' is missing or not an integer");
        goto err;
    }
    if (json_integer_value(v) != ENVELOPE_VERSION) {
        envelope_reject(reason, "unsupported envelope version %" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        goto err;
    }
    if (json_unpack_ex(root, &error, JSON_STRICT, "{s:I, s:s, s:s, s:s, s:s, s:I, s:o}",
                       "v", &version, "id", &id, "type", &type, "ts", &ts,
                       "src", &src, "seq", &seq, "data", &data) != 0) {
        envelope_reject(reason, "bad envelope: %s", error.text);
        goto err;
    }
    if (!id_valid(id)) {
        envelope_reject(reason, "member 'id' is not a lowercase UUID");
        goto err;
    }
    if (!id_v7(id)) {
        envelope_reject(reason, "member 'id' is not a UUIDv7 (version 7, variant 10)");
        goto err;
    }
    if (!envelope_type_valid(type)) {
        envelope_reject(reason, "member 'type' is malformed");
        goto err;
    }
    if (!envelope_src_valid(src)) {
        envelope_reject(reason, "member 'src' is malformed");
        goto err;
    }
    if (seq < 0) {
        envelope_reject(reason, "member 'seq' is negative");
        goto err;
    }
    if (!json_is_object(data)) {
        envelope_reject(reason, "member 'data' is not an object");
        goto err;
    }
    self = calloc(1, sizeof *self);
    if (!self) {
        envelope_reject(reason, "out of memory");
        goto err;
    }
    if (clock_parse_rfc3339(ts, &self->ts_ms) != 0) {
        envelope_reject(reason, "member 'ts' is not an RFC 3339 UTC time with milliseconds");
        goto err;
    }
    strcpy(self->id, id);
    strcpy(self->type, type);
    strcpy(self->src, src);
    self->seq = seq;
    self->data = json_incref(data);
    json_decref(root);
    return self;
err:
    free(self);
    json_decref(root);
    return NULL;
}

char *envelope_encode(const envelope_t *self, size_t *len)
{
    char ts[CLOCK_RFC3339_SIZE];
    if (clock_format_rfc3339(self->ts_ms, ts) != 0)
        return NULL;
    json_t *root = json_pack("{s:i, s:s, s:s, s:s, s:s, s:I, s:O}", "v",
                             ENVELOPE_VERSION, "id", self->id, "type", self->type,
                             "ts", ts, "src", self->src, "seq",
                             (json_int_t) self->seq, "data", self->data);
    if (!root)
        return NULL;
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text)
        return NULL;
    *len = strlen(text);
    if (*len > ENVELOPE_MAX_BYTES) {
        free(text);
        return NULL;
    }
    return text;
}

char *envelope_encode_jsonw(const char *type, const char *src, int64_t seq,
                            const jsonw_t *data, size_t *len, char id_out[ID_SIZE])
{
    static const char data_key[] = ",\"data\":";
    size_t data_len;
    const char *data_text = data ? jsonw_text(data, &data_len) : NULL;
    if (!data_text || !envelope_type_valid(type) || !src || !envelope_src_valid(src)
        || seq < 0)
        return NULL;
    char id[ID_SIZE], ts[CLOCK_RFC3339_SIZE];
    if (id_new(id) != 0 || clock_format_rfc3339(clock_now_ms(), ts) != 0)
        return NULL;
    /* The fixed members through a writer on the stack (type and src are
     * plain ASCII by their grammar, so it cannot fail), then "data". */
    char head_buf[256];
    jsonw_t head;
    jsonw_init(&head, head_buf, sizeof head_buf);
    jsonw_int(&head, "v", ENVELOPE_VERSION);
    jsonw_str(&head, "id", id);
    jsonw_str(&head, "type", type);
    jsonw_str(&head, "ts", ts);
    jsonw_str(&head, "src", src);
    jsonw_int(&head, "seq", seq);
    size_t head_len;
    if (jsonw_finish(&head) != 0 || !jsonw_text(&head, &head_len))
        return NULL;
    head_len--;   /* drop the closing '}': data follows */
    size_t total = head_len + sizeof data_key - 1 + data_len + 1;
    if (total > ENVELOPE_MAX_BYTES)
        return NULL;
    char *text = malloc(total + 1);
    if (!text)
        return NULL;
    char *p = text;
    memcpy(p, head_buf, head_len);
    p += head_len;
    memcpy(p, data_key, sizeof data_key - 1);
    p += sizeof data_key - 1;
    memcpy(p, data_text, data_len);
    p += data_len;
    *p++ = '}';
    *p = '\0';
    *len = total;
    if (id_out)
        memcpy(id_out, id, ID_SIZE);
    return text;
}

void envelope_destroy(envelope_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    json_decref((*self_p)->data);
    free(*self_p);
    *self_p = NULL;
}
