/*
 * Unit tests of connection URL parsing: the split into parts, percent-decoding
 * of user and password, IPv6 hosts, query parameters, the redacted form and
 * the error messages, which must never show a password.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/url.h"

#include <stdlib.h>
#include <string.h>

#define SECRET "hunter2"

static void test_full_url(void **state)
{
    cot_url u;
    assert_int_equal(cot_url_parse("mysql://repl:" SECRET "@db1.example.com:3307/shop?ssl=1&"
                                   "socket=/tmp/m.sock",
                                   &u),
                     COT_OK);
    assert_string_equal(u.scheme, "mysql");
    assert_string_equal(u.user, "repl");
    assert_string_equal(u.password, SECRET);
    assert_string_equal(u.host, "db1.example.com");
    assert_int_equal(u.port, 3307);
    assert_string_equal(u.path, "shop");
    assert_string_equal(u.query, "ssl=1&socket=/tmp/m.sock");
    assert_string_equal(u.redacted,
                        "mysql://repl:***@db1.example.com:3307/shop?ssl=1&socket=/tmp/m.sock");
    assert_true(cot_url_is_mysql(&u));
    cot_url_deinit(&u);
    assert_null(u.password);
    cot_url_deinit(&u); /* twice is harmless */
}

static void test_minimal_and_defaults(void **state)
{
    cot_url u;
    assert_int_equal(cot_url_parse("MariaDB://127.0.0.1", &u), COT_OK);
    assert_string_equal(u.scheme, "mariadb");
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "");
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 0);
    assert_string_equal(u.path, "");
    assert_string_equal(u.query, "");
    assert_string_equal(u.redacted, "MariaDB://127.0.0.1");
    assert_true(cot_url_is_mysql(&u));
    cot_url_deinit(&u);

    assert_int_equal(cot_url_parse("mysql://root@h", &u), COT_OK);
    assert_string_equal(u.user, "root");
    assert_string_equal(u.password, "");
    assert_string_equal(u.redacted, "mysql://root@h");
    cot_url_deinit(&u);

    /* an empty password is still masked: the form does not say whether there is one */
    assert_int_equal(cot_url_parse("mysql://root:@h", &u), COT_OK);
    assert_string_equal(u.password, "");
    assert_string_equal(u.redacted, "mysql://root:***@h");
    cot_url_deinit(&u);

    assert_int_equal(cot_url_parse("postgresql://u:p@pg/app", &u), COT_OK);
    assert_false(cot_url_is_mysql(&u));
    assert_string_equal(u.path, "app");
    cot_url_deinit(&u);

    /* file-like schemes keep the absolute path */
    assert_int_equal(cot_url_parse("file:///tmp/out.jsonl", &u), COT_OK);
    assert_string_equal(u.host, "");
    assert_string_equal(u.path, "/tmp/out.jsonl");
    cot_url_deinit(&u);
    assert_int_equal(cot_url_parse("sqlite:///var/lib/x.db", &u), COT_OK);
    assert_string_equal(u.path, "/var/lib/x.db");
    cot_url_deinit(&u);
}

static void test_raw_and_escaped_passwords(void **state)
{
    cot_url u;
    /* the userinfo ends at the last '@': a raw password may hold '@', ':' and '/' */
    assert_int_equal(cot_url_parse("mysql://u:p@ss:w/rd@h:1/db", &u), COT_OK);
    assert_string_equal(u.user, "u");
    assert_string_equal(u.password, "p@ss:w/rd");
    assert_string_equal(u.host, "h");
    assert_int_equal(u.port, 1);
    assert_string_equal(u.path, "db");
    assert_string_equal(u.redacted, "mysql://u:***@h:1/db");
    cot_url_deinit(&u);

    assert_int_equal(cot_url_parse("mysql://us%40er:a%3Fb%25c%20d@h", &u), COT_OK);
    assert_string_equal(u.user, "us@er");
    assert_string_equal(u.password, "a?b%c d");
    assert_string_equal(u.redacted, "mysql://us%40er:***@h");
    cot_url_deinit(&u);
}

static void test_ipv6(void **state)
{
    cot_url u;
    assert_int_equal(cot_url_parse("mysql://u:" SECRET "@[::1]:3306/x", &u), COT_OK);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 3306);
    assert_string_equal(u.path, "x");
    cot_url_deinit(&u);
    assert_int_equal(cot_url_parse("mysql://[fe80::1]", &u), COT_OK);
    assert_string_equal(u.host, "fe80::1");
    assert_int_equal(u.port, 0);
    cot_url_deinit(&u);
}

static void test_params(void **state)
{
    cot_url u;
    assert_int_equal(cot_url_parse("mysql://h/db?ssl=1&flag&ca=%2Fetc%2Fca.pem&ssl_mode=", &u),
                     COT_OK);
    char *v = cot_url_param(&u, "ssl");
    assert_string_equal(v, "1");
    free(v);
    v = cot_url_param(&u, "flag");
    assert_string_equal(v, "");
    free(v);
    v = cot_url_param(&u, "ca");
    assert_string_equal(v, "/etc/ca.pem");
    free(v);
    v = cot_url_param(&u, "ssl_mode");
    assert_string_equal(v, "");
    free(v);
    assert_null(cot_url_param(&u, "ss"));
    assert_null(cot_url_param(&u, "missing"));
    cot_url_deinit(&u);
}

