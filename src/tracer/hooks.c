/* hooks.c -- the PEP 445 allocator hooks: the hot path.
 *
 * One hook set per domain (RAW, MEM, OBJ) chains to the allocator that
 * was installed before ours, which may be CPython's own tracemalloc.  A
 * thread-local guard makes the hooks pass straight through while one of
 * them is already running on this thread: pymalloc asking the RAW domain
 * for a big block inside an OBJ call, or the interning code reading a
 * filename.  So each block is traced once, at the outermost domain.
 *
 * The tables belong to the traced interpreter's GIL, so the hot path takes
 * no lock.  RAW calls made without it go through the pending map
 * (tables.c), recording a removal BEFORE the block is freed and an
 * addition AFTER it exists, so an address is never traced by two owners
 * at once; h_realloc says why the GIL holder may drop a trace after. */
#include "hookstate.h"
#include "tasks.h"

#include <math.h>
#include <pthread.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "tmt_alloc.h"

/* The three PEP 445 domains, and the C library's functions as native.c
 * interposes them (same hooks, same rules: no second implementation). */
static tmt_domain domains[4] = {
    {PYMEM_DOMAIN_RAW, 1, 0, {0}, 0},
    {PYMEM_DOMAIN_MEM, 0, 0, {0}, 0},
    {PYMEM_DOMAIN_OBJ, 0, 0, {0}, 0},
    {PYMEM_DOMAIN_RAW, 1, 0, {0}, TMS_DOMAIN_NATIVE},
};
#define NATIVE (&domains[3])


/* Per-thread capture buffers and the last-traceback cache: if this
 * allocation's frames are exactly the last ones (same code objects and
 * offsets, which interning keeps alive), the traceback id is reused
 * without hashing. */
typedef struct tmt_tstate {
    struct tmt_tstate *next, *prev;
    uint32_t gen;   /* tmt_S.generation the cache belongs to */
    int cap;        /* frames each buffer holds */
    int n;          /* frames in last; -1: no cache */
    uint32_t tb;
    /* The traceback before last: a loop allocating on two lines (a
     * temporary and a result) alternates between them. */
    int n2;
    uint32_t tb2;
    tmt_rawframe *mem;        /* the three buffers, one block */
    tmt_rawframe *buf, *last, *last2; /* rotated, so any third */
} tmt_tstate;

/* initial-exec: the hooks read these on every call, and the general
 * dynamic TLS model costs a __tls_get_addr call each time. */
#define TMT_TLS static __thread __attribute__((tls_model("initial-exec")))
TMT_TLS tmt_tstate *tls_ts;
/* The guard, the query's quiet flag and the sampler live in one TLS
 * block shared with the lean hooks (hookstate.h). */
__thread tmt_thread tmt_T __attribute__((tls_model("initial-exec")));
#define tls_guard (tmt_T.guard)
/* Set while the module builds Python objects for a query: this thread's
 * new blocks are not traced (so no interning happens under the query's
 * feet), but frees still remove traces. */
#define tls_quiet (tmt_T.quiet)
/* The block trace_new last saw on this thread (reftrace.c: the object
 * CPython creates in it next is a fresh one, at the same traceback). */
__thread __attribute__((tls_model("initial-exec"))) uintptr_t tmt_tls_fresh;
static pthread_key_t ts_key;
static tmt_tstate *ts_list;

/* ---- sampling by bytes ---------------------------------------------------
 *
 * As tcmalloc's, Go's and jemalloc's heap profilers do: each thread counts
 * down a number of bytes drawn from an exponential distribution of mean
 * tmt_S.sample_interval; the block that reaches zero is traced (with its
 * real size) and a new count is drawn.  The count is memoryless, so a
 * block of s bytes is traced with probability 1 - exp(-s / interval)
 * whatever came before it; readers weight it by the inverse (libtma's
 * tma_sample_weight, SPEC §4.12).  A skipped block costs a subtraction;
 * its free costs a miss in the (small) table.  No lock, no libc rand,
 * nothing that allocates: a xorshift generator in thread-local state. */
