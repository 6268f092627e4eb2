/*
 * The CLI client of the manager's HTTP API: `cotter status [NAME]` and
 * `cotter channel start|stop|restart NAME`. One request at a time with
 * libcurl (http and https, a CA file via --cacert), a small JSON reader for
 * the answers, and a table renderer (colour only on a terminal). Runs on the
 * CLI's main thread only. Invariants: the token never reaches stdout, stderr
 * or argv; every failure maps to one exit code (0 ok, 1 the API answered
 * with an error, 2 usage or the API could not be reached) with a message
 * that says what to do.
 */
#include "manager/client.h"
#include "config/config.h"
#include "util/buf.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_DEFAULT_URL "http://127.0.0.1:8080"
#define CLIENT_MAX_BODY    (16u << 20) /* an answer larger than this is not the API's */
#define CLIENT_JSON_DEPTH  64

/* ------------------------------------------------------------------ JSON */

typedef enum jv_type { JV_NULL = 0, JV_BOOL, JV_NUM, JV_STR, JV_ARR, JV_OBJ } jv_type;

/* A parsed JSON value. Children are stored by value in kids; an object's
 * members carry their name in key. start/end delimit the value's text in
 * the parsed document (used to print parts of it verbatim). */
typedef struct jv {
    jv_type type;
    bool b;
    double num;
    char *str;
    char *key;
    struct jv *kids;
    int n_kids, cap_kids;
    size_t start, end;
} jv;

typedef struct jparse {
    const char *s;
    size_t len, pos;
    int depth;
} jparse;

static void jv_deinit(jv *v)
{
    for (int i = 0; i < v->n_kids; i++) jv_deinit(&v->kids[i]);
    free(v->kids);
    free(v->str);
    free(v->key);
    memset(v, 0, sizeof(*v));
}

static void jparse_ws(jparse *jp)
{
    while (jp->pos < jp->len && strchr(" \t\r\n", jp->s[jp->pos]) && jp->s[jp->pos]) jp->pos++;
}

static bool jparse_hex4(jparse *jp, unsigned *out)
{
    unsigned v = 0;
    if (jp->len - jp->pos < 4) return false;
    for (int i = 0; i < 4; i++) {
        char c = jp->s[jp->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return false;
    }
    *out = v;
    return true;
}

static void jparse_put_utf8(buf *b, unsigned cp)
{
    if (cp < 0x80) {
        buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        buf_putc(b, (char)(0xC0 | (cp >> 6)));
        buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        buf_putc(b, (char)(0xE0 | (cp >> 12)));
        buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    } else {
        buf_putc(b, (char)(0xF0 | (cp >> 18)));
        buf_putc(b, (char)(0x80 | ((cp >> 12) & 0x3F)));
        buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3F)));
        buf_putc(b, (char)(0x80 | (cp & 0x3F)));
    }
}

/* jparse_put_cp appends code point cp as UTF-8, except the control
 * characters (C0, DEL, C1): those become the visible text \n, \t, \r or
 * \u00XX, so text from a server or a request can neither forge lines nor
 * drive the terminal the CLI prints to. */
static void jparse_put_cp(buf *b, unsigned cp)
{
    if (cp == '\n' || cp == '\t' || cp == '\r') {
        buf_putc(b, '\\');
        buf_putc(b, cp == '\n' ? 'n' : cp == '\t' ? 't' : 'r');
    } else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
        buf_printf(b, "\\u%04x", cp);
    } else {
        jparse_put_utf8(b, cp);
    }
}

/* jparse_string reads a string literal at jp->pos (the opening quote) and
 * returns it decoded in a new heap string (caller frees), or NULL. Control
 * characters come out escaped (jparse_put_cp). */
static char *jparse_string(jparse *jp)
{
    buf b;
    buf_init(&b);
    buf_reserve(&b, 16);
    if (jp->pos >= jp->len || jp->s[jp->pos] != '"') goto malformed;
    jp->pos++;
    for (;;) {
        if (jp->pos >= jp->len) goto malformed;
        unsigned char c = (unsigned char)jp->s[jp->pos++];
        if (c == '"') break;
        if (c < 0x20) goto malformed;
        if (c == 0x7f || (c == 0xc2 && jp->pos < jp->len && (unsigned char)jp->s[jp->pos] >= 0x80 &&
                          (unsigned char)jp->s[jp->pos] < 0xa0)) {
            jparse_put_cp(&b, c == 0x7f ? c : (unsigned char)jp->s[jp->pos++]);
            continue;
        }
        if (c != '\\') {
            buf_putc(&b, (char)c);
            continue;
        }
        if (jp->pos >= jp->len) goto malformed;
        char e = jp->s[jp->pos++];
        unsigned cp, lo;
        switch (e) {
        case '"':
            buf_putc(&b, '"');
            break;
        case '\\':
            buf_putc(&b, '\\');
            break;
        case '/':
            buf_putc(&b, '/');
            break;
        case 'b':
            jparse_put_cp(&b, '\b');
            break;
        case 'f':
            jparse_put_cp(&b, '\f');
            break;
        case 'n':
            jparse_put_cp(&b, '\n');
            break;
        case 'r':
            jparse_put_cp(&b, '\r');
            break;
        case 't':
            jparse_put_cp(&b, '\t');
            break;
        case 'u':
            if (!jparse_hex4(jp, &cp)) goto malformed;
            if (cp >= 0xD800 && cp < 0xDC00 && jp->len - jp->pos >= 6 && jp->s[jp->pos] == '\\' &&
                jp->s[jp->pos + 1] == 'u') {
                jp->pos += 2;
                if (!jparse_hex4(jp, &lo) || lo < 0xDC00 || lo > 0xDFFF) goto malformed;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xD800 && cp < 0xE000) {
                cp = 0xFFFD;
            }
            jparse_put_cp(&b, cp);
            break;
        default:
            goto malformed;
        }
    }
    return b.data; /* ownership passes to the caller */
malformed:
    buf_deinit(&b);
    return NULL;
}

static bool jparse_value(jparse *jp, jv *v);

/* jparse_kid appends an empty child to v and returns it. */
static jv *jparse_kid(jv *v)
{
    if (v->n_kids == v->cap_kids) {
        int cap = v->cap_kids ? v->cap_kids * 2 : 8;
        jv *k = realloc(v->kids, (size_t)cap * sizeof(*k));
        if (!k) abort();
        v->kids = k;
        v->cap_kids = cap;
    }
    jv *k = &v->kids[v->n_kids++];
    memset(k, 0, sizeof(*k));
    return k;
}

/* jparse_container reads an array or object (the opening bracket is at
 * jp->pos) into v; false if it is malformed. */
