/*
 * DDL rewriting (see ddl_rewrite.h). Two parts: a lexer that walks the
 * statement the way the server's does for what matters here (whitespace,
 * the three comment forms, MySQL's and MariaDB's executable comments
 * ("slash star bang NNNNN ... star slash", also with M before the bang)
 * whose content is code, strings, `quoted` names) and a
 * parser that knows where each table statement puts its table names. The
 * parser records every name's byte span; the output is the input with
 * those spans replaced, so everything else stays byte-exact.
 *
 * Invariants: the lexer never reads past len and only moves forward; the
 * parser looks at most two tokens ahead, so a statement is read once.
 * Pure functions; any thread.
 */
#include "sql/ddl_rewrite.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PREVIEW 300
/* Tables one statement may name: bounds the memory (about 1 KiB each). */
#define MAX_NAMES 10000

/* ---- lexer ----------------------------------------------------------------- */

typedef enum tok_kind {
    TK_END = 0, /* end of the text (or the text could not be read: lexer.bad) */
    TK_WORD,    /* keyword, bare name or number */
    TK_IDENT,   /* `quoted name` */
    TK_STRING,  /* 'text' or "text" */
    TK_PUNCT,   /* any other single byte */
} tok_kind;

typedef struct tok {
    uint8_t kind;
    bool in_exec; /* inside an executable comment */
    size_t off;   /* first byte of the token */
    size_t end;   /* one past its last byte */
} tok;

typedef struct lexer {
    const char *s;
    size_t len;
    size_t pos;
    ddl_dialect dl;
    bool in_exec;    /* inside an executable comment, before its closing star-slash */
    const char *bad; /* why the text cannot be read, NULL while fine */
} lexer;

static bool lex__word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || c >= 0x80;
}

static bool lex__space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* ddl__mb_len returns how many bytes the character at p takes in the
 * session's charset: 1 for a single byte, or for a lead byte without a
 * valid trail (the server reads those byte-wise too). */
static size_t ddl__mb_len(uint8_t mb, const char *s, size_t n, size_t p)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char c = u[p];
    if (c < 0x80 || mb == DDL_MB_NONE || p + 1 >= n) return 1;
    unsigned char t = u[p + 1];
    switch (mb) {
    case DDL_MB_BIG5:
        return c >= 0xA1 && c <= 0xF9 && ((t >= 0x40 && t <= 0x7E) || (t >= 0xA1 && t <= 0xFE)) ? 2
                                                                                                : 1;
    case DDL_MB_SJIS:
        return ((c >= 0x81 && c <= 0x9F) || (c >= 0xE0 && c <= 0xFC)) &&
                       ((t >= 0x40 && t <= 0x7E) || (t >= 0x80 && t <= 0xFC))
                   ? 2
                   : 1;
    case DDL_MB_GBK:
        return c >= 0x81 && c <= 0xFE && ((t >= 0x40 && t <= 0x7E) || (t >= 0x80 && t <= 0xFE)) ? 2
                                                                                                : 1;
    case DDL_MB_GB18030:
        if (c < 0x81 || c > 0xFE) return 1;
        if ((t >= 0x40 && t <= 0x7E) || (t >= 0x80 && t <= 0xFE)) return 2;
        if (t >= 0x30 && t <= 0x39 && p + 3 < n && u[p + 2] >= 0x81 && u[p + 2] <= 0xFE &&
            u[p + 3] >= 0x30 && u[p + 3] <= 0x39)
            return 4;
        return 1;
    default:
        return 1;
    }
}

/* ddl__mb_lead says whether byte c starts a multi-byte character in
 * charset mb (when a valid trail follows). */
static bool ddl__mb_lead(uint8_t mb, unsigned char c)
{
    switch (mb) {
    case DDL_MB_BIG5:
        return c >= 0xA1 && c <= 0xF9;
    case DDL_MB_SJIS:
        return (c >= 0x81 && c <= 0x9F) || (c >= 0xE0 && c <= 0xFC);
    case DDL_MB_GBK:
    case DDL_MB_GB18030:
        return c >= 0x81 && c <= 0xFE;
    default:
        return false;
    }
}

static size_t lex__mb_len(const lexer *lx, size_t p)
{
    return ddl__mb_len(lx->dl.mb, lx->s, lx->len, p);
}

/* lex__version_comment reads the version of an executable comment whose
 * marker ends at q: five digits, or six. Returns how many digits (0: not a
 * versioned comment, its content always runs) and the version in *ver. */
static size_t lex__version_digits(const lexer *lx, size_t q, uint32_t *ver)
{
    const char *s = lx->s;
    size_t k = 0;
    uint32_t v = 0;
    while (k < 6 && q + k < lx->len && s[q + k] >= '0' && s[q + k] <= '9') {
        v = v * 10 + (uint32_t)(s[q + k] - '0');
        k++;
    }
    if (k < 5) return 0;
    *ver = v;
    return k;
}

/* lex__exec_runs says whether the server that logged the statement ran
 * the content of an executable comment of version ver (MariaDB's lexer:
 * not past its own version, and MySQL 5.7+ comments only in the M form). */
static bool lex__exec_runs(const lexer *lx, bool maria_form, uint32_t ver)
{
    if (lx->dl.version == 0) return true;
    if (ver > lx->dl.version) return false;
    if (!lx->dl.mysql && !maria_form && ver >= 50700 && ver <= 99999) return false;
    return true;
}

static bool ddl__route_same(void *ctx, const char *schema, const char *table, char *out_schema,
                            size_t schema_cap, char *out_table, size_t table_cap);

static void lex__line_comment(lexer *lx)
{
    const char *nl = memchr(lx->s + lx->pos, '\n', lx->len - lx->pos);
    lx->pos = nl ? (size_t)(nl - lx->s) + 1 : lx->len;
}

/* lex__skip moves past whitespace and comments; entering an executable
 * comment only skips its marker and version, so its content is read as
 * code, and its closing star-slash is skipped like whitespace. */
