/*
 * The row filter: a hand-written lexer and recursive-descent parser that
 * turn a `where:` expression into a tree of nodes (in the filter's arena),
 * a binder that maps column names to indexes, and a tree-walking evaluator
 * with SQL three-valued logic. Compile and bind run on the config / select
 * thread; eval runs on extract threads and only reads the filter.
 * Invariants: the tree is at most ROW_FILTER_MAX_DEPTH deep (so eval's
 * recursion is bounded), exact numbers keep |mantissa| < 10^38, and eval
 * allocates only when its intermediate text outgrows a thread-local 4 KiB.
 */
#include "pipeline/row_filter.h"

#include "util/arena.h"
#include "util/buf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef __int128 i128;

/* ------------------------------------------------------------------ */
/* Values during evaluation                                            */
/* ------------------------------------------------------------------ */

enum rv_type {
    RV_NULL = 0,
    RV_NUM,  /* exact: m / 10^scale */
    RV_REAL, /* double r */
    RV_STR,  /* bytes s.p[0..s.len) */
};

/* Value flags. */
enum {
    VF_BINARY = 1u << 0,   /* text compares byte-wise and counts bytes */
    VF_UTF8 = 1u << 1,     /* text counts UTF-8 characters */
    VF_TEMPORAL = 1u << 2, /* text is a date/time in VK_TEMPORAL form */
    VF_ENUM = 1u << 3,     /* number is an ENUM index or SET bitmask (rv.ec says whose) */
    VF_FLOAT = 1u << 4,    /* real came from a FLOAT column (prints as float) */
    VF_SET = 1u << 5,      /* with VF_ENUM: the number is a SET bitmask */
};

struct rf_col;

#define MAX_SCALE  38
#define MAX_DIGITS 38

typedef struct rv {
    uint8_t t;     /* rv_type */
    uint8_t f;     /* VF_* */
    uint8_t scale; /* RV_NUM: digits after the point */
    union {
        i128 m;
        double r;
        struct {
            const char *p;
            size_t len;
        } s;
    };
    const struct rf_col *ec; /* VF_ENUM: the column, for its member names */
} rv;

/* POW10[n] is 10^n as an exact integer, n = 0..38. */
#define P19 ((i128)10000000000000000000ull)
static const i128 POW10[MAX_SCALE + 1] = {
    1,
    (i128)10ull,
    (i128)100ull,
    (i128)1000ull,
    (i128)10000ull,
    (i128)100000ull,
    (i128)1000000ull,
    (i128)10000000ull,
    (i128)100000000ull,
    (i128)1000000000ull,
    (i128)10000000000ull,
    (i128)100000000000ull,
    (i128)1000000000000ull,
    (i128)10000000000000ull,
    (i128)100000000000000ull,
    (i128)1000000000000000ull,
    (i128)10000000000000000ull,
    (i128)100000000000000000ull,
    (i128)1000000000000000000ull,
    (i128)10000000000000000000ull,
    P19 * 10ull,
    P19 * 100ull,
    P19 * 1000ull,
    P19 * 10000ull,
    P19 * 100000ull,
    P19 * 1000000ull,
    P19 * 10000000ull,
    P19 * 100000000ull,
    P19 * 1000000000ull,
    P19 * 10000000000ull,
    P19 * 100000000000ull,
    P19 * 1000000000000ull,
    P19 * 10000000000000ull,
    P19 * 100000000000000ull,
    P19 * 1000000000000000ull,
    P19 * 10000000000000000ull,
    P19 * 100000000000000000ull,
    P19 * 1000000000000000000ull,
    P19 * 10000000000000000000ull,
};

/* POW10D[n] is 10^n as a double (exact up to 10^22), n = 0..38. */
static const double POW10D[MAX_SCALE + 1] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11, 1e12,
    1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 1e24, 1e25,
    1e26, 1e27, 1e28, 1e29, 1e30, 1e31, 1e32, 1e33, 1e34, 1e35, 1e36, 1e37, 1e38,
};

/* Exact mantissas stay strictly below MANT_LIMIT in magnitude. */
#define MANT_LIMIT POW10[MAX_DIGITS]

static inline i128 i128_abs(i128 x)
{
    return x < 0 ? -x : x;
}

/* num_dbl converts a number to double, correctly rounded (as strtod would). */
static double num_dbl(const rv *v)
{
    if (v->t == RV_REAL) return v->r;
    i128 m = v->m;
    if (i128_abs(m) <= ((i128)1 << 53) && v->scale <= 22) return (double)m / POW10D[v->scale];
    char tmp[64];
    char rev[48];
    size_t n = 0, o = 0;
    i128 a = i128_abs(m);
    do {
        rev[n++] = (char)('0' + (int)(a % 10));
        a /= 10;
    } while (a);
    if (m < 0) tmp[o++] = '-';
    while (n) tmp[o++] = rev[--n];
    snprintf(tmp + o, sizeof(tmp) - o, "e-%u", (unsigned)v->scale);
    return strtod(tmp, NULL);
}

/* ------------------------------------------------------------------ */
/* The tree                                                            */
/* ------------------------------------------------------------------ */

enum node_op {
    N_LIT = 0,
    N_COL,
    N_AND, /* n-ary */
    N_OR,  /* n-ary */
    N_XOR,
    N_NOT,
    N_CMP,     /* sub = cmp_op */
    N_IS,      /* sub = is_what, neg */
    N_IN,      /* kids[0] IN (kids[1..]), neg */
    N_BETWEEN, /* kids[0] BETWEEN kids[1] AND kids[2], neg */
    N_LIKE,    /* kids[0] LIKE kids[1], esc, neg */
    N_ARITH,   /* sub = arith_op */
    N_NEG,
    N_FUNC,     /* sub = fn_id */
    N_DATE_ADD, /* kids[0] +/- INTERVAL kids[1] sub=unit; neg = subtract */
};

enum cmp_op { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE, C_NSEQ };
enum is_what { IS_NULL, IS_TRUE, IS_FALSE, IS_UNKNOWN };
enum arith_op { A_ADD, A_SUB, A_MUL, A_DIV, A_IDIV, A_MOD };
enum unit { U_SECOND, U_MINUTE, U_HOUR, U_DAY, U_WEEK, U_MONTH, U_QUARTER, U_YEAR };

enum fn_id {
    F_LOWER,
    F_UPPER,
    F_LENGTH,
    F_CHAR_LENGTH,
    F_CONCAT,
    F_SUBSTRING,
    F_TRIM,
    F_LTRIM,
    F_RTRIM,
    F_COALESCE,
    F_IFNULL,
    F_NULLIF,
    F_IF,
    F_ABS,
    F_ROUND,
    F_FLOOR,
    F_CEIL,
    F_MOD,
    F_NOW,
    F_CURDATE,
    F_DATE,
    F_YEAR,
    F_MONTH,
    F_DAY,
    F_HOUR,
    F_MINUTE,
    F_SECOND,
    F_FIND_IN_SET,
    F_DATE_ADD, /* parsed into N_DATE_ADD */
    F_DATE_SUB,
};

typedef struct rf_node {
    uint8_t op;    /* node_op */
    uint8_t sub;   /* cmp_op / is_what / arith_op / fn_id / unit */
    bool neg;      /* NOT IN, NOT BETWEEN, NOT LIKE, IS NOT, subtraction of an interval */
    uint8_t depth; /* 1 + the deepest child */
    int esc;       /* N_LIKE: escape byte, -1 for none */
    uint32_t pos;  /* byte offset of the node's token in the text */
    uint32_t n_kids;
    struct rf_node **kids;
    uint32_t slot; /* N_COL: index into rf->cols */
    rv lit;        /* N_LIT */
} rf_node;

typedef struct rf_col {
    char *name;        /* as written, without backquotes (arena) */
    uint32_t pos;      /* first use, for messages */
    uint32_t text_pos; /* where it is used as text (+1; 0 = never) */
    uint32_t idx;      /* column index once bound */
    uint8_t vflags;    /* VF_BINARY / VF_UTF8 of its charset once bound */
    /* ENUM/SET member names once bound (interned by the event model, so
     * they outlive the table); NULL when unknown or not an ENUM/SET */
    const char *const *members;
    uint32_t n_members;
} rf_col;

struct row_filter {
    char *text;     /* the expression, NUL-terminated (heap) */
    unsigned flags; /* ROW_FILTER_* */
    arena mem;      /* nodes, names, literal text */
    rf_node *root;
    rf_col *cols; /* distinct column names, heap */
    uint32_t n_cols;
    uint32_t cap_cols;
    bool bound;
};

/* ------------------------------------------------------------------ */
/* Small text helpers                                                  */
/* ------------------------------------------------------------------ */

static inline int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static inline bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static inline bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static inline bool is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$' || c >= 0x80;
}

static inline bool is_ident_char(int c)
{
    return is_ident_start(c) || is_digit(c);
}

/* ieq says whether s[0..n) equals the NUL-terminated word, ASCII case-insensitively. */
static bool ieq(const char *s, size_t n, const char *word)
{
    size_t i = 0;
    for (; i < n; i++) {
        if (!word[i] || ascii_lower((unsigned char)s[i]) != ascii_lower((unsigned char)word[i]))
            return false;
    }
    return word[i] == '\0';
}

/* utf8_step returns the byte length of the UTF-8 character at s (1 for a
 * stray byte), never more than left (left > 0). */
static inline size_t utf8_step(const char *s, size_t left)
{
    unsigned char c = (unsigned char)s[0];
    size_t n = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF8 ? 4 : 1;
    if (n > left) n = left;
    for (size_t i = 1; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) return 1;
    return n;
}

/* ------------------------------------------------------------------ */
/* Numbers from text                                                   */
/* ------------------------------------------------------------------ */

/* num_from_text reads a number the way MySQL reads text in a numeric
 * context: leading spaces, sign, digits, fraction, exponent; what follows
 * is ignored and no digits at all is 0. Exact when it fits 38 digits and
 * has no exponent, double otherwise. *whole says whether the text
 * was a number and nothing else (trailing spaces allowed). */
static void num_from_text(const char *p, size_t len, rv *out, bool *whole)
{
    size_t i = 0;
    while (i < len && is_space((unsigned char)p[i])) i++;
    bool negative = false;
    if (i < len && (p[i] == '-' || p[i] == '+')) negative = p[i++] == '-';
    char sig[40];          /* the first significant digits */
    unsigned n_sig = 0;    /* significant digits seen */
    unsigned n_digits = 0; /* all digits seen */
    unsigned scale = 0;    /* digits after the point */
    long int_sig = 0;      /* significant digits before the point */
    long frac_lead = 0;    /* zeros after the point before the first significant digit */
    bool exact = true;
    i128 m = 0;
    while (i < len && is_digit((unsigned char)p[i])) {
        int d = p[i++] - '0';
        n_digits++;
        if (n_sig == 0 && d == 0) continue;
        if (n_sig < sizeof(sig)) sig[n_sig] = (char)('0' + d);
        n_sig++;
        int_sig++;
        if (n_sig > MAX_DIGITS)
            exact = false;
        else
            m = m * 10 + d;
    }
    if (i < len && p[i] == '.') {
        i++;
        while (i < len && is_digit((unsigned char)p[i])) {
            int d = p[i++] - '0';
            n_digits++;
            scale++;
            if (scale > MAX_SCALE) exact = false;
            if (n_sig == 0 && d == 0) {
                frac_lead++;
                continue;
            }
            if (n_sig < sizeof(sig)) sig[n_sig] = (char)('0' + d);
            n_sig++;
            if (n_sig > MAX_DIGITS) exact = false;
            if (exact) m = m * 10 + d;
        }
    }
    long exp10 = 0;
    bool has_exp = false;
    if (n_digits && i < len && (p[i] == 'e' || p[i] == 'E')) {
        size_t j = i + 1;
        bool eneg = false;
        if (j < len && (p[j] == '-' || p[j] == '+')) eneg = p[j++] == '-';
        if (j < len && is_digit((unsigned char)p[j])) {
            has_exp = true;
            while (j < len && is_digit((unsigned char)p[j])) {
                if (exp10 < 100000) exp10 = exp10 * 10 + (p[j] - '0');
                j++;
            }
            if (eneg) exp10 = -exp10;
            i = j;
        }
    }
    size_t k = i;
    while (k < len && is_space((unsigned char)p[k])) k++;
    if (whole) *whole = n_digits > 0 && k == len;
    out->f = 0;
    if (exact && !has_exp) {
        out->t = RV_NUM;
        out->scale = (uint8_t)scale;
        out->m = negative ? -m : m;
        return;
    }
    out->t = RV_REAL;
    if (n_sig == 0) {
        out->r = negative ? -0.0 : 0.0;
        return;
    }
    /* value = 0.<sig> * 10^point, point counted from the first significant digit */
    long point = (int_sig > 0 ? int_sig : -frac_lead) + exp10;
    char tmp[80];
    unsigned n_keep = n_sig < sizeof(sig) ? n_sig : (unsigned)sizeof(sig);
    snprintf(tmp, sizeof(tmp), "%s0.%.*se%ld", negative ? "-" : "", (int)n_keep, sig, point);
    out->r = strtod(tmp, NULL);
}

/* ------------------------------------------------------------------ */
/* Lexer                                                               */
/* ------------------------------------------------------------------ */

enum tok_type {
    T_END = 0,
    T_NUM,
    T_STR,
    T_IDENT,
    T_QIDENT,
    T_LP,
    T_RP,
    T_COMMA,
    T_EQ,
    T_NE,
    T_LT,
    T_LE,
    T_GT,
    T_GE,
    T_NSEQ,
    T_PLUS,
    T_MINUS,
    T_STAR,
    T_SLASH,
    T_PCT,
    T_ANDAND,
    T_OROR,
    T_BANG,
    T_BAD, /* lexical error; the parser reports lex_why */
};

