/*
 * Secrets out of statement text: the passwords of CREATE USER, ALTER USER,
 * GRANT ... IDENTIFIED BY, SET PASSWORD, PASSWORD(...), MASTER_PASSWORD=...,
 * a FEDERATED table's CONNECTION='mysql://user:pw@host/db/t'
 * are replaced by '<redacted>' wherever a statement is logged or stored (log
 * lines, error messages, the audit log, `cotter decode`). Pure functions, no
 * state: safe on any thread.
 */
#ifndef COT_REDACT_H
#define COT_REDACT_H

#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>

#define REDACTED "'<redacted>'"

/* redact_secrets appends the n bytes of text to out with every secret
 * literal replaced by REDACTED. Reads the text as MySQL would (comments,
 * executable comments, quotes with doubled or backslash escapes, hex and bit
 * literals, charset introducers, adjacent literals) and, since a message may
 * quote a statement inside its own quotes, also redacts a quoted run right
 * after a password keyword whatever the quoting around it. When unsure it
 * redacts more, never less. Returns whether anything was replaced. */
bool redact_secrets(const char *text, size_t n, buf *out);

/* redact_secrets_inplace redacts the NUL-terminated string s held in a
 * buffer of cap bytes; the result is cut to fit. Returns whether anything
 * was replaced. */
bool redact_secrets_inplace(char *s, size_t cap);

/* redact_maybe says whether text of n bytes may hold a secret (names
 * IDENTIFIED, PASSWORD or CONNECTION in any case): the cheap test before the work. */
bool redact_maybe(const char *text, size_t n);

#endif
