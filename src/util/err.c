/*
 * Error names, retry classes and the thread-local message buffer.
 */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    bool retriable;
} err_table[COT_ERR__COUNT] = {
    [COT_OK] = {"OK", false},
    [COT_ERR_MALFORMED] = {"MALFORMED", false},
    [COT_ERR_UNSUPPORTED] = {"UNSUPPORTED", false},
    [COT_ERR_CONFIG] = {"CONFIG", false},
    [COT_ERR_SCHEMA] = {"SCHEMA", false},
    [COT_ERR_NET] = {"NET", true},
    [COT_ERR_SQL_RETRY] = {"SQL_RETRY", true},
    [COT_ERR_SQL] = {"SQL", false},
    [COT_ERR_AUTH] = {"AUTH", false},
    [COT_ERR_IO] = {"IO", false},
    [COT_ERR_NOMEM] = {"NOMEM", false},
    [COT_ERR_STOPPED] = {"STOPPED", false},
    [COT_ERR_NOT_FOUND] = {"NOT_FOUND", false},
};

static _Thread_local char err_msg[2048];
static _Thread_local cot_err err_code;

const char *cot_err_name(cot_err err)
{
    if ((unsigned)err >= COT_ERR__COUNT) return "UNKNOWN";
    return err_table[err].name;
}

bool cot_err_retriable(cot_err err)
{
    if ((unsigned)err >= COT_ERR__COUNT) return false;
    return err_table[err].retriable;
}

cot_err cot_err_set(cot_err err, const char *fmt, ...)
{
    char msg[sizeof(err_msg)]; /* an argument may be cot_err_msg() itself */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    memcpy(err_msg, msg, sizeof(err_msg));
    err_code = err;
    return err;
}

void cot_err_prefix(const char *fmt, ...)
{
    char head[512], old[sizeof(err_msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof(head), fmt, ap);
    va_end(ap);
    memcpy(old, err_msg, sizeof(old));
    snprintf(err_msg, sizeof(err_msg), "%s%s", head, old);
}

const char *cot_err_msg(void)
{
    return err_msg;
}

cot_err cot_err_code(void)
{
    return err_code;
}

void cot_err_clear(void)
{
    err_msg[0] = '\0';
    err_code = COT_OK;
}