static bool jparse_container(jparse *jp, jv *v, bool is_obj)
{
    char close = is_obj ? '}' : ']';
    v->type = is_obj ? JV_OBJ : JV_ARR;
    if (++jp->depth > CLIENT_JSON_DEPTH) goto malformed;
    jp->pos++;
    jparse_ws(jp);
    if (jp->pos < jp->len && jp->s[jp->pos] == close) {
        jp->pos++;
        jp->depth--;
        return true;
    }
    for (;;) {
        jv *k = jparse_kid(v);
        if (is_obj) {
            jparse_ws(jp);
            k->key = jparse_string(jp);
            if (!k->key) goto malformed;
            jparse_ws(jp);
            if (jp->pos >= jp->len || jp->s[jp->pos] != ':') goto malformed;
            jp->pos++;
        }
        if (!jparse_value(jp, k)) goto malformed;
        jparse_ws(jp);
        if (jp->pos >= jp->len) goto malformed;
        char c = jp->s[jp->pos++];
        if (c == close) break;
        if (c != ',') goto malformed;
    }
    jp->depth--;
    return true;
malformed:
    return false;
}

static bool jparse_literal(jparse *jp, const char *word)
{
    size_t n = strlen(word);
    if (jp->len - jp->pos < n || memcmp(jp->s + jp->pos, word, n) != 0) return false;
    jp->pos += n;
    return true;
}

/* jparse_value reads one value into v (zeroed by the caller); false if the
 * text is not JSON. v may hold partial children then: jv_deinit frees them. */
static bool jparse_value(jparse *jp, jv *v)
{
    jparse_ws(jp);
    if (jp->pos >= jp->len) goto malformed;
    v->start = jp->pos;
    char c = jp->s[jp->pos];
    if (c == '{' || c == '[') {
        if (!jparse_container(jp, v, c == '{')) goto malformed;
    } else if (c == '"') {
        v->type = JV_STR;
        v->str = jparse_string(jp);
        if (!v->str) goto malformed;
    } else if (jparse_literal(jp, "true") || jparse_literal(jp, "false")) {
        v->type = JV_BOOL;
        v->b = c == 't';
    } else if (jparse_literal(jp, "null")) {
        v->type = JV_NULL;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        char tmp[64];
        size_t n = 0;
        while (jp->pos < jp->len && n < sizeof(tmp) - 1 &&
               strchr("+-.eE0123456789", jp->s[jp->pos]))
            tmp[n++] = jp->s[jp->pos++];
        tmp[n] = '\0';
        char *endp;
        errno = 0;
        v->num = strtod(tmp, &endp);
        if (*endp || errno == ERANGE) goto malformed;
        v->type = JV_NUM;
    } else {
        goto malformed;
    }
    v->end = jp->pos;
    return true;
malformed:
    return false;
}

/* jv_parse parses the whole text into *root; false (root cleared) if it is
 * not one JSON value. The caller frees root with jv_deinit. */
static bool jv_parse(const char *text, size_t len, jv *root)
{
    jparse jp = {text, len, 0, 0};
    memset(root, 0, sizeof(*root));
    if (!jparse_value(&jp, root)) goto malformed;
    jparse_ws(&jp);
    if (jp.pos != jp.len) goto malformed;
    return true;
malformed:
    jv_deinit(root);
    return false;
}

/* jv_get returns the member `key` of object v, or NULL. */
static const jv *jv_get(const jv *v, const char *key)
{
    if (!v || v->type != JV_OBJ) return NULL;
    for (int i = 0; i < v->n_kids; i++)
        if (strcmp(v->kids[i].key, key) == 0) return &v->kids[i];
    return NULL;
}

/* jv_str returns the string member `key` of v, or dflt. */
static const char *jv_str(const jv *v, const char *key, const char *dflt)
{
    const jv *k = jv_get(v, key);
    return k && k->type == JV_STR ? k->str : dflt;
}

/* jv_num returns the numeric member `key` of v, or dflt. */
static double jv_num(const jv *v, const char *key, double dflt)
{
    const jv *k = jv_get(v, key);
    return k && k->type == JV_NUM ? k->num : dflt;
}

/* ---------------------------------------------------------------- client */

typedef struct client {
    const char *cmd; /* "status", "channel stop": prefix of messages */
    char url[1024];  /* base URL without a trailing slash */
    const char *cacert;
    char *token; /* owned; NULL when none */
    bool json;
    bool color;
    bool wait;
    int timeout_s;
} client;

typedef struct client_reply {
    long status;
    buf body;
    jv root;
    bool parsed;
} client_reply;

static size_t client__on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    buf *body = ud;
    size_t n = size * nmemb;
    if (body->len + n > CLIENT_MAX_BODY) return 0; /* aborts the transfer */
    buf_append(body, ptr, n);
    return n;
}

static void client__reply_deinit(client_reply *r)
{
    buf_deinit(&r->body);
    if (r->parsed) jv_deinit(&r->root);
    r->parsed = false;
}

/* client__hint_connect prints how to reach the API after a transport failure. */
static void client__hint_connect(const client *cl, CURLcode rc, const char *detail)
{
    fprintf(stderr, "cotter %s: cannot reach the cotter API at %s: %s\n", cl->cmd, cl->url,
            detail[0] ? detail : curl_easy_strerror(rc));
    switch (rc) {
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
        fprintf(stderr,
                "  The server's certificate could not be verified or TLS failed: give the CA "
                "that signed it with --cacert FILE (or COTTER_CACERT), and use https:// "
                "only if manager.tls is set (http:// otherwise).\n");
        break;
    default:
        fprintf(stderr,
                "  Is `cotter run` running, with the API on manager.listen? Is the URL right? Give "
                "it with --url URL or COTTER_URL (default %s; https:// when manager.tls is set).\n",
                CLIENT_DEFAULT_URL);
    }
}

/* client__request sends METHOD base+path and fills *r (caller deinits it,
 * also on failure). Returns CLIENT_EXIT_OK when an answer that is JSON
 * arrived (whatever its status), CLIENT_EXIT_USAGE with a message printed
 * when the API could not be reached or did not answer like cotter's API. */
static int client__request(const client *cl, const char *method, const char *path, client_reply *r)
{
    int ret = CLIENT_EXIT_USAGE;
    char errbuf[CURL_ERROR_SIZE] = "";
    buf url, auth;
    buf_init(&url);
    buf_init(&auth);
    buf_printf(&url, "%s%s", cl->url, path);
    memset(r, 0, sizeof(*r));
    buf_init(&r->body);
    buf_reserve(&r->body, 1024);
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    if (!h) {
        fprintf(stderr, "cotter %s: libcurl could not start (out of memory?)\n", cl->cmd);
        goto out;
    }
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    hdrs = curl_slist_append(hdrs, "X-Cotter-Request: cli"); /* POSTs need it (docs/security.md) */
    if (cl->token) {
        buf_printf(&auth, "Authorization: Bearer %s", cl->token);
        hdrs = curl_slist_append(hdrs, auth.data);
        explicit_bzero(auth.data, auth.len);
    }
    curl_easy_setopt(h, CURLOPT_URL, url.data);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, client__on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "cotter-cli/" COTTER_VERSION);
    if (cl->cacert) curl_easy_setopt(h, CURLOPT_CAINFO, cl->cacert);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        client__hint_connect(cl, rc, errbuf);
        goto out;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->body.len == 0 || !jv_parse(r->body.data, r->body.len, &r->root) ||
        r->root.type != JV_OBJ) {
        fprintf(stderr,
                "cotter %s: %s answered HTTP %ld with something that is not cotter's API (not a "
                "JSON object). Is the URL right? It must be the base address of `cotter run`'s "
                "manager.listen, e.g. %s, without a path.\n",
                cl->cmd, url.data, r->status, CLIENT_DEFAULT_URL);
        goto out;
    }
    r->parsed = true;
    ret = CLIENT_EXIT_OK;
