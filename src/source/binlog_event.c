/*
 * Parsers for the binlog events around the row data: the common header, the
 * CRC32 trailer, FORMAT_DESCRIPTION, ROTATE, QUERY (and MariaDB's compressed
 * QUERY), XID, GTID (MariaDB and MySQL), TABLE_MAP with its optional
 * metadata, and the fixed head of rows events. Row images are decoded in
 * row_decode.c.
 *
 * Every function is pure over the bytes given: one bounds-checked cursor,
 * one `malformed:` exit that names the event type and the offset inside the
 * event. Safe to call from any thread; the only state is the thread-local
 * buffer of binlog_event_type_name.
 */
#include "source/binlog_event.h"

#include "source/row_decode_internal.h"
#include "util/cursor.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* Optional metadata field types of TABLE_MAP (binlog_row_metadata). */
enum {
    TM_SIGNEDNESS = 1,
    TM_DEFAULT_CHARSET = 2,
    TM_COLUMN_CHARSET = 3,
    TM_COLUMN_NAME = 4,
    TM_SET_STR_VALUE = 5,
    TM_ENUM_STR_VALUE = 6,
    TM_GEOMETRY_TYPE = 7,
    TM_SIMPLE_PRIMARY_KEY = 8,
    TM_PRIMARY_KEY_WITH_PREFIX = 9,
    TM_ENUM_AND_SET_DEFAULT_CHARSET = 10,
    TM_ENUM_AND_SET_COLUMN_CHARSET = 11,
    TM_COLUMN_VISIBILITY = 12,
};

#define FDE_FIXED_LEN             57 /* binlog_version 2 + server_version 50 + created 4 + header_len 1 */
#define LOG_EVENT_BINLOG_IN_USE_F 0x0001
#define MARIA_GTID_FL_STANDALONE  0x01

static size_t ev_off(const uint8_t *ev, const cur *c)
{
    return (size_t)(c->p - ev);
}

const char *binlog_event_type_name(uint8_t type)
{
    static _Thread_local char unknown[24];
    switch ((enum binlog_event_type)type) {
    case BEV_UNKNOWN:
        break;
    case BEV_START_V3:
        return "START_V3";
    case BEV_QUERY:
        return "QUERY";
    case BEV_STOP:
        return "STOP";
    case BEV_ROTATE:
        return "ROTATE";
    case BEV_INTVAR:
        return "INTVAR";
    case BEV_RAND:
        return "RAND";
    case BEV_USER_VAR:
        return "USER_VAR";
    case BEV_FORMAT_DESCRIPTION:
        return "FORMAT_DESCRIPTION";
    case BEV_XID:
        return "XID";
    case BEV_TABLE_MAP:
        return "TABLE_MAP";
    case BEV_WRITE_ROWS_V1:
        return "WRITE_ROWS_V1";
    case BEV_UPDATE_ROWS_V1:
        return "UPDATE_ROWS_V1";
    case BEV_DELETE_ROWS_V1:
        return "DELETE_ROWS_V1";
    case BEV_INCIDENT:
        return "INCIDENT";
    case BEV_HEARTBEAT:
        return "HEARTBEAT";
    case BEV_ROWS_QUERY:
        return "ROWS_QUERY";
    case BEV_WRITE_ROWS_V2:
        return "WRITE_ROWS";
    case BEV_UPDATE_ROWS_V2:
        return "UPDATE_ROWS";
    case BEV_DELETE_ROWS_V2:
        return "DELETE_ROWS";
    case BEV_MYSQL_GTID:
        return "GTID";
    case BEV_MYSQL_ANONYMOUS_GTID:
        return "ANONYMOUS_GTID";
    case BEV_MYSQL_PREVIOUS_GTIDS:
        return "PREVIOUS_GTIDS";
    case BEV_PARTIAL_UPDATE_ROWS:
        return "PARTIAL_UPDATE_ROWS";
    case BEV_MYSQL_TRANSACTION_PAYLOAD:
        return "TRANSACTION_PAYLOAD";
    case BEV_MARIA_ANNOTATE_ROWS:
        return "ANNOTATE_ROWS";
    case BEV_MARIA_BINLOG_CHECKPOINT:
        return "BINLOG_CHECKPOINT";
    case BEV_MARIA_GTID:
        return "MARIADB_GTID";
    case BEV_MARIA_GTID_LIST:
        return "GTID_LIST";
    case BEV_MARIA_START_ENCRYPTION:
        return "START_ENCRYPTION";
    case BEV_MARIA_QUERY_COMPRESSED:
        return "QUERY_COMPRESSED";
    case BEV_MARIA_WRITE_ROWS_COMPRESSED_V1:
        return "WRITE_ROWS_COMPRESSED_V1";
    case BEV_MARIA_UPDATE_ROWS_COMPRESSED_V1:
        return "UPDATE_ROWS_COMPRESSED_V1";
    case BEV_MARIA_DELETE_ROWS_COMPRESSED_V1:
        return "DELETE_ROWS_COMPRESSED_V1";
    case BEV_MARIA_WRITE_ROWS_COMPRESSED:
        return "WRITE_ROWS_COMPRESSED";
    case BEV_MARIA_UPDATE_ROWS_COMPRESSED:
        return "UPDATE_ROWS_COMPRESSED";
    case BEV_MARIA_DELETE_ROWS_COMPRESSED:
        return "DELETE_ROWS_COMPRESSED";
    }
    snprintf(unknown, sizeof(unknown), "UNKNOWN(%u)", (unsigned)type);
    return unknown;
}

