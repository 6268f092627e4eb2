/*
 * Unit tests for the batch merger: the fold rules one by one with the exact
 * merged output, key changes, NULL keys, keyless tables, MINIMAL/NOBLOB
 * images, composite keys, interleaved tables, table objects, key overrides,
 * barriers and fallbacks; then every sequence of one to three operations on
 * two keys, and randomized runs, each applied change by change and merged to
 * a model of how a sink applies rows, both models compared.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "pipeline/merge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define A_ INT64_MIN       /* absent column in an image spec */
#define N_ (INT64_MIN + 1) /* NULL in an image spec */

/* ---- building tables, chunks and images ---- */

static cot_table *table_new(const char *schema, const char *name, uint32_t n_cols,
                            const uint32_t *pk, uint32_t n_pk)
{
    cot_table *tbl = cot_table_new(schema, name, n_cols);
    for (uint32_t i = 0; i < n_cols; i++) {
        char col[16];
        snprintf(col, sizeof(col), "c%u", (unsigned)i);
        tbl->cols[i].name = strdup(col);
        tbl->cols[i].type = CT_LONGLONG;
        tbl->cols[i].nullable = true;
    }
    tbl->has_names = true;
    if (n_pk) {
        tbl->pk = malloc(n_pk * sizeof(uint32_t));
        memcpy(tbl->pk, pk, n_pk * sizeof(uint32_t));
        tbl->n_pk = n_pk;
    }
    return tbl;
}

static cot_chunk *chunk_new(uint64_t seq)
{
    cot_chunk *ck = cot_chunk_new();
    ck->kind = CK_ROWS;
    ck->tx_end = true;
    ck->seq = seq;
    return ck;
}

static cot_value *image(cot_chunk *ck, uint32_t n_cols, const int64_t *spec)
{
    if (!spec) return NULL;
    cot_value *v = cot_chunk_values(ck, n_cols);
    for (uint32_t i = 0; i < n_cols; i++) {
        if (spec[i] == A_) {
            v[i].kind = VK_ABSENT;
        } else if (spec[i] == N_) {
            v[i].kind = VK_NULL;
        } else {
            v[i].kind = VK_INT;
            v[i].i = spec[i];
        }
    }
    return v;
}

static void add(cot_chunk *ck, cot_op op, cot_table *tbl, const int64_t *before,
                const int64_t *after)
{
    cot_change *ch = cot_chunk_add(ck, op, tbl);
    ch->before = image(ck, tbl->n_cols, before);
    ch->after = image(ck, tbl->n_cols, after);
}

#define I(ck, t, ...)    add(ck, OP_INSERT, t, NULL, (int64_t[]){__VA_ARGS__})
#define D(ck, t, ...)    add(ck, OP_DELETE, t, (int64_t[]){__VA_ARGS__}, NULL)
#define U(ck, t, b, ...) add(ck, OP_UPDATE, t, (int64_t[])b, (int64_t[]){__VA_ARGS__})
#define V(...)                                                                                     \
    {                                                                                              \
        __VA_ARGS__                                                                                \
    }

/* ---- rendering a chunk as text: "t.I(1,2) t.U(1,2>1,3) t.D(1,-)" ---- */

static void render_image(char *out, size_t cap, size_t *len, const cot_value *img, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        const cot_value *v = &img[i];
        const char *sep = i ? "," : "";
        int w;
        switch (v->kind) {
        case VK_ABSENT:
            w = snprintf(out + *len, cap - *len, "%s-", sep);
            break;
        case VK_NULL:
            w = snprintf(out + *len, cap - *len, "%sN", sep);
            break;
        case VK_INT:
            w = snprintf(out + *len, cap - *len, "%s%lld", sep, (long long)v->i);
            break;
        case VK_STRING:
            w = snprintf(out + *len, cap - *len, "%s'%.*s'", sep, (int)v->s.len, v->s.p);
            break;
        default:
            w = snprintf(out + *len, cap - *len, "%s?", sep);
            break;
        }
        assert_true(w >= 0 && (size_t)w < cap - *len);
        *len += (size_t)w;
    }
}

static const char *render(const cot_chunk *ck)
{
    static char text[16384];
    size_t len = 0;
    text[0] = '\0';
    for (uint32_t i = 0; i < ck->n_changes; i++) {
        const cot_change *ch = &ck->changes[i];
        const char *op = ch->op == OP_INSERT ? "I" : ch->op == OP_UPDATE ? "U" : "D";
        int w =
            snprintf(text + len, sizeof(text) - len, "%s%s.%s(", i ? " " : "", ch->tbl->name, op);
        assert_true(w >= 0 && (size_t)w < sizeof(text) - len);
        len += (size_t)w;
        if (ch->op == OP_UPDATE) {
            render_image(text, sizeof(text), &len, ch->before, ch->tbl->n_cols);
            assert_true(len + 1 < sizeof(text));
            text[len++] = '>';
            render_image(text, sizeof(text), &len, ch->after, ch->tbl->n_cols);
        } else {
            render_image(text, sizeof(text), &len, ch->op == OP_INSERT ? ch->after : ch->before,
                         ch->tbl->n_cols);
        }
        assert_true(len + 2 < sizeof(text));
        text[len++] = ')';
        text[len] = '\0';
    }
    return text;
}

/* merge_text merges the chunks into one run and returns the rendered output
 * (a static buffer); st, if given, receives the stats. */
static const char *merge_text(cot_chunk **cks, int n, merge_key_fn key_of, void *ctx,
                              merge_stats *st)
{
    merger *mg = merger_new(key_of, ctx);
    for (int i = 0; i < n; i++) assert_int_equal(merger_add(mg, cks[i]), COT_OK);
    cot_chunk *out = merger_finish(mg, st);
    const char *text = render(out);
    cot_chunk_free(out);
    merger_free(mg);
    return text;
}

static const char *merge_one(cot_chunk *ck)
{
    return merge_text(&ck, 1, NULL, NULL, NULL);
}

/* t: c0 primary key, c1, c2 */
static cot_table *t3(void)
{
    return table_new("s", "t", 3, (uint32_t[]){0}, 1);
}

/* ---- the fold rules ---- */

static void test_insert_update_is_insert(void **state)
{
    (void)state;
    cot_table *t = t3();
    cot_chunk *ck = chunk_new(1);
    I(ck, t, 1, 10, 20);
    U(ck, t, V(1, 10, 20), 1, 11, 20);
    U(ck, t, V(1, 11, 20), 1, 11, 21);
    assert_string_equal(merge_one(ck), "t.I(1,11,21)");
    cot_chunk_free(ck);
    cot_table_unref(t);
}

static void test_update_update_keeps_first_before(void **state)
{
    (void)state;
    cot_table *t = t3();
    cot_chunk *ck = chunk_new(1);
    U(ck, t, V(1, 10, 20), 1, 11, 20);
    U(ck, t, V(1, 11, 20), 1, 12, 21);
    assert_string_equal(merge_one(ck), "t.U(1,10,20>1,12,21)");
    cot_chunk_free(ck);
    cot_table_unref(t);
}

static void test_anything_delete_is_delete(void **state)
{
    (void)state;
    cot_table *t = t3();
    cot_chunk *ck = chunk_new(1);
    I(ck, t, 1, 10, 20); /* I+D */
    D(ck, t, 1, 10, 20);
    U(ck, t, V(2, 10, 20), 2, 11, 20); /* U+D */
    D(ck, t, 2, 11, 20);
    U(ck, t, V(3, 1, 1), 3, 2, 2); /* U+U+D */
    U(ck, t, V(3, 2, 2), 3, 3, 3);
    D(ck, t, 3, 3, 3);
    D(ck, t, 4, 1, 1); /* D alone */
    assert_string_equal(merge_one(ck), "t.D(1,10,20) t.D(2,11,20) t.D(3,3,3) t.D(4,1,1)");
    cot_chunk_free(ck);
    cot_table_unref(t);
}

static void test_delete_insert_is_insert(void **state)
{
    (void)state;
    cot_table *t = t3();
    cot_chunk *ck = chunk_new(1);
    D(ck, t, 1, 10, 20);
    I(ck, t, 1, 30, 40);
    assert_string_equal(merge_one(ck), "t.I(1,30,40)");
    cot_chunk_free(ck);
    cot_table_unref(t);
}

static void test_delete_partial_insert_keeps_delete(void **state)
{
    (void)state;
    cot_table *t = t3();
    cot_chunk *ck = chunk_new(1);
    D(ck, t, 1, 10, 20);
    I(ck, t, 1, 30, A_); /* c2 must get its default, not keep 20 */
    assert_string_equal(merge_one(ck), "t.D(1,10,20) t.I(1,30,-)");
    cot_chunk_free(ck);

    /* ... unless a later change fills the missing column */
    ck = chunk_new(2);
    D(ck, t, 1, 10, 20);
    I(ck, t, 1, 30, A_);
    U(ck, t, V(1, A_, A_), A_, A_, 50);
    assert_string_equal(merge_one(ck), "t.I(1,30,50)");
    cot_chunk_free(ck);

    /* ... or a later full image replaces it */
    ck = chunk_new(3);
    D(ck, t, 1, 10, 20);
    I(ck, t, 1, 30, A_);
    U(ck, t, V(1, 30, 9002), 1, 31, 50);
    assert_string_equal(merge_one(ck), "t.I(1,31,50)");
    cot_chunk_free(ck);
    cot_table_unref(t);
}

