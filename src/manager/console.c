/*
 * Serving the console's embedded files. The bytes live in read-only data
 * (console_assets.c, generated), so responses point at them without a copy.
 * Every console response carries the CSP and nosniff headers; files are
 * cached by the browser but revalidated each time (no-cache + ETag), so an
 * upgraded cotter is never served stale scripts. Runs on MHD's thread.
 */
#include "manager/console.h"
#include "util/log.h"

#include <string.h>

const console_asset *console_asset_find(const char *path)
{
    if (!path) return NULL;
    if (strcmp(path, "/") == 0) path = "/index.html";
    for (int i = 0; i < console_n_assets; i++)
        if (strcmp(console_assets[i].path, path) == 0) return &console_assets[i];
    return NULL;
}

bool console_wants(const char *url, const char *accept)
{
    if (!url) return false;
    if (strcmp(url, "/") == 0) return accept && strstr(accept, "text/html") != NULL;
    return console_asset_find(url) != NULL;
}

/* console__etag_match says whether an If-None-Match header (a list of
 * quoted tags, or "*") names etag. Weak tags (W/"...") match too: the
 * comparison for If-None-Match is the weak one (RFC 9110 13.1.2). */
static bool console__etag_match(const char *header, const char *etag)
{
    if (!header) return false;
    size_t n = strlen(etag);
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == ',' || *p == '\t') p++;
        if (*p == '*') return true;
        if (strncmp(p, "W/", 2) == 0) p += 2;
        if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' ')) return true;
        while (*p && *p != ',') p++;
    }
    return false;
}

static void console__headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy", CONSOLE_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
}

enum MHD_Result console_serve(struct MHD_Connection *conn, const char *method, const char *url,
                              const char *if_none_match)
{
    const console_asset *as = console_asset_find(url);
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    unsigned status = MHD_HTTP_OK;
    struct MHD_Response *resp;
    if (!as || !get) {
        static const char not_get[] = "{\"error\":{\"code\":\"method_not_allowed\",\"message\":"
                                      "\"the console's files only answer GET\"}}\n";
        static const char missing[] = "{\"error\":{\"code\":\"not_found\",\"message\":"
                                      "\"this cotter was built without the console's files\"}}\n";
        const char *msg = as ? not_get : missing;
        status = as ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND;
        resp = MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
        if (!resp) return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    } else if (console__etag_match(if_none_match, as->etag)) {
        status = MHD_HTTP_NOT_MODIFIED;
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!resp) return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, as->etag);
    } else {
        resp = MHD_create_response_from_buffer(as->len, (void *)as->data, MHD_RESPMEM_PERSISTENT);
        if (!resp) return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, as->content_type);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, as->etag);
    }
    console__headers(resp);
    LOG_D("manager", "%s %s (console): %u", method, url, status);
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}
