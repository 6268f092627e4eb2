/*
 * Unit tests of the configuration loader, the option table and table
 * matching/routing. Each config is written to a file in a temp dir and loaded
 * with config_load; error tests compare FILE:LINE, the key path and the text,
 * and every config carries the password "hunter2", which no message may show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "config/config.h"
#include "config/config_options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECRET "hunter2"

static char tmp_dir[256];
static char cfg_path[512];

static int group_setup(void **state)
{
    snprintf(tmp_dir, sizeof(tmp_dir), "%s/cotter-test-config.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmp_dir)) return -1;
    snprintf(cfg_path, sizeof(cfg_path), "%s/cotter.yaml", tmp_dir);
    return 0;
}

static int group_teardown(void **state)
{
    unlink(cfg_path);
    rmdir(tmp_dir);
    return 0;
}

static void write_cfg(const char *text)
{
    FILE *f = fopen(cfg_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* line_of returns the 1-based line of the first occurrence of needle in text. */
static int line_of(const char *text, const char *needle)
{
    const char *hit = strstr(text, needle);
    assert_non_null(hit);
    int line = 1;
    for (const char *p = text; p < hit; p++) line += *p == '\n';
    return line;
}

static cot_config *load_ok(const char *text)
{
    write_cfg(text);
    cot_config *cfg = NULL;
    cot_err rc = config_load(cfg_path, &cfg);
    if (rc != COT_OK) fail_msg("config_load failed: %s", cot_err_msg());
    assert_non_null(cfg);
    return cfg;
}

/* load_err loads text, expects COT_ERR_CONFIG, checks that the message starts with
 * "FILE:LINE: " followed by want (which may be a prefix of the rest) and that the
 * secret is absent. */
static void load_err_at(const char *text, int line, const char *want)
{
    write_cfg(text);
    cot_config *cfg = NULL;
    cot_err rc = config_load(cfg_path, &cfg);
    assert_int_equal(rc, COT_ERR_CONFIG);
    assert_null(cfg);
    const char *msg = cot_err_msg();
    char head[600];
    snprintf(head, sizeof(head), "%s:%d: ", cfg_path, line);
    if (strncmp(msg, head, strlen(head)) != 0 ||
        strncmp(msg + strlen(head), want, strlen(want)) != 0)
        fail_msg("got:  %s\nwant: %s%s...", msg, head, want);
    if (strstr(msg, SECRET)) fail_msg("secret leaked: %s", msg);
}

/* ---- a full config: every option set, none to its default --------------- */

/* Each scalar option's line ends with "# @PATH", so the table test below can
 * find it. */
static const char full_cfg[] =
    "data_dir: /tmp/cotter-data            # @data_dir\n"
    "# (the manager block is at the end: it has a list of tokens, and this\n"
    "# comment keeps the line numbers that the tests below check)\n"
    "log:\n"
    "  level: DEBUG                        # @log.level\n"
    "  json: yes                           # @log.json\n"
    "  memory_lines: 250                   # @log.memory_lines\n"
    "sources:\n"
    "  shop:\n"
    "    url: \"mysql://repl:" SECRET "@db1:3307\"   # @sources.*.url\n"
    "    server_id: 4294967295             # @sources.*.server_id\n"
    "    connect_timeout: 7s               # @sources.*.connect_timeout\n"
    "    read_timeout: 2m                  # @sources.*.read_timeout\n"
    "    heartbeat: 3                      # @sources.*.heartbeat\n"
    "    max_event_size: 16MB              # @sources.*.max_event_size\n"
    "  crm: { url: \"mariadb://r@db2\", server_id: 7 }\n"
    "targets:\n"
    "  warehouse:\n"
    "    url: \"mariadb://w:" SECRET "@[::1]:3308/wh\"   # @targets.*.url\n"
    "    connect_timeout: 9                # @targets.*.connect_timeout\n"
    "    read_timeout: 1m30s               # @targets.*.read_timeout\n"
    "    write_timeout: 1h                 # @targets.*.write_timeout\n"
    "    ddl_timeout: 6h                   # @targets.*.ddl_timeout\n"
    "channels:\n"
    "  orders:\n"
    "    pipelines:\n"
    "      - name: shop-to-wh              # @channels.*.pipelines[].name\n"
    "        source: shop                  # @channels.*.pipelines[].source\n"
    "        target: warehouse             # @channels.*.pipelines[].target\n"
    "        snapshot: initial             # @channels.*.pipelines[].snapshot\n"
    "        snapshot_load:\n"
    "          parallelism: 3              # @channels.*.pipelines[].snapshot_load.parallelism\n"
    "          chunk_rows: 5000            # @channels.*.pipelines[].snapshot_load.chunk_rows\n"
    "          create_tables: false        # @channels.*.pipelines[].snapshot_load.create_tables\n"
    "          defer_indexes: false        # @channels.*.pipelines[].snapshot_load.defer_indexes\n"
    "        ddl: stop                     # @channels.*.pipelines[].ddl\n"
    "        on_error: skip                # @channels.*.pipelines[].on_error\n"
    "        start:\n"
    "          file: binlog.000042         # @channels.*.pipelines[].start.file\n"
    "          pos: 1234                   # @channels.*.pipelines[].start.pos\n"
    "        batch:\n"
    "          rows: 1500                  # @channels.*.pipelines[].batch.rows\n"
    "          bytes: 4MB                  # @channels.*.pipelines[].batch.bytes\n"
    "          ms: 1s                      # @channels.*.pipelines[].batch.ms\n"
    "          merge: false                # @channels.*.pipelines[].batch.merge\n"
    "        queue:\n"
    "          rows: 5000                  # @channels.*.pipelines[].queue.rows\n"
    "          bytes: 1GiB                 # @channels.*.pipelines[].queue.bytes\n"
    "        retry:\n"
    "          min_ms: 50                  # @channels.*.pipelines[].retry.min_ms\n"
    "          max_ms: 2m                  # @channels.*.pipelines[].retry.max_ms\n"
    "          times: 12                   # @channels.*.pipelines[].retry.times\n"
    "        check:\n"
    "          schedule: 6h                # @channels.*.pipelines[].check.schedule\n"
    "          enabled: false              # @channels.*.pipelines[].check.enabled\n"
    "        load:\n"
    "          parallelism: 8              # @channels.*.pipelines[].load.parallelism\n"
    "          bulk_rows: 0                # @channels.*.pipelines[].load.bulk_rows\n"
    "        dry_run: true                # @channels.*.pipelines[].dry_run\n"
    "        skip_tables: [shop.order_tmp, \"/shop\\\\..*_bak/\"]\n"
    "        tables:\n"
    "          - match: shop.order_*       # @channels.*.pipelines[].tables[].match\n"
    "            to: wh.{table}            # @channels.*.pipelines[].tables[].to\n"
    "            columns: [id, {name: title}, status]\n"
    "            constants: { shard: 3, region: \"${REGION:-eu}\" }\n"
    "            where: status != 'deleted' # @channels.*.pipelines[].tables[].where\n"
    "            on_overflow: skip_row     # @channels.*.pipelines[].tables[].on_overflow\n"
    "            conflict: latest_wins     # @channels.*.pipelines[].tables[].conflict\n"
    "            conflict_column: updated_at # @channels.*.pipelines[].tables[].conflict_column\n"
    "          - match: shop.customers\n"
    "            exclude: [password_hash, ssn]\n"
    "  crm-sync:\n"
    "    alarms:\n"
    "      enabled: false                  # @channels.*.alarms.enabled\n"
    "      delay_warning: 5s               # @channels.*.alarms.delay_warning\n"
    "      delay_critical: 10s             # @channels.*.alarms.delay_critical\n"
    "      stall: 1m                       # @channels.*.alarms.stall\n"
    "      error: false                    # @channels.*.alarms.error\n"
    "      error_after: 3s                 # @channels.*.alarms.error_after\n"
    "      error_rate: 20                  # @channels.*.alarms.error_rate\n"
    "    pipelines:\n"
    "      - name: crm\n"
    "        source: crm\n"
    "        target: warehouse\n"
    "        start: { gtid: \"0-1-55,1-2-3\" }  # @channels.*.pipelines[].start.gtid\n"
    "        tables: [ { match: \"crm.*\" } ]\n"
    "manager:\n"
    "  listen: 0.0.0.0:9090                # @manager.listen\n"
    "  tokens:\n"
    "    - name: ops                       # @manager.tokens[].name\n"
    "      token: \"" SECRET "-admin-0123456789\"  # @manager.tokens[].token\n"
    "      role: ADMIN                     # @manager.tokens[].role\n"
    "    - { name: grafana, token: \"${COTTER_T_UNSET:-read-only-0123456789}\" }\n"
    "  tls:\n"
    "    cert: /etc/cotter/api.crt         # @manager.tls.cert\n"
    "    key: /etc/cotter/api.key          # @manager.tls.key\n"
    "  audit:\n"
    "    max_size: 1MB                     # @manager.audit.max_size\n"
    "    retention: 30d                    # @manager.audit.retention\n"
    "alarms:\n"
    "  enabled: yes                        # @alarms.enabled\n"
    "  delay_warning: 2m                   # @alarms.delay_warning\n"
    "  delay_critical: 10m                 # @alarms.delay_critical\n"
    "  stall: 7m                           # @alarms.stall\n"
    "  error: no                           # @alarms.error\n"
    "  error_after: 45s                    # @alarms.error_after\n"
    "  error_rate: 15                      # @alarms.error_rate\n"
    "  error_window: 2m                    # @alarms.error_window\n"
    "  repeat: 1h                          # @alarms.repeat\n"
    "  history: 77                         # @alarms.history\n"
    "  log: false                          # @alarms.log\n"
    "  webhook:\n"
    "    url: https://hooks.example/x      # @alarms.webhook.url\n"
    "    timeout: 9s                       # @alarms.webhook.timeout\n"
    "    retries: 5                        # @alarms.webhook.retries\n"
    "  command:\n"
    "    run: /usr/local/bin/page-me       # @alarms.command.run\n"
    "    timeout: 20s                      # @alarms.command.timeout\n"
    "  auto_recovery:\n"
    "    enabled: true                     # @alarms.auto_recovery.enabled\n"
    "    max_per_hour: 4                   # @alarms.auto_recovery.max_per_hour\n"
    "check:\n"
    "  schedule: 2d                        # @check.schedule\n"
    "  chunk_time: 250ms                   # @check.chunk_time\n"
    "  max_delay: 30s                      # @check.max_delay\n"
    "  max_rows_per_s: 5000                # @check.max_rows_per_s\n"
    "  max_source_threads: 12              # @check.max_source_threads\n";

