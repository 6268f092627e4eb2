/*
 * libFuzzer target for the value parsers that see data from servers and
 * stored state: type conversion toward a target column (conv_value on
 * text, decimal and temporal values), the type compatibility check over
 * COLUMN_TYPE strings, and the snapshot's stored last key (parse must
 * accept exactly what format writes, and read back the same bytes).
 *
 * Input: byte 0 picks the target type, byte 1 its length/precision, then
 * the rest is split at the first NUL into two texts.
 */
#include "check/mapping_check.h"
#include "sink/sink_mysql_convert.h"
#include "snapshot/snapshot_key.h"
#include "util/arena.h"
#include "util/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const types[] = {"tinyint",   "smallint", "int",  "bigint",   "decimal",
                                    "float",     "double",   "char", "varchar",  "text",
                                    "varbinary", "blob",     "date", "datetime", "timestamp",
                                    "year",      "time",     "json", "enum",     "bit"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    const char *type = types[data[0] % (sizeof(types) / sizeof(types[0]))];
    uint32_t n = data[1];
    const char *rest = (const char *)data + 2;
    size_t len = size - 2;
    const char *nul = memchr(rest, 0, len);
    size_t len_a = nul ? (size_t)(nul - rest) : len;
    char *a = malloc(len_a + 1), *b = malloc(len - len_a + 1);
    if (!a || !b) abort();
    memcpy(a, rest, len_a);
    a[len_a] = 0;
    size_t len_b = nul ? len - len_a - 1 : 0;
    memcpy(b, nul ? nul + 1 : rest, len_b);
    b[len_b] = 0;

    /* conversion of a text, decimal or temporal value toward the target */
    conv_target t;
    conv_target_init(&t, "c", type, data[0] & 0x80, data[1] & 1, n, n * 4u, n % 66, n % 31, n % 7);
    cot_column col;
    memset(&col, 0, sizeof(col));
    col.charset = (data[1] & 2) ? "utf8mb4" : "latin1";
    static const uint8_t kinds[] = {VK_STRING, VK_DECIMAL, VK_TEMPORAL, VK_BINARY, VK_JSON};
    cot_value v = {.kind = kinds[data[0] % 5]};
    v.s.p = a;
    v.s.len = (uint32_t)len_a;
    arena mem;
    arena_init(&mem);
    cot_value out;
    conv_result r = conv_value(&t, &col, &v, &mem, &out);
    if (r == CONV_CHANGED || r == CONV_OVERFLOW) {
        /* a converted value is of a kind the SQL builder writes */
        if (out.kind > VK_GEOMETRY) abort();
    }
    conv_text_chars(col.charset, a, (uint32_t)len_a);

    /* COLUMN_TYPE strings from information_schema */
    char why[200];
    mapping_type_compat(a, b, why, sizeof(why));

    /* the stored last key: whatever parses formats back to the same text */
    uint32_t fields = (n % SNAP_KEY_MAX) + 1;
    snap_keyval kv;
    memset(&kv, 0, sizeof(kv));
    if (snap_lastkey_parse(a, fields, &mem, &kv)) {
        buf f;
        buf_init(&f);
        snap_lastkey_format(&f, &kv, fields);
        snap_keyval kv2;
        memset(&kv2, 0, sizeof(kv2));
        if (!snap_lastkey_parse(f.data ? f.data : "", fields, &mem, &kv2)) abort();
        for (uint32_t i = 0; i < fields; i++)
            if (kv.len[i] != kv2.len[i] || (kv.len[i] && memcmp(kv.p[i], kv2.p[i], kv.len[i]) != 0))
                abort();
        buf_deinit(&f);
    }
    /* a literal is written only when safe: never with a quote left bare */
    buf lit;
    buf_init(&lit);
    if (snap_key_literal(&lit, (uint8_t)(data[0] % 4), "utf8mb4", b, len_b) && lit.len &&
        !memchr(lit.data, 0, lit.len)) {
        /* NUMBER literals hold no quote and no comment start */
        if (data[0] % 4 == 0 && memchr(lit.data, '\'', lit.len)) abort();
        if (data[0] % 4 == 0 && lit.len >= 2)
            for (size_t i = 1; i < lit.len; i++)
                if (lit.data[i] == '-' && lit.data[i - 1] == '-') abort();
    }
    buf_deinit(&lit);
    arena_deinit(&mem);
    free(a);
    free(b);
    return 0;
}
