/*
 * The batch merger: one hash table of keys per run, each key holding the
 * net effect of the run on its row (a small state machine, below), plus per
 * target table the list of its input changes so a table can fall back to
 * source order at any point. Everything a run allocates lives in the run
 * arena or in the output chunk's arena and is dropped in one call; memory is
 * proportional to the run's changes. The merger's own thread only.
 *
 * Per key state: the net effect of the run on that row. Events: D delete
 * by key; P upsert of a full image; p upsert of a partial image (absent
 * columns); u partial UPDATE ... WHERE key. "+" lays the new image's present
 * columns over the kept one.
 *
 *   state \ event   D      P       p                     u
 *   NONE            DEL    PUT     PUT                   PATCH
 *   DEL             DEL    PUT     DEL_PUT               DEL (no row to update)
 *   PUT             DEL    PUT     PUT +                 PUT +
 *   DEL_PUT         DEL    PUT     DEL_PUT +             DEL_PUT +
 *   PATCH           DEL    PUT     SEQ                   PATCH +
 *   SEQ             DEL    SEQ     SEQ                   SEQ
 *
 * DEL_PUT becomes PUT once its image is full. Emitted: DEL as a DELETE,
 * DEL_PUT as a DELETE then an INSERT, PUT as an INSERT (or an UPDATE from
 * the first before image when no insert took part), PATCH as that UPDATE,
 * SEQ as its records.
 */
#include "pipeline/merge.h"
#include "util/arena.h"
#include "util/log.h"

#include <stdlib.h>
#include <string.h>

#define TAG "merge"

/* Net effect of the run on one key. */
typedef enum mk_state {
    MK_NONE = 0, /* looked up; nothing happened to it yet */
    MK_DEL,      /* the row is gone: DELETE del */
    MK_PUT,      /* the row is img: upsert (INSERT img, or UPDATE before -> img) */
    MK_DEL_PUT,  /* deleted, then inserted with a partial img: DELETE, then INSERT */
    MK_PATCH,    /* the row, if there, got img's present columns: UPDATE before -> img */
    MK_SEQ,      /* could not be folded: the records, in order */
} mk_state;

enum { KEY_OK = 0, KEY_NULL, KEY_BAD };

typedef struct mg_ref { /* an input change, listed per table */
    const cot_change *ch;
    struct mg_ref *next;
} mg_ref;

typedef struct mg_rec { /* a change emitted as recorded */
    uint8_t op;
    cot_value *before;
    cot_value *after;
    struct mg_rec *next;
} mg_rec;

typedef struct mg_recs { /* records in order */
    mg_rec *head;
    mg_rec *tail;
} mg_recs;

typedef struct mg_key {
    uint32_t group;      /* index of its table */
    cot_value *kv;       /* the key's values (n_key of the table), run arena */
    struct mg_key *next; /* next key of the table, first-seen order */
    uint8_t st;          /* mk_state */
    uint8_t op;          /* MK_PUT: OP_INSERT or OP_UPDATE */
    bool own;            /* img is a combined copy in the output's arena */
    bool full;           /* img has every column */
    cot_value *del;      /* MK_DEL, MK_DEL_PUT: an image carrying the key */
    cot_value *before;   /* MK_PUT (OP_UPDATE), MK_PATCH: the first before image */
    cot_value *img;      /* MK_PUT, MK_DEL_PUT, MK_PATCH */
    mg_recs recs;        /* MK_SEQ */
} mg_key;

typedef struct mg_group { /* one target table of the run */
    cot_table *tbl;       /* first table object seen: the layout of every image */
    uint32_t n_key;
    uint32_t *key;      /* key column indexes, run arena */
    cot_value *scratch; /* 2 * n_key values for lookups */
    bool keyed;         /* false: its input changes are emitted in order */
    mg_ref *ref_head;   /* every input change of the table, in order */
    mg_ref *ref_tail;
    mg_key *key_head; /* its keys, first-seen order */
    mg_key *key_tail;
    mg_recs recs; /* changes with a NULL in the key, in order */
} mg_group;

typedef struct mg_tinfo { /* one table object of the run */
    const cot_table *tbl;
    uint32_t group;
} mg_tinfo;

