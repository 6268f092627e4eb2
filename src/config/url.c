/*
 * Connection URL parsing. Owns the split of "scheme://user:password@host:port/path?query"
 * into heap strings and the redacted form, which is the only form of a URL that may
 * reach a log line or an error message. The userinfo ends at the last '@' before the
 * query, so a raw password may contain '@', ':' or '/'; '?' and whitespace must be
 * percent-encoded. Pure functions, no shared state: callable from any thread.
 */
#include "config/url.h"
#include "util/buf.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define URL_SHAPE "expected scheme://user:password@host:port"

/* url__sensitive_key says whether a query parameter holds a secret. */
static bool url__sensitive_key(const char *key, size_t n)
{
    static const char *const words[] = {"pass", "pwd", "secret", "token", "key"};
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
        size_t wn = strlen(words[w]);
        for (size_t i = 0; i + wn <= n; i++) {
            if (strncasecmp(key + i, words[w], wn) == 0) return true;
        }
    }
    return false;
}

/* url__redact_query appends query (without '?') to b, with the values of
 * secret-looking parameters replaced by "***". */
static void url__redact_query(buf *b, const char *q)
{
    while (*q) {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        if (eq && url__sensitive_key(q, (size_t)(eq - q))) {
            buf_append(b, q, (size_t)(eq - q) + 1);
            buf_puts(b, "***");
        } else {
            buf_append(b, q, n);
        }
        q += n;
        if (*q == '&') buf_putc(b, *q++);
    }
}

/* url_redact_text writes a printable form of text into b: the part between the
 * first ':' of the userinfo and the last '@' before the query becomes "***", and
 * secret query values too. For text that failed to parse (broken = true) the
 * password may itself hold a '?', so the last '@' anywhere ends it. */
static void url_redact_text(buf *b, const char *text, bool broken)
{
    const char *q = strchr(text, '?');
    const char *stop = q ? q : text + strlen(text);
    const char *at = NULL;
    for (const char *p = text; *p && (broken || p < stop); p++) {
        if (*p == '@') at = p;
    }
    if (at && at > stop) {
        q = strchr(at, '?');
        stop = q ? q : at + strlen(at);
    }
    const char *sep = strstr(text, "://");
    const char *ui = (sep && sep < stop) ? sep + 3 : text;
    const char *colon = NULL;
    if (at && ui <= at) colon = memchr(ui, ':', (size_t)(at - ui));
    if (colon) {
        buf_append(b, text, (size_t)(colon - text) + 1);
        buf_puts(b, "***");
        buf_append(b, at, (size_t)(stop - at));
    } else {
        buf_append(b, text, (size_t)(stop - text));
    }
    if (q) {
        buf_putc(b, '?');
        url__redact_query(b, q + 1);
    }
}

/* url__hexval returns the value of hex digit c, or -1. */
static int url__hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* url__unescape returns a heap copy of s[0..n) with %XX decoded, or NULL if
 * an escape is malformed or decodes to NUL. */
static char *url__unescape(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out) abort();
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        if (i + 2 >= n) {
            free(out);
            return NULL;
        }
        int h = url__hexval(s[i + 1]), l = url__hexval(s[i + 2]);
        if (h < 0 || l < 0 || (h == 0 && l == 0)) {
            free(out);
            return NULL;
        }
        out[o++] = (char)(h * 16 + l);
        i += 2;
    }
    out[o] = '\0';
    return out;
}

static char *url__strndup(const char *s, size_t n)
{
    char *r = strndup(s, n);
    if (!r) abort();
    return r;
}

/* url__fail sets a COT_ERR_CONFIG message "'REDACTED' WHAT" and returns it. */
static cot_err url__fail(const char *text, const char *what)
{
    buf b, shown;
    buf_init(&b);
    buf_init(&shown);
    url_redact_text(&b, text, true);
    /* control characters (a newline from an env var, say) are shown escaped */
    for (size_t i = 0; i < b.len; i++) {
        unsigned char c = (unsigned char)b.data[i];
        if (c == '\n')
            buf_puts(&shown, "\\n");
        else if (c == '\r')
            buf_puts(&shown, "\\r");
        else if (c == '\t')
            buf_puts(&shown, "\\t");
        else if (c < 0x20 || c == 0x7f)
            buf_printf(&shown, "\\x%02x", c);
        else
            buf_putc(&shown, (char)c);
    }
    cot_err rc = cot_err_set(COT_ERR_CONFIG, "'%s' %s", shown.data ? shown.data : "", what);
    buf_deinit(&b);
    buf_deinit(&shown);
    return rc;
}

