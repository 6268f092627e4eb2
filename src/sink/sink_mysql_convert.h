/*
 * Value conversion for the MySQL sink: makes each source value fit the
 * target column it lands in (integer range and sign, DECIMAL precision and
 * scale, string length in characters, numbers <-> strings, DATE / DATETIME
 * / TIMESTAMP, ENUM and SET by member name into text columns), and applies
 * the mapping's on_overflow policy to a value that cannot fit. Also the
 * registry through which the sink finds a table's mapping (on_overflow,
 * conflict) and through which the pipeline reads the policy counters.
 *
 * Target column facts come from information_schema once per target table
 * description; a plan per (description, source table) says which columns
 * need a check. Runs on the load thread that owns the sink; the registry
 * is process-wide and locked.
 */
#ifndef COT_SINK_MYSQL_CONVERT_H
#define COT_SINK_MYSQL_CONVERT_H

#include "config/config.h"
#include "event/event.h"
#include "sink/sink_mysql_sql.h"
#include "util/err.h"

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- registry: pipeline -> mappings, counters --------------------------- */

/* Policy counters of a pipeline, committed batches only. */
typedef struct sink_policy_counts {
    uint64_t conflicts; /* source changes not applied because the target row won */
    uint64_t clamped;   /* values clamped (on_overflow: clamp) */
    uint64_t nulled;    /* values stored as NULL (on_overflow: null) */
    uint64_t skipped;   /* rows sent to cotter.dead_letters (on_overflow: skip_row) */
    /* source UPDATE/DELETE rows that matched no target row: the target
     * drifted (a row missing there), the change could not be applied */
    uint64_t missing;
} sink_policy_counts;

/* sink_policy_register makes pc's mappings known to the sinks of pipeline
 * pc->name (pc is borrowed and must outlive those sinks); registering the
 * same name again replaces the mappings and keeps the counters. */
void sink_policy_register(const cfg_pipeline *pc);
/* sink_policy_counts_get reads pipeline's counters (zeros when unknown). */
void sink_policy_counts_get(const char *pipeline, sink_policy_counts *out);
/* sink_policy_mapping returns the first mapping of pipeline whose match
 * covers src_schema.src_name, or NULL (unknown pipeline, no match). */
const cfg_table_map *sink_policy_mapping(const char *pipeline, const char *src_schema,
                                         const char *src_name);

/* ---- conversion --------------------------------------------------------- */

typedef struct sink_conv sink_conv;

/* sink_conv_new makes the conversion state of one sink (strings copied). */
sink_conv *sink_conv_new(const char *pipeline, const char *target, bool dry_run);
void sink_conv_free(sink_conv *cv);

/* sink_conv_needs_tables says whether the pipeline writes to
 * cotter.conflicts or cotter.dead_letters (a mapping's policy, or
 * on_error: skip): the sink creates them at open, outside any batch,
 * because a CREATE inside one would commit it. */
bool sink_conv_needs_tables(const sink_conv *cv);

/* sink_conv_map prepares the plan of td (mapped from tbl): reads the
 * target's column facts on first use through my. COT_ERR_NET / SQL from
 * the query; COT_ERR_SCHEMA when latest_wins names a column the target
 * or the source does not have. */
cot_err sink_conv_map(sink_conv *cv, MYSQL *my, const sql_tdesc *td, const cot_table *tbl);
/* sink_conv_forget drops what is known of td (evicted by the sink). */
void sink_conv_forget(sink_conv *cv, const sql_tdesc *td);

/* sink_conv_change converts ch for td. *out is ch itself when nothing
 * changes, else a copy valid until the next call. *skip is set (with the
 * reason in reason[cap]) when on_overflow: skip_row takes the row out.
 * COT_ERR_SQL for a value that cannot fit under stop (and null on a NOT
 * NULL or key column), naming table, column, key, value and the fix. */
cot_err sink_conv_change(sink_conv *cv, const sql_tdesc *td, const cot_change *ch,
                         const cot_change **out, bool *skip, char *reason, size_t cap);