typedef struct mg_slot {
    uint32_t idx; /* entry index + 1; 0 = empty */
    uint32_t h;
} mg_slot;

typedef struct mg_index { /* open addressing, linear probing, at most half full */
    mg_slot *slots;
    uint32_t cap; /* power of two, or 0 */
    uint32_t n;
} mg_index;

typedef struct mg_vec { /* a growable array of pointers */
    void **v;
    uint32_t n;
    uint32_t cap;
} mg_vec;

struct merger {
    merge_key_fn key_of;
    void *ctx;
    arena mem;      /* the run's nodes and key values */
    cot_chunk *out; /* the merged chunk being built; combined images live in its arena */
    bool have_last; /* a chunk was added: its position fields are below */
    bool last_tx_end;
    uint32_t last_ts;
    uint64_t last_seq;
    cot_pos last_pos;
    mg_vec groups; /* mg_group *, first-seen order */
    mg_vec tinfos; /* mg_tinfo * */
    mg_vec keys;   /* mg_key * */
    mg_index gix;  /* schema.name -> groups */
    mg_index tix;  /* table object -> tinfos */
    mg_index kix;  /* table + key values -> keys */
    mg_tinfo *last_ti;
    uint32_t n_in;
    uint32_t n_unmerged;
};

/* Indexes larger than this are freed between runs rather than cleared. */
#define MG_INDEX_KEEP (1u << 17)

static void *mg__realloc(void *p, size_t n)
{
    void *r = realloc(p, n ? n : 1);
    if (!r) abort();
    return r;
}

static void mg_vec__push(mg_vec *vec, void *p)
{
    if (vec->n == vec->cap) {
        if (vec->cap > UINT32_MAX / 2) abort();
        vec->cap = vec->cap ? vec->cap * 2 : 16;
        vec->v = mg__realloc(vec->v, (size_t)vec->cap * sizeof(void *));
    }
    vec->v[vec->n++] = p;
}

static void mg_index__clear(mg_index *ix)
{
    if (ix->cap > MG_INDEX_KEEP) {
        free(ix->slots);
        ix->slots = NULL;
        ix->cap = 0;
    } else if (ix->cap) {
        memset(ix->slots, 0, (size_t)ix->cap * sizeof(mg_slot));
    }
    ix->n = 0;
}

/* mg_index__put records entry idx under hash h, growing the table to keep
 * it at most half full. */
static void mg_index__put(mg_index *ix, uint32_t h, uint32_t idx)
{
    if ((uint64_t)(ix->n + 1) * 2 > ix->cap) {
        if (ix->cap > UINT32_MAX / 2) abort();
        uint32_t cap = ix->cap ? ix->cap * 2 : 64;
        mg_slot *slots = calloc(cap, sizeof(mg_slot));
        if (!slots) abort();
        for (uint32_t i = 0; i < ix->cap; i++) {
            if (!ix->slots[i].idx) continue;
            uint32_t j = ix->slots[i].h & (cap - 1);
            while (slots[j].idx) j = (j + 1) & (cap - 1);
            slots[j] = ix->slots[i];
        }
        free(ix->slots);
        ix->slots = slots;
        ix->cap = cap;
    }
    uint32_t j = h & (ix->cap - 1);
    while (ix->slots[j].idx) j = (j + 1) & (ix->cap - 1);
    ix->slots[j].idx = idx + 1;
    ix->slots[j].h = h;
    ix->n++;
}

/* Hashing: a multiply-xorshift mix over 8-byte words, folded to 32 bits. */
static uint64_t mg__mix(uint64_t h, uint64_t x)
{
    h ^= x;
    h *= 0x9e3779b97f4a7c15ULL;
    return h ^ (h >> 29);
}

static uint64_t mg__mix_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    h = mg__mix(h, n);
    for (; n >= 8; n -= 8, b += 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        h = mg__mix(h, w);
    }
    if (n) {
        uint64_t w = 0;
        memcpy(&w, b, n);
        h = mg__mix(h, w);
    }
    return h;
}

static bool mg__collide; /* merge__test_collide */

void merge__test_collide(bool on)
{
    mg__collide = on;
}

static uint32_t mg__fold32(uint64_t h)
{
    if (mg__collide) return 0;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (uint32_t)h;
}

