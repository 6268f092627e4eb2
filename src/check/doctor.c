/*
 * `cotter doctor` (contract in the header). Connects once to every source
 * and target of the config, runs the endpoint checks on each connection,
 * then the per-pipeline checks (binlog retention against the stored
 * position, mappings) on the same connections, and prints the findings as
 * a readable report or JSON. Read-only on both sides: privilege probes on
 * the target are statements that match no row (WHERE 1=0). Main thread.
 */
#include "check/doctor.h"

#include "check/check_sql.h"
#include "check/fk_check.h"
#include "check/mapping_check.h"
#include "client/mysql_conn.h"
#include "pipeline/transform.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#define TAG "doctor"

/* One connected endpoint. */
typedef struct dend {
    const cfg_endpoint *ep;
    bool is_source;
    MYSQL *my;         /* NULL: not MySQL, or could not connect */
    char subject[200]; /* "source shop" */
    char user[300];    /* CURRENT_USER() as 'u'@'h' */
    char **grants;     /* SHOW GRANTS lines */
    size_t n_grants;
    bool grants_read;
    bool has_roles;
    char **binlogs; /* sources: SHOW BINARY LOGS names, oldest first */
    unsigned long long *binlog_sizes;
    size_t n_binlogs;
    bool binlogs_read;
    bool expiring; /* sources: binlogs are purged automatically */
} dend;

typedef struct dctx {
    const cot_config *cfg;
    doctor_report *rep;
    dend *ends;
    size_t n_ends;
} dctx;

static const char *const level_names[] = {"OK", "WARN", "FAIL"};

const char *doctor_level_name(doctor_level lv)
{
    return (unsigned)lv < 3 ? level_names[lv] : "?";
}

static char *xstrdup(const char *s)
{
    char *r = strdup(s ? s : "");
    if (!r) abort();
    return r;
}

static void item(doctor_report *rep, doctor_level lv, const char *subject, const char *check,
                 const char *fix, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void item(doctor_report *rep, doctor_level lv, const char *subject, const char *check,
                 const char *fix, const char *fmt, ...)
{
    doctor_item *v = realloc(rep->items, (rep->n + 1) * sizeof(*v));
    if (!v) abort();
    rep->items = v;
    doctor_item *it = &v[rep->n++];
    it->level = lv;
    it->subject = xstrdup(subject);
    it->check = xstrdup(check);
    it->fix = xstrdup(fix);
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&it->message, fmt, ap) < 0) abort();
    va_end(ap);
    if (lv == DOCTOR_OK) rep->n_ok++;
    if (lv == DOCTOR_WARN) rep->n_warn++;
    if (lv == DOCTOR_FAIL) rep->n_fail++;
}

void doctor_report_free(doctor_report *rep)
{
    for (size_t i = 0; i < rep->n; i++) {
        free(rep->items[i].subject);
        free(rep->items[i].check);
        free(rep->items[i].message);
        free(rep->items[i].fix);
    }
    free(rep->items);
    memset(rep, 0, sizeof(*rep));
}

/* ---- small query helpers ---------------------------------------------- */

/* q_rows runs sql and returns its result (caller frees), or NULL with
 * *errnum and msg set. */
static MYSQL_RES *q_rows(MYSQL *my, const char *sql, unsigned *errnum, char *msg, size_t cap)
{
    *errnum = 0;
    if (mysql_query(my, sql) == 0) {
        MYSQL_RES *res = mysql_store_result(my);
        if (res) return res;
        if (mysql_field_count(my) == 0) {
            *errnum = 0;
            snprintf(msg, cap, "the statement returned no rows");
            return NULL;
        }
    }
    *errnum = mysql_errno(my);
    snprintf(msg, cap, "%s (errno %u)", mysql_error(my), *errnum);
    return NULL;
}

/* q_value returns the first column of the first row of sql (heap), or NULL. */
static char *q_value(MYSQL *my, const char *sql)
{
    unsigned e;
    char msg[512];
    MYSQL_RES *res = q_rows(my, sql, &e, msg, sizeof(msg));
    if (!res) return NULL;
    MYSQL_ROW row = mysql_fetch_row(res);
    char *v = row && row[0] ? xstrdup(row[0]) : NULL;
    mysql_free_result(res);
    return v;
}

/* q_exec runs a statement and discards any result; returns the errno (0 ok). */
static unsigned q_exec(MYSQL *my, const char *sql, char *msg, size_t cap)
{
    if (mysql_query(my, sql) != 0) {
        snprintf(msg, cap, "%s (errno %u)", mysql_error(my), mysql_errno(my));
        return mysql_errno(my);
    }
    MYSQL_RES *res = mysql_store_result(my);
    mysql_free_result(res);
    return 0;
}

/* ---- endpoints ---------------------------------------------------------- */

static bool url_wants_tls(const cot_url *u)
{
    const char *keys[] = {"ssl", "tls", "ssl-mode", "ssl_mode", "sslmode"};
    bool want = false;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char *v = cot_url_param(u, keys[i]);
        if (v && v[0] && strcasecmp(v, "0") != 0 && strcasecmp(v, "false") != 0 &&
            strcasecmp(v, "disabled") != 0 && strcasecmp(v, "off") != 0)
            want = true;
        free(v);
    }
    /* tls_ca / tls_cert / tls_key / tls_verify turn TLS on too (docs/security.md) */
    const char *implied[] = {"tls_ca", "tls_cert", "tls_key", "tls_verify"};
    for (size_t i = 0; i < sizeof(implied) / sizeof(implied[0]); i++) {
        char *v = cot_url_param(u, implied[i]);
        if (v) want = true;
        free(v);
    }
    char *off = cot_url_param(u, "tls");
    if (off && strcasecmp(off, "false") == 0) want = false;
    free(off);
    return want;
}

