/*
 * Unit tests for the password redaction of statement text (issue 17): every
 * way MySQL and MariaDB take a password in a statement, with comments,
 * executable comments, odd quoting, escapes, introducers, hex literals and
 * mixed case, and the messages that quote a statement in their own quotes.
 * Each case checks that the secret is gone and that the rest stays readable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "util/err.h"
#include "util/log.h"
#include "util/redact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *redacted(const char *in)
{
    static char out[4096];
    buf b;
    buf_init(&b);
    redact_secrets(in, strlen(in), &b);
    snprintf(out, sizeof(out), "%s", b.data ? b.data : "");
    buf_deinit(&b);
    return out;
}

/* expect_gone: none of the secrets is left, every keep string is. */
static void expect_gone(const char *in, const char *const *secrets, const char *const *keep)
{
    const char *out = redacted(in);
    for (; secrets && *secrets; secrets++)
        if (strstr(out, *secrets))
            fail_msg("secret '%s' left in: %s\n  (from %s)", *secrets, out, in);
    for (; keep && *keep; keep++)
        if (!strstr(out, *keep)) fail_msg("'%s' lost in: %s\n  (from %s)", *keep, out, in);
    if (secrets && !strstr(out, "<redacted>")) fail_msg("no <redacted> in: %s", out);
}

#define S(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_exact_forms(void **state)
{
    (void)state;
    assert_string_equal(redacted("CREATE USER 'u'@'%' IDENTIFIED BY 's3cret'"),
                        "CREATE USER 'u'@'%' IDENTIFIED BY '<redacted>'");
    assert_string_equal(redacted("SET PASSWORD FOR u@h = PASSWORD('s3cret')"),
                        "SET PASSWORD FOR u@h = PASSWORD('<redacted>')");
    assert_string_equal(redacted("ALTER USER u IDENTIFIED BY 'new1' REPLACE 'old1'"),
                        "ALTER USER u IDENTIFIED BY '<redacted>' REPLACE '<redacted>'");
    /* nothing to redact: unchanged, byte for byte */
    const char *plain = "ALTER TABLE shop.t ADD COLUMN pw_hint VARCHAR(20) DEFAULT 'x'";
    assert_string_equal(redacted(plain), plain);
    assert_string_equal(redacted("ALTER USER u PASSWORD EXPIRE INTERVAL 90 DAY"),
                        "ALTER USER u PASSWORD EXPIRE INTERVAL 90 DAY");
    assert_string_equal(redacted("Access denied for user 'u'@'h' (using password: YES)"),
                        "Access denied for user 'u'@'h' (using password: YES)");
    assert_string_equal(redacted("CREATE USER u IDENTIFIED BY RANDOM PASSWORD"),
                        "CREATE USER u IDENTIFIED BY RANDOM PASSWORD");
    /* a FEDERATED table's connection string holds a password; a message
     * about a lost connection keeps its words */
    assert_string_equal(
        redacted("CREATE TABLE f (a INT) ENGINE=FEDERATED CONNECTION='mysql://u:pw@h/db/t'"),
        "CREATE TABLE f (a INT) ENGINE=FEDERATED CONNECTION='<redacted>'");
    assert_string_equal(redacted("ALTER TABLE f CONNECTION = \"mysql://u:pw@h/db/t\" COMMENT 'k'"),
                        "ALTER TABLE f CONNECTION = '<redacted>' COMMENT 'k'");
    assert_string_equal(redacted("Lost connection to server during query 'x'"),
                        "Lost connection to server during query 'x'");
    /* a message that names the word without a secret keeps what it quotes */
    const char *hint = "url: expected a URL like mysql://user:password@host:port, got 'x y'";
    assert_string_equal(redacted(hint), hint);
}