static bool mg__kind_is_bytes(uint8_t kind)
{
    return kind == VK_DECIMAL || kind == VK_STRING || kind == VK_BINARY || kind == VK_TEMPORAL ||
           kind == VK_JSON || kind == VK_GEOMETRY;
}

static uint64_t mg__hash_value(uint64_t h, const cot_value *v)
{
    h = mg__mix(h, v->kind);
    switch (v->kind) {
    case VK_INT:
        return mg__mix(h, (uint64_t)v->i);
    case VK_UINT:
    case VK_BIT:
    case VK_ENUM:
    case VK_SET:
        return mg__mix(h, v->u);
    case VK_FLOAT:
    case VK_DOUBLE: {
        uint64_t w;
        memcpy(&w, &v->d, sizeof(w));
        return mg__mix(h, w);
    }
    default:
        return mg__kind_is_bytes(v->kind) ? mg__mix_bytes(h, v->s.p, v->s.len) : h;
    }
}

static bool mg__values_equal(const cot_value *a, const cot_value *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (!cot_value_equal(&a[i], &b[i])) return false;
    return true;
}

static bool mg__full(const cot_value *img, uint32_t n_cols)
{
    for (uint32_t i = 0; i < n_cols; i++)
        if (img[i].kind == VK_ABSENT) return false;
    return true;
}

/* mg__key_read copies g's key out of img into kv, a present value of over
 * (when not NULL) taking the place of img's. Returns KEY_OK, KEY_NULL when a
 * key column is NULL, or KEY_BAD when one is absent or of an unknown kind. */
static int mg__key_read(const mg_group *g, const cot_value *img, const cot_value *over,
                        cot_value *kv)
{
    int rc = KEY_OK;
    for (uint32_t k = 0; k < g->n_key; k++) {
        const cot_value *v = &img[g->key[k]];
        if (over && over[g->key[k]].kind != VK_ABSENT) v = &over[g->key[k]];
        if (v->kind == VK_ABSENT || v->kind > VK_GEOMETRY) return KEY_BAD;
        if (v->kind == VK_NULL) rc = KEY_NULL;
        kv[k] = *v;
    }
    return rc;
}

/* mg__key_find returns the key kv of group gi, creating it (state MK_NONE)
 * when create is set, else NULL when the run has not seen it. Keys live in
 * the run arena: the pointer stays valid until the run ends. */
static mg_key *mg__key_find(merger *mg, uint32_t gi, const cot_value *kv, bool create)
{
    mg_group *g = mg->groups.v[gi];
    uint64_t h64 = mg__mix(0, gi);
    for (uint32_t k = 0; k < g->n_key; k++) h64 = mg__hash_value(h64, &kv[k]);
    uint32_t h = mg__fold32(h64);
    if (mg->kix.cap) {
        uint32_t mask = mg->kix.cap - 1;
        for (uint32_t j = h & mask; mg->kix.slots[j].idx; j = (j + 1) & mask) {
            if (mg->kix.slots[j].h != h) continue;
            mg_key *k = mg->keys.v[mg->kix.slots[j].idx - 1];
            if (k->group == gi && mg__values_equal(k->kv, kv, g->n_key)) return k;
        }
    }
    if (!create) return NULL;
    mg_key *k = arena_calloc(&mg->mem, sizeof(*k));
    k->group = gi;
    k->kv = arena_memdup(&mg->mem, kv, (size_t)g->n_key * sizeof(cot_value));
    if (g->key_tail)
        g->key_tail->next = k;
    else
        g->key_head = k;
    g->key_tail = k;
    mg_index__put(&mg->kix, h, mg->keys.n);
    mg_vec__push(&mg->keys, k);
    return k;
}

static void mg__rec_add(merger *mg, mg_recs *l, cot_op op, cot_value *before, cot_value *after)
{
    mg_rec *r = arena_calloc(&mg->mem, sizeof(*r));
    r->op = (uint8_t)op;
    r->before = before;
    r->after = after;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
}

/* mg__combine returns base with top's present values laid over it: top
 * itself when it is full, else base changed in place when it is a copy of
 * ours (base_own), else a new copy in the output chunk's arena. Sets *own
 * and *full for the result. */
