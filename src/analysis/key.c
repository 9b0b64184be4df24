/* key.c -- group keys by value: names of the groupings, the total order
 * of tma_key_cmp, a hash consistent with it, and a table that sums
 * (size, count) per key value across snapshots.
 *
 * Values, not ids: a key is its filename bytes (unknown = ""), its line
 * (unknown = 0), its traceback as a sequence of such frames, or its
 * address.  So (None, None) and ("", 0) are one key, as in PEP 454's
 * compare_to, and two snapshots with different string ids still match.
 * Bytewise order of UTF-8 is code-point order, which is Python's str
 * order.
 */
#include <stdlib.h>
#include <string.h>

#include "tm_hash.h"
#include "tma_internal.h"

static const char *const by_names[] = {"filename", "line", "traceback",
                                       "address", "function", "domain"};

int tma_group_by_parse(const char *name, tma_group_by *out)
{
    if (name == NULL || out == NULL)
        return TMS_E_ARG;
    for (int i = 0; i <= TMA_BY_LAST; i++) {
        if (strcmp(name, by_names[i]) == 0) {
            *out = (tma_group_by)i;
            return TMS_OK;
        }
    }
    return TMS_E_ARG;
}

const char *tma_group_by_name(tma_group_by by)
{
    if ((unsigned)by > TMA_BY_LAST)
        return NULL;
    return by_names[by];
}

/* --- values ------------------------------------------------------------ */
static void string_of(const tms_snapshot *s, uint32_t id, const char **p,
                      size_t *len)
{
    if (s == NULL || id == TMS_NONE || id >= s->nstrings) {
        *p = "";
        *len = 0;
    } else {
        *p = s->strings[id].data;
        *len = s->strings[id].len;
    }
}

static int32_t line_of(int32_t lineno)
{
    return lineno == TMS_LINENO_NONE ? 0 : lineno;
}

static int cmp_strings(const tms_snapshot *sa, uint32_t a,
                       const tms_snapshot *sb, uint32_t b)
{
    if (sa == sb && a == b)
        return 0;
    const char *pa, *pb;
    size_t la, lb;
    string_of(sa, a, &pa, &la);
    string_of(sb, b, &pb, &lb);
    int c = memcmp(pa, pb, la < lb ? la : lb);
    if (c != 0)
        return c < 0 ? -1 : 1;
    return la < lb ? -1 : la > lb;
}

static int cmp_frames(const tms_snapshot *sa, uint32_t fa,
                      const tms_snapshot *sb, uint32_t fb)
{
    if (sa == sb && fa == fb)
        return 0;
    const tms_frame *a = &sa->frames[fa], *b = &sb->frames[fb];
    int c = cmp_strings(sa, a->filename, sb, b->filename);
    if (c != 0)
        return c;
    int32_t la = line_of(a->lineno), lb = line_of(b->lineno);
    return la < lb ? -1 : la > lb;
}

static int cmp_tracebacks(const tma_key *a, const tma_key *b)
{
    if (a->snap == b->snap && a->traceback == b->traceback)
        return 0;
    uint32_t na = tms_traceback_len(a->snap, a->traceback);
    uint32_t nb = tms_traceback_len(b->snap, b->traceback);
    const uint32_t *fa = tms_traceback_frames(a->snap, a->traceback);
    const uint32_t *fb = tms_traceback_frames(b->snap, b->traceback);
    for (uint32_t i = 0; i < na && i < nb; i++) {
        int c = cmp_frames(a->snap, fa[i], b->snap, fb[i]);
        if (c != 0)
            return c;
    }
    return na < nb ? -1 : na > nb;
}

