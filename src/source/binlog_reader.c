/*
 * Replication transport over Connector/C. Before COM_BINLOG_DUMP the
 * session announces its checksum support and MariaDB GTID capability
 * (without them the server refuses to stream or downgrades GTID events),
 * and asks for heartbeats so an idle source still proves the link is up.
 * Connector/C reuses the event buffer on every fetch: callers copy what
 * they keep.
 */
#include "source/binlog_reader.h"
#include "client/mysql_conn.h"
#include "util/log.h"

#include <mariadb_rpl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct binlog_reader {
    MYSQL *repl; /* dumping connection: no queries once open */
    MYSQL *ctl;  /* control queries */
    MARIADB_RPL *rpl;
    MARIADB_RPL_EVENT *event;
    char name[128];
    uint32_t server_id; /* the replica id cotter registers with */
};

/* reader__error sets cot_err from conn's last error, adding what a failed
 * COM_BINLOG_DUMP usually means. */
static cot_err reader__error(MYSQL *conn, const char *what)
{
    cot_err rc = mysql_conn_error(conn, "%s", what);
    if (mysql_errno(conn) == 1236) {
        char msg[2048];
        snprintf(msg, sizeof(msg),
                 "%s; the source cannot serve this binlog position (purged, or not a position "
                 "it wrote): check SHOW BINARY LOGS on the source and the position in "
                 "cotter.positions on the target",
                 cot_err_msg());
        cot_err_set(COT_ERR_NET, "%s", msg);
        rc = COT_ERR_NET;
    }
    if (mysql_errno(conn) == 0) rc = cot_err_set(COT_ERR_NET, "%s: connection lost", what);
    return rc;
}

static cot_err reader__exec(binlog_reader *br, MYSQL *conn, const char *sql)
{
    if (mysql_query(conn, sql) != 0) {
        char what[512];
        snprintf(what, sizeof(what), "'%s' on source '%s'", sql, br->name);
        return reader__error(conn, what);
    }
    MYSQL_RES *res = mysql_store_result(conn);
    if (res) mysql_free_result(res);
    return COT_OK;
}

cot_err binlog_source_end(MYSQL *conn, const char *name, cot_pos *pos)
{
    char what[256];
    snprintf(what, sizeof(what), "SHOW MASTER STATUS on source '%s'", name);
    if (mysql_query(conn, "SHOW MASTER STATUS") != 0) return reader__error(conn, what);
    MYSQL_RES *res = mysql_store_result(conn);
    if (!res) return reader__error(conn, what);
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row || !row[0] || !row[1]) {
        mysql_free_result(res);
        return cot_err_set(
            COT_ERR_CONFIG,
            "source '%s' has no binary log: SHOW MASTER STATUS is empty. Enable it "
            "in the server's my.cnf (log_bin=binlog, binlog_format=ROW, server_id=N) "
            "and restart the server",
            name);
    }
    memset(pos, 0, sizeof(*pos));
    snprintf(pos->file, sizeof(pos->file), "%s", row[0]);
    pos->pos = strtoull(row[1], NULL, 10);
    mysql_free_result(res);
    /* MariaDB: the GTID of the last transaction in the binlog */
    if (mysql_query(conn, "SELECT @@global.gtid_binlog_pos") == 0) {
        res = mysql_store_result(conn);
        if (res) {
            row = mysql_fetch_row(res);
            if (row && row[0]) snprintf(pos->gtid, sizeof(pos->gtid), "%s", row[0]);
            mysql_free_result(res);
        }
    } else {
        /* MySQL has no such variable; the GTID stays unknown */
        MYSQL_RES *r = mysql_store_result(conn);
        if (r) mysql_free_result(r);
    }
    return COT_OK;
}

