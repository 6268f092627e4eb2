/*
 * The `cotter check` and `cotter repair` commands: option parsing, the
 * progress line on a terminal, and the report (a human table or JSON).
 * Exit status: 0 identical (repair: nothing left to fix), 1 differences
 * found (repair: found and fixed / printed), 2 could not check or usage.
 * Main thread only.
 */
#include "check/check.h"
#include "check/check_sql.h"
#include "config/config.h"
#include "manager/audit.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *out, bool repair)
{
    if (repair)
        fprintf(out,
                "Usage: cotter repair -c FILE [--pipeline P] [--table T] [--dry-run] [--json]\n"
                "\n"
                "Finds the rows where each pipeline's target differs from its source (as\n"
                "'cotter check') and fixes them, source wins: missing and different rows are\n"
                "upserted (INSERT .. ON DUPLICATE KEY UPDATE), extra rows deleted by key, one\n"
                "target transaction per chunk. --dry-run prints the SQL instead of running it.\n"
                "While the pipeline runs, a difference is compared again once the pipeline has\n"
                "applied past the source's position (as check does), so rows in flight are not\n"
                "touched; rows changing during the repair itself can still race with it.\n"
                "\n"
                "Exit status: 0 nothing to repair, 1 differences repaired (or printed),\n"
                "2 could not check or repair.\n");
    else
        fprintf(out, "Usage: cotter check -c FILE [--pipeline P] [--table T] [--json]\n"
                     "                    [--chunk-size N] [--chunk-time SECONDS] [--max-keys N]\n"
                     "                    [--keyless-limit N] [--offline] [--wait SECONDS]\n"
                     "                    [--max-rows-per-s N] [--max-source-threads N]\n"
                     "                    [--no-store]\n"
                     "\n"
                     "Compares every mapped table of each pipeline (or only P, or tables whose\n"
                     "source or target schema.table matches the glob T) between source and\n"
                     "target, honouring the mapping's columns, renames, constants and where:.\n"
                     "Chunks of the key (first --chunk-size rows, 1000, then sized to take\n"
                     "--chunk-time, 0.5 s) are checksummed on both servers; differing chunks are\n"
                     "diffed row by row and each missing, extra or different row is named by key:\n"
                     "the text report lists the first 20 keys of each table and how many more\n"
                     "differ; --json lists them all (at most --max-keys per table, 1000). Tables\n"
                     "without a usable key are compared as a whole, and diffed row by row up to\n"
                     "--keyless-limit rows (100000). --max-rows-per-s reads at most N source\n"
                     "rows a second (no limit by default); --max-source-threads pauses (up to\n"
                     "60 s at a time) while the source runs more than N threads.\n"
                     "\n"
                     "Online: when the pipeline keeps a position on the target (it runs, or ran),\n"
                     "a chunk or row that differs is compared again after the pipeline has\n"
                     "applied past the source's binlog position read when the source side was\n"
                     "read, waiting at most --wait seconds (60), so changes in flight are not\n"
                     "reported. --offline compares the tables as they are. Each table's result is\n"
                     "stored in cotter.check_results on the target (--no-store: not).\n"
                     "\n"
                     "Exit status: 0 identical, 1 differences found, 2 could not check.\n");
}

typedef struct cli {
    const char *config;
    bool json;
    check_opts o;
} cli;

static bool parse_u64(const char *flag, const char *v, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = v ? strtoull(v, &end, 10) : 0;
    if (!v || errno || !end || *end || n == 0 || n > max || v[0] == '-') {
        fprintf(stderr, "cotter: %s needs a whole number between 1 and %llu, not '%s'\n", flag,
                (unsigned long long)max, v ? v : "");
        return false;
    }
    *out = n;
    return true;
}

