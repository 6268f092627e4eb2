/*
 * Key encoding, key set, range SQL and the stored last key of the initial
 * load (contracts in the header). Pure functions.
 */
#include "snapshot/snapshot_key.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct snap_keyslot {
    const uint8_t *key; /* NULL: free */
    uint32_t len;
    uint32_t hash;
    uint32_t id;
} snap_keyslot;

static void key__put_len(buf *out, size_t len)
{
    uint8_t b[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
    buf_append(out, b, 4);
}

bool snap_key_encode(buf *out, const cot_value *img, const uint32_t *cols, const bool *fold,
                     uint32_t n)
{
    char num[32];
    buf_reset(out);
    for (uint32_t k = 0; k < n; k++) {
        const cot_value *v = &img[cols[k]];
        int len;
        switch (v->kind) {
        case VK_NULL:
            buf_putc(out, 'N');
            break;
        case VK_INT:
            len = snprintf(num, sizeof(num), "%lld", (long long)v->i);
            buf_putc(out, 'S');
            key__put_len(out, (size_t)len);
            buf_append(out, num, (size_t)len);
            break;
        case VK_UINT:
        case VK_BIT:
            len = snprintf(num, sizeof(num), "%llu", (unsigned long long)v->u);
            buf_putc(out, 'S');
            key__put_len(out, (size_t)len);
            buf_append(out, num, (size_t)len);
            break;
        case VK_DECIMAL:
        case VK_TEMPORAL:
        case VK_BINARY:
        case VK_JSON:
        case VK_GEOMETRY:
            buf_putc(out, 'S');
            key__put_len(out, v->s.len);
            buf_append(out, v->s.p, v->s.len);
            break;
        case VK_STRING: {
            size_t l = v->s.len;
            if (fold[k])
                while (l > 0 && v->s.p[l - 1] == ' ') l--;
            buf_putc(out, 'S');
            key__put_len(out, l);
            size_t at = out->len;
            buf_append(out, v->s.p, l);
            if (fold[k])
                for (size_t i = at; i < out->len; i++)
                    out->data[i] = (char)tolower((unsigned char)out->data[i]);
            break;
        }
        default: /* absent, float, enum/set index: no canonical text form */
            return false;
        }
    }
    return true;
}

/* ---- key set ------------------------------------------------------------- */

static uint32_t key__hash(const void *key, size_t len)
{
    const uint8_t *p = key;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 16777619u;
    return h ? h : 1;
}

void snap_keyset_init(snap_keyset *ks)
{
    memset(ks, 0, sizeof(*ks));
    arena_init(&ks->mem);
}

void snap_keyset_deinit(snap_keyset *ks)
{
    free(ks->slots);
    arena_deinit(&ks->mem);
    memset(ks, 0, sizeof(*ks));
}

void snap_keyset_reset(snap_keyset *ks)
{
    if (ks->slots) memset(ks->slots, 0, ks->cap * sizeof(*ks->slots));
    ks->n = 0;
    arena_reset(&ks->mem);
}

static void key__grow(snap_keyset *ks)
{
    uint32_t cap = ks->cap ? ks->cap * 2 : 1024;
    snap_keyslot *s = calloc(cap, sizeof(*s));
    if (!s) abort();
    for (uint32_t i = 0; i < ks->cap; i++) {
        if (!ks->slots[i].key) continue;
        uint32_t j = ks->slots[i].hash & (cap - 1);
        while (s[j].key) j = (j + 1) & (cap - 1);
        s[j] = ks->slots[i];
    }
    free(ks->slots);
    ks->slots = s;
    ks->cap = cap;
}

bool snap_keyset_add(snap_keyset *ks, const void *key, size_t len, uint32_t id)
{
    if ((ks->n + 1) * 4 > ks->cap * 3) key__grow(ks);
    uint32_t h = key__hash(key, len);
    uint32_t j = h & (ks->cap - 1);
    while (ks->slots[j].key) {
        snap_keyslot *s = &ks->slots[j];
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) return false;
        j = (j + 1) & (ks->cap - 1);
    }
    ks->slots[j].key = arena_memdup(&ks->mem, key, len ? len : 1);
    ks->slots[j].len = (uint32_t)len;
    ks->slots[j].hash = h;
    ks->slots[j].id = id;
    ks->n++;
    return true;
}

uint32_t snap_keyset_find(const snap_keyset *ks, const void *key, size_t len)
{
    if (!ks->cap) return UINT32_MAX;
    uint32_t h = key__hash(key, len);
    uint32_t j = h & (ks->cap - 1);
    while (ks->slots[j].key) {
        const snap_keyslot *s = &ks->slots[j];
        if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) return s->id;
        j = (j + 1) & (ks->cap - 1);
    }
    return UINT32_MAX;
}

