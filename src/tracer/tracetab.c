/* tracetab.c -- the allocators' trace table: address -> (size, traceback,
 * domain) for every block the hooks trace.
 *
 * Why not one hash table keyed by address (what CPython's tracer and our
 * first version do): on a heap of millions of blocks every malloc and free
 * then touches a random slot of a table of tens of megabytes, a cache and
 * TLB miss per event, and 24-byte entries at a load of 1/2 cost 48 bytes
 * per trace.  Allocators hand out neighbouring addresses together
 * (pymalloc carves 16 KiB pools into blocks of one size, one after the
 * other; glibc splits its heap top the same way), so the table follows the
 * address space instead:
 *
 *   - a directory maps a 16 KiB chunk of addresses (addr >> 14) to its
 *     leaf: a small open-addressing map of the chunk's traced blocks, or
 *     one flat array when the chunk is dense;
 *   - a leaf cell is 8 bytes: the block's 16-byte granule in the chunk
 *     (+1, so 0 is an empty cell), its size (21 bits) and its traceback id;
 *   - a leaf grows at a load of 3/4, by doubling up to 256 cells and then
 *     by steps of x1.5 and x4/3 (256, 384, 512, 768), and becomes a
 *     direct array of 1024 cells (no hashing, no probing) when it would
 *     pass 768; below 1/8 it steps down to a load of at most 3/8.  Doubling left a pool of 255
 *     64-byte blocks in a 512-cell leaf (16 bytes per trace); the ladder
 *     gives it 384 cells (12), and a pool of 511 32-byte blocks 768 cells
 *     (12) instead of the direct 1024 (16).  A leaf's size is then not a
 *     power of two: the home cell is a multiply-high of the hash by the
 *     size (tmt_tt_home), and probes wrap by comparison, not by a mask.
 *
 * A pool's blocks thus share one leaf of a few kilobytes that stays in
 * cache while the program works in that pool, and the directory (16 bytes
 * per chunk: 6,000 entries for 2 M blocks) stays in cache too.
 *
 * What does not fit a cell goes to the side map, a plain address map of
 * full entries (tmt_map_*): a block of 2 MiB - 1 bytes or more, or one an
 * extension also reported in its domain (extblocks.c; native mode's
 * TMS_DOMAIN_NATIVE is a bit of the cell instead), keeps a cell whose
 * size field is TT_ESC; an address that is not a multiple of 16 (no
 * allocator we hook returns one, but the table does not rely on it) has
 * no cell at all.
 *
 * A leaf that becomes empty stays in the directory (an event in a fresh
 * chunk then costs no malloc); empty leaves are swept when they are more
 * than half of the directory.  Caller holds the GIL (core.h). */
#include "core.h"

#include "tmt_alloc.h"
#include "traced.h"

#define TT_KEY_MASK 0x7FFu           /* granule + 1; 0: empty cell */
#define TT_SIZE_SHIFT 11
#define TT_ESC ((1u << 21) - 1)      /* size field: see the side map */
#define TT_MIN_CELLS 4
/* Leaves do not shrink below 16 cells: a pool whose short-lived blocks
 * come and go would otherwise resize its leaf on every round. */
#define TT_SHRINK_CELLS 16
#define TT_GRANULES (1u << TMT_TT_DIRECT_BITS) /* a direct leaf's cells */

/* The size ladder: x2 up to 256 cells (resizes are copies: few steps
 * while a leaf is small), then x1.5 from a power of two and x4/3 from the
 * step between (256, 384, 512, 768, then the direct 1024), where the
 * memory is. */
static uint32_t ladder_up(uint32_t n)
{
    return n < 256 ? n * 2 : (n & (n - 1)) == 0 ? n / 2 * 3 : n / 3 * 4;
}

static uint32_t ladder_down(uint32_t n)
{
    return n <= 256 ? n / 2 : (n & (n - 1)) == 0 ? n / 4 * 3 : n / 3 * 2;
}

/* The next cell of a probe: wrap by comparison (sizes are not powers of
 * two). */
static inline uint32_t probe_next(uint32_t i, uint32_t n)
{
    return ++i == n ? 0 : i;
}

/* The traceback field's top bit: the block is in TMS_DOMAIN_NATIVE (every
 * block native mode traces), so those need no side entry. */
#define TT_NATIVE ((uint64_t)1 << 63)
#define TT_TB_MAX 0x7FFFFFFFu

