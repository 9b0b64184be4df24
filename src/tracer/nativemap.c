/* nativemap.c -- anonymous mappings in native mode: which address ranges
 * native.c's mmap/munmap/mremap wrappers made, so that the traced bytes
 * follow the kernel's view exactly.
 *
 * A mapping is not a block: munmap may take its head, its tail or its
 * middle, or a range covering several mappings (the kernel merges
 * neighbours of the same kind into one area), or nothing we know of;
 * MAP_FIXED and mremap replace whatever was there.  The trace table is
 * keyed by address only, so ranges are kept here: a sorted array of
 * disjoint records [lo, hi), each an anonymous mapping (or the piece of
 * one) made through the wrappers while tracing, with its traceback and
 * whether it is traced (sampling may leave it out: the record stays, so
 * its pieces and remaps stay out too).  A traced record is one trace in
 * the table, at lo, of hi - lo bytes, in TMS_DOMAIN_NATIVE.
 *
 * Cutting a range out: every record it overlaps loses its trace; the
 * remaining head and tail pieces are traced again with the same
 * traceback (while sampling, a piece of a sampled record is kept with
 * probability p(piece) / p(record), p(s) = 1 - exp(-s / interval), so a
 * piece is traced with probability p(piece) overall and its weight
 * 1 / p(piece) stays unbiased).
 *
 * The traces change through the pending map (pending.c), with the
 * records, under tmt_lock, whether or not the caller holds the GIL: one
 * order for every thread, applied by the next GIL holder before it
 * touches the table.  A reset of the tables (clear, disable, a new
 * sampling interval) bumps tmt_S.generation: the records of an older
 * generation are dropped, as the traces were.
 *
 * The map lock (below) is held by the wrappers across the system call
 * and the bookkeeping, so that a range freed by one thread and mapped
 * again by another is recorded in the order the kernel did it.  The
 * kernel serialises these calls in a process anyway (mmap_lock).
 *
 * Nothing here runs Python or waits for the GIL; memory comes from
 * tmt_alloc (the C library, never through a hook). */
#include "core.h"

#include <math.h>
#include <sched.h>
#include <unistd.h>

#include "tmt_alloc.h"

typedef struct nm_rec {
    uintptr_t lo, hi;
    uint32_t tb;
    int traced;
} nm_rec;

/* tmt_lock: the records, of generation recs_gen */
static nm_rec *recs;
static size_t nrecs, caprecs;
static uint32_t recs_gen;
static size_t nrecs_pub;   /* atomic copy of nrecs for the fast paths */

/* ---- the map lock ------------------------------------------------------ */

static int map_lock;

void tmt_nmap_lock(void)
{
    for (unsigned spins = 0;; spins++) {
        if (!__atomic_exchange_n(&map_lock, 1, __ATOMIC_ACQUIRE))
            return;
        /* The holder is in a system call (munmap of a large area takes a
         * while): yield soon. */
        while (__atomic_load_n(&map_lock, __ATOMIC_RELAXED))
            if (++spins > 16)
                sched_yield();
    }
}

void tmt_nmap_unlock(void)
{
    __atomic_store_n(&map_lock, 0, __ATOMIC_RELEASE);
}

/* In a fork child: a holder of the lock did not come along.  The records
 * changed only under tmt_lock, which the fork handlers hold. */
void tmt_nmap_atfork_child(void)
{
    __atomic_store_n(&map_lock, 0, __ATOMIC_RELAXED);
}

int tmt_nmap_any(void)
{
    return __atomic_load_n(&nrecs_pub, __ATOMIC_RELAXED) != 0;
}

size_t tmt_nmap_page_round(size_t len)
{
    static size_t page;
    if (page == 0) {
        long p = sysconf(_SC_PAGESIZE);
        page = p > 0 ? (size_t)p : 4096;
    }
    return len > SIZE_MAX - page ? SIZE_MAX & ~(page - 1)
                                 : (len + page - 1) & ~(page - 1);
}

/* ---- records (tmt_lock held) ------------------------------------------- */