static int parse(int argc, char **argv, bool repair, cli *c)
{
    memset(c, 0, sizeof(*c));
    c->o.repair = repair;
    c->o.store = true;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, repair);
            return 0;
        } else if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && v) {
            c->config = v;
            i++;
        } else if (strcmp(a, "--pipeline") == 0 && v) {
            c->o.pipeline = v;
            i++;
        } else if (strcmp(a, "--table") == 0 && v) {
            c->o.table = v;
            i++;
        } else if (strcmp(a, "--json") == 0) {
            c->json = true;
        } else if (strcmp(a, "--offline") == 0) {
            c->o.offline = true;
        } else if (strcmp(a, "--no-store") == 0) {
            c->o.store = false;
        } else if (strcmp(a, "--wait") == 0) {
            if (!parse_u64(a, v, 86400, &n)) return 2;
            c->o.wait_s = (double)n;
            i++;
        } else if (repair && strcmp(a, "--dry-run") == 0) {
            c->o.dry_run = true;
        } else if (strcmp(a, "--chunk-size") == 0) {
            if (!parse_u64(a, v, 1000000, &n)) return 2;
            c->o.chunk_rows = (uint32_t)n;
            i++;
        } else if (strcmp(a, "--chunk-time") == 0) {
            char *end = NULL;
            double d = v ? strtod(v, &end) : 0;
            if (!v || !end || *end || d <= 0 || d > 3600) {
                fprintf(stderr, "cotter: --chunk-time needs seconds (e.g. 0.5), not '%s'\n",
                        v ? v : "");
                return 2;
            }
            c->o.chunk_target_s = d;
            i++;
        } else if (strcmp(a, "--max-keys") == 0) {
            if (!parse_u64(a, v, 10000000, &n)) return 2;
            c->o.max_keys = (uint32_t)n;
            i++;
        } else if (strcmp(a, "--max-rows-per-s") == 0) {
            if (!parse_u64(a, v, 100000000, &n)) return 2;
            c->o.max_rows_per_s = (double)n;
            i++;
        } else if (strcmp(a, "--max-source-threads") == 0) {
            if (!parse_u64(a, v, 100000, &n)) return 2;
            c->o.max_source_threads = (uint32_t)n;
            i++;
        } else if (strcmp(a, "--keyless-limit") == 0) {
            if (!parse_u64(a, v, 100000000, &n)) return 2;
            c->o.keyless_limit = n;
            i++;
        } else {
            fprintf(stderr, "cotter %s: unknown or incomplete option '%s'\n\n",
                    repair ? "repair" : "check", a);
            usage(stderr, repair);
            return 2;
        }
    }
    if (!c->config) {
        fprintf(stderr, "cotter %s: -c FILE is required\n\n", repair ? "repair" : "check");
        usage(stderr, repair);
        return 2;
    }
    return -1;
}

static void on_progress(void *ctx, const check_table_result *r, bool done)
{
    (void)ctx;
    buf b;
    buf_init(&b);
    buf_puts(&b, "\r\033[K"); /* cotter's own terminal control: back to the line's start */
    log_text_escape(&b, r->pipeline);
    buf_putc(&b, ' ');
    log_text_escape(&b, r->source);
    buf_puts(&b, " -> ");
    log_text_escape(&b, r->target);
    buf_printf(&b, ": %llu chunks, %llu rows, %llu differ%s", (unsigned long long)r->chunks,
               (unsigned long long)r->rows,
               (unsigned long long)(r->missing + r->extra + r->different), done ? "\n" : "");
    fwrite(b.data, 1, b.len, stderr);
    fflush(stderr);
    buf_deinit(&b);
}

/* TEXT_KEYS is how many differing keys per table the text report lists;
 * --json lists up to --max-keys. */
#define TEXT_KEYS 20

/* esc returns s with control characters escaped (log_text_escape), held in
 * *b until the next call with the same b. */
static const char *esc(buf *b, const char *s)
{
    buf_reset(b);
    log_text_escape(b, s);
    buf_putc(b, '\0');
    return b->data;
}

/* print_keys lists the first TEXT_KEYS differing keys of r, one a line, and
 * how many more there are. */
static void print_keys(FILE *out, const check_table_result *r)
{
    buf b;
    buf_init(&b);
    uint32_t shown = r->n_diffs < TEXT_KEYS ? r->n_diffs : TEXT_KEYS;
    for (uint32_t k = 0; k < shown; k++)
        fprintf(out, "    %-9s %s\n", check_kind_name((check_kind)r->diffs[k].kind),
                esc(&b, r->diffs[k].json));
    uint64_t total = r->missing + r->extra + r->different;
    if (total > shown)
        fprintf(out, "    ... and %llu more (--json lists up to --max-keys)\n",
                (unsigned long long)(total - shown));
    buf_deinit(&b);
}