static void test_update_of_deleted_row(void **state)
{
    (void)state;
    cot_table *t = t3();
    /* UPDATE ... WHERE key of a row the batch deleted matches nothing */
    cot_chunk *ck = chunk_new(1);
    D(ck, t, 1, 10, 20);
    U(ck, t, V(1, A_, A_), A_, 11, A_);
    assert_string_equal(merge_one(ck), "t.D(1,10,20)");
    cot_chunk_free(ck);

    /* a full image is applied as an upsert, so it puts the row back */
    ck = chunk_new(2);
    D(ck, t, 1, 10, 20);
    U(ck, t, V(1, 10, 20), 1, 11, 20);
    assert_string_equal(merge_one(ck), "t.I(1,11,20)");
    cot_chunk_free(ck);
    cot_table_unref(t);
}

static void test_minimal_images_combine(void **state)
{
    (void)state;
    cot_table *t = t3();
    cot_chunk *ck = chunk_new(1);
    I(ck, t, 1, 10, 20); /* I+U with absent columns fills from the insert */
    U(ck, t, V(1, A_, A_), A_, 11, A_);
    U(ck, t, V(2, A_, A_), A_, 12, A_); /* U+U: later present wins, earlier kept */
    U(ck, t, V(2, A_, A_), A_, 13, 23);
    U(ck, t, V(2, A_, A_), A_, A_, 24);
    assert_string_equal(merge_one(ck), "t.I(1,11,20) t.U(2,-,->-,13,24)");
    cot_chunk_free(ck);
    cot_table_unref(t);
}

static void test_noblob_images_combine(void **state)
{
    (void)state;
    cot_table *t = t3(); /* c2 plays the BLOB left out when unchanged */
    cot_chunk *ck = chunk_new(1);
    U(ck, t, V(1, 10, A_), 1, 11, A_);
    U(ck, t, V(1, 11, A_), 1, 12, 99);
    U(ck, t, V(1, 12, A_), 1, 13, A_);
    I(ck, t, 2, 1, 2);
    U(ck, t, V(2, 1, A_), 2, 5, A_);
    assert_string_equal(merge_one(ck), "t.U(1,10,->1,13,99) t.I(2,5,2)");
    cot_chunk_free(ck);
    cot_table_unref(t);
}

static void test_update_full_after_patch(void **state)
{
    (void)state;
    cot_table *t = t3();
    cot_chunk *ck = chunk_new(1);
    U(ck, t, V(1, A_, A_), A_, 11, A_);
    U(ck, t, V(1, 11, 0), 1, 12, 13);
    assert_string_equal(merge_one(ck), "t.U(1,-,->1,12,13)");
    cot_chunk_free(ck);
    cot_table_unref(t);
}

static void test_patch_then_partial_insert_kept_in_order(void **state)
{
    (void)state;
    cot_table *t = t3();
    cot_chunk *ck = chunk_new(1);
    U(ck, t, V(1, A_, A_), A_, 11, A_);
    I(ck, t, 1, A_, 30);
    U(ck, t, V(1, A_, A_), A_, 12, A_);
    I(ck, t, 2, 1, 1);
    assert_string_equal(merge_one(ck),
                        "t.U(1,-,->-,11,-) t.I(1,-,30) t.U(1,-,->-,12,-) t.I(2,1,1)");
    cot_chunk_free(ck);

    /* a delete ends the sequence: whatever it was, the row is gone */
    ck = chunk_new(2);
    U(ck, t, V(1, A_, A_), A_, 11, A_);
    I(ck, t, 1, A_, 30);
    D(ck, t, 1, A_, A_);
    assert_string_equal(merge_one(ck), "t.D(1,-,-)");
    cot_chunk_free(ck);
    cot_table_unref(t);
}

/* ---- key changes ---- */

static void test_key_change_chain(void **state)
{
    (void)state;
    cot_table *t = t3();
    cot_chunk *ck = chunk_new(1);
    U(ck, t, V(1, 10, 20), 2, 10, 20);
    U(ck, t, V(2, 10, 20), 3, 10, 21);
    assert_string_equal(merge_one(ck), "t.D(1,10,20) t.D(2,10,20) t.I(3,10,21)");
    cot_chunk_free(ck);
    cot_table_unref(t);
}

static void test_key_change_then_insert_old_key(void **state)
{
    (void)state;
    cot_table *t = t3();
    cot_chunk *ck = chunk_new(1);
    U(ck, t, V(1, 10, 20), 2, 10, 20);
    I(ck, t, 1, 50, 60);
    assert_string_equal(merge_one(ck), "t.I(1,50,60) t.I(2,10,20)");
    cot_chunk_free(ck);
    cot_table_unref(t);
}

static void test_key_swap_via_temp(void **state)
{
    (void)state;
    cot_table *t = t3();
    cot_chunk *ck = chunk_new(1);
    U(ck, t, V(1, 10, 20), 9, 10, 20);
    U(ck, t, V(2, 30, 40), 1, 30, 40);
    U(ck, t, V(9, 10, 20), 2, 10, 20);
    assert_string_equal(merge_one(ck), "t.D(9,10,20) t.I(1,30,40) t.I(2,10,20)");
    cot_chunk_free(ck);
    cot_table_unref(t);
}

static void test_partial_key_change_of_known_row(void **state)
{
    (void)state;
    cot_table *t = t3();
    cot_chunk *ck = chunk_new(1);
    I(ck, t, 1, 10, 20);
    U(ck, t, V(1, A_, A_), 2, 11, A_); /* MINIMAL: the new key and c1 */
    assert_string_equal(merge_one(ck), "t.D(1,-,-) t.I(2,11,20)");
    cot_chunk_free(ck);

    /* an insert that left columns out does not say what they hold */
    ck = chunk_new(3);
    I(ck, t, 1, 10, A_);
    U(ck, t, V(1, A_, A_), 2, A_, A_);
    assert_string_equal(merge_one(ck), "t.I(1,10,-) t.U(1,-,->2,-,-)");
    cot_chunk_free(ck);

    /* a partial key change of a row the batch deleted matches nothing */
    ck = chunk_new(2);
    D(ck, t, 1, 10, 20);
    U(ck, t, V(1, A_, A_), 2, A_, A_);
    assert_string_equal(merge_one(ck), "t.D(1,10,20)");
    cot_chunk_free(ck);
    cot_table_unref(t);
}

static void test_partial_key_change_of_unknown_row_falls_back(void **state)
{
    (void)state;
    cot_table *t = t3();
    cot_table *o = table_new("s", "o", 2, (uint32_t[]){0}, 1);
    cot_chunk *ck = chunk_new(1);
    U(ck, t, V(3, A_, A_), A_, 1, A_);
    I(ck, o, 1, 1);
    U(ck, t, V(3, A_, A_), A_, 2, A_);
    U(ck, t, V(1, A_, A_), 2, A_, A_); /* moves a row whose other columns are unknown */
    D(ck, t, 5, A_, A_);
    U(ck, o, V(1, 1), 1, 2);
    merge_stats st;
    const char *text = merge_text(&ck, 1, NULL, NULL, &st);
    /* t: every change in source order; o still merged */
    assert_string_equal(text, "t.U(3,-,->-,1,-) t.U(3,-,->-,2,-) t.U(1,-,->2,-,-) t.D(5,-,-) "
                              "o.I(1,2)");
    assert_int_equal(st.tables, 2);
    assert_int_equal(st.tables_unmerged, 1);
    assert_int_equal(st.changes_in, 6);
    assert_int_equal(st.changes_out, 5);
    cot_chunk_free(ck);
    cot_table_unref(o);
    cot_table_unref(t);
}

static void test_absent_key_column_falls_back(void **state)
{
    (void)state;
    cot_table *t = t3();
    cot_chunk *ck = chunk_new(1);
    I(ck, t, 1, 1, 1);
    U(ck, t, V(1, 1, 1), 1, 2, 2);
    D(ck, t, A_, 2, 2); /* the key is not in the before image */
    assert_string_equal(merge_one(ck), "t.I(1,1,1) t.U(1,1,1>1,2,2) t.D(-,2,2)");
    cot_chunk_free(ck);
    cot_table_unref(t);
}

