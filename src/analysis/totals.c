/* totals.c -- per-traceback totals: the one pass over traces that every
 * grouping but ADDRESS needs (tma_group uses it on s->traces; tmtool feeds
 * it from tms_reader_read so traces are never stored).
 *
 * A batch is checked before anything is added, so a refused batch leaves
 * the totals as they were.  The slot array follows the snapshot's
 * traceback table, which may grow between batches while a file is read. */
#include <stdlib.h>
#include <string.h>

#include "tma_internal.h"

int tma_tb_totals_init(tma_tb_totals *t, const tms_snapshot *snap)
{
    if (t == NULL)
        return TMS_E_ARG;
    memset(t, 0, sizeof *t);
    if (snap == NULL)
        return tma_fail(&t->err, TMS_E_ARG,
                        "cannot sum per traceback: no snapshot");
    t->snap = snap;
    return TMS_OK;
}

void tma_tb_totals_free(tma_tb_totals *t)
{
    if (t == NULL)
        return;
    free(t->tb);
    t->tb = NULL;
    t->n = t->cap = 0;
    t->total_size = t->total_count = 0;
}

/* Cover every id the snapshot defines now; fresh slots are zero. */
static int cover(tma_tb_totals *t, tms_error *err)
{
    uint32_t want = t->snap->ntracebacks;
    if (want > t->cap) {
        /* doubling (tms_grow), so a file that alternates small dictionary
         * sections and trace chunks does not copy the array each time */
        uint64_t cap = t->cap;
        if (tms_grow((void **)&t->tb, &cap, want, sizeof *t->tb) < 0)
            return tma_fail(err, TMS_E_NOMEM,
                            "cannot sum per traceback: out of memory");
        t->cap = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
    }
    memset(t->tb + t->n, 0, (size_t)(want - t->n) * sizeof *t->tb);
    t->n = want;
    return TMS_OK;
}

int tma_tb_totals_add(tma_tb_totals *t, const tms_trace *traces, size_t n,
                      tms_error *err)
{
    if (t == NULL || t->snap == NULL || (traces == NULL && n > 0))
        return tma_fail(err, TMS_E_ARG, "cannot sum per traceback: bad "
                        "argument");
    uint32_t max = 0;
    for (size_t i = 0; i < n; i++)
        max = traces[i].traceback > max ? traces[i].traceback : max;
    if (n > 0 && max >= t->n) {
        uint32_t defined = t->snap->ntracebacks;
        if (max >= defined) {
            size_t i = 0;
            while (traces[i].traceback < defined)
                i++;
            return tma_fail(err, TMS_E_CORRUPT,
                            "cannot group: trace %llu refers to traceback "
                            "%u of %u",
                            (unsigned long long)(t->total_count + i),
                            traces[i].traceback, defined);
        }
        int rc = cover(t, err);
        if (rc < 0)
            return rc;
    }
    uint64_t total = 0, interval = t->snap->header.sample_interval;
    if (interval != 0) {   /* a sampled file: estimates (sample.c) */
        uint64_t count = 0;
        for (size_t i = 0; i < n; i++) {
            tma_tb_total *slot = &t->tb[traces[i].traceback];
            uint64_t es, ec;
            tma_sample_estimate(interval, traces[i].size, traces[i].address,
                                &es, &ec);
            slot->size += es;
            slot->count += ec;
            total += es;
            count += ec;
        }
        t->total_size += total;
        t->total_count += count;
        return TMS_OK;
    }
    for (size_t i = 0; i < n; i++) {
        tma_tb_total *slot = &t->tb[traces[i].traceback];
        slot->size += traces[i].size;
        slot->count++;
        total += traces[i].size;
    }
    t->total_size += total;
    t->total_count += n;
    return TMS_OK;
}

int tma_tb_totals_trace_fn(void *ctx, const tms_trace *traces, size_t n)
{
    tma_tb_totals *t = ctx;
    if (t == NULL)
        return TMS_E_ARG;
    return tma_tb_totals_add(t, traces, n, &t->err);
}

int tma_tb_totals_peak(tma_tb_totals *t, const tms_snapshot *s, tms_error *err)
{
    int rc = tma_tb_totals_init(t, s);
    if (rc < 0)
        return tma_fail(err, rc, "cannot sum the peak: no snapshot");
    if (!s->has_peak)
        return tma_fail(err, TMS_E_ARG, "snapshot has no peak (it needs "
                        "format 1.1, written by a tracer that keeps it)");
    rc = cover(t, err);
    for (uint64_t i = 0; rc == TMS_OK && i < s->npeak; i++) {
        const tms_peak_entry *e = &s->peak_entries[i];
        if (e->traceback >= t->n) {
            rc = tma_fail(err, TMS_E_CORRUPT, "cannot sum the peak: entry "
                          "%llu refers to traceback %u of %u",
                          (unsigned long long)i, e->traceback, t->n);
            break;
        }
        t->tb[e->traceback].size += e->size;
        t->tb[e->traceback].count += e->count;
        t->total_size += e->size;
        t->total_count += e->count;
    }
    if (rc < 0)
        tma_tb_totals_free(t);
    return rc;
}
