/*
 * libFuzzer target for the YAML configuration loader: arbitrary documents
 * must load or fail with a message naming the file, never crash or leak.
 */
#include "config/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/cotter-fuzz-config-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    cot_config *cfg = NULL;
    if (config_load(path, &cfg) == COT_OK) config_free(cfg);
    unlink(path);
    return 0;
}