static void test_malformed_change_falls_back(void **state)
{
    (void)state;
    cot_table *t = t3();
    cot_chunk *ck = chunk_new(1);
    I(ck, t, 1, 1, 1);
    U(ck, t, V(1, 1, 1), 1, 2, 2);
    cot_change *bad = cot_chunk_add(ck, OP_UPDATE, t); /* no images: the sink reports it */
    (void)bad;
    merger *mg = merger_new(NULL, NULL);
    assert_int_equal(merger_add(mg, ck), COT_OK);
    cot_chunk *out = merger_finish(mg, NULL);
    assert_int_equal(out->n_changes, 3);
    assert_int_equal(out->changes[0].op, OP_INSERT);
    assert_int_equal(out->changes[1].op, OP_UPDATE);
    assert_null(out->changes[2].before);
    assert_null(out->changes[2].after);
    cot_chunk_free(out);
    merger_free(mg);
    cot_chunk_free(ck);
    cot_table_unref(t);
}

/* ---- NULL keys, keyless tables, composite keys ---- */

static bool key_c0(void *ctx, const cot_table *tbl, const uint32_t **cols, uint32_t *n)
{
    (void)ctx;
    (void)tbl;
    static const uint32_t c0[] = {0};
    *cols = c0;
    *n = 1;
    return true;
}

static void test_null_key_rows_kept_in_order(void **state)
{
    (void)state;
    /* n: a UNIQUE key on nullable c0 and no primary key (key given by key_of) */
    cot_table *n = table_new("s", "n", 3, NULL, 0);
    cot_chunk *ck = chunk_new(1);
    I(ck, n, N_, 1, 2);
    I(ck, n, 5, 1, 1);
    I(ck, n, N_, 1, 2);
    U(ck, n, V(5, 1, 1), 5, 2, 2);
    D(ck, n, N_, 1, 2);
    U(ck, n, V(N_, 1, 2), N_, 3, 3);
    assert_string_equal(merge_text(&ck, 1, key_c0, NULL, NULL),
                        "n.I(N,1,2) n.I(N,1,2) n.D(N,1,2) n.U(N,1,2>N,3,3) n.I(5,2,2)");
    cot_chunk_free(ck);

    /* into and out of the key space */
    ck = chunk_new(2);
    U(ck, n, V(5, 1, 1), N_, 1, 1);
    U(ck, n, V(N_, 1, 1), 6, 1, 1);
    U(ck, n, V(6, 1, 1), 6, 2, 2);
    assert_string_equal(merge_text(&ck, 1, key_c0, NULL, NULL),
                        "n.D(5,1,1) n.I(N,1,1) n.D(N,1,1) n.I(6,2,2)");
    cot_chunk_free(ck);

    /* a partial image across the NULL boundary cannot be split: in order */
    ck = chunk_new(3);
    I(ck, n, 7, 0, 0);
    U(ck, n, V(7, 0, 0), 7, 1, 0);
    U(ck, n, V(N_, 1, 1), 8, A_, A_);
    assert_string_equal(merge_text(&ck, 1, key_c0, NULL, NULL),
                        "n.I(7,0,0) n.U(7,0,0>7,1,0) n.U(N,1,1>8,-,-)");
    cot_chunk_free(ck);
    cot_table_unref(n);
}

static void test_keyless_table_kept_in_order(void **state)
{
    (void)state;
    cot_table *k = table_new("s", "k", 2, NULL, 0);
    cot_chunk *ck = chunk_new(1);
    I(ck, k, 1, 1);
    I(ck, k, 1, 1);
    U(ck, k, V(1, 1), 1, 2);
    D(ck, k, 1, 1);
    I(ck, k, 1, 1);
    D(ck, k, 1, 2);
    merge_stats st;
    assert_string_equal(merge_text(&ck, 1, NULL, NULL, &st),
                        "k.I(1,1) k.I(1,1) k.U(1,1>1,2) k.D(1,1) k.I(1,1) k.D(1,2)");
    assert_int_equal(st.tables_unmerged, 1);
    assert_int_equal(st.keys, 0);
    cot_chunk_free(ck);
    cot_table_unref(k);
}

static void test_composite_key(void **state)
{
    (void)state;
    /* key (c2, c0): rows equal in c0 but not c2 are different rows */
    cot_table *c = table_new("s", "c", 3, (uint32_t[]){2, 0}, 2);
    cot_chunk *ck = chunk_new(1);
    I(ck, c, 1, 10, 1);
    I(ck, c, 1, 10, 2);
    U(ck, c, V(1, 10, 1), 1, 11, 1);
    D(ck, c, 1, 10, 2);
    I(ck, c, 2, 10, 1);
    U(ck, c, V(1, 11, 1), 1, 12, 1);
    U(ck, c, V(2, 10, 1), 2, 10, 3); /* key change (1,2) -> (3,2) */
    assert_string_equal(merge_one(ck), "c.D(1,10,2) c.D(2,10,1) c.I(1,12,1) c.I(2,10,3)");
    cot_chunk_free(ck);
    cot_table_unref(c);
}

static void test_string_keys_compare_bytes(void **state)
{
    (void)state;
    cot_table *s = table_new("s", "str", 2, (uint32_t[]){0}, 1);
    s->cols[0].type = CT_VARCHAR;
    cot_chunk *ck = chunk_new(1);
    const char *keys[] = {"a", "A", "a\0b", "a", "a\0b"};
    const uint32_t lens[] = {1, 1, 3, 1, 3};
    for (int i = 0; i < 5; i++) {
        cot_change *ch = cot_chunk_add(ck, OP_INSERT, s);
        ch->after = cot_chunk_values(ck, 2);
        ch->after[0].kind = VK_STRING;
        /* a copy of the bytes in the chunk, so equal keys are equal by content only */
        ch->after[0].s.p = arena_memdup(&ck->mem, keys[i], lens[i]);
        ch->after[0].s.len = lens[i];
        ch->after[1].kind = VK_INT;
        ch->after[1].i = i;
    }
    merger *mg = merger_new(NULL, NULL);
    assert_int_equal(merger_add(mg, ck), COT_OK);
    merge_stats st;
    cot_chunk *out = merger_finish(mg, &st);
    assert_int_equal(st.keys, 3);
    assert_int_equal(out->n_changes, 3);
    /* first-seen key order: "a" (last image 3), "A" (1), "a\0b" (4) */
    assert_int_equal(out->changes[0].after[0].s.len, 1);
    assert_memory_equal(out->changes[0].after[0].s.p, "a", 1);
    assert_int_equal(out->changes[0].after[1].i, 3);
    assert_memory_equal(out->changes[1].after[0].s.p, "A", 1);
    assert_int_equal(out->changes[1].after[1].i, 1);
    assert_int_equal(out->changes[2].after[0].s.len, 3);
    assert_memory_equal(out->changes[2].after[0].s.p, "a\0b", 3);
    assert_int_equal(out->changes[2].after[1].i, 4);
    cot_chunk_free(out);
    merger_free(mg);
    cot_chunk_free(ck);

    /* another spelling of a key: the delete of the old one comes first, so a
     * case-insensitive target ends with the new row */
    ck = chunk_new(2);
    cot_change *del = cot_chunk_add(ck, OP_DELETE, s);
    del->before = cot_chunk_values(ck, 2);
    del->before[0] = (cot_value){.kind = VK_STRING, .s = {"a", 1}};
    del->before[1] = (cot_value){.kind = VK_INT, .i = 0};
    cot_change *ins = cot_chunk_add(ck, OP_INSERT, s);
    ins->after = cot_chunk_values(ck, 2);
    ins->after[0] = (cot_value){.kind = VK_STRING, .s = {"A", 1}};
    ins->after[1] = (cot_value){.kind = VK_INT, .i = 1};
    assert_string_equal(merge_one(ck), "str.D('a',0) str.I('A',1)");
    cot_chunk_free(ck);
    cot_table_unref(s);
}

static void test_other_value_kinds(void **state)
{
    (void)state;
    cot_table *t = table_new("s", "kinds", 2, (uint32_t[]){0}, 1);
    cot_chunk *ck = chunk_new(1);
    const cot_value keys[] = {
        {.kind = VK_UINT, .u = 7},     {.kind = VK_INT, .i = 7},
        {.kind = VK_DOUBLE, .d = 7.0}, {.kind = VK_DOUBLE, .d = -0.0},
        {.kind = VK_DOUBLE, .d = 0.0}, {.kind = VK_DECIMAL, .s = {"7.00", 4}},
        {.kind = VK_UINT, .u = 7},     {.kind = VK_TEMPORAL, .s = {"2024-01-01", 10}},
        {.kind = VK_ENUM, .u = 7},     {.kind = VK_DOUBLE, .d = 7.0},
    };
    for (int i = 0; i < 10; i++) {
        cot_change *ch = cot_chunk_add(ck, OP_INSERT, t);
        ch->after = cot_chunk_values(ck, 2);
        ch->after[0] = keys[i];
        ch->after[1] = (cot_value){.kind = VK_INT, .i = i};
    }
    merger *mg = merger_new(NULL, NULL);
    assert_int_equal(merger_add(mg, ck), COT_OK);
    merge_stats st;
    cot_chunk *out = merger_finish(mg, &st);
    /* UINT 7 and DOUBLE 7.0 appear twice; -0.0 and 0.0 differ by bytes */
    assert_int_equal(st.keys, 8);
    assert_int_equal(out->n_changes, 8);
    assert_int_equal(out->changes[0].after[0].kind, VK_UINT);
    assert_int_equal(out->changes[0].after[1].i, 6);
    assert_int_equal(out->changes[2].after[0].kind, VK_DOUBLE);
    assert_int_equal(out->changes[2].after[1].i, 9);
    cot_chunk_free(out);
    merger_free(mg);
    cot_chunk_free(ck);
    cot_table_unref(t);
}

