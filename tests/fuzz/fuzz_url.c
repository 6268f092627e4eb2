/*
 * libFuzzer target for the connection URL parser: any bytes must parse or
 * fail with a message, never crash, and a parsed URL's redacted form must
 * parse back to the same URL with the password masked.
 */
#include "config/url.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    cot_url u;
    memset(&u, 0, sizeof(u));
    if (cot_url_parse(text, &u) == COT_OK) {
        /* the redacted form parses back to the same URL with the password masked */
        cot_url r;
        memset(&r, 0, sizeof(r));
        if (cot_url_parse(u.redacted, &r) != COT_OK) abort();
        if (u.password[0] && strcmp(r.password, "***") != 0) abort();
        if (strcmp(r.user, u.user) != 0 || strcmp(r.host, u.host) != 0 || r.port != u.port) abort();
        cot_url_deinit(&r);
        char *v = cot_url_param(&u, "ssl");
        free(v);
        cot_url_deinit(&u);
    }
    free(text);
    return 0;
}
