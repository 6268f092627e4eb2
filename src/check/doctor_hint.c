/*
 * The pure half of the doctor: the one-line diagnosis of a pipeline error
 * (class + what to do) and the reading of SHOW GRANTS lines. No I/O and no
 * state, so the pipeline's error path can call it under its status lock
 * and unit tests drive it directly.
 */
#include "check/doctor.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* errno_in finds "(errno N" (or "errno N") in msg; 0 if none. */
static int errno_in(const char *msg)
{
    const char *p = strstr(msg, "errno ");
    if (!p) return 0;
    char *end = NULL;
    long n = strtol(p + 6, &end, 10);
    if (end == p + 6 || n <= 0 || n > 100000) return 0;
    return (int)n;
}

/* url_key writes "sources.NAME.url" / "targets.NAME.url" for the first
 * "source 'NAME'" / "target NAME" in msg, else "the URL". */
static void url_key(const char *msg, char *out, size_t cap)
{
    snprintf(out, cap, "the URL in the config");
    const char *best = NULL;
    const char *kind = NULL;
    for (int k = 0; k < 2; k++) {
        const char *word = k == 0 ? "source " : "target ";
        const char *p = strstr(msg, word);
        if (p && (!best || p < best)) {
            best = p;
            kind = k == 0 ? "sources" : "targets";
        }
    }
    if (!best) return;
    const char *p = best + 7;
    char quote = (*p == '\'' || *p == '"') ? *p++ : 0;
    char name[128];
    size_t n = 0;
    while (p[n] && n + 1 < sizeof(name) &&
           (quote ? p[n] != quote : (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '-')))
        n++;
    if (n == 0) return;
    memcpy(name, p, n);
    name[n] = '\0';
    snprintf(out, cap, "%s.%s.url", kind, name);
}

