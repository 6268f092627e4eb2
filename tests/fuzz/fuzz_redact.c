/*
 * libFuzzer target for the password redaction of statement text: any bytes
 * must be read without a crash or a read past the end, the output keeps the
 * unredacted bytes in order (each replaced run is one '<redacted>'), and a
 * text without IDENTIFIED or PASSWORD comes back unchanged.
 */
#include "util/redact.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (!text) return 0;
    memcpy(text, data, size);
    buf out;
    buf_init(&out);
    bool any = redact_secrets(text, size, &out);
    if (!any && (out.len != size || (size && memcmp(out.data, text, size) != 0))) abort();
    if (any && !memmem(out.data, out.len, REDACTED, sizeof(REDACTED) - 1)) abort();
    if (!redact_maybe(text, size) && any) abort();
    if (out.len > size + size * (sizeof(REDACTED) - 1) + 1) abort();
    buf_deinit(&out);
    free(text);
    return 0;
}
