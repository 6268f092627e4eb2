/*
 * Password redaction in statement text. Three readings of the text each mark
 * the bytes they take for secrets, and the union of the marks is replaced:
 * two token-level readings (one with backslash escapes in string literals,
 * one without, as under sql_mode NO_BACKSLASH_ESCAPES: the server reads the
 * text one of the two ways, so a quote cannot hide a secret from both) and a
 * plain-text one that ignores quoting and takes the quoted runs right after a
 * password keyword (for messages that quote a statement inside their own
 * quotes, as a server's "near '...'"). No state outside a call.
 */
#include "util/redact.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum tk_kind { TK_END = 0, TK_WORD, TK_STR, TK_NUM, TK_PUNCT } tk_kind;

typedef struct token {
    tk_kind kind;
    size_t start, end;   /* the token's bytes */
    size_t wstart, wend; /* a word without its backticks */
    char c;              /* the character of a TK_PUNCT */
} token;

typedef struct lexer {
    const char *s;
    size_t n, pos;
    bool bs; /* backslash escapes in string literals */
} lexer;

static bool redact__word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '$' || c >= 0x80;
}

static bool redact__space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* redact__skip_string moves past the literal whose opening quote q is at pos. */
static size_t redact__skip_string(const lexer *lx, size_t pos, char q)
{
    size_t i = pos + 1;
    while (i < lx->n) {
        char c = lx->s[i];
        if (c == '\\' && lx->bs && q != '`') {
            i += 2;
            continue;
        }
        if (c == q) {
            if (i + 1 < lx->n && lx->s[i + 1] == q) { /* doubled quote */
                i += 2;
                continue;
            }
            return i + 1;
        }
        i++;
    }
    return lx->n; /* unterminated: to the end */
}

/* redact__skip_blank moves past white space and comments; the markers of
 * executable comments are skipped, their content is read as code. */
static void redact__skip_blank(lexer *lx)
{
    const char *s = lx->s;
    while (lx->pos < lx->n) {
        size_t p = lx->pos;
        unsigned char c = (unsigned char)s[p];
        if (redact__space(c)) {
            lx->pos++;
        } else if (c == '#' || (c == '-' && p + 1 < lx->n && s[p + 1] == '-' &&
                                (p + 2 >= lx->n || (unsigned char)s[p + 2] <= ' '))) {
            while (lx->pos < lx->n && s[lx->pos] != '\n') lx->pos++;
        } else if (c == '/' && p + 1 < lx->n && s[p + 1] == '*') {
            size_t q = p + 2;
            if (q < lx->n && (s[q] == 'M' || s[q] == 'm') && q + 1 < lx->n && s[q + 1] == '!') q++;
            if (q < lx->n && s[q] == '!') { /* executable comment: code */
                q++;
                while (q < lx->n && s[q] >= '0' && s[q] <= '9') q++;
                lx->pos = q;
                continue;
            }
            const char *e = NULL;
            for (size_t k = p + 2; k + 1 < lx->n; k++) {
                if (s[k] == '*' && s[k + 1] == '/') {
                    e = s + k;
                    break;
                }
            }
            lx->pos = e ? (size_t)(e - s) + 2 : lx->n;
        } else if (c == '*' && p + 1 < lx->n && s[p + 1] == '/') { /* end of an executable one */
            lx->pos += 2;
        } else {
            return;
        }
    }
}

/* redact__next reads the next token after blanks and comments into tk
 * (TK_END at the end of the text). */
static void redact__next(lexer *lx, token *tk)
{
    redact__skip_blank(lx);
    memset(tk, 0, sizeof(*tk));
    tk->start = lx->pos;
    if (lx->pos >= lx->n) {
        tk->kind = TK_END;
        tk->end = lx->n;
        return;
    }
    const char *s = lx->s;
    unsigned char c = (unsigned char)s[lx->pos];
    if (c == '\'' || c == '"') {
        tk->kind = TK_STR;
        lx->pos = redact__skip_string(lx, lx->pos, (char)c);
    } else if (c == '`') {
        tk->kind = TK_WORD;
        lx->pos = redact__skip_string(lx, lx->pos, '`');
        tk->wstart = tk->start + 1;
        tk->wend = lx->pos > tk->wstart && s[lx->pos - 1] == '`' ? lx->pos - 1 : lx->pos;
    } else if (redact__word_char(c)) {
        size_t e = lx->pos;
        while (e < lx->n && redact__word_char((unsigned char)s[e])) e++;
        tk->kind = c >= '0' && c <= '9' ? TK_NUM : TK_WORD;
        tk->wstart = lx->pos;
        tk->wend = e;
        lx->pos = e;
        /* N'..', X'..', B'..', _charset'..': one literal */
        size_t wl = tk->wend - tk->wstart;
        if (lx->pos < lx->n && (s[lx->pos] == '\'' || s[lx->pos] == '"') &&
            (s[tk->wstart] == '_' ||
             (wl == 1 && strchr("nNxXbB", s[tk->wstart]) && s[tk->wstart] != '\0'))) {
            tk->kind = TK_STR;
            lx->pos = redact__skip_string(lx, lx->pos, s[lx->pos]);
        }
    } else {
        tk->kind = TK_PUNCT;
        tk->c = (char)c;
        lx->pos++;
    }
    tk->end = lx->pos;
}