static void print_human(const check_report *rep, bool repair, bool dry_run)
{
    FILE *out = dry_run ? stderr : stdout; /* dry-run SQL owns stdout */
    buf b1, b2;
    buf_init(&b1);
    buf_init(&b2);
    fprintf(out, "%-24s %-24s %8s %10s %8s %8s %9s %8s  %s\n", "source table", "target table",
            "chunks", "rows", "missing", "extra", "different", "time", "status");
    for (uint32_t i = 0; i < rep->n_tables; i++) {
        const check_table_result *r = &rep->tables[i];
        const char *status = "ok";
        if (r->error)
            status = "ERROR";
        else if (r->not_itemized)
            status = "differs (keyless, too large to name rows)";
        else if (r->missing || r->extra || r->different)
            status = repair ? (dry_run ? "differs (SQL printed)" : "repaired") : "differs";
        fprintf(out, "%-24s ", esc(&b1, r->source));
        fprintf(out, "%-24s %8llu %10llu %8llu %8llu %9llu %7.2fs  %s\n", esc(&b2, r->target),
                (unsigned long long)r->chunks, (unsigned long long)r->rows,
                (unsigned long long)r->missing, (unsigned long long)r->extra,
                (unsigned long long)r->different, r->seconds, status);
        if (r->error) fprintf(out, "    %s\n", esc(&b1, r->error));
        if (!r->error && !r->not_itemized) print_keys(out, r);
        if (r->aged_out)
            fprintf(out,
                    "    %llu target rows aged out: the source has them but the where: (it reads "
                    "NOW()) no longer selects them; not differences, never deleted by repair\n",
                    (unsigned long long)r->aged_out);
        if (repair && (r->repaired_upserts || r->repaired_deletes))
            fprintf(out, "    %s %llu rows upserted, %llu deleted\n", dry_run ? "would have" : "",
                    (unsigned long long)r->repaired_upserts,
                    (unsigned long long)r->repaired_deletes);
    }
    if (rep->error) fprintf(out, "error: %s\n", esc(&b1, rep->error));
    buf_deinit(&b1);
    buf_deinit(&b2);
}

static void print_json(const check_report *rep, int status)
{
    buf b;
    buf_init(&b);
    buf_printf(&b, "{\"status\":%d,\"error\":", status);
    if (rep->error)
        check_json_str(&b, rep->error, strlen(rep->error));
    else
        buf_puts(&b, "null");
    buf_puts(&b, ",\"tables\":[");
    for (uint32_t i = 0; i < rep->n_tables; i++) {
        const check_table_result *r = &rep->tables[i];
        if (i) buf_putc(&b, ',');
        buf_puts(&b, "{\"pipeline\":");
        check_json_str(&b, r->pipeline, strlen(r->pipeline));
        buf_puts(&b, ",\"source\":");
        check_json_str(&b, r->source, strlen(r->source));
        buf_puts(&b, ",\"target\":");
        check_json_str(&b, r->target, strlen(r->target));
        buf_printf(&b,
                   ",\"keyless\":%s,\"chunks\":%llu,\"rows\":%llu,\"missing\":%llu,\"extra\":%llu,"
                   "\"different\":%llu,\"not_itemized\":%s,\"seconds\":%.3f,"
                   "\"repaired_upserts\":%llu,\"repaired_deletes\":%llu,\"settled_chunks\":%llu,"
                   "\"settled_rows\":%llu,\"aged_out\":%llu,\"error\":",
                   r->keyless ? "true" : "false", (unsigned long long)r->chunks,
                   (unsigned long long)r->rows, (unsigned long long)r->missing,
                   (unsigned long long)r->extra, (unsigned long long)r->different,
                   r->not_itemized ? "true" : "false", r->seconds,
                   (unsigned long long)r->repaired_upserts, (unsigned long long)r->repaired_deletes,
                   (unsigned long long)r->settled_chunks, (unsigned long long)r->settled_rows,
                   (unsigned long long)r->aged_out);
        if (r->error)
            check_json_str(&b, r->error, strlen(r->error));
        else
            buf_puts(&b, "null");
        buf_puts(&b, ",\"diffs\":[");
        for (uint32_t k = 0; k < r->n_diffs; k++) {
            if (k) buf_putc(&b, ',');
            buf_printf(&b, "{\"kind\":\"%s\",\"key\":%s}",
                       check_kind_name((check_kind)r->diffs[k].kind), r->diffs[k].json);
        }
        buf_printf(&b, "],\"diffs_omitted\":%llu}", (unsigned long long)r->diffs_omitted);
    }
    buf_puts(&b, "]}\n");
    fwrite(b.data, 1, b.len, stdout);
    buf_deinit(&b);
}