static void check_connect(dctx *dc, dend *de)
{
    const cfg_endpoint *ep = de->ep;
    if (!cot_url_is_mysql(&ep->url)) {
        item(dc->rep, DOCTOR_OK, de->subject, "connect", "",
             "%s:// endpoint: doctor checks MySQL/MariaDB servers only", ep->url.scheme);
        return;
    }
    char role[220];
    snprintf(role, sizeof(role), "%s '%s'", de->is_source ? "source" : "target", ep->name);
    mysql_conn_opts mo = {.role = role,
                          .connect_timeout_s =
                              ep->connect_timeout_s > 0 ? ep->connect_timeout_s : 5,
                          .read_timeout_s = ep->read_timeout_s > 0 ? ep->read_timeout_s : 30,
                          .write_timeout_s = ep->write_timeout_s > 0 ? ep->write_timeout_s : 30};
    double t0 = clock_now_s();
    cot_err rc = mysql_conn_open(&ep->url, &mo, &de->my);
    double ms = (clock_now_s() - t0) * 1000.0;
    if (rc) {
        char hint[512];
        const char *h = doctor_hint(cot_err_msg(), 0, hint, sizeof(hint));
        item(dc->rep, DOCTOR_FAIL, de->subject, "connect", h ? hint : "check the URL",
             "%s (after %.0f ms)", cot_err_msg(), ms);
        de->my = NULL;
        return;
    }
    item(dc->rep, DOCTOR_OK, de->subject, "connect", "", "connected to %s in %.1f ms",
         ep->url.redacted, ms);
    mysql_query(de->my, "SET time_zone='+00:00'");

    if (url_wants_tls(&ep->url)) {
        char *cipher = q_value(de->my, "SELECT VARIABLE_VALUE FROM information_schema."
                                       "SESSION_STATUS WHERE VARIABLE_NAME='SSL_CIPHER'");
        if (cipher && cipher[0])
            item(dc->rep, DOCTOR_OK, de->subject, "tls", "", "connection encrypted (%s)", cipher);
        else
            item(dc->rep, DOCTOR_FAIL, de->subject, "tls",
                 "enable TLS on the server (ssl_cert, ssl_key in its my.cnf) and check that "
                 "cotter's client library was built with TLS",
                 "the URL asks for TLS but the connection is not encrypted");
        free(cipher);
    }

    char *ver = q_value(de->my, "SELECT VERSION()");
    if (ver) {
        int major = 0, minor = 0;
        sscanf(ver, "%d.%d", &major, &minor);
        bool maria = strcasestr(ver, "mariadb") != NULL;
        bool recent = maria ? (major > 10 || (major == 10 && minor >= 5)) : major >= 8;
        if (recent)
            item(dc->rep, DOCTOR_OK, de->subject, "version", "", "%s %s",
                 maria ? "MariaDB" : "MySQL", ver);
        else
            item(dc->rep, DOCTOR_WARN, de->subject, "version",
                 "upgrade to MariaDB >= 10.5 or MySQL >= 8.0",
                 "%s %s is older than MariaDB 10.5 / MySQL 8.0: the binlog carries no column "
                 "names (binlog_row_metadata), they come from information_schema",
                 maria ? "MariaDB" : "MySQL", ver);
        free(ver);
    }

    /* clock skew: the server's clock against ours, at the middle of the round trip */
    struct timeval a, b;
    gettimeofday(&a, NULL);
    char *now = q_value(de->my, "SELECT UNIX_TIMESTAMP(NOW(6))");
    gettimeofday(&b, NULL);
    if (now) {
        double local =
            ((double)a.tv_sec + a.tv_usec / 1e6 + (double)b.tv_sec + b.tv_usec / 1e6) / 2;
        double skew = strtod(now, NULL) - local;
        double rtt = ((double)b.tv_sec - (double)a.tv_sec) + (b.tv_usec - a.tv_usec) / 1e6;
        double mag = skew < 0 ? -skew : skew;
        if (mag <= 1.0 + rtt)
            item(dc->rep, DOCTOR_OK, de->subject, "clock", "",
                 "server clock within %.0f ms of this host's", mag * 1000);
        else
            item(dc->rep, DOCTOR_WARN, de->subject, "clock",
                 "synchronise both hosts' clocks (chrony or systemd-timesyncd)",
                 "server clock is %.1f s %s this host's: delay figures are off by that much", mag,
                 skew > 0 ? "ahead of" : "behind");
        free(now);
    }
}

static void read_grants(dend *de)
{
    de->grants_read = true;
    char *cu = q_value(de->my, "SELECT CURRENT_USER()");
    if (cu) {
        char *at = strrchr(cu, '@');
        if (at) {
            *at = '\0';
            snprintf(de->user, sizeof(de->user), "'%s'@'%s'", cu, at + 1);
        } else {
            snprintf(de->user, sizeof(de->user), "'%s'", cu);
        }
        free(cu);
    } else {
        snprintf(de->user, sizeof(de->user), "<cotter's user>");
    }
    unsigned e;
    char msg[512];
    MYSQL_RES *res = q_rows(de->my, "SHOW GRANTS", &e, msg, sizeof(msg));
    if (!res) return;
    de->grants = calloc(mysql_num_rows(res) + 1, sizeof(char *));
    if (!de->grants) abort();
    for (MYSQL_ROW row; (row = mysql_fetch_row(res));) {
        if (!row[0]) continue;
        if (strncasecmp(row[0], "GRANT ", 6) == 0 && !strstr(row[0], " ON ")) de->has_roles = true;
        de->grants[de->n_grants++] = xstrdup(row[0]);
    }
    mysql_free_result(res);
}

static bool has(const dend *de, const char *priv, const char *schema, const char *table)
{
    return doctor_grants_have((const char *const *)de->grants, de->n_grants, priv, schema, table);
}

/* grant_item reports a missing privilege list on obj as FAIL (WARN when it
 * may come from a role, or when lv says so). */