static void publish(void)
{
    __atomic_store_n(&nrecs_pub, nrecs, __ATOMIC_RELAXED);
}

/* Drop the records of older tables. */
static void fresh(void)
{
    if (recs_gen != tmt_S.generation) {
        nrecs = 0;
        recs_gen = tmt_S.generation;
        publish();
    }
}

/* Room for n records; -1 on OOM (nothing changed). */
static int reserve(size_t n)
{
    if (n <= caprecs)
        return 0;
    size_t ncap = caprecs ? caprecs * 2 : 16;
    while (ncap < n)
        ncap *= 2;
    nm_rec *nr = tmt_malloc(ncap * sizeof *nr);
    if (nr == NULL)
        return -1;
    if (nrecs)
        memcpy(nr, recs, nrecs * sizeof *nr);
    tmt_free(recs);
    recs = nr;
    caprecs = ncap;
    return 0;
}

/* Index of the first record ending after addr (records are sorted and
 * disjoint, so their ends are sorted too). */
static size_t first_after(uintptr_t addr)
{
    size_t a = 0, b = nrecs;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (recs[m].hi > addr)
            b = m;
        else
            a = m + 1;
    }
    return a;
}

static uint64_t mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* While sampling: does the piece [lo, hi) of traced record r stay traced?
 * With probability p(piece) / p(r) (see the top); the draw is a hash of
 * the seed and both ranges, so a run with a fixed seed repeats. */
static int piece_kept(const nm_rec *r, uintptr_t lo, uintptr_t hi)
{
    size_t iv = __atomic_load_n(&tmt_S.sample_interval, __ATOMIC_RELAXED);
    if (iv == 0)
        return 1;
    double pr = -expm1(-(double)(r->hi - r->lo) / (double)iv);
    double pp = -expm1(-(double)(hi - lo) / (double)iv);
    uint64_t h = mix(tmt_S.sample_seed ^ mix(r->lo ^ mix(r->hi ^ mix(lo ^
                                                         mix(hi)))));
    double u = (double)(h >> 11) * (1.0 / 9007199254740992.0);
    return u * pr < pp;
}

static void trace_piece(const nm_rec *r)
{
    if (r->traced)
        tmt_pend_malloc_locked(r->lo, r->hi - r->lo, r->tb, tmt_S.generation,
                               TMS_DOMAIN_NATIVE);
}

/* Cut [lo, hi) out of the records; 1 if it overlapped any. */
static int cut(uintptr_t lo, uintptr_t hi)
{
    size_t i = first_after(lo), j = i;
    while (j < nrecs && recs[j].lo < hi)
        j++;
    if (i == j)
        return 0;
    nm_rec head = recs[i], tail = recs[j - 1];
    int keep_head = head.lo < lo, keep_tail = tail.hi > hi;
    /* One record split in two needs a slot more; without it the tail is
     * dropped, trace and record (under-counted, never wrong elsewhere). */
    if (keep_head && keep_tail && j - i == 1 && reserve(nrecs + 1) != 0)
        keep_tail = 0;
    for (size_t k = i; k < j; k++) {
        tmt_trace saved;
        if (recs[k].traced)
            tmt_pend_free_locked(recs[k].lo, &saved);
    }
    if (keep_head) {
        head.traced = head.traced && piece_kept(&recs[i], head.lo, lo);
        head.hi = lo;
        trace_piece(&head);
    }
    if (keep_tail) {
        tail.traced = tail.traced && piece_kept(&recs[j - 1], hi, tail.hi);
        tail.lo = hi;
        trace_piece(&tail);
    }
    size_t nnew = (size_t)(keep_head + keep_tail);
    memmove(&recs[i + nnew], &recs[j], (nrecs - j) * sizeof *recs);
    nrecs = nrecs - (j - i) + nnew;
    if (keep_head)
        recs[i++] = head;
    if (keep_tail)
        recs[i] = tail;
    publish();
    return 1;
}

/* A new record [lo, hi) (the range is free of records); its trace if
 * traced.  -1 on OOM: then neither exists. */
