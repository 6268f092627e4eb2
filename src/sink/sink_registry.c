/*
 * The table of known sinks: URL scheme -> ops. A new target adds its ops
 * here (one line, plus an extern declaration). Read-only after start, so
 * any thread may look a scheme up.
 */
#include "sink/sink.h"
#include "sink/sink_mysql_sql.h"

#include <stddef.h>
#include <strings.h>

static const struct {
    const char *scheme;
    const sink_ops *ops;
} sink_registry[] = {
    {"mysql", &sink_mysql_ops},
    {"mariadb", &sink_mysql_ops},
};

const sink_ops *sink_ops_find(const char *scheme)
{
    if (!scheme) return NULL;
    for (size_t i = 0; i < sizeof(sink_registry) / sizeof(sink_registry[0]); i++)
        if (strcasecmp(sink_registry[i].scheme, scheme) == 0) return sink_registry[i].ops;
    return NULL;
}