static inline uint64_t cell_make(uint32_t key, uint32_t size, uint32_t tb,
                                 int native)
{
    return (uint64_t)key | ((uint64_t)size << TT_SIZE_SHIFT) |
           ((uint64_t)(tb & TT_TB_MAX) << 32) | (native ? TT_NATIVE : 0);
}

static inline uint32_t cell_domain(uint64_t c)
{
    return (c & TT_NATIVE) ? TMS_DOMAIN_NATIVE : 0;
}

static inline uint32_t cell_size(uint64_t c)
{
    return (uint32_t)(c >> TT_SIZE_SHIFT) & TT_ESC;
}

static inline uint32_t cell_tb(uint64_t c)
{
    return (uint32_t)(c >> 32) & TT_TB_MAX;
}

static inline uintptr_t cell_addr(uintptr_t chunk, uint64_t c)
{
    return (chunk << TMT_TT_CHUNK_SHIFT) |
           ((uintptr_t)((c & TT_KEY_MASK) - 1) << 4);
}

static size_t leaf_bytes(uint32_t ncells)
{
    return sizeof(tmt_tt_leaf) + (size_t)ncells * sizeof(uint64_t);
}

static tmt_tt_leaf *leaf_new(uintptr_t chunk, uint32_t ncells)
{
    tmt_tt_leaf *l = tmt_calloc(1, leaf_bytes(ncells));
    if (l != NULL) {
        l->chunk = chunk;
        l->ncells = (uint16_t)ncells;
        l->grow_at = (uint16_t)(ncells == TT_GRANULES ? TT_GRANULES + 1
                                                      : ncells * 3 / 4);
        l->low = (uint16_t)(ncells > TT_SHRINK_CELLS ? ncells / 8 : 0);
    }
    return l;
}

/* Store c in a leaf that does not hold its key and has room. */
static void leaf_insert_new(tmt_tt_leaf *l, uint64_t c)
{
    uint32_t key = (uint32_t)(c & TT_KEY_MASK);
    uint32_t n = l->ncells;
    if (n == TT_GRANULES) {
        l->cell[key - 1] = c;
        return;
    }
    uint32_t i = tmt_tt_home(key, n);
    while (l->cell[i] != 0)
        i = probe_next(i, n);
    l->cell[i] = c;
}

static void dir_insert_new(tmt_tt_dirent *dir, size_t mask, uintptr_t chunk,
                           tmt_tt_leaf *l)
{
    size_t i = tmt_tt_dir_slot(chunk, mask);
    while (dir[i].leaf != NULL)
        i = (i + 1) & mask;
    dir[i].chunk = chunk;
    dir[i].leaf = l;
}

static tmt_tt_dirent *dir_find(const tmt_tracetab *tt, uintptr_t chunk)
{
    size_t mask = tt->dcap - 1;
    for (size_t i = tmt_tt_dir_slot(chunk, mask);; i = (i + 1) & mask) {
        if (tt->dir[i].leaf == NULL)
            return NULL;
        if (tt->dir[i].chunk == chunk)
            return &tt->dir[i];
    }
}

/* Rebuild the directory at ncap slots, dropping (and freeing) empty
 * leaves when sweep is set. */
static int dir_rebuild(tmt_tracetab *tt, size_t ncap, int sweep)
{
    tmt_tt_dirent *n = tmt_calloc(ncap, sizeof *n);
    if (n == NULL)
        return -1;
    size_t kept = 0;
    for (size_t i = 0; i < tt->dcap; i++) {
        tmt_tt_leaf *l = tt->dir[i].leaf;
        if (l == NULL)
            continue;
        if (sweep && l->count == 0) {
            tt->cells -= l->ncells;
            tmt_free(l);
            continue;
        }
        dir_insert_new(n, ncap - 1, tt->dir[i].chunk, l);
        kept++;
    }
    tmt_free(tt->dir);
    tt->dir = n;
    tt->dcap = ncap;
    tt->dcount = kept;
    if (sweep)
        tt->nempty = 0;
    memset(tt->recent, 0, sizeof tt->recent);   /* leaves moved or freed */
    return 0;
}