cot_err cot_url_parse(const char *text, cot_url *u)
{
    memset(u, 0, sizeof(*u));
    if (!text || !*text) return cot_err_set(COT_ERR_CONFIG, "the URL is empty: " URL_SHAPE);
    for (const char *p = text; *p; p++) {
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
            return url__fail(text, "contains a space or control character: remove it or "
                                   "percent-encode it (%20)");
    }
    /* scheme: a letter, then letters, digits, '+', '-', '.'; then "://" */
    const char *p = text;
    if (!isalpha((unsigned char)*p)) return url__fail(text, "is not a URL: " URL_SHAPE);
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.') p++;
    if (strncmp(p, "://", 3) != 0) return url__fail(text, "is not a URL: " URL_SHAPE);
    size_t scheme_len = (size_t)(p - text);
    const char *auth = p + 3;

    const char *q = strchr(auth, '?');
    const char *stop = q ? q : auth + strlen(auth);

    /* userinfo: up to the last '@' before the query */
    const char *at = NULL;
    for (const char *s = auth; s < stop; s++) {
        if (*s == '@') at = s;
    }
    const char *hostp = auth;
    if (at) {
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        const char *user_end = colon ? colon : at;
        u->user = url__unescape(auth, (size_t)(user_end - auth));
        if (!u->user) {
            cot_url_deinit(u);
            return url__fail(text, "has a bad percent-escape in the user name: write %XX with "
                                   "two hex digits, not %00");
        }
        if (colon) {
            u->password = url__unescape(colon + 1, (size_t)(at - colon - 1));
            if (!u->password) {
                cot_url_deinit(u);
                return url__fail(text, "has a bad percent-escape in the password: write %XX "
                                       "with two hex digits, not %00");
            }
        }
        hostp = at + 1;
    }

    /* host[:port] up to the first '/' */
    size_t host_span = stop > hostp ? (size_t)(stop - hostp) : 0;
    const char *slash = host_span ? memchr(hostp, '/', host_span) : NULL;
    const char *hp_end = slash ? slash : stop;
    const char *port_txt = NULL;
    size_t port_len = 0;
    if (hostp < hp_end && *hostp == '[') {
        const char *rb = memchr(hostp, ']', (size_t)(hp_end - hostp));
        if (!rb) {
            cot_url_deinit(u);
            return url__fail(text, "has an IPv6 host without its closing ']': " URL_SHAPE);
        }
        u->host = url__strndup(hostp + 1, (size_t)(rb - hostp - 1));
        if (rb + 1 < hp_end) {
            if (rb[1] != ':') {
                cot_url_deinit(u);
                return url__fail(text, "has text after the IPv6 host: " URL_SHAPE);
            }
            port_txt = rb + 2;
            port_len = (size_t)(hp_end - port_txt);
        }
    } else {
        const char *colon = memchr(hostp, ':', (size_t)(hp_end - hostp));
        if (colon && memchr(colon + 1, ':', (size_t)(hp_end - colon - 1))) {
            cot_url_deinit(u);
            return url__fail(text, "has more than one ':' after the host (an IPv6 address "
                                   "needs brackets: [::1]:3306)");
        }
        u->host = url__strndup(hostp, (size_t)((colon ? colon : hp_end) - hostp));
        if (colon) {
            port_txt = colon + 1;
            port_len = (size_t)(hp_end - port_txt);
        }
    }
    if (port_txt) {
        long port = 0;
        bool ok = port_len > 0 && port_len <= 5;
        for (size_t i = 0; ok && i < port_len; i++) {
            if (!isdigit((unsigned char)port_txt[i]))
                ok = false;
            else
                port = port * 10 + (port_txt[i] - '0');
        }
        if (!ok || port < 1 || port > 65535) {
            /* the port text is not echoed: in a misparsed URL it may be part of a password */
            cot_url_deinit(u);
            return url__fail(text, "has a port that is not a number in 1..65535 (a '?' in "
                                   "the password must be written %3F)");
        }
        u->port = (int)port;
    }

    u->scheme = url__strndup(text, scheme_len);
    for (char *s = u->scheme; *s; s++) *s = (char)tolower((unsigned char)*s);

    /* path: for file-like schemes the path keeps its leading '/' (file:///tmp/x is
     * /tmp/x); for database schemes it is the database name after the '/' */
    if (slash) {
        bool keep = strcmp(u->scheme, "file") == 0 || strcmp(u->scheme, "sqlite") == 0;
        const char *ps = keep ? slash : slash + 1;
        u->path = url__strndup(ps, (size_t)(stop - ps));
    }
    u->query = url__strndup(q ? q + 1 : "", q ? strlen(q + 1) : 0);
    if (!u->user) u->user = url__strndup("", 0);
    if (!u->password) u->password = url__strndup("", 0);
    if (!u->path) u->path = url__strndup("", 0);

    buf b;
    buf_init(&b);
    url_redact_text(&b, text, false);
    u->redacted = url__strndup(b.data ? b.data : "", b.len);
    buf_deinit(&b);
    return COT_OK;
}