static int insert(uintptr_t lo, uintptr_t hi, int traced, uint32_t tb)
{
    if (reserve(nrecs + 1) != 0)
        return -1;
    size_t i = first_after(lo);
    memmove(&recs[i + 1], &recs[i], (nrecs - i) * sizeof *recs);
    recs[i] = (nm_rec){lo, hi, tb, traced};
    nrecs++;
    publish();
    trace_piece(&recs[i]);
    return 0;
}

/* ---- the wrappers' steps (map lock held, inside tmt_native_enter) ------ */

/* The traceback decision for a new mapping, before tmt_lock is taken
 * (interning and draining take it themselves). */
typedef struct nm_new {
    int state;          /* tmt_native_map_tb: 1 traced, 0 not, -1 off */
    uint32_t tb, gen;
} nm_new;

static nm_new decide(uintptr_t p, size_t len)
{
    nm_new n = {0, TMT_TB_EMPTY, 0};
    n.state = tmt_native_map_tb((void *)p, len, &n.tb, &n.gen);
    return n;
}

static void record_new(uintptr_t p, size_t len, const nm_new *n)
{
    uint32_t tb = n->gen == tmt_S.generation ? n->tb : TMT_TB_EMPTY;
    insert(p, p + len, n->state == 1, tb);
}

void tmt_nmap_mapped(void *addr, size_t len, int anon)
{
    uintptr_t p = (uintptr_t)addr;
    len = tmt_nmap_page_round(len);
    if (len == 0 || p > UINTPTR_MAX - len)
        return;
    nm_new n = {-1, TMT_TB_EMPTY, 0};
    if (anon)
        n = decide(p, len);
    else if (!tmt_is_tracing())
        return;
    tmt_lock();
    if (tmt_S.tracing) {
        fresh();
        cut(p, p + len);   /* MAP_FIXED replaced what was there */
        if (n.state >= 0)
            record_new(p, len, &n);
    }
    tmt_unlock();
}

void tmt_nmap_unmapped(void *addr, size_t len)
{
    uintptr_t p = (uintptr_t)addr;
    len = tmt_nmap_page_round(len);
    if (len == 0 || p > UINTPTR_MAX - len)
        return;
    tmt_lock();
    if (tmt_S.tracing) {
        fresh();
        cut(p, p + len);
    }
    tmt_unlock();
}

/* Did we make (part of) [lo, lo + len)? */
static int known(uintptr_t lo, size_t len)
{
    tmt_lock();
    fresh();
    size_t i = first_after(lo);
    int k = tmt_S.tracing && i < nrecs && recs[i].lo < lo + len;
    tmt_unlock();
    return k;
}

void tmt_nmap_remapped(void *old, size_t olen, void *addr, size_t len,
                       int keep_old)
{
    uintptr_t o = (uintptr_t)old, p = (uintptr_t)addr;
    olen = tmt_nmap_page_round(olen);
    len = tmt_nmap_page_round(len);
    if (o > UINTPTR_MAX - olen || p > UINTPTR_MAX - len)
        return;
    /* An area that is not ours (a file mapping, one made before tracing
     * or by an object we do not patch) stays not ours where it moves.
     * old_size 0 makes a second view of a shared mapping: the same
     * memory, not counted twice. */
    nm_new n = {-1, TMT_TB_EMPTY, 0};
    if (olen != 0 && known(o, olen))
        n = decide(p, len);   /* like realloc: at the caller's traceback */
    tmt_lock();
    if (tmt_S.tracing) {
        fresh();
        if (!keep_old)
            cut(o, o + olen);
        cut(p, p + len);
        if (n.state >= 0 && len != 0)
            record_new(p, len, &n);
    }
    tmt_unlock();
}

void tmt_nmap_retag(uintptr_t addr, size_t size, uint32_t tb)
{
    if (!tmt_nmap_any())
        return;
    tmt_lock();
    fresh();
    size_t i = first_after(addr);
    if (i < nrecs && recs[i].lo == addr && recs[i].hi - addr == size &&
        recs[i].traced && recs[i].tb == TMT_TB_EMPTY)
        recs[i].tb = tb;
    tmt_unlock();
}