/* A new empty leaf for chunk, in the directory. */
static __attribute__((noinline)) tmt_tt_leaf *leaf_add(tmt_tracetab *tt,
                                                       uintptr_t chunk)
{
    tmt_tt_leaf *l;
    if ((tt->dcount + 1) * 2 > tt->dcap &&
        dir_rebuild(tt, tt->dcap * 2, 0) < 0)
        return NULL;
    l = leaf_new(chunk, TT_MIN_CELLS);
    if (l == NULL)
        return NULL;
    dir_insert_new(tt->dir, tt->dcap - 1, chunk, l);
    tt->dcount++;
    tt->nempty++;   /* until the caller stores its cell */
    tt->cells += TT_MIN_CELLS;
    tt->recent[chunk & (TMT_TT_RECENT - 1)] = l;
    return l;
}

/* The leaf of chunk, made (empty) if create and there is none. */
static inline __attribute__((always_inline)) tmt_tt_leaf *
leaf_of(tmt_tracetab *tt, uintptr_t chunk, int create)
{
    tmt_tt_leaf *l = tmt_tt_leaf_of(tt, chunk);
    return l == NULL && create ? leaf_add(tt, chunk) : l;
}

/* Replace leaf l by a copy of ncells cells (it must hold l's cells). */
static tmt_tt_leaf *leaf_resize(tmt_tracetab *tt, tmt_tt_leaf *l,
                                uint32_t ncells)
{
    tmt_tt_leaf *n = leaf_new(l->chunk, ncells);
    if (n == NULL)
        return NULL;
    for (uint32_t i = 0; i < l->ncells; i++)
        if (l->cell[i] != 0)
            leaf_insert_new(n, l->cell[i]);
    n->count = l->count;
    tmt_tt_dirent *e = dir_find(tt, l->chunk);
    e->leaf = n;
    tt->cells = tt->cells + ncells - l->ncells;
    tmt_free(l);
    tt->recent[n->chunk & (TMT_TT_RECENT - 1)] = n;   /* l's entry, if any */
    return n;
}

/* The cell of key in l, or NULL. */
static inline uint64_t *leaf_find(tmt_tt_leaf *l, uint32_t key)
{
    uint32_t n = l->ncells;
    if (n == TT_GRANULES) {
        uint64_t *c = &l->cell[key - 1];
        return (*c & TT_KEY_MASK) == key ? c : NULL;
    }
    for (uint32_t i = tmt_tt_home(key, n);; i = probe_next(i, n)) {
        uint64_t c = l->cell[i];
        if ((c & TT_KEY_MASK) == key)
            return &l->cell[i];
        if (c == 0)
            return NULL;
    }
}

/* The cell of key in l, or the empty cell to store it in (a hashed leaf
 * always has one): one probe for both. */
static inline uint64_t *leaf_slot(tmt_tt_leaf *l, uint32_t key)
{
    uint32_t n = l->ncells;
    if (n == TT_GRANULES)
        return &l->cell[key - 1];
    uint32_t i = tmt_tt_home(key, n);
    while (l->cell[i] != 0 && (l->cell[i] & TT_KEY_MASK) != key)
        i = probe_next(i, n);
    return &l->cell[i];
}

/* Empty the cell at i (backward-shift deletion: no tombstones). */
static inline __attribute__((always_inline)) void
leaf_erase(tmt_tt_leaf *l, uint32_t i)
{
    uint32_t n = l->ncells;
    if (n == TT_GRANULES) {
        l->cell[i] = 0;
        return;
    }
    for (uint32_t j = probe_next(i, n); l->cell[j] != 0;
         j = probe_next(j, n)) {
        uint32_t k = tmt_tt_home((uint32_t)(l->cell[j] & TT_KEY_MASK), n);
        if (k == j)
            continue;   /* at home, the usual case: it stays */
        /* Move j back to the hole i unless its home k lies in (i, j]. */
        int stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            l->cell[i] = l->cell[j];
            i = j;
        }
    }
    l->cell[i] = 0;
}

/* ---- the side map ------------------------------------------------------ */

static int side_put(tmt_tracetab *tt, const tmt_trace *e, tmt_trace *old)
{
    if (tt->scap == 0) {
        tt->side = tmt_calloc(64, sizeof *tt->side);
        if (tt->side == NULL)
            return -1;
        tt->scap = 64;
    }
    return tmt_map_put(&tt->side, &tt->scap, &tt->scount, e, old);
}

static void side_take(tmt_tracetab *tt, uintptr_t addr, tmt_trace *old)
{
    if (!tmt_map_remove(tt->side, tt->scap, &tt->scount, addr, old))
        memset(old, 0, sizeof *old); /* cannot happen: TT_ESC has one */
}

