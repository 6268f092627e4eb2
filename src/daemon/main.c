/*
 * cotter's command line: subcommand dispatch, `run` (every channel of a
 * config file in one process until SIGTERM/SIGINT) and the small helpers
 * (version, decode, config-doc). The main thread owns signals and the
 * once-a-second status files; pipelines run on their own threads.
 */
#include "check/check.h"
#include "check/check_schedule.h"
#include "check/doctor.h"
#include "checkpoint/meta_store.h"
#include "config/config.h"
#include "daemon/status_file.h"
#include "manager/client.h"
#include "manager/alarm.h"
#include "manager/http.h"
#include "manager/logs.h"
#include "manager/pause.h"
#include "pipeline/pipeline.h"
#include "pipeline/transform.h"
#include "source/binlog_print.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <sys/file.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2

static void usage_main(FILE *out)
{
    fprintf(out,
            "cotter %s - binlog-based MySQL/MariaDB synchronizer\n"
            "\n"
            "Usage: cotter COMMAND [options]\n"
            "\n"
            "Commands:\n"
            "  run -c FILE          run every channel of a config file until SIGTERM/SIGINT\n"
            "                       (with the HTTP API on manager.listen)\n"
            "  check -c FILE        compare source and target tables (exit 0 same, 1 differ)\n"
            "  repair -c FILE       fix what check finds, source wins (--dry-run prints SQL)\n"
            "  doctor -c FILE       diagnose connectivity, grants, binlog settings and mappings\n"
            "  status [CHANNEL]     show channels and pipelines of a running cotter (HTTP API)\n"
            "  channel start|stop|restart CHANNEL\n"
            "                       start, stop or restart a channel of a running cotter\n"
            "  logs [--follow]      recent log lines of a running cotter (HTTP API)\n"
            "  snapshot -c FILE --pipeline P --table S.T [--where EXPR]\n"
            "                       copy a table again while its channel runs (HTTP API)\n"
            "  decode [--count] [--show-passwords] BINLOG...\n"
            "                       decode local binlog files and print events and rows\n"
            "  config-doc           print the configuration reference (Markdown)\n"
            "  version              print the version\n"
            "\n"
            "Run 'cotter COMMAND --help' for a command's options. Documentation: docs/cli.md,\n"
            "docs/config.md, docs/api.md, docs/snapshot.md, docs/console.md (the web console\n"
            "at http://MANAGER_LISTEN/).\n",
            COTTER_VERSION);
}

static void usage_run(FILE *out)
{
    fprintf(out,
            "Usage: cotter run -c FILE [--log-level error|warn|info|debug]\n"
            "\n"
            "Runs every pipeline of every channel in FILE (YAML, see docs/config.md) until\n"
            "SIGTERM or SIGINT, then finishes the batch in flight, commits it and exits 0.\n"
            "A second signal exits at once (the open batch is rolled back on the target and\n"
            "re-read on the next start: nothing is lost or applied twice).\n"
            "\n"
            "Exit status: 0 stopped on request, 2 bad configuration or usage, 1 other error.\n"
            "Logs go to stderr and DATA_DIR/logs/cotter.log; status to DATA_DIR/status/*.json.\n");
}

static void usage_decode(FILE *out)
{
    fprintf(out, "Usage: cotter decode [--count] [--show-passwords] BINLOG_FILE...\n"
                 "\n"
                 "Decodes local binlog files with cotter's own decoder and prints every event\n"
                 "and row, or with --count only a summary (events, rows, bytes, seconds).\n"
                 "Passwords in statements (CREATE USER ... IDENTIFIED BY, SET PASSWORD, ...)\n"
                 "print as '<redacted>' unless --show-passwords.\n");
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return true;
    return false;
}

/* mkdir_p creates path and its parents; false with cot_err set on failure. */
/* run__target_glob writes the target-side glob of mapping tm: its to:
 * template with {schema} / {table} as "*", else its match. */
static void run__target_glob(const cfg_table_map *tm, char *out, size_t cap)
{
    const char *t = tm->to ? tm->to : tm->match;
    size_t o = 0;
    while (*t && o + 1 < cap) {
        if (strncmp(t, "{schema}", 8) == 0 || strncmp(t, "{table}", 7) == 0) {
            out[o++] = '*';
            t += t[1] == 's' ? 8 : 7;
        } else {
            out[o++] = *t++;
        }
    }
    out[o] = '\0';
}

