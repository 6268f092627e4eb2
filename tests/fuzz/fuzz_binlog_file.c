/*
 * libFuzzer target for a whole local binlog file: the input is written to
 * an in-memory file (memfd) and walked by binlog_print_file, which drives
 * binlog_file, the FDE/checksum tracking, the TABLE_MAP cache, the row
 * decoder and the text printer (output to /dev/null). The seed files are
 * fixture prefixes rewritten without checksums (tests/fuzz/make_corpus.py)
 * so mutations reach the parsers instead of stopping at the CRC.
 */
#include "source/binlog_print.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    if (!devnull) devnull = fopen("/dev/null", "w");
    if (!devnull) abort();
    int fd = memfd_create("fuzz-binlog", MFD_CLOEXEC);
    if (fd < 0) abort();
    size_t done = 0;
    while (done < size) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0) abort();
        done += (size_t)n;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    binlog_print_stats st = {0};
    /* print every other input so the text path is covered too */
    (void)binlog_print_file(path, (size & 1) ? devnull : NULL, &st);
    close(fd);
    return 0;
}
