/* traced.h -- what every change of the traced size updates: the traced
 * size, the peak and the live sums per traceback.
 *
 * The allocators' traces (tracetab.c) and the extension-tracked blocks
 * (tables.c) both pass here, inline: it is the bookkeeping half of every
 * traced malloc and free, and a call would cost more than the work.  It
 * is also the one place a scheduled task can notice it is due (one load
 * while none is scheduled).  Caller holds the tables (GIL, drained). */
#ifndef TMT_TRACED_H
#define TMT_TRACED_H

#include "core.h"
#include "tasks.h"

/* A traceback's live blocks (the peak's picture, peak.c) while sampling:
 * sampled blocks count as the estimate they stand for (libtma's rule), so
 * the PEAK entries of a sampled snapshot are estimates like its STAT
 * entries (tables.c; out of line: exact tracing never calls it). */
void tmt_live_sampled(tmt_tb *tb, uintptr_t addr, size_t size, int sign,
                      size_t iv);

/* The interval does not change while traces exist (tmt_set_sampling
 * clears them), so a removal subtracts exactly what the addition added. */
static inline __attribute__((always_inline)) void
tmt_live_account(tmt_tb *tb, uintptr_t addr, size_t size, int sign)
{
    size_t iv = __atomic_load_n(&tmt_S.sample_interval, __ATOMIC_RELAXED);
    if (__builtin_expect(iv != 0, 0)) {
        tmt_live_sampled(tb, addr, size, sign, iv);
    } else if (sign > 0) {
        tb->live_size += size;
        tb->live_count++;
    } else {
        tb->live_size -= size;
        tb->live_count--;
    }
}

/* A trace of size bytes at traceback tb went away; the caller adds the
 * new one (tmt_traced_new) or checks the tasks (tmt_traced_gone), so a
 * replacement is checked once, at its final size. */
static inline __attribute__((always_inline)) void
tmt_traced_drop(tmt_tables *t, uint32_t tb, uintptr_t addr, size_t size)
{
    t->traced -= size;
    tmt_live_account(&t->tbs[tb], addr, size, -1);
}

static inline __attribute__((always_inline)) void
tmt_traced_gone(tmt_tables *t, uint32_t tb, uintptr_t addr, size_t size)
{
    tmt_traced_drop(t, tb, addr, size);
    tmt_tasks_check(t->traced);
}

/* A new trace of size bytes at traceback tb. */
static inline __attribute__((always_inline)) void
tmt_traced_new(tmt_tables *t, uint32_t tb, uintptr_t addr, size_t size)
{
    tmt_live_account(&t->tbs[tb], addr, size, 1);
    t->traced += size;
    if (t->traced > t->peak) {
        t->peak = t->traced;
        if (__builtin_expect(t->traced >= t->pk_next, 0))
            tmt_peak_record();   /* see peak.c for the rule */
    }
    tmt_tasks_check(t->traced);
}

/* The new trace replaced *old (old->addr 0: none): a block we never saw
 * freed (its free bypassed the hooks, or it was resized in place), or an
 * extension's block tracked again. */
static inline void tmt_traced_replace(tmt_tables *t, const tmt_trace *old,
                                      uint32_t tb, uintptr_t addr,
                                      size_t size)
{
    if (old->addr)
        tmt_traced_drop(t, old->tb, old->addr, old->size);
    tmt_traced_new(t, tb, addr, size);
}

#endif