static const char *put(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *put(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return out;
}

/* grant_for_denied builds the GRANT for "X command denied to user 'u'@'h'
 * for table `db`.`t`" (MariaDB) or "... for table 't'" (MySQL). The server
 * names the connection's host there, not the account's host pattern (a
 * GRANT to 'u'@'10.0.0.7' for an account 'u'@'10.0.0.%' fails with
 * ERROR 1133), so the hint says how to find the account instead. */
static bool grant_for_denied(const char *msg, char *out, size_t cap)
{
    const char *d = strstr(msg, " command denied to user ");
    if (!d) return false;
    const char *c = d;
    while (c > msg && isupper((unsigned char)c[-1])) c--;
    while (c > msg + 1 && c[-1] == ' ' && isupper((unsigned char)c[-2])) { /* "LOCK TABLES" */
        c--;
        while (c > msg && isupper((unsigned char)c[-1])) c--;
    }
    int cmd_len = (int)(d - c);
    if (cmd_len <= 0) return false;
    const char *u = d + strlen(" command denied to user ");
    const char *for_t = strstr(u, " for table ");
    if (!for_t) return false;
    /* the user name: 'u' of 'u'@'h' */
    int user_len = (int)(for_t - u);
    const char *at = memchr(u, '@', (size_t)user_len);
    if (at) user_len = (int)(at - u);
    const char *t = for_t + strlen(" for table ");
    char schema[130] = "<schema>";
    if (t[0] == '`') {
        const char *e = strchr(t + 1, '`');
        if (e && e[1] == '.') snprintf(schema, sizeof(schema), "`%.*s`", (int)(e - t - 1), t + 1);
    }
    put(out, cap,
        "missing privilege (AUTH): on that server run GRANT %.*s ON %s.* TO <account>, where "
        "<account> is what SELECT CURRENT_USER() returns for user %.*s (its host part may be a "
        "pattern; cotter doctor prints the statement); the pipeline resumes by itself",
        cmd_len, c, schema, user_len, u);
    return true;
}

const char *doctor_hint(const char *msg, int errnum, char *out, size_t cap)
{
    if (!out || cap == 0) return NULL;
    out[0] = '\0';
    if (!msg) msg = "";
    if (errnum <= 0) errnum = errno_in(msg);
    char key[200];
    url_key(msg, key, sizeof(key));
    if (strstr(msg, "more than the target's max_allowed_packet"))
        return put(out, cap,
                   "a row larger than the target accepts (max_allowed_packet): raise it on the "
                   "target as the error says; the pipeline goes on by itself");
    if (strstr(msg, "the target's disk is full") || strstr(msg, "No space left on device"))
        return put(out, cap,
                   "the target's disk is full: free space on the target's data directory; the "
                   "pipeline goes on by itself");
    if (strstr(msg, "blocked on the target for more than read_timeout"))
        return put(out, cap,
                   "a wait on the target, not the network (retriable): end or kill the session "
                   "the error names, or raise the target's read_timeout for slow statements; "
                   "cotter retries by itself");
    switch (errnum) {
    case 1045:
    case 1698:
        return put(out, cap, "access denied (AUTH): check the user name and password in %s", key);
    case 1044:
        return put(out, cap,
                   "no access to the database (AUTH): GRANT the user privileges on it, or fix the "
                   "database in %s; cotter doctor prints the GRANT",
                   key);
    case 1142:
    case 1143:
        if (grant_for_denied(msg, out, cap)) return out;
        return put(out, cap, "missing privilege (AUTH): cotter doctor prints the GRANT to run");
    case 1227: {
        const char *p = strstr(msg, "the ");
        const char *e = p ? strstr(p, " privilege") : NULL;
        if (p && e && e - p - 4 > 0 && e - p - 4 < 100)
            return put(out, cap,
                       "missing privilege (AUTH): run GRANT %.*s ON *.* TO <cotter's user> on "
                       "that server; cotter doctor prints the exact statement",
                       (int)(e - p - 4), p + 4);
        return put(out, cap, "missing privilege (AUTH): cotter doctor prints the GRANT to run");
    }
    case 1236:
        if (strcasestr(msg, "impossible position") || strcasestr(msg, "bogus data"))
            return put(out, cap,
                       "the stored position is not an event boundary of that binlog (POSITION): "
                       "fix the pipeline's row in cotter.positions (or start:) to a position "
                       "SHOW BINLOG EVENTS lists on the source");
        if (strcasestr(msg, "could not find first log") || strcasestr(msg, "purged"))
            return put(out, cap,
                       "the position was purged (POSITION): the source no longer has the binlog "
                       "file the pipeline must read next; re-snapshot or start from an available "
                       "file (SHOW BINARY LOGS), then delete the pipeline's row in "
                       "cotter.positions");
        return put(out, cap,
                   "the source cannot send the binlog from the stored position (POSITION): check "
                   "SHOW BINARY LOGS on the source and the pipeline's row in cotter.positions");
    case 1040:
    case 1053:
    case 1927:
    case 2002:
    case 2003:
    case 2005:
    case 2006:
    case 2013:
    case 2055:
        return put(out, cap,
                   "cannot reach the server (NET): check host and port in %s and that the server "
                   "runs; cotter retries by itself",
                   key);
    case 1049:
        return put(out, cap,
                   "unknown database (CONFIG): the database in the path of %s does not exist", key);
    case 1146:
        return put(out, cap,
                   "table missing (SCHEMA): create the target table (cotter doctor prints how) or "
                   "fix the mapping's to:; the pipeline resumes by itself");
    case 1054:
        return put(out, cap,
                   "column missing (SCHEMA): add the column to the target table or exclude it in "
                   "the mapping; cotter doctor lists every mapping problem");
    case 4052: /* ER_SLAVE_SAME_ID */
        return put(out, cap,
                   "two replicas of the source use one server_id (CONFIG): give cotter's source "
                   "a server_id no other replica of it uses, or stop the other reader");
    case 1021: /* ER_DISK_FULL */
    case 1114: /* ER_RECORD_FILE_FULL */
        return put(out, cap,
                   "the target's disk (or the table's space) is full: free space on the "
                   "target's data directory (or raise the table's size limit); the pipeline "
                   "retries and goes on by itself");
    case 1205:
    case 1213:
        return put(out, cap,
                   "lock conflict on the target (retriable): retried by itself; if it repeats, "
                   "look for long transactions there (SHOW PROCESSLIST)");
    case 1062:
        return put(out, cap,
                   "duplicate key on the target (SCHEMA): the target has a UNIQUE key the source "
                   "lacks, or someone else writes there; run cotter check");
    case 1048:
    case 1264:
    case 1265:
    case 1292:
    case 1366:
    case 1406:
        return put(out, cap,
                   "a value does not fit the target column (SCHEMA): make the target column as "
                   "wide as the source's; cotter doctor lists the type differences");
    default:
        break;
    }
    if (strstr(msg, "mapping") && (strstr(msg, "has no column") || strstr(msg, "no usable key") ||
                                   strstr(msg, "does not exist") || strstr(msg, "source type") ||
                                   strstr(msg, "gets no value")))
        return put(out, cap,
                   "mapping problem (SCHEMA): change the target table or the mapping as the error "
                   "says; the pipeline retries and starts once it is fixed; cotter doctor lists "
                   "every mapping problem");
    if (strstr(msg, "has no column") || strstr(msg, "column count") || strstr(msg, "columns but"))
        return put(out, cap,
                   "schema mismatch (SCHEMA): apply the source's DDL to the target table too; the "
                   "pipeline retries by itself");
    if (strstr(msg, "binlog_format") || strstr(msg, "binlog_row_image"))
        return put(out, cap,
                   "source binlog settings (CONFIG): set binlog_format=ROW and "
                   "binlog_row_image=FULL in the source's my.cnf; cotter doctor explains");
    return NULL;
}

/* ---- SHOW GRANTS ------------------------------------------------------ */

/* unquote copies an identifier without backticks and backslashes. */
static void unquote(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++)
        if (s[i] != '`' && s[i] != '\\' && s[i] != '\'' && s[i] != '"') out[o++] = s[i];
    out[o] = '\0';
}