static cot_value *mg__combine(merger *mg, uint32_t n_cols, cot_value *base, bool base_own,
                              cot_value *top, bool top_full, bool *own, bool *full)
{
    if (top_full) {
        *own = false;
        *full = true;
        return top;
    }
    cot_value *r = base;
    if (!base_own) r = arena_memdup(&mg->out->mem, base, (size_t)n_cols * sizeof(cot_value));
    bool f = true;
    for (uint32_t i = 0; i < n_cols; i++) {
        if (top[i].kind != VK_ABSENT) r[i] = top[i];
        if (r[i].kind == VK_ABSENT) f = false;
    }
    *own = true;
    *full = f;
    return r;
}

/* mg__to_seq turns a PATCH key into a sequence: what it holds so far
 * becomes its first record. */
static void mg__to_seq(merger *mg, mg_key *k)
{
    k->recs.head = k->recs.tail = NULL;
    mg__rec_add(mg, &k->recs, OP_UPDATE, k->before, k->img);
    k->st = MK_SEQ;
}

/* mg__del folds a delete by key; img carries the key (it is what the DELETE
 * is emitted with). */
static void mg__del(mg_key *k, cot_value *img)
{
    if (k->st != MK_DEL && k->st != MK_DEL_PUT) k->del = img;
    k->st = MK_DEL;
    k->img = NULL;
    k->before = NULL;
    k->own = false;
    k->full = false;
}

/* mg__put folds an upsert of img; op OP_UPDATE comes with its before image
 * (same key), OP_INSERT without. */
static void mg__put(merger *mg, const mg_group *g, mg_key *k, cot_op op, cot_value *before,
                    cot_value *img, bool full)
{
    uint32_t n_cols = g->tbl->n_cols;
    switch (k->st) {
    case MK_NONE:
        k->st = MK_PUT;
        k->op = (uint8_t)op;
        k->before = before;
        k->img = img;
        k->own = false;
        k->full = full;
        break;
    case MK_DEL:
        /* D+I: a full image is the whole row, so the upsert alone is enough; a
         * partial one needs the delete so the missing columns get defaults. */
        k->st = full ? MK_PUT : MK_DEL_PUT;
        k->op = OP_INSERT;
        k->before = NULL;
        k->img = img;
        k->own = false;
        k->full = full;
        break;
    case MK_PUT:
        k->img = mg__combine(mg, n_cols, k->img, k->own, img, full, &k->own, &k->full);
        break;
    case MK_DEL_PUT:
        k->img = mg__combine(mg, n_cols, k->img, k->own, img, full, &k->own, &k->full);
        if (k->full) k->st = MK_PUT;
        break;
    case MK_PATCH:
        if (!full) {
            /* The row may or may not have been there: neither the patch nor the
             * insert image alone says what it is now. */
            mg__to_seq(mg, k);
            mg__rec_add(mg, &k->recs, op, op == OP_UPDATE ? before : NULL, img);
            break;
        }
        k->st = MK_PUT;
        k->op = (uint8_t)op; /* an UPDATE keeps the first before image */
        k->img = img;
        k->own = false;
        k->full = true;
        break;
    case MK_SEQ:
        mg__rec_add(mg, &k->recs, op, op == OP_UPDATE ? before : NULL, img);
        break;
    }
}

/* mg__patch folds a partial UPDATE ... WHERE key of p's present columns. */
static void mg__patch(merger *mg, const mg_group *g, mg_key *k, cot_value *before, cot_value *p)
{
    uint32_t n_cols = g->tbl->n_cols;
    switch (k->st) {
    case MK_NONE:
        k->st = MK_PATCH;
        k->before = before;
        k->img = p;
        k->own = false;
        k->full = false;
        break;
    case MK_DEL:
        break; /* no row to update */
    case MK_PUT:
    case MK_PATCH:
        k->img = mg__combine(mg, n_cols, k->img, k->own, p, false, &k->own, &k->full);
        break;
    case MK_DEL_PUT:
        k->img = mg__combine(mg, n_cols, k->img, k->own, p, false, &k->own, &k->full);
        if (k->full) {
            k->st = MK_PUT;
            k->op = OP_INSERT;
        }
        break;
    case MK_SEQ:
        mg__rec_add(mg, &k->recs, OP_UPDATE, before, p);
        break;
    }
}

