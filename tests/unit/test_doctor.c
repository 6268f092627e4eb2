/*
 * Unit tests of the doctor's pure logic: the one-line hints a failed
 * pipeline shows (classified by errno or message), the reading of SHOW
 * GRANTS lines, and the mapping rules for column types and charsets.
 */
#include "check/check_results.h"
#include "check/check_sql.h"
#include "check/doctor.h"
#include "check/mapping_check.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle)) fail_msg("'%s' does not contain '%s'", hay, needle);
}

static void test_hint_auth(void **state)
{
    (void)state;
    char h[512];
    const char *r = doctor_hint(
        "cannot connect to source 'shop' at mysql://repl:***@127.0.0.1:3306: Access denied for "
        "user 'repl'@'localhost' (using password: YES) (errno 1045, SQLSTATE 28000, AUTH)",
        0, h, sizeof(h));
    assert_ptr_equal(r, h);
    assert_contains(h, "access denied");
    assert_contains(h, "sources.shop.url");
    /* the errno argument wins over the message */
    doctor_hint("cannot connect to target warehouse: whatever", 1045, h, sizeof(h));
    assert_contains(h, "targets.warehouse.url");
}

static void test_hint_grant(void **state)
{
    (void)state;
    char h[512];
    doctor_hint("target 'dst': statement failed [INSERT ...]: INSERT command denied to user "
                "'cot'@'localhost' for table `app`.`t` (errno 1142, SQLSTATE 42000)",
                0, h, sizeof(h));
    /* issue 18: not the connection's host (a GRANT to it fails with ERROR
     * 1133 when the account has a host pattern) */
    assert_contains(h, "GRANT INSERT ON `app`.* TO <account>");
    assert_contains(h, "CURRENT_USER() returns for user 'cot'");
    assert_null(strstr(h, "'cot'@'localhost'"));
    doctor_hint("source 'src': Access denied; you need (at least one of) the REPLICATION SLAVE "
                "privilege(s) for this operation (errno 1227)",
                0, h, sizeof(h));
    assert_contains(h, "GRANT REPLICATION SLAVE ON *.*");
}

static void test_hint_position(void **state)
{
    (void)state;
    char h[512];
    doctor_hint("source 'src': Could not find first log file name in binary log index file "
                "(errno 1236, SQLSTATE HY000); the source cannot serve this binlog position "
                "(purged, or not a position it wrote)",
                0, h, sizeof(h));
    assert_contains(h, "purged");
    assert_contains(h, "re-snapshot");
    doctor_hint("source 'src': Client requested master to start replication from impossible "
                "position (errno 1236); purged, or not a position it wrote",
                0, h, sizeof(h));
    assert_contains(h, "not an event boundary");
}

/* issue 18: a stall names its cause, not "check host and port" */
static void test_hint_stall_causes(void **state)
{
    (void)state;
    char h[512];
    doctor_hint("target 'dst': upsert of 1 row on st.t: blocked on the target for more than "
                "read_timeout (7 s), not a network fault: waiting 7 s for a row lock held by "
                "connection 21 (SQL_RETRY, retriable); statement: INSERT ...",
                0, h, sizeof(h));
    assert_contains(h, "not the network");
    doctor_hint("target 'dst': upsert of 1 row on st.b is 4194400 bytes of SQL (4194400 in the "
                "packet), more than the target's max_allowed_packet (1048576 bytes): ...",
                0, h, sizeof(h));
    assert_contains(h, "max_allowed_packet");
    doctor_hint("target 'dst': upsert of 1 row on st.t failed: The table 't' is full (errno "
                "1114, SQLSTATE HY000, SQL, not retriable)",
                0, h, sizeof(h));
    assert_contains(h, "disk");
    doctor_hint("target 'dst': insert failed: Disk full (/var/lib/mysql/t.ibd); waiting for "
                "someone to free some space... (errno 1021)",
                0, h, sizeof(h));
    assert_contains(h, "free space");
    doctor_hint("target 'dst': Error writing file './st/t.ibd' (Errcode: 28 \"No space left on "
                "device\") (errno 3)",
                0, h, sizeof(h));
    assert_contains(h, "disk is full");
}