static void lex__skip(lexer *lx)
{
    const char *s = lx->s;
    size_t n = lx->len;
    while (lx->pos < n && !lx->bad) {
        size_t p = lx->pos;
        unsigned char c = (unsigned char)s[p];
        if (lex__space(c)) {
            lx->pos++;
        } else if (c == '#') {
            lex__line_comment(lx);
        } else if (c == '-' && p + 1 < n && s[p + 1] == '-' &&
                   (p + 2 == n || (unsigned char)s[p + 2] <= ' ')) {
            lex__line_comment(lx);
        } else if (c == '/' && p + 1 < n && s[p + 1] == '*') {
            size_t q = p + 2;
            bool exec = false, maria_form = false;
            if (q < n && s[q] == '!') {
                exec = true;
                q++;
            } else if (q + 1 < n && s[q] == 'M' && s[q + 1] == '!' && !lx->dl.mysql) {
                exec = maria_form = true;
                q += 2;
            }
            if (exec && lx->in_exec) {
                lx->bad = "an executable comment inside another one";
                return;
            }
            uint32_t ver = 0;
            size_t digits = exec ? lex__version_digits(lx, q, &ver) : 0;
            if (exec && (digits == 0 || lex__exec_runs(lx, maria_form, ver))) {
                lx->pos = q + digits;
                lx->in_exec = true;
                continue;
            }
            /* a comment; one not run for its version may hold one comment inside */
            int depth = 1, nest = exec ? 1 : 0;
            while (depth > 0) {
                if (q + 1 >= n) {
                    lx->bad = "a comment is not closed (/* without */)";
                    return;
                }
                if (s[q] == '*' && s[q + 1] == '/') {
                    depth--;
                    q += 2;
                } else if (nest > 0 && s[q] == '/' && s[q + 1] == '*') {
                    depth++;
                    nest--;
                    q += 2;
                } else {
                    q++;
                }
            }
            lx->pos = q;
        } else if (c == '*' && lx->in_exec && p + 1 < n && s[p + 1] == '/') {
            lx->pos += 2;
            lx->in_exec = false;
        } else {
            return;
        }
    }
}

/* lex_next reads the next token into *t; TK_END at the end of the text or
 * when it cannot be read (lx->bad then says why). */
static void lex_next(lexer *lx, tok *t)
{
    lex__skip(lx);
    t->in_exec = lx->in_exec;
    t->off = t->end = lx->pos;
    t->kind = TK_END;
    if (lx->bad || lx->pos >= lx->len) return;
    const char *s = lx->s;
    size_t n = lx->len, p = lx->pos;
    unsigned char c = (unsigned char)s[p];
    if (lex__word_byte(c)) {
        while (p < n && lex__word_byte((unsigned char)s[p])) p += lex__mb_len(lx, p);
        t->kind = TK_WORD;
    } else if (c == '`' || (c == '"' && lx->dl.ansi_quotes)) {
        for (p++;;) {
            if (p >= n) {
                lx->bad = c == '`' ? "a `quoted` name is not closed"
                                   : "a \"quoted\" name (ANSI_QUOTES) is not closed";
                return;
            }
            if (s[p] != (char)c) {
                p += lex__mb_len(lx, p);
                continue;
            }
            if (p + 1 < n && s[p + 1] == (char)c) {
                p += 2;
                continue;
            }
            p++;
            break;
        }
        t->kind = TK_IDENT;
    } else if (c == '\'' || c == '"') {
        for (p++;;) {
            if (p >= n) {
                lx->bad = "a string is not closed";
                return;
            }
            size_t m = lex__mb_len(lx, p);
            if (m > 1) {
                p += m;
                continue;
            }
            if (s[p] == '\\' && !lx->dl.no_backslash_escapes) {
                p += 2;
                continue;
            }
            if (s[p] == (char)c) {
                if (p + 1 < n && s[p + 1] == (char)c) {
                    p += 2;
                    continue;
                }
                p++;
                break;
            }
            p++;
        }
        t->kind = TK_STRING;
    } else {
        p++;
        t->kind = TK_PUNCT;
    }
    t->end = p;
    lx->pos = p;
}

/* ---- parser ---------------------------------------------------------------- */

/* One table name of the statement. */
typedef struct dname {
    size_t off, end; /* bytes of the whole name, schema and dot included */
    uint8_t role;    /* ddl_role */
    bool qualified;
    bool changelog; /* gh-ost's _X_ghc */
    bool mapped;
    char schema[DDL_NAME_CAP];
    char table[DDL_NAME_CAP];
    char dst_schema[DDL_NAME_CAP];
    char dst_table[DDL_NAME_CAP];
} dname;

typedef struct parser {
    lexer lx;
    tok back; /* one token pushed back */
    bool has_back;
    const char *def_schema;
    ddl_info *info;
    dname *names;
    uint32_t n_names;
    uint32_t cap_names;
    bool failed;        /* cot_err is set */
    bool create_select; /* CREATE TABLE ... SELECT */
    ddl_route_fn route; /* the mapping, NULL for ddl_parse (every table its own) */
    void *route_ctx;
    uint32_t n_dropped; /* DROP TABLE: names[0 .. n_dropped) are its list */
} parser;

static tok next(parser *p)
{
    if (p->has_back) {
        p->has_back = false;
        return p->back;
    }
    tok t;
    lex_next(&p->lx, &t);
    return t;
}

static void unget(parser *p, tok t)
{
    p->back = t;
    p->has_back = true;
}

static tok peek(parser *p)
{
    tok t = next(p);
    unget(p, t);
    return t;
}

static bool is_word(const parser *p, tok t, const char *kw)
{
    size_t n = strlen(kw);
    return t.kind == TK_WORD && t.end - t.off == n && strncasecmp(p->lx.s + t.off, kw, n) == 0;
}

static bool is_punct(const parser *p, tok t, char c)
{
    return t.kind == TK_PUNCT && p->lx.s[t.off] == c;
}

