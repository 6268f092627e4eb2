/*
 * Buffered reading of a local binlog file. The buffer holds [pos, fill) of
 * unread bytes; a read refills it with one read(2) of everything that fits,
 * so a file is read in large sequential chunks. The buffer starts at 1 MiB
 * (or the file's size if smaller) and grows only when one event is larger
 * (up to BINLOG_FILE_MAX_EVENT).
 */
#include "source/binlog_file.h"

#include "source/binlog_event.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BF_INITIAL_CAP ((size_t)1 << 20)

static const uint8_t binlog_magic[4] = {0xfe, 'b', 'i', 'n'};

struct binlog_file {
    int fd;
    char *path;
    uint8_t *buf;
    size_t cap;
    size_t pos;       /* next unread byte in buf */
    size_t fill;      /* bytes valid in buf */
    uint64_t buf_off; /* file offset of buf[0] */
    bool eof;
};

/* bf_fill makes at least `need` unread bytes available if the file has
 * them; returns false only on a read error (message set). */
static bool bf_fill(binlog_file *bf, size_t need)
{
    if (bf->fill - bf->pos >= need) return true;
    if (bf->pos > 0) {
        memmove(bf->buf, bf->buf + bf->pos, bf->fill - bf->pos);
        bf->fill -= bf->pos;
        bf->buf_off += bf->pos;
        bf->pos = 0;
    }
    if (need > bf->cap) {
        /* do not grow for an event the file cannot hold (a corrupt size) */
        struct stat sb;
        if (fstat(bf->fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
            bf->buf_off + need > (uint64_t)sb.st_size)
            return true;
        size_t cap = bf->cap;
        while (cap < need) cap *= 2;
        uint8_t *nb = realloc(bf->buf, cap);
        if (!nb) {
            cot_err_set(COT_ERR_NOMEM, "binlog %s: no memory for a %zu-byte event", bf->path, need);
            return false;
        }
        bf->buf = nb;
        bf->cap = cap;
    }
    while (bf->fill < need && !bf->eof) {
        ssize_t n = read(bf->fd, bf->buf + bf->fill, bf->cap - bf->fill);
        if (n < 0) {
            if (errno == EINTR) continue;
            cot_err_set(COT_ERR_IO, "binlog %s: read failed at offset %llu: %s", bf->path,
                        (unsigned long long)(bf->buf_off + bf->fill), strerror(errno));
            return false;
        }
        if (n == 0) bf->eof = true;
        bf->fill += (size_t)n;
    }
    return true;
}

cot_err binlog_file_open(const char *path, binlog_file **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cot_err_set(COT_ERR_IO, "binlog %s: cannot open: %s", path, strerror(errno));
    /* a small file gets a small buffer; it still grows for a big event */
    size_t cap = BF_INITIAL_CAP;
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size < cap)
        cap = sb.st_size < 64 ? 64 : (size_t)sb.st_size;
    binlog_file *bf = calloc(1, sizeof(*bf));
    char *p = strdup(path);
    uint8_t *b = malloc(cap);
    if (!bf || !p || !b) {
        free(bf);
        free(p);
        free(b);
        close(fd);
        return cot_err_set(COT_ERR_NOMEM, "binlog %s: no memory for the read buffer", path);
    }
    bf->fd = fd;
    bf->path = p;
    bf->buf = b;
    bf->cap = cap;
    if (!bf_fill(bf, 4)) {
        binlog_file_close(bf);
        return cot_err_code();
    }
    if (bf->fill < 4 || memcmp(bf->buf, binlog_magic, 4) != 0) {
        binlog_file_close(bf);
        return cot_err_set(COT_ERR_MALFORMED,
                           "binlog %s: not a binlog file (the first 4 bytes are not the magic "
                           "fe 62 69 6e)",
                           path);
    }
    bf->pos = 4;
    *out = bf;
    return COT_OK;
}

cot_err binlog_file_next(binlog_file *bf, const uint8_t **ev, size_t *len, uint64_t *offset)
{
    if (!bf_fill(bf, BINLOG_HEADER_LEN)) return cot_err_code();
    uint64_t off = bf->buf_off + bf->pos;
    size_t avail = bf->fill - bf->pos;
    if (avail == 0) return cot_err_set(COT_ERR_NOT_FOUND, "binlog %s: end of file", bf->path);
    if (avail < BINLOG_HEADER_LEN)
        return cot_err_set(COT_ERR_MALFORMED,
                           "binlog %s: truncated at offset %llu: %zu bytes left, an event header "
                           "needs %d",
                           bf->path, (unsigned long long)off, avail, BINLOG_HEADER_LEN);
    const uint8_t *h = bf->buf + bf->pos;
    size_t size = (size_t)h[9] | (size_t)h[10] << 8 | (size_t)h[11] << 16 | (size_t)h[12] << 24;
    if (size < BINLOG_HEADER_LEN || size > BINLOG_FILE_MAX_EVENT)
        return cot_err_set(COT_ERR_MALFORMED,
                           "binlog %s: event at offset %llu has an impossible size %zu", bf->path,
                           (unsigned long long)off, size);
    if (!bf_fill(bf, size)) return cot_err_code();
    avail = bf->fill - bf->pos;
    if (avail < size)
        return cot_err_set(COT_ERR_MALFORMED,
                           "binlog %s: truncated at offset %llu: the event needs %zu bytes, only "
                           "%zu are left",
                           bf->path, (unsigned long long)off, size, avail);
    *ev = bf->buf + bf->pos;
    *len = size;
    *offset = off;
    bf->pos += size;
    return COT_OK;
}

const char *binlog_file_path(const binlog_file *bf)
{
    return bf->path;
}

void binlog_file_close(binlog_file *bf)
{
    if (!bf) return;
    if (bf->fd >= 0) close(bf->fd);
    free(bf->path);
    free(bf->buf);
    free(bf);
}
