/*
 * The option table, internal to the config module: one row per option with
 * its path ("channels.*.pipelines[].batch.rows"), type, default (as text, parsed
 * by the same parsers as the file's values), bounds, flags and description.
 * The loader validates and applies defaults from it; config_write_docs renders
 * it. Paths: "*" stands for a user-chosen name, "[]" for a list item.
 * Read-only data and pure functions: any thread.
 */
#ifndef COT_CONFIG_OPTIONS_H
#define COT_CONFIG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum copt_type {
    COPT_STRING,   /* text */
    COPT_UINT,     /* unsigned decimal integer */
    COPT_BOOL,     /* true/false, yes/no, on/off */
    COPT_DURATION, /* 200ms, 5s, 1m, 1h, 1m30s; a bare number is in the option's unit */
    COPT_SIZE,     /* 512KB, 64MB, 1GiB (powers of 1024); a bare number is bytes */
    COPT_ENUM,     /* one of `values` ("initial|never") */
    COPT_URL,      /* scheme://user:password@host:port/path?k=v; scheme one of `values` */
    COPT_LIST,     /* a sequence: of blocks if a "PATH[]" row exists, else of strings */
    COPT_BLOCK,    /* a mapping with the fixed keys of the rows below it */
    COPT_MAP,      /* a mapping from user-chosen names to "PATH.*" blocks */
} copt_type;

enum {
    COPT_REQUIRED = 1u << 0,   /* must be present and not empty */
    COPT_SECRET = 1u << 1,     /* value never printed (URLs: only the redacted form) */
    COPT_RELOADABLE = 1u << 2, /* may change while running */
    COPT_PLANNED = 1u << 3,    /* recognised but not implemented yet: rejected with a note */
};

typedef struct copt {
    const char *path;
    copt_type type;
    const char *def;    /* default as written in a file, NULL = none */
    uint64_t min, max;  /* numbers; durations in ms; sizes in bytes; 0,0 = unbounded */
    const char *values; /* enums: allowed values; URLs: allowed schemes; '|'-separated */
    uint32_t unit_ms;   /* durations: ms per unit of a bare number and of the stored field */
    unsigned flags;
    const char *desc;
} copt;

extern const copt config_options[];
extern const size_t config_n_options;

/* copt_find returns the row for an exact path pattern, or NULL. */
const copt *copt_find(const char *path);
/* copt_key returns the last segment of a row's path ("rows" for "...batch.rows"). */
const char *copt_key(const copt *o);
/* copt_is_child says whether o is a key directly under the pattern parent ("" = top
 * level); a list's item row ("...pipelines[]") is nobody's key. */
bool copt_is_child(const copt *o, const char *parent);
const char *copt_type_name(copt_type type);

/* The value parsers. Each returns true and sets *out, or returns false and
 * writes what was expected into why (e.g. "expected a number, got 'abc'"). */
bool copt_parse_uint(const char *s, uint64_t *out, char *why, size_t why_cap);
bool copt_parse_bool(const char *s, bool *out, char *why, size_t why_cap);
/* copt_parse_duration returns milliseconds; a bare number counts unit_ms each. */
bool copt_parse_duration(const char *s, uint32_t unit_ms, uint64_t *out_ms, char *why,
                         size_t why_cap);
bool copt_parse_size(const char *s, uint64_t *out, char *why, size_t why_cap);
/* copt_enum_index returns the index of s (case-insensitive) in '|'-separated values, or -1. */
int copt_enum_index(const char *values, const char *s);

/* copt_format_duration / copt_format_size print ms / bytes in the shortest exact form. */
void copt_format_duration(uint64_t ms, char *out, size_t cap);
void copt_format_size(uint64_t bytes, char *out, size_t cap);

/* copt_edit_distance returns the Levenshtein distance of a and b (capped at 99). */
int copt_edit_distance(const char *a, const char *b);

#endif