/* A cell's full entry. */
static void cell_entry(const tmt_tracetab *tt, uintptr_t chunk, uint64_t c,
                       tmt_trace *out)
{
    uintptr_t addr = cell_addr(chunk, c);
    if (cell_size(c) == TT_ESC) {
        const tmt_trace *s = tmt_map_find(tt->side, tt->scap, addr);
        if (s != NULL) {
            *out = *s;
            return;
        }
    }
    *out = (tmt_trace){addr, cell_size(c), cell_tb(c), cell_domain(c)};
}

/* ---- the table --------------------------------------------------------- */

int tmt_tt_init(tmt_tracetab *tt)
{
    memset(tt, 0, sizeof *tt);
    tt->dcap = 256;
    tt->dir = tmt_calloc(tt->dcap, sizeof *tt->dir);
    return tt->dir == NULL ? -1 : 0;
}

void tmt_tt_release(tmt_tracetab *tt)
{
    for (size_t i = 0; i < tt->dcap; i++)
        tmt_free(tt->dir[i].leaf);
    tmt_free(tt->dir);
    tmt_free(tt->side);
    memset(tt, 0, sizeof *tt);
}

static int put_slow(tmt_tracetab *tt, const tmt_trace *e, tmt_trace *old)
{
    old->addr = 0;
    if (tt->dcap == 0 || e->addr == 0)
        return -1;
    if (e->addr & 15) {   /* no cell: the side map alone */
        if (side_put(tt, e, old) < 0)
            return -1;
        tt->count += old->addr == 0;
        return 0;
    }
    uintptr_t chunk = e->addr >> TMT_TT_CHUNK_SHIFT;
    uint32_t key = (uint32_t)((e->addr >> 4) & (TT_GRANULES - 1)) + 1;
    tmt_tt_leaf *l = leaf_of(tt, chunk, 1);
    if (l == NULL)
        return -1;
    int native = e->domain == TMS_DOMAIN_NATIVE;
    int esc = e->size >= TT_ESC || e->tb > TT_TB_MAX ||
              (e->domain != 0 && !native);
    uint64_t c = esc ? cell_make(key, TT_ESC, 0, 0)
                     : cell_make(key, (uint32_t)e->size, e->tb, native);
    if (l->count + 1u > l->grow_at) {
        tmt_tt_leaf *n = leaf_resize(tt, l, ladder_up(l->ncells));
        if (n == NULL)
            return -1;
        l = n;
    }
    /* One probe finds the key (a trace we never saw freed) or the empty
     * cell to use (a hashed leaf always has one). */
    uint64_t *p = leaf_slot(l, key);
    tmt_trace o2;
    if (*p != 0)
        cell_entry(tt, chunk, *p, old);
    if (esc) {
        if (side_put(tt, e, &o2) < 0)
            return -1;
    } else if (*p != 0 && cell_size(*p) == TT_ESC) {
        side_take(tt, e->addr, &o2);
    }
    if (*p == 0) {
        if (l->count++ == 0)
            tt->nempty--;
        tt->count++;
    }
    *p = c;
    return 0;
}

/* Free the empty leaves and rebuild the directory without them. */
static __attribute__((noinline)) void sweep_empty(tmt_tracetab *tt)
{
    size_t live = tt->dcount - tt->nempty, ncap = 256;
    while (live * 2 > ncap)
        ncap *= 2;
    dir_rebuild(tt, ncap, 1); /* on OOM the empties just stay */
}

/* After a removal from l: halve it below 1/8, and sweep empty leaves when
 * they are most of the directory. */
static void leaf_after_remove(tmt_tracetab *tt, tmt_tt_leaf *l)
{
    if (l->count == 0 && ++tt->nempty > 64 && tt->nempty * 2 > tt->dcount) {
        sweep_empty(tt);
        return;
    }
    if (l->ncells > TT_SHRINK_CELLS && (size_t)l->count * 8 < l->ncells) {
        /* Down as many steps as keep the load at most 3/8: a pool that
         * empties then costs a few copies, not one per step. */
        uint32_t n = ladder_down(l->ncells);
        while (n > TT_SHRINK_CELLS && ladder_down(n) >= TT_SHRINK_CELLS &&
               (size_t)l->count * 8 <= 3u * ladder_down(n))
            n = ladder_down(n);
        leaf_resize(tt, l, n); /* on OOM the big leaf stays */
    }
}