static void test_redacted_query(void **state)
{
    cot_url u;
    assert_int_equal(cot_url_parse("mysql://u:" SECRET "@h:1/db?password=" SECRET
                                   "&ssl=1&api_token=" SECRET "&sslkey=/k",
                                   &u),
                     COT_OK);
    assert_string_equal(u.redacted, "mysql://u:***@h:1/db?password=***&ssl=1&api_token=***&"
                                    "sslkey=***");
    assert_null(strstr(u.redacted, SECRET));
    char *pw = cot_url_param(&u, "password");
    assert_string_equal(pw, SECRET); /* the value itself is still available */
    free(pw);
    cot_url_deinit(&u);
}

/* expect_error parses text, expects COT_ERR_CONFIG and a message that starts with want
 * and does not contain the secret. */
static void expect_error(const char *text, const char *want)
{
    cot_url u;
    cot_err_clear();
    assert_int_equal(cot_url_parse(text, &u), COT_ERR_CONFIG);
    const char *msg = cot_err_msg();
    if (strncmp(msg, want, strlen(want)) != 0) fail_msg("got:  %s\nwant: %s...", msg, want);
    if (strstr(msg, SECRET)) fail_msg("secret leaked: %s", msg);
    /* nothing is left allocated on failure (LeakSanitizer checks) and the struct is clean */
    assert_null(u.scheme);
    assert_null(u.password);
}

static void test_errors(void **state)
{
    expect_error("mysql//x", "'mysql//x' is not a URL: expected scheme://user:password@host:port");
    expect_error("mysql//u:" SECRET "@h", "'mysql//u:***@h' is not a URL");
    expect_error("mysql:/u:" SECRET "@h", "'mysql:***@h' is not a URL");
    expect_error("", "the URL is empty");
    expect_error("://h", "'://h' is not a URL");
    expect_error("3306://h", "'3306://h' is not a URL");
    expect_error("mysql://u:" SECRET "@h:abc",
                 "'mysql://u:***@h:abc' has a port that is not a number in 1..65535");
    expect_error("mysql://h:0", "'mysql://h:0' has a port that is not");
    expect_error("mysql://h:65536", "'mysql://h:65536' has a port that is not");
    expect_error("mysql://h:", "'mysql://h:' has a port that is not");
    /* a raw '?' in the password: the broken URL is still masked up to the last '@' */
    expect_error("mysql://u:" SECRET "?x@h:3306",
                 "'mysql://u:***@h:3306' has a port that is not a number in 1..65535 (a '?' "
                 "in the password must be written %3F)");
    expect_error("mysql://u:" SECRET "@h:1:2", "'mysql://u:***@h:1:2' has more than one ':'");
    expect_error("mysql://[::1:3306", "'mysql://[::1:3306' has an IPv6 host without its closing");
    expect_error("mysql://[::1]x", "'mysql://[::1]x' has text after the IPv6 host");
    expect_error("mysql://u:" SECRET "%zz@h",
                 "'mysql://u:***@h' has a bad percent-escape in the password");
    expect_error("mysql://u:" SECRET "%4@h", "'mysql://u:***@h' has a bad percent-escape");
    expect_error("mysql://u%00:" SECRET "@h",
                 "'mysql://u%00:***@h' has a bad percent-escape in the user name");
    expect_error("mysql://u:" SECRET " @h",
                 "'mysql://u:***@h' contains a space or control character");
    expect_error("mysql://u:" SECRET "@h\n", "'mysql://u:***@h\\n' contains a space");
}

/* TLS settings of other clients are recognised, with cotter's key as the
 * hint (issue 17); cotter's own keys and unrelated ones are not. */
static void test_tls_aliases(void **state)
{
    (void)state;
    const char *h;
    assert_non_null(strstr(cot_url_tls_alias("ssl", 3), "tls=true"));
    assert_non_null((h = cot_url_tls_alias("ssl-mode", 8)));
    assert_non_null(strstr(h, "tls_verify=full"));
    assert_non_null(strstr(cot_url_tls_alias("sslmode", 7), "tls_verify=full"));
    assert_non_null(strstr(cot_url_tls_alias("SSL_MODE", 8), "tls_verify=full"));
    assert_non_null(strstr(cot_url_tls_alias("useSSL", 6), "tls=true"));
    assert_string_equal(cot_url_tls_alias("ssl_ca", 6), "tls_ca=FILE");
    assert_string_equal(cot_url_tls_alias("ssl-ca=x", 6), "tls_ca=FILE"); /* n bytes only */
    assert_string_equal(cot_url_tls_alias("sslrootcert", 11), "tls_ca=FILE");
    assert_string_equal(cot_url_tls_alias("ssl-cert", 8), "tls_cert=FILE");
    assert_string_equal(cot_url_tls_alias("sslkey", 6), "tls_key=FILE");
    assert_non_null(
        cot_url_tls_alias("a-very-long-parameter-name-with-ssl-somewhere-in-it-xxxxxxxxxxxx", 64));
    assert_null(cot_url_tls_alias("tls", 3));
    assert_null(cot_url_tls_alias("tls_verify", 10));
    assert_null(cot_url_tls_alias("socket", 6));
    assert_null(cot_url_tls_alias("ss", 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_url),
        cmocka_unit_test(test_minimal_and_defaults),
        cmocka_unit_test(test_raw_and_escaped_passwords),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_redacted_query),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_tls_aliases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