static void test_full_config(void **state)
{
    cot_config *cfg = load_ok(full_cfg);
    assert_string_equal(cfg->path, cfg_path);
    assert_string_equal(cfg->data_dir, "/tmp/cotter-data");
    assert_string_equal(cfg->manager_listen, "0.0.0.0:9090");
    assert_true(cfg->manager_listen_set);
    assert_int_equal(cfg->n_manager_tokens, 2);
    assert_string_equal(cfg->manager_tokens[0].name, "ops");
    assert_string_equal(cfg->manager_tokens[0].token, SECRET "-admin-0123456789");
    assert_true(cfg->manager_tokens[0].admin);
    assert_string_equal(cfg->manager_tokens[1].name, "grafana");
    assert_string_equal(cfg->manager_tokens[1].token, "read-only-0123456789");
    assert_false(cfg->manager_tokens[1].admin);
    assert_string_equal(cfg->manager_tls_cert, "/etc/cotter/api.crt");
    assert_string_equal(cfg->manager_tls_key, "/etc/cotter/api.key");
    assert_string_equal(cfg->log_level, "debug");
    assert_true(cfg->log_json);
    assert_int_equal(cfg->log_memory_lines, 250);
    assert_int_equal(cfg->manager_audit_max_size, 1u << 20);
    assert_int_equal(cfg->manager_audit_retention_s, 30 * 86400);
    assert_true(cfg->alarms.rules.enabled);
    assert_int_equal(cfg->alarms.rules.delay_warning_s, 120);
    assert_int_equal(cfg->alarms.rules.delay_critical_s, 600);
    assert_int_equal(cfg->alarms.rules.stall_s, 420);
    assert_false(cfg->alarms.rules.error);
    assert_int_equal(cfg->alarms.rules.error_after_s, 45);
    assert_int_equal(cfg->alarms.rules.error_rate_pct, 15);
    assert_int_equal(cfg->alarms.error_window_s, 120);
    assert_int_equal(cfg->alarms.repeat_s, 3600);
    assert_int_equal(cfg->check_schedule_s, 2 * 86400);
    assert_int_equal(cfg->check_chunk_time_ms, 250);
    assert_int_equal(cfg->check_max_delay_s, 30);
    assert_int_equal(cfg->check_max_rows_per_s, 5000);
    assert_int_equal(cfg->check_max_source_threads, 12);
    assert_int_equal(cfg->alarms.history, 77);
    assert_false(cfg->alarms.log);
    assert_string_equal(cfg->alarms.webhook_url, "https://hooks.example/x");
    assert_int_equal(cfg->alarms.webhook_timeout_s, 9);
    assert_int_equal(cfg->alarms.webhook_retries, 5);
    assert_string_equal(cfg->alarms.command, "/usr/local/bin/page-me");
    assert_int_equal(cfg->alarms.command_timeout_s, 20);
    assert_true(cfg->alarms.auto_recovery);
    assert_int_equal(cfg->alarms.auto_recovery_max_per_hour, 4);
    /* orders takes the top-level rules; crm-sync overrides every one */
    assert_int_equal(cfg->channels[0].alarms.delay_warning_s, 120);
    assert_false(cfg->channels[0].alarms.error);
    assert_false(cfg->channels[1].alarms.enabled);
    assert_int_equal(cfg->channels[1].alarms.delay_warning_s, 5);
    assert_int_equal(cfg->channels[1].alarms.delay_critical_s, 10);
    assert_int_equal(cfg->channels[1].alarms.stall_s, 60);
    assert_int_equal(cfg->channels[1].alarms.error_after_s, 3);
    assert_int_equal(cfg->channels[1].alarms.error_rate_pct, 20);

    assert_int_equal(cfg->n_sources, 2);
    cfg_endpoint *shop = &cfg->sources[0];
    assert_string_equal(shop->name, "shop");
    assert_int_equal(shop->line, 9);
    assert_string_equal(shop->url.scheme, "mysql");
    assert_string_equal(shop->url.user, "repl");
    assert_string_equal(shop->url.password, SECRET);
    assert_string_equal(shop->url.host, "db1");
    assert_int_equal(shop->url.port, 3307);
    assert_string_equal(shop->url.redacted, "mysql://repl:***@db1:3307");
    assert_int_equal(shop->server_id, 4294967295u);
    assert_int_equal(shop->connect_timeout_s, 7);
    assert_int_equal(shop->read_timeout_s, 120);
    assert_int_equal(shop->heartbeat_s, 3);
    assert_int_equal(shop->max_event_size, 16u << 20);
    cfg_endpoint *crm = &cfg->sources[1];
    assert_string_equal(crm->name, "crm");
    assert_string_equal(crm->url.scheme, "mariadb");
    assert_int_equal(crm->server_id, 7);
    assert_int_equal(crm->connect_timeout_s, 5);

    assert_int_equal(cfg->n_targets, 1);
    cfg_endpoint *wh = &cfg->targets[0];
    assert_string_equal(wh->name, "warehouse");
    assert_string_equal(wh->url.host, "::1");
    assert_int_equal(wh->url.port, 3308);
    assert_string_equal(wh->url.path, "wh");
    assert_int_equal(wh->connect_timeout_s, 9);
    assert_int_equal(wh->read_timeout_s, 90);
    assert_int_equal(wh->write_timeout_s, 3600);
    assert_int_equal(wh->ddl_timeout_s, 6 * 3600);

    assert_int_equal(cfg->n_channels, 2);
    cfg_channel *ch = &cfg->channels[0];
    assert_string_equal(ch->name, "orders");
    assert_int_equal(ch->n_pipelines, 1);
    cfg_pipeline *pl = &ch->pipelines[0];
    assert_string_equal(pl->name, "shop-to-wh");
    assert_int_equal(pl->line, line_of(full_cfg, "- name: shop-to-wh"));
    assert_string_equal(pl->source_name, "shop");
    assert_ptr_equal(pl->source, shop);
    assert_string_equal(pl->target_name, "warehouse");
    assert_ptr_equal(pl->target, wh);
    assert_int_equal(pl->snapshot, SNAPSHOT_INITIAL);
    assert_int_equal(pl->snapshot_parallelism, 3);
    assert_int_equal(pl->snapshot_chunk_rows, 5000);
    assert_false(pl->snapshot_create_tables);
    assert_int_equal(pl->ddl, CFG_DDL_STOP);
    assert_true(pl->on_error_skip);
    assert_string_equal(pl->start_file, "binlog.000042");
    assert_int_equal(pl->start_pos, 1234);
    assert_null(pl->start_gtid);
    assert_int_equal(pl->batch_rows, 1500);
    assert_int_equal(pl->batch_bytes, 4u << 20);
    assert_int_equal(pl->batch_ms, 1000);
    assert_false(pl->batch_merge);
    cfg_table_map *tm0 = &pl->tables[0];
    assert_int_equal(tm0->n_columns, 3);
    assert_string_equal(tm0->columns[1], "name");
    assert_string_equal(tm0->columns_as[1], "title");
    assert_string_equal(tm0->columns_as[2], "status");
    assert_int_equal(tm0->n_consts, 2);
    assert_string_equal(tm0->const_names[0], "shard");
    assert_string_equal(tm0->const_values[0], "3");
    assert_string_equal(tm0->const_values[1], "eu");
    assert_string_equal(tm0->where, "status != 'deleted'");
    assert_int_equal(tm0->on_overflow, CFG_OVERFLOW_SKIP_ROW);
    assert_int_equal(tm0->conflict, CFG_CONFLICT_LATEST_WINS);
    assert_string_equal(tm0->conflict_column, "updated_at");
    assert_int_equal(pl->tables[1].on_overflow, CFG_OVERFLOW_STOP);
    assert_int_equal(pl->tables[1].conflict, CFG_CONFLICT_SOURCE_WINS);
    assert_null(pl->tables[1].conflict_column);
    assert_int_equal(pl->tables[1].n_exclude, 2);
    assert_string_equal(pl->tables[1].exclude[1], "ssn");
    assert_null(pl->tables[1].where);
    assert_int_equal(pl->n_skip_tables, 2);
    assert_true(pl->dry_run);
    assert_string_equal(pl->skip_tables[1], "/shop\\..*_bak/");
    assert_int_equal(pl->queue_rows, 5000);
    assert_int_equal(pl->queue_bytes, 1u << 30);
    assert_int_equal(pl->retry_min_ms, 50);
    assert_int_equal(pl->retry_max_ms, 120000);
    assert_int_equal(pl->retry_times, 12);
    assert_int_equal(pl->check_schedule_s, 6 * 3600);
    assert_false(pl->check_enabled);
    assert_int_equal(pl->load_parallelism, 8);
    assert_int_equal(pl->load_bulk_rows, 0);
    assert_false(pl->snapshot_defer_indexes);
    assert_int_equal(pl->n_tables, 2);
    assert_string_equal(pl->tables[0].match, "shop.order_*");
    assert_string_equal(pl->tables[0].to, "wh.{table}");
    assert_int_equal(pl->tables[0].line, line_of(full_cfg, "- match: shop.order_*"));
    assert_string_equal(pl->tables[1].match, "shop.customers");
    assert_null(pl->tables[1].to);

    cfg_pipeline *p2 = &cfg->channels[1].pipelines[0];
    assert_string_equal(cfg->channels[1].name, "crm-sync");
    assert_ptr_equal(p2->source, crm);
    assert_null(p2->start_file);
    assert_int_equal(p2->start_pos, 0);
    assert_string_equal(p2->start_gtid, "0-1-55,1-2-3");
    assert_int_equal(p2->snapshot, SNAPSHOT_NEVER);
    assert_int_equal(p2->snapshot_parallelism, 4); /* defaults */
    assert_int_equal(p2->snapshot_chunk_rows, 20000);
    assert_true(p2->snapshot_create_tables);
    assert_int_equal(p2->ddl, CFG_DDL_APPLY);
    config_free(cfg);
}