static void grant_item(dctx *dc, const dend *de, doctor_level lv, const char *privs,
                       const char *obj, const char *why)
{
    char fix[700];
    snprintf(fix, sizeof(fix), "GRANT %s ON %s TO %s;", privs, obj, de->user);
    if (de->has_roles && lv == DOCTOR_FAIL) lv = DOCTOR_WARN;
    item(dc->rep, lv, de->subject, "grants", fix, "user %s lacks %s on %s%s: %s", de->user, privs,
         obj, de->has_roles ? " (unless one of its roles grants it)" : "", why);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* add_unique appends s to a list of distinct strings. */
static void add_unique(char ***v, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i], s) == 0) return;
    *v = realloc(*v, (*n + 1) * sizeof(char *));
    if (!*v) abort();
    (*v)[(*n)++] = xstrdup(s);
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* literal_schema copies the schema part of a "schema.table" pattern or
 * template when it has no glob or placeholder; false otherwise. */
static bool literal_schema(const char *pattern, char *out, size_t cap)
{
    if (!pattern || table_pattern_is_regex(pattern)) return false;
    const char *dot = strchr(pattern, '.');
    if (!dot || dot == pattern || (size_t)(dot - pattern) >= cap) return false;
    for (const char *p = pattern; p < dot; p++)
        if (strchr("*?[]{}", *p)) return false;
    snprintf(out, cap, "%.*s", (int)(dot - pattern), pattern);
    return true;
}

/* mapped_schemas lists the source schemas (and the target schemas they are
 * routed to) of the tables that pc maps, read from src, plus the schemas
 * the mappings name literally (a user without SELECT sees no table in
 * information_schema, so listing alone would miss them). */
static void mapped_schemas(const cfg_pipeline *pc, MYSQL *src, char ***s_out, size_t *n_s,
                           char ***t_out, size_t *n_t)
{
    for (int i = 0; i < pc->n_tables; i++) {
        char sch[65], tsch[65];
        if (!literal_schema(pc->tables[i].match, sch, sizeof(sch))) continue;
        if (s_out) add_unique(s_out, n_s, sch);
        if (!t_out) continue;
        if (!pc->tables[i].to)
            add_unique(t_out, n_t, sch);
        else if (literal_schema(pc->tables[i].to, tsch, sizeof(tsch)))
            add_unique(t_out, n_t, tsch);
    }
    if (!src) return;
    unsigned e;
    char msg[512];
    MYSQL_RES *res = q_rows(src,
                            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE "
                            "TABLE_TYPE='BASE TABLE' AND TABLE_SCHEMA NOT IN ('mysql',"
                            "'information_schema','performance_schema','sys')",
                            &e, msg, sizeof(msg));
    if (!res) return;
    for (MYSQL_ROW row; (row = mysql_fetch_row(res));) {
        const cfg_table_map *tm = transform_mapping(pc, row[0], row[1], NULL, 0);
        if (!tm) continue;
        if (s_out) add_unique(s_out, n_s, row[0]);
        char ts[65], tt[65];
        if (t_out && table_route(tm->to, row[0], row[1], ts, sizeof(ts), tt, sizeof(tt)))
            add_unique(t_out, n_t, ts);
    }
    mysql_free_result(res);
}

static dend *find_end(dctx *dc, const cfg_endpoint *ep)
{
    for (size_t i = 0; i < dc->n_ends; i++)
        if (dc->ends[i].ep == ep) return &dc->ends[i];
    return NULL;
}

static void var_get(MYSQL_RES *res, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    mysql_data_seek(res, 0);
    for (MYSQL_ROW row; (row = mysql_fetch_row(res));)
        if (row[0] && strcasecmp(row[0], name) == 0) {
            snprintf(out, cap, "%s", row[1] ? row[1] : "");
            return;
        }
}

/* check_source_watermarks checks what the lock-free initial load writes on
 * the source: its watermark rows in cotter.snapshot_watermarks (the schema
 * and table are created on first use). A FAIL when a pipeline of this
 * source has snapshot: initial, else a WARN (only `cotter snapshot` needs
 * them then). */
static void check_source_watermarks(dctx *dc, dend *de)
{
    bool initial = false;
    for (int c = 0; c < dc->cfg->n_channels; c++)
        for (int p = 0; p < dc->cfg->channels[c].n_pipelines; p++) {
            const cfg_pipeline *pc = &dc->cfg->channels[c].pipelines[p];
            if (pc->source == de->ep && pc->snapshot != SNAPSHOT_NEVER) initial = true;
        }
    const char *need[] = {"CREATE", "SELECT", "INSERT", "UPDATE"};
    buf missing;
    buf_init(&missing);
    for (size_t k = 0; k < sizeof(need) / sizeof(need[0]); k++)
        if (!has(de, need[k], "cotter", NULL)) {
            if (missing.len) buf_puts(&missing, ", ");
            buf_puts(&missing, need[k]);
        }
    if (missing.len)
        grant_item(dc, de, initial ? DOCTOR_FAIL : DOCTOR_WARN, missing.data, "`cotter`.*",
                   initial ? "snapshot: initial writes its watermark rows to "
                             "cotter.snapshot_watermarks on the source: the initial load cannot "
                             "start"
                           : "`cotter snapshot` writes its watermark rows to "
                             "cotter.snapshot_watermarks on the source");
    else
        item(dc->rep, DOCTOR_OK, de->subject, "grants", "",
             "%s can write the initial load's watermark rows (cotter.snapshot_watermarks)",
             de->user);
    buf_deinit(&missing);
}

