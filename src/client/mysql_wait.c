/*
 * What the server still does for a connection the client gave up on (see
 * the header). The queries read information_schema only: PROCESSLIST
 * (the user's own connections are always visible; others need PROCESS),
 * INNODB_TRX / INNODB_LOCK_WAITS / INNODB_LOCKS for row locks, and
 * METADATA_LOCK_INFO for metadata locks when the server has that plugin.
 */
#include "client/mysql_wait.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* wait__row runs sql and copies the first row's n columns into cols
 * ("" for NULL); false when the query fails or returns no row. */
static bool wait__row(MYSQL *my, const char *sql, char cols[][160], int n)
{
    if (mysql_query(my, sql) != 0) return false;
    MYSQL_RES *res = mysql_store_result(my);
    if (!res) return false;
    MYSQL_ROW row = mysql_fetch_row(res);
    bool ok = row && (int)mysql_num_fields(res) >= n;
    for (int i = 0; ok && i < n; i++) snprintf(cols[i], 160, "%s", row[i] ? row[i] : "");
    mysql_free_result(res);
    return ok;
}

/* wait__session describes connection id as "connection 42 (user@host,
 * Sleep for 12 s, running: ...)" from the processlist, or just its id. */
static void wait__session(MYSQL *my, const char *id, char *out, size_t cap)
{
    char sql[300], c[4][160];
    snprintf(sql, sizeof(sql),
             "SELECT USER, HOST, CONCAT(COMMAND, ' for ', TIME, ' s'), IFNULL(LEFT(INFO, 100), '') "
             "FROM information_schema.PROCESSLIST WHERE ID = %lu",
             strtoul(id, NULL, 10));
    if (!wait__row(my, sql, c, 4)) {
        snprintf(out, cap, "connection %s", id);
        return;
    }
    snprintf(out, cap, "connection %s (%s@%s, %s%s%s)", id, c[0], c[1], c[2],
             c[3][0] ? ", running: " : "", c[3]);
}

/* wait__row_lock names the transaction holding the row lock thread_id
 * waits for; false when the thread is not in a lock wait. */
static bool wait__row_lock(MYSQL *my, unsigned long thread_id, char *out, size_t cap)
{
    char sql[1200], c[3][160];
    snprintf(sql, sizeof(sql),
             "SELECT trx_state, IFNULL(TIMESTAMPDIFF(SECOND, trx_wait_started, NOW()), 0), '' "
             "FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = %lu",
             thread_id);
    if (!wait__row(my, sql, c, 3) || strcmp(c[0], "LOCK WAIT") != 0) return false;
    char waited[40];
    snprintf(waited, sizeof(waited), "%s", c[1]);
    snprintf(sql, sizeof(sql),
             "SELECT b.trx_mysql_thread_id, IFNULL(l.lock_table, ''), "
             "TIMESTAMPDIFF(SECOND, b.trx_started, NOW()) "
             "FROM information_schema.INNODB_TRX r "
             "JOIN information_schema.INNODB_LOCK_WAITS w ON w.requesting_trx_id = r.trx_id "
             "JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id "
             "LEFT JOIN information_schema.INNODB_LOCKS l ON l.lock_id = w.blocking_lock_id "
             "WHERE r.trx_mysql_thread_id = %lu LIMIT 1",
             thread_id);
    if (!wait__row(my, sql, c, 3)) {
        snprintf(out, cap,
                 "waiting %s s for a row lock another transaction holds (the blocking session "
                 "is not visible: give cotter's user the PROCESS privilege to have it named)",
                 waited);
        return true;
    }
    char who[400];
    wait__session(my, c[0], who, sizeof(who));
    snprintf(out, cap,
             "waiting %s s for a row lock%s%s held by %s, whose transaction has been open for "
             "%s s; end that transaction (or KILL %s) and cotter goes on",
             waited, c[1][0] ? " on " : "", c[1], who, c[2], c[0]);
    return true;
}

/* wait__mdl names the session holding a metadata lock that blocks writes
 * (METADATA_LOCK_INFO, when the server has the plugin). */
