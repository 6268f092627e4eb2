/*
 * libFuzzer target for the row filter. Input: one flags byte, the
 * expression text up to the first NUL byte, then bytes that build rows of a
 * fixed table whose columns cover every value kind (each value's kind is
 * chosen by the input too, including VK_ABSENT, mismatched and unknown
 * kinds). Any text must compile or fail with a message; a compiled filter
 * is bound and evaluated on the rows and must return -1, 0 or 1 (with a
 * message on -1). Oracle: when E, NOT (E) and (E) IS NULL all evaluate,
 * exactly one of them is TRUE (three-valued logic).
 */
#include "pipeline/row_filter.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ROWS 3

static const struct {
    const char *name;
    uint8_t type;
    uint16_t meta;
    uint16_t collation;
    const char *charset;
} columns[] = {
    {"id", CT_LONGLONG, 0, 0, NULL},
    {"status", CT_VARCHAR, 64, 45, "utf8mb4"},
    {"amount", CT_NEWDECIMAL, (10 << 8) | 2, 0, NULL},
    {"price", CT_DOUBLE, 8, 0, NULL},
    {"created", CT_DATETIME2, 0, 0, NULL},
    {"d", CT_DATE, 0, 0, NULL},
    {"t", CT_TIME2, 0, 0, NULL},
    {"kind", CT_STRING, (CT_ENUM << 8) | 1, 45, "utf8mb4"},
    {"data", CT_BLOB, 2, COT_COLLATION_BINARY, "binary"},
    {"latin", CT_VARCHAR, 64, 8, "latin1"},
    {"u", CT_LONGLONG, 0, 0, NULL},
    {"f", CT_FLOAT, 4, 0, NULL},
    {"b", CT_BIT, 1, 0, NULL},
    {"j", CT_JSON, 4, 0, NULL},
    {"g", CT_GEOMETRY, 4, 0, NULL},
    {"s", CT_SET, 1, 45, "utf8mb4"},
};
#define N_COLS (sizeof(columns) / sizeof(columns[0]))

static cot_table *table_get(void)
{
    static cot_table *tbl;
    if (tbl) return tbl;
    tbl = cot_table_new("fuzz", "t", N_COLS);
    for (uint32_t i = 0; i < N_COLS; i++) {
        tbl->cols[i].name = strdup(columns[i].name);
        tbl->cols[i].type = columns[i].type;
        tbl->cols[i].meta = columns[i].meta;
        tbl->cols[i].collation = columns[i].collation;
        tbl->cols[i].charset = columns[i].charset ? cot_charset_intern(columns[i].charset) : NULL;
    }
    tbl->has_names = true;
    return tbl;
}

typedef struct src {
    const uint8_t *p;
    size_t n;
} src;

static uint8_t take8(src *s)
{
    if (!s->n) return 0;
    s->n--;
    return *s->p++;
}

static uint64_t take64(src *s)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | take8(s);
    return v;
}

/* row_fill builds one row; text values point into the input or into texts. */
static void row_fill(src *s, cot_value *row, char texts[][40])
{
    static const char *const samples[] = {
        "2024-01-15", "2024-01-15 10:30:00",
        "10:00:00",   "-838:59:59.5",
        "0000-00-00", "12.50",
        "-0.001",     "abc",
        "",           "2024-02-29 23:59:59.999999",
    };
    for (uint32_t i = 0; i < N_COLS; i++) {
        cot_value *v = &row[i];
        uint8_t sel = take8(s);
        v->kind = sel % 17; /* 15 and 16 are unknown kinds */
        switch (v->kind) {
        case VK_INT:
        case VK_UINT:
        case VK_BIT:
        case VK_ENUM:
        case VK_SET:
            v->u = take64(s);
            break;
        case VK_FLOAT:
        case VK_DOUBLE: {
            uint64_t bits = take64(s);
            memcpy(&v->d, &bits, sizeof(v->d));
            break;
        }
        case VK_DECIMAL:
        case VK_STRING:
        case VK_BINARY:
        case VK_TEMPORAL:
        case VK_JSON:
        case VK_GEOMETRY: {
            uint8_t how = take8(s);
            if (how & 0x80) {
                const char *t = samples[how % (sizeof(samples) / sizeof(samples[0]))];
                snprintf(texts[i], 40, "%s", t);
                v->s.p = texts[i];
                v->s.len = (uint32_t)strlen(t);
            } else {
                size_t len = how % 40;
                if (len > s->n) len = s->n;
                v->s.p = len ? (const char *)s->p : NULL;
                v->s.len = (uint32_t)len;
                s->p += len;
                s->n -= len;
            }
            break;
        }
        default:
            v->u = 0;
            break;
        }
    }
}