static void check_source(dctx *dc, dend *de)
{
    MYSQL *my = de->my;
    unsigned e;
    char msg[512];
    const char *s = de->subject;
    MYSQL_RES *vars = q_rows(my,
                             "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin',"
                             "'binlog_format','binlog_row_image','binlog_row_metadata','server_id',"
                             "'expire_logs_days','binlog_expire_logs_seconds')",
                             &e, msg, sizeof(msg));
    if (!vars) {
        item(dc->rep, DOCTOR_FAIL, s, "settings", "", "cannot read the server's variables: %s",
             msg);
        return;
    }
    char v[128];
    var_get(vars, "log_bin", v, sizeof(v));
    if (strcasecmp(v, "ON") == 0 || strcmp(v, "1") == 0)
        item(dc->rep, DOCTOR_OK, s, "log_bin", "", "binary log is on");
    else
        item(dc->rep, DOCTOR_FAIL, s, "log_bin",
             "add log_bin=binlog (and a server_id) under [mysqld] in the source's my.cnf and "
             "restart it",
             "the binary log is off (log_bin=%s): there are no changes to read", v[0] ? v : "OFF");

    var_get(vars, "binlog_format", v, sizeof(v));
    if (strcasecmp(v, "ROW") == 0)
        item(dc->rep, DOCTOR_OK, s, "binlog_format", "", "binlog_format=ROW");
    else
        item(dc->rep, DOCTOR_FAIL, s, "binlog_format",
             "SET GLOBAL binlog_format='ROW'; and binlog_format=ROW under [mysqld] in my.cnf "
             "(open sessions keep the old format until they reconnect)",
             "binlog_format is %s: changes are logged as SQL statements%s, not as rows, so cotter "
             "does not see them",
             v, strcasecmp(v, "MIXED") == 0 ? " whenever the server deems it safe" : "");

    var_get(vars, "binlog_row_image", v, sizeof(v));
    if (strcasecmp(v, "FULL") == 0 || !v[0])
        item(dc->rep, DOCTOR_OK, s, "binlog_row_image", "", "binlog_row_image=%s",
             v[0] ? v : "FULL");
    else
        item(dc->rep, DOCTOR_WARN, s, "binlog_row_image",
             "SET GLOBAL binlog_row_image='FULL'; and binlog_row_image=FULL under [mysqld] in "
             "my.cnf",
             "binlog_row_image is %s: %s; a row missing on the target cannot be rebuilt from an "
             "update, and where: filters on columns left out cannot be evaluated",
             v,
             strcasecmp(v, "MINIMAL") == 0
                 ? "updates carry only the key and the changed columns, deletes only the key"
                 : "unchanged BLOB and TEXT columns are left out of updates");

    var_get(vars, "binlog_row_metadata", v, sizeof(v));
    if (strcasecmp(v, "FULL") == 0)
        item(dc->rep, DOCTOR_OK, s, "binlog_row_metadata", "", "binlog_row_metadata=FULL");
    else
        item(dc->rep, DOCTOR_WARN, s, "binlog_row_metadata",
             "SET GLOBAL binlog_row_metadata='FULL'; and binlog_row_metadata=FULL in my.cnf "
             "(MariaDB >= 10.5, MySQL >= 8.0)",
             "binlog_row_metadata is %s: cotter works, reading column names from "
             "information_schema, but an event older than a later ALTER TABLE is decoded with "
             "the newer definition",
             v[0] ? v : "not supported by this server");

    /* server ids */
    var_get(vars, "server_id", v, sizeof(v));
    unsigned long own = strtoul(v, NULL, 10);
    char fix[600];
    uint32_t ids[64];
    size_t n_ids = 0;
    for (int c = 0; c < dc->cfg->n_channels; c++)
        for (int p = 0; p < dc->cfg->channels[c].n_pipelines; p++)
            if (dc->cfg->channels[c].pipelines[p].source == de->ep && n_ids < 64) {
                ids[n_ids] = de->ep->server_id + (uint32_t)n_ids;
                n_ids++;
            }
    if (n_ids == 0) ids[n_ids++] = de->ep->server_id;
    snprintf(fix, sizeof(fix),
             "set sources.%s.server_id to a number no other server or replica "
             "of this source uses",
             de->ep->name);
    bool id_bad = false;
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] == own) {
            /* MariaDB and MySQL accept such a replica; a real replica of the
             * source with the same rule would skip every event, cotter does
             * not, so it works, but it is a trap for the next replica */
            item(dc->rep, DOCTOR_WARN, s, "server_id", fix,
                 "cotter's server_id %u is the source's own server_id: the source accepts the "
                 "connection, but server ids are meant to be unique among a source and its "
                 "replicas",
                 ids[i]);
            id_bad = true;
        }
    for (size_t o = 0; o < dc->n_ends; o++) {
        const dend *x = &dc->ends[o];
        if (x == de || !x->is_source || !x->ep->url.host || !de->ep->url.host) continue;
        if (strcmp(x->ep->url.host, de->ep->url.host) || x->ep->url.port != de->ep->url.port)
            continue;
        if (x->ep->server_id == de->ep->server_id) {
            item(dc->rep, DOCTOR_FAIL, s, "server_id", fix,
                 "source %s is the same server with the same server_id %u: the two replica "
                 "connections drop each other",
                 x->ep->name, x->ep->server_id);
            id_bad = true;
        }
    }
    MYSQL_RES *hosts = q_rows(my, "SHOW SLAVE HOSTS", &e, msg, sizeof(msg));
    if (!hosts) {
        item(dc->rep, DOCTOR_WARN, s, "server_id",
             "GRANT REPLICATION MASTER ADMIN ON *.* TO <user> (MariaDB) to let doctor list them",
             "cannot list the source's replicas (SHOW SLAVE HOSTS): %s; server_id %u not compared "
             "with them",
             msg, de->ep->server_id);
    } else {
        for (MYSQL_ROW row; (row = mysql_fetch_row(hosts));) {
            unsigned long rid = row[0] ? strtoul(row[0], NULL, 10) : 0;
            for (size_t i = 0; i < n_ids; i++)
                if (rid == ids[i]) {
                    item(dc->rep, DOCTOR_WARN, s, "server_id", fix,
                         "a replica with server_id %lu is connected (host %s, port %s): unless "
                         "it is this cotter running, each of the two drops the other's "
                         "connection",
                         rid, row[1] ? row[1] : "?", row[2] ? row[2] : "?");
                    id_bad = true;
                }
        }
        mysql_free_result(hosts);
    }
    if (!id_bad)
        item(dc->rep, DOCTOR_OK, s, "server_id", "",
             "cotter's server_id %u%s clashes with no server or replica seen (source's own is "
             "%lu)",
             ids[0], n_ids > 1 ? " (and the next ones, one per pipeline)" : "", own);

    /* retention */
    char days[64], secs[64];
    var_get(vars, "expire_logs_days", days, sizeof(days));
    var_get(vars, "binlog_expire_logs_seconds", secs, sizeof(secs));
    double exp_s = strtod(secs, NULL);
    if (exp_s <= 0) exp_s = strtod(days, NULL) * 86400.0;
    de->expiring = exp_s > 0;
    mysql_free_result(vars);
    MYSQL_RES *logs = q_rows(my, "SHOW BINARY LOGS", &e, msg, sizeof(msg));
    de->binlogs_read = logs != NULL;
    if (logs) {
        de->binlogs = calloc(mysql_num_rows(logs) + 1, sizeof(char *));
        de->binlog_sizes = calloc(mysql_num_rows(logs) + 1, sizeof(unsigned long long));
        if (!de->binlogs || !de->binlog_sizes) abort();
        for (MYSQL_ROW row; (row = mysql_fetch_row(logs));) {
            de->binlog_sizes[de->n_binlogs] = row[1] ? strtoull(row[1], NULL, 10) : 0;
            de->binlogs[de->n_binlogs++] = xstrdup(row[0] ? row[0] : "");
        }
        mysql_free_result(logs);
        if (exp_s > 0)
            item(dc->rep, DOCTOR_OK, s, "binlog retention", "",
                 "binlogs are purged after %.1f h; %zu file(s) on the server, oldest %s",
                 exp_s / 3600, de->n_binlogs, de->n_binlogs ? de->binlogs[0] : "-");
        else
            item(dc->rep, DOCTOR_OK, s, "binlog retention", "",
                 "binlogs are never purged automatically (expire_logs_days=0); %zu file(s), "
                 "oldest %s",
                 de->n_binlogs, de->n_binlogs ? de->binlogs[0] : "-");
    }

    /* grants */
    read_grants(de);
    if (!de->grants) {
        item(dc->rep, DOCTOR_WARN, s, "grants", "", "cannot read the user's grants");
        return;
    }
    if (!has(de, "REPLICATION SLAVE", NULL, NULL))
        grant_item(dc, de, DOCTOR_FAIL, "REPLICATION SLAVE", "*.*",
                   "cotter cannot read the binlog");
    else
        item(dc->rep, DOCTOR_OK, s, "grants", "", "%s has REPLICATION SLAVE", de->user);
    if (!has(de, "REPLICATION CLIENT", NULL, NULL))
        grant_item(dc, de, DOCTOR_FAIL, "REPLICATION CLIENT", "*.*",
                   "SHOW MASTER STATUS and SHOW BINARY LOGS fail (start position, online check)");
    char **schemas = NULL;
    size_t n_schemas = 0;
    for (int c = 0; c < dc->cfg->n_channels; c++)
        for (int p = 0; p < dc->cfg->channels[c].n_pipelines; p++)
            if (dc->cfg->channels[c].pipelines[p].source == de->ep)
                mapped_schemas(&dc->cfg->channels[c].pipelines[p], my, &schemas, &n_schemas, NULL,
                               NULL);
    if (n_schemas) qsort(schemas, n_schemas, sizeof(char *), cmp_str);
    bool all_select = true;
    for (size_t i = 0; i < n_schemas; i++) {
        if (has(de, "SELECT", schemas[i], NULL)) continue;
        all_select = false;
        buf obj;
        buf_init(&obj);
        buf_ident(&obj, schemas[i]);
        buf_puts(&obj, ".*");
        grant_item(dc, de, DOCTOR_FAIL, "SELECT", obj.data,
                   "snapshots, check and the column lookup cannot read the mapped tables");
        buf_deinit(&obj);
    }
    if (all_select && n_schemas)
        item(dc->rep, DOCTOR_OK, s, "grants", "", "%s can SELECT the %zu mapped schema(s)",
             de->user, n_schemas);
    free_list(schemas, n_schemas);
    check_source_watermarks(dc, de);
}