static const char min_cfg[] =
    "sources:\n"
    "  shop: { url: \"mysql://root:" SECRET "@127.0.0.1:3306\", server_id: 6001 }\n"
    "targets:\n"
    "  warehouse: { url: \"mysql://root@127.0.0.1:3307\" }\n"
    "channels:\n"
    "  orders:\n"
    "    pipelines:\n"
    "      - name: shop-to-warehouse\n"
    "        source: shop\n"
    "        target: warehouse\n"
    "        tables:\n"
    "          - match: shop.*\n";

static void test_defaults(void **state)
{
    cot_config *cfg = load_ok(min_cfg);
    assert_string_equal(cfg->data_dir, "./var");
    assert_string_equal(cfg->manager_listen, "127.0.0.1:8080");
    assert_false(cfg->manager_listen_set);
    assert_int_equal(cfg->n_manager_tokens, 0);
    assert_null(cfg->manager_tls_cert);
    assert_null(cfg->manager_tls_key);
    assert_string_equal(cfg->log_level, "info");
    assert_false(cfg->log_json);
    /* the scheduled check is on by default: daily, throttled (issue 18) */
    assert_int_equal(cfg->check_schedule_s, 86400);
    assert_int_equal(cfg->check_max_rows_per_s, 20000);
    assert_int_equal(cfg->check_max_source_threads, 32);
    assert_int_equal(cfg->check_max_delay_s, 10);
    cfg_endpoint *src = &cfg->sources[0], *dst = &cfg->targets[0];
    assert_int_equal(src->server_id, 6001);
    assert_int_equal(src->connect_timeout_s, 5);
    assert_int_equal(src->read_timeout_s, 30);
    assert_int_equal(src->write_timeout_s, 30);
    assert_int_equal(src->heartbeat_s, 1);
    assert_int_equal(src->max_event_size, 1u << 30);
    assert_int_equal(dst->connect_timeout_s, 5);
    assert_int_equal(dst->read_timeout_s, 30);
    assert_int_equal(dst->write_timeout_s, 30);
    assert_int_equal(dst->ddl_timeout_s, 86400);
    assert_string_equal(dst->url.password, "");
    cfg_pipeline *pl = &cfg->channels[0].pipelines[0];
    assert_int_equal(pl->snapshot, SNAPSHOT_NEVER);
    assert_int_equal(pl->ddl, CFG_DDL_APPLY);
    assert_false(pl->on_error_skip);
    assert_null(pl->start_file);
    assert_null(pl->start_gtid);
    assert_int_equal(pl->start_pos, 0);
    assert_int_equal(pl->batch_rows, 2000);
    assert_int_equal(pl->batch_bytes, 8u << 20);
    assert_int_equal(pl->batch_ms, 200);
    assert_true(pl->batch_merge);
    assert_true(pl->check_enabled);
    assert_false(pl->dry_run);
    assert_int_equal(pl->queue_rows, 10000);
    assert_int_equal(pl->queue_bytes, 16u << 20);
    assert_int_equal(pl->retry_min_ms, 200);
    assert_int_equal(pl->retry_max_ms, 30000);
    assert_int_equal(pl->retry_times, 0);
    assert_int_equal(pl->load_parallelism, 1);
    assert_int_equal(pl->n_tables, 1);
    assert_null(pl->tables[0].to);
    config_free(cfg);
}