typedef struct tok {
    uint8_t t;
    uint32_t pos; /* byte offset */
    uint32_t len; /* bytes of source text */
} tok;

typedef struct parser {
    const char *s;
    size_t len;
    tok cur;
    size_t next_at; /* where lexing continues after cur */
    const char *lex_why;
    row_filter *rf;
    int nest;
    bool failed;
} parser;

/* lex reads the token starting at or after byte at; returns the offset after it. */
static size_t lex(parser *p, size_t at, tok *t)
{
    const char *s = p->s;
    size_t n = p->len;
    for (;;) {
        while (at < n && is_space((unsigned char)s[at])) at++;
        /* comments: -- to end of line (MySQL wants a space after --), # and C style */
        if (at + 1 < n && s[at] == '-' && s[at + 1] == '-' &&
            (at + 2 == n || is_space((unsigned char)s[at + 2]))) {
            while (at < n && s[at] != '\n') at++;
            continue;
        }
        if (at < n && s[at] == '#') {
            while (at < n && s[at] != '\n') at++;
            continue;
        }
        if (at + 1 < n && s[at] == '/' && s[at + 1] == '*') {
            size_t e = at + 2;
            while (e + 1 < n && !(s[e] == '*' && s[e + 1] == '/')) e++;
            if (e + 1 >= n) {
                t->t = T_BAD;
                t->pos = (uint32_t)at;
                t->len = (uint32_t)(n - at);
                p->lex_why = "unterminated comment";
                return n;
            }
            at = e + 2;
            continue;
        }
        break;
    }
    t->pos = (uint32_t)at;
    t->len = 1;
    if (at >= n) {
        t->t = T_END;
        t->len = 0;
        return at;
    }
    unsigned char c = (unsigned char)s[at];
    unsigned char c1 = at + 1 < n ? (unsigned char)s[at + 1] : 0;
    switch (c) {
    case '(':
        t->t = T_LP;
        return at + 1;
    case ')':
        t->t = T_RP;
        return at + 1;
    case ',':
        t->t = T_COMMA;
        return at + 1;
    case '=':
        t->t = T_EQ;
        return at + 1;
    case '+':
        t->t = T_PLUS;
        return at + 1;
    case '-':
        t->t = T_MINUS;
        return at + 1;
    case '*':
        t->t = T_STAR;
        return at + 1;
    case '/':
        t->t = T_SLASH;
        return at + 1;
    case '%':
        t->t = T_PCT;
        return at + 1;
    case '!':
        if (c1 == '=') {
            t->t = T_NE;
            t->len = 2;
            return at + 2;
        }
        t->t = T_BANG;
        return at + 1;
    case '<':
        if (c1 == '=' && at + 2 < n && s[at + 2] == '>') {
            t->t = T_NSEQ;
            t->len = 3;
            return at + 3;
        }
        if (c1 == '=' || c1 == '>') {
            t->t = c1 == '=' ? T_LE : T_NE;
            t->len = 2;
            return at + 2;
        }
        t->t = T_LT;
        return at + 1;
    case '>':
        if (c1 == '=') {
            t->t = T_GE;
            t->len = 2;
            return at + 2;
        }
        t->t = T_GT;
        return at + 1;
    case '&':
        if (c1 == '&') {
            t->t = T_ANDAND;
            t->len = 2;
            return at + 2;
        }
        break;
    case '|':
        if (c1 == '|') {
            t->t = T_OROR;
            t->len = 2;
            return at + 2;
        }
        break;
    case '\'':
    case '"': {
        size_t e = at + 1;
        for (;;) {
            if (e >= n) {
                t->t = T_BAD;
                t->len = (uint32_t)(n - at);
                p->lex_why = "unterminated string";
                return n;
            }
            if (s[e] == '\\') {
                e += 2;
                continue;
            }
            if ((unsigned char)s[e] == c) {
                if (e + 1 < n && (unsigned char)s[e + 1] == c) {
                    e += 2;
                    continue;
                }
                break;
            }
            e++;
        }
        t->t = T_STR;
        t->len = (uint32_t)(e + 1 - at);
        return e + 1;
    }
    case '`': {
        size_t e = at + 1;
        for (;;) {
            if (e >= n) {
                t->t = T_BAD;
                t->len = (uint32_t)(n - at);
                p->lex_why = "unterminated `quoted` name";
                return n;
            }
            if (s[e] == '`') {
                if (e + 1 < n && s[e + 1] == '`') {
                    e += 2;
                    continue;
                }
                break;
            }
            e++;
        }
        t->t = T_QIDENT;
        t->len = (uint32_t)(e + 1 - at);
        if (t->len == 2) {
            t->t = T_BAD;
            p->lex_why = "empty `quoted` name";
        }
        return e + 1;
    }
    default:
        break;
    }
    if (is_digit(c) || (c == '.' && is_digit(c1))) {
        size_t e = at;
        while (e < n && is_digit((unsigned char)s[e])) e++;
        if (e < n && s[e] == '.') {
            e++;
            while (e < n && is_digit((unsigned char)s[e])) e++;
        }
        if (e < n && (s[e] == 'e' || s[e] == 'E')) {
            size_t x = e + 1;
            if (x < n && (s[x] == '+' || s[x] == '-')) x++;
            if (x < n && is_digit((unsigned char)s[x])) {
                while (x < n && is_digit((unsigned char)s[x])) x++;
                e = x;
            } else {
                t->t = T_BAD;
                t->len = (uint32_t)(x - at);
                p->lex_why = "malformed number (exponent without digits)";
                return x;
            }
        }
        if (e < n && is_ident_start((unsigned char)s[e])) {
            while (e < n && is_ident_char((unsigned char)s[e])) e++;
            t->t = T_BAD;
            t->len = (uint32_t)(e - at);
            p->lex_why = "malformed number";
            return e;
        }
        t->t = T_NUM;
        t->len = (uint32_t)(e - at);
        return e;
    }
    if (is_ident_start(c)) {
        size_t e = at;
        while (e < n && is_ident_char((unsigned char)s[e])) e++;
        t->t = T_IDENT;
        t->len = (uint32_t)(e - at);
        return e;
    }
    t->t = T_BAD;
    t->len = (uint32_t)utf8_step(s + at, n - at);
    p->lex_why = "unexpected character";
    return at + t->len;
}

static void p_advance(parser *p)
{
    p->next_at = lex(p, p->next_at, &p->cur);
}

/* p_peek2 returns the token after the current one without consuming anything. */
static tok p_peek2(parser *p)
{
    tok t;
    const char *why = p->lex_why;
    lex(p, p->next_at, &t);
    p->lex_why = why;
    return t;
}

static bool tok_kw(const parser *p, const tok *t, const char *word)
{
    return t->t == T_IDENT && ieq(p->s + t->pos, t->len, word);
}

static bool p_kw(const parser *p, const char *word)
{
    return tok_kw(p, &p->cur, word);
}

/* Words that end or continue an expression and never name a column when bare. */
static const char *const reserved_words[] = {
    "AND",  "OR",      "XOR",  "NOT",  "IS",     "NULL",     "TRUE",   "FALSE",
    "IN",   "BETWEEN", "LIKE", "DIV",  "MOD",    "INTERVAL", "REGEXP", "RLIKE",
    "CASE", "WHEN",    "THEN", "ELSE", "SELECT", "FROM",     "WHERE",
};

static bool is_reserved(const parser *p, const tok *t)
{
    if (t->t != T_IDENT) return false;
    for (size_t i = 0; i < sizeof(reserved_words) / sizeof(reserved_words[0]); i++)
        if (ieq(p->s + t->pos, t->len, reserved_words[i])) return true;
    return false;
}

/* where_pos formats a byte offset of text as "column C" or "line L, column
 * C" (1-based, counting UTF-8 characters). */
static void where_pos(const char *text, size_t len, size_t off, char *out, size_t cap)
{
    bool multiline = memchr(text, '\n', len) != NULL;
    size_t line = 1, col = 1;
    if (off > len) off = len;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            col++;
        }
    }
    if (multiline)
        snprintf(out, cap, "line %zu, column %zu", line, col);
    else
        snprintf(out, cap, "column %zu", col);
}

/* tok_describe writes how a token reads in a message: 'AND', end of text. */
static void tok_describe(const parser *p, const tok *t, char *out, size_t cap)
{
    if (t->t == T_END) {
        snprintf(out, cap, "end of text");
        return;
    }
    size_t n = t->len;
    const char *dots = "";
    if (n > 24) {
        n = 24;
        while (n > 0 && ((unsigned char)p->s[t->pos + n] & 0xC0) == 0x80) n--;
        dots = "...";
    }
    if (t->t == T_STR)
        snprintf(out, cap, "%.*s%s", (int)n, p->s + t->pos, dots);
    else
        snprintf(out, cap, "'%.*s%s'", (int)n, p->s + t->pos, dots);
}

/* p_fail records a syntax error at the current token: "expected X, got Y". */
static void *p_fail(parser *p, const char *expected)
{
    if (p->failed) return NULL;
    p->failed = true;
    char at[64], got[80];
    where_pos(p->s, p->len, p->cur.pos, at, sizeof(at));
    if (p->cur.t == T_BAD) {
        tok bad = p->cur;
        char c0 = p->s[bad.pos];
        if (c0 == '\'' || c0 == '"' || c0 == '`' || c0 == '/')
            bad.t = T_STR; /* already quoted: shown as written */
        tok_describe(p, &bad, got, sizeof(got));
        cot_err_set(COT_ERR_CONFIG, "where: syntax error at %s: %s: %s", at, p->lex_why, got);
        return NULL;
    }
    tok_describe(p, &p->cur, got, sizeof(got));
    cot_err_set(COT_ERR_CONFIG, "where: syntax error at %s: %s, got %s", at, expected, got);
    return NULL;
}

/* p_fail_at records a non-syntax compile error (unknown function, ...) at byte pos. */
static void *p_fail_at(parser *p, size_t pos, const char *what)
{
    if (p->failed) return NULL;
    p->failed = true;
    char at[64];
    where_pos(p->s, p->len, pos, at, sizeof(at));
    cot_err_set(COT_ERR_CONFIG, "where: %s at %s", what, at);
    return NULL;
}

static void *p_too_deep(parser *p, size_t pos)
{
    char what[96];
    snprintf(what, sizeof(what), "expression nested deeper than %d levels", ROW_FILTER_MAX_DEPTH);
    return p_fail_at(p, pos, what);
}

/* ------------------------------------------------------------------ */
/* Parser                                                              */
/* ------------------------------------------------------------------ */

static rf_node *node_new(parser *p, uint8_t op, uint32_t pos, uint32_t n_kids)
{
    rf_node *n = arena_calloc(&p->rf->mem, sizeof(*n));
    n->op = op;
    n->pos = pos;
    n->n_kids = n_kids;
    n->esc = -1;
    n->depth = 1;
    if (n_kids) n->kids = arena_calloc(&p->rf->mem, n_kids * sizeof(rf_node *));
    return n;
}

/* node_seal computes the node's depth from its children; false (error set) if too deep. */
static bool node_seal(parser *p, rf_node *n)
{
    unsigned d = 0;
    for (uint32_t i = 0; i < n->n_kids; i++)
        if (n->kids[i]->depth > d) d = n->kids[i]->depth;
    if (d + 1 > ROW_FILTER_MAX_DEPTH) {
        p_too_deep(p, n->pos);
        return false;
    }
    n->depth = (uint8_t)(d + 1);
    return true;
}

static rf_node *node2(parser *p, uint8_t op, uint8_t sub, uint32_t pos, rf_node *a, rf_node *b)
{
    rf_node *n = node_new(p, op, pos, b ? 2 : 1);
    n->sub = sub;
    n->kids[0] = a;
    if (b) n->kids[1] = b;
    return node_seal(p, n) ? n : NULL;
}

/* A growable list of children while a list is parsed (heap, then copied to the arena). */
typedef struct kid_list {
    rf_node **v;
    uint32_t n, cap;
} kid_list;

static void kids_push(kid_list *l, rf_node *n)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = realloc(l->v, l->cap * sizeof(rf_node *));
        if (!l->v) abort();
    }
    l->v[l->n++] = n;
}

static rf_node *node_from_list(parser *p, uint8_t op, uint32_t pos, kid_list *l)
{
    rf_node *n = node_new(p, op, pos, l->n);
    if (l->n) memcpy(n->kids, l->v, l->n * sizeof(rf_node *));
    free(l->v);
    l->v = NULL;
    return node_seal(p, n) ? n : NULL;
}

static rf_node *parse_expr(parser *p);
static rf_node *parse_add(parser *p);
static rf_node *parse_unary(parser *p);

static bool p_enter(parser *p)
{
    if (++p->nest > ROW_FILTER_MAX_DEPTH) {
        p_too_deep(p, p->cur.pos);
        return false;
    }
    return true;
}

static void p_leave(parser *p)
{
    p->nest--;
}

/* col_slot returns the slot of column name (adding it), or UINT32_MAX. */
static uint32_t col_slot(row_filter *rf, const char *name, size_t len, uint32_t pos)
{
    for (uint32_t i = 0; i < rf->n_cols; i++)
        if (ieq(name, len, rf->cols[i].name)) return i;
    if (rf->n_cols == rf->cap_cols) {
        rf->cap_cols = rf->cap_cols ? rf->cap_cols * 2 : 4;
        rf->cols = realloc(rf->cols, rf->cap_cols * sizeof(rf_col));
        if (!rf->cols) abort();
    }
    rf_col *c = &rf->cols[rf->n_cols];
    memset(c, 0, sizeof(*c));
    c->name = arena_strndup(&rf->mem, name, len);
    c->pos = pos;
    return rf->n_cols++;
}