static void wait__mdl(MYSQL *my, unsigned long thread_id, const char *state, char *out, size_t cap)
{
    char sql[800], c[4][160];
    snprintf(sql, sizeof(sql),
             "SELECT THREAD_ID, LOCK_MODE, TABLE_SCHEMA, TABLE_NAME "
             "FROM information_schema.METADATA_LOCK_INFO WHERE THREAD_ID <> %lu AND LOCK_MODE IN "
             "('MDL_SHARED_NO_READ_WRITE', 'MDL_SHARED_READ_ONLY', 'MDL_SHARED_NO_WRITE', "
             "'MDL_EXCLUSIVE') AND TABLE_NAME <> '' ORDER BY LOCK_MODE LIMIT 1",
             thread_id);
    if (!wait__row(my, sql, c, 4)) {
        snprintf(out, cap,
                 "waiting for a metadata lock (%s): another session holds the table with LOCK "
                 "TABLES, runs a DDL on it, or has an open transaction that used it; look for it "
                 "in SHOW PROCESSLIST (INSTALL SONAME 'metadata_lock_info' lets cotter name it)",
                 state);
        return;
    }
    const char *by = "a DDL";
    if (strcmp(c[1], "MDL_SHARED_NO_READ_WRITE") == 0) by = "LOCK TABLES ... WRITE";
    if (strcmp(c[1], "MDL_SHARED_READ_ONLY") == 0) by = "LOCK TABLES ... READ";
    char who[400];
    wait__session(my, c[0], who, sizeof(who));
    snprintf(out, cap,
             "waiting for a metadata lock on %s.%s held by %s with %s (%s); UNLOCK TABLES there "
             "(or KILL %s) and cotter goes on",
             c[2], c[3], who, by, c[1], c[0]);
}

bool mysql_wait_explain(const cot_url *url, const mysql_conn_opts *opts, unsigned long thread_id,
                        int read_timeout_s, char *out, size_t cap)
{
    out[0] = '\0';
    if (!thread_id) return false;
    mysql_conn_opts o = *opts;
    o.connect_timeout_s = 3;
    o.read_timeout_s = 5;
    o.write_timeout_s = 5;
    o.multi_statements = false;
    o.local_infile = false;
    MYSQL *my = NULL;
    char saved[2048];
    snprintf(saved, sizeof(saved), "%s", cot_err_msg()); /* the caller's error stays */
    cot_err code = cot_err_code();
    bool found = false;
    if (mysql_conn_open(url, &o, &my) == COT_OK) {
        char sql[300], c[3][160];
        snprintf(sql, sizeof(sql),
                 "SELECT COMMAND, TIME, IFNULL(STATE, '') FROM information_schema.PROCESSLIST "
                 "WHERE ID = %lu",
                 thread_id);
        if (wait__row(my, sql, c, 3) &&
            (strcmp(c[0], "Query") == 0 || strcmp(c[0], "Execute") == 0)) {
            found = true;
            char why[1200];
            bool waits_lock = true; /* has not changed anything yet: safe to end */
            if (wait__row_lock(my, thread_id, why, sizeof(why))) {
            } else if (strstr(c[2], "free space") || strstr(c[2], "free some space") ||
                       strstr(c[2], "disk space")) {
                snprintf(why, sizeof(why),
                         "the target's disk is full: the server waits for free space (state "
                         "'%s'); free space on its data directory",
                         c[2]);
                waits_lock = false;
            } else if (strstr(c[2], "metadata lock") || strstr(c[2], "table level lock")) {
                wait__mdl(my, thread_id, c[2], why, sizeof(why));
            } else {
                snprintf(why, sizeof(why),
                         "a slow statement: still running after %s s (state '%s'), e.g. a slow "
                         "trigger, a missing index on the key cotter applies by, or a busy "
                         "server; raise the target's read_timeout if that is expected",
                         c[1], c[2]);
                waits_lock = false;
            }
            snprintf(out, cap,
                     "blocked on the target for more than read_timeout (%d s), not a network "
                     "fault: %s",
                     read_timeout_s, why);
            /* a statement waiting for a lock has changed nothing and would hold
             * its own locks until it gets them: it is ended. One that runs
             * (or waits for disk space) is left to finish: killing a write to
             * a non-transactional table half way can leave it crashed. */
            snprintf(sql, sizeof(sql), "KILL CONNECTION %lu", thread_id);
            if (waits_lock && mysql_query(my, sql) != 0)
                snprintf(out + strlen(out), cap - strlen(out),
                         "; could not end cotter's abandoned connection %lu: %s", thread_id,
                         mysql_error(my));
        }
        mysql_conn_close(my);
    }
    cot_err_set(code, "%s", saved);
    return found;
}
