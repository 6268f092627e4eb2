/*
 * Event -> chunk assembly for one binlog stream (state diagram in the
 * header). The table map keeps, per table id, a copy of the TABLE_MAP body
 * so an unchanged map (every transaction repeats it) costs one memcmp and
 * no schema lookup.
 */
#include "source/binlog_stream.h"
#include "source/schema_history.h"
#include "sql/ddl_rewrite.h"
#include "util/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TABLE_MAP_MAX  4096 /* table ids kept before the map is cleared */
#define EMPTY_TX_FLUSH 2000 /* filtered transactions between position updates */

typedef enum tx_state {
    TX_NONE = 0,  /* between transactions */
    TX_GTID_SEEN, /* a GTID came; a BEGIN or a standalone statement follows */
    TX_OPEN,      /* inside BEGIN ... COMMIT */
} tx_state;

static const char *const tx_state_names[] = {"NONE", "GTID_SEEN", "OPEN"};

typedef struct tmap_entry {
    uint64_t table_id;
    uint8_t *body; /* TABLE_MAP bytes after the common header, for change detection */
    size_t body_len;
    cot_table *tbl; /* routed table (target names), NULL when skipped */
    size_t cost;    /* bytes this entry holds: body and table columns */
    uint64_t tx_no; /* the transaction that last mapped it */
} tmap_entry;

struct binlog_stream {
    binlog_stream_conf conf;
    binlog_fde fde;
    bool have_fde;
    cot_pos cur;     /* position after the last event processed */
    cot_pos emitted; /* end position of the last emitted transaction */
    tx_state state;
    bool standalone; /* the GTID said: one statement, no COMMIT */
    char tx_gtid[128];
    cot_chunk *ck;          /* chunk being filled, NULL if none */
    uint64_t seq;           /* transactions emitted */
    uint32_t empty_pending; /* filtered transactions since the last emit */
    bool caught_up;
    tmap_entry *tmap;
    uint32_t n_tmap;
    uint32_t cap_tmap;
    size_t tmap_bytes; /* sum of the entries' cost, at most 2 * max_event_size */
    uint64_t tx_no;    /* transactions ended so far */
    arena scratch;     /* TABLE_MAP parsing */
};

static void stream__set_state(binlog_stream *bs, tx_state st)
{
    if (bs->state == st) return;
    LOG_D("select", "source '%s': transaction state %s -> %s", bs->conf.source_name,
          tx_state_names[bs->state], tx_state_names[st]);
    bs->state = st;
}

binlog_stream *binlog_stream_new(const binlog_stream_conf *conf, const cot_pos *start)
{
    binlog_stream *bs = calloc(1, sizeof(*bs));
    if (!bs) abort();
    bs->conf = *conf;
    if (!bs->conf.chunk_rows) bs->conf.chunk_rows = 2000;
    if (!bs->conf.chunk_bytes) bs->conf.chunk_bytes = 4u << 20;
    if (!bs->conf.max_event_size) bs->conf.max_event_size = BINLOG_MAX_EVENT_SIZE;
    binlog_fde_default(&bs->fde, conf->checksum_alg);
    bs->cur = *start;
    bs->emitted = *start;
    arena_init(&bs->scratch);
    return bs;
}

static void stream__tmap_clear(binlog_stream *bs)
{
    for (uint32_t i = 0; i < bs->n_tmap; i++) {
        free(bs->tmap[i].body);
        cot_table_unref(bs->tmap[i].tbl);
    }
    bs->n_tmap = 0;
    bs->tmap_bytes = 0;
}

/* stream__tmap_evict drops the entries no TABLE_MAP of the open transaction
 * named (each transaction maps its tables again before its rows). */
static void stream__tmap_evict(binlog_stream *bs)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < bs->n_tmap; i++) {
        tmap_entry *te = &bs->tmap[i];
        if (te->tx_no == bs->tx_no) {
            bs->tmap[k++] = *te;
            continue;
        }
        bs->tmap_bytes -= te->cost;
        free(te->body);
        cot_table_unref(te->tbl);
    }
    bs->n_tmap = k;
}

void binlog_stream_free(binlog_stream *bs)
{
    if (!bs) return;
    stream__tmap_clear(bs);
    free(bs->tmap);
    cot_chunk_free(bs->ck);
    arena_deinit(&bs->scratch);
    free(bs);
}

