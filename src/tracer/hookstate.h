/* hookstate.h -- what the two allocator hook sets share.
 *
 * hooks.c has the full set (h_malloc, ...): every setting, every case.
 * hooks_sampled.c has the lean set installed while sampling, whose common
 * case is a countdown or one bit of a free filter, falling back to the
 * full set for everything else.  Both take the same ctx (the domain), so
 * a thread that reads a domain's allocator while the sets are swapped,
 * even a torn copy, calls a valid pair. */
#ifndef TMT_HOOKSTATE_H
#define TMT_HOOKSTATE_H

#include "core.h"

typedef struct tmt_domain {
    PyMemAllocatorDomain dom;
    int raw;        /* calls may come without the GIL */
    int installed;
    PyMemAllocatorEx prev;
    uint32_t tag;   /* trace domain recorded (native.c: TMS_DOMAIN_NATIVE) */
} tmt_domain;

/* The hooks' per-thread state, one initial-exec TLS block: every hook
 * reads it, and one symbol costs one load of its offset (the general
 * dynamic model would cost a __tls_get_addr call each time). */
typedef struct tmt_thread {
    int64_t sample_left;   /* bytes until the next sampled block */
    union {
        struct {
            uint32_t sample_gen;  /* tmt_S.sample_gen the countdown is of */
            union {
                struct {
                    /* set while a hook runs: nested calls pass through */
                    uint8_t guard;
                    /* set while a query builds Python objects: this
                     * thread's new blocks are not traced, frees still
                     * remove traces */
                    uint8_t quiet;
                };
                uint16_t busy;    /* either */
            };
            uint16_t zero;        /* never written */
        };
        /* All three at once: the lean hooks' one test that the countdown
         * is of the current setting and no hook runs (tmt_sample_ready) */
        uint64_t ready;
    };
    uint64_t rng;          /* xorshift64* state of the sampler */
} tmt_thread;

extern __thread tmt_thread tmt_T __attribute__((tls_model("initial-exec")));

/* May this call touch the tables?  Only a holder of the traced
 * interpreter's GIL.  MEM and OBJ calls hold a GIL by contract; RAW calls
 * may not (tmt_holds_gil tells; see core.h for why not PyGILState_Check). */
static inline int tmt_owns_tables(const tmt_domain *d)
{
    if (d->raw)
        return tmt_holds_gil() && tmt_holds_main();
    return TMT_ONE_GIL || tmt_holds_main();
}

/* The common case of sampling: the block of `size` bytes does not reach
 * this thread's countdown, which belongs to setting `gen`; it is left
 * out and counted.  0: the caller decides the slow way (hooks.c). */
static inline __attribute__((always_inline)) int
tmt_sample_skip(size_t size, uint32_t gen)
{
    if (__builtin_expect(tmt_T.sample_gen == gen &&
                         (uint64_t)tmt_T.sample_left > size, 1)) {
        tmt_T.sample_left -= (int64_t)size;
        return 1;
    }
    return 0;
}

/* What tmt_T.ready reads in a thread whose countdown is of the current
 * setting and in which no hook runs (hooks_sampled.c; set when the
 * setting changes: until then the lean hooks take the full ones). */
extern uint64_t tmt_sample_ready;
void tmt_sample_ready_set(uint32_t gen);

/* The lean set's form of tmt_sample_skip: one compare for the setting
 * and the guard and quiet flags (with either set, the full hook decides). */
static inline __attribute__((always_inline)) int
tmt_sample_skip_ready(size_t size)
{
    if (__builtin_expect(
            tmt_T.ready == __atomic_load_n(&tmt_sample_ready, __ATOMIC_RELAXED)
            && (uint64_t)tmt_T.sample_left > size, 1)) {
        tmt_T.sample_left -= (int64_t)size;
        return 1;
    }
    return 0;
}

/* The full hook set (hooks.c). */
void *h_malloc(void *ctx, size_t size);
void *h_calloc(void *ctx, size_t nelem, size_t elsize);
void *h_realloc(void *ctx, void *ptr, size_t size);
void h_free(void *ctx, void *ptr);

/* ---- hooks_sampled.c ---------------------------------------------------
 *
 * The free filter: one bit per hash of an address, set when no trace can
 * be at any address of that hash.  A free whose bit is set skips the
 * tables (and the question whether this thread may touch them).  Behind
 * the bits, a count per hash bounds the traces from above: counted (and
 * the bit cleared) by tmt_sf_note before a traced block is handed out,
 * in trace_new and when the pending map records a GIL-less addition;
 * uncounted when the lean free or realloc removes a trace, so the hot
 * address of an allocator's free list that once held a sampled block
 * becomes fast again; recounted from the table now and then (other
 * removals leave counts high: safe).
 * All bits clear (every free asks the tables) while not sampling. */
#define TMT_SF_BITS 16
extern uint64_t tmt_sf_absent[(size_t)1 << (TMT_SF_BITS - 6)];

static inline size_t tmt_sf_bit(uintptr_t addr)
{
    return (size_t)(((uint64_t)addr * 0x9E3779B97F4A7C15ULL) >>
                    (64 - TMT_SF_BITS));
}

/* 1 if no trace can exist at addr. */
static inline int tmt_sf_none(uintptr_t addr)
{
    size_t b = tmt_sf_bit(addr);
    return (int)((__atomic_load_n(&tmt_sf_absent[b >> 6], __ATOMIC_RELAXED)
                  >> (b & 63)) & 1);
}

/* 1 while sampling (tmt_sf_setting, GIL): only then are counts kept or a
 * recount due, so the full hooks test it inline and skip both calls
 * below, under the same GIL, while exact tracing. */
extern int tmt_sf_active;
/* A trace may exist at addr from now on (tmt_lock or the tables' GIL;
 * before the block is handed out). */
void tmt_sf_note(uintptr_t addr);
/* Before a trace is added (the tables' GIL): recount the filter from the
 * table when many notes were taken since the last recount. */
void tmt_sf_upkeep(void);
/* The sampling interval is about to become `interval` (GIL held, tables
 * just reset): the filter is rebuilt for sampling, or cleared for exact
 * tracing, before any trace of the new setting exists. */
void tmt_sf_setting(size_t interval);

/* The hook set for the current sampling setting, for domain d. */
void tmt_hookset(PyMemAllocatorEx *out, tmt_domain *d);
/* 1 if cur is one of our sets for domain d. */
int tmt_hookset_ours(const PyMemAllocatorEx *cur, const tmt_domain *d);

#endif
