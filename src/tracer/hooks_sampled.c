/* hooks_sampled.c -- the lean allocator hooks installed while sampling.
 *
 * While sampling, almost no block is traced and almost no free meets a
 * trace, so the full hooks' work per call (the thread's table ownership,
 * the pending-map drain, the prefetch, the register saves around a call
 * that needs them afterwards) is mostly waste.  These hooks do only the
 * test that decides the common case and hand everything else, unchanged,
 * to the full hooks in hooks.c:
 *
 *   malloc, calloc: the countdown (tmt_sample_skip_ready) says the block is
 *     left out; the block is allocated under the guard, so that what the
 *     allocator below asks the RAW domain (pymalloc's big blocks, its
 *     arena vector) is neither counted nor traced, as with the full set.
 *   free: the free filter (hookstate.h) says no trace can be at the
 *     address: one bit, no table, no GIL question.
 *   realloc: both.
 *
 * What is recorded is what the full set records: a block the countdown
 * reaches, a free the filter cannot clear, a guarded or quiet thread all
 * go to the full hooks, which take the same decisions again.  So the
 * lean set is also correct when the setting changes under it (sample_gen
 * no longer matches: every allocation goes to the full hooks) or when it
 * stays installed below another hook while not sampling (the filter is
 * all clear then). */
#include "hookstate.h"

#include <string.h>

uint64_t tmt_sf_absent[(size_t)1 << (TMT_SF_BITS - 6)];
#define SF_WORDS ((size_t)1 << (TMT_SF_BITS - 6))
#define SF_HASHES ((size_t)1 << TMT_SF_BITS)

/* Filter upkeep.  Counts and bits change under the tables' GIL or
 * tmt_lock (atomically: one holder of each may note at once); a bit is
 * set only with both held, so no note can slip between a count reaching
 * zero and its bit. */
int tmt_sf_active;           /* sampling: a superset of the next two */
static int sf_live;          /* counts are kept: sampling is on */
static int sf_stale;         /* a recount was put off (GIL) */
static size_t sf_notes;      /* notes since the last recount */
static size_t sf_limit;      /* recount after this many (GIL) */
static uint32_t sf_epoch;    /* recounts so far (tmt_lock) */
static uint32_t sf_count[SF_HASHES];  /* traces per hash, at most */

#define SF_MIN_NOTES 1024    /* 1.6% of the hashes */

uint64_t tmt_sample_ready;

void tmt_sample_ready_set(uint32_t gen)
{
    tmt_thread t = {0};
    t.sample_gen = gen;
    __atomic_store_n(&tmt_sample_ready, t.ready, __ATOMIC_RELAXED);
}

/* ---- the hooks ---------------------------------------------------------- */

static void *s_malloc(void *ctx, size_t size)
{
    tmt_domain *d = ctx;
    if (__builtin_expect(!tmt_sample_skip_ready(size), 0))
        return h_malloc(ctx, size);
    tmt_T.guard = 1;
    void *p = d->prev.malloc(d->prev.ctx, size);
    tmt_T.guard = 0;
    return p;
}

static void *s_calloc(void *ctx, size_t nelem, size_t elsize)
{
    tmt_domain *d = ctx;
    size_t size;
    if (__builtin_expect(__builtin_mul_overflow(nelem, elsize, &size) ||
                         !tmt_sample_skip_ready(size), 0))
        return h_calloc(ctx, nelem, elsize);
    tmt_T.guard = 1;
    void *p = d->prev.calloc(d->prev.ctx, nelem, elsize);
    tmt_T.guard = 0;
    return p;
}

static uint32_t sf_epoch_now(void);
static void sf_forget(uintptr_t addr, uint32_t epoch);

/* 1 if this call may look at the tables and the trace of ptr exists. */
static int traced_here(tmt_domain *d, void *ptr)
{
    if (ptr == NULL || tmt_T.guard || !tmt_is_tracing() ||
        !tmt_owns_tables(d))
        return 0;
    tmt_drain_if_needed();
    return tmt_trace_get((uintptr_t)ptr, NULL);
}

/* A resize the lean test could not clear.  The old trace (if any) is
 * gone afterwards, unless the call failed: its count goes too (a trace
 * made anew in place was counted by trace_new).  The new trace's
 * trace_new may recount the filter after the old trace left the table
 * (a moved block): that count no longer holds the old trace, and taking
 * it off again would clear the bit of another trace of the same hash,
 * whose free would then skip the table and leave its trace behind. */
static __attribute__((noinline)) void *s_realloc_slow(tmt_domain *d,
                                                      void *ptr, size_t size)
{
    int had = traced_here(d, ptr);
    uint32_t epoch = sf_epoch_now();
    void *p = h_realloc(d, ptr, size);
    if (had && (p != NULL || size == 0))
        sf_forget((uintptr_t)ptr, epoch);
    return p;
}

static void *s_realloc(void *ctx, void *ptr, size_t size)
{
    tmt_domain *d = ctx;
    if (__builtin_expect(!tmt_sf_none((uintptr_t)ptr) ||
                         !tmt_sample_skip_ready(size), 0))
        return s_realloc_slow(d, ptr, size);
    tmt_T.guard = 1;
    void *p = d->prev.realloc(d->prev.ctx, ptr, size);
    tmt_T.guard = 0;
    return p;
}

/* A free the filter could not clear.  When a trace goes, its count does
 * too: the allocator hands the address out again at once. */
static __attribute__((noinline)) void s_free_slow(tmt_domain *d, void *ptr)
{
    int had = traced_here(d, ptr);
    uint32_t epoch = sf_epoch_now();
    h_free(d, ptr);
    if (had)
        sf_forget((uintptr_t)ptr, epoch);
}