#define tls_sample_left (tmt_T.sample_left)
#define tls_rng (tmt_T.rng)
#define tls_sample_gen (tmt_T.sample_gen)
static uint64_t sample_threads;    /* atomic: distinct stream per thread */

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* An exponential draw of mean iv bytes (at least 1). */
static int64_t sample_draw(size_t iv)
{
    uint64_t x = tls_rng;    /* xorshift64*: never 0 once seeded */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    tls_rng = x;
    /* u in (0, 1]: 53 random bits */
    double u = ((double)((x * 0x2545F4914F6CDD1DULL) >> 11) + 1.0) *
               (1.0 / 9007199254740992.0);
    double d = -log(u) * (double)iv;
    return d < 1.0 ? 1 : d > 9.0e18 ? INT64_MAX : (int64_t)d;
}

/* The count ran out, or this thread's count belongs to another
 * setting: 1 if the block is left out all the same (a new setting). */
static __attribute__((noinline)) int sample_slow(size_t size, size_t iv,
                                                 uint32_t gen)
{
    if (tls_sample_gen != gen) {
        uint64_t k = __atomic_fetch_add(&sample_threads, 1, __ATOMIC_RELAXED);
        tls_rng = splitmix64(tmt_S.sample_seed ^ splitmix64(k)) | 1;
        tls_sample_gen = gen;
        tls_sample_left = sample_draw(iv);
        if ((uint64_t)tls_sample_left > size) {
            tls_sample_left -= (int64_t)size;
            return 1;
        }
    }
    tls_sample_left = sample_draw(iv);
    return 0;
}

/* 1 if sampling leaves this block of `size` bytes out.  One relaxed load
 * when sampling is off; a load, two compares and a subtraction for a
 * block left out (the common case: everything here is inlined). */
static inline __attribute__((always_inline)) int sampled_out(size_t size)
{
    size_t iv = __atomic_load_n(&tmt_S.sample_interval, __ATOMIC_RELAXED);
    if (iv == 0)
        return 0;
    uint32_t gen = __atomic_load_n(&tmt_S.sample_gen, __ATOMIC_ACQUIRE);
    if (tmt_sample_skip(size, gen))
        return 1;
    return sample_slow(size, iv, gen);
}

static void ts_destroy(void *p)
{
    tmt_tstate *ts = p;
    if (ts == NULL)
        return;
    tmt_lock();
    if (ts->prev)
        ts->prev->next = ts->next;
    else
        ts_list = ts->next;
    if (ts->next)
        ts->next->prev = ts->prev;
    tmt_unlock();
    if (tls_ts == ts)
        tls_ts = NULL;
    tmt_free(ts->mem);
    tmt_free(ts);
}

/* ts_get's first call on a thread, or after the limit grew. */
static __attribute__((noinline)) tmt_tstate *ts_get_slow(int limit)
{
    tmt_tstate *ts = tls_ts;
    if (ts == NULL) {
        ts = tmt_calloc(1, sizeof *ts);
        if (ts == NULL)
            return NULL;
        ts->n = ts->n2 = -1;
        tmt_lock();
        ts->next = ts_list;
        if (ts_list)
            ts_list->prev = ts;
        ts_list = ts;
        tmt_unlock();
        pthread_setspecific(ts_key, ts);
        tls_ts = ts;
    }
    if (ts->cap < limit) {
        tmt_rawframe *b = tmt_calloc(3 * (size_t)limit, sizeof *b);
        if (b == NULL)
            return NULL;
        tmt_free(ts->mem);
        ts->mem = b;
        ts->buf = b;
        ts->last = b + limit;
        ts->last2 = b + 2 * (size_t)limit;
        ts->cap = limit;
        ts->n = ts->n2 = -1;
    }
    return ts;
}

/* This thread's state with buffers of `limit` frames; NULL on OOM.  Every
 * traced block asks: a TLS load and a compare, inline. */
static inline __attribute__((always_inline)) tmt_tstate *ts_get(int limit)
{
    tmt_tstate *ts = tls_ts;
    if (__builtin_expect(ts != NULL && ts->cap >= limit, 1))
        return ts;
    return ts_get_slow(limit);
}

void tmt_tstates_free_others(void)
{
    tmt_lock();
    tmt_tstate *list = ts_list, *mine = tls_ts;
    ts_list = mine;
    if (mine)
        mine->next = mine->prev = NULL;
    tmt_unlock();
    while (list) {
        tmt_tstate *next = list->next;
        if (list != mine) {
            tmt_free(list->mem);
            tmt_free(list);
        }
        list = next;
    }
}