bool binlog_stream_in_tx(const binlog_stream *bs)
{
    return bs->state != TX_NONE;
}

bool binlog_stream_caught_up(const binlog_stream *bs)
{
    return bs->caught_up;
}

void binlog_stream_pos(const binlog_stream *bs, cot_pos *out)
{
    *out = bs->cur;
}

static tmap_entry *stream__tmap_find(binlog_stream *bs, uint64_t table_id)
{
    for (uint32_t i = bs->n_tmap; i-- > 0;)
        if (bs->tmap[i].table_id == table_id) return &bs->tmap[i];
    return NULL;
}

static cot_chunk *stream__chunk(binlog_stream *bs)
{
    if (!bs->ck) bs->ck = cot_chunk_new();
    return bs->ck;
}

static cot_err stream__emit(binlog_stream *bs, cot_chunk *ck, uint32_t ts)
{
    ck->ts = ts;
    ck->start_pos = bs->emitted;
    cot_chunk_account(ck);
    if (ck->tx_end) {
        ck->end_pos = bs->cur;
        snprintf(ck->end_pos.gtid, sizeof(ck->end_pos.gtid), "%s", bs->tx_gtid);
        ck->seq = ++bs->seq;
        bs->emitted = ck->end_pos;
        bs->empty_pending = 0;
    }
    return bs->conf.emit(bs->conf.emit_ctx, ck);
}

/* stream__end_tx finishes the open transaction at the current position. */
static cot_err stream__end_tx(binlog_stream *bs, uint32_t ts)
{
    cot_chunk *ck = bs->ck;
    bs->ck = NULL;
    bs->tx_no++;
    stream__set_state(bs, TX_NONE);
    bs->standalone = false;
    if (!ck || ck->n_changes == 0) {
        cot_chunk_free(ck);
        /* nothing for us: remember the position, emit it now and then */
        if (++bs->empty_pending < EMPTY_TX_FLUSH) return COT_OK;
        ck = cot_chunk_new();
        ck->kind = CK_EMPTY;
    }
    ck->tx_end = true;
    return stream__emit(bs, ck, ts);
}

cot_err binlog_stream_idle(binlog_stream *bs)
{
    bs->caught_up = true;
    if (bs->state != TX_NONE) return COT_OK;
    if (strcmp(bs->cur.file, bs->emitted.file) == 0 && bs->cur.pos == bs->emitted.pos)
        return COT_OK;
    cot_chunk *ck = cot_chunk_new();
    ck->kind = CK_EMPTY;
    ck->tx_end = true;
    return stream__emit(bs, ck, 0);
}

