/*
 * The project's one error type. Every fallible function returns a cot_err
 * and leaves a human message in a thread-local buffer (cot_err_msg()). The
 * retry policy reads cot_err_retriable(), never raw server codes.
 * The message is written once, where the error happens, with its context
 * (file:pos for the source, target+table for a sink); callers propagate the
 * code and do not rewrite the message.
 */
#ifndef COT_ERR_H
#define COT_ERR_H

#include <stdbool.h>

typedef enum cot_err {
    COT_OK = 0,
    COT_ERR_MALFORMED,   /* input bytes do not follow the format */
    COT_ERR_UNSUPPORTED, /* valid input we cannot handle */
    COT_ERR_CONFIG,      /* bad configuration */
    COT_ERR_SCHEMA,      /* event and known schema disagree */
    COT_ERR_NET,         /* connection lost / refused / timeout: retriable */
    COT_ERR_SQL_RETRY,   /* deadlock, lock wait timeout: retriable */
    COT_ERR_SQL,         /* statement failed and will fail again */
    COT_ERR_AUTH,        /* access denied, missing privilege */
    COT_ERR_IO,          /* local file system */
    COT_ERR_NOMEM,
    COT_ERR_STOPPED, /* a stop was requested */
    COT_ERR_NOT_FOUND,
    COT_ERR__COUNT
} cot_err;

/* cot_err_name returns the stable symbolic name ("NET"), never NULL. */
const char *cot_err_name(cot_err err);
/* cot_err_retriable says whether trying the same thing again later may work. */
bool cot_err_retriable(cot_err err);

/* cot_err_set stores a formatted message for this thread and returns err. */
cot_err cot_err_set(cot_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cot_err_prefix prepends context ("reading shop.users: ") to the current message. */
void cot_err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* cot_err_msg returns this thread's last message ("" if none). */
const char *cot_err_msg(void);
/* cot_err_code returns this thread's last error code. */
cot_err cot_err_code(void);
void cot_err_clear(void);

#endif
