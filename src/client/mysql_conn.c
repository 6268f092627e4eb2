/*
 * Connector/C connection helpers: connect with timeouts, error classes and
 * messages. Owns no state but the once-only library initialisation; every
 * function works on the caller's MYSQL handle from the caller's thread.
 */
#include "client/mysql_conn.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STMT_PREVIEW 200

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_rc;

static void mysql_conn__library_init(void)
{
    /* mysql_init() would do this implicitly, but not thread safely. */
    library_rc = mysql_library_init(0, NULL, NULL);
}

cot_err mysql_conn_classify(unsigned int errnum)
{
    switch (errnum) {
    case 1205: /* ER_LOCK_WAIT_TIMEOUT */
    case 1213: /* ER_LOCK_DEADLOCK */
        return COT_ERR_SQL_RETRY;
    case 1040: /* ER_CON_COUNT_ERROR: too many connections */
    case 1053: /* ER_SERVER_SHUTDOWN */
    case 1158: /* ER_NET_READ_ERROR */
    case 1159: /* ER_NET_READ_INTERRUPTED */
    case 1160: /* ER_NET_ERROR_ON_WRITE */
    case 1161: /* ER_NET_WRITE_INTERRUPTED */
    case 1927: /* ER_CONNECTION_KILLED */
    case 2002: /* CR_CONNECTION_ERROR (socket) */
    case 2003: /* CR_CONN_HOST_ERROR */
    case 2006: /* CR_SERVER_GONE_ERROR */
    case 2013: /* CR_SERVER_LOST */
    case 2055: /* CR_SERVER_LOST_EXTENDED */
        return COT_ERR_NET;
    case 1044: /* ER_DBACCESS_DENIED_ERROR */
    case 1045: /* ER_ACCESS_DENIED_ERROR */
    case 1142: /* ER_TABLEACCESS_DENIED_ERROR */
    case 1143: /* ER_COLUMNACCESS_DENIED_ERROR */
    case 1227: /* ER_SPECIFIC_ACCESS_DENIED_ERROR */
    case 1370: /* ER_PROCACCESS_DENIED_ERROR */
    case 1698: /* ER_ACCESS_DENIED_NO_PASSWORD_ERROR */
        return COT_ERR_AUTH;
    case 1049: /* ER_BAD_DB_ERROR */
    case 1054: /* ER_BAD_FIELD_ERROR */
    case 1146: /* ER_NO_SUCH_TABLE */
        return COT_ERR_SCHEMA;
    default:
        return COT_ERR_SQL;
    }
}

const char *mysql_conn_class_word(cot_err err)
{
    return cot_err_retriable(err) ? "retriable" : "not retriable";
}

/* mysql_conn__connect_hint returns what the user should check for a failed
 * connect with errnum, or "" when there is nothing specific to say. */
static const char *mysql_conn__connect_hint(unsigned int errnum)
{
    switch (errnum) {
    case 2002:
    case 2003:
    case 2005:
    case 2006:
    case 2013:
    case 2055:
        return "; check host and port in the URL and that the server is running and reachable";
    case 1045:
    case 1698:
        return "; check the user name and password in the URL, and whether the user is created "
               "REQUIRE SSL (then add ?tls=true, or tls_ca=FILE, to the URL)";
    case 2026:
        return "; TLS failed: check tls_ca (the CA that signed the server's certificate), "
               "tls_cert/tls_key, and tls_verify in the URL (ca: no host name check, none: no "
               "check at all)";
    case 1044:
    case 1142:
    case 1227:
        return "; the user lacks a privilege: GRANT it (see docs/config.md for the list)";
    case 1049:
        return "; the database named in the URL path does not exist: create it or fix the URL";
    case 1040:
        return "; the server has too many connections: raise max_connections or close idle "
               "clients (cotter retries)";
    case 1129:
        return "; the server blocked this host after connection errors: run FLUSH HOSTS on it";
    default:
        return "";
    }
}

/* mysql_conn__tls applies the URL's TLS parameters (docs/security.md):
 * tls=true|false, tls_ca, tls_cert, tls_key, tls_verify=none|ca|full. Any of
 * them but tls=false turns TLS on and makes it mandatory. Values were checked
 * when the config was loaded; a bad one here is still refused. */
static cot_err mysql_conn__tls(MYSQL *my, const cot_url *url, const char *role)
{
    char *on = cot_url_param(url, "tls"), *ca = cot_url_param(url, "tls_ca");
    char *cert = cot_url_param(url, "tls_cert"), *key = cot_url_param(url, "tls_key");
    char *verify = cot_url_param(url, "tls_verify");
    cot_err rc = COT_OK;
    bool off = on && (strcmp(on, "false") == 0 || strcmp(on, "0") == 0 || strcmp(on, "off") == 0);
    bool want = !off && (on || ca || cert || key || verify);
    if (want) {
        const char *v = verify ? verify : "full";
        bool full = strcmp(v, "full") == 0, by_ca = strcmp(v, "ca") == 0;
        if (!full && !by_ca && strcmp(v, "none") != 0) {
            rc = cot_err_set(COT_ERR_CONFIG,
                             "%s: tls_verify=%s in the URL: expected none, ca or "
                             "full",
                             role, v);
        } else {
            my_bool yes = 1, check_host = full ? 1 : 0;
            mysql_optionsv(my, MYSQL_OPT_SSL_ENFORCE, &yes);
            /* a CA makes Connector/C verify the chain; none means no check at all */
            if (ca && (full || by_ca)) mysql_optionsv(my, MYSQL_OPT_SSL_CA, ca);
            if (cert) mysql_optionsv(my, MYSQL_OPT_SSL_CERT, cert);
            if (key) mysql_optionsv(my, MYSQL_OPT_SSL_KEY, key);
            mysql_optionsv(my, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &check_host);
        }
    }
    free(on);
    free(ca);
    free(cert);
    free(key);
    free(verify);
    return rc;
}

