/* peak.c -- the per-traceback picture of traced memory at its peak.
 *
 * The rule (docs/peak.md): every traceback keeps its live size and count
 * (tmt_trace_add/remove add and subtract, next to the filter decision the
 * hook reads anyway).  When traced memory passes the peak AND reaches
 * pk_next, the live counters of every traceback are copied as the
 * recorded state, and pk_next becomes traced + step, where
 *
 *     step = max(traced / 32, 256 KiB, 64 bytes x tracebacks interned).
 *
 * Error bound: a new picture is taken as soon as traced reaches
 * recorded + step, so the true peak is below recorded + step: the
 * recorded state holds at least peak - step bytes, and it is a real state
 * of the heap (every block in it was alive at the same moment).  Snapshots
 * and reset_peak() record the current state when it is higher than the
 * recorded one, so a peak that is the current size is exact.
 *
 * Cost: a picture is one pass over the tracebacks, never over the traces.
 * The first two terms of step bound the number of pictures while memory
 * grows to S bytes by about S / 256 KiB up to 8 MiB, then 32 ln(S / 8 MiB)
 * (about 220 pictures to reach 8 GiB); the third makes each picture's pass
 * over n tracebacks follow at least 64 n bytes of growth, so the copying
 * costs at most one entry per 64 bytes allocated, whatever the workload.
 * Memory going up and down below the peak costs nothing: only a new peak
 * is compared with pk_next.
 *
 * tmt_peak_record runs inside the allocator hook: it calls no Python,
 * takes no lock and allocates only module memory (tmt_alloc.h), which is
 * never traced. */
#include "core.h"

#include <time.h>

#include "tmt_alloc.h"

#define PEAK_STEP_SHIFT 5               /* traced / 32 */
#define PEAK_STEP_MIN ((size_t)256 << 10)
#define PEAK_STEP_PER_TB ((size_t)64)

static size_t step_after(const tmt_tables *t)
{
    size_t step = t->traced >> PEAK_STEP_SHIFT;
    if (step < PEAK_STEP_MIN)
        step = PEAK_STEP_MIN;
    if (step < PEAK_STEP_PER_TB * t->ntbs)
        step = PEAK_STEP_PER_TB * t->ntbs;
    return step;
}

void tmt_peak_record(void)
{
    tmt_tables *t = &tmt_S.tables;
    size_t n = 0;
    /* Set the threshold first: on OOM the old picture stays and the next
     * attempt waits for the next step instead of failing on every call. */
    t->pk_next = t->traced + step_after(t);
    for (uint32_t i = 0; i < t->ntbs; i++)
        n += t->tbs[i].live_count != 0;
    if (n > t->cappk) {
        size_t cap = t->cappk ? t->cappk : 64;
        while (cap < n)
            cap *= 2;
        tmt_peak_entry *e = tmt_malloc(cap * sizeof *e);
        if (e == NULL)
            return;
        tmt_free(t->pk);
        t->pk = e;
        t->cappk = cap;
    }
    size_t k = 0;
    for (uint32_t i = 0; i < t->ntbs; i++) {
        const tmt_tb *tb = &t->tbs[i];
        if (tb->live_count != 0)
            t->pk[k++] = (tmt_peak_entry){i, tb->live_size, tb->live_count};
    }
    t->npk = k;
    t->pk_recorded = t->traced;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);   /* vDSO: no allocation, no lock */
    t->pk_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void tmt_peak_reset(void)
{
    tmt_drain_if_needed();
    tmt_S.tables.peak = tmt_S.tables.traced;
    tmt_peak_record();
}