/* lit_string decodes a quoted literal token (MySQL escapes) into the arena. */
static void lit_string(parser *p, const tok *t, rv *out)
{
    const char *s = p->s + t->pos;
    char q = s[0];
    size_t n = t->len;
    char *d = arena_alloc(&p->rf->mem, n + 1);
    size_t o = 0;
    for (size_t i = 1; i + 1 < n; i++) {
        char c = s[i];
        if (c == q && i + 2 < n && s[i + 1] == q) {
            d[o++] = q;
            i++;
        } else if (c == '\\' && i + 2 < n) {
            char e = s[++i];
            switch (e) {
            case '0':
                d[o++] = '\0';
                break;
            case 'b':
                d[o++] = '\b';
                break;
            case 'n':
                d[o++] = '\n';
                break;
            case 'r':
                d[o++] = '\r';
                break;
            case 't':
                d[o++] = '\t';
                break;
            case 'Z':
                d[o++] = '\032';
                break;
            case '%':
            case '_': /* kept escaped so LIKE sees them as literals */
                d[o++] = '\\';
                d[o++] = e;
                break;
            default:
                d[o++] = e;
                break;
            }
        } else {
            d[o++] = c;
        }
    }
    d[o] = '\0';
    out->t = RV_STR;
    out->f = VF_UTF8;
    out->s.p = d;
    out->s.len = o;
}

static rf_node *parse_string_lit(parser *p)
{
    rf_node *n = node_new(p, N_LIT, p->cur.pos, 0);
    lit_string(p, &p->cur, &n->lit);
    p_advance(p);
    /* adjacent literals concatenate: 'a' 'b' is 'ab' */
    while (p->cur.t == T_STR) {
        rv more;
        lit_string(p, &p->cur, &more);
        char *d = arena_alloc(&p->rf->mem, n->lit.s.len + more.s.len + 1);
        memcpy(d, n->lit.s.p, n->lit.s.len);
        memcpy(d + n->lit.s.len, more.s.p, more.s.len);
        d[n->lit.s.len + more.s.len] = '\0';
        n->lit.s.p = d;
        n->lit.s.len += more.s.len;
        p_advance(p);
    }
    return n;
}

static bool lit_is_text(const rf_node *n)
{
    if (n->op != N_LIT || n->lit.t != RV_STR) return false;
    bool whole;
    rv tmp;
    num_from_text(n->lit.s.p, n->lit.s.len, &tmp, &whole);
    return !whole;
}

/* mark_text notes that a column operand is used as text (for the ENUM check at bind). */
static void mark_text(parser *p, const rf_node *n, uint32_t pos)
{
    if (n->op == N_COL && !p->rf->cols[n->slot].text_pos) p->rf->cols[n->slot].text_pos = pos + 1;
}

/* mark_compared marks column operands of a comparison that also has a non-numeric text literal. */
static void mark_compared(parser *p, rf_node *const *kids, uint32_t n, uint32_t pos)
{
    bool text = false;
    for (uint32_t i = 0; i < n; i++) text = text || lit_is_text(kids[i]);
    if (!text) return;
    for (uint32_t i = 0; i < n; i++) mark_text(p, kids[i], pos);
}

typedef struct fn_def {
    const char *name;
    uint8_t id;
    uint8_t min_args, max_args; /* max 255 = any */
    uint8_t text_args;          /* bitmask: arguments read as text (bit 7 = all) */
} fn_def;

static const fn_def fn_table[] = {
    {"LOWER", F_LOWER, 1, 1, 1},
    {"LCASE", F_LOWER, 1, 1, 1},
    {"UPPER", F_UPPER, 1, 1, 1},
    {"UCASE", F_UPPER, 1, 1, 1},
    {"LENGTH", F_LENGTH, 1, 1, 1},
    {"OCTET_LENGTH", F_LENGTH, 1, 1, 1},
    {"CHAR_LENGTH", F_CHAR_LENGTH, 1, 1, 1},
    {"CHARACTER_LENGTH", F_CHAR_LENGTH, 1, 1, 1},
    {"CONCAT", F_CONCAT, 1, 255, 0x80},
    {"FIND_IN_SET", F_FIND_IN_SET, 2, 2, 3},
    {"SUBSTRING", F_SUBSTRING, 2, 3, 1},
    {"SUBSTR", F_SUBSTRING, 2, 3, 1},
    {"TRIM", F_TRIM, 1, 1, 1},
    {"LTRIM", F_LTRIM, 1, 1, 1},
    {"RTRIM", F_RTRIM, 1, 1, 1},
    {"COALESCE", F_COALESCE, 1, 255, 0},
    {"IFNULL", F_IFNULL, 2, 2, 0},
    {"NULLIF", F_NULLIF, 2, 2, 0},
    {"IF", F_IF, 3, 3, 0},
    {"ABS", F_ABS, 1, 1, 0},
    {"ROUND", F_ROUND, 1, 2, 0},
    {"FLOOR", F_FLOOR, 1, 1, 0},
    {"CEIL", F_CEIL, 1, 1, 0},
    {"CEILING", F_CEIL, 1, 1, 0},
    {"MOD", F_MOD, 2, 2, 0},
    {"NOW", F_NOW, 0, 0, 0},
    {"CURRENT_TIMESTAMP", F_NOW, 0, 0, 0},
    {"CURDATE", F_CURDATE, 0, 0, 0},
    {"CURRENT_DATE", F_CURDATE, 0, 0, 0},
    {"DATE", F_DATE, 1, 1, 0},
    {"YEAR", F_YEAR, 1, 1, 0},
    {"MONTH", F_MONTH, 1, 1, 0},
    {"DAY", F_DAY, 1, 1, 0},
    {"DAYOFMONTH", F_DAY, 1, 1, 0},
    {"HOUR", F_HOUR, 1, 1, 0},
    {"MINUTE", F_MINUTE, 1, 1, 0},
    {"SECOND", F_SECOND, 1, 1, 0},
    {"DATE_ADD", F_DATE_ADD, 2, 2, 0},
    {"ADDDATE", F_DATE_ADD, 2, 2, 0},
    {"DATE_SUB", F_DATE_SUB, 2, 2, 0},
    {"SUBDATE", F_DATE_SUB, 2, 2, 0},
};

static const fn_def *fn_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(fn_table) / sizeof(fn_table[0]); i++)
        if (ieq(name, len, fn_table[i].name)) return &fn_table[i];
    return NULL;
}

static const struct {
    const char *name;
    uint8_t unit;
} unit_table[] = {
    {"SECOND", U_SECOND}, {"MINUTE", U_MINUTE}, {"HOUR", U_HOUR},       {"DAY", U_DAY},
    {"WEEK", U_WEEK},     {"MONTH", U_MONTH},   {"QUARTER", U_QUARTER}, {"YEAR", U_YEAR},
};

/* parse_interval parses "INTERVAL n unit" (INTERVAL is current); sets *unit. */
static rf_node *parse_interval(parser *p, uint8_t *unit)
{
    p_advance(p); /* INTERVAL */
    rf_node *n = parse_add(p);
    if (!n) return NULL;
    for (size_t i = 0; i < sizeof(unit_table) / sizeof(unit_table[0]); i++) {
        if (p_kw(p, unit_table[i].name)) {
            *unit = unit_table[i].unit;
            p_advance(p);
            return n;
        }
    }
    return p_fail(p, "expected an interval unit (SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, "
                     "QUARTER or YEAR)");
}

/* parse_call parses a function call; the name is current and '(' follows. */
static rf_node *parse_call(parser *p)
{
    tok name = p->cur;
    const fn_def *fd = fn_find(p->s + name.pos, name.len);
    if (!fd) {
        char what[128];
        snprintf(what, sizeof(what), "unknown function '%.*s'",
                 (int)(name.len > 64 ? 64 : name.len), p->s + name.pos);
        return p_fail_at(p, name.pos, what);
    }
    p_advance(p); /* name */
    p_advance(p); /* ( */
    if (!p_enter(p)) return NULL;
    kid_list args = {0};
    uint8_t unit = U_DAY;
    bool interval = false;
    if (p->cur.t != T_RP) {
        for (;;) {
            rf_node *a;
            if ((fd->id == F_DATE_ADD || fd->id == F_DATE_SUB) && args.n == 1 &&
                p_kw(p, "INTERVAL")) {
                a = parse_interval(p, &unit);
                interval = true;
            } else {
                a = parse_expr(p);
            }
            if (!a) {
                free(args.v);
                return NULL;
            }
            kids_push(&args, a);
            if (p->cur.t == T_COMMA) {
                p_advance(p);
                continue;
            }
            if (p->cur.t == T_RP) break;
            free(args.v);
            char what[96];
            snprintf(what, sizeof(what), "expected ',' or ')' in the arguments of %s()", fd->name);
            return p_fail(p, what);
        }
    }
    p_advance(p); /* ) */
    p_leave(p);
    if (args.n < fd->min_args || (fd->max_args != 255 && args.n > fd->max_args)) {
        char what[128];
        if (fd->min_args == fd->max_args)
            snprintf(what, sizeof(what), "%s() takes %u argument%s, got %u", fd->name, fd->min_args,
                     fd->min_args == 1 ? "" : "s", args.n);
        else if (fd->max_args == 255)
            snprintf(what, sizeof(what), "%s() takes at least %u argument%s, got %u", fd->name,
                     fd->min_args, fd->min_args == 1 ? "" : "s", args.n);
        else
            snprintf(what, sizeof(what), "%s() takes %u to %u arguments, got %u", fd->name,
                     fd->min_args, fd->max_args, args.n);
        free(args.v);
        return p_fail_at(p, name.pos, what);
    }
    if (fd->id == F_DATE_ADD || fd->id == F_DATE_SUB) {
        if (!interval && (ieq(fd->name, strlen(fd->name), "DATE_ADD") ||
                          ieq(fd->name, strlen(fd->name), "DATE_SUB"))) {
            free(args.v);
            char what[96];
            snprintf(what, sizeof(what), "%s() needs INTERVAL n unit as its second argument",
                     fd->name);
            return p_fail_at(p, name.pos, what);
        }
        rf_node *n = node2(p, N_DATE_ADD, unit, name.pos, args.v[0], args.v[1]);
        free(args.v);
        if (n) n->neg = fd->id == F_DATE_SUB;
        return n;
    }
    for (uint32_t i = 0; i < args.n; i++)
        if ((fd->text_args & 0x80) || (i < 7 && (fd->text_args & (1u << i))))
            mark_text(p, args.v[i], name.pos);
    rf_node *n = node_from_list(p, N_FUNC, name.pos, &args);
    if (n) n->sub = fd->id;
    return n;
}

static rf_node *parse_primary(parser *p)
{
    tok t = p->cur;
    switch (t.t) {
    case T_NUM: {
        rf_node *n = node_new(p, N_LIT, t.pos, 0);
        bool whole;
        num_from_text(p->s + t.pos, t.len, &n->lit, &whole);
        if (memchr(p->s + t.pos, 'e', t.len) || memchr(p->s + t.pos, 'E', t.len)) {
            /* an exponent makes a double, as in MySQL */
            if (n->lit.t == RV_NUM) {
                double r = num_dbl(&n->lit);
                n->lit.t = RV_REAL;
                n->lit.r = r;
            }
        }
        p_advance(p);
        return n;
    }
    case T_STR:
        return parse_string_lit(p);
    case T_LP: {
        if (!p_enter(p)) return NULL;
        p_advance(p);
        rf_node *n = parse_expr(p);
        if (!n) return NULL;
        if (p->cur.t != T_RP) {
            char what[128], at[64];
            where_pos(p->s, p->len, t.pos, at, sizeof(at));
            snprintf(what, sizeof(what), "expected ')' to close the '(' at %s", at);
            return p_fail(p, what);
        }
        p_advance(p);
        p_leave(p);
        return n;
    }
    case T_QIDENT: {
        /* `name` with `` for a backquote */
        char tmp[256];
        size_t o = 0;
        const char *s = p->s + t.pos;
        for (size_t i = 1; i + 1 < t.len && o < sizeof(tmp) - 1; i++) {
            tmp[o++] = s[i];
            if (s[i] == '`') i++;
        }
        if (t.len - 2 > 192) return p_fail_at(p, t.pos, "column name too long");
        rf_node *n = node_new(p, N_COL, t.pos, 0);
        n->slot = col_slot(p->rf, tmp, o, t.pos);
        p_advance(p);
        return n;
    }
    case T_IDENT: {
        if (p_kw(p, "NULL") || p_kw(p, "TRUE") || p_kw(p, "FALSE")) {
            rf_node *n = node_new(p, N_LIT, t.pos, 0);
            if (!p_kw(p, "NULL")) {
                n->lit.t = RV_NUM;
                n->lit.m = p_kw(p, "TRUE") ? 1 : 0;
            }
            p_advance(p);
            return n;
        }
        if (p_kw(p, "INTERVAL")) {
            /* INTERVAL n unit + date */
            uint8_t unit = U_DAY;
            rf_node *amount = parse_interval(p, &unit);
            if (!amount) return NULL;
            if (p->cur.t != T_PLUS) return p_fail(p, "expected '+' after INTERVAL n unit");
            p_advance(p);
            rf_node *date = parse_unary(p);
            if (!date) return NULL;
            return node2(p, N_DATE_ADD, unit, t.pos, date, amount);
        }
        if (p_kw(p, "CURRENT_TIMESTAMP") || p_kw(p, "CURRENT_DATE")) {
            tok nx = p_peek2(p);
            if (nx.t != T_LP) {
                rf_node *n = node_new(p, N_FUNC, t.pos, 0);
                n->sub = p_kw(p, "CURRENT_DATE") ? F_CURDATE : F_NOW;
                p_advance(p);
                return n;
            }
        }
        tok nx = p_peek2(p);
        if (nx.t == T_LP && !p_kw(p, "IN")) return parse_call(p);
        if (is_reserved(p, &t)) return p_fail(p, "expected an expression");
        if (t.len > 192) return p_fail_at(p, t.pos, "column name too long");
        rf_node *n = node_new(p, N_COL, t.pos, 0);
        n->slot = col_slot(p->rf, p->s + t.pos, t.len, t.pos);
        p_advance(p);
        return n;
    }
    default:
        return p_fail(p, "expected an expression");
    }
}