/* fail sets an UNSUPPORTED error that shows the statement and why. */
static bool fail(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(parser *p, const char *fmt, ...)
{
    char why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (p->lx.bad) snprintf(why, sizeof(why), "%s", p->lx.bad); /* the root cause */
    char shown[PREVIEW + 16];
    ddl_preview(p->lx.s, p->lx.len, &p->lx.dl, shown, sizeof(shown));
    cot_err_set(COT_ERR_UNSUPPORTED, "DDL statement [%s] cannot be replicated: %s", shown, why);
    p->failed = true;
    return false;
}

static bool not_ours(parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool not_ours(parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->info->note, sizeof(p->info->note), fmt, ap);
    va_end(ap);
    p->info->stmt = DDL_STMT_OTHER;
    return true;
}

/* word_text copies a word token for messages. */
static void word_text(const parser *p, tok t, char *out, size_t cap)
{
    size_t n = t.end - t.off;
    if (n >= cap) n = cap - 1;
    memcpy(out, p->lx.s + t.off, n);
    out[n] = '\0';
}

/* ident reads a bare or `quoted` name token into out (DDL_NAME_CAP). */
static bool ident(parser *p, tok t, char *out)
{
    const char *s = p->lx.s;
    size_t o = 0;
    if (t.kind == TK_WORD) {
        for (size_t i = t.off; i < t.end; i++) {
            if (o + 1 >= DDL_NAME_CAP) goto too_long;
            out[o++] = s[i];
        }
    } else if (t.kind == TK_IDENT) {
        char quote = s[t.off];
        for (size_t i = t.off + 1; i + 1 < t.end;) {
            size_t m = lex__mb_len(&p->lx, i);
            if (o + m >= DDL_NAME_CAP) goto too_long;
            memcpy(out + o, s + i, m);
            o += m;
            /* `` (or "" under ANSI_QUOTES) stands for one; a trail byte is no quote */
            i += m == 1 && s[i] == quote ? 2 : m;
        }
    } else if (t.kind == TK_STRING && s[t.off] == '"') {
        return fail(p,
                    "a string where a table name belongs at byte %zu (a name in double quotes "
                    "needs sql_mode ANSI_QUOTES, which the session did not have)",
                    t.off);
    } else {
        return fail(p, "expected a table name at byte %zu", t.off);
    }
    if (o == 0) return fail(p, "empty name at byte %zu", t.off);
    out[o] = '\0';
    /* a lead byte without its trail would swallow the quote written after it */
    for (size_t i = 0; i < o;) {
        size_t m = ddl__mb_len(p->lx.dl.mb, out, o, i);
        if (m == 1 && ddl__mb_lead(p->lx.dl.mb, (unsigned char)out[i]))
            return fail(p, "the name at byte %zu is not valid in the session's charset", t.off);
        i += m;
    }
    return true;
too_long:
    return fail(p, "a name at byte %zu is longer than %d bytes", t.off, DDL_NAME_CAP - 1);
}

/* name_slot returns the next free name, its byte span starting at first
 * (not counted yet: n_names is raised once it is read), or NULL (error
 * set) past MAX_NAMES. */
static dname *name_slot(parser *p, tok first, ddl_role role)
{
    if (p->n_names == MAX_NAMES) {
        fail(p, "it names more than %d tables; split it into several statements", MAX_NAMES);
        return NULL;
    }
    if (p->n_names == p->cap_names) {
        uint32_t cap = p->cap_names ? p->cap_names * 2 : 4;
        dname *d = realloc(p->names, cap * sizeof(*d));
        if (!d) abort();
        p->names = d;
        p->cap_names = cap;
    }
    dname *d = &p->names[p->n_names];
    memset(d, 0, offsetof(dname, schema));
    d->role = (uint8_t)role;
    d->off = first.off;
    d->end = first.end;
    return d;
}

/* name reads [schema.]table starting at first; an unqualified name belongs
 * to qualify_with (the default schema, or the subject's for REFERENCES).
 * Returns the recorded name or NULL (error set). */
static dname *name(parser *p, tok first, ddl_role role, const char *qualify_with)
{
    /* qualify_with may point into p->names, which may move below */
    char qual[DDL_NAME_CAP];
    size_t n = qualify_with ? strlen(qualify_with) : 0;
    if (n >= DDL_NAME_CAP) {
        fail(p, "the default schema's name is longer than %d bytes", DDL_NAME_CAP - 1);
        return NULL;
    }
    memcpy(qual, qualify_with ? qualify_with : "", n + 1);
    dname *d = name_slot(p, first, role);
    if (!d) return NULL;
    char a[DDL_NAME_CAP];
    if (!ident(p, first, a)) return NULL;
    tok t = peek(p);
    if (is_punct(p, t, '.')) {
        next(p);
        tok second = next(p);
        if (!ident(p, second, d->table)) return NULL;
        memcpy(d->schema, a, sizeof(a));
        d->qualified = true;
        d->end = second.end;
    } else {
        if (n == 0) {
            fail(p,
                 "table %s is not qualified with a schema and the statement has no default "
                 "schema",
                 a);
            return NULL;
        }
        memcpy(d->schema, qual, n + 1);
        memcpy(d->table, a, sizeof(a));
    }
    d->changelog = ddl_shadow_is_changelog(d->table);
    p->n_names++;
    return d;
}

/* subject_schema returns the schema of the statement's first name. */
static const char *subject_schema(const parser *p)
{
    return p->n_names ? p->names[0].schema : p->def_schema;
}

/* union_list reads "name [, name]* )" of a MERGE table's UNION=(...). */
static bool union_list(parser *p)
{
    tok t = next(p);
    if (is_punct(p, t, '=')) t = next(p);
    if (!is_punct(p, t, '(')) return fail(p, "expected ( after UNION at byte %zu", t.off);
    for (;;) {
        t = next(p);
        if (!name(p, t, DDL_ROLE_REFERENCE, subject_schema(p))) return false;
        t = next(p);
        if (is_punct(p, t, ')')) return true;
        if (!is_punct(p, t, ',')) return fail(p, "expected , or ) in UNION at byte %zu", t.off);
    }
}

/* alter_clause classifies the ALTER TABLE clause starting at t and reads
 * the new name of a RENAME [TO|AS]. */
static bool alter_clause(parser *p, tok t)
{
    ddl_info *info = p->info;
    info->n_clauses++;
    if (is_word(p, t, "ADD")) {
        info->alter_ops |= DDL_ALTER_ADD;
    } else if (is_word(p, t, "DROP")) {
        info->alter_ops |= DDL_ALTER_DROP;
    } else if (is_word(p, t, "CHANGE")) {
        info->alter_ops |= DDL_ALTER_RENAME | DDL_ALTER_MODIFY;
    } else if (is_word(p, t, "MODIFY") || is_word(p, t, "ALTER")) {
        info->alter_ops |= DDL_ALTER_MODIFY;
    } else if (is_word(p, t, "RENAME")) {
        tok u = peek(p);
        if (is_word(p, u, "COLUMN") || is_word(p, u, "INDEX") || is_word(p, u, "KEY")) {
            info->alter_ops |= DDL_ALTER_RENAME;
            return true;
        }
        u = next(p);
        if (is_word(p, u, "TO") || is_word(p, u, "AS")) u = next(p);
        info->alter_ops |= DDL_ALTER_RENAME_TABLE;
        return name(p, u, DDL_ROLE_RENAME_TO, p->def_schema) != NULL;
    } else {
        info->alter_ops |= DDL_ALTER_OTHER;
    }
    return true;
}

/* rest reads the tokens up to the end of the statement at paren depth
 * `depth`: names after REFERENCES, in UNION=(...) and after WITH TABLE;
 * refuses SELECT (create: CREATE TABLE ... SELECT) and a second statement
 * after ';'; classifies ALTER TABLE clauses (alter). */
static bool rest(parser *p, int depth, bool create, bool alter)
{
    bool clause_start = alter;
    for (;;) {
        tok t = next(p);
        if (t.kind == TK_END) return true;
        if (t.kind == TK_PUNCT) {
            char c = p->lx.s[t.off];
            if (c == '(') {
                depth++;
            } else if (c == ')') {
                if (depth > 0) depth--;
            } else if (c == ',' && depth == 0 && alter) {
                clause_start = true;
                continue;
            } else if (c == ';' && depth == 0) {
                if (peek(p).kind != TK_END)
                    return fail(p, "several statements in one (a ';' at byte %zu)", t.off);
            }
            if (clause_start && alter) {
                p->info->n_clauses++;
                p->info->alter_ops |= DDL_ALTER_OTHER;
            }
            clause_start = false;
            continue;
        }
        if (clause_start && depth == 0) {
            clause_start = false;
            if (!alter_clause(p, t)) return false;
            continue;
        }
        clause_start = false;
        if (is_word(p, t, "REFERENCES")) {
            if (!name(p, next(p), DDL_ROLE_REFERENCE, subject_schema(p))) return false;
        } else if (create && is_word(p, t, "SELECT")) {
            p->create_select = true; /* refused once the table is known to be ours */
        } else if (depth == 0 && is_word(p, t, "UNION")) {
            if (!union_list(p)) return false;
        } else if (alter && is_word(p, t, "WITH") && is_word(p, peek(p), "TABLE")) {
            next(p);
            if (!name(p, next(p), DDL_ROLE_REFERENCE, p->def_schema)) return false;
        }
    }
}

/* if_exists consumes IF [NOT] EXISTS when t starts it; returns the next
 * token in *t. want_not: IF NOT EXISTS. */
static bool if_exists(parser *p, tok *t, bool want_not, bool *flag)
{
    if (!is_word(p, *t, "IF")) return true;
    tok u = next(p);
    if (want_not) {
        if (!is_word(p, u, "NOT")) return fail(p, "expected IF NOT EXISTS at byte %zu", t->off);
        u = next(p);
    }
    if (!is_word(p, u, "EXISTS"))
        return fail(p, "expected IF %sEXISTS at byte %zu", want_not ? "NOT " : "", t->off);
    *flag = true;
    *t = next(p);
    return true;
}

static bool create_table(parser *p)
{
    ddl_info *info = p->info;
    info->stmt = DDL_STMT_CREATE_TABLE;
    tok t = next(p);
    if (!if_exists(p, &t, true, &info->if_not_exists)) return false;
    if (!name(p, t, DDL_ROLE_SUBJECT, p->def_schema)) return false;
    t = next(p);
    if (is_word(p, t, "LIKE")) {
        info->stmt = DDL_STMT_CREATE_TABLE_LIKE;
        if (!name(p, next(p), DDL_ROLE_LIKE, p->def_schema)) return false;
        return rest(p, 0, true, false);
    }
    if (is_punct(p, t, '(')) {
        tok u = next(p);
        if (is_word(p, u, "LIKE")) {
            info->stmt = DDL_STMT_CREATE_TABLE_LIKE;
            if (!name(p, next(p), DDL_ROLE_LIKE, p->def_schema)) return false;
            u = next(p);
            if (!is_punct(p, u, ')')) return fail(p, "expected ) at byte %zu", u.off);
            return rest(p, 0, true, false);
        }
        unget(p, u);
        return rest(p, 1, true, false);
    }
    unget(p, t);
    return rest(p, 0, true, false);
}

/* index_on reads "[IF [NOT] EXISTS] index [USING ...] ON table" of CREATE /
 * DROP INDEX. */
static bool index_on(parser *p, bool create)
{
    ddl_info *info = p->info;
    tok t = next(p);
    while (is_word(p, t, "ONLINE") || is_word(p, t, "OFFLINE")) t = next(p);
    if (!if_exists(p, &t, create, create ? &info->if_not_exists : &info->if_exists)) return false;
    char idx[DDL_NAME_CAP];
    if (!ident(p, t, idx)) return false;
    for (;;) {
        t = next(p);
        if (t.kind == TK_END) return fail(p, "expected ON table after the index name");
        if (is_word(p, t, "ON")) break;
    }
    if (!name(p, next(p), DDL_ROLE_SUBJECT, p->def_schema)) return false;
    return rest(p, 0, false, false);
}

static bool stmt_create(parser *p)
{
    ddl_info *info = p->info;
    tok t = next(p);
    if (is_word(p, t, "OR")) {
        t = next(p);
        if (!is_word(p, t, "REPLACE")) return fail(p, "expected OR REPLACE at byte %zu", t.off);
        info->or_replace = true;
        t = next(p);
    }
    if (is_word(p, t, "TEMPORARY"))
        return not_ours(p, "temporary tables are not replicated (their rows are not logged)");
    while (is_word(p, t, "ONLINE") || is_word(p, t, "OFFLINE")) t = next(p);
    if (is_word(p, t, "UNIQUE") || is_word(p, t, "FULLTEXT") || is_word(p, t, "SPATIAL"))
        t = next(p);
    if (is_word(p, t, "INDEX") || is_word(p, t, "KEY")) {
        info->stmt = DDL_STMT_CREATE_INDEX;
        return index_on(p, true);
    }
    if (is_word(p, t, "TABLE")) return create_table(p);
    char w[64];
    word_text(p, t, w, sizeof(w));
    return not_ours(p, "CREATE %s is not about tables", w[0] ? w : "(nothing)");
}

static bool stmt_alter(parser *p)
{
    ddl_info *info = p->info;
    tok t = next(p);
    while (is_word(p, t, "ONLINE") || is_word(p, t, "OFFLINE") || is_word(p, t, "IGNORE"))
        t = next(p);
    if (!is_word(p, t, "TABLE")) {
        char w[64];
        word_text(p, t, w, sizeof(w));
        return not_ours(p, "ALTER %s is not about tables", w[0] ? w : "(nothing)");
    }
    info->stmt = DDL_STMT_ALTER_TABLE;
    t = next(p);
    if (!if_exists(p, &t, false, &info->if_exists)) return false;
    if (!name(p, t, DDL_ROLE_SUBJECT, p->def_schema)) return false;
    return rest(p, 0, false, true);
}

static bool stmt_drop(parser *p)
{
    ddl_info *info = p->info;
    tok t = next(p);
    if (is_word(p, t, "TEMPORARY"))
        return not_ours(p, "temporary tables are not replicated (their rows are not logged)");
    while (is_word(p, t, "ONLINE") || is_word(p, t, "OFFLINE")) t = next(p);
    if (is_word(p, t, "INDEX")) {
        info->stmt = DDL_STMT_DROP_INDEX;
        return index_on(p, false);
    }
    if (!is_word(p, t, "TABLE") && !is_word(p, t, "TABLES")) {
        char w[64];
        word_text(p, t, w, sizeof(w));
        return not_ours(p, "DROP %s is not about tables", w[0] ? w : "(nothing)");
    }
    info->stmt = DDL_STMT_DROP_TABLE;
    t = next(p);
    if (!if_exists(p, &t, false, &info->if_exists)) return false;
    for (;;) {
        if (!name(p, t, DDL_ROLE_SUBJECT, p->def_schema)) return false;
        p->n_dropped = p->n_names;
        t = next(p);
        if (!is_punct(p, t, ',')) break;
        t = next(p);
    }
    unget(p, t);
    return rest(p, 0, false, false);
}

static bool stmt_rename(parser *p)
{
    ddl_info *info = p->info;
    tok t = next(p);
    if (!is_word(p, t, "TABLE") && !is_word(p, t, "TABLES")) {
        char w[64];
        word_text(p, t, w, sizeof(w));
        return not_ours(p, "RENAME %s is not about tables", w[0] ? w : "(nothing)");
    }
    info->stmt = DDL_STMT_RENAME_TABLE;
    t = next(p);
    if (!if_exists(p, &t, false, &info->if_exists)) return false;
    for (;;) {
        if (!name(p, t, DDL_ROLE_RENAME_FROM, p->def_schema)) return false;
        t = next(p);
        if (!is_word(p, t, "TO")) return fail(p, "expected TO at byte %zu", t.off);
        if (!name(p, next(p), DDL_ROLE_RENAME_TO, p->def_schema)) return false;
        t = next(p);
        if (!is_punct(p, t, ',')) break;
        t = next(p);
    }
    unget(p, t);
    return rest(p, 0, false, false);
}

static bool stmt_truncate(parser *p)
{
    p->info->stmt = DDL_STMT_TRUNCATE;
    tok t = next(p);
    if (is_word(p, t, "TABLE")) t = next(p);
    if (!name(p, t, DDL_ROLE_SUBJECT, p->def_schema)) return false;
    return rest(p, 0, false, false);
}

/* Statements that never change a table's rows or columns; any other
 * statement cotter does not follow is checked for names of the mapping. */
static const char *const admin_words[] = {
    "ANALYZE", "CALL",      "CACHE",  "CHANGE",   "CHECK",  "CHECKSUM", "DEALLOCATE", "DO",
    "FLUSH",   "GRANT",     "HELP",   "INSTALL",  "KILL",   "LOCK",     "OPTIMIZE",   "PREPARE",
    "PURGE",   "REPAIR",    "RESET",  "RESIGNAL", "REVOKE", "SET",      "SHOW",       "SIGNAL",
    "STOP",    "UNINSTALL", "UNLOCK", "USE",      "BACKUP",
};

static bool is_admin(const parser *p, tok t)
{
    for (size_t i = 0; i < sizeof(admin_words) / sizeof(admin_words[0]); i++)
        if (is_word(p, t, admin_words[i])) return true;
    return false;
}

static bool is_name_tok(tok t)
{
    return t.kind == TK_WORD || t.kind == TK_IDENT;
}

/* is_number says whether a word token is all digits (1.5 is no name). */
static bool is_number(const parser *p, tok t)
{
    if (t.kind != TK_WORD) return false;
    for (size_t i = t.off; i < t.end; i++)
        if (p->lx.s[i] < '0' || p->lx.s[i] > '9') return false;
    return true;
}

/* unknown_statement routes every schema.table pair of a statement cotter
 * does not know, and refuses the statement when one is a table of the
 * mapping (it may change that table: skipping it would leave the target
 * behind without a word); otherwise it is not ours. */
static bool unknown_statement(parser *p, tok first)
{
    char w[64];
    word_text(p, first, w, sizeof(w));
    tok a = first, b = next(p);
    while (b.kind != TK_END && p->route) {
        tok c = next(p);
        char schema[DDL_NAME_CAP], table[DDL_NAME_CAP];
        char ds[DDL_NAME_CAP], dt[DDL_NAME_CAP];
        if (is_name_tok(a) && !is_number(p, a) && is_punct(p, b, '.') && is_name_tok(c)) {
            if (!ident(p, a, schema) || !ident(p, c, table)) {
                p->failed = false; /* no name of ours: no table can have it */
                cot_err_clear();
            } else if (p->route(p->route_ctx, schema, table, ds, sizeof(ds), dt, sizeof(dt))) {
                return fail(p,
                            "cotter does not know this kind of statement (%s) and it names "
                            "%s.%s, a table this pipeline copies, so it cannot tell what the "
                            "statement does to it; make the matching change on the target "
                            "yourself, then restart with ddl: ignore once",
                            w, schema, table);
            }
        }
        a = b;
        b = c;
    }
    return not_ours(p, "%s is not a table statement", w);
}

/* set_statement_for returns the first token of the statement, past
 * MariaDB's "SET STATEMENT var=value [, ...] FOR" prefix (the server logs
 * the statement with it). */
static tok set_statement_for(parser *p)
{
    tok t = next(p);
    if (!is_word(p, t, "SET") || !is_word(p, peek(p), "STATEMENT")) return t;
    int depth = 0;
    for (;;) {
        tok u = next(p);
        if (u.kind == TK_END) return t; /* no FOR: the SET itself */
        if (is_punct(p, u, '('))
            depth++;
        else if (is_punct(p, u, ')') && depth > 0)
            depth--;
        else if (depth == 0 && is_word(p, u, "FOR"))
            return next(p);
    }
}

/* statement dispatches on the first word; false with the error set when
 * the statement cannot be followed. */
static bool statement(parser *p)
{
    tok t = set_statement_for(p);
    if (is_word(p, t, "CREATE")) return stmt_create(p);
    if (is_word(p, t, "ALTER")) return stmt_alter(p);
    if (is_word(p, t, "DROP")) return stmt_drop(p);
    if (is_word(p, t, "RENAME")) return stmt_rename(p);
    if (is_word(p, t, "TRUNCATE")) return stmt_truncate(p);
    if (t.kind == TK_END) return not_ours(p, "not a table statement (empty)");
    if (is_admin(p, t)) {
        char w[64];
        word_text(p, t, w, sizeof(w));
        return not_ours(p, "%s is not a table statement", w);
    }
    return unknown_statement(p, t);
}

/* ---- routing and output ---------------------------------------------------- */

/* put_ident quotes name with backquotes for a session of charset mb: a
 * backquote that is the trail byte of a character is not doubled. */
static void put_ident(buf *out, const char *name, uint8_t mb)
{
    size_t n = strlen(name);
    buf_putc(out, '`');
    for (size_t i = 0; i < n;) {
        size_t m = ddl__mb_len(mb, name, n, i);
        if (m == 1 && name[i] == '`') buf_putc(out, '`');
        buf_append(out, name + i, m);
        i += m;
    }
    buf_putc(out, '`');
}

static void put_name(buf *out, const char *schema, const char *table, uint8_t mb)
{
    put_ident(out, schema, mb);
    buf_putc(out, '.');
    put_ident(out, table, mb);
}

static void list_names(const parser *p, bool mapped, char *out, size_t cap)
{
    size_t o = 0;
    int shown = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < p->n_names && o < cap; i++) {
        const dname *d = &p->names[i];
        if (d->mapped != mapped) continue;
        if (shown == 3) {
            snprintf(out + o, cap - o, ", ...");
            return;
        }
        int w = snprintf(out + o, cap - o, "%s%s.%s", shown ? ", " : "", d->schema, d->table);
        if (w < 0) return;
        o += (size_t)w;
        shown++;
    }
}