void binlog_fde_default(binlog_fde *fde, uint8_t checksum_alg)
{
    memset(fde, 0, sizeof(*fde));
    fde->binlog_version = 4;
    fde->header_len = BINLOG_HEADER_LEN;
    fde->checksum_alg = checksum_alg;
    uint8_t *p = fde->post_header_len;
    p[BEV_START_V3] = 56;
    p[BEV_QUERY] = 13;
    p[BEV_ROTATE] = 8;
    p[6] = 18;  /* LOAD */
    p[8] = 4;   /* CREATE_FILE */
    p[9] = 4;   /* APPEND_BLOCK */
    p[10] = 4;  /* EXEC_LOAD */
    p[11] = 4;  /* DELETE_FILE */
    p[12] = 18; /* NEW_LOAD */
    p[BEV_FORMAT_DESCRIPTION] = 84;
    p[17] = 4;  /* BEGIN_LOAD_QUERY */
    p[18] = 26; /* EXECUTE_LOAD_QUERY */
    p[BEV_TABLE_MAP] = 8;
    p[20] = p[21] = p[22] = 6; /* pre-GA rows events */
    p[BEV_WRITE_ROWS_V1] = p[BEV_UPDATE_ROWS_V1] = p[BEV_DELETE_ROWS_V1] = 8;
    p[BEV_INCIDENT] = 2;
    p[BEV_WRITE_ROWS_V2] = p[BEV_UPDATE_ROWS_V2] = p[BEV_DELETE_ROWS_V2] = 10;
    p[BEV_MYSQL_GTID] = p[BEV_MYSQL_ANONYMOUS_GTID] = 42;
    p[BEV_MARIA_BINLOG_CHECKPOINT] = 4;
    p[BEV_MARIA_GTID] = 19;
    p[BEV_MARIA_GTID_LIST] = 4;
    p[BEV_MARIA_QUERY_COMPRESSED] = 13;
    p[BEV_MARIA_WRITE_ROWS_COMPRESSED_V1] = 8;
    p[BEV_MARIA_UPDATE_ROWS_COMPRESSED_V1] = 8;
    p[BEV_MARIA_DELETE_ROWS_COMPRESSED_V1] = 8;
    p[BEV_MARIA_WRITE_ROWS_COMPRESSED] = 10;
    p[BEV_MARIA_UPDATE_ROWS_COMPRESSED] = 10;
    p[BEV_MARIA_DELETE_ROWS_COMPRESSED] = 10;
}

unsigned binlog__post_header_len(const binlog_fde *fde, uint8_t type)
{
    return fde->post_header_len[type];
}

cot_err binlog_header_parse(const uint8_t *ev, size_t len, binlog_header *h)
{
    cur c = cur_make(ev, len);
    h->timestamp = cur_u32(&c);
    h->type = cur_u8(&c);
    h->server_id = cur_u32(&c);
    h->event_size = cur_u32(&c);
    h->log_pos = cur_u32(&c);
    h->flags = cur_u16(&c);
    if (!cur_ok(&c))
        return cot_err_set(COT_ERR_MALFORMED, "binlog event header: %zu bytes, a header needs %d",
                           len, BINLOG_HEADER_LEN);
    if (h->event_size != len)
        return cot_err_set(COT_ERR_MALFORMED,
                           "%s event: header says event_size %u but %zu bytes were given",
                           binlog_event_type_name(h->type), h->event_size, len);
    return COT_OK;
}

cot_err binlog__body(const binlog_fde *fde, const uint8_t *ev, size_t len, const char *what,
                     cur *body)
{
    size_t hlen = fde->header_len >= BINLOG_HEADER_LEN ? fde->header_len : BINLOG_HEADER_LEN;
    size_t tail = fde->checksum_alg == BINLOG_CHECKSUM_CRC32 ? 4 : 0;
    if (len < BINLOG_HEADER_LEN)
        return cot_err_set(COT_ERR_MALFORMED, "%s event: %zu bytes, shorter than a header", what,
                           len);
    uint32_t size =
        (uint32_t)ev[9] | (uint32_t)ev[10] << 8 | (uint32_t)ev[11] << 16 | (uint32_t)ev[12] << 24;
    if (size != len)
        return cot_err_set(COT_ERR_MALFORMED,
                           "%s event: header says event_size %u but %zu bytes were given", what,
                           size, len);
    if (len < hlen + tail)
        return cot_err_set(COT_ERR_MALFORMED,
                           "%s event: %zu bytes cannot hold a %zu-byte header and checksum", what,
                           len, hlen);
    *body = cur_make(ev + hlen, len - hlen - tail);
    return COT_OK;
}

/*
 * CRC32 (the zlib/IEEE polynomial, bit-reflected). Binlog events are short
 * (a few hundred bytes), where zlib's table loop dominates a decode; on
 * x86-64 with PCLMULQDQ the bulk of each event is folded 64 bytes at a
 * time by carry-less multiplication (Gopal et al., "Fast CRC Computation
 * for Generic Polynomials Using PCLMULQDQ", Intel 2009), the remainder and
 * other CPUs go through zlib. The constants are x^k mod P for the folding
 * distances used, and the Barrett pair for P, in the reflected domain.
 */
#if defined(__x86_64__)
#include <immintrin.h>

#define CLMUL_TARGET __attribute__((target("pclmul,sse4.1")))