cot_err binlog_reader_open(const binlog_reader_conf *conf, const cot_pos *start, bool use_gtid,
                           binlog_reader **out)
{
    binlog_reader *br = calloc(1, sizeof(*br));
    if (!br) abort();
    snprintf(br->name, sizeof(br->name), "%s", conf->name);
    br->server_id = conf->server_id;
    cot_err rc = COT_OK;
    int hb = conf->heartbeat_s > 0 ? conf->heartbeat_s : 1;
    int rt = conf->read_timeout_s > 0 ? conf->read_timeout_s : 30;
    if (rt < 3 * hb) rt = 3 * hb;

    char role[192];
    snprintf(role, sizeof(role), "source '%s'", conf->name);
    mysql_conn_opts mo = {.role = role,
                          .connect_timeout_s = conf->connect_timeout_s,
                          .read_timeout_s = rt,
                          .write_timeout_s = rt};
    if ((rc = mysql_conn_open(conf->url, &mo, &br->ctl))) goto fail;
    if ((rc = mysql_conn_open(conf->url, &mo, &br->repl))) goto fail;

    char sql[512];
    if ((rc = reader__exec(br, br->repl, "SET @master_binlog_checksum=@@global.binlog_checksum")))
        goto fail;
    if ((rc = reader__exec(br, br->repl, "SET @mariadb_slave_capability=4"))) goto fail;
    snprintf(sql, sizeof(sql), "SET @master_heartbeat_period=%llu",
             (unsigned long long)hb * 1000000000ULL);
    if ((rc = reader__exec(br, br->repl, sql))) goto fail;
    if (use_gtid) {
        char esc[300];
        mysql_real_escape_string(br->repl, esc, start->gtid, (unsigned long)strlen(start->gtid));
        snprintf(sql, sizeof(sql), "SET @slave_connect_state='%s'", esc);
        if ((rc = reader__exec(br, br->repl, sql))) goto fail;
        if ((rc = reader__exec(br, br->repl, "SET @slave_gtid_strict_mode=0"))) goto fail;
        if ((rc = reader__exec(br, br->repl, "SET @slave_gtid_ignore_duplicates=0"))) goto fail;
    }

    br->rpl = mariadb_rpl_init(br->repl);
    if (!br->rpl) {
        rc = cot_err_set(COT_ERR_NOMEM, "mariadb_rpl_init failed");
        goto fail;
    }
    const char *file = use_gtid ? "" : start->file;
    uint32_t pos = use_gtid ? 4 : (uint32_t)(start->pos ? start->pos : 4);
    mariadb_rpl_optionsv(br->rpl, MARIADB_RPL_FILENAME, file, strlen(file));
    mariadb_rpl_optionsv(br->rpl, MARIADB_RPL_START, (unsigned long)pos);
    mariadb_rpl_optionsv(br->rpl, MARIADB_RPL_SERVER_ID, conf->server_id);
    mariadb_rpl_optionsv(br->rpl, MARIADB_RPL_FLAGS, 0);
    mariadb_rpl_optionsv(br->rpl, MARIADB_RPL_VERIFY_CHECKSUM, 0);
    if (mariadb_rpl_open(br->rpl) != 0) {
        char what[512];
        snprintf(what, sizeof(what), "starting the binlog dump from source '%s' at %s:%u",
                 conf->name, use_gtid ? start->gtid : file, pos);
        rc = reader__error(br->repl, what);
        goto fail;
    }
    *out = br;
    return COT_OK;

fail:
    binlog_reader_close(br);
    return rc ? rc : COT_ERR_NET;
}

cot_err binlog_reader_next(binlog_reader *br, const uint8_t **ev, size_t *len)
{
    MARIADB_RPL_EVENT *e = mariadb_rpl_fetch(br->rpl, br->event);
    if (!e) {
        br->event = NULL; /* freed by the failed fetch */
        unsigned no = mysql_errno(br->repl);
        if (no == 0 && mariadb_rpl_errno(br->rpl) != 0) {
            return cot_err_set(COT_ERR_NET, "reading the binlog of source '%s' failed: %s",
                               br->name, mariadb_rpl_error(br->rpl));
        }
        char what[256];
        snprintf(what, sizeof(what), "reading the binlog of source '%s'", br->name);
        if (no == 0)
            return cot_err_set(COT_ERR_NET, "source '%s' ended the binlog stream", br->name);
        if (strstr(mysql_error(br->repl), "same server_uuid/server_id"))
            return cot_err_set(
                COT_ERR_CONFIG,
                "source '%s' dropped cotter's binlog connection: another replica connected with "
                "the same server_id %u (%s; errno %u). The source keeps one binlog connection "
                "per server_id, so the two would keep dropping each other: give this source a "
                "server_id no other replica of it uses (sources.%s.server_id; pipelines that "
                "share a source use it, +1, +2 ...), or stop the other reader",
                br->name, br->server_id, mysql_error(br->repl), no, br->name);
        cot_err rc = reader__error(br->repl, what);
        /* whatever broke the stream, the fix is to reconnect from the last position */
        if (rc == COT_ERR_SQL) {
            char msg[2048]; /* cot_err_set must not read the buffer it writes */
            snprintf(msg, sizeof(msg), "%s", cot_err_msg());
            rc = cot_err_set(COT_ERR_NET, "%s", msg);
        }
        return rc;
    }
    br->event = e;
    if (e->raw_data_ofs > e->raw_data_size) {
        return cot_err_set(COT_ERR_MALFORMED, "source '%s' sent a short packet", br->name);
    }
    *ev = e->raw_data + e->raw_data_ofs;
    *len = e->raw_data_size - e->raw_data_ofs;
    return COT_OK;
}

MYSQL *binlog_reader_control(binlog_reader *br)
{
    return br->ctl;
}

void binlog_reader_close(binlog_reader *br)
{
    if (!br) return;
    if (br->event) mariadb_free_rpl_event(br->event);
    if (br->rpl) mariadb_rpl_close(br->rpl);
    if (br->repl) mysql_close(br->repl);
    if (br->ctl) mysql_close(br->ctl);
    free(br);
}