static void check_target(dctx *dc, dend *de)
{
    MYSQL *my = de->my;
    const char *s = de->subject;
    read_grants(de);
    char **schemas = NULL;
    size_t n_schemas = 0;
    bool ddl_apply = false, any_source = false, load_creates = false, load_indexes = false;
    for (int c = 0; c < dc->cfg->n_channels; c++)
        for (int p = 0; p < dc->cfg->channels[c].n_pipelines; p++) {
            const cfg_pipeline *pc = &dc->cfg->channels[c].pipelines[p];
            if (pc->target != de->ep) continue;
            if (pc->ddl == CFG_DDL_APPLY) ddl_apply = true;
            if (pc->snapshot != SNAPSHOT_NEVER && pc->snapshot_create_tables) {
                load_creates = true;
                load_indexes = load_indexes || pc->snapshot_defer_indexes;
            }
            dend *src = find_end(dc, pc->source);
            if (src && src->my) any_source = true;
            mapped_schemas(pc, src ? src->my : NULL, NULL, NULL, &schemas, &n_schemas);
        }
    if (n_schemas) qsort(schemas, n_schemas, sizeof(char *), cmp_str);
    if (!de->grants) {
        item(dc->rep, DOCTOR_WARN, s, "grants", "", "cannot read the user's grants");
    } else {
        bool ok = true;
        for (size_t i = 0; i < n_schemas; i++) {
            buf obj;
            buf_init(&obj);
            buf_ident(&obj, schemas[i]);
            buf_puts(&obj, ".*");
            buf missing;
            buf_init(&missing);
            const char *dml[] = {"SELECT", "INSERT", "UPDATE", "DELETE"};
            for (size_t k = 0; k < 4; k++)
                if (!has(de, dml[k], schemas[i], NULL)) {
                    if (missing.len) buf_puts(&missing, ", ");
                    buf_puts(&missing, dml[k]);
                }
            if (missing.len) {
                grant_item(dc, de, DOCTOR_FAIL, missing.data, obj.data,
                           "the pipeline cannot apply changes there");
                ok = false;
            }
            buf_reset(&missing);
            const char *ddl[] = {"CREATE", "ALTER", "DROP", "INDEX"};
            for (size_t k = 0; ddl_apply && k < 4; k++)
                if (!has(de, ddl[k], schemas[i], NULL)) {
                    if (missing.len) buf_puts(&missing, ", ");
                    buf_puts(&missing, ddl[k]);
                }
            if (missing.len) {
                grant_item(dc, de, DOCTOR_WARN, missing.data, obj.data,
                           "with ddl: apply a CREATE/ALTER/DROP TABLE or CREATE/DROP INDEX on "
                           "the source stops the pipeline (or set ddl: ignore)");
                ok = false;
            }
            buf_reset(&missing);
            /* the deferred indexes are added with ALTER TABLE ... ADD KEY */
            const char *load[] = {"CREATE", "ALTER"};
            for (size_t k = 0; load_creates && k < (load_indexes ? 2u : 1u); k++)
                if (!has(de, load[k], schemas[i], NULL)) {
                    if (missing.len) buf_puts(&missing, ", ");
                    buf_puts(&missing, load[k]);
                }
            if (missing.len) {
                grant_item(dc, de, DOCTOR_FAIL, missing.data, obj.data,
                           "the initial load creates missing target tables (create_tables) and "
                           "adds their secondary indexes after the copy (defer_indexes): without "
                           "these it stops there");
                ok = false;
            }
            buf_deinit(&missing);
            buf_deinit(&obj);
        }
        if (ok && n_schemas)
            item(dc->rep, DOCTOR_OK, s, "grants", "", "%s can write the %zu mapped schema(s)%s",
                 de->user, n_schemas, ddl_apply ? " and apply DDL there" : "");
        else if (!any_source && !n_schemas)
            item(dc->rep, DOCTOR_WARN, s, "grants", "",
                 "mapped schemas unknown (no source reachable): grants on them not checked");
    }
    free_list(schemas, n_schemas);

    /* the cotter schema: positions (and check results) live there */
    char msg[512];
    char *exists = q_value(my, "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                               "TABLE_SCHEMA='cotter' AND TABLE_NAME='positions'");
    char fix[700];
    snprintf(fix, sizeof(fix), "GRANT CREATE, SELECT, INSERT, UPDATE, DELETE ON `cotter`.* TO %s;",
             de->user);
    if (exists && strcmp(exists, "1") == 0) {
        const char *probes[] = {
            "UPDATE `cotter`.`positions` SET pipeline=pipeline WHERE 1=0",
            "INSERT INTO `cotter`.`positions` SELECT * FROM `cotter`.`positions` WHERE 1=0",
            "DELETE FROM `cotter`.`positions` WHERE 1=0"};
        bool ok = true;
        for (size_t i = 0; i < 3 && ok; i++)
            if (q_exec(my, probes[i], msg, sizeof(msg))) {
                item(dc->rep, DOCTOR_FAIL, s, "cotter schema", fix,
                     "cannot write cotter.positions: %s; the pipeline cannot store its position",
                     msg);
                ok = false;
            }
        if (ok) item(dc->rep, DOCTOR_OK, s, "cotter schema", "", "cotter.positions is writable");
    } else if (de->grants &&
               !(has(de, "CREATE", "cotter", NULL) && has(de, "SELECT", "cotter", NULL) &&
                 has(de, "INSERT", "cotter", NULL) && has(de, "UPDATE", "cotter", NULL) &&
                 has(de, "DELETE", "cotter", NULL))) {
        item(dc->rep, DOCTOR_FAIL, s, "cotter schema", fix,
             "cotter.positions does not exist and %s cannot create and keep it (CREATE, SELECT, "
             "INSERT, UPDATE, DELETE on `cotter`.*; DELETE when load.parallelism changes): the "
             "pipeline cannot store its position",
             de->user);
    } else {
        item(dc->rep, DOCTOR_OK, s, "cotter schema", "",
             "cotter.positions does not exist yet; the pipeline creates it");
    }
    free(exists);
}

/* ---- pipelines ----------------------------------------------------------- */

static bool binlog_listed(const dend *src, const char *file, size_t *idx)
{
    for (size_t i = 0; i < src->n_binlogs; i++)
        if (strcmp(src->binlogs[i], file) == 0) {
            *idx = i;
            return true;
        }
    return false;
}

static void check_position(dctx *dc, const cfg_pipeline *pc, dend *src, dend *tgt,
                           const char *subject)
{
    if (!src->binlogs_read) {
        item(dc->rep, DOCTOR_WARN, subject, "position",
             "GRANT REPLICATION CLIENT ON *.* TO <source user>",
             "cannot list the source's binlogs (SHOW BINARY LOGS): stored position not compared");
        return;
    }
    buf q;
    buf_init(&q);
    buf_puts(&q, "SELECT binlog_file, binlog_pos, pipeline FROM `cotter`.`positions` WHERE "
                 "pipeline=");
    check_sql_literal(&q, pc->name, strlen(pc->name), "varchar");
    buf_puts(&q, " OR pipeline LIKE ");
    buf lk;
    buf_init(&lk);
    for (const char *p = pc->name; *p; p++) {
        if (*p == '%' || *p == '_' || *p == '\\') buf_putc(&lk, '\\');
        buf_putc(&lk, *p);
    }
    buf_puts(&lk, "#%");
    check_sql_literal(&q, lk.data, lk.len, "varchar");
    buf_puts(&q, " ORDER BY binlog_file, binlog_pos LIMIT 1");
    buf_deinit(&lk);
    unsigned e;
    char msg[512];
    MYSQL_RES *res = q_rows(tgt->my, q.data, &e, msg, sizeof(msg));
    buf_deinit(&q);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    if (!row) {
        if (!res && e != 1146)
            item(dc->rep, DOCTOR_WARN, subject, "position", "",
                 "cannot read the stored position from cotter.positions: %s", msg);
        else if (pc->start_file && pc->start_file[0]) {
            size_t idx;
            if (binlog_listed(src, pc->start_file, &idx))
                item(dc->rep, DOCTOR_OK, subject, "position", "",
                     "no stored position yet; the configured start file %s is on the source",
                     pc->start_file);
            else
                item(dc->rep, DOCTOR_FAIL, subject, "position",
                     "set start: to a file listed by SHOW BINARY LOGS on the source",
                     "the configured start file %s is not on source %s (oldest there: %s)",
                     pc->start_file, pc->source_name, src->n_binlogs ? src->binlogs[0] : "-");
        } else {
            item(dc->rep, DOCTOR_OK, subject, "position", "",
                 "no stored position yet: the first start reads from the source's current end");
        }
        mysql_free_result(res);
        return;
    }
    char file[256];
    snprintf(file, sizeof(file), "%s", row[0] ? row[0] : "");
    unsigned long long pos = row[1] ? strtoull(row[1], NULL, 10) : 0;
    mysql_free_result(res);
    size_t idx = 0;
    if (!binlog_listed(src, file, &idx)) {
        char fix[700];
        snprintf(fix, sizeof(fix),
                 "the changes since then are gone from the binlog: re-snapshot the tables "
                 "(cotter snapshot) after deleting the pipeline's rows (DELETE FROM "
                 "cotter.positions WHERE pipeline='%s' OR pipeline LIKE '%s#%%') on target %s, or "
                 "keep binlogs longer (expire_logs_days) next time",
                 pc->name, pc->name, pc->target_name);
        item(dc->rep, DOCTOR_FAIL, subject, "position", fix,
             "the stored position %s:%llu (on target %s) was purged from source %s: its oldest "
             "binlog is now %s",
             file, pos, pc->target_name, pc->source_name, src->n_binlogs ? src->binlogs[0] : "-");
        return;
    }
    unsigned long long behind = 0;
    for (size_t i = idx; i < src->n_binlogs; i++) behind += src->binlog_sizes[i];
    behind = behind > pos ? behind - pos : 0;
    if (idx == 0 && src->expiring && src->n_binlogs > 1)
        item(dc->rep, DOCTOR_WARN, subject, "position",
             "let the pipeline catch up, or keep binlogs longer (binlog_expire_logs_seconds)",
             "the stored position %s:%llu is in the source's oldest binlog, the next to be "
             "purged; %.1f MB of binlog still to read",
             file, pos, behind / 1e6);
    else
        item(dc->rep, DOCTOR_OK, subject, "position", "",
             "stored position %s:%llu is available on the source; %.1f MB of binlog after it", file,
             pos, behind / 1e6);
}

static void check_pipeline(dctx *dc, const cfg_pipeline *pc)
{
    char subject[300];
    snprintf(subject, sizeof(subject), "pipeline %s", pc->name);
    dend *src = find_end(dc, pc->source);
    dend *tgt = find_end(dc, pc->target);
    if (!src || !tgt || !src->my || !tgt->my) {
        item(dc->rep, DOCTOR_WARN, subject, "mappings", "fix the connection problems above",
             "not checked: %s not reachable", !src || !src->my ? "the source is" : "the target is");
        return;
    }
    check_position(dc, pc, src, tgt, subject);
    /* a table the initial load will create is not missing */
    mapping_check_opts mo = {.target_creates_tables =
                                 pc->snapshot != SNAPSHOT_NEVER && pc->snapshot_create_tables,
                             .stop_at_first_fail = false};
    mapping_findings f;
    memset(&f, 0, sizeof(f));
    cot_err rc = mapping_check_pipeline(pc, src->my, tgt->my, &mo, &f);
    if (rc) {
        item(dc->rep, DOCTOR_FAIL, subject, "mappings", "", "could not compare the mappings: %s",
             cot_err_msg());
    }
    if (!rc && fk_check_pipeline(pc, src->my, tgt->my, &f) != COT_OK)
        item(dc->rep, DOCTOR_WARN, subject, "foreign keys", "",
             "could not compare the cascading foreign keys: %s", cot_err_msg());
    for (size_t i = 0; i < f.n; i++) {
        char check[600];
        snprintf(check, sizeof(check), "mapping %s:%d %s", dc->cfg->path ? dc->cfg->path : "",
                 f.v[i].line, f.v[i].table);
        doctor_level lv = f.v[i].level == MAPPING_FAIL   ? DOCTOR_FAIL
                          : f.v[i].level == MAPPING_WARN ? DOCTOR_WARN
                                                         : DOCTOR_OK;
        item(dc->rep, lv, subject, check, f.v[i].fix, "%s", f.v[i].message);
    }
    if (!rc && f.n_tables == 0 && pc->n_tables && src->grants && !has(src, "SELECT", NULL, NULL))
        item(dc->rep, DOCTOR_WARN, subject, "mappings", "",
             "no table of source %s is mapped: %s sees only the tables it has a privilege on "
             "(see its SELECT grant above)",
             pc->source_name, src->user);
    mapping_findings_free(&f);
}

int doctor_run(const cot_config *cfg, doctor_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    dctx dc = {.cfg = cfg, .rep = rep};
    dc.n_ends = (size_t)(cfg->n_sources + cfg->n_targets);
    dc.ends = calloc(dc.n_ends + 1, sizeof(dend));
    if (!dc.ends) abort();
    for (size_t i = 0; i < dc.n_ends; i++) {
        dend *de = &dc.ends[i];
        de->is_source = i < (size_t)cfg->n_sources;
        de->ep = de->is_source ? &cfg->sources[i] : &cfg->targets[i - (size_t)cfg->n_sources];
        snprintf(de->subject, sizeof(de->subject), "%s %s", de->is_source ? "source" : "target",
                 de->ep->name);
        check_connect(&dc, de);
    }
    for (size_t i = 0; i < dc.n_ends; i++) {
        dend *de = &dc.ends[i];
        if (!de->my) continue;
        if (de->is_source)
            check_source(&dc, de);
        else
            check_target(&dc, de);
    }
    for (int c = 0; c < cfg->n_channels; c++)
        for (int p = 0; p < cfg->channels[c].n_pipelines; p++)
            check_pipeline(&dc, &cfg->channels[c].pipelines[p]);
    for (size_t i = 0; i < dc.n_ends; i++) {
        dend *de = &dc.ends[i];
        mysql_conn_close(de->my);
        free_list(de->grants, de->n_grants);
        free_list(de->binlogs, de->n_binlogs);
        free(de->binlog_sizes);
    }
    free(dc.ends);
    return rep->n_fail ? 1 : 0;
}

/* ---- the command ------------------------------------------------------ */

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: cotter doctor -c FILE [--json]\n"
            "\n"
            "Checks the configuration against the real servers and explains every problem\n"
            "with its fix: for each source and target, reachability and connect time, TLS\n"
            "(when the URL asks for it), server version and clock skew; for sources, log_bin,\n"
            "binlog_format=ROW, binlog_row_image, binlog_row_metadata, server_id clashes,\n"
            "binlog retention against each pipeline's stored position, and the REPLICATION\n"
            "and SELECT grants; for targets, the write grants on the mapped schemas (CREATE,\n"
            "ALTER, DROP with ddl: apply) and the cotter schema; for every mapping, that the\n"
            "target table exists with every mapped column, compatible types and charsets\n"
            "and a usable key. Read-only on every server.\n"
            "\n"
            "Exit status: 0 healthy (warnings allowed), 1 problems found, 2 could not run\n"
            "(bad configuration or usage).\n");
}

