/* tables.c -- the trace table and the interned codes, frames and
 * tracebacks, in memory the module owns (tmt_alloc.h).
 *
 * The allocators' trace table is in tracetab.c; the address maps here
 * (pending map, extension domains, the trace table's side map) use
 * linear probing and backward-shift deletion (no tombstones, so a map
 * that sees millions of malloc/free pairs never degrades).  Codes, frames
 * and tracebacks are append-only arrays with open-addressing indexes of
 * uint32 ids; they are only dropped all at once (clear_traces, disable). */
#include "core.h"
#include "tm_hash.h"
#include "traced.h"

#include "tmt_alloc.h"


/* Grow an array of n used elements of size sz to hold one more. */
static int grow(void **arr, uint64_t *cap, uint64_t n, size_t sz)
{
    if (n < *cap)
        return 0;
    uint64_t ncap = *cap ? *cap * 2 : 64;
    void *p = tmt_malloc((size_t)ncap * sz);
    if (p == NULL)
        return -1;
    if (n)
        memcpy(p, *arr, (size_t)n * sz);
    tmt_free(*arr);
    *arr = p;
    *cap = ncap;
    return 0;
}

static int grow32(void **arr, uint32_t *cap, uint32_t n, size_t sz)
{
    uint64_t c = *cap;
    if (n == UINT32_MAX - 1 || grow(arr, &c, n, sz) < 0)
        return -1;
    *cap = (uint32_t)c;
    return 0;
}

int tmt_tables_init(tmt_tables *t)
{
    memset(t, 0, sizeof *t);
    t->tb_icap = 1024;
    t->tb_idx = tmt_calloc(t->tb_icap, sizeof *t->tb_idx);
    t->code_icap = 256;
    t->code_idx = tmt_calloc(t->code_icap, sizeof *t->code_idx);
    t->frame_icap = 1024;
    t->frame_idx = tmt_calloc(t->frame_icap, sizeof *t->frame_idx);
    if (tmt_tt_init(&t->tt) < 0 || t->tb_idx == NULL || t->code_idx == NULL ||
        t->frame_idx == NULL ||
        grow32((void **)&t->tbs, &t->captbs, 0, sizeof *t->tbs) < 0) {
        tmt_tables_release(t);
        return -1;
    }
    /* Traceback 0 is the empty one, for blocks with no Python frame. */
    memset(&t->tbs[0], 0, sizeof t->tbs[0]);
    t->ntbs = 1;
    return 0;
}

void tmt_tables_release(tmt_tables *t)
{
    for (uint32_t i = 0; i < t->ncodes; i++) {
        tmt_free(t->codes[i].filename);
        Py_XDECREF(t->codes[i].code);
    }
    tmt_tt_release(&t->tt);
    for (uint32_t i = 0; i < t->next; i++)
        tmt_free(t->ext[i].tab);
    tmt_free(t->codes);
    tmt_free(t->code_idx);
    tmt_free(t->frames);
    tmt_free(t->frame_idx);
    tmt_free(t->tbs);
    tmt_free(t->tb_idx);
    tmt_free(t->tb_frames);
    tmt_free(t->pk);
    memset(t, 0, sizeof *t);
}

void tmt_tables_detach(tmt_tables *out)
{
    *out = tmt_S.tables;
    if (tmt_tables_init(&tmt_S.tables) < 0)
        memset(&tmt_S.tables, 0, sizeof tmt_S.tables);
    tmt_S.generation++;
}

size_t tmt_tables_free_bytes(void)
{
    const tmt_tables *t = &tmt_S.tables;
    size_t idx_used = t->ncodes + t->nframes + t->ntbs;
    size_t idx_cap = t->code_icap + t->frame_icap + t->tb_icap;
    return tmt_pend_bytes_free() + tmt_tt_free_bytes(&t->tt) +
           (size_t)(t->capcodes - t->ncodes) * sizeof(tmt_code) +
           (size_t)(t->capframes - t->nframes) * sizeof(tmt_frame) +
           (size_t)(t->captbs - t->ntbs) * sizeof(tmt_tb) +
           (size_t)(t->captbf - t->ntbf) * sizeof(uint32_t) +
           (idx_cap - idx_used) * sizeof(uint32_t);
}

/* ---- address maps (the trace table and the pending map) ----------------- */

/* Home slot of an address.  One multiply: block addresses (multiples of
 * 16) only need their low varying bits spread. */
