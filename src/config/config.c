/*
 * Loading the YAML configuration into cot_config. libyaml's document API gives
 * a node tree in which every node knows its line, so each error can name
 * FILE:LINE, the key path and what was expected. Every key is looked up in the
 * option table (config_options.c): unknown keys, types, bounds, required keys
 * and defaults all come from there. ${NAME} expands from the environment in
 * every value before it is parsed. Passwords only ever appear redacted.
 * Also the table matching (globs) and routing (rename templates) of mappings.
 * Called once at startup (and on reload) from one thread; no shared state.
 */
#include "config/config.h"
#include "config/config_options.h"
#include "util/buf.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <regex.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <yaml.h>

#define CFG_NAME_MAX 64
#define CFG_PATH_MAX 512

typedef struct cfg_ld {
    const char *file;
    yaml_document_t doc;
    cot_config *cfg;
} cfg_ld;

static char *cfg__strdup(const char *s)
{
    char *r = strdup(s);
    if (!r) abort();
    return r;
}

static void *cfg__calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) abort();
    return p;
}

/* ld_fail sets COT_ERR_CONFIG "FILE:LINE: PATH: MESSAGE" and returns it. */
static cot_err ld_fail(cfg_ld *ld, int line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static cot_err ld_fail(cfg_ld *ld, int line, const char *path, const char *fmt, ...)
{
    char what[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (path && *path)
        return cot_err_set(COT_ERR_CONFIG, "%s:%d: %s: %s", ld->file, line, path, what);
    return cot_err_set(COT_ERR_CONFIG, "%s:%d: %s", ld->file, line, what);
}

static int ld_line(const yaml_node_t *n)
{
    return (int)n->start_mark.line + 1;
}

static yaml_node_t *ld_node(cfg_ld *ld, int idx)
{
    return yaml_document_get_node(&ld->doc, idx);
}

/* ld_is_null says whether n is YAML's null (an empty value, ~ or null). */
static bool ld_is_null(const yaml_node_t *n)
{
    if (!n) return true;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)n->data.scalar.value;
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
           strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static const char *ld_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return "a value";
    }
}

static void path_key(char *out, size_t cap, const char *parent, const char *key)
{
    if (parent && *parent)
        snprintf(out, cap, "%s.%s", parent, key);
    else
        snprintf(out, cap, "%s", key);
}

/* ld_lookup returns the value node of key in mapping map (or NULL); *key_line gets
 * the key's line when found. */
static yaml_node_t *ld_lookup(cfg_ld *ld, yaml_node_t *map, const char *key, int *key_line)
{
    if (!map || map->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *k = ld_node(ld, pr->key);
        if (k && k->type == YAML_SCALAR_NODE &&
            strcmp((const char *)k->data.scalar.value, key) == 0) {
            if (key_line) *key_line = ld_line(k);
            return ld_node(ld, pr->value);
        }
    }
    return NULL;
}

/* ld_name_check validates a user-chosen name (source, target, channel, pipeline). */
static cot_err ld_name_check(cfg_ld *ld, int line, const char *path, const char *what,
                             const char *name)
{
    size_t n = strlen(name);
    bool ok = n > 0 && n <= CFG_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-') ok = false;
    }
    if (ok) return COT_OK;
    return ld_fail(ld, line, path,
                   "%s name '%s' is not valid: expected 1 to %d letters, digits, '_' or '-'", what,
                   name, CFG_NAME_MAX);
}

/* ld_check_keys checks the keys of mapping map at pattern (option table path) and
 * path (concrete, for messages): keys must be text, unique and known. Required
 * keys are checked when they are read, so errors come in the order of the file's
 * content before "missing" ones. */
static cot_err ld_check_keys(cfg_ld *ld, yaml_node_t *map, const char *pattern, const char *path)
{
    yaml_node_pair_t *first = map->data.mapping.pairs.start, *top = map->data.mapping.pairs.top;
    const copt *self = copt_find(pattern);
    bool named = self && self->type == COPT_MAP;
    for (yaml_node_pair_t *pr = first; pr < top; pr++) {
        yaml_node_t *k = ld_node(ld, pr->key);
        if (!k || k->type != YAML_SCALAR_NODE)
            return ld_fail(ld, k ? ld_line(k) : ld_line(map), path,
                           "a key is %s: expected a plain name", k ? ld_kind(k) : "missing");
        const char *key = (const char *)k->data.scalar.value;
        for (yaml_node_pair_t *prev = first; prev < pr; prev++) {
            yaml_node_t *pk = ld_node(ld, prev->key);
            if (pk && pk->type == YAML_SCALAR_NODE &&
                strcmp((const char *)pk->data.scalar.value, key) == 0)
                return ld_fail(ld, ld_line(k), path,
                               "duplicate key '%s' (first at line %d): keep only one", key,
                               ld_line(pk));
        }
        if (named) continue; /* keys are user-chosen names */
        char full[CFG_PATH_MAX];
        path_key(full, sizeof(full), pattern, key);
        const copt *o = copt_find(full);
        if (o && !copt_is_child(o, pattern)) o = NULL; /* "pipelines[]" is not a key */
        if (o && (o->flags & COPT_PLANNED))
            return ld_fail(ld, ld_line(k), path,
                           "key '%s' is not implemented yet (planned: %s): remove it", key,
                           o->desc);
        if (o) continue;

        const copt *best = NULL;
        int best_d = 99;
        buf known;
        buf_init(&known);
        for (size_t i = 0; i < config_n_options; i++) {
            const copt *c = &config_options[i];
            if (!copt_is_child(c, pattern) || (c->flags & COPT_PLANNED)) continue;
            int d = copt_edit_distance(key, copt_key(c));
            if (d < best_d) {
                best_d = d;
                best = c;
            }
            buf_printf(&known, "%s%s", known.len ? ", " : "", copt_key(c));
        }
        int limit = (int)strlen(key) / 3;
        if (limit < 1) limit = 1;
        cot_err rc;
        if (best && best_d <= limit)
            rc = ld_fail(ld, ld_line(k), path, "unknown key '%s' (did you mean '%s'?)", key,
                         copt_key(best));
        else
            rc = ld_fail(ld, ld_line(k), path, "unknown key '%s': expected one of %s", key,
                         known.data ? known.data : "(none)");
        buf_deinit(&known);
        return rc;
    }
    return COT_OK;
}

/* ld_missing reports that the required key of row pat is absent from map (or
 * that map itself is absent, then at line 1). */
static cot_err ld_missing(cfg_ld *ld, yaml_node_t *map, const char *pat, const char *path)
{
    const copt *o = copt_find(pat);
    return ld_fail(ld, map ? ld_line(map) : 1, path, "missing required key '%s' (%s)",
                   o ? copt_key(o) : pat, o ? o->desc : "");
}

/* ld_expand returns in *out (heap) the scalar n with ${NAME}, ${NAME:-fallback}
 * and $${ expanded; an unset variable without a fallback is an error. */
static cot_err ld_expand(cfg_ld *ld, const yaml_node_t *n, const char *path, char **out)
{
    const char *v = (const char *)n->data.scalar.value;
    size_t len = n->data.scalar.length;
    if (strlen(v) != len)
        return ld_fail(ld, ld_line(n), path, "the value contains a NUL character: remove it");
    buf b;
    buf_init(&b);
    buf_reserve(&b, len);
    buf_append(&b, "", 0); /* NUL-terminates: buf_reserve alone leaves data unset */
    for (size_t i = 0; i < len;) {
        if (v[i] == '$' && v[i + 1] == '$' && v[i + 2] == '{') {
            buf_puts(&b, "${");
            i += 3;
            continue;
        }
        if (!(v[i] == '$' && v[i + 1] == '{')) {
            buf_putc(&b, v[i++]);
            continue;
        }
        const char *name = v + i + 2;
        const char *close = strchr(name, '}');
        if (!close) {
            buf_deinit(&b);
            return ld_fail(ld, ld_line(n), path,
                           "'${' has no closing '}': write ${NAME}, or $${ for a literal ${");
        }
        const char *fallback = NULL;
        size_t name_len = (size_t)(close - name);
        const char *sep = strstr(name, ":-");
        if (sep && sep < close) {
            fallback = sep + 2;
            name_len = (size_t)(sep - name);
        }
        bool ok = name_len > 0 && !isdigit((unsigned char)name[0]);
        for (size_t j = 0; ok && j < name_len; j++) {
            if (!isalnum((unsigned char)name[j]) && name[j] != '_') ok = false;
        }
        if (!ok) {
            buf_deinit(&b);
            return ld_fail(ld, ld_line(n), path,
                           "'${%.*s}' is not a variable name: expected letters, digits and '_' "
                           "(write $${ for a literal ${)",
                           (int)(close - name), name);
        }
        char var[256];
        snprintf(var, sizeof(var), "%.*s", (int)(name_len < 255 ? name_len : 255), name);
        const char *val = getenv(var);
        if (fallback && (!val || !*val)) {
            buf_append(&b, fallback, (size_t)(close - fallback));
        } else if (!val) {
            buf_deinit(&b);
            return ld_fail(ld, ld_line(n), path,
                           "${%s} is not set in the environment (export %s before starting "
                           "cotter, or write ${%s:-fallback})",
                           var, var, var);
        } else {
            buf_puts(&b, val);
        }
        i = (size_t)(close - v) + 1;
    }
    *out = b.data ? b.data : cfg__strdup("");
    return COT_OK;
}

/* ld_expected describes the values a scalar option takes ("a number"). */
static void ld_expected(const copt *o, char *out, size_t cap)
{
    switch (o->type) {
    case COPT_UINT:
        snprintf(out, cap, "a number");
        break;
    case COPT_BOOL:
        snprintf(out, cap, "true or false");
        break;
    case COPT_DURATION:
        snprintf(out, cap, "a duration like 200ms, 5s or 1m");
        break;
    case COPT_SIZE:
        snprintf(out, cap, "a size like 512KB or 64MB");
        break;
    case COPT_URL:
        snprintf(out, cap, "a URL like mysql://user:password@host:port");
        break;
    case COPT_ENUM: {
        size_t n = (size_t)snprintf(out, cap, "one of ");
        for (const char *p = o->values; *p && n < cap; p++) {
            if (*p == '|')
                n += (size_t)snprintf(out + n, cap - n, ", ");
            else
                n += (size_t)snprintf(out + n, cap - n, "%c", *p);
        }
        break;
    }
    default:
        snprintf(out, cap, "text");
        break;
    }
}