/* run__globs_meet says whether globs a and b may name one table (either
 * matches the other taken as a name). */
static bool run__globs_meet(const char *a, const char *b)
{
    for (int k = 0; k < 2; k++) {
        const char *name = k ? a : b, *pat = k ? b : a;
        const char *dot = strchr(name, '.');
        if (!dot) continue;
        char schema[256];
        snprintf(schema, sizeof(schema), "%.*s", (int)(dot - name), name);
        if (table_glob_match(pat, schema, dot + 1)) return true;
    }
    return false;
}

/* run_warn_shared_tables warns when two pipelines write the same target
 * table: their rows can overwrite each other, and neither one's check or
 * conflict policy sees the other's writes. */
static void run_warn_shared_tables(const cot_config *cfg)
{
    for (int c = 0; c < cfg->n_channels; c++)
        for (int p = 0; p < cfg->channels[c].n_pipelines; p++) {
            const cfg_pipeline *a = &cfg->channels[c].pipelines[p];
            for (int d = c; d < cfg->n_channels; d++)
                for (int q = d == c ? p + 1 : 0; q < cfg->channels[d].n_pipelines; q++) {
                    const cfg_pipeline *b = &cfg->channels[d].pipelines[q];
                    if (a->target != b->target) continue;
                    for (int i = 0; i < a->n_tables; i++)
                        for (int j = 0; j < b->n_tables; j++) {
                            char ga[300], gb[300];
                            run__target_glob(&a->tables[i], ga, sizeof(ga));
                            run__target_glob(&b->tables[j], gb, sizeof(gb));
                            if (!run__globs_meet(ga, gb)) continue;
                            LOG_W("daemon",
                                  "pipelines %s and %s both write %s on target '%s' (mappings "
                                  "at %s:%d and %s:%d): two writers on one table overwrite "
                                  "each other's rows, and neither's conflict policy or check "
                                  "sees the other's; map each target table from one pipeline",
                                  a->name, b->name,
                                  !strpbrk(ga, "*?[")   ? ga
                                  : !strpbrk(gb, "*?[") ? gb
                                                        : ga,
                                  a->target_name, cfg->path, a->tables[i].line, cfg->path,
                                  b->tables[j].line);
                            goto next_pair;
                        }
                next_pair:;
                }
        }
}

/* run_lock_data_dir takes DATA_DIR/cotter.pid (flock, held until exit) so
 * that a second `cotter run` with the same data_dir stops before it touches
 * a source or a target: two would take each other's session locks on the
 * targets and kill each other's connections. Returns false (message in
 * cot_err_msg) when another process holds it. */
static bool run_lock_data_dir(const char *data_dir)
{
    char path[1100];
    snprintf(path, sizeof(path), "%s/cotter.pid", data_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        cot_err_set(COT_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        return false;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t r = pread(fd, pid, sizeof(pid) - 1, 0);
        pid[r > 0 ? r : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        cot_err_set(COT_ERR_CONFIG,
                    "another cotter (pid %s) is running with data_dir %s: not starting, and not "
                    "connecting to any source or target (two processes on one data_dir would "
                    "take each other's target connections over); stop that one first, or give "
                    "this one its own data_dir",
                    pid[0] ? pid : "?", data_dir);
        close(fd);
        return false;
    }
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
        LOG_W("daemon", "cannot write %s: %s", path, strerror(errno));
    return true; /* fd stays open: the lock lasts as long as the process */
}

static bool mkdir_p(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
            cot_err_set(COT_ERR_IO, "cannot create directory %s: %s", tmp, strerror(errno));
            return false;
        }
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        cot_err_set(COT_ERR_IO, "cannot create directory %s: %s", tmp, strerror(errno));
        return false;
    }
    return true;
}

typedef struct run_slot {
    pipeline *pl;
    cot_pos saved; /* last position copied to the meta store */
    bool paused;   /* its channel was PAUSED at start: not started */
} run_slot;

