/*  sn_kannel: the provider for Kannel's HTTP sendsms interface (sn_provider.h).
 *
 *  GET <url>?username&password&from&to&text&coding&charset=UTF-8
 *            &dlr-mask=31&dlr-url=<the notifier's URL>&type=%d
 *  coding 0 (GSM 7-bit) or 2 (UCS-2, Chinese) as sn_sms plans the text;
 *  Kannel cuts a long text into concatenated parts itself. Its answers
 *  (docs/development.md, "Kannel in tests and make run"): 202 "0: Accepted
 *  for delivery" or "3: Queued for later delivery" (held in its store);
 *  403 "Not routable. Do not try again." is final; any other answer, a
 *  refused connection or a timeout is tried again (a wrong password or a
 *  missing sender is the configuration's fault: the messages wait until it
 *  is fixed instead of being lost).
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/log.h"
#include "sn_provider.h"
#include "sn_sms.h"

#define S_ANSWER_MAX 256

typedef struct {
    CURL *curl;                 /* one connection, kept alive */
    char *url, *username, *password, *sender;
    char answer[S_ANSWER_MAX];
    size_t answer_len;
} s_kannel_t;

static size_t s_write(char *data, size_t size, size_t n, void *arg)
{
    s_kannel_t *self = arg;
    size_t len = size * n;
    size_t room = sizeof self->answer - 1 - self->answer_len;
    size_t take = len < room ? len : room;
    memcpy(self->answer + self->answer_len, data, take);
    self->answer_len += take;
    self->answer[self->answer_len] = '\0';
    return len;
}

static void s_close(void *state)
{
    s_kannel_t *self = state;
    if (!self)
        return;
    if (self->curl)
        curl_easy_cleanup(self->curl);
    free(self->url);
    free(self->username);
    free(self->password);
    free(self->sender);
    free(self);
}

static void *s_open(const sn_provider_config_t *config)
{
    if (!config->url || strncmp(config->url, "http", 4) != 0 || !config->sender
        || !*config->sender) {
        log_error("sms_provider_config", "provider=kannel reason=\"a sendsms URL "
                  "(http://...) and a sender are needed\"");
        return NULL;
    }
    s_kannel_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->curl = curl_easy_init();
    self->url = strdup(config->url);
    self->username = strdup(config->username ? config->username : "");
    self->password = strdup(config->password ? config->password : "");
    self->sender = strdup(config->sender);
    if (!self->curl || !self->url || !self->username || !self->password || !self->sender) {
        s_close(self);
        return NULL;
    }
    long timeout = config->timeout_ms > 0 ? config->timeout_ms : 5000;
    curl_easy_setopt(self->curl, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(self->curl, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(self->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(self->curl, CURLOPT_WRITEFUNCTION, s_write);
    curl_easy_setopt(self->curl, CURLOPT_WRITEDATA, self);
    return self;
}

/* Appends "&name=<value escaped>" to the URL being built. -1 if it failed. */
static int s_param(CURL *curl, char **url, size_t *len, const char *name, const char *value)
{
    char *escaped = curl_easy_escape(curl, value, 0);
    if (!escaped)
        return -1;
    size_t add = strlen(name) + strlen(escaped) + 2;
    char *grown = realloc(*url, *len + add + 1);
    if (grown) {
        snprintf(grown + *len, add + 1, "%c%s=%s", strchr(grown, '?') ? '&' : '?', name,
                 escaped);
        *len += add;
        *url = grown;
    }
    curl_free(escaped);
    return grown ? 0 : -1;
}

static char *s_request_url(s_kannel_t *self, const sn_message_t *msg, bool ucs2)
{
    size_t len = strlen(self->url);
    char *url = strdup(self->url);
    if (!url)
        return NULL;
    if (s_param(self->curl, &url, &len, "username", self->username) != 0
        || s_param(self->curl, &url, &len, "password", self->password) != 0
        || s_param(self->curl, &url, &len, "from", self->sender) != 0
        || s_param(self->curl, &url, &len, "to", msg->phone) != 0
        || s_param(self->curl, &url, &len, "text", msg->body) != 0
        || s_param(self->curl, &url, &len, "coding", ucs2 ? "2" : "0") != 0
        || s_param(self->curl, &url, &len, "charset", "UTF-8") != 0
        || (msg->dlr_url && (s_param(self->curl, &url, &len, "dlr-mask", "31") != 0
                             || s_param(self->curl, &url, &len, "dlr-url", msg->dlr_url) != 0))) {
        free(url);
        return NULL;
    }
    return url;
}

static sn_send_result_t s_send(void *state, const sn_message_t *msg, char *reason, size_t size)
{
    s_kannel_t *self = state;
    sn_sms_plan_t plan;
    if (sn_sms_plan(msg->body, &plan) != 0) {
        snprintf(reason, size, "the text is empty or not UTF-8");
        return SN_SEND_REFUSED;
    }
    char *url = s_request_url(self, msg, plan.coding == SN_SMS_UCS2);
    if (!url) {
        snprintf(reason, size, "out of memory");
        return SN_SEND_RETRY;
    }
    self->answer_len = 0;
    self->answer[0] = '\0';
    curl_easy_setopt(self->curl, CURLOPT_URL, url);
    CURLcode rc = curl_easy_perform(self->curl);
    free(url);
    if (rc != CURLE_OK) {
        snprintf(reason, size, "sendsms: %s", curl_easy_strerror(rc));
        return SN_SEND_RETRY;
    }
    long status = 0;
    curl_easy_getinfo(self->curl, CURLINFO_RESPONSE_CODE, &status);
    char *nl = strpbrk(self->answer, "\r\n");
    if (nl)
        *nl = '\0';
    if (status == 202 && (strncmp(self->answer, "0:", 2) == 0
                          || strncmp(self->answer, "3:", 2) == 0))
        return SN_SEND_ACCEPTED;
    snprintf(reason, size, "sendsms answered %ld \"%.120s\"", status, self->answer);
    if (status == 403 && strstr(self->answer, "Do not try again"))
        return SN_SEND_REFUSED;
    return SN_SEND_RETRY;
}

/* Kannel's report types (dlr-mask bits). */
static int s_dlr_parse(const httpd_req_t *req, sn_dlr_t *dlr, char *reason, size_t size)
{
    const char *type = httpd_req_arg(req, "type");
    if (!type || !*type) {
        snprintf(reason, size, "no report type");
        return -1;
    }
    char *end;
    long t = strtol(type, &end, 10);
    if (*end) {
        snprintf(reason, size, "report type \"%.20s\" is not a number", type);
        return -1;
    }
    switch (t) {
    case 1:
        dlr->state = SN_DLR_DELIVERED;
        break;
    case 2:
    case 16:
        dlr->state = SN_DLR_FAILED;
        break;
    case 4:
    case 8:
        dlr->state = SN_DLR_PROGRESS;
        break;
    default:
        snprintf(reason, size, "report type %ld is none of 1, 2, 4, 8, 16", t);
        return -1;
    }
    dlr->status = (int) t;
    return 0;
}

static const char *const s_dlr_args[] = { "type", NULL };

const sn_provider_t sn_kannel = {
    .name = "kannel",
    .open = s_open,
    .close = s_close,
    .send = s_send,
    .dlr_suffix = "&type=%d",
    .dlr_args = s_dlr_args,
    .dlr_parse = s_dlr_parse,
};
