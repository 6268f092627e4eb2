/*
 * Audit file handling: append, size-based rotation and retention of the
 * rotated files. The current file is held open (O_APPEND, 0600) and its size
 * tracked; rotation renames it with the rotation time in the name and opens a
 * fresh one. `mu` guards the descriptor and the size.
 */
#include "manager/audit.h"
#include "manager/http.h"
#include "util/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct audit_log {
    pthread_mutex_t mu;
    char dir[1024];
    char path[1100];
    int fd;
    uint64_t size;
    uint64_t max_bytes;
    uint64_t retention_s;
};

/* audit__open_current opens path for appending (0600) and reads its size. */
static cot_err audit__open_current(audit_log *al)
{
    al->fd = open(al->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (al->fd < 0)
        return cot_err_set(COT_ERR_IO,
                           "manager: cannot open the audit log %s: %s; check that data_dir is "
                           "writable",
                           al->path, strerror(errno));
    struct stat sb;
    al->size = fstat(al->fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
    return COT_OK;
}

/* audit__prune deletes rotated files (audit-*.log) older than the retention. */
static void audit__prune(audit_log *al)
{
    if (al->retention_s == 0) return;
    DIR *d = opendir(al->dir);
    if (!d) return;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (strncmp(de->d_name, "audit-", 6) != 0 || n < 10 ||
            strcmp(de->d_name + n - 4, ".log") != 0)
            continue;
        char p[1400];
        snprintf(p, sizeof(p), "%s/%s", al->dir, de->d_name);
        struct stat sb;
        if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        if ((uint64_t)difftime(now, sb.st_mtime) <= al->retention_s) continue;
        if (unlink(p) == 0)
            LOG_I("audit", "deleted %s: older than manager.audit.retention", p);
        else
            LOG_W("audit", "cannot delete the old audit file %s: %s", p, strerror(errno));
    }
    closedir(d);
}

/* audit__rotate renames the current file aside and opens a new one. */
static void audit__rotate(audit_log *al)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32], to[1400];
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(to, sizeof(to), "%s/audit-%s.log", al->dir, stamp);
    for (int i = 1; access(to, F_OK) == 0 && i < 1000; i++)
        snprintf(to, sizeof(to), "%s/audit-%s-%d.log", al->dir, stamp, i);
    if (rename(al->path, to) != 0) {
        LOG_W("audit", "cannot rotate %s to %s: %s; appending to it", al->path, to,
              strerror(errno));
        return;
    }
    close(al->fd);
    if (audit__open_current(al) != COT_OK) {
        LOG_E("audit", "%s", cot_err_msg());
        return;
    }
    LOG_I("audit", "rotated the audit log to %s (manager.audit.max_size)", to);
    audit__prune(al);
}

cot_err audit_open(const char *dir, uint64_t max_bytes, uint64_t retention_s, audit_log **out)
{
    *out = NULL;
    audit_log *al = calloc(1, sizeof(*al));
    if (!al) abort();
    snprintf(al->dir, sizeof(al->dir), "%s", dir);
    snprintf(al->path, sizeof(al->path), "%s/audit.log", dir);
    al->max_bytes = max_bytes;
    al->retention_s = retention_s;
    cot_err rc = audit__open_current(al);
    if (rc) {
        free(al);
        return rc;
    }
    pthread_mutex_init(&al->mu, NULL);
    audit__prune(al);
    *out = al;
    return COT_OK;
}

void audit_close(audit_log *al)
{
    if (!al) return;
    if (al->fd >= 0) close(al->fd);
    pthread_mutex_destroy(&al->mu);
    free(al);
}

void audit_write(audit_log *al, const char *json, size_t len)
{
    if (!al) return;
    pthread_mutex_lock(&al->mu);
    if (al->max_bytes && al->size > 0 && al->size + len + 1 > al->max_bytes) audit__rotate(al);
    if (al->fd >= 0) {
        /* one write per line: O_APPEND keeps lines whole */
        char *line = malloc(len + 1);
        if (!line) abort();
        memcpy(line, json, len);
        line[len] = '\n';
        ssize_t w = write(al->fd, line, len + 1);
        if (w != (ssize_t)(len + 1))
            LOG_W("audit", "cannot append to the audit log %s: %s", al->path,
                  w < 0 ? strerror(errno) : "short write");
        else
            al->size += len + 1;
        free(line);
    }
    pthread_mutex_unlock(&al->mu);
}

void audit_ts(buf *b)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char ts[40];
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    buf_printf(b, "\"%s.%03ldZ\"", ts, now.tv_nsec / 1000000);
}

void audit_event(audit_log *al, const char *who, const char *channel, const char *action,
                 const char *result)
{
    if (!al) return;
    buf line;
    buf_init(&line);
    buf_puts(&line, "{\"ts\":");
    audit_ts(&line);
    buf_puts(&line, ",\"who\":");
    mgr_json_str(&line, who);
    buf_puts(&line, ",\"peer\":null,\"method\":null,\"path\":null,\"channel\":");
    if (channel)
        mgr_json_str(&line, channel);
    else
        buf_puts(&line, "null");
    buf_puts(&line, ",\"action\":");
    mgr_json_str(&line, action);
    buf_puts(&line, ",\"status\":null,\"result\":");
    mgr_json_str(&line, result);
    buf_puts(&line, "}");
    audit_write(al, line.data, line.len);
    buf_deinit(&line);
}