/* ---- tables and table objects ---- */

static void test_tables_interleaved(void **state)
{
    (void)state;
    cot_table *a = table_new("s", "a", 2, (uint32_t[]){0}, 1);
    cot_table *b = table_new("s", "b", 2, (uint32_t[]){0}, 1);
    cot_table *k = table_new("s", "k", 2, NULL, 0);
    cot_chunk *c1 = chunk_new(1), *c2 = chunk_new(2), *c3 = chunk_new(3);
    I(c1, a, 1, 1);
    I(c1, b, 1, 1);
    I(c1, k, 1, 1);
    D(c2, a, 2, 2);
    U(c2, b, V(1, 1), 1, 2);
    U(c2, a, V(1, 1), 1, 3);
    D(c2, k, 1, 1);
    D(c3, b, 3, 3);
    I(c3, a, 2, 5);
    I(c3, k, 9, 9);
    D(c3, b, 1, 2);
    cot_chunk *cks[] = {c1, c2, c3};
    merge_stats st;
    assert_string_equal(merge_text(cks, 3, NULL, NULL, &st),
                        "b.D(1,2) b.D(3,3) a.I(1,3) a.I(2,5) k.I(1,1) k.D(1,1) k.I(9,9)");
    assert_int_equal(st.changes_in, 11);
    assert_int_equal(st.changes_out, 7);
    assert_int_equal(st.tables, 3);
    assert_int_equal(st.tables_unmerged, 1);
    assert_int_equal(st.keys, 4);
    cot_chunk_free(c1);
    cot_chunk_free(c2);
    cot_chunk_free(c3);
    cot_table_unref(a);
    cot_table_unref(b);
    cot_table_unref(k);
}

static void test_same_target_two_table_objects(void **state)
{
    (void)state;
    /* a TABLE_MAP sent again (or two sources mapped to one target): one table */
    cot_table *t1 = t3();
    cot_table *t2 = t3();
    cot_chunk *ck = chunk_new(1);
    I(ck, t1, 1, 10, 20);
    U(ck, t2, V(1, 10, 20), 1, 11, 20);
    D(ck, t2, 2, 0, 0);
    I(ck, t1, 2, 1, 1);
    merger *mg = merger_new(NULL, NULL);
    assert_int_equal(merger_add(mg, ck), COT_OK);
    cot_chunk *out = merger_finish(mg, NULL);
    assert_string_equal(render(out), "t.I(1,11,20) t.I(2,1,1)");
    assert_ptr_equal(out->changes[0].tbl, t1);
    assert_ptr_equal(out->changes[1].tbl, t1);
    cot_chunk_free(out);
    merger_free(mg);
    cot_chunk_free(ck);

    /* a different layout under the same target name: nothing merged */
    t2->cols[2].type = CT_VARCHAR;
    ck = chunk_new(2);
    I(ck, t1, 1, 10, 20);
    U(ck, t2, V(1, 10, 20), 1, 11, 20);
    I(ck, t1, 2, 1, 1);
    mg = merger_new(NULL, NULL);
    assert_int_equal(merger_add(mg, ck), COT_OK);
    out = merger_finish(mg, NULL);
    assert_string_equal(render(out), "t.I(1,10,20) t.U(1,10,20>1,11,20) t.I(2,1,1)");
    assert_ptr_equal(out->changes[1].tbl, t2);
    cot_chunk_free(out);
    merger_free(mg);
    cot_chunk_free(ck);
    cot_table_unref(t1);
    cot_table_unref(t2);
}

static void test_same_name_other_schema_is_other_table(void **state)
{
    (void)state;
    cot_table *t1 = table_new("s1", "t", 2, (uint32_t[]){0}, 1);
    cot_table *t2 = table_new("s2", "t", 2, (uint32_t[]){0}, 1);
    cot_chunk *ck = chunk_new(1);
    I(ck, t1, 1, 1);
    D(ck, t2, 1, 1);
    merger *mg = merger_new(NULL, NULL);
    assert_int_equal(merger_add(mg, ck), COT_OK);
    cot_chunk *out = merger_finish(mg, NULL);
    assert_int_equal(out->n_changes, 2);
    assert_int_equal(out->changes[0].op, OP_DELETE);
    assert_ptr_equal(out->changes[0].tbl, t2);
    assert_int_equal(out->changes[1].op, OP_INSERT);
    assert_ptr_equal(out->changes[1].tbl, t1);
    cot_chunk_free(out);
    merger_free(mg);
    cot_chunk_free(ck);
    cot_table_unref(t1);
    cot_table_unref(t2);
}

typedef struct key_override {
    const cot_table *tbl;
    uint32_t cols[2];
    uint32_t n;
    bool answer; /* what key_of returns for tbl */
    int calls;
} key_override;

static bool key_of_override(void *ctx, const cot_table *tbl, const uint32_t **cols, uint32_t *n)
{
    key_override *ko = ctx;
    ko->calls++;
    if (tbl != ko->tbl || !ko->answer) return false;
    *cols = ko->cols;
    *n = ko->n;
    return true;
}

static void test_key_override(void **state)
{
    (void)state;
    cot_table *t = t3();
    cot_chunk *ck = chunk_new(1);
    I(ck, t, 1, 7, 0);
    D(ck, t, 2, 7, 0);
    I(ck, t, 3, 8, 0);
    U(ck, t, V(1, 7, 0), 1, 7, 5);

    /* the target's key is c1 */
    key_override ko = {.tbl = t, .cols = {1}, .n = 1, .answer = true};
    assert_string_equal(merge_text(&ck, 1, key_of_override, &ko, NULL), "t.I(1,7,5) t.I(3,8,0)");
    assert_int_equal(ko.calls, 1); /* once per table object and run */

    /* no key on the target: nothing merged */
    ko.n = 0;
    merge_stats st;
    assert_string_equal(merge_text(&ck, 1, key_of_override, &ko, &st),
                        "t.I(1,7,0) t.D(2,7,0) t.I(3,8,0) t.U(1,7,0>1,7,5)");
    assert_int_equal(st.tables_unmerged, 1);

    /* no opinion: the table's own primary key (c0) */
    ko.answer = false;
    assert_string_equal(merge_text(&ck, 1, key_of_override, &ko, NULL),
                        "t.D(2,7,0) t.I(1,7,5) t.I(3,8,0)");

    /* a key naming a column the table does not have is no key */
    ko.answer = true;
    ko.cols[0] = 3;
    ko.n = 1;
    assert_string_equal(merge_text(&ck, 1, key_of_override, &ko, &st),
                        "t.I(1,7,0) t.D(2,7,0) t.I(3,8,0) t.U(1,7,0>1,7,5)");
    ko.cols[0] = 1;
    ko.cols[1] = 1;
    ko.n = 2;
    assert_string_equal(merge_text(&ck, 1, key_of_override, &ko, &st),
                        "t.I(1,7,0) t.D(2,7,0) t.I(3,8,0) t.U(1,7,0>1,7,5)");
    cot_chunk_free(ck);
    cot_table_unref(t);
}

/* ---- runs, barriers, positions ---- */

static void test_ddl_is_a_barrier(void **state)
{
    (void)state;
    cot_table *t = t3();
    merger *mg = merger_new(NULL, NULL);
    cot_chunk *c1 = chunk_new(1);
    I(c1, t, 1, 1, 1);
    assert_int_equal(merger_add(mg, c1), COT_OK);
    assert_int_equal(merger_pending(mg), 1);

    cot_chunk *ddl = chunk_new(2);
    ddl->kind = CK_DDL;
    assert_int_equal(merger_add(mg, ddl), COT_ERR_UNSUPPORTED);
    assert_non_null(strstr(cot_err_msg(), "barrier"));
    assert_int_equal(merger_pending(mg), 1); /* the run is untouched */

    cot_chunk *out = merger_finish(mg, NULL);
    assert_string_equal(render(out), "t.I(1,1,1)");
    assert_int_equal(out->seq, 1);
    cot_chunk_free(out);

    /* the next run starts empty: a delete of the same key is not merged with
     * the insert of the run before the barrier */
    cot_chunk *c3 = chunk_new(3);
    D(c3, t, 1, 1, 1);
    assert_int_equal(merger_add(mg, c3), COT_OK);
    out = merger_finish(mg, NULL);
    assert_string_equal(render(out), "t.D(1,1,1)");
    cot_chunk_free(out);

    merger_free(mg);
    cot_chunk_free(c1);
    cot_chunk_free(ddl);
    cot_chunk_free(c3);
    cot_table_unref(t);
}