static bool redact__is(const lexer *lx, const token *tk, const char *word)
{
    size_t n = strlen(word);
    return tk->kind == TK_WORD && tk->wend - tk->wstart == n &&
           strncasecmp(lx->s + tk->wstart, word, n) == 0;
}

/* redact__pw_word: PASSWORD, OLD_PASSWORD, MASTER_PASSWORD, `password`, ... */
static bool redact__pw_word(const lexer *lx, const token *tk)
{
    size_t n = tk->wend - tk->wstart;
    return tk->kind == TK_WORD && n >= 8 && strncasecmp(lx->s + tk->wend - 8, "password", 8) == 0;
}

static bool redact__value(const token *tk)
{
    return tk->kind == TK_STR || tk->kind == TK_NUM || tk->kind == TK_WORD;
}

typedef enum rd_state {
    RD_NONE = 0,
    RD_AUTH_VALUE, /* after IDENTIFIED ... BY | USING | AS, or REPLACE */
    RD_PW_ARG,     /* after a PASSWORD word: ( or = or a literal or FOR */
    RD_PW_VALUE,   /* after PASSWORD ... = */
    RD_SKIP_TO_EQ, /* SET PASSWORD FOR user@host = */
    RD_PAREN,      /* inside PASSWORD( ... ): all of it */
} rd_state;

static void redact__mark(uint8_t *mask, size_t start, size_t end)
{
    if (end > start) memset(mask + start, 1, end - start);
}

/* redact__lex_pass marks the secrets found by reading text as tokens. */
static void redact__lex_pass(const char *s, size_t n, bool bs, uint8_t *mask)
{
    lexer lx = {.s = s, .n = n, .bs = bs};
    rd_state st = RD_NONE;
    bool auth = false, extend = false;
    int depth = 0;
    size_t p_start = SIZE_MAX, p_end = 0;
    token tk;
    for (;;) {
        redact__next(&lx, &tk);
        if (tk.kind == TK_END) break;
        if (extend && tk.kind == TK_STR) { /* 'a' 'b' is one literal */
            redact__mark(mask, tk.start, tk.end);
            continue;
        }
        extend = false;
        switch (st) {
        case RD_PAREN:
            if (tk.kind == TK_PUNCT && tk.c == '(') depth++;
            if (tk.kind == TK_PUNCT && tk.c == ')' && --depth == 0) {
                if (p_start != SIZE_MAX) redact__mark(mask, p_start, p_end);
                st = RD_NONE;
                continue;
            }
            if (p_start == SIZE_MAX) p_start = tk.start;
            p_end = tk.end;
            continue;
        case RD_AUTH_VALUE:
        case RD_PW_VALUE:
            if (tk.kind == TK_PUNCT && tk.c == '\\') continue; /* an escaped quote follows */
            if (redact__pw_word(&lx, &tk)) {
                st = RD_PW_ARG;
                continue;
            }
            if (st == RD_AUTH_VALUE && redact__is(&lx, &tk, "RANDOM")) {
                st = RD_NONE;
                continue;
            }
            if (tk.kind == TK_PUNCT && tk.c == '(') {
                st = RD_PAREN;
                depth = 1;
                p_start = SIZE_MAX;
                continue;
            }
            st = RD_NONE;
            if (redact__value(&tk)) {
                redact__mark(mask, tk.start, tk.end);
                extend = true;
                continue;
            }
            break;
        case RD_PW_ARG:
            if (tk.kind == TK_PUNCT && tk.c == '(') {
                st = RD_PAREN;
                depth = 1;
                p_start = SIZE_MAX;
                continue;
            }
            if (tk.kind == TK_PUNCT && tk.c == '=') {
                st = RD_PW_VALUE;
                continue;
            }
            if (tk.kind == TK_PUNCT && tk.c == ':') continue; /* := */
            if (redact__is(&lx, &tk, "FOR")) {
                st = RD_SKIP_TO_EQ;
                continue;
            }
            st = RD_NONE;
            if (tk.kind == TK_STR) {
                redact__mark(mask, tk.start, tk.end);
                extend = true;
                continue;
            }
            break;
        case RD_SKIP_TO_EQ:
            if (tk.kind == TK_PUNCT && tk.c == '=') {
                st = RD_PW_VALUE;
                continue;
            }
            if (!(tk.kind == TK_PUNCT && tk.c == ';')) continue;
            st = RD_NONE;
            break;
        case RD_NONE:
            break;
        }
        /* the token starts nothing pending: read it afresh */
        if (tk.kind == TK_PUNCT && tk.c == ';') {
            auth = false;
        } else if (redact__is(&lx, &tk, "IDENTIFIED")) {
            auth = true;
        } else if (auth && (redact__is(&lx, &tk, "BY") || redact__is(&lx, &tk, "USING") ||
                            redact__is(&lx, &tk, "AS") || redact__is(&lx, &tk, "REPLACE"))) {
            st = RD_AUTH_VALUE;
        } else if (redact__pw_word(&lx, &tk)) {
            auth = true; /* SET PASSWORD = 'new' REPLACE 'old' */
            st = RD_PW_ARG;
        } else if (redact__is(&lx, &tk, "CONNECTION")) {
            st = RD_PW_ARG; /* FEDERATED CONNECTION='mysql://u:pw@h/db/t' */
        }
    }
    if (st == RD_PAREN && p_start != SIZE_MAX) redact__mark(mask, p_start, n); /* unclosed */
}

