/*
 * A small driver for the MySQL sink against a real server: reads a script
 * of commands on stdin, builds tables and chunks by hand and runs them
 * through the sink's ops table, printing what happened so a shell test can
 * check it. Used by test_sink_mysql.sh.
 *
 * Commands (one per line, '#' starts a comment):
 *   open URL TARGET PIPELINE [MAX_STATEMENT_BYTES [BULK_ROWS]]  (BULK_ROWS 4294967295: no LOAD
 * DATA) table ID SRC_SCHEMA.SRC_TABLE TGT_SCHEMA.TGT_TABLE COL...   COL = name:type[:charset] type:
 * i int, u unsigned, d double, f float, dec decimal, s string, b binary, t temporal, j json, e
 * enum, set, bit, g geometry nonames ID                       mark a table's column names as
 * unknown ins ID V...  |  del ID V...  |  upd ID V... / V...   add a change to the chunk V: N =
 * NULL, - = absent, "" = empty text, else the value; text is %XX-decoded apply apply the chunk
 * built so far (CK_ROWS) ddl SCHEMA STATEMENT...          apply a CK_DDL chunk   |   empty: a
 * CK_EMPTY chunk begin | abort | commit FILE POS GTID TS | load | stats | close admin URL the
 * connection for the next three commands sql STATEMENT...                 run a statement on the
 * admin connection killothers                       KILL every other client connection (the sink's)
 *   sleep SECONDS
 * Output: "ERR <CLASS> <message>" for a failed call, "POS file pos gtid" /
 * "POS none" for load, "STATS ins upd del statements batches" for stats.
 */
#include "event/event.h"
#include "client/mysql_conn.h"
#include "sink/sink.h"
#include "sink/sink_mysql_sql.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TABLES 32
#define MAX_TOKENS 256

typedef struct col_kind {
    const char *code;
    uint8_t type;
    uint8_t vkind;
} col_kind;

static const col_kind kinds[] = {
    {"i", CT_LONGLONG, VK_INT},
    {"u", CT_LONGLONG, VK_UINT},
    {"d", CT_DOUBLE, VK_DOUBLE},
    {"f", CT_FLOAT, VK_FLOAT},
    {"dec", CT_NEWDECIMAL, VK_DECIMAL},
    {"s", CT_VARCHAR, VK_STRING},
    {"b", CT_BLOB, VK_BINARY},
    {"t", CT_DATETIME2, VK_TEMPORAL},
    {"j", CT_JSON, VK_JSON},
    {"e", CT_STRING, VK_ENUM},
    {"set", CT_STRING, VK_SET},
    {"bit", CT_BIT, VK_BIT},
    {"g", CT_GEOMETRY, VK_GEOMETRY},
};

static cot_table *tables[MAX_TABLES];
static uint8_t *table_kinds[MAX_TABLES];
static cot_chunk *ck;
static sink *sk;
static const sink_ops *ops;
static cot_url url;
static int line_no;
static cot_url admin_url;
static MYSQL *admin;

static void die(const char *msg)
{
    fprintf(stderr, "sink_driver: line %d: %s\n", line_no, msg);
    exit(2);
}