/* lit_negate folds unary minus into a numeric literal. */
static bool lit_negate(rf_node *n)
{
    if (n->op != N_LIT) return false;
    if (n->lit.t == RV_NUM)
        n->lit.m = -n->lit.m;
    else if (n->lit.t == RV_REAL)
        n->lit.r = -n->lit.r;
    else
        return false;
    return true;
}

static rf_node *parse_unary(parser *p)
{
    tok t = p->cur;
    if (t.t == T_MINUS || t.t == T_PLUS || t.t == T_BANG) {
        if (!p_enter(p)) return NULL;
        p_advance(p);
        rf_node *a = parse_unary(p);
        p_leave(p);
        if (!a) return NULL;
        if (t.t == T_PLUS) return a;
        if (t.t == T_MINUS) {
            if (lit_negate(a)) return a;
            return node2(p, N_NEG, 0, t.pos, a, NULL);
        }
        return node2(p, N_NOT, 0, t.pos, a, NULL);
    }
    return parse_primary(p);
}

static rf_node *parse_mul(parser *p)
{
    rf_node *l = parse_unary(p);
    while (l) {
        tok t = p->cur;
        uint8_t op;
        if (t.t == T_STAR)
            op = A_MUL;
        else if (t.t == T_SLASH)
            op = A_DIV;
        else if (t.t == T_PCT || p_kw(p, "MOD"))
            op = A_MOD;
        else if (p_kw(p, "DIV"))
            op = A_IDIV;
        else
            break;
        p_advance(p);
        rf_node *r = parse_unary(p);
        if (!r) return NULL;
        l = node2(p, N_ARITH, op, t.pos, l, r);
    }
    return l;
}

static rf_node *parse_add(parser *p)
{
    rf_node *l = parse_mul(p);
    while (l) {
        tok t = p->cur;
        if (t.t != T_PLUS && t.t != T_MINUS) break;
        p_advance(p);
        if (p_kw(p, "INTERVAL")) {
            uint8_t unit = U_DAY;
            rf_node *amount = parse_interval(p, &unit);
            if (!amount) return NULL;
            l = node2(p, N_DATE_ADD, unit, t.pos, l, amount);
            if (l) l->neg = t.t == T_MINUS;
            continue;
        }
        rf_node *r = parse_mul(p);
        if (!r) return NULL;
        l = node2(p, N_ARITH, t.t == T_PLUS ? A_ADD : A_SUB, t.pos, l, r);
    }
    return l;
}

/* parse_pred parses an operand with an optional [NOT] IN / BETWEEN / LIKE. */
static rf_node *parse_pred(parser *p)
{
    rf_node *x = parse_add(p);
    if (!x) return NULL;
    tok t = p->cur;
    bool neg = false;
    if (p_kw(p, "NOT")) {
        tok nx = p_peek2(p);
        if (!tok_kw(p, &nx, "IN") && !tok_kw(p, &nx, "BETWEEN") && !tok_kw(p, &nx, "LIKE")) {
            p_advance(p);
            return p_fail(p, "expected IN, BETWEEN or LIKE after NOT");
        }
        neg = true;
        p_advance(p);
    }
    if (p_kw(p, "IN")) {
        p_advance(p);
        if (p->cur.t != T_LP) return p_fail(p, "expected '(' after IN");
        if (!p_enter(p)) return NULL;
        p_advance(p);
        kid_list l = {0};
        kids_push(&l, x);
        for (;;) {
            rf_node *e = parse_expr(p);
            if (!e) {
                free(l.v);
                return NULL;
            }
            kids_push(&l, e);
            if (p->cur.t == T_COMMA) {
                p_advance(p);
                continue;
            }
            if (p->cur.t == T_RP) break;
            free(l.v);
            return p_fail(p, "expected ',' or ')' in IN list");
        }
        p_advance(p);
        p_leave(p);
        mark_compared(p, l.v, l.n, t.pos);
        rf_node *n = node_from_list(p, N_IN, t.pos, &l);
        if (n) n->neg = neg;
        return n;
    }
    if (p_kw(p, "BETWEEN")) {
        p_advance(p);
        rf_node *lo = parse_add(p);
        if (!lo) return NULL;
        if (!p_kw(p, "AND")) return p_fail(p, "expected AND in BETWEEN ... AND ...");
        p_advance(p);
        rf_node *hi = parse_add(p);
        if (!hi) return NULL;
        rf_node *n = node_new(p, N_BETWEEN, t.pos, 3);
        n->kids[0] = x;
        n->kids[1] = lo;
        n->kids[2] = hi;
        n->neg = neg;
        mark_compared(p, n->kids, 3, t.pos);
        return node_seal(p, n) ? n : NULL;
    }
    if (p_kw(p, "LIKE")) {
        p_advance(p);
        rf_node *pat = parse_add(p);
        if (!pat) return NULL;
        int esc = '\\';
        if (p_kw(p, "ESCAPE")) {
            p_advance(p);
            if (p->cur.t != T_STR) return p_fail(p, "expected a one-character string after ESCAPE");
            rv e;
            lit_string(p, &p->cur, &e);
            if (e.s.len > 1 || (e.s.len == 1 && (unsigned char)e.s.p[0] >= 0x80))
                return p_fail_at(p, p->cur.pos, "ESCAPE takes one ASCII character");
            esc = e.s.len ? (unsigned char)e.s.p[0] : -1;
            p_advance(p);
        }
        rf_node *n = node2(p, N_LIKE, 0, t.pos, x, pat);
        if (n) {
            n->esc = esc;
            n->neg = neg;
            mark_text(p, x, t.pos);
        }
        return n;
    }
    return x;
}

static rf_node *parse_cmp(parser *p)
{
    rf_node *l = parse_pred(p);
    while (l) {
        tok t = p->cur;
        int op = -1;
        switch (t.t) {
        case T_EQ:
            op = C_EQ;
            break;
        case T_NE:
            op = C_NE;
            break;
        case T_LT:
            op = C_LT;
            break;
        case T_LE:
            op = C_LE;
            break;
        case T_GT:
            op = C_GT;
            break;
        case T_GE:
            op = C_GE;
            break;
        case T_NSEQ:
            op = C_NSEQ;
            break;
        default:
            break;
        }
        if (op >= 0) {
            p_advance(p);
            rf_node *r = parse_pred(p);
            if (!r) return NULL;
            l = node2(p, N_CMP, (uint8_t)op, t.pos, l, r);
            if (l) mark_compared(p, l->kids, 2, t.pos);
            continue;
        }
        if (p_kw(p, "IS")) {
            p_advance(p);
            bool neg = false;
            if (p_kw(p, "NOT")) {
                neg = true;
                p_advance(p);
            }
            uint8_t what;
            if (p_kw(p, "NULL"))
                what = IS_NULL;
            else if (p_kw(p, "TRUE"))
                what = IS_TRUE;
            else if (p_kw(p, "FALSE"))
                what = IS_FALSE;
            else if (p_kw(p, "UNKNOWN"))
                what = IS_UNKNOWN;
            else
                return p_fail(p, neg ? "expected NULL, TRUE, FALSE or UNKNOWN after IS NOT"
                                     : "expected NULL, TRUE, FALSE or UNKNOWN after IS");
            p_advance(p);
            l = node2(p, N_IS, what, t.pos, l, NULL);
            if (l) l->neg = neg;
            continue;
        }
        break;
    }
    return l;
}

static rf_node *parse_not(parser *p)
{
    if (p_kw(p, "NOT")) {
        tok t = p->cur;
        if (!p_enter(p)) return NULL;
        p_advance(p);
        rf_node *a = parse_not(p);
        p_leave(p);
        if (!a) return NULL;
        return node2(p, N_NOT, 0, t.pos, a, NULL);
    }
    return parse_cmp(p);
}

/* parse_chain parses a flat n-ary chain of one logical operator. */
static rf_node *parse_chain(parser *p, uint8_t op, rf_node *(*sub)(parser *), const char *kw,
                            uint8_t sym)
{
    uint32_t pos = p->cur.pos;
    rf_node *first = sub(p);
    if (!first) return NULL;
    if (!p_kw(p, kw) && !(sym && p->cur.t == sym)) return first;
    kid_list l = {0};
    kids_push(&l, first);
    while (p_kw(p, kw) || (sym && p->cur.t == sym)) {
        p_advance(p);
        rf_node *n = sub(p);
        if (!n) {
            free(l.v);
            return NULL;
        }
        kids_push(&l, n);
    }
    return node_from_list(p, op, pos, &l);
}

static rf_node *parse_and(parser *p)
{
    return parse_chain(p, N_AND, parse_not, "AND", T_ANDAND);
}

static rf_node *parse_xor(parser *p)
{
    rf_node *l = parse_and(p);
    while (l && p_kw(p, "XOR")) {
        uint32_t pos = p->cur.pos;
        p_advance(p);
        rf_node *r = parse_and(p);
        if (!r) return NULL;
        l = node2(p, N_XOR, 0, pos, l, r);
    }
    return l;
}

static rf_node *parse_expr(parser *p)
{
    return parse_chain(p, N_OR, parse_xor, "OR", T_OROR);
}

/* ------------------------------------------------------------------ */
/* Compile, bind, free                                                 */
/* ------------------------------------------------------------------ */

cot_err row_filter_compile(const char *expr, const cot_table *tbl, unsigned flags, row_filter **out)
{
    *out = NULL;
    if (!expr) return cot_err_set(COT_ERR_CONFIG, "where: no expression given");
    size_t len = strlen(expr);
    if (len > ROW_FILTER_MAX_LEN)
        return cot_err_set(COT_ERR_CONFIG,
                           "where: expression is %zu bytes long, more than the %d accepted", len,
                           ROW_FILTER_MAX_LEN);
    row_filter *rf = calloc(1, sizeof(*rf));
    if (!rf) abort();
    rf->text = strdup(expr);
    if (!rf->text) abort();
    rf->flags = flags;
    arena_init(&rf->mem);
    parser p = {.s = rf->text, .len = len, .rf = rf};
    p_advance(&p);
    if (p.cur.t == T_END) {
        row_filter_free(rf);
        return cot_err_set(COT_ERR_CONFIG, "where: empty expression");
    }
    rf->root = parse_expr(&p);
    if (rf->root && p.cur.t != T_END) p_fail(&p, "expected AND, OR or the end of the expression");
    if (p.failed || !rf->root) {
        row_filter_free(rf);
        return COT_ERR_CONFIG;
    }
    if (tbl) {
        cot_err rc = row_filter_bind(rf, tbl);
        if (rc != COT_OK) {
            /* a bind error at config load is a config error; keep its message */
            char msg[1024];
            snprintf(msg, sizeof(msg), "%s", cot_err_msg());
            row_filter_free(rf);
            return cot_err_set(COT_ERR_CONFIG, "%s", msg);
        }
    }
    *out = rf;
    return COT_OK;
}

/* column_is_enum says whether a TABLE_MAP column is an ENUM or SET. */
static bool column_is_enum(const cot_column *col)
{
    if (col->type == CT_ENUM || col->type == CT_SET) return true;
    if (col->type == CT_STRING) {
        unsigned rt = col->meta >> 8;
        return rt == CT_ENUM || rt == CT_SET;
    }
    return false;
}

static uint8_t column_vflags(const cot_column *col)
{
    if (col->collation == COT_COLLATION_BINARY) return VF_BINARY;
    const char *cs = col->charset;
    if (!cs) return VF_UTF8;
    if (strcmp(cs, "binary") == 0) return VF_BINARY;
    if (strncmp(cs, "utf8", 4) == 0 || strcmp(cs, "ascii") == 0) return VF_UTF8;
    return 0;
}