int tma_key_cmp(tma_group_by by, const tma_key *a, const tma_key *b)
{
    int c;
    switch (by) {
    case TMA_BY_FILENAME:
        return cmp_strings(a->snap, a->filename, b->snap, b->filename);
    case TMA_BY_LINE:
        c = cmp_strings(a->snap, a->filename, b->snap, b->filename);
        if (c != 0)
            return c;
        return line_of(a->lineno) < line_of(b->lineno)
                   ? -1
                   : line_of(a->lineno) > line_of(b->lineno);
    case TMA_BY_TRACEBACK:
        return cmp_tracebacks(a, b);
    case TMA_BY_FUNCTION:
        c = cmp_strings(a->snap, a->filename, b->snap, b->filename);
        if (c != 0)
            return c;
        return cmp_strings(a->snap, a->function, b->snap, b->function);
    case TMA_BY_DOMAIN:
        return a->domain < b->domain ? -1 : a->domain > b->domain;
    case TMA_BY_ADDRESS:
    default:
        return a->address < b->address ? -1 : a->address > b->address;
    }
}

/* --- hash -------------------------------------------------------------- */
static uint64_t hash_string(const tms_snapshot *s, uint32_t id)
{
    const char *p;
    size_t len;
    string_of(s, id, &p, &len);
    return tm_hash_bytes(p, len);
}

static uint64_t hash_line(const tms_snapshot *s, uint32_t name,
                          int32_t lineno)
{
    return tm_mix64(hash_string(s, name) ^
                 ((uint64_t)(uint32_t)line_of(lineno) * 0x9e3779b97f4a7c15ULL));
}

uint64_t tma_key_hash(tma_group_by by, const tma_key *k)
{
    switch (by) {
    case TMA_BY_FILENAME:
        return hash_string(k->snap, k->filename);
    case TMA_BY_LINE:
        return hash_line(k->snap, k->filename, k->lineno);
    case TMA_BY_FUNCTION:
        return tm_mix64(hash_string(k->snap, k->filename) ^
                        (hash_string(k->snap, k->function) *
                         0x9e3779b97f4a7c15ULL));
    case TMA_BY_TRACEBACK: {
        uint32_t n = tms_traceback_len(k->snap, k->traceback);
        const uint32_t *f = tms_traceback_frames(k->snap, k->traceback);
        uint64_t h = tm_mix64(n + 0x9e3779b97f4a7c15ULL);
        for (uint32_t i = 0; i < n; i++) {
            const tms_frame *fr = &k->snap->frames[f[i]];
            h = tm_mix64(h ^ hash_line(k->snap, fr->filename, fr->lineno)) + i;
        }
        return h;
    }
    case TMA_BY_DOMAIN:
        return tm_mix64((uint64_t)k->domain + 0x9e3779b97f4a7c15ULL);
    case TMA_BY_ADDRESS:
    default:
        return tm_mix64(k->address);
    }
}

/* --- accumulation table ------------------------------------------------ */
static int acc_rehash(tma_acc *a, size_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (slots == NULL)
        return TMS_E_NOMEM;
    size_t mask = nslots - 1;
    for (size_t i = 0; i < a->n; i++) {
        size_t h = (size_t)tma_key_hash(a->by, &a->entries[i].key) & mask;
        while (slots[h] != 0)
            h = (h + 1) & mask;
        slots[h] = (uint32_t)(i + 1);
    }
    free(a->slots);
    a->slots = slots;
    a->mask = mask;
    return TMS_OK;
}

int tma_acc_init(tma_acc *a, tma_group_by by, size_t expect)
{
    memset(a, 0, sizeof *a);
    a->by = by;
    size_t nslots = 16;
    while (nslots < expect * 2 + 2)
        nslots <<= 1;
    /* room for every key up front: growing by doubling would copy the
     * entries log(n) times on a million-address diff */
    if (expect > 0) {
        a->entries = malloc(expect * sizeof *a->entries);
        if (a->entries == NULL)
            return TMS_E_NOMEM;
        a->cap = expect;
    }
    return acc_rehash(a, nslots);
}