static inline size_t trace_slot(uintptr_t addr, size_t mask)
{
    return (size_t)(((uint64_t)(addr >> 4) * 0x9E3779B97F4A7C15ULL) >> 24) & mask;
}

tmt_trace *tmt_map_find(tmt_trace *tab, size_t cap, uintptr_t addr)
{
    if (cap == 0 || addr == 0)
        return NULL;
    size_t mask = cap - 1;
    for (size_t i = trace_slot(addr, mask);; i = (i + 1) & mask) {
        if (tab[i].addr == addr)
            return &tab[i];
        if (tab[i].addr == 0)
            return NULL;
    }
}

static void map_put_new(tmt_trace *tab, size_t mask, const tmt_trace *e)
{
    size_t i = trace_slot(e->addr, mask);
    while (tab[i].addr != 0)
        i = (i + 1) & mask;
    tab[i] = *e;
}

/* Insert or replace e; *old gets the replaced entry (addr 0 if none). */
int tmt_map_put(tmt_trace **tab, size_t *cap, size_t *count,
                   const tmt_trace *e, tmt_trace *old)
{
    if (*cap == 0)
        return -1;
    if ((*count + 1) * 4 > *cap * 3) {
        size_t ncap = *cap * 2;
        tmt_trace *n = tmt_calloc(ncap, sizeof *n);
        if (n == NULL)
            return -1;
        for (size_t i = 0; i < *cap; i++)
            if ((*tab)[i].addr)
                map_put_new(n, ncap - 1, &(*tab)[i]);
        tmt_free(*tab);
        *tab = n;
        *cap = ncap;
    }
    /* One probe finds either the address or the empty slot to use. */
    size_t mask = *cap - 1, i;
    old->addr = 0;
    for (i = trace_slot(e->addr, mask); (*tab)[i].addr != 0;
         i = (i + 1) & mask) {
        if ((*tab)[i].addr == e->addr) {
            *old = (*tab)[i];
            (*count)--;
            break;
        }
    }
    (*tab)[i] = *e;
    (*count)++;
    return 0;
}

/* Backward-shift deletion: no tombstones, probes stay short forever. */
int tmt_map_remove(tmt_trace *tab, size_t cap, size_t *count,
                      uintptr_t addr, tmt_trace *old)
{
    if (cap == 0 || addr == 0)
        return 0;
    size_t mask = cap - 1, i;
    for (i = trace_slot(addr, mask); tab[i].addr != addr; i = (i + 1) & mask)
        if (tab[i].addr == 0)
            return 0;
    if (old)
        *old = tab[i];
    (*count)--;
    for (size_t j = (i + 1) & mask; tab[j].addr != 0; j = (j + 1) & mask) {
        size_t k = trace_slot(tab[j].addr, mask);
        /* Move j back to the hole i unless its home k lies in (i, j]. */
        int stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            tab[i] = tab[j];
            i = j;
        }
    }
    tab[i].addr = 0;
    return 1;
}

int tmt_trace_get(uintptr_t addr, tmt_trace *out)
{
    return tmt_tt_get(&tmt_S.tables.tt, addr, out);
}

int tmt_trace_set_domain(uintptr_t addr, uint32_t domain)
{
    return tmt_tt_set_domain(&tmt_S.tables.tt, addr, domain);
}

/* traced.h's sampled case: the estimate a sampled block stands for. */
void tmt_live_sampled(tmt_tb *tb, uintptr_t addr, size_t size, int sign,
                      size_t iv)
{
    uint64_t es, ec;
    tma_sample_estimate(iv, size, addr, &es, &ec);
    if (sign > 0) {
        tb->live_size += es;
        tb->live_count += ec;
    } else {
        tb->live_size -= es;
        tb->live_count -= ec;
    }
}

/* ---- extension-tracked blocks ---------------------------------------- */

static tmt_ext_map *ext_map(unsigned int domain, int create)
{
    tmt_tables *t = &tmt_S.tables;
    for (uint32_t i = 0; i < t->next; i++)
        if (t->ext[i].domain == domain)
            return &t->ext[i];
    if (!create || t->next == TMT_EXT_DOMAINS)
        return NULL; /* more domains than any real process uses: not traced */
    tmt_ext_map *m = &t->ext[t->next];
    m->tab = tmt_calloc(64, sizeof *m->tab);
    if (m->tab == NULL)
        return NULL;
    m->domain = domain;
    m->cap = 64;
    m->count = 0;
    t->next++;
    return m;
}