static inline int tracing(void)
{
    return __atomic_load_n(&tmt_S.tracing, __ATOMIC_RELAXED);
}

#define owns_tables tmt_owns_tables   /* hookstate.h */

/* Usually 1 frame, or a few: a loop beats a call to memcmp. */
static inline int same_frames(const tmt_rawframe *a, const tmt_rawframe *b,
                              int n)
{
    for (int i = 0; i < n; i++)
        if (a[i].code != b[i].code || a[i].offset != b[i].offset)
            return 0;
    return 1;
}

/* tb_of_capture when the frames are not the last ones again. */
static __attribute__((noinline)) uint32_t tb_of_capture_slow(tmt_tstate *ts,
                                                            int n)
{
    int fresh = ts->gen == tmt_S.generation;
    uint32_t tb = fresh && ts->n2 == n && same_frames(ts->buf, ts->last2, n)
                      ? ts->tb2 : tmt_tb_intern(ts->buf, n);
    /* buf becomes last, last becomes last2, last2's buffer is reused */
    tmt_rawframe *t = ts->last2;
    ts->last2 = ts->last;
    ts->n2 = fresh ? ts->n : -1;
    ts->tb2 = ts->tb;
    ts->last = ts->buf;
    ts->buf = t;
    ts->n = tb == TMT_TB_NONE ? -1 : n;
    ts->tb = tb;
    ts->gen = tmt_S.generation;
    return tb;
}

/* The interned traceback of n frames just captured into ts->buf (tables
 * owned, drained); the per-thread cache skips hashing when they are the
 * last or the last but one again.  TMT_TB_NONE on OOM.  The common case
 * (the same frames as the last block's) is inline. */
static inline __attribute__((always_inline)) uint32_t
tb_of_capture(tmt_tstate *ts, int n)
{
    if (n == 0)
        return TMT_TB_EMPTY;
    if (__builtin_expect(ts->n == n && ts->gen == tmt_S.generation &&
                         same_frames(ts->buf, ts->last, n), 1))
        return ts->tb;
    return tb_of_capture_slow(ts, n);
}

/* Record a new block (tables owned).  Frames are captured first.
 * 1 if a trace for ptr now exists or is on its way (pending map); 0 if
 * it was not traced (filtered out, tracing stopped, out of memory). */
static int trace_new(const tmt_domain *d, void *ptr, size_t size)
{
    if (__atomic_load_n(&tmt_sf_active, __ATOMIC_RELAXED))
        tmt_sf_upkeep();
    int limit = __atomic_load_n(&tmt_S.limit, __ATOMIC_RELAXED);
    tmt_tls_fresh = (uintptr_t)ptr;   /* reftrace.c: a fresh block */
    tmt_tstate *ts = ts_get(limit);
    int n = ts != NULL ? tmt_frames_capture(ts->buf, limit)
                       : (tmt_holds_main() ? 0 : -1);
    if (n < 0) {
        /* Another interpreter's thread: its frames are not ours to keep.
         * With one GIL per process we own the tables anyway. */
        if (!TMT_ONE_GIL) {
            tmt_pend_malloc((uintptr_t)ptr, size, TMT_TB_EMPTY, 0, d->tag);
            return 1;
        }
        n = 0;
    }
    tmt_drain_if_needed();
    if (!tmt_S.tracing)
        return 0;
    if (tmt_tls_deferred && ts != NULL)
        tmt_nogil_resolve(ts->buf, n);
    uint32_t tb = tb_of_capture(ts, n);
    if (tb == TMT_TB_NONE || !tmt_tb_keep(tb) ||
        tmt_trace_add_in((uintptr_t)ptr, size, tb, d->tag) != 0)
        return 0;
    if (__atomic_load_n(&tmt_sf_active, __ATOMIC_RELAXED))
        tmt_sf_note((uintptr_t)ptr);   /* before the block is handed out */
    return 1;
}

/* A block an extension reported (extblocks.c; the caller holds the
 * tables' GIL).  The guard keeps what interning allocates untraced, as
 * inside the hooks. */