cot_err row_filter_bind(row_filter *rf, const cot_table *tbl)
{
    rf->bound = false;
    const char *sch = tbl->src_schema ? tbl->src_schema : tbl->schema;
    const char *name = tbl->src_name ? tbl->src_name : tbl->name;
    if (rf->n_cols && !tbl->has_names)
        return cot_err_set(COT_ERR_SCHEMA,
                           "where: table %s.%s has no column names to resolve '%s' (set "
                           "binlog_row_metadata=FULL on the source or let cotter read "
                           "information_schema)",
                           sch ? sch : "?", name ? name : "?", rf->cols[0].name);
    uint32_t *idx = calloc(rf->n_cols ? rf->n_cols : 1, sizeof(uint32_t));
    uint8_t *vf = calloc(rf->n_cols ? rf->n_cols : 1, 1);
    if (!idx || !vf) abort();
    for (uint32_t i = 0; i < rf->n_cols; i++) {
        rf_col *c = &rf->cols[i];
        uint32_t j = 0;
        for (; j < tbl->n_cols; j++)
            if (tbl->cols[j].name && ieq(c->name, strlen(c->name), tbl->cols[j].name)) break;
        char at[64];
        if (j == tbl->n_cols) {
            where_pos(rf->text, strlen(rf->text), c->pos, at, sizeof(at));
            buf names;
            buf_init(&names);
            for (uint32_t k = 0; k < tbl->n_cols && names.len < 300; k++)
                buf_printf(&names, "%s%s", k ? ", " : "", tbl->cols[k].name);
            if (names.len >= 300) buf_puts(&names, ", ...");
            cot_err_set(COT_ERR_SCHEMA, "where: unknown column '%s' at %s; table %s.%s has: %s",
                        c->name, at, sch ? sch : "?", name ? name : "?",
                        names.data ? names.data : "");
            buf_deinit(&names);
            free(idx);
            free(vf);
            return COT_ERR_SCHEMA;
        }
        if (column_is_enum(&tbl->cols[j]) && c->text_pos && !tbl->cols[j].members) {
            where_pos(rf->text, strlen(rf->text), c->text_pos - 1, at, sizeof(at));
            cot_err_set(COT_ERR_UNSUPPORTED,
                        "where: column '%s' of %s.%s is an ENUM/SET used as text at %s, but its "
                        "member names are unknown: set binlog_row_metadata=FULL on the source, "
                        "or grant cotter's source user SELECT on the table so it can read "
                        "information_schema.COLUMNS (or compare with the member's 1-based index "
                        "(ENUM) or bitmask (SET))",
                        c->name, sch ? sch : "?", name ? name : "?", at);
            free(idx);
            free(vf);
            return COT_ERR_UNSUPPORTED;
        }
        idx[i] = j;
        vf[i] = column_vflags(&tbl->cols[j]);
    }
    for (uint32_t i = 0; i < rf->n_cols; i++) {
        const cot_column *tc = &tbl->cols[idx[i]];
        bool en = column_is_enum(tc) && tc->members;
        rf->cols[i].idx = idx[i];
        rf->cols[i].vflags = vf[i];
        rf->cols[i].members = en ? tc->members : NULL;
        rf->cols[i].n_members = en ? tc->n_members : 0;
    }
    free(idx);
    free(vf);
    rf->bound = true;
    return COT_OK;
}

bool row_filter_uses_column(const row_filter *rf, uint32_t col)
{
    if (!rf || !rf->bound) return false;
    for (uint32_t i = 0; i < rf->n_cols; i++)
        if (rf->cols[i].idx == col) return true;
    return false;
}

const char *row_filter_text(const row_filter *rf)
{
    return rf ? rf->text : "";
}

void row_filter_free(row_filter *rf)
{
    if (!rf) return;
    arena_deinit(&rf->mem);
    free(rf->cols);
    free(rf->text);
    free(rf);
}

/* ------------------------------------------------------------------ */
/* Scratch memory for intermediate text (per thread, per evaluation)   */
/* ------------------------------------------------------------------ */

#define SCRATCH_INLINE 4096
#define SCRATCH_CAP    (16u << 20)

typedef struct scratch_blk {
    struct scratch_blk *next;
    _Alignas(16) char data[]; /* 16-aligned like the inline part: holds rv arrays too */
} scratch_blk;

static _Thread_local char scratch_inline[SCRATCH_INLINE] __attribute__((aligned(16)));
static _Thread_local size_t scratch_used; /* bytes of scratch_inline handed out */
static _Thread_local size_t scratch_big;  /* bytes in heap blocks */
static _Thread_local scratch_blk *scratch_blocks;

/* scratch_alloc returns n bytes that live until the evaluation ends, or
 * NULL (error set) past the cap. */
static void *scratch_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n <= SCRATCH_INLINE - scratch_used) {
        char *r = scratch_inline + scratch_used;
        scratch_used += n;
        return r;
    }
    if (n > SCRATCH_CAP - scratch_big) {
        cot_err_set(COT_ERR_UNSUPPORTED,
                    "where: intermediate text of one evaluation exceeds %u MiB; simplify the "
                    "filter or keep large columns out of string functions",
                    SCRATCH_CAP >> 20);
        return NULL;
    }
    scratch_blk *b = malloc(sizeof(*b) + n);
    if (!b) abort();
    b->next = scratch_blocks;
    scratch_blocks = b;
    scratch_big += n;
    return b->data;
}

static void scratch_release(void)
{
    while (scratch_blocks) {
        scratch_blk *b = scratch_blocks;
        scratch_blocks = b->next;
        free(b);
    }
    scratch_used = 0;
    scratch_big = 0;
}

/* ------------------------------------------------------------------ */
/* Value helpers                                                       */
/* ------------------------------------------------------------------ */

typedef struct ectx {
    const row_filter *rf;
    const cot_value *row;
    int64_t now;     /* NOW() in UTC seconds */
    bool now_known;  /* false: read the clock on first use */
    bool now_null;   /* NOW() and CURDATE() are NULL (row_filter_eval_timeless) */
    uint32_t absent; /* slot of the last column found absent */
} ectx;

static inline void rv_null(rv *v)
{
    v->t = RV_NULL;
    v->f = 0;
}

static inline void rv_int(rv *v, i128 m)
{
    v->t = RV_NUM;
    v->f = 0;
    v->scale = 0;
    v->m = m;
}

static inline void rv_bool(rv *v, bool b)
{
    rv_int(v, b ? 1 : 0);
}

static inline void rv_real(rv *v, double r)
{
    v->t = RV_REAL;
    v->f = 0;
    v->r = r;
}

static inline void rv_text(rv *v, const char *p, size_t len, uint8_t f)
{
    v->t = RV_STR;
    v->f = f;
    v->s.p = p;
    v->s.len = len;
}

/* set_exact stores m / 10^scale; false when it does not fit the exact range. */
static bool set_exact(rv *out, i128 m, unsigned scale)
{
    if (scale > MAX_SCALE || m >= MANT_LIMIT || m <= -MANT_LIMIT) return false;
    out->t = RV_NUM;
    out->f = 0;
    out->scale = (uint8_t)scale;
    out->m = m;
    return true;
}

/* scale_up multiplies *m by 10^d; false on overflow. */
static bool scale_up(i128 *m, unsigned d)
{
    if (d == 0) return true;
    if (d > MAX_SCALE) return *m == 0;
    return !__builtin_mul_overflow(*m, POW10[d], m);
}

/* Dates and times ---------------------------------------------------- */

enum tkind { TK_DATE = 1, TK_DATETIME, TK_TIME };

typedef struct tval {
    uint8_t kind; /* tkind */
    uint8_t fsp;  /* digits of the fraction as written */
    bool neg;     /* TIME only */
    int year, mon, day, hour, min, sec, usec;
} tval;

/* read_digits reads between 1 and max digits at s[*i]; -1 if none. */
static long read_digits(const char *s, size_t len, size_t *i, unsigned max, unsigned *count)
{
    long v = 0;
    unsigned n = 0;
    while (*i < len && n < max && is_digit((unsigned char)s[*i])) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        n++;
    }
    if (count) *count = n;
    return n ? v : -1;
}

/* read_frac reads ".ffffff" (up to 6 digits) into usec/fsp; false if malformed. */
static bool read_frac(const char *s, size_t len, size_t *i, tval *t)
{
    if (*i >= len || s[*i] != '.') return true;
    (*i)++;
    unsigned n;
    long f = read_digits(s, len, i, 6, &n);
    if (f < 0) return false;
    t->fsp = (uint8_t)n;
    for (unsigned k = n; k < 6; k++) f *= 10;
    t->usec = (int)f;
    return true;
}

/* tparse reads a date ("YYYY-MM-DD"), a datetime ("YYYY-MM-DD HH:MM[:SS][.f]",
 * also with 'T') or a time ("[-]H[HH]:MM[:SS][.f]"); zero dates are allowed.
 * Returns false when the text is none of these. */
static bool tparse(const char *s, size_t len, tval *t)
{
    memset(t, 0, sizeof(*t));
    size_t i = 0;
    while (i < len && is_space((unsigned char)s[i])) i++;
    while (len > i && is_space((unsigned char)s[len - 1])) len--;
    unsigned n;
    size_t start = i;
    long a = read_digits(s, len, &i, 5, &n);
    if (a < 0 && !(i < len && s[i] == '-')) return false;
    if (a >= 0 && n == 4 && i < len && s[i] == '-') {
        i++;
        long mo = read_digits(s, len, &i, 2, NULL);
        if (mo < 0 || i >= len || s[i] != '-') return false;
        i++;
        long d = read_digits(s, len, &i, 2, NULL);
        if (d < 0 || mo > 12 || d > 31) return false;
        t->year = (int)a;
        t->mon = (int)mo;
        t->day = (int)d;
        if (i == len) {
            t->kind = TK_DATE;
            return true;
        }
        if (s[i] != ' ' && s[i] != 'T') return false;
        i++;
        long h = read_digits(s, len, &i, 2, NULL);
        if (h < 0 || i >= len || s[i] != ':') return false;
        i++;
        long mi = read_digits(s, len, &i, 2, NULL);
        if (mi < 0) return false;
        long se = 0;
        if (i < len && s[i] == ':') {
            i++;
            se = read_digits(s, len, &i, 2, NULL);
            if (se < 0) return false;
        }
        if (h > 23 || mi > 59 || se > 59) return false;
        t->hour = (int)h;
        t->min = (int)mi;
        t->sec = (int)se;
        if (!read_frac(s, len, &i, t) || i != len) return false;
        t->kind = TK_DATETIME;
        return true;
    }
    /* a time */
    i = start;
    if (i < len && s[i] == '-') {
        t->neg = true;
        i++;
    }
    long h = read_digits(s, len, &i, 3, NULL);
    if (h < 0 || h > 838 || i >= len || s[i] != ':') return false;
    i++;
    long mi = read_digits(s, len, &i, 2, &n);
    if (mi < 0 || n != 2 || mi > 59) return false;
    long se = 0;
    if (i < len && s[i] == ':') {
        i++;
        se = read_digits(s, len, &i, 2, &n);
        if (se < 0 || n != 2 || se > 59) return false;
    }
    t->hour = (int)h;
    t->min = (int)mi;
    t->sec = (int)se;
    if (!read_frac(s, len, &i, t) || i != len) return false;
    t->kind = TK_TIME;
    return true;
}

/* tkey orders temporals of one family: dates/datetimes, or times. */
static int64_t tkey(const tval *t)
{
    if (t->kind == TK_TIME) {
        int64_t k = (((int64_t)t->hour * 60 + t->min) * 60 + t->sec) * 1000000 + t->usec;
        return t->neg ? -k : k;
    }
    int64_t k = ((int64_t)t->year * 13 + t->mon) * 32 + t->day;
    k = ((k * 24 + t->hour) * 60 + t->min) * 60 + t->sec;
    return k * 1000000 + t->usec;
}

/* tnumber gives a temporal's numeric form: YYYYMMDD, YYYYMMDDhhmmss[.f], hhmmss[.f]. */
static void tnumber(const tval *t, rv *out)
{
    i128 m;
    if (t->kind == TK_DATE) {
        m = (i128)t->year * 10000 + t->mon * 100 + t->day;
    } else if (t->kind == TK_DATETIME) {
        m = (i128)t->year * 10000000000LL + (i128)t->mon * 100000000 + (i128)t->day * 1000000 +
            t->hour * 10000 + t->min * 100 + t->sec;
    } else {
        m = (i128)t->hour * 10000 + t->min * 100 + t->sec;
    }
    unsigned scale = 0;
    if (t->kind != TK_DATE && t->fsp) {
        scale = t->fsp;
        m = m * POW10[scale] + t->usec / (int)POW10[6 - scale];
    }
    if (t->neg) m = -m;
    set_exact(out, m, scale);
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
    return dim[m - 1];
}

/* tformat renders a date or datetime into scratch as temporal text. */
static int tformat(const tval *t, rv *out)
{
    char tmp[40];
    int n;
    if (t->kind == TK_DATE)
        n = snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d", t->year, t->mon, t->day);
    else
        n = snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d %02d:%02d:%02d", t->year, t->mon, t->day,
                     t->hour, t->min, t->sec);
    if (t->kind == TK_DATETIME && t->fsp) {
        char frac[8];
        snprintf(frac, sizeof(frac), "%06d", t->usec);
        n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, ".%.*s", (int)t->fsp, frac);
    }
    char *d = scratch_alloc((size_t)n);
    if (!d) return -1;
    memcpy(d, tmp, (size_t)n);
    rv_text(out, d, (size_t)n, VF_TEMPORAL | VF_UTF8);
    return 0;
}

/* Conversions ------------------------------------------------------- */

/* to_num converts a non-NULL value to a number (text read like MySQL does). */
static void to_num(const rv *v, rv *out)
{
    if (v->t != RV_STR) {
        *out = *v;
        return;
    }
    if (v->f & VF_TEMPORAL) {
        tval t;
        if (tparse(v->s.p, v->s.len, &t)) {
            tnumber(&t, out);
            return;
        }
    }
    num_from_text(v->s.p, v->s.len, out, NULL);
}

/* truth gives a value's truth: 1, 0, or -1 for NULL. */
static int truth(const rv *v)
{
    if (v->t == RV_NUM) return v->m != 0;
    if (v->t == RV_NULL) return -1;
    rv x;
    to_num(v, &x);
    if (x.t == RV_NUM) return x.m != 0;
    return x.r != 0;
}

static int err_enum_text(const rv *v)
{
    cot_err_set(COT_ERR_UNSUPPORTED,
                "where: ENUM/SET column '%s' is compared with or used as text, but its member "
                "names are unknown: set binlog_row_metadata=FULL on the source, or grant cotter's "
                "source user SELECT on the table so it can read information_schema.COLUMNS (or "
                "compare with the member's 1-based index (ENUM) or bitmask (SET))",
                v->ec ? v->ec->name : "?");
    return -1;
}

