/*
 * libFuzzer target for the MySQL binary JSON converter alone. The first
 * input byte picks the caller's text bound (0: none, else 16 bytes per
 * unit), the rest is one binary JSON value in a heap block of exactly its
 * size. Besides memory errors, it aborts when the text outgrows its bound:
 * JSON_BINARY_TEXT_RATIO bytes per input byte on success, and at most one
 * value's text past the bound on failure (offsets sharing subtrees must not
 * make the text, or the work, exponential).
 * Seeds: tests/fuzz/corpus/fuzz_json_binary (tests/fuzz/make_corpus.py).
 */
#include "source/json_binary.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t max_text = (size_t)data[0] * 16;
    size_t n = size - 1;
    uint8_t *v = malloc(n ? n : 1);
    if (!v) abort();
    if (n) memcpy(v, data + 1, n);
    buf b;
    buf_init(&b);
    cot_err rc = json_binary_to_text(v, n, max_text, &b);
    size_t bound = n * JSON_BINARY_TEXT_RATIO + JSON_BINARY_TEXT_SLACK;
    if (max_text && max_text < bound) bound = max_text;
    if (n == 0) bound = 4; /* "null" */
    /* on failure the last value written may run past the bound by its own
     * text: at most 6 bytes per byte (escaped control characters) */
    size_t slack = rc == COT_OK ? 0 : 8 * n + 128;
    if (b.len > bound + slack) abort();
    if (rc != COT_OK && rc != COT_ERR_MALFORMED) abort();
    buf_deinit(&b);
    free(v);
    return 0;
}