void tmt_ext_trace_new(unsigned int domain, uintptr_t ptr, size_t size)
{
    if (tls_quiet || tls_guard || !tracing())
        return;
    if (sampled_out(size)) {   /* sampled like the allocators' blocks */
        tmt_drain_if_needed();
        tmt_ext_remove(domain, ptr); /* a re-track that is not kept */
        return;
    }
    tls_guard = 1;
    int limit = __atomic_load_n(&tmt_S.limit, __ATOMIC_RELAXED);
    tmt_tstate *ts = ts_get(limit);
    int n = ts != NULL ? tmt_frames_capture(ts->buf, limit) : 0;
    tmt_drain_if_needed();
    if (tmt_S.tracing) {
        uint32_t tb = tb_of_capture(ts, n < 0 ? 0 : n);
        /* A block the allocator hooks already trace (numpy on 3.13 takes
         * its data from PyMem_RawCalloc while CPython's tracer runs, and
         * reports it too) is the same memory: counted once, there, under
         * the extension's domain (what the block is, for snapshots). */
        int own = tmt_trace_set_domain(ptr, domain);
        if (own || sampled_out(size))
            tmt_ext_remove(domain, ptr); /* (sampled as any block: one weight rule) */
        else if (tb != TMT_TB_NONE && tmt_tb_keep(tb))
            tmt_ext_add(domain, ptr, size, tb);
        else
            tmt_ext_remove(domain, ptr); /* a re-track that is not kept */
    }
    tls_guard = 0;
}

void tmt_ext_trace_del(unsigned int domain, uintptr_t ptr)
{
    if (!tracing())
        return;
    tmt_drain_if_needed();
    tmt_ext_remove(domain, ptr);
    tmt_trace own;
    if (tmt_trace_get(ptr, &own) && own.domain == domain)
        tmt_trace_set_domain(ptr, 0);   /* no longer the extension's */
}

/* The traceback of a block allocated without the GIL.  In native mode
 * the thread's own frames are read (native.c's libraries allocate
 * without the GIL: sqlite3_step, inflate) and, when they are the frames
 * this thread last interned, that traceback is used: it holds their code
 * objects, so the id stays valid (tmt_pend_malloc checks its
 * generation).  Interning needs the GIL, so other frames are not
 * interned here: the block gets the empty traceback, as it always does
 * outside native mode. */
static uint32_t nogil_tb(void *p, size_t size, uint32_t *gen)
{
    *gen = 0;
    if (!__atomic_load_n(&tmt_S.native, __ATOMIC_RELAXED))
        return TMT_TB_EMPTY;
    int limit = __atomic_load_n(&tmt_S.limit, __ATOMIC_RELAXED);
    tmt_tstate *ts = ts_get(limit);
    if (ts == NULL)
        return TMT_TB_EMPTY;
    int n = tmt_frames_capture_own(ts->buf, limit);
    if (n <= 0)
        return TMT_TB_EMPTY;
    if (n == ts->n && same_frames(ts->buf, ts->last, n)) {
        *gen = ts->gen;
        return ts->tb;
    }
    /* Frames never interned: the thread resolves them when it next
     * holds the GIL (nogiltb.c). */
    tmt_nogil_defer((uintptr_t)p, size, ts->buf, n);
    return TMT_TB_EMPTY;
}

static void pend_added(const tmt_domain *d, void *p, size_t size)
{
    uint32_t gen;
    uint32_t tb = nogil_tb(p, size, &gen);
    tmt_pend_malloc((uintptr_t)p, size, tb, gen, d->tag);
}

uint32_t tmt_current_tb(void)
{
    if (tls_guard || tls_quiet)
        return TMT_TB_NONE;
    tls_guard = 1;   /* what interning allocates is not traced */
    int limit = __atomic_load_n(&tmt_S.limit, __ATOMIC_RELAXED);
    tmt_tstate *ts = ts_get(limit);
    int n = ts != NULL ? tmt_frames_capture(ts->buf, limit) : 0;
    uint32_t tb = n < 0 ? TMT_TB_NONE : tb_of_capture(ts, n);
    tls_guard = 0;
    return tb;
}

/* A new block: trace_new itself finds out (while capturing frames)
 * whether this thread's interpreter owns the tables.  Inline in each
 * hook (gcc stopped doing it on its own as hooks.c grew: a call more per
 * block). */
