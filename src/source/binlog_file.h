/*
 * A reader of a local binlog file: the 4-byte magic, then events back to
 * back, each as long as its header's event_size. Yields whole events
 * (header, body, checksum) with their file offset, through one buffer that
 * grows only to the largest event. One reader per thread; not shared.
 */
#ifndef COT_BINLOG_FILE_H
#define COT_BINLOG_FILE_H

#include "util/err.h"

#include <stddef.h>
#include <stdint.h>

typedef struct binlog_file binlog_file;

/* BINLOG_FILE_MAX_EVENT bounds one event (MariaDB/MySQL max_allowed_packet). */
#define BINLOG_FILE_MAX_EVENT ((size_t)1 << 30)

/* binlog_file_open opens path and checks the binlog magic. On success *out
 * is owned by the caller (binlog_file_close). COT_ERR_IO when the file
 * cannot be read, COT_ERR_MALFORMED when it is not a binlog. */
cot_err binlog_file_open(const char *path, binlog_file **out);

/* binlog_file_next yields the next whole event: *ev points into the reader's
 * buffer and stays valid until the next call; *offset is the event's
 * position in the file. Returns COT_ERR_NOT_FOUND at a clean end of file,
 * COT_ERR_MALFORMED for an event cut short or with an impossible size, and
 * COT_ERR_IO on a read error; messages name the file and offset. */
cot_err binlog_file_next(binlog_file *bf, const uint8_t **ev, size_t *len, uint64_t *offset);

/* binlog_file_path returns the path given to open (owned by bf). */
const char *binlog_file_path(const binlog_file *bf);

void binlog_file_close(binlog_file *bf);

#endif