/* enum_text gives an ENUM value's member name or a SET value's comma-joined
 * member names (in definition order; SET text is in scratch) as text with the
 * column's charset flags. -1 when the names are unknown or the value has a
 * member the names do not cover (the table changed under a stale list). */
static int enum_text(const rv *v, rv *out)
{
    const rf_col *col = v->ec;
    if (!col || !col->members) return err_enum_text(v);
    uint8_t f = col->vflags;
    uint64_t u = (uint64_t)v->m;
    if (!(v->f & VF_SET)) {
        if (u == 0) { /* the '' error value of an ENUM */
            rv_text(out, "", 0, f);
            return 0;
        }
        if (u > col->n_members) goto stale;
        const char *m = col->members[u - 1];
        rv_text(out, m, strlen(m), f);
        out->ec = NULL;
        return 0;
    }
    if (col->n_members < 64 && (u >> col->n_members) != 0) goto stale;
    size_t total = 0;
    for (uint32_t i = 0; i < col->n_members && i < 64; i++)
        if (u & ((uint64_t)1 << i)) total += strlen(col->members[i]) + 1;
    char *d = scratch_alloc(total ? total : 1);
    if (!d) return -1;
    size_t o = 0;
    for (uint32_t i = 0; i < col->n_members && i < 64; i++) {
        if (!(u & ((uint64_t)1 << i))) continue;
        if (o) d[o++] = ',';
        size_t len = strlen(col->members[i]);
        memcpy(d + o, col->members[i], len);
        o += len;
    }
    rv_text(out, d, o, f);
    return 0;
stale:
    cot_err_set(COT_ERR_SCHEMA,
                "where: %s column '%s' holds %s %llu but only %u member names are known: the "
                "column's definition changed after cotter read it; restart the pipeline so it "
                "reads the table again (binlog_row_metadata=FULL avoids this)",
                (v->f & VF_SET) ? "SET" : "ENUM", col->name, (v->f & VF_SET) ? "bitmask" : "member",
                (unsigned long long)u, col->n_members);
    return -1;
}

/* fmt_num writes a number's text form (MySQL-like) into out (>= 64 bytes); returns its length. */
static size_t fmt_num(const rv *v, char *out, size_t cap)
{
    if (v->t == RV_NUM) {
        char rev[48];
        size_t n = 0;
        i128 m = i128_abs(v->m);
        do {
            rev[n++] = (char)('0' + (int)(m % 10));
            m /= 10;
        } while (m);
        while (n <= v->scale) rev[n++] = '0';
        size_t o = 0;
        if (v->m < 0) out[o++] = '-';
        for (size_t i = n; i-- > 0;) {
            out[o++] = rev[i];
            if (i == v->scale && i) out[o++] = '.';
        }
        out[o] = '\0';
        return o;
    }
    double r = v->r;
    if (isnan(r)) return (size_t)snprintf(out, cap, "nan");
    if (isinf(r)) return (size_t)snprintf(out, cap, r < 0 ? "-inf" : "inf");
    char tmp[64];
    if (v->f & VF_FLOAT) {
        float f = (float)r;
        for (int prec = 6; prec <= 9; prec++) {
            snprintf(tmp, sizeof(tmp), "%.*g", prec, (double)f);
            if (strtof(tmp, NULL) == f) break;
        }
    } else {
        double d = (double)r;
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
            if (strtod(tmp, NULL) == d) break;
        }
    }
    /* 1e+20 -> 1e20, 1e-05 -> 1e-5, like MySQL */
    size_t o = 0;
    for (size_t i = 0; tmp[i] && o + 1 < cap; i++) {
        out[o++] = tmp[i];
        if (tmp[i] == 'e') {
            if (tmp[i + 1] == '+')
                i++;
            else if (tmp[i + 1] == '-')
                out[o++] = tmp[++i];
            while (tmp[i + 1] == '0' && tmp[i + 2]) i++;
        }
    }
    out[o] = '\0';
    return o;
}

/* to_text converts a non-NULL value to text; numbers are formatted into scratch. */
static int to_text(const rv *v, rv *out)
{
    if (v->t == RV_STR) {
        *out = *v;
        return 0;
    }
    if (v->f & VF_ENUM) return enum_text(v, out);
    char tmp[80];
    size_t n = fmt_num(v, tmp, sizeof(tmp));
    char *d = scratch_alloc(n ? n : 1);
    if (!d) return -1;
    memcpy(d, tmp, n);
    rv_text(out, d, n, VF_UTF8);
    return 0;
}

/* to_int rounds a non-NULL value to an integer (half away from zero),
 * clamped to +-2^62; NaN reads as 0. */
static int64_t to_int(const rv *v)
{
    const int64_t lim = (int64_t)1 << 62;
    rv x;
    to_num(v, &x);
    if (x.t == RV_REAL) {
        if (isnan(x.r)) return 0;
        if (x.r >= (double)lim) return lim;
        if (x.r <= -(double)lim) return -lim;
        return (int64_t)round(x.r);
    }
    i128 m = x.m;
    if (x.scale) {
        i128 p = POW10[x.scale];
        i128 q = m / p, r = i128_abs(m % p);
        if (r >= p - r) q += m < 0 ? -1 : 1;
        m = q;
    }
    if (m > lim) return lim;
    if (m < -lim) return -lim;
    return (int64_t)m;
}

/* Comparison -------------------------------------------------------- */

static int num_cmp(const rv *a, const rv *b)
{
    if (a->t == RV_NUM && b->t == RV_NUM) {
        i128 x = a->m, y = b->m;
        if (a->scale < b->scale && !scale_up(&x, b->scale - a->scale))
            return a->m > 0 ? 1 : -1; /* |x| exceeds anything y can hold */
        if (b->scale < a->scale && !scale_up(&y, a->scale - b->scale)) return b->m > 0 ? -1 : 1;
        return (x > y) - (x < y);
    }
    double x = num_dbl(a), y = num_dbl(b);
    if (isnan(x) || isnan(y)) return (isnan(x) ? 1 : 0) - (isnan(y) ? 1 : 0);
    return (x > y) - (x < y);
}

static int text_cmp(unsigned flags, const rv *a, const rv *b)
{
    size_t la = a->s.len, lb = b->s.len;
    bool bin = (a->f | b->f) & VF_BINARY;
    if (!bin && (flags & ROW_FILTER_PAD_SPACE)) {
        while (la && a->s.p[la - 1] == ' ') la--;
        while (lb && b->s.p[lb - 1] == ' ') lb--;
    }
    size_t n = la < lb ? la : lb;
    if (!bin && (flags & ROW_FILTER_CI)) {
        for (size_t i = 0; i < n; i++) {
            int x = ascii_lower((unsigned char)a->s.p[i]),
                y = ascii_lower((unsigned char)b->s.p[i]);
            if (x != y) return x < y ? -1 : 1;
        }
    } else if (n) {
        int r = memcmp(a->s.p, b->s.p, n);
        if (r) return r < 0 ? -1 : 1;
    }
    return (la > lb) - (la < lb);
}

/* enum_vs_text says whether an ENUM/SET number whose member names are
 * unknown meets text that is not a number. */
static bool enum_vs_text(const rv *e, const rv *s)
{
    if (!(e->f & VF_ENUM) || s->t != RV_STR) return false;
    if (e->ec && e->ec->members) return false;
    bool whole;
    rv tmp;
    num_from_text(s->s.p, s->s.len, &tmp, &whole);
    return !whole;
}

/* cmp_values compares two non-NULL values into *res (-1, 0, 1); -1 on error. */
static int cmp_values(const ectx *c, const rv *a, const rv *b, int *res)
{
    if (a->t != RV_STR && b->t != RV_STR) {
        *res = num_cmp(a, b);
        return 0;
    }
    if (a->t == RV_STR && b->t == RV_STR) {
        if ((a->f | b->f) & VF_TEMPORAL) {
            tval ta, tb;
            if (tparse(a->s.p, a->s.len, &ta) && tparse(b->s.p, b->s.len, &tb) &&
                (ta.kind == TK_TIME) == (tb.kind == TK_TIME)) {
                int64_t ka = tkey(&ta), kb = tkey(&tb);
                *res = (ka > kb) - (ka < kb);
                return 0;
            }
        }
        *res = text_cmp(c->rf->flags, a, b);
        return 0;
    }
    if (enum_vs_text(a, b)) return err_enum_text(a);
    if (enum_vs_text(b, a)) return err_enum_text(b);
    /* an ENUM/SET with known member names meets text: compare the names, as MySQL does */
    const rv *e = (a->f & VF_ENUM) ? a : (b->f & VF_ENUM) ? b : NULL;
    if (e && e->ec && e->ec->members) {
        rv t;
        if (enum_text(e, &t) < 0) return -1;
        *res = e == a ? text_cmp(c->rf->flags, &t, b) : text_cmp(c->rf->flags, a, &t);
        return 0;
    }
    rv x, y;
    to_num(a, &x);
    to_num(b, &y);
    /* a date/datetime against a number: the number reads as YYYYMMDD[hhmmss] */
    const rv *tv = a->t == RV_STR ? a : b->t == RV_STR ? b : NULL;
    if (tv && (tv->f & VF_TEMPORAL)) {
        tval t;
        if (tparse(tv->s.p, tv->s.len, &t) && t.kind != TK_TIME) {
            rv *tn = tv == a ? &x : &y, *other = tv == a ? &y : &x;
            if (t.kind == TK_DATE) {
                t.kind = TK_DATETIME;
                tnumber(&t, tn);
            }
            rv limit, zero;
            rv_int(&limit, 100000000);
            rv_int(&zero, 0);
            if (num_cmp(other, &limit) < 0 && num_cmp(other, &zero) >= 0) {
                i128 m;
                if (other->t != RV_NUM || __builtin_mul_overflow(other->m, 1000000, &m) ||
                    !set_exact(other, m, other->scale))
                    rv_real(other, num_dbl(other) * 1000000);
            }
        }
    }
    *res = num_cmp(&x, &y);
    return 0;
}

/* Arithmetic -------------------------------------------------------- */

/* exact_arith computes op on two exact numbers: 1 done (out may be NULL
 * for a zero divisor), 0 when the result needs double. */
static int exact_arith(uint8_t op, const rv *x, const rv *y, rv *out)
{
    i128 a = x->m, b = y->m, r;
    unsigned sa = x->scale, sb = y->scale;
    switch (op) {
    case A_ADD:
    case A_SUB:
    case A_MOD:
    case A_IDIV: {
        unsigned s = sa > sb ? sa : sb;
        if (!scale_up(&a, s - sa) || !scale_up(&b, s - sb)) return 0;
        if (op == A_ADD) {
            if (__builtin_add_overflow(a, b, &r)) return 0;
        } else if (op == A_SUB) {
            if (__builtin_sub_overflow(a, b, &r)) return 0;
        } else {
            if (b == 0) {
                rv_null(out);
                return 1;
            }
            if (op == A_MOD) {
                r = a % b;
            } else {
                r = a / b;
                s = 0;
            }
        }
        return set_exact(out, r, s);
    }
    case A_MUL:
        if (__builtin_mul_overflow(a, b, &r)) return 0;
        return set_exact(out, r, sa + sb);
    case A_DIV: {
        if (b == 0) {
            rv_null(out);
            return 1;
        }
        unsigned rs = sa + 4;
        if (rs > MAX_SCALE || sb + 4 > MAX_SCALE) return 0;
        i128 num;
        if (__builtin_mul_overflow(a, POW10[sb + 4], &num)) return 0;
        i128 q = num / b, rem = i128_abs(num % b), ab = i128_abs(b);
        if (rem >= ab - rem) q += ((num < 0) != (b < 0)) ? -1 : 1;
        return set_exact(out, q, rs);
    }
    default:
        return 0;
    }
}

static void arith(uint8_t op, const rv *a, const rv *b, rv *out)
{
    rv x, y;
    to_num(a, &x);
    to_num(b, &y);
    if (x.t == RV_NUM && y.t == RV_NUM && exact_arith(op, &x, &y, out)) return;
    double p = num_dbl(&x), q = num_dbl(&y);
    switch (op) {
    case A_ADD:
        rv_real(out, p + q);
        return;
    case A_SUB:
        rv_real(out, p - q);
        return;
    case A_MUL:
        rv_real(out, p * q);
        return;
    case A_DIV:
        if (q == 0)
            rv_null(out);
        else
            rv_real(out, p / q);
        return;
    case A_IDIV:
        if (q == 0)
            rv_null(out);
        else
            rv_real(out, trunc(p / q));
        return;
    default:
        if (q == 0)
            rv_null(out);
        else
            rv_real(out, fmod(p, q));
        return;
    }
}

/* LIKE -------------------------------------------------------------- */

/* like_match matches s against pattern pat: % any run, _ one character
 * (UTF-8 when utf8), esc (or -1) quotes the next character. Iterative,
 * backtracking only to the last %. */