static inline __attribute__((always_inline)) void
added(const tmt_domain *d, void *p, size_t size)
{
    if (d->raw && !tmt_holds_gil())
        pend_added(d, p, size);
    else
        trace_new(d, p, size);
}

void *h_malloc(void *ctx, size_t size)
{
    tmt_domain *d = ctx;
    if (tls_guard)
        return d->prev.malloc(d->prev.ctx, size);
    tls_guard = 1;
    void *p = d->prev.malloc(d->prev.ctx, size);
    if (p != NULL && tracing() && !tls_quiet && !sampled_out(size))
        added(d, p, size);
    tls_guard = 0;
    return p;
}

void *h_calloc(void *ctx, size_t nelem, size_t elsize)
{
    tmt_domain *d = ctx;
    if (tls_guard)
        return d->prev.calloc(d->prev.ctx, nelem, elsize);
    tls_guard = 1;
    void *p = d->prev.calloc(d->prev.ctx, nelem, elsize);
    if (p != NULL && tracing() && !tls_quiet &&
        !sampled_out(nelem * elsize))  /* no overflow: it succeeded */
        added(d, p, nelem * elsize);
    tls_guard = 0;
    return p;
}

/* Resize.  Owning the tables, the old trace is dropped after the call:
 * no other GIL holder can run meanwhile, and a GIL-less thread that gets
 * the old address recorded it in the pending map after our drain, so
 * it is applied after our removal.  Without the tables, the removal is
 * recorded before the call (a GIL holder may reuse the address at once)
 * and undone if the call fails. */
void *h_realloc(void *ctx, void *ptr, size_t size)
{
    tmt_domain *d = ctx;
    if (tls_guard)
        return d->prev.realloc(d->prev.ctx, ptr, size);
    tls_guard = 1;
    void *p;
    if (!tracing()) {
        p = d->prev.realloc(d->prev.ctx, ptr, size);
    } else if (owns_tables(d)) {
        if (ptr != NULL)
            tmt_trace_prefetch((uintptr_t)ptr);
        tmt_drain_if_needed();
        p = d->prev.realloc(d->prev.ctx, ptr, size);
        if (p == NULL && size == 0 && ptr != NULL) {
            tmt_trace_remove((uintptr_t)ptr, NULL); /* C realloc(p, 0) freed */
        } else if (p != NULL) {
            if (ptr != NULL && p != ptr)
                tmt_trace_remove((uintptr_t)ptr, NULL);
            /* In place, a new trace replaces the old one; when none is
             * made (the new traceback is filtered out, ...) the old one
             * must still go: the block it describes is gone. */
            if ((tls_quiet || sampled_out(size) || !trace_new(d, p, size)) &&
                p == ptr)
                tmt_trace_remove((uintptr_t)ptr, NULL);
        }
    } else {
        tmt_trace saved = {0, 0, 0};
        uint32_t gen = 0;
        if (ptr != NULL)
            gen = tmt_pend_free((uintptr_t)ptr, &saved);
        p = d->prev.realloc(d->prev.ctx, ptr, size);
        if (p == NULL && ptr != NULL && size != 0)
            tmt_pend_restore((uintptr_t)ptr, &saved, gen);
        else if (p != NULL && !tls_quiet && !sampled_out(size))
            pend_added(d, p, size);
    }
    tls_guard = 0;
    return p;
}

/* Free.  Owning the tables: drain, find the block's leaf and load its
 * cell while the allocator frees, then drop the trace (h_realloc says
 * why that order is safe).  Without them: record the removal first. */
void h_free(void *ctx, void *ptr)
{
    tmt_domain *d = ctx;
    if (tls_guard || ptr == NULL || !tracing()) {
        d->prev.free(d->prev.ctx, ptr);
        return;
    }
    tls_guard = 1;
    if (owns_tables(d)) {
        tmt_drain_if_needed();
        tmt_tt_leaf *l = tmt_trace_prefetch((uintptr_t)ptr);
        d->prev.free(d->prev.ctx, ptr);   /* changes no trace */
        if (l != NULL)
            tmt_trace_remove_in(l, (uintptr_t)ptr);
        else if ((uintptr_t)ptr & 15)
            tmt_trace_remove((uintptr_t)ptr, NULL); /* the side map's */
    } else {
        tmt_trace saved;
        tmt_pend_free((uintptr_t)ptr, &saved);
        d->prev.free(d->prev.ctx, ptr);
    }
    tls_guard = 0;
}