static void test_positions_and_empty_chunks(void **state)
{
    (void)state;
    cot_table *t = t3();
    merger *mg = merger_new(NULL, NULL);
    { /* nothing added: an empty chunk */
        cot_chunk *out = merger_finish(mg, NULL);
        assert_int_equal(out->kind, CK_EMPTY);
        assert_int_equal(out->n_changes, 0);
        cot_chunk_free(out);
    }
    cot_chunk *c1 = chunk_new(10);
    I(c1, t, 1, 1, 1);
    c1->tx_end = false;
    cot_chunk *c2 = chunk_new(10);
    D(c2, t, 1, 1, 1);
    snprintf(c2->end_pos.file, sizeof(c2->end_pos.file), "mariadb-bin.000002");
    c2->end_pos.pos = 4242;
    snprintf(c2->end_pos.gtid, sizeof(c2->end_pos.gtid), "0-1-77");
    c2->ts = 1700000000;
    cot_chunk *c3 = chunk_new(11);
    c3->kind = CK_EMPTY;
    c3->end_pos = c2->end_pos;
    c3->end_pos.pos = 5000;
    assert_int_equal(merger_add(mg, c1), COT_OK);
    assert_int_equal(merger_add(mg, c2), COT_OK);
    assert_int_equal(merger_add(mg, c3), COT_OK);
    cot_chunk *out = merger_finish(mg, NULL);
    assert_int_equal(out->kind, CK_ROWS);
    assert_true(out->tx_end);
    assert_int_equal(out->seq, 11);
    assert_string_equal(out->end_pos.file, "mariadb-bin.000002");
    assert_int_equal(out->end_pos.pos, 5000);
    assert_string_equal(out->end_pos.gtid, "0-1-77");
    assert_string_equal(render(out), "t.D(1,1,1)");
    assert_int_equal(out->n_tables, 1);
    assert_true(out->bytes > 0);
    cot_chunk_free(out);

    /* only empty chunks: an empty chunk that still carries the position */
    assert_int_equal(merger_add(mg, c3), COT_OK);
    out = merger_finish(mg, NULL);
    assert_int_equal(out->kind, CK_EMPTY);
    assert_int_equal(out->end_pos.pos, 5000);
    cot_chunk_free(out);

    /* reset drops a run */
    assert_int_equal(merger_add(mg, c1), COT_OK);
    merger_reset(mg);
    assert_int_equal(merger_pending(mg), 0);
    out = merger_finish(mg, NULL);
    assert_int_equal(out->n_changes, 0);
    cot_chunk_free(out);

    merger_free(mg);
    cot_chunk_free(c1);
    cot_chunk_free(c2);
    cot_chunk_free(c3);
    cot_table_unref(t);
}

static void test_output_outlives_merger(void **state)
{
    (void)state;
    /* combined images live in the output chunk, not in the merger */
    cot_table *t = t3();
    cot_chunk *ck = chunk_new(1);
    I(ck, t, 1, 10, 20);
    U(ck, t, V(1, A_, A_), A_, 11, A_);
    merger *mg = merger_new(NULL, NULL);
    assert_int_equal(merger_add(mg, ck), COT_OK);
    cot_chunk *out = merger_finish(mg, NULL);
    merger_free(mg);
    cot_table_unref(t); /* the chunks hold their own references */
    assert_string_equal(render(out), "t.I(1,11,20)");
    cot_chunk_free(out);
    cot_chunk_free(ck);
}

/* ---- a model of a sink: how row changes land on a target table ---- */

#define MAXC 4
#define MAXR 96

typedef struct mtab {
    uint32_t n_cols;
    const uint32_t *key; /* the key the sink applies by (NULL: none) */
    uint32_t n_key;
    int n;
    int64_t r[MAXR][MAXC];
} mtab;

static int64_t default_of(uint32_t c)
{
    return 9000 + (int64_t)c;
}

static void ints_of(const cot_value *img, uint32_t n, int64_t *out)
{
    for (uint32_t i = 0; i < n; i++) {
        if (img[i].kind == VK_ABSENT)
            out[i] = A_;
        else if (img[i].kind == VK_NULL)
            out[i] = N_;
        else {
            assert_int_equal(img[i].kind, VK_INT);
            out[i] = img[i].i;
        }
    }
}

static bool m_usable(const mtab *m, const int64_t *img)
{
    if (!m->n_key) return false;
    for (uint32_t k = 0; k < m->n_key; k++)
        if (img[m->key[k]] == A_ || img[m->key[k]] == N_) return false;
    return true;
}

static int m_find_key(const mtab *m, const int64_t *img)
{
    for (int i = 0; i < m->n; i++) {
        bool eq = true;
        for (uint32_t k = 0; k < m->n_key && eq; k++) eq = m->r[i][m->key[k]] == img[m->key[k]];
        if (eq) return i;
    }
    return -1;
}

/* m_find_match: the first row equal in every present column (NULL <=> NULL) */
static int m_find_match(const mtab *m, const int64_t *img)
{
    for (int i = 0; i < m->n; i++) {
        bool eq = true;
        for (uint32_t c = 0; c < m->n_cols && eq; c++) eq = img[c] == A_ || m->r[i][c] == img[c];
        if (eq) return i;
    }
    return -1;
}

static void m_remove(mtab *m, int i)
{
    if (i < 0) return;
    memmove(m->r[i], m->r[i + 1], (size_t)(m->n - i - 1) * sizeof(m->r[0]));
    m->n--;
}

static void m_set(mtab *m, int i, const int64_t *img)
{
    for (uint32_t c = 0; c < m->n_cols; c++)
        if (img[c] != A_) m->r[i][c] = img[c];
}

static void m_append(mtab *m, const int64_t *img)
{
    assert_true(m->n < MAXR);
    for (uint32_t c = 0; c < m->n_cols; c++) m->r[m->n][c] = default_of(c);
    m_set(m, m->n++, img);
}

static void m_upsert(mtab *m, const int64_t *img)
{
    int i = m_find_key(m, img);
    if (i >= 0)
        m_set(m, i, img);
    else
        m_append(m, img);
}

/* m_apply applies one change the way the MySQL sink does: upsert by key,
 * delete by key, a full UPDATE as delete-if-the-key-changed + upsert, a
 * partial one as UPDATE ... WHERE key (or every present column, LIMIT 1),
 * plain INSERT and DELETE ... LIMIT 1 without a usable key. */
static void m_apply(mtab *m, const cot_change *ch)
{
    int64_t b[MAXC], a[MAXC];
    if (ch->before) ints_of(ch->before, m->n_cols, b);
    if (ch->after) ints_of(ch->after, m->n_cols, a);
    switch (ch->op) {
    case OP_INSERT:
        if (m_usable(m, a))
            m_upsert(m, a);
        else
            m_append(m, a);
        break;
    case OP_UPDATE: {
        bool full = true;
        for (uint32_t c = 0; c < m->n_cols; c++) full = full && a[c] != A_;
        bool bk = m_usable(m, b), ak = m_usable(m, a);
        if (bk && full) {
            bool same = ak;
            for (uint32_t k = 0; k < m->n_key && same; k++) same = b[m->key[k]] == a[m->key[k]];
            if (!same) m_remove(m, m_find_key(m, b));
            if (ak)
                m_upsert(m, a);
            else
                m_append(m, a);
        } else {
            int i = bk ? m_find_key(m, b) : m_find_match(m, b);
            if (i >= 0) m_set(m, i, a);
        }
        break;
    }
    case OP_DELETE:
        m_remove(m, m_usable(m, b) ? m_find_key(m, b) : m_find_match(m, b));
        break;
    default:
        fail_msg("model: unknown op %u", (unsigned)ch->op);
    }
}

static int row_cmp(const void *x, const void *y)
{
    const int64_t *a = x, *b = y;
    for (int c = 0; c < MAXC; c++)
        if (a[c] != b[c]) return a[c] < b[c] ? -1 : 1;
    return 0;
}

static bool m_equal(mtab *x, mtab *y)
{
    if (x->n != y->n) return false;
    qsort(x->r, (size_t)x->n, sizeof(x->r[0]), row_cmp);
    qsort(y->r, (size_t)y->n, sizeof(y->r[0]), row_cmp);
    return memcmp(x->r, y->r, (size_t)x->n * sizeof(x->r[0])) == 0;
}