/* route maps every name; decides not ours / rewritten / refused. */
static bool route_names(parser *p, ddl_route_fn route, void *ctx, uint32_t *n_skipped)
{
    uint32_t n_mapped = 0, n_unmapped = 0;
    *n_skipped = 0;
    for (uint32_t i = 0; i < p->n_names; i++) {
        dname *d = &p->names[i];
        d->dst_schema[0] = d->dst_table[0] = '\0';
        d->mapped = route(ctx, d->schema, d->table, d->dst_schema, sizeof(d->dst_schema),
                          d->dst_table, sizeof(d->dst_table));
        if (d->mapped && (!d->dst_schema[0] || !d->dst_table[0]))
            return fail(p, "the mapping gives %s.%s an empty target name", d->schema, d->table);
        if (d->mapped)
            n_mapped++;
        else if (d->changelog && i < p->n_dropped)
            (*n_skipped)++;
        else
            n_unmapped++;
    }
    if (n_mapped == 0) {
        const dname *d = p->n_names ? &p->names[0] : NULL;
        if (d && d->changelog)
            return not_ours(p, "gh-ost's changelog table %s.%s is not copied", d->schema, d->table);
        return not_ours(p, "no table of this pipeline (%s%s%s)", d ? d->schema : "", d ? "." : "",
                        d ? d->table : "");
    }
    if (n_unmapped > 0) {
        char yes[400], no[400];
        list_names(p, true, yes, sizeof(yes));
        list_names(p, false, no, sizeof(no));
        return fail(p,
                    "it names tables this pipeline copies (%s) and tables it does not (%s), "
                    "so the target cannot follow it; make the matching change on the target "
                    "yourself, then restart with ddl: ignore once (or change the pipeline's "
                    "tables so that all or none of them are copied)",
                    yes, no);
    }
    return true;
}