/* mg__fold_update folds one UPDATE of keyed group gi; returns NULL, or why
 * the table cannot be merged exactly. */
static const char *mg__fold_update(merger *mg, uint32_t gi, const cot_change *ch)
{
    mg_group *g = mg->groups.v[gi];
    cot_value *kb = g->scratch, *ka = g->scratch + g->n_key;
    int rb = mg__key_read(g, ch->before, NULL, kb);
    int ra = mg__key_read(g, ch->before, ch->after, ka);
    if (rb == KEY_BAD || ra == KEY_BAD) return "a key column is missing from a row image";
    bool full = mg__full(ch->after, g->tbl->n_cols);

    if (rb == KEY_NULL && ra == KEY_NULL) {
        mg__rec_add(mg, &g->recs, OP_UPDATE, ch->before, ch->after);
        return NULL;
    }
    if (rb == KEY_NULL || ra == KEY_NULL) {
        /* The row enters or leaves the key space: with the whole new row that
         * is a delete on one side and an insert on the other. */
        if (!full) return "a partial image moves a row from or to a NULL key";
        if (rb == KEY_NULL) {
            mg__rec_add(mg, &g->recs, OP_DELETE, ch->before, NULL);
            mg__put(mg, g, mg__key_find(mg, gi, ka, true), OP_INSERT, NULL, ch->after, true);
        } else {
            mg__del(mg__key_find(mg, gi, kb, true), ch->before);
            mg__rec_add(mg, &g->recs, OP_INSERT, NULL, ch->after);
        }
        return NULL;
    }
    if (mg__values_equal(kb, ka, g->n_key)) {
        mg_key *k = mg__key_find(mg, gi, kb, true);
        if (full)
            mg__put(mg, g, k, OP_UPDATE, ch->before, ch->after, true);
        else
            mg__patch(mg, g, k, ch->before, ch->after);
        return NULL;
    }
    if (full) { /* a key change: what the sink does, delete the old key, upsert the new */
        mg__del(mg__key_find(mg, gi, kb, true), ch->before);
        mg__put(mg, g, mg__key_find(mg, gi, ka, true), OP_INSERT, NULL, ch->after, true);
        return NULL;
    }
    /* A partial image moves the row to another key: the new row is the old
     * one changed, so it can be folded only if the run wrote the whole old row. */
    mg_key *old = mg__key_find(mg, gi, kb, false);
    if (old && old->st == MK_DEL) return NULL; /* no row to move: the UPDATE matches nothing */
    if (!old || old->st != MK_PUT || !old->full)
        return "a partial image changes the key of a row the batch does not know whole";
    bool own, moved_full;
    cot_value *moved =
        mg__combine(mg, g->tbl->n_cols, old->img, false, ch->after, false, &own, &moved_full);
    mg__del(old, ch->before);
    mg__put(mg, g, mg__key_find(mg, gi, ka, true), OP_INSERT, NULL, moved, moved_full);
    return NULL;
}

/* mg__fold folds one change of keyed group gi; returns NULL, or why the
 * table cannot be merged exactly. */
static const char *mg__fold(merger *mg, uint32_t gi, const cot_change *ch)
{
    mg_group *g = mg->groups.v[gi];
    cot_value *kv = g->scratch;
    int rc;
    switch (ch->op) {
    case OP_INSERT:
        if (!ch->after) return "an INSERT has no row image";
        rc = mg__key_read(g, ch->after, NULL, kv);
        if (rc == KEY_BAD) return "a key column is missing from a row image";
        if (rc == KEY_NULL) {
            mg__rec_add(mg, &g->recs, OP_INSERT, NULL, ch->after);
            return NULL;
        }
        mg__put(mg, g, mg__key_find(mg, gi, kv, true), OP_INSERT, NULL, ch->after,
                mg__full(ch->after, g->tbl->n_cols));
        return NULL;
    case OP_UPDATE:
        if (!ch->before || !ch->after) return "an UPDATE lacks a row image";
        return mg__fold_update(mg, gi, ch);
    case OP_DELETE:
        if (!ch->before) return "a DELETE has no row image";
        rc = mg__key_read(g, ch->before, NULL, kv);
        if (rc == KEY_BAD) return "a key column is missing from a row image";
        if (rc == KEY_NULL) {
            mg__rec_add(mg, &g->recs, OP_DELETE, ch->before, NULL);
            return NULL;
        }
        mg__del(mg__key_find(mg, gi, kv, true), ch->before);
        return NULL;
    default:
        return "a change has an unknown operation";
    }
}