out:
    if (hdrs) {
        /* the slist holds a copy of the header with the token: wipe it */
        for (struct curl_slist *s = hdrs; s; s = s->next) explicit_bzero(s->data, strlen(s->data));
        curl_slist_free_all(hdrs);
    }
    if (h) curl_easy_cleanup(h);
    buf_deinit(&url);
    buf_deinit(&auth);
    return ret;
}

/* client__call is client__request plus the API's error convention: returns
 * CLIENT_EXIT_OK for a 2xx answer, CLIENT_EXIT_API_ERROR (message printed)
 * for an error answer, CLIENT_EXIT_USAGE when it could not ask or the path
 * is unknown to the server (the base URL is wrong). */
static int client__call(const client *cl, const char *method, const char *path, client_reply *r)
{
    int rc = client__request(cl, method, path, r);
    if (rc != CLIENT_EXIT_OK) return rc;
    if (r->status >= 200 && r->status < 300) return CLIENT_EXIT_OK;
    const jv *err = jv_get(&r->root, "error");
    const char *code = jv_str(err, "code", "error");
    const char *msg = jv_str(err, "message", "(the answer has no error message)");
    fprintf(stderr, "cotter %s: the API answered %ld %s: %s\n", cl->cmd, r->status, code, msg);
    if (strcmp(code, "not_found") == 0) {
        /* an unknown path, not an unknown channel: the base URL is wrong */
        fprintf(stderr,
                "  Is the URL right? --url (or COTTER_URL) must be the base address of `cotter "
                "run`'s manager.listen without a path, e.g. %s.\n",
                CLIENT_DEFAULT_URL);
        return CLIENT_EXIT_USAGE;
    }
    if (r->status == 401)
        fprintf(stderr, "  Give a token from manager.tokens with COTTER_TOKEN=... or "
                        "--token-file FILE.\n");
    else if (r->status == 403)
        fprintf(stderr, "  This needs a token whose role is admin.\n");
    return CLIENT_EXIT_API_ERROR;
}

/* client__read_token_file sets cl->token from the first line of path. */
static bool client__read_token_file(client *cl, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cotter %s: cannot read the token file %s: %s\n", cl->cmd, path,
                strerror(errno));
        return false;
    }
    char line[1024];
    bool ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    size_t n = ok ? strcspn(line, "\r\n") : 0;
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t')) n--;
    if (n == 0) {
        fprintf(stderr,
                "cotter %s: the token file %s is empty (its first line must be the token)\n",
                cl->cmd, path);
        return false;
    }
    free(cl->token);
    cl->token = strndup(line, n);
    explicit_bzero(line, sizeof(line));
    if (!cl->token) abort();
    return true;
}

static void client__deinit(client *cl)
{
    if (cl->token) {
        explicit_bzero(cl->token, strlen(cl->token));
        free(cl->token);
        cl->token = NULL;
    }
}

static void client__usage_options(FILE *out)
{
    fprintf(out,
            "Options:\n"
            "  -c FILE            the config of the running `cotter run`: the API's address\n"
            "                     is its manager.listen\n"
            "  --url URL          the API's base address (default $COTTER_URL, else %s;\n"
            "                     https://... when manager.tls is set)\n"
            "  --token-file FILE  read the API token from FILE's first line (default\n"
            "                     $COTTER_TOKEN); needed when manager.tokens is set\n"
            "  --cacert FILE      CA certificate(s) to verify an https server (default\n"
            "                     $COTTER_CACERT, else the system's)\n"
            "  --json             print the API's JSON instead of a table\n"
            "\n"
            "Exit status: 0 ok, 1 the API answered with an error (message printed),\n"
            "2 bad usage or the API could not be reached.\n",
            CLIENT_DEFAULT_URL);
}

static void client__usage_status(FILE *out)
{
    fprintf(out, "Usage: cotter status [CHANNEL] [-c FILE | --url URL] [--token-file FILE]\n"
                 "                     [--cacert FILE] [--json]\n"
                 "\n"
                 "Shows every channel and pipeline of a running `cotter run` (or one channel):\n"
                 "state, delay, rows/s, applied rows, binlog position and last error.\n"
                 "\n");
    client__usage_options(out);
}

static void client__usage_channel(FILE *out)
{
    fprintf(out,
            "Usage: cotter channel start|stop|restart CHANNEL [-c FILE | --url URL]\n"
            "                      [--token-file FILE] [--cacert FILE] [--json] [--no-wait]\n"
            "                      [--timeout S]\n"
            "\n"
            "Asks a running `cotter run` to start, stop or restart a channel (name or number;\n"
            "needs an admin token when manager.tokens is set) and waits until the action is\n"
            "done (at most --timeout seconds, default 60), then prints the channel's state.\n"
            "--no-wait returns as soon as the action is queued.\n"
            "\n");
    client__usage_options(out);
}

/* client__config_url writes the API address of the config at path
 * (manager.listen, https with manager.tls; a wildcard listen address is
 * reached on loopback) into url. False, with the message printed, when the
 * config does not load. */
static bool client__config_url(const char *cmd, const char *path, char *url, size_t cap)
{
    cot_config *cfg = NULL;
    if (config_load(path, &cfg) != COT_OK) {
        fprintf(stderr, "cotter %s: %s\n", cmd, cot_err_msg());
        return false;
    }
    const char *listen = cfg->manager_listen;
    const char *host_end = strrchr(listen, ':');
    size_t host_len = host_end ? (size_t)(host_end - listen) : strlen(listen);
    const char *port = host_end ? host_end : "";
    const char *scheme = cfg->manager_tls_cert ? "https" : "http";
    if ((host_len == 7 && strncmp(listen, "0.0.0.0", 7) == 0) || host_len == 0)
        snprintf(url, cap, "%s://127.0.0.1%s", scheme, port);
    else if (host_len == 4 && strncmp(listen, "[::]", 4) == 0)
        snprintf(url, cap, "%s://[::1]%s", scheme, port);
    else
        snprintf(url, cap, "%s://%s", scheme, listen);
    config_free(cfg);
    return true;
}

/* client__parse_args fills cl from the options in argv and collects up to
 * max_pos positional arguments into pos. Returns -1 on success, or an exit
 * code (usage printed) when the command line is wrong or asks for --help. */