static int remove_slow(tmt_tracetab *tt, uintptr_t addr, tmt_trace *old)
{
    tmt_trace o;
    if (tt->dcap == 0 || addr == 0)
        return 0;
    if (addr & 15) {
        if (!tmt_map_remove(tt->side, tt->scap, &tt->scount, addr, &o))
            return 0;
        tt->count--;
        if (old)
            *old = o;
        return 1;
    }
    uintptr_t chunk = addr >> TMT_TT_CHUNK_SHIFT;
    uint32_t key = (uint32_t)((addr >> 4) & (TT_GRANULES - 1)) + 1;
    tmt_tt_leaf *l = leaf_of(tt, chunk, 0);
    uint64_t *p = l != NULL ? leaf_find(l, key) : NULL;
    if (p == NULL)
        return 0;
    uint64_t c = *p;
    if (cell_size(c) == TT_ESC)
        side_take(tt, addr, &o);
    else
        o = (tmt_trace){addr, cell_size(c), cell_tb(c), cell_domain(c)};
    leaf_erase(l, (uint32_t)(p - l->cell));
    l->count--;
    tt->count--;
    leaf_after_remove(tt, l);
    if (old)
        *old = o;
    return 1;
}

int tmt_tt_get(tmt_tracetab *tt, uintptr_t addr, tmt_trace *out)
{
    if (tt->dcap == 0 || addr == 0)
        return 0;
    if (addr & 15) {
        const tmt_trace *s = tmt_map_find(tt->side, tt->scap, addr);
        if (s != NULL && out != NULL)
            *out = *s;
        return s != NULL;
    }
    uintptr_t chunk = addr >> TMT_TT_CHUNK_SHIFT;
    tmt_tt_leaf *l = leaf_of(tt, chunk, 0);
    uint64_t *p = l != NULL ? leaf_find(l, (uint32_t)((addr >> 4) &
                                                      (TT_GRANULES - 1)) + 1)
                            : NULL;
    if (p != NULL && out != NULL)
        cell_entry(tt, chunk, *p, out);
    return p != NULL;
}

int tmt_tt_set_domain(tmt_tracetab *tt, uintptr_t addr, uint32_t domain)
{
    tmt_trace e;
    if (!tmt_tt_get(tt, addr, &e))
        return 0;
    if (e.domain == domain)
        return 1;
    e.domain = domain;
    tmt_trace *s = tmt_map_find(tt->side, tt->scap, addr);
    if (s != NULL) {  /* no cell, or escaped already: the side entry says it */
        s->domain = domain;
        return 1;
    }
    tmt_tt_leaf *l = leaf_of(tt, addr >> TMT_TT_CHUNK_SHIFT, 0);
    uint64_t *p = leaf_find(l, (uint32_t)((addr >> 4) & (TT_GRANULES - 1)) + 1);
    uint32_t key = (uint32_t)(*p & TT_KEY_MASK);
    if (domain == 0 || domain == TMS_DOMAIN_NATIVE) {
        *p = cell_make(key, cell_size(*p), cell_tb(*p),
                       domain == TMS_DOMAIN_NATIVE);
        return 1;
    }
    /* Escape the cell: its domain lives in the side map from now on. */
    tmt_trace o;
    if (side_put(tt, &e, &o) < 0)
        return 1; /* out of memory: the block keeps its old domain */
    *p = cell_make(key, TT_ESC, 0, 0);
    return 1;
}

int tmt_tt_next(const tmt_tracetab *tt, tmt_tt_iter *it, tmt_trace *out)
{
    for (; it->dir < tt->dcap; it->dir++, it->cell = 0) {
        const tmt_tt_leaf *l = tt->dir[it->dir].leaf;
        if (l == NULL)
            continue;
        for (; it->cell < l->ncells; it->cell++) {
            uint64_t c = l->cell[it->cell];
            if (c != 0) {
                cell_entry(tt, l->chunk, c, out);
                it->cell++;
                return 1;
            }
        }
    }
    /* Then the addresses that have no cell. */
    for (; it->side < tt->scap; it->side++) {
        const tmt_trace *s = &tt->side[it->side];
        if (s->addr != 0 && (s->addr & 15)) {
            *out = *s;
            it->side++;
            return 1;
        }
    }
    return 0;
}

size_t tmt_tt_free_bytes(const tmt_tracetab *tt)
{
    return (tt->dcap - tt->dcount) * sizeof(tmt_tt_dirent) +
           (tt->scap - tt->scount) * sizeof(tmt_trace) +
           (tt->cells > tt->count ? tt->cells - tt->count : 0) *
               sizeof(uint64_t);
}