int tma_acc_index(tma_acc *a, const tma_key *key, size_t *index)
{
    if (a->n >= UINT32_MAX - 1)
        return TMS_E_LIMIT;
    size_t h = (size_t)tma_key_hash(a->by, key) & a->mask;
    while (a->slots[h] != 0) {
        tma_acc_entry *e = &a->entries[a->slots[h] - 1];
        if (tma_key_cmp(a->by, &e->key, key) == 0) {
            *index = a->slots[h] - 1;
            return TMS_OK;
        }
        h = (h + 1) & a->mask;
    }
    uint64_t cap = a->cap;
    if (tms_grow((void **)&a->entries, &cap, a->n + 1, sizeof *a->entries) < 0)
        return TMS_E_NOMEM;
    a->cap = (size_t)cap;
    tma_acc_entry *e = &a->entries[a->n];
    memset(e, 0, sizeof *e);
    e->key = *key;
    *index = a->n;
    a->slots[h] = (uint32_t)(++a->n);
    /* keep load <= 1/2 */
    if (a->n * 2 > a->mask + 1)
        return acc_rehash(a, (a->mask + 1) * 2);
    return TMS_OK;
}

int tma_acc_add(tma_acc *a, const tma_key *key, int slot, uint64_t size,
                uint64_t count)
{
    size_t i;
    int rc = tma_acc_index(a, key, &i);
    if (rc < 0)
        return rc;
    tma_acc_entry *e = &a->entries[i];
    e->size[slot] += size;
    e->count[slot] += count;
    e->seen[slot] = 1;
    return TMS_OK;
}

void tma_acc_free(tma_acc *a)
{
    if (a == NULL)
        return;
    free(a->entries);
    free(a->slots);
    memset(a, 0, sizeof *a);
}

/* --- keys moved to another snapshot -------------------------------------- */
static int copy_string(const tms_snapshot *s, uint32_t id, tms_snapshot *dst,
                       uint32_t *out)
{
    if (id == TMS_NONE || id >= s->nstrings) {
        *out = TMS_NONE;
        return TMS_OK;
    }
    return tms_snapshot_intern_string(dst, s->strings[id].data,
                                      s->strings[id].len, out);
}

/* Frame f of s (with its function's name) interned into dst. */
static int copy_frame(const tms_snapshot *s, uint32_t f, tms_snapshot *dst,
                      uint32_t *out)
{
    uint32_t name, func;
    int rc = copy_string(s, s->frames[f].filename, dst, &name);
    if (rc == TMS_OK)
        rc = tms_snapshot_intern_frame(dst, name, s->frames[f].lineno, out);
    if (rc == TMS_OK && tms_frame_function(s, f) != TMS_NONE) {
        rc = copy_string(s, tms_frame_function(s, f), dst, &func);
        if (rc == TMS_OK)
            rc = tms_snapshot_set_function(dst, *out, func);
    }
    return rc;
}

int tma_key_copy(tma_group_by by, const tma_key *key, tms_snapshot *dst,
                 tma_key *out, tms_error *err)
{
    const tms_snapshot *s = key->snap;
    tma_key k = *key;
    int rc = TMS_OK;
    k.snap = dst;
    switch (by) {
    case TMA_BY_FILENAME:
        rc = copy_string(s, key->filename, dst, &k.filename);
        k.function = TMS_NONE;
        break;
    case TMA_BY_LINE:
    case TMA_BY_FUNCTION:
        /* LINE keys carry their frame's function for display, FUNCTION
         * keys compare by it: both move with the key */
        rc = copy_string(s, key->filename, dst, &k.filename);
        if (rc == TMS_OK)
            rc = copy_string(s, key->function, dst, &k.function);
        break;
    case TMA_BY_TRACEBACK: {
        uint32_t n = tms_traceback_len(s, key->traceback);
        const uint32_t *fr = tms_traceback_frames(s, key->traceback);
        uint32_t *mine = malloc(((size_t)n + 1) * sizeof *mine);
        if (mine == NULL) {
            rc = TMS_E_NOMEM;
            break;
        }
        for (uint32_t i = 0; rc == TMS_OK && i < n; i++)
            rc = copy_frame(s, fr[i], dst, &mine[i]);
        if (rc == TMS_OK)
            rc = tms_snapshot_intern_traceback(dst, mine, n, &k.traceback);
        free(mine);
        break;
    }
    case TMA_BY_ADDRESS:
    case TMA_BY_DOMAIN:
    default:
        break;
    }
    if (rc < 0)
        return tma_fail(err, rc, "cannot keep a key: %s", tms_strerror(rc));
    *out = k;
    return TMS_OK;
}