/* emit writes the statement with every mapped name replaced; a DROP list
 * that loses names (gh-ost changelog) is written anew. */
static void emit(const parser *p, buf *out, uint32_t n_skipped)
{
    const char *s = p->lx.s;
    size_t pos = 0;
    uint32_t i = 0;
    buf_reset(out);
    if (n_skipped && p->n_dropped) {
        const dname *first = &p->names[0], *last = &p->names[p->n_dropped - 1];
        buf_append(out, s, first->off);
        bool any = false;
        for (; i < p->n_dropped; i++) {
            const dname *d = &p->names[i];
            if (!d->mapped) continue;
            if (any) buf_puts(out, ", ");
            put_name(out, d->dst_schema, d->dst_table, p->lx.dl.mb);
            any = true;
        }
        pos = last->end;
        /* `x` right before another ` would read as one name with a ` in it */
        if (pos < p->lx.len && s[pos] == '`') buf_putc(out, ' ');
    }
    for (; i < p->n_names; i++) {
        const dname *d = &p->names[i];
        buf_append(out, s + pos, d->off - pos);
        put_name(out, d->dst_schema, d->dst_table, p->lx.dl.mb);
        pos = d->end;
        if (pos < p->lx.len && s[pos] == '`') buf_putc(out, ' ');
    }
    buf_append(out, s + pos, p->lx.len - pos);
}