static void m_print(const char *what, const mtab *m)
{
    fprintf(stderr, "  %s:", what);
    for (int i = 0; i < m->n; i++) {
        fprintf(stderr, " (");
        for (uint32_t c = 0; c < m->n_cols; c++) {
            int64_t v = m->r[i][c];
            if (v == N_)
                fprintf(stderr, "%sN", c ? "," : "");
            else
                fprintf(stderr, "%s%lld", c ? "," : "", (long long)v);
        }
        fprintf(stderr, ")");
    }
    fprintf(stderr, "\n");
}

/* ---- a model of a source: consistent row changes with realistic images ---- */

enum { IMG_FULL = 0, IMG_MINIMAL, IMG_NOBLOB };

typedef struct gtab {
    const char *name;
    cot_table *obj[2]; /* two table objects of one target (a TABLE_MAP sent again) */
    int n_obj;
    uint32_t n_cols;
    uint32_t key[2];
    uint32_t n_key;
    bool null_key; /* a UNIQUE key on nullable columns, no primary key */
    int blob;      /* the column NOBLOB leaves out, -1 none */
    mtab src, seq, mrg;
} gtab;

typedef struct gen {
    uint64_t rng;
    int mode;
    gtab *tabs;
    int n_tabs;
    uint64_t val; /* fresh values for updates */
} gen;

static uint32_t rnd(gen *g, uint32_t n)
{
    g->rng ^= g->rng << 13;
    g->rng ^= g->rng >> 7;
    g->rng ^= g->rng << 17;
    return n ? (uint32_t)((g->rng >> 11) % n) : 0;
}

static bool is_key_col(const gtab *t, uint32_t c)
{
    for (uint32_t k = 0; k < t->n_key; k++)
        if (t->key[k] == c) return true;
    return false;
}

static bool has_pk(const gtab *t)
{
    return t->n_key && !t->null_key;
}

/* key_space_value: values a key column takes (small, so keys collide) */
static int64_t key_value(gen *g, const gtab *t, uint32_t k)
{
    return (int64_t)rnd(g, t->n_key == 1 ? 5 : (k == 0 ? 3 : 2));
}

static bool key_live(const gtab *t, const int64_t *row, int skip)
{
    for (int i = 0; i < t->src.n; i++) {
        if (i == skip) continue;
        bool eq = true;
        for (uint32_t k = 0; k < t->n_key && eq; k++) eq = t->src.r[i][t->key[k]] == row[t->key[k]];
        if (eq) return true;
    }
    return false;
}

/* pick_key writes a key into row that no other live row has (or NULL for a
 * nullable key); returns false when the small key space is full. */
static bool pick_key(gen *g, const gtab *t, int64_t *row, int skip)
{
    if (t->null_key && rnd(g, 4) == 0) {
        for (uint32_t k = 0; k < t->n_key; k++) row[t->key[k]] = N_;
        return true;
    }
    for (int tries = 0; tries < 24; tries++) {
        for (uint32_t k = 0; k < t->n_key; k++) row[t->key[k]] = key_value(g, t, k);
        if (!key_live(t, row, skip)) return true;
    }
    return false;
}

static int64_t plain_value(gen *g)
{
    return rnd(g, 8) == 0 ? N_ : (int64_t)rnd(g, 4);
}

static void before_image(const gen *g, const gtab *t, const int64_t *row, int64_t *img)
{
    for (uint32_t c = 0; c < t->n_cols; c++) {
        img[c] = row[c];
        if (g->mode == IMG_MINIMAL && has_pk(t) && !is_key_col(t, c)) img[c] = A_;
        if (g->mode == IMG_NOBLOB && has_pk(t) && (int)c == t->blob) img[c] = A_;
    }
}

static cot_table *pick_obj(gen *g, const gtab *t)
{
    return t->obj[rnd(g, (uint32_t)t->n_obj)];
}

/* gen_change appends one consistent change of a random table to ck and
 * applies it to that table's source model; false if none was possible. */
static bool gen_change(gen *g, cot_chunk *ck)
{
    gtab *t = &g->tabs[rnd(g, (uint32_t)g->n_tabs)];
    uint32_t what = rnd(g, 10);
    int64_t row[MAXC], b[MAXC], a[MAXC];
    if (t->src.n == 0 || what < 3) { /* INSERT */
        if (t->src.n >= MAXR / 2) return false;
        for (uint32_t c = 0; c < t->n_cols; c++) row[c] = plain_value(g);
        if (t->n_key && !pick_key(g, t, row, -1)) return false;
        for (uint32_t c = 0; c < t->n_cols; c++) {
            a[c] = row[c];
            if (g->mode == IMG_MINIMAL && !is_key_col(t, c) && rnd(g, 4) == 0) {
                a[c] = A_;
                row[c] = default_of(c); /* the column got its default on the source */
            }
        }
        add(ck, OP_INSERT, pick_obj(g, t), NULL, a);
        m_append(&t->src, row);
        return true;
    }
    int i = (int)rnd(g, (uint32_t)t->src.n);
    if (what < 6) { /* DELETE */
        before_image(g, t, t->src.r[i], b);
        add(ck, OP_DELETE, pick_obj(g, t), b, NULL);
        m_remove(&t->src, i);
        return true;
    }
    /* UPDATE: some columns, sometimes the key */
    memcpy(row, t->src.r[i], sizeof(row));
    for (uint32_t c = 0; c < t->n_cols; c++)
        if (!is_key_col(t, c) && rnd(g, 2)) row[c] = rnd(g, 6) ? (int64_t)(100 + g->val++) : N_;
    if (t->n_key && rnd(g, 3) == 0 && !pick_key(g, t, row, i)) return false;
    before_image(g, t, t->src.r[i], b);
    uint32_t forced = rnd(g, t->n_cols);
    for (uint32_t c = 0; c < t->n_cols; c++) {
        bool changed = row[c] != t->src.r[i][c];
        a[c] = row[c];
        if (g->mode == IMG_MINIMAL && !changed && c != forced) a[c] = A_;
        if (g->mode == IMG_NOBLOB && (int)c == t->blob && !changed) a[c] = A_;
    }
    add(ck, OP_UPDATE, pick_obj(g, t), b, a);
    memcpy(t->src.r[i], row, sizeof(row));
    return true;
}

static bool gen_key_of(void *ctx, const cot_table *tbl, const uint32_t **cols, uint32_t *n)
{
    gen *g = ctx;
    for (int i = 0; i < g->n_tabs; i++) {
        gtab *t = &g->tabs[i];
        if (t->obj[0] != tbl && t->obj[1] != tbl) continue;
        if (has_pk(t)) return false; /* the table's own primary key */
        *cols = t->key;
        *n = t->n_key; /* the nullable unique key, or none */
        return true;
    }
    return false;
}

/* The tables of the randomized runs: k1 (c0 primary key, c3 a BLOB, two
 * table objects), kc (primary key (c2, c0)), kn (UNIQUE on nullable c0, no
 * primary key), nk (no key). */
static void tabs_init(gtab *tabs, int *n_tabs)
{
    memset(tabs, 0, 4 * sizeof(gtab));
    tabs[0] = (gtab){.name = "k1", .n_cols = 4, .key = {0}, .n_key = 1, .blob = 3};
    tabs[1] = (gtab){.name = "kc", .n_cols = 4, .key = {2, 0}, .n_key = 2, .blob = 3};
    tabs[2] =
        (gtab){.name = "kn", .n_cols = 3, .key = {0}, .n_key = 1, .null_key = true, .blob = -1};
    tabs[3] = (gtab){.name = "nk", .n_cols = 3, .n_key = 0, .blob = -1};
    for (int i = 0; i < 4; i++) {
        gtab *t = &tabs[i];
        t->n_obj = i == 0 ? 2 : 1;
        for (int o = 0; o < t->n_obj; o++)
            t->obj[o] = table_new("s", t->name, t->n_cols, t->key, has_pk(t) ? t->n_key : 0);
        if (t->n_obj == 1) t->obj[1] = t->obj[0];
        mtab m = {.n_cols = t->n_cols, .key = t->key, .n_key = t->n_key};
        t->src = t->seq = t->mrg = m;
    }
    *n_tabs = 4;
}

static void tabs_deinit(gtab *tabs, int n_tabs)
{
    for (int i = 0; i < n_tabs; i++) {
        cot_table_unref(tabs[i].obj[0]);
        if (tabs[i].obj[1] != tabs[i].obj[0]) cot_table_unref(tabs[i].obj[1]);
    }
}

static gtab *tab_of(gen *g, const cot_table *tbl)
{
    for (int i = 0; i < g->n_tabs; i++)
        if (strcmp(g->tabs[i].name, tbl->name) == 0) return &g->tabs[i];
    fail_msg("no table %s", tbl->name);
    return NULL;
}

static void print_run(cot_chunk **cks, int n_cks, const cot_chunk *out)
{
    for (int i = 0; i < n_cks; i++) fprintf(stderr, "  in[%d]: %s\n", i, render(cks[i]));
    fprintf(stderr, "  merged: %s\n", render(out));
}