/* concrete_path turns an option pattern into the path full_cfg uses. */
static void concrete_path(const char *pattern, char *out, size_t cap)
{
    static const struct {
        const char *from, *to;
    } subst[] = {{"sources.*", "sources.shop"},
                 {"targets.*", "targets.warehouse"},
                 {"channels.*", "channels.orders"},
                 {"[]", "[0]"}};
    char tmp[512];
    snprintf(out, cap, "%s", pattern);
    for (size_t i = 0; i < sizeof(subst) / sizeof(subst[0]); i++) {
        char *hit;
        while ((hit = strstr(out, subst[i].from))) {
            snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)(hit - out), out, subst[i].to,
                     hit + strlen(subst[i].from));
            snprintf(out, cap, "%s", tmp);
        }
    }
}

/* Every scalar option in the table is read by the loader at its path: full_cfg
 * sets each (tagged "# @PATH"); replacing that value by a list must be reported
 * at that line and key. A new row that the loader ignores fails here. */
static void test_every_option_is_read(void **state)
{
    int n_checked = 0;
    for (size_t i = 0; i < config_n_options; i++) {
        const copt *o = &config_options[i];
        if (o->type == COPT_BLOCK || o->type == COPT_MAP || o->type == COPT_LIST) continue;
        if (o->flags & COPT_PLANNED) continue;
        char tag[300];
        snprintf(tag, sizeof(tag), "# @%s\n", o->path);
        const char *hit = strstr(full_cfg, tag);
        if (!hit) fail_msg("full_cfg does not set option %s", o->path);
        const char *bol = hit;
        while (bol > full_cfg && bol[-1] != '\n') bol--;
        char key_colon[64];
        snprintf(key_colon, sizeof(key_colon), "%s:", copt_key(o));
        const char *key_at = strstr(bol, key_colon);
        assert_true(key_at && key_at < hit);
        const char *val = key_at + strlen(key_colon);
        /* in a flow mapping ("start: { gtid: ... }") the value ends at the '}' */
        const char *val_end = memchr(bol, '{', (size_t)(key_at - bol)) ? strchr(val, '}') : hit;
        char text[sizeof(full_cfg) + 64];
        snprintf(text, sizeof(text), "%.*s [1, 2] %s", (int)(val - full_cfg), full_cfg, val_end);
        char path[512], want[600];
        concrete_path(o->path, path, sizeof(path));
        if (strncmp(o->path, "channels.", 9) == 0 && hit > strstr(full_cfg, "  crm-sync:")) {
            /* the tag is in the second channel */
            char rest[512];
            snprintf(rest, sizeof(rest), "%s", path + strlen("channels.orders"));
            snprintf(path, sizeof(path), "channels.crm-sync%s", rest);
        }
        snprintf(want, sizeof(want), "%s: expected ", path);
        load_err_at(text, line_of(full_cfg, tag), want);
        const char *msg = cot_err_msg();
        assert_string_equal(msg + strlen(msg) - strlen(", got a list"), ", got a list");
        n_checked++;
    }
    assert_true(n_checked >= 29);
}

/* Every default in the table parses with its own type's parser and lies within
 * its bounds. */
static void test_table_defaults_valid(void **state)
{
    for (size_t i = 0; i < config_n_options; i++) {
        const copt *o = &config_options[i];
        char why[256];
        uint64_t v = 0;
        bool b;
        assert_non_null(o->desc);
        assert_true(strlen(o->desc) > 5);
        if (o->type == COPT_ENUM || o->type == COPT_URL) assert_non_null(o->values);
        if (!o->def) continue;
        switch (o->type) {
        case COPT_UINT:
            assert_true(copt_parse_uint(o->def, &v, why, sizeof(why)));
            break;
        case COPT_SIZE:
            assert_true(copt_parse_size(o->def, &v, why, sizeof(why)));
            break;
        case COPT_DURATION:
            assert_true(copt_parse_duration(o->def, o->unit_ms, &v, why, sizeof(why)));
            assert_int_equal(v % o->unit_ms, 0);
            break;
        case COPT_BOOL:
            assert_true(copt_parse_bool(o->def, &b, why, sizeof(why)));
            break;
        case COPT_ENUM:
            assert_true(copt_enum_index(o->values, o->def) >= 0);
            break;
        default:
            break;
        }
        if (o->min || o->max) {
            if (v < o->min || v > o->max) fail_msg("default of %s out of bounds", o->path);
        }
    }
}

static void test_value_parsers(void **state)
{
    char why[256];
    uint64_t v;
    assert_true(copt_parse_size("64MB", &v, why, sizeof(why)));
    assert_int_equal(v, 64ull << 20);
    assert_true(copt_parse_size("512KB", &v, why, sizeof(why)));
    assert_int_equal(v, 512ull << 10);
    assert_true(copt_parse_size("1GiB", &v, why, sizeof(why)));
    assert_int_equal(v, 1ull << 30);
    assert_true(copt_parse_size("100", &v, why, sizeof(why)));
    assert_int_equal(v, 100);
    assert_true(copt_parse_size("2 m", &v, why, sizeof(why)));
    assert_int_equal(v, 2ull << 20);
    assert_false(copt_parse_size("64XB", &v, why, sizeof(why)));
    assert_string_equal(why, "expected a size like 512KB, 64MB or 1GiB, got '64XB'");
    assert_false(copt_parse_size("99999999999TB", &v, why, sizeof(why)));
    assert_false(copt_parse_size("MB", &v, why, sizeof(why)));

    assert_true(copt_parse_duration("200ms", 1000, &v, why, sizeof(why)));
    assert_int_equal(v, 200);
    assert_true(copt_parse_duration("5s", 1, &v, why, sizeof(why)));
    assert_int_equal(v, 5000);
    assert_true(copt_parse_duration("1m", 1, &v, why, sizeof(why)));
    assert_int_equal(v, 60000);
    assert_true(copt_parse_duration("1h30m", 1, &v, why, sizeof(why)));
    assert_int_equal(v, 5400000);
    assert_true(copt_parse_duration("7", 1000, &v, why, sizeof(why)));
    assert_int_equal(v, 7000);
    assert_true(copt_parse_duration("7", 1, &v, why, sizeof(why)));
    assert_int_equal(v, 7);
    assert_false(copt_parse_duration("5x", 1, &v, why, sizeof(why)));
    assert_false(copt_parse_duration("s", 1, &v, why, sizeof(why)));
    assert_false(copt_parse_duration("5s3", 1, &v, why, sizeof(why)));
    assert_false(copt_parse_duration("-5s", 1, &v, why, sizeof(why)));

    assert_true(copt_parse_uint("18446744073709551615", &v, why, sizeof(why)));
    assert_int_equal(v, UINT64_MAX);
    assert_false(copt_parse_uint("18446744073709551616", &v, why, sizeof(why)));
    assert_string_equal(why, "'18446744073709551616' is too large");
    assert_false(copt_parse_uint("-1", &v, why, sizeof(why)));
    assert_string_equal(why, "expected a number >= 0, got '-1'");
    assert_false(copt_parse_uint("12abc", &v, why, sizeof(why)));
    assert_string_equal(why, "expected a number, got '12abc'");

    bool b = false;
    assert_true(copt_parse_bool("On", &b, why, sizeof(why)));
    assert_true(b);
    assert_true(copt_parse_bool("false", &b, why, sizeof(why)));
    assert_false(b);
    assert_false(copt_parse_bool("maybe", &b, why, sizeof(why)));

    char out[32];
    copt_format_duration(90000, out, sizeof(out));
    assert_string_equal(out, "90s");
    copt_format_duration(3600000, out, sizeof(out));
    assert_string_equal(out, "1h");
    copt_format_size(64ull << 20, out, sizeof(out));
    assert_string_equal(out, "64MB");
    copt_format_size(1500, out, sizeof(out));
    assert_string_equal(out, "1500B");
}

/* ---- environment expansion -------------------------------------------- */

