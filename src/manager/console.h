/*
 * The web console: static files (src/manager/assets, embedded in the binary
 * at build time by cmake/embed_assets.cmake) served at "/" with their
 * Content-Type, an ETag, revalidating cache headers and a strict
 * Content-Security-Policy. The files hold no data and need no token; the
 * console's script fetches everything through the API with the token the
 * user types in. Runs on MHD's polling thread; the asset table is constant.
 */
#ifndef COT_MANAGER_CONSOLE_H
#define COT_MANAGER_CONSOLE_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct console_asset {
    const char *path;         /* "/app.js" */
    const char *content_type; /* "text/javascript; charset=utf-8" */
    const char *etag;         /* quoted: "\"3f2a...\"" */
    const unsigned char *data;
    size_t len;
} console_asset;

/* Generated (console_assets.c in the build directory). */
extern const console_asset console_assets[];
extern const int console_n_assets;

/* The policy sent with every console file: scripts, styles and requests
 * only from this origin, no inline code, no framing. */
#define CONSOLE_CSP                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/* console_asset_find returns the asset served at path ("/" is /index.html),
 * or NULL. The result points into the constant table. */
const console_asset *console_asset_find(const char *path);

/* console_wants says whether url is the console's: an asset's path, or "/"
 * asked for by a browser (accept, the Accept header, names text/html).
 * Other clients get the API's JSON index at "/". accept may be NULL. */
bool console_wants(const char *url, const char *accept);

/* console_serve queues the answer to a console request (see console_wants)
 * on conn: the file (200), 304 when if_none_match (may be NULL) holds its
 * ETag, 405 for methods other than GET and HEAD. */
enum MHD_Result console_serve(struct MHD_Connection *conn, const char *method, const char *url,
                              const char *if_none_match);

#endif
