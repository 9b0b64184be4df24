/* pending.c -- RAW calls made without the GIL, and the module's one lock.
 *
 * The trace table belongs to the GIL.  A RAW call without it (or from
 * another interpreter) records what it did here, under tmt_lock; the next
 * GIL holder applies it before touching the table.  Per address: an add
 * (PEND_ADD, with its size) and/or the removal of the table's trace
 * (PEND_REMOVE).  Order per address is kept by these two flags; different
 * addresses commute.  A GIL holder can only meet an address that a
 * GIL-less thread touched after that thread's hook returned (the
 * allocator orders free before reuse), so draining first is enough. */
#include "hookstate.h"

#include <sched.h>

#include "tmt_alloc.h"

static volatile int the_lock;

void tmt_lock(void)
{
    for (unsigned spins = 0;; spins++) {
        if (!__atomic_exchange_n(&the_lock, 1, __ATOMIC_ACQUIRE))
            return;
        while (__atomic_load_n(&the_lock, __ATOMIC_RELAXED)) {
            /* The holder may be descheduled (more threads than CPUs);
             * yield rather than burn its time slice. */
            if (++spins > 64)
                sched_yield();
        }
    }
}

void tmt_unlock(void)
{
    __atomic_store_n(&the_lock, 0, __ATOMIC_RELEASE);
}

/* An entry's tb holds the flags in its top bits and, for an add, the
 * traceback id below them; its domain the trace domain of the add. */
#define PEND_ADD 0x80000000u
#define PEND_REMOVE 0x40000000u
#define PEND_TB 0x3FFFFFFFu

static tmt_trace *pend_tab;
static size_t pend_cap, pend_n;

static int pend_ready(void)
{
    if (pend_cap == 0) {
        pend_tab = tmt_calloc(256, sizeof *pend_tab);
        if (pend_tab == NULL)
            return -1;
        pend_cap = 256;
    }
    return 0;
}

static void pend_publish(void)
{
    __atomic_store_n(&tmt_S.pend_count, pend_n, __ATOMIC_RELEASE);
}

void tmt_pend_malloc(uintptr_t addr, size_t size, uint32_t tb, uint32_t gen,
                     uint32_t domain)
{
    tmt_lock();
    tmt_pend_malloc_locked(addr, size, tb, gen, domain);
    tmt_unlock();
}

void tmt_pend_malloc_locked(uintptr_t addr, size_t size, uint32_t tb,
                            uint32_t gen, uint32_t domain)
{
    /* A traceback id of older tables names nothing now; ids this large
     * (a billion tracebacks) are not kept either. */
    if (gen != tmt_S.generation || tb > PEND_TB)
        tb = TMT_TB_EMPTY;
    /* A native block from a call that was already in native.c's wrapper
     * when native mode went off: its free would not be seen (native.c
     * turns the mode off under this lock, then clears the traces). */
    int off = domain == TMS_DOMAIN_NATIVE && !tmt_S.native;
    if (tmt_S.tracing && !off && pend_ready() == 0) {
        tmt_trace *e = tmt_map_find(pend_tab, pend_cap, addr), old;
        tmt_sf_note(addr);   /* the lean free must not skip it */
        if (e != NULL) {
            e->tb = (e->tb & PEND_REMOVE) | PEND_ADD | tb;
            e->size = size;
            e->domain = domain;
        } else {
            tmt_trace n = {addr, size, PEND_ADD | tb, domain};
            tmt_map_put(&pend_tab, &pend_cap, &pend_n, &n, &old);
        }
        pend_publish();
    }
}

uint32_t tmt_pend_free(uintptr_t addr, tmt_trace *saved)
{
    tmt_lock();
    uint32_t gen = tmt_pend_free_locked(addr, saved);
    tmt_unlock();
    return gen;
}

uint32_t tmt_pend_free_locked(uintptr_t addr, tmt_trace *saved)
{
    uint32_t gen = tmt_S.generation;
    saved->addr = 0;
    if (tmt_S.tracing && pend_ready() == 0) {
        tmt_trace *e = tmt_map_find(pend_tab, pend_cap, addr), old;
        if (e != NULL) {
            *saved = *e;
            if (e->tb & PEND_ADD) {
                e->tb &= PEND_REMOVE;   /* freed before any GIL holder saw it */
                if (e->tb == 0)
                    tmt_map_remove(pend_tab, pend_cap, &pend_n, addr, NULL);
            } else {
                e->tb |= PEND_REMOVE;
            }
        } else {
            tmt_trace n = {addr, 0, PEND_REMOVE, 0};
            tmt_map_put(&pend_tab, &pend_cap, &pend_n, &n, &old);
        }
        pend_publish();
    }
    return gen;
}

void tmt_pend_restore(uintptr_t addr, const tmt_trace *saved, uint32_t gen)
{
    tmt_lock();
    if (gen == tmt_S.generation && pend_cap) {
        tmt_trace old;
        if (saved->addr) {
            tmt_sf_note(addr);  /* a drain and a rebuild may have passed */
            tmt_map_put(&pend_tab, &pend_cap, &pend_n, saved, &old);
        } else {
            tmt_map_remove(pend_tab, pend_cap, &pend_n, addr, NULL);
        }
        pend_publish();
    }
    tmt_unlock();
}

/* GIL held.  Applies and empties the pending map. */
void tmt_pend_drain(void)
{
    tmt_lock();
    for (size_t i = 0; pend_n && i < pend_cap; i++) {
        tmt_trace *e = &pend_tab[i];
        if (e->addr == 0)
            continue;
        if (e->tb & PEND_REMOVE)
            tmt_trace_remove(e->addr, NULL);
        uint32_t tb = e->tb & PEND_TB;
        if ((e->tb & PEND_ADD) && tmt_tb_keep(tb))
            tmt_trace_add_in(e->addr, e->size, tb, e->domain);
        e->addr = 0;
        pend_n--;
    }
    pend_n = 0;
    pend_publish();
    tmt_unlock();
}

/* Caller holds tmt_lock (a reset). */
void tmt_pend_clear(void)
{
    if (pend_cap)
        memset(pend_tab, 0, pend_cap * sizeof *pend_tab);
    pend_n = 0;
    pend_publish();
}

size_t tmt_pend_bytes_free(void)
{
    return (pend_cap - pend_n) * sizeof(tmt_trace);
}