static void test_env_expansion(void **state)
{
    setenv("COTTER_T_PW", SECRET, 1);
    setenv("COTTER_T_SID", "6002", 1);
    setenv("COTTER_T_EMPTY", "", 1);
    unsetenv("COTTER_T_UNSET");
    cot_config *cfg = load_ok("data_dir: \"/d/${COTTER_T_UNSET:-fallback}/$${NOT_EXPANDED}/$x\"\n"
                              "manager: { listen: \"${COTTER_T_EMPTY:-127.0.0.1:81}\" }\n"
                              "sources:\n"
                              "  shop:\n"
                              "    url: \"mysql://repl:${COTTER_T_PW}@h${COTTER_T_EMPTY}:1\"\n"
                              "    server_id: ${COTTER_T_SID}\n"
                              "targets: { wh: { url: \"mysql://h:2\" } }\n"
                              "channels:\n"
                              "  c: { pipelines: [ { name: p, source: shop, target: wh,\n"
                              "                      tables: [ { match: a.b } ] } ] }\n");
    assert_string_equal(cfg->data_dir, "/d/fallback/${NOT_EXPANDED}/$x");
    assert_string_equal(cfg->manager_listen, "127.0.0.1:81");
    assert_string_equal(cfg->sources[0].url.password, SECRET);
    assert_string_equal(cfg->sources[0].url.host, "h");
    assert_string_equal(cfg->sources[0].url.redacted, "mysql://repl:***@h:1");
    assert_int_equal(cfg->sources[0].server_id, 6002);
    config_free(cfg);
}

static void test_env_errors(void **state)
{
    unsetenv("SHOP_PW");
    const char *text = "sources:\n"
                       "  shop:\n"
                       "    url: \"mysql://repl:${SHOP_PW}@127.0.0.1:3306\"\n"
                       "    server_id: 1\n"
                       "targets: { wh: { url: \"mysql://h:2\" } }\n"
                       "channels: { c: { pipelines: [ { name: p, source: shop, target: wh, "
                       "tables: [ { match: a.b } ] } ] } }\n";
    load_err_at(text, 3, "sources.shop.url: ${SHOP_PW} is not set in the environment");

    load_err_at("data_dir: \"${UNCLOSED\"\n", 1,
                "data_dir: '${' has no closing '}': write ${NAME}, or $${ for a literal ${");
    load_err_at("data_dir: x\nlog: { level: \"${1BAD}\" }\n", 2,
                "log.level: '${1BAD}' is not a variable name");
}

/* ---- errors ------------------------------------------------------------ */

static void test_error_unknown_key(void **state)
{
    /* the message of the design brief, line for line */
    const char *text = "sources:\n"
                       "  shop: { url: \"mysql://u:" SECRET "@h:1\", server_id: 1 }\n"
                       "targets: { warehouse: { url: \"mysql://h:2\" } }\n"
                       "channels:\n"
                       "  orders:\n"
                       "    pipelines:\n"
                       "      - sourse: shop\n"
                       "        name: p\n";
    load_err_at(text, 7,
                "channels.orders.pipelines[0]: unknown key 'sourse' (did you mean "
                "'source'?)");
    /* nothing close: list what is allowed */
    load_err_at("logging: {}\n", 1,
                "unknown key 'logging': expected one of data_dir, manager, log, alarms, check, "
                "sources, targets, channels");
    /* a typo at top level */
    load_err_at("data_dir: x\nsoruces: {}\n", 2, "unknown key 'soruces' (did you mean 'sources'?)");
    /* a key inside a source */
    load_err_at("sources:\n  shop:\n    url: \"mysql://u:" SECRET "@h\"\n    serverid: 3\n", 4,
                "sources.shop: unknown key 'serverid' (did you mean 'server_id'?)");
    /* a list item row is not a key */
    load_err_at("sources: { s: { url: \"mysql://h\", server_id: 1 } }\n"
                "targets: { t: { url: \"mysql://h\" } }\n"
                "channels:\n  c:\n    pipelines[]: {}\n",
                5, "channels.c: unknown key 'pipelines[]'");
    /* column selection mistakes */
    const char *col_cases[][2] = {
        {"            columns: [id]\n            exclude: [x]\n",
         "channels.orders.pipelines[0].tables[0].exclude: give either columns"},
        {"            columns: [id, ID]\n",
         "channels.orders.pipelines[0].tables[0].columns[1]: column 'ID' is listed twice"},
        {"            columns: [a, {b: a}]\n",
         "channels.orders.pipelines[0].tables[0].columns[1]: two columns would be called 'a'"},
        {"            columns: id\n",
         "channels.orders.pipelines[0].tables[0].columns: expected a list of column names"},
        {"            columns: [id, {a: b, c: d}]\n",
         "channels.orders.pipelines[0].tables[0].columns[1]: expected a column name or"},
        {"            columns: [id]\n            constants: { id: 1 }\n",
         "channels.orders.pipelines[0].tables[0].constants.id: 'id' is both a copied column"},
        {"        skip_tables: [\"/shop(/\"]\n",
         "channels.orders.pipelines[0].skip_tables[0]: '/shop(/' is not a valid regular"},
        {"            constants: [1]\n",
         "channels.orders.pipelines[0].tables[0].constants: expected a mapping of column: value"},
    };
    for (size_t i = 0; i < sizeof(col_cases) / sizeof(col_cases[0]); i++) {
        char *t = NULL;
        size_t n = 0;
        FILE *m = open_memstream(&t, &n);
        fprintf(m, "%s%s", min_cfg, col_cases[i][0]);
        fclose(m);
        write_cfg(t);
        cot_config *cfg = NULL;
        assert_int_equal(config_load(cfg_path, &cfg), COT_ERR_CONFIG);
        assert_null(cfg);
        if (!strstr(cot_err_msg(), col_cases[i][1]))
            fail_msg("case %zu: '%s' not in '%s'", i, col_cases[i][1], cot_err_msg());
        free(t);
    }
}

static void test_error_undefined_endpoint(void **state)
{
    const char *text = "sources:\n"
                       "  shop: { url: \"mysql://u:" SECRET "@h:1\", server_id: 1 }\n"
                       "targets: { warehouse: { url: \"mysql://h:2\" } }\n"
                       "channels:\n"
                       "  orders:\n"
                       "    pipelines:\n"
                       "      - name: p\n"
                       "        target: warehouse\n"
                       "        source: shpo\n"
                       "        tables: [ { match: a.b } ]\n";
    load_err_at(text, 9,
                "channels.orders.pipelines[0].source: 'shpo' is not defined under sources "
                "(defined: shop)");
    const char *text2 = "sources:\n"
                        "  a: { url: \"mysql://h:1\", server_id: 1 }\n"
                        "  b: { url: \"mysql://h:1\", server_id: 2 }\n"
                        "targets: { warehouse: { url: \"mysql://h:2\" } }\n"
                        "channels:\n"
                        "  orders:\n"
                        "    pipelines:\n"
                        "      - { name: p, source: a, target: wh, tables: [ { match: a.b } ] }\n";
    load_err_at(text2, 8,
                "channels.orders.pipelines[0].target: 'wh' is not defined under targets "
                "(defined: warehouse)");
}

static void test_error_bad_url(void **state)
{
    load_err_at("sources:\n  shop:\n    url: mysql//x\n", 3,
                "sources.shop.url: 'mysql//x' is not a URL: expected "
                "scheme://user:password@host:port");
    /* the password is masked even when the URL is broken */
    load_err_at("sources:\n  shop:\n    url: \"mysql//u:" SECRET "@h\"\n", 3,
                "sources.shop.url: 'mysql//u:***@h' is not a URL");
    load_err_at("sources:\n  shop:\n    url: \"mysql://u:" SECRET "@h:99999\"\n", 3,
                "sources.shop.url: 'mysql://u:***@h:99999' has a port that is not a number "
                "in 1..65535");
    load_err_at("sources:\n  shop:\n    url: \"postgresql://u:" SECRET "@h/db\"\n", 3,
                "sources.shop.url: 'postgresql://u:***@h/db': scheme 'postgresql://' is not "
                "supported for sources yet: only mysql:// and mariadb:// are implemented");
    load_err_at("sources: { s: { url: \"mysql://h\", server_id: 1 } }\n"
                "targets:\n  wh:\n    url: \"kafka://b1:9092/x\"\n",
                4,
                "targets.wh.url: 'kafka://b1:9092/x': scheme 'kafka://' is not supported "
                "for targets yet");
    load_err_at("sources:\n  shop:\n    url: \"mysql://u:" SECRET "@/db\"\n", 3,
                "sources.shop.url: 'mysql://u:***@/db' has no host");
    load_err_at("sources:\n  shop:\n    url:\n    server_id: 1\n", 3,
                "sources.shop.url: is empty: expected a URL");
}