/* check_no_key_twice: with FULL images and no NULL key, a keyed table writes
 * each key at most once. */
static bool check_no_key_twice(const gen *g, const cot_chunk *out)
{
    for (uint32_t i = 0; i < out->n_changes; i++) {
        const cot_change *x = &out->changes[i];
        const gtab *t = NULL;
        for (int j = 0; j < g->n_tabs; j++)
            if (strcmp(g->tabs[j].name, x->tbl->name) == 0) t = &g->tabs[j];
        if (!t || !has_pk(t)) continue;
        const cot_value *xi = x->op == OP_DELETE ? x->before : x->after;
        for (uint32_t j = i + 1; j < out->n_changes; j++) {
            const cot_change *y = &out->changes[j];
            if (strcmp(y->tbl->name, x->tbl->name) != 0) continue;
            const cot_value *yi = y->op == OP_DELETE ? y->before : y->after;
            bool same = true;
            for (uint32_t k = 0; k < t->n_key && same; k++)
                same =
                    xi[t->key[k]].kind == yi[t->key[k]].kind && xi[t->key[k]].i == yi[t->key[k]].i;
            if (same) return false;
        }
    }
    return true;
}

/* run_case generates one random run, applies it change by change and
 * merged, and compares. drift: the target starts different from the source
 * (FULL images and keyed tables only). Returns false on a mismatch. */
static bool run_case(uint64_t seed, bool drift, merge_stats *total)
{
    gtab tabs[4];
    gen g = {.rng = seed * 0x9e3779b97f4a7c15ULL + 1};
    tabs_init(tabs, &g.n_tabs);
    g.tabs = tabs;
    g.mode = drift ? IMG_FULL : (int)rnd(&g, 3);
    if (drift) g.n_tabs = 2; /* k1 and kc */

    /* a random starting table on the source, copied to the target */
    for (int i = 0; i < g.n_tabs; i++) {
        int n0 = (int)rnd(&g, 5);
        for (int r = 0; r < n0; r++) {
            int64_t row[MAXC];
            for (uint32_t c = 0; c < tabs[i].n_cols; c++) row[c] = plain_value(&g);
            if (tabs[i].n_key && !pick_key(&g, &tabs[i], row, -1)) continue;
            m_append(&tabs[i].src, row);
        }
        tabs[i].seq.n = tabs[i].mrg.n = tabs[i].src.n;
        memcpy(tabs[i].seq.r, tabs[i].src.r, sizeof(tabs[i].src.r));
        memcpy(tabs[i].mrg.r, tabs[i].src.r, sizeof(tabs[i].src.r));
        if (drift) { /* the target has its own idea of some rows */
            for (int r = 0; r < 3; r++) {
                int64_t row[MAXC];
                for (uint32_t c = 0; c < tabs[i].n_cols; c++) row[c] = plain_value(&g);
                for (uint32_t k = 0; k < tabs[i].n_key; k++)
                    row[tabs[i].key[k]] = key_value(&g, &tabs[i], k);
                int at = m_find_key(&tabs[i].seq, row);
                if (at >= 0 && rnd(&g, 2)) {
                    m_remove(&tabs[i].seq, at);
                    m_remove(&tabs[i].mrg, at);
                } else {
                    m_upsert(&tabs[i].seq, row);
                    m_upsert(&tabs[i].mrg, row);
                }
            }
        }
    }

    cot_chunk *cks[48];
    int n_cks = 0;
    int n_changes = 1 + (int)rnd(&g, 40);
    cks[n_cks++] = chunk_new(1);
    for (int i = 0; i < n_changes; i++) {
        if (cks[n_cks - 1]->n_changes && rnd(&g, 3) == 0 && n_cks < 48) {
            cks[n_cks] = chunk_new((uint64_t)n_cks + 1);
            n_cks++;
        }
        gen_change(&g, cks[n_cks - 1]);
    }

    merger *mg = merger_new(gen_key_of, &g);
    for (int i = 0; i < n_cks; i++) {
        for (uint32_t j = 0; j < cks[i]->n_changes; j++) {
            const cot_change *ch = &cks[i]->changes[j];
            m_apply(&tab_of(&g, ch->tbl)->seq, ch);
        }
        assert_int_equal(merger_add(mg, cks[i]), COT_OK);
    }
    merge_stats st;
    cot_chunk *out = merger_finish(mg, &st);
    for (uint32_t j = 0; j < out->n_changes; j++)
        m_apply(&tab_of(&g, out->changes[j].tbl)->mrg, &out->changes[j]);

    bool ok = true;
    for (int i = 0; i < g.n_tabs && ok; i++) {
        gtab *t = &tabs[i];
        if (!drift && !m_equal(&t->seq, &t->src)) {
            fprintf(stderr, "seed %llu: the model sink does not follow the source on %s\n",
                    (unsigned long long)seed, t->name);
            m_print("source", &t->src);
            m_print("one by one", &t->seq);
            ok = false;
        } else if (!m_equal(&t->seq, &t->mrg)) {
            fprintf(stderr, "seed %llu (mode %d%s): merged differs on %s\n",
                    (unsigned long long)seed, g.mode, drift ? ", drift" : "", t->name);
            m_print("one by one", &t->seq);
            m_print("merged", &t->mrg);
            ok = false;
        }
    }
    if (ok && g.mode == IMG_FULL && !check_no_key_twice(&g, out)) {
        fprintf(stderr, "seed %llu: a key is written twice with FULL images\n",
                (unsigned long long)seed);
        ok = false;
    }
    if (!ok) print_run(cks, n_cks, out);
    total->changes_in += st.changes_in;
    total->changes_out += st.changes_out;
    total->tables_unmerged += st.tables_unmerged;
    total->tables += st.tables;

    cot_chunk_free(out);
    merger_free(mg);
    for (int i = 0; i < n_cks; i++) cot_chunk_free(cks[i]);
    tabs_deinit(tabs, 4);
    return ok;
}

static void test_random_runs_match_one_by_one(void **state)
{
    (void)state;
    merge_stats total = {0};
    int failures = 0;
    for (uint64_t seed = 1; seed <= 20000 && failures < 3; seed++)
        if (!run_case(seed, false, &total)) failures++;
    assert_int_equal(failures, 0);
    print_message("random runs: %u changes merged into %u; %u of %u tables unmerged\n",
                  (unsigned)total.changes_in, (unsigned)total.changes_out,
                  (unsigned)total.tables_unmerged, (unsigned)total.tables);
    /* merging happened: far fewer changes out than in */
    assert_true(total.changes_out < total.changes_in * 9 / 10);
}

static void test_random_runs_on_a_drifted_target(void **state)
{
    (void)state;
    merge_stats total = {0};
    int failures = 0;
    for (uint64_t seed = 1; seed <= 5000 && failures < 3; seed++)
        if (!run_case(seed + 1000000, true, &total)) failures++;
    assert_int_equal(failures, 0);
    assert_int_equal(total.tables_unmerged, 0);
}

static void test_with_colliding_hashes(void **state)
{
    /* every lookup now goes through the key, kind, byte and name comparisons */
    merge__test_collide(true);
    test_composite_key(state);
    test_string_keys_compare_bytes(state);
    test_other_value_kinds(state);
    test_same_name_other_schema_is_other_table(state);
    test_tables_interleaved(state);
    test_key_swap_via_temp(state);
    merge_stats total = {0};
    int failures = 0;
    for (uint64_t seed = 1; seed <= 2000 && failures < 3; seed++)
        if (!run_case(seed + 2000000, false, &total)) failures++;
    merge__test_collide(false);
    assert_int_equal(failures, 0);
}

/* ---- every sequence of one to three operations on two keys ---- */

enum { ACT_INS, ACT_INS_PARTIAL, ACT_UPD, ACT_MOVE, ACT_DEL, N_ACT };

/* seq_apply_action turns action act on key k (0 or 1) into a change of the
 * source; false when it is not possible in the source's state. */
