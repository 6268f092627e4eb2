/*
 * A decoder driver over local binlog files: walks a file event by event,
 * follows the FORMAT_DESCRIPTION (checksums), keeps the TABLE_MAPs by table
 * id, decodes every rows event, and either prints events and rows as text
 * or only counts them (the `cotter decode` command and the decode
 * benchmark). Also home of the TABLE_MAP -> cot_table conversion the
 * source reader can share. Single-threaded; no state outside a call.
 */
#ifndef COT_BINLOG_PRINT_H
#define COT_BINLOG_PRINT_H

#include "event/event.h"
#include "source/binlog_event.h"
#include "util/err.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct binlog_print_stats {
    uint64_t events;      /* events read */
    uint64_t rows_events; /* WRITE/UPDATE/DELETE rows events decoded */
    uint64_t rows;        /* row changes decoded */
    uint64_t bytes;       /* bytes of the files, magic included */
} binlog_print_stats;

/* binlog_print_file decodes every event of the binlog file at path. With
 * out != NULL it prints each event and row as text to out; with out == NULL
 * it only decodes and counts. Counts are added to *st (the caller zeroes
 * it once for several files). Errors name the file and the event offset. */
cot_err binlog_print_file(const char *path, FILE *out, binlog_print_stats *st);
/* binlog_print_file_opts is binlog_print_file with a choice: statement
 * text (QUERY, ANNOTATE_ROWS) is printed with its passwords redacted
 * (util/redact.h) unless show_secrets. binlog_print_file redacts. */
cot_err binlog_print_file_opts(const char *path, FILE *out, bool show_secrets,
                               binlog_print_stats *st);

#endif