static void test_error_missing_required(void **state)
{
    load_err_at("sources:\n  shop:\n    url: \"mysql://u:" SECRET "@h\"\n", 3,
                "sources.shop: missing required key 'server_id' (Replica server id");
    load_err_at("sources: { s: { url: \"mysql://h\", server_id: 1 } }\n"
                "targets: { t: { url: \"mysql://h\" } }\n",
                1, "missing required key 'channels'");
    load_err_at("sources: { s: { url: \"mysql://h\", server_id: 1 } }\n"
                "targets: { t: { url: \"mysql://h\" } }\n"
                "channels:\n"
                "  c:\n"
                "    pipelines:\n"
                "      - name: p\n"
                "        source: s\n"
                "        target: t\n",
                6, "channels.c.pipelines[0]: missing required key 'tables'");
    load_err_at("sources: { s: { url: \"mysql://h\", server_id: 1 } }\n"
                "targets: { t: { url: \"mysql://h\" } }\n"
                "channels:\n"
                "  c:\n"
                "    pipelines:\n"
                "      - name: p\n"
                "        source: s\n"
                "        target: t\n"
                "        tables: [ { to: x.y } ]\n",
                9, "channels.c.pipelines[0].tables[0]: missing required key 'match'");
}

static void test_error_types_and_ranges(void **state)
{
    char text[2048];
    struct {
        const char *line; /* replaces "        tables:" context: a line added to the pipeline */
        const char *want;
    } cases[] = {
        {"        batch: { rows: abc }", "channels.orders.pipelines[0].batch.rows: expected a "
                                         "number, got 'abc'"},
        {"        batch: { rows: 0 }", "channels.orders.pipelines[0].batch.rows: '0' is out of "
                                       "range: expected 1..1000000"},
        {"        batch: { bytes: 8 parsecs }", "channels.orders.pipelines[0].batch.bytes: "
                                                "expected a size like 512KB, 64MB or 1GiB, got "
                                                "'8 parsecs'"},
        {"        batch: { bytes: 2GB }", "channels.orders.pipelines[0].batch.bytes: '2GB' is "
                                          "out of range: expected 1KB..1GB"},
        {"        batch: { ms: soon }", "channels.orders.pipelines[0].batch.ms: expected a "
                                        "duration like 200ms, 5s, 1m or 1h, got 'soon'"},
        {"        retry: { min_ms: 5 }", "channels.orders.pipelines[0].retry.min_ms: '5' is "
                                         "out of range: expected 10ms..1h"},
        {"        retry: { min_ms: 2s, max_ms: 1s }", "channels.orders.pipelines[0].retry: "
                                                      "max_ms (1s) is smaller than min_ms (2s)"},
        {"        snapshot: initail", "channels.orders.pipelines[0].snapshot: 'initail' is not "
                                      "one of initial, never (did you mean 'initial'?)"},
        {"        snapshot: [initial]", "channels.orders.pipelines[0].snapshot: expected one "
                                        "of initial, never, got a list"},
        {"        ddl: aply", "channels.orders.pipelines[0].ddl: 'aply' is not one of apply, "
                              "ignore, stop (did you mean 'apply'?)"},
        {"        batch: 5", "channels.orders.pipelines[0].batch: expected a mapping (key: "
                             "value), got a value"},
        {"        start: { file: b.1, gtid: 0-1-2 }", "channels.orders.pipelines[0].start: "
                                                      "give either file (and pos) or gtid"},
        {"        start: { pos: 100 }", "channels.orders.pipelines[0].start: pos needs file"},
        {"        start: { file: b.1, pos: 3 }", "channels.orders.pipelines[0].start.pos: '3' "
                                                 "is out of range: expected 4.."},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* insert the line right after "target: warehouse" */
        const char *at = strstr(min_cfg, "        tables:");
        snprintf(text, sizeof(text), "%.*s%s\n%s", (int)(at - min_cfg), min_cfg, cases[i].line, at);
        load_err_at(text, line_of(text, cases[i].line), cases[i].want);
    }

    load_err_at("sources:\n  shop:\n    url: \"mysql://h\"\n    server_id: 0\n", 4,
                "sources.shop.server_id: '0' is out of range: expected 1..4294967295");
    load_err_at("sources:\n  shop:\n    url: \"mysql://h\"\n    server_id: 4294967296\n", 4,
                "sources.shop.server_id: '4294967296' is out of range");
    load_err_at("sources:\n  shop:\n    url: \"mysql://h\"\n    server_id: x1\n", 4,
                "sources.shop.server_id: expected a number, got 'x1'");
    load_err_at("sources:\n  shop:\n    url: \"mysql://h\"\n    server_id: 1\n"
                "    connect_timeout: 1500ms\n",
                5, "sources.shop.connect_timeout: '1500ms' is not a whole number of seconds");
    load_err_at("sources:\n  shop:\n    url: \"mysql://h\"\n    server_id: 1\n"
                "    heartbeat: 30s\n",
                5, "sources.shop: heartbeat (30s) must be shorter than read_timeout (30s)");
    load_err_at("log:\n  json: perhaps\n", 2, "log.json: expected true or false, got 'perhaps'");
    load_err_at("manager: { listen: localhost }\n", 1,
                "manager.listen: 'localhost' is not host:port");
    load_err_at("manager: { listen: \"h:0\" }\n", 1, "manager.listen: 'h:0' is not host:port");
    load_err_at("manager: { listen: 0.0.0.0:8080 }\n", 1,
                "manager.listen: '0.0.0.0:8080' is not a loopback address and manager.tokens "
                "is empty");
    load_err_at("manager: { listen: \"128.0.0.1:8080\", tokens: [] }\n", 1,
                "manager.listen: '128.0.0.1:8080' is not a loopback address");
    load_err_at("manager:\n  tokens:\n    - { name: a, token: " SECRET " }\n", 3,
                "manager.tokens[0].token: the token (not shown) has 7 characters: expected 16 "
                "to 256");
    load_err_at("manager:\n  tokens:\n    - { name: a, token: \"" SECRET " 0123456789\" }\n", 3,
                "manager.tokens[0].token: the token (not shown) has 18 characters, some not "
                "printable");
    load_err_at("manager:\n  tokens:\n    - { name: a, token: " SECRET "0123456789 }\n"
                "    - { name: b, token: " SECRET "0123456789 }\n",
                4, "manager.tokens[1].token: the same token as tokens[0] (line 3)");
    load_err_at("manager:\n  tokens:\n    - { name: a, token: " SECRET "0123456789 }\n"
                "    - { name: a, token: " SECRET "9876543210 }\n",
                4, "manager.tokens[1].name: 'a' is already the name of tokens[0] (line 3)");
    load_err_at("manager:\n  tokens:\n    - { name: a, token: " SECRET "0123456789, role: adm }\n",
                3,
                "manager.tokens[0].role: 'adm' is not one of admin, read (did you mean 'admin'?)");
    load_err_at("manager:\n  tokens:\n    - { token: " SECRET "0123456789 }\n", 3,
                "manager.tokens[0]: missing required key 'name'");
    load_err_at("manager:\n  tls: { cert: a.pem }\n", 2, "manager.tls: missing required key 'key'");
    load_err_at("manager:\n  tls: { cert: a.pem, key: b.pem, ca: c.pem }\n", 2,
                "manager.tls: unknown key 'ca'");
    load_err_at("manager:\n  tokens: { a: b }\n", 2,
                "manager.tokens: expected a list of {name: ..., token: ..., role: admin|read}");
    load_err_at("data_dir: [a]\n", 1, "data_dir: expected text, got a list");
    load_err_at("data_dir: \"\"\n", 1, "data_dir: is empty: expected a directory");
    load_err_at("sources: [a, b]\n", 1, "sources: expected a mapping of names to sources");
    load_err_at("sources:\n  \"my shop\": { url: \"mysql://h\", server_id: 1 }\n", 2,
                "sources: source name 'my shop' is not valid");
}