/* audit_repair writes one audit line per repaired table (DATA_DIR/logs/audit.log,
 * the manager's audit trail): who ran it, the pipeline's channel, what was written. */
static void audit_repair(const cot_config *cfg, const check_report *rep)
{
    bool any = false;
    for (uint32_t i = 0; i < rep->n_tables; i++)
        any = any || rep->tables[i].repaired_upserts || rep->tables[i].repaired_deletes;
    if (!any) return;
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/logs", cfg->data_dir);
    audit_log *al = NULL;
    if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) return;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "cotter repair: not audited: cannot create %s: %s\n", dir, strerror(errno));
        return;
    }
    if (audit_open(dir, cfg->manager_audit_max_size, cfg->manager_audit_retention_s, &al) !=
        COT_OK) {
        fprintf(stderr, "cotter repair: not audited: %s\n", cot_err_msg());
        return;
    }
    char who[160];
    const char *user = getenv("USER");
    snprintf(who, sizeof(who), "cli:%s(uid %u)", user && *user ? user : "?", (unsigned)getuid());
    for (uint32_t i = 0; i < rep->n_tables; i++) {
        const check_table_result *r = &rep->tables[i];
        if (!r->repaired_upserts && !r->repaired_deletes) continue;
        const char *channel = "";
        for (int c = 0; c < cfg->n_channels; c++)
            for (int p = 0; p < cfg->channels[c].n_pipelines; p++)
                if (strcmp(cfg->channels[c].pipelines[p].name, r->pipeline) == 0)
                    channel = cfg->channels[c].name;
        char result[512];
        snprintf(result, sizeof(result), "pipeline %s: %s -> %s: %llu rows upserted, %llu deleted",
                 r->pipeline, r->source, r->target, (unsigned long long)r->repaired_upserts,
                 (unsigned long long)r->repaired_deletes);
        audit_event(al, who, channel, "repair", result);
    }
    audit_close(al);
}

static int run(int argc, char **argv, bool repair)
{
    cli c;
    int rc = parse(argc, argv, repair, &c);
    if (rc >= 0) return rc;
    log_set_level(LOG_WARN);
    cot_config *cfg = NULL;
    if (config_load(c.config, &cfg) != COT_OK) {
        fprintf(stderr, "cotter: %s\n", cot_err_msg());
        return 2;
    }
    if (isatty(STDERR_FILENO) && !c.json) c.o.progress = on_progress;
    if (c.o.chunk_target_s <= 0 && cfg->check_chunk_time_ms)
        c.o.chunk_target_s = cfg->check_chunk_time_ms / 1000.0;
    c.o.sql_out = stdout;
    check_report rep;
    int status = check_run(cfg, &c.o, &rep);
    if (repair && !c.o.dry_run) audit_repair(cfg, &rep);
    if (c.json && !c.o.dry_run)
        print_json(&rep, status);
    else
        print_human(&rep, repair, c.o.dry_run);
    check_report_free(&rep);
    config_free(cfg);
    return status;
}

/* cmd_check runs `cotter check` with the arguments after the subcommand;
 * returns the exit status (0 identical, 1 differences, 2 could not check). */
int cmd_check(int argc, char **argv)
{
    return run(argc, argv, false);
}

/* cmd_repair runs `cotter repair`; returns 0 nothing to repair, 1 repaired
 * (or printed with --dry-run), 2 could not check or repair. */
int cmd_repair(int argc, char **argv)
{
    return run(argc, argv, true);
}