/* No guard needed: with no trace at ptr, whatever the allocator below
 * frees through the RAW domain meets the filter again. */
static void s_free(void *ctx, void *ptr)
{
    tmt_domain *d = ctx;
    if (__builtin_expect(!tmt_sf_none((uintptr_t)ptr), 0)) {
        s_free_slow(d, ptr);
        return;
    }
    d->prev.free(d->prev.ctx, ptr);
}

void tmt_hookset(PyMemAllocatorEx *out, tmt_domain *d)
{
    PyMemAllocatorEx full = {d, h_malloc, h_calloc, h_realloc, h_free};
    PyMemAllocatorEx lean = {d, s_malloc, s_calloc, s_realloc, s_free};
    *out = __atomic_load_n(&tmt_S.sample_interval, __ATOMIC_RELAXED)
               ? lean : full;
}

int tmt_hookset_ours(const PyMemAllocatorEx *cur, const tmt_domain *d)
{
    return cur->ctx == d && (cur->malloc == h_malloc ||
                             cur->malloc == s_malloc);
}

/* ---- the free filter ---------------------------------------------------- */

void tmt_sf_note(uintptr_t addr)
{
    if (!__atomic_load_n(&sf_live, __ATOMIC_RELAXED))
        return;   /* all bits clear already */
    size_t b = tmt_sf_bit(addr);
    __atomic_fetch_add(&sf_count[b], 1, __ATOMIC_RELAXED);
    __atomic_fetch_and(&tmt_sf_absent[b >> 6], ~((uint64_t)1 << (b & 63)),
                       __ATOMIC_RELAXED);
    __atomic_fetch_add(&sf_notes, 1, __ATOMIC_RELAXED);
}

static uint32_t sf_epoch_now(void)
{
    return __atomic_load_n(&sf_epoch, __ATOMIC_RELAXED);
}

/* The trace at addr, which the counts held at `epoch`, is gone (GIL
 * held).  After a recount since, the counts are the table's: they hold
 * the trace no more (or, recounted before an in-place resize replaced
 * it, once too often: high, safe). */
static void sf_forget(uintptr_t addr, uint32_t epoch)
{
    size_t b = tmt_sf_bit(addr);
    tmt_lock();
    if (__atomic_load_n(&sf_live, __ATOMIC_RELAXED) &&
        epoch == __atomic_load_n(&sf_epoch, __ATOMIC_RELAXED) &&
        sf_count[b] != 0 &&
        __atomic_sub_fetch(&sf_count[b], 1, __ATOMIC_RELAXED) == 0)
        __atomic_fetch_or(&tmt_sf_absent[b >> 6], (uint64_t)1 << (b & 63),
                          __ATOMIC_RELAXED);
    tmt_unlock();
}

/* Recount from the table (GIL held, so the table holds still): the
 * counts of the traces there, a bit for each hash without one.  The
 * pending map may hold additions the table does not: then the recount
 * waits for a later call (they are rare).  Each word is stored whole, so
 * a reader sees the old word or the new one, both true of the traces at
 * that moment. */
static void sf_rebuild(void)
{
    tmt_lock();
    if (__atomic_load_n(&tmt_S.pend_count, __ATOMIC_ACQUIRE) != 0) {
        sf_stale = 1;
        tmt_unlock();
        return;
    }
    memset(sf_count, 0, sizeof sf_count);
    const tmt_tables *t = &tmt_S.tables;
    size_t n = 0;
    tmt_tt_iter it = {0, 0, 0};
    tmt_trace e;
    while (tmt_tt_next(&t->tt, &it, &e)) {
        sf_count[tmt_sf_bit(e.addr)]++;
        n++;
    }
    for (size_t w = 0; w < SF_WORDS; w++) {
        uint64_t word = 0;
        for (size_t k = 0; k < 64; k++)
            word |= (uint64_t)(sf_count[w * 64 + k] == 0) << k;
        __atomic_store_n(&tmt_sf_absent[w], word, __ATOMIC_RELAXED);
    }
    /* A recount costs a pass over the table: amortized over at least as
     * many notes as there are traces. */
    sf_limit = n > SF_MIN_NOTES ? n : SF_MIN_NOTES;
    __atomic_store_n(&sf_notes, 0, __ATOMIC_RELAXED);
    sf_stale = 0;
    __atomic_fetch_add(&sf_epoch, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&sf_live, 1, __ATOMIC_RELAXED);
    tmt_unlock();
}

void tmt_sf_upkeep(void)
{
    if (sf_stale || (__atomic_load_n(&sf_live, __ATOMIC_RELAXED) &&
                     __atomic_load_n(&sf_notes, __ATOMIC_RELAXED) > sf_limit))
        sf_rebuild();
}

void tmt_sf_setting(size_t interval)
{
    if (interval != 0) {
        __atomic_store_n(&tmt_sf_active, 1, __ATOMIC_RELAXED);
        sf_rebuild();
        return;
    }
    /* Exact tracing keeps no counts: every free asks the tables. */
    tmt_lock();
    __atomic_store_n(&sf_live, 0, __ATOMIC_RELAXED);
    sf_stale = 0;
    __atomic_fetch_add(&sf_epoch, 1, __ATOMIC_RELAXED);
    for (size_t w = 0; w < SF_WORDS; w++)
        __atomic_store_n(&tmt_sf_absent[w], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&tmt_sf_active, 0, __ATOMIC_RELAXED);
    tmt_unlock();
}