CLMUL_TARGET static inline __m128i crc_fold(__m128i x, __m128i k, __m128i next)
{
    __m128i lo = _mm_clmulepi64_si128(x, k, 0x00);
    __m128i hi = _mm_clmulepi64_si128(x, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

/* crc_clmul folds n bytes (n >= 16, a multiple of 16) into the inverted
 * CRC state and returns the new inverted state. */
CLMUL_TARGET static uint32_t crc_clmul(uint32_t state, const uint8_t *p, size_t n)
{
    const __m128i k_fold4 = _mm_set_epi64x(0x1c6e41596LL, 0x154442bd4LL); /* 4x128 bits */
    const __m128i k_fold1 = _mm_set_epi64x(0x0ccaa009eLL, 0x1751997d0LL); /* 128 bits */
    const __m128i k_64 = _mm_set_epi64x(0, 0x163cd6124LL);
    const __m128i barrett = _mm_set_epi64x(0x1f7011641LL, 0x1db710641LL); /* u', P' */
    const __m128i low32 = _mm_setr_epi32(-1, 0, -1, 0);

    __m128i a = _mm_loadu_si128((const __m128i *)p);
    a = _mm_xor_si128(a, _mm_cvtsi32_si128((int)state));
    p += 16;
    n -= 16;
    if (n >= 48) {
        /* four lanes, 64 bytes a round, then merged into one */
        __m128i b = _mm_loadu_si128((const __m128i *)p);
        __m128i c = _mm_loadu_si128((const __m128i *)(p + 16));
        __m128i d = _mm_loadu_si128((const __m128i *)(p + 32));
        for (p += 48, n -= 48; n >= 64; p += 64, n -= 64) {
            a = crc_fold(a, k_fold4, _mm_loadu_si128((const __m128i *)p));
            b = crc_fold(b, k_fold4, _mm_loadu_si128((const __m128i *)(p + 16)));
            c = crc_fold(c, k_fold4, _mm_loadu_si128((const __m128i *)(p + 32)));
            d = crc_fold(d, k_fold4, _mm_loadu_si128((const __m128i *)(p + 48)));
        }
        a = crc_fold(a, k_fold1, b);
        a = crc_fold(a, k_fold1, c);
        a = crc_fold(a, k_fold1, d);
    }
    for (; n >= 16; p += 16, n -= 16) a = crc_fold(a, k_fold1, _mm_loadu_si128((const __m128i *)p));

    /* 128 -> 64 bits, then 64 -> 32 bits */
    __m128i t = _mm_clmulepi64_si128(a, k_fold1, 0x10);
    a = _mm_xor_si128(_mm_srli_si128(a, 8), t);
    t = _mm_srli_si128(a, 4);
    a = _mm_clmulepi64_si128(_mm_and_si128(a, low32), k_64, 0x00);
    a = _mm_xor_si128(a, t);
    /* Barrett reduction to the 32-bit remainder */
    t = _mm_clmulepi64_si128(_mm_and_si128(a, low32), barrett, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, low32), barrett, 0x00);
    a = _mm_xor_si128(a, t);
    return (uint32_t)_mm_extract_epi32(a, 1);
}
#endif

static uint32_t crc_table[256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t binlog__crc32(uint32_t crc, const uint8_t *p, size_t n)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1")) {
        uint32_t state = ~crc;
        if (n >= 16) {
            size_t bulk = n & ~(size_t)15;
            state = crc_clmul(state, p, bulk);
            p += bulk;
            n -= bulk;
        }
        /* the last 0..15 bytes, one at a time */
        pthread_once(&crc_table_once, crc_table_init);
        while (n--) state = (state >> 8) ^ crc_table[(state ^ *p++) & 0xff];
        return ~state;
    }
#endif
    return (uint32_t)crc32(crc, p, (uInt)n);
}

bool binlog_checksum_ok(const binlog_fde *fde, const uint8_t *ev, size_t len)
{
    if (fde->checksum_alg != BINLOG_CHECKSUM_CRC32) return true;
    if (len < BINLOG_HEADER_LEN + 4) return false;
    size_t n = len - 4;
    uint32_t crc = 0;
    if (ev[4] == BEV_FORMAT_DESCRIPTION && (ev[17] & LOG_EVENT_BINLOG_IN_USE_F)) {
        /* The server computes the FDE's checksum with the in-use flag clear
         * and sets the flag afterwards while the file is open. */
        uint8_t flag = (uint8_t)(ev[17] & ~LOG_EVENT_BINLOG_IN_USE_F);
        crc = binlog__crc32(crc, ev, 17);
        crc = binlog__crc32(crc, &flag, 1);
        crc = binlog__crc32(crc, ev + 18, n - 18);
    } else {
        crc = binlog__crc32(crc, ev, n);
    }
    uint32_t want = (uint32_t)ev[n] | (uint32_t)ev[n + 1] << 8 | (uint32_t)ev[n + 2] << 16 |
                    (uint32_t)ev[n + 3] << 24;
    return crc == want;
}

/* version_split parses "X.Y.Z..." into three numbers (missing parts 0). */
static void version_split(const char *v, unsigned out[3])
{
    out[0] = out[1] = out[2] = 0;
    const char *p = v;
    for (int i = 0; i < 3; i++) {
        unsigned n = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 6) {
            n = n * 10 + (unsigned)(*p - '0');
            p++;
            digits++;
        }
        out[i] = n;
        if (*p != '.') break;
        p++;
    }
}

/* fde_has_checksum_alg says whether a server of this version writes the
 * checksum-algorithm byte (and a checksum slot) into its FDE: MySQL since
 * 5.6.1, MariaDB since 5.3. */
static bool fde_has_checksum_alg(const char *version)
{
    unsigned v[3];
    version_split(version, v);
    unsigned key = v[0] * 10000 + v[1] * 100 + v[2];
    if (strstr(version, "MariaDB") || strstr(version, "-maria-")) return key >= 50300;
    return key >= 50601;
}

cot_err binlog_fde_parse(const uint8_t *ev, size_t len, binlog_fde *fde)
{
    binlog_header h;
    cot_err rc = binlog_header_parse(ev, len, &h);
    if (rc != COT_OK) return rc;
    if (h.type != BEV_FORMAT_DESCRIPTION)
        return cot_err_set(COT_ERR_MALFORMED, "expected a FORMAT_DESCRIPTION event, got %s",
                           binlog_event_type_name(h.type));
    binlog_fde_default(fde, BINLOG_CHECKSUM_NONE);
    cur c = cur_make(ev + BINLOG_HEADER_LEN, len - BINLOG_HEADER_LEN);
    fde->binlog_version = cur_u16(&c);
    const uint8_t *ver = cur_bytes(&c, 50);
    cur_skip(&c, 4); /* creation timestamp */
    uint8_t header_len = cur_u8(&c);
    if (!cur_ok(&c)) goto malformed;
    memcpy(fde->server_version, ver, 50);
    fde->server_version[50] = '\0';
    if (header_len < BINLOG_HEADER_LEN) goto malformed;
    fde->header_len = header_len;

    size_t n_types = cur_left(&c);
    if (fde_has_checksum_alg(fde->server_version)) {
        if (n_types < 5) goto malformed;
        n_types -= 5; /* algorithm byte + 4-byte checksum slot */
        uint8_t alg = ev[len - 5];
        if (alg != BINLOG_CHECKSUM_NONE && alg != BINLOG_CHECKSUM_CRC32)
            return cot_err_set(COT_ERR_UNSUPPORTED,
                               "FORMAT_DESCRIPTION event: checksum algorithm %u is not supported "
                               "(only NONE and CRC32); set binlog_checksum=CRC32 on the source",
                               (unsigned)alg);
        fde->checksum_alg = alg;
    }
    if (n_types > 255) n_types = 255;
    const uint8_t *types = cur_bytes(&c, n_types);
    if (!cur_ok(&c)) goto malformed;
    for (size_t i = 0; i < n_types; i++) fde->post_header_len[i + 1] = types[i];
    return COT_OK;
malformed:
    return cot_err_set(COT_ERR_MALFORMED,
                       "FORMAT_DESCRIPTION event: truncated or inconsistent at offset %zu of %zu",
                       ev_off(ev, &c), len);
}