static int client__parse_args(client *cl, int argc, char **argv, bool is_channel, const char **pos,
                              int max_pos, int *n_pos)
{
    const char *url = getenv("COTTER_URL");
    const char *token_file = NULL;
    char cfg_url[600] = "";
    bool url_given = false;
    void (*usage)(FILE *) = is_channel ? client__usage_channel : client__usage_status;
    cl->cacert = getenv("COTTER_CACERT");
    if (cl->cacert && !cl->cacert[0]) cl->cacert = NULL;
    cl->wait = true;
    cl->timeout_s = 60;
    *n_pos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return CLIENT_EXIT_OK;
        } else if (strcmp(a, "--json") == 0) {
            cl->json = true;
        } else if (strcmp(a, "--url") == 0 && has_val) {
            url = argv[++i];
            url_given = true;
        } else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && has_val) {
            if (!client__config_url(cl->cmd, argv[++i], cfg_url, sizeof(cfg_url)))
                return CLIENT_EXIT_USAGE;
        } else if (strcmp(a, "--token-file") == 0 && has_val) {
            token_file = argv[++i];
        } else if (strcmp(a, "--cacert") == 0 && has_val) {
            cl->cacert = argv[++i];
        } else if (is_channel && strcmp(a, "--no-wait") == 0) {
            cl->wait = false;
        } else if (is_channel && strcmp(a, "--timeout") == 0 && has_val) {
            char *end;
            errno = 0;
            long t = strtol(argv[++i], &end, 10);
            if (errno || *end || t < 1 || t > 86400) {
                fprintf(stderr, "cotter %s: --timeout wants whole seconds 1..86400, not '%s'\n",
                        cl->cmd, argv[i]);
                return CLIENT_EXIT_USAGE;
            }
            cl->timeout_s = (int)t;
        } else if (strcmp(a, "--token") == 0 || strncmp(a, "--token=", 8) == 0) {
            /* a token in argv is visible to every user through ps */
            fprintf(stderr,
                    "cotter %s: the token is not taken on the command line (other users can see "
                    "it in ps): set COTTER_TOKEN or use --token-file FILE\n",
                    cl->cmd);
            return CLIENT_EXIT_USAGE;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "cotter %s: %s '%s'\n\n", cl->cmd,
                    has_val || strncmp(a, "--", 2) != 0 ||
                            !(strcmp(a, "--url") == 0 || strcmp(a, "--token-file") == 0 ||
                              strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 ||
                              strcmp(a, "--cacert") == 0 || strcmp(a, "--timeout") == 0)
                        ? "unknown option"
                        : "missing the value of",
                    a);
            usage(stderr);
            return CLIENT_EXIT_USAGE;
        } else if (*n_pos < max_pos) {
            pos[(*n_pos)++] = a;
        } else {
            fprintf(stderr, "cotter %s: unexpected argument '%s'\n\n", cl->cmd, a);
            usage(stderr);
            return CLIENT_EXIT_USAGE;
        }
    }
    if (cfg_url[0] && !url_given) url = cfg_url; /* -c beats $COTTER_URL, --url beats -c */
    if (!url || !url[0]) url = CLIENT_DEFAULT_URL;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
        fprintf(stderr, "cotter %s: --url '%s' must start with http:// or https:// (e.g. %s)\n",
                cl->cmd, url, CLIENT_DEFAULT_URL);
        return CLIENT_EXIT_USAGE;
    }
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/') n--;
    if (n >= sizeof(cl->url)) {
        fprintf(stderr, "cotter %s: --url is too long\n", cl->cmd);
        return CLIENT_EXIT_USAGE;
    }
    memcpy(cl->url, url, n);
    cl->url[n] = '\0';
    if (token_file) {
        if (!client__read_token_file(cl, token_file)) return CLIENT_EXIT_USAGE;
    } else {
        const char *t = getenv("COTTER_TOKEN");
        if (t && t[0]) {
            cl->token = strdup(t);
            if (!cl->token) abort();
        }
    }
    const char *term = getenv("TERM");
    cl->color = !cl->json && isatty(STDOUT_FILENO) && !getenv("NO_COLOR") &&
                !(term && strcmp(term, "dumb") == 0);
    return -1;
}

/* -------------------------------------------------------------- rendering */

/* client__state_color returns the ANSI colour of a state, "" for none. */
static const char *client__state_color(const client *cl, const char *state)
{
    if (!cl->color) return "";
    if (strcmp(state, "RUNNING") == 0) return "\033[32m";
    if (strcmp(state, "ERROR") == 0) return "\033[31m";
    if (strcmp(state, "STOPPED") == 0 || strcmp(state, "PAUSED") == 0) return "\033[33m";
    if (strcmp(state, "CONNECTING") == 0) return "\033[36m";
    return "";
}

/* client__print_state prints state padded to width, coloured on a TTY. */
static void client__print_state(const client *cl, const char *state, int width)
{
    const char *c = client__state_color(cl, state);
    printf("%s%-*s%s", c, width, state, c[0] ? "\033[0m" : "");
}

#define CLIENT_ERR_WIDTH 160 /* bytes of the last error shown in a status row */

/* client__pipeline_row formats the columns of one pipeline (from the full
 * pipeline status) into the caller's buffers. */
typedef struct client_row {
    char name[128], channel[128], state[16], delay[24], rate[24], applied[24], pos[300];
    char err[1200];
} client_row;

static void client__pipeline_row(const jv *p, client_row *row)
{
    snprintf(row->name, sizeof(row->name), "%s", jv_str(p, "name", "?"));
    snprintf(row->channel, sizeof(row->channel), "%s", jv_str(p, "channel", "?"));
    snprintf(row->state, sizeof(row->state), "%s", jv_str(p, "state", "?"));
    const jv *d = jv_get(p, "delay_s");
    if (d && d->type == JV_NUM)
        snprintf(row->delay, sizeof(row->delay), "%.1fs", d->num);
    else
        snprintf(row->delay, sizeof(row->delay), "-");
    const jv *rate = jv_get(p, "rows_per_s");
    if (rate && rate->type == JV_NUM)
        snprintf(row->rate, sizeof(row->rate), "%.0f", rate->num);
    else
        snprintf(row->rate, sizeof(row->rate), "-");
    const jv *ap = jv_get(p, "applied");
    double rows = jv_num(ap, "insert", 0) + jv_num(ap, "update", 0) + jv_num(ap, "delete", 0);
    snprintf(row->applied, sizeof(row->applied), "%.0f", rows);
    const jv *pos = jv_get(p, "position");
    const char *file = jv_str(pos, "file", "");
    const char *gtid = jv_str(pos, "gtid", "");
    if (file[0])
        snprintf(row->pos, sizeof(row->pos), "%s:%.0f%s%s%s", file, jv_num(pos, "pos", 0),
                 gtid[0] ? " (" : "", gtid, gtid[0] ? ")" : "");
    else
        snprintf(row->pos, sizeof(row->pos), "-");
    const jv *le = jv_get(p, "last_error");
    if (le && le->type == JV_OBJ) {
        const char *hint = jv_str(le, "hint", "");
        snprintf(row->err, sizeof(row->err), "%s: %s%s%s", jv_str(le, "at", "?"),
                 jv_str(le, "message", "?"), hint[0] ? " | hint: " : "", hint);
        for (char *c = row->err; *c; c++)
            if (*c == '\n' || *c == '\t') *c = ' ';
        /* one line per pipeline: the whole message is in `cotter logs` and the API */
        size_t cut = CLIENT_ERR_WIDTH;
        if (strlen(row->err) > cut) {
            while (cut > 0 && ((unsigned char)row->err[cut] & 0xC0) == 0x80) cut--;
            snprintf(row->err + cut, sizeof(row->err) - cut, "...");
        }
        /* recovered: streaming with nothing left to apply, and a commit since */
        const char *applied = jv_str(p, "last_applied_at", "");
        const jv *behind = jv_get(p, "behind");
        bool caught_up = behind && behind->type == JV_BOOL && !behind->b;
        if (strcmp(row->state, "RUNNING") == 0 && caught_up && applied[0] &&
            strcmp(applied, jv_str(le, "at", "")) >= 0) { /* ISO times compare */
            char was[sizeof(row->err)];
            snprintf(was, sizeof(was), "%s", row->err);
            snprintf(row->err, sizeof(row->err), "(recovered) %s", was);
        }
    } else {
        snprintf(row->err, sizeof(row->err), "-");
    }
}