static void test_error_channels_and_tables(void **state)
{
    const char *head = "sources: { s: { url: \"mysql://h\", server_id: 1 } }\n"
                       "targets: { t: { url: \"mysql://h\" } }\n";
    char text[2048];
    snprintf(text, sizeof(text), "%schannels: {}\n", head);
    load_err_at(text, 3, "channels: no channels defined: expected at least one channel");
    snprintf(text, sizeof(text), "%schannels:\n", head);
    load_err_at(text, 3, "channels: no channels defined");
    snprintf(text, sizeof(text), "%schannels:\n  c:\n    pipelines: []\n", head);
    load_err_at(text, 5, "channels.c.pipelines: empty list: expected at least one pipeline");
    snprintf(text, sizeof(text),
             "%schannels:\n  c:\n    pipelines:\n      - name: p\n"
             "        source: s\n        target: t\n        tables: []\n",
             head);
    load_err_at(text, 9, "channels.c.pipelines[0].tables: empty list: expected at least one");

    static const struct {
        const char *match, *want;
    } globs[] = {
        {"orders", "'orders' cannot match any table: expected schema.table"},
        {"shop.", "'shop.' cannot match any table: expected schema.table"},
        {"\".orders\"", "'.orders' cannot match any table: expected schema.table"},
        {"a.b.c", "'a.b.c' cannot match any table: expected schema.table with one '.'"},
        {"\"shop.[ab\"", "'shop.[ab' has a '[' without its ']'"},
    };
    for (size_t i = 0; i < sizeof(globs) / sizeof(globs[0]); i++) {
        snprintf(text, sizeof(text),
                 "%schannels:\n  c:\n    pipelines:\n      - name: p\n"
                 "        source: s\n        target: t\n        tables:\n"
                 "          - match: x.y\n          - match: %s\n",
                 head, globs[i].match);
        char want[512];
        snprintf(want, sizeof(want), "channels.c.pipelines[0].tables[1].match: %s", globs[i].want);
        load_err_at(text, 11, want);
    }
    static const struct {
        const char *to, *want;
    } routes[] = {
        {"warehouse", "'warehouse' is not a schema.table template"},
        {"\"wh.{tabel}\"", "'wh.{tabel}' has an unknown placeholder '{tabel}' (did you mean "
                           "'{table}'?)"},
        {"\"wh.{x}\"", "'wh.{x}' has an unknown placeholder '{x}': expected {schema} or {table}"},
        {"\"wh.{table\"", "'wh.{table' has a '{' without '}'"},
        {"\"wh.t}\"", "'wh.t}' has a '}' without '{'"},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        snprintf(text, sizeof(text),
                 "%schannels:\n  c:\n    pipelines:\n      - name: p\n"
                 "        source: s\n        target: t\n        tables:\n"
                 "          - match: x.y\n            to: %s\n",
                 head, routes[i].to);
        char want[512];
        snprintf(want, sizeof(want), "channels.c.pipelines[0].tables[0].to: %s", routes[i].want);
        load_err_at(text, 11, want);
    }
    /* conflict policies: latest_wins needs its column, the column needs latest_wins */
    snprintf(text, sizeof(text),
             "%schannels:\n  c:\n    pipelines:\n      - name: p\n"
             "        source: s\n        target: t\n        tables:\n"
             "          - match: x.y\n            conflict: latest_wins\n",
             head);
    load_err_at(text, 10,
                "channels.c.pipelines[0].tables[0].conflict_column: conflict: latest_wins needs "
                "conflict_column");
    snprintf(text, sizeof(text),
             "%schannels:\n  c:\n    pipelines:\n      - name: p\n"
             "        source: s\n        target: t\n        tables:\n"
             "          - match: x.y\n            conflict_column: ts\n",
             head);
    load_err_at(text, 11,
                "channels.c.pipelines[0].tables[0].conflict_column: conflict_column is only used "
                "with conflict: latest_wins");
    snprintf(text, sizeof(text),
             "%schannels:\n  c:\n    pipelines:\n      - name: p\n"
             "        source: s\n        target: t\n        tables:\n"
             "          - match: x.y\n            on_overflow: clip\n",
             head);
    load_err_at(text, 11,
                "channels.c.pipelines[0].tables[0].on_overflow: 'clip' is not one of stop, "
                "clamp, null, skip_row");
    /* a plain YAML null is the policy null, not "unset" */
    snprintf(text, sizeof(text),
             "%schannels:\n  c:\n    pipelines:\n      - name: p\n"
             "        source: s\n        target: t\n        tables:\n"
             "          - match: x.y\n            on_overflow: null\n"
             "          - match: x.z\n            on_overflow: \"null\"\n",
             head);
    write_cfg(text);
    cot_config *cfg = NULL;
    assert_int_equal(config_load(cfg_path, &cfg), COT_OK);
    assert_int_equal(cfg->channels[0].pipelines[0].tables[0].on_overflow, CFG_OVERFLOW_NULL);
    assert_int_equal(cfg->channels[0].pipelines[0].tables[1].on_overflow, CFG_OVERFLOW_NULL);
    config_free(cfg);

    snprintf(text, sizeof(text),
             "%schannels:\n"
             "  a:\n"
             "    pipelines:\n"
             "      - { name: dup, source: s, target: t, tables: [ { match: x.y } ] }\n"
             "  b:\n"
             "    pipelines:\n"
             "      - name: other\n"
             "        source: s\n"
             "        target: t\n"
             "        tables: [ { match: x.y } ]\n"
             "      - name: dup\n"
             "        source: s\n"
             "        target: t\n"
             "        tables: [ { match: x.y } ]\n",
             head);
    load_err_at(text, 13,
                "channels.b.pipelines[1].name: pipeline 'dup' is already defined at line 6 "
                "(channels.a.pipelines[0]): pipeline names must be unique across the file");
    snprintf(text, sizeof(text), "%schannels:\n  c:\n    pipelines:\n      - name: \"bad name\"\n",
             head);
    load_err_at(text, 6, "channels.c.pipelines[0].name: pipeline name 'bad name' is not valid");
}

static void test_error_yaml(void **state)
{
    write_cfg("sources:\n  shop: { url: \"mysql://u:" SECRET "@h\"\n  bad: [\n");
    cot_config *cfg = NULL;
    assert_int_equal(config_load(cfg_path, &cfg), COT_ERR_CONFIG);
    char head[600];
    snprintf(head, sizeof(head), "%s:3:", cfg_path);
    assert_memory_equal(cot_err_msg(), head, strlen(head));
    assert_non_null(strstr(cot_err_msg(), ": YAML syntax error: "));
    assert_null(strstr(cot_err_msg(), SECRET));

    write_cfg("a: b\n  c: d\n");
    assert_int_equal(config_load(cfg_path, &cfg), COT_ERR_CONFIG);
    snprintf(head, sizeof(head), "%s:2:4: YAML syntax error: mapping values are not allowed",
             cfg_path);
    assert_memory_equal(cot_err_msg(), head, strlen(head));

    /* duplicate keys are an error, not "last one wins" */
    load_err_at("data_dir: a\nlog: {}\ndata_dir: b\n", 3,
                "duplicate key 'data_dir' (first at line 1): keep only one");
    load_err_at("sources:\n  s: { url: \"mysql://h\", server_id: 1 }\n"
                "  s: { url: \"mysql://h\", server_id: 2 }\n",
                3, "sources: duplicate key 's' (first at line 2)");

    write_cfg("");
    assert_int_equal(config_load(cfg_path, &cfg), COT_ERR_CONFIG);
    snprintf(head, sizeof(head), "%s:1: the file is empty", cfg_path);
    assert_memory_equal(cot_err_msg(), head, strlen(head));
    load_err_at("- a\n- b\n", 1, "the file is a list: expected a mapping");
}

