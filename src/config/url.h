/*
 * Connection URLs: scheme://[user[:password]@]host[:port][/path][?k=v&...].
 * Percent-escapes in user and password are decoded. The password is a
 * secret: the `redacted` field is the only form that may be logged.
 * For file:// and sqlite:// the path keeps its leading '/'; for database
 * schemes it is the database name.
 */
#ifndef COT_URL_H
#define COT_URL_H

#include "util/err.h"

#include <stddef.h>

typedef struct cot_url {
    char *scheme;   /* lower case: "mysql", "mariadb", "postgresql", "file", ... */
    char *user;     /* "" if none */
    char *password; /* "" if none; secret */
    char *host;     /* "" if none */
    int port;       /* 0 if not given */
    char *path;     /* after the first '/' of the authority, "" if none (database, file path) */
    char *query;    /* after '?', "" if none */
    char *redacted; /* the URL with the password replaced by "***" */
} cot_url;

/* cot_url_parse parses text into u (heap strings, free with cot_url_deinit).
 * On failure returns COT_ERR_CONFIG with a message saying what is wrong. */
cot_err cot_url_parse(const char *text, cot_url *u);
void cot_url_deinit(cot_url *u);
/* cot_url_param returns the value of query parameter key (heap copy the
 * caller frees), or NULL. */
char *cot_url_param(const cot_url *u, const char *key);
/* cot_url_tls_alias says what to write instead of query parameter key (n
 * bytes) when it looks like another client's TLS setting (ssl, ssl-mode,
 * sslmode, useSSL, ssl_ca, sslrootcert, ...): a static hint naming cotter's
 * tls* parameters, or NULL when key is not one. Such a key is refused, never
 * ignored: ignoring it would connect in plain text. */
const char *cot_url_tls_alias(const char *key, size_t n);
/* cot_url_is_mysql says whether the scheme is mysql:// or mariadb://. */
int cot_url_is_mysql(const cot_url *u);

#endif