cot_err mysql_conn_open(const cot_url *url, const mysql_conn_opts *opts, MYSQL **out)
{
    *out = NULL;
    pthread_once(&library_once, mysql_conn__library_init);
    if (library_rc != 0)
        return cot_err_set(COT_ERR_NOMEM, "%s: cannot initialise the MariaDB client library",
                           opts->role);
    MYSQL *my = mysql_init(NULL);
    if (!my)
        return cot_err_set(COT_ERR_NOMEM, "%s: cannot allocate a MariaDB client handle",
                           opts->role);

    unsigned int connect_s = opts->connect_timeout_s > 0 ? (unsigned)opts->connect_timeout_s : 10;
    mysql_options(my, MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
    if (opts->read_timeout_s > 0) {
        unsigned int v = (unsigned)opts->read_timeout_s;
        mysql_options(my, MYSQL_OPT_READ_TIMEOUT, &v);
    }
    if (opts->write_timeout_s > 0) {
        unsigned int v = (unsigned)opts->write_timeout_s;
        mysql_options(my, MYSQL_OPT_WRITE_TIMEOUT, &v);
    }
    mysql_options(my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    unsigned int local_infile = opts->local_infile ? 1 : 0;
    mysql_options(my, MYSQL_OPT_LOCAL_INFILE, &local_infile);
    cot_err tls_rc = mysql_conn__tls(my, url, opts->role);
    if (tls_rc) {
        mysql_close(my);
        return tls_rc;
    }

    const char *host = url->host && url->host[0] ? url->host : NULL;
    const char *user = url->user && url->user[0] ? url->user : NULL;
    const char *db = url->path && url->path[0] ? url->path : NULL;
    unsigned long flags = CLIENT_FOUND_ROWS;
    if (opts->multi_statements) flags |= CLIENT_MULTI_STATEMENTS;
    if (!mysql_real_connect(my, host, user, url->password, db,
                            url->port > 0 ? (unsigned)url->port : 0, NULL, flags)) {
        unsigned int errnum = mysql_errno(my);
        cot_err err = mysql_conn_classify(errnum);
        if (errnum == 2005) err = COT_ERR_NET; /* unknown host: DNS may come back */
        cot_err_set(err, "cannot connect to %s at %s: %s (errno %u, SQLSTATE %s, %s)%s", opts->role,
                    url->redacted ? url->redacted : "?", mysql_error(my), errnum,
                    mysql_sqlstate(my), mysql_conn_class_word(err),
                    mysql_conn__connect_hint(errnum));
        mysql_close(my);
        return err;
    }
    *out = my;
    return COT_OK;
}

void mysql_conn_close(MYSQL *my)
{
    if (my) mysql_close(my);
}

cot_err mysql_conn_error(MYSQL *my, const char *fmt, ...)
{
    char ctx[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    unsigned int errnum = mysql_errno(my);
    cot_err err = mysql_conn_classify(errnum);
    return cot_err_set(err, "%s: %s (errno %u, SQLSTATE %s, %s, %s)", ctx, mysql_error(my), errnum,
                       mysql_sqlstate(my), cot_err_name(err), mysql_conn_class_word(err));
}

cot_err mysql_conn_exec(MYSQL *my, const char *role, const char *sql, size_t len)
{
    if (mysql_real_query(my, sql, (unsigned long)len) != 0) {
        int show = len > STMT_PREVIEW ? STMT_PREVIEW : (int)len;
        return mysql_conn_error(my, "%s: statement failed [%.*s%s]", role, show, sql,
                                len > STMT_PREVIEW ? "..." : "");
    }
    /* Drain every result so the connection is ready for the next query. */
    for (;;) {
        MYSQL_RES *res = mysql_store_result(my);
        if (res)
            mysql_free_result(res);
        else if (mysql_field_count(my) != 0)
            return mysql_conn_error(my, "%s: reading the result failed", role);
        int st = mysql_next_result(my);
        if (st < 0) break;
        if (st > 0) {
            int show = len > STMT_PREVIEW ? STMT_PREVIEW : (int)len;
            return mysql_conn_error(my, "%s: statement failed [%.*s%s]", role, show, sql,
                                    len > STMT_PREVIEW ? "..." : "");
        }
    }
    return COT_OK;
}

cot_err mysql_conn_exec_str(MYSQL *my, const char *role, const char *sql)
{
    return mysql_conn_exec(my, role, sql, strlen(sql));
}

void mysql_conn_put_string(MYSQL *my, buf *b, const char *s, size_t n)
{
    buf_reserve(b, 2 * n + 3);
    b->data[b->len++] = '\'';
    b->len += mysql_real_escape_string(my, b->data + b->len, s, (unsigned long)n);
    b->data[b->len++] = '\'';
    b->data[b->len] = '\0';
}