static void test_statements(void **state)
{
    (void)state;
    expect_gone("create user bob@localhost identified by 'Pw1'", S("Pw1"), S("bob@localhost"));
    expect_gone("GRANT ALL ON *.* TO 'a'@'%' IDENTIFIED BY 'Pw2' WITH GRANT OPTION", S("Pw2"),
                S("WITH GRANT OPTION", "'a'@'%'"));
    expect_gone("CREATE USER a IDENTIFIED VIA ed25519 USING PASSWORD('Pw3') OR unix_socket",
                S("Pw3"), S("OR unix_socket"));
    expect_gone("CREATE USER a IDENTIFIED VIA mysql_native_password USING "
                "'*0D3CED9BEC10A777AEC23CCC353A8C08A633045E'",
                S("0D3CED9BEC10A777AEC23CCC353A8C08A633045E"), S("mysql_native_password"));
    expect_gone("CREATE USER a IDENTIFIED WITH mysql_native_password AS '*ABCDEF0123'",
                S("ABCDEF0123"), NULL);
    expect_gone("CREATE USER a IDENTIFIED WITH caching_sha2_password BY 'Pw4'", S("Pw4"), NULL);
    expect_gone("CREATE USER a IDENTIFIED BY PASSWORD '*HASH55'", S("HASH55"), NULL);
    expect_gone("ALTER USER a IDENTIFIED BY 'Pw6', b IDENTIFIED BY 'Pw7'", S("Pw6", "Pw7"),
                S("b IDENTIFIED BY"));
    expect_gone("SET PASSWORD = 'Pw8'", S("Pw8"), NULL);
    expect_gone("SET PASSWORD FOR 'root'@'localhost' = 'Pw9'", S("Pw9"), NULL);
    expect_gone("set password for x = old_password('Pw10')", S("Pw10"), NULL);
    expect_gone("SET PASSWORD = 'Pw11' REPLACE 'Pw12'", S("Pw11", "Pw12"), NULL);
    expect_gone("CHANGE MASTER TO MASTER_HOST='h', MASTER_PASSWORD='Pw13'", S("Pw13"),
                S("MASTER_HOST='h'"));
    expect_gone("CREATE SERVER s FOREIGN DATA WRAPPER mysql OPTIONS (USER 'u', PASSWORD 'Pw14')",
                S("Pw14"), S("USER 'u'"));
    expect_gone("SELECT PASSWORD(CONCAT('Pw15', 'Pw16'))", S("Pw15", "Pw16"), NULL);
}

static void test_quoting(void **state)
{
    (void)state;
    /* escaped and doubled quotes inside the secret */
    expect_gone("CREATE USER a IDENTIFIED BY 'it''s Pw20'", S("Pw20", "s Pw"), NULL);
    expect_gone("CREATE USER a IDENTIFIED BY 'it\\'s Pw21'", S("Pw21"), NULL);
    expect_gone("CREATE USER a IDENTIFIED BY \"dq Pw22\"", S("Pw22"), NULL);
    expect_gone("CREATE USER a IDENTIFIED BY 'back\\\\slash' ; SELECT 'Pw23-not-secret'",
                S("slash"), S("Pw23-not-secret"));
    /* NO_BACKSLASH_ESCAPES: 'x\' ends at the quote; one reading must still find Pw24 */
    expect_gone("SELECT 'x\\' , 'y'; CREATE USER a IDENTIFIED BY 'Pw24'", S("Pw24"), NULL);
    /* adjacent literals are one string */
    expect_gone("CREATE USER a IDENTIFIED BY 'Pw' '25' \"Pw26\"", S("25", "Pw26"), NULL);
    /* introducers, hex and bit literals */
    expect_gone("CREATE USER a IDENTIFIED BY _utf8mb4'Pw27'", S("Pw27"), NULL);
    expect_gone("CREATE USER a IDENTIFIED BY N'Pw28'", S("Pw28"), NULL);
    expect_gone("CREATE USER a IDENTIFIED BY X'507732397365637265'", S("507732397365637265"), NULL);
    expect_gone("CREATE USER a IDENTIFIED BY 0x5077333073", S("5077333073"), NULL);
    expect_gone("SET PASSWORD = PASSWORD(x'5077333131')", S("5077333131"), NULL);
    expect_gone("CREATE SERVER s OPTIONS (PASSWORD _latin1'Pw32')", S("Pw32"), NULL);
    /* unterminated: everything after the keyword */
    expect_gone("CREATE USER a IDENTIFIED BY 'Pw33 and then the end", S("Pw33", "the end"), NULL);
    expect_gone("SET PASSWORD = PASSWORD('Pw34", S("Pw34"), NULL);
    /* backticks */
    expect_gone("UPDATE t SET `password` = 'Pw35' WHERE id = 1", S("Pw35"), S("WHERE id = 1"));
}

static void test_comments_and_case(void **state)
{
    (void)state;
    expect_gone("CrEaTe UsEr a IdEnTiFiEd By 'Pw40'", S("Pw40"), NULL);
    expect_gone("/* ops ticket 12 */ CREATE USER a IDENTIFIED /* by what? */ BY /* it's */ 'Pw41'",
                S("Pw41"), S("ops ticket 12"));
    expect_gone("CREATE USER a IDENTIFIED -- the next line\nBY\n# more\n'Pw42'", S("Pw42"), NULL);
    expect_gone("CREATE USER a /*!80000 IDENTIFIED BY 'Pw43' */", S("Pw43"), NULL);
    expect_gone("CREATE USER a /*M!100502 IDENTIFIED BY 'Pw44' */", S("Pw44"), NULL);
    expect_gone("CREATE USER a IDENTIFIED\tBY\r\n'Pw45'", S("Pw45"), NULL);
    expect_gone("SET PASSWORD\n=\nPASSWORD ( 'Pw46' )", S("Pw46"), NULL);
    expect_gone("SET PASSWORD := 'Pw47'", S("Pw47"), NULL);
}