/* eval_all compiles text, binds it and evaluates it on every row into res[]
 * (-2 when it did not compile or bind). */
static void eval_all(const char *text, unsigned flags, cot_value rows[][N_COLS], int *res)
{
    row_filter *rf = NULL;
    for (int r = 0; r < N_ROWS; r++) res[r] = -2;
    if (row_filter_compile(text, NULL, flags, &rf) != COT_OK) {
        if (!cot_err_msg()[0]) abort();
        return;
    }
    if (strcmp(row_filter_text(rf), text) != 0) abort();
    cot_err brc = row_filter_bind(rf, table_get());
    if (brc != COT_OK) {
        if (!cot_err_msg()[0] || row_filter_uses_column(rf, 0)) abort();
        row_filter_free(rf);
        return;
    }
    for (int r = 0; r < N_ROWS; r++) {
        cot_err_clear();
        res[r] = row_filter_eval_at(rf, rows[r], r == 2 ? INT64_MAX : 1700000000);
        if (res[r] < -1 || res[r] > 1) abort();
        if (res[r] == -1 && !cot_err_msg()[0]) abort();
    }
    (void)row_filter_eval_at(rf, NULL, -1);
    for (uint32_t c = 0; c < N_COLS + 1; c++) (void)row_filter_uses_column(rf, c);
    row_filter_free(rf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned flags = data[0] & 3;
    const uint8_t *text_start = data + 1;
    size_t left = size - 1;
    const uint8_t *nul = memchr(text_start, 0, left);
    size_t text_len = nul ? (size_t)(nul - text_start) : left;
    char *text = malloc(text_len + 1);
    if (!text) return 0;
    memcpy(text, text_start, text_len);
    text[text_len] = '\0';
    src s = {nul ? nul + 1 : text_start + text_len, nul ? left - text_len - 1 : 0};
    cot_value rows[N_ROWS][N_COLS];
    static char texts[N_ROWS][N_COLS][40];
    for (int r = 0; r < N_ROWS; r++) row_fill(&s, rows[r], texts[r]);

    int plain[N_ROWS], negated[N_ROWS], is_null[N_ROWS];
    eval_all(text, flags, rows, plain);
    if (plain[0] != -2 && text_len < ROW_FILTER_MAX_LEN - 32) {
        char *wrapped = malloc(text_len + 32);
        if (!wrapped) abort();
        snprintf(wrapped, text_len + 32, "NOT (\n%s\n)", text);
        eval_all(wrapped, flags, rows, negated);
        snprintf(wrapped, text_len + 32, "(\n%s\n) IS NULL", text);
        eval_all(wrapped, flags, rows, is_null);
        for (int r = 0; r < N_ROWS; r++) {
            if (plain[r] < 0 || negated[r] < 0 || is_null[r] < 0) continue;
            if (plain[r] + negated[r] + is_null[r] != 1) {
                fprintf(stderr, "3VL broken on row %d: E=%d NOT E=%d E IS NULL=%d for: %s\n", r,
                        plain[r], negated[r], is_null[r], text);
                abort();
            }
        }
        free(wrapped);
    }
    free(text);
    return 0;
}