static void run_write_status(run_slot *slots, int n, const char *status_dir, meta_store *ms,
                             bool log_line)
{
    buf doc;
    buf_init(&doc);
    for (int i = 0; i < n; i++) {
        run_slot *s = &slots[i];
        pipeline_status st;
        pipeline_status_get(s->pl, &st);
        uint64_t rows = st.inserts + st.updates + st.deletes;
        buf_reset(&doc);
        status_json(&doc, pipeline_channel(s->pl), pipeline_name(s->pl), &st);
        if (!status_file_write(status_dir, pipeline_name(s->pl), &doc))
            LOG_W("daemon", "%s", cot_err_msg());
        if (ms && st.pos.file[0] &&
            (st.pos.pos != s->saved.pos || strcmp(st.pos.file, s->saved.file) != 0)) {
            /* a display copy: the target's position is the one that counts */
            if (meta_store_save_position(ms, pipeline_name(s->pl), &st.pos, st.source_ts, rows) ==
                COT_OK)
                s->saved = st.pos;
            else
                LOG_W("daemon", "meta store: %s", cot_err_msg());
        }
        if (log_line && st.state == PS_RUNNING) {
            LOG_I("stats",
                  "pipeline %s: applied %llu inserts, %llu updates, %llu deletes in %llu "
                  "transactions; %.0f rows/s; delay %.1f s; position %s:%llu",
                  pipeline_name(s->pl), (unsigned long long)st.inserts,
                  (unsigned long long)st.updates, (unsigned long long)st.deletes,
                  (unsigned long long)st.transactions, st.rows_per_s,
                  st.delay_s < 0 ? 0 : st.delay_s, st.pos.file, (unsigned long long)st.pos.pos);
        }
    }
    buf_deinit(&doc);
}

