/*
 * The replication transport: connects to a MySQL/MariaDB source as a
 * replica (COM_BINLOG_DUMP through Connector/C's mariadb_rpl) and hands out
 * raw events one at a time. Owns two connections: the replication one,
 * which must never run a query once dumping, and a control one for
 * SHOW MASTER STATUS and information_schema. Runs on the select thread.
 */
#ifndef COT_BINLOG_READER_H
#define COT_BINLOG_READER_H

#include "config/url.h"
#include "event/event.h"
#include "util/err.h"

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct binlog_reader binlog_reader;

typedef struct binlog_reader_conf {
    const char *name; /* source name from the config, for messages */
    const cot_url *url;
    uint32_t server_id;
    int connect_timeout_s;
    int read_timeout_s; /* no byte for this long: the connection is dead */
    int heartbeat_s;    /* heartbeat period asked from the source */
} binlog_reader_conf;

/* binlog_reader_open connects and starts dumping at start->file:start->pos,
 * or from start->gtid (MariaDB GTID state) when use_gtid is set. */
cot_err binlog_reader_open(const binlog_reader_conf *conf, const cot_pos *start, bool use_gtid,
                           binlog_reader **out);
/* binlog_reader_next returns the next raw event (header + body + checksum);
 * *ev is valid until the next call. COT_ERR_NET when the connection is lost. */
cot_err binlog_reader_next(binlog_reader *br, const uint8_t **ev, size_t *len);
/* binlog_reader_control returns the control connection (owned by br). */
MYSQL *binlog_reader_control(binlog_reader *br);
void binlog_reader_close(binlog_reader *br);

/* binlog_source_end reads the source's current end of binlog
 * (SHOW MASTER STATUS) and its GTID position into pos. */
cot_err binlog_source_end(MYSQL *conn, const char *name, cot_pos *pos);

#endif
