/*
 * Why a statement on a MySQL/MariaDB server did not answer. A statement that
 * waits longer than the client's read_timeout ends, for the client, as "Lost
 * connection (errno 2013)", which reads as a network fault; most often it is
 * a wait on the server: a row lock another transaction holds, a metadata
 * lock (LOCK TABLES, a DDL, an open transaction that used the table), or a
 * slow statement (a trigger). mysql_wait_explain looks, on a connection of
 * its own, at what the server still does for the connection that gave up,
 * names the cause and the blocking session where the server shows it, and
 * kills an abandoned statement that waits for a lock so that it stops
 * holding its own locks (a running one is left to finish).
 * Runs on the caller's thread; it shares nothing.
 */
#ifndef COT_MYSQL_WAIT_H
#define COT_MYSQL_WAIT_H

#include "client/mysql_conn.h"

#include <stdbool.h>
#include <stddef.h>

/* mysql_wait_explain connects to url with opts (connect timeout at most
 * 3 s) and looks at connection thread_id, which the client gave up on after
 * read_timeout_s. When the server is still running a statement for it,
 * writes the cause into out ("waiting for a row lock held by connection 42
 * (...)") and returns true (a lock wait is killed); false when the
 * server cannot be reached or the connection is not busy there (a real
 * network fault), out then "". */
bool mysql_wait_explain(const cot_url *url, const mysql_conn_opts *opts, unsigned long thread_id,
                        int read_timeout_s, char *out, size_t cap);

#endif
