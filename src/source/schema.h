/*
 * Source schema resolution: turns a TABLE_MAP into a cot_table with column
 * names, signedness and charsets. With binlog_row_metadata=FULL everything
 * comes from the event; otherwise from information_schema on a second
 * connection to the source (never the replication one), cached per table
 * and dropped on every DDL. An event whose columns disagree with the known
 * schema is a COT_ERR_SCHEMA that says what changed and what to do; columns
 * are never shifted. Runs on the select thread only.
 */
#ifndef COT_SCHEMA_H
#define COT_SCHEMA_H

#include "event/event.h"
#include "source/binlog_event.h"
#include "util/err.h"

#include <mysql.h>

typedef struct schema_cache schema_cache;

/* schema_cache_new creates a cache that queries through conn (borrowed; may
 * be NULL, then only FULL metadata can resolve names). */
schema_cache *schema_cache_new(MYSQL *conn);
void schema_cache_free(schema_cache *sc);

/* schema_cache_set_history gives the cache the schema history it consults
 * for tables without FULL metadata (source/schema_history.h); the cache
 * owns it from then on. schema_cache_history returns it, or NULL. */
struct schema_history;
void schema_cache_set_history(schema_cache *sc, struct schema_history *sh);
struct schema_history *schema_cache_history(schema_cache *sc);
/* schema_cache_invalidate forgets every table (after a DDL). */
void schema_cache_invalidate(schema_cache *sc);

/* schema_resolve builds a new cot_table (one reference, owned by the
 * caller) for tm. where names the event ("binlog.000003:1234") for messages. */
cot_err schema_resolve(schema_cache *sc, const binlog_tablemap *tm, const char *where,
                       cot_table **out);

/* schema_types_compatible says whether a TABLE_MAP type code can be the
 * binlog form of an information_schema DATA_TYPE ("int", "varchar", ...). */
bool schema_types_compatible(uint8_t binlog_type, uint16_t meta, const char *data_type);

/* schema_members_parse reads the ENUM/SET member names of an
 * information_schema COLUMN_TYPE ("enum('a','b')") into a process-lifetime
 * interned list (cot_members_intern); false, *members NULL and *n_members
 * 0, when the text is not such a list. */
bool schema_members_parse(const char *column_type, const char *const **members,
                          uint32_t *n_members);

#endif