static void fill_info(const parser *p)
{
    ddl_info *info = p->info;
    for (uint32_t i = 0; i < p->n_names; i++) {
        const dname *d = &p->names[i];
        if (!d->mapped) continue;
        if (info->n_tables < DDL_INFO_TABLES) {
            ddl_table *tb = &info->tables[info->n_tables];
            tb->role = d->role;
            memcpy(tb->src_schema, d->schema, sizeof(tb->src_schema));
            memcpy(tb->src_name, d->table, sizeof(tb->src_name));
            memcpy(tb->dst_schema, d->dst_schema, sizeof(tb->dst_schema));
            memcpy(tb->dst_name, d->dst_table, sizeof(tb->dst_name));
        }
        info->n_tables++;
    }
}

cot_err ddl_rewrite(const char *sql, size_t len, const char *default_schema, ddl_route_fn route,
                    void *ctx, buf *out, ddl_info *info)
{
    return ddl_rewrite_dl(sql, len, default_schema, NULL, route, ctx, out, info);
}

cot_err ddl_rewrite_dl(const char *sql, size_t len, const char *default_schema,
                       const ddl_dialect *dl, ddl_route_fn route, void *ctx, buf *out,
                       ddl_info *info)
{
    memset(info, 0, offsetof(ddl_info, tables));
    info->note[0] = '\0';
    if (out) buf_reset(out);
    parser p;
    memset(&p, 0, sizeof(p));
    p.lx.s = sql ? sql : "";
    p.lx.len = sql ? len : 0;
    if (dl) p.lx.dl = *dl;
    p.def_schema = default_schema ? default_schema : "";
    p.info = info;
    /* ddl_parse (every table its own) judges what it runs, not the mapping */
    p.route = route != ddl__route_same ? route : NULL;
    p.route_ctx = ctx;

    bool ok = statement(&p);
    if (ok && p.lx.bad) ok = fail(&p, "%s", p.lx.bad);
    uint32_t n_skipped = 0;
    if (ok && info->stmt != DDL_STMT_OTHER) ok = route_names(&p, route, ctx, &n_skipped);
    if (ok && info->stmt != DDL_STMT_OTHER && p.create_select)
        ok = fail(&p, "CREATE TABLE ... SELECT fills the table by a query on the source, whose "
                      "rows arrive as row events anyway; create the table on the target yourself "
                      "(SHOW CREATE TABLE on the source), then restart with ddl: ignore once");
    if (!ok) {
        free(p.names);
        return cot_err_code();
    }
    if (info->stmt != DDL_STMT_OTHER) {
        info->kind = DDL_REWRITTEN;
        fill_info(&p);
        if (out) emit(&p, out, n_skipped);
    }
    free(p.names);
    return COT_OK;
}

