/*  httptest: a free loopback port and one raw HTTP exchange over a plain
 *  socket, for unit tests of HTTP servers (cmocka asserts on failure). */
#ifndef EQMS_TEST_HTTPTEST_H
#define EQMS_TEST_HTTPTEST_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    int status;
    char headers[2048];
    char body[8192];
} httptest_reply_t;

/* A loopback port that was free a moment ago. */
static inline int httptest_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof addr;
    assert_int_equal(bind(fd, (struct sockaddr *) &addr, sizeof addr), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &addr, &len), 0);
    close(fd);
    return ntohs(addr.sin_port);
}

/* A socket connected to the loopback `port`. */
static inline int httptest_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_port = htons((uint16_t) port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    assert_int_equal(connect(fd, (struct sockaddr *) &addr, sizeof addr), 0);
    return fd;
}

/* Sends `request` and reads the whole raw reply (the server closes) into
 * `raw` (at most `size` - 1 bytes, NUL-terminated); returns its length. */
static inline size_t httptest_raw(int port, const char *request, char *raw, size_t size)
{
    int fd = httptest_connect(port);
    assert_int_equal(write(fd, request, strlen(request)), (ssize_t) strlen(request));
    size_t got = 0;
    ssize_t n;
    while (got < size - 1 && (n = read(fd, raw + got, size - 1 - got)) > 0)
        got += (size_t) n;
    close(fd);
    raw[got] = '\0';
    return got;
}

/* Sends `request` (`len` bytes) and reads the whole reply (the server closes). */
static inline void httptest_send(int port, const char *request, size_t len,
                                 httptest_reply_t *reply)
{
    int fd = httptest_connect(port);
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = write(fd, request + sent, len - sent);
        if (n <= 0)
            break;              /* the server may answer and close early (413) */
        sent += (size_t) n;
    }
    static char raw[16384];
    size_t got = 0;
    ssize_t n;
    while ((n = read(fd, raw + got, sizeof raw - 1 - got)) > 0)
        got += (size_t) n;
    close(fd);
    raw[got] = '\0';

    memset(reply, 0, sizeof *reply);
    assert_int_equal(sscanf(raw, "HTTP/1.%*d %d", &reply->status), 1);
    char *end = strstr(raw, "\r\n\r\n");
    assert_non_null(end);
    snprintf(reply->headers, sizeof reply->headers, "%.*s", (int) (end - raw), raw);
    snprintf(reply->body, sizeof reply->body, "%s", end + 4);
}

static inline void httptest(int port, const char *request, httptest_reply_t *reply)
{
    httptest_send(port, request, strlen(request), reply);
}

#endif