static void mg__group_unmerge(merger *mg, mg_group *g, const char *why)
{
    if (!g->keyed) return;
    g->keyed = false;
    mg->n_unmerged++;
    LOG_D(TAG, "table %s.%s: %s; its changes of this batch are applied unmerged, in order",
          g->tbl->schema, g->tbl->name, why);
}

static bool mg__column_same(const cot_column *a, const cot_column *b)
{
    if ((a->name == NULL) != (b->name == NULL)) return false;
    if (a->name && strcmp(a->name, b->name) != 0) return false;
    if ((a->charset == NULL) != (b->charset == NULL)) return false;
    if (a->charset && strcmp(a->charset, b->charset) != 0) return false;
    return a->type == b->type && a->meta == b->meta && a->is_unsigned == b->is_unsigned &&
           a->nullable == b->nullable && a->collation == b->collation;
}

/* mg__layout_same says whether tbl's images can be folded with g's: the
 * same columns in the same order, and the same key. */
static bool mg__layout_same(const mg_group *g, const cot_table *tbl, const uint32_t *key,
                            uint32_t n_key)
{
    const cot_table *t0 = g->tbl;
    if (t0 == tbl) return true;
    if (t0->n_cols != tbl->n_cols || t0->has_names != tbl->has_names || g->n_key != n_key)
        return false;
    if (n_key && memcmp(g->key, key, n_key * sizeof(uint32_t)) != 0) return false;
    for (uint32_t i = 0; i < tbl->n_cols; i++)
        if (!mg__column_same(&t0->cols[i], &tbl->cols[i])) return false;
    return true;
}

/* mg__key_cols asks for tbl's key (merge_key_fn) and checks it; *n = 0 means
 * no key. *cols points at memory of the caller or of tbl. */
static void mg__key_cols(merger *mg, const cot_table *tbl, const uint32_t **cols, uint32_t *n)
{
    *cols = NULL;
    *n = 0;
    if (!mg->key_of || !mg->key_of(mg->ctx, tbl, cols, n)) {
        *cols = tbl->pk;
        *n = tbl->n_pk;
    }
    if (*n && !*cols) *n = 0;
    for (uint32_t k = 0; k < *n; k++) {
        bool bad = (*cols)[k] >= tbl->n_cols;
        for (uint32_t j = 0; j < k && !bad; j++) bad = (*cols)[j] == (*cols)[k];
        if (bad) {
            LOG_W(TAG,
                  "table %s.%s (source %s.%s): its key names column %u twice or out of %u "
                  "columns; its changes are applied unmerged",
                  tbl->schema, tbl->name, tbl->src_schema, tbl->src_name, (unsigned)(*cols)[k],
                  (unsigned)tbl->n_cols);
            *n = 0;
            return;
        }
    }
}

/* mg__group_of returns the index of tbl's target table in the run, adding
 * the table (and the table object) on first sight. */
