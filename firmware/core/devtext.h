/*  devtext: the rating device's LCD texts (GB2312) and a line builder.
 *
 *  The ST7920 shows 4 lines of 16 bytes: 8 GB2312 characters or 16 ASCII.
 *  The strings below are GB2312 bytes generated once with
 *  `iconv -f UTF-8 -t GB2312`; the comment gives the text.
 */
#ifndef EQMS_DEVTEXT_H
#define EQMS_DEVTEXT_H

#include <stdint.h>

#include "eqms/devproto.h"

#define DEVTEXT_WELCOME        "\xbb\xb6\xd3\xad\xb9\xe2\xc1\xd9"                 /* 欢迎光临 */
#define DEVTEXT_NO_STAFF       "\xd4\xdd\xce\xde\xb9\xf1\xd4\xb1"                 /* 暂无柜员 */
#define DEVTEXT_ENTER_ID       "\xc7\xeb\xca\xe4\xc8\xeb\xb9\xa4\xba\xc5"         /* 请输入工号 */
#define DEVTEXT_PRESS_LOGIN    "\xb0\xb4\xb5\xc7\xc2\xbc\xbc\xfc\xc8\xb7\xc8\xcf" /* 按登录键确认 */
#define DEVTEXT_LOGGING_IN     "\xb5\xc7\xc2\xbc\xd6\xd0"                         /* 登录中 */
#define DEVTEXT_PLEASE_WAIT    "\xc7\xeb\xc9\xd4\xba\xf2"                         /* 请稍候 */
#define DEVTEXT_LOGIN_FAILED   "\xb5\xc7\xc2\xbc\xca\xa7\xb0\xdc"                 /* 登录失败 */
#define DEVTEXT_UNKNOWN_STAFF  "\xb9\xa4\xba\xc5\xb2\xbb\xb4\xe6\xd4\xda"         /* 工号不存在 */
#define DEVTEXT_INACTIVE       "\xb9\xa4\xba\xc5\xd2\xd1\xcd\xa3\xd3\xc3"         /* 工号已停用 */
#define DEVTEXT_ELSEWHERE      "\xd2\xd1\xd4\xda\xb1\xf0\xb4\xa6\xb5\xc7\xc2\xbc" /* 已在别处登录 */
#define DEVTEXT_TELLER         "\xb9\xf1\xd4\xb1"                                 /* 柜员 */
#define DEVTEXT_STAFF_NO       "\xb9\xa4\xba\xc5"                                 /* 工号 */
#define DEVTEXT_SERVED         "\xd2\xd1\xb7\xfe\xce\xf1"                         /* 已服务 */
#define DEVTEXT_PERSONS        "\xc8\xcb"                                         /* 人 */
#define DEVTEXT_PLEASE         "\xc7\xeb"                                         /* 请 */
#define DEVTEXT_NUMBER         "\xba\xc5"                                         /* 号 */
#define DEVTEXT_TO             "\xb5\xbd"                                         /* 到 */
#define DEVTEXT_WINDOW_NO      "\xba\xc5\xb4\xb0\xbf\xda"                         /* 号窗口 */
#define DEVTEXT_SERVING        "\xd5\xfd\xd4\xda\xb0\xec\xc0\xed"                 /* 正在办理 */
#define DEVTEXT_RATE_1         "\xc4\xfa\xba\xc3\xa3\xac\xc7\xeb\xb6\xd4\xce\xd2\xb5\xc4" /* 您好，请对我的 */
#define DEVTEXT_RATE_2         "\xb7\xfe\xce\xf1\xbd\xf8\xd0\xd0\xc6\xc0\xbc\xdb" /* 服务进行评价 */
#define DEVTEXT_THANKS         "\xd0\xbb\xd0\xbb\xc4\xfa\xb5\xc4\xc6\xc0\xbc\xdb" /* 谢谢您的评价 */
#define DEVTEXT_WELCOME_AGAIN  "\xbb\xb6\xd3\xad\xd4\xd9\xb4\xce\xb9\xe2\xc1\xd9" /* 欢迎再次光临 */
#define DEVTEXT_PAUSED         "\xd4\xdd\xcd\xa3\xb7\xfe\xce\xf1"                 /* 暂停服务 */
#define DEVTEXT_OTHER_WINDOW   "\xc7\xeb\xb5\xbd\xc6\xe4\xcb\xfb\xb4\xb0\xbf\xda" /* 请到其他窗口 */
#define DEVTEXT_REASON         "\xd4\xad\xd2\xf2"                                 /* 原因 */
#define DEVTEXT_RING_FULL      "\xbb\xba\xb4\xe6\xd2\xd1\xc2\xfa"                 /* 缓存已满 */
#define DEVTEXT_CHECK_LINK     "\xc7\xeb\xbc\xec\xb2\xe9\xc1\xac\xbd\xd3"         /* 请检查连接 */
#define DEVTEXT_LOGGED_OUT     "\xd2\xd1\xcd\xcb\xb3\xf6"                         /* 已退出 */

/* One LCD line being built. */
typedef struct {
    uint8_t len;
    uint8_t b[DEVPROTO_LINE_BYTES];
} devtext_line_t;

/* Empties the line. */
void devtext_clear(devtext_line_t *line);

/* Appends `n` bytes of ASCII / GB2312; what does not fit is cut at a
 * character boundary (a GB2312 pair is never split). */
void devtext_add_bytes(devtext_line_t *line, const uint8_t *bytes, uint8_t n);

/* Appends a NUL-terminated string (one of the DEVTEXT_* texts or ASCII). */
void devtext_add(devtext_line_t *line, const char *s);

/* Appends `v` in decimal ASCII. */
void devtext_add_uint(devtext_line_t *line, uint32_t v);

#endif