void cot_url_deinit(cot_url *u)
{
    if (!u) return;
    if (u->password) {
        /* do not leave the secret in freed heap memory */
        volatile char *pw = u->password;
        for (size_t i = 0; pw[i]; i++) pw[i] = '\0';
    }
    free(u->scheme);
    free(u->user);
    free(u->password);
    free(u->host);
    free(u->path);
    free(u->query);
    free(u->redacted);
    memset(u, 0, sizeof(*u));
}

const char *cot_url_tls_alias(const char *key, size_t n)
{
    char k[64];
    size_t kn = 0;
    bool ssl = false;
    for (size_t i = 0; i + 3 <= n && !ssl; i++) ssl = strncasecmp(key + i, "ssl", 3) == 0;
    if (!ssl || n >= sizeof(k))
        return ssl ? "tls=true, tls_ca=FILE, tls_cert=FILE, tls_key=FILE "
                     "or tls_verify=full|ca|none"
                   : NULL;
    for (size_t i = 0; i < n; i++) /* lower case without separators: ssl-mode -> sslmode */
        if (key[i] != '-' && key[i] != '_') k[kn++] = (char)tolower((unsigned char)key[i]);
    k[kn] = '\0';
    static const struct {
        const char *key, *hint;
    } aliases[] = {
        {"sslca", "tls_ca=FILE"},
        {"sslrootcert", "tls_ca=FILE"},
        {"sslcapath", "tls_ca=FILE (one PEM file with the CA certificates)"},
        {"sslcert", "tls_cert=FILE"},
        {"sslkey", "tls_key=FILE"},
        {"sslmode", "tls=true with tls_verify=full (VERIFY_IDENTITY, verify-full), tls_verify=ca "
                    "(VERIFY_CA, verify-ca) or tls_verify=none (REQUIRED, require); tls=false "
                    "for DISABLED"},
        {"sslverifyservercert", "tls_verify=full|ca|none"},
        {"sslverify", "tls_verify=full|ca|none"},
    };
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcmp(k, aliases[i].key) == 0) return aliases[i].hint;
    return "tls=true (and tls_ca=FILE, tls_cert=FILE, tls_key=FILE, tls_verify=full|ca|none as "
           "needed)";
}

char *cot_url_param(const cot_url *u, const char *key)
{
    if (!u || !u->query || !key) return NULL;
    size_t kn = strlen(key);
    const char *q = u->query;
    while (*q) {
        size_t n = strcspn(q, "&");
        const char *eq = memchr(q, '=', n);
        size_t name_len = eq ? (size_t)(eq - q) : n;
        if (name_len == kn && strncmp(q, key, kn) == 0) {
            if (!eq) return url__strndup("", 0);
            char *v = url__unescape(eq + 1, n - name_len - 1);
            /* a malformed escape yields the raw text rather than nothing */
            return v ? v : url__strndup(eq + 1, n - name_len - 1);
        }
        q += n;
        if (*q == '&') q++;
    }
    return NULL;
}

int cot_url_is_mysql(const cot_url *u)
{
    return u && u->scheme && (strcmp(u->scheme, "mysql") == 0 || strcmp(u->scheme, "mariadb") == 0);
}