cot_err binlog_rotate_parse(const binlog_fde *fde, const uint8_t *ev, size_t len, binlog_rotate *r)
{
    cur c;
    cot_err rc = binlog__body(fde, ev, len, "ROTATE", &c);
    if (rc != COT_OK) return rc;
    unsigned phl = binlog__post_header_len(fde, BEV_ROTATE);
    r->position = phl >= 8 ? cur_u64(&c) : 4;
    if (phl > 8) cur_skip(&c, phl - 8);
    size_t n = cur_left(&c);
    const uint8_t *name = cur_bytes(&c, n);
    if (!cur_ok(&c) || n == 0 || n >= sizeof(r->file) || memchr(name, '\0', n)) goto malformed;
    memcpy(r->file, name, n);
    r->file[n] = '\0';
    return COT_OK;
malformed:
    return cot_err_set(COT_ERR_MALFORMED,
                       "ROTATE event: bad position or file name (%zu bytes) at offset %zu", n,
                       ev_off(ev, &c));
}

/* Status variables of a QUERY event (MySQL's log_event.h, MariaDB's
 * log_event.h): a code byte, then a value whose size the code fixes. */
enum {
    Q_FLAGS2_CODE = 0,               /* 4 bytes */
    Q_SQL_MODE_CODE = 1,             /* 8 bytes */
    Q_CATALOG_CODE = 2,              /* length byte, text, NUL (5.0.0 to 5.0.3) */
    Q_AUTO_INCREMENT = 3,            /* 2 + 2 bytes */
    Q_CHARSET_CODE = 4,              /* client, connection, server: 2 bytes each */
    Q_TIME_ZONE_CODE = 5,            /* length byte, text */
    Q_CATALOG_NZ_CODE = 6,           /* length byte, text */
    Q_LC_TIME_NAMES_CODE = 7,        /* 2 bytes */
    Q_CHARSET_DATABASE_CODE = 8,     /* 2 bytes */
    Q_TABLE_MAP_FOR_UPDATE_CODE = 9, /* 8 bytes */
    Q_MASTER_DATA_WRITTEN_CODE = 10, /* 4 bytes */
    Q_INVOKER = 11,                  /* length byte, user, length byte, host */
    Q_UPDATED_DB_NAMES = 12,         /* count byte, count NUL-ended names (254: none) */
    Q_MICROSECONDS = 13,             /* 3 bytes */
    Q_HRNOW = 128,                   /* MariaDB: 3 bytes */
    Q_XID = 129,                     /* MariaDB: 8 bytes */
    Q_GTID_FLAGS3 = 130,             /* MariaDB: 1 byte */
};

/* binlog__query_status reads sql_mode, the charsets and the time zone from the status
 * variables. It stops at a code it does not know (its size is unknown, as
 * the server itself does): the ones read here come first. */
static void binlog__query_status(const uint8_t *st, size_t n, binlog_query *q)
{
    cur c = cur_make(st, n);
    while (cur_left(&c) > 0) {
        uint8_t code = cur_u8(&c);
        switch (code) {
        case Q_FLAGS2_CODE:
        case Q_MASTER_DATA_WRITTEN_CODE:
            cur_skip(&c, 4);
            break;
        case Q_SQL_MODE_CODE:
            q->sql_mode = cur_u64(&c);
            q->has_sql_mode = cur_ok(&c);
            break;
        case Q_CATALOG_CODE: {
            uint8_t l = cur_u8(&c);
            cur_skip(&c, (size_t)l + 1);
            break;
        }
        case Q_AUTO_INCREMENT:
            cur_skip(&c, 4);
            break;
        case Q_CHARSET_CODE:
            q->charset_client = cur_u16(&c);
            q->collation_connection = cur_u16(&c);
            q->collation_server = cur_u16(&c);
            q->has_charset = cur_ok(&c);
            break;
        case Q_TIME_ZONE_CODE: {
            uint8_t l = cur_u8(&c);
            const uint8_t *tz = cur_bytes(&c, l);
            if (tz) {
                q->time_zone = (const char *)tz;
                q->time_zone_len = l;
            }
            break;
        }
        case Q_CATALOG_NZ_CODE:
            cur_skip(&c, cur_u8(&c));
            break;
        case Q_LC_TIME_NAMES_CODE:
        case Q_CHARSET_DATABASE_CODE:
            cur_skip(&c, 2);
            break;
        case Q_TABLE_MAP_FOR_UPDATE_CODE:
        case Q_XID:
            cur_skip(&c, 8);
            break;
        case Q_INVOKER:
            cur_skip(&c, cur_u8(&c));
            cur_skip(&c, cur_u8(&c));
            break;
        case Q_UPDATED_DB_NAMES: {
            uint8_t k = cur_u8(&c);
            for (uint8_t i = 0; k != 254 && i < k && cur_ok(&c); i++) {
                const uint8_t *rest = cur_bytes(&c, 0);
                const uint8_t *z = rest ? memchr(rest, 0, cur_left(&c)) : NULL;
                if (!z) return;
                cur_skip(&c, (size_t)(z - rest) + 1);
            }
            break;
        }
        case Q_MICROSECONDS:
        case Q_HRNOW:
            cur_skip(&c, 3);
            break;
        case Q_GTID_FLAGS3:
            cur_skip(&c, 1);
            break;
        default:
            return;
        }
        if (!cur_ok(&c)) return;
    }
}

