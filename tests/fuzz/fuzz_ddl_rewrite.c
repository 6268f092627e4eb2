/*
 * libFuzzer target for the DDL rewriter and classifier. The first byte
 * picks the default schema (bits 0-1), the session's sql_mode (bit 2:
 * ANSI_QUOTES, bit 3: NO_BACKSLASH_ESCAPES), its charset and server
 * (bits 4-7: byte-wise, big5, sjis, gbk, gb18030; MariaDB, MySQL); the
 * rest is the statement. Any bytes must be rewritten, skipped
 * or refused with a message, never crash or read outside the input (the
 * input is copied into an exact-size buffer, so ASan sees an overread);
 * a rewritten statement must read back (ddl_parse_dl, same dialect) as the
 * same kind of statement naming the same target tables, and what is not
 * ours must leave no output.
 */
#include "sql/ddl_rewrite.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* shop.* -> wh.{table} but shop.skip_me; copy.* -> copy.{table}_copy with
 * shadows following their base; anything else is not copied. */
static bool route(void *ctx, const char *schema, const char *table, char *out_schema,
                  size_t schema_cap, char *out_table, size_t table_cap)
{
    (void)ctx;
    char base[DDL_NAME_CAP];
    if (strcmp(schema, "shop") == 0 && strcmp(table, "skip_me") != 0) {
        snprintf(out_schema, schema_cap, "wh");
        snprintf(out_table, table_cap, "%s", table);
        return true;
    }
    if (strcmp(schema, "copy") == 0) {
        snprintf(out_schema, schema_cap, "copy");
        if (ddl_shadow_base(table, base, sizeof(base)))
            snprintf(out_table, table_cap, "_%s_copy%s", base, table + 1 + strlen(base));
        else
            snprintf(out_table, table_cap, "%s_copy", table);
        return true;
    }
    return false;
}

static ddl_info info, again;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const schemas[] = {"", "shop", "other", "copy"};
    if (size < 1) return 0;
    static const unsigned charsets[] = {45, 1, 13, 28, 248};
    const char *def = schemas[data[0] % 4];
    uint64_t mode = ((data[0] & 4) ? DDL_MODE_ANSI_QUOTES : 0) |
                    ((data[0] & 8) ? DDL_MODE_NO_BACKSLASH_ESCAPES : 0);
    unsigned k = (unsigned)(data[0] >> 4);
    ddl_dialect dl;
    ddl_dialect_init(&dl, mode, charsets[k % 5], k >= 8 ? "8.0.36" : "10.11.6-MariaDB-log");
    size_t len = size - 1;
    char *sql = malloc(len ? len : 1);
    if (!sql) return 0;
    memcpy(sql, data + 1, len);

    buf out;
    buf_init(&out);
    ddl_class cls = ddl_classify(sql, len, &dl);
    cot_err rc = ddl_rewrite_dl(sql, len, def, &dl, route, NULL, &out, &info);
    if (rc == COT_OK && info.kind == DDL_REWRITTEN) {
        if (info.n_tables == 0 || info.stmt == DDL_STMT_OTHER) abort();
        if (cls != DDL_CLASS_TABLE) abort(); /* the stream hands every table statement over */
        if (ddl_parse_dl(out.data, out.len, "", &dl, &again) != COT_OK) abort();
        if (again.kind != DDL_REWRITTEN || again.stmt != info.stmt ||
            again.n_tables != info.n_tables)
            abort();
        for (uint32_t i = 0; i < info.n_tables && i < DDL_INFO_TABLES; i++) {
            if (strcmp(again.tables[i].src_schema, info.tables[i].dst_schema) != 0 ||
                strcmp(again.tables[i].src_name, info.tables[i].dst_name) != 0 ||
                again.tables[i].role != info.tables[i].role)
                abort();
        }
    } else if (rc == COT_OK) {
        if (out.len != 0 || info.n_tables != 0) abort();
    } else if (rc != COT_ERR_UNSUPPORTED) {
        abort();
    }
    ddl_parse_dl(sql, len, def, &dl, &again);
    char shown[320];
    if (ddl_preview(sql, len, &dl, shown, sizeof(shown)) >= sizeof(shown)) abort();

    /* the input as a table name: a shadow's base sits right after its "_" */
    char name[64], base[16];
    size_t n = len < sizeof(name) - 1 ? len : sizeof(name) - 1;
    memcpy(name, sql, n);
    name[n] = '\0';
    if (ddl_shadow_base(name, base, sizeof(base))) {
        size_t bl = strlen(base);
        if (name[0] != '_' || bl == 0 || bl >= sizeof(base) || strncmp(name + 1, base, bl) != 0)
            abort();
    }
    buf_deinit(&out);
    free(sql);
    return 0;
}