/* obj_covers says whether a grant's object ("*.*", "`db`.*", "`db`.`t`")
 * covers schema.table (schema NULL: needs *.*; table NULL: needs db.*). */
static bool obj_covers(const char *obj, size_t n, const char *schema, const char *table)
{
    if (n == 3 && memcmp(obj, "*.*", 3) == 0) return true;
    if (!schema) return false;
    /* split at the dot outside backticks */
    size_t dot = n;
    bool in = false;
    for (size_t i = 0; i < n; i++) {
        if (obj[i] == '`') in = !in;
        if (obj[i] == '.' && !in) {
            dot = i;
            break;
        }
    }
    if (dot == n) return false;
    char db[200], tb[200];
    unquote(obj, dot, db, sizeof(db));
    unquote(obj + dot + 1, n - dot - 1, tb, sizeof(tb));
    bool db_ok = strcmp(db, schema) == 0 || strcmp(db, "%") == 0;
    if (!db_ok) {
        size_t dl = strlen(db);
        db_ok = dl > 0 && db[dl - 1] == '%' && strncmp(db, schema, dl - 1) == 0;
    }
    if (!db_ok) return false;
    if (strcmp(tb, "*") == 0) return true;
    return table && strcmp(tb, table) == 0;
}

static bool priv_is(const char *p, size_t n, const char *want)
{
    while (n && isspace((unsigned char)*p)) p++, n--;
    while (n && isspace((unsigned char)p[n - 1])) n--;
    if (n == strlen("ALL PRIVILEGES") && strncasecmp(p, "ALL PRIVILEGES", n) == 0) return true;
    if (n == 3 && strncasecmp(p, "ALL", 3) == 0) return true;
    if (n == strlen(want) && strncasecmp(p, want, n) == 0) return true;
    if (strcasecmp(want, "REPLICATION CLIENT") == 0 && n == strlen("BINLOG MONITOR") &&
        strncasecmp(p, "BINLOG MONITOR", n) == 0)
        return true;
    return false;
}

bool doctor_grants_have(const char *const *grants, size_t n_grants, const char *priv,
                        const char *schema, const char *table)
{
    for (size_t g = 0; g < n_grants; g++) {
        const char *line = grants[g];
        if (!line || strncasecmp(line, "GRANT ", 6) != 0) continue;
        const char *privs = line + 6;
        const char *on = strstr(privs, " ON ");
        if (!on) continue; /* a role grant */
        const char *obj = on + 4;
        if (strncasecmp(obj, "PROCEDURE ", 10) == 0 || strncasecmp(obj, "FUNCTION ", 9) == 0)
            continue;
        const char *to = strstr(obj, " TO ");
        if (!to) continue;
        if (!obj_covers(obj, (size_t)(to - obj), schema, table)) continue;
        /* the privilege list, split at commas outside parentheses */
        const char *p = privs;
        int depth = 0;
        for (const char *q = privs; q <= on; q++) {
            if (q < on && *q == '(') depth++;
            if (q < on && *q == ')') depth--;
            if (q == on || (*q == ',' && depth == 0)) {
                /* a column-level grant "SELECT (a, b)" does not cover the whole table */
                if (!memchr(p, '(', (size_t)(q - p)) && priv_is(p, (size_t)(q - p), priv))
                    return true;
                p = q + 1;
            }
        }
    }
    return false;
}