/* client__print_pipelines prints a table of the pipeline objects in arr. */
static void client__print_pipelines(const client *cl, const jv *arr)
{
    int n = arr && arr->type == JV_ARR ? arr->n_kids : 0;
    client_row *rows = calloc((size_t)(n ? n : 1), sizeof(*rows));
    if (!rows) abort();
    int w_name = 8, w_chan = 7, w_pos = 8;
    for (int i = 0; i < n; i++) {
        client__pipeline_row(&arr->kids[i], &rows[i]);
        int l = (int)strlen(rows[i].name);
        if (l > w_name) w_name = l;
        l = (int)strlen(rows[i].channel);
        if (l > w_chan) w_chan = l;
        l = (int)strlen(rows[i].pos);
        if (l > w_pos) w_pos = l;
    }
    printf("%-*s  %-*s  %-10s  %8s  %7s  %10s  %-*s  %s\n", w_name, "PIPELINE", w_chan, "CHANNEL",
           "STATE", "DELAY", "ROWS/S", "APPLIED", w_pos, "POSITION", "LAST ERROR");
    for (int i = 0; i < n; i++) {
        client_row *r = &rows[i];
        printf("%-*s  %-*s  ", w_name, r->name, w_chan, r->channel);
        client__print_state(cl, r->state, 10);
        printf("  %8s  %7s  %10s  %-*s  %s\n", r->delay, r->rate, r->applied, w_pos, r->pos,
               r->err);
    }
    /* a copy in progress (initial load or cotter snapshot), one line each */
    for (int i = 0; i < n; i++) {
        const jv *sp = jv_get(&arr->kids[i], "snapshot");
        const jv *act = jv_get(sp, "active");
        if (!act || act->type != JV_BOOL || !act->b) continue;
        double rows_done = jv_num(sp, "rows", 0), total = jv_num(sp, "rows_total", 0);
        printf("%s: copying %s: %.0f/%.0f rows (%.0f%%), table %.0f of %.0f, ETA %.0f s\n",
               rows[i].name, jv_str(sp, "table", "-"), rows_done, total,
               total > 0 ? 100.0 * rows_done / total : 0.0, jv_num(sp, "tables_done", 0) + 1,
               jv_num(sp, "tables", 0), jv_num(sp, "eta_s", 0));
    }
    free(rows);
}

/* client__print_channel_line prints one row of the channel table. */
static void client__print_channel_line(const client *cl, const jv *c, int w_name)
{
    const jv *pls = jv_get(c, "pipelines");
    int n_pls = pls && pls->type == JV_ARR ? pls->n_kids : 0;
    printf("%-*s  ", w_name, jv_str(c, "name", "?"));
    client__print_state(cl, jv_str(c, "state", "?"), 10);
    printf("  %9d  ", n_pls);
    const char *busy = jv_str(c, "action_in_progress", NULL);
    int pending = (int)jv_num(c, "pending_actions", 0);
    if (busy)
        printf("%s in progress, %d queued", busy, pending > 0 ? pending - 1 : 0);
    else if (pending > 0)
        printf("%d queued", pending);
    else
        printf("-");
    const jv *la = jv_get(c, "last_action");
    if (la && la->type == JV_OBJ)
        printf("  (last: %s by %s at %s: %s)", jv_str(la, "action", "?"), jv_str(la, "by", "?"),
               jv_str(la, "finished_at", "?"), jv_str(la, "result", "?"));
    printf("\n");
}

static void client__print_channels_header(int w_name)
{
    printf("%-*s  %-10s  %9s  %s\n", w_name, "CHANNEL", "STATE", "PIPELINES", "ACTIONS");
}

/* ---------------------------------------------------------------- commands */

static bool client__global_init(const char *cmd)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "cotter %s: libcurl could not initialise\n", cmd);
        return false;
    }
    return true;
}

/* client__channel_path returns "/api/channel/NAME/verb" in a new buf. */
static void client__channel_path(buf *out, const char *name, const char *verb)
{
    char *esc = curl_easy_escape(NULL, name, 0);
    if (!esc) abort();
    buf_printf(out, "/api/channel/%s/%s", esc, verb);
    curl_free(esc);
}

static int client__status_one(client *cl, const char *name)
{
    buf path;
    buf_init(&path);
    client__channel_path(&path, name, "status");
    client_reply r;
    int rc = client__call(cl, "GET", path.data, &r);
    buf_deinit(&path);
    if (rc == CLIENT_EXIT_OK) {
        if (cl->json) {
            printf("%s\n", r.body.data);
        } else {
            int w = (int)strlen(jv_str(&r.root, "name", "?"));
            client__print_channels_header(w < 7 ? 7 : w);
            client__print_channel_line(cl, &r.root, w < 7 ? 7 : w);
            printf("\n");
            client__print_pipelines(cl, jv_get(&r.root, "pipelines"));
        }
    }
    client__reply_deinit(&r);
    return rc;
}

