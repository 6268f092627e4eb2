/*
 * Log line formatting and output. A line is formatted into a stack buffer
 * and written with one write() per destination under a mutex, so lines from
 * the select and load threads never interleave. Every message has its
 * passwords redacted (util/redact.h); in text lines control characters are
 * escaped, so text from a server or a request cannot forge lines or drive
 * a terminal.
 */
#include "util/log.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/redact.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static log_level log_max = LOG_INFO;
static FILE *log_file;
static bool log_json;
static bool log_stderr = true;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
static log_hook_fn log_hook; /* under log_mu */
static void *log_hook_ctx;

void log_set_hook(log_hook_fn fn, void *ctx)
{
    pthread_mutex_lock(&log_mu);
    log_hook = fn;
    log_hook_ctx = ctx;
    pthread_mutex_unlock(&log_mu);
}

const char *log_level_name(log_level level)
{
    return (unsigned)level <= LOG_DEBUG ? level_names[level] : "?";
}

void log_set_level(log_level level)
{
    log_max = level;
}

bool log_enabled(log_level level)
{
    return level <= log_max;
}

bool log_level_parse(const char *s, log_level *out)
{
    for (int i = 0; i <= LOG_DEBUG; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (log_level)i;
            return true;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = LOG_WARN;
        return true;
    }
    return false;
}

bool log_open_file(const char *path)
{
    FILE *f = fopen(path, "a");
    if (!f) {
        cot_err_set(COT_ERR_IO, "cannot open log file %s: %s", path, strerror(errno));
        return false;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    pthread_mutex_lock(&log_mu);
    if (log_file) fclose(log_file);
    log_file = f;
    pthread_mutex_unlock(&log_mu);
    return true;
}

void log_set_json(bool json)
{
    log_json = json;
}

void log_set_stderr(bool on)
{
    log_stderr = on;
}

void log_close(void)
{
    pthread_mutex_lock(&log_mu);
    if (log_file) fclose(log_file);
    log_file = NULL;
    pthread_mutex_unlock(&log_mu);
}

/* json_escape_into copies s into out as a JSON string body; returns bytes used. */
static size_t json_escape_into(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
    return n;
}

/* text_escape_one writes the escaped form of the character at s into out
 * (at least 8 bytes): control characters (C0, DEL and the C1 range
 * U+0080..U+009F) as \n, \t, \r, \xNN or \u00NN, anything else as
 * itself. Sets *used to the bytes of s read; returns the bytes written. */
static size_t text_escape_one(const char *s, char *out, size_t *used)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char c = (unsigned char)s[0];
    *used = 1;
    if (c == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f) {
        *used = 2;
        return (size_t)snprintf(out, 8, "\\u%04x", (unsigned char)s[1]);
    }
    if (c == '\n' || c == '\t' || c == '\r') {
        out[0] = '\\';
        out[1] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
        return 2;
    }
    if (c < 0x20 || c == 0x7f) {
        out[0] = '\\';
        out[1] = 'x';
        out[2] = hex[c >> 4];
        out[3] = hex[c & 15];
        return 4;
    }
    out[0] = (char)c;
    return 1;
}

/* text_escape_into copies s into out with control characters escaped
 * (text_escape_one), cut to fit cap; returns bytes used. */
static size_t text_escape_into(char *out, size_t cap, const char *s)
{
    size_t n = 0, used = 0;
    for (; *s && n + 9 < cap; s += used) n += text_escape_one(s, out + n, &used);
    out[n] = '\0';
    return n;
}

void log_text_escape(buf *out, const char *s)
{
    char one[8];
    size_t used = 0;
    for (; s && *s; s += used) buf_append(out, one, text_escape_one(s, one, &used));
}

void log_msg(log_level level, const char *tag, const char *fmt, ...)
{
    if (level > log_max) return;
    char msg[4096], line[8400], ts[40];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    redact_secrets_inplace(msg, sizeof(msg));

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    size_t tl = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + tl, sizeof(ts) - tl, ".%03ldZ", now.tv_nsec / 1000000);

    int len;
    if (log_json) {
        char esc[8200];
        json_escape_into(esc, sizeof(esc), msg);
        len = snprintf(line, sizeof(line),
                       "{\"ts\":\"%s\",\"level\":\"%s\",\"tag\":\"%s\",\"msg\":\"%s\"}\n", ts,
                       level_names[level], tag, esc);
    } else {
        char esc[8200];
        text_escape_into(esc, sizeof(esc), msg);
        len = snprintf(line, sizeof(line), "%s %-5s [%s] %s\n", ts, level_names[level], tag, esc);
    }
    if (len < 0) return;
    if ((size_t)len >= sizeof(line)) len = (int)sizeof(line) - 1;

    pthread_mutex_lock(&log_mu);
    if (log_stderr) {
        ssize_t w = write(STDERR_FILENO, line, (size_t)len);
        (void)w;
    }
    if (log_file) fwrite(line, 1, (size_t)len, log_file);
    if (log_hook) log_hook(log_hook_ctx, level, ts, tag, msg);
    pthread_mutex_unlock(&log_mu);
}