static cot_err stream__query(binlog_stream *bs, const binlog_header *h, const uint8_t *ev,
                             size_t len, const char *where)
{
    binlog_query q;
    arena_reset(&bs->scratch);
    cot_err rc = binlog_query_parse(&bs->fde, ev, len, bs->conf.max_event_size, &bs->scratch, &q);
    if (rc) {
        cot_err_prefix("at %s: ", where);
        return rc;
    }
    /* read as the session that sent it read it: comments of every form,
     * executable comments, quotes and escapes per its sql_mode and charset */
    ddl_dialect dl;
    ddl_dialect_init(&dl, q.sql_mode, q.has_charset ? q.charset_client : 0, bs->fde.server_version);
    ddl_class cls = ddl_classify(q.sql, q.sql_len, &dl);
    if (cls == DDL_CLASS_BEGIN) {
        stream__set_state(bs, TX_OPEN);
        return COT_OK;
    }
    if (cls == DDL_CLASS_COMMIT) return stream__end_tx(bs, h->timestamp);
    if (cls == DDL_CLASS_ROLLBACK) {
        /* non-transactional changes logged before a ROLLBACK did happen on the source */
        return stream__end_tx(bs, h->timestamp);
    }
    if (cls == DDL_CLASS_TX_OTHER) return COT_OK;
    if (bs->state == TX_OPEN) {
        return cot_err_set(COT_ERR_UNSUPPORTED,
                           "at %s: source '%s' logged a statement instead of row events (%.*s): "
                           "cotter needs binlog_format=ROW on the source. Set binlog_format=ROW "
                           "globally (SET GLOBAL binlog_format=ROW and in my.cnf), then restart "
                           "the pipeline from a position after this statement",
                           where, bs->conf.source_name, (int)(q.sql_len > 120 ? 120 : q.sql_len),
                           q.sql);
    }
    /* a statement on its own: DDL or an administrative statement */
    if (bs->ck) { /* cannot happen in a well-formed binlog, but never lose rows */
        cot_err erc = stream__end_tx(bs, h->timestamp);
        if (erc) return erc;
    }
    cot_chunk *ck = cot_chunk_new();
    /* a statement cotter does not know goes to the load stage too, which
     * refuses it when it names a table of the mapping: never dropped */
    if (cls == DDL_CLASS_TABLE || cls == DDL_CLASS_UNKNOWN) {
        ck->kind = CK_DDL;
        ck->ddl = arena_strndup(&ck->mem, q.sql, q.sql_len);
        ck->ddl_schema = arena_strndup(&ck->mem, q.db, q.db_len);
        cot_ddl_session *ds = &ck->ddl_session;
        ds->has_sql_mode = q.has_sql_mode;
        ds->sql_mode = q.sql_mode;
        ds->has_charset = q.has_charset;
        ds->charset_client = q.charset_client;
        ds->collation_connection = q.collation_connection;
        ds->collation_server = q.collation_server;
        snprintf(ds->server_version, sizeof(ds->server_version), "%s", bs->fde.server_version);
        if (q.time_zone && q.time_zone_len < sizeof(ds->time_zone))
            snprintf(ds->time_zone, sizeof(ds->time_zone), "%.*s", (int)q.time_zone_len,
                     q.time_zone);
        /* names, types and table ids may all have changed */
        if (bs->conf.schema) {
            schema_history_ddl(bs->conf.schema, ck->ddl, q.sql_len, ck->ddl_schema,
                               &ck->ddl_session, where, bs->conf.route, bs->conf.route_ctx);
            schema_cache_invalidate(bs->conf.schema);
        }
        stream__tmap_clear(bs);
        char shown[320];
        ddl_preview(q.sql, q.sql_len, &dl, shown, sizeof(shown));
        LOG_I("select", "source '%s': DDL at %s: %s", bs->conf.source_name, where, shown);
    } else {
        ck->kind = CK_EMPTY;
    }
    bs->ck = ck;
    stream__set_state(bs, TX_NONE);
    bs->standalone = false;
    ck->tx_end = true;
    bs->ck = NULL;
    return stream__emit(bs, ck, h->timestamp);
}

