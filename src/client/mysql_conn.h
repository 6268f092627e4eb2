/*
 * Helpers around one MariaDB Connector/C connection, shared by the MySQL
 * sink and the source side (its query connection): connecting from a
 * cot_url with timeouts and utf8mb4, classifying server and client error
 * numbers into cot_err classes, and writing error messages that carry the
 * server's text, errno and SQLSTATE (and, for connect errors, the redacted
 * URL and a hint). A connection belongs to one thread at a time; the
 * library is initialised once, thread safely, on the first connect.
 */
#ifndef COT_MYSQL_CONN_H
#define COT_MYSQL_CONN_H

#include "config/url.h"
#include "util/buf.h"
#include "util/err.h"

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct mysql_conn_opts {
    const char *role;      /* "target warehouse", "source shop": the start of every message */
    int connect_timeout_s; /* 0: 10 s */
    int read_timeout_s;    /* 0: no limit */
    int write_timeout_s;   /* 0: no limit */
    bool multi_statements; /* allow several statements separated by ';' in one query */
    /* allow LOAD DATA LOCAL; the caller must install a local infile handler
     * (mysql_set_local_infile_handler) that serves its own rows, never a
     * file the server names */
    bool local_infile;
} mysql_conn_opts;

/* mysql_conn_open connects to url (host, port, user, password; the path, if
 * any, is the default database) with utf8mb4 as the connection charset. On
 * success *out is the caller's (mysql_conn_close). On failure returns the
 * error's class with a message naming the role, the redacted URL, the
 * server's message and a hint (host/port, password, GRANT). */
cot_err mysql_conn_open(const cot_url *url, const mysql_conn_opts *opts, MYSQL **out);

/* mysql_conn_close closes my (NULL is fine). */
void mysql_conn_close(MYSQL *my);

/* mysql_conn_classify maps a server or client error number to its class:
 * deadlock / lock wait -> COT_ERR_SQL_RETRY, connection problems ->
 * COT_ERR_NET, privileges -> COT_ERR_AUTH, unknown table / column /
 * database -> COT_ERR_SCHEMA, anything else -> COT_ERR_SQL. */
cot_err mysql_conn_classify(unsigned int errnum);

/* mysql_conn_class_word returns "retriable" or "not retriable" for err. */
const char *mysql_conn_class_word(cot_err err);

/* mysql_conn_error sets the thread's cot_err from my's last error: the
 * formatted context, then "<server message> (errno N, SQLSTATE S, CLASS,
 * retriable|not retriable)". Returns the class. */
cot_err mysql_conn_error(MYSQL *my, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* mysql_conn_exec runs one statement of len bytes and discards its result
 * (if any). On failure sets cot_err with role, the first 200 bytes of the
 * statement and the server's error, and returns its class. */
cot_err mysql_conn_exec(MYSQL *my, const char *role, const char *sql, size_t len);

/* mysql_conn_exec_str is mysql_conn_exec for a NUL-terminated statement. */
cot_err mysql_conn_exec_str(MYSQL *my, const char *role, const char *sql);

/* mysql_conn_put_string appends the n bytes of s to b as a quoted SQL string
 * literal, escaped for my's character set. */
void mysql_conn_put_string(MYSQL *my, buf *b, const char *s, size_t n);

#endif