/* ---- the allocators' traces: one path per event ------------------------
 * Adding and removing a trace are the table's common case and the
 * traced-size bookkeeping (traced.h) in one call each, the block looked
 * up once: an aligned block of a plain size, whose chunk has a leaf, with
 * no resize due and (adding) no trace at that address already.  A free
 * passes the leaf it looked up before calling the allocator (core.h's
 * tmt_trace_prefetch).  Everything else goes out of line to put_slow /
 * remove_slow, which handle every case. */

static inline tmt_tt_leaf *leaf_at(uintptr_t addr)
{
    return (addr & 15) ? NULL
                       : tmt_tt_leaf_of(&tmt_S.tables.tt,
                                        addr >> TMT_TT_CHUNK_SHIFT);
}

static __attribute__((noinline)) int add_slow(uintptr_t addr, size_t size,
                                             uint32_t tb, uint32_t domain)
{
    tmt_tables *t = &tmt_S.tables;
    tmt_trace e = {addr, size, tb, domain}, old;
    if (put_slow(&t->tt, &e, &old) < 0)
        return -1;
    tmt_traced_replace(t, &old, tb, addr, size);
    return 0;
}

int tmt_trace_add_in(uintptr_t addr, size_t size, uint32_t tb,
                     uint32_t domain)
{
    tmt_tables *t = &tmt_S.tables;
    int native = domain == TMS_DOMAIN_NATIVE;
    tmt_tt_leaf *l = addr != 0 ? leaf_at(addr) : NULL;
    /* l is NULL for an address that is 0 or not a multiple of 16 too */
    if (__builtin_expect(l == NULL || size >= TT_ESC || tb > TT_TB_MAX ||
                         (domain != 0 && !native) || l->count >= l->grow_at,
                         0))
        return add_slow(addr, size, tb, domain);
    uint32_t key = (uint32_t)((addr >> 4) & (TT_GRANULES - 1)) + 1;
    uint64_t *p = leaf_slot(l, key);
    /* A trace there already: resized in place, or a free we never saw. */
    if (__builtin_expect(*p != 0, 0))
        return add_slow(addr, size, tb, domain);
    *p = cell_make(key, (uint32_t)size, tb, native);
    if (l->count++ == 0)
        t->tt.nempty--;
    t->tt.count++;
    tmt_traced_new(t, tb, addr, size);
    return 0;
}

static __attribute__((noinline)) int rm_slow(uintptr_t addr, tmt_trace *old)
{
    tmt_tables *t = &tmt_S.tables;
    tmt_trace o;
    if (!remove_slow(&t->tt, addr, &o))
        return 0;
    tmt_traced_gone(t, o.tb, o.addr, o.size);
    if (old)
        *old = o;
    return 1;
}

/* l: addr's leaf (aligned addr). */
static inline __attribute__((always_inline)) int
remove_common(tmt_tt_leaf *l, uintptr_t addr, tmt_trace *old)
{
    tmt_tables *t = &tmt_S.tables;
    /* No cell: an untraced block, the one case of a free that only looks. */
    uint64_t *p = leaf_find(l, (uint32_t)((addr >> 4) & (TT_GRANULES - 1)) + 1);
    if (p == NULL)
        return 0;
    uint64_t c = *p;
    if (__builtin_expect(cell_size(c) == TT_ESC || l->count - 1u < l->low, 0))
        return rm_slow(addr, old);
    leaf_erase(l, (uint32_t)(p - l->cell));
    l->count--;
    t->tt.count--;
    if (__builtin_expect(l->count == 0, 0) && ++t->tt.nempty > 64 &&
        t->tt.nempty * 2 > t->tt.dcount)
        sweep_empty(&t->tt);
    tmt_traced_gone(t, cell_tb(c), addr, cell_size(c));
    if (old)
        *old = (tmt_trace){addr, cell_size(c), cell_tb(c), cell_domain(c)};
    return 1;
}

int tmt_trace_remove_in(tmt_tt_leaf *l, uintptr_t addr)
{
    return remove_common(l, addr, NULL);
}

int tmt_trace_remove(uintptr_t addr, tmt_trace *old)
{
    if (__builtin_expect(addr == 0 || (addr & 15) != 0, 0))
        return rm_slow(addr, old);
    tmt_tt_leaf *l = leaf_at(addr);
    return l != NULL ? remove_common(l, addr, old) : 0;
}