/* ld_text finds key in map (pattern/path as in ld_check_keys) and returns in *out
 * its expanded text (heap), or a copy of the table default when it is absent or
 * null, or NULL when there is neither. *line gets the value's line (or the
 * mapping's). Non-scalar values are an error naming the expected type. */
static cot_err ld_text(cfg_ld *ld, yaml_node_t *map, const char *pattern, const char *path,
                       const char *key, char **out, int *line, const copt **row)
{
    char pat[CFG_PATH_MAX], full[CFG_PATH_MAX];
    path_key(pat, sizeof(pat), pattern, key);
    path_key(full, sizeof(full), path, key);
    const copt *o = copt_find(pat);
    if (!o) return ld_fail(ld, map ? ld_line(map) : 1, full, "internal: no option row '%s'", pat);
    *row = o;
    *out = NULL;
    *line = map ? ld_line(map) : 1;
    yaml_node_t *v = ld_lookup(ld, map, key, NULL);
    if (v && v->type != YAML_SCALAR_NODE) {
        char want[256];
        ld_expected(o, want, sizeof(want));
        return ld_fail(ld, ld_line(v), full, "expected %s, got %s", want, ld_kind(v));
    }
    if (!ld_is_null(v)) {
        *line = ld_line(v);
        return ld_expand(ld, v, full, out);
    }
    if (!v && (o->flags & COPT_REQUIRED)) return ld_missing(ld, map, pat, path);
    if (v) *line = ld_line(v);
    if (o->flags & COPT_REQUIRED)
        return ld_fail(ld, *line, full, "is empty: expected %s (%s)",
                       o->type == COPT_URL ? "a URL" : "a value", o->desc);
    if (o->def) *out = cfg__strdup(o->def);
    return COT_OK;
}

/* ld_range_check reports v outside the row's bounds; text is what the user wrote. */
static cot_err ld_range_check(cfg_ld *ld, int line, const char *full, const copt *o, uint64_t v,
                              const char *text)
{
    if (o->min == 0 && o->max == 0) return COT_OK;
    if (v >= o->min && v <= o->max) return COT_OK;
    char lo[32], hi[32];
    if (o->type == COPT_DURATION) {
        copt_format_duration(o->min, lo, sizeof(lo));
        copt_format_duration(o->max, hi, sizeof(hi));
    } else if (o->type == COPT_SIZE) {
        copt_format_size(o->min, lo, sizeof(lo));
        copt_format_size(o->max, hi, sizeof(hi));
    } else {
        snprintf(lo, sizeof(lo), "%" PRIu64, o->min);
        snprintf(hi, sizeof(hi), "%" PRIu64, o->max);
    }
    return ld_fail(ld, line, full, "'%s' is out of range: expected %s..%s", text, lo, hi);
}

static cot_err ld_string(cfg_ld *ld, yaml_node_t *map, const char *pattern, const char *path,
                         const char *key, char **out, int *line)
{
    const copt *o;
    int l;
    cot_err rc = ld_text(ld, map, pattern, path, key, out, &l, &o);
    if (line) *line = l;
    return rc;
}

static cot_err ld_uint(cfg_ld *ld, yaml_node_t *map, const char *pattern, const char *path,
                       const char *key, uint64_t *out)
{
    const copt *o;
    char *text, full[CFG_PATH_MAX], why[256];
    int line;
    cot_err rc = ld_text(ld, map, pattern, path, key, &text, &line, &o);
    if (rc != COT_OK || !text) return rc;
    path_key(full, sizeof(full), path, key);
    if (!copt_parse_uint(text, out, why, sizeof(why)))
        rc = ld_fail(ld, line, full, "%s", why);
    else
        rc = ld_range_check(ld, line, full, o, *out, text);
    free(text);
    return rc;
}

static cot_err ld_bool(cfg_ld *ld, yaml_node_t *map, const char *pattern, const char *path,
                       const char *key, bool *out)
{
    const copt *o;
    char *text, full[CFG_PATH_MAX], why[256];
    int line;
    cot_err rc = ld_text(ld, map, pattern, path, key, &text, &line, &o);
    if (rc != COT_OK || !text) return rc;
    path_key(full, sizeof(full), path, key);
    if (!copt_parse_bool(text, out, why, sizeof(why))) rc = ld_fail(ld, line, full, "%s", why);
    free(text);
    return rc;
}

/* ld_duration returns the value in the option's unit (unit_ms); a value that is
 * not a whole number of units is an error. */
static cot_err ld_duration(cfg_ld *ld, yaml_node_t *map, const char *pattern, const char *path,
                           const char *key, uint64_t *out)
{
    const copt *o;
    char *text, full[CFG_PATH_MAX], why[256];
    int line;
    uint64_t ms = 0;
    cot_err rc = ld_text(ld, map, pattern, path, key, &text, &line, &o);
    if (rc != COT_OK || !text) return rc;
    path_key(full, sizeof(full), path, key);
    if (!copt_parse_duration(text, o->unit_ms, &ms, why, sizeof(why)))
        rc = ld_fail(ld, line, full, "%s", why);
    else if (ms % o->unit_ms != 0)
        rc = ld_fail(ld, line, full, "'%s' is not a whole number of %s", text,
                     o->unit_ms == 1000 ? "seconds" : "units");
    else
        rc = ld_range_check(ld, line, full, o, ms, text);
    if (rc == COT_OK) *out = ms / o->unit_ms;
    free(text);
    return rc;
}

static cot_err ld_size(cfg_ld *ld, yaml_node_t *map, const char *pattern, const char *path,
                       const char *key, uint64_t *out)
{
    const copt *o;
    char *text, full[CFG_PATH_MAX], why[256];
    int line;
    cot_err rc = ld_text(ld, map, pattern, path, key, &text, &line, &o);
    if (rc != COT_OK || !text) return rc;
    path_key(full, sizeof(full), path, key);
    if (!copt_parse_size(text, out, why, sizeof(why)))
        rc = ld_fail(ld, line, full, "%s", why);
    else
        rc = ld_range_check(ld, line, full, o, *out, text);
    free(text);
    return rc;
}

/* ld_enum returns the index of the value among the row's values (lower-cased copy in *word
 * if word is not NULL, heap). */
static cot_err ld_enum(cfg_ld *ld, yaml_node_t *map, const char *pattern, const char *path,
                       const char *key, int *idx, char **word)
{
    const copt *o;
    char *text, full[CFG_PATH_MAX];
    int line;
    cot_err rc = ld_text(ld, map, pattern, path, key, &text, &line, &o);
    if (rc != COT_OK || !text) return rc;
    path_key(full, sizeof(full), path, key);
    *idx = copt_enum_index(o->values, text);
    if (*idx < 0) {
        buf alts;
        buf_init(&alts);
        const char *best = NULL;
        size_t best_n = 0;
        int best_d = 99;
        for (const char *p = o->values; *p;) {
            size_t n = strcspn(p, "|");
            char one[64];
            snprintf(one, sizeof(one), "%.*s", (int)n, p);
            int d = copt_edit_distance(text, one);
            if (d < best_d) {
                best_d = d;
                best = p;
                best_n = n;
            }
            buf_printf(&alts, "%s%s", alts.len ? ", " : "", one);
            p += n;
            if (*p == '|') p++;
        }
        if (best && best_d <= 2)
            rc = ld_fail(ld, line, full, "'%s' is not one of %s (did you mean '%.*s'?)", text,
                         alts.data, (int)best_n, best);
        else
            rc = ld_fail(ld, line, full, "'%s' is not one of %s", text, alts.data);
        buf_deinit(&alts);
    } else if (word) {
        for (char *c = text; *c; c++) *c = (char)tolower((unsigned char)*c);
        *word = text;
        text = NULL;
    }
    free(text);
    return rc;
}

/* ld_tls_check checks the TLS parameters of a database URL (tls, tls_ca,
 * tls_cert, tls_key, tls_verify; docs/security.md): known keys, known values,
 * readable files, a certificate with its key. */
static cot_err ld_tls_check(cfg_ld *ld, int line, const char *full, const cot_url *u)
{
    static const char *const keys[] = {"tls", "tls_ca", "tls_cert", "tls_key", "tls_verify"};
    for (const char *p = u->query; p && *p;) {
        size_t n = strcspn(p, "&"), kn = strcspn(p, "=&");
        const char *alias = cot_url_tls_alias(p, kn);
        if (alias)
            return ld_fail(ld, line, full,
                           "'%s': URL parameter '%.*s' is another client's TLS setting, not "
                           "cotter's: ignoring it would connect in plain text; write %s "
                           "(docs/security.md)",
                           u->redacted, (int)kn, p, alias);
        if (kn >= 3 && strncmp(p, "tls", 3) == 0) {
            bool known = false;
            for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
                if (strlen(keys[i]) == kn && strncmp(p, keys[i], kn) == 0) known = true;
            if (!known)
                return ld_fail(ld, line, full,
                               "'%s': unknown URL parameter '%.*s': expected tls, tls_ca, "
                               "tls_cert, tls_key or tls_verify",
                               u->redacted, (int)kn, p);
        }
        p += n;
        if (*p == '&') p++;
    }
    cot_err rc = COT_OK;
    char *on = cot_url_param(u, "tls"), *verify = cot_url_param(u, "tls_verify");
    char *files[3] = {cot_url_param(u, "tls_ca"), cot_url_param(u, "tls_cert"),
                      cot_url_param(u, "tls_key")};
    static const char *const file_keys[3] = {"tls_ca", "tls_cert", "tls_key"};
    if (on && copt_enum_index("true|false|1|0|on|off", on) < 0)
        rc = ld_fail(ld, line, full, "'%s': tls=%s: expected true or false", u->redacted, on);
    else if (verify && copt_enum_index("none|ca|full", verify) < 0)
        rc = ld_fail(ld, line, full, "'%s': tls_verify=%s: expected none, ca or full", u->redacted,
                     verify);
    else if (!files[1] != !files[2])
        rc = ld_fail(ld, line, full,
                     "'%s': tls_cert and tls_key go together (a client certificate and its key)",
                     u->redacted);
    for (int i = 0; rc == COT_OK && i < 3; i++)
        if (files[i] && access(files[i], R_OK) != 0)
            rc = ld_fail(ld, line, full, "'%s': %s=%s: cannot read it: %s", u->redacted,
                         file_keys[i], files[i], strerror(errno));
    free(on);
    free(verify);
    for (int i = 0; i < 3; i++) free(files[i]);
    return rc;
}

/* ld_url parses the URL at key into *u and checks its scheme against the row's
 * schemes; what names the kind of endpoint ("sources") for messages. */
