/*
 * Marker files of paused channels. Written whole to a temporary name and
 * renamed into place, so a reader never sees half a marker. The content is
 * informative (who, when); the file's existence is what pauses a channel.
 */
#include "manager/pause.h"
#include "manager/http.h"
#include "util/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void pause__path(char *out, size_t cap, const char *data_dir, const char *channel)
{
    snprintf(out, cap, "%s/paused/%s", data_dir, channel);
}

cot_err pause_set(const char *data_dir, const char *channel, const char *who)
{
    char dir[1100], path[1300], tmp[1320];
    snprintf(dir, sizeof(dir), "%s/paused", data_dir);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return cot_err_set(COT_ERR_IO, "cannot create %s to remember that channel %s is paused: %s",
                           dir, channel, strerror(errno));
    pause__path(path, sizeof(path), data_dir, channel);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    buf b;
    buf_init(&b);
    buf_puts(&b, "{\"by\":");
    mgr_json_str(&b, who);
    buf_printf(&b, ",\"at\":%lld}\n", (long long)time(NULL));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && write(fd, b.data, b.len) == (ssize_t)b.len;
    int e = errno;
    if (fd >= 0 && close(fd) != 0) ok = false;
    buf_deinit(&b);
    if (!ok || rename(tmp, path) != 0) {
        if (ok) e = errno;
        unlink(tmp);
        return cot_err_set(COT_ERR_IO,
                           "cannot write %s to remember that channel %s is paused: %s; it will "
                           "start again on the next `cotter run`",
                           path, channel, strerror(e));
    }
    return COT_OK;
}

cot_err pause_clear(const char *data_dir, const char *channel)
{
    char path[1300];
    pause__path(path, sizeof(path), data_dir, channel);
    if (unlink(path) != 0 && errno != ENOENT)
        return cot_err_set(COT_ERR_IO,
                           "cannot remove %s: channel %s stays paused on the next `cotter run`: "
                           "%s",
                           path, channel, strerror(errno));
    return COT_OK;
}

/* pause__field copies the JSON string after "key": in text into out (no
 * unescaping beyond \" and \\: the value is informative). */
static void pause__field(const char *text, const char *key, char *out, size_t cap)
{
    out[0] = '\0';
    const char *p = strstr(text, key);
    if (!p) return;
    p += strlen(key);
    if (*p != '"') return;
    size_t n = 0;
    for (p++; *p && *p != '"' && n + 1 < cap; p++) {
        if (*p == '\\' && p[1]) p++;
        out[n++] = *p;
    }
    out[n] = '\0';
}

bool pause_get(const char *data_dir, const char *channel, char *by, size_t by_cap, time_t *at)
{
    char path[1300];
    pause__path(path, sizeof(path), data_dir, channel);
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char text[512];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    if (by && by_cap) pause__field(text, "\"by\":", by, by_cap);
    if (at) {
        *at = 0;
        const char *p = strstr(text, "\"at\":");
        if (p) {
            char *end;
            long long v = strtoll(p + 5, &end, 10);
            if (end != p + 5 && v > 0) *at = (time_t)v;
        }
    }
    return true;
}