static void test_quoted_in_messages(void **state)
{
    (void)state;
    /* a server error quotes the statement inside its own quotes */
    expect_gone("You have an error in your SQL syntax; check the manual near 'IDENTIFIED BY "
                "'Pw50' XYZ' at line 1",
                S("Pw50"), S("check the manual near"));
    expect_gone("DDL failed: near 'IDENTIFIED WITH 'plugin' AS 'Pw51'' at line 1", S("Pw51"), NULL);
    /* JSON- or C-escaped text */
    expect_gone("{\"sql\":\"CREATE USER a IDENTIFIED BY \\\"Pw52\\\"\"}", S("Pw52"), NULL);
    expect_gone("statement 'CREATE USER a IDENTIFIED BY \\'Pw53\\''", S("Pw53"), NULL);
}

static void test_inplace_and_paths(void **state)
{
    (void)state;
    char s[48] = "CREATE USER a IDENTIFIED BY 'Pw60-long-secret'";
    assert_true(redact_secrets_inplace(s, sizeof(s)));
    assert_string_equal(s, "CREATE USER a IDENTIFIED BY '<redacted>'");
    char small[32] = "x IDENTIFIED BY 'Pw61-abcdefgh'";
    assert_true(redact_secrets_inplace(small, sizeof(small)));
    assert_null(strstr(small, "Pw61"));
    char none[16] = "nothing here";
    assert_false(redact_secrets_inplace(none, sizeof(none)));
    assert_string_equal(none, "nothing here");
    assert_false(redact_maybe("ALTER TABLE t ADD c INT", 23));
    assert_true(redact_maybe("x passWord y", 12));

    /* error messages are redacted when they are set */
    cot_err_set(COT_ERR_SQL, "DDL %s failed", "CREATE USER a IDENTIFIED BY 'Pw62'");
    assert_null(strstr(cot_err_msg(), "Pw62"));
    assert_non_null(strstr(cot_err_msg(), "<redacted>"));
    cot_err_prefix("pipeline p1: %s", "");
    assert_null(strstr(cot_err_msg(), "Pw62"));
}

/* log lines: redacted, control characters escaped in text lines */
static void test_log_lines(void **state)
{
    (void)state;
    char path[] = "/tmp/cotter-test-redact-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_true(log_open_file(path));
    log_set_stderr(false);
    LOG_I("test", "statement: %s", "SET PASSWORD = PASSWORD('Pw70')");
    LOG_I("test", "bell\a escape\x1b[31m newline\nnext tab\t del\x7f end");
    log_close();
    log_set_stderr(true);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char text[2048] = "";
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    assert_null(strstr(text, "Pw70"));
    assert_non_null(strstr(text, "PASSWORD('<redacted>')"));
    assert_non_null(strstr(text, "bell\\x07 escape\\x1b[31m newline\\nnext tab\\t del\\x7f end\n"));
    int lines = 0;
    for (char *p = text; *p; p++) lines += *p == '\n';
    assert_int_equal(lines, 2);

    /* JSON lines: redacted too, control characters as JSON escapes */
    memcpy(path, "/tmp/cotter-test-redact-XXXXXX", sizeof(path));
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_true(log_open_file(path));
    log_set_stderr(false);
    log_set_json(true);
    LOG_W("test", "DDL: %s", "ALTER USER a IDENTIFIED BY 'Pw71'\nnext");
    log_set_json(false);
    log_close();
    log_set_stderr(true);
    f = fopen(path, "r");
    assert_non_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    assert_null(strstr(text, "Pw71"));
    assert_non_null(strstr(text, "IDENTIFIED BY '<redacted>'\\u000anext\"}\n"));
}

/* log_text_escape: what the CLI prints of a server's text (issue 17) */
static void test_text_escape(void **state)
{
    (void)state;
    buf b;
    buf_init(&b);
    log_text_escape(&b, "a\x1b[31m\nb\tc\rd\x7f \xc2\x9b e \xc3\xa9 f");
    buf_putc(&b, '\0');
    assert_string_equal(b.data, "a\\x1b[31m\\nb\\tc\\rd\\x7f \\u009b e \xc3\xa9 f");
    buf_reset(&b);
    log_text_escape(&b, NULL);
    assert_int_equal(b.len, 0);
    buf_deinit(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_forms),
        cmocka_unit_test(test_statements),
        cmocka_unit_test(test_quoting),
        cmocka_unit_test(test_comments_and_case),
        cmocka_unit_test(test_quoted_in_messages),
        cmocka_unit_test(test_inplace_and_paths),
        cmocka_unit_test(test_log_lines),
        cmocka_unit_test(test_text_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
