/*
 * Status files: DATA_DIR/status/PIPELINE.json, rewritten atomically (write
 * a temp file, rename) so readers never see half a document. Read by
 * `make demo`, scripts and tests until the HTTP API serves the same.
 */
#ifndef COT_STATUS_FILE_H
#define COT_STATUS_FILE_H

#include "pipeline/pipeline.h"
#include "util/buf.h"

/* status_json appends the JSON document for one pipeline to out. */
void status_json(buf *out, const char *channel, const char *pipeline, const pipeline_status *st);
/* status_file_write writes the document to dir/NAME.json; false on failure
 * (cot_err set). */
bool status_file_write(const char *dir, const char *name, const buf *doc);
/* json_str appends s as a JSON string literal. */
void json_str(buf *out, const char *s);

#endif