/* redact__text_pass marks, after every IDENTIFIED or PASSWORD in the text
 * (any case, quoting ignored), up to three quoted runs separated only by
 * blanks, backslashes, = ( : @ and at most four words (VIA plugin USING
 * PASSWORD). */
static void redact__text_pass(const char *s, size_t n, uint8_t *mask)
{
    for (size_t i = 0; i < n; i++) {
        size_t kw = 0;
        if (n - i >= 10 && strncasecmp(s + i, "identified", 10) == 0)
            kw = 10;
        else if (n - i >= 8 && strncasecmp(s + i, "password", 8) == 0)
            kw = 8;
        if (!kw) continue;
        size_t p = i + kw;
        int words = 0;
        for (int runs = 0; runs < 3 && p < n; runs++) {
            size_t gap = 0;
            while (p < n && gap < 64) {
                unsigned char c = (unsigned char)s[p];
                bool word = redact__word_char(c);
                if (word && (p == 0 || !redact__word_char((unsigned char)s[p - 1])) && ++words > 4)
                    break;
                if (!(word || redact__space(c) || (c != '\0' && strchr("=(:@\\", c)))) break;
                p++;
                gap++;
            }
            if (p >= n || (s[p] != '\'' && s[p] != '"')) break;
            const char *e = memchr(s + p + 1, s[p], n - p - 1);
            size_t end = e ? (size_t)(e - s) + 1 : n;
            redact__mark(mask, p, end);
            p = end;
        }
    }
}

bool redact_maybe(const char *text, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i++) {
        char c = text[i];
        if ((c == 'p' || c == 'P') && strncasecmp(text + i, "password", 8) == 0) return true;
        if ((c == 'i' || c == 'I') && n - i >= 10 && strncasecmp(text + i, "identified", 10) == 0)
            return true;
        if ((c == 'c' || c == 'C') && n - i >= 10 && strncasecmp(text + i, "connection", 10) == 0)
            return true;
    }
    return false;
}

bool redact_secrets(const char *text, size_t n, buf *out)
{
    if (!redact_maybe(text, n)) {
        buf_append(out, text, n);
        return false;
    }
    uint8_t *mask = calloc(n ? n : 1, 1);
    if (!mask) abort();
    redact__lex_pass(text, n, true, mask);
    redact__lex_pass(text, n, false, mask);
    redact__text_pass(text, n, mask);
    bool any = false;
    size_t run = 0;
    for (size_t i = 0; i < n;) {
        if (!mask[i]) {
            i++;
            continue;
        }
        buf_append(out, text + run, i - run);
        buf_puts(out, REDACTED);
        any = true;
        while (i < n && mask[i]) i++;
        run = i;
    }
    buf_append(out, text + run, n - run);
    free(mask);
    return any;
}

bool redact_secrets_inplace(char *s, size_t cap)
{
    if (cap == 0) return false;
    size_t n = strnlen(s, cap - 1);
    if (!redact_maybe(s, n)) return false;
    buf b;
    buf_init(&b);
    bool any = redact_secrets(s, n, &b);
    if (any) {
        size_t k = b.len < cap - 1 ? b.len : cap - 1;
        memcpy(s, b.data, k);
        s[k] = '\0';
    }
    buf_deinit(&b);
    return any;
}