static int cmd_run(int argc, char **argv)
{
    const char *path = NULL, *level = NULL;
    for (int i = 0; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc) {
            path = argv[++i];
        } else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
            level = argv[++i];
        } else {
            fprintf(stderr, "cotter run: unexpected argument '%s'\n\n", argv[i]);
            usage_run(stderr);
            return EXIT_USAGE;
        }
    }
    /* signals are taken by the main loop only; block them before any thread
     * starts, and early, so a SIGTERM during start-up still stops cleanly */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if (!path) {
        fprintf(stderr, "cotter run: missing -c FILE (the configuration to run)\n\n");
        usage_run(stderr);
        return EXIT_USAGE;
    }
    cot_config *cfg = NULL;
    if (config_load(path, &cfg) != COT_OK) {
        fprintf(stderr, "cotter: %s\n", cot_err_msg());
        return EXIT_USAGE;
    }
    for (int c = 0; c < cfg->n_channels; c++) {
        for (int p = 0; p < cfg->channels[c].n_pipelines; p++) {
            if (transform_check(path, &cfg->channels[c].pipelines[p]) != COT_OK) {
                fprintf(stderr, "cotter: %s\n", cot_err_msg());
                config_free(cfg);
                return EXIT_USAGE;
            }
        }
    }
    log_level lv = LOG_INFO;
    const char *lvs = level ? level : cfg->log_level;
    if (lvs && !log_level_parse(lvs, &lv)) {
        fprintf(stderr, "cotter: unknown log level '%s' (use error, warn, info or debug)\n", lvs);
        config_free(cfg);
        return EXIT_USAGE;
    }
    log_set_level(lv);
    log_set_json(cfg->log_json);

    char logs_dir[1024], status_dir[1024], log_path[1100];
    snprintf(logs_dir, sizeof(logs_dir), "%s/logs", cfg->data_dir);
    snprintf(status_dir, sizeof(status_dir), "%s/status", cfg->data_dir);
    if (!mkdir_p(logs_dir) || !mkdir_p(status_dir)) {
        fprintf(stderr, "cotter: %s (data_dir in %s)\n", cot_err_msg(), path);
        config_free(cfg);
        return 1;
    }
    run_warn_shared_tables(cfg);
    if (!run_lock_data_dir(cfg->data_dir)) {
        fprintf(stderr, "cotter: %s\n", cot_err_msg());
        config_free(cfg);
        return 1;
    }
    snprintf(log_path, sizeof(log_path), "%s/cotter.log", logs_dir);
    if (!log_open_file(log_path)) LOG_W("daemon", "%s; logging to stderr only", cot_err_msg());
    log_ring *ring = log_ring_new(cfg->log_memory_lines); /* GET /api/logs */
    meta_store *ms = NULL;
    if (meta_store_open(cfg->data_dir, &ms) != COT_OK) {
        LOG_W("daemon", "meta store unavailable (%s); positions are still kept on the targets",
              cot_err_msg());
        ms = NULL;
    }

    signal(SIGPIPE, SIG_IGN);
    mysql_library_init(0, NULL, NULL);

    int n = 0;
    for (int c = 0; c < cfg->n_channels; c++) n += cfg->channels[c].n_pipelines;
    run_slot *slots = calloc((size_t)(n ? n : 1), sizeof(run_slot));
    if (!slots) abort();
    int k = 0;
    LOG_I("daemon", "cotter %s starting: %d channel(s), %d pipeline(s), config %s, data_dir %s",
          COTTER_VERSION, cfg->n_channels, n, path, cfg->data_dir);
    for (int c = 0; c < cfg->n_channels; c++) {
        for (int p = 0; p < cfg->channels[c].n_pipelines; p++) {
            slots[k].pl = pipeline_new(cfg, &cfg->channels[c], &cfg->channels[c].pipelines[p]);
            char paused_by[80];
            time_t paused_at = 0;
            if (pause_get(cfg->data_dir, cfg->channels[c].name, paused_by, sizeof(paused_by),
                          &paused_at)) { /* an operator's stop outlives the restart */
                if (p == 0)
                    LOG_W("daemon",
                          "channel %s is PAUSED (stopped by %s at %lld): not starting it; "
                          "`cotter channel start %s` resumes it",
                          cfg->channels[c].name, paused_by[0] ? paused_by : "an operator",
                          (long long)paused_at, cfg->channels[c].name);
                slots[k].paused = true;
                k++;
                continue;
            }
            k++;
        }
    }
    pipeline **pls = calloc((size_t)(n ? n : 1), sizeof(*pls));
    if (!pls) abort();
    for (int i = 0; i < n; i++) pls[i] = slots[i].pl;
    manager *mgr = NULL;
    int signals = 0, exit_code = 0;
    /* the HTTP API first: a process that cannot serve it (the port is taken,
     * often by the same config started twice) exits before any pipeline
     * connects to a source or a target */
    if (manager_start(cfg, pls, n, &mgr) != COT_OK) {
        LOG_E("daemon", "%s; not starting any pipeline", cot_err_msg());
        for (int i = 0; i < n; i++) pipeline_free(slots[i].pl);
        free(slots);
        free(pls);
        meta_store_close(ms);
        log_ring_free(ring);
        config_free(cfg);
        mysql_library_end();
        log_close();
        return 1;
    }
    for (int i = 0; i < n; i++) {
        if (slots[i].paused) continue;
        if (pipeline_start(slots[i].pl) != COT_OK) {
            LOG_E("daemon", "%s", cot_err_msg());
            return 1;
        }
    }
    alarm_engine *alarms = alarm_engine_new(cfg, pls, n);
    check_schedule *checks = check_schedule_start(cfg); /* check.schedule; NULL when none */

    manager_attach(mgr, alarms, ring);
    if (mgr) alarm_engine_set_restart(alarms, manager_channel_restart, mgr);
    double last_log = clock_now_s();
    for (;;) {
        struct timespec tick = {signals ? 0 : 1, signals ? 200000000L : 0};
        int sig = sigtimedwait(&sigs, NULL, &tick);
        if (sig == SIGINT || sig == SIGTERM) {
            signals++;
            if (signals == 1) {
                LOG_I("daemon", "%s received: finishing the batch in flight, then exiting",
                      sig == SIGINT ? "SIGINT" : "SIGTERM");
                alarm_engine_set_restart(alarms, NULL, NULL);
                manager_stop(mgr); /* first: no channel action may start a pipeline after */
                mgr = NULL;
                for (int i = 0; i < n; i++) pipeline_stop(slots[i].pl);
            } else {
                LOG_W("daemon", "second signal: exiting now; uncommitted work is rolled back on "
                                "the target and re-read on the next start");
                _exit(1);
            }
        }
        bool log_line = clock_now_s() - last_log >= 10;
        if (log_line) last_log = clock_now_s();
        run_write_status(slots, n, status_dir, ms, log_line);
        if (!signals) alarm_engine_tick(alarms);
        if (signals) {
            bool all = true;
            for (int i = 0; i < n; i++) all = all && pipeline_finished(slots[i].pl);
            if (all) break;
        }
    }
    check_schedule_stop(checks);
    for (int i = 0; i < n; i++) pipeline_join(slots[i].pl);
    run_write_status(slots, n, status_dir, ms, false);
    alarm_engine_free(alarms);
    for (int i = 0; i < n; i++) {
        pipeline_status st;
        pipeline_status_get(slots[i].pl, &st);
        LOG_I("daemon", "pipeline %s stopped at %s:%llu", pipeline_name(slots[i].pl), st.pos.file,
              (unsigned long long)st.pos.pos);
        pipeline_free(slots[i].pl);
    }
    free(slots);
    free(pls);
    meta_store_close(ms);
    LOG_I("daemon", "cotter stopped");
    log_ring_free(ring);
    config_free(cfg);
    mysql_library_end();
    log_close();
    return exit_code;
}