/* print_text prints the report grouped by subject; every string that may
 * hold a server's text (messages, names) has its control characters escaped
 * (log_text_escape). */
static void print_text(const cot_config *cfg, const doctor_report *rep, FILE *out)
{
    buf b;
    buf_init(&b);
    fprintf(out, "cotter doctor: %s\n", cfg->path ? cfg->path : "");
    /* grouped by subject, subjects in the order they first appear */
    for (size_t g = 0; g < rep->n; g++) {
        const char *subject = rep->items[g].subject;
        bool seen = false;
        for (size_t j = 0; j < g && !seen; j++) seen = strcmp(rep->items[j].subject, subject) == 0;
        if (seen) continue;
        buf_reset(&b);
        log_text_escape(&b, subject);
        fprintf(out, "\n%.*s\n", (int)b.len, b.data);
        for (size_t i = g; i < rep->n; i++) {
            const doctor_item *it = &rep->items[i];
            if (strcmp(it->subject, subject) != 0) continue;
            buf_reset(&b);
            buf_printf(&b, "  %-4s  ", doctor_level_name(it->level));
            log_text_escape(&b, it->check);
            buf_puts(&b, ": ");
            log_text_escape(&b, it->message);
            if (it->level != DOCTOR_OK && it->fix[0]) {
                buf_puts(&b, "\n        fix: ");
                log_text_escape(&b, it->fix);
            }
            buf_putc(&b, '\n');
            fwrite(b.data, 1, b.len, out);
        }
    }
    buf_deinit(&b);
    fprintf(out, "\n%zu OK, %zu WARN, %zu FAIL: %s\n", rep->n_ok, rep->n_warn, rep->n_fail,
            rep->n_fail   ? "problems found"
            : rep->n_warn ? "healthy, with warnings"
                          : "healthy");
}