/* ---- native.c's entry points (native allocations, opt-in) -------------- */

void tmt_native_hooks(const PyMemAllocatorEx *libc, PyMemAllocatorEx *hooks)
{
    NATIVE->prev = *libc;
    *hooks = (PyMemAllocatorEx){NATIVE, h_malloc, h_calloc, h_realloc, h_free};
}

int tmt_native_enter(void)
{
    if (tls_guard)
        return 0;
    tls_guard = 1;
    return 1;
}

void tmt_native_leave(void *p, size_t size)
{
    if (p != NULL && tracing() && !tls_quiet && !sampled_out(size))
        added(NATIVE, p, size);
    tls_guard = 0;
}

/* A new anonymous mapping of `size` bytes at p (nativemap.c records it;
 * called between tmt_native_enter and leave): 1 and its traceback (*tb,
 * of generation *gen) if it is traced, 0 if it is not (sampling, a
 * query), -1 if nothing is traced now.  The same rules as a native
 * malloc's; the trace itself goes through the pending map, with the
 * range's other changes. */
int tmt_native_map_tb(void *p, size_t size, uint32_t *tb, uint32_t *gen)
{
    if (!tracing())
        return -1;
    if (tls_quiet || sampled_out(size))
        return 0;
    if (!owns_tables(NATIVE)) {
        *tb = nogil_tb(p, size, gen);
        return 1;
    }
    int limit = __atomic_load_n(&tmt_S.limit, __ATOMIC_RELAXED);
    tmt_tstate *ts = ts_get(limit);
    int n = ts != NULL ? tmt_frames_capture(ts->buf, limit) : 0;
    tmt_drain_if_needed();
    if (n < 0)
        n = 0;   /* not the traced interpreter's frames */
    if (tmt_tls_deferred && ts != NULL)
        tmt_nogil_resolve(ts->buf, n);
    *tb = ts != NULL ? tb_of_capture(ts, n) : TMT_TB_EMPTY;
    *gen = tmt_S.generation;
    return *tb == TMT_TB_NONE ? 0 : 1;
}

int tmt_quiet(int on)
{
    int was = tls_quiet;
    tls_quiet = on;
    return was;
}

/* pymalloc reports statistics only while it is the OBJ allocator itself,
 * so our hook steps aside for the call.  OBJ calls need the GIL, which
 * the caller holds: no other thread can see the swap. */
int tmt_call_with_obj_unhooked(int (*fn)(void *), void *arg)
{
    tmt_domain *d = &domains[2];
    PyMemAllocatorEx cur;
    PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &cur);
    int ours = d->installed && tmt_hookset_ours(&cur, d);
    if (ours)
        PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &d->prev);
    int r = fn(arg);
    if (ours)
        PyMem_SetAllocator(PYMEM_DOMAIN_OBJ, &cur);
    return r;
}

/* ---- enable / disable / clear ------------------------------------------ */

int tmt_hooks_enable(void)
{
    if (tmt_S.tracing)
        return 0;
    tmt_S.main_interp = PyThreadState_Get()->interp;
    if (tmt_S.tables.tt.dcap == 0) {
        int r = tmt_tables_init(&tmt_S.tables);
        if (r < 0) {
            PyErr_NoMemory();
            return -1;
        }
    }
    for (int i = 0; i < 3; i++) {
        tmt_domain *d = &domains[i];
        if (d->installed)
            continue; /* still chained (someone hooked above us) */
        PyMem_GetAllocator(d->dom, &d->prev);
        PyMemAllocatorEx mine;
        tmt_hookset(&mine, d); /* the lean set while sampling */
        PyMem_SetAllocator(d->dom, &mine);
        d->installed = 1;
    }
    tmt_arenas_install();
    tmt_extblocks_install(); /* without it only the allocators are seen */
    tmt_native_install();    /* if native mode is on */
    tmt_lock();
    __atomic_store_n(&tmt_S.tracing, 1, __ATOMIC_RELAXED);
    tmt_unlock();
    tmt_reftrace_sync();     /* objects from free lists (3.13) */
    return 0;
}

