/*  httpstatic: a directory of built web files (the console, a single-page
 *  app) served by httpd as its fallback for GET and HEAD (paths no route
 *  has).
 *
 *  "/" and any path without a file that looks like a page's route
 *  ("/halls/3", no dot in its last segment, not under assets/) answer
 *  index.html, so that the app's own routes work when reloaded; a missing
 *  file that looks like one (a dot in the last segment, or under assets/)
 *  and anything under the API prefix answer 404. Content-Type by the
 *  name's extension; Cache-Control "public, max-age=31536000, immutable"
 *  for assets/ (the build names them by their content's hash) and
 *  "no-cache" for everything else (index.html must be revalidated: it
 *  names the current assets). httpd adds the ETag and compresses large
 *  text bodies (images, fonts and archives are sent as they are).
 *  Pages get a Content-Security-Policy that allows only this origin.
 *
 *  Never a file outside the directory: the raw request target is decoded
 *  here, strictly; a NUL, an encoded "/" or "\", a backslash, a control
 *  character, a malformed escape or a "." / ".." segment answers 400, a
 *  hidden name (".git") or a symbolic link that leads out of the
 *  directory 404. Errors are Problem Details (problem.h).
 *
 *  Files are read on every request (at most HTTPSTATIC_FILE_MAX bytes);
 *  the directory may be rebuilt while the server runs.
 */
#ifndef EQMS_HTTPSTATIC_H
#define EQMS_HTTPSTATIC_H

#include <stddef.h>

#include "eqms/httpd.h"

#define HTTPSTATIC_FILE_MAX (32u * 1024 * 1024)
#define HTTPSTATIC_PATH_MAX 1024

typedef struct httpstatic_t httpstatic_t;

/* Serves `dir` (must be a directory; resolved once, symbolic links and
 * all); `api_prefix` ("/api/") is never served. NULL (logged) when `dir`
 * is not a readable directory. */
httpstatic_t *httpstatic_new(const char *dir, const char *api_prefix);

/* Frees. Accepts NULL; sets *self_p to NULL. */
void httpstatic_destroy(httpstatic_t **self_p);

/* The handler to give httpd as its fallback, with the httpstatic_t as ctx. */
void httpstatic_handle(void *ctx, const httpd_req_t *req, httpd_reply_t *reply);

/* The file a raw request target ("/assets/app.js?v=1") names, relative to
 * the directory, into `rel` ("" for "/", "assets/app.js"; a trailing "/"
 * kept). 0 when it is one, else the status to answer (400 or 404) with
 * the reason in *reason (static). Pure; for tests. */
unsigned httpstatic_resolve(const char *target, char *rel, size_t size, const char **reason);

/* The Content-Type of a file name by its extension (a static string;
 * application/octet-stream when unknown). */
const char *httpstatic_content_type(const char *name);

#endif