cot_err binlog_query_parse(const binlog_fde *fde, const uint8_t *ev, size_t len, size_t max_bytes,
                           arena *a, binlog_query *q)
{
    memset(q, 0, sizeof(*q));
    bool compressed = len > 4 && ev[4] == BEV_MARIA_QUERY_COMPRESSED;
    const char *what = compressed ? "QUERY_COMPRESSED" : "QUERY";
    cur c;
    cot_err rc = binlog__body(fde, ev, len, what, &c);
    if (rc != COT_OK) return rc;
    unsigned phl = binlog__post_header_len(fde, ev[4]);
    if (phl < 11) phl = 13;
    q->thread_id = cur_u32(&c);
    cur_skip(&c, 4); /* exec_time */
    uint8_t db_len = cur_u8(&c);
    q->error_code = cur_u16(&c);
    uint16_t status_len = phl >= 13 ? cur_u16(&c) : 0;
    if (phl > 13) cur_skip(&c, phl - 13);
    const uint8_t *status = cur_bytes(&c, status_len);
    if (!cur_ok(&c)) goto malformed;
    binlog__query_status(status, status_len, q);
    q->db = (const char *)cur_bytes(&c, db_len);
    q->db_len = db_len;
    uint8_t nul = cur_u8(&c);
    if (!cur_ok(&c) || nul != 0) goto malformed;
    size_t n = cur_left(&c);
    const uint8_t *sql = cur_bytes(&c, n);
    if (!compressed) {
        q->sql = (const char *)sql;
        q->sql_len = n;
        return COT_OK;
    }
    if (!a)
        return cot_err_set(COT_ERR_UNSUPPORTED,
                           "QUERY_COMPRESSED event: no arena given to inflate the statement");
    const uint8_t *out;
    size_t out_len;
    rc = binlog__inflate(sql, n, max_bytes ? max_bytes : BINLOG_MAX_EVENT_SIZE, a, &out, &out_len,
                         "QUERY_COMPRESSED event");
    if (rc != COT_OK) return rc;
    q->sql = (const char *)out;
    q->sql_len = out_len;
    return COT_OK;
malformed:
    return cot_err_set(COT_ERR_MALFORMED,
                       "%s event: status variables or schema name run past the end (offset %zu "
                       "of %zu)",
                       what, ev_off(ev, &c), len);
}

cot_err binlog_xid_parse(const binlog_fde *fde, const uint8_t *ev, size_t len, uint64_t *xid)
{
    cur c;
    cot_err rc = binlog__body(fde, ev, len, "XID", &c);
    if (rc != COT_OK) return rc;
    cur_skip(&c, binlog__post_header_len(fde, BEV_XID));
    *xid = cur_u64(&c);
    if (!cur_ok(&c))
        return cot_err_set(COT_ERR_MALFORMED, "XID event: body shorter than 8 bytes (%zu bytes)",
                           len);
    return COT_OK;
}

static void uuid_format(const uint8_t *sid, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[k++] = '-';
        out[k++] = hex[sid[i] >> 4];
        out[k++] = hex[sid[i] & 15];
    }
    out[k] = '\0';
}

cot_err binlog_gtid_parse(const binlog_fde *fde, const uint8_t *ev, size_t len, binlog_gtid *g)
{
    binlog_header h;
    cot_err rc = binlog_header_parse(ev, len, &h);
    if (rc != COT_OK) return rc;
    const char *what = binlog_event_type_name(h.type);
    cur c;
    rc = binlog__body(fde, ev, len, what, &c);
    if (rc != COT_OK) return rc;
    memset(g, 0, sizeof(*g));
    g->server_id = h.server_id;
    if (h.type == BEV_MARIA_GTID) {
        g->seq_no = cur_u64(&c);
        g->domain_id = cur_u32(&c);
        uint8_t flags2 = cur_u8(&c);
        if (!cur_ok(&c)) goto malformed;
        g->standalone = (flags2 & MARIA_GTID_FL_STANDALONE) != 0;
        snprintf(g->text, sizeof(g->text), "%u-%u-%llu", g->domain_id, g->server_id,
                 (unsigned long long)g->seq_no);
        return COT_OK;
    }
    if (h.type == BEV_MYSQL_GTID || h.type == BEV_MYSQL_ANONYMOUS_GTID) {
        cur_skip(&c, 1); /* flags */
        const uint8_t *sid = cur_bytes(&c, 16);
        uint64_t gno = cur_u64(&c);
        if (!cur_ok(&c)) goto malformed;
        g->seq_no = gno;
        if (h.type == BEV_MYSQL_GTID) {
            char uuid[40];
            uuid_format(sid, uuid);
            snprintf(g->text, sizeof(g->text), "%s:%llu", uuid, (unsigned long long)gno);
        }
        return COT_OK;
    }
    return cot_err_set(COT_ERR_MALFORMED, "expected a GTID event, got %s", what);
malformed:
    return cot_err_set(COT_ERR_MALFORMED, "%s event: body too short (%zu bytes)", what, len);
}

/* ---- TABLE_MAP ---------------------------------------------------------- */

static bool is_mariadb(const binlog_fde *fde)
{
    return strstr(fde->server_version, "MariaDB") != NULL;
}

uint8_t binlog__string_real_type(uint16_t meta, uint32_t *max_len)
{
    uint8_t b0 = (uint8_t)(meta >> 8), b1 = (uint8_t)(meta & 0xff);
    if (meta < 256) {
        *max_len = meta;
        return CT_STRING;
    }
    if ((b0 & 0x30) != 0x30) {
        /* CHAR longer than 255 bytes: two length bits hide in the type byte */
        *max_len = (uint32_t)b1 | ((uint32_t)((b0 & 0x30) ^ 0x30) << 4);
        return (uint8_t)(b0 | 0x30);
    }
    *max_len = b1;
    return b0;
}

static uint8_t real_type(uint8_t type, uint16_t meta)
{
    uint32_t n;
    if (type == CT_STRING) return binlog__string_real_type(meta, &n);
    return type;
}

/* is_numeric_col: the columns a SIGNEDNESS bitmap has a bit for. MariaDB
 * counts YEAR (a Field_num there), MySQL does not. */
static bool is_numeric_col(uint8_t type, bool maria)
{
    switch (type) {
    case CT_TINY:
    case CT_SHORT:
    case CT_INT24:
    case CT_LONG:
    case CT_LONGLONG:
    case CT_FLOAT:
    case CT_DOUBLE:
    case CT_NEWDECIMAL:
    case CT_DECIMAL:
        return true;
    case CT_YEAR:
        return maria;
    default:
        return false;
    }
}