int tmt_ext_add(unsigned int domain, uintptr_t addr, size_t size, uint32_t tb)
{
    tmt_tables *t = &tmt_S.tables;
    tmt_ext_map *m = ext_map(domain, 1);
    tmt_trace e = {addr, size, tb}, old;
    if (m == NULL || addr == 0 || tmt_map_put(&m->tab, &m->cap, &m->count, &e, &old) < 0)
        return -1;
    tmt_traced_replace(t, &old, tb, addr, size); /* tracked again: the new size holds */
    return 0;
}

int tmt_ext_remove(unsigned int domain, uintptr_t addr)
{
    tmt_tables *t = &tmt_S.tables;
    tmt_ext_map *m = ext_map(domain, 0);
    tmt_trace o;
    if (m == NULL || !tmt_map_remove(m->tab, m->cap, &m->count, addr, &o))
        return 0;
    tmt_traced_gone(t, o.tb, o.addr, o.size);
    return 1;
}

/* ---- indexes of ids ----------------------------------------------------- */

/* Rebuild an index at twice the size; hash_of gives an id's hash. */
static int index_grow(uint32_t **idx, size_t *icap, void *ctx,
                      uint64_t (*hash_of)(void *ctx, uint32_t id))
{
    size_t ncap = *icap * 2;
    uint32_t *n = tmt_calloc(ncap, sizeof *n);
    if (n == NULL)
        return -1;
    for (size_t i = 0; i < *icap; i++) {
        uint32_t s = (*idx)[i];
        if (s == 0)
            continue;
        size_t j = (size_t)hash_of(ctx, s - 1) & (ncap - 1);
        while (n[j] != 0)
            j = (j + 1) & (ncap - 1);
        n[j] = s;
    }
    tmt_free(*idx);
    *idx = n;
    *icap = ncap;
    return 0;
}

static uint64_t code_hash(PyObject *code)
{
    return tm_mix64((uintptr_t)code);
}

static uint64_t code_hash_id(void *ctx, uint32_t id)
{
    return code_hash(((tmt_tables *)ctx)->codes[id].code);
}

static uint64_t frame_hash(uint32_t code, int32_t offset)
{
    return tm_mix64(((uint64_t)code << 32) ^ (uint32_t)offset);
}

static uint64_t frame_hash_id(void *ctx, uint32_t id)
{
    tmt_frame *f = &((tmt_tables *)ctx)->frames[id];
    return frame_hash(f->code, f->offset);
}

static uint64_t tb_hash_id(void *ctx, uint32_t id)
{
    return ((tmt_tables *)ctx)->tbs[id].hash;
}

/* co_filename's bytes in module memory, NULL if unknown.  This runs
 * inside the allocator hooks, possibly while CPython's tracemalloc holds
 * its table lock around a call into us: tmt_name_copy allocates nothing
 * through Python and raises nothing.  A name beyond the format's string
 * limit is cut there, so one absurd filename cannot fail every snapshot. */
static char *copy_filename(PyObject *code, uint32_t *len)
{
    return tmt_name_copy(tmt_code_filename(code), TMS_MAX_STRING_LEN, len);
}

static uint32_t code_intern(PyObject *code)
{
    tmt_tables *t = &tmt_S.tables;
    uint64_t h = code_hash(code);
    size_t mask = t->code_icap - 1, i;
    for (i = (size_t)h & mask; t->code_idx[i]; i = (i + 1) & mask)
        if (t->codes[t->code_idx[i] - 1].code == code)
            return t->code_idx[i] - 1;
    if (grow32((void **)&t->codes, &t->capcodes, t->ncodes, sizeof(tmt_code)))
        return TMT_TB_NONE;
    uint32_t id = t->ncodes++;
    tmt_code *c = &t->codes[id];
    c->flen = 0;
    c->filename = copy_filename(code, &c->flen);
    Py_INCREF(code);
    c->code = code;
    t->code_idx[i] = id + 1;
    if (t->ncodes * 2 > t->code_icap)
        index_grow(&t->code_idx, &t->code_icap, t, code_hash_id);
    return id;
}