static cot_err stream__table_map(binlog_stream *bs, const uint8_t *ev, size_t len,
                                 const char *where)
{
    const uint8_t *body = ev + BINLOG_HEADER_LEN;
    size_t body_len = len - BINLOG_HEADER_LEN;
    if (bs->fde.checksum_alg == BINLOG_CHECKSUM_CRC32 && body_len >= 4) body_len -= 4;
    if (body_len < 6) return cot_err_set(COT_ERR_MALFORMED, "at %s: TABLE_MAP too short", where);
    uint64_t table_id = (uint64_t)body[0] | (uint64_t)body[1] << 8 | (uint64_t)body[2] << 16 |
                        (uint64_t)body[3] << 24 | (uint64_t)body[4] << 32 | (uint64_t)body[5] << 40;
    tmap_entry *te = stream__tmap_find(bs, table_id);
    if (te && te->body_len == body_len && memcmp(te->body, body, body_len) == 0) {
        te->tx_no = bs->tx_no;
        return COT_OK;
    }

    arena_reset(&bs->scratch);
    binlog_tablemap tm;
    cot_err rc = binlog_tablemap_parse(&bs->fde, ev, len, &bs->scratch, &tm);
    if (rc) {
        cot_err_prefix("at %s: ", where);
        return rc;
    }
    /* the kept maps are bounded like one event's rows: the ones of earlier
     * transactions go first, those of the open one must fit */
    size_t cost = body_len + (size_t)tm.n_cols * sizeof(cot_column);
    size_t budget = bs->conf.max_event_size > SIZE_MAX / 2 ? SIZE_MAX : 2 * bs->conf.max_event_size;
    size_t held = bs->tmap_bytes - (te ? te->cost : 0);
    if (held + cost > budget) {
        stream__tmap_evict(bs);
        te = stream__tmap_find(bs, table_id);
        held = bs->tmap_bytes - (te ? te->cost : 0);
        if (held + cost > budget)
            return cot_err_set(COT_ERR_MALFORMED,
                               "at %s: the TABLE_MAP events of one transaction would take more "
                               "than %zu bytes (twice max_event_size, %u tables mapped): the "
                               "stream is corrupt or was forged; if the source really writes "
                               "transactions like this, raise the source's max_event_size",
                               where, budget, bs->n_tmap);
    }
    cot_table *tbl = NULL;
    char ts[256], tt[256];
    if (bs->conf.route(bs->conf.route_ctx, tm.schema, tm.table, ts, sizeof(ts), tt, sizeof(tt))) {
        cot_table *src;
        rc = schema_resolve(bs->conf.schema, &tm, where, &src);
        if (rc) return rc;
        if (strcmp(ts, tm.schema) == 0 && strcmp(tt, tm.table) == 0) {
            tbl = src;
        } else {
            tbl = cot_table_clone_as(src, ts, tt);
            cot_table_unref(src);
        }
    }
    if (!te) {
        if (bs->n_tmap >= TABLE_MAP_MAX) stream__tmap_evict(bs);
        if (bs->n_tmap >= TABLE_MAP_MAX) stream__tmap_clear(bs);
        if (bs->n_tmap == bs->cap_tmap) {
            uint32_t cap = bs->cap_tmap ? bs->cap_tmap * 2 : 16;
            tmap_entry *t = realloc(bs->tmap, cap * sizeof(*t));
            if (!t) abort();
            bs->tmap = t;
            bs->cap_tmap = cap;
        }
        te = &bs->tmap[bs->n_tmap++];
        memset(te, 0, sizeof(*te));
        te->table_id = table_id;
    } else {
        bs->tmap_bytes -= te->cost;
        free(te->body);
        cot_table_unref(te->tbl);
    }
    te->cost = cost;
    te->tx_no = bs->tx_no;
    bs->tmap_bytes += cost;
    te->body = malloc(body_len);
    if (!te->body) abort();
    memcpy(te->body, body, body_len);
    te->body_len = body_len;
    te->tbl = tbl;
    return COT_OK;
}

static cot_err stream__rows(binlog_stream *bs, const binlog_header *h, const uint8_t *ev,
                            size_t len, const char *where)
{
    binlog_rows_head rh;
    cot_err rc = binlog_rows_head_parse(&bs->fde, ev, len, &rh);
    if (rc) {
        cot_err_prefix("at %s: ", where);
        return rc;
    }
    tmap_entry *te = stream__tmap_find(bs, rh.table_id);
    if (!te) {
        return cot_err_set(COT_ERR_MALFORMED,
                           "at %s: rows event for table id %llu without a TABLE_MAP before it "
                           "in this transaction; restart the pipeline from the transaction's "
                           "start",
                           where, (unsigned long long)rh.table_id);
    }
    if (bs->state == TX_NONE || bs->state == TX_GTID_SEEN) stream__set_state(bs, TX_OPEN);
    if (!te->tbl) return COT_OK; /* table not mapped */
    cot_chunk *ck = stream__chunk(bs);
    rc = binlog_rows_decode(&bs->fde, ev, len, te->tbl, bs->conf.max_event_size, ck);
    if (rc) {
        cot_err_prefix("at %s (%s.%s): ", where, te->tbl->src_schema, te->tbl->src_name);
        return rc;
    }
    if (ck->n_changes >= bs->conf.chunk_rows || ck->mem.used >= bs->conf.chunk_bytes) {
        bs->ck = NULL;
        return stream__emit(bs, ck, h->timestamp);
    }
    return COT_OK;
}