/* is_character_col: the columns (DEFAULT|COLUMN)_CHARSET describe. MariaDB
 * includes GEOMETRY (with the binary collation), MySQL does not. */
static bool is_character_col(uint8_t rtype, bool maria)
{
    switch (rtype) {
    case CT_STRING:
    case CT_VAR_STRING:
    case CT_VARCHAR:
    case CT_TINY_BLOB:
    case CT_MEDIUM_BLOB:
    case CT_LONG_BLOB:
    case CT_BLOB:
        return true;
    case CT_GEOMETRY:
        return maria;
    default:
        return false;
    }
}

/* tm_meta_read reads one column's TABLE_MAP metadata from the metadata block. */
static uint16_t tm_meta_read(cur *m, uint8_t type)
{
    switch (type) {
    case CT_FLOAT:
    case CT_DOUBLE:
    case CT_BLOB:
    case CT_TINY_BLOB:
    case CT_MEDIUM_BLOB:
    case CT_LONG_BLOB:
    case CT_GEOMETRY:
    case CT_JSON:
    case CT_TIMESTAMP2:
    case CT_DATETIME2:
    case CT_TIME2:
        return cur_u8(m);
    case CT_VARCHAR:
    case CT_VAR_STRING:
    case CT_BIT:
        return cur_u16(m); /* BIT: low byte bits % 8, high byte whole bytes */
    case CT_NEWDECIMAL:
    case CT_STRING:
    case CT_ENUM:
    case CT_SET:
        return (uint16_t)cur_uint_be(m, 2); /* precision|scale, real type|length */
    default:
        return 0;
    }
}

/* tm_charsets applies a DEFAULT_CHARSET or COLUMN_CHARSET field to the
 * columns selected by want_enum_set (enum/set columns or character columns). */
static bool tm_charsets(cur *v, binlog_tablemap *tm, bool maria, bool by_default,
                        bool want_enum_set)
{
    uint32_t n_sel = 0;
    for (uint32_t i = 0; i < tm->n_cols; i++) {
        uint8_t rt = real_type(tm->types[i], tm->meta[i]);
        bool es = rt == CT_ENUM || rt == CT_SET;
        if (want_enum_set ? es : is_character_col(rt, maria)) n_sel++;
    }
    uint64_t deflt = by_default ? cur_lenenc(v) : 0;
    uint32_t k = 0;
    for (uint32_t i = 0; i < tm->n_cols && cur_ok(v); i++) {
        uint8_t rt = real_type(tm->types[i], tm->meta[i]);
        bool es = rt == CT_ENUM || rt == CT_SET;
        if (!(want_enum_set ? es : is_character_col(rt, maria))) continue;
        uint64_t coll = by_default ? deflt : cur_lenenc(v);
        if (coll > 0xffff) return false;
        tm->collation[i] = (uint16_t)coll;
        k++;
    }
    if (!cur_ok(v) || k != n_sel) return false;
    if (!by_default) return cur_left(v) == 0;
    while (cur_left(v) > 0) {
        uint64_t idx = cur_lenenc(v);
        uint64_t coll = cur_lenenc(v);
        if (!cur_ok(v) || idx >= n_sel || coll > 0xffff) return false;
        uint32_t seen = 0;
        for (uint32_t i = 0; i < tm->n_cols; i++) {
            uint8_t rt = real_type(tm->types[i], tm->meta[i]);
            bool es = rt == CT_ENUM || rt == CT_SET;
            if (!(want_enum_set ? es : is_character_col(rt, maria))) continue;
            if (seen++ == idx) {
                tm->collation[i] = (uint16_t)coll;
                break;
            }
        }
    }
    return true;
}

/* tm_strvalues parses SET_STR_VALUE / ENUM_STR_VALUE into per-column lists. */
static bool tm_strvalues(cur *v, binlog_tablemap *tm, arena *a, uint8_t want, char ****out)
{
    char ***lists = arena_calloc(a, tm->n_cols * sizeof(char **));
    for (uint32_t i = 0; i < tm->n_cols; i++) {
        if (real_type(tm->types[i], tm->meta[i]) != want) continue;
        uint64_t count = cur_lenenc(v);
        if (!cur_ok(v) || count > cur_left(v)) return false;
        char **list = arena_alloc(a, (size_t)(count + 1) * sizeof(char *));
        for (uint64_t k = 0; k < count; k++) {
            uint64_t n = cur_lenenc(v);
            const uint8_t *s = cur_bytes(v, n);
            if (!cur_ok(v)) return false;
            list[k] = arena_strndup(a, (const char *)s, (size_t)n);
        }
        list[count] = NULL;
        lists[i] = list;
    }
    *out = lists;
    return cur_left(v) == 0;
}