static bool like_match(const char *s, size_t sl, const char *pat, size_t pl, int esc, bool ci,
                       bool utf8)
{
    size_t si = 0, pi = 0, star_p = SIZE_MAX, star_s = 0;
    while (si < sl) {
        if (pi < pl) {
            unsigned char pc = (unsigned char)pat[pi];
            bool escaped = (int)pc == esc && pi + 1 < pl;
            if (pc == '%' && !escaped) {
                while (pi < pl && pat[pi] == '%') pi++;
                star_p = pi;
                star_s = si;
                continue;
            }
            if (pc == '_' && !escaped) {
                si += utf8 ? utf8_step(s + si, sl - si) : 1;
                pi++;
                continue;
            }
            size_t lp = escaped ? pi + 1 : pi;
            size_t n = utf8 ? utf8_step(pat + lp, pl - lp) : 1;
            bool same = n <= sl - si;
            for (size_t k = 0; same && k < n; k++) {
                int x = (unsigned char)s[si + k], y = (unsigned char)pat[lp + k];
                if (ci) {
                    x = ascii_lower(x);
                    y = ascii_lower(y);
                }
                same = x == y;
            }
            if (same) {
                si += n;
                pi = lp + n;
                continue;
            }
        }
        if (star_p == SIZE_MAX) return false;
        star_s += utf8 ? utf8_step(s + star_s, sl - star_s) : 1;
        si = star_s;
        pi = star_p;
    }
    while (pi < pl && pat[pi] == '%') pi++;
    return pi == pl;
}

/* ------------------------------------------------------------------ */
/* The evaluator                                                       */
/* ------------------------------------------------------------------ */

static int ev(ectx *c, const rf_node *n, rv *out);

static int absent_error(const ectx *c, uint32_t slot)
{
    if (!c->row)
        cot_err_set(COT_ERR_NOT_FOUND, "where: no row image to read column '%s' from",
                    c->rf->cols[slot].name);
    else
        cot_err_set(COT_ERR_NOT_FOUND,
                    "where: column '%s' is not in this row image (binlog_row_image=MINIMAL or "
                    "NOBLOB); set binlog_row_image=FULL on the source to filter on it",
                    c->rf->cols[slot].name);
    return -1;
}

static int load_col(ectx *c, uint32_t slot, rv *out)
{
    const rf_col *col = &c->rf->cols[slot];
    if (!c->row) {
        c->absent = slot;
        return absent_error(c, slot);
    }
    const cot_value *v = &c->row[col->idx];
    /* an empty text value may come without bytes; slices need a real pointer */
    const char *sp = v->s.p ? v->s.p : "";
    size_t sl = v->s.p ? v->s.len : 0;
    switch ((cot_vkind)v->kind) {
    case VK_ABSENT:
        c->absent = slot;
        return absent_error(c, slot);
    case VK_NULL:
        rv_null(out);
        return 0;
    case VK_INT:
        rv_int(out, v->i);
        return 0;
    case VK_UINT:
    case VK_BIT:
        rv_int(out, v->u);
        return 0;
    case VK_ENUM:
    case VK_SET:
        rv_int(out, v->u);
        out->f = VF_ENUM | (v->kind == VK_SET ? VF_SET : 0);
        out->ec = col;
        return 0;
    case VK_FLOAT:
        rv_real(out, v->d);
        out->f = VF_FLOAT;
        return 0;
    case VK_DOUBLE:
        rv_real(out, v->d);
        return 0;
    case VK_DECIMAL:
        num_from_text(sp, sl, out, NULL);
        return 0;
    case VK_STRING:
        rv_text(out, sp, sl, col->vflags);
        return 0;
    case VK_BINARY:
    case VK_GEOMETRY:
        rv_text(out, sp, sl, VF_BINARY);
        return 0;
    case VK_TEMPORAL:
        rv_text(out, sp, sl, VF_TEMPORAL | VF_UTF8);
        return 0;
    case VK_JSON:
        rv_text(out, sp, sl, VF_UTF8);
        return 0;
    }
    cot_err_set(COT_ERR_MALFORMED, "where: column '%s' holds a value of unknown kind %u", col->name,
                (unsigned)v->kind);
    return -1;
}

/* ev_logic evaluates an n-ary AND / OR. An absent column does not stop it:
 * another operand may still settle the result. */
static int ev_logic(ectx *c, const rf_node *n, rv *out)
{
    bool is_and = n->op == N_AND;
    bool any_null = false, absent = false;
    uint32_t absent_slot = 0;
    for (uint32_t i = 0; i < n->n_kids; i++) {
        rv v;
        if (ev(c, n->kids[i], &v) < 0) {
            if (cot_err_code() != COT_ERR_NOT_FOUND) return -1;
            if (!absent) absent_slot = c->absent;
            absent = true;
            continue;
        }
        int t = truth(&v);
        if (t < 0) {
            any_null = true;
        } else if (t == (is_and ? 0 : 1)) {
            rv_bool(out, !is_and);
            return 0;
        }
    }
    if (absent) {
        c->absent = absent_slot;
        return absent_error(c, absent_slot);
    }
    if (any_null)
        rv_null(out);
    else
        rv_bool(out, is_and);
    return 0;
}

static int ev_cmp(ectx *c, const rf_node *n, rv *out)
{
    rv a, b;
    if (ev(c, n->kids[0], &a) < 0 || ev(c, n->kids[1], &b) < 0) return -1;
    if (a.t == RV_NULL || b.t == RV_NULL) {
        if (n->sub == C_NSEQ)
            rv_bool(out, a.t == b.t);
        else
            rv_null(out);
        return 0;
    }
    int r;
    if (cmp_values(c, &a, &b, &r) < 0) return -1;
    bool v;
    switch (n->sub) {
    case C_EQ:
    case C_NSEQ:
        v = r == 0;
        break;
    case C_NE:
        v = r != 0;
        break;
    case C_LT:
        v = r < 0;
        break;
    case C_LE:
        v = r <= 0;
        break;
    case C_GT:
        v = r > 0;
        break;
    default:
        v = r >= 0;
        break;
    }
    rv_bool(out, v);
    return 0;
}

static int ev_in(ectx *c, const rf_node *n, rv *out)
{
    rv x;
    if (ev(c, n->kids[0], &x) < 0) return -1;
    if (x.t == RV_NULL) {
        rv_null(out);
        return 0;
    }
    bool saw_null = false;
    for (uint32_t i = 1; i < n->n_kids; i++) {
        rv y;
        if (ev(c, n->kids[i], &y) < 0) return -1;
        if (y.t == RV_NULL) {
            saw_null = true;
            continue;
        }
        int r;
        if (cmp_values(c, &x, &y, &r) < 0) return -1;
        if (r == 0) {
            rv_bool(out, !n->neg);
            return 0;
        }
    }
    if (saw_null)
        rv_null(out);
    else
        rv_bool(out, n->neg);
    return 0;
}

static int ev_between(ectx *c, const rf_node *n, rv *out)
{
    rv x, lo, hi;
    if (ev(c, n->kids[0], &x) < 0 || ev(c, n->kids[1], &lo) < 0 || ev(c, n->kids[2], &hi) < 0)
        return -1;
    if (x.t == RV_NULL) {
        rv_null(out);
        return 0;
    }
    int ge = -1, le = -1; /* three-valued x >= lo, x <= hi */
    int r;
    if (lo.t != RV_NULL) {
        if (cmp_values(c, &x, &lo, &r) < 0) return -1;
        ge = r >= 0;
    }
    if (hi.t != RV_NULL) {
        if (cmp_values(c, &x, &hi, &r) < 0) return -1;
        le = r <= 0;
    }
    int v = (ge == 0 || le == 0) ? 0 : (ge < 0 || le < 0) ? -1 : 1;
    if (v < 0)
        rv_null(out);
    else
        rv_bool(out, n->neg ? !v : v);
    return 0;
}

static int ev_like(ectx *c, const rf_node *n, rv *out)
{
    rv a, b, x, pat;
    if (ev(c, n->kids[0], &a) < 0 || ev(c, n->kids[1], &b) < 0) return -1;
    if (a.t == RV_NULL || b.t == RV_NULL) {
        rv_null(out);
        return 0;
    }
    if (to_text(&a, &x) < 0 || to_text(&b, &pat) < 0) return -1;
    bool bin = (x.f | pat.f) & VF_BINARY;
    bool utf8 = !bin && (x.f & VF_UTF8);
    bool ci = !bin && (c->rf->flags & ROW_FILTER_CI);
    bool m = like_match(x.s.p, x.s.len, pat.s.p, pat.s.len, n->esc, ci, utf8);
    rv_bool(out, n->neg ? !m : m);
    return 0;
}

static int ev_func(ectx *c, const rf_node *n, rv *out);
static int ev_date_add(ectx *c, const rf_node *n, rv *out);

static int ev(ectx *c, const rf_node *n, rv *out)
{
    rv a, b;
    switch (n->op) {
    case N_LIT:
        *out = n->lit;
        return 0;
    case N_COL:
        return load_col(c, n->slot, out);
    case N_AND:
    case N_OR:
        return ev_logic(c, n, out);
    case N_XOR: {
        if (ev(c, n->kids[0], &a) < 0 || ev(c, n->kids[1], &b) < 0) return -1;
        int x = truth(&a), y = truth(&b);
        if (x < 0 || y < 0)
            rv_null(out);
        else
            rv_bool(out, x != y);
        return 0;
    }
    case N_NOT: {
        if (ev(c, n->kids[0], &a) < 0) return -1;
        int x = truth(&a);
        if (x < 0)
            rv_null(out);
        else
            rv_bool(out, !x);
        return 0;
    }
    case N_CMP:
        return ev_cmp(c, n, out);
    case N_IS: {
        if (ev(c, n->kids[0], &a) < 0) return -1;
        int x = truth(&a);
        bool v;
        switch (n->sub) {
        case IS_NULL:
        case IS_UNKNOWN:
            v = x < 0;
            break;
        case IS_TRUE:
            v = x == 1;
            break;
        default:
            v = x == 0;
            break;
        }
        rv_bool(out, n->neg ? !v : v);
        return 0;
    }
    case N_IN:
        return ev_in(c, n, out);
    case N_BETWEEN:
        return ev_between(c, n, out);
    case N_LIKE:
        return ev_like(c, n, out);
    case N_ARITH:
        if (ev(c, n->kids[0], &a) < 0 || ev(c, n->kids[1], &b) < 0) return -1;
        if (a.t == RV_NULL || b.t == RV_NULL)
            rv_null(out);
        else
            arith(n->sub, &a, &b, out);
        return 0;
    case N_NEG:
        if (ev(c, n->kids[0], &a) < 0) return -1;
        if (a.t == RV_NULL) {
            rv_null(out);
            return 0;
        }
        to_num(&a, out);
        if (out->t == RV_NUM)
            out->m = -out->m;
        else
            out->r = -out->r;
        out->f = 0;
        return 0;
    case N_FUNC:
        return ev_func(c, n, out);
    case N_DATE_ADD:
        return ev_date_add(c, n, out);
    default:
        cot_err_set(COT_ERR_MALFORMED, "where: corrupt filter node %u", n->op);
        return -1;
    }
}

/* Functions --------------------------------------------------------- */

/* get_tval reads a value as a date/time: text, or a number YYYYMMDD[hhmmss]. */
static bool get_tval(const rv *v, tval *t)
{
    if (v->t == RV_STR) return tparse(v->s.p, v->s.len, t);
    if (v->f & VF_ENUM) return false;
    rv x;
    to_num(v, &x);
    if (x.t != RV_NUM || x.scale != 0 || x.m < 0) return false;
    i128 m = x.m;
    memset(t, 0, sizeof(*t));
    if (m >= 10000000000000LL && m <= 99991231235959LL) {
        t->kind = TK_DATETIME;
        t->sec = (int)(m % 100);
        t->min = (int)(m / 100 % 100);
        t->hour = (int)(m / 10000 % 100);
        m /= 1000000;
    } else if (m >= 10000000 && m <= 99991231) {
        t->kind = TK_DATE;
    } else {
        return false;
    }
    t->day = (int)(m % 100);
    t->mon = (int)(m / 100 % 100);
    t->year = (int)(m / 10000);
    return t->mon <= 12 && t->day <= 31 && t->hour <= 23 && t->min <= 59 && t->sec <= 59;
}

/* now_tval gives NOW() (or its date) as a tval; false when out of range. */
static bool now_tval(ectx *c, bool date_only, tval *t)
{
    if (c->now_null) return false;
    if (!c->now_known) {
        c->now = (int64_t)time(NULL);
        c->now_known = true;
    }
    int64_t now = c->now;
    if (now < -62167219200LL || now > 253402300799LL) return false; /* years 0..9999 */
    int64_t days = now >= 0 ? now / 86400 : -((-now + 86399) / 86400);
    int64_t secs = now - days * 86400;
    memset(t, 0, sizeof(*t));
    civil_from_days(days, &t->year, &t->mon, &t->day);
    t->kind = date_only ? TK_DATE : TK_DATETIME;
    if (!date_only) {
        t->hour = (int)(secs / 3600);
        t->min = (int)(secs / 60 % 60);
        t->sec = (int)(secs % 60);
    }
    return true;
}

static int ev_concat(ectx *c, const rf_node *n, rv *out)
{
    rv *parts = scratch_alloc(n->n_kids * sizeof(rv));
    if (!parts) return -1;
    size_t total = 0;
    uint8_t f = VF_UTF8;
    bool null = false;
    for (uint32_t i = 0; i < n->n_kids; i++) {
        rv v;
        if (ev(c, n->kids[i], &v) < 0) return -1;
        if (v.t == RV_NULL) {
            null = true;
            continue;
        }
        if (to_text(&v, &parts[i]) < 0) return -1;
        total += parts[i].s.len;
        if (parts[i].f & VF_BINARY) f = VF_BINARY;
    }
    if (null) {
        rv_null(out);
        return 0;
    }
    if (total > SCRATCH_CAP) total = SCRATCH_CAP + 1; /* let scratch_alloc refuse it */
    char *d = scratch_alloc(total ? total : 1);
    if (!d) return -1;
    size_t o = 0;
    for (uint32_t i = 0; i < n->n_kids; i++) {
        if (parts[i].s.len) memcpy(d + o, parts[i].s.p, parts[i].s.len);
        o += parts[i].s.len;
    }
    rv_text(out, d, o, f);
    return 0;
}