static bool seq_action(gen *g, gtab *t, cot_chunk *ck, int act, int64_t k)
{
    int64_t probe[MAXC] = {k, 0, 0, 0}, row[MAXC], b[MAXC], a[MAXC];
    int i = m_find_key(&t->src, probe);
    cot_table *tbl = t->obj[0];
    switch (act) {
    case ACT_INS:
    case ACT_INS_PARTIAL:
        if (i >= 0) return false;
        if (act == ACT_INS_PARTIAL && g->mode != IMG_MINIMAL) return false;
        row[0] = a[0] = k;
        for (uint32_t c = 1; c < t->n_cols; c++) row[c] = a[c] = (int64_t)(100 + g->val++);
        if (act == ACT_INS_PARTIAL) {
            a[2] = A_;
            row[2] = default_of(2);
        }
        add(ck, OP_INSERT, tbl, NULL, a);
        m_append(&t->src, row);
        return true;
    case ACT_UPD:
    case ACT_MOVE:
        if (i < 0) return false;
        memcpy(row, t->src.r[i], sizeof(row));
        row[1] = (int64_t)(100 + g->val++);
        if (act == ACT_MOVE) {
            row[0] = 1 - k;
            if (m_find_key(&t->src, row) >= 0) return false;
        }
        before_image(g, t, t->src.r[i], b);
        for (uint32_t c = 0; c < t->n_cols; c++) {
            a[c] = row[c];
            bool changed = row[c] != t->src.r[i][c];
            if (g->mode == IMG_MINIMAL && !changed) a[c] = A_;
            if (g->mode == IMG_NOBLOB && (int)c == t->blob) a[c] = A_;
        }
        add(ck, OP_UPDATE, tbl, b, a);
        memcpy(t->src.r[i], row, sizeof(row));
        return true;
    case ACT_DEL:
        if (i < 0) return false;
        before_image(g, t, t->src.r[i], b);
        add(ck, OP_DELETE, tbl, b, NULL);
        m_remove(&t->src, i);
        return true;
    }
    return false;
}

static void test_all_short_sequences(void **state)
{
    (void)state;
    int ran = 0, merged_away = 0;
    for (int mode = IMG_FULL; mode <= IMG_NOBLOB; mode++) {
        for (int start = 0; start < 4; start++) {
            for (int len = 1; len <= 3; len++) {
                int n_seq = 1;
                for (int j = 0; j < len; j++) n_seq *= N_ACT * 2;
                for (int s = 0; s < n_seq; s++) {
                    for (int split = 0; split < 2; split++) {
                        gtab tabs[4];
                        gen g = {.rng = 1, .mode = mode};
                        tabs_init(tabs, &g.n_tabs);
                        g.tabs = tabs;
                        g.n_tabs = 1;
                        gtab *t = &tabs[0];
                        for (int64_t k = 0; k < 2; k++) {
                            if (!(start & (1 << k))) continue;
                            int64_t row[MAXC] = {k, 10 + k, 20 + k, 30 + k};
                            m_append(&t->src, row);
                            m_append(&t->seq, row);
                            m_append(&t->mrg, row);
                        }
                        cot_chunk *cks[3];
                        int n_cks = 0;
                        bool valid = true;
                        cks[n_cks++] = chunk_new(1);
                        for (int j = 0, code = s; j < len && valid; j++, code /= N_ACT * 2) {
                            if (split && j) cks[n_cks++] = chunk_new((uint64_t)j + 1);
                            valid =
                                seq_action(&g, t, cks[n_cks - 1], code % N_ACT, (code / N_ACT) % 2);
                        }
                        if (valid) {
                            merger *mg = merger_new(NULL, NULL);
                            for (int c = 0; c < n_cks; c++) {
                                for (uint32_t j = 0; j < cks[c]->n_changes; j++)
                                    m_apply(&t->seq, &cks[c]->changes[j]);
                                assert_int_equal(merger_add(mg, cks[c]), COT_OK);
                            }
                            cot_chunk *out = merger_finish(mg, NULL);
                            for (uint32_t j = 0; j < out->n_changes; j++)
                                m_apply(&t->mrg, &out->changes[j]);
                            bool ok = m_equal(&t->seq, &t->src) && m_equal(&t->seq, &t->mrg);
                            if (ok && mode == IMG_FULL) ok = check_no_key_twice(&g, out);
                            if (!ok) {
                                fprintf(stderr, "mode %d start %d sequence %d split %d\n", mode,
                                        start, s, split);
                                m_print("source", &t->src);
                                m_print("one by one", &t->seq);
                                m_print("merged", &t->mrg);
                                print_run(cks, n_cks, out);
                            }
                            assert_true(ok);
                            uint32_t n_in = 0;
                            for (int c = 0; c < n_cks; c++) n_in += cks[c]->n_changes;
                            if (out->n_changes < n_in) merged_away++;
                            ran++;
                            cot_chunk_free(out);
                            merger_free(mg);
                        }
                        for (int c = 0; c < n_cks; c++) cot_chunk_free(cks[c]);
                        tabs_deinit(tabs, 4);
                    }
                }
            }
        }
    }
    print_message("short sequences: %d checked, %d merged into fewer changes\n", ran, merged_away);
    assert_true(ran > 1000);
    assert_true(merged_away > ran / 4);
}

/* ---- size ---- */

static void test_hundred_thousand_changes(void **state)
{
    (void)state;
    enum { KEYS = 25000 };
    cot_table *t = t3();
    cot_chunk *cks[4];
    for (int pass = 0; pass < 4; pass++) {
        cks[pass] = chunk_new((uint64_t)pass + 1);
        for (int64_t k = 0; k < KEYS; k++) {
            if (pass == 0)
                I(cks[pass], t, k, 0, k);
            else if (pass < 3 || k % 2 == 0)
                U(cks[pass], t, V(k, pass - 1, k), k, pass, k);
            else
                D(cks[pass], t, k, pass - 1, k);
        }
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    merger *mg = merger_new(NULL, NULL);
    for (int pass = 0; pass < 4; pass++) assert_int_equal(merger_add(mg, cks[pass]), COT_OK);
    merge_stats st;
    cot_chunk *out = merger_finish(mg, &st);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    print_message("merged %u changes into %u in %.1f ms\n", (unsigned)st.changes_in,
                  (unsigned)st.changes_out, ms);
    assert_int_equal(st.changes_in, 4 * KEYS);
    assert_int_equal(st.keys, KEYS);
    assert_int_equal(out->n_changes, KEYS);
    for (uint32_t i = 0; i < KEYS / 2; i++) { /* odd keys: I+U+U+D -> D first */
        assert_int_equal(out->changes[i].op, OP_DELETE);
        assert_int_equal(out->changes[i].before[0].i, 2 * (int64_t)i + 1);
    }
    for (uint32_t i = 0; i < KEYS / 2; i++) { /* even keys: I+U+U+U -> I, final image */
        const cot_change *ch = &out->changes[KEYS / 2 + i];
        assert_int_equal(ch->op, OP_INSERT);
        assert_int_equal(ch->after[0].i, 2 * (int64_t)i);
        assert_int_equal(ch->after[1].i, 3);
    }
    cot_chunk_free(out);

    /* the merger is reusable after a big run */
    cot_chunk *small = chunk_new(9);
    I(small, t, 1, 1, 1);
    assert_int_equal(merger_add(mg, small), COT_OK);
    out = merger_finish(mg, NULL);
    assert_string_equal(render(out), "t.I(1,1,1)");
    cot_chunk_free(out);
    cot_chunk_free(small);
    merger_free(mg);
    for (int pass = 0; pass < 4; pass++) cot_chunk_free(cks[pass]);
    cot_table_unref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_update_is_insert),
        cmocka_unit_test(test_update_update_keeps_first_before),
        cmocka_unit_test(test_anything_delete_is_delete),
        cmocka_unit_test(test_delete_insert_is_insert),
        cmocka_unit_test(test_delete_partial_insert_keeps_delete),
        cmocka_unit_test(test_update_of_deleted_row),
        cmocka_unit_test(test_minimal_images_combine),
        cmocka_unit_test(test_noblob_images_combine),
        cmocka_unit_test(test_update_full_after_patch),
        cmocka_unit_test(test_patch_then_partial_insert_kept_in_order),
        cmocka_unit_test(test_key_change_chain),
        cmocka_unit_test(test_key_change_then_insert_old_key),
        cmocka_unit_test(test_key_swap_via_temp),
        cmocka_unit_test(test_partial_key_change_of_known_row),
        cmocka_unit_test(test_partial_key_change_of_unknown_row_falls_back),
        cmocka_unit_test(test_absent_key_column_falls_back),
        cmocka_unit_test(test_malformed_change_falls_back),
        cmocka_unit_test(test_null_key_rows_kept_in_order),
        cmocka_unit_test(test_keyless_table_kept_in_order),
        cmocka_unit_test(test_composite_key),
        cmocka_unit_test(test_string_keys_compare_bytes),
        cmocka_unit_test(test_other_value_kinds),
        cmocka_unit_test(test_tables_interleaved),
        cmocka_unit_test(test_same_target_two_table_objects),
        cmocka_unit_test(test_same_name_other_schema_is_other_table),
        cmocka_unit_test(test_key_override),
        cmocka_unit_test(test_ddl_is_a_barrier),
        cmocka_unit_test(test_positions_and_empty_chunks),
        cmocka_unit_test(test_output_outlives_merger),
        cmocka_unit_test(test_all_short_sequences),
        cmocka_unit_test(test_random_runs_match_one_by_one),
        cmocka_unit_test(test_random_runs_on_a_drifted_target),
        cmocka_unit_test(test_with_colliding_hashes),
        cmocka_unit_test(test_hundred_thousand_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