static void report(cot_err rc)
{
    if (rc) printf("ERR %s %s\n", cot_err_name(rc), cot_err_msg());
    fflush(stdout);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* decode %XX escapes of s into the chunk's arena; *len gets the length. */
static char *decode(const char *s, uint32_t *len)
{
    size_t n = strlen(s);
    char *out = arena_alloc(&ck->mem, n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n + 1 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    *len = (uint32_t)o;
    return out;
}

static void parse_value(cot_value *v, uint8_t vkind, const char *tok)
{
    if (strcmp(tok, "N") == 0) {
        v->kind = VK_NULL;
        return;
    }
    if (strcmp(tok, "-") == 0) {
        v->kind = VK_ABSENT;
        return;
    }
    v->kind = vkind;
    if (strcmp(tok, "\"\"") == 0) tok = "";
    char *end;
    errno = 0;
    switch (vkind) {
    case VK_INT:
        v->i = strtoll(tok, &end, 10);
        break;
    case VK_UINT:
    case VK_ENUM:
    case VK_SET:
    case VK_BIT:
        v->u = strtoull(tok, &end, 10);
        break;
    case VK_DOUBLE:
        v->d = strtod(tok, &end);
        break;
    case VK_FLOAT:
        v->d = (double)strtof(tok, &end);
        break;
    default:
        v->s.p = decode(tok, &v->s.len);
        return;
    }
    if (errno || *end) die("bad number");
}

static int split(char *line, char **tok)
{
    int n = 0;
    for (char *p = strtok(line, " \t"); p && n < MAX_TOKENS; p = strtok(NULL, " \t")) tok[n++] = p;
    return n;
}

static unsigned long table_id(const char *s)
{
    char *end;
    unsigned long id = strtoul(s, &end, 10);
    if (*end || id >= MAX_TABLES) die("bad table id");
    return id;
}

static void cmd_table(char **tok, int n)
{
    if (n < 5) die("table ID SRC TGT COL...");
    unsigned long id = table_id(tok[1]);
    char *src_dot = strchr(tok[2], '.'), *tgt_dot = strchr(tok[3], '.');
    if (!src_dot || !tgt_dot) die("table names are schema.table");
    *src_dot = *tgt_dot = '\0';
    cot_table *t = cot_table_new(tok[3], tgt_dot + 1, (uint32_t)(n - 4));
    free(t->src_schema);
    free(t->src_name);
    t->src_schema = strdup(tok[2]);
    t->src_name = strdup(src_dot + 1);
    free(table_kinds[id]);
    table_kinds[id] = calloc((size_t)n, 1);
    for (int i = 4; i < n; i++) {
        char *name = tok[i], *type = strchr(name, ':');
        if (!type) die("column is name:type");
        *type++ = '\0';
        char *charset = strchr(type, ':');
        if (charset) *charset++ = '\0';
        const col_kind *k = NULL;
        for (size_t j = 0; j < sizeof(kinds) / sizeof(kinds[0]); j++)
            if (strcmp(kinds[j].code, type) == 0) k = &kinds[j];
        if (!k) die("unknown column type");
        cot_column *c = &t->cols[i - 4];
        c->name = strdup(name);
        c->type = k->type;
        c->nullable = true;
        if (k->vkind == VK_STRING) c->charset = cot_charset_intern(charset ? charset : "utf8mb4");
        table_kinds[id][i - 4] = k->vkind;
    }
    t->has_names = true;
    if (tables[id]) cot_table_unref(tables[id]);
    tables[id] = t;
}

static void cmd_change(cot_op op, char **tok, int n)
{
    if (n < 2) die("change needs a table id");
    unsigned long id = table_id(tok[1]);
    cot_table *t = tables[id];
    if (!t) die("unknown table");
    if (!ck) ck = cot_chunk_new();
    cot_change *ch = cot_chunk_add(ck, op, t);
    cot_value *img[2] = {NULL, NULL};
    int n_img = op == OP_UPDATE ? 2 : 1, at = 2;
    for (int k = 0; k < n_img; k++) {
        img[k] = cot_chunk_values(ck, t->n_cols);
        for (uint32_t i = 0; i < t->n_cols; i++, at++) {
            if (at >= n) die("too few values");
            parse_value(&img[k][i], table_kinds[id][i], tok[at]);
        }
        if (op == OP_UPDATE && k == 0) {
            if (at >= n || strcmp(tok[at], "/") != 0) die("upd needs BEFORE / AFTER");
            at++;
        }
    }
    if (at != n) die("too many values");
    if (op == OP_INSERT)
        ch->after = img[0];
    else if (op == OP_DELETE)
        ch->before = img[0];
    else {
        ch->before = img[0];
        ch->after = img[1];
    }
}

static MYSQL *admin_conn(void)
{
    if (admin) return admin;
    if (!admin_url.scheme) die("admin URL first");
    mysql_conn_opts opts = {.role = "admin", .connect_timeout_s = 5};
    if (mysql_conn_open(&admin_url, &opts, &admin)) die(cot_err_msg());
    return admin;
}

/* kill_others kills every client connection but the admin one. */
static void kill_others(void)
{
    MYSQL *my = admin_conn();
    const char *q = "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() "
                    "AND COMMAND NOT IN ('Daemon', 'Binlog Dump') AND USER <> 'system user'";
    if (mysql_query(my, q)) die(mysql_error(my));
    MYSQL_RES *res = mysql_store_result(my);
    MYSQL_ROW row;
    int n = 0;
    while (res && (row = mysql_fetch_row(res))) {
        char kill[64];
        snprintf(kill, sizeof(kill), "KILL CONNECTION %s", row[0]);
        if (mysql_query(my, kill) == 0) n++;
    }
    if (res) mysql_free_result(res);
    printf("KILLED %d\n", n);
}

static void apply_chunk(cot_chunk *c)
{
    report(ops->apply(sk, c));
    cot_chunk_free(c);
}

int main(void)
{
    log_set_level(LOG_DEBUG);
    ops = &sink_mysql_ops;
    char line[65536];
    char *tok[MAX_TOKENS];
    while (fgets(line, sizeof(line), stdin)) {
        line_no++;
        line[strcspn(line, "\r\n")] = '\0';
        char raw[sizeof(line)];
        memcpy(raw, line, sizeof(line));
        int n = split(line, tok);
        if (n == 0 || tok[0][0] == '#') continue;
        const char *cmd = tok[0];
        if (strcmp(cmd, "open") == 0) {
            if (n < 4) die("open URL TARGET PIPELINE [MAX [BULK_ROWS]]");
            cot_url_deinit(&url);
            memset(&url, 0, sizeof(url));
            if (cot_url_parse(tok[1], &url)) die(cot_err_msg());
            sink_conf conf = {.name = tok[2],
                              .pipeline = tok[3],
                              .url = &url,
                              .connect_timeout_s = 5,
                              .read_timeout_s = 30,
                              .write_timeout_s = 30,
                              .max_statement_bytes = n > 4 ? strtoull(tok[4], NULL, 10) : 0,
                              .bulk_rows = n > 5 ? (uint32_t)strtoul(tok[5], NULL, 10) : 0};
            sk = NULL;
            cot_err rc = ops->open(&conf, &sk);
            report(rc);
            if (!rc) printf("OPENED\n");
        } else if (strcmp(cmd, "admin") == 0) {
            if (n != 2) die("admin URL");
            cot_url_deinit(&admin_url);
            mysql_conn_close(admin);
            admin = NULL;
            if (cot_url_parse(tok[1], &admin_url)) die(cot_err_msg());
        } else if (strcmp(cmd, "sql") == 0) {
            const char *text = raw + strspn(raw, " \t") + 3;
            report(mysql_conn_exec_str(admin_conn(), "admin", text));
        } else if (strcmp(cmd, "killothers") == 0) {
            kill_others();
        } else if (strcmp(cmd, "sleep") == 0) {
            if (n != 2) die("sleep SECONDS");
            usleep((useconds_t)(strtod(tok[1], NULL) * 1e6));
        } else if (!sk && strcmp(cmd, "table") != 0 && strcmp(cmd, "nonames") != 0) {
            printf("ERR NOTOPEN\n");
        } else if (strcmp(cmd, "table") == 0) {
            cmd_table(tok, n);
        } else if (strcmp(cmd, "nonames") == 0) {
            if (n != 2) die("nonames ID");
            cot_table *t = tables[table_id(tok[1])];
            if (!t) die("unknown table");
            t->has_names = false;
            for (uint32_t i = 0; i < t->n_cols; i++) {
                free(t->cols[i].name);
                t->cols[i].name = NULL;
            }
        } else if (strcmp(cmd, "ins") == 0) {
            cmd_change(OP_INSERT, tok, n);
        } else if (strcmp(cmd, "del") == 0) {
            cmd_change(OP_DELETE, tok, n);
        } else if (strcmp(cmd, "upd") == 0) {
            cmd_change(OP_UPDATE, tok, n);
        } else if (strcmp(cmd, "apply") == 0) {
            if (!ck) ck = cot_chunk_new();
            ck->kind = CK_ROWS;
            ck->tx_end = true;
            apply_chunk(ck);
            ck = NULL;
        } else if (strcmp(cmd, "ddl") == 0) {
            if (n < 3) die("ddl SCHEMA STATEMENT");
            cot_chunk *c = cot_chunk_new();
            c->kind = CK_DDL;
            c->tx_end = true;
            c->ddl_schema = arena_strdup(&c->mem, tok[1]);
            const char *text = strstr(raw, tok[1]) + strlen(tok[1]);
            while (*text == ' ') text++;
            c->ddl = arena_strdup(&c->mem, text);
            apply_chunk(c);
        } else if (strcmp(cmd, "empty") == 0) {
            cot_chunk *c = cot_chunk_new();
            c->kind = CK_EMPTY;
            c->tx_end = true;
            apply_chunk(c);
        } else if (strcmp(cmd, "begin") == 0) {
            report(ops->batch_begin(sk));
        } else if (strcmp(cmd, "abort") == 0) {
            ops->batch_abort(sk);
            cot_chunk_free(ck);
            ck = NULL;
        } else if (strcmp(cmd, "commit") == 0) {
            if (n != 5) die("commit FILE POS GTID TS");
            cot_pos pos = {.pos = strtoull(tok[2], NULL, 10)};
            snprintf(pos.file, sizeof(pos.file), "%s", tok[1]);
            snprintf(pos.gtid, sizeof(pos.gtid), "%s", strcmp(tok[3], "-") ? tok[3] : "");
            report(ops->batch_commit(sk, &pos, (uint32_t)strtoul(tok[4], NULL, 10)));
        } else if (strcmp(cmd, "load") == 0) {
            cot_pos pos;
            bool found;
            cot_err rc = ops->position_load(sk, &pos, &found);
            report(rc);
            if (!rc && found)
                printf("POS %s %llu %s\n", pos.file, (unsigned long long)pos.pos,
                       pos.gtid[0] ? pos.gtid : "-");
            else if (!rc)
                printf("POS none\n");
        } else if (strcmp(cmd, "stats") == 0) {
            sink_stats st;
            ops->stats(sk, &st);
            printf("STATS %llu %llu %llu %llu %llu\n", (unsigned long long)st.inserts,
                   (unsigned long long)st.updates, (unsigned long long)st.deletes,
                   (unsigned long long)st.statements, (unsigned long long)st.batches);
        } else if (strcmp(cmd, "close") == 0) {
            ops->close(sk);
            sk = NULL;
        } else {
            die("unknown command");
        }
        fflush(stdout);
    }
    if (sk) ops->close(sk);
    cot_chunk_free(ck);
    for (int i = 0; i < MAX_TABLES; i++) {
        cot_table_unref(tables[i]);
        free(table_kinds[i]);
    }
    cot_url_deinit(&url);
    mysql_conn_close(admin);
    cot_url_deinit(&admin_url);
    return 0;
}