/* ---- SQL ------------------------------------------------------------------ */

static void key__hex(buf *out, const char *v, size_t len)
{
    static const char digits[] = "0123456789ABCDEF";
    buf_reserve(out, 2 * len + 4);
    buf_puts(out, "X'");
    for (size_t i = 0; i < len; i++) {
        out->data[out->len++] = digits[(uint8_t)v[i] >> 4];
        out->data[out->len++] = digits[(uint8_t)v[i] & 15];
    }
    out->data[out->len] = '\0';
    buf_putc(out, '\'');
}

bool snap_key_literal(buf *out, uint8_t lit, const char *charset, const char *v, size_t len)
{
    switch (lit) {
    case SNAP_LIT_NUMBER:
        if (len == 0) return false;
        for (size_t i = 0; i < len; i++) {
            if (!isdigit((unsigned char)v[i]) && v[i] != '-' && v[i] != '.' && v[i] != '+' &&
                v[i] != 'e' && v[i] != 'E')
                return false;
            if (i && v[i] == '-' && v[i - 1] == '-') return false; /* "--" starts a comment */
        }
        buf_append(out, v, len);
        return true;
    case SNAP_LIT_STRING: {
        const char *cs = charset ? charset : "utf8mb4";
        for (const char *p = cs; *p; p++)
            if (!isalnum((unsigned char)*p) && *p != '_') return false;
        buf_putc(out, '_');
        buf_puts(out, cs);
        buf_putc(out, ' ');
        key__hex(out, v, len);
        return true;
    }
    case SNAP_LIT_BINARY:
        key__hex(out, v, len);
        return true;
    case SNAP_LIT_QUOTED:
        for (size_t i = 0; i < len; i++)
            if (v[i] == '\'' || v[i] == '\\' || (unsigned char)v[i] < 0x20) return false;
        buf_putc(out, '\'');
        buf_append(out, v, len);
        buf_putc(out, '\'');
        return true;
    default:
        return false;
    }
}

/* key__bound appends "(a OP1 x OR (a = x AND (b OP1 y OR (b = y AND c OPN z))))":
 * strictly after (gt, last column '>') or at most (le: '<' ... '<=' last). */
static bool key__bound(buf *out, const snap_keydef *kd, const snap_keyval *kv, bool gt)
{
    uint32_t opened = 0;
    for (uint32_t k = 0; k < kd->n; k++) {
        const char *cs = kd->charset ? kd->charset[k] : NULL;
        bool last = k + 1 == kd->n;
        buf_putc(out, '(');
        opened++;
        buf_ident(out, kd->name[k]);
        buf_puts(out, gt ? " > " : (last ? " <= " : " < "));
        if (!snap_key_literal(out, kd->lit[k], cs, kv->p[k], kv->len[k])) return false;
        if (last) break;
        buf_puts(out, " OR (");
        opened++;
        buf_ident(out, kd->name[k]);
        buf_puts(out, " = ");
        if (!snap_key_literal(out, kd->lit[k], cs, kv->p[k], kv->len[k])) return false;
        buf_puts(out, " AND ");
    }
    while (opened--) buf_putc(out, ')');
    return true;
}

bool snap_range_sql(buf *out, const snap_keydef *kd, const snap_keyval *lo, const snap_keyval *hi)
{
    if (kd->n == 0 || kd->n > SNAP_KEY_MAX || (!lo && !hi)) {
        buf_putc(out, '1');
        return kd->n <= SNAP_KEY_MAX;
    }
    if (lo && !key__bound(out, kd, lo, true)) return false;
    if (lo && hi) buf_puts(out, " AND ");
    if (hi && !key__bound(out, kd, hi, false)) return false;
    return true;
}

void snap_lastkey_format(buf *out, const snap_keyval *kv, uint32_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (uint32_t k = 0; k < n; k++) {
        if (k) buf_putc(out, ',');
        for (uint32_t i = 0; i < kv->len[k]; i++) {
            buf_putc(out, digits[(uint8_t)kv->p[k][i] >> 4]);
            buf_putc(out, digits[(uint8_t)kv->p[k][i] & 15]);
        }
    }
}