/* sink_conv_batch_end adds the open batch's counts to the pipeline's
 * counters when committed, drops them otherwise. */
void sink_conv_batch_end(sink_conv *cv, bool committed);

/* What the conflict module needs of a plan (sink_mysql_conflict.c). */
typedef struct sink_conv_policy {
    int conflict;            /* cfg_conflict */
    uint32_t conflict_src;   /* latest_wins: source column index */
    uint32_t conflict_tgt;   /* latest_wins: target column index */
    const cfg_table_map *tm; /* the mapping, for messages */
    const char *pipeline;
    const char *target;
    bool dry_run;
} sink_conv_policy;

/* sink_conv_same says whether sink_conv_change would hand ch back as it
 * is (every value fits its target column), without counting or logging
 * anything. */
bool sink_conv_same(sink_conv *cv, const sql_tdesc *td, const cot_change *ch);
/* sink_conv_policy_of returns td's policy (NULL when td is not mapped or
 * its conflict policy is source_wins). */
const sink_conv_policy *sink_conv_policy_of(sink_conv *cv, const sql_tdesc *td);
/* sink_conv_count_conflict counts one conflict in the open batch. */
void sink_conv_count_conflict(sink_conv *cv);
/* sink_conv_count_missing counts n source rows that matched no target row. */
void sink_conv_count_missing(sink_conv *cv, uint64_t n);

/* ---- pure helpers (unit tested) ----------------------------------------- */

/* Target column classes the converter knows. */
typedef enum conv_class {
    CC_OTHER = 0,
    CC_INT,
    CC_DECIMAL,
    CC_FLOAT,
    CC_DOUBLE,
    CC_CHAR,   /* char / varchar: limit in characters */
    CC_TEXT,   /* tinytext .. longtext: limit in bytes */
    CC_BINARY, /* binary / varbinary / blobs: limit in bytes */
    CC_DATE,
    CC_DATETIME,
    CC_TIMESTAMP,
    CC_YEAR,
} conv_class;

/* A target column as information_schema describes it. */
typedef struct conv_target {
    const char *name;
    const char *data_type; /* lower case DATA_TYPE */
    uint8_t cls;           /* conv_class */
    bool is_unsigned;
    bool nullable;
    uint64_t max_len; /* CC_CHAR: characters; CC_TEXT / CC_BINARY: bytes */
    uint32_t prec;    /* CC_DECIMAL precision; CC_DATETIME / TIMESTAMP: fraction digits */
    uint32_t scale;   /* CC_DECIMAL */
    int64_t min_i;    /* CC_INT / CC_YEAR bounds */
    uint64_t max_u;
} conv_target;

/* conv_target_init fills t's class and bounds from data_type, unsignedness
 * and the lengths (strings borrowed). */
void conv_target_init(conv_target *t, const char *name, const char *data_type, bool is_unsigned,
                      bool nullable, uint64_t char_len, uint64_t octet_len, uint32_t prec,
                      uint32_t scale, uint32_t dt_prec);

/* Outcome of converting one value. */
typedef enum conv_result {
    CONV_SAME = 0, /* value fits as it is */
    CONV_CHANGED,  /* *out holds the converted value (same meaning) */
    CONV_OVERFLOW, /* does not fit; *out holds the clamped value */
    CONV_INVALID,  /* not convertible at all (text that is no number, unknown member) */
} conv_result;

/* conv_value converts v of source column col for target t; new bytes are
 * allocated in mem. On CONV_OVERFLOW *out is the nearest value t holds. */
conv_result conv_value(const conv_target *t, const cot_column *col, const cot_value *v, arena *mem,
                       cot_value *out);

/* conv_text_chars counts the characters of len bytes of text in charset
 * (UTF-8 for utf8*, fixed width for ucs2/utf16/utf32, else one byte each). */
uint64_t conv_text_chars(const char *charset, const char *p, uint32_t len);

#endif