static cot_err ld_url(cfg_ld *ld, yaml_node_t *map, const char *pattern, const char *path,
                      const char *key, const char *what, cot_url *u)
{
    const copt *o;
    char *text, full[CFG_PATH_MAX];
    int line;
    cot_err rc = ld_text(ld, map, pattern, path, key, &text, &line, &o);
    if (rc != COT_OK || !text) return rc;
    path_key(full, sizeof(full), path, key);
    rc = cot_url_parse(text, u);
    if (text) {
        volatile char *t = text; /* the text holds the password */
        for (size_t i = 0; t[i]; i++) t[i] = '\0';
        free(text);
    }
    if (rc != COT_OK) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", cot_err_msg());
        return ld_fail(ld, line, full, "%s", msg);
    }
    if (copt_enum_index(o->values, u->scheme) < 0) {
        rc = ld_fail(ld, line, full,
                     "'%s': scheme '%s://' is not supported for %s yet: only mysql:// and "
                     "mariadb:// are implemented",
                     u->redacted, u->scheme, what);
    } else if (cot_url_is_mysql(u) && !*u->host) {
        char *sock = cot_url_param(u, "socket");
        if (!sock)
            rc =
                ld_fail(ld, line, full,
                        "'%s' has no host: expected scheme://user:password@host:port", u->redacted);
        free(sock);
    }
    if (rc == COT_OK && cot_url_is_mysql(u)) rc = ld_tls_check(ld, line, full, u);
    if (rc != COT_OK) cot_url_deinit(u);
    return rc;
}

/* ld_block returns in *out the mapping at key (NULL when absent or null) after
 * checking its keys; sub gets its concrete path. */
static cot_err ld_block(cfg_ld *ld, yaml_node_t *map, const char *pattern, const char *path,
                        const char *key, yaml_node_t **out, char *sub, size_t sub_cap)
{
    char pat[CFG_PATH_MAX];
    path_key(pat, sizeof(pat), pattern, key);
    path_key(sub, sub_cap, path, key);
    *out = NULL;
    yaml_node_t *v = ld_lookup(ld, map, key, NULL);
    if (ld_is_null(v)) return COT_OK;
    if (v->type != YAML_MAPPING_NODE)
        return ld_fail(ld, ld_line(v), sub, "expected a mapping (key: value), got %s", ld_kind(v));
    *out = v;
    return ld_check_keys(ld, v, pat, sub);
}

/* ---- endpoints --------------------------------------------------------- */

static cot_err ld_endpoints(cfg_ld *ld, yaml_node_t *root, const char *key, bool is_source,
                            cfg_endpoint **out, int *n_out)
{
    int key_line = 1;
    yaml_node_t *map = ld_lookup(ld, root, key, &key_line);
    if (!map) return ld_missing(ld, root, key, "");
    const char *example =
        is_source ? "shop: { url: \"mysql://user:password@host:3306\", server_id: 6001 }"
                  : "warehouse: { url: \"mysql://user:password@host:3306\" }";
    if (ld_is_null(map) || (map->type == YAML_MAPPING_NODE &&
                            map->data.mapping.pairs.top == map->data.mapping.pairs.start))
        return ld_fail(ld, map ? ld_line(map) : key_line, key,
                       "no %s defined: expected at least one, e.g. %s", key, example);
    if (map->type != YAML_MAPPING_NODE)
        return ld_fail(ld, ld_line(map), key, "expected a mapping of names to %s, e.g. %s, got %s",
                       key, example, ld_kind(map));
    int n = (int)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    cfg_endpoint *eps = cfg__calloc((size_t)n, sizeof(*eps));
    *out = eps;
    *n_out = 0;
    char pattern[64];
    snprintf(pattern, sizeof(pattern), "%s.*", key);
    cot_err rc = ld_check_keys(ld, map, key, key); /* duplicates */
    for (int i = 0; rc == COT_OK && i < n; i++) {
        yaml_node_pair_t *pr = &map->data.mapping.pairs.start[i];
        yaml_node_t *k = ld_node(ld, pr->key), *v = ld_node(ld, pr->value);
        const char *name = (const char *)k->data.scalar.value;
        char path[CFG_PATH_MAX];
        path_key(path, sizeof(path), key, name);
        cfg_endpoint *ep = &eps[i];
        *n_out = i + 1;
        ep->name = cfg__strdup(name);
        ep->line = ld_line(k);
        if ((rc = ld_name_check(ld, ld_line(k), key, is_source ? "source" : "target", name))) break;
        if (ld_is_null(v))
            return ld_fail(ld, ld_line(k), path, "is empty: expected a mapping with url%s",
                           is_source ? " and server_id" : "");
        if (v->type != YAML_MAPPING_NODE)
            return ld_fail(ld, ld_line(v), path, "expected a mapping (url: ...), got %s",
                           ld_kind(v));
        if ((rc = ld_check_keys(ld, v, pattern, path))) break;
        if ((rc = ld_url(ld, v, pattern, path, "url", key, &ep->url))) break;
        uint64_t u = 0;
        if ((rc = ld_duration(ld, v, pattern, path, "connect_timeout", &u))) break;
        ep->connect_timeout_s = (int)u;
        if ((rc = ld_duration(ld, v, pattern, path, "read_timeout", &u))) break;
        ep->read_timeout_s = (int)u;
        if (is_source) {
            if ((rc = ld_uint(ld, v, pattern, path, "server_id", &u))) break;
            ep->server_id = (uint32_t)u;
            if ((rc = ld_duration(ld, v, pattern, path, "heartbeat", &u))) break;
            ep->heartbeat_s = (int)u;
            if ((rc = ld_size(ld, v, pattern, path, "max_event_size", &ep->max_event_size))) break;
            /* a source has no write timeout of its own: its query connection uses a target's
             * default */
            if ((rc = ld_duration(ld, NULL, "targets.*", path, "write_timeout", &u))) break;
            ep->write_timeout_s = (int)u;
            if (ep->heartbeat_s >= ep->read_timeout_s) {
                int line = 0;
                ld_lookup(ld, v, "heartbeat", &line);
                if (!line) ld_lookup(ld, v, "read_timeout", &line);
                rc = ld_fail(ld, line ? line : ld_line(v), path,
                             "heartbeat (%ds) must be shorter than read_timeout (%ds), or the "
                             "connection times out while the source is idle",
                             ep->heartbeat_s, ep->read_timeout_s);
                break;
            }
        } else {
            if ((rc = ld_duration(ld, v, pattern, path, "write_timeout", &u))) break;
            ep->write_timeout_s = (int)u;
            if ((rc = ld_duration(ld, v, pattern, path, "ddl_timeout", &u))) break;
            ep->ddl_timeout_s = (int)u > ep->read_timeout_s ? (int)u : ep->read_timeout_s;
        }
    }
    return rc;
}

/* ---- channels and pipelines ------------------------------------------- */

/* glob__split returns the offset of the '.' separating schema and table in a
 * pattern ('.' outside [] and not escaped), or -1 when there is none or more
 * than one; *n_dots gets how many there are. */
static long glob__split(const char *pat, int *n_dots, bool *open_bracket)
{
    long dot = -1;
    *n_dots = 0;
    *open_bracket = false;
    for (size_t i = 0; pat[i]; i++) {
        if (pat[i] == '\\' && pat[i + 1]) {
            i++;
        } else if (pat[i] == '[') {
            size_t j = i + 1;
            if (pat[j] == '!' || pat[j] == '^') j++;
            if (pat[j] == ']') j++;
            while (pat[j] && pat[j] != ']') j++;
            if (!pat[j]) {
                *open_bracket = true;
                return -1;
            }
            i = j;
        } else if (pat[i] == '.') {
            (*n_dots)++;
            if (dot < 0) dot = (long)i;
        }
    }
    return *n_dots == 1 ? dot : -1;
}

static cot_err ld_match_check(cfg_ld *ld, int line, const char *path, const char *pat)
{
    if (table_pattern_is_regex(pat)) {
        size_t n = strlen(pat);
        char *re_text = cfg__calloc(n + 3, 1);
        snprintf(re_text, n + 3, "^(%.*s)$", (int)(n - 2), pat + 1);
        regex_t re;
        int rc = regcomp(&re, re_text, REG_EXTENDED | REG_NOSUB);
        free(re_text);
        if (rc != 0) {
            char why[256];
            regerror(rc, &re, why, sizeof(why));
            return ld_fail(ld, line, path,
                           "'%s' is not a valid regular expression (%s): a pattern between "
                           "slashes is matched, POSIX extended, against the whole schema.table",
                           pat, why);
        }
        regfree(&re);
        return COT_OK;
    }
    int n_dots;
    bool open_bracket;
    long dot = glob__split(pat, &n_dots, &open_bracket);
    if (open_bracket)
        return ld_fail(ld, line, path, "'%s' has a '[' without its ']': close it, or write \\[",
                       pat);
    if (n_dots > 1)
        return ld_fail(ld, line, path,
                       "'%s' cannot match any table: expected schema.table with one '.' (write "
                       "\\. for a '.' inside a name)",
                       pat);
    if (dot <= 0 || pat[dot + 1] == '\0')
        return ld_fail(ld, line, path,
                       "'%s' cannot match any table: expected schema.table, e.g. shop.orders or "
                       "shop.*",
                       pat);
    size_t n = strlen(pat);
    if (n > 0 && pat[n - 1] == '\\' && (n < 2 || pat[n - 2] != '\\'))
        return ld_fail(ld, line, path, "'%s' ends with a lone '\\'", pat);
    return COT_OK;
}

/* route__split returns the offset of the '.' outside {} in a template, or -1 if
 * there is not exactly one. */
static long route__split(const char *tmpl)
{
    long dot = -1;
    int depth = 0, n = 0;
    for (size_t i = 0; tmpl[i]; i++) {
        if (tmpl[i] == '{')
            depth++;
        else if (tmpl[i] == '}' && depth > 0)
            depth--;
        else if (tmpl[i] == '.' && depth == 0) {
            n++;
            if (dot < 0) dot = (long)i;
        }
    }
    return n == 1 ? dot : -1;
}

/* route__expand appends tmpl[0..n) with {schema} and {table} replaced to b;
 * returns false with why set for an unknown or unclosed placeholder. */