static void test_hint_other(void **state)
{
    (void)state;
    char h[512];
    doctor_hint("cannot connect to source 'a' at mysql://x: Can't connect (errno 2003)", 0, h,
                sizeof(h));
    assert_contains(h, "cannot reach the server");
    assert_contains(h, "sources.a.url");
    doctor_hint("pipeline p1: mapping c.yaml:12 (app.t -> app.t): target table app.t has no "
                "column 'x'; fix: ALTER TABLE",
                0, h, sizeof(h));
    assert_contains(h, "mapping problem");
    /* nothing specific: NULL and an empty string */
    assert_null(doctor_hint("something odd happened", 0, h, sizeof(h)));
    assert_string_equal(h, "");
}

static void test_grants(void **state)
{
    (void)state;
    const char *g[] = {
        "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `repl`@`%` IDENTIFIED BY PASSWORD '*AA'",
        "GRANT SELECT, INSERT ON `app`.* TO `repl`@`%`",
        "GRANT UPDATE ON `crm`.`contacts` TO `repl`@`%`",
        "GRANT SELECT (a, b) ON `crm`.`people` TO `repl`@`%`",
    };
    assert_true(doctor_grants_have(g, 4, "REPLICATION SLAVE", NULL, NULL));
    assert_true(doctor_grants_have(g, 4, "REPLICATION CLIENT", NULL, NULL)); /* BINLOG MONITOR */
    assert_false(doctor_grants_have(g, 1, "SELECT", "app", NULL));
    assert_true(doctor_grants_have(g, 4, "SELECT", "app", NULL));
    assert_true(doctor_grants_have(g, 4, "INSERT", "app", "orders"));
    assert_false(doctor_grants_have(g, 4, "DELETE", "app", NULL));
    assert_false(doctor_grants_have(g, 4, "SELECT", "application", NULL));
    assert_true(doctor_grants_have(g, 4, "UPDATE", "crm", "contacts"));
    assert_false(doctor_grants_have(g, 4, "UPDATE", "crm", NULL)); /* one table is not the schema */
    assert_false(doctor_grants_have(g, 4, "SELECT", "crm", "people")); /* columns only */
    const char *all[] = {"GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"};
    assert_true(doctor_grants_have(all, 1, "DELETE", "x", NULL));
    assert_true(doctor_grants_have(all, 1, "REPLICATION SLAVE", NULL, NULL));
    const char *usage[] = {"GRANT USAGE ON *.* TO `u`@`%`"};
    assert_false(doctor_grants_have(usage, 1, "SELECT", "app", NULL));
}

static void test_types(void **state)
{
    (void)state;
    char why[300];
    assert_int_equal(mapping_type_compat("int(11)", "int(11)", why, sizeof(why)), MAPPING_OK);
    assert_int_equal(mapping_type_compat("int(11)", "bigint(20)", why, sizeof(why)), MAPPING_OK);
    assert_int_equal(mapping_type_compat("bigint(20)", "int(11)", why, sizeof(why)), MAPPING_WARN);
    assert_int_equal(mapping_type_compat("int(10) unsigned", "int(11)", why, sizeof(why)),
                     MAPPING_WARN);
    assert_int_equal(mapping_type_compat("varchar(40)", "varchar(100)", why, sizeof(why)),
                     MAPPING_OK);
    assert_int_equal(mapping_type_compat("varchar(40)", "varchar(10)", why, sizeof(why)),
                     MAPPING_WARN);
    assert_contains(why, "shorter");
    assert_int_equal(mapping_type_compat("varchar(40)", "int(11)", why, sizeof(why)), MAPPING_FAIL);
    assert_int_equal(mapping_type_compat("datetime", "int(11)", why, sizeof(why)), MAPPING_FAIL);
    assert_int_equal(mapping_type_compat("int(11)", "varchar(40)", why, sizeof(why)), MAPPING_OK);
    assert_int_equal(mapping_type_compat("decimal(10,2)", "decimal(12,2)", why, sizeof(why)),
                     MAPPING_OK);
    assert_int_equal(mapping_type_compat("decimal(10,4)", "decimal(10,2)", why, sizeof(why)),
                     MAPPING_WARN);
    assert_int_equal(mapping_type_compat("datetime(6)", "datetime", why, sizeof(why)),
                     MAPPING_WARN);
    assert_int_equal(mapping_type_compat("datetime", "timestamp", why, sizeof(why)), MAPPING_WARN);
    assert_int_equal(mapping_type_compat("blob", "longblob", why, sizeof(why)), MAPPING_OK);
    assert_int_equal(mapping_type_compat("blob", "int(11)", why, sizeof(why)), MAPPING_FAIL);
    assert_int_equal(mapping_type_compat("enum('a','b')", "varchar(5)", why, sizeof(why)),
                     MAPPING_OK);
    assert_int_equal(mapping_type_compat("double", "float", why, sizeof(why)), MAPPING_WARN);
}