static int client__status_all(client *cl)
{
    client_reply rc_ch, rc_pl;
    int rc = client__call(cl, "GET", "/api/channels", &rc_ch);
    memset(&rc_pl, 0, sizeof(rc_pl));
    buf_init(&rc_pl.body);
    if (rc == CLIENT_EXIT_OK) {
        buf_deinit(&rc_pl.body);
        rc = client__call(cl, "GET", "/api/pipeline/status", &rc_pl);
    }
    if (rc != CLIENT_EXIT_OK) goto out;
    const jv *chans = jv_get(&rc_ch.root, "channels");
    const jv *pls = jv_get(&rc_pl.root, "pipelines");
    if (!chans || chans->type != JV_ARR || !pls || pls->type != JV_ARR) {
        fprintf(stderr,
                "cotter status: the answers of %s/api/channels and /api/pipeline/status lack "
                "\"channels\" or \"pipelines\": is this cotter's API, and of the same version?\n",
                cl->url);
        rc = CLIENT_EXIT_USAGE;
        goto out;
    }
    if (cl->json) {
        /* both answers in one document, each value verbatim */
        printf("{\"channels\":%.*s,\"pipelines\":%.*s}\n", (int)(chans->end - chans->start),
               rc_ch.body.data + chans->start, (int)(pls->end - pls->start),
               rc_pl.body.data + pls->start);
        goto out;
    }
    int w = 7;
    for (int i = 0; i < chans->n_kids; i++) {
        int l = (int)strlen(jv_str(&chans->kids[i], "name", "?"));
        if (l > w) w = l;
    }
    if (chans->n_kids == 0) {
        printf("no channels\n");
        goto out;
    }
    client__print_channels_header(w);
    for (int i = 0; i < chans->n_kids; i++) client__print_channel_line(cl, &chans->kids[i], w);
    printf("\n");
    client__print_pipelines(cl, pls);
out:
    client__reply_deinit(&rc_ch);
    client__reply_deinit(&rc_pl);
    return rc;
}

int cmd_status(int argc, char **argv)
{
    client cl = {.cmd = "status"};
    const char *pos[1];
    int n_pos = 0;
    int rc = client__parse_args(&cl, argc, argv, false, pos, 1, &n_pos);
    if (rc >= 0) goto out;
    if (!client__global_init(cl.cmd)) {
        rc = CLIENT_EXIT_USAGE;
        goto out;
    }
    rc = n_pos ? client__status_one(&cl, pos[0]) : client__status_all(&cl);
    curl_global_cleanup();
out:
    client__deinit(&cl);
    return rc;
}

/* client__wait_done polls the channel's status until no action is pending;
 * returns CLIENT_EXIT_OK with *r holding the last status (caller deinits),
 * or an exit code with a message printed. */
static int client__wait_done(client *cl, const char *name, client_reply *r)
{
    buf path;
    buf_init(&path);
    client__channel_path(&path, name, "status");
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc;
    for (;;) {
        rc = client__call(cl, "GET", path.data, r);
        if (rc != CLIENT_EXIT_OK) break;
        if (jv_num(&r->root, "pending_actions", 0) <= 0) break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec >= cl->timeout_s) {
            fprintf(stderr,
                    "cotter %s: the action was queued but is not done after %d s (channel %s is "
                    "%s, %d action(s) pending); see `cotter status %s` and cotter.log\n",
                    cl->cmd, cl->timeout_s, name, jv_str(&r->root, "state", "?"),
                    (int)jv_num(&r->root, "pending_actions", 0), name);
            rc = CLIENT_EXIT_API_ERROR;
            break;
        }
        client__reply_deinit(r);
        struct timespec tick = {0, 200 * 1000 * 1000};
        nanosleep(&tick, NULL);
    }
    buf_deinit(&path);
    return rc;
}

int cmd_channel(int argc, char **argv)
{
    client cl = {.cmd = "channel"};
    char cmdname[32] = "channel";
    const char *pos[2];
    int n_pos = 0;
    client_reply r;
    memset(&r, 0, sizeof(r));
    buf_init(&r.body);
    int rc = client__parse_args(&cl, argc, argv, true, pos, 2, &n_pos);
    if (rc >= 0) goto out;
    if (n_pos < 1 || (strcmp(pos[0], "start") != 0 && strcmp(pos[0], "stop") != 0 &&
                      strcmp(pos[0], "restart") != 0)) {
        fprintf(stderr, "cotter channel: %s%s%s\n\n",
                n_pos ? "unknown action '" : "missing the action (start, stop or restart)",
                n_pos ? pos[0] : "", n_pos ? "': use start, stop or restart" : "");
        client__usage_channel(stderr);
        rc = CLIENT_EXIT_USAGE;
        goto out;
    }
    snprintf(cmdname, sizeof(cmdname), "channel %s", pos[0]);
    cl.cmd = cmdname;
    if (n_pos < 2) {
        fprintf(stderr,
                "cotter %s: missing the channel's name or number (`cotter status` lists "
                "them)\n\n",
                cl.cmd);
        client__usage_channel(stderr);
        rc = CLIENT_EXIT_USAGE;
        goto out;
    }
    const char *action = pos[0], *name = pos[1];
    if (!client__global_init(cl.cmd)) {
        rc = CLIENT_EXIT_USAGE;
        goto out;
    }
    buf path;
    buf_init(&path);
    client__channel_path(&path, name, action);
    buf_deinit(&r.body);
    rc = client__call(&cl, "POST", path.data, &r);
    buf_deinit(&path);
    if (rc == CLIENT_EXIT_OK && !cl.wait) {
        if (cl.json)
            printf("%s\n", r.body.data);
        else
            printf("channel %s: %s queued (state before it: %s); `cotter status %s` shows when "
                   "it is done\n",
                   jv_str(&r.root, "channel", name), action, jv_str(&r.root, "state", "?"), name);
    } else if (rc == CLIENT_EXIT_OK) {
        client__reply_deinit(&r);
        rc = client__wait_done(&cl, name, &r);
        if (rc == CLIENT_EXIT_OK) {
            const jv *la = jv_get(&r.root, "last_action");
            if (cl.json) {
                printf("%s\n", r.body.data);
            } else {
                printf("channel %s: %s done: %s; now ", jv_str(&r.root, "name", name), action,
                       jv_str(la, "result", "(no result reported)"));
                const char *st = jv_str(&r.root, "state", "?");
                client__print_state(&cl, st, (int)strlen(st));
                printf("\n");
            }
        }
        curl_global_cleanup();
        goto out;
    }
    curl_global_cleanup();
out:
    client__reply_deinit(&r);
    client__deinit(&cl);
    return rc;
}

/* ------------------------------------------------------------------ logs */

static void client__usage_logs(FILE *out)
{
    fprintf(out, "Usage: cotter logs [--lines N] [--level error|warn|info|debug] [--channel C]\n"
                 "                   [--follow] [--json] [--url URL] [--token-file FILE]\n"
                 "                   [--cacert FILE]\n"
                 "\n"
                 "Prints the recent log lines a running `cotter run` keeps in memory\n"
                 "(log.memory_lines): the last N (default 100), of level L and more severe,\n"
                 "naming channel C or one of its pipelines. --follow keeps printing new lines\n"
                 "(polling once a second) until interrupted. --json prints each line as a JSON\n"
                 "object on its own line.\n"
                 "\n");
    client__usage_options(out);
}

/* client__print_log_lines prints the "lines" of a /api/logs answer and
 * returns the highest sequence number seen (or after when none). */