static uint32_t mg__group_of(merger *mg, cot_table *tbl)
{
    if (mg->last_ti && mg->last_ti->tbl == tbl) return mg->last_ti->group;
    uint32_t th = mg__fold32(mg__mix(0, (uint64_t)(uintptr_t)tbl));
    if (mg->tix.cap) {
        uint32_t mask = mg->tix.cap - 1;
        for (uint32_t j = th & mask; mg->tix.slots[j].idx; j = (j + 1) & mask) {
            mg_tinfo *ti = mg->tinfos.v[mg->tix.slots[j].idx - 1];
            if (mg->tix.slots[j].h == th && ti->tbl == tbl) {
                mg->last_ti = ti;
                return ti->group;
            }
        }
    }

    const uint32_t *key;
    uint32_t n_key;
    mg__key_cols(mg, tbl, &key, &n_key);
    const char *schema = tbl->schema ? tbl->schema : "";
    const char *name = tbl->name ? tbl->name : "";
    uint32_t gh =
        mg__fold32(mg__mix_bytes(mg__mix_bytes(0, schema, strlen(schema)), name, strlen(name)));
    uint32_t gi = UINT32_MAX;
    if (mg->gix.cap) {
        uint32_t mask = mg->gix.cap - 1;
        for (uint32_t j = gh & mask; mg->gix.slots[j].idx; j = (j + 1) & mask) {
            mg_group *g = mg->groups.v[mg->gix.slots[j].idx - 1];
            if (mg->gix.slots[j].h == gh &&
                strcmp(g->tbl->schema ? g->tbl->schema : "", schema) == 0 &&
                strcmp(g->tbl->name ? g->tbl->name : "", name) == 0) {
                gi = mg->gix.slots[j].idx - 1;
                break;
            }
        }
    }
    if (gi == UINT32_MAX) {
        mg_group *g = arena_calloc(&mg->mem, sizeof(*g));
        g->tbl = tbl;
        g->n_key = n_key;
        g->keyed = n_key > 0;
        if (n_key) {
            g->key = arena_memdup(&mg->mem, key, n_key * sizeof(uint32_t));
            g->scratch = arena_calloc(&mg->mem, 2 * (size_t)n_key * sizeof(cot_value));
        } else {
            mg->n_unmerged++;
        }
        gi = mg->groups.n;
        mg_index__put(&mg->gix, gh, gi);
        mg_vec__push(&mg->groups, g);
    } else {
        mg_group *g = mg->groups.v[gi];
        if (g->keyed && !mg__layout_same(g, tbl, key, n_key))
            mg__group_unmerge(mg, g, "two table layouts or keys in one batch");
    }

    mg_tinfo *ti = arena_calloc(&mg->mem, sizeof(*ti));
    ti->tbl = tbl;
    ti->group = gi;
    mg_index__put(&mg->tix, th, mg->tinfos.n);
    mg_vec__push(&mg->tinfos, ti);
    mg->last_ti = ti;
    return gi;
}

merger *merger_new(merge_key_fn key_of, void *ctx)
{
    merger *mg = calloc(1, sizeof(*mg));
    if (!mg) abort();
    mg->key_of = key_of;
    mg->ctx = ctx;
    arena_init(&mg->mem);
    return mg;
}

void merger_reset(merger *mg)
{
    cot_chunk_free(mg->out);
    mg->out = NULL;
    arena_reset(&mg->mem);
    mg->groups.n = mg->tinfos.n = mg->keys.n = 0;
    mg_index__clear(&mg->gix);
    mg_index__clear(&mg->tix);
    mg_index__clear(&mg->kix);
    if (mg->keys.cap > MG_INDEX_KEEP) {
        free(mg->keys.v);
        mg->keys.v = NULL;
        mg->keys.cap = 0;
    }
    mg->last_ti = NULL;
    mg->have_last = false;
    mg->n_in = 0;
    mg->n_unmerged = 0;
}

void merger_free(merger *mg)
{
    if (!mg) return;
    merger_reset(mg);
    arena_deinit(&mg->mem);
    free(mg->groups.v);
    free(mg->tinfos.v);
    free(mg->keys.v);
    free(mg->gix.slots);
    free(mg->tix.slots);
    free(mg->kix.slots);
    free(mg);
}

cot_err merger_add(merger *mg, const cot_chunk *ck)
{
    if (ck->kind != CK_ROWS && ck->kind != CK_EMPTY)
        return cot_err_set(COT_ERR_UNSUPPORTED,
                           "merge: transaction %llu is a %s chunk, a barrier no batch merges "
                           "across; finish the batch and apply it before this chunk",
                           (unsigned long long)ck->seq, ck->kind == CK_DDL ? "DDL" : "unknown");
    for (uint32_t i = 0; i < ck->n_changes; i++)
        if (!ck->changes[i].tbl)
            return cot_err_set(COT_ERR_MALFORMED,
                               "merge: change %u of transaction %llu has no table", (unsigned)i,
                               (unsigned long long)ck->seq);
    if (!mg->out) mg->out = cot_chunk_new();
    mg->have_last = true;
    mg->last_tx_end = ck->tx_end;
    mg->last_ts = ck->ts;
    mg->last_seq = ck->seq;
    mg->last_pos = ck->end_pos;

    for (uint32_t i = 0; i < ck->n_changes; i++) {
        const cot_change *ch = &ck->changes[i];
        uint32_t gi = mg__group_of(mg, ch->tbl);
        mg_group *g = mg->groups.v[gi];
        mg_ref *ref = arena_alloc(&mg->mem, sizeof(*ref));
        ref->ch = ch;
        ref->next = NULL;
        if (g->ref_tail)
            g->ref_tail->next = ref;
        else
            g->ref_head = ref;
        g->ref_tail = ref;
        mg->n_in++;
        if (!g->keyed) continue;
        const char *why = mg__fold(mg, gi, ch);
        if (why) mg__group_unmerge(mg, g, why);
    }
    return COT_OK;
}