static int key__unhex(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool snap_lastkey_parse(const char *text, uint32_t n, arena *mem, snap_keyval *kv)
{
    if (n == 0 || n > SNAP_KEY_MAX) return false;
    const char *p = text;
    for (uint32_t k = 0; k < n; k++) {
        const char *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        if ((k + 1 < n) != (*end == ',')) return false;
        size_t hex = (size_t)(end - p);
        if (hex % 2) return false;
        char *v = arena_alloc(mem, hex / 2 + 1);
        for (size_t i = 0; i < hex / 2; i++) {
            int hi = key__unhex(p[2 * i]), lo = key__unhex(p[2 * i + 1]);
            if (hi < 0 || lo < 0) return false;
            v[i] = (char)(hi << 4 | lo);
        }
        v[hex / 2] = '\0';
        kv->p[k] = v;
        kv->len[k] = (uint32_t)(hex / 2);
        p = *end ? end + 1 : end;
    }
    return *p == '\0';
}

/* Splits at the lines SHOW CREATE TABLE writes: "CREATE TABLE ... (", one
 * definition per line, then ") ENGINE=...". */
bool snap_split_keys(const char *sql, size_t len, buf *bare, buf *keys)
{
    const char *body = memchr(sql, '\n', len);
    const char *end = sql + len;
    const char *foot = NULL; /* the "\n)" closing the definitions */
    for (const char *p = end - 1; p > sql && !foot; p--)
        if (p[-1] == '\n' && p[0] == ')') foot = p - 1;
    if (!body || !foot || foot <= body) return false;
    buf_reset(bare);
    buf_reset(keys);
    buf_append(bare, sql, (size_t)(body - sql));
    bool first = true;
    for (const char *p = body + 1; p < foot;) {
        const char *nl = memchr(p, '\n', (size_t)(foot - p));
        const char *e = nl ? nl : foot;
        size_t n = (size_t)(e - p);
        if (n && p[n - 1] == ',') n--;
        if (n > 2 && memmem(p, n, "FOREIGN KEY", 11)) return false;
        if (n > 6 && memcmp(p, "  KEY ", 6) == 0) {
            /* kept in the form the stored row is checked against later */
            char why[200];
            snap_index ix;
            if (!snap_index_parse(p + 2, n - 2, &ix, why, sizeof(why))) return false;
            if (keys->len) buf_putc(keys, '\n');
            snap_index_sql(keys, &ix);
        } else {
            buf_puts(bare, first ? "\n" : ",\n");
            buf_append(bare, p, n);
            first = false;
        }
        p = e + 1;
    }
    buf_append(bare, foot, (size_t)(end - foot));
    return keys->len > 0 && !first;
}

/* ---- deferred secondary indexes --------------------------------------------- */

typedef struct ix_cur {
    const char *p, *end;
} ix_cur;

static void ix__blank(ix_cur *c)
{
    while (c->p < c->end && *c->p == ' ') c->p++;
}

/* ix__word moves past keyword w (case-insensitive, followed by no letter). */
static bool ix__word(ix_cur *c, const char *w)
{
    ix__blank(c);
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || strncasecmp(c->p, w, n) != 0) return false;
    if (c->p + n < c->end && (isalnum((unsigned char)c->p[n]) || c->p[n] == '_')) return false;
    c->p += n;
    return true;
}

static bool ix__char(ix_cur *c, char ch)
{
    ix__blank(c);
    if (c->p >= c->end || *c->p != ch) return false;
    c->p++;
    return true;
}

/* ix__ident reads a backquoted identifier (`` inside is one backquote). */
static bool ix__ident(ix_cur *c, char *out, size_t cap)
{
    ix__blank(c);
    if (c->p >= c->end || *c->p != '`') return false;
    size_t n = 0;
    for (c->p++; c->p < c->end; c->p++) {
        char ch = *c->p;
        if (ch == '`') {
            if (c->p + 1 < c->end && c->p[1] == '`') {
                c->p++;
            } else {
                c->p++;
                out[n] = '\0';
                return n > 0;
            }
        }
        if (ch == '\0' || ch == '\n' || n + 1 >= cap) return false;
        out[n++] = ch;
    }
    return false;
}

/* ix__string reads a quoted string as SHOW CREATE TABLE writes it ('' and
 * backslash escapes). */
static bool ix__string(ix_cur *c, char *out, size_t cap)
{
    ix__blank(c);
    if (c->p >= c->end || *c->p != '\'') return false;
    size_t n = 0;
    for (c->p++; c->p < c->end; c->p++) {
        char ch = *c->p;
        if (ch == '\'') {
            if (c->p + 1 < c->end && c->p[1] == '\'') {
                c->p++;
            } else {
                c->p++;
                out[n] = '\0';
                return true;
            }
        } else if (ch == '\\') {
            if (++c->p >= c->end) return false;
            switch (*c->p) {
            case 'n':
                ch = '\n';
                break;
            case 't':
                ch = '\t';
                break;
            case 'r':
                ch = '\r';
                break;
            case '0':
                return false;
            default:
                ch = *c->p;
                break;
            }
        }
        if (ch == '\0' || n + 1 >= cap) return false;
        out[n++] = ch;
    }
    return false;
}

