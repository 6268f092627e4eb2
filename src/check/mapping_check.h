/*
 * Mapping validation: whether every source table a pipeline routes can be
 * applied to its target table. Per table it compares the two schemas as the
 * load stage will use them: the target table exists (or the pipeline creates
 * it), every mapped column is on the target with a compatible type and
 * charset, target columns nobody writes can take a default, and the target
 * has a usable key when the source has one. Used by `cotter doctor` (every
 * finding) and by a pipeline session before its first event (the first
 * failure stops it). Runs on the caller's thread with the caller's
 * connections; the pure type rules are exposed for unit tests.
 */
#ifndef COT_MAPPING_CHECK_H
#define COT_MAPPING_CHECK_H

#include "config/config.h"
#include "util/err.h"

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>

/* How bad a finding is. */
typedef enum mapping_level {
    MAPPING_OK = 0, /* works as configured */
    MAPPING_WARN,   /* works, but loses or risks something */
    MAPPING_FAIL    /* the pipeline cannot apply this table */
} mapping_level;

/* One finding about one routed table. */
typedef struct mapping_finding {
    mapping_level level;
    char *table;   /* "src_schema.src_table -> tgt_schema.tgt_table" */
    int line;      /* line of the mapping in the config file */
    char *message; /* what is wrong, in plain words */
    char *fix;     /* the exact change that fixes it ("" when none) */
} mapping_finding;

typedef struct mapping_findings {
    mapping_finding *v;
    size_t n;
    size_t n_tables; /* routed tables examined */
} mapping_findings;

typedef struct mapping_check_opts {
    bool target_creates_tables; /* a missing target table is created by the pipeline */
    bool stop_at_first_fail;    /* session start: stop at the first MAPPING_FAIL */
} mapping_check_opts;

/* mapping_check_pipeline examines every table of the source (src, an open
 * connection) that pc routes, against the target (tgt). Findings are
 * appended to *out (the caller frees with mapping_findings_free). Returns
 * COT_OK when the comparison ran (whatever it found), else the error of a
 * failed query. */
cot_err mapping_check_pipeline(const cfg_pipeline *pc, MYSQL *src, MYSQL *tgt,
                               const mapping_check_opts *opts, mapping_findings *out);

/* mapping_findings_add appends one finding to out: its level, the table it
 * is about, the config line, the fix to run ("" when none) and a message. */
void mapping_findings_add(mapping_findings *out, mapping_level lv, const char *table, int line,
                          const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

void mapping_findings_free(mapping_findings *f);

/* mapping_check_session is the start-up validation of a pipeline session.
 * ddl_pending: the pipeline follows DDL (ddl: apply or stop) and resumes behind
 * the source's end, so a DDL still to be read may be what makes source and
 * target differ; failures are then logged as warnings (the first row that
 * does not fit stops the pipeline with the server's error).
 * Otherwise:
 * it connects to pc's target (MySQL/MariaDB targets only; other schemes
 * pass), runs the mapping checks over src, and returns COT_ERR_SCHEMA with
 * "mapping FILE:LINE (table): <what>; fix: <how>" for the first failure
 * (cfg_path names the file), or COT_OK. A failed connection or query is
 * returned as it is (retriable when it is). */
cot_err mapping_check_session(const char *cfg_path, const cfg_pipeline *pc, MYSQL *src,
                              bool target_creates_tables, bool ddl_pending);

/* mapping_type_compat says whether values of a source column of
 * COLUMN_TYPE src_type ("int(11) unsigned", "varchar(40)") fit a target
 * column of tgt_type: MAPPING_OK, MAPPING_WARN (some values are cut,
 * rounded or refused) or MAPPING_FAIL (most values are refused). why gets
 * a short reason when not OK. Pure. */
mapping_level mapping_type_compat(const char *src_type, const char *tgt_type, char *why,
                                  size_t cap);

/* mapping_charset_compat says whether text in charset src_cs fits a
 * column in charset tgt_cs (NULL or "" = not a text column: OK). Pure. */
mapping_level mapping_charset_compat(const char *src_cs, const char *tgt_cs, char *why, size_t cap);

#endif