static bool route__expand(const char *tmpl, size_t n, const char *schema, const char *table, buf *b,
                          char *why, size_t why_cap)
{
    for (size_t i = 0; i < n; i++) {
        if (tmpl[i] == '}') {
            snprintf(why, why_cap, "has a '}' without '{'");
            return false;
        }
        if (tmpl[i] != '{') {
            buf_putc(b, tmpl[i]);
            continue;
        }
        const char *close = memchr(tmpl + i, '}', n - i);
        if (!close) {
            snprintf(why, why_cap, "has a '{' without '}'");
            return false;
        }
        size_t len = (size_t)(close - tmpl - i - 1);
        const char *name = tmpl + i + 1;
        if (len == 6 && strncmp(name, "schema", 6) == 0)
            buf_puts(b, schema);
        else if (len == 5 && strncmp(name, "table", 5) == 0)
            buf_puts(b, table);
        else {
            char ph[64];
            snprintf(ph, sizeof(ph), "%.*s", (int)(len < 63 ? len : 63), name);
            int ds = copt_edit_distance(ph, "schema"), dt = copt_edit_distance(ph, "table");
            if (ds <= 2 || dt <= 2)
                snprintf(why, why_cap, "has an unknown placeholder '{%s}' (did you mean '{%s}'?)",
                         ph, ds <= dt ? "schema" : "table");
            else
                snprintf(why, why_cap,
                         "has an unknown placeholder '{%s}': expected {schema} or {table}", ph);
            return false;
        }
        i = (size_t)(close - tmpl);
    }
    return true;
}

static cot_err ld_route_check(cfg_ld *ld, int line, const char *path, const char *tmpl)
{
    long dot = route__split(tmpl);
    if (dot <= 0 || tmpl[dot + 1] == '\0')
        return ld_fail(ld, line, path,
                       "'%s' is not a schema.table template: expected e.g. warehouse.{table} or "
                       "{schema}.{table}_copy",
                       tmpl);
    char why[256];
    buf b;
    buf_init(&b);
    bool ok = route__expand(tmpl, strlen(tmpl), "s", "t", &b, why, sizeof(why));
    buf_deinit(&b);
    if (!ok) return ld_fail(ld, line, path, "'%s' %s", tmpl, why);
    return COT_OK;
}

/* ld_endpoint_ref resolves a pipeline's source/target name against the list. */
static cot_err ld_endpoint_ref(cfg_ld *ld, int line, const char *path, const char *name,
                               const char *under, cfg_endpoint *eps, int n, cfg_endpoint **out)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(eps[i].name, name) == 0) {
            *out = &eps[i];
            return COT_OK;
        }
    }
    buf defined;
    buf_init(&defined);
    for (int i = 0; i < n; i++) buf_printf(&defined, "%s%s", i ? ", " : "", eps[i].name);
    cot_err rc = ld_fail(ld, line, path, "'%s' is not defined under %s (defined: %s)", name, under,
                         defined.data ? defined.data : "none");
    buf_deinit(&defined);
    return rc;
}

/* ld_column_name checks a column name given in a mapping. */
static cot_err ld_column_name(cfg_ld *ld, const yaml_node_t *n, const char *path, const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 64)
        return ld_fail(ld, ld_line(n), path, "'%s' is not a column name: expected 1..64 characters",
                       name);
    return COT_OK;
}