static bool ddl__route_same(void *ctx, const char *schema, const char *table, char *out_schema,
                            size_t schema_cap, char *out_table, size_t table_cap)
{
    snprintf(out_schema, schema_cap, "%s", schema);
    snprintf(out_table, table_cap, "%s", table);
    return true;
}

cot_err ddl_parse(const char *sql, size_t len, const char *default_schema, ddl_info *info)
{
    return ddl_rewrite(sql, len, default_schema, ddl__route_same, NULL, NULL, info);
}

cot_err ddl_parse_dl(const char *sql, size_t len, const char *default_schema, const ddl_dialect *dl,
                     ddl_info *info)
{
    return ddl_rewrite_dl(sql, len, default_schema, dl, ddl__route_same, NULL, NULL, info);
}

/* ---- preview ----------------------------------------------------------------- */

/* Words after which a string is a secret: PASSWORD 'x', IDENTIFIED BY 'x',
 * IDENTIFIED ... USING PASSWORD('x'), a FEDERATED table's
 * CONNECTION='mysql://u:pw@...'; an = or ( may stand between. */
static bool secret_word(const lexer *lx, tok t)
{
    static const char *const words[] = {"PASSWORD", "BY", "USING", "CONNECTION"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t n = strlen(words[i]);
        if (t.kind == TK_WORD && t.end - t.off == n && strncasecmp(lx->s + t.off, words[i], n) == 0)
            return true;
    }
    return false;
}

/* utf8_len returns the length of the UTF-8 character at u (n bytes left),
 * 0 when the bytes there are not one. */
static size_t utf8_len(const unsigned char *u, size_t n)
{
    size_t m = u[0] < 0x80             ? 1
               : (u[0] & 0xE0) == 0xC0 ? 2
               : (u[0] & 0xF0) == 0xE0 ? 3
               : (u[0] & 0xF8) == 0xF0 ? 4
                                       : 0;
    if (m == 0 || m > n || (m == 2 && u[0] < 0xC2) || (m == 4 && u[0] > 0xF4)) return 0;
    for (size_t i = 1; i < m; i++)
        if ((u[i] & 0xC0) != 0x80) return 0;
    return m;
}

size_t ddl_preview(const char *sql, size_t len, const ddl_dialect *dl, char *out, size_t cap)
{
    if (cap == 0) return 0;
    buf b;
    buf_init(&b);
    lexer lx;
    memset(&lx, 0, sizeof(lx));
    lx.s = sql ? sql : "";
    lx.len = sql ? len : 0;
    if (dl) lx.dl = *dl;
    size_t pos = 0;
    bool secret = false;
    for (;;) {
        tok t;
        lex_next(&lx, &t);
        if (t.kind == TK_END) break;
        if (t.kind == TK_STRING && secret) {
            buf_append(&b, lx.s + pos, t.off - pos);
            buf_append(&b, lx.s + t.off, 1);
            buf_puts(&b, "***");
            buf_append(&b, lx.s + t.off, 1);
            pos = t.end;
        }
        bool between = t.kind == TK_PUNCT && (lx.s[t.off] == '=' || lx.s[t.off] == '(');
        if (!between) secret = secret_word(&lx, t);
    }
    /* the rest as it is (text the lexer cannot read cannot be searched) */
    buf_append(&b, lx.s + pos, lx.len - pos);
    size_t n = b.len > PREVIEW ? PREVIEW : b.len;
    /* control bytes would break a log line, and bytes that are not UTF-8
     * (a gbk or latin1 session's text) a JSON reader of the status */
    for (size_t k = 0; k < n;) {
        unsigned char c = (unsigned char)b.data[k];
        size_t m = utf8_len((const unsigned char *)b.data + k, n - k);
        if (m == 0 || (c < 0x20 && c != '\n' && c != '\t')) {
            b.data[k] = '?';
            m = 1;
        }
        k += m;
    }
    int w = snprintf(out, cap, "%.*s%s", (int)n, b.len ? b.data : "", b.len > n ? "..." : "");
    buf_deinit(&b);
    return w < 0 ? 0 : (size_t)w < cap ? (size_t)w : cap - 1;
}

/* ---- dialect and classification -------------------------------------------- */