static void json_str(buf *b, const char *s)
{
    check_json_str(b, s, strlen(s));
}

static void print_json(const cot_config *cfg, const doctor_report *rep, FILE *out)
{
    buf b;
    buf_init(&b);
    buf_puts(&b, "{\"config\":");
    json_str(&b, cfg->path ? cfg->path : "");
    buf_printf(&b, ",\"healthy\":%s,\"ok\":%zu,\"warn\":%zu,\"fail\":%zu,\"checks\":[",
               rep->n_fail ? "false" : "true", rep->n_ok, rep->n_warn, rep->n_fail);
    for (size_t i = 0; i < rep->n; i++) {
        const doctor_item *it = &rep->items[i];
        if (i) buf_putc(&b, ',');
        buf_puts(&b, "{\"subject\":");
        json_str(&b, it->subject);
        buf_puts(&b, ",\"check\":");
        json_str(&b, it->check);
        buf_printf(&b, ",\"level\":\"%s\",\"message\":", doctor_level_name(it->level));
        json_str(&b, it->message);
        buf_puts(&b, ",\"fix\":");
        json_str(&b, it->fix);
        buf_putc(&b, '}');
    }
    buf_puts(&b, "]}\n");
    fwrite(b.data, 1, b.len, out);
    buf_deinit(&b);
}

int cmd_doctor(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
                   i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            fprintf(stderr, "cotter doctor: unknown argument '%s'\n\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "cotter doctor: -c FILE is required\n\n");
        usage(stderr);
        return 2;
    }
    cot_config *cfg = NULL;
    if (config_load(path, &cfg)) {
        fprintf(stderr, "cotter doctor: %s\n", cot_err_msg());
        return 2;
    }
    log_set_level(LOG_WARN);
    doctor_report rep;
    int status = doctor_run(cfg, &rep);
    if (json)
        print_json(cfg, &rep, stdout);
    else
        print_text(cfg, &rep, stdout);
    doctor_report_free(&rep);
    config_free(cfg);
    return status;
}