/* ld_columns reads columns / exclude / constants of one table mapping. */
static cot_err ld_columns(cfg_ld *ld, yaml_node_t *item, const char *ipath, cfg_table_map *tm)
{
    char sub[CFG_PATH_MAX];
    int kline = ld_line(item);
    yaml_node_t *cols = ld_lookup(ld, item, "columns", &kline);
    yaml_node_t *excl = ld_lookup(ld, item, "exclude", NULL);
    if (!ld_is_null(cols) && !ld_is_null(excl)) {
        path_key(sub, sizeof(sub), ipath, "exclude");
        return ld_fail(ld, ld_line(excl), sub,
                       "give either columns (the ones to keep) or exclude (the ones to drop), "
                       "not both");
    }
    for (int pass = 0; pass < 2; pass++) {
        yaml_node_t *seq = pass == 0 ? cols : excl;
        const char *key = pass == 0 ? "columns" : "exclude";
        path_key(sub, sizeof(sub), ipath, key);
        if (ld_is_null(seq)) continue;
        if (seq->type != YAML_SEQUENCE_NODE)
            return ld_fail(ld, ld_line(seq), sub, "expected a list of column names, got %s",
                           ld_kind(seq));
        int n = (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
        if (n == 0)
            return ld_fail(ld, ld_line(seq), sub,
                           "empty list: name at least one column, or leave the key out");
        char **names = cfg__calloc((size_t)n, sizeof(char *));
        char **as = pass == 0 ? cfg__calloc((size_t)n, sizeof(char *)) : NULL;
        if (pass == 0) {
            tm->columns = names;
            tm->columns_as = as;
            tm->columns_line = ld_line(seq);
        } else {
            tm->exclude = names;
            tm->exclude_line = ld_line(seq);
        }
        for (int i = 0; i < n; i++) {
            yaml_node_t *c = ld_node(ld, seq->data.sequence.items.start[i]);
            char cpath[CFG_PATH_MAX];
            snprintf(cpath, sizeof(cpath), "%s[%d]", sub, i);
            cot_err rc;
            if (c->type == YAML_SCALAR_NODE) {
                rc = ld_expand(ld, c, cpath, &names[i]);
                if (!rc && as) as[i] = cfg__strdup(names[i]);
            } else if (pass == 0 && c->type == YAML_MAPPING_NODE &&
                       c->data.mapping.pairs.top - c->data.mapping.pairs.start == 1) {
                yaml_node_t *k = ld_node(ld, c->data.mapping.pairs.start->key);
                yaml_node_t *v = ld_node(ld, c->data.mapping.pairs.start->value);
                if (!k || !v || k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE)
                    return ld_fail(ld, ld_line(c), cpath,
                                   "expected a column name or {source_name: target_name}");
                names[i] = cfg__strdup((const char *)k->data.scalar.value);
                rc = ld_expand(ld, v, cpath, &as[i]);
            } else {
                return ld_fail(ld, ld_line(c), cpath, "expected a column name%s, got %s",
                               pass == 0 ? " or {source_name: target_name}" : "", ld_kind(c));
            }
            if (pass == 0)
                tm->n_columns = i + 1;
            else
                tm->n_exclude = i + 1;
            if (rc) return rc;
            if ((rc = ld_column_name(ld, c, cpath, names[i]))) return rc;
            if (as && (rc = ld_column_name(ld, c, cpath, as[i]))) return rc;
            for (int j = 0; j < i; j++) {
                if (strcasecmp(names[j], names[i]) == 0)
                    return ld_fail(ld, ld_line(c), cpath, "column '%s' is listed twice", names[i]);
                if (as && strcasecmp(as[j], as[i]) == 0)
                    return ld_fail(ld, ld_line(c), cpath,
                                   "two columns would be called '%s' on the target", as[i]);
            }
        }
    }
    path_key(sub, sizeof(sub), ipath, "constants");
    yaml_node_t *consts = ld_lookup(ld, item, "constants", NULL);
    if (ld_is_null(consts)) return COT_OK;
    if (consts->type != YAML_MAPPING_NODE)
        return ld_fail(ld, ld_line(consts), sub,
                       "expected a mapping of column: value, like {source_shard: 3}, got %s",
                       ld_kind(consts));
    cot_err rc = ld_check_keys(ld, consts, "channels.*.pipelines[].tables[].constants", sub);
    if (rc) return rc;
    int n = (int)(consts->data.mapping.pairs.top - consts->data.mapping.pairs.start);
    tm->const_names = cfg__calloc((size_t)(n ? n : 1), sizeof(char *));
    tm->const_values = cfg__calloc((size_t)(n ? n : 1), sizeof(char *));
    tm->consts_line = ld_line(consts);
    for (int i = 0; i < n; i++) {
        yaml_node_pair_t *pr = consts->data.mapping.pairs.start + i;
        yaml_node_t *k = ld_node(ld, pr->key), *v = ld_node(ld, pr->value);
        char cpath[CFG_PATH_MAX];
        path_key(cpath, sizeof(cpath), sub, (const char *)k->data.scalar.value);
        if (!v || v->type != YAML_SCALAR_NODE)
            return ld_fail(ld, v ? ld_line(v) : ld_line(k), cpath, "expected a value, got %s",
                           v ? ld_kind(v) : "nothing");
        tm->const_names[i] = cfg__strdup((const char *)k->data.scalar.value);
        tm->n_consts = i + 1;
        if ((rc = ld_expand(ld, v, cpath, &tm->const_values[i]))) return rc;
        if ((rc = ld_column_name(ld, k, cpath, tm->const_names[i]))) return rc;
        for (int j = 0; j < tm->n_columns; j++)
            if (strcasecmp(tm->columns_as[j], tm->const_names[i]) == 0)
                return ld_fail(ld, ld_line(k), cpath,
                               "'%s' is both a copied column and a constant: keep one",
                               tm->const_names[i]);
    }
    return COT_OK;
}

/* ld_skip_tables reads the pipeline's skip_tables: patterns of tables no
 * mapping takes. */
static cot_err ld_skip_tables(cfg_ld *ld, yaml_node_t *pmap, const char *path, cfg_pipeline *pl)
{
    char sub[CFG_PATH_MAX];
    path_key(sub, sizeof(sub), path, "skip_tables");
    yaml_node_t *seq = ld_lookup(ld, pmap, "skip_tables", NULL);
    if (ld_is_null(seq)) return COT_OK;
    if (seq->type != YAML_SEQUENCE_NODE)
        return ld_fail(ld, ld_line(seq), sub,
                       "expected a list of schema.table patterns (globs, or /regex/), got %s",
                       ld_kind(seq));
    int n = (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    pl->skip_tables = cfg__calloc((size_t)(n ? n : 1), sizeof(char *));
    for (int i = 0; i < n; i++) {
        yaml_node_t *c = ld_node(ld, seq->data.sequence.items.start[i]);
        char cpath[CFG_PATH_MAX];
        snprintf(cpath, sizeof(cpath), "%s[%d]", sub, i);
        if (c->type != YAML_SCALAR_NODE)
            return ld_fail(ld, ld_line(c), cpath, "expected a schema.table pattern, got %s",
                           ld_kind(c));
        cot_err rc = ld_expand(ld, c, cpath, &pl->skip_tables[i]);
        pl->n_skip_tables = i + 1;
        if (!rc) rc = ld_match_check(ld, ld_line(c), cpath, pl->skip_tables[i]);
        if (rc) return rc;
    }
    return COT_OK;
}

static cot_err ld_tables(cfg_ld *ld, yaml_node_t *pmap, const char *path, cfg_pipeline *pl)
{
    const char *pattern = "channels.*.pipelines[].tables[]";
    char tpath[CFG_PATH_MAX];
    path_key(tpath, sizeof(tpath), path, "tables");
    int key_line = ld_line(pmap);
    yaml_node_t *seq = ld_lookup(ld, pmap, "tables", &key_line);
    if (!seq) return ld_missing(ld, pmap, "channels.*.pipelines[].tables", path);
    if (!ld_is_null(seq) && seq->type != YAML_SEQUENCE_NODE)
        return ld_fail(ld, ld_line(seq), tpath,
                       "expected a list of {match: schema.table, to: ...}, got %s", ld_kind(seq));
    int n =
        ld_is_null(seq) ? 0 : (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (n == 0)
        return ld_fail(ld, seq ? ld_line(seq) : key_line, tpath,
                       "empty list: expected at least one entry like - match: shop.*");
    pl->tables = cfg__calloc((size_t)n, sizeof(*pl->tables));
    for (int i = 0; i < n; i++) {
        yaml_node_t *item = ld_node(ld, seq->data.sequence.items.start[i]);
        char ipath[CFG_PATH_MAX];
        snprintf(ipath, sizeof(ipath), "%s[%d]", tpath, i);
        if (item->type != YAML_MAPPING_NODE)
            return ld_fail(ld, ld_line(item), ipath,
                           "expected a mapping like {match: shop.*, to: warehouse.{table}}, got %s",
                           ld_kind(item));
        cfg_table_map *tm = &pl->tables[i];
        pl->n_tables = i + 1;
        tm->line = ld_line(item);
        cot_err rc = ld_check_keys(ld, item, pattern, ipath);
        int line = tm->line;
        char sub[CFG_PATH_MAX];
        if (!rc) rc = ld_string(ld, item, pattern, ipath, "match", &tm->match, &line);
        path_key(sub, sizeof(sub), ipath, "match");
        if (!rc) rc = ld_match_check(ld, line, sub, tm->match);
        if (!rc) rc = ld_string(ld, item, pattern, ipath, "to", &tm->to, &line);
        path_key(sub, sizeof(sub), ipath, "to");
        if (!rc && tm->to) rc = ld_route_check(ld, line, sub, tm->to);
        if (!rc) rc = ld_columns(ld, item, ipath, tm);
        if (!rc) rc = ld_string(ld, item, pattern, ipath, "where", &tm->where, &tm->where_line);
        if (!rc) rc = ld_enum(ld, item, pattern, ipath, "on_overflow", &tm->on_overflow, NULL);
        yaml_node_t *ov = rc ? NULL : ld_lookup(ld, item, "on_overflow", NULL);
        if (ov && ld_is_null(ov) && strcasecmp((const char *)ov->data.scalar.value, "null") == 0)
            tm->on_overflow = CFG_OVERFLOW_NULL; /* YAML reads a plain null as "no value" */
        if (!rc) rc = ld_enum(ld, item, pattern, ipath, "conflict", &tm->conflict, NULL);
        if (!rc)
            rc = ld_string(ld, item, pattern, ipath, "conflict_column", &tm->conflict_column,
                           &tm->conflict_line);
        path_key(sub, sizeof(sub), ipath, "conflict_column");
        if (!rc && tm->conflict == CFG_CONFLICT_LATEST_WINS && !tm->conflict_column)
            rc = ld_fail(ld, tm->line, sub,
                         "conflict: latest_wins needs conflict_column: the timestamp or version "
                         "column to compare (e.g. conflict_column: updated_at)");
        if (!rc && tm->conflict != CFG_CONFLICT_LATEST_WINS && tm->conflict_column)
            rc = ld_fail(ld, tm->conflict_line, sub,
                         "conflict_column is only used with conflict: latest_wins; remove it or "
                         "set conflict: latest_wins");
        if (rc) return rc;
    }
    return COT_OK;
}

static cot_err ld_pipeline(cfg_ld *ld, yaml_node_t *pmap, const char *path, cfg_pipeline *pl)
{
    const char *pattern = "channels.*.pipelines[]";
    cot_err rc;
    int line;
    char sub[CFG_PATH_MAX];
    cot_config *cfg = ld->cfg;
    uint64_t u;

    pl->line = ld_line(pmap);
    if ((rc = ld_check_keys(ld, pmap, pattern, path))) return rc;
    if ((rc = ld_string(ld, pmap, pattern, path, "name", &pl->name, &line))) return rc;
    path_key(sub, sizeof(sub), path, "name");
    if ((rc = ld_name_check(ld, line, sub, "pipeline", pl->name))) return rc;

    if ((rc = ld_string(ld, pmap, pattern, path, "source", &pl->source_name, &line))) return rc;
    path_key(sub, sizeof(sub), path, "source");
    if ((rc = ld_endpoint_ref(ld, line, sub, pl->source_name, "sources", cfg->sources,
                              cfg->n_sources, &pl->source)))
        return rc;
    if ((rc = ld_string(ld, pmap, pattern, path, "target", &pl->target_name, &line))) return rc;
    path_key(sub, sizeof(sub), path, "target");
    if ((rc = ld_endpoint_ref(ld, line, sub, pl->target_name, "targets", cfg->targets,
                              cfg->n_targets, &pl->target)))
        return rc;

    int snap = 0;
    if ((rc = ld_enum(ld, pmap, pattern, path, "snapshot", &snap, NULL))) return rc;
    pl->snapshot = snap == 0 ? SNAPSHOT_INITIAL : SNAPSHOT_NEVER; /* values: initial|never */
    {
        char spat[CFG_PATH_MAX], ssub[CFG_PATH_MAX];
        yaml_node_t *sblk;
        snprintf(spat, sizeof(spat), "%s.snapshot_load", pattern);
        if ((rc = ld_block(ld, pmap, pattern, path, "snapshot_load", &sblk, ssub, sizeof(ssub))))
            return rc;
        if ((rc = ld_uint(ld, sblk, spat, ssub, "parallelism", &u))) return rc;
        pl->snapshot_parallelism = (uint32_t)u;
        if ((rc = ld_uint(ld, sblk, spat, ssub, "chunk_rows", &u))) return rc;
        pl->snapshot_chunk_rows = (uint32_t)u;
        if ((rc = ld_bool(ld, sblk, spat, ssub, "create_tables", &pl->snapshot_create_tables)))
            return rc;
        if ((rc = ld_bool(ld, sblk, spat, ssub, "defer_indexes", &pl->snapshot_defer_indexes)))
            return rc;
    }
    int ddl = 0;
    if ((rc = ld_enum(ld, pmap, pattern, path, "ddl", &ddl, NULL))) return rc;
    pl->ddl = (cfg_ddl)ddl; /* values: apply|ignore|stop, in cfg_ddl's order */
    int on_error = 0;
    if ((rc = ld_enum(ld, pmap, pattern, path, "on_error", &on_error, NULL))) return rc;
    pl->on_error_skip = on_error == 1; /* values: stop|skip */

    char pat[CFG_PATH_MAX];
    yaml_node_t *blk;
    snprintf(pat, sizeof(pat), "%s.start", pattern);
    if ((rc = ld_block(ld, pmap, pattern, path, "start", &blk, sub, sizeof(sub)))) return rc;
    if (blk) {
        int file_line = 0, pos_line = 0;
        if ((rc = ld_string(ld, blk, pat, sub, "file", &pl->start_file, &file_line))) return rc;
        if ((rc = ld_string(ld, blk, pat, sub, "gtid", &pl->start_gtid, &line))) return rc;
        if ((rc = ld_uint(ld, blk, pat, sub, "pos", &pl->start_pos))) return rc;
        bool has_pos = !ld_is_null(ld_lookup(ld, blk, "pos", &pos_line));
        if (pl->start_file && pl->start_gtid)
            return ld_fail(ld, ld_line(blk), sub, "give either file (and pos) or gtid, not both");
        if (has_pos && !pl->start_file)
            return ld_fail(ld, pos_line, sub, "pos needs file: give the binlog file name too");
        if (!pl->start_file) pl->start_pos = 0;
    }

    snprintf(pat, sizeof(pat), "%s.batch", pattern);
    if ((rc = ld_block(ld, pmap, pattern, path, "batch", &blk, sub, sizeof(sub)))) return rc;
    if ((rc = ld_uint(ld, blk, pat, sub, "rows", &u))) return rc;
    pl->batch_rows = (uint32_t)u;
    if ((rc = ld_size(ld, blk, pat, sub, "bytes", &pl->batch_bytes))) return rc;
    if ((rc = ld_duration(ld, blk, pat, sub, "ms", &u))) return rc;
    pl->batch_ms = (uint32_t)u;
    if ((rc = ld_bool(ld, blk, pat, sub, "merge", &pl->batch_merge))) return rc;

    snprintf(pat, sizeof(pat), "%s.queue", pattern);
    if ((rc = ld_block(ld, pmap, pattern, path, "queue", &blk, sub, sizeof(sub)))) return rc;
    if ((rc = ld_uint(ld, blk, pat, sub, "rows", &u))) return rc;
    pl->queue_rows = (uint32_t)u;
    if ((rc = ld_size(ld, blk, pat, sub, "bytes", &pl->queue_bytes))) return rc;

    snprintf(pat, sizeof(pat), "%s.retry", pattern);
    if ((rc = ld_block(ld, pmap, pattern, path, "retry", &blk, sub, sizeof(sub)))) return rc;
    if ((rc = ld_duration(ld, blk, pat, sub, "min_ms", &u))) return rc;
    pl->retry_min_ms = (uint32_t)u;
    if ((rc = ld_duration(ld, blk, pat, sub, "max_ms", &u))) return rc;
    pl->retry_max_ms = (uint32_t)u;
    if ((rc = ld_uint(ld, blk, pat, sub, "times", &u))) return rc;
    pl->retry_times = (uint32_t)u;
    snprintf(pat, sizeof(pat), "%s.check", pattern);
    {
        yaml_node_t *cblk = NULL;
        char csub[CFG_PATH_MAX];
        if ((rc = ld_block(ld, pmap, pattern, path, "check", &cblk, csub, sizeof(csub)))) return rc;
        if ((rc = ld_duration(ld, cblk, pat, csub, "schedule", &u))) return rc;
        pl->check_schedule_s = (uint32_t)u;
        if ((rc = ld_bool(ld, cblk, pat, csub, "enabled", &pl->check_enabled))) return rc;
    }
    if (pl->retry_max_ms < pl->retry_min_ms) {
        line = blk ? ld_line(blk) : pl->line;
        ld_lookup(ld, blk, "max_ms", &line);
        char lo[32], hi[32];
        copt_format_duration(pl->retry_min_ms, lo, sizeof(lo));
        copt_format_duration(pl->retry_max_ms, hi, sizeof(hi));
        return ld_fail(ld, line, sub, "max_ms (%s) is smaller than min_ms (%s)", hi, lo);
    }

    snprintf(pat, sizeof(pat), "%s.load", pattern);
    if ((rc = ld_block(ld, pmap, pattern, path, "load", &blk, sub, sizeof(sub)))) return rc;
    if ((rc = ld_uint(ld, blk, pat, sub, "parallelism", &u))) return rc;
    pl->load_parallelism = (uint32_t)u;
    if ((rc = ld_uint(ld, blk, pat, sub, "bulk_rows", &u))) return rc;
    pl->load_bulk_rows = (uint32_t)u;

    if ((rc = ld_bool(ld, pmap, pattern, path, "dry_run", &pl->dry_run))) return rc;
    if ((rc = ld_skip_tables(ld, pmap, path, pl))) return rc;
    return ld_tables(ld, pmap, path, pl);
}

static cot_err ld_alarm_rules(cfg_ld *ld, yaml_node_t *blk, const char *pattern, const char *path,
                              cfg_alarm_rules *r);

static cot_err ld_channels(cfg_ld *ld, yaml_node_t *root)
{
    cot_config *cfg = ld->cfg;
    int key_line = 1;
    yaml_node_t *map = ld_lookup(ld, root, "channels", &key_line);
    if (!map) return ld_missing(ld, root, "channels", "");
    if (ld_is_null(map) || (map->type == YAML_MAPPING_NODE &&
                            map->data.mapping.pairs.top == map->data.mapping.pairs.start))
        return ld_fail(ld, map ? ld_line(map) : key_line, "channels",
                       "no channels defined: expected at least one channel with pipelines");
    if (map->type != YAML_MAPPING_NODE)
        return ld_fail(ld, ld_line(map), "channels",
                       "expected a mapping of channel names to {pipelines: [...]}, got %s",
                       ld_kind(map));
    cot_err rc = ld_check_keys(ld, map, "channels", "channels");
    if (rc) return rc;
    int n = (int)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
    cfg->channels = cfg__calloc((size_t)n, sizeof(*cfg->channels));
    for (int i = 0; i < n; i++) {
        yaml_node_pair_t *pr = &map->data.mapping.pairs.start[i];
        yaml_node_t *k = ld_node(ld, pr->key), *v = ld_node(ld, pr->value);
        cfg_channel *ch = &cfg->channels[i];
        cfg->n_channels = i + 1;
        ch->name = cfg__strdup((const char *)k->data.scalar.value);
        ch->line = ld_line(k);
        char path[CFG_PATH_MAX];
        path_key(path, sizeof(path), "channels", ch->name);
        if ((rc = ld_name_check(ld, ch->line, "channels", "channel", ch->name))) return rc;
        if (ld_is_null(v))
            return ld_fail(ld, ch->line, path, "is empty: expected pipelines: [...]");
        if (v->type != YAML_MAPPING_NODE)
            return ld_fail(ld, ld_line(v), path, "expected a mapping (pipelines: ...), got %s",
                           ld_kind(v));
        if ((rc = ld_check_keys(ld, v, "channels.*", path))) return rc;
        ch->alarms = cfg->alarms.rules;
        yaml_node_t *al_blk;
        char al_path[CFG_PATH_MAX];
        if ((rc = ld_block(ld, v, "channels.*", path, "alarms", &al_blk, al_path, sizeof(al_path))))
            return rc;
        if (al_blk && (rc = ld_alarm_rules(ld, al_blk, "channels.*.alarms", al_path, &ch->alarms)))
            return rc;
        char ppath[CFG_PATH_MAX];
        path_key(ppath, sizeof(ppath), path, "pipelines");
        int pl_line = ld_line(v);
        yaml_node_t *seq = ld_lookup(ld, v, "pipelines", &pl_line);
        if (!seq) return ld_missing(ld, v, "channels.*.pipelines", path);
        if (!ld_is_null(seq) && seq->type != YAML_SEQUENCE_NODE)
            return ld_fail(ld, ld_line(seq), ppath,
                           "expected a list of pipelines (- name: ...), got %s", ld_kind(seq));
        int np = ld_is_null(seq)
                     ? 0
                     : (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
        if (np == 0)
            return ld_fail(ld, seq ? ld_line(seq) : pl_line, ppath,
                           "empty list: expected at least one pipeline (- name: ..., source: ..., "
                           "target: ..., tables: [...])");
        ch->pipelines = cfg__calloc((size_t)np, sizeof(*ch->pipelines));
        for (int j = 0; j < np; j++) {
            yaml_node_t *item = ld_node(ld, seq->data.sequence.items.start[j]);
            char ipath[CFG_PATH_MAX];
            snprintf(ipath, sizeof(ipath), "%s[%d]", ppath, j);
            ch->n_pipelines = j + 1;
            if (item->type != YAML_MAPPING_NODE)
                return ld_fail(ld, ld_line(item), ipath,
                               "expected a mapping (name: ..., source: ...), got %s",
                               ld_kind(item));
            cfg_pipeline *pl = &ch->pipelines[j];
            if ((rc = ld_pipeline(ld, item, ipath, pl))) return rc;
            /* names key the stored position: unique across the whole file */
            for (int ci = 0; ci <= i; ci++) {
                cfg_channel *oc = &cfg->channels[ci];
                int upto = ci == i ? j : oc->n_pipelines;
                for (int pj = 0; pj < upto; pj++) {
                    if (strcmp(oc->pipelines[pj].name, pl->name) != 0) continue;
                    int line = pl->line;
                    ld_lookup(ld, item, "name", &line);
                    char sub[CFG_PATH_MAX];
                    path_key(sub, sizeof(sub), ipath, "name");
                    return ld_fail(ld, line, sub,
                                   "pipeline '%s' is already defined at line %d "
                                   "(channels.%s.pipelines[%d]): pipeline names must be unique "
                                   "across the file",
                                   pl->name, oc->pipelines[pj].line, oc->name, pj);
                }
            }
        }
    }
    return COT_OK;
}

/* ---- the file ---------------------------------------------------------- */

static cot_err ld_syntax_error(cfg_ld *ld, yaml_parser_t *ps)
{
    const char *problem = ps->problem ? ps->problem : "unknown problem";
    if (ps->error == YAML_READER_ERROR)
        return cot_err_set(COT_ERR_CONFIG, "%s: YAML error at byte %zu: %s: save the file as UTF-8",
                           ld->file, ps->problem_offset, problem);
    if (ps->error == YAML_MEMORY_ERROR)
        return cot_err_set(COT_ERR_NOMEM, "%s: out of memory", ld->file);
    int line = (int)ps->problem_mark.line + 1, col = (int)ps->problem_mark.column + 1;
    int c_line = (int)ps->context_mark.line + 1, c_col = (int)ps->context_mark.column + 1;
    if (ps->context && (c_line != line || c_col != col))
        return cot_err_set(COT_ERR_CONFIG,
                           "%s:%d:%d: YAML syntax error: %s %s that started at line %d column %d",
                           ld->file, line, col, problem, ps->context, c_line, c_col);
    if (ps->context)
        return cot_err_set(COT_ERR_CONFIG, "%s:%d:%d: YAML syntax error: %s %s", ld->file, line,
                           col, problem, ps->context);
    return cot_err_set(COT_ERR_CONFIG, "%s:%d:%d: YAML syntax error: %s", ld->file, line, col,
                       problem);
}

/* listen__is_loopback says whether the host of a "host:port" listen address is
 * a loopback one (127.0.0.0/8, ::1, localhost). */
static bool listen__is_loopback(const char *listen)
{
    const char *colon = strrchr(listen, ':');
    size_t n = colon ? (size_t)(colon - listen) : strlen(listen);
    char host[128];
    if (n >= 2 && listen[0] == '[' && listen[n - 1] == ']') {
        listen++;
        n -= 2;
    }
    if (n >= sizeof(host)) return false;
    memcpy(host, listen, n);
    host[n] = '\0';
    if (strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0) return true;
    unsigned a, b, c, d;
    char extra;
    return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) == 4 && a == 127 && b < 256 &&
           c < 256 && d < 256;
}

/* ld_tokens reads manager.tokens (list of {name, token, role}) into cfg. The
 * token's value never appears in a message. */
static cot_err ld_tokens(cfg_ld *ld, yaml_node_t *mgr)
{
    const char *pattern = "manager.tokens[]";
    cot_config *cfg = ld->cfg;
    int key_line = mgr ? ld_line(mgr) : 1;
    yaml_node_t *seq = ld_lookup(ld, mgr, "tokens", &key_line);
    if (ld_is_null(seq)) return COT_OK;
    if (seq->type != YAML_SEQUENCE_NODE)
        return ld_fail(ld, ld_line(seq), "manager.tokens",
                       "expected a list of {name: ..., token: ..., role: admin|read}, got %s",
                       ld_kind(seq));
    int n = (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    cfg->manager_tokens = cfg__calloc((size_t)n, sizeof(*cfg->manager_tokens));
    for (int i = 0; i < n; i++) {
        yaml_node_t *item = ld_node(ld, seq->data.sequence.items.start[i]);
        char ipath[CFG_PATH_MAX], sub[CFG_PATH_MAX];
        snprintf(ipath, sizeof(ipath), "manager.tokens[%d]", i);
        if (item->type != YAML_MAPPING_NODE)
            return ld_fail(ld, ld_line(item), ipath,
                           "expected a mapping like {name: ops, token: \"${OPS_TOKEN}\", role: "
                           "admin}, got %s",
                           ld_kind(item));
        cfg_token *tk = &cfg->manager_tokens[i];
        cfg->n_manager_tokens = i + 1;
        tk->line = ld_line(item);
        int line = tk->line, role = 1;
        cot_err rc = ld_check_keys(ld, item, pattern, ipath);
        if (!rc) rc = ld_string(ld, item, pattern, ipath, "name", &tk->name, &line);
        path_key(sub, sizeof(sub), ipath, "name");
        if (!rc) rc = ld_name_check(ld, line, sub, "token", tk->name);
        for (int j = 0; !rc && j < i; j++) {
            if (strcmp(cfg->manager_tokens[j].name, tk->name) == 0)
                rc = ld_fail(ld, line, sub, "'%s' is already the name of tokens[%d] (line %d)",
                             tk->name, j, cfg->manager_tokens[j].line);
        }
        if (!rc) rc = ld_string(ld, item, pattern, ipath, "token", &tk->token, &line);
        path_key(sub, sizeof(sub), ipath, "token");
        if (!rc) {
            size_t len = strlen(tk->token);
            bool printable = true;
            for (size_t k = 0; k < len; k++)
                if (tk->token[k] <= ' ' || tk->token[k] == 0x7f) printable = false;
            if (len < 16 || len > 256 || !printable)
                rc = ld_fail(ld, line, sub,
                             "the token (not shown) has %zu characters%s: expected 16 to 256 "
                             "printable characters without spaces, e.g. from `openssl rand -hex "
                             "24`",
                             len, printable ? "" : ", some not printable");
        }
        for (int j = 0; !rc && j < i; j++) {
            if (strcmp(cfg->manager_tokens[j].token, tk->token) == 0)
                rc = ld_fail(ld, line, sub,
                             "the same token as tokens[%d] (line %d): give each user its own", j,
                             cfg->manager_tokens[j].line);
        }
        if (!rc) rc = ld_enum(ld, item, pattern, ipath, "role", &role, NULL);
        tk->admin = role == 0;
        if (rc) return rc;
    }
    return COT_OK;
}

/* ld_alarm_rules reads the rule keys of an alarms block (top level or a
 * channel's) into r; keys that are absent leave r as it is (for a channel:
 * the top-level values; at the top level the table defaults apply). */
static cot_err ld_alarm_rules(cfg_ld *ld, yaml_node_t *blk, const char *pattern, const char *path,
                              cfg_alarm_rules *r)
{
    cot_err rc;
    uint64_t u;
    if ((rc = ld_bool(ld, blk, pattern, path, "enabled", &r->enabled))) return rc;
    u = r->delay_warning_s;
    if ((rc = ld_duration(ld, blk, pattern, path, "delay_warning", &u))) return rc;
    r->delay_warning_s = (uint32_t)u;
    u = r->delay_critical_s;
    if ((rc = ld_duration(ld, blk, pattern, path, "delay_critical", &u))) return rc;
    r->delay_critical_s = (uint32_t)u;
    u = r->stall_s;
    if ((rc = ld_duration(ld, blk, pattern, path, "stall", &u))) return rc;
    r->stall_s = (uint32_t)u;
    if ((rc = ld_bool(ld, blk, pattern, path, "error", &r->error))) return rc;
    u = r->error_after_s;
    if ((rc = ld_duration(ld, blk, pattern, path, "error_after", &u))) return rc;
    r->error_after_s = (uint32_t)u;
    u = r->error_rate_pct;
    if ((rc = ld_uint(ld, blk, pattern, path, "error_rate", &u))) return rc;
    r->error_rate_pct = (uint32_t)u;
    if (r->delay_warning_s && r->delay_critical_s && r->delay_critical_s < r->delay_warning_s) {
        int line = blk ? ld_line(blk) : 1;
        ld_lookup(ld, blk, "delay_critical", &line);
        return ld_fail(ld, line, path,
                       "delay_critical (%us) is shorter than delay_warning (%us): expected "
                       "critical >= warning (or 0 to turn one off)",
                       r->delay_critical_s, r->delay_warning_s);
    }
    return COT_OK;
}

/* ld_alarms reads the top-level alarms block (defaults when absent). */
static cot_err ld_alarms(cfg_ld *ld, yaml_node_t *root)
{
    cfg_alarms *a = &ld->cfg->alarms;
    yaml_node_t *blk, *sub_blk;
    char sub[CFG_PATH_MAX], sub2[CFG_PATH_MAX];
    cot_err rc;
    uint64_t u;
    if ((rc = ld_block(ld, root, "", "", "alarms", &blk, sub, sizeof(sub)))) return rc;
    if ((rc = ld_alarm_rules(ld, blk, "alarms", sub, &a->rules))) return rc;
    if ((rc = ld_duration(ld, blk, "alarms", sub, "error_window", &u))) return rc;
    a->error_window_s = (uint32_t)u;
    if ((rc = ld_duration(ld, blk, "alarms", sub, "repeat", &u))) return rc;
    a->repeat_s = (uint32_t)u;
    if ((rc = ld_uint(ld, blk, "alarms", sub, "history", &u))) return rc;
    a->history = (uint32_t)u;
    if ((rc = ld_bool(ld, blk, "alarms", sub, "log", &a->log))) return rc;
    if ((rc = ld_block(ld, blk, "alarms", sub, "webhook", &sub_blk, sub2, sizeof(sub2)))) return rc;
    if ((rc = ld_duration(ld, sub_blk, "alarms.webhook", sub2, "timeout", &u))) return rc;
    a->webhook_timeout_s = (uint32_t)u;
    if ((rc = ld_uint(ld, sub_blk, "alarms.webhook", sub2, "retries", &u))) return rc;
    a->webhook_retries = (uint32_t)u;
    if (sub_blk) {
        int line = 0;
        if ((rc = ld_string(ld, sub_blk, "alarms.webhook", sub2, "url", &a->webhook_url, &line)))
            return rc;
        if (strncmp(a->webhook_url, "http://", 7) != 0 &&
            strncmp(a->webhook_url, "https://", 8) != 0)
            return ld_fail(ld, line, "alarms.webhook.url", "expected an http:// or https:// URL");
    }
    if ((rc = ld_block(ld, blk, "alarms", sub, "command", &sub_blk, sub2, sizeof(sub2)))) return rc;
    if ((rc = ld_duration(ld, sub_blk, "alarms.command", sub2, "timeout", &u))) return rc;
    a->command_timeout_s = (uint32_t)u;
    if (sub_blk && (rc = ld_string(ld, sub_blk, "alarms.command", sub2, "run", &a->command, NULL)))
        return rc;
    if ((rc = ld_block(ld, blk, "alarms", sub, "auto_recovery", &sub_blk, sub2, sizeof(sub2))))
        return rc;
    if ((rc = ld_bool(ld, sub_blk, "alarms.auto_recovery", sub2, "enabled", &a->auto_recovery)))
        return rc;
    if ((rc = ld_uint(ld, sub_blk, "alarms.auto_recovery", sub2, "max_per_hour", &u))) return rc;
    a->auto_recovery_max_per_hour = (uint32_t)u;
    return COT_OK;
}

static cot_err ld_top(cfg_ld *ld, yaml_node_t *root)
{
    cot_config *cfg = ld->cfg;
    cot_err rc;
    yaml_node_t *blk;
    char sub[CFG_PATH_MAX];

    if ((rc = ld_check_keys(ld, root, "", ""))) return rc;
    int line = 1;
    if ((rc = ld_string(ld, root, "", "", "data_dir", &cfg->data_dir, &line))) return rc;
    if (!*cfg->data_dir)
        return ld_fail(ld, line, "data_dir", "is empty: expected a directory, e.g. ./var");
    if ((rc = ld_block(ld, root, "", "", "manager", &blk, sub, sizeof(sub)))) return rc;
    line = blk ? ld_line(blk) : 1;
    if ((rc = ld_string(ld, blk, "manager", sub, "listen", &cfg->manager_listen, &line))) return rc;
    const char *colon = strrchr(cfg->manager_listen, ':');
    const char *rb = strrchr(cfg->manager_listen, ']');
    uint64_t port = 0;
    char why[128];
    if (!colon || colon == cfg->manager_listen || (rb && rb > colon) ||
        !copt_parse_uint(colon + 1, &port, why, sizeof(why)) || port < 1 || port > 65535)
        return ld_fail(ld, line, "manager.listen",
                       "'%s' is not host:port: expected e.g. 127.0.0.1:8080 or [::1]:8080",
                       cfg->manager_listen);
    cfg->manager_listen_set = ld_lookup(ld, blk, "listen", NULL) != NULL;
    if ((rc = ld_tokens(ld, blk))) return rc;
    yaml_node_t *tls;
    char tls_path[CFG_PATH_MAX];
    if ((rc = ld_block(ld, blk, "manager", sub, "tls", &tls, tls_path, sizeof(tls_path))))
        return rc;
    if (tls) {
        if ((rc =
                 ld_string(ld, tls, "manager.tls", tls_path, "cert", &cfg->manager_tls_cert, NULL)))
            return rc;
        if ((rc = ld_string(ld, tls, "manager.tls", tls_path, "key", &cfg->manager_tls_key, NULL)))
            return rc;
    }
    yaml_node_t *audit;
    char audit_path[CFG_PATH_MAX];
    uint64_t audit_u = 0;
    if ((rc = ld_block(ld, blk, "manager", sub, "audit", &audit, audit_path, sizeof(audit_path))))
        return rc;
    if ((rc = ld_size(ld, audit, "manager.audit", audit_path, "max_size",
                      &cfg->manager_audit_max_size)))
        return rc;
    if ((rc = ld_duration(ld, audit, "manager.audit", audit_path, "retention", &audit_u)))
        return rc;
    cfg->manager_audit_retention_s = audit_u;
    if (cfg->n_manager_tokens == 0 && !listen__is_loopback(cfg->manager_listen))
        return ld_fail(ld, line, "manager.listen",
                       "'%s' is not a loopback address and manager.tokens is empty: anyone on "
                       "the network could stop channels; add manager.tokens or listen on "
                       "127.0.0.1",
                       cfg->manager_listen);
    if ((rc = ld_block(ld, root, "", "", "log", &blk, sub, sizeof(sub)))) return rc;
    int level = 0;
    if ((rc = ld_enum(ld, blk, "log", sub, "level", &level, &cfg->log_level))) return rc;
    if ((rc = ld_bool(ld, blk, "log", sub, "json", &cfg->log_json))) return rc;
    uint64_t mem_lines = 0;
    if ((rc = ld_uint(ld, blk, "log", sub, "memory_lines", &mem_lines))) return rc;
    cfg->log_memory_lines = (uint32_t)mem_lines;
    if ((rc = ld_alarms(ld, root))) return rc;
    uint64_t check_u = 0; /* the check block: scheduled consistency checks */
    if ((rc = ld_block(ld, root, "", "", "check", &blk, sub, sizeof(sub)))) return rc;
    if ((rc = ld_duration(ld, blk, "check", sub, "schedule", &check_u))) return rc;
    cfg->check_schedule_s = (uint32_t)check_u;
    if ((rc = ld_duration(ld, blk, "check", sub, "chunk_time", &check_u))) return rc;
    cfg->check_chunk_time_ms = (uint32_t)check_u;
    if ((rc = ld_duration(ld, blk, "check", sub, "max_delay", &check_u))) return rc;
    cfg->check_max_delay_s = (uint32_t)check_u;
    if ((rc = ld_uint(ld, blk, "check", sub, "max_rows_per_s", &check_u))) return rc;
    cfg->check_max_rows_per_s = (uint32_t)check_u;
    if ((rc = ld_uint(ld, blk, "check", sub, "max_source_threads", &check_u))) return rc;
    cfg->check_max_source_threads = (uint32_t)check_u;

    if ((rc = ld_endpoints(ld, root, "sources", true, &cfg->sources, &cfg->n_sources))) return rc;
    if ((rc = ld_endpoints(ld, root, "targets", false, &cfg->targets, &cfg->n_targets))) return rc;
    return ld_channels(ld, root);
}

cot_err config_load(const char *path, cot_config **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return cot_err_set(COT_ERR_IO,
                           "cannot open config file '%s': %s; pass an existing file with -c", path,
                           strerror(errno));
    cfg_ld ld = {.file = path};
    yaml_parser_t ps;
    if (!yaml_parser_initialize(&ps)) {
        fclose(f);
        return cot_err_set(COT_ERR_NOMEM, "%s: cannot initialise the YAML parser", path);
    }
    yaml_parser_set_input_file(&ps, f);
    cot_err rc = COT_OK;
    if (!yaml_parser_load(&ps, &ld.doc)) {
        rc = ld_syntax_error(&ld, &ps);
        yaml_parser_delete(&ps);
        fclose(f);
        return rc;
    }
    if (ferror(f)) rc = cot_err_set(COT_ERR_IO, "cannot read config file '%s'", path);
    yaml_parser_delete(&ps);
    fclose(f);

    cot_config *cfg = cfg__calloc(1, sizeof(*cfg));
    cfg->path = cfg__strdup(path);
    ld.cfg = cfg;
    yaml_node_t *root = yaml_document_get_root_node(&ld.doc);
    if (rc != COT_OK) {
        /* the read error is already set */
    } else if (!root || ld_is_null(root)) {
        rc = cot_err_set(COT_ERR_CONFIG,
                         "%s:1: the file is empty: expected a mapping with sources, targets and "
                         "channels",
                         path);
    } else if (root->type != YAML_MAPPING_NODE) {
        rc = ld_fail(&ld, ld_line(root), "",
                     "the file is %s: expected a mapping with sources, targets and channels",
                     ld_kind(root));
    } else {
        rc = ld_top(&ld, root);
    }
    yaml_document_delete(&ld.doc);
    if (rc != COT_OK) {
        config_free(cfg);
        return rc;
    }
    *out = cfg;
    return COT_OK;
}

static void cfg_endpoints_free(cfg_endpoint *eps, int n)
{
    for (int i = 0; i < n; i++) {
        free(eps[i].name);
        cot_url_deinit(&eps[i].url);
    }
    free(eps);
}

void config_free(cot_config *cfg)
{
    if (!cfg) return;
    for (int i = 0; i < cfg->n_channels; i++) {
        cfg_channel *ch = &cfg->channels[i];
        for (int j = 0; j < ch->n_pipelines; j++) {
            cfg_pipeline *pl = &ch->pipelines[j];
            free(pl->name);
            free(pl->source_name);
            free(pl->target_name);
            free(pl->start_file);
            free(pl->start_gtid);
            for (int t = 0; t < pl->n_tables; t++) {
                cfg_table_map *tm = &pl->tables[t];
                free(tm->match);
                free(tm->to);
                for (int c = 0; c < tm->n_columns; c++) {
                    free(tm->columns[c]);
                    free(tm->columns_as[c]);
                }
                free(tm->columns);
                free(tm->columns_as);
                for (int c = 0; c < tm->n_exclude; c++) free(tm->exclude[c]);
                free(tm->exclude);
                for (int c = 0; c < tm->n_consts; c++) {
                    free(tm->const_names[c]);
                    free(tm->const_values[c]);
                }
                free(tm->const_names);
                free(tm->const_values);
                free(tm->where);
                free(tm->conflict_column);
            }
            for (int t = 0; t < pl->n_skip_tables; t++) free(pl->skip_tables[t]);
            free(pl->skip_tables);
            free(pl->tables);
        }
        free(ch->pipelines);
        free(ch->name);
    }
    free(cfg->channels);
    cfg_endpoints_free(cfg->sources, cfg->n_sources);
    cfg_endpoints_free(cfg->targets, cfg->n_targets);
    free(cfg->path);
    free(cfg->data_dir);
    free(cfg->manager_listen);
    for (int i = 0; i < cfg->n_manager_tokens; i++) {
        free(cfg->manager_tokens[i].name);
        free(cfg->manager_tokens[i].token);
    }
    free(cfg->manager_tokens);
    free(cfg->manager_tls_cert);
    free(cfg->manager_tls_key);
    free(cfg->alarms.webhook_url);
    free(cfg->alarms.command);
    free(cfg->log_level);
    free(cfg);
}

/* ---- table matching and routing ---------------------------------------- */

/* glob__one matches one pattern element at *pp (advanced past it) against the
 * name at s; returns the bytes of s consumed (0 = no match). '?' takes one
 * UTF-8 character. */
static size_t glob__one(const char **pp, const char *pend, const char *s)
{
    const char *p = *pp;
    unsigned char c = (unsigned char)*s;
    if (*p == '?') {
        size_t n = 1;
        while ((s[n] & 0xC0) == 0x80) n++;
        *pp = p + 1;
        return n;
    }
    if (*p == '[') {
        const char *q = p + 1;
        bool neg = false, hit = false;
        if (q < pend && (*q == '!' || *q == '^')) {
            neg = true;
            q++;
        }
        const char *start = q;
        while (q < pend && (*q != ']' || q == start)) {
            unsigned char lo = (unsigned char)*q, hi = lo;
            if (q + 2 < pend && q[1] == '-' && q[2] != ']') {
                hi = (unsigned char)q[2];
                q += 2;
            }
            if (c >= lo && c <= hi) hit = true;
            q++;
        }
        if (q < pend) { /* a complete class */
            *pp = q + 1;
            return hit != neg ? 1 : 0;
        }
        /* no ']': the '[' is a literal */
    }
    if (*p == '\\' && p + 1 < pend) p++;
    *pp = p + 1;
    return (unsigned char)*p == c ? 1 : 0;
}

/* glob__match matches pattern [p, pend) against the whole of name s. */
static bool glob__match(const char *p, const char *pend, const char *s)
{
    const char *star_p = NULL, *star_s = NULL;
    while (*s) {
        if (p < pend && *p == '*') {
            star_p = ++p;
            star_s = s;
            continue;
        }
        const char *np = p;
        size_t n = p < pend ? glob__one(&np, pend, s) : 0;
        if (n > 0) {
            p = np;
            s += n;
            continue;
        }
        if (!star_p) return false;
        p = star_p;
        s = ++star_s;
    }
    while (p < pend && *p == '*') p++;
    return p == pend;
}

/* table__regex_match matches "/RE/" (POSIX extended, whole name) against
 * "schema.table"; false when the expression does not compile. */
static bool table__regex_match(const char *pattern, const char *schema, const char *table)
{
    size_t n = strlen(pattern);
    char *re_text = cfg__calloc(n + 3, 1);
    snprintf(re_text, n + 3, "^(%.*s)$", (int)(n - 2), pattern + 1);
    regex_t re;
    bool ok = regcomp(&re, re_text, REG_EXTENDED | REG_NOSUB) == 0;
    free(re_text);
    if (!ok) return false;
    char full[600];
    snprintf(full, sizeof(full), "%s.%s", schema, table);
    bool hit = regexec(&re, full, 0, NULL, 0) == 0;
    regfree(&re);
    return hit;
}

bool table_pattern_is_regex(const char *pattern)
{
    size_t n = strlen(pattern);
    return n >= 3 && pattern[0] == '/' && pattern[n - 1] == '/';
}

bool table_glob_match(const char *pattern, const char *schema, const char *table)
{
    if (table_pattern_is_regex(pattern)) return table__regex_match(pattern, schema, table);
    int n_dots;
    bool open_bracket;
    long dot = glob__split(pattern, &n_dots, &open_bracket);
    if (dot < 0) return false;
    return glob__match(pattern, pattern + dot, schema) &&
           glob__match(pattern + dot + 1, pattern + strlen(pattern), table);
}

/* route__put copies s into out (cap bytes); false with cot_err set if it does not fit
 * or is empty. */
static bool route__put(const char *tmpl, const char *what, const char *s, char *out, size_t cap)
{
    size_t n = strlen(s);
    if (n == 0) {
        cot_err_set(COT_ERR_CONFIG, "rename template '%s' gives an empty %s name", tmpl, what);
        return false;
    }
    if (n + 1 > cap) {
        cot_err_set(COT_ERR_CONFIG,
                    "rename template '%s' gives a %s name of %zu bytes, longer "
                    "than %zu",
                    tmpl, what, n, cap ? cap - 1 : 0);
        return false;
    }
    memcpy(out, s, n + 1);
    return true;
}

bool table_route(const char *tmpl, const char *schema, const char *table, char *out_schema,
                 size_t schema_cap, char *out_table, size_t table_cap)
{
    if (!tmpl)
        return route__put("(none)", "schema", schema, out_schema, schema_cap) &&
               route__put("(none)", "table", table, out_table, table_cap);
    long dot = route__split(tmpl);
    if (dot <= 0 || tmpl[dot + 1] == '\0') {
        cot_err_set(COT_ERR_CONFIG,
                    "rename template '%s' is not schema.table: expected e.g. warehouse.{table}",
                    tmpl);
        return false;
    }
    char why[256];
    buf bs, bt;
    buf_init(&bs);
    buf_init(&bt);
    bool ok =
        route__expand(tmpl, (size_t)dot, schema, table, &bs, why, sizeof(why)) &&
        route__expand(tmpl + dot + 1, strlen(tmpl + dot + 1), schema, table, &bt, why, sizeof(why));
    if (!ok) cot_err_set(COT_ERR_CONFIG, "rename template '%s' %s", tmpl, why);
    ok = ok && route__put(tmpl, "schema", bs.data ? bs.data : "", out_schema, schema_cap) &&
         route__put(tmpl, "table", bt.data ? bt.data : "", out_table, table_cap);
    buf_deinit(&bs);
    buf_deinit(&bt);
    return ok;
}