/* Reset everything traced; the old tables are released after the lock is
 * dropped, because dropping code references may free memory (through
 * these very hooks) or run weakref callbacks. */
static void reset_tables(void)
{
    tmt_tables old;
    tmt_lock();
    tmt_pend_clear();
    tmt_tables_detach(&old);
    tmt_arenas_forget();
    tmt_unlock();
    tmt_tables_release(&old);
}

void tmt_clear_traces(void)
{
    reset_tables();
}

void tmt_set_sampling(size_t interval, uint64_t seed)
{
    if (interval == tmt_S.sample_interval && seed == tmt_S.sample_seed)
        return;
    /* Traces of one interval only: a snapshot states one (SMPL), and the
     * peak's live sums were weighted with it (tables.c). */
    reset_tables();
    tmt_sf_setting(interval);
    tmt_S.sample_seed = seed;
    __atomic_store_n(&tmt_S.sample_interval, interval, __ATOMIC_RELAXED);
    tmt_sample_ready_set(
        __atomic_add_fetch(&tmt_S.sample_gen, 1, __ATOMIC_RELEASE));
    /* The set that suits the setting, where ours is on top (below
     * another hook either set stays correct, see hooks_sampled.c). */
    for (int i = 0; i < 3; i++) {
        tmt_domain *d = &domains[i];
        PyMemAllocatorEx cur, mine;
        if (!d->installed)
            continue;
        PyMem_GetAllocator(d->dom, &cur);
        if (tmt_hookset_ours(&cur, d)) {
            tmt_hookset(&mine, d);
            PyMem_SetAllocator(d->dom, &mine);
        }
    }
}

void tmt_hooks_disable(void)
{
    tmt_lock();
    __atomic_store_n(&tmt_S.tracing, 0, __ATOMIC_RELAXED);
    tmt_unlock();
    tmt_tasks_cancel_all(); /* the PEP: disable() cancels scheduled tasks */
    tmt_extblocks_uninstall();
    tmt_native_uninstall();
    tmt_reftrace_leave();
    /* Unhook only where we are still on top; below another hook we stay
     * in the chain as a pass-through, so its saved pointers stay valid. */
    for (int i = 0; i < 3; i++) {
        tmt_domain *d = &domains[i];
        PyMemAllocatorEx cur;
        if (!d->installed)
            continue;
        PyMem_GetAllocator(d->dom, &cur);
        if (tmt_hookset_ours(&cur, d)) {
            PyMem_SetAllocator(d->dom, &d->prev);
            d->installed = 0;
        }
    }
    tmt_arenas_uninstall();
    reset_tables();
}

/* ---- series id and fork ------------------------------------------------- */
static uint8_t series[16];

const uint8_t *tmt_series_id(void)
{
    return series;
}

int tmt_series_new(void)
{
    /* getrandom is a plain system call: safe in a fork child. */
    if (getrandom(series, sizeof series, GRND_NONBLOCK) == (ssize_t)sizeof series)
        return 0;
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    uint64_t a = (uint64_t)t.tv_nsec ^ ((uint64_t)t.tv_sec << 30);
    uint64_t b = ((uint64_t)getpid() << 32) ^ (uintptr_t)&t;
    memcpy(series, &a, 8);
    memcpy(series + 8, &b, 8);
    return 0;
}

static void fork_prepare(void)
{
    tmt_lock(); /* no pending-map operation is half done in the child */
}

static void fork_parent(void)
{
    tmt_unlock();
}

/* The child is disabled at once (the PEP) and gets its own series.  The
 * memory and code references are released later by the Python-level
 * after_in_child handler (tmt_after_fork_child), with the GIL. */
static void fork_child(void)
{
    __atomic_store_n(&tmt_S.tracing, 0, __ATOMIC_RELAXED);
    tmt_tasks_cancel_all(); /* only atomic stores: safe before Python runs */
    tmt_series_new();
    tmt_unlock();
}

int tmt_fork_init(void)
{
    if (pthread_key_create(&ts_key, ts_destroy) != 0 ||
        pthread_atfork(fork_prepare, fork_parent, fork_child) != 0)
        return -1;
    return tmt_series_new();
}