static unsigned long long client__print_log_lines(const client *cl, const client_reply *r,
                                                  unsigned long long after)
{
    const jv *lines = jv_get(&r->root, "lines");
    if (!lines || lines->type != JV_ARR) return after;
    for (int i = 0; i < lines->n_kids; i++) {
        const jv *ln = &lines->kids[i];
        unsigned long long seq = (unsigned long long)jv_num(ln, "seq", 0);
        if (seq > after) after = seq;
        if (cl->json) {
            printf("%.*s\n", (int)(ln->end - ln->start), r->body.data + ln->start);
            continue;
        }
        const char *level = jv_str(ln, "level", "?");
        const char *color = "";
        if (cl->color && strcmp(level, "ERROR") == 0) color = "\033[31m";
        if (cl->color && strcmp(level, "WARN") == 0) color = "\033[33m";
        printf("%s %s%-5s%s [%s] %s\n", jv_str(ln, "ts", "?"), color, level,
               color[0] ? "\033[0m" : "", jv_str(ln, "tag", "?"), jv_str(ln, "msg", ""));
    }
    fflush(stdout);
    return after;
}

int cmd_logs(int argc, char **argv)
{
    client cl = {.cmd = "logs"};
    const char *level = NULL, *channel = NULL;
    long lines = 100;
    bool follow = false;
    int rc = CLIENT_EXIT_USAGE;
    char **rest = calloc((size_t)argc + 1, sizeof(char *));
    if (!rest) abort();
    int n_rest = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            client__usage_logs(stdout);
            free(rest);
            return CLIENT_EXIT_OK;
        } else if (strcmp(a, "--follow") == 0 || strcmp(a, "-f") == 0) {
            follow = true;
        } else if (strcmp(a, "--level") == 0 && has_val) {
            level = argv[++i];
        } else if (strcmp(a, "--channel") == 0 && has_val) {
            channel = argv[++i];
        } else if ((strcmp(a, "--lines") == 0 || strcmp(a, "-n") == 0) && has_val) {
            char *end;
            errno = 0;
            lines = strtol(argv[++i], &end, 10);
            if (errno || *end || lines < 1 || lines > 100000) {
                fprintf(stderr, "cotter logs: --lines wants a whole number 1..100000, not '%s'\n",
                        argv[i]);
                free(rest);
                return CLIENT_EXIT_USAGE;
            }
        } else if (strcmp(a, "--level") == 0 || strcmp(a, "--channel") == 0 ||
                   strcmp(a, "--lines") == 0) {
            fprintf(stderr, "cotter logs: missing the value of %s\n\n", a);
            client__usage_logs(stderr);
            free(rest);
            return CLIENT_EXIT_USAGE;
        } else {
            rest[n_rest++] = argv[i];
        }
    }
    const char *pos[1];
    int n_pos = 0;
    rc = client__parse_args(&cl, n_rest, rest, false, pos, 0, &n_pos);
    free(rest);
    if (rc >= 0) goto out;
    if (!client__global_init(cl.cmd)) {
        rc = CLIENT_EXIT_USAGE;
        goto out;
    }
    unsigned long long after = 0;
    for (bool first = true;; first = false) {
        buf path;
        buf_init(&path);
        buf_printf(&path, "/api/logs?lines=%ld", first ? lines : 100000L);
        if (!first) buf_printf(&path, "&after=%llu", after);
        if (level) {
            char *esc = curl_easy_escape(NULL, level, 0);
            buf_printf(&path, "&level=%s", esc ? esc : "");
            curl_free(esc);
        }
        if (channel) {
            char *esc = curl_easy_escape(NULL, channel, 0);
            buf_printf(&path, "&channel=%s", esc ? esc : "");
            curl_free(esc);
        }
        client_reply r;
        rc = client__call(&cl, "GET", path.data, &r);
        buf_deinit(&path);
        if (rc == CLIENT_EXIT_OK) {
            unsigned long long last = (unsigned long long)jv_num(&r.root, "last_seq", 0);
            after = client__print_log_lines(&cl, &r, after);
            /* nothing matched yet: start following from the newest line */
            if (first && after == 0) after = last;
        }
        client__reply_deinit(&r);
        if (rc != CLIENT_EXIT_OK || !follow) break;
        struct timespec tick = {1, 0};
        nanosleep(&tick, NULL);
    }
    curl_global_cleanup();
out:
    client__deinit(&cl);
    return rc;
}

/* -------------------------------------------------------------- snapshot */

static void client__usage_snapshot(FILE *out)
{
    fprintf(out,
            "Usage: cotter snapshot -c FILE --pipeline P --table SCHEMA.TABLE [--where EXPR]\n"
            "                       [--no-wait] [--timeout S] [--url URL] [--token-file FILE]\n"
            "                       [--cacert FILE] [--json]\n"
            "\n"
            "Asks the running `cotter run` of FILE (its manager.listen, unless --url) to copy\n"
            "a source table again while the channel keeps streaming (backfill, repair): the\n"
            "same lock-free chunked copy as the initial load (docs/snapshot.md). --where\n"
            "copies only the rows matching an SQL condition on the source. Shows progress (a\n"
            "bar on a terminal) until the copy is done, at most --timeout seconds (default\n"
            "3600); --no-wait returns once the request is accepted. Needs an admin token when\n"
            "manager.tokens is set.\n"
            "\n");
    client__usage_options(out);
}

/* client__snapshot_show prints one progress update: a bar on a TTY, else a line. */
static void client__snapshot_show(const jv *sp, bool tty)
{
    double rows = jv_num(sp, "rows", 0), total = jv_num(sp, "rows_total", 0);
    double rate = jv_num(sp, "rows_per_s", 0), eta = jv_num(sp, "eta_s", -1);
    double pct = total > 0 ? 100.0 * rows / total : 0;
    if (pct > 100) pct = 100;
    const char *table = jv_str(sp, "table", "");
    if (tty) {
        char bar[31];
        int fill = (int)(pct * 30 / 100);
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = '\0';
        printf("\r[%s] %3.0f%% %-24.24s %.0f/%.0f rows %.0f rows/s ETA %s%.0fs   ", bar, pct, table,
               rows, total, rate, eta < 0 ? "?" : "", eta < 0 ? 0 : eta);
        fflush(stdout);
    } else {
        printf("snapshot: %s %.0f/%.0f rows (%.0f%%), %.0f rows/s, ETA %.0f s\n",
               table[0] ? table : "-", rows, total, pct, rate, eta < 0 ? 0 : eta);
        fflush(stdout);
    }
}