uint32_t merger_pending(const merger *mg)
{
    return mg->n_in;
}

static void mg__emit(cot_chunk *out, cot_op op, cot_table *tbl, cot_value *before, cot_value *after)
{
    cot_change *c = cot_chunk_add(out, op, tbl);
    c->before = before;
    c->after = after;
}

static void mg__emit_recs(cot_chunk *out, cot_table *tbl, const mg_recs *l)
{
    for (const mg_rec *r = l->head; r; r = r->next)
        mg__emit(out, (cot_op)r->op, tbl, r->before, r->after);
}

/* mg__emit_upserts emits what keyed group g writes after every delete. */
static void mg__emit_upserts(cot_chunk *out, const mg_group *g)
{
    mg__emit_recs(out, g->tbl, &g->recs);
    for (const mg_key *k = g->key_head; k; k = k->next) {
        switch (k->st) {
        case MK_PUT:
            if (k->op == OP_UPDATE)
                mg__emit(out, OP_UPDATE, g->tbl, k->before, k->img);
            else
                mg__emit(out, OP_INSERT, g->tbl, NULL, k->img);
            break;
        case MK_DEL_PUT:
            mg__emit(out, OP_INSERT, g->tbl, NULL, k->img);
            break;
        case MK_PATCH:
            mg__emit(out, OP_UPDATE, g->tbl, k->before, k->img);
            break;
        case MK_SEQ:
            mg__emit_recs(out, g->tbl, &k->recs);
            break;
        default:
            break;
        }
    }
}

cot_chunk *merger_finish(merger *mg, merge_stats *st)
{
    cot_chunk *out = mg->out ? mg->out : cot_chunk_new();
    mg->out = NULL;
    uint32_t n_keys = 0;

    for (uint32_t gi = 0; gi < mg->groups.n; gi++) {
        const mg_group *g = mg->groups.v[gi];
        if (!g->keyed) continue;
        for (const mg_key *k = g->key_head; k; k = k->next) {
            n_keys++;
            if (k->st == MK_DEL || k->st == MK_DEL_PUT)
                mg__emit(out, OP_DELETE, g->tbl, k->del, NULL);
        }
    }
    for (uint32_t gi = 0; gi < mg->groups.n; gi++) {
        const mg_group *g = mg->groups.v[gi];
        if (g->keyed) {
            mg__emit_upserts(out, g);
            continue;
        }
        for (const mg_ref *r = g->ref_head; r; r = r->next)
            mg__emit(out, (cot_op)r->ch->op, r->ch->tbl, r->ch->before, r->ch->after);
    }

    out->kind = out->n_changes ? CK_ROWS : CK_EMPTY;
    if (mg->have_last) {
        out->tx_end = mg->last_tx_end;
        out->ts = mg->last_ts;
        out->seq = mg->last_seq;
        out->end_pos = mg->last_pos;
    }
    cot_chunk_account(out);
    if (st) {
        st->changes_in = mg->n_in;
        st->changes_out = out->n_changes;
        st->keys = n_keys;
        st->tables = mg->groups.n;
        st->tables_unmerged = mg->n_unmerged;
    }
    LOG_D(TAG, "batch of %u changes merged into %u (%u keys, %u of %u tables unmerged)",
          (unsigned)mg->n_in, (unsigned)out->n_changes, (unsigned)n_keys, (unsigned)mg->n_unmerged,
          (unsigned)mg->groups.n);
    merger_reset(mg);
    return out;
}
