/*
 * libFuzzer target for the initial load's text formats:
 *  - sql_bulk_row, the LOAD DATA line of a row: any bytes in a text or
 *    binary value must come back unchanged when the line is read the way
 *    the server reads it (tab-separated, backslash escapes, \N for NULL),
 *    and a refused row must leave the buffer as it was;
 *  - snap_split_keys, the SHOW CREATE TABLE split: it never reads past the
 *    text, keeps the first line, and defers only "KEY" definitions.
 *
 * Input: byte 0 picks NULL / text / binary for the second column, then the
 * rest is the value (and the CREATE TABLE text for the split).
 */
#include "sink/sink_mysql_sql.h"
#include "snapshot/snapshot_key.h"
#include "util/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* unescape_field reads one field of a LOAD DATA line at *p (up to end):
 * returns its length in out, or -1 for \N; moves *p past the separator. */
static long unescape_field(const char **p, const char *end, char *out)
{
    long n = 0;
    const char *s = *p;
    if (end - s >= 2 && s[0] == '\\' && s[1] == 'N' &&
        (end - s == 2 || s[2] == '\t' || s[2] == '\n')) {
        *p = s + 3;
        return -1;
    }
    while (s < end && *s != '\t' && *s != '\n') {
        if (*s == '\\' && s + 1 < end) {
            s++;
            out[n++] = *s == 't' ? '\t' : *s == 'n' ? '\n' : *s == '0' ? '\0' : *s;
        } else {
            if (*s == '\\') abort(); /* a lone escape at the end */
            out[n++] = *s;
        }
        s++;
    }
    *p = s + 1;
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    uint8_t mode = data[0] % 3;
    const char *val = (const char *)data + 1;
    uint32_t len = (uint32_t)(size - 1);

    cot_table *t = cot_table_new("d", "t", 2);
    t->has_names = true;
    t->cols[0].name = strdup("id");
    t->cols[0].type = CT_LONG;
    t->cols[1].name = strdup("v");
    t->cols[1].type = mode == 2 ? CT_BLOB : CT_VARCHAR;
    t->cols[1].charset = mode == 2 ? NULL : cot_charset_intern("utf8mb4");
    sql_tdesc *td = sql_tdesc_new("d", "t");
    sql_tdesc_add_col(td, "id", "int", false, false);
    sql_tdesc_add_col(td, "v", mode == 2 ? "blob" : "varchar", true, false);
    if (mode != 2) sql_tdesc_set_charset(td, "utf8mb4");
    sql_index_part part = {"PRIMARY", "id", 1};
    if (sql_tdesc_pick_key(td, &part, 1) != COT_OK) abort();
    td->n_unique = 1;
    if (sql_tdesc_map(td, t, "fuzz") != COT_OK || !sql_tdesc_bulk_ok(td)) abort();

    cot_value img[2];
    memset(img, 0, sizeof(img));
    img[0].kind = VK_INT;
    img[0].i = (int64_t)len - 5;
    img[1].kind = mode == 0 ? VK_NULL : mode == 1 ? VK_STRING : VK_BINARY;
    img[1].s.p = val;
    img[1].s.len = len;
    buf b;
    buf_init(&b);
    buf_puts(&b, "x");
    if (!sql_bulk_row(&b, td, img)) abort(); /* text and bytes always travel */
    const char *p = b.data + 1, *end = b.data + b.len;
    if (end[-1] != '\n') abort();
    char *field = malloc(2 * (size_t)len + 32);
    if (!field) abort();
    long n = unescape_field(&p, end, field);
    field[n < 0 ? 0 : n] = '\0';
    if (n < 0 || strtoll(field, NULL, 10) != img[0].i) abort();
    n = unescape_field(&p, end, field);
    if (mode == 0 ? n != -1 : (n != (long)len || memcmp(field, val, len) != 0)) abort();
    if (p != end) abort();
    free(field);

    /* a value text cannot carry leaves the buffer untouched */
    size_t before = b.len;
    img[1].kind = VK_ABSENT;
    if (sql_bulk_row(&b, td, img) || b.len != before) abort();
    buf_deinit(&b);
    sql_tdesc_free(td);
    cot_table_unref(t);

    buf bare, keys;
    buf_init(&bare);
    buf_init(&keys);
    if (snap_split_keys(val, len, &bare, &keys)) {
        /* the first line is kept as it is; only KEY definitions are deferred */
        const char *nl = memchr(val, '\n', len);
        if (!keys.len || !nl || bare.len < (size_t)(nl - val) ||
            memcmp(bare.data, val, (size_t)(nl - val)) != 0)
            abort();
        for (const char *k = keys.data; k;) {
            if (strncmp(k, "KEY ", 4) != 0) abort();
            k = strchr(k, '\n');
            if (k) k++;
        }
    }
    buf_deinit(&bare);
    buf_deinit(&keys);
    return 0;
}