int cmd_snapshot(int argc, char **argv)
{
    client cl = {.cmd = "snapshot"};
    const char *cfg_path = NULL, *pl_name = NULL, *table = NULL, *where = NULL;
    bool wait = true, url_given = getenv("COTTER_URL") && getenv("COTTER_URL")[0];
    long timeout = 3600;
    char **rest = calloc((size_t)argc + 3, sizeof(char *));
    if (!rest) abort();
    int n_rest = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            client__usage_snapshot(stdout);
            free(rest);
            return CLIENT_EXIT_OK;
        } else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && has_val) {
            cfg_path = argv[++i];
        } else if (strcmp(a, "--pipeline") == 0 && has_val) {
            pl_name = argv[++i];
        } else if (strcmp(a, "--table") == 0 && has_val) {
            table = argv[++i];
        } else if (strcmp(a, "--where") == 0 && has_val) {
            where = argv[++i];
        } else if (strcmp(a, "--no-wait") == 0) {
            wait = false;
        } else if (strcmp(a, "--timeout") == 0 && has_val) {
            char *end;
            errno = 0;
            timeout = strtol(argv[++i], &end, 10);
            if (errno || *end || timeout < 1 || timeout > 7 * 86400) {
                fprintf(stderr, "cotter snapshot: --timeout wants whole seconds, not '%s'\n",
                        argv[i]);
                free(rest);
                return CLIENT_EXIT_USAGE;
            }
        } else {
            if (strcmp(a, "--url") == 0) url_given = true;
            rest[n_rest++] = argv[i];
        }
    }
    if (!pl_name || !table || (!cfg_path && !url_given)) {
        fprintf(stderr, "cotter snapshot: %s\n\n",
                !pl_name ? "missing --pipeline P"
                : !table ? "missing --table SCHEMA.TABLE"
                         : "missing -c FILE (or --url URL)");
        client__usage_snapshot(stderr);
        free(rest);
        return CLIENT_EXIT_USAGE;
    }
    char url[600] = "";
    if (cfg_path) {
        cot_config *cfg = NULL;
        if (config_load(cfg_path, &cfg) != COT_OK) {
            fprintf(stderr, "cotter snapshot: %s\n", cot_err_msg());
            free(rest);
            return CLIENT_EXIT_USAGE;
        }
        bool found = false;
        for (int c = 0; c < cfg->n_channels; c++)
            for (int p = 0; p < cfg->channels[c].n_pipelines; p++)
                if (strcmp(cfg->channels[c].pipelines[p].name, pl_name) == 0) found = true;
        snprintf(url, sizeof(url), "%s://%s", cfg->manager_tls_cert ? "https" : "http",
                 cfg->manager_listen);
        config_free(cfg);
        if (!found) {
            fprintf(stderr, "cotter snapshot: %s has no pipeline '%s'\n", cfg_path, pl_name);
            free(rest);
            return CLIENT_EXIT_USAGE;
        }
        if (!url_given) {
            rest[n_rest++] = "--url";
            rest[n_rest++] = url;
        }
    }
    const char *pos[1];
    int n_pos = 0;
    int rc = client__parse_args(&cl, n_rest, rest, false, pos, 0, &n_pos);
    free(rest);
    if (rc >= 0) {
        client__deinit(&cl);
        return rc;
    }
    if (!client__global_init(cl.cmd)) {
        client__deinit(&cl);
        return CLIENT_EXIT_USAGE;
    }
    char *e_pl = curl_easy_escape(NULL, pl_name, 0);
    char *e_tb = curl_easy_escape(NULL, table, 0);
    char *e_wh = where ? curl_easy_escape(NULL, where, 0) : NULL;
    if (!e_pl || !e_tb || (where && !e_wh)) abort();
    buf status_path, post_path;
    buf_init(&status_path);
    buf_init(&post_path);
    buf_printf(&status_path, "/api/pipeline/status?id=%s", e_pl);
    buf_printf(&post_path, "/api/pipeline/%s/snapshot?table=%s", e_pl, e_tb);
    if (e_wh) buf_printf(&post_path, "&where=%s", e_wh);
    curl_free(e_pl);
    curl_free(e_tb);
    curl_free(e_wh);

    client_reply r;
    double copies0 = 0;
    char err_before[64] = ""; /* "at" of the pipeline's last error before the request */
    rc = client__call(&cl, "GET", status_path.data, &r);
    if (rc == CLIENT_EXIT_OK) {
        copies0 = jv_num(jv_get(&r.root, "snapshot"), "copies_done", 0);
        snprintf(err_before, sizeof(err_before), "%s",
                 jv_str(jv_get(&r.root, "last_error"), "at", ""));
    }
    client__reply_deinit(&r);
    if (rc == CLIENT_EXIT_OK) rc = client__call(&cl, "POST", post_path.data, &r);
    if (rc == CLIENT_EXIT_OK && (cl.json || !wait)) {
        if (cl.json && !wait) printf("%s\n", r.body.data);
        if (!cl.json)
            printf("snapshot of %s accepted by pipeline %s; `cotter status` shows its progress\n",
                   table, pl_name);
    }
    client__reply_deinit(&r); /* an error answer too */
    bool tty = isatty(STDOUT_FILENO) && !cl.json;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool seen_active = false;
    double last_print = -10;
    char err_seen[64] = ""; /* "at" of the last error printed */
    double err_el = 0;      /* when it was printed */
    bool active_after_err = false;
    while (rc == CLIENT_EXIT_OK && wait) {
        rc = client__call(&cl, "GET", status_path.data, &r);
        if (rc != CLIENT_EXIT_OK) break;
        const jv *sp = jv_get(&r.root, "snapshot");
        const jv *act = jv_get(sp, "active");
        bool active = act && act->type == JV_BOOL && act->b;
        seen_active = seen_active || active;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        /* an error of the pipeline after the request: print it at once
         * (the copy may have failed to start, e.g. a missing grant on the
         * source); if no copy runs 5 s later, say so and stop waiting */
        const jv *le = jv_get(&r.root, "last_error");
        const char *err_at = jv_str(le, "at", "");
        if (err_at[0] && strcmp(err_at, err_before) != 0 && strcmp(err_at, err_seen) != 0) {
            fprintf(stderr, "%scotter snapshot: pipeline %s failed: %s\n", tty ? "\n" : "", pl_name,
                    jv_str(le, "message", "?"));
            snprintf(err_seen, sizeof(err_seen), "%s", err_at);
            err_el = el;
            active_after_err = false;
        }
        if (err_seen[0] && active) active_after_err = true;
        bool copied = jv_num(sp, "copies_done", 0) > copies0;
        bool done = !active && (copied || (seen_active && !err_seen[0]));
        if (!done && err_seen[0] && !active && !active_after_err && el - err_el >= 5) {
            fprintf(stderr,
                    "%scotter snapshot: the copy of %s is not running after that error: fix the "
                    "cause, then run cotter snapshot again (rows already copied are upserted "
                    "again)\n",
                    tty ? "\n" : "", table);
            client__reply_deinit(&r);
            rc = CLIENT_EXIT_API_ERROR;
            break;
        }
        if (!cl.json && (tty || el - last_print >= 2 || done)) {
            client__snapshot_show(sp, tty);
            last_print = el;
        }
        if (done) {
            if (cl.json)
                printf("%s\n", r.body.data);
            else
                printf("%ssnapshot of %s done\n", tty ? "\n" : "", table);
            client__reply_deinit(&r);
            break;
        }
        client__reply_deinit(&r);
        if (el >= (double)timeout) {
            fprintf(stderr, "%scotter snapshot: not done after %ld s; it goes on in cotter run\n",
                    tty ? "\n" : "", timeout);
            rc = CLIENT_EXIT_API_ERROR;
            break;
        }
        struct timespec tick = {0, 250 * 1000 * 1000};
        nanosleep(&tick, NULL);
    }
    buf_deinit(&status_path);
    buf_deinit(&post_path);
    curl_global_cleanup();
    client__deinit(&cl);
    return rc;
}