static void test_error_missing_file(void **state)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/nope.yaml", tmp_dir);
    cot_config *cfg = (cot_config *)1;
    assert_int_equal(config_load(path, &cfg), COT_ERR_IO);
    assert_null(cfg);
    assert_non_null(strstr(cot_err_msg(), path));
    assert_non_null(strstr(cot_err_msg(), "No such file"));
}

/* The example in the generated reference is a valid config, and the reference
 * documents every option of the table. */
static void test_docs(void **state)
{
    char *doc = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&doc, &n);
    config_write_docs(m);
    fclose(m);
    for (size_t i = 0; i < config_n_options; i++) {
        const copt *o = &config_options[i];
        if (o->type == COPT_BLOCK) continue;
        char row[128];
        snprintf(row, sizeof(row), "| `%s` | %s", copt_key(o), copt_type_name(o->type));
        if (!strstr(doc, row)) fail_msg("docs miss option %s", o->path);
        if (!strstr(doc, o->desc)) fail_msg("docs miss the description of %s", o->path);
    }
    assert_non_null(strstr(doc, "## `channels.NAME.pipelines[].batch`"));
    assert_non_null(strstr(doc, "| `rows` | uint | `2000` | 1..1000000 |  |"));
    assert_non_null(strstr(doc, "| `url` | url: mysql://, mariadb:// |  |  | required secret |"));
    const char *ex = strstr(doc, "## Full example\n\n```yaml\n");
    assert_non_null(ex);
    ex = strchr(strstr(ex, "```yaml"), '\n') + 1;
    const char *end = strstr(ex, "```");
    assert_non_null(end);
    char *yaml = strndup(ex, (size_t)(end - ex));
    setenv("SHOP_PW", SECRET, 1);
    setenv("WH_PW", "x", 1);
    setenv("COTTER_OPS_TOKEN", SECRET "-ops-0123456789", 1);
    setenv("COTTER_RO_TOKEN", SECRET "-ro-0123456789", 1);
    cot_config *cfg = load_ok(yaml);
    assert_int_equal(cfg->n_channels, 1);
    assert_int_equal(cfg->n_manager_tokens, 2);
    assert_true(cfg->manager_tokens[0].admin);
    assert_false(cfg->manager_tokens[1].admin);
    assert_int_equal(cfg->channels[0].pipelines[0].n_tables, 2);
    config_free(cfg);
    free(yaml);
    free(doc);
}

/* ---- matching and routing --------------------------------------------- */

static void test_glob(void **state)
{
    /* /regex/: POSIX extended, anchored, over schema.table */
    assert_true(table_glob_match("/shop\\.order_[0-9]+/", "shop", "order_12"));
    assert_false(table_glob_match("/shop\\.order_[0-9]+/", "shop", "order_12x"));
    assert_false(table_glob_match("/shop\\.order_[0-9]+/", "myshop", "order_1"));
    assert_true(table_glob_match("/(shop|crm)\\..*_log/", "crm", "access_log"));
    assert_true(table_pattern_is_regex("/a.b/"));
    assert_false(table_pattern_is_regex("a.b"));
    assert_true(table_glob_match("shop.*", "shop", "orders"));
    assert_true(table_glob_match("shop.*", "shop", ""));
    assert_false(table_glob_match("shop.*", "shop2", "orders"));
    assert_false(table_glob_match("shop.*", "Shop", "orders")); /* case-sensitive */
    assert_true(table_glob_match("*.*", "a", "b"));
    assert_true(table_glob_match("shop.order_*", "shop", "order_items"));
    assert_false(table_glob_match("shop.order_*", "shop", "orders"));
    assert_true(table_glob_match("*.orders", "eu", "orders"));
    assert_false(table_glob_match("*.orders", "eu", "orders_old"));
    /* '*' never crosses the '.' */
    assert_false(table_glob_match("shop*", "shop", "orders"));
    assert_false(table_glob_match("s*s", "shop", "orders"));
    assert_false(table_glob_match("*", "a", "b"));
    assert_true(table_glob_match("sh*p.*s", "shop", "orders"));
    assert_true(table_glob_match("shop.o?ders", "shop", "orders"));
    assert_false(table_glob_match("shop.o?ders", "shop", "oders"));
    assert_true(table_glob_match("shop.caf?", "shop", "caf\xc3\xa9")); /* ? is one character */
    assert_true(table_glob_match("shop.t[0-9]", "shop", "t7"));
    assert_false(table_glob_match("shop.t[0-9]", "shop", "tx"));
    assert_true(table_glob_match("shop.t[!0-9]", "shop", "tx"));
    assert_false(table_glob_match("shop.t[!0-9]", "shop", "t1"));
    assert_true(table_glob_match("shop.[ab]x", "shop", "bx"));
    assert_true(table_glob_match("shop.a\\*", "shop", "a*"));
    assert_false(table_glob_match("shop.a\\*", "shop", "ab"));
    assert_true(table_glob_match("my\\.db.t", "my.db", "t"));
    assert_true(table_glob_match("*a*b*.x", "zzazzbzz", "x"));
    assert_false(table_glob_match("*a*b*.x", "zzbzza", "x"));
    assert_false(table_glob_match("a.b.c", "a", "b.c"));
}

static void test_route(void **state)
{
    char s[16], t[16];
    assert_true(table_route(NULL, "shop", "orders", s, sizeof(s), t, sizeof(t)));
    assert_string_equal(s, "shop");
    assert_string_equal(t, "orders");
    assert_true(table_route("warehouse.{table}", "shop", "orders", s, sizeof(s), t, sizeof(t)));
    assert_string_equal(s, "warehouse");
    assert_string_equal(t, "orders");
    assert_true(table_route("{schema}.{table}_copy", "shop", "orders", s, sizeof(s), t, sizeof(t)));
    assert_string_equal(s, "shop");
    assert_string_equal(t, "orders_copy");
    assert_true(table_route("{schema}_bak.x_{table}", "shop", "o", s, sizeof(s), t, sizeof(t)));
    assert_string_equal(s, "shop_bak");
    assert_string_equal(t, "x_o");
    assert_true(table_route("{table}.{schema}", "shop", "o", s, sizeof(s), t, sizeof(t)));
    assert_string_equal(s, "o");
    assert_string_equal(t, "shop");
    /* a '.' inside a substituted name does not split the result */
    assert_true(table_route("{schema}.t", "my.db", "o", s, sizeof(s), t, sizeof(t)));
    assert_string_equal(s, "my.db");
    assert_string_equal(t, "t");

    cot_err_clear();
    assert_false(table_route("warehouse", "shop", "o", s, sizeof(s), t, sizeof(t)));
    assert_int_equal(cot_err_code(), COT_ERR_CONFIG);
    assert_non_null(strstr(cot_err_msg(), "'warehouse' is not schema.table"));
    assert_false(table_route("w.{tabel}", "shop", "o", s, sizeof(s), t, sizeof(t)));
    assert_non_null(strstr(cot_err_msg(), "unknown placeholder '{tabel}'"));
    assert_false(
        table_route("w.{table}_with_a_long_suffix", "shop", "o", s, sizeof(s), t, sizeof(t)));
    assert_non_null(strstr(cot_err_msg(), "longer than 15"));
    assert_false(table_route(NULL, "a_schema_name_too_long", "o", s, sizeof(s), t, sizeof(t)));
    assert_false(table_route("{schema}.{table}", "", "o", s, sizeof(s), t, sizeof(t)));
    assert_non_null(strstr(cot_err_msg(), "empty schema name"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_config),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_option_is_read),
        cmocka_unit_test(test_table_defaults_valid),
        cmocka_unit_test(test_value_parsers),
        cmocka_unit_test(test_env_expansion),
        cmocka_unit_test(test_env_errors),
        cmocka_unit_test(test_error_unknown_key),
        cmocka_unit_test(test_error_undefined_endpoint),
        cmocka_unit_test(test_error_bad_url),
        cmocka_unit_test(test_error_missing_required),
        cmocka_unit_test(test_error_types_and_ranges),
        cmocka_unit_test(test_error_channels_and_tables),
        cmocka_unit_test(test_error_yaml),
        cmocka_unit_test(test_error_missing_file),
        cmocka_unit_test(test_docs),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_route),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