/* ev_substring implements SUBSTRING(s, pos[, len]) in characters (bytes for binary text). */
static void ev_substring(const rv *s, int64_t pos, bool has_len, int64_t len, rv *out)
{
    bool utf8 = (s->f & VF_UTF8) && !(s->f & VF_BINARY);
    const char *p = s->s.p;
    size_t n = s->s.len;
    int64_t n_chars = (int64_t)n;
    if (utf8) {
        n_chars = 0;
        for (size_t i = 0; i < n; i += utf8_step(p + i, n - i)) n_chars++;
    }
    uint8_t f = s->f & (uint8_t)~VF_TEMPORAL;
    int64_t start = pos > 0 ? pos - 1 : pos < 0 ? n_chars + pos : -1;
    if (start < 0 || start >= n_chars || (has_len && len <= 0)) {
        rv_text(out, "", 0, f);
        return;
    }
    int64_t take = n_chars - start;
    if (has_len && len < take) take = len;
    size_t b = (size_t)start, e = (size_t)(start + take);
    if (utf8) {
        size_t i = 0;
        int64_t k = 0;
        for (; i < n && k < start; k++) i += utf8_step(p + i, n - i);
        b = i;
        for (; i < n && k < start + take; k++) i += utf8_step(p + i, n - i);
        e = i;
    }
    rv_text(out, p + b, e - b, f);
}

static void num_round(const rv *x, int64_t d, rv *out)
{
    if (d > MAX_SCALE) d = MAX_SCALE;
    if (d < -MAX_SCALE) d = -MAX_SCALE;
    if (x->t == RV_REAL) {
        double r = x->r;
        if (!isfinite(r)) {
            rv_real(out, r);
            return;
        }
        double f = POW10D[d < 0 ? -d : d];
        double v = d >= 0 ? rint(r * f) / f : rint(r / f) * f;
        rv_real(out, isfinite(v) ? v : r);
        out->f = x->f & VF_FLOAT;
        return;
    }
    if (d >= x->scale) {
        *out = *x;
        out->f = 0;
        return;
    }
    unsigned drop = (unsigned)(x->scale - d);
    i128 q = 0;
    if (drop <= MAX_SCALE) {
        i128 p = POW10[drop];
        q = x->m / p;
        i128 r = i128_abs(x->m % p);
        if (r >= p - r) q += x->m < 0 ? -1 : 1;
    }
    if (d >= 0) {
        set_exact(out, q, (unsigned)d);
        return;
    }
    i128 m = q;
    if (!scale_up(&m, (unsigned)-d) || !set_exact(out, m, 0)) rv_real(out, (double)q * POW10D[-d]);
}

static void num_floor_ceil(const rv *x, bool ceil_, rv *out)
{
    if (x->t == RV_REAL) {
        rv_real(out, ceil_ ? ceil(x->r) : floor(x->r));
        return;
    }
    i128 p = POW10[x->scale];
    i128 q = x->m / p, r = x->m % p;
    if (r != 0 && ceil_ && x->m > 0) q++;
    if (r != 0 && !ceil_ && x->m < 0) q--;
    rv_int(out, q);
}

static int ev_func(ectx *c, const rf_node *n, rv *out)
{
    rv a[3], t;
    switch (n->sub) {
    case F_COALESCE:
        for (uint32_t i = 0; i < n->n_kids; i++) {
            if (ev(c, n->kids[i], out) < 0) return -1;
            if (out->t != RV_NULL) return 0;
        }
        return 0;
    case F_IFNULL:
        if (ev(c, n->kids[0], out) < 0) return -1;
        if (out->t != RV_NULL) return 0;
        return ev(c, n->kids[1], out);
    case F_IF:
        if (ev(c, n->kids[0], &t) < 0) return -1;
        return ev(c, n->kids[truth(&t) == 1 ? 1 : 2], out);
    case F_CONCAT:
        return ev_concat(c, n, out);
    case F_NOW:
    case F_CURDATE: {
        tval tv;
        if (!now_tval(c, n->sub == F_CURDATE, &tv)) {
            rv_null(out);
            return 0;
        }
        return tformat(&tv, out);
    }
    default:
        break;
    }
    /* the rest take 1 to 3 arguments and are NULL when one is NULL */
    uint32_t na = n->n_kids > 3 ? 3 : n->n_kids;
    for (uint32_t i = 0; i < na; i++) {
        if (ev(c, n->kids[i], &a[i]) < 0) return -1;
        if (a[i].t == RV_NULL && n->sub != F_NULLIF) {
            rv_null(out);
            return 0;
        }
    }
    switch (n->sub) {
    case F_NULLIF: {
        *out = a[0];
        if (a[0].t == RV_NULL || a[1].t == RV_NULL) return 0;
        int r;
        if (cmp_values(c, &a[0], &a[1], &r) < 0) return -1;
        if (r == 0) rv_null(out);
        return 0;
    }
    case F_LOWER:
    case F_UPPER: {
        if (to_text(&a[0], &t) < 0) return -1;
        if (t.f & VF_BINARY) { /* MySQL leaves binary strings alone */
            *out = t;
            return 0;
        }
        char *d = scratch_alloc(t.s.len ? t.s.len : 1);
        if (!d) return -1;
        for (size_t i = 0; i < t.s.len; i++) {
            int ch = (unsigned char)t.s.p[i];
            if (n->sub == F_LOWER)
                ch = ascii_lower(ch);
            else if (ch >= 'a' && ch <= 'z')
                ch -= 32;
            d[i] = (char)ch;
        }
        rv_text(out, d, t.s.len, t.f & (uint8_t)~VF_TEMPORAL);
        return 0;
    }
    case F_FIND_IN_SET: {
        rv list;
        if (to_text(&a[0], &t) < 0 || to_text(&a[1], &list) < 0) return -1;
        int64_t found = 0;
        if (!memchr(t.s.p, ',', t.s.len)) { /* a needle with a comma never matches */
            int64_t k = 1;
            size_t b = 0;
            for (size_t i = 0; i <= list.s.len; i++) {
                if (i < list.s.len && list.s.p[i] != ',') continue;
                rv item;
                rv_text(&item, list.s.p + b, i - b, list.f);
                if (list.s.len && text_cmp(c->rf->flags, &t, &item) == 0) {
                    found = k;
                    break;
                }
                k++;
                b = i + 1;
            }
        }
        rv_int(out, found);
        return 0;
    }
    case F_LENGTH:
        if (to_text(&a[0], &t) < 0) return -1;
        rv_int(out, (i128)t.s.len);
        return 0;
    case F_CHAR_LENGTH: {
        if (to_text(&a[0], &t) < 0) return -1;
        size_t k = t.s.len;
        if ((t.f & VF_UTF8) && !(t.f & VF_BINARY)) {
            k = 0;
            for (size_t i = 0; i < t.s.len; i += utf8_step(t.s.p + i, t.s.len - i)) k++;
        }
        rv_int(out, (i128)k);
        return 0;
    }
    case F_SUBSTRING:
        if (to_text(&a[0], &t) < 0) return -1;
        ev_substring(&t, to_int(&a[1]), na == 3, na == 3 ? to_int(&a[2]) : 0, out);
        return 0;
    case F_TRIM:
    case F_LTRIM:
    case F_RTRIM: {
        if (to_text(&a[0], &t) < 0) return -1;
        size_t b = 0, e = t.s.len;
        if (n->sub != F_RTRIM)
            while (b < e && t.s.p[b] == ' ') b++;
        if (n->sub != F_LTRIM)
            while (e > b && t.s.p[e - 1] == ' ') e--;
        rv_text(out, t.s.p + b, e - b, t.f & (uint8_t)~VF_TEMPORAL);
        return 0;
    }
    case F_ABS:
        to_num(&a[0], out);
        out->f &= VF_FLOAT;
        if (out->t == RV_NUM)
            out->m = i128_abs(out->m);
        else
            out->r = fabs(out->r);
        return 0;
    case F_ROUND:
        to_num(&a[0], &t);
        num_round(&t, na == 2 ? to_int(&a[1]) : 0, out);
        return 0;
    case F_FLOOR:
    case F_CEIL:
        to_num(&a[0], &t);
        num_floor_ceil(&t, n->sub == F_CEIL, out);
        return 0;
    case F_MOD:
        arith(A_MOD, &a[0], &a[1], out);
        return 0;
    case F_DATE:
    case F_YEAR:
    case F_MONTH:
    case F_DAY:
    case F_HOUR:
    case F_MINUTE:
    case F_SECOND: {
        tval tv;
        if (!get_tval(&a[0], &tv)) {
            rv_null(out);
            return 0;
        }
        bool date_part =
            n->sub == F_DATE || n->sub == F_YEAR || n->sub == F_MONTH || n->sub == F_DAY;
        if (date_part && tv.kind == TK_TIME) {
            rv_null(out);
            return 0;
        }
        switch (n->sub) {
        case F_DATE:
            tv.kind = TK_DATE;
            return tformat(&tv, out);
        case F_YEAR:
            rv_int(out, tv.year);
            return 0;
        case F_MONTH:
            rv_int(out, tv.mon);
            return 0;
        case F_DAY:
            rv_int(out, tv.day);
            return 0;
        case F_HOUR:
            rv_int(out, tv.hour);
            return 0;
        case F_MINUTE:
            rv_int(out, tv.min);
            return 0;
        default:
            rv_int(out, tv.sec);
            return 0;
        }
    }
    default:
        cot_err_set(COT_ERR_MALFORMED, "where: corrupt function node %u", n->sub);
        return -1;
    }
}

/* ev_date_add implements date +/- INTERVAL n unit. NULL for a TIME, a zero
 * or invalid date, or a result outside the years 0..9999. */
static int ev_date_add(ectx *c, const rf_node *n, rv *out)
{
    rv x, k;
    if (ev(c, n->kids[0], &x) < 0 || ev(c, n->kids[1], &k) < 0) return -1;
    tval t;
    if (x.t == RV_NULL || k.t == RV_NULL || !get_tval(&x, &t) || t.kind == TK_TIME || t.mon == 0 ||
        t.day == 0 || t.day > days_in_month(t.year, t.mon)) {
        rv_null(out);
        return 0;
    }
    int64_t amount = to_int(&k);
    if (amount > 4000000000000LL || amount < -4000000000000LL) {
        rv_null(out);
        return 0;
    }
    if (n->neg) amount = -amount;
    if (n->sub >= U_MONTH) {
        int64_t per = n->sub == U_YEAR ? 12 : n->sub == U_QUARTER ? 3 : 1;
        int64_t months = (int64_t)t.year * 12 + (t.mon - 1) + amount * per;
        if (months < 0 || months > 9999 * 12 + 11) {
            rv_null(out);
            return 0;
        }
        t.year = (int)(months / 12);
        t.mon = (int)(months % 12) + 1;
        int dim = days_in_month(t.year, t.mon);
        if (t.day > dim) t.day = dim;
    } else {
        static const int64_t unit_secs[] = {1, 60, 3600, 86400, 604800};
        int64_t secs = days_from_civil(t.year, t.mon, t.day) * 86400 + t.hour * 3600 + t.min * 60 +
                       t.sec + amount * unit_secs[n->sub];
        int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
        int64_t rest = secs - days * 86400;
        if (days < days_from_civil(0, 1, 1) || days > days_from_civil(9999, 12, 31)) {
            rv_null(out);
            return 0;
        }
        civil_from_days(days, &t.year, &t.mon, &t.day);
        t.hour = (int)(rest / 3600);
        t.min = (int)(rest / 60 % 60);
        t.sec = (int)(rest % 60);
        if (t.kind == TK_DATE && n->sub < U_DAY) t.kind = TK_DATETIME;
    }
    return tformat(&t, out);
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

static int eval_root(const row_filter *rf, const cot_value *row, int64_t now, bool now_known)
{
    if (!rf) {
        cot_err_set(COT_ERR_CONFIG, "where: no filter given");
        return -1;
    }
    if (rf->n_cols && !rf->bound) {
        cot_err_set(COT_ERR_CONFIG, "where: filter \"%.100s\" is not bound to a table yet",
                    rf->text);
        return -1;
    }
    ectx c = {.rf = rf, .row = row, .now = now, .now_known = now_known};
    rv v;
    int rc = ev(&c, rf->root, &v);
    int res = rc < 0 ? -1 : truth(&v) == 1;
    scratch_release();
    return res;
}

int row_filter_eval_at(const row_filter *rf, const cot_value *row, int64_t now_unix)
{
    return eval_root(rf, row, now_unix, true);
}

int row_filter_eval(const row_filter *rf, const cot_value *row)
{
    return eval_root(rf, row, 0, false);
}

int row_filter_eval_timeless(const row_filter *rf, const cot_value *row)
{
    if (!rf || (rf->n_cols && !rf->bound)) return eval_root(rf, row, 0, false);
    ectx c = {.rf = rf, .row = row, .now_null = true};
    rv v;
    int rc = ev(&c, rf->root, &v);
    int res = rc < 0 ? -1 : truth(&v) == 1 ? 1 : v.t == RV_NULL ? 2 : 0;
    scratch_release();
    return res;
}

static bool uses_now(const rf_node *n)
{
    if (n->op == N_FUNC && (n->sub == F_NOW || n->sub == F_CURDATE)) return true;
    for (uint32_t i = 0; i < n->n_kids; i++)
        if (uses_now(n->kids[i])) return true;
    return false;
}

bool row_filter_uses_now(const row_filter *rf)
{
    return rf && rf->root && uses_now(rf->root);
}
