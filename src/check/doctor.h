/*
 * `cotter doctor`: diagnoses a configuration against the real servers and
 * explains each finding in plain words with the exact fix (a GRANT, a
 * my.cnf line, an ALTER TABLE). Sources: reachability, TLS, version,
 * binlog settings, server_id, binlog retention against the stored
 * position, grants, clock skew. Targets: reachability, grants, the cotter
 * schema. Pipelines: every mapping (mapping_check.h). Also the one-line
 * hints a failed pipeline shows next to its error (doctor_hint). Runs on
 * the caller's thread; the pure helpers are exposed for unit tests.
 */
#ifndef COT_DOCTOR_H
#define COT_DOCTOR_H

#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum doctor_level { DOCTOR_OK = 0, DOCTOR_WARN, DOCTOR_FAIL } doctor_level;

/* doctor_level_name returns "OK", "WARN" or "FAIL". */
const char *doctor_level_name(doctor_level lv);

/* One finding: which endpoint or pipeline, which check, what, the fix. */
typedef struct doctor_item {
    doctor_level level;
    char *subject; /* "source shop", "target warehouse", "pipeline p1" */
    char *check;   /* "connect", "binlog_format", "grants", "mapping app.t -> w.t", ... */
    char *message;
    char *fix; /* "" when nothing is to be done */
} doctor_item;

typedef struct doctor_report {
    doctor_item *items;
    size_t n;
    size_t n_ok, n_warn, n_fail;
} doctor_report;

/* doctor_run runs every check of cfg, filling *rep (caller frees with
 * doctor_report_free). Returns 0 healthy (warnings allowed), 1 problems
 * found (at least one FAIL). */
int doctor_run(const cot_config *cfg, doctor_report *rep);
void doctor_report_free(doctor_report *rep);

/* cmd_doctor runs `cotter doctor` with the arguments after the subcommand;
 * returns the exit status (0 healthy, 1 problems, 2 could not run). */
int cmd_doctor(int argc, char **argv);

/* doctor_hint writes into out (cap bytes) a one-line diagnosis of a
 * pipeline error: its class and what to do ("access denied: check the user
 * name and password in sources.shop.url"). mysql_errno 0 means: take the
 * number from the message's "(errno N" if there is one. Returns out, or
 * NULL (out = "") when there is nothing specific to say. Pure. */
const char *doctor_hint(const char *error_message, int mysql_errno, char *out, size_t cap);

/* doctor_grants_have says whether the SHOW GRANTS lines grant privilege
 * priv ("INSERT", "REPLICATION SLAVE") on schema.table (schema NULL: on
 * *.*; table NULL: on the whole schema). ALL PRIVILEGES counts; MariaDB's
 * BINLOG MONITOR counts as REPLICATION CLIENT. Pure. */
bool doctor_grants_have(const char *const *grants, size_t n_grants, const char *priv,
                        const char *schema, const char *table);

#endif