cot_err binlog_stream_feed(binlog_stream *bs, const uint8_t *ev, size_t len)
{
    binlog_header h;
    char where[300];
    snprintf(where, sizeof(where), "%s:%llu", bs->cur.file, (unsigned long long)bs->cur.pos);
    cot_err rc = binlog_header_parse(ev, len, &h);
    if (rc) {
        cot_err_prefix("source '%s' at %s: ", bs->conf.source_name, where);
        return rc;
    }
    if (h.log_pos >= h.event_size && h.log_pos != 0)
        snprintf(where, sizeof(where), "%s:%llu", bs->cur.file,
                 (unsigned long long)(h.log_pos - h.event_size));
    if (len > bs->conf.max_event_size)
        return cot_err_set(COT_ERR_MALFORMED,
                           "source '%s' at %s: a %s event of %zu bytes, more than max_event_size "
                           "(%zu bytes): the event is corrupt or was forged; if the source really "
                           "writes events that big, raise the source's max_event_size",
                           bs->conf.source_name, where, binlog_event_type_name(h.type), len,
                           bs->conf.max_event_size);

    if (h.type == BEV_FORMAT_DESCRIPTION) {
        rc = binlog_fde_parse(ev, len, &bs->fde);
        if (rc) {
            cot_err_prefix("at %s: ", where);
            return rc;
        }
        bs->have_fde = true;
        if (h.log_pos) bs->cur.pos = h.log_pos;
        return COT_OK;
    }
    if (!binlog_checksum_ok(&bs->fde, ev, len)) {
        return cot_err_set(COT_ERR_MALFORMED,
                           "at %s: CRC32 checksum mismatch in a %s event: the event was "
                           "corrupted on disk or in transit. Check the source's binlog with "
                           "mariadb-binlog; the pipeline will retry from its last position",
                           where, binlog_event_type_name(h.type));
    }
    if (h.type != BEV_HEARTBEAT) bs->caught_up = false;
    if (h.log_pos && h.type != BEV_ROTATE && h.type != BEV_HEARTBEAT) bs->cur.pos = h.log_pos;

    switch (h.type) {
    case BEV_ROTATE: {
        binlog_rotate r;
        rc = binlog_rotate_parse(&bs->fde, ev, len, &r);
        if (rc) break;
        snprintf(bs->cur.file, sizeof(bs->cur.file), "%s", r.file);
        bs->cur.pos = r.position;
        LOG_D("select", "source '%s': rotate to %s:%llu", bs->conf.source_name, r.file,
              (unsigned long long)r.position);
        return COT_OK;
    }
    case BEV_MARIA_GTID:
    case BEV_MYSQL_GTID:
    case BEV_MYSQL_ANONYMOUS_GTID: {
        binlog_gtid g;
        rc = binlog_gtid_parse(&bs->fde, ev, len, &g);
        if (rc) break;
        if (bs->state != TX_NONE) {
            return cot_err_set(COT_ERR_MALFORMED,
                               "at %s: a new GTID %s began while a transaction was still open",
                               where, g.text);
        }
        snprintf(bs->tx_gtid, sizeof(bs->tx_gtid), "%s", g.text);
        bs->standalone = g.standalone;
        stream__set_state(bs, (h.type == BEV_MARIA_GTID && !g.standalone) ? TX_OPEN : TX_GTID_SEEN);
        return COT_OK;
    }
    case BEV_QUERY:
    case BEV_MARIA_QUERY_COMPRESSED:
        return stream__query(bs, &h, ev, len, where);
    case BEV_XID:
        return stream__end_tx(bs, h.timestamp);
    case BEV_TABLE_MAP:
        return stream__table_map(bs, ev, len, where);
    case BEV_HEARTBEAT:
        return binlog_stream_idle(bs);
    case BEV_MYSQL_TRANSACTION_PAYLOAD:
        return cot_err_set(COT_ERR_UNSUPPORTED,
                           "at %s: a compressed transaction payload: cotter does not read "
                           "MySQL's binlog transaction compression yet; set "
                           "binlog_transaction_compression=OFF on the source and restart the "
                           "pipeline from a position after this transaction",
                           where);
    case BEV_PARTIAL_UPDATE_ROWS:
        return cot_err_set(COT_ERR_UNSUPPORTED,
                           "at %s: a partial JSON update event: set binlog_row_value_options='' "
                           "on the source so updates carry full row images",
                           where);
    case BEV_INCIDENT:
        return cot_err_set(COT_ERR_UNSUPPORTED,
                           "at %s: the source logged an INCIDENT event (changes on the source "
                           "may be missing from its binlog). Check the source's error log, "
                           "verify the tables, then restart the pipeline from a later position",
                           where);
    default:
        if (binlog_is_rows_event(h.type)) return stream__rows(bs, &h, ev, len, where);
        return COT_OK; /* annotate, gtid list, checkpoint, intvar, ...: nothing to do */
    }
    cot_err_prefix("at %s: ", where);
    return rc;
}