static void test_charsets(void **state)
{
    (void)state;
    char why[300];
    assert_int_equal(mapping_charset_compat("utf8mb4", "utf8mb4", why, sizeof(why)), MAPPING_OK);
    assert_int_equal(mapping_charset_compat("latin1", "utf8mb4", why, sizeof(why)), MAPPING_OK);
    assert_int_equal(mapping_charset_compat("utf8mb4", "utf8mb3", why, sizeof(why)), MAPPING_WARN);
    assert_contains(why, "4-byte");
    assert_int_equal(mapping_charset_compat("utf8mb4", "latin1", why, sizeof(why)), MAPPING_WARN);
    assert_int_equal(mapping_charset_compat(NULL, "latin1", why, sizeof(why)), MAPPING_OK);
}

static void count_sample(void *ctx, const char *pipeline, const char *table, uint64_t differences,
                         bool error, time_t at)
{
    (void)pipeline;
    (void)error;
    (void)at;
    if (strcmp(table, "app.t") == 0) *(uint64_t *)ctx = differences;
}

static void test_results(void **state)
{
    (void)state;
    check_results_clear();
    check_diff d = {.kind = CHECK_DIFFERENT, .json = "{\"id\":\"7\"}"};
    check_table_result r;
    memset(&r, 0, sizeof(r));
    snprintf(r.pipeline, sizeof(r.pipeline), "p1");
    snprintf(r.source, sizeof(r.source), "app.t");
    snprintf(r.target, sizeof(r.target), "w.t");
    r.rows = 10;
    r.different = 1;
    r.diffs = &d;
    r.n_diffs = 1;
    check_results_put(&r, 1700000000);
    check_results_schedule("p1", 3600, 1700003600, false);
    assert_int_equal(check_results_differences("p1"), 1);
    assert_int_equal(check_results_differences("p2"), 0);
    buf b;
    buf_init(&b);
    check_results_json(&b, NULL);
    assert_contains(b.data, "\"status\":\"differs\"");
    assert_contains(b.data, "\"diffs\":[{\"kind\":\"different\",\"key\":{\"id\":\"7\"}}]");
    assert_contains(b.data, "\"every_s\":3600");
    assert_contains(b.data, "\"checked_at\":\"2023-11-14T22:13:20Z\"");
    /* the same table again replaces its entry */
    r.different = 0;
    r.n_diffs = 0;
    check_results_put(&r, 1700000100);
    uint64_t seen = 99;
    check_results_foreach(count_sample, &seen);
    assert_int_equal(seen, 0);
    buf_reset(&b);
    check_results_json(&b, "p2");
    assert_string_equal(b.data, "{\"schedules\":[],\"tables\":[]}");
    buf_deinit(&b);
    check_results_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hint_auth),
        cmocka_unit_test(test_hint_grant),
        cmocka_unit_test(test_hint_position),
        cmocka_unit_test(test_hint_other),
        cmocka_unit_test(test_hint_stall_causes),
        cmocka_unit_test(test_grants),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_charsets),
        cmocka_unit_test(test_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