void ddl_dialect_init(ddl_dialect *dl, uint64_t sql_mode, unsigned charset_id,
                      const char *server_version)
{
    memset(dl, 0, sizeof(*dl));
    dl->ansi_quotes = (sql_mode & DDL_MODE_ANSI_QUOTES) != 0;
    dl->no_backslash_escapes = (sql_mode & DDL_MODE_NO_BACKSLASH_ESCAPES) != 0;
    /* collation ids of MariaDB and MySQL (the _nopad ones are MariaDB's) */
    switch (charset_id) {
    case 1:
    case 84:
    case 1025:
    case 1108:
        dl->mb = DDL_MB_BIG5;
        break;
    case 13:
    case 88:
    case 1037:
    case 1112: /* sjis */
    case 95:
    case 96:
    case 1119:
    case 1120: /* cp932 */
        dl->mb = DDL_MB_SJIS;
        break;
    case 28:
    case 87:
    case 1052:
    case 1111:
        dl->mb = DDL_MB_GBK;
        break;
    case 248:
    case 249:
    case 250:
        dl->mb = DDL_MB_GB18030;
        break;
    default:
        break;
    }
    if (!server_version || !server_version[0]) return;
    dl->mysql = strstr(server_version, "MariaDB") == NULL;
    unsigned part[3] = {0, 0, 0};
    const char *c = server_version;
    for (int i = 0; i < 3; i++) {
        if (*c < '0' || *c > '9') return; /* not a version we can read: all comments run */
        while (*c >= '0' && *c <= '9') part[i] = part[i] * 10 + (unsigned)(*c++ - '0');
        if (part[i] > 99) return;
        if (i < 2 && *c++ != '.') return;
    }
    dl->version = part[0] * 10000 + part[1] * 100 + part[2];
}

void ddl_dialect_of(ddl_dialect *dl, const cot_ddl_session *ds)
{
    if (!ds) {
        memset(dl, 0, sizeof(*dl));
        return;
    }
    ddl_dialect_init(dl, ds->has_sql_mode ? ds->sql_mode : 0,
                     ds->has_charset ? ds->charset_client : 0, ds->server_version);
}

/* tz_name_ok says whether a logged time zone can be written in quotes as
 * it is ('+05:30', 'SYSTEM', 'Europe/Berlin'). */
static bool tz_name_ok(const char *tz)
{
    if (!tz[0]) return false;
    for (const char *c = tz; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              strchr("+-:/_.", *c)))
            return false;
    return true;
}

bool ddl_session_sql(const cot_ddl_session *ds, buf *out)
{
    buf_reset(out);
    if (!ds) return false;
    bool tz = tz_name_ok(ds->time_zone);
    if (!ds->has_sql_mode && !ds->has_charset && !tz) return false;
    const char *sep = "SET ";
    if (ds->has_sql_mode) {
        buf_printf(out, "%sSESSION sql_mode=%llu", sep, (unsigned long long)ds->sql_mode);
        sep = ", ";
    }
    if (ds->has_charset) {
        buf_printf(out, "%sSESSION character_set_client=%u, SESSION collation_connection=%u", sep,
                   (unsigned)ds->charset_client, (unsigned)ds->collation_connection);
        sep = ", ";
    }
    if (tz) buf_printf(out, "%sSESSION time_zone='%s'", sep, ds->time_zone);
    return true;
}

ddl_class ddl_classify(const char *sql, size_t len, const ddl_dialect *dl)
{
    parser p;
    memset(&p, 0, sizeof(p));
    p.lx.s = sql ? sql : "";
    p.lx.len = sql ? len : 0;
    if (dl) p.lx.dl = *dl;
    tok t = set_statement_for(&p);
    tok u = next(&p);
    if (p.lx.bad && t.kind == TK_END) return DDL_CLASS_UNKNOWN;
    if (is_word(&p, t, "BEGIN")) return DDL_CLASS_BEGIN;
    if (is_word(&p, t, "START"))
        return is_word(&p, u, "TRANSACTION") ? DDL_CLASS_BEGIN : DDL_CLASS_ADMIN;
    if (is_word(&p, t, "COMMIT")) return DDL_CLASS_COMMIT;
    if (is_word(&p, t, "ROLLBACK")) {
        if (is_word(&p, u, "WORK")) u = next(&p);
        return is_word(&p, u, "TO") ? DDL_CLASS_TX_OTHER : DDL_CLASS_ROLLBACK;
    }
    if (is_word(&p, t, "SAVEPOINT") || is_word(&p, t, "RELEASE") || is_word(&p, t, "XA"))
        return DDL_CLASS_TX_OTHER;
    if (is_word(&p, t, "CREATE") || is_word(&p, t, "ALTER") || is_word(&p, t, "DROP") ||
        is_word(&p, t, "RENAME") || is_word(&p, t, "TRUNCATE"))
        return DDL_CLASS_TABLE;
    return is_admin(&p, t) ? DDL_CLASS_ADMIN : DDL_CLASS_UNKNOWN;
}

/* ---- online schema change shadows ------------------------------------------ */

static bool ddl__ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

bool ddl_shadow_base(const char *table, char *base, size_t cap)
{
    static const char *const suffixes[] = {"_gho", "_ghc", "_del", "_new", "_old"};
    if (!table || table[0] != '_') return false;
    size_t n = strlen(table);
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        if (!ddl__ends_with(table, n, suffixes[i])) continue;
        size_t end = n - 4; /* base is table[1 .. end) */
        /* gh-ost --timestamp-old-table: _X_YYYYMMDDhhmmss_del */
        if (strcmp(suffixes[i], "_del") == 0 && end >= 1 + 1 + 15 && table[end - 15] == '_') {
            bool digits = true;
            for (size_t k = end - 14; k < end && digits; k++)
                digits = table[k] >= '0' && table[k] <= '9';
            if (digits) end -= 15;
        }
        if (end <= 1) return false;
        size_t blen = end - 1;
        if (blen >= cap) return false;
        memcpy(base, table + 1, blen);
        base[blen] = '\0';
        return true;
    }
    return false;
}

bool ddl_shadow_is_changelog(const char *table)
{
    char base[DDL_NAME_CAP];
    size_t n = table ? strlen(table) : 0;
    return n > 5 && ddl__ends_with(table, n, "_ghc") && ddl_shadow_base(table, base, sizeof(base));
}