int tmt_code_known(PyObject *code)
{
    const tmt_tables *t = &tmt_S.tables;
    if (t->code_icap == 0)
        return 0;
    size_t mask = t->code_icap - 1;
    for (size_t i = (size_t)code_hash(code) & mask; t->code_idx[i];
         i = (i + 1) & mask)
        if (t->codes[t->code_idx[i] - 1].code == code)
            return 1;
    return 0;
}

static uint32_t frame_intern(const tmt_rawframe *rf)
{
    tmt_tables *t = &tmt_S.tables;
    uint32_t cid = code_intern(rf->code);
    if (cid == TMT_TB_NONE)
        return TMT_TB_NONE;
    uint64_t h = frame_hash(cid, rf->offset);
    size_t mask = t->frame_icap - 1, i;
    for (i = (size_t)h & mask; t->frame_idx[i]; i = (i + 1) & mask) {
        tmt_frame *f = &t->frames[t->frame_idx[i] - 1];
        if (f->code == cid && f->offset == rf->offset)
            return t->frame_idx[i] - 1;
    }
    if (grow32((void **)&t->frames, &t->capframes, t->nframes,
               sizeof(tmt_frame)))
        return TMT_TB_NONE;
    uint32_t id = t->nframes++;
    t->frames[id] = (tmt_frame){cid, rf->offset, TMT_LINE_UNRESOLVED};
    t->frame_idx[i] = id + 1;
    if (t->nframes * 2 > t->frame_icap)
        index_grow(&t->frame_idx, &t->frame_icap, t, frame_hash_id);
    return id;
}

static uint32_t raw_hash(const tmt_rawframe *f, int n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
    for (int i = 0; i < n; i++)
        h = tm_mix64(h ^ (uintptr_t)f[i].code) + (uint32_t)f[i].offset;
    return (uint32_t)(h ^ (h >> 32));
}

static int tb_equals(const tmt_tables *t, const tmt_tb *tb,
                     const tmt_rawframe *f, int n)
{
    if (tb->nframes != (uint32_t)n)
        return 0;
    const uint32_t *ids = t->tb_frames + tb->start;
    for (int i = 0; i < n; i++) {
        const tmt_frame *fr = &t->frames[ids[i]];
        if (fr->offset != f[i].offset || t->codes[fr->code].code != f[i].code)
            return 0;
    }
    return 1;
}

uint32_t tmt_tb_intern(const tmt_rawframe *f, int n)
{
    tmt_tables *t = &tmt_S.tables;
    if (n == 0)
        return TMT_TB_EMPTY;
    if (t->tb_icap == 0)
        return TMT_TB_NONE;
    uint32_t h = raw_hash(f, n);
    size_t mask = t->tb_icap - 1, i;
    for (i = h & mask; t->tb_idx[i]; i = (i + 1) & mask) {
        const tmt_tb *tb = &t->tbs[t->tb_idx[i] - 1];
        if (tb->hash == h && tb_equals(t, tb, f, n))
            return t->tb_idx[i] - 1;
    }
    /* New traceback: intern its frames first (no index is touched until
     * every step has succeeded, except frames, which are harmless). */
    while (t->ntbf + (uint64_t)n > t->captbf)
        if (grow((void **)&t->tb_frames, &t->captbf, t->captbf,
                 sizeof(uint32_t)) < 0)
            return TMT_TB_NONE;
    if (grow32((void **)&t->tbs, &t->captbs, t->ntbs, sizeof(tmt_tb)) < 0)
        return TMT_TB_NONE;
    uint64_t start = t->ntbf;
    for (int k = 0; k < n; k++) {
        uint32_t fid = frame_intern(&f[k]);
        if (fid == TMT_TB_NONE)
            return TMT_TB_NONE;
        t->tb_frames[start + (uint64_t)k] = fid;
    }
    t->ntbf += (uint64_t)n;
    uint32_t id = t->ntbs++;
    t->tbs[id] = (tmt_tb){h, (uint32_t)n, start, 0, 0, 0, 0};
    t->tb_idx[i] = id + 1;
    if ((size_t)t->ntbs * 2 > t->tb_icap)
        index_grow(&t->tb_idx, &t->tb_icap, t, tb_hash_id);
    return id;
}

int32_t tmt_frame_line(tmt_frame *fr)
{
    if (fr->lineno == TMT_LINE_UNRESOLVED)
        fr->lineno = tmt_frame_lineno(tmt_S.tables.codes[fr->code].code, fr->offset);
    return fr->lineno;
}