/* tm_optional parses the optional metadata TLVs; unknown types are skipped. */
static bool tm_optional(cur *c, binlog_tablemap *tm, arena *a, bool maria)
{
    while (cur_left(c) > 0) {
        uint8_t t = cur_u8(c);
        uint64_t n = cur_lenenc(c);
        const uint8_t *p = cur_bytes(c, n);
        if (!cur_ok(c)) return false;
        cur v = cur_make(p, (size_t)n);
        switch (t) {
        case TM_SIGNEDNESS: {
            uint32_t k = 0;
            for (uint32_t i = 0; i < tm->n_cols; i++) {
                if (!is_numeric_col(tm->types[i], maria)) continue;
                if (k / 8 >= n) return false;
                tm->is_unsigned[i] = (p[k / 8] & (0x80u >> (k % 8))) != 0;
                k++;
            }
            tm->has_signedness = true;
            break;
        }
        case TM_DEFAULT_CHARSET:
        case TM_COLUMN_CHARSET:
            if (!tm_charsets(&v, tm, maria, t == TM_DEFAULT_CHARSET, false)) return false;
            tm->has_collation = true;
            break;
        case TM_ENUM_AND_SET_DEFAULT_CHARSET:
        case TM_ENUM_AND_SET_COLUMN_CHARSET:
            if (!tm_charsets(&v, tm, maria, t == TM_ENUM_AND_SET_DEFAULT_CHARSET, true))
                return false;
            break;
        case TM_COLUMN_NAME: {
            char **names = arena_alloc(a, tm->n_cols * sizeof(char *));
            for (uint32_t i = 0; i < tm->n_cols; i++) {
                uint64_t len = cur_lenenc(&v);
                const uint8_t *s = cur_bytes(&v, len);
                if (!cur_ok(&v)) return false;
                names[i] = arena_strndup(a, (const char *)s, (size_t)len);
            }
            if (cur_left(&v) != 0) return false;
            tm->col_names = names;
            break;
        }
        case TM_SET_STR_VALUE:
            if (!tm_strvalues(&v, tm, a, CT_SET, &tm->set_values)) return false;
            break;
        case TM_ENUM_STR_VALUE:
            if (!tm_strvalues(&v, tm, a, CT_ENUM, &tm->enum_values)) return false;
            break;
        case TM_SIMPLE_PRIMARY_KEY:
        case TM_PRIMARY_KEY_WITH_PREFIX: {
            uint32_t *pk = arena_alloc(a, (n ? n : 1) * sizeof(uint32_t));
            uint32_t n_pk = 0;
            while (cur_left(&v) > 0) {
                uint64_t idx = cur_lenenc(&v);
                if (t == TM_PRIMARY_KEY_WITH_PREFIX) (void)cur_lenenc(&v);
                if (!cur_ok(&v) || idx >= tm->n_cols) return false;
                pk[n_pk++] = (uint32_t)idx;
            }
            tm->pk = pk;
            tm->n_pk = n_pk;
            break;
        }
        case TM_GEOMETRY_TYPE:
        case TM_COLUMN_VISIBILITY:
        default:
            break; /* not needed: skipped by its length */
        }
    }
    return cur_ok(c);
}

cot_err binlog_tablemap_parse(const binlog_fde *fde, const uint8_t *ev, size_t len, arena *a,
                              binlog_tablemap *tm)
{
    cur c;
    cot_err rc = binlog__body(fde, ev, len, "TABLE_MAP", &c);
    if (rc != COT_OK) return rc;
    memset(tm, 0, sizeof(*tm));
    const char *why = "truncated";
    unsigned phl = binlog__post_header_len(fde, BEV_TABLE_MAP);
    if (phl == 6) {
        tm->table_id = cur_u32(&c);
    } else {
        tm->table_id = cur_u48(&c);
    }
    tm->flags = cur_u16(&c);
    if (phl > 8) cur_skip(&c, phl - 8);

    uint8_t n = cur_u8(&c);
    const uint8_t *s = cur_bytes(&c, n);
    uint8_t nul = cur_u8(&c);
    if (!cur_ok(&c) || nul != 0) goto malformed;
    tm->schema = arena_strndup(a, (const char *)s, n);
    n = cur_u8(&c);
    s = cur_bytes(&c, n);
    nul = cur_u8(&c);
    if (!cur_ok(&c) || nul != 0) goto malformed;
    tm->table = arena_strndup(a, (const char *)s, n);

    uint64_t n_cols = cur_lenenc(&c);
    if (!cur_ok(&c) || n_cols == 0 || n_cols > cur_left(&c)) {
        why = "bad column count";
        goto malformed;
    }
    if (n_cols > BINLOG_MAX_COLUMNS) {
        why = "more columns than a MySQL/MariaDB table can have (4096)";
        goto malformed;
    }
    tm->n_cols = (uint32_t)n_cols;
    const uint8_t *types = cur_bytes(&c, tm->n_cols);
    uint64_t meta_len = cur_lenenc(&c);
    const uint8_t *meta = cur_bytes(&c, meta_len);
    const uint8_t *nulls = cur_bytes(&c, (tm->n_cols + 7) / 8);
    if (!cur_ok(&c)) goto malformed;

    tm->types = arena_memdup(a, types, tm->n_cols);
    tm->meta = arena_calloc(a, tm->n_cols * sizeof(uint16_t));
    tm->nullable = arena_calloc(a, tm->n_cols);
    tm->is_unsigned = arena_calloc(a, tm->n_cols);
    tm->collation = arena_calloc(a, tm->n_cols * sizeof(uint16_t));
    cur m = cur_make(meta, (size_t)meta_len);
    for (uint32_t i = 0; i < tm->n_cols; i++) {
        tm->meta[i] = tm_meta_read(&m, tm->types[i]);
        tm->nullable[i] = (nulls[i / 8] >> (i % 8)) & 1;
    }
    if (!cur_ok(&m) || cur_left(&m) != 0) {
        why = "column metadata block does not match the column types";
        goto malformed;
    }
    if (!tm_optional(&c, tm, a, is_mariadb(fde))) {
        why = "bad optional metadata";
        goto malformed;
    }
    return COT_OK;
malformed:
    return cot_err_set(COT_ERR_MALFORMED, "TABLE_MAP event%s%s%s%s: %s at offset %zu of %zu",
                       tm->schema ? " for " : "", tm->schema ? tm->schema : "",
                       tm->table ? "." : "", tm->table ? tm->table : "", why, ev_off(ev, &c), len);
}

/* ---- rows events ---------------------------------------------------------- */

bool binlog_is_rows_event(uint8_t type)
{
    return (type >= BEV_WRITE_ROWS_V1 && type <= BEV_DELETE_ROWS_V1) ||
           (type >= BEV_WRITE_ROWS_V2 && type <= BEV_DELETE_ROWS_V2) ||
           (type >= BEV_MARIA_WRITE_ROWS_COMPRESSED_V1 && type <= BEV_MARIA_DELETE_ROWS_COMPRESSED);
}