static int cmd_decode(int argc, char **argv)
{
    bool count = false, show_secrets = false;
    int first = -1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--count") == 0) {
            count = true;
        } else if (strcmp(argv[i], "--show-passwords") == 0) {
            show_secrets = true;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "cotter decode: unknown option '%s'\n\n", argv[i]);
            usage_decode(stderr);
            return EXIT_USAGE;
        } else if (first < 0) {
            first = i;
        }
    }
    if (first < 0) {
        usage_decode(stderr);
        return EXIT_USAGE;
    }
    binlog_print_stats total;
    memset(&total, 0, sizeof(total));
    double t0 = clock_now_s();
    for (int i = first; i < argc; i++) {
        if (argv[i][0] == '-') continue;
        binlog_print_stats st;
        memset(&st, 0, sizeof(st));
        if (binlog_print_file_opts(argv[i], count ? NULL : stdout, show_secrets, &st) != COT_OK) {
            fprintf(stderr, "cotter decode: %s\n", cot_err_msg());
            return 1;
        }
        total.events += st.events;
        total.rows += st.rows;
        total.bytes += st.bytes;
    }
    double dt = clock_now_s() - t0;
    fprintf(count ? stdout : stderr,
            "decoded %llu events, %llu rows, %llu bytes in %.3f s (%.1f MB/s)\n",
            (unsigned long long)total.events, (unsigned long long)total.rows,
            (unsigned long long)total.bytes, dt, dt > 0 ? (double)total.bytes / dt / 1e6 : 0.0);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage_main(stdout);
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("cotter %s\n", COTTER_VERSION);
        return 0;
    }
    if (strcmp(cmd, "run") == 0) {
        if (wants_help(argc - 2, argv + 2)) {
            usage_run(stdout);
            return 0;
        }
        return cmd_run(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "decode") == 0) {
        if (wants_help(argc - 2, argv + 2)) {
            usage_decode(stdout);
            return 0;
        }
        return cmd_decode(argc - 2, argv + 2);
    }
    if (strcmp(cmd, "check") == 0) return cmd_check(argc - 2, argv + 2);
    if (strcmp(cmd, "repair") == 0) return cmd_repair(argc - 2, argv + 2);
    if (strcmp(cmd, "doctor") == 0) return cmd_doctor(argc - 2, argv + 2);
    if (strcmp(cmd, "status") == 0) return cmd_status(argc - 2, argv + 2);
    if (strcmp(cmd, "channel") == 0) return cmd_channel(argc - 2, argv + 2);
    if (strcmp(cmd, "logs") == 0) return cmd_logs(argc - 2, argv + 2);
    if (strcmp(cmd, "snapshot") == 0) return cmd_snapshot(argc - 2, argv + 2);
    if (strcmp(cmd, "config-doc") == 0) {
        config_write_docs(stdout);
        return 0;
    }
    fprintf(stderr, "cotter: unknown command '%s'\n\n", cmd);
    usage_main(stderr);
    return EXIT_USAGE;
}
