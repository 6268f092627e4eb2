/*
 * Unit tests of the SQLite meta store: save/load round trip, overwrite,
 * persistence across reopen, WAL mode, schema version checks, and errors
 * for a data_dir that cannot be created.
 */
#include "checkpoint/meta_store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char tmp_root[256];

static int setup(void **state)
{
    (void)state;
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/cotter-meta-XXXXXX");
    if (!mkdtemp(tmp_root)) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t cap, const char *rel)
{
    snprintf(out, cap, "%s/%s", tmp_root, rel);
}

static void test_round_trip_and_overwrite(void **state)
{
    (void)state;
    char dir[512];
    path_of(dir, sizeof(dir), "var/nested");
    meta_store *ms = NULL;
    assert_int_equal(meta_store_open(dir, &ms), COT_OK);
    assert_non_null(ms);

    cot_pos pos;
    uint32_t ts = 7;
    uint64_t rows = 7;
    bool found = true;
    assert_int_equal(meta_store_load_position(ms, "p1", &pos, &ts, &rows, &found), COT_OK);
    assert_false(found);
    assert_int_equal(ts, 0);
    assert_int_equal(rows, 0);
    assert_string_equal(pos.file, "");

    cot_pos p1 = {.file = "binlog.000001", .pos = 1234, .gtid = "0-1-55"};
    assert_int_equal(meta_store_save_position(ms, "p1", &p1, 1700000001u, 42), COT_OK);
    cot_pos p2 = {.file = "binlog.000009", .pos = 5, .gtid = ""};
    assert_int_equal(meta_store_save_position(ms, "p2", &p2, 3, UINT64_C(1) << 40), COT_OK);

    assert_int_equal(meta_store_load_position(ms, "p1", &pos, &ts, &rows, &found), COT_OK);
    assert_true(found);
    assert_string_equal(pos.file, "binlog.000001");
    assert_int_equal(pos.pos, 1234);
    assert_string_equal(pos.gtid, "0-1-55");
    assert_int_equal(ts, 1700000001u);
    assert_int_equal(rows, 42);

    /* Saving again replaces the copy. */
    cot_pos p3 = {.file = "binlog.000002", .pos = 4, .gtid = "0-1-60"};
    assert_int_equal(meta_store_save_position(ms, "p1", &p3, 1700000002u, 50), COT_OK);
    assert_int_equal(meta_store_load_position(ms, "p1", &pos, NULL, NULL, &found), COT_OK);
    assert_true(found);
    assert_string_equal(pos.file, "binlog.000002");
    assert_int_equal(pos.pos, 4);
    assert_string_equal(pos.gtid, "0-1-60");
    meta_store_close(ms);

    /* It survives a reopen, and the other pipeline's row is separate. */
    assert_int_equal(meta_store_open(dir, &ms), COT_OK);
    assert_int_equal(meta_store_load_position(ms, "p1", &pos, &ts, &rows, &found), COT_OK);
    assert_true(found);
    assert_int_equal(pos.pos, 4);
    assert_int_equal(rows, 50);
    assert_int_equal(meta_store_load_position(ms, "p2", &pos, &ts, &rows, &found), COT_OK);
    assert_true(found);
    assert_string_equal(pos.file, "binlog.000009");
    assert_int_equal(rows, UINT64_C(1) << 40);
    meta_store_close(ms);
}

static void test_wal_and_schema_version(void **state)
{
    (void)state;
    char dir[512], file[600];
    path_of(dir, sizeof(dir), "wal");
    snprintf(file, sizeof(file), "%s/meta.db", dir);
    meta_store *ms = NULL;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(meta_store_open(dir, &ms), COT_OK);
        meta_store_close(ms);
    }

    sqlite3 *db;
    assert_int_equal(sqlite3_open(file, &db), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT version FROM meta_schema", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), META_STORE_SCHEMA_VERSION);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE); /* exactly one row, also after reopen */
    sqlite3_finalize(st);

    /* A newer cotter's file is refused with a message, not misread. */
    assert_int_equal(sqlite3_exec(db, "UPDATE meta_schema SET version = 99", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(meta_store_open(dir, &ms), COT_ERR_UNSUPPORTED);
    assert_null(ms);
    assert_non_null(strstr(cot_err_msg(), "newer cotter"));
}

static void test_bad_data_dir(void **state)
{
    (void)state;
    char file[512], dir[600];
    path_of(file, sizeof(file), "plain-file");
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(dir, sizeof(dir), "%s/sub", file);
    meta_store *ms = (meta_store *)1;
    assert_int_equal(meta_store_open(dir, &ms), COT_ERR_IO);
    assert_null(ms);
    assert_non_null(strstr(cot_err_msg(), "plain-file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_and_overwrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_and_schema_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_data_dir, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