static bool ix__number(ix_cur *c, uint32_t *out)
{
    ix__blank(c);
    uint64_t v = 0;
    const char *s = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && v <= SNAP_INDEX_MAX_LEN)
        v = v * 10 + (uint64_t)(*c->p++ - '0');
    if (c->p == s || v == 0 || v > SNAP_INDEX_MAX_LEN) return false;
    *out = (uint32_t)v;
    return true;
}

bool snap_index_parse(const char *clause, size_t len, snap_index *ix, char *why, size_t cap)
{
    memset(ix, 0, sizeof(*ix));
    ix_cur c = {clause, clause + len};
    const char *what = "it does not start with KEY `name` (";
    if (!ix__word(&c, "KEY") || !ix__ident(&c, ix->name, sizeof(ix->name)) || !ix__char(&c, '('))
        goto bad;
    what = "a column is not `name`, `name`(length) or either with DESC";
    do {
        if (ix->n_cols == SNAP_INDEX_COLS) {
            what = "too many columns";
            goto bad;
        }
        snap_index_col *col = &ix->cols[ix->n_cols++];
        if (!ix__ident(&c, col->name, sizeof(col->name))) goto bad;
        if (ix__char(&c, '(') && (!ix__number(&c, &col->prefix) || !ix__char(&c, ')'))) goto bad;
        if (ix__word(&c, "DESC"))
            col->desc = true;
        else
            (void)ix__word(&c, "ASC");
    } while (ix__char(&c, ','));
    if (!ix__char(&c, ')')) goto bad;
    what = "something other than USING BTREE|HASH, COMMENT '...' or IGNORED follows the columns";
    if (ix__word(&c, "USING")) {
        if (ix__word(&c, "BTREE"))
            ix->using = SNAP_USING_BTREE;
        else if (ix__word(&c, "HASH"))
            ix->using = SNAP_USING_HASH;
        else
            goto bad;
    }
    if (ix__word(&c, "COMMENT")) {
        if (!ix__string(&c, ix->comment, sizeof(ix->comment))) goto bad;
        ix->has_comment = true;
    }
    if (ix__word(&c, "IGNORED")) ix->ignored = true;
    ix__blank(&c);
    if (c.p != c.end) goto bad;
    return true;
bad:
    snprintf(why, cap, "%s", what);
    return false;
}

void snap_index_sql(buf *out, const snap_index *ix)
{
    buf_puts(out, "KEY ");
    buf_ident(out, ix->name);
    buf_puts(out, " (");
    for (uint32_t i = 0; i < ix->n_cols; i++) {
        if (i) buf_putc(out, ',');
        buf_ident(out, ix->cols[i].name);
        if (ix->cols[i].prefix) buf_printf(out, "(%u)", ix->cols[i].prefix);
        if (ix->cols[i].desc) buf_puts(out, " DESC");
    }
    buf_putc(out, ')');
    if (ix->using) buf_puts(out, ix->using == SNAP_USING_BTREE ? " USING BTREE" : " USING HASH");
    if (ix->has_comment) {
        buf_puts(out, " COMMENT '");
        for (const char *p = ix->comment; *p; p++) {
            if (*p == '\'')
                buf_puts(out, "''");
            else if (*p == '\\')
                buf_puts(out, "\\\\");
            else if (*p == '\n')
                buf_puts(out, "\\n");
            else if (*p == '\r')
                buf_puts(out, "\\r");
            else
                buf_putc(out, *p);
        }
        buf_putc(out, '\'');
    }
    if (ix->ignored) buf_puts(out, " IGNORED");
}

bool snap_index_check(const char *keys, const char *const *cols, uint32_t n_cols, buf *canon,
                      char *why, size_t cap)
{
    buf_reset(canon);
    snap_index *ix = malloc(sizeof(*ix));
    if (!ix) abort();
    bool ok = keys && keys[0];
    if (!ok) snprintf(why, cap, "no index in it");
    uint32_t line = 0;
    for (const char *p = keys; ok && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        line++;
        char reason[200];
        if (!snap_index_parse(p, len, ix, reason, sizeof(reason))) {
            snprintf(why, cap, "line %u: %s", line, reason);
            ok = false;
            break;
        }
        for (uint32_t i = 0; i < ix->n_cols && ok; i++) {
            bool found = false;
            for (uint32_t j = 0; j < n_cols && !found; j++)
                found = strcasecmp(cols[j], ix->cols[i].name) == 0;
            if (!found) {
                snprintf(why, cap, "line %u: the table has no column '%s'", line, ix->cols[i].name);
                ok = false;
            }
        }
        if (!ok) break;
        if (canon->len) buf_putc(canon, '\n');
        snap_index_sql(canon, ix);
        p += len + (nl ? 1 : 0);
    }
    free(ix);
    return ok;
}