cot_err binlog_rows_head_parse(const binlog_fde *fde, const uint8_t *ev, size_t len,
                               binlog_rows_head *rh)
{
    if (len < BINLOG_HEADER_LEN || !binlog_is_rows_event(ev[4]))
        return cot_err_set(COT_ERR_MALFORMED, "expected a rows event, got %s",
                           len > 4 ? binlog_event_type_name(ev[4]) : "a truncated header");
    uint8_t type = ev[4];
    const char *what = binlog_event_type_name(type);
    cur c;
    cot_err rc = binlog__body(fde, ev, len, what, &c);
    if (rc != COT_OK) return rc;
    unsigned phl = binlog__post_header_len(fde, type);
    rh->table_id = phl == 6 ? cur_u32(&c) : cur_u48(&c);
    rh->flags = cur_u16(&c);
    if (!cur_ok(&c))
        return cot_err_set(COT_ERR_MALFORMED, "%s event: post-header truncated (%zu bytes)", what,
                           len);
    switch (type) {
    case BEV_WRITE_ROWS_V1:
    case BEV_WRITE_ROWS_V2:
    case BEV_MARIA_WRITE_ROWS_COMPRESSED_V1:
    case BEV_MARIA_WRITE_ROWS_COMPRESSED:
        rh->op = OP_INSERT;
        break;
    case BEV_UPDATE_ROWS_V1:
    case BEV_UPDATE_ROWS_V2:
    case BEV_MARIA_UPDATE_ROWS_COMPRESSED_V1:
    case BEV_MARIA_UPDATE_ROWS_COMPRESSED:
        rh->op = OP_UPDATE;
        break;
    default:
        rh->op = OP_DELETE;
        break;
    }
    rh->compressed = type >= BEV_MARIA_WRITE_ROWS_COMPRESSED_V1;
    return COT_OK;
}

/* ---- collations --------------------------------------------------------- */

static const char *const charset_by_id[100] = {
    NULL,       "big5",    "latin2",  "dec8",    "cp850",   "latin1",   "hp8",     "koi8r",
    "latin1",   "latin2",  "swe7",    "ascii",   "ujis",    "sjis",     "cp1251",  "latin1",
    "hebrew",   NULL,      "tis620",  "euckr",   "latin7",  "latin2",   "koi8u",   "cp1251",
    "gb2312",   "greek",   "cp1250",  "latin2",  "gbk",     "cp1257",   "latin5",  "latin1",
    "armscii8", "utf8mb3", "cp1250",  "ucs2",    "cp866",   "keybcs2",  "macce",   "macroman",
    "cp852",    "latin7",  "latin7",  "macce",   "cp1250",  "utf8mb4",  "utf8mb4", "latin1",
    "latin1",   "latin1",  "cp1251",  "cp1251",  "cp1251",  "macroman", "utf16",   "utf16",
    "utf16le",  "cp1256",  "cp1257",  "cp1257",  "utf32",   "utf32",    "utf16le", "binary",
    "armscii8", "ascii",   "cp1250",  "cp1256",  "cp866",   "dec8",     "greek",   "hebrew",
    "hp8",      "keybcs2", "koi8r",   "koi8u",   "utf8mb3", "latin2",   "latin5",  "latin7",
    "cp850",    "cp852",   "swe7",    "utf8mb3", "big5",    "euckr",    "gb2312",  "gbk",
    "sjis",     "tis620",  "ucs2",    "ujis",    "geostd8", "geostd8",  "latin1",  "cp932",
    "cp932",    "eucjpms", "eucjpms", "cp1250",
};

const char *binlog_collation_charset(uint16_t id)
{
    if (id >= 1024 && id < 1280) id -= 1024; /* MariaDB NO PAD variants */
    if (id < 100) return charset_by_id[id];
    if (id >= 101 && id <= 124) return "utf16";
    if ((id >= 128 && id <= 151) || id == 159) return "ucs2";
    if (id >= 160 && id <= 183) return "utf32";
    if ((id >= 192 && id <= 215) || id == 223) return "utf8mb3";
    if (id >= 224 && id <= 247) return "utf8mb4";
    if (id >= 248 && id <= 250) return "gb18030";
    if (id >= 255 && id <= 323) return "utf8mb4";
    if (id >= 576 && id <= 578) return "utf8mb3";
    if (id >= 608 && id <= 610) return "utf8mb4";
    if (id >= 640 && id <= 642) return "ucs2";
    if (id >= 672 && id <= 674) return "utf16";
    if (id >= 736 && id <= 738) return "utf32";
    return NULL;
}

/* ---- tables ------------------------------------------------------------- */

static bool is_stringish(uint8_t type)
{
    switch (type) {
    case CT_VARCHAR:
    case CT_VAR_STRING:
    case CT_STRING:
    case CT_ENUM:
    case CT_SET:
    case CT_TINY_BLOB:
    case CT_MEDIUM_BLOB:
    case CT_LONG_BLOB:
    case CT_BLOB:
    case CT_GEOMETRY:
    case CT_JSON:
        return true;
    default:
        return false;
    }
}

static char *xstrdup(const char *s)
{
    char *r = strdup(s);
    if (!r) abort();
    return r;
}

cot_table *binlog_table_from_map(const binlog_tablemap *tm)
{
    cot_table *tbl = cot_table_new(tm->schema, tm->table, tm->n_cols);
    tbl->table_id = tm->table_id;
    for (uint32_t i = 0; i < tm->n_cols; i++) {
        cot_column *col = &tbl->cols[i];
        col->type = tm->types[i];
        col->meta = tm->meta[i];
        col->nullable = tm->nullable[i] != 0;
        col->is_unsigned = tm->has_signedness && tm->is_unsigned[i];
        col->collation = tm->collation ? tm->collation[i] : 0;
        if (is_stringish(col->type) && col->collation) {
            const char *cs = binlog_collation_charset(col->collation);
            col->charset = cs ? cot_charset_intern(cs) : NULL;
        }
        if (tm->col_names) col->name = xstrdup(tm->col_names[i]);
        char **members = tm->enum_values ? tm->enum_values[i] : NULL;
        if (!members && tm->set_values) members = tm->set_values[i];
        if (members) {
            uint32_t n = 0;
            while (members[n]) n++;
            col->members = cot_members_intern((const char *const *)members, n);
            col->n_members = col->members ? n : 0;
        }
    }
    tbl->has_names = tm->col_names != NULL;
    if (tm->n_pk) {
        tbl->pk = calloc(tm->n_pk, sizeof(uint32_t));
        if (!tbl->pk) abort();
        memcpy(tbl->pk, tm->pk, tm->n_pk * sizeof(uint32_t));
        tbl->n_pk = tm->n_pk;
    }
    return tbl;
}
